//! Ensembles end to end: only the new runs are computed when an ensemble is
//! added, weights never see their own fold, failed members fail or drop.

use crate::common::{dataset, forecasts_csv, records, stderr, stdout, trendlab, write};
use std::path::{Path, PathBuf};
use trendlab_results::store::{RunRecord, RunStatus};

/// A spec on the bundled weekly Online Retail data with `models` appended.
fn retail_spec(dir: &Path, name: &str, models: &str) -> PathBuf {
    let data = dataset("online_retail_weekly.csv");
    let text = format!(
        r#"[experiment]
name = "ensembles"
seed = 1

[data]
path = {data:?}
time = "week_start"
id = "stock_code"
target = "quantity"
frequency = "W-MON"

[evaluation]
horizon = 4
folds = 3
metrics = ["mase", "mae"]

[[models]]
name = "naive"
family = "naive"

[[models]]
name = "mean"
family = "mean"
[models.grid]
window = [4, 8]

[[models]]
name = "drift"
family = "drift"
{models}"#
    );
    write(dir, name, &text)
}

fn run(dir: &Path, spec: &Path, out: &Path) -> std::process::Output {
    trendlab(
        dir,
        &["run", spec.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"],
    )
}

const MEAN_ENSEMBLE: &str = r#"
[[models]]
name = "ens_mean"
family = "ensemble"
members = ["naive", "drift"]
method = "mean"
"#;

const STACKING_ENSEMBLE: &str = r#"
[[models]]
name = "ens_stacking"
family = "ensemble"
members = ["naive", "mean", "drift"]
method = "stacking"
"#;

#[test]
fn adding_an_ensemble_computes_only_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let members = retail_spec(dir.path(), "members.toml", "");
    let first = run(dir.path(), &members, &out);
    assert!(
        stdout(&first).contains("12 runs planned: 0 skipped (already finished), 12 finished, 0 failed"),
        "{}{}",
        stdout(&first),
        stderr(&first)
    );
    // A mean of single-configuration members learns nothing: its 3 folds only.
    let with_mean = retail_spec(dir.path(), "mean.toml", MEAN_ENSEMBLE);
    let second = run(dir.path(), &with_mean, &out);
    assert!(
        stdout(&second).contains("15 runs planned: 12 skipped (already finished), 3 finished, 0 failed"),
        "{}{}",
        stdout(&second),
        stderr(&second)
    );
    // Stacking learns from earlier forecasts: its 3 folds plus each member
    // configuration refitted at the one validation origin (4); the members'
    // backtest runs come from the store.
    let with_stacking = retail_spec(
        dir.path(),
        "stacking.toml",
        &format!("{MEAN_ENSEMBLE}{STACKING_ENSEMBLE}"),
    );
    let third = run(dir.path(), &with_stacking, &out);
    assert!(
        stdout(&third).contains("22 runs planned: 15 skipped (already finished), 7 finished, 0 failed"),
        "{}{}",
        stdout(&third),
        stderr(&third)
    );
    let all = records(&out, "ensembles");
    let validation: Vec<&RunRecord> = all.iter().filter(|r| !r.role.is_backtest()).collect();
    assert_eq!(validation.len(), 4);
    assert!(validation.iter().all(|r| r.fold == 0 && r.model != "ens_stacking"));
    // The leaderboard compares each ensemble with its best member.
    let board: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("reports/ensembles/leaderboard.json")).unwrap()).unwrap();
    let row = board["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["model"] == "ens_stacking")
        .unwrap();
    let versus = &row["ensemble"]["versus_best"];
    let best = versus["member"].as_str().unwrap();
    let mase = |label: &str| {
        board["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["label"] == label)
            .unwrap()["metrics"]["mase"]["mean"]
            .as_f64()
            .unwrap()
    };
    let member_best = ["naive", "mean[window=4]", "mean[window=8]", "drift"]
        .into_iter()
        .min_by(|a, b| mase(a).total_cmp(&mase(b)))
        .unwrap();
    assert_eq!(best, member_best);
    let difference = versus["difference"].as_f64().unwrap();
    assert!((difference - (mase("ens_stacking") - mase(best))).abs() < 1e-9);
    assert_eq!(row["ensemble"]["weights"].as_array().unwrap().len(), 3);
    assert!(stdout(&third).contains("ensembles vs their best member"));
}

/// Daily series: `series` products over `days` days, values from `value(s, t)`.
fn synthetic_csv(dir: &Path, name: &str, value: impl Fn(usize, usize) -> f64) -> PathBuf {
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let mut text = String::from("date,id,sales\n");
    for s in 0..6 {
        for t in 0..60 {
            let date = start + chrono::Days::new(t as u64);
            text.push_str(&format!("{date},p{s},{}\n", value(s, t)));
        }
    }
    write(dir, name, &text)
}

fn synthetic_spec(dir: &Path, data: &Path) -> PathBuf {
    let text = format!(
        r#"[experiment]
name = "leak"

[data]
path = {data:?}
time = "date"
id = "id"
target = "sales"
frequency = "D"

[evaluation]
horizon = 5
folds = 3
step = 3            # folds overlap: earlier forecasts must be cut at the cutoff
metrics = ["mae"]

[[models]]
name = "naive"
family = "naive"

[[models]]
name = "mean"
family = "mean"
window = 7

[[models]]
name = "drift"
family = "drift"

[[models]]
name = "stack"
family = "ensemble"
members = ["naive", "mean", "drift"]
method = "stacking"
constrained = false
validation_folds = 2

[[models]]
name = "greedy"
family = "ensemble"
members = ["naive", "mean", "drift"]
method = "greedy"
"#
    );
    write(dir, "leak.toml", &text)
}

/// `(weights, forecasts.csv)` of ensemble `model` at fold `fold`.
fn ensemble_fold(out: &Path, model: &str, fold: usize) -> (serde_json::Value, String) {
    let record = records(out, "leak")
        .into_iter()
        .find(|r| r.model == model && r.fold == fold && r.role.is_backtest())
        .unwrap();
    assert_eq!(record.status, RunStatus::Finished, "{:?}", record.error);
    let log = record.ensemble.expect("an ensemble records its combination");
    let forecasts = forecasts_csv(&out.join("runs/leak").join(&record.run_id));
    // The forecasts file holds actuals too; keep the forecast column.
    let forecasts = forecasts
        .lines()
        .map(|l| {
            l.split(',')
                .take(5)
                .chain(l.split(',').skip(6))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join("\n");
    (serde_json::to_value(&log.members).unwrap(), forecasts)
}

/// Two datasets equal up to fold 1's cutoff and different after it: every
/// ensemble's weights and forecasts of folds 0 and 1 are the same on both
/// (they learned nothing from fold 1's test window), while fold 2, whose
/// selection window includes that window, differs.
#[test]
fn ensemble_weights_never_see_their_own_fold() {
    let dir = tempfile::tempdir().unwrap();
    let level = |s: usize, t: usize| 20.0 + 3.0 * s as f64 + ((t * 7 + s * 3) % 11) as f64 + 0.2 * t as f64;
    // 60 days, horizon 5, step 3: fold 1's cutoff is day 59 − 5 − 3 = 51 (0-based).
    let cutoff_1 = 51;
    let original = synthetic_csv(dir.path(), "original.csv", level);
    let changed = synthetic_csv(dir.path(), "changed.csv", |s, t| {
        if t > cutoff_1 {
            3.0 * level(s, t) + 40.0 * (t % 2) as f64
        } else {
            level(s, t)
        }
    });
    let outputs: Vec<PathBuf> = [original, changed]
        .iter()
        .enumerate()
        .map(|(i, data)| {
            let case = dir.path().join(format!("case{i}"));
            std::fs::create_dir_all(&case).unwrap();
            let spec = synthetic_spec(&case, data);
            let out = case.join("out");
            let result = run(&case, &spec, &out);
            assert_eq!(result.status.code(), Some(0), "{}", stderr(&result));
            out
        })
        .collect();
    for model in ["stack", "greedy"] {
        for fold in 0..3 {
            let (weights_a, forecasts_a) = ensemble_fold(&outputs[0], model, fold);
            let (weights_b, forecasts_b) = ensemble_fold(&outputs[1], model, fold);
            if fold <= 1 {
                assert_eq!(
                    weights_a, weights_b,
                    "{model} fold {fold}: weights saw data after the cutoff"
                );
                assert_eq!(
                    forecasts_a, forecasts_b,
                    "{model} fold {fold}: forecasts saw data after the cutoff"
                );
            } else if model == "stack" {
                assert_ne!(weights_a, weights_b, "{model} fold {fold}: the test cannot tell");
            }
        }
    }
    // Fold k's selection window ends at its own cutoff.
    for record in records(&outputs[0], "leak")
        .iter()
        .filter(|r| r.model == "stack" && r.role.is_backtest())
    {
        let window = &record.ensemble.as_ref().unwrap().selection;
        assert_eq!(window.last_date, Some(record.cutoff), "fold {}", record.fold);
        assert_eq!(window.origins.len(), 2 + record.fold);
    }
}

#[test]
fn a_failed_member_fails_the_ensemble_or_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // A seasonal naive whose season is longer than any series, without a
    // fallback, fails every fold.
    let spec = retail_spec(
        dir.path(),
        "failing.toml",
        r#"
[[models]]
name = "broken"
family = "seasonal_naive"
season = 500
fallback = "none"

[[models]]
name = "strict"
family = "ensemble"
members = ["naive", "broken"]
method = "median"

[[models]]
name = "lenient"
family = "ensemble"
members = ["naive", "broken", "drift"]
method = "median"
on_missing = "drop"
"#,
    );
    let result = run(dir.path(), &spec, &out);
    assert_eq!(result.status.code(), Some(1), "{}", stderr(&result));
    let all = records(&out, "ensembles");
    let strict: Vec<&RunRecord> = all.iter().filter(|r| r.model == "strict").collect();
    assert_eq!(strict.len(), 3);
    for r in &strict {
        assert_eq!(r.status, RunStatus::Failed);
        let error = r.error.as_deref().unwrap();
        assert!(
            error.starts_with(&format!("member `broken` failed at fold {}", r.fold)),
            "{error}"
        );
    }
    for r in all.iter().filter(|r| r.model == "lenient") {
        assert_eq!(r.status, RunStatus::Finished, "{:?}", r.error);
        let log = r.ensemble.as_ref().unwrap();
        assert_eq!(log.dropped.len(), 1);
        assert_eq!(log.dropped[0].member, "broken");
        let used: Vec<&str> = log
            .members
            .iter()
            .filter(|m| m.used)
            .map(|m| m.label.as_str())
            .collect();
        assert_eq!(used, ["naive", "drift"]);
    }
}
