//! `family = "deepar"` as a [`Forecaster`]: one network per fold trained on
//! every series' windows ([`super::train`]), then `samples` paths per
//! series ([`super::paths`]); the point forecast is their median or mean
//! per period (with mean feedback, the mean fed back), the intervals at the
//! evaluation's levels their quantiles.
//! The kept weights are saved in the run directory (`deepar.bpk`, with
//! `deepar.json` holding the network's sizes), and a saved fit (`forecast
//! --from`) samples from them without training.

use super::inputs::StepInputs;
use super::likelihood::Emission;
use super::paths::{Draws, SeriesPaths, quantile, sample_paths};
use super::train::train;
use crate::device::Backend;
use crate::kernel::Shape;
use crate::network::LstmNetwork;
use crate::window::data::{CovariateWidths, WindowData};
use burn::module::Module;
use ref_cast::RefCast;
use serde::{Deserialize, Serialize};
use std::path::Path;
use trendlab_models::{
    FittedState, FoldInput, Forecaster, Interval, ModelError, SeriesForecast, SeriesOutcome, TrainingLog,
};
use trendlab_spec::{DeeparConfig, PathPoint};

const WEIGHTS: &str = "deepar.bpk";
const META: &str = "deepar.json";

/// The DeepAR family: its configuration seen as a [`Forecaster`].
#[derive(Debug, RefCast)]
#[repr(transparent)]
pub struct Deepar(pub DeeparConfig);

/// What saved weights are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Saved {
    hidden: usize,
    layers: usize,
    outputs: usize,
    best_check: usize,
    /// Inputs per step (1: the value alone, saved before covariates).
    #[serde(default = "crate::window::one_output")]
    input: usize,
}

impl Deepar {
    fn emission(&self) -> Emission {
        Emission {
            likelihood: self.0.likelihood,
            tweedie_power: self.0.tweedie_power,
        }
    }

    /// The network's sizes: per period the scaled value, then the
    /// covariates `widths` (known-in-advance, static).
    pub fn shape(&self, widths: CovariateWidths) -> Shape {
        Shape {
            input: 1 + widths.futr + widths.stat,
            hidden: self.0.lstm_hidden,
            layers: self.0.lstm_layers,
            extra: 0,
            outputs: self.emission().outputs(),
            gate: 0,
        }
    }
}

impl Forecaster for Deepar {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        let config = &self.0;
        let emission = self.emission();
        let backend = Backend::for_device(config.device).map_err(ModelError::Unfit)?;
        if emission.non_negative() {
            check_non_negative(input, config)?;
        }
        // Windows of input_size + 1 periods (the recurrent shift, as
        // neuralforecast's), each targeting the period after it.
        let validation = Some(config.validation.unwrap_or(input.horizon));
        let mut data = WindowData::build_for(input, config.input_size + 1, 1, validation, config.scaler)?;
        if config.exogenous {
            data = data.with_covariates(input, false)?;
        }
        let shape = self.shape(data.widths);
        let network = if input.context.fitted.is_some() {
            let dir = input
                .context
                .files
                .artifacts
                .ok_or_else(|| ModelError::Unfit("no folder holds the saved network".into()))?;
            load(dir, &shape, backend.params_device()).map_err(ModelError::Unfit)?
        } else {
            let training = config.training();
            let checks = training.max_steps.div_ceil(training.val_check_steps);
            let trained = train(&data, &shape, &emission, &training, input.seed, &backend, |check| {
                input.observer.epoch(check, checks)
            })
            .map_err(|e| ModelError::Numerical(e.to_string()))?;
            let checkpoint = match input.context.files.artifacts {
                Some(dir) => {
                    let saved = Saved {
                        hidden: shape.hidden,
                        layers: shape.layers,
                        outputs: shape.outputs,
                        best_check: trained.best_check,
                        input: shape.input,
                    };
                    save(dir, &trained.network, &saved).map_err(ModelError::Unfit)?;
                    input.observer.fitted(FittedState {
                        shared: serde_json::json!({ "checkpoint": WEIGHTS }),
                        series: Default::default(),
                    });
                    Some(WEIGHTS.to_string())
                }
                None => None,
            };
            input.observer.trained(TrainingLog {
                device: backend.describe(config.device),
                train_windows: data.train_windows(),
                validation_windows: data.validation.len(),
                epochs: trained.checks,
                best_epoch: trained.best_check,
                stopped_early: trained.stopped_early,
                checkpoint,
            });
            trained.network
        };
        let batch = data.batch(&data.forecast_windows(), false);
        let paths = sample_paths(
            &shape,
            &network.to_flat(),
            &emission,
            StepInputs::of(&batch, data.widths),
            Draws {
                horizon: input.horizon,
                samples: config.samples,
                feedback: config.feedback,
                seed: input.seed,
            },
        );
        Ok(data
            .series
            .iter()
            .map(|usable| {
                let row = *usable.as_ref().map_err(Clone::clone)?;
                summarise(&paths[row], input.horizon, config.samples, config.point, input.levels)
            })
            .collect())
    }
}

/// Point forecasts and intervals of one series' draws `[horizon, samples]`
/// (the mean fed back is the point `mean` where there is one).
fn summarise(
    paths: &SeriesPaths,
    horizon: usize,
    samples: usize,
    point: PathPoint,
    levels: &[f64],
) -> Result<SeriesForecast, ModelError> {
    let fed = paths.means.iter().flatten();
    if paths.draws.iter().chain(fed).any(|v| !v.is_finite()) {
        return Err(ModelError::Numerical("a sample path is not finite".into()));
    }
    let sorted: Vec<Vec<f64>> = paths
        .draws
        .chunks_exact(samples)
        .take(horizon)
        .map(|draws| {
            let mut d = draws.to_vec();
            d.sort_by(f64::total_cmp);
            d
        })
        .collect();
    let mean: Vec<f64> = match (point, &paths.means) {
        (PathPoint::Mean, Some(means)) => means[..horizon].to_vec(),
        (PathPoint::Mean, None) => sorted.iter().map(|d| d.iter().sum::<f64>() / d.len() as f64).collect(),
        (PathPoint::Median, _) => sorted.iter().map(|d| quantile(d, 0.5)).collect(),
    };
    let mut forecast = SeriesForecast::from(mean);
    forecast.intervals = levels
        .iter()
        .map(|&level| {
            let tail = (1.0 - level / 100.0) / 2.0;
            Interval {
                level,
                lower: sorted.iter().map(|d| quantile(d, tail)).collect(),
                upper: sorted.iter().map(|d| quantile(d, 1.0 - tail)).collect(),
            }
        })
        .collect();
    Ok(forecast)
}

/// Counts and Tweedie need values at or above zero.
fn check_non_negative(input: &FoldInput<'_>, config: &DeeparConfig) -> Result<(), ModelError> {
    for s in &input.series {
        let train = &s.target[..s.train_len()];
        if let Some(t) = train.iter().position(|v| *v < 0.0) {
            return Err(ModelError::Unfit(format!(
                "likelihood {:?} needs values at or above zero; series `{}` has {} at {}",
                config.likelihood, s.id, train[t], s.dates[t]
            )));
        }
    }
    Ok(())
}

fn save(dir: &Path, network: &LstmNetwork, saved: &Saved) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| format!("cannot save the network in {}: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
    let json = serde_json::to_vec_pretty(saved).map_err(|e| fail(&e))?;
    std::fs::write(dir.join(META), json).map_err(|e| fail(&e))?;
    network.clone().save_file(dir.join(WEIGHTS)).map_err(|e| fail(&e))
}

fn load(dir: &Path, shape: &Shape, device: &burn::tensor::Device) -> Result<LstmNetwork, String> {
    let fail = |e: &dyn std::fmt::Display| format!("cannot load the saved network in {}: {e}", dir.display());
    let saved: Saved =
        serde_json::from_slice(&std::fs::read(dir.join(META)).map_err(|e| fail(&e))?).map_err(|e| fail(&e))?;
    let sizes = |input, layers, hidden, outputs| {
        format!("{input} inputs per step, {layers} layers of {hidden}, {outputs} outputs")
    };
    let ours = sizes(shape.input, shape.layers, shape.hidden, shape.outputs);
    let theirs = sizes(saved.input, saved.layers, saved.hidden, saved.outputs);
    if ours != theirs {
        return Err(format!(
            "the saved network in {} has {theirs}; this run needs {ours}",
            dir.display()
        ));
    }
    LstmNetwork::from_flat(shape, &vec![0.0; shape.len()], device)
        .try_load_file(dir.join(WEIGHTS))
        .map_err(|e| fail(&e))
}
