//! Targets at the ends of the floating-point range: a metric whose value
//! overflows (RMSE of targets near 1e300, MAPE of an actual of 1e-310) is
//! left out and counted in the run's notes, so every run stays readable:
//! a second `run` finds them all finished and moves none aside.

use crate::common::write;
use std::sync::Mutex;
use trendlab_ops::Workspace;
use trendlab_ops::execution::{self, RunOptions};

/// Two daily series of 40 days: `huge` around 1e300 (its squared errors
/// overflow), `tiny` with one actual of 1e-310 in the test window (its
/// percentage error overflows). Croston gives point forecasts only, so it
/// forecasts `huge` too (the naive method's interval overflows there, and
/// the series fails with that reason).
fn data() -> String {
    let mut csv = String::from("date,id,y\n");
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    for t in 0..40u64 {
        let date = start + chrono::Days::new(t);
        let huge = (1.0 + (t % 3) as f64) * 1e300;
        let tiny = if t == 38 { 1e-310 } else { 5.0 + (t % 4) as f64 };
        csv.push_str(&format!("{date},huge,{huge:e}\n{date},tiny,{tiny:e}\n"));
    }
    csv
}

const SPEC: &str = r#"[experiment]
name = "extreme"

[data]
path = "data.csv"
time = "date"
id = "id"
target = "y"
frequency = "D"

[evaluation]
horizon = 4
folds = 2
min_train = 20
metrics = ["mae", "rmse", "mape"]

[[models]]
name = "naive"
family = "naive"

[[models]]
name = "croston"
family = "croston"
"#;

#[test]
fn metrics_past_the_largest_number_are_left_out_and_counted_and_runs_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "data.csv", &data());
    let spec = write(dir.path(), "spec.toml", SPEC);
    let warnings = Mutex::new(Vec::new());
    let mut w = Workspace::open(&spec, dir.path()).unwrap();
    let first = execution::run(&mut w, RunOptions::jobs(2), &(), &warnings).unwrap();
    assert!(first.summary.failed.is_empty(), "{:?}", first.summary.failed);
    assert_eq!(first.summary.finished, 4);

    let mut notes = Vec::new();
    for run in &w.plan.runs {
        let metrics = w.store.metrics(&run.id).unwrap().expect("metrics.json");
        assert!(metrics.aggregate.values().all(|v| v.is_finite()), "{metrics:?}");
        // MAE of `huge` is finite (about 1e300), so the mean over series is kept.
        assert!(metrics.aggregate.contains_key("mae"), "{metrics:?}");
        notes.extend(metrics.notes);
    }
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("rmse left out 1 value(s) past the largest number")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("mape left out 1 value(s) past the largest number")),
        "{notes:?}"
    );

    // Nothing was written that cannot be read back: the second run skips all.
    let again = execution::run(&mut w, RunOptions::jobs(2), &(), &warnings).unwrap();
    assert_eq!((again.summary.skipped, again.summary.finished), (4, 0));
    assert!(again.summary.repaired.is_empty(), "{:?}", again.summary.repaired);
    let rows = &again.leaderboard.rows;
    assert!(rows.iter().all(|r| r.rank.is_some()), "every configuration ranked");
}
