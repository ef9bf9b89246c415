//! The PatchTST family: it learns a known signal (a weekly season on a
//! trend across series of different scales, far better than seasonal
//! naive), keeps the best check's weights with their batch-norm statistics
//! (forecasting from the saved weights gives the same numbers), and is
//! deterministic for any `--jobs`.

use crate::common::{records, trendlab, write};
use crate::lstm::{Log, Panel, noise, panel_csv};
use trendlab_models::FeatureSet;
use trendlab_neural::Patchtst;
use trendlab_neural::rng::SplitMix64;
use trendlab_results::RunStatus;
use trendlab_spec::PatchtstConfig;

fn patchtst(settings: serde_json::Value) -> Patchtst {
    Patchtst(serde_json::from_value::<PatchtstConfig>(settings).expect("a valid PatchTST config"))
}

#[test]
fn learns_a_weekly_season_on_a_trend_far_better_than_seasonal_naive() {
    let (len, horizon) = (200, 14);
    let mut rng = SplitMix64::new(2);
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
    let model = patchtst(serde_json::json!({
        "input_size": 28, "patch_len": 7, "stride": 7, "d_model": 16, "heads": 2, "layers": 1, "ff": 32,
        "dropout": 0.0, "lr": 0.003, "max_steps": 300, "val_check_steps": 50, "patience": 3,
        "windows_batch_size": 256, "loss": "mse",
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
    eprintln!("PatchTST MSE {ours:.3}, seasonal naive {naive:.3}");
    assert!(
        ours < 0.25 * naive,
        "PatchTST MSE {ours:.3} is not well below seasonal naive's {naive:.3}"
    );
    let log = log.0.lock().unwrap().clone().expect("a training log");
    let validation: Vec<f64> = log.epochs.iter().filter_map(|e| e.validation).collect();
    let best = validation[log.best_epoch - 1];
    assert_eq!(best, validation.iter().copied().fold(f64::INFINITY, f64::min));
}

const SPEC: &str = r#"
[experiment]
name = "patchtst-small"
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
name = "patchtst"
family = "patchtst"
input_size = 14
patch_len = 4
stride = 2
d_model = 8
heads = 2
layers = 2
ff = 16
max_steps = 30
val_check_steps = 10
windows_batch_size = 64
"#;

#[test]
fn runs_are_deterministic_for_any_jobs() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "panel.csv", &panel_csv());
    let spec = write(dir.path(), "spec.toml", SPEC);
    let spec = spec.to_str().unwrap();
    for (out, jobs) in [("a", "1"), ("b", "2")] {
        let status = trendlab(dir.path(), &["run", spec, "--out", out, "--quiet", "--jobs", jobs]).status;
        assert_eq!(status.code(), Some(0));
    }
    let a = records(&dir.path().join("a"), "patchtst-small");
    assert_eq!(a.len(), 2);
    for r in &a {
        assert_eq!(r.status, RunStatus::Finished, "fold {}: {:?}", r.fold, r.error);
        let read = |out: &str| {
            std::fs::read(
                dir.path()
                    .join(out)
                    .join("runs/patchtst-small")
                    .join(&r.run_id)
                    .join("forecasts.parquet"),
            )
            .unwrap()
        };
        assert_eq!(read("a"), read("b"), "fold {} differs between --jobs 1 and 2", r.fold);
        let log = r.training.as_ref().expect("training log in run.json");
        assert_eq!(log.checkpoint.as_deref(), Some("patchtst.bpk"));
    }
}

/// The weights kept forecast as they did when kept, batch-norm statistics
/// included: the forecast of a trained fold equals the forecast of its
/// saved network, with validation (the best check's weights) and without
/// (the last step's, whose statistics update was pending).
#[test]
fn the_kept_weights_forecast_as_saved() {
    let panel = Panel::daily(
        120,
        (0..4)
            .map(|s| {
                (0..120)
                    .map(|t| 10.0 + s as f64 + ((t % 7) as f64 - 3.0).abs())
                    .collect()
            })
            .collect(),
        vec![],
    );
    for validation in [7, 0] {
        let dir = tempfile::tempdir().unwrap();
        let model = patchtst(serde_json::json!({
            "input_size": 14, "patch_len": 4, "stride": 2, "d_model": 8, "heads": 2, "layers": 2, "ff": 16,
            "max_steps": 40, "val_check_steps": 10, "patience": 0, "windows_batch_size": 64, "lr": 0.01,
            "validation": validation,
        }));
        let trained = panel.forecast_saving(&model, 7, dir.path());
        let again = panel.forecast_from_saved(&model, 7, dir.path());
        assert_eq!(trained, again, "validation {validation}");
    }
}
