//! Training a window network ([`super::WindowNetwork`]) by optimiser steps, as neuralforecast does:
//! each step samples `batch_size` series and `windows_batch_size` of their
//! training windows, takes one Adam step on the loss (in scaled units), and
//! halves the learning rate `lr_decays` times, evenly over `max_steps`.
//! Every `val_check_steps` steps the validation windows are scored; after
//! `patience` checks without improvement training stops, and the best
//! check's weights are kept. Gradients come from burn's autodiff on the
//! backend's device (the CPU's `flex` by default).
//!
//! Every random draw derives from the seed and the step, so a run's
//! numbers do not depend on the thread count.

use super::WindowNetwork;
use super::data::{Batch, WindowData};
use super::layers::Dropout;
use crate::rng::{SplitMix64, derive};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use std::time::Instant;
use trendlab_models::EpochLoss;
use trendlab_spec::{PointLoss, WindowTraining};

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
}

/// Why training failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StepError {
    #[error("training diverged: the loss became {loss} at step {step} (try a smaller lr or another scaler)")]
    Diverged { step: usize, loss: f64 },
}

/// Trains a network of `shape` on `data` as `config` says.
pub fn train<N: WindowNetwork>(
    data: &WindowData,
    shape: &N::Shape,
    config: &WindowTraining,
    seed: u64,
    device: &Device,
    mut on_check: impl FnMut(&EpochLoss),
) -> Result<Trained<N>, StepError> {
    let mut network = N::init(shape, derive(seed, &[0]), device);
    let mut optimizer = AdamConfig::new().init();
    let validation = (!data.validation.is_empty()).then(|| data.batch(&data.validation, true));
    let mut checks = Checks::new(config);
    for step in 1..=config.max_steps {
        let windows = sample(data, config, derive(seed, &[1, step as u64]));
        let batch = data.batch(&windows, true);
        let (x, mask, y) = tensors(&batch, data, device);
        let dropout = Dropout {
            rate: config.dropout as f32,
            seed: derive(seed, &[2, step as u64]),
        };
        let prediction = network.forward_windows(shape, x, mask, Some(dropout));
        let loss = point_loss(prediction, y, config.loss);
        checks.step(step, f64::from(loss.clone().into_scalar::<f32>()))?;
        let grads = GradientsParams::from_grads(loss.backward(), &network);
        network = optimizer.step(checks.lr(step), network, grads);
        if !checks.due(step) {
            continue;
        }
        let validation_loss = validation.as_ref().map(|v| score(&network, shape, v, config.loss));
        // The kept form is the inference one: a copy that later steps cannot
        // touch (a plain clone shares the batch norms' running statistics).
        if checks.check(step, validation_loss, || network.valid(), &mut on_check)? {
            break;
        }
    }
    Ok(checks.finish(network))
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

fn tensors(batch: &Batch, data: &WindowData, device: &Device) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
    let (l, h) = (data.input_size, data.horizon);
    let rows = batch.rows;
    (
        Tensor::from_data(TensorData::new(batch.x.clone(), [rows, l]), device),
        Tensor::from_data(TensorData::new(batch.mask.clone(), [rows, l]), device),
        Tensor::from_data(TensorData::new(batch.y.clone(), [rows, h]), device),
    )
}

fn point_loss(prediction: Tensor<2>, y: Tensor<2>, loss: PointLoss) -> Tensor<1> {
    let error = prediction - y;
    match loss {
        PointLoss::Mae => error.abs().mean(),
        PointLoss::Mse => error.powi_scalar(2).mean(),
    }
}

/// The loss of `network` on a batch, without dropout.
fn score<N: WindowNetwork>(network: &N, shape: &N::Shape, batch: &Batch, loss: PointLoss) -> f64 {
    let prediction = predict_scaled(network, shape, batch);
    let sum: f64 = prediction
        .iter()
        .zip(&batch.y)
        .map(|(p, y)| {
            let e = f64::from(p - y);
            match loss {
                PointLoss::Mae => e.abs(),
                PointLoss::Mse => e * e,
            }
        })
        .sum();
    sum / batch.y.len().max(1) as f64
}

/// The network's outputs `[rows, horizon]` for a batch, in scaled units:
/// its inference form (no autodiff; batch norms read their running
/// statistics).
pub fn predict_scaled<N: WindowNetwork>(network: &N, shape: &N::Shape, batch: &Batch) -> Vec<f32> {
    let network = network.valid();
    let device = network
        .devices()
        .into_iter()
        .next()
        .expect("the network has parameters");
    let device = &device;
    let l = batch.x.len() / batch.rows.max(1);
    let mut out = Vec::with_capacity(batch.y.len());
    for start in (0..batch.rows).step_by(PREDICT_ROWS) {
        let rows = PREDICT_ROWS.min(batch.rows - start);
        let x = Tensor::from_data(
            TensorData::new(batch.x[start * l..(start + rows) * l].to_vec(), [rows, l]),
            device,
        );
        let mask = Tensor::from_data(
            TensorData::new(batch.mask[start * l..(start + rows) * l].to_vec(), [rows, l]),
            device,
        );
        let y = network.forward_windows(shape, x, mask, None).into_data();
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
}
