//! A pretrained BERT text encoder on burn, loaded from a Hugging Face model
//! directory (`config.json`, `model.safetensors`, `tokenizer.json`): the
//! tokenizer is the `tokenizers` crate reading the same `tokenizer.json`
//! (so token ids equal Hugging Face's), the network is [`model::Bert`], and
//! texts become vectors by mean or `[CLS]` pooling.
//!
//! ```text
//! TextEncoder::load(dir) → tokenize → on the CPU: host::HostBert (packed tokens)
//!                                   → elsewhere: Bert on burn (batch-longest padding) → Pooling
//! ```

pub mod config;
pub mod host;
pub mod model;
pub mod random;

pub use config::BertConfig;
pub use model::{Bert, Tokens, pool};
pub use trendlab_spec::Pooling;

use burn::store::{ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};
use burn::tensor::{Device, Int, Tensor, TensorData};
use std::path::{Path, PathBuf};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// The files a model directory must hold.
pub const REQUIRED_FILES: [&str; 3] = ["config.json", "model.safetensors", "tokenizer.json"];

/// Texts encoded per forward pass.
const BATCH_TEXTS: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    #[error("encoder directory {} not found", dir.display())]
    MissingDirectory { dir: PathBuf },
    #[error("encoder directory {} lacks {} (a Hugging Face BERT directory holds {}; scripts/fetch_minilm.sh fetches all-MiniLM-L6-v2)", dir.display(), missing.join(", "), REQUIRED_FILES.join(", "))]
    MissingFiles { dir: PathBuf, missing: Vec<String> },
    #[error("{}: {message}", path.display())]
    Malformed { path: PathBuf, message: String },
}

/// A tokenizer and BERT ready to embed texts.
#[derive(Debug)]
pub struct TextEncoder {
    pub config: BertConfig,
    pub model: Bert,
    tokenizer: Tokenizer,
    device: Device,
    dir: PathBuf,
    /// The weights on the host when `device` is the CPU: [`Self::embed`]
    /// runs [`host::HostBert`] there.
    host: Option<host::HostBert>,
}

/// Token ids of one text (no padding).
pub type TokenIds = Vec<u32>;

impl TextEncoder {
    /// Loads the model directory `dir` onto `device`, checking that every
    /// weight the encoder needs is there with the right shape.
    pub fn load(dir: &Path, device: &Device) -> Result<Self, EncoderError> {
        let config = read_config(dir)?;
        let malformed = |file: &str, message: String| EncoderError::Malformed {
            path: dir.join(file),
            message,
        };
        let mut tokenizer =
            Tokenizer::from_file(dir.join("tokenizer.json")).map_err(|e| malformed("tokenizer.json", e.to_string()))?;
        // tokenizer.json may pad every text to a fixed length (MiniLM: 128);
        // pad each batch to its longest text instead, which gives the same
        // vectors for less work.
        let pad = tokenizer.get_padding().cloned().unwrap_or_default();
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..pad
        }));
        let limit = config.max_position_embeddings;
        let truncation = match tokenizer.get_truncation() {
            Some(t) => TruncationParams {
                max_length: t.max_length.min(limit),
                ..t.clone()
            },
            None => TruncationParams {
                max_length: limit,
                ..TruncationParams::default()
            },
        };
        tokenizer
            .with_truncation(Some(truncation))
            .map_err(|e| malformed("tokenizer.json", e.to_string()))?;
        let mut model = Bert::init(&config, device);
        let mut store = SafetensorsStore::from_file(dir.join("model.safetensors"))
            .with_from_adapter(PyTorchToBurnAdapter)
            .with_key_remapping(r"^bert\.", "")
            .with_key_remapping(r"\.self\.", ".self_attn.")
            .with_key_remapping(r"LayerNorm", "layer_norm")
            .allow_partial(true);
        let applied = model
            .load_from(&mut store)
            .map_err(|e| malformed("model.safetensors", e.to_string()))?;
        if !applied.errors.is_empty() || !applied.missing.is_empty() {
            let mut problems: Vec<String> = applied.errors.iter().map(|e| e.to_string()).collect();
            if !applied.missing.is_empty() {
                let names: Vec<&str> = applied.missing.iter().map(|(name, _)| name.as_str()).collect();
                problems.push(format!("{} tensors missing: {}", names.len(), names.join(", ")));
            }
            return Err(malformed("model.safetensors", problems.join("; ")));
        }
        let host = (device.clone().inner() == Device::flex())
            .then(|| host::HostBert::of(&model, config.num_attention_heads, config.layer_norm_eps));
        Ok(TextEncoder {
            config,
            model,
            tokenizer,
            device: device.clone(),
            dir: dir.to_path_buf(),
            host,
        })
    }

    /// The weights on the host (on the CPU only).
    pub fn host(&self) -> Option<&host::HostBert> {
        self.host.as_ref()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Width of the pooled vectors.
    pub fn width(&self) -> usize {
        self.config.hidden_size
    }

    /// Token ids of each text, as Hugging Face's tokenizer gives them.
    pub fn token_ids(&self, texts: &[String]) -> Result<Vec<TokenIds>, EncoderError> {
        Ok(self.tokenize(texts)?.0)
    }

    /// Token ids and token types of each text, without padding.
    pub fn unpadded(&self, texts: &[String]) -> Result<Vec<(TokenIds, TokenIds)>, EncoderError> {
        Ok(self
            .encode(texts)?
            .iter()
            .map(|e| {
                let real = |v: &[u32]| -> Vec<u32> {
                    v.iter()
                        .zip(e.get_attention_mask())
                        .filter(|(_, m)| **m == 1)
                        .map(|(i, _)| *i)
                        .collect()
                };
                (real(e.get_ids()), real(e.get_type_ids()))
            })
            .collect())
    }

    fn encode(&self, texts: &[String]) -> Result<Vec<tokenizers::Encoding>, EncoderError> {
        self.tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EncoderError::Malformed {
                path: self.dir.join("tokenizer.json"),
                message: format!("tokenizing failed: {e}"),
            })
    }

    /// The texts as one padded batch: ids per text (unpadded) and tensors.
    pub fn tokenize(&self, texts: &[String]) -> Result<(Vec<TokenIds>, Tokens), EncoderError> {
        let encodings = self.encode(texts)?;
        let (batch, length) = (encodings.len(), encodings.first().map_or(0, |e| e.len()));
        let (mut ids, mut types, mut mask, mut unpadded) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for e in &encodings {
            ids.extend(e.get_ids().iter().map(|&i| i64::from(i)));
            types.extend(e.get_type_ids().iter().map(|&i| i64::from(i)));
            mask.extend(e.get_attention_mask().iter().map(|&m| m as f32));
            unpadded.push(
                e.get_ids()
                    .iter()
                    .zip(e.get_attention_mask())
                    .filter(|(_, m)| **m == 1)
                    .map(|(i, _)| *i)
                    .collect(),
            );
        }
        let int = |data: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(data, [batch, length]), &self.device);
        Ok((
            unpadded,
            Tokens {
                ids: int(ids),
                types: int(types),
                mask: Tensor::from_data(TensorData::new(mask, [batch, length]), &self.device),
            },
        ))
    }

    /// Pooled vectors of `texts` (row per text; unit length if
    /// `normalize`): on the CPU by the host path, texts sorted by length and
    /// packed without padding; elsewhere by burn ([`Self::embed_burn`]).
    pub fn embed(&self, texts: &[String], pooling: Pooling, normalize: bool) -> Result<Vec<Vec<f32>>, EncoderError> {
        let Some(host) = &self.host else {
            return self.embed_burn(texts, pooling, normalize);
        };
        let tokens = self.unpadded(texts)?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| tokens[i].0.len());
        let sorted: Vec<(TokenIds, TokenIds)> = order.iter().map(|&i| tokens[i].clone()).collect();
        let mut out = vec![Vec::new(); texts.len()];
        for (&i, v) in order.iter().zip(host.embed_texts(&sorted, pooling, normalize)) {
            out[i] = v;
        }
        Ok(out)
    }

    /// [`Self::embed`] by burn's tensors on the encoder's device, batches of
    /// similar length together so little is spent on padding.
    pub fn embed_burn(
        &self,
        texts: &[String],
        pooling: Pooling,
        normalize: bool,
    ) -> Result<Vec<Vec<f32>>, EncoderError> {
        let lengths = self.token_ids(texts)?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| lengths[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(BATCH_TEXTS) {
            let batch: Vec<String> = chunk.iter().map(|&i| texts[i].clone()).collect();
            let (_, tokens) = self.tokenize(&batch)?;
            let hidden = self.model.forward(&tokens, self.config.num_attention_heads);
            let pooled = pool(pooling, normalize, hidden, &tokens.mask).into_data();
            let values = pooled.try_to_vec::<f32>().expect("float embeddings");
            let width = self.width();
            for (k, &i) in chunk.iter().enumerate() {
                out[i] = values[k * width..(k + 1) * width].to_vec();
            }
        }
        Ok(out)
    }
}

/// `config.json` of `dir`, after checking the directory holds every file.
pub fn read_config(dir: &Path) -> Result<BertConfig, EncoderError> {
    use crate::model_dir::{DirError, read_config};
    read_config(dir, &REQUIRED_FILES, "BERT configuration", BertConfig::unsupported).map_err(|e| match e {
        DirError::Missing => EncoderError::MissingDirectory { dir: dir.to_path_buf() },
        DirError::Lacks(missing) => EncoderError::MissingFiles {
            dir: dir.to_path_buf(),
            missing,
        },
        DirError::Malformed { path, message } => EncoderError::Malformed { path, message },
    })
}
