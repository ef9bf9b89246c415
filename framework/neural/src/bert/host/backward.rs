//! Gradients of one BERT layer ([`super::layer::forward`]) by hand: given
//! the loss's gradient with respect to the layer's output `[n, H]`, adds
//! the weights' gradients to a [`HostLayer`] and returns the gradient with
//! respect to the layer's input. Weight gradients are products over all
//! tokens of the piece (one matrix product each); attention's are span by
//! span and head by head. A test checks them against burn's autodiff.

use super::layer::{Cache, NormCache};
use super::{Dims, HostLayer, Norm};
use crate::fastmath::{dot, gelu_derivative, multiversion, sum_by, with_best_isa};
use crate::matmul::{View, matmul};
use std::ops::Range;

/// Backpropagates `dout [n, H]` through a layer whose forward pass left
/// `cache`; adds into `grads` and returns the input's gradient if
/// `input_grad` (the lowest trained layer needs none).
pub fn backward(
    l: &HostLayer,
    dims: &Dims,
    spans: &[Range<usize>],
    cache: &Cache,
    dout: &[f32],
    grads: &mut HostLayer,
    input_grad: bool,
) -> Option<Vec<f32>> {
    let (h, inner) = (dims.hidden, dims.inner);
    let n = dout.len() / h;
    // Second LayerNorm, then the feed-forward pair.
    let dz2 = norm_backward(dout, &cache.norm2, &l.norm2, &mut grads.norm2);
    weight_gradient(&cache.act, inner, &dz2, h, &mut grads.down_w, &mut grads.down_b);
    let mut dup = vec![0.0; n * inner];
    matmul(
        n,
        h,
        inner,
        View::rows(&dz2, h),
        View::rows(&l.down_w, h).t(),
        &mut dup,
        inner,
        false,
    );
    with_best_isa(|| {
        dup.iter_mut()
            .zip(&cache.up)
            .for_each(|(g, &u)| *g *= gelu_derivative(u))
    });
    weight_gradient(&cache.attended, h, &dup, inner, &mut grads.up_w, &mut grads.up_b);
    let mut dattended = dz2;
    matmul(
        n,
        inner,
        h,
        View::rows(&dup, inner),
        View::rows(&l.up_w, inner).t(),
        &mut dattended,
        h,
        true,
    );
    // First LayerNorm, the attention output projection, attention.
    let dz1 = norm_backward(&dattended, &cache.norm1, &l.norm1, &mut grads.norm1);
    weight_gradient(&cache.context, h, &dz1, h, &mut grads.out_w, &mut grads.out_b);
    let mut dcontext = vec![0.0; n * h];
    matmul(
        n,
        h,
        h,
        View::rows(&dz1, h),
        View::rows(&l.out_w, h).t(),
        &mut dcontext,
        h,
        false,
    );
    let mut dqkv = vec![0.0; n * 3 * h];
    attention_backward(dims, spans, cache, &dcontext, &mut dqkv);
    weight_gradient(&cache.input, h, &dqkv, 3 * h, &mut grads.qkv_w, &mut grads.qkv_b);
    input_grad.then(|| {
        let mut dx = dz1;
        matmul(
            n,
            3 * h,
            h,
            View::rows(&dqkv, 3 * h),
            View::rows(&l.qkv_w, 3 * h).t(),
            &mut dx,
            h,
            true,
        );
        dx
    })
}

/// `dw += xᵀ dy` (`x [n, k]`, `dy [n, m]`) and `db +=` the column sums of `dy`.
fn weight_gradient(x: &[f32], k: usize, dy: &[f32], m: usize, dw: &mut [f32], db: &mut [f32]) {
    let n = dy.len() / m;
    matmul(k, n, m, View::rows(x, k).t(), View::rows(dy, m), dw, m, true);
    with_best_isa(|| {
        for row in dy.chunks_exact(m) {
            db.iter_mut().zip(row).for_each(|(b, g)| *b += g);
        }
    });
}

/// LayerNorm's backward pass: the input's gradient, and `γ`, `β`'s added
/// into `grads`.
fn norm_backward(dy: &[f32], cache: &NormCache, norm: &Norm, grads: &mut Norm) -> Vec<f32> {
    let mut dx = vec![0.0; dy.len()];
    norm_backward_rows(dy, cache, norm, grads, &mut dx);
    dx
}

multiversion! {
    fn norm_backward_rows(dy: &[f32], cache: &NormCache, norm: &Norm, grads: &mut Norm, dx: &mut [f32]) -> () = norm_backward_kernel;
}

#[inline(always)]
fn norm_backward_kernel(dy: &[f32], cache: &NormCache, norm: &Norm, grads: &mut Norm, dx: &mut [f32]) {
    let h = norm.gamma.len();
    {
        let mut dxhat = vec![0.0; h];
        for (r, (g, out)) in dy.chunks_exact(h).zip(dx.chunks_exact_mut(h)).enumerate() {
            let xhat = &cache.xhat[r * h..(r + 1) * h];
            for j in 0..h {
                grads.gamma[j] += g[j] * xhat[j];
                grads.beta[j] += g[j];
                dxhat[j] = g[j] * norm.gamma[j];
            }
            let mean = sum_by(h, |j| dxhat[j]) / h as f32;
            let mean_x = sum_by(h, |j| dxhat[j] * xhat[j]) / h as f32;
            let inv = cache.inv_std[r];
            for j in 0..h {
                out[j] = inv * (dxhat[j] - mean - xhat[j] * mean_x);
            }
        }
    }
}

multiversion! {
    /// Attention's backward pass span by span and head by head: from the
    /// context's gradient to the queries', keys' and values' (`dqkv [n, 3H]`).
    fn attention_backward(
        dims: &Dims,
        spans: &[Range<usize>],
        cache: &Cache,
        dcontext: &[f32],
        dqkv: &mut [f32],
    ) -> () = attention_backward_kernel;
}

#[inline(always)]
fn attention_backward_kernel(dims: &Dims, spans: &[Range<usize>], cache: &Cache, dcontext: &[f32], dqkv: &mut [f32]) {
    let (h, d) = (dims.hidden, dims.head_dim());
    let root = (d as f32).sqrt();
    let qkv = &cache.qkv;
    let mut offset = 0;
    let mut ds = Vec::new();
    for span in spans {
        let len = span.len();
        ds.resize(len * len, 0.0);
        for head in 0..dims.heads {
            let p = &cache.probs[offset..offset + len * len];
            offset += len * len;
            let column = |row: usize, part: usize| (span.start + row) * 3 * h + part * h + head * d;
            for i in 0..len {
                let dc = &dcontext[(span.start + i) * h + head * d..][..d];
                let (pi, dsi) = (&p[i * len..(i + 1) * len], &mut ds[i * len..(i + 1) * len]);
                // dP_ij = dc_i · v_j; dv_j += P_ij dc_i.
                for j in 0..len {
                    dsi[j] = dot(dc, &qkv[column(j, 2)..][..d]);
                    let dv = &mut dqkv[column(j, 2)..][..d];
                    dv.iter_mut().zip(dc).for_each(|(a, g)| *a += pi[j] * g);
                }
                // Softmax: dS_ij = P_ij (dP_ij - Σ_k P_ik dP_ik), and the 1/√d.
                let inner = dot(pi, dsi);
                for j in 0..len {
                    dsi[j] = pi[j] * (dsi[j] - inner) / root;
                }
            }
            // dq_i = Σ_j dS_ij k_j; dk_j += Σ_i dS_ij q_i.
            for i in 0..len {
                let dq = &mut dqkv[column(i, 0)..][..d];
                for j in 0..len {
                    let w = ds[i * len + j];
                    dq.iter_mut()
                        .zip(&qkv[column(j, 1)..][..d])
                        .for_each(|(a, k)| *a += w * k);
                }
            }
            for j in 0..len {
                let dk = &mut dqkv[column(j, 1)..][..d];
                for i in 0..len {
                    let w = ds[i * len + j];
                    dk.iter_mut()
                        .zip(&qkv[column(i, 0)..][..d])
                        .for_each(|(a, q)| *a += w * q);
                }
            }
        }
    }
}
