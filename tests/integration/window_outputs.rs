//! What the window networks gained beyond a point forecast from the target:
//! a quantile loss gives N-HiTS and PatchTST intervals that cover as often
//! as their level says on series with known noise (and a median between
//! them), and `exogenous = true` lets N-HiTS read known-in-advance
//! covariates over the horizon (random promotions it cannot learn from the
//! history alone), and its saved fit forecasts the same quantiles.

use crate::lstm::{Log, noise, promotions};
use trendlab_models::{FeatureSet, FoldInput, Forecaster, SeriesForecast, SeriesHistory};
use trendlab_neural::rng::SplitMix64;
use trendlab_neural::{Nhits, Patchtst};
use trendlab_spec::{NhitsConfig, PatchtstConfig};

fn nhits(settings: serde_json::Value) -> Nhits {
    Nhits(serde_json::from_value::<NhitsConfig>(settings).expect("a valid N-HiTS config"))
}

/// Every series' forecast of its last `horizon` periods, with intervals at
/// `levels`, the fit's files in `artifacts`, from a saved fit with `saved`.
fn forecast_with_intervals(
    model: &dyn Forecaster,
    targets: &[Vec<f64>],
    horizon: usize,
    levels: &[f64],
    artifacts: Option<&std::path::Path>,
    saved: bool,
) -> Vec<SeriesForecast> {
    let len = targets[0].len();
    let dates = trendlab_models::testing::daily_dates(len);
    let ids: Vec<String> = (0..targets.len()).map(|i| format!("s{i}")).collect();
    let series = targets
        .iter()
        .zip(&ids)
        .map(|(y, id)| SeriesHistory {
            id,
            text: None,
            dates: &dates,
            target: &y[..len - horizon],
            past: vec![],
            future: vec![],
        })
        .collect();
    let features = FeatureSet::default();
    let fitted = trendlab_models::FittedState::default();
    let mut input = FoldInput::new(series, horizon, &features);
    input.seed = 4;
    input.levels = levels;
    input.context.files.artifacts = artifacts;
    input.context.fitted = saved.then_some(&fitted);
    model
        .forecast(&input)
        .expect("the fold trains")
        .into_iter()
        .map(|s| s.expect("every series forecast"))
        .collect()
}

/// Series of different levels and scales with independent normal noise
/// (sd = the series' scale): the 80% interval is ±1.2816 scales.
fn noisy_levels(series: usize, len: usize) -> Vec<Vec<f64>> {
    let mut rng = SplitMix64::new(21);
    (0..series)
        .map(|s| {
            let (level, scale) = (50.0 + 10.0 * s as f64, 1.0 + s as f64 * 0.5);
            (0..len).map(|_| level + noise(&mut rng, scale)).collect()
        })
        .collect()
}

/// The share of the last `horizon` values inside the forecasts' first
/// interval, and the mean width of that interval in scales.
fn coverage(targets: &[Vec<f64>], forecasts: &[SeriesForecast], horizon: usize) -> (f64, f64) {
    let (mut inside, mut width, mut n) = (0, 0.0, 0);
    for (s, (y, f)) in targets.iter().zip(forecasts).enumerate() {
        let interval = &f.intervals[0];
        let scale = 1.0 + s as f64 * 0.5;
        for (t, actual) in y[y.len() - horizon..].iter().enumerate() {
            let (lo, hi) = (interval.lower[t], interval.upper[t]);
            assert!(
                lo <= f.mean[t] && f.mean[t] <= hi,
                "series {s} step {t}: {lo} ≤ {} ≤ {hi}",
                f.mean[t]
            );
            inside += usize::from(lo <= *actual && *actual <= hi);
            width += (hi - lo) / scale;
            n += 1;
        }
    }
    (inside as f64 / n as f64, width / n as f64)
}

#[test]
fn a_quantile_loss_gives_intervals_that_cover_at_their_level() {
    let (len, horizon) = (300, 14);
    let targets = noisy_levels(24, len);
    let settings = serde_json::json!({
        "input_size": 28, "mlp_units": [32, 32], "pooling_sizes": [2, 1], "downsample": [2, 1],
        "max_steps": 300, "val_check_steps": 50, "patience": 0, "windows_batch_size": 256,
        "loss": "quantile", "lr": 0.003,
    });
    let forecasts = forecast_with_intervals(&nhits(settings.clone()), &targets, horizon, &[80.0], None, false);
    let (covered, width) = coverage(&targets, &forecasts, horizon);
    eprintln!("N-HiTS 80% interval: coverage {covered:.3}, width {width:.2} sd (truth 2.56)");
    assert!((0.68..=0.92).contains(&covered), "coverage {covered:.3}");
    assert!((1.8..=3.4).contains(&width), "width {width:.2} sd");

    let patchtst = Patchtst(
        serde_json::from_value::<PatchtstConfig>(serde_json::json!({
            "input_size": 28, "patch_len": 7, "stride": 7, "d_model": 16, "heads": 2, "layers": 1, "ff": 32,
            "dropout": 0.0, "max_steps": 300, "val_check_steps": 50, "patience": 0, "windows_batch_size": 256,
            "loss": "quantile", "quantiles": [0.1, 0.5, 0.9], "lr": 0.003,
        }))
        .unwrap(),
    );
    let forecasts = forecast_with_intervals(&patchtst, &targets, horizon, &[80.0], None, false);
    let (covered, width) = coverage(&targets, &forecasts, horizon);
    eprintln!("PatchTST 80% interval: coverage {covered:.3}, width {width:.2} sd (truth 2.56)");
    assert!((0.68..=0.92).contains(&covered), "coverage {covered:.3}");
    assert!((1.8..=3.4).contains(&width), "width {width:.2} sd");
}

#[test]
fn a_saved_quantile_fit_forecasts_the_same_quantiles_and_refuses_other_levels() {
    let (len, horizon) = (120, 7);
    let targets = noisy_levels(4, len);
    let model = nhits(serde_json::json!({
        "input_size": 14, "mlp_units": [16], "pooling_sizes": [1], "downsample": [1], "max_steps": 20,
        "loss": "quantile",
    }));
    let dir = tempfile::tempdir().unwrap();
    let trained = forecast_with_intervals(&model, &targets, horizon, &[80.0, 95.0], Some(dir.path()), false);
    let saved = forecast_with_intervals(&model, &targets, horizon, &[80.0, 95.0], Some(dir.path()), true);
    assert_eq!(trained, saved);
    assert_eq!(
        saved[0].intervals.iter().map(|i| i.level).collect::<Vec<_>>(),
        vec![80.0, 95.0]
    );
    // Other levels would need other quantiles than the network was trained on.
    let dates = trendlab_models::testing::daily_dates(len);
    let series = vec![SeriesHistory {
        id: "s0",
        text: None,
        dates: &dates,
        target: &targets[0][..len - horizon],
        past: vec![],
        future: vec![],
    }];
    let features = FeatureSet::default();
    let fitted = trendlab_models::FittedState::default();
    let mut input = FoldInput::new(series, horizon, &features);
    input.levels = &[90.0];
    input.context.files.artifacts = Some(dir.path());
    input.context.fitted = Some(&fitted);
    let error = model.forecast(&input).unwrap_err().to_string();
    assert!(error.contains("quantiles"), "{error}");
}

#[test]
fn exogenous_nhits_reads_the_promotions_of_the_forecast_dates() {
    let (len, horizon) = (160, 7);
    let (panel, features) = promotions(len);
    let settings = |exogenous: bool| {
        nhits(serde_json::json!({
            "input_size": 14, "mlp_units": [64, 64], "pooling_sizes": [1], "downsample": [1],
            "max_steps": 1000, "val_check_steps": 100, "patience": 0, "lr": 0.003, "lr_decays": 0, "loss": "mse",
            "scaler": "none", "exogenous": exogenous,
        }))
    };
    let with = panel.mse(&panel.forecast(&settings(true), horizon, &features, &Log::default()));
    let without = panel.mse(&panel.forecast(&settings(false), horizon, &features, &Log::default()));
    eprintln!("promotions: MSE {with:.3} reading them, {without:.3} without");
    assert!(with < 1.0, "MSE {with:.3}: the forecast-date promotions are not used");
    assert!(
        without > 8.0,
        "MSE {without:.3} without the promotions: the test cannot tell"
    );
}
