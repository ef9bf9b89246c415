//! Run ids cover what a run's result depends on, for every family: changing
//! any parameter of any family changes every run id of that configuration;
//! changing `[features]` changes them exactly for the families that state
//! they read features; the compute device never does. The families and
//! their parameters come from the spec's JSON Schema, so a new family, or a
//! new parameter, without an example here fails the test.

use crate::common::write;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use toml::Value as Toml;
use trendlab_ops::Workspace;

/// Models every spec holds (ensembles combine them).
const BASE_MODELS: &str = r#"
[[models]]
name = "base_naive"
family = "naive"

[[models]]
name = "base_mean"
family = "mean"

[[models]]
name = "base_drift"
family = "drift"
"#;

/// The model under test: every family, with every parameter set across the
/// examples of that family (values other than the defaults where possible).
const EXAMPLES: &[(&str, &str)] = &[
    ("naive", ""),
    ("seasonal_naive", "season = 4"),
    ("mean", "window = 8"),
    ("drift", ""),
    (
        "ets",
        r#"model = "AAN"
damped = true
season = 4
multiplicative_trend = true"#,
    ),
    (
        "theta",
        r#"model = "optimized"
season = 4
decomposition = "additive""#,
    ),
    ("croston", r#"variant = "sba""#),
    ("tsb", "alpha_d = 0.2\nalpha_p = 0.1"),
    ("adida", ""),
    ("imapa", ""),
    (
        "gbdt",
        r#"objective = "tweedie"
tweedie_power = 1.3
quantile = 0.3
learning_rate = 0.05
rounds = 50
max_leaves = 15
min_child_weight = 2.0
subsample = 0.8
colsample = 0.7
lambda = 0.5
strategy = "direct"
scaling = "none""#,
    ),
    (
        "linear",
        r#"alpha = 0.5
per_series = true
strategy = "direct"
scaling = "standard""#,
    ),
    (
        "arima",
        r#"order = [1, 1, 1]
seasonal_order = [1, 0, 0, 4]
trend = "t"
exogenous = true"#,
    ),
    (
        "arima",
        r#"auto = true
season = 4
approximation = true
reuse_order = true"#,
    ),
    ("lstm", LSTM),
    ("bert_fusion", BERT_FUSION),
    (
        "nhits",
        r#"input_size = 8
blocks = 1
mlp_units = [8, 8]
pooling_sizes = [2, 1]
downsample = [2, 1]
dropout = 0.1
scaler = "robust"
loss = "quantile"
quantiles = [0.025, 0.25, 0.5, 0.75, 0.975]
max_steps = 6
batch_size = 4
windows_batch_size = 32
lr = 0.01
lr_decays = 2
val_check_steps = 3
patience = 2
validation = 4
exogenous = true
device = "cpu""#,
    ),
    (
        "patchtst",
        r#"input_size = 8
patch_len = 4
stride = 2
d_model = 8
heads = 2
layers = 1
ff = 8
dropout = 0.1
revin_subtract_last = false
revin_affine = true
residual_attention = false
pre_norm = true
activation = "relu"
scaler = "robust"
loss = "quantile"
quantiles = [0.025, 0.25, 0.5, 0.75, 0.975]
max_steps = 6
batch_size = 4
windows_batch_size = 32
lr = 0.01
lr_decays = 2
val_check_steps = 3
patience = 2
validation = 4
device = "cpu""#,
    ),
    (
        "deepar",
        r#"input_size = 8
lstm_layers = 1
lstm_hidden = 8
lstm_dropout = 0.1
likelihood = "tweedie"
tweedie_power = 1.5
samples = 10
point = "mean"
feedback = "mean"
scaler = "robust"
max_steps = 6
batch_size = 4
windows_batch_size = 32
lr = 0.01
lr_decays = 2
val_check_steps = 3
patience = 2
validation = 4
exogenous = true
device = "cpu""#,
    ),
    (
        "chronos",
        r#"checkpoint = "chronos_a"
context_length = 64
fine_tune_steps = 2
lr = 0.001
batch_size = 8
device = "cpu""#,
    ),
    (
        "ensemble",
        r#"members = ["base_naive", "base_mean"]
member_configs = "all"
method = "stacking"
metric = "mae"
solver = "ridge"
alpha = 0.01
constrained = false
validation_folds = 1
on_missing = "drop""#,
    ),
    (
        "ensemble",
        r#"members = ["base_naive", "base_mean"]
method = "greedy"
rounds = 5"#,
    ),
    // `method` and `solver` can change only without the keys that apply
    // to one method or solver.
    (
        "ensemble",
        r#"members = ["base_naive", "base_mean"]
method = "mean""#,
    ),
    (
        "ensemble",
        r#"members = ["base_naive", "base_mean"]
method = "stacking"
solver = "nnls""#,
    ),
];

/// Parameters that cannot change alone (the spec would be invalid), with
/// the whole parameter set they change to.
/// Parameters a family declares only to refuse them, with what its
/// message says: `true` must be an error saying so.
const REFUSED: &[(&str, &str, &str)] = &[("patchtst", "exogenous", "univariate")];

const JOINT_CHANGES: &[(&str, &str, &str)] = &[
    ("arima", "auto", "order = [1, 0, 1]"),
    // Doubled or halved, a Tweedie power leaves (1, 2).
    ("gbdt", "tweedie_power", "objective = \"tweedie\"\ntweedie_power = 1.8"),
    // A point loss takes no quantiles.
    ("nhits", "loss", "input_size = 8\nloss = \"mse\""),
    ("patchtst", "loss", "input_size = 8\nloss = \"mse\""),
    (
        "deepar",
        "tweedie_power",
        "input_size = 8\nlikelihood = \"tweedie\"\ntweedie_power = 1.8",
    ),
];

/// Every parameter of `family = "lstm"` (BERT-fusion takes them too).
macro_rules! lstm_params {
    () => {
        r#"input_size = 8
hidden = 16
layers = 2
dropout = 0.1
lr = 0.01
batch_size = 32
epochs = 5
patience = 2
validation = 4
scaling = "mean_abs"
anchor = "window_mean"
device = "cpu""#
    };
}

const LSTM: &str = lstm_params!();

const BERT_FUSION: &str = concat!(
    r#"encoder = "encoder_a"
fusion = "gated"
pooling = "cls"
normalize = false
freeze = false
train_layers = 2
encoder_lr = 0.0001
"#,
    lstm_params!()
);

const FEATURES: &str = r#"
[features]
lags = [1, 2]
calendar = ["month"]
future = ["price"]
"#;

/// Edits of [`FEATURES`]: a lag, a calendar feature, a rolling window.
const FEATURE_CHANGES: &[(&str, &str)] = &[
    ("lags = [1, 2]", "lags = [1, 2, 3]"),
    ("calendar = [\"month\"]", "calendar = [\"month\", \"week_of_year\"]"),
    (
        "future = [",
        "rolling = [{ window = 4, stats = [\"mean\"] }]\nfuture = [",
    ),
];

/// Three weekly series of 80 weeks with a price and a description.
fn data() -> String {
    let mut csv = String::from("week,id,qty,price,desc\n");
    let start = chrono::NaiveDate::from_ymd_opt(2023, 1, 2).unwrap();
    for s in 0..3 {
        for t in 0..80u64 {
            let date = start + chrono::Days::new(7 * t);
            let qty = 10 + (t * (s + 3)) % 7;
            csv.push_str(&format!("{date},p{s},{qty},{}.5,product {s}\n", 2 + t % 3));
        }
    }
    csv
}

fn spec(model: &str, features: &str) -> String {
    format!(
        r#"[experiment]
name = "run-ids"
seed = 7

[data]
path = "data.csv"
time = "week"
id = "id"
target = "qty"
frequency = "W-MON"
text = "desc"
covariates = ["price"]
{features}
[evaluation]
horizon = 4
folds = 2
min_train = 20
metrics = ["mae", "mase"]
{BASE_MODELS}
[[models]]
name = "subject"
{model}
"#
    )
}

/// The subject's run ids (backtest and validation runs) and its family's
/// statement, or the spec's errors.
fn subject(dir: &Path, model: &str, features: &str) -> Result<(BTreeSet<String>, Value), String> {
    let path = write(dir, "spec.toml", &spec(model, features));
    let w = Workspace::open(&path, dir).map_err(|e| e.to_string())?;
    let (index, config) = w
        .plan
        .configs
        .iter()
        .enumerate()
        .find(|(_, c)| c.model == "subject")
        .expect("the subject is planned");
    let ids = w
        .plan
        .runs
        .iter()
        .filter(|r| r.config == index)
        .map(|r| r.id.clone())
        .collect();
    Ok((ids, serde_json::to_value(config.family.capabilities()).unwrap()))
}

/// The families of the schema with their parameters.
fn families_in_schema() -> BTreeMap<String, BTreeSet<String>> {
    let schema = trendlab_spec::json_schema();
    let entry = &schema["$defs"]["ModelEntry"];
    // Keys of every model entry, not of a family (`transform`, `reconcile`,
    // `fallback`: their own test below).
    let common: BTreeSet<&str> = [
        "family",
        "name",
        "grid",
        "memory_gb",
        "transform",
        "reconcile",
        "fallback",
    ]
    .into();
    entry["allOf"]
        .as_array()
        .expect("one schema per family")
        .iter()
        .map(|choice| {
            let variant = &choice["then"];
            let properties = variant["properties"].as_object().unwrap();
            let family = properties["family"]["const"].as_str().unwrap().to_string();
            let params = properties
                .keys()
                .filter(|k| !common.contains(k.as_str()))
                .cloned()
                .collect();
            (family, params)
        })
        .collect()
}

/// Values to try instead of `value` for `key`, most likely valid first.
fn changes(key: &str, value: &Toml) -> Vec<Toml> {
    let strings = |options: &[&str]| options.iter().map(|s| Toml::String(s.to_string())).collect();
    match value {
        Toml::Boolean(b) => vec![Toml::Boolean(!b)],
        Toml::Integer(n) => vec![Toml::Integer(n + 1), Toml::Integer(n - 1), Toml::Integer(n + 2)],
        Toml::Float(x) => vec![Toml::Float(x * 2.0), Toml::Float(x / 2.0)],
        Toml::Array(items) if matches!(items.first(), Some(Toml::String(_))) => {
            vec![Toml::Array(vec!["base_naive".into(), "base_drift".into()])]
        }
        Toml::Array(items) => (0..items.len())
            .map(|i| {
                let mut changed = items.clone();
                match changed[i] {
                    Toml::Integer(n) => changed[i] = Toml::Integer(n + 1),
                    Toml::Float(x) => changed[i] = Toml::Float(x * 1.2),
                    _ => {}
                }
                Toml::Array(changed)
            })
            .collect(),
        Toml::String(_) => match key {
            "encoder" => strings(&["encoder_b"]),
            "checkpoint" => strings(&["chronos_b"]),
            "strategy" => strings(&["recursive"]),
            "scaling" => strings(&["none", "min_max", "standard", "mean_abs"]),
            "trend" => strings(&["n", "c", "ct"]),
            "anchor" => strings(&["none"]),
            "fusion" => strings(&["concat"]),
            "pooling" => strings(&["mean"]),
            "member_configs" => strings(&["best"]),
            "method" => strings(&["median", "inverse_error", "mean"]),
            "metric" => strings(&["rmse", "mase"]),
            "solver" => strings(&["ridge", "nnls"]),
            "on_missing" => strings(&["fail"]),
            "variant" => strings(&["classic", "optimized"]),
            "objective" => strings(&["squared_error", "poisson", "absolute"]),
            "decomposition" => strings(&["multiplicative"]),
            "scaler" => strings(&["standard", "none"]),
            "loss" => strings(&["mae"]),
            "activation" => strings(&["gelu"]),
            "likelihood" => strings(&["normal", "student_t"]),
            "point" => strings(&["median"]),
            "feedback" => strings(&["sample"]),
            // ETS's model code, or Theta's model.
            "model"
                if value
                    .as_str()
                    .is_some_and(|v| v.len() == 3 && v.chars().all(|c| c.is_ascii_uppercase())) =>
            {
                strings(&["ANN", "ZZN"])
            }
            "model" => strings(&["dynamic", "auto"]),
            other => panic!("no change written for the string parameter `{other}`: add one"),
        },
        other => panic!("no change written for `{key}` = {other}"),
    }
}

/// Directories holding the files validation looks for: text encoders
/// (BERT-fusion) and Chronos-Bolt checkpoints, two of each.
fn stub_model_dirs(dir: &Path) {
    for model in ["encoder_a", "encoder_b", "chronos_a", "chronos_b"] {
        std::fs::create_dir_all(dir.join(model)).unwrap();
        for file in ["config.json", "model.safetensors", "tokenizer.json"] {
            write(&dir.join(model), file, "{}");
        }
    }
}

/// The model table of an example.
fn model_toml(family: &str, params: &toml::Table) -> String {
    let mut table = params.clone();
    table.insert("family".into(), Toml::String(family.into()));
    toml::to_string(&table).unwrap()
}

#[test]
fn every_parameter_of_every_family_enters_its_run_ids_and_the_device_does_not() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "data.csv", &data());
    stub_model_dirs(dir.path());
    let schema = families_in_schema();
    let mut covered: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (family, example) in EXAMPLES {
        let params: toml::Table = toml::from_str(example).unwrap();
        let original = model_toml(family, &params);
        let (ids, capabilities) =
            subject(dir.path(), &original, FEATURES).unwrap_or_else(|e| panic!("the {family} example is invalid: {e}"));
        assert!(!ids.is_empty());
        covered.entry(family.to_string()).or_default();
        for (key, value) in params.iter().filter(|(key, _)| *key != "device") {
            let joint = JOINT_CHANGES
                .iter()
                .find(|(f, k, _)| f == family && k == key)
                .map(|(_, _, all)| toml::from_str::<toml::Table>(all).unwrap());
            let candidates: Vec<toml::Table> = match joint {
                Some(all) => vec![all],
                None => changes(key, value)
                    .into_iter()
                    .filter(|changed| changed != value)
                    .map(|changed| {
                        let mut edited = params.clone();
                        edited.insert(key.clone(), changed);
                        edited
                    })
                    .collect(),
            };
            for edited in candidates {
                let Ok((changed_ids, _)) = subject(dir.path(), &model_toml(family, &edited), FEATURES) else {
                    continue;
                };
                if !changed_ids.is_disjoint(&ids) {
                    problems.push(format!(
                        "{family}: changing `{key}` = {value} to {:?} keeps run ids {:?}",
                        edited.get(key),
                        changed_ids.intersection(&ids).collect::<Vec<_>>()
                    ));
                }
                covered.get_mut(*family).unwrap().insert(key.clone());
                break;
            }
        }
        // The device: where a run trains, not which run it is.
        if params.contains_key("device") {
            let mut on_gpu = params.clone();
            on_gpu.insert("device".into(), Toml::String("cuda:0".into()));
            let (gpu_ids, gpu_capabilities) = subject(dir.path(), &model_toml(family, &on_gpu), FEATURES).unwrap();
            assert_eq!(gpu_ids, ids, "{family}: the device changed run ids");
            assert_eq!(gpu_capabilities["device"], "cuda:0");
            covered.get_mut(*family).unwrap().insert("device".into());
        }
        // `[features]`: part of the run ids exactly when the family reads them.
        for (before, after) in FEATURE_CHANGES {
            let changed = FEATURES.replace(before, after);
            assert_ne!(changed, FEATURES, "the feature change `{after}` applies");
            let (feature_ids, _) = subject(dir.path(), &original, &changed).unwrap();
            let reads_features = capabilities["reads_features"].as_bool().unwrap();
            if reads_features && !feature_ids.is_disjoint(&ids) {
                problems.push(format!("{family}: reads [features] but `{after}` keeps its run ids"));
            }
            if !reads_features && feature_ids != ids {
                problems.push(format!(
                    "{family}: does not read [features] but `{after}` changes its run ids"
                ));
            }
        }
    }
    for (family, key, says) in REFUSED {
        let mut params: toml::Table = toml::from_str(EXAMPLES.iter().find(|(f, _)| f == family).unwrap().1).unwrap();
        params.insert(key.to_string(), Toml::Boolean(true));
        match subject(dir.path(), &model_toml(family, &params), FEATURES) {
            Err(e) if e.contains(says) => {
                covered.get_mut(*family).unwrap().insert(key.to_string());
            }
            other => problems.push(format!(
                "{family}: `{key} = true` is not refused saying `{says}`: {other:?}"
            )),
        }
    }
    for (family, params) in &schema {
        match covered.get(family) {
            None => problems.push(format!("family `{family}` has no example here: add one to EXAMPLES")),
            Some(seen) => {
                for missing in params.difference(seen) {
                    problems.push(format!(
                        "{family}: no example changes parameter `{missing}` validly: set it in one (or add its change)"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `transform` (any family but the ensemble): "log1p" and "box_cox" give
/// other run ids than none, and "none" written out the same ids as unset;
/// so does `reconcile`; `fallback` enters them unless it is the default
/// (`seasonal_naive`), every family taking one.
#[test]
fn a_target_transform_and_reconciliation_enter_run_ids_only_when_set() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "data.csv", &data());
    stub_model_dirs(dir.path());
    for (family, example) in EXAMPLES
        .iter()
        .filter(|(f, _)| !["ensemble", "bert_fusion"].contains(f))
    {
        let params: toml::Table = toml::from_str(example).unwrap();
        let with = |key: &str, value: Option<&str>| {
            let mut table = params.clone();
            if let Some(v) = value {
                table.insert(key.into(), Toml::String(v.into()));
            }
            subject(dir.path(), &model_toml(family, &table), FEATURES).unwrap().0
        };
        let ids = |transform: Option<&str>| with("transform", transform);
        let plain = ids(None);
        assert_eq!(
            with("fallback", Some("seasonal_naive")),
            plain,
            "{family}: the default fallback changed its run ids"
        );
        let naive = with("fallback", Some("naive"));
        assert!(
            naive.is_disjoint(&plain),
            "{family}: fallback = \"naive\" keeps run ids"
        );
        for other in ["mean", "none"] {
            assert!(
                with("fallback", Some(other)).is_disjoint(&naive),
                "{family}: fallback = \"{other}\" keeps the naive fallback's run ids"
            );
        }
        assert_eq!(
            with("reconcile", Some("none")),
            plain,
            "{family}: reconcile = \"none\" changed its run ids"
        );
        assert!(
            with("reconcile", Some("bottom_up")).is_disjoint(&plain),
            "{family}: reconcile = \"bottom_up\" keeps run ids"
        );
        assert_eq!(
            ids(Some("none")),
            plain,
            "{family}: transform = \"none\" changed its run ids"
        );
        let log1p = ids(Some("log1p"));
        assert!(log1p.is_disjoint(&plain), "{family}: log1p keeps run ids");
        assert!(
            ids(Some("box_cox")).is_disjoint(&log1p),
            "{family}: box_cox keeps log1p's run ids"
        );
    }
}
