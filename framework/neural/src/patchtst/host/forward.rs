//! PatchTST's training forward pass on flat host buffers, step for step
//! the burn module's ([`crate::patchtst::network`]): RevIN, patches, their
//! projection and positions, the encoder layers (batch norms over the
//! batch's tokens, attention window by window, residual attention), the
//! flatten head and RevIN's inverse. A token is one patch of one window
//! (`[windows · patches, ·]`, window-major, as burn's `[rows, patches, ·]`).
//! Each product's bias, dropout mask, activation and residual sum are one
//! pass over its output. It keeps what [`super::backward`] needs.

use super::attention::attention;
use super::scratch::{give, take};
use super::{HostLinear, HostNorm, HostWeights};
use crate::fastmath::{gelu_with_derivative, with_best_isa};
use crate::matmul::{View, par_rows};
use crate::patchtst::network::PatchtstShape;
use crate::window::layers::Dropout;
use rayon::prelude::*;

/// RevIN's variance floor (inside the square root), as the burn module's.
pub(super) const REVIN_EPS: f32 = 1e-5;
/// Batch norms' variance floor (burn's and torch's default).
const NORM_EPS: f64 = 1e-5;
/// Tokens per parallel piece of the element-wise loops and sums.
pub(super) const PIECE_TOKENS: usize = 512;

/// A batch norm's normalised inputs `[tokens, d]`, `1/σ` per channel and
/// the batch's statistics (mean, biased variance) that move the running ones.
#[derive(Debug, Default)]
pub(crate) struct NormCache {
    pub xhat: Vec<f32>,
    pub inv_std: Vec<f32>,
    pub mean: Vec<f32>,
    pub var: Vec<f32>,
}

/// What backpropagation through one encoder layer needs.
#[derive(Debug, Default)]
pub(crate) struct LayerCache {
    /// The attention's input `[tokens, d]` (normalised first under pre-norm).
    pub a: Vec<f32>,
    /// Queries, keys and values `[tokens, 3d]` (interleaved heads).
    pub qkv: Vec<f32>,
    /// Attention weights `[windows, patches (query), patches (key), heads]`.
    pub probs: Vec<f32>,
    /// Attention output before its projection `[tokens, d]`.
    pub context: Vec<f32>,
    pub mask_attention: Option<Vec<f32>>,
    /// The feed-forward layer's input `[tokens, d]`.
    pub b: Vec<f32>,
    /// The activation's derivative at the hidden layer's inputs times
    /// the dropout mask, and the hidden layer after both `[tokens, ff]`.
    pub slope: Vec<f32>,
    pub hidden: Vec<f32>,
    pub mask_ff: Option<Vec<f32>>,
    pub norm_attention: NormCache,
    pub norm_ff: NormCache,
}

/// What backpropagation through the whole network needs.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    pub rows: usize,
    /// Per window: RevIN's centre and spread.
    pub revin: Vec<(f32, f32)>,
    /// The normalised windows before RevIN's affine map `[rows, input]`.
    pub z: Vec<f32>,
    /// `[tokens, patch_len]`.
    pub patches: Vec<f32>,
    pub mask_embedding: Option<Vec<f32>>,
    pub layers: Vec<LayerCache>,
    /// The head's input `[rows, d · patches]` (model dimension first).
    pub flat: Vec<f32>,
    /// The head's output `[rows, horizon · outputs]`, step-major.
    pub head: Vec<f32>,
}

impl Cache {
    /// Gives every buffer back for later steps.
    pub(super) fn recycle(self) {
        let masks = [self.mask_embedding].into_iter().flatten();
        give([self.z, self.patches, self.flat, self.head].into_iter().chain(masks));
        for l in self.layers {
            let masks = [l.mask_attention, l.mask_ff].into_iter().flatten();
            let norms = [l.norm_attention.xhat, l.norm_ff.xhat];
            give(
                [l.a, l.qkv, l.probs, l.context, l.b, l.slope, l.hidden]
                    .into_iter()
                    .chain(norms)
                    .chain(masks),
            );
        }
    }
}

/// `x l.w` for `x [n, k]` into a taken buffer (the bias is added by the
/// caller's pass over it).
pub(super) fn product(x: &[f32], k: usize, l: &HostLinear) -> Vec<f32> {
    let m = l.b.len();
    let mut out = take(x.len() / k * m);
    par_rows(k, m, x, View::rows(&l.w, m), &mut out, false);
    out
}

/// The dropout mask of `n` elements for `path`, in a taken buffer.
fn mask(dropout: Option<Dropout>, n: usize, path: &[u64]) -> Option<Vec<f32>> {
    let mut values = take(n);
    if Dropout::fill(dropout, &mut values, path) {
        return Some(values);
    }
    give([values]);
    None
}

/// `y = residual + (y + bias) ⊙ mask` over rows of `y [n, m]`, in one pass.
fn bias_mask_residual(y: &mut [f32], bias: &[f32], mask: Option<&Vec<f32>>, residual: &[f32]) {
    let m = bias.len();
    let piece = PIECE_TOKENS * m;
    y.par_chunks_mut(piece)
        .zip(residual.par_chunks(piece))
        .enumerate()
        .for_each(|(at, (y, res))| {
            let mask = mask.map(|mk| &mk[at * piece..at * piece + y.len()]);
            with_best_isa(|| {
                for (r, (row, res)) in y.chunks_exact_mut(m).zip(res.chunks_exact(m)).enumerate() {
                    match mask {
                        Some(mk) => {
                            let mk = &mk[r * m..(r + 1) * m];
                            for c in 0..m {
                                row[c] = res[c] + (row[c] + bias[c]) * mk[c];
                            }
                        }
                        None => {
                            for c in 0..m {
                                row[c] = res[c] + (row[c] + bias[c]);
                            }
                        }
                    }
                }
            })
        });
}

/// `x += bias` over the rows of `x [n, m]`.
fn add_bias(x: &mut [f32], bias: &[f32]) {
    let m = bias.len();
    x.par_chunks_mut(PIECE_TOKENS * m).for_each(|piece| {
        with_best_isa(|| {
            for row in piece.chunks_exact_mut(m) {
                for (v, b) in row.iter_mut().zip(bias) {
                    *v += b;
                }
            }
        })
    });
}

/// The forecasts `[rows, outputs · horizon]` (one row of the horizon per
/// output) of windows `x` (`[rows, input_size]`, scaled) in training mode
/// (batch statistics, `dropout`), and the cache.
pub(crate) fn forward(
    w: &HostWeights,
    shape: &PatchtstShape,
    x: &[f32],
    rows: usize,
    dropout: Option<Dropout>,
) -> (Vec<f32>, Cache) {
    let (input, d, p, len, ff) = (
        shape.input_size,
        shape.d_model,
        shape.patches(),
        shape.patch_len,
        shape.ff,
    );
    let tokens = rows * p;
    let (revin, z) = revin(x, input, shape.subtract_last);
    let mut patches = take(tokens * len);
    for (r, window) in patches.chunks_exact_mut(p * len).enumerate() {
        let z = &z[r * input..(r + 1) * input];
        for (k, patch) in window.chunks_exact_mut(len).enumerate() {
            for (i, v) in patch.iter_mut().enumerate() {
                // The window padded at its end with copies of its last value.
                *v = z[(k * shape.stride + i).min(input - 1)];
                if let Some([aw, ab]) = w.revin {
                    *v = *v * aw + ab;
                }
            }
        }
    }
    let mut u = product(&patches, len, &w.projection);
    let mask_embedding = mask(dropout, tokens * d, &[0]);
    u.par_chunks_mut(p * d).enumerate().for_each(|(r, window)| {
        let mk = mask_embedding.as_ref().map(|m| &m[r * p * d..(r + 1) * p * d]);
        with_best_isa(|| {
            for (k, t) in window.chunks_exact_mut(d).enumerate() {
                let pos = &w.position[k * d..(k + 1) * d];
                for c in 0..d {
                    t[c] = (t[c] + w.projection.b[c]) + pos[c];
                }
                if let Some(mk) = mk {
                    for (v, m) in t.iter_mut().zip(&mk[k * d..(k + 1) * d]) {
                        *v *= m;
                    }
                }
            }
        })
    });
    let mut layers = Vec::with_capacity(w.layers.len());
    let mut previous: Option<Vec<f32>> = None;
    for (l, layer) in w.layers.iter().enumerate() {
        let path = |k: u64| [1, l as u64, k];
        let mut cache = LayerCache::default();
        let mut a = u;
        if shape.pre_norm {
            cache.norm_attention = batch_norm(&mut a, &layer.norm_attention);
        }
        let mut qkv = product(&a, d, &layer.qkv);
        add_bias(&mut qkv, &layer.qkv.b);
        let (scores, probs, context) = attention(shape, rows, &qkv, previous.take());
        match shape.residual_attention {
            true => previous = Some(scores),
            false => give([scores]),
        }
        let mut r1 = product(&context, d, &layer.out);
        let mask_attention = mask(dropout, tokens * d, &path(0));
        bias_mask_residual(&mut r1, &layer.out.b, mask_attention.as_ref(), &a);
        if !shape.pre_norm {
            cache.norm_attention = batch_norm(&mut r1, &layer.norm_attention);
        }
        let mut b = r1;
        if shape.pre_norm {
            cache.norm_ff = batch_norm(&mut b, &layer.norm_ff);
        }
        // The hidden layer, and in `slope` (over the pre-activations) the
        // activation's derivative times the dropout mask: all backward needs.
        let mut slope = product(&b, d, &layer.ff_in);
        let mask_hidden = mask(dropout, tokens * ff, &path(1));
        let mut hidden = take(tokens * ff);
        let piece = PIECE_TOKENS * ff;
        slope
            .par_chunks_mut(piece)
            .zip(hidden.par_chunks_mut(piece))
            .enumerate()
            .for_each(|(at, (slope, hidden))| {
                let mk = mask_hidden.as_ref().map(|m| &m[at * piece..at * piece + slope.len()]);
                with_best_isa(|| {
                    for (pre, h) in slope.chunks_exact_mut(ff).zip(hidden.chunks_exact_mut(ff)) {
                        for c in 0..ff {
                            pre[c] += layer.ff_in.b[c];
                        }
                        if shape.relu {
                            for c in 0..ff {
                                let positive = pre[c] > 0.0;
                                h[c] = if positive { pre[c] } else { 0.0 };
                                pre[c] = if positive { 1.0 } else { 0.0 };
                            }
                        } else {
                            for c in 0..ff {
                                let (value, derivative) = gelu_with_derivative(pre[c]);
                                h[c] = value;
                                pre[c] = derivative;
                            }
                        }
                    }
                    if let Some(mk) = mk {
                        for ((h, s), m) in hidden.iter_mut().zip(slope.iter_mut()).zip(mk) {
                            *h *= m;
                            *s *= m;
                        }
                    }
                })
            });
        give(mask_hidden);
        let mut r2 = product(&hidden, ff, &layer.ff_out);
        let mask_ff = mask(dropout, tokens * d, &path(2));
        bias_mask_residual(&mut r2, &layer.ff_out.b, mask_ff.as_ref(), &b);
        if !shape.pre_norm {
            cache.norm_ff = batch_norm(&mut r2, &layer.norm_ff);
        }
        u = r2;
        layers.push(LayerCache {
            a,
            qkv,
            probs,
            context,
            mask_attention,
            b,
            slope,
            hidden,
            mask_ff,
            ..cache
        });
    }
    give(previous);
    // The head reads [d_model, patches] flattened, model dimension first.
    let mut flat = take(rows * d * p);
    flat.par_chunks_mut(d * p).zip(u.par_chunks(d * p)).for_each(|(f, t)| {
        for k in 0..p {
            for c in 0..d {
                f[c * p + k] = t[k * d + c];
            }
        }
    });
    give([u]);
    let mut head = product(&flat, d * p, &w.head);
    add_bias(&mut head, &w.head.b);
    let per_row = shape.horizon * shape.outputs;
    let mut y = vec![0.0; rows * per_row];
    for (r, (out, h)) in y.chunks_exact_mut(per_row).zip(head.chunks_exact(per_row)).enumerate() {
        let (center, spread) = revin[r];
        for (j, &v) in h.iter().enumerate() {
            let v = match w.revin {
                Some([aw, ab]) => (v - ab) / (aw + REVIN_EPS * REVIN_EPS),
                None => v,
            };
            // Step-major head outputs, one row of the horizon per output.
            let (step, output) = (j / shape.outputs, j % shape.outputs);
            out[output * shape.horizon + step] = v * spread + center;
        }
    }
    let cache = Cache {
        rows,
        revin,
        z,
        patches,
        mask_embedding,
        layers,
        flat,
        head,
    };
    (y, cache)
}

/// RevIN of each window: its centre (last value or mean) and spread, and
/// the normalised values.
fn revin(x: &[f32], input: usize, subtract_last: bool) -> (Vec<(f32, f32)>, Vec<f32>) {
    let mut stats = Vec::with_capacity(x.len() / input);
    let mut z = take(x.len());
    for (window, out) in x.chunks_exact(input).zip(z.chunks_exact_mut(input)) {
        let n = input as f32;
        let mean = window.iter().sum::<f32>() / n;
        let var = window.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let spread = (var + REVIN_EPS).sqrt();
        let center = if subtract_last { window[input - 1] } else { mean };
        out.iter_mut().zip(window).for_each(|(z, v)| *z = (v - center) / spread);
        stats.push((center, spread));
    }
    (stats, z)
}

/// Per-channel sums of `f(row, c)` over the rows of `[n, d]` buffers: in
/// parallel pieces of rows (vectorised over the channels), the pieces'
/// sums added in their order, so the result does not depend on the
/// thread count.
pub(super) fn channel_sums<const K: usize>(
    n: usize,
    d: usize,
    f: impl Fn(usize, &mut [[f32; K]]) + Sync,
) -> Vec<[f64; K]> {
    let pieces: Vec<Vec<[f32; K]>> = (0..n.div_ceil(PIECE_TOKENS))
        .into_par_iter()
        .map(|piece| {
            let mut acc = vec![[0.0f32; K]; d];
            with_best_isa(|| {
                for row in piece * PIECE_TOKENS..((piece + 1) * PIECE_TOKENS).min(n) {
                    f(row, &mut acc);
                }
            });
            acc
        })
        .collect();
    let mut total = vec![[0.0f64; K]; d];
    for piece in pieces {
        for (t, a) in total.iter_mut().zip(piece) {
            for k in 0..K {
                t[k] += f64::from(a[k]);
            }
        }
    }
    total
}

/// A batch norm of `m [tokens, d]` in place with the batch's statistics
/// per channel (mean, then the mean squared deviation from it).
fn batch_norm(m: &mut [f32], norm: &HostNorm) -> NormCache {
    let d = norm.gamma.len();
    let n = m.len() / d;
    let count = n.max(1) as f64;
    let sums = channel_sums::<1>(n, d, |r, acc| {
        let row = &m[r * d..(r + 1) * d];
        for (a, v) in acc.iter_mut().zip(row) {
            a[0] += v;
        }
    });
    let mean: Vec<f32> = sums.iter().map(|s| (s[0] / count) as f32).collect();
    let squares = channel_sums::<1>(n, d, |r, acc| {
        let row = &m[r * d..(r + 1) * d];
        for ((a, v), mu) in acc.iter_mut().zip(row).zip(&mean) {
            a[0] += (v - mu) * (v - mu);
        }
    });
    let var: Vec<f64> = squares.iter().map(|s| s[0] / count).collect();
    let inv_std: Vec<f32> = var.iter().map(|v| (1.0 / (v + NORM_EPS).sqrt()) as f32).collect();
    let mut xhat = take(m.len());
    m.par_chunks_mut(PIECE_TOKENS * d)
        .zip(xhat.par_chunks_mut(PIECE_TOKENS * d))
        .for_each(|(m, xhat)| {
            with_best_isa(|| {
                for (row, xr) in m.chunks_exact_mut(d).zip(xhat.chunks_exact_mut(d)) {
                    for c in 0..d {
                        let x = (row[c] - mean[c]) * inv_std[c];
                        xr[c] = x;
                        row[c] = x * norm.gamma[c] + norm.beta[c];
                    }
                }
            })
        });
    NormCache {
        xhat,
        inv_std,
        mean,
        var: var.iter().map(|&v| v as f32).collect(),
    }
}
