//! What the pretrained models' directories share (BERT's, Chronos-Bolt's):
//! checking that a Hugging Face model directory holds the files a model
//! needs, and reading its `config.json` with the model's own check.

use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// Why a model directory's configuration could not be read.
#[derive(Debug)]
pub enum DirError {
    /// The directory does not exist.
    Missing,
    /// It lacks these of the required files.
    Lacks(Vec<String>),
    /// `config.json` is unreadable, malformed or unsupported.
    Malformed { path: PathBuf, message: String },
}

/// `config.json` of `dir` as a `C`, after checking that `dir` holds every
/// file of `required`; `unsupported` says what the model cannot run.
pub fn read_config<C: DeserializeOwned>(
    dir: &Path,
    required: &[&str],
    what: &str,
    unsupported: impl Fn(&C) -> Option<String>,
) -> Result<C, DirError> {
    if !dir.is_dir() {
        return Err(DirError::Missing);
    }
    let missing: Vec<String> = required
        .iter()
        .filter(|f| !dir.join(f).is_file())
        .map(|f| f.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(DirError::Lacks(missing));
    }
    let path = dir.join("config.json");
    let malformed = |message: String| DirError::Malformed {
        path: path.clone(),
        message,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| malformed(e.to_string()))?;
    let config: C = serde_json::from_str(&text).map_err(|e| malformed(e.to_string()))?;
    match unsupported(&config) {
        Some(problem) => Err(malformed(format!("unsupported {what}: {problem}"))),
        None => Ok(config),
    }
}
