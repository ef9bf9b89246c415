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
    let prepared = trendlab_results::prepare(&spec).unwrap();
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

/// Every family that reads features trains and forecasts on them: the
/// global ones across series, ARIMAX on the events alone.
#[test]
fn feature_families_run_on_events_and_statics() {
    let dir = tempfile::tempdir().unwrap();
    // 40 days of two stores' sales, a sale every week lifting them by 4.
    let first = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let mut data = String::from("date,id,y,store,event,snap\n");
    for (id, store) in [("a", "S1"), ("b", "S2")] {
        for d in 0..40u64 {
            let sale = d % 7 == 3;
            let y = d % 5 + 1 + 4 * u64::from(sale);
            let day = first + chrono::Days::new(d);
            data += &format!("{day},{id},{y},{store},{},{}\n", if sale { "Sale" } else { "" }, d % 2);
        }
    }
    write(dir.path(), "data.csv", &data);
    let spec = spec().replace("min_train = 2", "min_train = 20\nfolds = 2\nmetrics = [\"mae\"]")
        + r#"
[[models]]
name = "gbdt"
family = "gbdt"
rounds = 20
[[models]]
name = "lstm"
family = "lstm"
input_size = 7
hidden = 4
epochs = 2
validation = 0
[[models]]
name = "arimax"
family = "arima"
order = [1, 0, 0]
exogenous = true
"#;
    let spec = spec
        .replace("[features]\nlags = [1]", "[features]\nlags = [1]\nfuture = [\"snap\"]")
        .replace(
            "events = [\"event\", \"snap\"]",
            "events = [\"event\"]\ncovariates = [\"snap\"]",
        );
    write(dir.path(), "spec.toml", &spec);
    let o = crate::common::trendlab(dir.path(), &["run", "spec.toml", "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let board: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("reports/categorical/leaderboard.json")).unwrap())
            .unwrap();
    let rows = board["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for row in rows {
        assert_eq!(row["folds_finished"], 2, "{row}");
        assert!(row["metrics"]["mae"]["mean"].as_f64().unwrap().is_finite(), "{row}");
    }
}

/// `forecast --future FILE` gives the events of the forecast dates too,
/// encoded as the data's were; without them the error names the data's
/// column (not a one-hot column), and a value the data never holds is an
/// error naming it.
#[test]
fn a_future_file_gives_the_events_of_the_forecast_dates() {
    use trendlab_engine::future::{future_fold, use_future_values};
    let dir = tempfile::tempdir().unwrap();
    // No future row in the data: its last date is 2024-01-04.
    let data: String = DATA
        .lines()
        .filter(|l| !l.contains("2024-01-05"))
        .map(|l| format!("{l}\n"))
        .collect();
    write(dir.path(), "data.csv", &data);
    let spec = write(dir.path(), "spec.toml", &spec().replace("horizon = 1", "horizon = 2"));
    let prepared = trendlab_results::prepare(&spec).unwrap();
    let missing = future_fold(&prepared, 2).unwrap_err().to_string();
    assert!(
        missing.starts_with("series `a` has no value of the known-in-advance covariate `event` on 2024-01-05"),
        "{missing}"
    );
    let future = write(
        dir.path(),
        "future.csv",
        "date,id,event,snap\n2024-01-05,a,Sale,1\n2024-01-06,a,,0\n2024-01-05,b,Easter,0\n2024-01-06,b,Sale,1\n",
    );
    let events = &prepared.panel.event_covariates;
    let values = trendlab_data::read_future(&prepared.experiment, &future, events).unwrap();
    let mut with_file = prepared.clone();
    use_future_values(&mut with_file, &values, 2);
    let fold = future_fold(&with_file, 2).unwrap();
    let tail = |series: usize, k: usize| {
        let column = &fold.prepared.panel.series[series].covariates[k];
        column[column.len() - 2..].to_vec()
    };
    // event=Easter, event=Sale, snap: as the file says, past the data.
    assert_eq!(
        [tail(0, 0), tail(0, 1), tail(0, 2)],
        [vec![0.0, 0.0], vec![1.0, 0.0], vec![1.0, 0.0]]
    );
    assert_eq!(
        [tail(1, 0), tail(1, 1), tail(1, 2)],
        [vec![1.0, 0.0], vec![0.0, 1.0], vec![0.0, 1.0]]
    );
    // The statics stay each series' own.
    assert_eq!(tail(0, 3), vec![1.0, 1.0]);
    let unknown = write(
        dir.path(),
        "unknown.csv",
        "date,id,event,snap\n2024-01-05,a,Halloween,1\n",
    );
    let error = trendlab_data::read_future(&prepared.experiment, &unknown, events)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("unknown.csv:2: `event` value `Halloween` never occurs in the data"),
        "{error}"
    );
}
