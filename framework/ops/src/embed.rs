//! `embed`: pooled embeddings of texts by a BERT encoder directory.

use crate::error::{Error, ExitStatus, Outcome};
use std::path::Path;
use trendlab_neural::bert::{Pooling, TextEncoder};
use trendlab_spec::ComputeDevice;

/// What to embed and how.
#[derive(Debug, Clone)]
pub struct EmbedRequest<'a> {
    pub encoder: &'a Path,
    pub texts: Vec<String>,
    /// One more text per non-blank line.
    pub file: Option<&'a Path>,
    pub pooling: Pooling,
    /// Scale each vector to unit length.
    pub normalize: bool,
    pub device: ComputeDevice,
}

/// The texts, their token ids and their pooled vectors.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EmbedOutcome {
    pub embeddings: Vec<Vec<f32>>,
    pub input_ids: Vec<Vec<u32>>,
    pub texts: Vec<String>,
}

impl Outcome for EmbedOutcome {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::Success
    }
}

pub fn embed(request: EmbedRequest<'_>) -> Result<EmbedOutcome, Error> {
    let mut texts = request.texts;
    if let Some(file) = request.file {
        let content =
            std::fs::read_to_string(file).map_err(|e| Error::failed(format!("reading {}", file.display()), e))?;
        texts.extend(content.lines().filter(|l| !l.trim().is_empty()).map(str::to_string));
    }
    let device = trendlab_neural::device::inference_device(request.device).map_err(Error::Failed)?;
    let encoder = TextEncoder::load(request.encoder, &device).map_err(|e| Error::Failed(e.to_string()))?;
    let input_ids = encoder.token_ids(&texts).map_err(|e| Error::Failed(e.to_string()))?;
    let embeddings = encoder
        .embed(&texts, request.pooling, request.normalize)
        .map_err(|e| Error::Failed(e.to_string()))?;
    Ok(EmbedOutcome {
        texts,
        input_ids,
        embeddings,
    })
}
