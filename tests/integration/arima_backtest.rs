//! The arima family inside `trendlab run`: prediction intervals in
//! the stored forecasts and the interval metrics, a series that cannot be
//! fitted forecast by the fallback (or failing alone without one), ARIMAX on a known-in-advance covariate, and `reuse_order`.

use crate::common::{files_under, records, stdout, trendlab, write};
use std::path::Path;
use trendlab_ops::Workspace;
use trendlab_results::store::RunStatus;

/// A daily long-format CSV: `id,date,y,promo` for each `(id, values, promo)`.
fn daily_csv(dir: &Path, series: &[(&str, Vec<f64>, Vec<f64>)]) {
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let mut text = String::from("id,date,y,promo\n");
    for (id, y, promo) in series {
        for (t, (v, p)) in y.iter().zip(promo).enumerate() {
            text.push_str(&format!("{id},{},{v},{p}\n", start + chrono::Days::new(t as u64)));
        }
    }
    write(dir, "daily.csv", &text);
}

/// A deterministic, noisy-looking series: an AR(1) driven by a zig-zag.
fn wandering(n: usize, seed: usize, level: f64) -> Vec<f64> {
    let mut x = 0.0;
    (0..n)
        .map(|t| {
            let shock = ((t * 7919 + seed * 104_729) % 23) as f64 - 11.0;
            x = 0.6 * x + shock;
            level + x
        })
        .collect()
}

const HEADER: &str = r#"
[experiment]
name = "arima-cli"
seed = 7

[data]
path = "daily.csv"
time = "date"
id = "id"
target = "y"
frequency = "D"
covariates = ["promo"]
"#;

#[test]
fn intervals_are_written_and_scored_and_a_failing_series_falls_back_or_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let n = 120;
    daily_csv(
        dir.path(),
        &[
            ("a", wandering(n, 1, 100.0), vec![0.0; n]),
            ("b", wandering(n, 2, 50.0), vec![0.0; n]),
        ],
    );
    // A product sold for the last 17 days only: 3 and 10 training days at
    // the cutoffs, 17 in all, too few for ARIMA(0,1,1)(0,1,1)[7] (18):
    // the naive, then the seasonal naive forecast it.
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let young = wandering(17, 4, 30.0);
    let mut text = std::fs::read_to_string(dir.path().join("daily.csv")).unwrap();
    for (k, v) in young.iter().enumerate() {
        let date = start + chrono::Days::new((n - 17 + k) as u64);
        text.push_str(&format!("young,{date},{v},0\n"));
    }
    write(dir.path(), "daily.csv", &text);
    let spec = format!(
        "{HEADER}
[evaluation]
horizon = 7
folds = 2
season = 7
min_train = 3
metrics = [\"mae\", \"coverage\", \"winkler\", \"pinball\"]
levels = [80, 95]

[[models]]
name = \"arima\"
family = \"arima\"
order = [0, 1, 1]
seasonal_order = [0, 1, 1, 7]

[[models]]
name = \"strict\"
family = \"arima\"
order = [0, 1, 1]
seasonal_order = [0, 1, 1, 7]
fallback = \"none\"

[[models]]
name = \"ridge\"
family = \"linear\"
"
    );
    write(dir.path(), "spec.toml", &spec);
    let out = trendlab(dir.path(), &["run", "spec.toml", "--out", "out", "--quiet"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let store = Workspace::open(&dir.path().join("spec.toml"), &dir.path().join("out"))
        .unwrap()
        .store;
    let records = records(&dir.path().join("out"), "arima-cli");
    assert_eq!(records.len(), 6);
    for record in records {
        assert_eq!(record.status, RunStatus::Finished, "{record:?}");
        let metrics = store.metrics(&record.run_id).unwrap().unwrap();
        let table = store.forecasts(&record.run_id).unwrap();
        if record.model == "ridge" {
            // No intervals: no interval columns, and the metrics say why they are missing.
            assert!(table.levels.is_empty() && record.failed_series.is_empty());
            assert!(!metrics.aggregate.contains_key("coverage_80"));
            assert!(
                metrics
                    .notes
                    .contains(&"coverage undefined for 3 series: the model gives no prediction intervals".to_string()),
                "{:?}",
                metrics.notes
            );
            continue;
        }
        let days = [3, 10][record.fold];
        let too_short = format!("series `young` has {days} training periods; this model needs at least 18");
        let per_series = store.series_metrics(&record.run_id).unwrap();
        if record.model == "arima" {
            // The fallback forecast `young`, which is scored with the others.
            assert!(record.failed_series.is_empty(), "{record:?}");
            assert_eq!(record.fallback_series.len(), 1);
            assert_eq!(record.fallback_series[0].series, "young");
            assert_eq!(
                record.fallback_series[0].fallback,
                trendlab_spec::Fallback::SeasonalNaive
            );
            assert!(record.fallback_series[0].reason.contains(&too_short), "{record:?}");
            assert_eq!(
                metrics.notes[0],
                format!(
                    "1 of 3 series forecast by the fallback (seasonal_naive) where the model failed (young: {})",
                    record.fallback_series[0].reason
                )
            );
            assert_eq!(per_series.keys().collect::<Vec<_>>(), ["a", "b", "young"]);
            let forecast: Vec<f64> = table
                .rows
                .iter()
                .filter(|r| r.series_id == "young")
                .map(|r| r.forecast)
                .collect();
            let expected = match record.fold {
                // Shorter than a season: the naive, the last value.
                0 => vec![young[2]; 7],
                // The last week before the cutoff, repeated.
                _ => young[3..10].to_vec(),
            };
            assert_eq!(forecast, expected);
        } else {
            // Without a fallback it fails alone, with its reason.
            assert!(record.fallback_series.is_empty());
            assert_eq!(record.failed_series.len(), 1, "{record:?}");
            assert_eq!(record.failed_series[0].series, "young");
            assert!(record.failed_series[0].reason.contains(&too_short));
            assert!(metrics.notes[0].starts_with("1 of 3 series failed and are not scored (young: "));
            assert_eq!(per_series.keys().collect::<Vec<_>>(), ["a", "b"]);
        }
        assert_eq!(table.levels, [80.0, 95.0]);
        assert_eq!(table.rows.len(), per_series.len() * 7);
        // The forecasts: nested intervals around the forecast, at both
        // levels (lower bounds clipped at zero: the data is never negative).
        for row in &table.rows {
            let [(lo80, hi80), (lo95, hi95)] = [row.bounds[0], row.bounds[1]];
            assert!(
                lo95 <= lo80 && lo80 <= row.forecast && row.forecast < hi80 && hi80 < hi95,
                "{row:?}"
            );
        }
        // The stored coverage is the share of stored actuals inside the stored bounds.
        let inside = |k: usize| {
            table
                .rows
                .iter()
                .filter(|r| r.bounds[k].0 <= r.actual && r.actual <= r.bounds[k].1)
                .count() as f64
                / table.rows.len() as f64
        };
        assert!((metrics.aggregate["coverage_80"] - inside(0)).abs() < 1e-12);
        assert!((metrics.aggregate["coverage_95"] - inside(1)).abs() < 1e-12);
        assert!(metrics.aggregate["winkler_95"] > metrics.aggregate["winkler_80"] * 0.5);
        assert!(metrics.aggregate.contains_key("pinball"));
    }
    let leaderboard = std::fs::read_to_string(dir.path().join("out/reports/arima-cli/leaderboard.csv")).unwrap();
    assert!(
        leaderboard
            .lines()
            .next()
            .unwrap()
            .contains("coverage_80_mean,coverage_80_std,coverage_95_mean"),
        "{leaderboard}"
    );
    // Fair means: `strict` scored no `young`, so every ranked row's means
    // are over `a` and `b`, the series all three scored, and say so.
    let board: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/reports/arima-cli/leaderboard.json")).unwrap())
            .unwrap();
    let coverage = &board["coverage"];
    assert_eq!(coverage["basis"], "shared");
    assert_eq!(
        coverage["fallbacks"], 2,
        "arima's fallback forecast `young` in both folds"
    );
    assert_eq!(
        coverage["dropped"],
        serde_json::json!([
            {"fold": 0, "kept": 2, "series": ["young"]},
            {"fold": 1, "kept": 2, "series": ["young"]}
        ])
    );
    assert_eq!(
        coverage["text"],
        "the series every ranked configuration scored (fold 0: 1 dropped: young; fold 1: 1 dropped: young) (2 forecasts by fallbacks where a model failed, listed in the runs' notes)"
    );
    for row in board["rows"].as_array().unwrap() {
        assert!(row["rank"].is_number(), "{row}");
        let mut means = Vec::new();
        for run_id in row["run_ids"].as_array().unwrap() {
            let values = store.series_metrics(run_id.as_str().unwrap()).unwrap();
            means.push((values["a"]["mae"] + values["b"]["mae"]) / 2.0);
        }
        let per_fold: Vec<f64> = serde_json::from_value(row["per_fold"]["mae"].clone()).unwrap();
        for (stored, expected) in per_fold.iter().zip(&means) {
            assert!((stored - expected).abs() <= 1e-9 * expected.abs(), "{row}");
        }
        let mean = row["metrics"]["mae"]["mean"].as_f64().unwrap();
        assert!((mean - (means[0] + means[1]) / 2.0).abs() <= 1e-9 * mean.abs(), "{row}");
        let notes: Vec<&str> = row["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        assert!(
            notes.contains(&"fold 1: means over the 2 series every ranked configuration scored (1 dropped: young)"),
            "{notes:?}"
        );
    }
    let markdown = std::fs::read_to_string(dir.path().join("out/reports/arima-cli/leaderboard.md")).unwrap();
    assert!(
        markdown.contains("each over the series every ranked configuration scored (fold 0: 1 dropped: young;"),
        "{markdown}"
    );
    // `forecast`: the fallback forecasts `young` past the data too (17
    // days, still too few), named in forecast.json; every series has a
    // forecast, so it exits 0. Without a fallback, `young` has none: exit 1.
    let out = trendlab(
        dir.path(),
        &["forecast", "spec.toml", "--out", "out", "--model", "arima"],
    );
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains(
            "note: 1 series forecast by the fallback (seasonal_naive) where the model failed (first: young: "
        ),
        "{}",
        stdout(&out)
    );
    let json = |dir: &Path| -> serde_json::Value {
        let file = files_under(dir)
            .into_iter()
            .find(|p| p.ends_with("forecast.json"))
            .unwrap();
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
    };
    let file = json(&dir.path().join("out/forecasts"));
    assert_eq!(file["series"], 3);
    assert_eq!(file["failures"], serde_json::json!([]));
    assert_eq!(file["fallbacks"][0]["series"], "young");
    assert_eq!(file["fallbacks"][0]["fallback"], "seasonal_naive");
    std::fs::remove_dir_all(dir.path().join("out/forecasts")).unwrap();
    let out = trendlab(
        dir.path(),
        &["forecast", "spec.toml", "--out", "out", "--model", "strict"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let file = json(&dir.path().join("out/forecasts"));
    assert_eq!(file["series"], 2);
    assert_eq!(file["failures"][0]["series"], "young");
}

#[test]
fn arimax_forecasts_follow_the_future_covariate() {
    // y = 10 + 5·promo + noise; promo on two fixed weekdays, known in advance.
    let dir = tempfile::tempdir().unwrap();
    let n = 150;
    let promo: Vec<f64> = (0..n).map(|t| f64::from(u8::from(t % 7 == 2 || t % 7 == 5))).collect();
    let noise = wandering(n, 3, 0.0);
    let y: Vec<f64> = (0..n).map(|t| 10.0 + 5.0 * promo[t] + 0.05 * noise[t]).collect();
    daily_csv(dir.path(), &[("p", y, promo.clone())]);
    let spec = format!(
        "{HEADER}
[features]
future = [\"promo\"]

[evaluation]
horizon = 14
metrics = [\"mae\"]

[[models]]
name = \"arimax\"
family = \"arima\"
order = [1, 0, 0]
exogenous = true
"
    );
    write(dir.path(), "spec.toml", &spec);
    let out = trendlab(dir.path(), &["run", "spec.toml", "--out", "out", "--quiet"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let record = &records(&dir.path().join("out"), "arima-cli")[0];
    let table = Workspace::open(&dir.path().join("spec.toml"), &dir.path().join("out"))
        .unwrap()
        .store
        .forecasts(&record.run_id)
        .unwrap();
    for row in &table.rows {
        let t = n - 14 + row.step - 1;
        let expected = 10.0 + 5.0 * promo[t];
        assert!(
            (row.forecast - expected).abs() < 0.6,
            "step {}: {} vs {expected}",
            row.step,
            row.forecast
        );
    }
}

#[test]
fn reuse_order_refits_the_first_folds_choice_on_later_folds() {
    let dir = tempfile::tempdir().unwrap();
    let n = 200;
    let weekly = |seed: usize, level: f64| -> Vec<f64> {
        wandering(n, seed, level)
            .iter()
            .enumerate()
            .map(|(t, v)| v + 8.0 * ((t % 7) as f64 - 3.0))
            .collect()
    };
    daily_csv(
        dir.path(),
        &[
            ("u", weekly(4, 80.0), vec![0.0; n]),
            ("v", weekly(5, 60.0), vec![0.0; n]),
        ],
    );
    let spec = format!(
        "{HEADER}
[evaluation]
horizon = 14
folds = 3
metrics = [\"mae\"]

[[models]]
name = \"auto\"
family = \"arima\"
auto = true
season = 7
[models.grid]
reuse_order = [false, true]
"
    );
    write(dir.path(), "spec.toml", &spec);
    let out = trendlab(
        dir.path(),
        &["run", "spec.toml", "--out", "out", "--quiet", "--jobs", "2"],
    );
    assert!(out.status.success(), "{}", stdout(&out));
    let all = records(&dir.path().join("out"), "arima-cli");
    assert_eq!(all.len(), 6);
    for reuse in [false, true] {
        let runs: Vec<_> = all
            .iter()
            .filter(|r| r.params["reuse_order"] == serde_json::Value::Bool(reuse))
            .collect();
        assert_eq!(runs.len(), 3);
        for run in &runs {
            assert_eq!(run.chosen.len(), 2, "every series records its orders: {run:?}");
            assert!(run.chosen["u"]["model"].as_str().unwrap().starts_with("ARIMA("));
        }
        if reuse {
            assert!(runs.iter().all(|r| r.chosen == runs[0].chosen), "{runs:?}");
        }
    }
}

/// A series with one training value at a cutoff: the fallback (the naive)
/// forecasts it without a spread to draw intervals from, beside series
/// with intervals; its bounds are stored as unknown, its coverage left out.
#[test]
fn a_fallback_without_intervals_beside_series_with_them_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let n = 60;
    daily_csv(dir.path(), &[("a", wandering(n, 1, 100.0), vec![0.0; n])]);
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let mut text = std::fs::read_to_string(dir.path().join("daily.csv")).unwrap();
    for k in 0..8 {
        let date = start + chrono::Days::new((n - 8 + k) as u64);
        text.push_str(&format!("single,{date},{},0\n", 10 + k));
    }
    write(dir.path(), "daily.csv", &text);
    let spec = format!(
        "{HEADER}
[evaluation]
horizon = 7
folds = 1
min_train = 1
metrics = [\"mae\", \"coverage\"]
levels = [90]

[[models]]
name = \"arima\"
family = \"arima\"
order = [1, 1, 0]
"
    );
    write(dir.path(), "spec.toml", &spec);
    let out = trendlab(dir.path(), &["run", "spec.toml", "--out", "out", "--quiet"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let record = &records(&dir.path().join("out"), "arima-cli")[0];
    assert_eq!(record.fallback_series.len(), 1, "{record:?}");
    let store = Workspace::open(&dir.path().join("spec.toml"), &dir.path().join("out"))
        .unwrap()
        .store;
    let table = store.forecasts(&record.run_id).unwrap();
    for row in &table.rows {
        match row.series_id.as_str() {
            "single" => {
                assert_eq!(row.forecast, 10.0, "the naive: its one value");
                assert!(row.bounds[0].0.is_nan() && row.bounds[0].1.is_nan(), "{row:?}");
            }
            _ => assert!(row.bounds[0].0 < row.forecast, "{row:?}"),
        }
    }
    let metrics = store.metrics(&record.run_id).unwrap().unwrap();
    assert!(
        metrics
            .notes
            .iter()
            .any(|n| n.starts_with("coverage undefined for 1 series")),
        "{:?}",
        metrics.notes
    );
}
