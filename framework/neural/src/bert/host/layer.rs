//! One BERT layer's forward pass on packed tokens `[n, H]` (post-norm, as
//! Hugging Face's `BertLayer`): `a = LN(x + attention(x) W_o + b_o)`, then
//! `y = LN(a + GELU(a W_up + b_up) W_down + b_down)`. With a [`Cache`] it
//! keeps what [`super::backward`] needs.

use super::{Dims, HostLayer, Norm};
use crate::fastmath::{exp, gelu, multiversion, sum_by, with_best_isa};
use crate::matmul::{View, matmul};
use std::ops::Range;

/// A LayerNorm's normalised inputs `[n, H]` and `1/σ` per row.
#[derive(Debug, Default, Clone)]
pub struct NormCache {
    pub xhat: Vec<f32>,
    pub inv_std: Vec<f32>,
}

/// What backpropagation through one layer needs.
#[derive(Debug, Default, Clone)]
pub struct Cache {
    pub input: Vec<f32>,
    /// Queries, keys and values `[n, 3H]`.
    pub qkv: Vec<f32>,
    /// Attention weights: per span, per head, `L × L`.
    pub probs: Vec<f32>,
    /// Attention output before its projection `[n, H]`.
    pub context: Vec<f32>,
    pub norm1: NormCache,
    /// The first LayerNorm's output `[n, H]`.
    pub attended: Vec<f32>,
    /// Feed-forward pre-activations and activations `[n, I]`.
    pub up: Vec<f32>,
    pub act: Vec<f32>,
    pub norm2: NormCache,
}

/// `(x w + b) + residual` for `x [n, k]`, `w [k, m]`, in burn's order of
/// additions (so that the two paths round alike).
fn linear(x: &[f32], k: usize, w: &[f32], b: &[f32], residual: Option<&[f32]>) -> Vec<f32> {
    let m = b.len();
    let n = x.len() / k;
    let mut out = vec![0.0; n * m];
    matmul(n, k, m, View::rows(x, k), View::rows(w, m), &mut out, m, false);
    with_best_isa(|| {
        for (r, row) in out.chunks_exact_mut(m).enumerate() {
            row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
            if let Some(res) = residual {
                row.iter_mut().zip(&res[r * m..(r + 1) * m]).for_each(|(v, x)| *v += x);
            }
        }
    });
    out
}

/// The layer's output for input `x [n, H]` (texts at `spans`).
pub fn forward(l: &HostLayer, dims: &Dims, spans: &[Range<usize>], x: Vec<f32>, cache: Option<&mut Cache>) -> Vec<f32> {
    let (h, inner) = (dims.hidden, dims.inner);
    let n = x.len() / h;
    let qkv = linear(&x, h, &l.qkv_w, &l.qkv_b, None);
    let probs_len: usize = spans.iter().map(|s| s.len() * s.len() * dims.heads).sum();
    let mut probs = vec![0.0; probs_len];
    let mut context = vec![0.0; n * h];
    attention(dims, spans, &qkv, &mut probs, &mut context);
    // (context W_o + b_o) + x, then LayerNorm.
    let mut attended = linear(&context, h, &l.out_w, &l.out_b, Some(&x));
    let keep = cache.is_some();
    let norm1 = normalize_rows(&mut attended, &l.norm1, dims.eps, keep);
    let mut act = linear(&attended, h, &l.up_w, &l.up_b, None);
    let up = match keep {
        true => act.clone(),
        false => Vec::new(),
    };
    with_best_isa(|| act.iter_mut().for_each(|v| *v = gelu(*v)));
    let mut out = linear(&act, inner, &l.down_w, &l.down_b, Some(&attended));
    let norm2 = normalize_rows(&mut out, &l.norm2, dims.eps, keep);
    if let Some(c) = cache {
        *c = Cache {
            input: x,
            qkv,
            probs,
            context,
            norm1,
            attended,
            up,
            act,
            norm2,
        };
    }
    out
}

/// LayerNorm of every row of `m` in place; the normalised values and
/// `1/σ` if `keep`.
fn normalize_rows(m: &mut [f32], norm: &Norm, eps: f32, keep: bool) -> NormCache {
    let h = norm.gamma.len();
    let rows = m.len() / h;
    let mut cache = match keep {
        true => NormCache {
            xhat: vec![0.0; m.len()],
            inv_std: vec![0.0; rows],
        },
        false => NormCache::default(),
    };
    normalize_each(m, norm, eps, &mut cache);
    cache
}

multiversion! {
    fn normalize_each(m: &mut [f32], norm: &Norm, eps: f32, cache: &mut NormCache) -> () = normalize_each_kernel;
}

/// [`layer_norm_row`] of every row, keeping what `cache` has room for.
#[inline(always)]
fn normalize_each_kernel(m: &mut [f32], norm: &Norm, eps: f32, cache: &mut NormCache) {
    let h = norm.gamma.len();
    let keep = !cache.inv_std.is_empty();
    for (r, row) in m.chunks_exact_mut(h).enumerate() {
        let kept = keep.then(|| (&mut cache.xhat[r * h..(r + 1) * h], &mut cache.inv_std[r]));
        layer_norm_row(row, norm, eps, kept);
    }
}

/// LayerNorm of one row in place (biased variance, as PyTorch's), keeping
/// the normalised values and `1/σ` in `kept`.
#[inline(always)]
pub fn layer_norm_row(row: &mut [f32], norm: &Norm, eps: f32, kept: Option<(&mut [f32], &mut f32)>) {
    let h = row.len();
    let mean = sum_by(h, |j| row[j]) / h as f32;
    let var = sum_by(h, |j| (row[j] - mean) * (row[j] - mean)) / h as f32;
    let inv = 1.0 / (var + eps).sqrt();
    match kept {
        Some((xhat, inv_std)) => {
            *inv_std = inv;
            for j in 0..h {
                let z = (row[j] - mean) * inv;
                xhat[j] = z;
                row[j] = z * norm.gamma[j] + norm.beta[j];
            }
        }
        None => {
            for ((v, g), b) in row.iter_mut().zip(&norm.gamma).zip(&norm.beta) {
                *v = (*v - mean) * inv * g + b;
            }
        }
    }
}

multiversion! {
    /// Multi-head self-attention of each span on its own: scores `q kᵀ / √d`,
    /// softmax over the span, then the weighted values into `context`.
    fn attention(dims: &Dims, spans: &[Range<usize>], qkv: &[f32], probs: &mut [f32], context: &mut [f32]) -> () =
        attention_kernel;
}

#[inline(always)]
fn attention_kernel(dims: &Dims, spans: &[Range<usize>], qkv: &[f32], probs: &mut [f32], context: &mut [f32]) {
    let (h, d) = (dims.hidden, dims.head_dim());
    let root = (d as f32).sqrt();
    let mut offset = 0;
    for span in spans {
        let len = span.len();
        for head in 0..dims.heads {
            let p = &mut probs[offset..offset + len * len];
            offset += len * len;
            let column = |row: usize, part: usize| (span.start + row) * 3 * h + part * h + head * d;
            for i in 0..len {
                let q = &qkv[column(i, 0)..][..d];
                let scores = &mut p[i * len..(i + 1) * len];
                for (j, s) in scores.iter_mut().enumerate() {
                    *s = crate::fastmath::dot(q, &qkv[column(j, 1)..][..d]) / root;
                }
                softmax(scores);
                let out = &mut context[(span.start + i) * h + head * d..][..d];
                out.fill(0.0);
                for (j, &w) in scores.iter().enumerate() {
                    let v = &qkv[column(j, 2)..][..d];
                    out.iter_mut().zip(v).for_each(|(o, v)| *o += w * v);
                }
            }
        }
    }
}

#[inline(always)]
fn softmax(row: &mut [f32]) {
    let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    row.iter_mut().for_each(|v| *v = exp(*v - max));
    let total = sum_by(row.len(), |j| row[j]);
    row.iter_mut().for_each(|v| *v /= total);
}
