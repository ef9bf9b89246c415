//! The BERT encoder as burn modules, named so that Hugging Face's
//! safetensors keys map onto them with two renames (`.self.` →
//! `.self_attn.`, `LayerNorm` → `layer_norm`) and burn's PyTorch adapter
//! (Linear weights transposed, LayerNorm `weight`/`bias` → `gamma`/`beta`):
//! embeddings (word + position + token type, LayerNorm), then layers of
//! multi-head self-attention with a padding mask and a GELU feed-forward,
//! each followed by a residual connection and LayerNorm (post-norm).

use super::config::BertConfig;
use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor, activation};
use trendlab_spec::Pooling;

#[derive(Module, Debug)]
pub struct Embeddings {
    pub(crate) word_embeddings: Embedding,
    pub(crate) position_embeddings: Embedding,
    pub(crate) token_type_embeddings: Embedding,
    pub(crate) layer_norm: LayerNorm,
}

#[derive(Module, Debug)]
pub struct SelfAttention {
    pub(crate) query: Linear,
    pub(crate) key: Linear,
    pub(crate) value: Linear,
}

#[derive(Module, Debug)]
pub struct DenseNorm {
    pub(crate) dense: Linear,
    pub(crate) layer_norm: LayerNorm,
}

#[derive(Module, Debug)]
pub struct Attention {
    pub(crate) self_attn: SelfAttention,
    pub(crate) output: DenseNorm,
}

#[derive(Module, Debug)]
pub struct Dense {
    pub(crate) dense: Linear,
}

#[derive(Module, Debug)]
pub struct Layer {
    pub(crate) attention: Attention,
    pub(crate) intermediate: Dense,
    pub(crate) output: DenseNorm,
}

#[derive(Module, Debug)]
pub struct Encoder {
    pub(crate) layer: Vec<Layer>,
}

#[derive(Module, Debug)]
pub struct Bert {
    pub(crate) embeddings: Embeddings,
    pub(crate) encoder: Encoder,
}

/// A batch of token sequences, padded to one length: ids, token types
/// and the attention mask (1 for tokens, 0 for padding), all `[B, L]`.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub ids: Tensor<2, Int>,
    pub types: Tensor<2, Int>,
    pub mask: Tensor<2>,
}

impl Bert {
    /// A randomly initialised encoder of `config`'s sizes (weights are
    /// then loaded over it).
    pub fn init(config: &BertConfig, device: &Device) -> Self {
        let (h, eps) = (config.hidden_size, config.layer_norm_eps);
        let norm = || LayerNormConfig::new(h).with_epsilon(eps).init(device);
        let linear = |i, o| LinearConfig::new(i, o).init(device);
        Bert {
            embeddings: Embeddings {
                word_embeddings: EmbeddingConfig::new(config.vocab_size, h).init(device),
                position_embeddings: EmbeddingConfig::new(config.max_position_embeddings, h).init(device),
                token_type_embeddings: EmbeddingConfig::new(config.type_vocab_size, h).init(device),
                layer_norm: norm(),
            },
            encoder: Encoder {
                layer: (0..config.num_hidden_layers)
                    .map(|_| Layer {
                        attention: Attention {
                            self_attn: SelfAttention {
                                query: linear(h, h),
                                key: linear(h, h),
                                value: linear(h, h),
                            },
                            output: DenseNorm {
                                dense: linear(h, h),
                                layer_norm: norm(),
                            },
                        },
                        intermediate: Dense {
                            dense: linear(h, config.intermediate_size),
                        },
                        output: DenseNorm {
                            dense: linear(config.intermediate_size, h),
                            layer_norm: norm(),
                        },
                    })
                    .collect(),
            },
        }
    }

    pub fn layers(&self) -> usize {
        self.encoder.layer.len()
    }

    /// The embedding layer's output `[B, L, H]`.
    pub fn embed(&self, tokens: &Tokens) -> Tensor<3> {
        let [batch, length] = tokens.ids.dims();
        let device = tokens.ids.device();
        let positions = Tensor::<1, Int>::arange(0..length as i64, &device)
            .unsqueeze_dim::<2>(0)
            .expand([batch, length]);
        let e = &self.embeddings;
        let sum = e.word_embeddings.forward(tokens.ids.clone())
            + e.position_embeddings.forward(positions)
            + e.token_type_embeddings.forward(tokens.types.clone());
        e.layer_norm.forward(sum)
    }

    /// Runs encoder layers `layers` on hidden states `[B, L, H]`.
    pub fn encode(
        &self,
        mut hidden: Tensor<3>,
        mask: &Tensor<2>,
        heads: usize,
        layers: std::ops::Range<usize>,
    ) -> Tensor<3> {
        // Additive mask [B, 1, 1, L]: 0 on tokens, a large negative on
        // padding, so softmax gives padding no weight.
        let bias = (mask.clone() - 1.0)
            .mul_scalar(1e9)
            .unsqueeze_dim::<3>(1)
            .unsqueeze_dim::<4>(1);
        for layer in &self.encoder.layer[layers] {
            hidden = layer.forward(hidden, bias.clone(), heads);
        }
        hidden
    }

    /// Last hidden states `[B, L, H]` of a batch.
    pub fn forward(&self, tokens: &Tokens, heads: usize) -> Tensor<3> {
        self.encode(self.embed(tokens), &tokens.mask, heads, 0..self.layers())
    }
}

impl Layer {
    fn forward(&self, x: Tensor<3>, mask_bias: Tensor<4>, heads: usize) -> Tensor<3> {
        let [batch, length, hidden] = x.dims();
        let head_dim = hidden / heads;
        let split = |t: Tensor<3>| t.reshape([batch, length, heads, head_dim]).swap_dims(1, 2);
        let a = &self.attention.self_attn;
        let (q, k, v) = (
            split(a.query.forward(x.clone())),
            split(a.key.forward(x.clone())),
            split(a.value.forward(x.clone())),
        );
        let scores = q.matmul(k.swap_dims(2, 3)).div_scalar((head_dim as f64).sqrt()) + mask_bias;
        let context = activation::softmax(scores, 3)
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([batch, length, hidden]);
        let out = &self.attention.output;
        let attended = out.layer_norm.forward(out.dense.forward(context) + x);
        let inner = activation::gelu(self.intermediate.dense.forward(attended.clone()));
        let ffn = &self.output;
        ffn.layer_norm.forward(ffn.dense.forward(inner) + attended)
    }
}

/// `[B, L, H]` token states and their `[B, L]` mask to one `[B, H]`
/// vector per text, scaled to unit length if `normalize`.
pub fn pool(pooling: Pooling, normalize: bool, hidden: Tensor<3>, mask: &Tensor<2>) -> Tensor<2> {
    let pooled = pool_states(pooling, hidden, mask);
    match normalize {
        true => {
            let norm = pooled.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
            pooled / norm
        }
        false => pooled,
    }
}

fn pool_states(pooling: Pooling, hidden: Tensor<3>, mask: &Tensor<2>) -> Tensor<2> {
    let [batch, _, size] = hidden.dims();
    match pooling {
        Pooling::Cls => hidden.narrow(1, 0, 1).reshape([batch, size]),
        Pooling::Mean => {
            let weights = mask.clone().unsqueeze_dim::<3>(2);
            let counts = mask.clone().sum_dim(1).clamp_min(1e-9);
            (hidden * weights).sum_dim(1).reshape([batch, size]) / counts
        }
    }
}
