//! `[data] events` and `[data] static`: read as known-in-advance model
//! columns (a flag stays a number, a name becomes one 0/1 column per value),
//! future rows included; the static ones are constant within each series,
//! inputs of the models across series but not regressors of one (ARIMAX).

use crate::common::write;
use trendlab_models::SeriesHistory;

const DATA: &str = "date,id,y,store,event,snap
2024-01-01,a,1,S1,,0
2024-01-02,a,2,S1,Sale,1
2024-01-03,a,3,S1,Easter,0
2024-01-04,a,4,S1,,1
2024-01-05,a,,S1,Sale,0
2024-01-01,b,5,S2,,0
2024-01-02,b,6,S2,Sale,1
2024-01-03,b,7,S2,Easter,0
2024-01-04,b,8,S2,,1
";

fn spec() -> String {
    r#"[experiment]
name = "categorical"
[data]
path = "data.csv"
time = "date"
id = "id"
target = "y"
frequency = "D"
static = ["store"]
events = ["event", "snap"]
[features]
lags = [1]
[evaluation]
horizon = 1
min_train = 2
[[models]]
name = "ridge"
family = "linear"
"#
    .into()
}

#[test]
fn events_and_statics_become_known_in_advance_columns() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "data.csv", DATA);
    let spec = write(dir.path(), "spec.toml", &spec());
    let prepared = trendlab_engine::prepare(&spec).unwrap();
    let panel = &prepared.panel;
    assert_eq!(panel.event_covariates, vec!["event=Easter", "event=Sale", "snap"]);
    assert_eq!(panel.static_covariates, vec!["store=S1", "store=S2"]);
    assert_eq!(
        panel.covariate_names,
        vec!["event=Easter", "event=Sale", "snap", "store=S1", "store=S2"]
    );
    let a = &panel.series[0];
    assert_eq!(a.covariates[0], vec![0.0, 0.0, 1.0, 0.0]);
    assert_eq!(a.covariates[1], vec![0.0, 1.0, 0.0, 0.0]);
    assert_eq!(a.covariates[2], vec![0.0, 1.0, 0.0, 1.0]);
    assert_eq!(a.covariates[3], vec![1.0; 4]);
    assert_eq!(a.covariates[4], vec![0.0; 4]);
    // The future row of 2024-01-05 carries its event.
    assert_eq!(a.future.covariates[1], vec![1.0]);
    assert_eq!(a.future.covariates[3], vec![1.0]);
    assert_eq!(panel.series[1].covariates[4], vec![1.0; 4]);
    // Known in advance for the features; the statics are not ARIMAX regressors.
    let features = &prepared.features;
    assert_eq!(features.future, panel.covariate_names);
    assert_eq!(features.statics, vec!["store=S1", "store=S2"]);
    let columns: Vec<Vec<f64>> = (0..5).map(|k| a.covariates[k].clone()).collect();
    let history = SeriesHistory {
        id: "a",
        text: None,
        dates: &a.dates,
        target: &a.target[..3],
        past: vec![],
        future: columns.iter().map(Vec::as_slice).collect(),
    };
    assert_eq!(features.varying_future(&history).len(), 3);
}

#[test]
fn a_column_both_event_and_covariate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "data.csv", DATA);
    let spec = write(
        dir.path(),
        "spec.toml",
        &spec().replace("frequency = \"D\"", "frequency = \"D\"\ncovariates = [\"snap\"]"),
    );
    let error = trendlab_spec::load(&spec).unwrap_err().to_string();
    assert!(
        error.contains("`snap` is in `data.covariates` too: an event column is read as events only"),
        "{error}"
    );
}
