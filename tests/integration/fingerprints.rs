//! Every family's numerics are versioned: its forecasts on fixed inputs (one
//! backtest fold of a small weekly panel, one model per family) are kept in
//! `tests/goldens/family_fingerprints.json` with the algorithm version the
//! family stated when they were recorded. A change that moves a family's
//! forecasts while its version stays fails here, since the family's run ids
//! would stay too and a run store would serve the old numerics as the new.
//! Bumping the version (in the family's module of `framework/spec`) changes
//! its run ids; then record the new forecasts:
//!
//! ```text
//! TRENDLAB_WRITE_FINGERPRINTS=1 cargo test --test integration fingerprints
//! ```

use crate::bert_fusion::tiny_encoder;
use crate::common::{repo, write};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;
use trendlab_ops::Workspace;
use trendlab_ops::execution::{self, RunOptions};

const GOLDEN: &str = "tests/goldens/family_fingerprints.json";

/// One model per family, named after it, with small settings.
const MODELS: &[(&str, &str)] = &[
    ("naive", ""),
    ("seasonal_naive", "season = 4"),
    ("mean", "window = 8"),
    ("drift", ""),
    ("linear", "alpha = 0.5"),
    ("gbdt", "rounds = 20\nmax_leaves = 7"),
    ("arima", "order = [1, 1, 1]"),
    ("ets", ""),
    ("theta", ""),
    ("croston", ""),
    ("tsb", "alpha_d = 0.2\nalpha_p = 0.1"),
    ("adida", ""),
    ("imapa", ""),
    (
        "lstm",
        "input_size = 4\nhidden = 8\nepochs = 3\npatience = 0\nvalidation = 0\nbatch_size = 16",
    ),
    (
        "bert_fusion",
        "encoder = \"encoder\"\ninput_size = 4\nhidden = 8\nepochs = 3\npatience = 0\nvalidation = 0\nbatch_size = 16",
    ),
    (
        "nhits",
        "input_size = 8\nmlp_units = [8, 8]\npooling_sizes = [2, 1]\ndownsample = [2, 1]\nmax_steps = 20\nval_check_steps = 10\nvalidation = 0\npatience = 0",
    ),
    (
        "patchtst",
        "input_size = 8\npatch_len = 4\nstride = 2\nd_model = 8\nheads = 2\nlayers = 1\nff = 8\nmax_steps = 20\nval_check_steps = 10\nvalidation = 0\npatience = 0",
    ),
    (
        "deepar",
        "input_size = 8\nlstm_hidden = 8\nsamples = 20\nmax_steps = 20\nval_check_steps = 10\nvalidation = 0\npatience = 0",
    ),
    ("chronos", "checkpoint = \"chronos\""),
    (
        "ensemble",
        "members = [\"naive\", \"mean\", \"drift\"]\nmethod = \"mean\"",
    ),
];

/// Three weekly series of 60 weeks (a trend, a season of 4, some zeros),
/// with a price and a product text.
fn data() -> String {
    let mut csv = String::from("week,id,qty,price,desc\n");
    let start = chrono::NaiveDate::from_ymd_opt(2023, 1, 2).unwrap();
    let texts = ["red lamp", "blue mug", "red bag"];
    for (s, text) in texts.iter().enumerate() {
        for t in 0..60u64 {
            let date = start + chrono::Days::new(7 * t);
            let season = [0, 3, 5, 1][(t % 4) as usize];
            let qty = match (s, t % 5) {
                (2, 0 | 3) => 0,
                _ => 10 + s as u64 * 4 + t / 6 + season + (t * 7 + s as u64) % 3,
            };
            csv.push_str(&format!("{date},p{s},{qty},{}.5,{text}\n", 2 + t % 3));
        }
    }
    csv
}

fn spec() -> String {
    let mut text = String::from(
        r#"[experiment]
name = "fingerprints"
seed = 7

[data]
path = "data.csv"
time = "week"
id = "id"
target = "qty"
frequency = "W-MON"
text = "desc"
covariates = ["price"]

[features]
lags = [1, 2, 4]

[evaluation]
horizon = 4
folds = 1
min_train = 30
metrics = ["mae"]
"#,
    );
    for (family, params) in MODELS {
        text.push_str(&format!(
            "\n[[models]]\nname = \"{family}\"\nfamily = \"{family}\"\n{params}\n"
        ));
    }
    text
}

/// Each family's version and its forecasts of the fold (series by series, step by step).
fn fingerprints(dir: &Path) -> BTreeMap<String, (u32, Vec<f64>)> {
    write(dir, "data.csv", &data());
    tiny_encoder(&dir.join("encoder"));
    crate::chronos::copy_golden_checkpoint(&dir.join("chronos"));
    let path = write(dir, "spec.toml", &spec());
    let mut w = Workspace::open(&path, dir).unwrap();
    let outcome = execution::run(&mut w, RunOptions::jobs(2), &(), &Mutex::new(Vec::new())).unwrap();
    assert!(outcome.summary.failed.is_empty(), "{:?}", outcome.summary.failed);
    (0..w.plan.configs.len())
        .map(|c| {
            let config = &w.plan.configs[c];
            let run = w.plan.runs_of(c).find(|r| r.role.is_backtest()).unwrap();
            let table = w.store.forecasts(&run.id).unwrap();
            let forecasts = table.rows.iter().map(|r| r.forecast).collect();
            let family = config.family.name().to_string();
            (family, (config.family.algorithm_version(), forecasts))
        })
        .collect()
}

/// How far a recorded forecast may move by rounding alone: the neural
/// families train through GEMM kernels chosen per processor.
fn tolerance(family: &str, value: f64) -> f64 {
    let relative = if matches!(
        family,
        "lstm" | "bert_fusion" | "nhits" | "patchtst" | "deepar" | "chronos"
    ) {
        1e-4
    } else {
        1e-7
    };
    relative * value.abs().max(1.0)
}

#[test]
fn a_family_whose_forecasts_change_states_a_new_algorithm_version() {
    let dir = tempfile::tempdir().unwrap();
    let found = fingerprints(dir.path());
    let families: BTreeSet<&str> = found.keys().map(String::as_str).collect();
    let in_schema: BTreeSet<String> = trendlab_spec::json_schema()["$defs"]["ModelEntry"]["allOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["then"]["properties"]["family"]["const"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        families,
        in_schema.iter().map(String::as_str).collect(),
        "every family of the spec has a model here"
    );
    for (family, (_, forecasts)) in &found {
        assert_eq!(forecasts.len(), 12, "{family}: 3 series x 4 steps");
        assert!(forecasts.iter().all(|v| v.is_finite()), "{family}: {forecasts:?}");
    }
    let golden = repo().join(GOLDEN);
    if std::env::var_os("TRENDLAB_WRITE_FINGERPRINTS").is_some() {
        let value: BTreeMap<&str, Value> = found
            .iter()
            .map(|(family, (version, forecasts))| {
                (family.as_str(), json!({ "version": version, "forecasts": forecasts }))
            })
            .collect();
        std::fs::write(&golden, serde_json::to_string_pretty(&value).unwrap() + "\n").unwrap();
        return;
    }
    let recorded: BTreeMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(&golden).unwrap()).expect("the recorded fingerprints");
    for (family, (version, forecasts)) in &found {
        let Some(entry) = recorded.get(family) else {
            panic!("{family} has no recorded fingerprint in {GOLDEN}: record it (see this file's docs)");
        };
        let was = entry["version"].as_u64().unwrap() as u32;
        assert_eq!(
            was, *version,
            "{family} states algorithm version {version}, its fingerprint was recorded at {was}: record it again"
        );
        let old: Vec<f64> = serde_json::from_value(entry["forecasts"].clone()).unwrap();
        let moved = old.len() != forecasts.len()
            || old
                .iter()
                .zip(forecasts)
                .any(|(o, n)| (o - n).abs() > tolerance(family, *o));
        assert!(
            !moved,
            "the forecasts of {family} changed while its algorithm version stayed {version}: \
             bump the version in its module of framework/spec (its run ids change, so no store \
             serves the old numerics), then record the fingerprints again\n  recorded {old:?}\n  now      {forecasts:?}"
        );
    }
}
