//! Fine-tuning a Chronos-Bolt model as its authors train it: the quantile
//! loss of the reference's `forward` with a target (twice the pinball loss
//! of every quantile on the context's scale, missing target values left
//! out, averaged over the quantiles, summed over the periods, averaged over
//! the windows), by AdamW (torch's defaults but the learning rate), on
//! burn's autodiff of [`BoltNetwork`]. Dropout stays off, so a step's
//! gradient depends on its windows alone.

use super::Bolt;
use super::network::{Batch, BoltNetwork};
use super::weights::BoltWeights;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};

/// One training window: a context and the values that followed it (NaN
/// where missing; at most the model's prediction length).
#[derive(Debug, Clone, Copy)]
pub struct Window<'a> {
    pub context: &'a [f32],
    pub target: &'a [f32],
}

/// How to fine-tune.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuning {
    pub steps: usize,
    pub lr: f64,
    pub weight_decay: f64,
}

/// What fine-tuning gives: the tuned weights and the loss before each step.
#[derive(Debug, Clone)]
pub struct Tuned {
    pub weights: BoltWeights,
    pub losses: Vec<f64>,
}

/// Fine-tunes `model` by `tuning.steps` AdamW steps, step `s` on the windows
/// `batch(s)`, on `device` (an autodiff device). A loss that is not finite
/// stops it with an error naming the step.
pub fn fine_tune<'a>(
    model: &Bolt,
    tuning: Tuning,
    mut batch: impl FnMut(usize) -> Vec<Window<'a>>,
    device: &Device,
) -> Result<Tuned, String> {
    let config = &model.config;
    let mut network = BoltNetwork::of(&model.weights, config, device);
    let mut optimizer = AdamWConfig::new()
        .with_beta_1(0.9)
        .with_beta_2(0.999)
        .with_epsilon(1e-8)
        .with_weight_decay(tuning.weight_decay as f32)
        .init();
    let mut losses = Vec::with_capacity(tuning.steps);
    for step in 0..tuning.steps {
        let windows = batch(step);
        let loss = loss(&network, model, &windows, device);
        let value = f64::from(loss.clone().into_scalar::<f32>());
        if !value.is_finite() {
            return Err(format!("fine-tuning step {}: the loss is {value}", step + 1));
        }
        losses.push(value);
        let gradients = GradientsParams::from_grads(loss.backward(), &network);
        network = optimizer.step(tuning.lr, network, gradients);
    }
    let mut weights = network.weights(&model.weights);
    // The tensors a one-token decoder never reads get zero gradients, so
    // AdamW only decays them (as torch's does).
    let keep = 1.0 - (tuning.lr * tuning.weight_decay) as f32;
    for _ in 0..tuning.steps {
        for t in &mut weights.unused {
            t.values.iter_mut().for_each(|v| *v *= keep);
        }
    }
    Ok(Tuned { weights, losses })
}

/// The reference's training loss of `windows` (a scalar tensor).
pub fn loss(network: &BoltNetwork, model: &Bolt, windows: &[Window<'_>], device: &Device) -> Tensor<1> {
    let config = &model.config;
    let c = config.chronos();
    let (series, quantiles, block) = (windows.len(), c.quantiles.len(), c.prediction_length);
    let prepared: Vec<_> = windows.iter().map(|w| model.prepare(w.context)).collect();
    let batch = Batch::of(&prepared, config, device);
    let (mut target, mut mask) = (vec![0.0f32; series * block], vec![0.0f32; series * block]);
    for (s, (w, p)) in windows.iter().zip(&prepared).enumerate() {
        for (t, &v) in w.target.iter().take(block).enumerate() {
            if !v.is_nan() {
                target[s * block + t] = (v - p.loc) / p.scale;
                mask[s * block + t] = 1.0;
            }
        }
    }
    let shape = [series, quantiles, block];
    let predicted = network.forward(&batch, config).reshape(shape);
    let along = |v: Vec<f32>| Tensor::<3>::from_data(TensorData::new(v, [series, 1, block]), device).expand(shape);
    let (target, mask) = (along(target), along(mask));
    let levels: Vec<f32> = c.quantiles.iter().map(|&q| q as f32).collect();
    let levels = Tensor::<3>::from_data(TensorData::new(levels, [1, quantiles, 1]), device).expand(shape);
    let above = target.clone().lower_equal(predicted.clone()).float();
    let pinball = ((target - predicted) * (above - levels)).abs().mul_scalar(2.0) * mask;
    pinball.mean_dim(1).sum_dim(2).mean()
}
