//! The kernel's forward pass for inference: no training caches, windows
//! read where they lie (window-major, as [`crate::samples::Samples`] holds
//! them) instead of copied time-major, and the layers advanced together
//! step by step, so a piece of windows needs only each layer's
//! `[input_t, h_t]` side by side, its cell states and one `[rows, 4H]`
//! gate buffer, which stay in cache. A step of a layer is one matrix
//! product of `[input_t, h_t]` with `[W_ih; W_hh]` (they lie one after the
//! other in the parameters) by the `gemm` crate's AVX-512 kernels
//! ([`crate::matmul`]), the bias added in the gate loop.
//!
//! The training pass ([`super::forward`]) adds the two products to the bias
//! one after the other; here they are summed first, so predictions differ
//! from it by rounding (a test bounds the difference at 1e-5 relative).

use super::{Shape, head};
use crate::fastmath::{multiversion, sigmoid, tanh};
use crate::matmul::{View, matmul};

/// A piece of windows for inference.
#[derive(Debug, Clone, Copy)]
pub struct Windows<'a> {
    pub rows: usize,
    pub steps: usize,
    /// `[rows, steps, input]`.
    pub x: &'a [f32],
    /// `[rows, extra]`.
    pub extra: &'a [f32],
    /// The gate's inputs `[rows, gate]` (empty without a gate).
    pub gate: &'a [f32],
}

multiversion! {
    /// Predictions `[rows, outputs]` of the network `params` for `windows`.
    pub fn predict(shape: &Shape, params: &[f32], windows: &Windows<'_>) -> Vec<f32> = run;
}

#[inline(always)]
fn run(shape: &Shape, params: &[f32], w: &Windows<'_>) -> Vec<f32> {
    let (rows, steps) = (w.rows, w.steps);
    let (h, g) = (shape.hidden, 4 * shape.hidden);
    // Per layer: [input_t, h] side by side [rows, in + H] (the product with
    // [W_ih; W_hh], which lie one after the other in `params`, is then one
    // matrix product), and the cell states [rows, H].
    let widths: Vec<usize> = (0..shape.layers).map(|l| shape.layer_input(l) + h).collect();
    let mut joined: Vec<Vec<f32>> = widths.iter().map(|k| vec![0.0; rows * k]).collect();
    let mut cells: Vec<Vec<f32>> = (0..shape.layers).map(|_| vec![0.0; rows * h]).collect();
    let mut z = vec![0.0; rows * g];
    let input = shape.input;
    for t in 0..steps {
        for b in 0..rows {
            let src = (b * steps + t) * input;
            joined[0][b * widths[0]..b * widths[0] + input].copy_from_slice(&w.x[src..src + input]);
        }
        for l in 0..shape.layers {
            let [o_ih, _, o_b] = shape.layer_offsets(l);
            let (weights, bias) = (&params[o_ih..o_b], &params[o_b..o_b + g]);
            let k = widths[l];
            matmul(
                rows,
                k,
                g,
                View::rows(&joined[l], k),
                View::rows(weights, g),
                &mut z,
                g,
                false,
            );
            let (this, above) = joined.split_at_mut(l + 1);
            let xh = &mut this[l];
            let cs = &mut cells[l];
            let at = k - h;
            for b in 0..rows {
                let zb = &mut z[b * g..(b + 1) * g];
                zb.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
                let (ifg, o) = zb.split_at_mut(3 * h);
                let (i_f, gg) = ifg.split_at_mut(2 * h);
                i_f.iter_mut().for_each(|v| *v = sigmoid(*v));
                gg.iter_mut().for_each(|v| *v = tanh(*v));
                o.iter_mut().for_each(|v| *v = sigmoid(*v));
                let (i, f) = i_f.split_at(h);
                let hb = &mut xh[b * k + at..(b + 1) * k];
                let cb = &mut cs[b * h..(b + 1) * h];
                for j in 0..h {
                    let c = f[j] * cb[j] + i[j] * gg[j];
                    cb[j] = c;
                    hb[j] = o[j] * tanh(c);
                }
                if let Some(next) = above.first_mut() {
                    let kn = h + h;
                    next[b * kn..b * kn + h].copy_from_slice(hb);
                }
            }
        }
    }
    let top: Vec<f32> = {
        let (l, k) = (shape.layers - 1, widths[shape.layers - 1]);
        (0..rows)
            .flat_map(|b| joined[l][b * k + k - h..(b + 1) * k].to_vec())
            .collect()
    };
    let top = &top;
    let mut gate = vec![0.0; rows * h * usize::from(shape.gate > 0)];
    let mut head_in = vec![0.0; rows * (h + shape.extra)];
    let mut yhat = vec![0.0; rows * shape.outputs];
    head(
        shape,
        params,
        rows,
        top,
        w.extra,
        w.gate,
        [&mut gate, &mut head_in, &mut yhat],
    );
    yhat
}
