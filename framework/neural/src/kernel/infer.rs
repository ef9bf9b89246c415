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
    let (rows, steps, input) = (w.rows, w.steps, shape.input);
    let mut state = State::new(shape, rows);
    let mut x = vec![0.0; rows * input];
    for t in 0..steps {
        for (b, xb) in x.chunks_exact_mut(input).enumerate() {
            let src = (b * steps + t) * input;
            xb.copy_from_slice(&w.x[src..src + input]);
        }
        advance_kernel(shape, params, &mut state, &x);
    }
    state.outputs(shape, params, w.extra, w.gate)
}

/// The recurrent state of `rows` sequences, advanced one period at a time
/// (what an autoregressive forecast feeds its own draws into).
#[derive(Debug, Clone)]
pub struct State {
    rows: usize,
    /// Per layer: `[input_t, h]` side by side `[rows, in + H]` (the product
    /// with `[W_ih; W_hh]`, which lie one after the other in `params`, is
    /// then one matrix product).
    joined: Vec<Vec<f32>>,
    /// Per layer: the cell states `[rows, H]`.
    cells: Vec<Vec<f32>>,
    /// The gates `[rows, 4H]`.
    z: Vec<f32>,
}

impl State {
    /// Zero states for `rows` sequences.
    pub fn new(shape: &Shape, rows: usize) -> State {
        let h = shape.hidden;
        State {
            rows,
            joined: (0..shape.layers)
                .map(|l| vec![0.0; rows * (shape.layer_input(l) + h)])
                .collect(),
            cells: (0..shape.layers).map(|_| vec![0.0; rows * h]).collect(),
            z: vec![0.0; rows * 4 * h],
        }
    }

    /// Each row repeated `times` (consecutively): `times` copies of every
    /// sequence to continue apart.
    pub fn repeat(&self, times: usize) -> State {
        let spread = |v: &Vec<f32>| -> Vec<f32> {
            let width = v.len() / self.rows.max(1);
            v.chunks_exact(width.max(1))
                .flat_map(|row| std::iter::repeat_n(row, times).flatten().copied())
                .collect()
        };
        State {
            rows: self.rows * times,
            joined: self.joined.iter().map(spread).collect(),
            cells: self.cells.iter().map(spread).collect(),
            z: vec![0.0; self.z.len() * times],
        }
    }

    /// The head's outputs `[rows, outputs]` on the top layer's hidden
    /// states, with `extra [rows, extra]` and gate inputs.
    pub fn outputs(&self, shape: &Shape, params: &[f32], extra: &[f32], gate_inputs: &[f32]) -> Vec<f32> {
        let (rows, h) = (self.rows, shape.hidden);
        let (l, k) = (shape.layers - 1, shape.layer_input(shape.layers - 1) + h);
        let top: Vec<f32> = (0..rows)
            .flat_map(|b| self.joined[l][b * k + k - h..(b + 1) * k].iter().copied())
            .collect();
        let mut gate = vec![0.0; rows * h * usize::from(shape.gate > 0)];
        let mut head_in = vec![0.0; rows * (h + shape.extra)];
        let mut yhat = vec![0.0; rows * shape.outputs];
        head(
            shape,
            params,
            rows,
            &top,
            extra,
            gate_inputs,
            [&mut gate, &mut head_in, &mut yhat],
        );
        yhat
    }
}

multiversion! {
    /// Advances every sequence of `state` by one period of inputs `x [rows, input]`.
    pub fn advance(shape: &Shape, params: &[f32], state: &mut State, x: &[f32]) -> () = advance_kernel;
}

#[inline(always)]
fn advance_kernel(shape: &Shape, params: &[f32], state: &mut State, x: &[f32]) {
    let rows = state.rows;
    let (h, g, input) = (shape.hidden, 4 * shape.hidden, shape.input);
    let State { joined, cells, z, .. } = state;
    let k0 = input + h;
    for (b, xb) in x.chunks_exact(input).enumerate().take(rows) {
        joined[0][b * k0..b * k0 + input].copy_from_slice(xb);
    }
    for l in 0..shape.layers {
        let [o_ih, _, o_b] = shape.layer_offsets(l);
        let (weights, bias) = (&params[o_ih..o_b], &params[o_b..o_b + g]);
        let k = shape.layer_input(l) + h;
        matmul(
            rows,
            k,
            g,
            View::rows(&joined[l], k),
            View::rows(weights, g),
            z,
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
