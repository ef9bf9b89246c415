//! `family = "bert_fusion"`: the LSTM's parameters plus how a pretrained
//! BERT's embedding of each product's text joins the history encoding.
//! The two parameter sets share one flat table in the spec; deserialising
//! splits it by key so a typo is still refused by the part it belongs to.

use crate::capabilities::{Capabilities, CheckContext, Family};
use crate::device::ComputeDevice;
use crate::families::ParamIssue;
use crate::lstm::LstmConfig;
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

impl Family for BertFusionConfig {
    /// The LSTM's: the text's vectors join its inputs.
    fn capabilities(&self) -> Capabilities {
        self.sequence.capabilities()
    }

    fn check(&self, context: &CheckContext<'_>) -> Vec<ParamIssue> {
        let mut issues = if !self.text.freeze && self.text.train_layers == 0 {
            ParamIssue::one("train_layers", "train_layers must be at least 1 when freeze = false")
        } else if !(self.text.encoder_lr > 0.0 && self.text.encoder_lr.is_finite()) {
            ParamIssue::one("encoder_lr", "encoder_lr must be a finite number > 0")
        } else {
            self.sequence.check(context)
        };
        let dir = context.spec_dir.join(&self.text.encoder);
        let missing = self.missing_encoder_files(context.spec_dir);
        let problem = match dir.is_dir() {
            false => "not found".to_string(),
            true if !missing.is_empty() => format!("lacks {}", missing.join(", ")),
            true => return issues,
        };
        issues.extend(ParamIssue::one(
            "encoder",
            format!(
                "encoder directory {} {problem} (a Hugging Face BERT directory; scripts/fetch_minilm.sh fetches all-MiniLM-L6-v2 into models/)",
                dir.display()
            ),
        ));
        issues
    }

    fn device_mut(&mut self) -> Option<&mut ComputeDevice> {
        self.sequence.device_mut()
    }
    fn algorithm_version(&self) -> u32 {
        1
    }
    fn fix_epochs(&mut self, epochs: usize) -> bool {
        self.sequence.fix_epochs(epochs)
    }
}

impl BertFusionConfig {
    /// Files the encoder directory (resolved against `spec_dir`) lacks.
    pub fn missing_encoder_files(&self, spec_dir: &Path) -> Vec<&'static str> {
        let dir = spec_dir.join(&self.text.encoder);
        ENCODER_FILES.into_iter().filter(|f| !dir.join(f).is_file()).collect()
    }
}

/// What a Hugging Face BERT directory must hold.
pub const ENCODER_FILES: [&str; 3] = ["config.json", "model.safetensors", "tokenizer.json"];
