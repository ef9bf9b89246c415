//! Chronos-Bolt's forward pass on the CPU, as the reference's
//! `ChronosBoltModelForForecasting.forward` computes it in evaluation mode:
//! each context standardised by its own mean and deviation (missing values
//! left out), cut into patches with their observed-value masks, embedded by
//! the input residual block, `[REG]` appended; the T5 encoder (RMS norms,
//! unscaled attention with the bucketed relative position bias of the first
//! layer, ReLU feed-forward); a one-token decoder reading the encoder by
//! cross-attention; the output residual block giving every quantile of the
//! next `prediction_length` periods, scaled back.
//!
//! Series are *packed*: a piece's patches laid end to end with no padding,
//! each layer's products over all of them at once, attention series by
//! series. A series' numbers depend on its own context alone (positions
//! are relative, padding is never computed), and pieces are made from the
//! contexts' lengths alone, so results never depend on the thread count.

// Index loops in the kernels: they vectorise where iterator closures inside
// `multiversion!` kernels compile to scalar folds (see patchtst/host).
#![allow(clippy::needless_range_loop)]

use super::config::BoltConfig;
use super::weights::{BoltWeights, Linear, Residual};
use crate::bert::host::balanced_pieces;
use crate::fastmath::{exp, multiversion, sum_by, with_best_isa};
use crate::matmul::{View, matmul};
use rayon::prelude::*;
use std::ops::Range;

/// Encoder tokens per piece of work.
const PIECE_TOKENS: usize = 2048;

/// A loaded Chronos-Bolt model.
#[derive(Debug, Clone)]
pub struct Bolt {
    pub config: BoltConfig,
    pub weights: BoltWeights,
    /// `config.json` as read (written again beside tuned weights).
    pub config_json: String,
}

/// One context ready for the encoder.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// Per patch: its standardised values (0 where missing), then its mask.
    pub patches: Vec<f32>,
    /// Whether each token (patches, then `[REG]`) may be attended to: a
    /// patch with at least one observed value.
    pub attends: Vec<bool>,
    pub loc: f32,
    pub scale: f32,
}

/// Mean and deviation of the observed values of `x`, in single precision
/// as the reference's `InstanceNorm` (an all-missing context: 0 and 1; a
/// constant one: deviation `1e-5`).
pub fn instance_norm(x: &[f32]) -> (f32, f32) {
    let observed = || x.iter().filter(|v| !v.is_nan());
    let n = observed().count();
    if n == 0 {
        return (0.0, 1.0);
    }
    let loc = (observed().map(|&v| f64::from(v)).sum::<f64>() / n as f64) as f32;
    let square = |v: f32| {
        let d = v - loc;
        f64::from(d * d)
    };
    let scale = ((observed().map(|&v| square(v)).sum::<f64>() / n as f64) as f32).sqrt();
    (loc, if scale == 0.0 { 1e-5 } else { scale })
}

/// T5's bucket of a relative position (`key − query`), computed in single
/// precision as the reference does (`_relative_position_bucket`).
pub fn bucket(relative: i64, bidirectional: bool, num_buckets: usize, max_distance: usize) -> usize {
    let mut buckets = num_buckets as i64;
    let mut base = 0;
    let distance = if bidirectional {
        buckets /= 2;
        if relative > 0 {
            base = buckets;
        }
        relative.abs()
    } else {
        -relative.min(0)
    };
    let max_exact = buckets / 2;
    if distance < max_exact {
        return (base + distance) as usize;
    }
    let ratio = (distance as f32 / max_exact as f32).ln() / ((max_distance as f64 / max_exact as f64).ln() as f32);
    let large = max_exact + (ratio * (buckets - max_exact) as f32) as i64;
    (base + large.min(buckets - 1)) as usize
}

/// `y = x w (+ b)` for `x [n, in]`.
fn product(x: &[f32], l: &Linear) -> Vec<f32> {
    let n = x.len() / l.inputs;
    let mut y = vec![0.0; n * l.outputs];
    matmul(
        n,
        l.inputs,
        l.outputs,
        View::rows(x, l.inputs),
        View::rows(&l.w, l.outputs),
        &mut y,
        l.outputs,
        false,
    );
    if let Some(b) = &l.b {
        with_best_isa(|| {
            for row in y.chunks_exact_mut(l.outputs) {
                for (v, b) in row.iter_mut().zip(b) {
                    *v += b;
                }
            }
        });
    }
    y
}

/// `y += x w` for `x [n, in]` (a sub-layer's residual sum).
fn add_product(x: &[f32], l: &Linear, y: &mut [f32]) {
    let n = x.len() / l.inputs;
    matmul(
        n,
        l.inputs,
        l.outputs,
        View::rows(x, l.inputs),
        View::rows(&l.w, l.outputs),
        y,
        l.outputs,
        true,
    );
}

fn relu(x: &mut [f32]) {
    with_best_isa(|| x.iter_mut().for_each(|v| *v = v.max(0.0)));
}

/// T5's layer norm of each row: `x / √(mean(x²) + ε) · w`.
fn rms_norm(x: &[f32], w: &[f32], eps: f32) -> Vec<f32> {
    let d = w.len();
    let mut y = vec![0.0; x.len()];
    with_best_isa(|| {
        for (row, out) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
            let mean = row.iter().map(|v| v * v).sum::<f32>() / d as f32;
            let inv = 1.0 / (mean + eps).sqrt();
            for j in 0..d {
                out[j] = w[j] * (row[j] * inv);
            }
        }
    });
    y
}

/// The residual block of `x [n, in]`.
fn residual(x: &[f32], r: &Residual) -> Vec<f32> {
    let mut hidden = product(x, &r.hidden);
    relu(&mut hidden);
    let mut out = product(&hidden, &r.output);
    let skip = product(x, &r.residual);
    out.iter_mut().zip(&skip).for_each(|(o, s)| *o += s);
    out
}

/// The decoder's cross-attention outputs `[series, inner]` for one query
/// per series (`query [series, inner]`) over the series' encoder states
/// (`encoded [tokens, d]`, at `spans`), with keys and values `encoded ·
/// kv` (`kv [d, 2 · inner]`). Reassociated so that the keys and values
/// of the tokens are never formed: each head's query is taken back through
/// its key weights (`u = W_k q`, scores `= encoded · u`), and the
/// attention-weighted mean of the states goes through the value weights
/// once (`(pᵀ encoded) W_v`): per series `2 · tokens · d · heads`
/// multiplications instead of `2 · tokens · d · inner`.
fn cross_attention(
    query: &[f32],
    kv: &[f32],
    encoded: &[f32],
    spans: &[Range<usize>],
    attends: &[&[bool]],
    cfg: &BoltConfig,
) -> Vec<f32> {
    let (d, inner, dk, heads) = (cfg.d_model, cfg.inner(), cfg.d_kv, cfg.num_heads);
    let series = spans.len();
    // u [series, heads, d].
    let mut u = vec![0.0; series * heads * d];
    for h in 0..heads {
        matmul(
            series,
            dk,
            d,
            View::rows(&query[h * dk..], inner),
            View::rows(&kv[h * dk..], 2 * inner).t(),
            &mut u[h * d..],
            heads * d,
            false,
        );
    }
    // Per series: scores [tokens, heads], then the weighted means [heads, d].
    let mut pooled = vec![0.0; series * heads * d];
    let longest = spans.iter().map(|s| s.len()).max().unwrap_or(0);
    let (mut scores, mut probs) = (vec![0.0; longest * heads], vec![0.0; heads * longest]);
    for (s, (span, mask)) in spans.iter().zip(&masks(attends)).enumerate() {
        let n = span.len();
        let states = &encoded[span.start * d..span.end * d];
        matmul(
            n,
            d,
            heads,
            View::rows(states, d),
            View::rows(&u[s * heads * d..], d).t(),
            &mut scores[..n * heads],
            heads,
            false,
        );
        for h in 0..heads {
            let row = &mut probs[h * n..(h + 1) * n];
            row.iter_mut().enumerate().for_each(|(k, p)| *p = scores[k * heads + h]);
            softmax(row, mask);
        }
        matmul(
            heads,
            n,
            d,
            View::rows(&probs[..heads * n], n),
            View::rows(states, d),
            &mut pooled[s * heads * d..],
            d,
            false,
        );
    }
    let mut context = vec![0.0; series * inner];
    for h in 0..heads {
        matmul(
            series,
            d,
            dk,
            View::rows(&pooled[h * d..], heads * d),
            View::rows(&kv[inner + h * dk..], 2 * inner),
            &mut context[h * dk..],
            inner,
            false,
        );
    }
    context
}

/// `softmax` of `scores` over the keys that may be attended to (`mask`: 1
/// or 0; the others get 0, as the reference's mask of the most negative
/// float gives), after adding `bias` (when given).
#[inline(always)]
fn softmax_kernel(scores: &mut [f32], bias: Option<&[f32]>, mask: &[f32]) {
    let n = scores.len();
    if let Some(bias) = bias {
        for k in 0..n {
            scores[k] += bias[k];
        }
    }
    let mut max = f32::NEG_INFINITY;
    for k in 0..n {
        max = max.max(if mask[k] > 0.0 { scores[k] } else { f32::NEG_INFINITY });
    }
    if max == f32::NEG_INFINITY {
        // Nothing to attend to: the reference's scores are all equal.
        scores.fill(1.0 / n as f32);
        return;
    }
    for k in 0..n {
        scores[k] = exp(scores[k] - max) * mask[k];
    }
    let inverse = 1.0 / sum_by(n, |k| scores[k]);
    for k in 0..n {
        scores[k] *= inverse;
    }
}

/// [`softmax_kernel`] of each row of `scores [rows, n]` plus its slice of
/// the relative position bias: row `q` adds `bias[longest − q ..][..n]`.
#[inline(always)]
fn biased_softmax_rows_kernel(scores: &mut [f32], n: usize, bias: &[f32], longest: usize, mask: &[f32]) {
    for (q, row) in scores.chunks_exact_mut(n).enumerate() {
        softmax_kernel(row, Some(&bias[longest - q..longest - q + n]), mask);
    }
}

multiversion! {
    fn biased_softmax_rows(scores: &mut [f32], n: usize, bias: &[f32], longest: usize, mask: &[f32]) -> () =
        biased_softmax_rows_kernel;
}

#[inline(always)]
fn plain_softmax_kernel(scores: &mut [f32], mask: &[f32]) {
    softmax_kernel(scores, None, mask)
}

multiversion! {
    fn softmax(scores: &mut [f32], mask: &[f32]) -> () = plain_softmax_kernel;
}

/// Each series' tokens' attention mask as 1 or 0.
fn masks(attends: &[&[bool]]) -> Vec<Vec<f32>> {
    attends
        .iter()
        .map(|a| a.iter().map(|&x| if x { 1.0 } else { 0.0 }).collect())
        .collect()
}

impl Bolt {
    fn eps(&self) -> f32 {
        self.config.layer_norm_epsilon as f32
    }

    /// The encoder's input for one context (its last `context_length`
    /// values; NaN = missing).
    pub fn prepare(&self, context: &[f32]) -> Prepared {
        let c = self.config.chronos();
        let context = &context[context.len().saturating_sub(c.context_length)..];
        let (loc, scale) = instance_norm(context);
        let (size, stride) = (c.input_patch_size, c.input_patch_stride);
        let pad = (size - context.len() % size) % size;
        let padded = context.len() + pad;
        let count = if padded < size { 0 } else { (padded - size) / stride + 1 };
        let mut patches = vec![0.0; count * 2 * size];
        let mut attends = Vec::with_capacity(count + 1);
        for p in 0..count {
            let row = &mut patches[p * 2 * size..(p + 1) * 2 * size];
            let mut any = false;
            for j in 0..size {
                let at = p * stride + j;
                let value = if at < pad { f32::NAN } else { context[at - pad] };
                if !value.is_nan() {
                    row[j] = (value - loc) / scale;
                    row[size + j] = 1.0;
                    any = true;
                }
            }
            attends.push(any);
        }
        if c.use_reg_token {
            attends.push(true);
        }
        Prepared {
            patches,
            attends,
            loc,
            scale,
        }
    }

    /// Quantile forecasts `[quantile, prediction_length]` of the next
    /// periods after each context, in the data's scale.
    pub fn predict(&self, contexts: &[&[f32]]) -> Vec<Vec<f32>> {
        let prepared: Vec<Prepared> = contexts.iter().map(|c| self.prepare(c)).collect();
        let lengths: Vec<usize> = prepared.iter().map(|p| p.attends.len()).collect();
        let pieces = balanced_pieces(&lengths, PIECE_TOKENS);
        let out: Vec<Vec<Vec<f32>>> = pieces
            .par_iter()
            .map(|piece| self.predict_piece(&prepared[piece.clone()]))
            .collect();
        out.concat()
    }

    fn predict_piece(&self, piece: &[Prepared]) -> Vec<Vec<f32>> {
        let (encoded, spans) = self.encode(piece);
        let attends: Vec<&[bool]> = piece.iter().map(|p| p.attends.as_slice()).collect();
        let decoded = self.decode(&encoded, &spans, &attends);
        let raw = residual(&decoded, &self.weights.output);
        let width = raw.len() / piece.len().max(1);
        raw.chunks_exact(width.max(1))
            .zip(piece)
            .map(|(row, p)| row.iter().map(|v| v * p.scale + p.loc).collect())
            .collect()
    }

    /// The encoder's output `[tokens, d_model]` of a piece, and each
    /// series' span of tokens.
    fn encode(&self, piece: &[Prepared]) -> (Vec<f32>, Vec<Range<usize>>) {
        let (w, d) = (&self.weights, self.config.d_model);
        let patches: Vec<f32> = piece.iter().flat_map(|p| p.patches.iter().copied()).collect();
        let embedded = residual(&patches, &w.input);
        let tokens: usize = piece.iter().map(|p| p.attends.len()).sum();
        let mut x = vec![0.0; tokens * d];
        let mut spans = Vec::with_capacity(piece.len());
        let (mut row, mut from) = (0, 0);
        for p in piece {
            let count = p.patches.len() / (2 * self.config.chronos().input_patch_size);
            x[row * d..(row + count) * d].copy_from_slice(&embedded[from * d..(from + count) * d]);
            if count < p.attends.len() {
                x[(row + count) * d..(row + count + 1) * d].copy_from_slice(&w.shared[d..2 * d]);
            }
            spans.push(row..row + p.attends.len());
            row += p.attends.len();
            from += count;
        }
        let attends: Vec<&[bool]> = piece.iter().map(|p| p.attends.as_slice()).collect();
        let eps = self.eps();
        for layer in &w.encoder {
            let h = rms_norm(&x, &layer.attention_norm, eps);
            let qkv = product(&h, &layer.qkv);
            let context = self.self_attention(&qkv, &spans, &attends);
            add_product(&context, &layer.out, &mut x);
            let h = rms_norm(&x, &layer.ff_norm, eps);
            let mut up = product(&h, &layer.wi);
            relu(&mut up);
            add_product(&up, &layer.wo, &mut x);
        }
        (rms_norm(&x, &w.encoder_norm, eps), spans)
    }

    /// Bidirectional self-attention of every span of `qkv [tokens, 3 · inner]`
    /// with the relative position bias: the heads' outputs `[tokens, inner]`.
    fn self_attention(&self, qkv: &[f32], spans: &[Range<usize>], attends: &[&[bool]]) -> Vec<f32> {
        let cfg = &self.config;
        let (inner, dk, heads) = (cfg.inner(), cfg.d_kv, cfg.num_heads);
        let tokens = qkv.len() / (3 * inner);
        let mut out = vec![0.0; tokens * inner];
        let longest = spans.iter().map(|s| s.len()).max().unwrap_or(0);
        // Bias per relative position (offset by `longest`), head-major.
        let positions = 2 * longest + 1;
        let mut bias = vec![0.0; heads * positions];
        for r in 0..positions {
            let b = bucket(
                r as i64 - longest as i64,
                true,
                cfg.relative_attention_num_buckets,
                cfg.relative_attention_max_distance,
            );
            for h in 0..heads {
                bias[h * positions + r] = self.weights.position_bias[b * heads + h];
            }
        }
        let mut scores = vec![0.0; longest * longest];
        for (span, mask) in spans.iter().zip(&masks(attends)) {
            let n = span.len();
            let base = &qkv[span.start * 3 * inner..];
            for h in 0..heads {
                let scores = &mut scores[..n * n];
                matmul(
                    n,
                    dk,
                    n,
                    View::rows(&base[h * dk..], 3 * inner),
                    View::rows(&base[inner + h * dk..], 3 * inner).t(),
                    scores,
                    n,
                    false,
                );
                biased_softmax_rows(scores, n, &bias[h * positions..(h + 1) * positions], longest, mask);
                matmul(
                    n,
                    n,
                    dk,
                    View::rows(scores, n),
                    View::rows(&base[2 * inner + h * dk..], 3 * inner),
                    &mut out[span.start * inner + h * dk..],
                    inner,
                    false,
                );
            }
        }
        out
    }

    /// The decoder's last hidden state `[series, d_model]`: one start token
    /// per series, reading the series' encoder span by cross-attention.
    fn decode(&self, encoded: &[f32], spans: &[Range<usize>], attends: &[&[bool]]) -> Vec<f32> {
        let (w, cfg) = (&self.weights, &self.config);
        let d = cfg.d_model;
        let start = cfg.decoder_start_token_id.min(cfg.vocab() - 1);
        let series = spans.len();
        let mut x: Vec<f32> = (0..series)
            .flat_map(|_| w.shared[start * d..(start + 1) * d].iter().copied())
            .collect();
        let eps = self.eps();
        for layer in &w.decoder {
            // Self-attention over the one token: its value, projected.
            let h = rms_norm(&x, &layer.self_norm, eps);
            let value = product(&h, &layer.self_value);
            add_product(&value, &layer.self_out, &mut x);
            // Cross-attention over the series' encoder tokens.
            let h = rms_norm(&x, &layer.cross_norm, eps);
            let query = product(&h, &layer.cross_query);
            let context = cross_attention(&query, &layer.cross_kv.w, encoded, spans, attends, cfg);
            add_product(&context, &layer.cross_out, &mut x);
            let h = rms_norm(&x, &layer.ff_norm, eps);
            let mut up = product(&h, &layer.wi);
            relu(&mut up);
            add_product(&up, &layer.wo, &mut x);
        }
        rms_norm(&x, &w.decoder_norm, eps)
    }
}
