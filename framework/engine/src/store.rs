//! The local run store: `runs/<experiment>/<run-id>/` holding `run.json`
//! (parameters, status, timings, error), `metrics.json` and `forecasts.csv`.
//! Every file is written to a temporary name and renamed into place, and
//! `run.json` is written last: a run counts as done only once its record
//! says so, and a crash never leaves a half-written file behind.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Finished,
    Failed,
}

/// `run.json`: what ran, how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub experiment: String,
    pub model: String,
    pub family: String,
    pub params: serde_json::Map<String, serde_json::Value>,
    pub grid_values: BTreeMap<String, serde_json::Value>,
    pub fold: usize,
    pub cutoff: NaiveDate,
    pub horizon: usize,
    pub series: usize,
    pub status: RunStatus,
    pub error: Option<String>,
    pub seed: u64,
    pub trendlab_version: String,
    pub spec_hash: String,
    pub data_fingerprint: String,
    pub started_at: String,
    /// Seconds in the model (fit and forecast).
    pub fit_seconds: f64,
    /// Seconds for the whole run (inputs, model, metrics, writes).
    pub total_seconds: f64,
}

/// `metrics.json`: aggregate (mean over series) and per-series values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsFile {
    pub aggregate: BTreeMap<String, f64>,
    pub per_series: BTreeMap<String, BTreeMap<String, f64>>,
    /// Why some values are missing (zero actuals, zero scale...).
    pub notes: Vec<String>,
}

/// One line of `forecasts.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastRow {
    pub series_id: String,
    pub fold: usize,
    pub cutoff: NaiveDate,
    pub date: NaiveDate,
    pub step: usize,
    pub actual: f64,
    pub forecast: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: unreadable run record: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
}

/// The runs of one experiment under `<out>/runs/<experiment>`.
#[derive(Debug, Clone)]
pub struct RunStore {
    dir: PathBuf,
}

impl RunStore {
    pub fn new(out: &Path, experiment: &str) -> Self {
        RunStore {
            dir: out.join("runs").join(experiment),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// The record of run `id`, if it was stored.
    pub fn record(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        read_json(&self.run_dir(id).join("run.json"))
    }

    pub fn metrics(&self, id: &str) -> Result<Option<MetricsFile>, StoreError> {
        read_json(&self.run_dir(id).join("metrics.json"))
    }

    pub fn forecasts(&self, id: &str) -> Result<Vec<ForecastRow>, StoreError> {
        let path = self.run_dir(id).join("forecasts.csv");
        let corrupt = |e: csv::Error| StoreError::Corrupt {
            path: path.clone(),
            message: e.to_string(),
        };
        let mut reader = csv::Reader::from_path(&path).map_err(corrupt)?;
        reader.deserialize().collect::<Result<_, _>>().map_err(corrupt)
    }

    pub fn is_finished(&self, id: &str) -> bool {
        matches!(self.record(id), Ok(Some(r)) if r.status == RunStatus::Finished)
    }

    /// Stores a finished run: forecasts, metrics, then the record.
    pub fn save_finished(
        &self,
        record: &RunRecord,
        metrics: &MetricsFile,
        forecasts: &[ForecastRow],
    ) -> Result<(), StoreError> {
        let dir = self.prepare_dir(&record.run_id)?;
        let mut writer = csv::Writer::from_writer(Vec::new());
        for row in forecasts {
            writer.serialize(row).expect("forecast rows serialise");
        }
        let csv = writer.into_inner().expect("writing to memory cannot fail");
        write_atomic(&dir.join("forecasts.csv"), &csv)?;
        write_atomic(&dir.join("metrics.json"), &to_json(metrics))?;
        write_atomic(&dir.join("run.json"), &to_json(record))
    }

    /// Stores a failed run's record (its reason in `error`).
    pub fn save_failed(&self, record: &RunRecord) -> Result<(), StoreError> {
        let dir = self.prepare_dir(&record.run_id)?;
        write_atomic(&dir.join("run.json"), &to_json(record))
    }

    fn prepare_dir(&self, id: &str) -> Result<PathBuf, StoreError> {
        let dir = self.run_dir(id);
        std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(dir)
    }
}

fn to_json(value: &impl Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("records serialise");
    bytes.push(b'\n');
    bytes
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, StoreError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StoreError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over
/// `path`: readers see the old file or the new one, never a partial one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}
