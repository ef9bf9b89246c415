//! `family = "bert_fusion"`: the LSTM's parameters plus how a pretrained
//! BERT's embedding of each product's text joins the history encoding.
//! The two parameter sets share one flat table in the spec; deserialising
//! splits it by key so a typo is still refused by the part it belongs to.

use crate::families::LstmConfig;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BertFusionConfig {
    /// The text side.
    #[serde(flatten)]
    pub text: TextFusion,
    /// The history side: every parameter of `family = "lstm"`.
    #[serde(flatten)]
    pub sequence: LstmConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TextFusion {
    /// A Hugging Face BERT directory (`config.json`, `model.safetensors`,
    /// `tokenizer.json`), relative to the spec file.
    pub encoder: String,
    /// How the text embedding joins the LSTM's last hidden state:
    /// `concat` (both feed the output layer) or `gated` (the text scales
    /// each hidden unit by a learned sigmoid gate).
    #[serde(default)]
    pub fusion: Fusion,
    /// How the encoder's token states become one vector per text.
    #[serde(default)]
    pub pooling: Pooling,
    /// Scale each text vector to unit length (as sentence-transformers'
    /// pipelines end, MiniLM's included).
    #[serde(default = "default_true")]
    pub normalize: bool,
    /// Keep the encoder's weights (embeddings computed once per text and
    /// cached); `false` fine-tunes its top `train_layers` layers.
    #[serde(default = "default_true")]
    pub freeze: bool,
    /// Encoder layers fine-tuned when `freeze = false`.
    #[serde(default = "default_one")]
    pub train_layers: usize,
    /// Adam learning rate of the fine-tuned encoder layers (smaller than `lr`).
    #[serde(default = "default_encoder_lr")]
    pub encoder_lr: f64,
}

fn default_true() -> bool {
    true
}
fn default_one() -> usize {
    1
}
fn default_encoder_lr() -> f64 {
    2e-5
}

/// How the text embedding and the history encoding are combined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fusion {
    #[default]
    Concat,
    Gated,
}

/// How a text encoder's token states become one vector per text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// Mean over the tokens, padding excluded (as sentence-transformers).
    #[default]
    Mean,
    /// The `[CLS]` token's state.
    Cls,
}

impl std::str::FromStr for Pooling {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mean" => Ok(Pooling::Mean),
            "cls" => Ok(Pooling::Cls),
            _ => Err(format!("unknown pooling `{s}` (mean or cls)")),
        }
    }
}

const TEXT_KEYS: [&str; 7] = [
    "encoder",
    "fusion",
    "pooling",
    "normalize",
    "freeze",
    "train_layers",
    "encoder_lr",
];

impl<'de> Deserialize<'de> for BertFusionConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut sequence = serde_json::Map::deserialize(deserializer)?;
        let text: serde_json::Map<_, _> = TEXT_KEYS
            .iter()
            .filter_map(|k| sequence.remove(*k).map(|v| (k.to_string(), v)))
            .collect();
        Ok(BertFusionConfig {
            text: TextFusion::deserialize(serde_json::Value::Object(text)).map_err(D::Error::custom)?,
            sequence: LstmConfig::deserialize(serde_json::Value::Object(sequence)).map_err(D::Error::custom)?,
        })
    }
}

impl BertFusionConfig {
    pub(crate) fn check(&self) -> Vec<crate::families::ParamIssue> {
        let issue = |field, message: &str| {
            vec![crate::families::ParamIssue {
                field,
                message: message.to_string(),
            }]
        };
        if !self.text.freeze && self.text.train_layers == 0 {
            return issue("train_layers", "train_layers must be at least 1 when freeze = false");
        }
        if !(self.text.encoder_lr > 0.0 && self.text.encoder_lr.is_finite()) {
            return issue("encoder_lr", "encoder_lr must be a finite number > 0");
        }
        self.sequence.check()
    }

    /// Files the encoder directory (resolved against `spec_dir`) lacks.
    pub fn missing_encoder_files(&self, spec_dir: &Path) -> Vec<&'static str> {
        let dir = spec_dir.join(&self.text.encoder);
        ENCODER_FILES.into_iter().filter(|f| !dir.join(f).is_file()).collect()
    }
}

/// What a Hugging Face BERT directory must hold.
pub const ENCODER_FILES: [&str; 3] = ["config.json", "model.safetensors", "tokenizer.json"];
