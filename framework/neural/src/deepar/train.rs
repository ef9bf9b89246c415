//! Training DeepAR by optimiser steps, as neuralforecast trains it: each
//! step samples `batch_size` series and `windows_batch_size` of their
//! windows; the LSTM reads each window's scaled values (teacher forcing:
//! the observed values, never its own draws) and its last output is the
//! distribution of the period after the window; one Adam step on the mean
//! negative log-likelihood of those periods' values, the learning rate
//! halved `lr_decays` times. Every `val_check_steps` steps the validation
//! windows are scored the same way; after `patience` checks without
//! improvement training stops and the best check's weights are kept.
//!
//! Gradients come from the LSTM kernel on the CPU ([`crate::kernel`], with
//! the likelihood's gradient fed into its backward pass; rows in fixed
//! shards, so the sums do not depend on the thread count) and from burn's
//! autodiff elsewhere (the same likelihood gradient, applied to the
//! network's outputs).

use super::inputs::StepInputs;
use super::likelihood::Emission;
use crate::device::Backend;
use crate::kernel::{self, Dropout, Shape, Workspace, infer};
use crate::network::LstmNetwork;
use crate::rng::derive;
use crate::train::{SHARD_ROWS, flat_to_grads};
use crate::window::data::{Batch, WindowData};
use crate::window::train::{Checks, StepError, sample};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use rayon::prelude::*;
use trendlab_models::EpochLoss;
use trendlab_spec::WindowTraining;

/// A trained DeepAR network and how training went.
pub type Trained = crate::window::train::Trained<LstmNetwork>;

/// Trains a network of `shape` on `data` (windows of `input_size + 1`
/// periods, each targeting the next one).
pub fn train(
    data: &WindowData,
    shape: &Shape,
    emission: &Emission,
    config: &WindowTraining,
    seed: u64,
    backend: &Backend,
    mut on_check: impl FnMut(&EpochLoss),
) -> Result<Trained, StepError> {
    let mut network = LstmNetwork::from_flat(
        shape,
        &LstmNetwork::init_flat(shape, derive(seed, &[0])),
        backend.params_device(),
    );
    let mut optimizer = AdamConfig::new().init();
    let validation = (!data.validation.is_empty()).then(|| data.batch(&data.validation, true));
    let mut shards: Vec<Shard> = Vec::new();
    let mut checks = Checks::new(config);
    for step in 1..=config.max_steps {
        let windows = sample(data, config, derive(seed, &[1, step as u64]));
        let batch = data.batch(&windows, true);
        let dropout = Dropout {
            rate: config.dropout as f32,
            seed: derive(seed, &[2, step as u64]),
        };
        let inputs = StepInputs::of(&batch, data.widths);
        let (value, grads) = match backend {
            Backend::Kernel => kernel_gradients(&network, shape, emission, inputs, dropout, &mut shards),
            Backend::Burn(device) => autodiff_gradients(&network, shape, emission, inputs, dropout, device),
        };
        checks.step(step, value)?;
        network = optimizer.step(checks.lr(step), network, grads);
        if !checks.due(step) {
            continue;
        }
        let validation_loss = validation
            .as_ref()
            .map(|v| mean_nll(&network, shape, emission, StepInputs::of(v, data.widths), backend));
        if checks.check(step, validation_loss, || network.clone(), &mut on_check)? {
            break;
        }
    }
    Ok(checks.finish(network))
}

/// A window's target in the series' units.
fn target(batch: &Batch, row: usize) -> f64 {
    let (shift, scale) = batch.scales[row];
    f64::from(batch.y[row]) * f64::from(scale) + f64::from(shift)
}

/// One worker's share of a batch on the CPU.
#[derive(Default)]
struct Shard {
    x: Vec<f32>,
    workspace: Workspace,
    grads: Vec<f32>,
    nll: f64,
}

/// The mean negative log-likelihood of a batch and its gradients, by the
/// CPU kernel in fixed shards of rows.
fn kernel_gradients(
    network: &LstmNetwork,
    shape: &Shape,
    emission: &Emission,
    inputs: StepInputs<'_>,
    dropout: Dropout,
    shards: &mut Vec<Shard>,
) -> (f64, GradientsParams) {
    let params = network.to_flat();
    let batch = inputs.batch;
    let rows = batch.rows;
    let steps = inputs.steps;
    let pieces: Vec<std::ops::Range<usize>> = (0..rows)
        .step_by(SHARD_ROWS)
        .map(|s| s..(s + SHARD_ROWS).min(rows))
        .collect();
    shards.resize_with(shards.len().max(pieces.len()), Shard::default);
    let weight = 1.0 / rows.max(1) as f64;
    let p = shape.outputs;
    shards
        .par_iter_mut()
        .zip(&pieces)
        .enumerate()
        .with_max_len(1)
        .for_each(|(k, (shard, piece))| {
            let n = piece.len();
            // Time-major `[steps, n, input]`, as the kernel's training pass reads.
            inputs.time_major(piece.clone(), &mut shard.x);
            shard.grads.clear();
            shard.grads.resize(shape.len(), 0.0);
            let loss = |yhat: &[f32], dy: &mut [f32]| -> f64 {
                dy.fill(0.0);
                piece
                    .clone()
                    .enumerate()
                    .map(|(b, r)| {
                        let (shift, scale) = batch.scales[r];
                        let at = b * p..(b + 1) * p;
                        emission.nll(&yhat[at.clone()], shift, scale, target(batch, r), weight, &mut dy[at])
                    })
                    .sum()
            };
            let kbatch = kernel::Batch {
                rows: n,
                steps,
                x: &shard.x,
                extra: &[],
                y: &[],
                gate: &[],
            };
            let dropout = Dropout {
                seed: derive(dropout.seed, &[k as u64]),
                ..dropout
            };
            shard.nll = kernel::train_step_with(
                shape,
                &params,
                &kbatch,
                &mut shard.workspace,
                Some(dropout),
                &loss,
                &mut shard.grads,
            );
        });
    let mut total = std::mem::take(&mut shards[0].grads);
    let mut nll = shards[0].nll;
    for shard in &shards[1..pieces.len()] {
        total.iter_mut().zip(&shard.grads).for_each(|(t, g)| *t += g);
        nll += shard.nll;
    }
    (nll * weight, flat_to_grads(network, shape, &total))
}

/// The same by burn's autodiff on `device`: the likelihood's gradient with
/// respect to the outputs, computed on the host, backpropagated through
/// the network as the gradient of `Σ outputs ⊙ that gradient`.
fn autodiff_gradients(
    network: &LstmNetwork,
    shape: &Shape,
    emission: &Emission,
    inputs: StepInputs<'_>,
    dropout: Dropout,
    device: &Device,
) -> (f64, GradientsParams) {
    let batch = inputs.batch;
    let rows = batch.rows;
    let p = shape.outputs;
    let outputs = forward_burn(network, inputs, 0..rows, Some(dropout), device);
    let raw = outputs.clone().into_data().try_to_vec::<f32>().expect("float outputs");
    let mut dy = vec![0.0f32; rows * p];
    let weight = 1.0 / rows.max(1) as f64;
    let nll: f64 = (0..rows)
        .map(|r| {
            let (shift, scale) = batch.scales[r];
            let at = r * p..(r + 1) * p;
            emission.nll(&raw[at.clone()], shift, scale, target(batch, r), weight, &mut dy[at])
        })
        .sum();
    let dy = Tensor::from_data(TensorData::new(dy, [rows, p]), device);
    let surrogate = (outputs * dy).sum();
    let grads = GradientsParams::from_grads(surrogate.backward(), network);
    (nll * weight, grads)
}

/// The network's raw outputs for rows `rows` of a batch, by burn.
fn forward_burn(
    network: &LstmNetwork,
    inputs: StepInputs<'_>,
    rows: std::ops::Range<usize>,
    dropout: Option<Dropout>,
    device: &Device,
) -> Tensor<2> {
    let n = rows.len();
    let mut x = Vec::new();
    inputs.time_major(rows, &mut x);
    let x = Tensor::from_data(TensorData::new(x, [inputs.steps, n, inputs.width()]), device);
    let empty = || Tensor::from_data(TensorData::new(Vec::<f32>::new(), [n, 0]), device);
    network.forward(x, empty(), empty(), dropout)
}

/// The raw outputs `[rows, outputs]` of a batch's windows, without dropout.
pub fn outputs(network: &LstmNetwork, shape: &Shape, inputs: StepInputs<'_>, backend: &Backend) -> Vec<f32> {
    let rows = inputs.batch.rows;
    let steps = inputs.steps;
    match backend {
        Backend::Kernel => {
            let params = network.to_flat();
            let starts: Vec<usize> = (0..rows).step_by(256).collect();
            starts
                .par_iter()
                .map(|&s| {
                    let n = 256.min(rows - s);
                    let x = inputs.row_major(s..s + n);
                    let windows = infer::Windows {
                        rows: n,
                        steps,
                        x: &x,
                        extra: &[],
                        gate: &[],
                    };
                    infer::predict(shape, &params, &windows)
                })
                .collect::<Vec<_>>()
                .concat()
        }
        Backend::Burn(device) => (0..rows)
            .step_by(1024)
            .flat_map(|s| {
                let out = forward_burn(network, inputs, s..(s + 1024).min(rows), None, device);
                out.into_data().try_to_vec::<f32>().expect("float outputs")
            })
            .collect(),
    }
}

/// The mean negative log-likelihood of a batch's targets.
fn mean_nll(
    network: &LstmNetwork,
    shape: &Shape,
    emission: &Emission,
    inputs: StepInputs<'_>,
    backend: &Backend,
) -> f64 {
    let batch = inputs.batch;
    let raw = outputs(network, shape, inputs, backend);
    let p = shape.outputs;
    let mut scratch = vec![0.0f32; p];
    let sum: f64 = (0..batch.rows)
        .map(|r| {
            let (shift, scale) = batch.scales[r];
            emission.nll(
                &raw[r * p..(r + 1) * p],
                shift,
                scale,
                target(batch, r),
                0.0,
                &mut scratch,
            )
        })
        .sum();
    sum / batch.rows.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use crate::train::tests::{assert_close, flat_grads};
    use crate::window::data::{Batch, CovariateWidths};
    use trendlab_spec::Likelihood;

    fn random_batch(rows: usize, steps: usize, seed: u64) -> Batch {
        let mut rng = SplitMix64::new(seed);
        let mut f = || rng.next_f32();
        let x = (0..rows * steps).map(|_| f() * 2.0 - 1.0).collect();
        let y = (0..rows).map(|_| f() * 3.0).collect();
        let scales = (0..rows).map(|_| (f(), 0.5 + f())).collect();
        // Two known-in-advance covariates over the window and 3 periods after it, one static.
        let futr_periods = steps + 3;
        let futr = (0..rows * futr_periods * 2).map(|_| f() - 0.5).collect();
        let stat = (0..rows).map(|_| f()).collect();
        Batch {
            rows,
            x,
            mask: vec![1.0; rows * steps],
            y,
            scales,
            futr,
            futr_periods,
            stat,
            hist: Vec::new(),
        }
    }

    /// The kernel and burn's autodiff (on every test device: `flex`, and
    /// LibTorch's CPU in a `tch` build) give the same likelihood and
    /// gradients, over more rows than one shard, for every likelihood, with
    /// and without covariates.
    #[test]
    fn kernel_gradients_equal_burn_autodiff() {
        for (name, device) in crate::device::burn_test_devices() {
            kernel_gradients_equal_autodiff_on(name, &device);
        }
    }

    fn kernel_gradients_equal_autodiff_on(name: &str, device: &burn::tensor::Device) {
        let batch = random_batch(150, 6, 3);
        let with = CovariateWidths {
            futr: 2,
            hist: 0,
            stat: 1,
        };
        for (likelihood, widths) in [
            (Likelihood::Normal, CovariateWidths::default()),
            (Likelihood::StudentT, CovariateWidths::default()),
            (Likelihood::NegativeBinomial, CovariateWidths::default()),
            (Likelihood::Tweedie, CovariateWidths::default()),
            (Likelihood::Normal, with),
            (Likelihood::NegativeBinomial, with),
        ] {
            let inputs = StepInputs::of(&batch, widths);
            let emission = Emission {
                likelihood,
                tweedie_power: 1.5,
            };
            let shape = Shape {
                input: inputs.width(),
                hidden: 6,
                layers: 2,
                extra: 0,
                outputs: emission.outputs(),
                gate: 0,
            };
            let flat = LstmNetwork::init_flat(&shape, 5);
            let none = Dropout { rate: 0.0, seed: 1 };
            let cpu = LstmNetwork::from_flat(&shape, &flat, Backend::Kernel.params_device());
            let (loss, grads) = kernel_gradients(&cpu, &shape, &emission, inputs, none, &mut Vec::new());
            let net = LstmNetwork::from_flat(&shape, &flat, device);
            let (auto_loss, auto_grads) = autodiff_gradients(&net, &shape, &emission, inputs, none, device);
            assert!(
                (loss - auto_loss).abs() < 1e-5 * auto_loss.abs().max(1.0),
                "{name} {likelihood:?}: loss {loss} vs {auto_loss}"
            );
            assert_close(
                &flat_grads(&cpu, &grads),
                &flat_grads(&net, &auto_grads),
                &format!("{name} {likelihood:?}"),
            );
        }
    }
}
