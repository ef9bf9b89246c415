//! A forecast's fitted model, as `trendlab forecast` saves it in
//! `forecasts/<experiment>/<data fingerprint>/model/` and `forecast --from`
//! reads it back: `model.json` (the configuration's fit, per family: ridge
//! coefficients, ARIMA parameters, an ensemble's members and the selection
//! window its weights come from; the interval method and conformal widths)
//! and, per configuration, a folder of files a family saved (a network's
//! weights), named by a hash of its label. Configurations are matched by
//! label: their ids hash the data, which `--from` may see newer.
//!
//! `model.json` carries a checksum of its content: a model edited or
//! damaged after it was written (a member's fit dropped, a selection window
//! cut short) is refused as such, never read as another model.

use crate::conformal::IntervalMethod;
use crate::store::{StoreError, write_atomic};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use trendlab_models::FittedState;
use trendlab_models::ensemble::{Candidate, DroppedMember, HistoryChunk};

/// The version of `model.json` this trendlab writes and reads.
pub const MODEL_FORMAT: u32 = 1;

/// `model.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedModel {
    pub format: u32,
    pub experiment: String,
    pub spec_hash: String,
    /// The data the model was fitted on.
    pub data_fingerprint: String,
    pub horizon: usize,
    pub levels: Vec<f64>,
    pub intervals: IntervalMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_note: Option<String>,
    /// Conformal half-widths per series, `[level][step]`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub conformal: BTreeMap<String, Vec<Vec<f64>>>,
    /// The forecast made with the fit (`forecast.json`, without the values):
    /// the configuration, its backtest.
    pub forecast: crate::forecasts::ForecastFile,
    pub fit: SavedFit,
    /// The series it forecast (`forecast --from` names those its data
    /// lacks); empty in models saved before it was kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<String>,
    /// BLAKE3 of the model's compact JSON without this field, set by
    /// [`SavedModel::write`]; absent in models saved before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

/// One configuration's fit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedFit {
    /// Its label and content hash.
    pub config: String,
    pub config_id: String,
    pub family: String,
    /// What the family reported (`None`: it fits nothing, or did not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<FittedState>,
    /// An ensemble's members, each with its own fit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<SavedFit>,
    /// What an ensemble combines by: its selection window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<SavedSelection>,
}

/// An ensemble's candidates and the backtest forecasts it learns its
/// weights from (each chunk's series by id).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedSelection {
    pub candidates: Vec<Candidate>,
    pub history: Vec<(String, HistoryChunk)>,
    pub dropped: Vec<DroppedMember>,
}

impl SavedModel {
    /// The folder of the files of configuration `label` in `model_dir`
    /// (named by a hash of the label: a configuration's id changes with
    /// the data, its label does not).
    pub fn files_of(model_dir: &Path, label: &str) -> PathBuf {
        model_dir.join(&blake3::hash(label.as_bytes()).to_hex()[..16])
    }

    /// Writes `model.json` into `model_dir` (created).
    pub fn write(&self, model_dir: &Path) -> Result<(), StoreError> {
        std::fs::create_dir_all(model_dir).map_err(|source| StoreError::Io {
            path: model_dir.to_path_buf(),
            source,
        })?;
        let model = SavedModel {
            checksum: Some(self.content_hash()),
            ..self.clone()
        };
        let mut json = serde_json::to_vec_pretty(&model).expect("saved models serialise");
        json.push(b'\n');
        write_atomic(&model_dir.join("model.json"), &json)
    }

    /// The hash of the model's content: its compact JSON without `checksum`.
    fn content_hash(&self) -> String {
        let content = SavedModel {
            checksum: None,
            ..self.clone()
        };
        let json = serde_json::to_vec(&content).expect("saved models serialise");
        blake3::hash(&json).to_hex().to_string()
    }

    /// Reads `model_dir/model.json`; the error says why it is not a model.
    pub fn read(model_dir: &Path) -> Result<SavedModel, String> {
        let path = model_dir.join("model.json");
        let bytes = std::fs::read(&path)
            .map_err(|e| format!("{} is not a saved model: {}: {e}", model_dir.display(), path.display()))?;
        let format = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("format")?.as_u64());
        if format.is_some_and(|f| f != u64::from(MODEL_FORMAT)) {
            return Err(format!(
                "{}: a model of another format ({}; this trendlab reads {MODEL_FORMAT}): run `trendlab forecast` again",
                path.display(),
                format.unwrap_or_default()
            ));
        }
        // The field a wrong value sits in, by its path (`fit.state.order`).
        let model: SavedModel = serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(&bytes))
            .map_err(|e| {
                let field = e.path().to_string();
                let inner = e.into_inner();
                match field.as_str() {
                    "." | "?" => format!(
                        "{} is not a saved model: {}: {inner}",
                        model_dir.display(),
                        path.display()
                    ),
                    _ => format!(
                        "{} is not a saved model: {}: field `{field}`: {inner}",
                        model_dir.display(),
                        path.display()
                    ),
                }
            })?;
        match &model.checksum {
            Some(sum) if *sum != model.content_hash() => Err(format!(
                "{}: the saved model was changed after `trendlab forecast` wrote it (its checksum does not match its content): an edited or damaged model is not read; run `trendlab forecast` again to refit",
                path.display()
            )),
            _ => Ok(model),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_json_with_a_wrong_type_names_the_file_and_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let write = |text: &str| std::fs::write(dir.path().join("model.json"), text).unwrap();
        write(r#"{"format": 1, "experiment": "x", "spec_hash": "h", "data_fingerprint": "f", "horizon": "four"}"#);
        let e = SavedModel::read(dir.path()).unwrap_err();
        assert!(
            e.contains("model.json: field `horizon`: invalid type: string \"four\""),
            "{e}"
        );
        write("{ not json");
        let e = SavedModel::read(dir.path()).unwrap_err();
        assert!(e.contains("model.json: key must be a string"), "{e}");
        std::fs::remove_file(dir.path().join("model.json")).unwrap();
        assert!(
            SavedModel::read(dir.path())
                .unwrap_err()
                .contains("is not a saved model")
        );
    }
}
