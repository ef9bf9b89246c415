//! `family = "lstm"`: one global LSTM per fold, trained on the windows of
//! every series ([`crate::windows`]), forecasting `horizon` steps at once
//! (direct), scaled back per series. The best epoch's weights are saved in
//! the run directory ([`crate::checkpoint`]).

use crate::checkpoint::{self, Checkpoint};
use crate::device::Backend;
use crate::train::TextTuner;
use crate::train::{TrainConfig, TrainError, predict, train};
use crate::windows::{FoldWindows, build};
use ref_cast::RefCast;
use trendlab_models::{FoldInput, Forecaster, ModelError, SeriesForecast, SeriesOutcome, TrainingLog};
use trendlab_spec::LstmConfig;

/// The LSTM family: its configuration seen as a [`Forecaster`] (a newtype,
/// since the config lives in the spec crate and the trait in the models
/// crate; `Lstm::ref_cast(&config)` borrows one without copying).
#[derive(Debug, RefCast)]
#[repr(transparent)]
pub struct Lstm(pub LstmConfig);

impl Forecaster for Lstm {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        let config = &self.0;
        let backend = Backend::for_device(config.device).map_err(ModelError::Unfit)?;
        fit_and_forecast(input, config, build(input, config)?, &backend, None)
    }
}

/// Trains the network on a fold's windows, forecasts every series, saves
/// the checkpoint and reports training: what the LSTM and BERT-fusion
/// families share. With a saved fit (`forecast --from`), forecasts from the
/// checkpoint in the run files instead.
pub(crate) fn fit_and_forecast(
    input: &FoldInput<'_>,
    config: &LstmConfig,
    mut windows: FoldWindows,
    backend: &Backend,
    tuner: Option<&mut dyn TextTuner>,
) -> Result<Vec<SeriesOutcome>, ModelError> {
    if input.context.fitted.is_some() {
        return from_checkpoint(input, windows, backend);
    }
    let settings = TrainConfig {
        hidden: config.hidden,
        layers: config.layers,
        dropout: config.dropout as f32,
        lr: config.lr,
        batch_size: config.batch_size,
        epochs: config.epochs,
        patience: config.patience,
        seed: input.seed,
    };
    let trained = train(
        &mut windows.train,
        &mut windows.validation,
        &settings,
        backend,
        tuner,
        |e| input.observer.epoch(e, config.epochs),
    )
    .map_err(|e| match e {
        TrainError::Diverged { .. } => ModelError::Numerical(e.to_string()),
        _ => ModelError::Unfit(e.to_string()),
    })?;
    if let (Some(table), Some(text)) = (&trained.text_table, &mut windows.forecast.text) {
        text.table = table.clone();
    }
    let predictions = predict(&trained.network, &trained.shape, &windows.forecast, backend);
    let checkpoint = match input.context.files.artifacts {
        Some(dir) => {
            let meta = Checkpoint::new(config, &trained, &windows.step_inputs, input.horizon);
            let file = checkpoint::save(dir, &trained.network, &meta).map_err(ModelError::Unfit)?;
            if let Some(text) = &windows.forecast.text {
                checkpoint::save_text_table(dir, &text.table).map_err(ModelError::Unfit)?;
            }
            input.observer.fitted(trendlab_models::FittedState {
                shared: serde_json::json!({ "checkpoint": file }),
                series: windows
                    .scalings
                    .iter()
                    .map(|(id, scaling)| (id.clone(), serde_json::json!({ "scaling": scaling })))
                    .collect(),
            });
            Some(file)
        }
        None => None,
    };
    input.observer.trained(TrainingLog {
        device: backend.describe(config.device),
        train_windows: windows.train.len(),
        validation_windows: windows.validation.len(),
        epochs: trained.epochs,
        best_epoch: trained.best_epoch,
        stopped_early: trained.stopped_early,
        checkpoint,
    });
    Ok(in_units(input, &windows, &predictions))
}

/// Forecasts from the checkpoint in the run files (a saved fit): the same
/// windows, read from this data, through the saved network.
fn from_checkpoint(
    input: &FoldInput<'_>,
    mut windows: FoldWindows,
    backend: &Backend,
) -> Result<Vec<SeriesOutcome>, ModelError> {
    let dir = input
        .context
        .files
        .artifacts
        .ok_or_else(|| ModelError::Unfit("no folder holds the saved network".into()))?;
    let (network, meta) = checkpoint::load(dir, backend.params_device()).map_err(ModelError::Unfit)?;
    if meta.step_inputs != windows.step_inputs || meta.horizon != input.horizon {
        return Err(ModelError::Unfit(format!(
            "the saved network in {} reads {:?} for {} steps; this data gives {:?} for {}",
            dir.display(),
            meta.step_inputs,
            meta.horizon,
            windows.step_inputs,
            input.horizon
        )));
    }
    if let Some(text) = &mut windows.forecast.text {
        text.table =
            std::sync::Arc::new(checkpoint::load_text_table(dir, text.table.len()).map_err(ModelError::Unfit)?);
    }
    let predictions = predict(&network, &meta.shape(), &windows.forecast, backend);
    Ok(in_units(input, &windows, &predictions))
}

/// The network's outputs per series, in the series' units.
fn in_units(input: &FoldInput<'_>, windows: &FoldWindows, predictions: &[f32]) -> Vec<SeriesOutcome> {
    let h = input.horizon;
    windows
        .series
        .iter()
        .cloned()
        .map(|series| {
            let (row, scaler) = series?;
            let level = windows.level[row];
            let mean: Vec<f64> = predictions[row * h..(row + 1) * h]
                .iter()
                .map(|v| scaler.invert(level + f64::from(*v)))
                .collect();
            Ok(SeriesForecast::from(mean))
        })
        .collect()
}
