//! A window network as a family: one global network per fold, trained on
//! every series' windows ([`super::train`]), forecasting each series from
//! its last `input_size` training periods, scaled back by that window's
//! statistics. The kept weights are saved in the run directory
//! (`{name}.bpk`, with `{name}.json` holding the network's shape), and a
//! saved fit (`forecast --from`) forecasts from them without training.

use super::WindowNetwork;
use super::data::WindowData;
use super::train::{predict_scaled, train};
use crate::device::Backend;
use serde::{Deserialize, Serialize};
use std::path::Path;
use trendlab_models::{FoldInput, ModelError, SeriesForecast, SeriesOutcome, TrainingLog};
use trendlab_spec::WindowTraining;

/// What saved weights are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Saved<S> {
    shape: S,
    best_check: usize,
}

/// Fits network `N` of `shape` on the fold (or reads its saved fit) and
/// forecasts every series.
pub fn forecast<N: WindowNetwork>(
    input: &FoldInput<'_>,
    config: &WindowTraining,
    shape: &N::Shape,
) -> Result<Vec<SeriesOutcome>, ModelError> {
    let backend = Backend::for_device(config.device).map_err(ModelError::Unfit)?;
    let device = backend.params_device();
    let data = WindowData::build(input, config.input_size, config.validation, config.scaler)?;
    if input.context.fitted.is_some() {
        let dir = input
            .context
            .files
            .artifacts
            .ok_or_else(|| ModelError::Unfit("no folder holds the saved network".into()))?;
        let network = load::<N>(dir, shape, device).map_err(ModelError::Unfit)?;
        return in_units(&data, &network, shape);
    }
    let checks = config.max_steps.div_ceil(config.val_check_steps);
    let trained = train::<N>(&data, shape, config, input.seed, device, |check| {
        input.observer.epoch(check, checks)
    })
    .map_err(|e| ModelError::Numerical(e.to_string()))?;
    let checkpoint = match input.context.files.artifacts {
        Some(dir) => {
            let saved = Saved {
                shape: shape.clone(),
                best_check: trained.best_check,
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
    in_units(&data, &trained.network, shape)
}

/// Every series' forecast, in its units; a non-finite one is an error.
fn in_units<N: WindowNetwork>(
    data: &WindowData,
    network: &N,
    shape: &N::Shape,
) -> Result<Vec<SeriesOutcome>, ModelError> {
    let batch = data.batch(&data.forecast_windows(), false);
    let scaled = predict_scaled(network, shape, &batch);
    let h = data.horizon;
    Ok(data
        .series
        .iter()
        .map(|usable| {
            let row = *usable.as_ref().map_err(Clone::clone)?;
            let (shift, scale) = batch.scales[row];
            let mean = scaled[row * h..(row + 1) * h]
                .iter()
                .map(|v| f64::from(v * scale + shift))
                .collect::<Vec<f64>>();
            if mean.iter().any(|v| !v.is_finite()) {
                return Err(ModelError::Numerical("the network's forecast is not finite".into()));
            }
            Ok(SeriesForecast::from(mean))
        })
        .collect())
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

fn load<N: WindowNetwork>(dir: &Path, shape: &N::Shape, device: &burn::tensor::Device) -> Result<N, String> {
    let fail = |e: &dyn std::fmt::Display| format!("cannot load the saved network in {}: {e}", dir.display());
    let meta = dir.join(format!("{}.json", N::NAME));
    let saved: Saved<N::Shape> =
        serde_json::from_slice(&std::fs::read(&meta).map_err(|e| fail(&e))?).map_err(|e| fail(&e))?;
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
