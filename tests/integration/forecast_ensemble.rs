//! `trendlab forecast` with ensembles: each member refit on all the data
//! and combined with the weights the ensemble's last backtest fold learned.
//! From the data cut at the last cutoff, that is the fold's backtest
//! forecast, for every combination method.

use crate::common::write;
use crate::forecast::{assert_backtest_forecasts, backtest_and_cut, csv, panel, run, spec};
use std::collections::HashMap;
use trendlab_engine::future::{FutureRequest, forecast_future, future_members};
use trendlab_ops::Workspace;

const MODELS: &str = r#"
[[models]]
name = "naive"
family = "naive"

[[models]]
name = "drift"
family = "drift"

[[models]]
name = "ridge"
family = "linear"
alpha = 1.0

[[models]]
name = "arima"
family = "arima"
order = [1, 0, 0]

[[models]]
name = "mix"
family = "ensemble"
members = ["naive", "drift", "ridge", "arima"]
[models.grid]
method = ["mean", "median", "inverse_error", "greedy"]
"#;

#[test]
fn an_ensemble_forecast_from_data_cut_at_the_last_cutoff_is_that_folds_backtest_forecast() {
    let dir = tempfile::tempdir().unwrap();
    let evaluation = "horizon = 5\nfolds = 3\nstep = 5\nmin_train = 40\nmetrics = [\"mae\", \"mase\"]";
    let (w, _cut, fold) = backtest_and_cut(dir.path(), evaluation, MODELS);
    let last = w.plan.folds.len() - 1;
    let mut ensembles = 0;
    for (c, config) in w.plan.configs.iter().enumerate() {
        if config.family.ensemble().is_none() {
            continue;
        }
        // Each candidate member refit on the cut data.
        let mut current = HashMap::new();
        for m in w.plan.candidates(c) {
            let outcomes = forecast_future(&fold, FutureRequest::new(&w.plan.configs[m])).unwrap();
            current.insert(
                w.plan.configs[m].label(),
                outcomes.into_iter().map(|o| o.forecast.ok()).collect(),
            );
        }
        let run = w
            .plan
            .runs_of(c)
            .find(|r| r.role.is_backtest() && r.fold == last)
            .unwrap();
        let members = future_members(&w.prepared, &w.plan, &w.store, run, &fold, &current).unwrap();
        let outcomes = forecast_future(
            &fold,
            FutureRequest {
                members: Some(&members),
                ..FutureRequest::new(config)
            },
        )
        .unwrap();
        let stored = w.store.forecasts(&run.id).unwrap();
        assert_backtest_forecasts(&config.label(), &fold, outcomes, &stored);
        ensembles += 1;
    }
    assert_eq!(ensembles, 4);
}

/// Through `forecast` itself: the mean ensemble's forecast is the mean of
/// its members' forecasts, each refit by `forecast` too.
#[test]
fn forecast_combines_the_members_refits() {
    use trendlab_ops::forecast::{self, Choice, ForecastOptions};
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "data.csv", &csv(&panel(3, 80), 80));
    let evaluation = "horizon = 4\nfolds = 3\nstep = 4\nmin_train = 40\nmetrics = [\"mae\"]\nlevels = [80]";
    let spec = spec(dir.path(), "spec.toml", "data.csv", evaluation, MODELS);
    assert!(run(&spec, dir.path()).failed.is_empty());
    let forecast_of = |choice: Choice<'_>| {
        let outcome = forecast::forecast(
            &mut Workspace::open(&spec, dir.path()).unwrap(),
            ForecastOptions {
                choice,
                horizon: None,
                levels: None,
                future: None,
                tracking_uri: None,
                jobs: None,
                from: None,
            },
        )
        .unwrap();
        outcome.file
    };
    let mix = forecast_of(Choice::Config("mix[method=\"mean\"]"));
    assert_eq!(mix.series, 3);
    // ridge has no intervals: the ensemble gets conformal ones.
    assert_eq!(
        mix.intervals_text.split(',').next(),
        Some("conformal"),
        "{}",
        mix.intervals_text
    );
    let members: Vec<_> = ["naive", "drift", "ridge", "arima"]
        .iter()
        .map(|m| forecast_of(Choice::Model(m)))
        .collect();
    for (s, (id, _, f)) in mix.forecasts.iter().enumerate() {
        for h in 0..4 {
            let mean = members.iter().map(|m| m.forecasts[s].2.mean[h]).sum::<f64>() / 4.0;
            assert!(
                (f.mean[h] - mean).abs() <= 1e-9 * mean.abs().max(1.0),
                "{id} step {h}: {} vs {mean}",
                f.mean[h]
            );
        }
    }
}
