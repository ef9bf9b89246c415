//! Spec checks beyond the broken-spec corpus (`bad_inputs`): the foundation
//! issue's example, the schema, the run limit.

use crate::common::{dataset, repo, stderr, stdout, trendlab, write};

/// The example of the foundation issue, verbatim, next to a `datasets/` folder.
const ISSUE_EXAMPLE: &str = r#"[experiment]
name = "retail-weekly-baselines"
description = "Weekly demand of 200 Online Retail products"
seed = 42

[data]
path = "datasets/online_retail_weekly.csv"   # relative to the spec file
time = "week_start"
id = "stock_code"
target = "quantity"
frequency = "W-MON"          # D, W-MON.. W-SUN, MS, M
text = "description"          # optional, used by later families
covariates = ["revenue"]      # optional

[features]
lags = [1, 2, 3, 4]
rolling = [{ window = 4, stats = ["mean", "std"] }]
calendar = ["week_of_year", "month"]

[evaluation]
horizon = 8
folds = 3
step = 8                      # default: horizon
window = "expanding"          # or "sliding" (with train_size)
metrics = ["mae", "rmse", "smape", "mase"]
season = 52                   # seasonal period for MASE/RMSSE scaling; default 1
rank_by = "mase"

[[models]]
name = "naive"
family = "naive"

[[models]]
name = "snaive4"
family = "seasonal_naive"
season = 4

[[models]]
name = "ridge"
family = "linear"
[models.grid]
alpha = [0.1, 1.0, 10.0]
"#;

/// The first round's example spec: its `season = 52` on a year of weekly
/// data leaves no series the 53 periods a seasonal MASE scale needs (every
/// model would end unranked), so `validate` refuses it at `season`; with a
/// season the data can hold it is accepted as written.
#[test]
fn the_issue_example_validates_once_its_season_fits_the_data() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("datasets")).unwrap();
    std::fs::copy(
        dataset("online_retail_weekly.csv"),
        dir.path().join("datasets/online_retail_weekly.csv"),
    )
    .unwrap();
    write(dir.path(), "spec.toml", ISSUE_EXAMPLE);
    let out = trendlab(dir.path(), &["validate", "spec.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("spec.toml:26:10: season = 52 is not shorter than any series' training history"),
        "{}",
        stderr(&out)
    );
    write(
        dir.path(),
        "spec.toml",
        &ISSUE_EXAMPLE.replace("season = 52 ", "season = 4  "),
    );
    let out = trendlab(dir.path(), &["validate", "spec.toml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("5 configurations x 3 folds = 15 runs on 200 series"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn schema_describes_sections_and_families() {
    let out = trendlab(&repo(), &["schema"]);
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let properties = &schema["properties"];
    for section in ["experiment", "data", "features", "evaluation", "models"] {
        assert!(properties.get(section).is_some(), "schema lacks `{section}`");
    }
    let text = schema.to_string();
    for family in ["naive", "seasonal_naive", "mean", "drift", "linear", "arima"] {
        assert!(
            text.contains(&format!("\"const\":\"{family}\"")),
            "schema lacks family `{family}`"
        );
    }
}

/// `max_runs` bounds configurations x folds before anything is expanded;
/// the quickstart's 7 configurations x 3 folds are 21 runs.
#[test]
fn max_runs_refuses_a_larger_grid_and_can_be_raised() {
    let dir = tempfile::tempdir().unwrap();
    let over = crate::common::quickstart_variant(dir.path(), &[("seed = 42", "seed = 42\nmax_runs = 20")]);
    let out = trendlab(dir.path(), &["validate", over.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "the grids expand to 7 configurations x 3 folds = 21 runs (`ridge` alone has 3), more than the limit of 20: \
             shrink the grid, or raise the limit with `max_runs = 21` in [experiment]"
        ),
        "{}",
        stderr(&out)
    );
    let raised = crate::common::quickstart_variant(dir.path(), &[("seed = 42", "seed = 42\nmax_runs = 21")]);
    let out = trendlab(dir.path(), &["validate", raised.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("7 configurations x 3 folds = 21 runs"),
        "{}",
        stdout(&out)
    );
}
