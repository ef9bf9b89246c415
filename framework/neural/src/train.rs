//! The training loop: shuffled mini-batches, burn's Adam, a validation pass
//! per epoch, early stopping on the validation loss and the best epoch's
//! weights kept. Gradients come from the CPU kernel ([`crate::kernel`]) on
//! the CPU and from burn's autodiff on other devices; everything else is
//! the same code.

use crate::device::Backend;
use crate::kernel::{self, Dropout, Shape, Workspace, infer};
use crate::network::LstmNetwork;
use crate::rng::{SplitMix64, derive};
use crate::samples::{Samples, ShardInput, TextInto};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Tensor, TensorData};
use rayon::prelude::*;
use std::sync::Arc;
use std::time::Instant;
use trendlab_models::EpochLoss;

/// Rows of a batch one worker takes at a time on the CPU. Fixed, so the
/// gradient sums (and so the numbers) do not depend on the thread count.
pub const SHARD_ROWS: usize = 64;

/// At most this many windows per piece of inference: large enough for
/// efficient products, small enough that a piece's states stay in cache.
const PREDICT_ROWS: usize = 512;

/// Rows per inference piece for `n` windows: at most [`PREDICT_ROWS`],
/// in a number of pieces that is a multiple of 4, so that 1, 2 or 4
/// threads finish together. It depends on `n` alone, never on the thread
/// count, so the numbers cannot either.
fn predict_piece_rows(n: usize) -> usize {
    let pieces = n.div_ceil(PREDICT_ROWS).next_multiple_of(4);
    n.div_ceil(pieces).max(1)
}

/// Hyperparameters of the loop.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    pub hidden: usize,
    pub layers: usize,
    pub dropout: f32,
    pub lr: f64,
    pub batch_size: usize,
    pub epochs: usize,
    /// Epochs without improvement before stopping; 0 never stops early.
    pub patience: usize,
    pub seed: u64,
}

/// A trained network and how training went.
#[derive(Debug)]
pub struct Trained {
    pub network: LstmNetwork,
    pub shape: Shape,
    pub epochs: Vec<EpochLoss>,
    /// The epoch whose weights were kept (1-based).
    pub best_epoch: usize,
    pub stopped_early: bool,
    /// The text table of the kept epoch, when a [`TextTuner`] changed it.
    pub text_table: Option<Arc<Vec<f32>>>,
}

/// Trains what produces the text vectors along with the network (the
/// encoder of BERT-fusion with `freeze = false`).
pub trait TextTuner {
    /// After a batch's step: `grads` holds the loss's gradient with respect
    /// to each row of the text table (`[rows, width]`, zero for rows the
    /// batch did not use). Updates and returns the table.
    fn step(&mut self, grads: &[f32]) -> Result<Vec<f32>, TrainError>;
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    #[error("training diverged: the loss became {loss} in epoch {epoch}, batch {batch} (try a smaller lr)")]
    Diverged { epoch: usize, batch: usize, loss: f64 },
    #[error("out of memory: {what} need {:.1} GiB", *bytes as f64 / (1u64 << 30) as f64)]
    OutOfMemory { what: String, bytes: usize },
    #[error("{0}")]
    Device(String),
}

/// Trains on `train`, validating on `validation` after every epoch (an
/// empty validation set trains every epoch and keeps the last). A `tuner`
/// updates the text table of both after every batch.
pub fn train(
    train: &mut Samples,
    validation: &mut Samples,
    config: &TrainConfig,
    backend: &Backend,
    mut tuner: Option<&mut dyn TextTuner>,
    mut on_epoch: impl FnMut(&EpochLoss),
) -> Result<Trained, TrainError> {
    let shape = train.shape(config.hidden, config.layers);
    check_memory(&shape, config.batch_size.min(train.len().max(1)), train.steps)?;
    let mut network = LstmNetwork::from_flat(
        &shape,
        &LstmNetwork::init_flat(&shape, derive(config.seed, &[0])),
        backend.params_device(),
    );
    let mut optimizer = AdamConfig::new().init();
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut shuffle = SplitMix64::new(derive(config.seed, &[1]));
    let mut shards: Vec<Shard> = Vec::new();
    let mut epochs = Vec::new();
    let mut best: Option<Kept> = None;
    let tuning = tuner.is_some() && train.text.is_some();
    let mut since_best = 0;
    let mut stopped_early = false;
    for epoch in 1..=config.epochs {
        let started = Instant::now();
        shuffle.shuffle(&mut order);
        let mut loss_sum = 0.0;
        let batches = order.chunks(config.batch_size);
        let batch_count = batches.len();
        for (b, rows) in batches.enumerate() {
            let dropout = Dropout {
                rate: config.dropout,
                seed: derive(config.seed, &[2, epoch as u64, b as u64]),
            };
            let (loss, grads, text_grads) = match backend {
                Backend::Kernel => kernel_gradients(&network, &shape, train, rows, dropout, tuning, &mut shards),
                Backend::Burn(device) => autodiff_gradients(&network, train, rows, dropout, tuning, device),
            };
            if !loss.is_finite() {
                return Err(TrainError::Diverged {
                    epoch,
                    batch: b + 1,
                    loss,
                });
            }
            loss_sum += loss;
            network = optimizer.step(config.lr, network, grads);
            if let (Some(tuner), true) = (tuner.as_deref_mut(), tuning) {
                let table = Arc::new(tuner.step(&text_grads)?);
                for samples in [&mut *train, &mut *validation] {
                    if let Some(text) = &mut samples.text {
                        text.table = table.clone();
                    }
                }
            }
        }
        let validation_loss =
            (!validation.is_empty()).then(|| mse(&predict(&network, &shape, validation, backend), &validation.y));
        let record = EpochLoss {
            epoch,
            train: loss_sum / batch_count.max(1) as f64,
            validation: validation_loss,
            seconds: started.elapsed().as_secs_f64(),
        };
        on_epoch(&record);
        epochs.push(record);
        let Some(v) = validation_loss else { continue };
        if !v.is_finite() {
            return Err(TrainError::Diverged {
                epoch,
                batch: batch_count,
                loss: v,
            });
        }
        if best.as_ref().is_none_or(|(b, ..)| improves(v, *b)) {
            let table = tuning.then(|| train.text.as_ref().map(|t| t.table.clone())).flatten();
            best = Some((v, epoch, network.clone(), table));
            since_best = 0;
        } else {
            since_best += 1;
            if config.patience > 0 && since_best >= config.patience {
                stopped_early = epoch < config.epochs;
                break;
            }
        }
    }
    let last = epochs.len();
    let (network, best_epoch, text_table) = match best {
        Some((_, epoch, kept, table)) => (kept, epoch, table),
        None => (
            network,
            last,
            tuning.then(|| train.text.as_ref().map(|t| t.table.clone())).flatten(),
        ),
    };
    Ok(Trained {
        network,
        shape,
        epochs,
        best_epoch,
        stopped_early,
        text_table,
    })
}

/// The best epoch so far: its validation loss, number, weights and (when
/// tuned) text table.
type Kept = (f64, usize, LstmNetwork, Option<Arc<Vec<f32>>>);

/// A validation loss counts as better when it beats the best by more than
/// a relative 1e-4 (and an absolute 1e-7, for targets fitted to noise level).
fn improves(loss: f64, best: f64) -> bool {
    loss < best - (1e-4 * best).max(1e-7)
}

fn mse(prediction: &[f32], y: &[f32]) -> f64 {
    let sum: f64 = prediction.iter().zip(y).map(|(p, y)| f64::from(p - y).powi(2)).sum();
    sum / y.len().max(1) as f64
}

/// Refuses a configuration whose parameters and per-shard buffers cannot
/// be allocated, instead of aborting the process.
fn check_memory(shape: &Shape, batch: usize, steps: usize) -> Result<(), TrainError> {
    let per_shard_rows = batch.min(SHARD_ROWS);
    let cached = steps.saturating_mul(per_shard_rows).saturating_mul(
        shape
            .layers
            .saturating_mul(9 * shape.hidden)
            .saturating_add(6 * shape.hidden + shape.input),
    );
    // Parameters, Adam's two moments, gradients per shard, and the caches.
    let shards = batch.div_ceil(SHARD_ROWS).max(1);
    let floats = shape
        .len()
        .saturating_mul(4 + shards)
        .saturating_add(cached.saturating_mul(shards));
    let bytes = floats.saturating_mul(4);
    let mut probe: Vec<u8> = Vec::new();
    probe.try_reserve_exact(bytes).map_err(|_| TrainError::OutOfMemory {
        what: format!(
            "an LSTM of {} layers × {} hidden units on batches of {batch} × {steps} steps",
            shape.layers, shape.hidden
        ),
        bytes,
    })
}

/// One worker's share of a batch on the CPU.
#[derive(Default)]
struct Shard {
    input: ShardInput,
    workspace: Workspace,
    grads: Vec<f32>,
    /// Gradient of each text table row (when tuning the text side).
    text_grads: Vec<f32>,
    sse: f64,
}

/// Loss and gradients of a batch by the CPU kernel, shards in parallel;
/// with `text`, also the gradient of each text table row.
fn kernel_gradients(
    network: &LstmNetwork,
    shape: &Shape,
    samples: &Samples,
    rows: &[usize],
    dropout: Dropout,
    text: bool,
    shards: &mut Vec<Shard>,
) -> (f64, GradientsParams, Vec<f32>) {
    let params = network.to_flat();
    let pieces: Vec<&[usize]> = rows.chunks(SHARD_ROWS).collect();
    shards.resize_with(shards.len().max(pieces.len()), Shard::default);
    let scale = 1.0 / (rows.len() * shape.outputs) as f32;
    shards
        .par_iter_mut()
        .zip(&pieces)
        .enumerate()
        .with_max_len(1)
        .for_each(|(k, (shard, piece))| {
            shard.grads.clear();
            shard.grads.resize(shape.len(), 0.0);
            let batch = shard.input.load(samples, piece);
            let dropout = Dropout {
                seed: derive(dropout.seed, &[k as u64]),
                ..dropout
            };
            shard.sse = kernel::train_step(
                shape,
                &params,
                &batch,
                &mut shard.workspace,
                Some(dropout),
                scale,
                &mut shard.grads,
            );
            if let Some(inputs) = samples.text.as_ref().filter(|_| text) {
                shard.text_grads.clear();
                shard.text_grads.resize(inputs.table.len(), 0.0);
                let w = inputs.width;
                let ws = &shard.workspace;
                for (b, &r) in piece.iter().enumerate() {
                    let d = match inputs.into {
                        TextInto::Head => &ws.d_extra[(b + 1) * shape.extra - w..(b + 1) * shape.extra],
                        TextInto::Gate => &ws.d_gate[b * w..(b + 1) * w],
                    };
                    let at = inputs.rows[r] as usize * w;
                    shard.text_grads[at..at + w]
                        .iter_mut()
                        .zip(d)
                        .for_each(|(t, d)| *t += d);
                }
            }
        });
    let mut total = std::mem::take(&mut shards[0].grads);
    let mut text_total = if text {
        std::mem::take(&mut shards[0].text_grads)
    } else {
        Vec::new()
    };
    let mut sse = shards[0].sse;
    for shard in &shards[1..pieces.len()] {
        total.iter_mut().zip(&shard.grads).for_each(|(t, g)| *t += g);
        text_total.iter_mut().zip(&shard.text_grads).for_each(|(t, g)| *t += g);
        sse += shard.sse;
    }
    let loss = sse / (rows.len() * shape.outputs) as f64;
    (loss, flat_to_grads(network, shape, &total), text_total)
}

/// The flat gradient as burn gradients of `network`'s parameters.
pub(crate) fn flat_to_grads(network: &LstmNetwork, shape: &Shape, flat: &[f32]) -> GradientsParams {
    let mut grads = GradientsParams::new();
    let device = network_device(network);
    let mut offset = 0;
    for ((id, _rank), dims) in network.param_ids().into_iter().zip(shape.tensor_shapes()) {
        let n: usize = dims.iter().product();
        let data = TensorData::new(flat[offset..offset + n].to_vec(), dims.clone());
        offset += n;
        match dims.len() {
            1 => grads.register::<1>(id, Tensor::from_data(data, &device)),
            _ => grads.register::<2>(id, Tensor::from_data(data, &device)),
        }
    }
    grads
}

fn network_device(network: &LstmNetwork) -> burn::tensor::Device {
    network
        .devices()
        .into_iter()
        .next()
        .expect("the network has parameters")
        .inner()
}

/// Loss and gradients of a batch by burn's autodiff on `device`; with
/// `text`, also the gradient of each text table row.
fn autodiff_gradients(
    network: &LstmNetwork,
    samples: &Samples,
    rows: &[usize],
    dropout: Dropout,
    text: bool,
    device: &burn::tensor::Device,
) -> (f64, GradientsParams, Vec<f32>) {
    let (x, extra, gate, y) = batch_tensors(samples, rows, device);
    let inputs = samples.text.as_ref().filter(|_| text);
    let (extra, gate) = match inputs.map(|t| t.into) {
        Some(TextInto::Head) => (extra.require_grad(), gate),
        Some(TextInto::Gate) => (extra, gate.require_grad()),
        None => (extra, gate),
    };
    let prediction = network.forward(x, extra.clone(), gate.clone(), Some(dropout));
    let loss = (prediction - y).powi_scalar(2).mean();
    let value = f64::from(loss.clone().into_scalar::<f32>());
    let gradients = loss.backward();
    let mut text_grads = Vec::new();
    if let Some(inputs) = inputs {
        let (tensor, width) = match inputs.into {
            TextInto::Head => (extra, samples.shape(0, 0).extra),
            TextInto::Gate => (gate, inputs.width),
        };
        let d = tensor
            .grad(&gradients)
            .map(|g| g.into_data().try_to_vec::<f32>().expect("float gradients"))
            .unwrap_or_default();
        let w = inputs.width;
        text_grads = vec![0.0; inputs.table.len()];
        for (b, &r) in rows.iter().enumerate() {
            let at = inputs.rows[r] as usize * w;
            let row = d.get((b + 1) * width - w..(b + 1) * width).unwrap_or(&[]);
            text_grads[at..at + w].iter_mut().zip(row).for_each(|(t, d)| *t += d);
        }
    }
    let grads = GradientsParams::from_grads(gradients, network);
    (value, grads, text_grads)
}

/// Windows `rows` as tensors: inputs, extra head inputs, gate inputs, targets.
fn batch_tensors(
    samples: &Samples,
    rows: &[usize],
    device: &burn::tensor::Device,
) -> (Tensor<3>, Tensor<2>, Tensor<2>, Tensor<2>) {
    let mut input = ShardInput::default();
    samples.gather(rows, &mut input);
    let b = rows.len();
    let shape = samples.shape(0, 0);
    (
        Tensor::from_data(TensorData::new(input.x, [samples.steps, b, samples.features]), device),
        Tensor::from_data(TensorData::new(input.extra, [b, shape.extra]), device),
        Tensor::from_data(TensorData::new(input.gate, [b, shape.gate]), device),
        Tensor::from_data(TensorData::new(input.y, [b, samples.outputs]), device),
    )
}

/// Predictions `[n, outputs]` for every window of `samples`.
pub fn predict(network: &LstmNetwork, shape: &Shape, samples: &Samples, backend: &Backend) -> Vec<f32> {
    let rows: Vec<usize> = (0..samples.len()).collect();
    match backend {
        Backend::Kernel => {
            let params = network.to_flat();
            let (steps, width) = (samples.steps, samples.steps * samples.features);
            let pieces: Vec<Vec<f32>> = rows
                .par_chunks(predict_piece_rows(rows.len()))
                .map(|piece| {
                    let (mut extra, mut gate) = (Vec::new(), Vec::new());
                    samples.gather_head_inputs(piece, &mut extra, &mut gate);
                    let first = piece[0] * width;
                    let windows = infer::Windows {
                        rows: piece.len(),
                        steps,
                        x: &samples.x[first..first + piece.len() * width],
                        extra: &extra,
                        gate: &gate,
                    };
                    infer::predict(shape, &params, &windows)
                })
                .collect();
            pieces.concat()
        }
        Backend::Burn(device) => rows
            .chunks(1024)
            .flat_map(|piece| {
                let (x, extra, gate, _) = batch_tensors(samples, piece, device);
                let out = network.forward(x, extra, gate, None).into_data();
                out.try_to_vec::<f32>().expect("float predictions")
            })
            .collect(),
    }
}

#[cfg(test)]
pub(crate) mod tests;
