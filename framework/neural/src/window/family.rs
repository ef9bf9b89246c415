//! A window network as a family: one global network per fold, trained on
//! every series' windows ([`super::train`]), forecasting each series from
//! its last `input_size` training periods, scaled back by that window's
//! statistics. The kept weights are saved in the run directory
//! (`{name}.bpk`, with `{name}.json` holding the network's shape and
//! quantiles), and a saved fit (`forecast --from`) forecasts from them
//! without training.
//!
//! A network trained on quantiles forecasts each step's median, and its
//! intervals are the quantiles at each level's ends; the quantiles of a step
//! are sorted first (monotone rearrangement), so that they never cross.

use super::data::{CovariateWidths, WindowData};
use super::train::{predict_scaled, train};
use super::{Outputs, WindowNetwork};
use crate::device::Backend;
use serde::{Deserialize, Serialize};
use std::path::Path;
use trendlab_models::{FoldInput, Interval, ModelError, SeriesForecast, SeriesOutcome, TrainingLog};
use trendlab_spec::{WindowTraining, level_ends, quantile_index};

/// What saved weights are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Saved<S> {
    shape: S,
    best_check: usize,
    /// The quantiles of its outputs (none: a point forecast).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quantiles: Option<Vec<f64>>,
}

/// Fits network `N` on the fold (or reads its saved fit) and forecasts
/// every series: `shape_of` gives the network's shape for the outputs
/// `config`'s loss trains and the covariates the windows carry (read when
/// `covariates`).
pub fn forecast<N: WindowNetwork>(
    input: &FoldInput<'_>,
    config: &WindowTraining,
    covariates: bool,
    shape_of: impl FnOnce(&Outputs, CovariateWidths) -> N::Shape,
) -> Result<Vec<SeriesOutcome>, ModelError> {
    let backend = Backend::for_device(config.device).map_err(ModelError::Unfit)?;
    let device = backend.params_device();
    let outputs = Outputs::of(config, input.levels);
    let mut data = WindowData::build(input, config.input_size, config.validation, config.scaler)?;
    if covariates {
        data = data.with_covariates(input, true)?;
    }
    let shape = &shape_of(&outputs, data.widths);
    let quantiles = match &outputs {
        Outputs::Point => None,
        Outputs::Quantiles(q) => Some(q.clone()),
    };
    if input.context.fitted.is_some() {
        let dir = input
            .context
            .files
            .artifacts
            .ok_or_else(|| ModelError::Unfit("no folder holds the saved network".into()))?;
        let network = load::<N>(dir, shape, &quantiles, device).map_err(ModelError::Unfit)?;
        return in_units(&data, &network, shape, &outputs, input.levels);
    }
    let checks = config.max_steps.div_ceil(config.val_check_steps);
    let trained = train::<N>(&data, shape, config, &outputs, input.seed, &backend, |check| {
        input.observer.epoch(check, checks)
    })
    .map_err(|e| ModelError::Numerical(e.to_string()))?;
    let checkpoint = match input.context.files.artifacts {
        Some(dir) => {
            let saved = Saved {
                shape: shape.clone(),
                best_check: trained.best_check,
                quantiles,
            };
            let file = save(dir, &trained.network, &saved, N::NAME).map_err(ModelError::Unfit)?;
            input.observer.fitted(trendlab_models::FittedState {
                shared: serde_json::json!({ "checkpoint": file }),
                series: Default::default(),
            });
            Some(file)
        }
        None => None,
    };
    input.observer.trained(TrainingLog {
        device: match backend {
            Backend::Kernel if trained.host_steps => format!("{} (trendlab {} host path)", config.device, N::NAME),
            Backend::Kernel => format!("{} (burn flex autodiff)", config.device),
            ref other => other.describe(config.device),
        },
        train_windows: data.train_windows(),
        validation_windows: data.validation.len(),
        epochs: trained.checks,
        best_epoch: trained.best_check,
        stopped_early: trained.stopped_early,
        checkpoint,
    });
    in_units(&data, &trained.network, shape, &outputs, input.levels)
}

/// Every series' forecast, in its units (with intervals at `levels` from
/// quantile outputs); a non-finite one is an error.
fn in_units<N: WindowNetwork>(
    data: &WindowData,
    network: &N,
    shape: &N::Shape,
    outputs: &Outputs,
    levels: &[f64],
) -> Result<Vec<SeriesOutcome>, ModelError> {
    let batch = data.batch(&data.forecast_windows(), false);
    let scaled = predict_scaled(network, shape, data.widths, &batch);
    let h = data.horizon;
    let per_row = outputs.len() * h;
    Ok(data
        .series
        .iter()
        .map(|usable| {
            let row = *usable.as_ref().map_err(Clone::clone)?;
            let (shift, scale) = batch.scales[row];
            let values: Vec<f64> = scaled[row * per_row..(row + 1) * per_row]
                .iter()
                .map(|v| f64::from(v * scale + shift))
                .collect();
            if values.iter().any(|v| !v.is_finite()) {
                return Err(ModelError::Numerical("the network's forecast is not finite".into()));
            }
            match outputs {
                Outputs::Point => Ok(SeriesForecast::from(values)),
                Outputs::Quantiles(quantiles) => quantile_forecast(&values, quantiles, h, levels),
            }
        })
        .collect())
}

/// A series' forecast from its quantile outputs (`[quantiles, horizon]`,
/// quantile-major): each step's outputs sorted, the median its point
/// forecast, the quantiles at each level's ends its interval.
pub fn quantile_forecast(
    values: &[f64],
    quantiles: &[f64],
    horizon: usize,
    levels: &[f64],
) -> Result<SeriesForecast, ModelError> {
    let mut steps: Vec<Vec<f64>> = (0..horizon)
        .map(|t| (0..quantiles.len()).map(|j| values[j * horizon + t]).collect())
        .collect();
    for step in &mut steps {
        step.sort_by(f64::total_cmp);
    }
    let at = |q: f64| -> Result<Vec<f64>, ModelError> {
        let j = quantile_index(quantiles, q)
            .ok_or_else(|| ModelError::Unfit(format!("the network was trained without the quantile {q}")))?;
        Ok(steps.iter().map(|step| step[j]).collect())
    };
    let mut forecast = SeriesForecast::from(at(0.5)?);
    forecast.intervals = levels
        .iter()
        .map(|&level| {
            let [lower, upper] = level_ends(level);
            Ok(Interval {
                level,
                lower: at(lower)?,
                upper: at(upper)?,
            })
        })
        .collect::<Result<_, ModelError>>()?;
    Ok(forecast)
}

fn save<N: WindowNetwork>(dir: &Path, network: &N, saved: &Saved<N::Shape>, name: &str) -> Result<String, String> {
    let fail = |e: &dyn std::fmt::Display| format!("cannot save the network in {}: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
    let json = serde_json::to_vec_pretty(saved).map_err(|e| fail(&e))?;
    std::fs::write(dir.join(format!("{name}.json")), json).map_err(|e| fail(&e))?;
    let weights = format!("{name}.bpk");
    // The inference form: batch norms' running statistics synced first
    // (the last step's update is pending until then).
    network.valid().save_file(dir.join(&weights)).map_err(|e| fail(&e))?;
    Ok(weights)
}

fn load<N: WindowNetwork>(
    dir: &Path,
    shape: &N::Shape,
    quantiles: &Option<Vec<f64>>,
    device: &burn::tensor::Device,
) -> Result<N, String> {
    let fail = |e: &dyn std::fmt::Display| format!("cannot load the saved network in {}: {e}", dir.display());
    let meta = dir.join(format!("{}.json", N::NAME));
    let saved: Saved<N::Shape> =
        serde_json::from_slice(&std::fs::read(&meta).map_err(|e| fail(&e))?).map_err(|e| fail(&e))?;
    if &saved.quantiles != quantiles {
        return Err(format!(
            "the saved network in {} forecasts the quantiles {:?}; this run needs {:?}",
            dir.display(),
            saved.quantiles,
            quantiles
        ));
    }
    if &saved.shape != shape {
        return Err(format!(
            "the saved network in {} is {:?}; this run needs {:?}",
            dir.display(),
            saved.shape,
            shape
        ));
    }
    N::init(shape, 0, device)
        .try_load_file(dir.join(format!("{}.bpk", N::NAME)))
        .map_err(|e| fail(&e))
}
