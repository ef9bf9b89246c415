//! The N-HiTS family: it learns a known signal (a weekly season on a trend,
//! far better than seasonal naive), early-stops and keeps the best check's
//! weights, is deterministic for any `--jobs`, and fails runs (not the
//! grid) on divergence, windows longer than every series and missing GPU
//! builds, naming why; a series shorter than the window is left out with
//! its reason while the others are forecast.

use crate::common::{records, trendlab, write};
use crate::lstm::{Log, Panel, noise, panel_csv};
use trendlab_models::{FeatureSet, FoldInput, Forecaster, ModelError, SeriesHistory};
use trendlab_neural::Nhits;
use trendlab_neural::rng::SplitMix64;
use trendlab_results::RunStatus;
use trendlab_spec::NhitsConfig;

fn nhits(settings: serde_json::Value) -> Nhits {
    Nhits(serde_json::from_value::<NhitsConfig>(settings).expect("a valid N-HiTS config"))
}

#[test]
fn learns_a_weekly_season_on_a_trend_far_better_than_seasonal_naive() {
    let (len, horizon) = (200, 14);
    let mut rng = SplitMix64::new(1);
    // Series of different scales: the window scaler makes one network fit all.
    let targets: Vec<Vec<f64>> = (0..12)
        .map(|s| {
            let phase = s as f64 * 0.7;
            let scale = 1.0 + s as f64 * 3.0;
            let (level, slope) = (20.0 + s as f64, 0.05 + 0.01 * s as f64);
            (0..len)
                .map(|t| {
                    let t = t as f64;
                    scale
                        * (level
                            + slope * t
                            + 4.0 * (std::f64::consts::TAU * t / 7.0 + phase).sin()
                            + noise(&mut rng, 0.3))
                })
                .collect()
        })
        .collect();
    let panel = Panel::daily(len, targets, vec![]);
    let model = nhits(serde_json::json!({
        "input_size": 28, "mlp_units": [64, 64], "pooling_sizes": [2, 1], "downsample": [2, 1],
        "max_steps": 400, "val_check_steps": 50, "patience": 3, "windows_batch_size": 256,
        "loss": "mse",
    }));
    let log = Log::default();
    let forecasts = panel.forecast(&model, horizon, &FeatureSet::default(), &log);
    let seasonal_naive: Vec<Vec<f64>> = panel
        .targets
        .iter()
        .map(|y| {
            let train = &y[..len - horizon];
            (0..horizon).map(|h| train[train.len() - 7 + h % 7]).collect()
        })
        .collect();
    let (ours, naive) = (panel.mse(&forecasts), panel.mse(&seasonal_naive));
    eprintln!("N-HiTS MSE {ours:.3}, seasonal naive {naive:.3}");
    assert!(
        ours < 0.25 * naive,
        "N-HiTS MSE {ours:.3} is not well below seasonal naive's {naive:.3}"
    );
    let log = log.0.lock().unwrap().clone().expect("a training log");
    assert!(log.device.starts_with("cpu"), "{}", log.device);
    let validation: Vec<f64> = log.epochs.iter().filter_map(|e| e.validation).collect();
    assert_eq!(validation.len(), log.epochs.len());
    let best = validation[log.best_epoch - 1];
    assert_eq!(best, validation.iter().copied().fold(f64::INFINITY, f64::min));
    assert!(best < validation[0], "validation losses {validation:?}");
}

#[test]
fn a_series_shorter_than_the_window_is_left_out_with_its_reason() {
    let dates = trendlab_models::testing::daily_dates(60);
    let long: Vec<f64> = (0..56).map(|t| (t % 7) as f64 + 3.0).collect();
    let short = [1.0, 2.0, 3.0];
    let series = vec![
        SeriesHistory {
            id: "long",
            text: None,
            dates: &dates,
            target: &long,
            past: vec![],
            future: vec![],
        },
        SeriesHistory {
            id: "short",
            text: None,
            dates: &dates[..7],
            target: &short,
            past: vec![],
            future: vec![],
        },
    ];
    let features = FeatureSet::default();
    let input = FoldInput::new(series, 4, &features);
    let model = nhits(serde_json::json!({
        "input_size": 14, "mlp_units": [16], "pooling_sizes": [1], "downsample": [1], "max_steps": 5,
    }));
    let out = model.forecast(&input).expect("the fold trains");
    assert_eq!(out[0].as_ref().unwrap().mean.len(), 4);
    assert!(
        matches!(&out[1], Err(ModelError::TooShort { need: 14, have: 3, .. })),
        "{:?}",
        out[1]
    );
}

const SPEC: &str = r#"
[experiment]
name = "nhits-small"
seed = 5
[data]
path = "panel.csv"
time = "date"
id = "id"
target = "y"
frequency = "D"
[evaluation]
horizon = 7
folds = 2
step = 7
metrics = ["mase", "rmse"]
season = 7
[[models]]
name = "nhits"
family = "nhits"
input_size = 14
mlp_units = [16, 16]
max_steps = 30
val_check_steps = 10
windows_batch_size = 64
dropout = 0.1
[[models]]
name = "diverges"
family = "nhits"
input_size = 14
mlp_units = [16]
max_steps = 5
lr = 1e30
scaler = "none"
loss = "mse"
[[models]]
name = "window_too_long"
family = "nhits"
input_size = 500
[[models]]
name = "on_gpu"
family = "nhits"
input_size = 14
device = "cuda:0"
"#;

#[test]
fn runs_are_deterministic_and_failures_stay_in_their_run() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "panel.csv", &panel_csv());
    let spec = write(dir.path(), "spec.toml", SPEC);
    let spec = spec.to_str().unwrap();
    let first = trendlab(dir.path(), &["run", spec, "--out", "a", "--quiet"]);
    let second = trendlab(dir.path(), &["run", spec, "--out", "b", "--quiet", "--jobs", "2"]);
    assert_eq!(first.status.code(), Some(1), "failed runs exit 1");
    assert_eq!(second.status.code(), Some(1));
    let (a, b) = (
        records(&dir.path().join("a"), "nhits-small"),
        records(&dir.path().join("b"), "nhits-small"),
    );
    assert_eq!(a.len(), 8);
    let reason = |model: &str| {
        let r = a.iter().find(|r| r.model == model).unwrap();
        assert_eq!(r.status, RunStatus::Failed, "{model}");
        r.error.clone().unwrap()
    };
    let diverged = reason("diverges");
    assert!(
        diverged.contains("training diverged") && diverged.contains("at step"),
        "{diverged}"
    );
    assert!(reason("window_too_long").contains("no training windows"));
    if !cfg!(any(feature = "cuda", feature = "tch")) {
        assert!(reason("on_gpu").contains("--features cuda"), "{}", reason("on_gpu"));
    }
    for r in a.iter().filter(|r| r.model == "nhits") {
        assert_eq!(r.status, RunStatus::Finished, "fold {}: {:?}", r.fold, r.error);
        let read = |out: &str| {
            std::fs::read(
                dir.path()
                    .join(out)
                    .join("runs/nhits-small")
                    .join(&r.run_id)
                    .join("forecasts.parquet"),
            )
            .unwrap()
        };
        assert_eq!(read("a"), read("b"), "fold {} differs between --jobs 1 and 2", r.fold);
        let log = r.training.as_ref().expect("training log in run.json");
        assert_eq!(log.epochs.len(), 3, "30 steps, a check every 10");
        assert_eq!(log.checkpoint.as_deref(), Some("nhits.bpk"));
        let run_dir = dir.path().join("a/runs/nhits-small").join(&r.run_id);
        assert!(run_dir.join("nhits.bpk").is_file() && run_dir.join("nhits.json").is_file());
    }
    assert_eq!(
        a.iter().map(|r| &r.run_id).collect::<Vec<_>>(),
        b.iter().map(|r| &r.run_id).collect::<Vec<_>>()
    );
}
