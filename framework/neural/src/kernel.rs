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
//! compiled twice, for x86-64-v3 and portable, and chosen at run time too.
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

/// Forward pass without dropout; predictions land in `ws.yhat`.
pub fn predict(shape: &Shape, params: &[f32], batch: &Batch<'_>, ws: &mut Workspace) {
    with_best_isa(|| forward(shape, params, batch, ws, None));
}

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
) -> f64 {
    with_best_isa(|| {
        forward(shape, params, batch, ws, dropout);
        backward(shape, params, batch, ws, scale, grads)
    })
}

/// Runs `f` compiled for AVX2 + FMA when the CPU has them (everything
/// `#[inline(always)]` below is inlined into it), else portable.
#[inline(always)]
fn with_best_isa<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        fn v3<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports the enabled features (checked above).
            return unsafe { v3(f) };
        }
    }
    f()
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
    // Gate: σ(u W_g + b_g).
    if shape.gate > 0 {
        let [o_gw, o_gb] = shape.gate_offsets();
        for row in ws.gate.chunks_exact_mut(h) {
            row.copy_from_slice(&params[o_gb..o_gb + h]);
        }
        gemm(
            rows,
            shape.gate,
            h,
            batch.gate,
            (shape.gate, 1),
            &params[o_gw..o_gb],
            (h, 1),
            1.0,
            &mut ws.gate,
            h,
        );
        ws.gate.iter_mut().for_each(|v| *v = sigmoid(*v));
    }
    // Head: [h_T (⊙ gate), extra] W + b.
    let top = &ws.layers[shape.layers - 1].out[(steps - 1) * rows * h..];
    let width = h + shape.extra;
    for b in 0..rows {
        let row = &mut ws.head_in[b * width..(b + 1) * width];
        row[..h].copy_from_slice(&top[b * h..(b + 1) * h]);
        if shape.gate > 0 {
            row[..h]
                .iter_mut()
                .zip(&ws.gate[b * h..(b + 1) * h])
                .for_each(|(v, g)| *v *= g);
        }
        row[h..].copy_from_slice(&batch.extra[b * shape.extra..(b + 1) * shape.extra]);
    }
    let [o_w, o_b] = shape.head_offsets();
    let out = shape.outputs;
    for row in ws.yhat.chunks_exact_mut(out) {
        row.copy_from_slice(&params[o_b..o_b + out]);
    }
    gemm(
        rows,
        width,
        out,
        &ws.head_in,
        (width, 1),
        &params[o_w..o_b],
        (out, 1),
        1.0,
        &mut ws.yhat,
        out,
    );
}

#[inline(always)]
fn backward(
    shape: &Shape,
    params: &[f32],
    batch: &Batch<'_>,
    ws: &mut Workspace,
    scale: f32,
    grads: &mut [f32],
) -> f64 {
    let Batch { rows, steps, .. } = *batch;
    let (h, g, out) = (shape.hidden, 4 * shape.hidden, shape.outputs);
    let width = h + shape.extra;
    let mut sse = 0.0f64;
    for ((d, p), y) in ws.dy.iter_mut().zip(&ws.yhat).zip(batch.y) {
        let e = p - y;
        sse += f64::from(e) * f64::from(e);
        *d = 2.0 * e * scale;
    }
    // Head gradients, and the gradient reaching the top layer's last output.
    let [o_w, o_b] = shape.head_offsets();
    gemm(
        width,
        rows,
        out,
        &ws.head_in,
        (1, width),
        &ws.dy,
        (out, 1),
        1.0,
        &mut grads[o_w..o_b],
        out,
    );
    for row in ws.dy.chunks_exact(out) {
        for (gb, d) in grads[o_b..o_b + out].iter_mut().zip(row) {
            *gb += d;
        }
    }
    ws.dseq.fill(0.0);
    let last = (steps - 1) * rows * h;
    // d head_in[:, :h] = dy W[:h]ᵀ, into the last step of the top layer.
    gemm(
        rows,
        out,
        h,
        &ws.dy,
        (out, 1),
        &params[o_w..o_w + h * out],
        (1, out),
        0.0,
        &mut ws.dseq[last..],
        h,
    );
    // d extra = dy W[h..]ᵀ.
    gemm(
        rows,
        out,
        shape.extra,
        &ws.dy,
        (out, 1),
        &params[o_w + h * out..o_b],
        (1, out),
        0.0,
        &mut ws.d_extra,
        shape.extra,
    );
    if shape.gate > 0 {
        gate_backward(shape, params, batch, ws, grads, last);
    }
    for l in (0..shape.layers).rev() {
        let [o_ih, o_hh, o_b] = shape.layer_offsets(l);
        let inputs = shape.layer_input(l);
        let (below, rest) = ws.layers.split_at(l);
        let cache = &rest[0];
        // Through this layer's dropout.
        if !cache.mask.is_empty() {
            let span = if l + 1 == shape.layers { last.. } else { 0.. };
            for (d, m) in ws.dseq[span.clone()].iter_mut().zip(&cache.mask[span]) {
                *d *= m;
            }
        }
        ws.dh.fill(0.0);
        ws.dc.fill(0.0);
        let w_hh = &params[o_hh..o_b];
        for t in (0..steps).rev() {
            let span = t * rows * h..(t + 1) * rows * h;
            let zt = &cache.gates[t * rows * g..(t + 1) * rows * g];
            let dzt = &mut ws.dz[t * rows * g..(t + 1) * rows * g];
            let (c_prev, tc, up) = (&cache.c[span.clone()], &cache.tc[span.clone()], &ws.dseq[span]);
            for b in 0..rows {
                let z = &zt[b * g..(b + 1) * g];
                let dz = &mut dzt[b * g..(b + 1) * g];
                let (i, rest) = z.split_at(h);
                let (f, rest) = rest.split_at(h);
                let (gg, o) = rest.split_at(h);
                let (dzi, drest) = dz.split_at_mut(h);
                let (dzf, drest) = drest.split_at_mut(h);
                let (dzg, dzo) = drest.split_at_mut(h);
                let r = b * h..(b + 1) * h;
                let (cp, tcb, upb) = (&c_prev[r.clone()], &tc[r.clone()], &up[r.clone()]);
                let (dh, dc) = (&ws.dh[r.clone()], &mut ws.dc[r]);
                for j in 0..h {
                    let dhj = upb[j] + dh[j];
                    let t = tcb[j];
                    let dcur = dc[j] + dhj * o[j] * (1.0 - t * t);
                    dzi[j] = dcur * gg[j] * i[j] * (1.0 - i[j]);
                    dzf[j] = dcur * cp[j] * f[j] * (1.0 - f[j]);
                    dzg[j] = dcur * i[j] * (1.0 - gg[j] * gg[j]);
                    dzo[j] = dhj * t * o[j] * (1.0 - o[j]);
                    dc[j] = dcur * f[j];
                }
            }
            // Recurrent gradient: dh_{t-1} = dz_t W_hhᵀ.
            gemm(rows, g, h, dzt, (g, 1), w_hh, (1, g), 0.0, &mut ws.dh, h);
        }
        let n = rows * steps;
        // Weight gradients over all steps at once.
        gemm(
            h,
            n,
            g,
            &cache.h[..n * h],
            (1, h),
            &ws.dz,
            (g, 1),
            1.0,
            &mut grads[o_hh..o_b],
            g,
        );
        let x: &[f32] = if l == 0 { batch.x } else { &below[l - 1].out };
        gemm(
            inputs,
            n,
            g,
            x,
            (1, inputs),
            &ws.dz,
            (g, 1),
            1.0,
            &mut grads[o_ih..o_hh],
            g,
        );
        for row in ws.dz.chunks_exact(g) {
            for (gb, d) in grads[o_b..o_b + g].iter_mut().zip(row) {
                *gb += d;
            }
        }
        if l > 0 {
            // Gradient of the layer below's outputs: dX = dZ W_ihᵀ.
            gemm(
                n,
                g,
                inputs,
                &ws.dz,
                (g, 1),
                &params[o_ih..o_hh],
                (1, g),
                0.0,
                &mut ws.dx[..n * inputs],
                inputs,
            );
            ws.dseq.copy_from_slice(&ws.dx[..n * h]);
        }
    }
    sse
}

/// Through the gate: `dseq[last..]` holds the gradient of the gated state
/// `h_T ⊙ s`; it becomes that of `h_T`, and the gate's parameters and
/// inputs get theirs.
#[inline(always)]
fn gate_backward(shape: &Shape, params: &[f32], batch: &Batch<'_>, ws: &mut Workspace, grads: &mut [f32], last: usize) {
    let (rows, h) = (batch.rows, shape.hidden);
    let top = &ws.layers[shape.layers - 1].out[last..];
    // dpre = d(h ⊙ s) ⊙ h ⊙ s(1 - s), kept in ws.gate; d h_T = d(h ⊙ s) ⊙ s.
    for ((d, s), t) in ws.dseq[last..].iter_mut().zip(ws.gate.iter_mut()).zip(top) {
        let gate = *s;
        *s = *d * t * gate * (1.0 - gate);
        *d *= gate;
    }
    let [o_gw, o_gb] = shape.gate_offsets();
    gemm(
        shape.gate,
        rows,
        h,
        batch.gate,
        (1, shape.gate),
        &ws.gate,
        (h, 1),
        1.0,
        &mut grads[o_gw..o_gb],
        h,
    );
    for row in ws.gate.chunks_exact(h) {
        for (gb, d) in grads[o_gb..o_gb + h].iter_mut().zip(row) {
            *gb += d;
        }
    }
    gemm(
        rows,
        h,
        shape.gate,
        &ws.gate,
        (h, 1),
        &params[o_gw..o_gb],
        (1, h),
        0.0,
        &mut ws.d_gate,
        shape.gate,
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

/// `e^x` by `2^(x log2 e)`: the integer part into the exponent bits, a
/// degree-6 polynomial on the remainder in [-ln2/2, ln2/2] (relative
/// error ~3e-7); branch-free, so loops over it vectorise.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2^23: adding it rounds to an integer
    // ln 2 in two parts (Cody & Waite) so that x - n ln 2 is exact enough.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let l = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0 + l * (1.0 + l * (0.5 + l * (1.0 / 6.0 + l * (1.0 / 24.0 + l * (1.0 / 120.0 + l * (1.0 / 720.0))))));
    f32::from_bits(((n as i32 + 127) as u32) << 23) * p
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[inline(always)]
fn tanh(x: f32) -> f32 {
    2.0 * sigmoid(2.0 * x) - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_activations_match_std() {
        for k in -2000..=2000 {
            let x = k as f32 / 50.0;
            let (want, got) = (x.exp(), exp(x));
            assert!(((got - want) / want).abs() < 5e-7, "exp({x}) = {got}, want {want}");
            assert!((sigmoid(x) - 1.0 / (1.0 + (-x).exp())).abs() < 1e-6);
            assert!((tanh(x) - x.tanh()).abs() < 2e-6, "tanh({x})");
        }
        assert!(sigmoid(-200.0).abs() < 1e-30);
        assert_eq!(sigmoid(200.0), 1.0);
    }

    #[test]
    fn offsets_tile_the_parameter_vector() {
        let shape = Shape {
            input: 3,
            hidden: 4,
            layers: 2,
            extra: 2,
            outputs: 5,
            gate: 0,
        };
        let total: usize = shape.tensor_shapes().iter().map(|s| s.iter().product::<usize>()).sum();
        assert_eq!(shape.len(), total);
        assert_eq!(shape.layer_offsets(1)[0], (3 + 4 + 1) * 16);
        assert_eq!(
            shape.head_offsets(),
            [
                (3 + 4 + 1) * 16 + (4 + 4 + 1) * 16,
                (3 + 4 + 1) * 16 + (4 + 4 + 1) * 16 + 6 * 5
            ]
        );
    }

    /// Finite differences of the loss in float64 agree with the kernel's
    /// analytic gradient (the autodiff comparison is in `network`).
    #[test]
    fn gradient_matches_finite_differences() {
        for gate in [0, 2] {
            check_gradient(Shape {
                input: 2,
                hidden: 3,
                layers: 2,
                extra: 1,
                outputs: 2,
                gate,
            });
        }
    }

    fn check_gradient(shape: Shape) {
        let mut rng = crate::rng::SplitMix64::new(7);
        let params: Vec<f32> = (0..shape.len()).map(|_| rng.next_f32() - 0.5).collect();
        let (rows, steps) = (3, 4);
        let x: Vec<f32> = (0..rows * steps * shape.input)
            .map(|_| rng.next_f32() * 2.0 - 1.0)
            .collect();
        let extra: Vec<f32> = (0..rows).map(|_| rng.next_f32()).collect();
        let y: Vec<f32> = (0..rows * shape.outputs).map(|_| rng.next_f32()).collect();
        let gate: Vec<f32> = (0..rows * shape.gate).map(|_| rng.next_f32() * 2.0 - 1.0).collect();
        let batch = Batch {
            rows,
            steps,
            x: &x,
            extra: &extra,
            y: &y,
            gate: &gate,
        };
        let mut ws = Workspace::default();
        let mut grads = vec![0.0; shape.len()];
        train_step(&shape, &params, &batch, &mut ws, None, 1.0, &mut grads);
        let loss = |p: &[f32]| {
            let mut ws = Workspace::default();
            predict(&shape, p, &batch, &mut ws);
            ws.yhat
                .iter()
                .zip(&y)
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>()
        };
        let close = |numeric: f64, analytic: f32, what: &str| {
            let tolerance = 2e-3 * numeric.abs().max(0.05);
            assert!(
                (numeric - f64::from(analytic)).abs() < tolerance,
                "{what} (gate {}): numeric {numeric}, analytic {analytic}",
                shape.gate
            );
        };
        let eps = 1e-2;
        let central = |up: f64, down: f64| (up - down) / (2.0 * f64::from(eps));
        for k in 0..shape.len() {
            let mut p = params.clone();
            p[k] += eps;
            let up = loss(&p);
            p[k] -= 2.0 * eps;
            close(central(up, loss(&p)), grads[k], &format!("parameter {k}"));
        }
        // Gradients of the inputs that an embedding would feed.
        let input_loss = |extra: &[f32], gate: &[f32]| {
            let mut ws = Workspace::default();
            predict(&shape, &params, &Batch { extra, gate, ..batch }, &mut ws);
            ws.yhat
                .iter()
                .zip(&y)
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>()
        };
        for k in 0..extra.len() {
            let (mut up, mut down) = (extra.clone(), extra.clone());
            up[k] += eps;
            down[k] -= eps;
            close(
                central(input_loss(&up, &gate), input_loss(&down, &gate)),
                ws.d_extra[k],
                "d extra",
            );
        }
        for k in 0..gate.len() {
            let (mut up, mut down) = (gate.clone(), gate.clone());
            up[k] += eps;
            down[k] -= eps;
            close(
                central(input_loss(&extra, &up), input_loss(&extra, &down)),
                ws.d_gate[k],
                "d gate",
            );
        }
    }
}
