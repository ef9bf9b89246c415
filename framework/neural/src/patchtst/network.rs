//! The PatchTST network (Nie et al., 2023) as a burn [`Module`], the
//! forward pass of neuralforecast's `PatchTST` (the reference of
//! `tests/goldens/make_patchtst.py`): each window is normalised on its own
//! (RevIN: minus its last value or its mean, over its standard deviation,
//! optionally an affine map), padded at the end with `stride` copies of its
//! last value and cut into patches of `patch_len` periods every `stride`;
//! each patch is projected to `d_model` and given a learned position; a
//! Transformer encoder (multi-head self-attention and a feed-forward layer,
//! each with a residual connection and a batch norm over the model
//! dimension, before or after it; optionally the attention scores of the
//! previous layer added to each layer's, "residual attention") reads the
//! patches; a linear head reads them all flattened and emits the horizon,
//! mapped back by the inverse of the normalisation. Univariate: the
//! window's target alone.
//!
//! Batch norms use the batch's statistics while training (updating their
//! running statistics by momentum 0.1) and the running statistics in
//! inference, as torch's do.

use crate::rng::{SplitMix64, derive};
use crate::window::data::Batch;
use crate::window::layers::{Dropout, Linear, Weights, WeightsError};
use crate::window::{Inputs, Outputs, WindowNetwork};
use burn::module::{Module, Param, RunningState};
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData, activation};
use serde::{Deserialize, Serialize};
use trendlab_spec::WindowTraining;

/// What fixes a PatchTST network's layout besides its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchtstShape {
    pub input_size: usize,
    pub horizon: usize,
    pub patch_len: usize,
    pub stride: usize,
    /// Model dimension.
    pub d_model: usize,
    pub heads: usize,
    /// Width of the feed-forward layer.
    pub ff: usize,
    pub layers: usize,
    /// RevIN subtracts the window's last value (else its mean).
    pub subtract_last: bool,
    /// RevIN's learned affine map.
    pub affine: bool,
    /// Each layer adds the previous layer's attention scores to its own.
    pub residual_attention: bool,
    /// Batch norms before each sub-layer (else after its residual sum).
    pub pre_norm: bool,
    /// ReLU in the feed-forward layer (else GELU).
    pub relu: bool,
    /// Outputs per horizon step: 1, or one per quantile of a quantile loss.
    #[serde(default = "crate::window::one_output")]
    pub outputs: usize,
}

impl PatchtstShape {
    /// Patches of a window: those of the window padded by `stride` at its end.
    pub fn patches(&self) -> usize {
        (self.input_size + self.stride - self.patch_len) / self.stride + 1
    }
}

/// RevIN's variance floor (inside the square root), as the reference's.
const REVIN_EPS: f32 = 1e-5;

#[derive(Module, Debug)]
pub struct EncoderLayer {
    pub(super) q: Linear,
    pub(super) k: Linear,
    pub(super) v: Linear,
    pub(super) out: Linear,
    pub(super) norm_attention: BatchNorm,
    pub(super) ff_in: Linear,
    pub(super) ff_out: Linear,
    pub(super) norm_ff: BatchNorm,
}

#[derive(Module, Debug)]
pub struct PatchtstNetwork {
    /// RevIN's affine weight and bias (`[1]` each), when it has them.
    pub(super) revin_weight: Option<Param<Tensor<1>>>,
    pub(super) revin_bias: Option<Param<Tensor<1>>>,
    pub(super) projection: Linear,
    /// `[patches, d_model]`.
    pub(super) position: Param<Tensor<2>>,
    pub(super) layers: Vec<EncoderLayer>,
    pub(super) head: Linear,
}

fn batch_norm(width: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(width).init(device)
}

impl PatchtstNetwork {
    /// The network of `shape` from a neuralforecast `PatchTST` state dict
    /// in safetensors, its names under `prefix`.
    pub fn from_safetensors(
        shape: &PatchtstShape,
        bytes: &[u8],
        prefix: &str,
        device: &Device,
    ) -> Result<Self, WeightsError> {
        let weights = Weights::new(bytes, prefix)?;
        let (d, p) = (shape.d_model, shape.patches());
        let (revin_weight, revin_bias) = if shape.affine {
            (
                Some(weights.param1("model.revin_layer.affine_weight", 1, device)?),
                Some(weights.param1("model.revin_layer.affine_bias", 1, device)?),
            )
        } else {
            (None, None)
        };
        let norm = |name: &str| -> Result<BatchNorm, WeightsError> {
            let mut bn = batch_norm(d, device);
            bn.gamma = weights.param1(&format!("{name}.weight"), d, device)?;
            bn.beta = weights.param1(&format!("{name}.bias"), d, device)?;
            let tensor = |values: Vec<f32>| Tensor::from_data(TensorData::new(values, [d]), device);
            bn.running_mean = RunningState::new(tensor(weights.read(&format!("{name}.running_mean"), &[d])?));
            bn.running_var = RunningState::new(tensor(weights.read(&format!("{name}.running_var"), &[d])?));
            Ok(bn)
        };
        let layers = (0..shape.layers)
            .map(|l| {
                let at = format!("model.backbone.encoder.layers.{l}");
                let linear = |name: &str, i, o| Linear::read(&weights, &format!("{at}.{name}"), i, o, device);
                Ok(EncoderLayer {
                    q: linear("self_attn.W_Q", d, d)?,
                    k: linear("self_attn.W_K", d, d)?,
                    v: linear("self_attn.W_V", d, d)?,
                    out: linear("self_attn.to_out.0", d, d)?,
                    norm_attention: norm(&format!("{at}.norm_attn.1"))?,
                    ff_in: linear("ff.0", d, shape.ff)?,
                    ff_out: linear("ff.3", shape.ff, d)?,
                    norm_ff: norm(&format!("{at}.norm_ffn.1"))?,
                })
            })
            .collect::<Result<Vec<_>, WeightsError>>()?;
        Ok(PatchtstNetwork {
            revin_weight,
            revin_bias,
            projection: Linear::read(&weights, "model.backbone.W_P", shape.patch_len, d, device)?,
            position: weights.param2("model.backbone.W_pos", [p, d], device)?,
            layers,
            head: Linear::read(
                &weights,
                "model.head.linear",
                d * p,
                shape.horizon * shape.outputs,
                device,
            )?,
        })
    }

    fn init_random(shape: &PatchtstShape, seed: u64, device: &Device) -> Self {
        let (d, p) = (shape.d_model, shape.patches());
        let mut rng = SplitMix64::new(derive(seed, &[0]));
        let one = |v: f32| Param::from_tensor(Tensor::from_data(TensorData::new(vec![v], [1]), device));
        let (revin_weight, revin_bias) = (shape.affine.then(|| one(1.0)), shape.affine.then(|| one(0.0)));
        let position: Vec<f32> = (0..p * d).map(|_| (2.0 * rng.next_f32() - 1.0) * 0.02).collect();
        let layers = (0..shape.layers)
            .map(|l| {
                let mut rng = SplitMix64::new(derive(seed, &[1, l as u64]));
                let mut linear = |i, o| Linear::init(i, o, &mut rng, device);
                EncoderLayer {
                    q: linear(d, d),
                    k: linear(d, d),
                    v: linear(d, d),
                    out: linear(d, d),
                    norm_attention: batch_norm(d, device),
                    ff_in: linear(d, shape.ff),
                    ff_out: linear(shape.ff, d),
                    norm_ff: batch_norm(d, device),
                }
            })
            .collect();
        PatchtstNetwork {
            revin_weight,
            revin_bias,
            projection: Linear::init(shape.patch_len, d, &mut rng, device),
            position: Param::from_tensor(Tensor::from_data(TensorData::new(position, [p, d]), device)),
            layers,
            head: Linear::init(d * p, shape.horizon * shape.outputs, &mut rng, device),
        }
    }

    /// Forecasts `[rows, outputs * horizon]` (one row of the horizon per
    /// output) from windows `x` (`[rows, input_size]`, oldest first);
    /// `dropout` on the attention and feed-forward outputs and the patch
    /// embeddings while training.
    pub fn forward(&self, shape: &PatchtstShape, x: Tensor<2>, dropout: Option<Dropout>) -> Tensor<2> {
        let [rows, input] = x.dims();
        let (d, p, heads) = (shape.d_model, shape.patches(), shape.heads);
        let head_dim = d / heads;
        // RevIN.
        let center = if shape.subtract_last {
            x.clone().narrow(1, input - 1, 1)
        } else {
            x.clone().mean_dim(1)
        };
        let mean = x.clone().mean_dim(1);
        let spread = ((x.clone() - mean).powi_scalar(2).mean_dim(1) + REVIN_EPS).sqrt();
        let mut z = (x - center.clone()) / spread.clone();
        if let (Some(w), Some(b)) = (&self.revin_weight, &self.revin_bias) {
            z = z * w.val().unsqueeze_dim(0) + b.val().unsqueeze_dim(0);
        }
        // End padding and patches: [rows, p, patch_len].
        let last = z.clone().narrow(1, input - 1, 1).repeat_dim(1, shape.stride);
        let padded = Tensor::cat(vec![z, last], 1);
        let patches: Vec<Tensor<3>> = (0..p)
            .map(|k| {
                padded
                    .clone()
                    .narrow(1, k * shape.stride, shape.patch_len)
                    .unsqueeze_dim(1)
            })
            .collect();
        let patches = Tensor::cat(patches, 1);
        let mut u = self.projection.forward3(patches) + self.position.val().unsqueeze_dim(0);
        u = Dropout::apply(dropout, u, &[0]);
        let scale = (head_dim as f32).powf(-0.5);
        let mut previous: Option<Tensor<4>> = None;
        for (l, layer) in self.layers.iter().enumerate() {
            let path = |k: u64| [1, l as u64, k];
            let mut src = u;
            if shape.pre_norm {
                src = norm(&layer.norm_attention, src);
            }
            let split = |t: Tensor<3>| t.reshape([rows, p, heads, head_dim]).swap_dims(1, 2);
            let q = split(layer.q.forward3(src.clone()));
            let k = split(layer.k.forward3(src.clone()));
            let v = split(layer.v.forward3(src.clone()));
            let mut scores = q.matmul(k.swap_dims(2, 3)) * scale;
            if let Some(prev) = previous.take() {
                scores = scores + prev;
            }
            let weights = activation::softmax(scores.clone(), 3);
            if shape.residual_attention {
                previous = Some(scores);
            }
            let attended = weights.matmul(v).swap_dims(1, 2).reshape([rows, p, d]);
            let attended = layer.out.forward3(attended);
            src = src + Dropout::apply(dropout, attended, &path(0));
            if !shape.pre_norm {
                src = norm(&layer.norm_attention, src);
            }
            if shape.pre_norm {
                src = norm(&layer.norm_ff, src);
            }
            let hidden = layer.ff_in.forward3(src.clone());
            let hidden = if shape.relu {
                activation::relu(hidden)
            } else {
                activation::gelu(hidden)
            };
            let hidden = Dropout::apply(dropout, hidden, &path(1));
            src = src + Dropout::apply(dropout, layer.ff_out.forward3(hidden), &path(2));
            if !shape.pre_norm {
                src = norm(&layer.norm_ff, src);
            }
            u = src;
        }
        // The head reads [d_model, patches] flattened, model dimension first.
        let flat = u.swap_dims(1, 2).reshape([rows, d * p]);
        let mut y = self.head.forward(flat);
        if let (Some(w), Some(b)) = (&self.revin_weight, &self.revin_bias) {
            y = (y - b.val().unsqueeze_dim(0)) / (w.val().unsqueeze_dim(0) + REVIN_EPS * REVIN_EPS);
        }
        let y = y * spread + center;
        if shape.outputs == 1 {
            return y;
        }
        // The head emits every output of a step together (step-major).
        y.reshape([rows, shape.horizon, shape.outputs])
            .swap_dims(1, 2)
            .reshape([rows, shape.outputs * shape.horizon])
    }
}

/// A batch norm over the model dimension of `[rows, patches, d_model]`.
fn norm(bn: &BatchNorm, x: Tensor<3>) -> Tensor<3> {
    bn.forward(x.swap_dims(1, 2)).swap_dims(1, 2)
}

impl WindowNetwork for PatchtstNetwork {
    type Shape = PatchtstShape;
    const NAME: &'static str = "patchtst";

    fn init(shape: &PatchtstShape, seed: u64, device: &Device) -> Self {
        Self::init_random(shape, seed, device)
    }

    fn outputs(shape: &PatchtstShape) -> usize {
        shape.outputs
    }

    fn forward_windows(&self, shape: &PatchtstShape, inputs: Inputs, dropout: Option<Dropout>) -> Tensor<2> {
        self.forward(shape, inputs.y, dropout)
    }

    /// The host path ([`super::host`]): burn's autodiff spends most of a
    /// PatchTST step outside its matrix products.
    fn host_step(
        &self,
        shape: &PatchtstShape,
        batch: &Batch,
        dropout: Dropout,
        loss: (&WindowTraining, &Outputs),
    ) -> Option<(f64, GradientsParams)> {
        Some(super::host::train_step(self, shape, batch, dropout, loss))
    }
}
