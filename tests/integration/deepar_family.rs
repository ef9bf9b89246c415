//! The DeepAR family: on series with a known distribution (a weekly season
//! plus unit Gaussian noise) its point forecasts approach the noise floor
//! and its sample-path intervals have the coverage and width the truth
//! gives; runs are deterministic for any `--jobs` and carry intervals; the
//! saved network samples the same paths (`forecast --from`); a count
//! likelihood refuses negative values naming the series; with `exogenous =
//! true` it reads the promotions of the periods it forecasts; on an AR(1)
//! process, sample paths widen with the horizon as the truth does while
//! `feedback = "mean"` forecasts the conditional mean with one period's
//! width at every step (neuralforecast's recurrent forecast).

use crate::common::{forecasts_csv, records, trendlab, write};
use crate::lstm::{Log, Panel, noise, panel_csv, promotions};
use trendlab_models::testing::history;
use trendlab_models::{FeatureSet, FoldInput, Forecaster, ModelError, SeriesForecast};
use trendlab_neural::Deepar;
use trendlab_neural::rng::SplitMix64;
use trendlab_results::RunStatus;
use trendlab_spec::DeeparConfig;

fn deepar(settings: serde_json::Value) -> Deepar {
    Deepar(serde_json::from_value::<DeeparConfig>(settings).expect("a valid DeepAR config"))
}

#[test]
fn exogenous_deepar_reads_the_promotions_of_the_periods_it_forecasts() {
    // Random promotions known in advance, sales 10 on them and 1 otherwise,
    // plus a little noise: the period a step forecasts must bring its own
    // promotion (one period off, the forecast is no better than without).
    let (len, horizon) = (200, 7);
    let (mut panel, features) = promotions(len);
    let mut rng = SplitMix64::new(12);
    for y in &mut panel.targets {
        y.iter_mut().for_each(|v| *v += noise(&mut rng, 0.2));
    }
    let model = |exogenous: bool| {
        deepar(serde_json::json!({
            "input_size": 14, "lstm_layers": 1, "lstm_hidden": 16, "lstm_dropout": 0.0, "likelihood": "normal",
            "scaler": "standard", "lr": 0.01, "max_steps": 1000, "val_check_steps": 100, "patience": 0,
            "windows_batch_size": 256, "samples": 100, "point": "mean", "exogenous": exogenous,
        }))
    };
    let with = panel.mse(&panel.forecast(&model(true), horizon, &features, &Log::default()));
    let without = panel.mse(&panel.forecast(&model(false), horizon, &features, &Log::default()));
    eprintln!("promotions: DeepAR MSE {with:.3} reading them (noise floor 0.04), {without:.3} without");
    assert!(
        with < 0.5,
        "MSE {with:.3}: the forecast periods' promotions are not used"
    );
    assert!(
        without > 8.0,
        "MSE {without:.3} without the promotions: the test cannot tell"
    );
}

/// Forecasts of `model` for the last `horizon` periods of every series of
/// `panel` (trained on the rest), with intervals at `levels`, and its log.
fn forecast_last(panel: &Panel, model: &Deepar, horizon: usize, levels: &[f64]) -> (Vec<SeriesForecast>, Log) {
    let len = panel.dates.len();
    let ids: Vec<String> = (0..panel.targets.len()).map(|i| format!("s{i}")).collect();
    let series = panel
        .targets
        .iter()
        .zip(&ids)
        .map(|(y, id)| history(id, &panel.dates, &y[..len - horizon]))
        .collect();
    let features = FeatureSet::default();
    let mut input = FoldInput::new(series, horizon, &features);
    input.levels = levels;
    let log = Log::default();
    input.observer = &log;
    let forecasts = model
        .forecast(&input)
        .expect("the fold trains")
        .into_iter()
        .map(|s| s.expect("every series forecast"))
        .collect();
    (forecasts, log)
}

#[test]
fn intervals_from_sample_paths_match_the_known_noise() {
    let (len, horizon, count) = (300, 14, 16);
    let mut rng = SplitMix64::new(4);
    let targets: Vec<Vec<f64>> = (0..count)
        .map(|s| {
            let (level, phase) = (10.0 + s as f64, s as f64 * 0.9);
            (0..len)
                .map(|t| level + 3.0 * (std::f64::consts::TAU * t as f64 / 7.0 + phase).sin() + noise(&mut rng, 1.0))
                .collect()
        })
        .collect();
    let panel = Panel::daily(len, targets, vec![]);
    let model = deepar(serde_json::json!({
        "input_size": 21, "lstm_layers": 1, "lstm_hidden": 24, "lstm_dropout": 0.0, "likelihood": "normal",
        "scaler": "standard", "lr": 0.01, "max_steps": 400, "val_check_steps": 50, "patience": 3,
        "windows_batch_size": 256, "samples": 400,
    }));
    let (forecasts, log) = forecast_last(&panel, &model, horizon, &[80.0]);
    let means: Vec<Vec<f64>> = forecasts.iter().map(|f| f.mean.clone()).collect();
    // The noise alone has MSE 1; seasonal naive's error is the difference
    // of two draws (MSE 2).
    let mse = panel.mse(&means);
    eprintln!("DeepAR MSE {mse:.3} (noise floor 1, seasonal naive 2)");
    assert!(mse < 1.4, "DeepAR MSE {mse:.3} is not near the noise floor of 1");
    let (mut covered, mut width, mut n) = (0, 0.0, 0);
    for (f, y) in forecasts.iter().zip(&panel.targets) {
        let interval = &f.intervals[0];
        assert_eq!(interval.level, 80.0);
        for (k, actual) in y[len - horizon..].iter().enumerate() {
            covered += usize::from(interval.lower[k] <= *actual && *actual <= interval.upper[k]);
            width += interval.upper[k] - interval.lower[k];
            n += 1;
        }
    }
    let (coverage, width) = (covered as f64 / n as f64, width / n as f64);
    // The true 80% interval is ±1.2816: width 2.563.
    eprintln!("80% interval: coverage {coverage:.3}, mean width {width:.3} (truth 0.8, 2.563)");
    assert!((0.68..=0.92).contains(&coverage), "coverage {coverage:.3}");
    assert!((2.0..3.3).contains(&width), "mean width {width:.3}");
    let log = log.0.lock().unwrap().clone().expect("a training log");
    let validation: Vec<f64> = log.epochs.iter().filter_map(|e| e.validation).collect();
    assert_eq!(
        validation[log.best_epoch - 1],
        validation.iter().copied().fold(f64::INFINITY, f64::min)
    );
}

/// AR(1) around zero: y_t = phi y_{t-1} + e_t, e_t ~ N(0, 1), unscaled (so
/// the level is known). Given the last value, step h's truth is normal with
/// mean phi^h y_T and variance (1 - phi^2h) / (1 - phi^2).
#[test]
fn mean_feedback_keeps_one_periods_width_where_sample_paths_widen_as_the_truth() {
    let (len, horizon, count, phi) = (300, 10, 24, 0.8f64);
    let mut rng = SplitMix64::new(31);
    let targets: Vec<Vec<f64>> = (0..count)
        .map(|_| {
            let mut y = vec![0.0; len];
            for t in 1..len {
                y[t] = phi * y[t - 1] + noise(&mut rng, 1.0);
            }
            y
        })
        .collect();
    let panel = Panel::daily(len, targets, vec![]);
    let forecast = |feedback: &str| {
        let model = deepar(serde_json::json!({
            "input_size": 14, "lstm_layers": 1, "lstm_hidden": 16, "lstm_dropout": 0.0, "likelihood": "normal",
            "scaler": "none", "lr": 0.01, "max_steps": 400, "val_check_steps": 100, "patience": 0,
            "windows_batch_size": 256, "samples": 400, "point": "mean", "feedback": feedback,
        }));
        forecast_last(&panel, &model, horizon, &[80.0]).0
    };
    // Per step: the point's squared distance from the true conditional mean
    // and the 80% interval's width, averaged over series.
    let summary = |forecasts: &[SeriesForecast]| {
        let (mut gap, mut width) = (vec![0.0; horizon], vec![0.0; horizon]);
        for (f, y) in forecasts.iter().zip(&panel.targets) {
            let last = y[len - horizon - 1];
            for h in 0..horizon {
                let truth = phi.powi(h as i32 + 1) * last;
                gap[h] += (f.mean[h] - truth).powi(2) / count as f64;
                width[h] += (f.intervals[0].upper[h] - f.intervals[0].lower[h]) / count as f64;
            }
        }
        (gap, width)
    };
    let true_width = |h: usize| 2.0 * 1.2816 * ((1.0 - phi.powi(2 * h as i32)) / (1.0 - phi * phi)).sqrt();
    let (sample_gap, sample_width) = summary(&forecast("sample"));
    let (mean_gap, mean_width) = summary(&forecast("mean"));
    eprintln!(
        "AR(1): 80% width at steps 1 and {horizon}: sample paths {:.2}, {:.2}; mean feedback {:.2}, {:.2}; \
         truth {:.2}, {:.2}. Squared gap from the conditional mean (mean over steps): {:.3} and {:.3}",
        sample_width[0],
        sample_width[horizon - 1],
        mean_width[0],
        mean_width[horizon - 1],
        true_width(1),
        true_width(horizon),
        sample_gap.iter().sum::<f64>() / horizon as f64,
        mean_gap.iter().sum::<f64>() / horizon as f64,
    );
    for (what, gap) in [("sample paths", &sample_gap), ("mean feedback", &mean_gap)] {
        let mean_gap = gap.iter().sum::<f64>() / horizon as f64;
        assert!(
            mean_gap < 0.15,
            "{what}: the point is {mean_gap:.3} (squared) from the conditional mean"
        );
    }
    let within = |ours: f64, truth: f64| (ours / truth - 1.0).abs() < 0.2;
    assert!(
        within(sample_width[0], true_width(1)),
        "sample paths, step 1: {sample_width:?}"
    );
    assert!(
        within(sample_width[horizon - 1], true_width(horizon)),
        "sample paths, last step: {sample_width:?}"
    );
    assert!(
        within(mean_width[0], true_width(1)),
        "mean feedback, step 1: {mean_width:?}"
    );
    assert!(
        within(mean_width[horizon - 1], true_width(1)),
        "mean feedback, last step: {mean_width:?}"
    );
}

const SPEC: &str = r#"
[experiment]
name = "deepar-small"
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
metrics = ["mase", "coverage"]
levels = [80]
season = 7
[[models]]
name = "deepar"
family = "deepar"
input_size = 14
lstm_hidden = 8
max_steps = 30
val_check_steps = 10
windows_batch_size = 64
samples = 50
scaler = "standard"
"#;

#[test]
fn runs_are_deterministic_for_any_jobs_and_carry_intervals() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "panel.csv", &panel_csv());
    let spec = write(dir.path(), "spec.toml", SPEC);
    let spec = spec.to_str().unwrap();
    for (out, jobs) in [("a", "1"), ("b", "2")] {
        let output = trendlab(dir.path(), &["run", spec, "--out", out, "--quiet", "--jobs", jobs]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let a = records(&dir.path().join("a"), "deepar-small");
    assert_eq!(a.len(), 2);
    for r in &a {
        assert_eq!(r.status, RunStatus::Finished, "fold {}: {:?}", r.fold, r.error);
        let read = |out: &str| {
            std::fs::read(
                dir.path()
                    .join(out)
                    .join("runs/deepar-small")
                    .join(&r.run_id)
                    .join("forecasts.parquet"),
            )
            .unwrap()
        };
        assert_eq!(read("a"), read("b"), "fold {} differs between --jobs 1 and 2", r.fold);
        let log = r.training.as_ref().expect("training log in run.json");
        assert_eq!(log.checkpoint.as_deref(), Some("deepar.bpk"));
        let csv = forecasts_csv(&dir.path().join("a/runs/deepar-small").join(&r.run_id));
        let header = csv.lines().next().unwrap_or_default();
        assert!(header.contains("80"), "no 80% interval columns: {header}");
    }
}

#[test]
fn the_saved_network_samples_the_same_paths() {
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
    let dir = tempfile::tempdir().unwrap();
    let model = deepar(serde_json::json!({
        "input_size": 14, "lstm_hidden": 8, "max_steps": 20, "val_check_steps": 10, "windows_batch_size": 64,
        "samples": 30, "likelihood": "negative_binomial",
    }));
    let trained = panel.forecast_saving(&model, 7, dir.path());
    assert!(dir.path().join("deepar.bpk").is_file());
    let again = panel.forecast_from_saved(&model, 7, dir.path());
    assert_eq!(trained, again);
    // Negative binomial draws are counts: their medians are whole or halves.
    assert!(
        trained.iter().flatten().all(|v| *v >= 0.0 && (2.0 * v).fract() == 0.0),
        "{trained:?}"
    );
}

#[test]
fn a_count_likelihood_refuses_negative_values_by_series() {
    let mut targets: Vec<Vec<f64>> = (0..3).map(|_| vec![2.0; 60]).collect();
    targets[1][20] = -1.0;
    let ids = ["a", "b", "c"];
    let dates = trendlab_models::testing::daily_dates(60);
    let series = targets.iter().zip(ids).map(|(y, id)| history(id, &dates, y)).collect();
    let features = FeatureSet::default();
    let input = FoldInput::new(series, 7, &features);
    let model = deepar(serde_json::json!({ "input_size": 7, "likelihood": "tweedie", "max_steps": 2 }));
    let err = model.forecast(&input).unwrap_err();
    assert!(matches!(err, ModelError::Unfit(_)), "{err:?}");
    assert!(err.to_string().contains("series `b`"), "{err}");
}
