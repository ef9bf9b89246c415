//! The LSTM family: it learns known signals (better than seasonal naive on
//! sine + trend, reads known-in-advance covariates through its output
//! layer), stops early on a flat target, is deterministic, and fails runs
//! (not the grid) on divergence, short series, missing GPU builds and
//! memory; its training log and checkpoint land in the run store.

use crate::common::{records, trendlab, write};
use chrono::NaiveDate;
use std::sync::Mutex;
use trendlab_models::{EpochLoss, FeatureSet, FitObserver, FoldInput, Forecaster, SeriesHistory, TrainingLog};
use trendlab_neural::Lstm;
use trendlab_neural::rng::SplitMix64;
use trendlab_results::RunStatus;
use trendlab_spec::{CalendarFeature, LstmConfig};

fn lstm(settings: serde_json::Value) -> Lstm {
    Lstm(serde_json::from_value::<LstmConfig>(settings).expect("a valid LSTM config"))
}

/// Keeps the training log.
#[derive(Default)]
pub struct Log(pub Mutex<Option<TrainingLog>>);

impl FitObserver for Log {
    fn epoch(&self, _epoch: &EpochLoss, _of: usize) {}
    fn trained(&self, log: TrainingLog) {
        *self.0.lock().unwrap() = Some(log);
    }
}

/// Daily series (with optional product texts) to forecast directly.
pub struct Panel {
    pub dates: Vec<NaiveDate>,
    pub targets: Vec<Vec<f64>>,
    pub covariates: Vec<Vec<f64>>,
    pub texts: Vec<Option<String>>,
    /// Run-shared cache folder given to the model.
    pub cache: Option<std::path::PathBuf>,
}

impl Panel {
    pub fn daily(len: usize, targets: Vec<Vec<f64>>, covariates: Vec<Vec<f64>>) -> Panel {
        Panel {
            dates: trendlab_models::testing::daily_dates(len),
            targets,
            covariates,
            texts: Vec::new(),
            cache: None,
        }
    }

    /// Forecasts the last `horizon` periods of every series from the rest.
    pub fn forecast(&self, model: &dyn Forecaster, horizon: usize, features: &FeatureSet, log: &Log) -> Vec<Vec<f64>> {
        self.forecast_in(model, horizon, features, log, None, None)
    }

    /// [`Self::forecast`], the fit's files saved in `dir`.
    pub fn forecast_saving(&self, model: &dyn Forecaster, horizon: usize, dir: &std::path::Path) -> Vec<Vec<f64>> {
        self.forecast_in(model, horizon, &FeatureSet::default(), &Log::default(), Some(dir), None)
    }

    /// [`Self::forecast`] from the fit saved in `dir` (no training).
    pub fn forecast_from_saved(&self, model: &dyn Forecaster, horizon: usize, dir: &std::path::Path) -> Vec<Vec<f64>> {
        let saved = trendlab_models::FittedState::default();
        self.forecast_in(
            model,
            horizon,
            &FeatureSet::default(),
            &Log::default(),
            Some(dir),
            Some(&saved),
        )
    }

    fn forecast_in(
        &self,
        model: &dyn Forecaster,
        horizon: usize,
        features: &FeatureSet,
        log: &Log,
        artifacts: Option<&std::path::Path>,
        fitted: Option<&trendlab_models::FittedState>,
    ) -> Vec<Vec<f64>> {
        let ids: Vec<String> = (0..self.targets.len()).map(|i| format!("s{i}")).collect();
        let series = self
            .targets
            .iter()
            .enumerate()
            .map(|(i, y)| SeriesHistory {
                id: &ids[i],
                text: self.texts.get(i).and_then(|t| t.as_deref()),
                dates: &self.dates,
                target: &y[..y.len() - horizon],
                past: vec![],
                future: self.covariates.get(i).map(|c| vec![c.as_slice()]).unwrap_or_default(),
            })
            .collect();
        let mut input = FoldInput::new(series, horizon, features);
        input.seed = 3;
        input.observer = log;
        input.context.files.cache = self.cache.as_deref();
        input.context.files.artifacts = artifacts;
        input.context.fitted = fitted;
        model
            .forecast(&input)
            .expect("the fold trains")
            .into_iter()
            .map(|s| s.expect("every series forecast").mean)
            .collect()
    }

    pub fn mse(&self, forecasts: &[Vec<f64>]) -> f64 {
        let mut sum = 0.0;
        let mut n = 0;
        for (y, f) in self.targets.iter().zip(forecasts) {
            for (a, b) in y[y.len() - f.len()..].iter().zip(f) {
                sum += (a - b).powi(2);
                n += 1;
            }
        }
        sum / n as f64
    }
}

/// Eight daily series of sales 10 on promotion days and 1 otherwise, the
/// promotions random and known in advance (the covariate `promo`), so only
/// the forecast dates' covariate tells: without it the best constant
/// forecast has MSE ≈ 0.21 · 81 ≈ 17.
pub fn promotions(len: usize) -> (Panel, FeatureSet) {
    let mut rng = SplitMix64::new(9);
    let promos: Vec<Vec<f64>> = (0..8)
        .map(|_| (0..len).map(|_| f64::from(u8::from(rng.next_f32() < 0.3))).collect())
        .collect();
    let targets = promos
        .iter()
        .map(|p| p.iter().map(|v| 1.0 + 9.0 * v).collect())
        .collect();
    let features = FeatureSet {
        future: vec!["promo".into()],
        ..FeatureSet::default()
    };
    (Panel::daily(len, targets, promos), features)
}

pub fn noise(rng: &mut SplitMix64, sd: f64) -> f64 {
    // Sum of 12 uniforms: close to normal.
    ((0..12).map(|_| f64::from(rng.next_f32())).sum::<f64>() - 6.0) * sd
}

#[test]
fn learns_sine_plus_trend_far_better_than_seasonal_naive() {
    let (len, horizon) = (180, 14);
    let mut rng = SplitMix64::new(1);
    let targets: Vec<Vec<f64>> = (0..12)
        .map(|s| {
            let phase = s as f64 * 0.7;
            let (level, slope) = (20.0 + s as f64, 0.05 + 0.01 * s as f64);
            (0..len)
                .map(|t| {
                    let t = t as f64;
                    level + slope * t + 4.0 * (std::f64::consts::TAU * t / 7.0 + phase).sin() + noise(&mut rng, 0.3)
                })
                .collect()
        })
        .collect();
    let panel = Panel::daily(len, targets, vec![]);
    let model = lstm(serde_json::json!({
        "input_size": 21, "hidden": 32, "epochs": 60, "patience": 8, "lr": 0.005,
        "batch_size": 64, "validation": 14, "anchor": "window_mean",
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
    let (lstm_mse, naive_mse) = (panel.mse(&forecasts), panel.mse(&seasonal_naive));
    assert!(
        lstm_mse < 0.4 * naive_mse,
        "LSTM MSE {lstm_mse:.3} is not well below seasonal naive's {naive_mse:.3}"
    );
    let log = log.0.lock().unwrap().clone().expect("a training log");
    let validation: Vec<f64> = log.epochs.iter().filter_map(|e| e.validation).collect();
    assert_eq!(validation.len(), log.epochs.len());
    let best = validation[log.best_epoch - 1];
    assert!(best <= validation.iter().copied().fold(f64::INFINITY, f64::min));
    assert!(best < validation[0] / 5.0, "validation losses {validation:?}");
}

#[test]
fn known_in_advance_covariates_reach_the_output_layer() {
    let (len, horizon) = (120, 3);
    let (panel, features) = promotions(len);
    let model = lstm(serde_json::json!({
        "input_size": 7, "hidden": 16, "epochs": 80, "patience": 0, "lr": 0.01, "batch_size": 32,
        "validation": 0, "scaling": "none",
    }));
    let forecasts = panel.forecast(&model, horizon, &features, &Log::default());
    let mse = panel.mse(&forecasts);
    // Without the covariate the best constant forecast has MSE ≈ 0.21 · 81 ≈ 17.
    assert!(mse < 0.5, "MSE {mse:.3}: the forecast-date promotions are not used");
}

#[test]
fn calendar_inputs_and_horizon_shape() {
    // Weekday pattern only; calendar features of the step and forecast dates.
    let (len, horizon) = (100, 9);
    let targets = (0..4)
        .map(|s| {
            (0..len)
                .map(|t| (s + 1) as f64 * [3.0, 5.0, 4.0, 6.0, 8.0, 1.0, 2.0][t % 7])
                .collect()
        })
        .collect();
    let panel = Panel::daily(len, targets, vec![]);
    let features = FeatureSet {
        calendar: vec![CalendarFeature::DayOfWeek],
        ..FeatureSet::default()
    };
    let model = lstm(serde_json::json!({ "input_size": 14, "hidden": 8, "epochs": 3, "validation": 0 }));
    let forecasts = panel.forecast(&model, horizon, &features, &Log::default());
    assert_eq!(forecasts.len(), 4);
    assert!(
        forecasts
            .iter()
            .all(|f| f.len() == horizon && f.iter().all(|v| v.is_finite()))
    );
}

#[test]
fn early_stopping_triggers_on_a_flat_target() {
    let len = 90;
    let panel = Panel::daily(len, vec![vec![5.0; len]; 6], vec![]);
    let model = lstm(serde_json::json!({
        "input_size": 10, "hidden": 8, "epochs": 200, "patience": 3, "validation": 7, "lr": 0.01,
    }));
    let log = Log::default();
    let forecasts = panel.forecast(&model, 7, &FeatureSet::default(), &log);
    let log = log.0.lock().unwrap().clone().unwrap();
    assert!(log.stopped_early, "ran all {} epochs", log.epochs.len());
    assert!(log.epochs.len() < 200 && log.best_epoch + 3 == log.epochs.len());
    for f in forecasts.iter().flatten() {
        assert!((f - 5.0).abs() < 0.05, "forecast {f} of a flat 5");
    }
}

/// A small daily panel as CSV: weekly pattern plus trend, 6 series × 120 days.
pub fn panel_csv() -> String {
    let mut csv = String::from("date,id,y\n");
    let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    for s in 0..6 {
        for t in 0..120u64 {
            let y = 10.0 + s as f64 + 0.05 * t as f64 + 3.0 * ((t % 7) as f64 - 3.0).abs();
            csv.push_str(&format!("{},s{s},{y}\n", start + chrono::Days::new(t)));
        }
    }
    csv
}

pub const SPEC: &str = r#"
[experiment]
name = "lstm-small"
seed = 5
[data]
path = "panel.csv"
time = "date"
id = "id"
target = "y"
frequency = "D"
[features]
calendar = ["day_of_week"]
[evaluation]
horizon = 7
folds = 2
step = 7
metrics = ["mase", "rmse"]
season = 7
[[models]]
name = "snaive"
family = "seasonal_naive"
season = 7
[[models]]
name = "lstm"
family = "lstm"
input_size = 14
hidden = 8
epochs = 4
batch_size = 32
dropout = 0.1
[[models]]
name = "diverges"
family = "lstm"
input_size = 14
hidden = 8
epochs = 2
lr = 1e30
[[models]]
name = "window_too_long"
family = "lstm"
input_size = 500
[[models]]
name = "on_gpu"
family = "lstm"
input_size = 14
device = "cuda:0"
[[models]]
name = "too_big"
family = "lstm"
input_size = 14
hidden = 100000
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
        records(&dir.path().join("a"), "lstm-small"),
        records(&dir.path().join("b"), "lstm-small"),
    );
    assert_eq!(a.len(), 12);
    let reason = |model: &str| {
        let r = a.iter().find(|r| r.model == model).unwrap();
        assert_eq!(r.status, RunStatus::Failed, "{model}");
        r.error.clone().unwrap()
    };
    assert!(
        reason("diverges").contains("training diverged"),
        "{}",
        reason("diverges")
    );
    assert!(reason("window_too_long").contains("no training windows"));
    if !cfg!(any(feature = "cuda", feature = "tch")) {
        assert!(reason("on_gpu").contains("--features cuda"), "{}", reason("on_gpu"));
    }
    assert!(reason("too_big").contains("out of memory"), "{}", reason("too_big"));
    // The grid went on: the baseline and the small LSTM finished, with
    // identical forecasts in both stores (one thread and two).
    for r in a.iter().filter(|r| r.model == "lstm" || r.model == "snaive") {
        assert_eq!(
            r.status,
            RunStatus::Finished,
            "{} fold {}: {:?}",
            r.model,
            r.fold,
            r.error
        );
        let read = |out: &str| {
            std::fs::read(
                dir.path()
                    .join(out)
                    .join("runs/lstm-small")
                    .join(&r.run_id)
                    .join("forecasts.parquet"),
            )
            .unwrap()
        };
        assert_eq!(read("a"), read("b"), "{} fold {} differs between runs", r.model, r.fold);
    }
    assert_eq!(
        a.iter().map(|r| &r.run_id).collect::<Vec<_>>(),
        b.iter().map(|r| &r.run_id).collect::<Vec<_>>()
    );
    // Training log and checkpoint of the LSTM runs.
    for r in a.iter().filter(|r| r.model == "lstm") {
        let log = r.training.as_ref().expect("training log in run.json");
        assert!(log.device.starts_with("cpu"));
        assert!(!log.epochs.is_empty() && log.epochs.len() <= 4);
        assert!(log.epochs.iter().all(|e| e.train.is_finite() && e.validation.is_some()));
        assert_eq!(log.checkpoint.as_deref(), Some("lstm.bpk"));
        let run_dir = dir.path().join("a/runs/lstm-small").join(&r.run_id);
        let (network, meta) =
            trendlab_neural::checkpoint::load(&run_dir, &burn_cpu_device()).expect("the checkpoint loads");
        assert_eq!(meta.best_epoch, log.best_epoch);
        assert_eq!(meta.step_inputs, ["target", "dayofweek_sin", "dayofweek_cos"]);
        assert_eq!(network.to_flat().len(), meta.shape().len());
    }
}

fn burn_cpu_device() -> trendlab_neural::burn::tensor::Device {
    trendlab_neural::burn::tensor::Device::flex()
}

/// (Not in GPU builds, which would train on the GPU instead of failing.)
#[cfg(not(any(feature = "cuda", feature = "tch")))]
#[test]
fn device_flag_overrides_the_spec_and_keeps_run_ids() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "panel.csv", &panel_csv());
    let small = SPEC.split("[[models]]\nname = \"diverges\"").next().unwrap();
    let spec = write(dir.path(), "spec.toml", small);
    let spec = spec.to_str().unwrap();
    let gpu = trendlab(
        dir.path(),
        &["run", spec, "--out", "out", "--quiet", "--device", "cuda:0"],
    );
    assert_eq!(gpu.status.code(), Some(1));
    let on_gpu = records(&dir.path().join("out"), "lstm-small");
    let lstm: Vec<_> = on_gpu.iter().filter(|r| r.model == "lstm").collect();
    assert_eq!(lstm.len(), 2);
    assert!(
        lstm.iter()
            .all(|r| r.error.as_deref().is_some_and(|e| e.contains("--features cuda")))
    );
    assert_eq!(lstm[0].params["device"], "cuda:0");
    // The same runs (same ids) are retried on the CPU; the baseline is skipped.
    let cpu = trendlab(dir.path(), &["run", spec, "--out", "out", "--quiet", "--device", "cpu"]);
    assert_eq!(cpu.status.code(), Some(0), "{}", crate::common::stderr(&cpu));
    assert!(
        crate::common::stdout(&cpu).contains("4 runs planned: 2 skipped"),
        "{}",
        crate::common::stdout(&cpu)
    );
    let on_cpu = records(&dir.path().join("out"), "lstm-small");
    assert_eq!(
        on_gpu.iter().map(|r| &r.run_id).collect::<Vec<_>>(),
        on_cpu.iter().map(|r| &r.run_id).collect::<Vec<_>>()
    );
    assert!(on_cpu.iter().all(|r| r.status == RunStatus::Finished));
}
