//! Backpropagation through time of the kernel's network ([`super::forward`]'s
//! caches and the loss's gradient with respect to the outputs, `ws.dy`, in;
//! gradients out): the weight gradients hoisted out of the time
//! loop (one product each over all steps), the gate's and the head's.

use super::{Batch, Shape, Workspace, gemm};

#[inline(always)]
pub(super) fn backward(shape: &Shape, params: &[f32], batch: &Batch<'_>, ws: &mut Workspace, grads: &mut [f32]) {
    let Batch { rows, steps, .. } = *batch;
    let (h, g, out) = (shape.hidden, 4 * shape.hidden, shape.outputs);
    let width = h + shape.extra;
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
