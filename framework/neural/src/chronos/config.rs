//! A Chronos-Bolt checkpoint's `config.json` as its authors publish it: a
//! Hugging Face T5 configuration with a `chronos_config` section (context
//! and prediction lengths, patching, the quantiles the head emits), checked
//! before any weight is read.

use serde::Deserialize;

/// The architecture name Chronos-Bolt checkpoints declare.
pub const ARCHITECTURE: &str = "ChronosBoltModelForForecasting";

/// Sizes and constants of a Chronos-Bolt model.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BoltConfig {
    #[serde(default)]
    pub architectures: Vec<String>,
    pub d_model: usize,
    pub d_ff: usize,
    pub d_kv: usize,
    pub num_layers: usize,
    #[serde(default)]
    pub num_decoder_layers: Option<usize>,
    pub num_heads: usize,
    #[serde(default = "default_buckets")]
    pub relative_attention_num_buckets: usize,
    #[serde(default = "default_max_distance")]
    pub relative_attention_max_distance: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_epsilon: f64,
    #[serde(default = "default_feed_forward")]
    pub feed_forward_proj: String,
    #[serde(default)]
    pub decoder_start_token_id: usize,
    /// The Chronos part; absent from other T5 checkpoints.
    pub chronos_config: Option<ChronosSection>,
}

/// `config.json`'s `chronos_config`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChronosSection {
    pub context_length: usize,
    pub prediction_length: usize,
    pub input_patch_size: usize,
    pub input_patch_stride: usize,
    pub quantiles: Vec<f64>,
    #[serde(default)]
    pub use_reg_token: bool,
}

fn default_buckets() -> usize {
    32
}
fn default_max_distance() -> usize {
    128
}
fn default_eps() -> f64 {
    1e-6
}
fn default_feed_forward() -> String {
    "relu".into()
}

impl BoltConfig {
    /// The `chronos_config` section (present once [`Self::unsupported`]
    /// found nothing).
    pub fn chronos(&self) -> &ChronosSection {
        self.chronos_config.as_ref().expect("checked by unsupported()")
    }

    pub fn decoder_layers(&self) -> usize {
        self.num_decoder_layers.unwrap_or(self.num_layers)
    }

    /// Width of the attention's queries, keys and values (all heads).
    pub fn inner(&self) -> usize {
        self.num_heads * self.d_kv
    }

    /// Rows of the shared embedding: the decoder's start token, and the
    /// `[REG]` token appended to the encoder's input when it is used.
    pub fn vocab(&self) -> usize {
        if self.chronos().use_reg_token { 2 } else { 1 }
    }

    /// What this implementation cannot run, if anything.
    pub fn unsupported(&self) -> Option<String> {
        let Some(c) = &self.chronos_config else {
            return Some(format!(
                "no `chronos_config` section: not a Chronos checkpoint (architectures: {})",
                self.architectures.join(", ")
            ));
        };
        if !self.architectures.iter().any(|a| a == ARCHITECTURE) {
            return Some(format!(
                "architecture {} is not {ARCHITECTURE} (only Chronos-Bolt checkpoints are supported: \
                 amazon/chronos-bolt-tiny, -mini, -small or -base)",
                self.architectures.join(", ")
            ));
        }
        if self.feed_forward_proj != "relu" {
            return Some(format!(
                "feed_forward_proj `{}` (Chronos-Bolt's is relu)",
                self.feed_forward_proj
            ));
        }
        let sizes = [
            self.d_model,
            self.d_ff,
            self.d_kv,
            self.num_layers,
            self.decoder_layers(),
            self.num_heads,
            self.relative_attention_num_buckets,
            self.relative_attention_max_distance,
            c.context_length,
            c.prediction_length,
            c.input_patch_size,
            c.input_patch_stride,
            c.quantiles.len(),
        ];
        if sizes.contains(&0) {
            return Some("a size of 0".into());
        }
        if self.relative_attention_num_buckets < 4 {
            return Some("relative_attention_num_buckets below 4".into());
        }
        if !c.quantiles.windows(2).all(|w| w[0] < w[1]) || !c.quantiles.iter().all(|q| *q > 0.0 && *q < 1.0) {
            return Some(format!(
                "chronos_config.quantiles {:?} are not increasing levels in (0, 1)",
                c.quantiles
            ));
        }
        if !(self.layer_norm_epsilon >= 0.0 && self.layer_norm_epsilon.is_finite()) {
            return Some(format!("layer_norm_epsilon {}", self.layer_norm_epsilon));
        }
        None
    }
}
