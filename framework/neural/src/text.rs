//! The text side of BERT-fusion: each product's description as a vector.
//! Distinct descriptions of a fold are embedded once by the encoder and
//! cached on disk (`<cache>/embeddings/<encoder key>.json`, keyed by a
//! BLAKE3 hash of the encoder's files, pooling and normalisation, then of
//! the text), so
//! every run and fold of an experiment reuses them. The table the network
//! reads has one row per distinct text, `[embedding, 0]`, and a last row
//! `[0…, 1]` for products without text: its indicator's weights in the
//! fusion layer are the learned "no text" embedding.

use crate::bert::{EncoderError, TextEncoder};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use trendlab_models::FoldInput;
use trendlab_spec::Pooling;

/// The distinct texts of a fold and each series' row among them.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductTexts {
    pub distinct: Vec<String>,
    /// Per series of the fold: its text's index in `distinct`, or the
    /// no-text row (`distinct.len()`).
    pub row_of_series: Vec<u32>,
}

impl ProductTexts {
    pub fn of(input: &FoldInput<'_>) -> Self {
        let mut index: BTreeMap<&str, u32> = BTreeMap::new();
        let mut distinct = Vec::new();
        let rows: Vec<Option<u32>> = input
            .series
            .iter()
            .map(|s| {
                let text = s.text.map(str::trim).filter(|t| !t.is_empty())?;
                Some(*index.entry(text).or_insert_with(|| {
                    distinct.push(text.to_string());
                    distinct.len() as u32 - 1
                }))
            })
            .collect();
        let none = distinct.len() as u32;
        ProductTexts {
            row_of_series: rows.into_iter().map(|r| r.unwrap_or(none)).collect(),
            distinct,
        }
    }
}

/// The table `[texts + 1, width + 1]` the network reads, from the texts'
/// vectors: `[vector, 0]` per text, then the no-text row `[0…, 1]`.
pub fn text_table(vectors: &[Vec<f32>], width: usize) -> Vec<f32> {
    let mut table = Vec::with_capacity((vectors.len() + 1) * (width + 1));
    for v in vectors {
        table.extend_from_slice(v);
        table.push(0.0);
    }
    table.extend(std::iter::repeat_n(0.0, width));
    table.push(1.0);
    table
}

/// Cached vectors of one encoder and pooling.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    encoder: String,
    width: usize,
    /// BLAKE3 of the text → its vector.
    vectors: BTreeMap<String, Vec<f32>>,
}

/// The pooled embeddings of `texts`, from the cache where present; the
/// encoder is loaded (onto `device`) only when some are missing.
pub fn embeddings(
    encoder_dir: &Path,
    texts: &[String],
    pooling: Pooling,
    normalize: bool,
    cache: Option<&Path>,
    device: &Device,
) -> Result<(Vec<Vec<f32>>, usize), EncoderError> {
    let cache_path = match cache {
        Some(dir) => Some(
            dir.join("embeddings")
                .join(format!("{}.json", encoder_key(encoder_dir, pooling, normalize)?)),
        ),
        None => None,
    };
    let mut file: CacheFile = cache_path
        .as_ref()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    let keys: Vec<String> = texts
        .iter()
        .map(|t| blake3::hash(t.as_bytes()).to_hex().to_string())
        .collect();
    let missing: Vec<usize> = (0..texts.len())
        .filter(|&i| !file.vectors.contains_key(&keys[i]))
        .collect();
    if !missing.is_empty() || file.width == 0 {
        let encoder = TextEncoder::load(encoder_dir, device)?;
        let wanted: Vec<String> = missing.iter().map(|&i| texts[i].clone()).collect();
        let vectors = encoder.embed(&wanted, pooling, normalize)?;
        file.encoder = encoder_dir.display().to_string();
        file.width = encoder.width();
        for (&i, v) in missing.iter().zip(vectors) {
            file.vectors.insert(keys[i].clone(), v);
        }
        if let Some(path) = &cache_path {
            // A cache that cannot be written costs time, not results.
            let _ = std::fs::create_dir_all(path.parent().expect("cache file in a folder"))
                .and_then(|_| trendlab_models::write_atomic(path, &serde_json::to_vec(&file).expect("serialises")));
        }
    }
    let vectors = keys.iter().map(|k| file.vectors[k].clone()).collect();
    Ok((vectors, file.width))
}

/// Identifies an encoder's output: BLAKE3 over its files, the pooling and
/// the normalisation.
fn encoder_key(dir: &Path, pooling: Pooling, normalize: bool) -> Result<String, EncoderError> {
    crate::bert::read_config(dir)?;
    let mut hasher = blake3::Hasher::new();
    for name in crate::bert::REQUIRED_FILES {
        let path = dir.join(name);
        let file = std::fs::File::open(&path).map_err(|e| EncoderError::Malformed {
            path: path.clone(),
            message: e.to_string(),
        })?;
        hasher.update(name.as_bytes());
        hasher.update_reader(file).map_err(|e| EncoderError::Malformed {
            path,
            message: e.to_string(),
        })?;
    }
    hasher.update(format!("{pooling:?} normalize={normalize}").as_bytes());
    Ok(hasher.finalize().to_hex()[..32].to_string())
}
