//! The `chronos` family in the backtest and `forecast`: the bundled
//! experiment on the golden (random-weight) checkpoint runs, identically
//! for `--jobs 1` and `2`; each fold's stored forecasts are the model's
//! median and 0.1/0.9 quantiles of the series cut at the fold's cutoff
//! (the backtest and the future forecast are one path); `forecast` gives
//! the model's median of the whole history, and conformal intervals for a
//! level its quantiles do not reach.

use crate::common::{dataset, records, repo, stderr, stored_forecasts, trendlab};
use std::collections::BTreeMap;
use trendlab_neural::chronos::Bolt;
use trendlab_ops::Workspace;
use trendlab_results::RunStatus;

const SPEC: &str = "experiments/chronos_golden.toml";
const EXPERIMENT: &str = "chronos-golden";

/// Weekly quantities per product, in date order.
fn retail() -> BTreeMap<String, Vec<(String, f64)>> {
    let mut series: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    let mut reader = csv::Reader::from_path(dataset("online_retail_weekly.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let at = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (id, week, quantity) = (at("stock_code"), at("week_start"), at("quantity"));
    for row in reader.records() {
        let row = row.unwrap();
        series
            .entry(row[id].to_string())
            .or_default()
            .push((row[week].to_string(), row[quantity].parse().unwrap()));
    }
    series.values_mut().for_each(|s| s.sort_by(|a, b| a.0.cmp(&b.0)));
    series
}

/// `trendlab forecast` of the bundled experiment into `out` with `args`.
fn forecast(out: &std::path::Path, args: &[&str]) {
    let mut all = vec!["forecast", SPEC, "--out", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let o = trendlab(&repo(), &all);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// The one folder `forecast` wrote under `out` (one data fingerprint).
fn forecast_dir(out: &std::path::Path) -> std::path::PathBuf {
    let mut dirs = std::fs::read_dir(out.join("forecasts").join(EXPERIMENT)).unwrap();
    dirs.next().unwrap().unwrap().path()
}

#[test]
fn the_backtest_is_the_models_forecast_at_each_cutoff_for_any_jobs() {
    let dir = tempfile::tempdir().unwrap();
    for (out, jobs) in [("a", "1"), ("b", "2")] {
        let out = dir.path().join(out);
        let o = trendlab(
            &repo(),
            &["run", SPEC, "--out", out.to_str().unwrap(), "--quiet", "--jobs", jobs],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let runs = records(&dir.path().join("a"), EXPERIMENT);
    assert_eq!(
        runs.len(),
        12,
        "naive, two zero-shot and one tuned configuration, 3 folds"
    );
    for r in &runs {
        assert_eq!(
            r.status,
            RunStatus::Finished,
            "{} fold {}: {:?}",
            r.model,
            r.fold,
            r.error
        );
        let read = |out: &str| stored_forecasts(&dir.path().join(out), EXPERIMENT, &r.run_id);
        assert_eq!(
            read("a"),
            read("b"),
            "{} fold {} differs between --jobs 1 and 2",
            r.model,
            r.fold
        );
    }
    // The stored forecasts against the model itself.
    let model = Bolt::load(&repo().join("tests/goldens/chronos_bolt_golden")).unwrap();
    let series = retail();
    let w = Workspace::open(&repo().join(SPEC), &dir.path().join("a")).unwrap();
    let mut checked = 0;
    for (c, config) in w.plan.configs.iter().enumerate() {
        let trendlab_spec::FamilySpec::Chronos(chronos) = &config.family else {
            continue;
        };
        if chronos.fine_tune_steps > 0 {
            continue;
        }
        let length = chronos.context_length.unwrap().min(512);
        for run in w.plan.runs_of(c) {
            let table = w.store.forecasts(&run.id).unwrap();
            assert_eq!(table.levels, vec![80.0]);
            for (id, history) in series.iter().take(5) {
                let rows: Vec<_> = table.rows.iter().filter(|r| &r.series_id == id).collect();
                let cutoff = rows[0].cutoff.to_string();
                let train: Vec<f32> = history
                    .iter()
                    .filter(|(d, _)| *d <= cutoff)
                    .map(|(_, v)| *v as f32)
                    .collect();
                let context = &train[train.len().saturating_sub(length)..];
                let quantiles = &model.forecast(&[context], 8)[0];
                for (step, row) in rows.iter().enumerate() {
                    // Equal up to rounding: a fold packs all its series into
                    // each product, this call one series alone.
                    let size = quantiles.iter().map(|q| f64::from(q[step]).abs()).fold(1.0, f64::max);
                    // Clipped at zero, as every family's on data without negative values.
                    let close = |got: f64, want: f32| (got - f64::from(want.max(0.0))).abs() <= 1e-4 * size;
                    // 80%: the ends of the quantiles sorted at the step.
                    let lo = quantiles.iter().map(|q| q[step]).fold(f32::INFINITY, f32::min);
                    let hi = quantiles.iter().map(|q| q[step]).fold(f32::NEG_INFINITY, f32::max);
                    assert!(
                        close(row.forecast, quantiles[4][step])
                            && close(row.bounds[0].0, lo)
                            && close(row.bounds[0].1, hi),
                        "{id} {} step {step}: {} vs {} (cutoff {cutoff})",
                        config.label(),
                        row.forecast,
                        quantiles[4][step]
                    );
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 2 * 3 * 5);
    // `forecast` of the whole history: the median, own intervals at 80%,
    // conformal ones when 95% is asked for too.
    let out = dir.path().join("a");
    let forecast_at = |levels: &str| {
        let config = "chronos-random[context_length=512]";
        forecast(&out, &["--config", config, "--horizon", "20", "--levels", levels]);
        let json = std::fs::read(forecast_dir(&out).join("forecast.json")).unwrap();
        serde_json::from_slice::<serde_json::Value>(&json).unwrap()
    };
    let own = forecast_at("80");
    assert_eq!(own["intervals"]["method"], "own", "{}", own["intervals"]);
    let conformal = forecast_at("80,95");
    assert!(
        conformal["intervals"]["method"]
            .as_str()
            .unwrap()
            .starts_with("conformal"),
        "{}",
        conformal["intervals"]
    );
    // The point forecasts of the last call: the model's median of the
    // whole history (clipped at zero, as for every family on data without
    // negative values).
    let (id, history) = series.iter().next().unwrap();
    let values: Vec<f32> = history.iter().map(|(_, v)| *v as f32).collect();
    let median = &model.forecast(&[&values[values.len().saturating_sub(512)..]], 20)[0][4];
    let mut reader = csv::Reader::from_path(forecast_dir(&out).join("forecast.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).filter(|r| &r[0] == id).collect();
    assert_eq!(rows.len(), 20);
    for (step, row) in rows.iter().enumerate() {
        let got: f64 = row[3].parse().unwrap();
        let want = f64::from(median[step]).max(0.0);
        assert!(
            (got - want).abs() <= 1e-4 * want.abs().max(1.0),
            "{id} step {step}: {got} vs {want}"
        );
    }
}

/// A fine-tuned configuration trains on each fold (its losses logged, its
/// tuned checkpoint saved with the run, a directory the model loads), and
/// `forecast --from` its saved model gives the forecast `forecast` gave.
#[test]
fn a_fine_tuned_model_is_saved_and_forecasts_again_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = trendlab(&repo(), &["run", SPEC, "--out", out.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let tuned: Vec<_> = records(&out, EXPERIMENT)
        .into_iter()
        .filter(|r| r.model == "chronos-tuned")
        .collect();
    assert_eq!(tuned.len(), 3);
    for r in &tuned {
        assert_eq!(r.status, RunStatus::Finished, "fold {}: {:?}", r.fold, r.error);
        let log = r.training.as_ref().expect("a training log");
        assert_eq!(log.epochs.len(), 3, "one entry per fine-tuning step");
        assert!(log.epochs.iter().all(|e| e.train.is_finite() && e.train > 0.0));
        let saved = out.join("runs").join(EXPERIMENT).join(&r.run_id).join("chronos");
        assert_eq!(log.checkpoint.as_deref(), Some("chronos"));
        let tuned = Bolt::load(&saved).expect("the tuned checkpoint loads");
        let original = Bolt::load(&repo().join("tests/goldens/chronos_bolt_golden")).unwrap();
        assert_ne!(
            tuned.weights, original.weights,
            "fold {}: fine-tuning changed nothing",
            r.fold
        );
    }
    forecast(&out, &["--model", "chronos-tuned"]);
    let fitted = forecast_dir(&out);
    let model = fitted.join("model");
    // The tuned checkpoint is in the saved model, in its run's folder.
    let run = std::fs::read_dir(&model)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    assert!(run.join("chronos/model.safetensors").is_file(), "{}", run.display());
    let original = std::fs::read(fitted.join("forecast.csv")).unwrap();
    forecast(&out, &["--from", model.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(fitted.join("forecast.csv")).unwrap(),
        original,
        "--from changed forecast.csv"
    );
}
