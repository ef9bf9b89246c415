//! BERT on the CPU without burn's tensors: the encoder's weights copied to
//! host vectors ([`HostBert`]) and a forward pass over *packed* tokens —
//! the texts of a piece laid end to end with no padding, so no work is
//! spent on padding and attention needs no mask. Each layer is three
//! matrix products over all tokens of the piece (`[n, H] × [H, 3H]` for
//! query, key and value together, then the attention output and the
//! feed-forward pair), attention text by text and head by head on
//! `L × L` scores, and fused LayerNorm and GELU loops ([`crate::fastmath`]).
//!
//! burn keeps the module, the weight loading and the GPU path; tests check
//! that this path equals burn's (`tests/integration/bert*.rs`).
//! [`layer`] holds the layer's forward pass (with what backpropagation
//! needs, for fine-tuning) and [`backward`] its gradients.

pub mod backward;
pub mod layer;

use super::model::{Bert, Layer};
use crate::fastmath::{sum_by, with_best_isa};
use burn::nn::{LayerNorm, Linear};
use rayon::prelude::*;
use std::ops::Range;
use trendlab_spec::Pooling;

/// Tokens per piece of inference work: large enough for efficient matrix
/// products, small enough that two or more pieces keep the threads busy.
const PIECE_TOKENS: usize = 1024;

/// The sizes the kernels need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dims {
    pub hidden: usize,
    pub heads: usize,
    pub inner: usize,
    pub eps: f32,
}

impl Dims {
    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }
}

/// A LayerNorm's scale and shift.
#[derive(Debug, Clone, PartialEq)]
pub struct Norm {
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
}

/// One encoder layer's weights (row-major, `[in, out]`); the same struct
/// holds their gradients.
#[derive(Debug, Clone, PartialEq)]
pub struct HostLayer {
    /// Query, key and value side by side: `[H, 3H]`, bias `[3H]`.
    pub qkv_w: Vec<f32>,
    pub qkv_b: Vec<f32>,
    /// Attention output `[H, H]`, then LayerNorm.
    pub out_w: Vec<f32>,
    pub out_b: Vec<f32>,
    pub norm1: Norm,
    /// Feed-forward `[H, I]` and `[I, H]`, then LayerNorm.
    pub up_w: Vec<f32>,
    pub up_b: Vec<f32>,
    pub down_w: Vec<f32>,
    pub down_b: Vec<f32>,
    pub norm2: Norm,
}

/// The whole encoder on the host.
#[derive(Debug, Clone)]
pub struct HostBert {
    pub dims: Dims,
    /// Word, position and token-type tables `[_, H]`.
    words: Vec<f32>,
    positions: Vec<f32>,
    types: Vec<f32>,
    embed_norm: Norm,
    pub layers: Vec<HostLayer>,
}

/// Texts laid end to end: token ids and types of every text, and each
/// text's span of rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Packed {
    pub ids: Vec<u32>,
    pub types: Vec<u32>,
    pub spans: Vec<Range<usize>>,
}

impl Packed {
    /// `texts` as (ids, token types) pairs, in order.
    pub fn new<'a>(texts: impl IntoIterator<Item = (&'a [u32], &'a [u32])>) -> Self {
        let mut packed = Packed::default();
        for (ids, types) in texts {
            let start = packed.ids.len();
            packed.ids.extend_from_slice(ids);
            packed.types.extend_from_slice(types);
            packed.spans.push(start..packed.ids.len());
        }
        packed
    }

    pub fn tokens(&self) -> usize {
        self.ids.len()
    }
}

fn values<const D: usize>(t: burn::tensor::Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("float weights")
}

fn linear(l: &Linear) -> (Vec<f32>, Vec<f32>) {
    let w = values(l.weight.val());
    let b = match &l.bias {
        Some(b) => values(b.val()),
        None => vec![0.0; l.weight.dims()[1]],
    };
    (w, b)
}

fn norm(n: &LayerNorm) -> Norm {
    let gamma = values(n.gamma.val());
    let beta = match &n.beta {
        Some(b) => values(b.val()),
        None => vec![0.0; gamma.len()],
    };
    Norm { gamma, beta }
}

impl HostLayer {
    /// The weights of a burn layer.
    pub fn of(layer: &Layer) -> Self {
        let a = &layer.attention.self_attn;
        let (q, k, v) = (linear(&a.query), linear(&a.key), linear(&a.value));
        let h = q.1.len();
        let mut qkv_w = Vec::with_capacity(h * 3 * h);
        for r in 0..h {
            for w in [&q.0, &k.0, &v.0] {
                qkv_w.extend_from_slice(&w[r * h..(r + 1) * h]);
            }
        }
        let qkv_b = [q.1, k.1, v.1].concat();
        let (out_w, out_b) = linear(&layer.attention.output.dense);
        let (up_w, up_b) = linear(&layer.intermediate.dense);
        let (down_w, down_b) = linear(&layer.output.dense);
        HostLayer {
            qkv_w,
            qkv_b,
            out_w,
            out_b,
            norm1: norm(&layer.attention.output.layer_norm),
            up_w,
            up_b,
            down_w,
            down_b,
            norm2: norm(&layer.output.layer_norm),
        }
    }

    /// A layer of zeros of the same sizes (to accumulate gradients in).
    pub fn zeros_like(&self) -> Self {
        let mut zeros = self.clone();
        zeros.parts_mut().into_iter().for_each(|p| p.fill(0.0));
        zeros
    }

    /// Adds `other` (of the same sizes) to every weight.
    pub fn add(&mut self, other: &HostLayer) {
        for (mine, theirs) in self.parts_mut().into_iter().zip(other.parts()) {
            mine.iter_mut().zip(theirs).for_each(|(a, b)| *a += b);
        }
    }

    /// Every weight vector, in declaration order.
    fn parts(&self) -> [&Vec<f32>; 12] {
        [
            &self.qkv_w,
            &self.qkv_b,
            &self.out_w,
            &self.out_b,
            &self.norm1.gamma,
            &self.norm1.beta,
            &self.up_w,
            &self.up_b,
            &self.down_w,
            &self.down_b,
            &self.norm2.gamma,
            &self.norm2.beta,
        ]
    }

    fn parts_mut(&mut self) -> [&mut Vec<f32>; 12] {
        [
            &mut self.qkv_w,
            &mut self.qkv_b,
            &mut self.out_w,
            &mut self.out_b,
            &mut self.norm1.gamma,
            &mut self.norm1.beta,
            &mut self.up_w,
            &mut self.up_b,
            &mut self.down_w,
            &mut self.down_b,
            &mut self.norm2.gamma,
            &mut self.norm2.beta,
        ]
    }
}

impl HostBert {
    /// Copies `model`'s weights to the host.
    pub fn of(model: &Bert, heads: usize, eps: f64) -> Self {
        let e = &model.embeddings;
        let layers: Vec<HostLayer> = model.encoder.layer.iter().map(HostLayer::of).collect();
        let embed_norm = norm(&e.layer_norm);
        let hidden = embed_norm.gamma.len();
        HostBert {
            dims: Dims {
                hidden,
                heads,
                inner: layers.first().map_or(0, |l| l.up_b.len()),
                eps: eps as f32,
            },
            words: values(e.word_embeddings.weight.val()),
            positions: values(e.position_embeddings.weight.val()),
            types: values(e.token_type_embeddings.weight.val()),
            embed_norm,
            layers,
        }
    }

    /// The embedding layer's output `[n, H]` for packed tokens.
    pub fn embed(&self, packed: &Packed) -> Vec<f32> {
        let h = self.dims.hidden;
        let mut x = vec![0.0; packed.tokens() * h];
        with_best_isa(|| {
            for span in &packed.spans {
                for (position, row) in span.clone().enumerate() {
                    let word = &self.words[packed.ids[row] as usize * h..][..h];
                    let place = &self.positions[position * h..][..h];
                    let kind = &self.types[packed.types[row] as usize * h..][..h];
                    let out = &mut x[row * h..(row + 1) * h];
                    for j in 0..h {
                        out[j] = word[j] + place[j] + kind[j];
                    }
                    layer::layer_norm_row(out, &self.embed_norm, self.dims.eps, None);
                }
            }
        });
        x
    }

    /// Hidden states `[n, H]` after `layers`, from the embedding output.
    pub fn encode(&self, packed: &Packed, mut x: Vec<f32>, layers: Range<usize>) -> Vec<f32> {
        for l in &self.layers[layers] {
            x = layer::forward(l, &self.dims, &packed.spans, x, None);
        }
        x
    }

    /// Pooled vectors of `texts` (each given as token ids and types), in
    /// order: pieces of about [`PIECE_TOKENS`] tokens run in parallel.
    pub fn embed_texts(&self, texts: &[(Vec<u32>, Vec<u32>)], pooling: Pooling, normalize: bool) -> Vec<Vec<f32>> {
        let lengths: Vec<usize> = texts.iter().map(|t| t.0.len()).collect();
        let pieces = balanced_pieces(&lengths, PIECE_TOKENS);
        let pooled: Vec<Vec<Vec<f32>>> = pieces
            .par_iter()
            .map(|piece| {
                let packed = Packed::new(texts[piece.clone()].iter().map(|(i, t)| (i.as_slice(), t.as_slice())));
                let hidden = self.encode(&packed, self.embed(&packed), 0..self.layers.len());
                pool(&hidden, self.dims.hidden, &packed.spans, pooling, normalize)
            })
            .collect();
        pooled.concat()
    }
}

/// Consecutive ranges of texts (of token counts `lengths`) with about
/// equal tokens: at most about `most` each, in a number of pieces that is
/// a multiple of 4 so that 1, 2 or 4 threads finish together. It depends
/// on the lengths alone, never on the thread count.
pub fn balanced_pieces(lengths: &[usize], most: usize) -> Vec<Range<usize>> {
    let total: usize = lengths.iter().sum();
    if lengths.is_empty() {
        return Vec::new();
    }
    let count = total.div_ceil(most.max(1)).next_multiple_of(4);
    let mut pieces = Vec::new();
    let (mut start, mut seen) = (0, 0);
    for (i, len) in lengths.iter().enumerate() {
        seen += len;
        // Close the piece when the running total reaches its share.
        if seen * count >= total * (pieces.len() + 1) && i + 1 < lengths.len() {
            pieces.push(start..i + 1);
            start = i + 1;
        }
    }
    pieces.push(start..lengths.len());
    pieces
}

/// One vector per span of `hidden [n, width]`: the mean of its rows or
/// its first row, scaled to unit length if `normalize` (as [`super::pool`]).
pub fn pool(hidden: &[f32], width: usize, spans: &[Range<usize>], pooling: Pooling, normalize: bool) -> Vec<Vec<f32>> {
    spans
        .iter()
        .map(|span| {
            let mut v = vec![0.0f32; width];
            match pooling {
                Pooling::Cls if !span.is_empty() => v.copy_from_slice(&hidden[span.start * width..][..width]),
                Pooling::Cls => {}
                Pooling::Mean => {
                    for row in span.clone() {
                        v.iter_mut()
                            .zip(&hidden[row * width..(row + 1) * width])
                            .for_each(|(a, b)| *a += b);
                    }
                    let count = (span.len() as f32).max(1e-9);
                    v.iter_mut().for_each(|a| *a /= count);
                }
            }
            if normalize {
                let norm = sum_by(width, |j| v[j] * v[j]).sqrt().max(1e-12);
                v.iter_mut().for_each(|a| *a /= norm);
            }
            v
        })
        .collect()
}
