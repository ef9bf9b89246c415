//! The CPU LSTM kernel: forward pass and backpropagation through time of a
//! stacked LSTM with a linear head, on host `f32` buffers.
//!
//! Why not burn's autodiff on the CPU: a step of an LSTM is a handful of
//! tiny tensor ops, and on `flex` each one allocates, copies its slices
//! back in the backward pass and evaluates `exp`/`tanh` one scalar at a
//! time; the matrix products are under a tenth of the time (profiled: 3–5×
//! slower than PyTorch). Here each layer does one matrix product for the
//! input projection of all steps, one `[B, H] × [H, 4H]` product per step,
//! and the gate nonlinearities in one fused, vectorisable loop; the
//! backward pass hoists the weight gradients out of the time loop (one
//! product each over all steps). Matrix products are `matrixmultiply`'s
//! sgemm, which picks AVX2/FMA kernels at run time; the elementwise loops are
//! compiled for the best instruction set at run time too ([`crate::fastmath`]).
//!
//! The same network runs on any burn device through [`crate::network`]; a
//! test checks both give the same loss and gradients.
//!
//! Layouts (row-major): inputs time-major `[T, B, F]`; per layer `w_ih
//! [in, 4H]`, `w_hh [H, 4H]`, `bias [4H]` with gate blocks in PyTorch's
//! order i, f, g, o; head `w [H + E, out]`, `b [out]` reading the top
//! layer's last hidden state and `E` extra inputs (future calendar and
//! covariates). With a gate (`Shape::gate = G > 0`, the text fusion of
//! BERT-fusion), the head reads `h_T ⊙ σ(u W_g + b_g)` instead of `h_T`,
//! for a per-sample input `u [G]`: `w_g [G, H]`, `b_g [H]` follow the head.

mod backward;
pub mod infer;

use crate::fastmath::{multiversion, sigmoid, tanh};
use backward::backward;

/// Sizes of a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Features per time step.
    pub input: usize,
    pub hidden: usize,
    pub layers: usize,
    /// Extra head inputs per sample (known values of the forecast dates).
    pub extra: usize,
    /// Outputs per sample (the horizon).
    pub outputs: usize,
    /// Inputs of the gate on the last hidden state (0: no gate).
    pub gate: usize,
}

impl Shape {
    fn layer_input(&self, layer: usize) -> usize {
        if layer == 0 { self.input } else { self.hidden }
    }

    /// Offsets of layer `l`'s `w_ih`, `w_hh` and `bias` in the flat vector.
    pub fn layer_offsets(&self, layer: usize) -> [usize; 3] {
        let g = 4 * self.hidden;
        let start: usize = (0..layer).map(|l| (self.layer_input(l) + self.hidden + 1) * g).sum();
        let w_hh = start + self.layer_input(layer) * g;
        [start, w_hh, w_hh + self.hidden * g]
    }

    /// Offsets of the head's weight and bias.
    pub fn head_offsets(&self) -> [usize; 2] {
        let start = self.layer_offsets(self.layers)[0];
        [start, start + (self.hidden + self.extra) * self.outputs]
    }

    /// Offsets of the gate's weight and bias (after the head).
    pub fn gate_offsets(&self) -> [usize; 2] {
        let start = self.head_offsets()[1] + self.outputs;
        [start, start + self.gate * self.hidden]
    }

    /// Length of the flat parameter (and gradient) vector.
    #[allow(clippy::len_without_is_empty)] // a network always has parameters
    pub fn len(&self) -> usize {
        let [_, bias] = self.gate_offsets();
        if self.gate == 0 { bias } else { bias + self.hidden }
    }

    /// Shapes of the parameter tensors, in flat order.
    pub fn tensor_shapes(&self) -> Vec<Vec<usize>> {
        let g = 4 * self.hidden;
        let mut shapes = Vec::new();
        for l in 0..self.layers {
            shapes.extend([vec![self.layer_input(l), g], vec![self.hidden, g], vec![g]]);
        }
        shapes.extend([vec![self.hidden + self.extra, self.outputs], vec![self.outputs]]);
        if self.gate > 0 {
            shapes.extend([vec![self.gate, self.hidden], vec![self.hidden]]);
        }
        shapes
    }
}

/// A batch (or a shard of one): `rows` samples of `steps` time steps.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    pub rows: usize,
    pub steps: usize,
    /// `[steps, rows, input]`.
    pub x: &'a [f32],
    /// `[rows, extra]`.
    pub extra: &'a [f32],
    /// `[rows, outputs]`.
    pub y: &'a [f32],
    /// The gate's inputs `[rows, gate]` (empty without a gate).
    pub gate: &'a [f32],
}

/// Inverted dropout on each layer's outputs: keep probability `1 - rate`,
/// masks drawn from `seed` (so a shard's masks do not depend on threads).
#[derive(Debug, Clone, Copy)]
pub struct Dropout {
    pub rate: f32,
    pub seed: u64,
}

impl Dropout {
    /// Layer `layer`'s mask: `1 / keep` with probability `keep`, else 0.
    pub fn fill_mask(&self, layer: usize, mask: &mut [f32]) {
        let mut rng = crate::rng::SplitMix64::new(crate::rng::derive(self.seed, &[layer as u64]));
        let keep = 1.0 - self.rate;
        for m in mask.iter_mut() {
            *m = if rng.next_f32() < keep { 1.0 / keep } else { 0.0 };
        }
    }
}

/// Buffers of one shard, reused across batches.
#[derive(Debug, Default)]
pub struct Workspace {
    rows: usize,
    steps: usize,
    layers: Vec<LayerCache>,
    head_in: Vec<f32>,
    /// Gate activations `[rows, H]` (without a gate: empty).
    gate: Vec<f32>,
    /// Predictions `[rows, outputs]`.
    pub yhat: Vec<f32>,
    /// After a training step: the loss's gradient with respect to the
    /// extra head inputs `[rows, extra]` and the gate inputs `[rows, gate]`
    /// (what trains an embedding that feeds them).
    pub d_extra: Vec<f32>,
    pub d_gate: Vec<f32>,
    dy: Vec<f32>,
    dz: Vec<f32>,
    dh: Vec<f32>,
    dc: Vec<f32>,
    /// Upstream gradient of a layer's output sequence `[T, B, H]`.
    dseq: Vec<f32>,
    dx: Vec<f32>,
}

#[derive(Debug, Default)]
struct LayerCache {
    /// Activated gates `[T, B, 4H]`.
    gates: Vec<f32>,
    /// Cell states `[T + 1, B, H]` (step 0: zeros).
    c: Vec<f32>,
    /// `tanh(c_t)` `[T, B, H]`.
    tc: Vec<f32>,
    /// Hidden states `[T + 1, B, H]` (step 0: zeros).
    h: Vec<f32>,
    /// Dropout mask on the outputs (scaled keep indicators), `[T, B, H]`;
    /// empty without dropout.
    mask: Vec<f32>,
    /// The outputs after dropout, the next layer's inputs `[T, B, H]`.
    out: Vec<f32>,
}

impl Workspace {
    fn fit(&mut self, shape: &Shape, rows: usize, steps: usize) {
        if self.rows == rows
            && self.steps == steps
            && self.layers.len() == shape.layers
            && self.d_gate.len() == rows * shape.gate
        {
            return;
        }
        let (h, g) = (shape.hidden, 4 * shape.hidden);
        let n = rows * steps;
        self.rows = rows;
        self.steps = steps;
        self.layers = (0..shape.layers)
            .map(|_| LayerCache {
                gates: vec![0.0; n * g],
                c: vec![0.0; n * h + rows * h],
                tc: vec![0.0; n * h],
                h: vec![0.0; n * h + rows * h],
                mask: Vec::new(),
                out: vec![0.0; n * h],
            })
            .collect();
        self.head_in = vec![0.0; rows * (h + shape.extra)];
        self.gate = vec![0.0; rows * h * usize::from(shape.gate > 0)];
        self.d_extra = vec![0.0; rows * shape.extra];
        self.d_gate = vec![0.0; rows * shape.gate];
        self.yhat = vec![0.0; rows * shape.outputs];
        self.dy = vec![0.0; rows * shape.outputs];
        self.dz = vec![0.0; n * g];
        self.dh = vec![0.0; rows * h];
        self.dc = vec![0.0; rows * h];
        self.dseq = vec![0.0; n * h];
        self.dx = vec![0.0; n * h.max(shape.input)];
    }
}

multiversion! {
    /// Forward pass without dropout; predictions land in `ws.yhat`.
    pub fn predict(shape: &Shape, params: &[f32], batch: &Batch<'_>, ws: &mut Workspace) -> () = predict_kernel;
}

#[inline(always)]
fn predict_kernel(shape: &Shape, params: &[f32], batch: &Batch<'_>, ws: &mut Workspace) {
    forward(shape, params, batch, ws, None);
}

multiversion! {
    /// Forward and backward pass of one shard: adds `scale ·` the gradient of
    /// the summed squared error to `grads` and returns that sum.
    pub fn train_step(
        shape: &Shape,
        params: &[f32],
        batch: &Batch<'_>,
        ws: &mut Workspace,
        dropout: Option<Dropout>,
        scale: f32,
        grads: &mut [f32],
    ) -> f64 = train_step_kernel;
}

#[inline(always)]
fn train_step_kernel(
    shape: &Shape,
    params: &[f32],
    batch: &Batch<'_>,
    ws: &mut Workspace,
    dropout: Option<Dropout>,
    scale: f32,
    grads: &mut [f32],
) -> f64 {
    forward(shape, params, batch, ws, dropout);
    let mut sse = 0.0f64;
    for ((d, p), y) in ws.dy.iter_mut().zip(&ws.yhat).zip(batch.y) {
        let e = p - y;
        sse += f64::from(e) * f64::from(e);
        *d = 2.0 * e * scale;
    }
    backward(shape, params, batch, ws, grads);
    sse
}

/// A loss on the head's outputs, for [`train_step_with`]: given the
/// outputs `[rows, outputs]`, returns the loss and fills its gradient with
/// respect to them (same layout).
pub type OutputLoss<'a> = &'a (dyn Fn(&[f32], &mut [f32]) -> f64 + Sync);

multiversion! {
    /// As [`train_step`], for any loss on the outputs (a likelihood's):
    /// adds the gradient of what `loss` returns to `grads` and returns it.
    pub fn train_step_with(
        shape: &Shape,
        params: &[f32],
        batch: &Batch<'_>,
        ws: &mut Workspace,
        dropout: Option<Dropout>,
        loss: OutputLoss<'_>,
        grads: &mut [f32],
    ) -> f64 = train_step_with_kernel;
}

#[inline(always)]
fn train_step_with_kernel(
    shape: &Shape,
    params: &[f32],
    batch: &Batch<'_>,
    ws: &mut Workspace,
    dropout: Option<Dropout>,
    loss: OutputLoss<'_>,
    grads: &mut [f32],
) -> f64 {
    forward(shape, params, batch, ws, dropout);
    let value = loss(&ws.yhat, &mut ws.dy);
    backward(shape, params, batch, ws, grads);
    value
}

#[inline(always)]
fn forward(shape: &Shape, params: &[f32], batch: &Batch<'_>, ws: &mut Workspace, dropout: Option<Dropout>) {
    let Batch { rows, steps, .. } = *batch;
    ws.fit(shape, rows, steps);
    let (h, g) = (shape.hidden, 4 * shape.hidden);
    for l in 0..shape.layers {
        let [o_ih, o_hh, o_b] = shape.layer_offsets(l);
        let inputs = shape.layer_input(l);
        let (w_ih, w_hh, bias) = (&params[o_ih..o_hh], &params[o_hh..o_b], &params[o_b..o_b + g]);
        let (below, rest) = ws.layers.split_at_mut(l);
        let cache = &mut rest[0];
        let x: &[f32] = if l == 0 { batch.x } else { &below[l - 1].out };
        // Input projection of every step at once: Z = X W_ih + b.
        for row in cache.gates.chunks_exact_mut(g) {
            row.copy_from_slice(bias);
        }
        gemm(
            rows * steps,
            inputs,
            g,
            x,
            (inputs, 1),
            w_ih,
            (g, 1),
            1.0,
            &mut cache.gates,
            g,
        );
        cache.c[..rows * h].fill(0.0);
        cache.h[..rows * h].fill(0.0);
        for t in 0..steps {
            let zt = &mut cache.gates[t * rows * g..(t + 1) * rows * g];
            let (h_prev, h_next) = cache.h.split_at_mut((t + 1) * rows * h);
            let h_prev = &h_prev[t * rows * h..];
            gemm(rows, h, g, h_prev, (h, 1), w_hh, (g, 1), 1.0, zt, g);
            let (c_prev, c_next) = cache.c.split_at_mut((t + 1) * rows * h);
            let c_prev = &c_prev[t * rows * h..];
            let tc = &mut cache.tc[t * rows * h..(t + 1) * rows * h];
            for b in 0..rows {
                let z = &mut zt[b * g..(b + 1) * g];
                let (ifg, o) = z.split_at_mut(3 * h);
                let (i_f, gg) = ifg.split_at_mut(2 * h);
                i_f.iter_mut().for_each(|v| *v = sigmoid(*v));
                gg.iter_mut().for_each(|v| *v = tanh(*v));
                o.iter_mut().for_each(|v| *v = sigmoid(*v));
                let (i, f) = i_f.split_at(h);
                let r = b * h..(b + 1) * h;
                let (cp, cn, tcb, hn) = (
                    &c_prev[r.clone()],
                    &mut c_next[r.clone()],
                    &mut tc[r.clone()],
                    &mut h_next[r],
                );
                for j in 0..h {
                    let c = f[j] * cp[j] + i[j] * gg[j];
                    cn[j] = c;
                    let t = tanh(c);
                    tcb[j] = t;
                    hn[j] = o[j] * t;
                }
            }
        }
        // Outputs after dropout: the whole sequence below the top layer,
        // the last step (read by the head) on the top layer.
        let seq = &cache.h[rows * h..];
        match dropout.filter(|d| d.rate > 0.0) {
            Some(d) => {
                cache.mask.resize(steps * rows * h, 0.0);
                d.fill_mask(l, &mut cache.mask);
                for ((o, v), m) in cache.out.iter_mut().zip(seq).zip(&cache.mask) {
                    *o = v * m;
                }
            }
            None => {
                cache.mask.clear();
                cache.out.copy_from_slice(seq);
            }
        }
    }
    let top = &ws.layers[shape.layers - 1].out[(steps - 1) * rows * h..];
    let Workspace {
        gate, head_in, yhat, ..
    } = ws;
    head(shape, params, rows, top, batch.extra, batch.gate, [gate, head_in, yhat]);
}

/// The gate `σ(u W_g + b_g)` (with one) and the head `[h_T (⊙ gate),
/// extra] W + b` for the top layer's last states `top [rows, H]`: fills
/// `gate [rows, H]` (empty without a gate), `head_in [rows, H + extra]` and
/// `yhat [rows, outputs]`, each already of its size.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn head(
    shape: &Shape,
    params: &[f32],
    rows: usize,
    top: &[f32],
    extra: &[f32],
    gate_inputs: &[f32],
    [gate, head_in, yhat]: [&mut Vec<f32>; 3],
) {
    let h = shape.hidden;
    if shape.gate > 0 {
        let [o_gw, o_gb] = shape.gate_offsets();
        for row in gate.chunks_exact_mut(h) {
            row.copy_from_slice(&params[o_gb..o_gb + h]);
        }
        gemm(
            rows,
            shape.gate,
            h,
            gate_inputs,
            (shape.gate, 1),
            &params[o_gw..o_gb],
            (h, 1),
            1.0,
            gate,
            h,
        );
        gate.iter_mut().for_each(|v| *v = sigmoid(*v));
    }
    let width = h + shape.extra;
    for b in 0..rows {
        let row = &mut head_in[b * width..(b + 1) * width];
        row[..h].copy_from_slice(&top[b * h..(b + 1) * h]);
        if shape.gate > 0 {
            row[..h]
                .iter_mut()
                .zip(&gate[b * h..(b + 1) * h])
                .for_each(|(v, g)| *v *= g);
        }
        row[h..].copy_from_slice(&extra[b * shape.extra..(b + 1) * shape.extra]);
    }
    let [o_w, o_b] = shape.head_offsets();
    let out = shape.outputs;
    for row in yhat.chunks_exact_mut(out) {
        row.copy_from_slice(&params[o_b..o_b + out]);
    }
    gemm(
        rows,
        width,
        out,
        head_in,
        (width, 1),
        &params[o_w..o_b],
        (out, 1),
        1.0,
        yhat,
        out,
    );
}

/// `c[m×n] = a[m×k] · b[k×n] + beta · c` with `(row, column)` strides for
/// `a` and `b` (so either may be read transposed) and row stride `rsc`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn gemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    (rsa, csa): (usize, usize),
    b: &[f32],
    (rsb, csb): (usize, usize),
    beta: f32,
    c: &mut [f32],
    rsc: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    assert!(k == 0 || (a.len() > last(m, k, rsa, csa) && b.len() > last(k, n, rsb, csb)));
    assert!(c.len() > last(m, n, rsc, 1));
    // SAFETY: the asserts above keep every access inside the slices.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            rsa as isize,
            csa as isize,
            b.as_ptr(),
            rsb as isize,
            csb as isize,
            beta,
            c.as_mut_ptr(),
            rsc as isize,
            1,
        )
    }
}

#[cfg(test)]
mod tests;
