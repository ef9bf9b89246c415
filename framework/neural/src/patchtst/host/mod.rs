//! PatchTST's training step on the CPU without burn's autodiff, the way
//! the LSTM kernel and BERT's host path go: the weights copied out of the
//! burn module, the forward pass of [`super::network`] on flat buffers
//! keeping what backpropagation needs ([`forward`]), the gradients by hand
//! ([`backward`]) handed back to burn's Adam as burn gradients, and the
//! batch norms' running statistics updated as burn's training forward
//! updates them. Matrix products are `gemm`'s in pieces of fixed size
//! ([`crate::matmul`]); every other loop runs over fixed pieces of windows
//! or a fixed order, so a step's numbers never depend on the thread count.
//! Attention runs every head at once ([`attention`]); activations and
//! gradients live in buffers reused from step to step ([`scratch`]).
//! Tested against burn's autodiff on the same step: the same loss,
//! gradients and running statistics within 1e-4.

// Index loops over a row's channels or heads are what the compiler keeps
// in vector registers inside the AVX-512 kernels (iterator adaptors are
// not always inlined there).
#![allow(clippy::needless_range_loop)]

mod attention;
mod backward;
mod forward;
mod scratch;

use super::network::{EncoderLayer, PatchtstNetwork, PatchtstShape};
use crate::window::Outputs;
use crate::window::data::Batch;
use crate::window::layers::{Dropout, Linear, host_values, register};
use crate::window::loss::window_loss;
use burn::nn::BatchNorm;
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};
use trendlab_spec::WindowTraining;

/// A linear layer on the host: `w [in, out]` row-major, `b [out]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostLinear {
    pub w: Vec<f32>,
    pub b: Vec<f32>,
}

impl HostLinear {
    fn of(linear: &Linear) -> Self {
        let (w, b) = linear.to_host();
        HostLinear { w, b }
    }

    fn zeros_like(&self) -> Self {
        HostLinear {
            w: vec![0.0; self.w.len()],
            b: vec![0.0; self.b.len()],
        }
    }
}

/// A batch norm's affine map on the host (its running statistics are not
/// read while training).
#[derive(Debug, Clone, Default)]
pub(crate) struct HostNorm {
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
}

impl HostNorm {
    fn of(norm: &BatchNorm) -> Self {
        HostNorm {
            gamma: host_values(&norm.gamma),
            beta: host_values(&norm.beta),
        }
    }

    fn zeros_like(&self) -> Self {
        HostNorm {
            gamma: vec![0.0; self.gamma.len()],
            beta: vec![0.0; self.beta.len()],
        }
    }
}

/// One encoder layer ([`host_layer`]'s layout).
#[derive(Debug, Clone, Default)]
pub(crate) struct HostLayer {
    pub qkv: HostLinear,
    pub out: HostLinear,
    pub norm_attention: HostNorm,
    pub ff_in: HostLinear,
    pub ff_out: HostLinear,
    pub norm_ff: HostNorm,
}

/// The network's weights on the host; its gradients have the same form.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostWeights {
    /// RevIN's affine weight and bias, when it has them.
    pub revin: Option<[f32; 2]>,
    pub projection: HostLinear,
    /// `[patches, d_model]`.
    pub position: Vec<f32>,
    pub layers: Vec<HostLayer>,
    pub head: HostLinear,
}

impl HostWeights {
    fn of(network: &PatchtstNetwork, heads: usize) -> Self {
        let revin = match (&network.revin_weight, &network.revin_bias) {
            (Some(w), Some(b)) => Some([host_values(w)[0], host_values(b)[0]]),
            _ => None,
        };
        HostWeights {
            revin,
            projection: HostLinear::of(&network.projection),
            position: host_values(&network.position),
            layers: network.layers.iter().map(|l| host_layer(l, heads)).collect(),
            head: HostLinear::of(&network.head),
        }
    }

    fn zeros_like(&self) -> Self {
        HostWeights {
            revin: self.revin.map(|_| [0.0; 2]),
            projection: self.projection.zeros_like(),
            position: vec![0.0; self.position.len()],
            layers: self
                .layers
                .iter()
                .map(|l| HostLayer {
                    qkv: l.qkv.zeros_like(),
                    out: l.out.zeros_like(),
                    norm_attention: l.norm_attention.zeros_like(),
                    ff_in: l.ff_in.zeros_like(),
                    ff_out: l.ff_out.zeros_like(),
                    norm_ff: l.norm_ff.zeros_like(),
                })
                .collect(),
            head: self.head.zeros_like(),
        }
    }

    /// These gradients (of a network with `heads` heads) as burn gradients
    /// of `network`'s parameters.
    fn into_grads(self, network: &PatchtstNetwork, heads: usize) -> GradientsParams {
        let mut grads = GradientsParams::new();
        if let (Some([w, b]), Some(pw), Some(pb)) = (self.revin, &network.revin_weight, &network.revin_bias) {
            register(pw, vec![w], &mut grads);
            register(pb, vec![b], &mut grads);
        }
        network
            .projection
            .register((self.projection.w, self.projection.b), &mut grads);
        register(&network.position, self.position, &mut grads);
        for (g, layer) in self.layers.into_iter().zip(&network.layers) {
            let [q, k, v, out] = burn_order(&g, heads);
            layer.q.register(q, &mut grads);
            layer.k.register(k, &mut grads);
            layer.v.register(v, &mut grads);
            layer.out.register(out, &mut grads);
            layer.ff_in.register((g.ff_in.w, g.ff_in.b), &mut grads);
            layer.ff_out.register((g.ff_out.w, g.ff_out.b), &mut grads);
            for (norm, host) in [(&layer.norm_attention, g.norm_attention), (&layer.norm_ff, g.norm_ff)] {
                register(&norm.gamma, host.gamma, &mut grads);
                register(&norm.beta, host.beta, &mut grads);
            }
        }
        network.head.register((self.head.w, self.head.b), &mut grads);
        grads
    }
}

/// Where channel `c` of the model dimension (element `c % hd` of head
/// `c / hd`, burn's order) sits in the host's interleaved order (`e ·
/// heads + h`), in which one vector holds an element of every head.
fn interleaved(c: usize, heads: usize, hd: usize) -> usize {
    (c % hd) * heads + c / hd
}

/// A layer on the host: queries, keys and values as one `[d, 3d]` product
/// with their output channels interleaved, and the output projection's
/// input rows in that order.
fn host_layer(layer: &EncoderLayer, heads: usize) -> HostLayer {
    let parts = [&layer.q, &layer.k, &layer.v].map(|l| l.to_host());
    let d = parts[0].1.len();
    let hd = d / heads;
    let mut qkv = HostLinear {
        w: vec![0.0; 3 * d * d],
        b: vec![0.0; 3 * d],
    };
    for (part, (w, b)) in parts.iter().enumerate() {
        for c in 0..d {
            let to = part * d + interleaved(c, heads, hd);
            qkv.b[to] = b[c];
            for i in 0..d {
                qkv.w[i * 3 * d + to] = w[i * d + c];
            }
        }
    }
    let (w, b) = layer.out.to_host();
    let mut out = HostLinear { w: vec![0.0; d * d], b };
    for c in 0..d {
        let to = interleaved(c, heads, hd);
        out.w[to * d..(to + 1) * d].copy_from_slice(&w[c * d..(c + 1) * d]);
    }
    HostLayer {
        qkv,
        out,
        norm_attention: HostNorm::of(&layer.norm_attention),
        ff_in: HostLinear::of(&layer.ff_in),
        ff_out: HostLinear::of(&layer.ff_out),
        norm_ff: HostNorm::of(&layer.norm_ff),
    }
}

/// A weight matrix's and a bias's gradients in burn's layout.
type Part = (Vec<f32>, Vec<f32>);

/// The gradients of a host layer's query, key and value products and of
/// its output projection in burn's order of channels.
fn burn_order(g: &HostLayer, heads: usize) -> [Part; 4] {
    let d = g.out.b.len();
    let hd = d / heads;
    let part = |j: usize| -> Part {
        let mut w = vec![0.0; d * d];
        let mut b = vec![0.0; d];
        for c in 0..d {
            let from = j * d + interleaved(c, heads, hd);
            b[c] = g.qkv.b[from];
            for i in 0..d {
                w[i * d + c] = g.qkv.w[i * 3 * d + from];
            }
        }
        (w, b)
    };
    let mut out = vec![0.0; d * d];
    for c in 0..d {
        let from = interleaved(c, heads, hd);
        out[c * d..(c + 1) * d].copy_from_slice(&g.out.w[from * d..(from + 1) * d]);
    }
    [part(0), part(1), part(2), (out, g.out.b.clone())]
}

/// The loss and the parameters' gradients of one training step on `batch`
/// (scaled windows and targets) with `dropout`; the batch norms' running
/// statistics move as burn's training forward moves them.
pub(crate) fn train_step(
    network: &PatchtstNetwork,
    shape: &PatchtstShape,
    batch: &Batch,
    dropout: Dropout,
    loss: (&WindowTraining, &Outputs),
) -> (f64, GradientsParams) {
    let weights = HostWeights::of(network, shape.heads);
    let (prediction, cache) = forward::forward(&weights, shape, &batch.x, batch.rows, Some(dropout));
    for (layer, cached) in network.layers.iter().zip(&cache.layers) {
        update_running(&layer.norm_attention, &cached.norm_attention);
        update_running(&layer.norm_ff, &cached.norm_ff);
    }
    let mut upstream = vec![0.0; prediction.len()];
    let value = window_loss(&prediction, &batch.y, shape.horizon, loss, Some(&mut upstream));
    let grads = backward::backward(&weights, shape, cache, upstream);
    (value, grads.into_grads(network, shape.heads))
}

/// A batch norm's running statistics after a training batch with these
/// statistics: `(1 − momentum) · running + momentum · batch`, burn's rule
/// (the batch's biased variance).
fn update_running(norm: &BatchNorm, batch: &forward::NormCache) {
    let device = norm.gamma.val().device();
    let momentum = norm.momentum as f32;
    for (state, values) in [(&norm.running_mean, &batch.mean), (&norm.running_var, &batch.var)] {
        let old: Vec<f32> = state
            .value_sync()
            .into_data()
            .try_into_vec_as::<f32>()
            .expect("float running statistics");
        let new: Vec<f32> = old
            .iter()
            .zip(values)
            .map(|(o, v)| (1.0 - momentum) * o + momentum * v)
            .collect();
        let len = new.len();
        state.update(Tensor::from_data(TensorData::new(new, [len]), &device));
    }
}

#[cfg(test)]
mod tests;
