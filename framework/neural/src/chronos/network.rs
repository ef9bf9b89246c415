//! Chronos-Bolt as a burn module: the network of [`super::forward`] on
//! burn's tensors, for fine-tuning (autodiff, burn's AdamW) and for the
//! GPU backends. Contexts are prepared on the host as for the CPU path
//! ([`super::forward::Bolt::prepare`]: standardised, patched, masked), then
//! left-padded into a batch with masked patches, as the reference pads.
//! The module is built from, and turned back into, the host weights
//! ([`BoltWeights`]), whose linear layers are already burn's `[in, out]`.

use super::config::BoltConfig;
use super::forward::{Prepared, bucket};
use super::weights::{BoltWeights, DecoderLayer, EncoderLayer, Linear as HostLinear, Residual as HostResidual};
use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{Device, Int, Tensor, TensorData, activation};

#[derive(Module, Debug)]
pub struct Residual {
    hidden: Linear,
    output: Linear,
    residual: Linear,
}

#[derive(Module, Debug)]
pub struct EncoderBlock {
    attention_norm: Param<Tensor<1>>,
    qkv: Linear,
    out: Linear,
    ff_norm: Param<Tensor<1>>,
    wi: Linear,
    wo: Linear,
}

#[derive(Module, Debug)]
pub struct DecoderBlock {
    self_norm: Param<Tensor<1>>,
    self_value: Linear,
    self_out: Linear,
    cross_norm: Param<Tensor<1>>,
    cross_query: Linear,
    cross_kv: Linear,
    cross_out: Linear,
    ff_norm: Param<Tensor<1>>,
    wi: Linear,
    wo: Linear,
}

/// The whole network.
#[derive(Module, Debug)]
pub struct BoltNetwork {
    shared: Param<Tensor<2>>,
    input: Residual,
    encoder: Vec<EncoderBlock>,
    position_bias: Param<Tensor<2>>,
    encoder_norm: Param<Tensor<1>>,
    decoder: Vec<DecoderBlock>,
    decoder_norm: Param<Tensor<1>>,
    output: Residual,
}

/// Contexts prepared and left-padded to one number of patches.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `[series, patches, 2 · patch]`.
    pub patches: Tensor<3>,
    /// `[series, tokens]`: 1 where a token may be attended to.
    pub mask: Tensor<2>,
    pub loc: Vec<f32>,
    pub scale: Vec<f32>,
}

fn vector(v: &[f32], device: &Device) -> Param<Tensor<1>> {
    Param::from_tensor(Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), device))
}

fn matrix(v: &[f32], rows: usize, cols: usize, device: &Device) -> Param<Tensor<2>> {
    Param::from_tensor(Tensor::from_data(TensorData::new(v.to_vec(), [rows, cols]), device))
}

fn linear(l: &HostLinear, device: &Device) -> Linear {
    Linear {
        weight: matrix(&l.w, l.inputs, l.outputs, device),
        bias: l.b.as_ref().map(|b| vector(b, device)),
    }
}

fn residual(r: &HostResidual, device: &Device) -> Residual {
    Residual {
        hidden: linear(&r.hidden, device),
        output: linear(&r.output, device),
        residual: linear(&r.residual, device),
    }
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("float weights")
}

fn host_linear(l: &Linear) -> HostLinear {
    let [inputs, outputs] = l.weight.val().dims();
    HostLinear {
        inputs,
        outputs,
        w: values(l.weight.val()),
        b: l.bias.as_ref().map(|b| values(b.val())),
    }
}

fn host_residual(r: &Residual) -> HostResidual {
    HostResidual {
        hidden: host_linear(&r.hidden),
        output: host_linear(&r.output),
        residual: host_linear(&r.residual),
    }
}

/// T5's layer norm over the last dimension.
fn rms_norm<const D: usize>(x: Tensor<D>, w: &Param<Tensor<1>>, eps: f64) -> Tensor<D> {
    let variance = x.clone().powi_scalar(2).mean_dim(D - 1);
    let normed = x / (variance + eps).sqrt();
    normed * w.val().unsqueeze()
}

impl Residual {
    fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let hidden = activation::relu(self.hidden.forward(x.clone()));
        self.output.forward(hidden) + self.residual.forward(x)
    }
}

impl BoltNetwork {
    /// The module holding `weights`, on `device`.
    pub fn of(weights: &BoltWeights, config: &BoltConfig, device: &Device) -> Self {
        let (d, heads) = (config.d_model, config.num_heads);
        BoltNetwork {
            shared: matrix(&weights.shared, weights.shared.len() / d, d, device),
            input: residual(&weights.input, device),
            encoder: weights
                .encoder
                .iter()
                .map(|l| EncoderBlock {
                    attention_norm: vector(&l.attention_norm, device),
                    qkv: linear(&l.qkv, device),
                    out: linear(&l.out, device),
                    ff_norm: vector(&l.ff_norm, device),
                    wi: linear(&l.wi, device),
                    wo: linear(&l.wo, device),
                })
                .collect(),
            position_bias: matrix(
                &weights.position_bias,
                weights.position_bias.len() / heads,
                heads,
                device,
            ),
            encoder_norm: vector(&weights.encoder_norm, device),
            decoder: weights
                .decoder
                .iter()
                .map(|l| DecoderBlock {
                    self_norm: vector(&l.self_norm, device),
                    self_value: linear(&l.self_value, device),
                    self_out: linear(&l.self_out, device),
                    cross_norm: vector(&l.cross_norm, device),
                    cross_query: linear(&l.cross_query, device),
                    cross_kv: linear(&l.cross_kv, device),
                    cross_out: linear(&l.cross_out, device),
                    ff_norm: vector(&l.ff_norm, device),
                    wi: linear(&l.wi, device),
                    wo: linear(&l.wo, device),
                })
                .collect(),
            decoder_norm: vector(&weights.decoder_norm, device),
            output: residual(&weights.output, device),
        }
    }

    /// The module's weights on the host (the weights it was built from
    /// give the tensors it does not hold).
    pub fn weights(&self, built_from: &BoltWeights) -> BoltWeights {
        let norm = |p: &Param<Tensor<1>>| values(p.val());
        BoltWeights {
            shared: values(self.shared.val()),
            input: host_residual(&self.input),
            encoder: self
                .encoder
                .iter()
                .map(|l| EncoderLayer {
                    attention_norm: norm(&l.attention_norm),
                    qkv: host_linear(&l.qkv),
                    out: host_linear(&l.out),
                    ff_norm: norm(&l.ff_norm),
                    wi: host_linear(&l.wi),
                    wo: host_linear(&l.wo),
                })
                .collect(),
            position_bias: values(self.position_bias.val()),
            encoder_norm: norm(&self.encoder_norm),
            decoder: self
                .decoder
                .iter()
                .map(|l| DecoderLayer {
                    self_norm: norm(&l.self_norm),
                    self_value: host_linear(&l.self_value),
                    self_out: host_linear(&l.self_out),
                    cross_norm: norm(&l.cross_norm),
                    cross_query: host_linear(&l.cross_query),
                    cross_kv: host_linear(&l.cross_kv),
                    cross_out: host_linear(&l.cross_out),
                    ff_norm: norm(&l.ff_norm),
                    wi: host_linear(&l.wi),
                    wo: host_linear(&l.wo),
                })
                .collect(),
            decoder_norm: norm(&self.decoder_norm),
            output: host_residual(&self.output),
            unused: built_from.unused.clone(),
        }
    }

    /// The scaled quantile forecasts `[series, quantiles · prediction_length]`
    /// of a batch (before the contexts' scaling is undone).
    pub fn forward(&self, batch: &Batch, config: &BoltConfig) -> Tensor<2> {
        let (d, heads, dk, inner) = (config.d_model, config.num_heads, config.d_kv, config.inner());
        let eps = config.layer_norm_epsilon;
        let [series, _, _] = batch.patches.dims();
        let [_, tokens] = batch.mask.dims();
        let device = batch.patches.device();
        let mut x = self.input.forward(batch.patches.clone());
        if config.chronos().use_reg_token {
            let reg = self
                .shared
                .val()
                .narrow(0, 1, 1)
                .unsqueeze_dim::<3>(0)
                .expand([series, 1, d]);
            x = Tensor::cat(vec![x, reg], 1);
        }
        // Additive mask [series, 1, 1, tokens]: the most negative float
        // where a token may not be attended to, as the reference's.
        let mask_bias = (batch.mask.clone().neg() + 1.0)
            .mul_scalar(f32::MIN)
            .unsqueeze_dim::<3>(1)
            .unsqueeze_dim::<4>(1);
        let position_bias = self.position_bias(tokens, config, &device);
        let split = |t: Tensor<3>, length: usize| t.reshape([series, length, heads, dk]).swap_dims(1, 2);
        for l in &self.encoder {
            let h = rms_norm(x.clone(), &l.attention_norm, eps);
            let qkv = l.qkv.forward(h);
            let (q, k, v) = (
                split(qkv.clone().narrow(2, 0, inner), tokens),
                split(qkv.clone().narrow(2, inner, inner), tokens),
                split(qkv.narrow(2, 2 * inner, inner), tokens),
            );
            let scores = q.matmul(k.swap_dims(2, 3)) + position_bias.clone() + mask_bias.clone();
            let context = activation::softmax(scores, 3)
                .matmul(v)
                .swap_dims(1, 2)
                .reshape([series, tokens, inner]);
            x = x + l.out.forward(context);
            let h = rms_norm(x.clone(), &l.ff_norm, eps);
            x = x.clone() + l.wo.forward(activation::relu(l.wi.forward(h)));
        }
        let encoded = rms_norm(x, &self.encoder_norm, eps);
        let start = config.decoder_start_token_id.min(config.vocab() - 1);
        let mut y = self
            .shared
            .val()
            .narrow(0, start, 1)
            .unsqueeze_dim::<3>(0)
            .expand([series, 1, d]);
        for l in &self.decoder {
            // Self-attention over the one token: its value, projected.
            let h = rms_norm(y.clone(), &l.self_norm, eps);
            y = y.clone() + l.self_out.forward(l.self_value.forward(h));
            let h = rms_norm(y.clone(), &l.cross_norm, eps);
            let q = split(l.cross_query.forward(h), 1);
            let kv = l.cross_kv.forward(encoded.clone());
            let (k, v) = (
                split(kv.clone().narrow(2, 0, inner), tokens),
                split(kv.narrow(2, inner, inner), tokens),
            );
            let scores = q.matmul(k.swap_dims(2, 3)) + mask_bias.clone();
            let context = activation::softmax(scores, 3)
                .matmul(v)
                .swap_dims(1, 2)
                .reshape([series, 1, inner]);
            y = y + l.cross_out.forward(context);
            let h = rms_norm(y.clone(), &l.ff_norm, eps);
            y = y.clone() + l.wo.forward(activation::relu(l.wi.forward(h)));
        }
        let out = self.output.forward(rms_norm(y, &self.decoder_norm, eps));
        let [_, _, width] = out.dims();
        out.reshape([series, width])
    }

    /// The relative position bias `[1, heads, tokens, tokens]`.
    fn position_bias(&self, tokens: usize, config: &BoltConfig, device: &Device) -> Tensor<4> {
        let heads = config.num_heads;
        let ids: Vec<i64> = (0..tokens * tokens)
            .map(|i| {
                let (q, k) = ((i / tokens) as i64, (i % tokens) as i64);
                bucket(
                    k - q,
                    true,
                    config.relative_attention_num_buckets,
                    config.relative_attention_max_distance,
                ) as i64
            })
            .collect();
        let ids = Tensor::<1, Int>::from_data(TensorData::new(ids, [tokens * tokens]), device);
        self.position_bias
            .val()
            .select(0, ids)
            .reshape([tokens, tokens, heads])
            .permute([2, 0, 1])
            .unsqueeze_dim::<4>(0)
    }
}

impl BoltNetwork {
    /// Quantile forecasts `[quantile × step]` of the next block after each
    /// context, in the data's scale, in batches of `batch` contexts (left-
    /// padded as the reference pads): [`super::Bolt::predict`] on burn.
    pub fn predict(&self, model: &super::Bolt, contexts: &[&[f32]], batch: usize, device: &Device) -> Vec<Vec<f32>> {
        let mut out = Vec::with_capacity(contexts.len());
        for chunk in contexts.chunks(batch.max(1)) {
            let prepared: Vec<Prepared> = chunk.iter().map(|c| model.prepare(c)).collect();
            let inputs = Batch::of(&prepared, &model.config, device);
            let raw = values(self.forward(&inputs, &model.config));
            let width = raw.len() / chunk.len();
            for (row, p) in raw.chunks_exact(width).zip(&prepared) {
                out.push(row.iter().map(|v| v * p.scale + p.loc).collect());
            }
        }
        out
    }
}

impl Batch {
    /// Prepared contexts left-padded with masked patches to the most
    /// patches among them.
    pub fn of(prepared: &[Prepared], config: &BoltConfig, device: &Device) -> Self {
        let width = 2 * config.chronos().input_patch_size;
        let reg = usize::from(config.chronos().use_reg_token);
        let patches = prepared.iter().map(|p| p.patches.len() / width).max().unwrap_or(0);
        let (mut values, mut mask) = (Vec::new(), Vec::new());
        for p in prepared {
            let pad = patches - p.patches.len() / width;
            values.extend(std::iter::repeat_n(0.0, pad * width));
            values.extend_from_slice(&p.patches);
            mask.extend(std::iter::repeat_n(0.0, pad));
            mask.extend(p.attends.iter().map(|&a| if a { 1.0 } else { 0.0 }));
        }
        let series = prepared.len();
        Batch {
            patches: Tensor::from_data(TensorData::new(values, [series, patches, width]), device),
            mask: Tensor::from_data(TensorData::new(mask, [series, patches + reg]), device),
            loc: prepared.iter().map(|p| p.loc).collect(),
            scale: prepared.iter().map(|p| p.scale).collect(),
        }
    }
}
