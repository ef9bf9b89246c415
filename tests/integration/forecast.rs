//! `trendlab forecast`: one code path with the backtest (a forecast from
//! data cut at the last cutoff is that fold's backtest forecast, family by
//! family), statsmodels' ARIMA forecast, conformal intervals that cover what
//! they claim on series of known noise, the report, `--jobs`. Shared helpers
//! for the other `forecast_*` modules (ensembles, inputs, saved models).

use crate::common::{files_under, stderr, trendlab, write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use trendlab_engine::Summary;
use trendlab_engine::future::{FutureFold, FutureRequest, forecast_future, future_fold};
use trendlab_ops::execution::{self, RunOptions};
use trendlab_ops::forecast::{self, Choice, ForecastOptions};
use trendlab_ops::{ExitStatus, Outcome, Workspace};
use trendlab_results::RunStatus;

/// A deterministic uniform in [0, 1) (SplitMix64).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal (Box–Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-300), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Daily rows `date,id,y,promo` from 2024-01-01 of `series` (id, values),
/// the first `keep` periods of each.
pub(crate) fn csv(series: &[(String, Vec<f64>)], keep: usize) -> String {
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let mut text = String::from("date,id,y,promo\n");
    for (id, values) in series {
        for (t, v) in values.iter().take(keep).enumerate() {
            let date = start + chrono::Days::new(t as u64);
            text.push_str(&format!("{date},{id},{v},{}\n", t % 7 % 2));
        }
    }
    text
}

/// A spec over `data` with `models` (TOML `[[models]]` entries).
pub(crate) fn spec(dir: &Path, name: &str, data: &str, evaluation: &str, models: &str) -> PathBuf {
    let text = format!(
        "[experiment]\nname = \"fc\"\nseed = 7\n\n[data]\npath = \"{data}\"\ntime = \"date\"\nid = \"id\"\ntarget = \"y\"\nfrequency = \"D\"\ncovariates = [\"promo\"]\n\n[features]\nlags = [1, 2, 7]\ncalendar = [\"day_of_week\"]\n\n[evaluation]\n{evaluation}\n\n{models}"
    );
    write(dir, name, &text)
}

pub(crate) fn run(spec: &Path, out: &Path) -> Summary {
    let warnings = Mutex::new(Vec::new());
    let mut w = Workspace::open(spec, out).unwrap();
    execution::run(&mut w, RunOptions::jobs(2), &(), &warnings)
        .unwrap()
        .summary
}

/// Seasonal series with trend and noise around levels of 20 and up, `n`
/// periods each.
pub(crate) fn panel(count: usize, n: usize) -> Vec<(String, Vec<f64>)> {
    let mut rng = Rng(11);
    (0..count)
        .map(|s| {
            let values = (0..n)
                .map(|t| {
                    let season = [3.0, -1.0, 0.5, 2.0, -2.5, 1.0, -3.0][t % 7];
                    20.0 + s as f64 * 5.0 + 0.05 * t as f64 + season + rng.normal()
                })
                .collect::<Vec<f64>>();
            (format!("s{s}"), values)
        })
        .collect()
}

const MODELS: &str = r#"
[[models]]
name = "naive"
family = "naive"

[[models]]
name = "snaive"
family = "seasonal_naive"
season = 7

[[models]]
name = "mean"
family = "mean"

[[models]]
name = "drift"
family = "drift"

[[models]]
name = "ridge"
family = "linear"
[models.grid]
strategy = ["recursive", "direct"]

[[models]]
name = "arima"
family = "arima"
order = [1, 0, 1]
seasonal_order = [0, 1, 1, 7]

[[models]]
name = "auto"
family = "arima"
auto = true
[models.grid]
reuse_order = [false, true]
"#;

/// Each series' future forecast from `fold` (outcomes in its window order)
/// equals its stored backtest forecast in `stored`, 1e-9 relative.
pub(crate) fn assert_backtest_forecasts(
    label: &str,
    fold: &FutureFold,
    outcomes: Vec<trendlab_engine::fallback::SeriesResult>,
    stored: &trendlab_results::store::ForecastTable,
) {
    for (window, outcome) in fold.windows.iter().zip(outcomes) {
        let id = &fold.prepared.panel.series[window.series].id;
        let f = outcome.forecast.unwrap();
        let backtest: Vec<f64> = stored
            .rows
            .iter()
            .filter(|r| &r.series_id == id)
            .map(|r| r.forecast)
            .collect();
        assert_eq!(backtest.len(), fold.horizon, "{label} {id}");
        for (a, b) in f.mean.iter().zip(&backtest) {
            assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0), "{label} {id}: {a} vs {b}");
        }
    }
}

/// The backtest of `models` on 4 series of 90 days (3 folds of 5 days,
/// under `evaluation`), and the same spec on the data cut at its last
/// cutoff (85 days) with that data's future fold.
pub(crate) fn backtest_and_cut(dir: &Path, evaluation: &str, models: &str) -> (Workspace, Workspace, FutureFold) {
    let series = panel(4, 90);
    write(dir, "full.csv", &csv(&series, 90));
    write(dir, "cut.csv", &csv(&series, 85));
    let full = spec(dir, "full.toml", "full.csv", evaluation, models);
    let summary = run(&full, dir);
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    let w = Workspace::open(&full, dir).unwrap();
    let cut = Workspace::open(&spec(dir, "cut.toml", "cut.csv", evaluation, models), dir).unwrap();
    assert_eq!(
        cut.prepared.panel.last_date(),
        Some(w.plan.folds.last().unwrap().cutoff)
    );
    let fold = future_fold(&cut.prepared, 5).unwrap();
    (w, cut, fold)
}

/// For every family: the future fold of the data cut at the last backtest
/// cutoff forecasts exactly what that fold's backtest forecast (point and
/// own intervals, 1e-9 relative).
#[test]
fn a_forecast_from_data_cut_at_the_last_cutoff_is_that_folds_backtest_forecast() {
    let dir = tempfile::tempdir().unwrap();
    let evaluation = "horizon = 5\nfolds = 3\nstep = 5\nmin_train = 40\nlevels = [80, 95]\nmetrics = [\"mae\"]";
    let (w, cut, fold) = backtest_and_cut(dir.path(), evaluation, MODELS);
    let last = w.plan.folds.last().unwrap().clone();
    let mut families = std::collections::BTreeSet::new();
    let mut with_intervals = std::collections::BTreeSet::new();
    for (c, config) in w.plan.configs.iter().enumerate() {
        let run = w
            .plan
            .runs_of(c)
            .find(|r| r.fold == last.index && r.role.is_backtest())
            .unwrap();
        let record = w.store.record(&run.id).unwrap().unwrap();
        assert_eq!(record.status, RunStatus::Finished, "{}", config.label());
        let stored = w.store.forecasts(&run.id).unwrap();
        let choices = config.family.reuses_first_fold().then_some(&record.chosen);
        let outcomes = forecast_future(
            &fold,
            FutureRequest {
                levels: &[80.0, 95.0],
                choices,
                ..FutureRequest::new(config)
            },
        )
        .unwrap();
        for (window, outcome) in fold.windows.iter().zip(outcomes) {
            let id = &cut.prepared.panel.series[window.series].id;
            let f = outcome.forecast.unwrap();
            let rows: Vec<_> = stored.rows.iter().filter(|r| &r.series_id == id).collect();
            assert_eq!(rows.len(), 5, "{} {id}", config.label());
            for (h, row) in rows.iter().enumerate() {
                let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
                assert!(
                    close(f.mean[h], row.forecast),
                    "{} {id} step {}: forecast {} vs backtest {}",
                    config.label(),
                    h + 1,
                    f.mean[h],
                    row.forecast
                );
                assert_eq!(f.intervals.len(), row.bounds.len(), "{}", config.label());
                if !row.bounds.is_empty() {
                    with_intervals.insert(config.label());
                }
                for (i, (lo, hi)) in f.intervals.iter().zip(&row.bounds) {
                    assert!(
                        close(i.lower[h], *lo) && close(i.upper[h], *hi),
                        "{} {id}",
                        config.label()
                    );
                }
            }
        }
        families.insert(record.family);
    }
    let expected = ["arima", "drift", "linear", "mean", "naive", "seasonal_naive"];
    assert_eq!(families.into_iter().collect::<Vec<_>>(), expected);
    // The baselines' and ARIMA's own intervals were compared too.
    assert_eq!(with_intervals.len(), 7, "{with_intervals:?}");
}

/// Conformal intervals from the backtest's errors cover what they claim:
/// 600 white-noise series of different sizes, forecast by ridge (no
/// intervals of its own), scored on the 4 periods that follow the data.
#[test]
fn conformal_intervals_cover_80_and_95_percent_of_new_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(5);
    let series: Vec<(String, Vec<f64>)> = (0..600)
        .map(|s| {
            let (level, sigma) = (50.0 + s as f64, 1.0 + (s % 10) as f64);
            (format!("s{s}"), (0..84).map(|_| level + sigma * rng.normal()).collect())
        })
        .collect();
    // The forecast sees 80 periods; the last 4 are the truth it is scored on.
    write(dir.path(), "data.csv", &csv(&series, 80));
    let evaluation =
        "horizon = 4\nfolds = 6\nstep = 4\nmin_train = 40\nmetrics = [\"mae\", \"coverage\"]\nlevels = [80, 95]";
    let models = "[[models]]\nname = \"ridge\"\nfamily = \"linear\"\nalpha = 10.0\n";
    let spec = spec(dir.path(), "spec.toml", "data.csv", evaluation, models);
    assert!(run(&spec, dir.path()).failed.is_empty());
    // The same intervals, scored in the backtest (folds 1 to 5, each from
    // the errors of the folds before it), cover what they claim too.
    let board: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("reports/fc/leaderboard.json")).unwrap())
            .unwrap();
    let conformal = &board["rows"][0]["conformal"];
    assert_eq!(conformal["folds_scored"], 5, "{conformal}");
    assert_eq!(conformal["per_fold"]["coverage_80"][0], serde_json::Value::Null);
    for (level, name) in [(0.80, "coverage_80"), (0.95, "coverage_95")] {
        let covered = conformal["metrics"][name]["mean"].as_f64().unwrap();
        assert!((covered - level).abs() <= 0.03, "backtest {name}: {covered}");
    }
    let outcome = forecast::forecast(
        &mut Workspace::open(&spec, dir.path()).unwrap(),
        ForecastOptions {
            choice: Choice::Best,
            horizon: Some(4),
            levels: Some(&[80.0, 95.0]),
            future: None,
            tracking_uri: None,
            jobs: None,
            from: None,
        },
    )
    .unwrap();
    assert_eq!(outcome.exit_status(), ExitStatus::Success);
    let text = serde_json::to_value(&outcome.file).unwrap();
    assert_eq!(text["intervals"]["method"], "conformal_pooled", "{text}");
    let table = std::fs::read_to_string(outcome.dir.join("forecast.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(table.as_bytes());
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (mut covered80, mut covered95, mut total) = (0, 0, 0);
    for record in reader.records() {
        let record = record.unwrap();
        let s: usize = record[column("series_id")][1..].parse().unwrap();
        let step: usize = record[column("step")].parse().unwrap();
        let truth = series[s].1[79 + step];
        let inside = |lo: &str, hi: &str| {
            let (lo, hi): (f64, f64) = (record[column(lo)].parse().unwrap(), record[column(hi)].parse().unwrap());
            lo <= truth && truth <= hi
        };
        covered80 += usize::from(inside("lo_80", "hi_80"));
        covered95 += usize::from(inside("lo_95", "hi_95"));
        total += 1;
    }
    assert_eq!(total, 2400);
    let (c80, c95) = (covered80 as f64 / 2400.0, covered95 as f64 / 2400.0);
    assert!((c80 - 0.80).abs() <= 0.03, "80% intervals cover {c80}");
    assert!((c95 - 0.95).abs() <= 0.03, "95% intervals cover {c95}");
}

/// The neural families, trained without validation windows for a fixed
/// number of epochs on the CPU with a seed (as `forecast` refits them):
/// the future fold of the data cut at the last cutoff forecasts what that
/// fold's backtest forecast.
#[test]
fn neural_forecasts_from_data_cut_at_the_last_cutoff_are_that_folds_backtest_forecasts() {
    let dir = tempfile::tempdir().unwrap();
    let series = panel(3, 70);
    let with_text = |keep: usize| {
        let mut text = String::from("date,id,y,promo,desc\n");
        for line in csv(&series, keep).lines().skip(1) {
            let id = line.split(',').nth(1).unwrap();
            text.push_str(&format!(
                "{line},{} mug\n",
                ["red", "blue", "white"][id[1..].parse::<usize>().unwrap()]
            ));
        }
        text
    };
    write(dir.path(), "full.csv", &with_text(70));
    write(dir.path(), "cut.csv", &with_text(66));
    let encoder = dir.path().join("encoder");
    std::fs::create_dir(&encoder).unwrap();
    crate::bert_fusion::tiny_encoder(&encoder);
    let sequence = "input_size = 8\nhidden = 8\nepochs = 3\nbatch_size = 16\nvalidation = 0\npatience = 0";
    let models = format!(
        "[[models]]\nname = \"lstm\"\nfamily = \"lstm\"\n{sequence}\n\n[[models]]\nname = \"fusion\"\nfamily = \"bert_fusion\"\nencoder = \"{}\"\n{sequence}\n",
        encoder.display()
    );
    let evaluation = "horizon = 4\nfolds = 2\nstep = 4\nmin_train = 40\nmetrics = [\"mae\"]";
    let with_desc = |name: &str, data: &str| {
        let path = spec(dir.path(), name, data, evaluation, &models);
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("covariates = [\"promo\"]", "covariates = [\"promo\"]\ntext = \"desc\"");
        write(dir.path(), name, &text)
    };
    let full = with_desc("full.toml", "full.csv");
    let summary = run(&full, dir.path());
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    let w = Workspace::open(&full, dir.path()).unwrap();
    let cut = Workspace::open(&with_desc("cut.toml", "cut.csv"), dir.path()).unwrap();
    let fold = future_fold(&cut.prepared, 4).unwrap();
    for (c, config) in w.plan.configs.iter().enumerate() {
        let run = w.plan.runs_of(c).find(|r| r.fold == 1).unwrap();
        let record = w.store.record(&run.id).unwrap().unwrap();
        let best = record.training.as_ref().unwrap().best_epoch;
        assert_eq!(best, 3, "{}: without validation the last epoch is kept", config.label());
        let mut refit = config.clone();
        assert!(refit.family.fix_epochs(best));
        let stored = w.store.forecasts(&run.id).unwrap();
        let outcomes = forecast_future(&fold, FutureRequest::new(&refit)).unwrap();
        assert_backtest_forecasts(&config.label(), &fold, outcomes, &stored);
    }
}

/// A fixed-order ARIMA forecast is statsmodels' SARIMAX(1,1,1) fit on the
/// whole series (`simple_differencing=True`), within 0.5% of the series'
/// mean level (tests/goldens/make_arima_forecast.py), on four weekly
/// retail series; `[data] nonnegative = false` keeps the forecasts as fit.
#[test]
fn a_fixed_order_arima_forecast_matches_statsmodels_fit_on_the_whole_series() {
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(crate::common::repo().join("tests/goldens/arima_forecast_retail_weekly.json"))
            .unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut data = String::from("week,id,y\n");
    let series = golden["series"].as_object().unwrap();
    for (id, s) in series {
        for (date, value) in s["dates"]
            .as_array()
            .unwrap()
            .iter()
            .zip(s["values"].as_array().unwrap())
        {
            data.push_str(&format!("{},{id},{value}\n", date.as_str().unwrap()));
        }
    }
    write(dir.path(), "weekly.csv", &data);
    let spec = write(
        dir.path(),
        "spec.toml",
        "[experiment]\nname = \"golden\"\n\n[data]\npath = \"weekly.csv\"\ntime = \"week\"\nid = \"id\"\ntarget = \"y\"\nfrequency = \"W-MON\"\nnonnegative = false\n\n[evaluation]\nhorizon = 8\nfolds = 2\nstep = 8\nmin_train = 20\nmetrics = [\"mae\"]\n\n[[models]]\nname = \"arima\"\nfamily = \"arima\"\norder = [1, 1, 1]\n",
    );
    assert!(run(&spec, dir.path()).failed.is_empty());
    let outcome = forecast::forecast(
        &mut Workspace::open(&spec, dir.path()).unwrap(),
        ForecastOptions {
            choice: Choice::Model("arima"),
            horizon: None,
            levels: None,
            future: None,
            tracking_uri: None,
            jobs: None,
            from: None,
        },
    )
    .unwrap();
    assert!(!outcome.file.clipped_at_zero);
    assert_eq!(outcome.file.forecasts.len(), 4);
    for (id, dates, f) in &outcome.file.forecasts {
        let s = &series[id.as_str()];
        let values: Vec<f64> = s["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let level = values.iter().sum::<f64>() / values.len() as f64;
        let expected: Vec<f64> = s["forecast"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(dates.len(), 8);
        for (h, (ours, theirs)) in f.mean.iter().zip(&expected).enumerate() {
            assert!(
                (ours - theirs).abs() <= 0.005 * level,
                "{id} step {}: trendlab {ours:.3}, statsmodels {theirs:.3} (mean level {level:.1})",
                h + 1
            );
        }
    }
}

/// After `forecast`, the report has a Forecast section (the configuration,
/// the totals per period) and the explorer's series carry their forecast;
/// `leaderboard.md` points to the CSV; `report` keeps them.
#[test]
fn the_report_shows_the_forecast() {
    let dir = tempfile::tempdir().unwrap();
    let spec = crate::common::quickstart_variant(dir.path(), &[]);
    let spec = spec.to_str().unwrap();
    assert_eq!(trendlab(dir.path(), &["run", spec, "--quiet"]).status.code(), Some(0));
    let html = || std::fs::read_to_string(dir.path().join("reports/quickstart/index.html")).unwrap();
    assert!(!html().contains(r#"<section id="forecast">"#));
    let out = trendlab(dir.path(), &["forecast", spec, "--model", "ridge", "--horizon", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            files_under(&dir.path().join("forecasts"))
                .into_iter()
                .find(|p| p.ends_with("forecast.json"))
                .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    for _ in 0..2 {
        let page = html();
        assert!(page.contains(r#"<section id="forecast">"#), "no Forecast section");
        assert!(page.contains("<strong>ridge[alpha=0.1]</strong>"));
        let first_total = file["totals"][0]["forecast"].as_f64().unwrap();
        assert!(
            page.contains(&format!("{first_total:.1}")),
            "the first period's total {first_total:.1}"
        );
        assert!(
            page.contains(r#""future":{"label":"forecast: ridge[alpha=0.1]""#),
            "explorer data lacks the forecast"
        );
        let md = std::fs::read_to_string(dir.path().join("reports/quickstart/leaderboard.md")).unwrap();
        let fingerprint = file["data_fingerprint"].as_str().unwrap();
        assert!(
            md.contains(&format!(
                "Forecast: `ridge[alpha=0.1]`, 4 periods after 2011-11-28, in [forecast.csv](../../forecasts/quickstart/{fingerprint}/forecast.csv)."
            )),
            "{md}"
        );
        // `report` renders it again from the stored forecast.
        assert_eq!(trendlab(dir.path(), &["report", spec]).status.code(), Some(0));
    }
}

/// The forecast does not depend on the number of threads (`--jobs`).
#[test]
fn forecasts_are_the_same_on_one_thread_and_two() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "data.csv", &csv(&panel(5, 70), 70));
    let evaluation = "horizon = 4\nfolds = 2\nstep = 4\nmin_train = 40\nmetrics = [\"mae\"]";
    let models = "[[models]]\nname = \"lstm\"\nfamily = \"lstm\"\ninput_size = 8\nhidden = 8\nepochs = 4\nbatch_size = 16\npatience = 2\nvalidation = 4\n\n[[models]]\nname = \"ridge\"\nfamily = \"linear\"\n";
    let spec = spec(dir.path(), "spec.toml", "data.csv", evaluation, models);
    assert!(run(&spec, dir.path()).failed.is_empty());
    for model in ["lstm", "ridge"] {
        let tables: Vec<Vec<u8>> = ["1", "2"]
            .iter()
            .map(|jobs| {
                let out = trendlab(dir.path(), &["forecast", "spec.toml", "--model", model, "--jobs", jobs]);
                assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
                let table = files_under(&dir.path().join("forecasts"))
                    .into_iter()
                    .find(|p| p.ends_with("forecast.csv"))
                    .unwrap();
                std::fs::read(table).unwrap()
            })
            .collect();
        assert!(tables[0] == tables[1], "{model}: --jobs 1 and --jobs 2 differ");
        assert!(String::from_utf8_lossy(&tables[0]).contains(&format!(",{model},{model}\n")));
    }
}
