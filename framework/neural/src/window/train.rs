//! Training a window network ([`super::WindowNetwork`]) by optimiser steps, as neuralforecast does:
//! each step samples `batch_size` series and `windows_batch_size` of their
//! training windows, takes one Adam step on the loss (in scaled units), and
//! halves the learning rate `lr_decays` times, evenly over `max_steps`.
//! Every `val_check_steps` steps the validation windows are scored; after
//! `patience` checks without improvement training stops, and the best
//! check's weights are kept. Gradients come from the network's host path
//! on the CPU when it has one (PatchTST), else from burn's autodiff on the
//! backend's device (the CPU's `flex` by default).
//!
//! Every random draw derives from the seed and the step, so a run's
//! numbers do not depend on the thread count.

use super::data::{Batch, CovariateWidths, WindowData};
use super::layers::Dropout;
use super::{Inputs, Outputs, WindowNetwork};
use crate::device::Backend;
use crate::rng::{SplitMix64, derive};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData, activation};
use std::time::Instant;
use trendlab_models::EpochLoss;
use trendlab_spec::{WindowLoss, WindowTraining};

/// Windows scored per piece of inference.
const PREDICT_ROWS: usize = 1024;

/// A trained network and how training went (a check is an "epoch").
#[derive(Debug)]
pub struct Trained<N> {
    pub network: N,
    pub checks: Vec<EpochLoss>,
    /// The check whose weights were kept (1-based).
    pub best_check: usize,
    pub stopped_early: bool,
    /// Whether the steps ran on the network's host path.
    pub host_steps: bool,
}

/// Why training failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StepError {
    #[error("training diverged: the loss became {loss} at step {step} (try a smaller lr or another scaler)")]
    Diverged { step: usize, loss: f64 },
}

/// Trains a network of `shape` on `data` as `config` says, its
/// `outputs` by the loss, on `backend`: on the CPU by the network's host
/// path when it has one, else by burn's autodiff.
pub fn train<N: WindowNetwork>(
    data: &WindowData,
    shape: &N::Shape,
    config: &WindowTraining,
    outputs: &Outputs,
    seed: u64,
    backend: &Backend,
    mut on_check: impl FnMut(&EpochLoss),
) -> Result<Trained<N>, StepError> {
    let device = backend.params_device();
    let mut network = N::init(shape, derive(seed, &[0]), device);
    let mut optimizer = AdamConfig::new().init();
    let validation = (!data.validation.is_empty()).then(|| data.batch(&data.validation, true));
    let mut checks = Checks::new(config);
    let mut host_steps = false;
    for step in 1..=config.max_steps {
        let (batch, dropout) = step_batch(data, config, (seed, step));
        let host = match backend {
            Backend::Kernel => network.host_step(shape, &batch, dropout, (config, outputs)),
            Backend::Burn(_) => None,
        };
        host_steps = host.is_some();
        let (loss, grads) = match host {
            Some(step) => step,
            None => {
                let loss = burn_loss(&network, shape, data, &batch, dropout, (config, outputs), device);
                let value = f64::from(loss.clone().into_scalar::<f32>());
                (value, GradientsParams::from_grads(loss.backward(), &network))
            }
        };
        checks.step(step, loss)?;
        network = optimizer.step(checks.lr(step), network, grads);
        if !checks.due(step) {
            continue;
        }
        let validation_loss = validation
            .as_ref()
            .map(|v| score(&network, shape, data.widths, v, config, outputs));
        // The kept form is the inference one: a copy that later steps cannot
        // touch (a plain clone shares the batch norms' running statistics).
        if checks.check(step, validation_loss, || network.valid(), &mut on_check)? {
            break;
        }
    }
    let mut trained = checks.finish(network);
    trained.host_steps = host_steps;
    Ok(trained)
}

/// The windows of optimiser step `step` of a run seeded by `seed`, and
/// the step's dropout masks' seed.
pub(crate) fn step_batch(data: &WindowData, config: &WindowTraining, (seed, step): (u64, usize)) -> (Batch, Dropout) {
    let windows = sample(data, config, derive(seed, &[1, step as u64]));
    let dropout = Dropout {
        rate: config.dropout as f32,
        seed: derive(seed, &[2, step as u64]),
    };
    (data.batch(&windows, true), dropout)
}

/// The training loss of a step's `batch` through the network by burn, on
/// `device`.
pub(crate) fn burn_loss<N: WindowNetwork>(
    network: &N,
    shape: &N::Shape,
    data: &WindowData,
    batch: &Batch,
    dropout: Dropout,
    (config, outputs): (&WindowTraining, &Outputs),
    device: &Device,
) -> Tensor<1> {
    let inputs = inputs(batch, 0..batch.rows, data.widths, device);
    let y = Tensor::from_data(TensorData::new(batch.y.clone(), [batch.rows, data.horizon]), device);
    window_loss(
        network.forward_windows(shape, inputs, Some(dropout)),
        y,
        config,
        outputs,
    )
}

/// The bookkeeping of the checks every `val_check_steps` steps: the
/// learning rate's decays, the mean training loss since the last check, the
/// best validation loss with the weights kept at it, early stopping.
pub(crate) struct Checks<N> {
    config: WindowTraining,
    decay_every: usize,
    records: Vec<EpochLoss>,
    best: Option<(f64, usize, N)>,
    since_best: usize,
    stopped_early: bool,
    loss_sum: f64,
    losses: usize,
    started: Instant,
}

impl<N> Checks<N> {
    pub(crate) fn new(config: &WindowTraining) -> Self {
        Checks {
            config: config.clone(),
            decay_every: match config.lr_decays {
                0 => usize::MAX,
                d => (config.max_steps / d).max(1),
            },
            records: Vec::new(),
            best: None,
            since_best: 0,
            stopped_early: false,
            loss_sum: 0.0,
            losses: 0,
            started: Instant::now(),
        }
    }

    /// The learning rate of `step` (1-based): halved `lr_decays` times,
    /// evenly over the steps.
    pub(crate) fn lr(&self, step: usize) -> f64 {
        self.config.lr * 0.5f64.powi(((step - 1) / self.decay_every) as i32)
    }

    /// Records a step's training loss; a non-finite one is an error.
    pub(crate) fn step(&mut self, step: usize, loss: f64) -> Result<(), StepError> {
        if !loss.is_finite() {
            return Err(StepError::Diverged { step, loss });
        }
        self.loss_sum += loss;
        self.losses += 1;
        Ok(())
    }

    /// Whether `step` ends a check.
    pub(crate) fn due(&self, step: usize) -> bool {
        step.is_multiple_of(self.config.val_check_steps) || step == self.config.max_steps
    }

    /// Records a check with its validation loss, keeping `keep()` when it
    /// is the best so far; returns whether training stops early.
    pub(crate) fn check(
        &mut self,
        step: usize,
        validation: Option<f64>,
        keep: impl FnOnce() -> N,
        on_check: &mut impl FnMut(&EpochLoss),
    ) -> Result<bool, StepError> {
        let check = self.records.len() + 1;
        let record = EpochLoss {
            epoch: check,
            train: self.loss_sum / self.losses.max(1) as f64,
            validation,
            seconds: self.started.elapsed().as_secs_f64(),
        };
        on_check(&record);
        self.records.push(record);
        (self.loss_sum, self.losses, self.started) = (0.0, 0, Instant::now());
        let Some(v) = validation else { return Ok(false) };
        if !v.is_finite() {
            return Err(StepError::Diverged { step, loss: v });
        }
        if self
            .best
            .as_ref()
            .is_none_or(|(b, ..)| v < b - (1e-4 * b.abs()).max(1e-7))
        {
            self.best = Some((v, check, keep()));
            self.since_best = 0;
            return Ok(false);
        }
        self.since_best += 1;
        if self.config.patience > 0 && self.since_best >= self.config.patience {
            self.stopped_early = check < self.config.max_steps.div_ceil(self.config.val_check_steps);
            return Ok(true);
        }
        Ok(false)
    }

    /// The kept network (the best check's, else the `last`) and the record.
    pub(crate) fn finish(self, last: N) -> Trained<N> {
        let count = self.records.len();
        let (network, best_check) = match self.best {
            Some((_, check, kept)) => (kept, check),
            None => (last, count),
        };
        Trained {
            network,
            checks: self.records,
            best_check,
            stopped_early: self.stopped_early,
            host_steps: false,
        }
    }
}

/// One step's windows: `batch_size` series drawn without replacement among
/// those with training windows, then `windows_batch_size` of their windows
/// without replacement (all of them when they are fewer).
pub(crate) fn sample(data: &WindowData, config: &WindowTraining, seed: u64) -> Vec<(u32, u32)> {
    let mut rng = SplitMix64::new(seed);
    let mut series: Vec<usize> = (0..data.usable()).filter(|&s| !data.train[s].is_empty()).collect();
    let take = config.batch_size.min(series.len());
    partial_shuffle(&mut series, take, &mut rng);
    let mut windows: Vec<(u32, u32)> = series[..take].iter().flat_map(|&s| data.train_of(s)).collect();
    let take = config.windows_batch_size.min(windows.len());
    partial_shuffle(&mut windows, take, &mut rng);
    windows.truncate(take);
    windows
}

/// Puts a uniform draw without replacement of `take` items first.
fn partial_shuffle<T>(items: &mut [T], take: usize, rng: &mut SplitMix64) {
    for i in 0..take {
        let j = i + rng.below(items.len() - i);
        items.swap(i, j);
    }
}

/// Rows `rows` of a batch as a network's inputs.
fn inputs(batch: &Batch, rows: std::ops::Range<usize>, widths: CovariateWidths, device: &Device) -> Inputs {
    let count = rows.len();
    let l = batch.x.len() / batch.rows.max(1);
    let matrix = |values: &[f32], width: usize| {
        Tensor::from_data(
            TensorData::new(values[rows.start * width..rows.end * width].to_vec(), [count, width]),
            device,
        )
    };
    let channels = |values: &[f32], periods: usize, width: usize| {
        (width > 0).then(|| {
            let per_row = periods * width;
            Tensor::from_data(
                TensorData::new(
                    values[rows.start * per_row..rows.end * per_row].to_vec(),
                    [count, periods, width],
                ),
                device,
            )
        })
    };
    Inputs {
        y: matrix(&batch.x, l),
        mask: matrix(&batch.mask, l),
        futr: channels(&batch.futr, batch.futr_periods, widths.futr),
        hist: channels(&batch.hist, l, widths.hist),
        stat: (widths.stat > 0).then(|| matrix(&batch.stat, widths.stat)),
    }
}

/// The quantile of each of a network's outputs `[1, outputs * horizon]`.
fn output_quantiles(quantiles: &[f64], horizon: usize) -> Vec<f32> {
    quantiles
        .iter()
        .flat_map(|q| std::iter::repeat_n(*q as f32, horizon))
        .collect()
}

/// The training loss of `prediction` (`[rows, outputs * horizon]`) for
/// targets `y` (`[rows, horizon]`): the point loss, or the mean pinball
/// loss over the quantiles (neuralforecast's `MQLoss`).
fn window_loss(prediction: Tensor<2>, y: Tensor<2>, config: &WindowTraining, outputs: &Outputs) -> Tensor<1> {
    match outputs {
        Outputs::Point => {
            let error = prediction - y;
            match config.loss {
                WindowLoss::Mse => error.powi_scalar(2).mean(),
                WindowLoss::Mae | WindowLoss::Quantile => error.abs().mean(),
            }
        }
        Outputs::Quantiles(quantiles) => {
            let [_, horizon] = y.dims();
            let q: Tensor<2> = Tensor::from_data(
                TensorData::new(output_quantiles(quantiles, horizon), [1, quantiles.len() * horizon]),
                &y.device(),
            );
            // Over targets repeated once per quantile: q·(y − ŷ)⁺ + (1 − q)·(ŷ − y)⁺.
            let under = y.repeat_dim(1, quantiles.len()) - prediction;
            let pinball = activation::relu(under.clone()) * q.clone() + activation::relu(-under) * (-q + 1.0);
            pinball.mean()
        }
    }
}

/// The loss of `network` on a batch, without dropout.
fn score<N: WindowNetwork>(
    network: &N,
    shape: &N::Shape,
    widths: CovariateWidths,
    batch: &Batch,
    config: &WindowTraining,
    outputs: &Outputs,
) -> f64 {
    let prediction = predict_scaled(network, shape, widths, batch);
    let horizon = batch.y.len() / batch.rows.max(1);
    super::loss::window_loss(&prediction, &batch.y, horizon, (config, outputs), None)
}

/// The network's outputs `[rows, outputs * horizon]` for a batch, in
/// scaled units: its inference form (no autodiff; batch norms read their
/// running statistics).
pub fn predict_scaled<N: WindowNetwork>(
    network: &N,
    shape: &N::Shape,
    widths: CovariateWidths,
    batch: &Batch,
) -> Vec<f32> {
    let network = network.valid();
    let device = network
        .devices()
        .into_iter()
        .next()
        .expect("the network has parameters");
    let device = &device;
    let mut out = Vec::with_capacity(batch.y.len() * N::outputs(shape));
    for start in (0..batch.rows).step_by(PREDICT_ROWS) {
        let rows = start..PREDICT_ROWS.min(batch.rows - start) + start;
        let y = network
            .forward_windows(shape, inputs(batch, rows, widths, device), None)
            .into_data();
        out.extend(y.try_to_vec::<f32>().expect("float predictions"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_shuffle_draws_distinct_items() {
        let mut rng = SplitMix64::new(5);
        let mut v: Vec<usize> = (0..20).collect();
        partial_shuffle(&mut v, 6, &mut rng);
        let mut first: Vec<usize> = v[..6].to_vec();
        first.sort();
        first.dedup();
        assert_eq!(first.len(), 6);
        let mut all = v.clone();
        all.sort();
        assert_eq!(all, (0..20).collect::<Vec<_>>());
    }

    /// The loss and gradients (every parameter's, in the network's order) of
    /// the training loop's first step on `device`.
    #[cfg(feature = "tch")]
    fn one_step<N: WindowNetwork>(
        data: &WindowData,
        shape: &N::Shape,
        config: &WindowTraining,
        outputs: &Outputs,
        device: &Device,
    ) -> (f32, Vec<f32>) {
        use burn::module::{ModuleVisitor, Param};
        struct Collect<'a>(&'a GradientsParams, Vec<f32>);
        impl ModuleVisitor for Collect<'_> {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                if let Some(g) = self.0.get::<D>(param.id) {
                    self.1
                        .extend(g.into_data().try_to_vec::<f32>().expect("float gradients"));
                }
            }
        }
        let network = N::init(shape, 7, device);
        let (batch, dropout) = step_batch(data, config, (3, 1));
        let loss = burn_loss(&network, shape, data, &batch, dropout, (config, outputs), device);
        let value = loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(loss.backward(), &network);
        let mut collect = Collect(&grads, Vec::new());
        network.visit(&mut collect);
        (value, collect.1)
    }

    /// A training step of N-HiTS (quantile loss, dropout) and of PatchTST
    /// on LibTorch's CPU device: the same loss and gradients as on `flex`,
    /// the default backend, within 1e-4.
    #[cfg(feature = "tch")]
    #[test]
    fn one_step_on_libtorch_equals_flex() {
        use crate::nhits::network::{NhitsNetwork, NhitsShape};
        use crate::patchtst::network::{PatchtstNetwork, PatchtstShape};
        use crate::window::testing::{HORIZON as horizon, sine_windows};
        use trendlab_spec::{NhitsConfig, PatchtstConfig};
        let data = sine_windows(21);
        let nhits: NhitsConfig = serde_json::from_value(serde_json::json!({
            "input_size": 21, "mlp_units": [32, 32], "dropout": 0.2, "windows_batch_size": 64,
            "loss": "quantile", "quantiles": [0.1, 0.5, 0.9],
        }))
        .expect("an N-HiTS config");
        let patchtst: PatchtstConfig = serde_json::from_value(serde_json::json!({
            "input_size": 21, "patch_len": 7, "stride": 7, "d_model": 16, "heads": 2, "ff": 32, "layers": 2,
            "windows_batch_size": 64,
        }))
        .expect("a PatchTST config");
        let nhits_outputs = Outputs::of(&nhits.training(), &[80.0]);
        let nhits_shape = NhitsShape::of(&nhits, horizon, nhits_outputs.len(), data.widths);
        let patchtst_shape = PatchtstShape::of(&patchtst, horizon, 1);
        let devices = crate::device::burn_test_devices();
        assert_eq!(devices.len(), 2, "flex and LibTorch's CPU");
        let (_, flex) = &devices[0];
        for (name, device) in &devices[1..] {
            let cases = [
                (
                    "nhits",
                    one_step::<NhitsNetwork>(&data, &nhits_shape, &nhits.training(), &nhits_outputs, flex),
                    one_step::<NhitsNetwork>(&data, &nhits_shape, &nhits.training(), &nhits_outputs, device),
                ),
                (
                    "patchtst",
                    one_step::<PatchtstNetwork>(&data, &patchtst_shape, &patchtst.training(), &Outputs::Point, flex),
                    one_step::<PatchtstNetwork>(&data, &patchtst_shape, &patchtst.training(), &Outputs::Point, device),
                ),
            ];
            for (family, (loss, grads), (their_loss, their_grads)) in cases {
                eprintln!("{family}: loss {loss} on flex, {their_loss} on {name}");
                assert!(
                    (loss - their_loss).abs() < 1e-4 * loss.abs(),
                    "{family} on {name}: loss {their_loss}, flex {loss}"
                );
                crate::train::tests::assert_close(&grads, &their_grads, &format!("{family} on {name}"));
            }
        }
    }
}
