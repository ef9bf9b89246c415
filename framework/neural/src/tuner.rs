//! Fine-tuning a BERT's top layers from the gradients of the text vectors
//! ([`EncoderTuner`], BERT-fusion with `freeze = false`). The lower
//! layers' outputs are computed once (they do not change). Each training
//! step backpropagates the network's gradient of every text vector through
//! the trained layers, takes one Adam step (burn's, on the burn module), and
//! recomputes every text's vector.
//!
//! On the CPU the trained layers run on the host path ([`crate::bert::host`]:
//! packed texts, hand-written backward pass, the forward pass that refreshes
//! the vectors keeping what the next backward pass needs); on a GPU, burn's
//! autodiff does both. Tests check that the two give the same gradients
//! and take the same steps.

use crate::bert::host::backward::backward;
use crate::bert::host::layer::{Cache, forward};
use crate::bert::host::{Dims, HostBert, HostLayer, Packed, balanced_pieces, pool as host_pool};
use crate::bert::{Bert, EncoderError, TextEncoder, Tokens, pool};
use crate::text::text_table;
use crate::train::{TextTuner, TrainError};
use burn::module::ParamId;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rayon::prelude::*;
use std::ops::Range;
use trendlab_spec::Pooling;

/// Tokens per piece of the host path (pieces run in parallel).
const PIECE_TOKENS: usize = 1024;

/// Fine-tunes the top layers of a BERT from the gradients of the text
/// vectors (see the module docs).
pub struct EncoderTuner {
    model: Bert,
    optimizer: ModuleOptimizer,
    lr: f64,
    pooling: Pooling,
    normalize: bool,
    trained: Range<usize>,
    engine: Engine,
    /// The current table `[N + 1, H + 1]` (see [`text_table`]).
    table: Vec<f32>,
    width: usize,
    texts: usize,
}

enum Engine {
    Host(HostTuner),
    Burn(BurnTuner),
}

/// burn's autodiff: the frozen layers' output for every text `[N, L, H]`
/// (one padded batch) and the mask.
struct BurnTuner {
    heads: usize,
    lower: Tensor<3>,
    mask: Tensor<2>,
}

/// The host path: texts packed into pieces, each with the frozen layers'
/// output and the trained layers' caches of the last forward pass.
struct HostTuner {
    dims: Dims,
    layers: Vec<HostLayer>,
    pieces: Vec<Piece>,
}

struct Piece {
    /// First text of the piece.
    first: usize,
    packed: Packed,
    lower: Vec<f32>,
    caches: Vec<Cache>,
    /// The trained layers' output `[n, H]` of the last forward pass.
    top: Vec<f32>,
}

impl EncoderTuner {
    /// Loads the encoder in `dir` with its parameters on `device`; the host
    /// path runs when `device` is burn's CPU device (with autodiff, where
    /// the kernel keeps Adam's state).
    pub fn new(
        dir: &std::path::Path,
        texts: &[String],
        (pooling, normalize): (Pooling, bool),
        train_layers: usize,
        lr: f64,
        device: &Device,
    ) -> Result<Self, EncoderError> {
        let on_cpu = device.clone().inner() == Device::flex();
        Self::with_engine(dir, texts, (pooling, normalize), train_layers, lr, device, on_cpu)
    }

    /// [`Self::new`] with the engine chosen: the host path if `host`, else
    /// burn's autodiff (on any device: the tests compare the two on the CPU).
    pub fn with_engine(
        dir: &std::path::Path,
        texts: &[String],
        (pooling, normalize): (Pooling, bool),
        train_layers: usize,
        lr: f64,
        device: &Device,
        host: bool,
    ) -> Result<Self, EncoderError> {
        let encoder = TextEncoder::load(dir, device)?;
        let layers = encoder.model.layers();
        let first = layers.saturating_sub(train_layers);
        let heads = encoder.config.num_attention_heads;
        let width = encoder.width();
        let engine = match host {
            true => {
                let built;
                let host = match encoder.host() {
                    Some(host) => host,
                    None => {
                        built = HostBert::of(&encoder.model, heads, encoder.config.layer_norm_eps);
                        &built
                    }
                };
                let ids = encoder.unpadded(texts)?;
                Engine::Host(HostTuner::new(host, &ids, first))
            }
            false => {
                // Texts of a fold are few (one per product); one padded
                // batch. An empty list still needs a tensor, of one empty text.
                let batch = if texts.is_empty() {
                    vec![String::new()]
                } else {
                    texts.to_vec()
                };
                let (_, tokens) = encoder.tokenize(&batch)?;
                let Tokens { mask, .. } = tokens.clone();
                let lower = encoder
                    .model
                    .encode(encoder.model.embed(&tokens), &mask, heads, 0..first)
                    .detach();
                Engine::Burn(BurnTuner { heads, lower, mask })
            }
        };
        let mut tuner = EncoderTuner {
            model: encoder.model,
            optimizer: AdamConfig::new().init(),
            lr,
            pooling,
            normalize,
            trained: first..layers,
            engine,
            table: Vec::new(),
            width,
            texts: texts.len(),
        };
        let vectors = tuner.refresh();
        tuner.table = text_table(&vectors, width);
        Ok(tuner)
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// The current vectors of the texts (without the no-text row).
    pub fn vectors(&self) -> Vec<Vec<f32>> {
        let w = self.width + 1;
        self.table
            .chunks(w)
            .take(self.texts)
            .map(|row| row[..self.width].to_vec())
            .collect()
    }

    /// Every text's vector through the trained layers at the current
    /// weights (the host path keeps the caches for the next backward pass).
    fn refresh(&mut self) -> Vec<Vec<f32>> {
        let (pooling, normalize) = (self.pooling, self.normalize);
        match &mut self.engine {
            Engine::Host(host) => host.forward(pooling, normalize),
            Engine::Burn(burn) => {
                let all: Vec<usize> = (0..self.texts).collect();
                let values = burn
                    .forward(&self.model, &all, self.trained.clone(), (pooling, normalize))
                    .detach()
                    .into_data()
                    .try_to_vec::<f32>()
                    .expect("float vectors");
                values
                    .chunks(self.width.max(1))
                    .take(self.texts)
                    .map(<[f32]>::to_vec)
                    .collect()
            }
        }
    }

    /// The gradients of `Σ vectors ⊙ upstream` (`upstream [N, H]`) with
    /// respect to the trained layers' parameters.
    fn gradients(&self, upstream: &[f32]) -> GradientsParams {
        match &self.engine {
            Engine::Host(host) => {
                let grads = host.backward(upstream, (self.pooling, self.normalize));
                let device = burn::module::Module::devices(&self.model)[0].clone().inner();
                let mut out = GradientsParams::new();
                for (l, g) in self.trained.clone().zip(&grads) {
                    register_layer(&self.model, l, g, &device, &mut out);
                }
                out
            }
            Engine::Burn(burn) => {
                let all: Vec<usize> = (0..self.texts).collect();
                let device = burn.lower.device();
                let upstream =
                    Tensor::<2>::from_data(TensorData::new(upstream.to_vec(), [self.texts, self.width]), &device);
                let vectors = burn.forward(&self.model, &all, self.trained.clone(), (self.pooling, self.normalize));
                GradientsParams::from_grads((vectors * upstream).sum().backward(), &self.model)
            }
        }
    }
}

impl TextTuner for EncoderTuner {
    fn step(&mut self, grads: &[f32]) -> Result<Vec<f32>, TrainError> {
        let w = self.width + 1;
        let upstream: Vec<f32> = (0..self.texts)
            .flat_map(|r| grads[r * w..r * w + self.width].iter().copied())
            .collect();
        if upstream.iter().all(|g| *g == 0.0) {
            return Ok(self.table.clone());
        }
        let gradients = self.gradients(&upstream);
        self.model = self.optimizer.step(self.lr, self.model.clone(), gradients);
        if let Engine::Host(host) = &mut self.engine {
            for (k, l) in self.trained.clone().enumerate() {
                host.layers[k] = HostLayer::of(&self.model.encoder.layer[l]);
            }
        }
        let fresh = self.refresh();
        if fresh.iter().flatten().any(|v| !v.is_finite()) {
            return Err(TrainError::Device(
                "the fine-tuned encoder produced non-finite text vectors (try a smaller encoder_lr)".into(),
            ));
        }
        self.table = text_table(&fresh, self.width);
        Ok(self.table.clone())
    }
}

impl BurnTuner {
    /// Pooled vectors `[k, H]` of texts `rows` through the trained layers.
    fn forward(
        &self,
        model: &Bert,
        rows: &[usize],
        trained: Range<usize>,
        (pooling, normalize): (Pooling, bool),
    ) -> Tensor<2> {
        let device = self.lower.device();
        let index = Tensor::<1, Int>::from_data(
            TensorData::new(rows.iter().map(|&r| r as i64).collect(), [rows.len()]),
            &device,
        );
        let mask = self.mask.clone().select(0, index.clone());
        let hidden = model.encode(self.lower.clone().select(0, index), &mask, self.heads, trained);
        pool(pooling, normalize, hidden, &mask)
    }
}

impl HostTuner {
    fn new(host: &HostBert, texts: &[(Vec<u32>, Vec<u32>)], first: usize) -> Self {
        let lengths: Vec<usize> = texts.iter().map(|t| t.0.len()).collect();
        let pieces = balanced_pieces(&lengths, PIECE_TOKENS)
            .into_par_iter()
            .map(|range| Piece {
                first: range.start,
                packed: Packed::new(texts[range].iter().map(|(i, t)| (i.as_slice(), t.as_slice()))),
                lower: Vec::new(),
                caches: Vec::new(),
                top: Vec::new(),
            })
            .map(|mut piece: Piece| {
                piece.lower = host.encode(&piece.packed, host.embed(&piece.packed), 0..first);
                piece
            })
            .collect();
        HostTuner {
            dims: host.dims,
            layers: host.layers[first..].to_vec(),
            pieces,
        }
    }

    /// Forward through the trained layers, piece by piece in parallel,
    /// keeping each layer's cache; the pooled vectors in text order.
    fn forward(&mut self, pooling: Pooling, normalize: bool) -> Vec<Vec<f32>> {
        let (layers, dims) = (&self.layers, &self.dims);
        self.pieces.par_iter_mut().for_each(|piece| {
            piece.caches.resize_with(layers.len(), Cache::default);
            let mut x = piece.lower.clone();
            for (layer, cache) in layers.iter().zip(&mut piece.caches) {
                x = forward(layer, dims, &piece.packed.spans, x, Some(cache));
            }
            piece.top = x;
        });
        self.pieces
            .iter()
            .flat_map(|p| host_pool(&p.top, dims.hidden, &p.packed.spans, pooling, normalize))
            .collect()
    }

    /// The trained layers' gradients of `Σ vectors ⊙ upstream`, summed over
    /// the pieces in order (so the result does not depend on the threads).
    fn backward(&self, upstream: &[f32], (pooling, normalize): (Pooling, bool)) -> Vec<HostLayer> {
        let (layers, dims) = (&self.layers, &self.dims);
        let h = dims.hidden;
        let per_piece: Vec<Vec<HostLayer>> = self
            .pieces
            .par_iter()
            .map(|piece| {
                let mut grads: Vec<HostLayer> = layers.iter().map(HostLayer::zeros_like).collect();
                let texts = &upstream[piece.first * h..(piece.first + piece.packed.spans.len()) * h];
                let mut d = pool_backward(&piece.top, h, &piece.packed.spans, texts, pooling, normalize);
                for k in (0..layers.len()).rev() {
                    let spans = &piece.packed.spans;
                    match backward(&layers[k], dims, spans, &piece.caches[k], &d, &mut grads[k], k > 0) {
                        Some(below) => d = below,
                        None => break,
                    }
                }
                grads
            })
            .collect();
        let mut total: Vec<HostLayer> = layers.iter().map(HostLayer::zeros_like).collect();
        for grads in &per_piece {
            for (t, g) in total.iter_mut().zip(grads) {
                t.add(g);
            }
        }
        total
    }
}

/// The gradient with respect to the top hidden states `[n, H]` of
/// `Σ pooled ⊙ upstream` (`upstream [spans, H]`).
fn pool_backward(
    top: &[f32],
    h: usize,
    spans: &[Range<usize>],
    upstream: &[f32],
    pooling: Pooling,
    normalize: bool,
) -> Vec<f32> {
    let mut d = vec![0.0; top.len()];
    let raw = match normalize {
        true => host_pool(top, h, spans, pooling, false),
        false => Vec::new(),
    };
    for (t, span) in spans.iter().enumerate() {
        let mut g = upstream[t * h..(t + 1) * h].to_vec();
        if normalize {
            // p = v / max(|v|, 1e-12): dv = (g - p (p · g)) / |v| above the floor.
            let v = &raw[t];
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 1e-12 {
                let along = v.iter().zip(&g).map(|(a, b)| a * b).sum::<f32>() / (norm * norm);
                g.iter_mut().zip(v).for_each(|(gi, vi)| *gi = (*gi - vi * along) / norm);
            } else {
                g.iter_mut().for_each(|gi| *gi /= 1e-12);
            }
        }
        match pooling {
            Pooling::Cls if !span.is_empty() => d[span.start * h..(span.start + 1) * h].copy_from_slice(&g),
            Pooling::Cls => {}
            Pooling::Mean => {
                let count = (span.len() as f32).max(1e-9);
                for row in span.clone() {
                    d[row * h..(row + 1) * h]
                        .iter_mut()
                        .zip(&g)
                        .for_each(|(a, b)| *a = b / count);
                }
            }
        }
    }
    d
}

/// Registers a host layer's gradients under the parameter ids of burn
/// layer `l` of `model` (the `[H, 3H]` query-key-value block split back
/// into the three Linear weights).
fn register_layer(model: &Bert, l: usize, g: &HostLayer, device: &Device, out: &mut GradientsParams) {
    let layer = &model.encoder.layer[l];
    let h = g.out_b.len();
    let inner = g.up_b.len();
    let mut put2 = |id: ParamId, data: Vec<f32>, shape: [usize; 2]| {
        out.register::<2>(id, Tensor::from_data(TensorData::new(data, shape), device));
    };
    let a = &layer.attention.self_attn;
    for (part, linear) in [&a.query, &a.key, &a.value].into_iter().enumerate() {
        let block: Vec<f32> = (0..h)
            .flat_map(|r| {
                g.qkv_w[r * 3 * h + part * h..r * 3 * h + (part + 1) * h]
                    .iter()
                    .copied()
            })
            .collect();
        put2(linear.weight.id, block, [h, h]);
    }
    put2(layer.attention.output.dense.weight.id, g.out_w.clone(), [h, h]);
    put2(layer.intermediate.dense.weight.id, g.up_w.clone(), [h, inner]);
    put2(layer.output.dense.weight.id, g.down_w.clone(), [inner, h]);
    let mut put1 = |id: Option<ParamId>, data: &[f32]| {
        if let Some(id) = id {
            out.register::<1>(
                id,
                Tensor::from_data(TensorData::new(data.to_vec(), [data.len()]), device),
            );
        }
    };
    for (part, linear) in [&a.query, &a.key, &a.value].into_iter().enumerate() {
        put1(linear.bias.as_ref().map(|b| b.id), &g.qkv_b[part * h..(part + 1) * h]);
    }
    let dense_norms = [
        (
            &layer.attention.output.dense,
            &layer.attention.output.layer_norm,
            &g.out_b,
            &g.norm1,
        ),
        (&layer.output.dense, &layer.output.layer_norm, &g.down_b, &g.norm2),
    ];
    for (dense, norm, bias, ng) in dense_norms {
        put1(dense.bias.as_ref().map(|b| b.id), bias);
        put1(Some(norm.gamma.id), &ng.gamma);
        put1(norm.beta.as_ref().map(|b| b.id), &ng.beta);
    }
    put1(layer.intermediate.dense.bias.as_ref().map(|b| b.id), &g.up_b);
}

#[cfg(test)]
mod tests;
