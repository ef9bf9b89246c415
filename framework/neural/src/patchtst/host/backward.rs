//! PatchTST's backward pass on the host: from the loss's gradient with
//! respect to the forecasts back through RevIN's inverse, the head, each
//! encoder layer (batch norms with batch statistics, feed-forward,
//! attention with the gradient that residual attention hands to the layer
//! below) and the patch embedding, to every parameter's gradient. A
//! residual connection's gradient is accumulated by the product that
//! computes the sub-layer's input gradient.

use super::attention::attention_backward;
use super::forward::{Cache, LayerCache, NormCache, PIECE_TOKENS, REVIN_EPS, channel_sums};
use super::scratch::{give, take};
use super::{HostLayer, HostLinear, HostNorm, HostWeights};
use crate::fastmath::with_best_isa;
use crate::matmul::{View, par_rows, par_weight_gradient};
use crate::patchtst::network::PatchtstShape;
use rayon::prelude::*;

/// The gradients of every weight, given `upstream`, the loss's gradient
/// with respect to the forecasts `[rows, outputs · horizon]`; the cache's
/// buffers are given back for later steps.
pub(crate) fn backward(w: &HostWeights, shape: &PatchtstShape, cache: Cache, upstream: Vec<f32>) -> HostWeights {
    let (d, p, len) = (shape.d_model, shape.patches(), shape.patch_len);
    let rows = cache.rows;
    let mut g = w.zeros_like();
    // Through RevIN's inverse, back to the head's step-major outputs.
    let per_row = shape.horizon * shape.outputs;
    let mut dhead = vec![0.0; rows * per_row];
    let mut revin = [0.0f64; 2];
    for r in 0..rows {
        let spread = cache.revin[r].1;
        for j in 0..per_row {
            let (step, output) = (j / shape.outputs, j % shape.outputs);
            let dy = upstream[r * per_row + output * shape.horizon + step] * spread;
            dhead[r * per_row + j] = match w.revin {
                Some([aw, ab]) => {
                    let denominator = aw + REVIN_EPS * REVIN_EPS;
                    let v = cache.head[r * per_row + j];
                    revin[0] -= f64::from(dy * (v - ab) / (denominator * denominator));
                    revin[1] -= f64::from(dy / denominator);
                    dy / denominator
                }
                None => dy,
            };
        }
    }
    par_weight_gradient(&cache.flat, d * p, &dhead, per_row, &mut g.head.w, &mut g.head.b);
    let mut dflat = take(rows * d * p);
    par_rows(
        per_row,
        d * p,
        &dhead,
        View::rows(&w.head.w, per_row).t(),
        &mut dflat,
        false,
    );
    let mut du = take(rows * p * d);
    du.par_chunks_mut(p * d)
        .zip(dflat.par_chunks(p * d))
        .for_each(|(t, f)| {
            for k in 0..p {
                for c in 0..d {
                    t[k * d + c] = f[c * p + k];
                }
            }
        });
    give([dflat]);
    // The layers, the gradient of each layer's scores passed down.
    let mut dscores: Option<Vec<f32>> = None;
    for l in (0..w.layers.len()).rev() {
        du = layer_backward(
            shape,
            rows,
            (&w.layers[l], &cache.layers[l]),
            du,
            &mut dscores,
            &mut g.layers[l],
        );
    }
    give(dscores);
    // The patch embedding.
    if let Some(mask) = &cache.mask_embedding {
        multiply(&mut du, mask);
    }
    for window in du.chunks_exact(p * d) {
        for (g, v) in g.position.iter_mut().zip(window) {
            *g += v;
        }
    }
    par_weight_gradient(&cache.patches, len, &du, d, &mut g.projection.w, &mut g.projection.b);
    if let Some(grads) = g.revin.as_mut() {
        // The affine map's share through the patches: each patch value is
        // `z · aw + ab` of one period of the padded window.
        let mut dpatches = vec![0.0; rows * p * len];
        par_rows(d, len, &du, View::rows(&w.projection.w, d).t(), &mut dpatches, false);
        let input = shape.input_size;
        for (r, window) in dpatches.chunks_exact(p * len).enumerate() {
            for (k, patch) in window.chunks_exact(len).enumerate() {
                for (i, dv) in patch.iter().enumerate() {
                    let z = cache.z[r * input + (k * shape.stride + i).min(input - 1)];
                    revin[0] += f64::from(dv * z);
                    revin[1] += f64::from(*dv);
                }
            }
        }
        *grads = [revin[0] as f32, revin[1] as f32];
    }
    give([du]);
    cache.recycle();
    g
}

/// One encoder layer backwards: the gradient of its input from that of its
/// output `dout`; `dscores` brings the gradient of this layer's scores
/// from the layer above and takes the one of the layer below's.
fn layer_backward(
    shape: &PatchtstShape,
    rows: usize,
    (w, cache): (&HostLayer, &LayerCache),
    dout: Vec<f32>,
    dscores: &mut Option<Vec<f32>>,
    g: &mut HostLayer,
) -> Vec<f32> {
    if shape.pre_norm {
        // out = b + FF(b), b = BN_ff(r1), r1 = a + Att(a), a = BN_attention(x).
        let mut db = dout;
        feed_forward_backward(shape, (w, cache), &mut db, g);
        let mut dr1 = norm_backward(&db, &cache.norm_ff, &w.norm_ff, &mut g.norm_ff);
        give([db]);
        attention_sub_backward(shape, rows, (w, cache), &mut dr1, dscores, g);
        let dx = norm_backward(&dr1, &cache.norm_attention, &w.norm_attention, &mut g.norm_attention);
        give([dr1]);
        dx
    } else {
        // out = BN_ff(r2), r2 = b + FF(b), b = BN_attention(r1), r1 = x + Att(x).
        let mut dr2 = norm_backward(&dout, &cache.norm_ff, &w.norm_ff, &mut g.norm_ff);
        give([dout]);
        feed_forward_backward(shape, (w, cache), &mut dr2, g);
        let mut dr1 = norm_backward(&dr2, &cache.norm_attention, &w.norm_attention, &mut g.norm_attention);
        give([dr2]);
        attention_sub_backward(shape, rows, (w, cache), &mut dr1, dscores, g);
        dr1
    }
}

/// `x ⊙= mask`.
fn multiply(x: &mut [f32], mask: &[f32]) {
    x.par_chunks_mut(PIECE_TOKENS * 64)
        .zip(mask.par_chunks(PIECE_TOKENS * 64))
        .for_each(|(x, m)| {
            with_best_isa(|| {
                for (v, m) in x.iter_mut().zip(m) {
                    *v *= m;
                }
            })
        });
}

/// `dy ⊙ mask` in a taken buffer (a copy of `dy` without a mask).
fn masked(dy: &[f32], mask: Option<&Vec<f32>>) -> Vec<f32> {
    let mut out = take(dy.len());
    out.copy_from_slice(dy);
    if let Some(mask) = mask {
        multiply(&mut out, mask);
    }
    out
}

/// `dx += dy · wᵀ` for a layer `w [k, m]`: its input's gradient `[n, k]`
/// added to `dx`.
fn add_input_gradient(dy: &[f32], l: &HostLinear, dx: &mut [f32]) {
    let m = l.b.len();
    let k = l.w.len() / m;
    par_rows(m, k, dy, View::rows(&l.w, m).t(), dx, true);
}

/// The feed-forward sub-layer backwards: `dio` holds the gradient of its
/// residual sum `b + FF(b)` and leaves with that of `b`.
fn feed_forward_backward(
    shape: &PatchtstShape,
    (w, cache): (&HostLayer, &LayerCache),
    dio: &mut [f32],
    g: &mut HostLayer,
) {
    let (d, ff) = (shape.d_model, shape.ff);
    let dy = masked(dio, cache.mask_ff.as_ref());
    par_weight_gradient(&cache.hidden, ff, &dy, d, &mut g.ff_out.w, &mut g.ff_out.b);
    let mut dh = take(dy.len() / d * ff);
    par_rows(d, ff, &dy, View::rows(&w.ff_out.w, d).t(), &mut dh, false);
    give([dy]);
    multiply(&mut dh, &cache.slope);
    par_weight_gradient(&cache.b, d, &dh, ff, &mut g.ff_in.w, &mut g.ff_in.b);
    add_input_gradient(&dh, &w.ff_in, dio);
    give([dh]);
}

/// The attention sub-layer backwards: `dio` holds the gradient of its
/// residual sum `a + Att(a)` and leaves with that of `a`.
fn attention_sub_backward(
    shape: &PatchtstShape,
    rows: usize,
    (w, cache): (&HostLayer, &LayerCache),
    dio: &mut [f32],
    dscores: &mut Option<Vec<f32>>,
    g: &mut HostLayer,
) {
    let d = shape.d_model;
    let dy = masked(dio, cache.mask_attention.as_ref());
    par_weight_gradient(&cache.context, d, &dy, d, &mut g.out.w, &mut g.out.b);
    let mut dcontext = take(dy.len());
    par_rows(d, d, &dy, View::rows(&w.out.w, d).t(), &mut dcontext, false);
    give([dy]);
    let (dqkv, ds) = attention_backward(shape, rows, (&cache.qkv, &cache.probs), &dcontext, dscores.take());
    give([dcontext]);
    match shape.residual_attention {
        true => *dscores = Some(ds),
        false => give([ds]),
    }
    par_weight_gradient(&cache.a, d, &dqkv, 3 * d, &mut g.qkv.w, &mut g.qkv.b);
    add_input_gradient(&dqkv, &w.qkv, dio);
    give([dqkv]);
}

/// A batch norm (batch statistics) backwards: the input's gradient, and
/// `γ`, `β`'s added into `g`.
fn norm_backward(dy: &[f32], cache: &NormCache, norm: &HostNorm, g: &mut HostNorm) -> Vec<f32> {
    let d = norm.gamma.len();
    let n = dy.len() / d;
    let sums = channel_sums::<2>(n, d, |r, acc| {
        let (row, xhat) = (&dy[r * d..(r + 1) * d], &cache.xhat[r * d..(r + 1) * d]);
        for c in 0..d {
            acc[c][0] += row[c];
            acc[c][1] += row[c] * xhat[c];
        }
    });
    let count = n.max(1) as f64;
    for (c, [sum, sum_xhat]) in sums.iter().enumerate() {
        g.beta[c] += *sum as f32;
        g.gamma[c] += *sum_xhat as f32;
    }
    let mean: Vec<f32> = sums.iter().map(|s| (s[0] / count) as f32).collect();
    let mean_xhat: Vec<f32> = sums.iter().map(|s| (s[1] / count) as f32).collect();
    let factor: Vec<f32> = (0..d).map(|c| norm.gamma[c] * cache.inv_std[c]).collect();
    let mut dx = take(dy.len());
    dx.par_chunks_mut(PIECE_TOKENS * d)
        .zip(dy.par_chunks(PIECE_TOKENS * d))
        .zip(cache.xhat.par_chunks(PIECE_TOKENS * d))
        .for_each(|((dx, dy), xhat)| {
            with_best_isa(|| {
                for ((o, g), x) in dx.chunks_exact_mut(d).zip(dy.chunks_exact(d)).zip(xhat.chunks_exact(d)) {
                    for c in 0..d {
                        o[c] = factor[c] * (g[c] - mean[c] - x[c] * mean_xhat[c]);
                    }
                }
            })
        });
    dx
}
