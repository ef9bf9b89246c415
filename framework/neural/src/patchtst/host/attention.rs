//! Multi-head self-attention of each window's few patches, forwards and
//! backwards, every head at once. Queries, keys and values come in the
//! host's interleaved order (element `e` of head `h` at `e · heads + h`,
//! [`super::interleaved`]), so that one vector holds an element of every
//! head: with head dimension 8 a dot product per head would be too short
//! to vectorise, while a step over all 16 heads (the default) is one
//! AVX-512 register. Scores and weights are `[windows, p (query), p (key),
//! heads]`. Windows run in parallel; each window's arithmetic is fixed, so
//! nothing depends on the thread count.

use super::scratch::take;
use crate::fastmath::{exp, multiversion};
use crate::patchtst::network::PatchtstShape;
use rayon::prelude::*;

/// One window's sizes: model dimension, patches, heads, the scores' scale.
#[derive(Debug, Clone, Copy)]
struct Dims {
    d: usize,
    p: usize,
    heads: usize,
    scale: f32,
}

impl Dims {
    fn of(shape: &PatchtstShape) -> Self {
        let heads = shape.heads;
        Dims {
            d: shape.d_model,
            p: shape.patches(),
            heads,
            scale: ((shape.d_model / heads) as f32).powf(-0.5),
        }
    }
}

/// The scores (`scale · q kᵀ`, plus `previous`, the layer below's under
/// residual attention), their softmax over the keys and the context
/// `[tokens, d]` (interleaved) of every window.
pub(super) fn attention(
    shape: &PatchtstShape,
    rows: usize,
    qkv: &[f32],
    previous: Option<Vec<f32>>,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let dims = Dims::of(shape);
    let (d, p) = (dims.d, dims.p);
    let block = p * p * dims.heads;
    // Zeroed window by window, in parallel, when there is no previous.
    let fresh = previous.is_none();
    let mut scores = previous.unwrap_or_else(|| take(rows * block));
    let mut probs = take(rows * block);
    let mut context = take(rows * p * d);
    scores
        .par_chunks_mut(block)
        .zip(probs.par_chunks_mut(block))
        .zip(context.par_chunks_mut(p * d))
        .zip(qkv.par_chunks(p * 3 * d))
        .for_each(|(((scores, probs), context), qkv)| {
            if fresh {
                scores.fill(0.0);
            }
            match dims.heads {
                16 => forward_16(&dims, qkv, scores, probs, context),
                _ => forward_any(&dims, qkv, scores, probs, context),
            }
        });
    (scores, probs, context)
}

multiversion! {
    fn forward_16(dims: &Dims, qkv: &[f32], scores: &mut [f32], probs: &mut [f32], context: &mut [f32]) -> () = forward_kernel_16;
}
multiversion! {
    fn forward_any(dims: &Dims, qkv: &[f32], scores: &mut [f32], probs: &mut [f32], context: &mut [f32]) -> () = forward_kernel_any;
}

#[inline(always)]
fn forward_kernel_16(dims: &Dims, qkv: &[f32], scores: &mut [f32], probs: &mut [f32], context: &mut [f32]) {
    forward_window::<16>(dims, qkv, scores, probs, context)
}

#[inline(always)]
fn forward_kernel_any(dims: &Dims, qkv: &[f32], scores: &mut [f32], probs: &mut [f32], context: &mut [f32]) {
    forward_window::<0>(dims, qkv, scores, probs, context)
}

/// One window forwards; `H` is the number of heads when known at compile
/// time (0: `dims.heads`).
#[inline(always)]
fn forward_window<const H: usize>(
    dims: &Dims,
    qkv: &[f32],
    scores: &mut [f32],
    probs: &mut [f32],
    context: &mut [f32],
) {
    let heads = if H > 0 { H } else { dims.heads };
    let (d, p) = (dims.d, dims.p);
    let hd = d / heads;
    let mut acc = vec![0.0f32; heads];
    let mut total = vec![0.0f32; heads];
    for i in 0..p {
        let q = &qkv[i * 3 * d..][..d];
        let row = &mut scores[i * p * heads..][..p * heads];
        for j in 0..p {
            let k = &qkv[j * 3 * d + d..][..d];
            acc.fill(0.0);
            for e in 0..hd {
                let (qe, ke) = (&q[e * heads..][..heads], &k[e * heads..][..heads]);
                for h in 0..heads {
                    acc[h] += qe[h] * ke[h];
                }
            }
            // Plus the previous layer's score (zero without).
            let s = &mut row[j * heads..][..heads];
            for h in 0..heads {
                s[h] += acc[h] * dims.scale;
            }
        }
        // The softmax over the keys, head by head.
        let prob = &mut probs[i * p * heads..][..p * heads];
        acc.fill(f32::NEG_INFINITY);
        for s in row.chunks_exact(heads) {
            for h in 0..heads {
                acc[h] = acc[h].max(s[h]);
            }
        }
        total.fill(0.0);
        for (pr, s) in prob.chunks_exact_mut(heads).zip(row.chunks_exact(heads)) {
            for h in 0..heads {
                pr[h] = exp(s[h] - acc[h]);
                total[h] += pr[h];
            }
        }
        for pr in prob.chunks_exact_mut(heads) {
            for h in 0..heads {
                pr[h] /= total[h];
            }
        }
        let out = &mut context[i * d..][..d];
        out.fill(0.0);
        for (j, pr) in prob.chunks_exact(heads).enumerate() {
            let v = &qkv[j * 3 * d + 2 * d..][..d];
            for e in 0..hd {
                let (o, v) = (&mut out[e * heads..][..heads], &v[e * heads..][..heads]);
                for h in 0..heads {
                    o[h] += pr[h] * v[h];
                }
            }
        }
    }
}

/// The gradient of queries, keys and values `[tokens, 3d]` from the
/// context's `dcontext`; `dscores` brings the gradient of the scores
/// from the layer above (residual attention) and returns theirs in full.
pub(super) fn attention_backward(
    shape: &PatchtstShape,
    rows: usize,
    (qkv, probs): (&[f32], &[f32]),
    dcontext: &[f32],
    dscores: Option<Vec<f32>>,
) -> (Vec<f32>, Vec<f32>) {
    let dims = Dims::of(shape);
    let (d, p) = (dims.d, dims.p);
    let block = p * p * dims.heads;
    // Zeroed window by window, in parallel (the scores' gradient when the
    // layer above passed none).
    let fresh = dscores.is_none();
    let mut ds = dscores.unwrap_or_else(|| take(rows * block));
    let mut dqkv = take(rows * p * 3 * d);
    ds.par_chunks_mut(block)
        .zip(dqkv.par_chunks_mut(p * 3 * d))
        .zip(probs.par_chunks(block))
        .zip(qkv.par_chunks(p * 3 * d))
        .zip(dcontext.par_chunks(p * d))
        .for_each(|((((ds, dqkv), probs), qkv), dctx)| {
            if fresh {
                ds.fill(0.0);
            }
            dqkv.fill(0.0);
            let window = Window { qkv, probs, dctx };
            match dims.heads {
                16 => backward_16(&dims, &window, ds, dqkv),
                _ => backward_any(&dims, &window, ds, dqkv),
            }
        });
    (dqkv, ds)
}

/// What one window's backward pass reads.
struct Window<'a> {
    qkv: &'a [f32],
    probs: &'a [f32],
    dctx: &'a [f32],
}

multiversion! {
    fn backward_16(dims: &Dims, window: &Window<'_>, ds: &mut [f32], dqkv: &mut [f32]) -> () = backward_kernel_16;
}
multiversion! {
    fn backward_any(dims: &Dims, window: &Window<'_>, ds: &mut [f32], dqkv: &mut [f32]) -> () = backward_kernel_any;
}

#[inline(always)]
fn backward_kernel_16(dims: &Dims, window: &Window<'_>, ds: &mut [f32], dqkv: &mut [f32]) {
    backward_window::<16>(dims, window, ds, dqkv)
}

#[inline(always)]
fn backward_kernel_any(dims: &Dims, window: &Window<'_>, ds: &mut [f32], dqkv: &mut [f32]) {
    backward_window::<0>(dims, window, ds, dqkv)
}

/// One window backwards (`H` as in [`forward_window`]).
#[inline(always)]
fn backward_window<const H: usize>(dims: &Dims, window: &Window<'_>, ds: &mut [f32], dqkv: &mut [f32]) {
    let heads = if H > 0 { H } else { dims.heads };
    let (d, p) = (dims.d, dims.p);
    let hd = d / heads;
    let Window { qkv, probs, dctx } = *window;
    let mut dprob = vec![0.0f32; p * heads];
    let mut weighted = vec![0.0f32; heads];
    for i in 0..p {
        let dc = &dctx[i * d..][..d];
        let prob = &probs[i * p * heads..][..p * heads];
        for j in 0..p {
            let v = &qkv[j * 3 * d + 2 * d..][..d];
            let dp = &mut dprob[j * heads..][..heads];
            if H == 16 {
                // In registers: sixteen heads are one vector.
                let mut acc = [0.0f32; 16];
                for e in 0..hd {
                    let (c, v) = (&dc[e * 16..][..16], &v[e * 16..][..16]);
                    for h in 0..16 {
                        acc[h] += c[h] * v[h];
                    }
                }
                dp.copy_from_slice(&acc);
            } else {
                dp.fill(0.0);
                for e in 0..hd {
                    let (c, v) = (&dc[e * heads..][..heads], &v[e * heads..][..heads]);
                    for h in 0..heads {
                        dp[h] += c[h] * v[h];
                    }
                }
            }
            // The values' gradient.
            let pr = &prob[j * heads..][..heads];
            let dv = &mut dqkv[j * 3 * d + 2 * d..][..d];
            for e in 0..hd {
                let (dv, c) = (&mut dv[e * heads..][..heads], &dc[e * heads..][..heads]);
                for h in 0..heads {
                    dv[h] += pr[h] * c[h];
                }
            }
        }
        // Through the softmax, added to what the layer above passed down.
        weighted.fill(0.0);
        for (pr, dp) in prob.chunks_exact(heads).zip(dprob.chunks_exact(heads)) {
            for h in 0..heads {
                weighted[h] += pr[h] * dp[h];
            }
        }
        let s = &mut ds[i * p * heads..][..p * heads];
        for ((s, pr), dp) in s
            .chunks_exact_mut(heads)
            .zip(prob.chunks_exact(heads))
            .zip(dprob.chunks_exact(heads))
        {
            for h in 0..heads {
                s[h] += pr[h] * (dp[h] - weighted[h]);
            }
        }
    }
    // Queries' gradients from the keys, keys' from the queries.
    let mut scaled = vec![0.0f32; heads];
    for i in 0..p {
        for j in 0..p {
            let g = &ds[(i * p + j) * heads..][..heads];
            for h in 0..heads {
                scaled[h] = g[h] * dims.scale;
            }
            for (to, from) in [(i * 3 * d, j * 3 * d + d), (j * 3 * d + d, i * 3 * d)] {
                for e in 0..hd {
                    let f = &qkv[from + e * heads..][..heads];
                    let t = &mut dqkv[to + e * heads..][..heads];
                    for h in 0..heads {
                        t[h] += scaled[h] * f[h];
                    }
                }
            }
        }
    }
}
