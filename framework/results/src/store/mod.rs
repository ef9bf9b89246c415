//! The local run store: `runs/<experiment>/<run-id>/` holding `run.json`
//! (parameters, status, timings, error), `metrics.json` (aggregate metrics
//! and notes), `forecasts.parquet` and `series_metrics.parquet` ([`columns`]).
//! Stores written before the columnar files (`forecasts.csv`, per-series
//! metrics inside `metrics.json`) are read as they are.
//! Every file is written to a temporary name and renamed into place, and
//! `run.json` is written last: a run counts as done only once its record
//! says so, and a crash never leaves a half-written file behind.

pub mod columns;
pub mod parts;

use crate::plan::RunRole;
use chrono::NaiveDate;
pub use columns::{FORECAST_COLUMNS, SeriesMetrics};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
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
    /// The fold, or for a validation run the validation origin.
    pub fold: usize,
    /// A backtest fold (scored) or a validation origin (feeds ensembles).
    #[serde(default, skip_serializing_if = "RunRole::is_backtest")]
    pub role: RunRole,
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
    /// Series the model could not forecast, with the reason; the run's
    /// metrics cover the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_series: Vec<SeriesFailure>,
    /// Series the model failed on that its fallback forecast (scored with
    /// the others), with the model's reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallback_series: Vec<SeriesFallback>,
    /// What the model chose per series (an automatic search's orders).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub chosen: BTreeMap<String, serde_json::Value>,
    /// How a trained family's fit went: loss per epoch, the epoch kept,
    /// early stopping, device, checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<trendlab_models::TrainingLog>,
    /// How an ensemble combined its members in this fold: the weights, the
    /// selection window they were learned on, dropped members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ensemble: Option<trendlab_models::ensemble::CombinationLog>,
    /// A tree model's gain importance per feature (shares summing to one),
    /// largest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub importance: Vec<(String, f64)>,
}

/// One series the fallback forecast where the model failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesFallback {
    pub series: String,
    /// The method that forecast it.
    pub fallback: trendlab_spec::Fallback,
    /// Why the model failed.
    pub reason: String,
}

/// One series a model could not forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesFailure {
    pub series: String,
    pub reason: String,
}

/// A run's metrics: aggregate (mean over series) and per-series values.
/// The store keeps the aggregate in `metrics.json` and the per-series
/// values in `series_metrics.parquet` (read them with
/// [`RunStore::series_metrics`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsFile {
    pub aggregate: BTreeMap<String, f64>,
    /// Empty in a `metrics.json` read back, except in stores written
    /// before `series_metrics.parquet`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub per_series: SeriesMetrics,
    /// Why some values are missing (zero actuals, zero scale...).
    pub notes: Vec<String>,
    /// WRMSSE's weighted RMSSE per aggregation level (the total, each
    /// `[evaluation.wrmsse] levels` entry, the series), in that order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wrmsse_levels: Vec<(String, f64)>,
}

/// One row of a run's forecasts.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastRow {
    pub series_id: String,
    pub fold: usize,
    pub cutoff: NaiveDate,
    pub date: NaiveDate,
    pub step: usize,
    pub actual: f64,
    pub forecast: f64,
    /// `(lo, hi)` of the prediction interval at each of the table's levels.
    pub bounds: Vec<(f64, f64)>,
}

/// A run's forecasts: `series_id,fold,cutoff,date,step,actual,forecast`,
/// then `lo_<level>,hi_<level>` for each interval level the model produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ForecastTable {
    /// Interval levels (percent), in column order.
    pub levels: Vec<f64>,
    pub rows: Vec<ForecastRow>,
}

impl ForecastTable {
    /// The table as CSV (`trendlab export`; the store's format before Parquet).
    pub fn to_csv(&self) -> Vec<u8> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let header = FORECAST_COLUMNS
            .iter()
            .map(|c| c.to_string())
            .chain(self.levels.iter().flat_map(|l| [format!("lo_{l}"), format!("hi_{l}")]));
        writer.write_record(header).expect("writing to memory cannot fail");
        for r in &self.rows {
            let fixed = [
                r.series_id.clone(),
                r.fold.to_string(),
                r.cutoff.to_string(),
                r.date.to_string(),
                r.step.to_string(),
                r.actual.to_string(),
                r.forecast.to_string(),
            ];
            let bounds = r.bounds.iter().flat_map(|(lo, hi)| [lo.to_string(), hi.to_string()]);
            writer
                .write_record(fixed.into_iter().chain(bounds))
                .expect("writing to memory cannot fail");
        }
        writer.into_inner().expect("writing to memory cannot fail")
    }

    /// Reads a `forecasts.csv` of a store written before Parquet.
    fn from_csv(path: &Path) -> Result<ForecastTable, StoreError> {
        let corrupt = |message: String| StoreError::Corrupt {
            path: path.to_path_buf(),
            message,
        };
        let mut reader = csv::Reader::from_path(path).map_err(|e| corrupt(e.to_string()))?;
        let header = reader.headers().map_err(|e| corrupt(e.to_string()))?.clone();
        if header.iter().take(FORECAST_COLUMNS.len()).ne(FORECAST_COLUMNS) {
            return Err(corrupt(format!(
                "unexpected header {:?}",
                header.iter().collect::<Vec<_>>()
            )));
        }
        let levels = header
            .iter()
            .skip(FORECAST_COLUMNS.len())
            .step_by(2)
            .map(|name| {
                name.strip_prefix("lo_")
                    .and_then(|l| l.parse::<f64>().ok())
                    .ok_or_else(|| corrupt(format!("unexpected interval column `{name}`")))
            })
            .collect::<Result<Vec<f64>, _>>()?;
        let mut rows = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let record = record.map_err(|e| corrupt(e.to_string()))?;
            let line = i + 2;
            let field = |k: usize| record.get(k).unwrap_or_default();
            let bad = |k: usize| {
                corrupt(format!(
                    "line {line}: bad {} `{}`",
                    header.get(k).unwrap_or("field"),
                    field(k)
                ))
            };
            let number = |k: usize| field(k).parse::<f64>().map_err(|_| bad(k));
            let count = |k: usize| field(k).parse::<usize>().map_err(|_| bad(k));
            let date = |k: usize| field(k).parse::<NaiveDate>().map_err(|_| bad(k));
            let bounds = (0..levels.len())
                .map(|j| {
                    let k = FORECAST_COLUMNS.len() + 2 * j;
                    Ok((number(k)?, number(k + 1)?))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            rows.push(ForecastRow {
                series_id: field(0).to_string(),
                fold: count(1)?,
                cutoff: date(2)?,
                date: date(3)?,
                step: count(4)?,
                actual: number(5)?,
                forecast: number(6)?,
                bounds,
            });
        }
        Ok(ForecastTable { levels, rows })
    }
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
    /// Runs read as absent (damaged ones a report leaves out).
    excluded: std::sync::Arc<std::collections::HashSet<String>>,
}

/// What the store holds of one run, every file read back.
#[derive(Debug, Clone, PartialEq)]
pub enum RunHealth {
    Absent,
    Finished,
    Failed,
    /// A file is missing or unreadable: why.
    Damaged(String),
}

/// A temporary file older than this is left over from a write that died
/// (a full disk, a killed process); younger ones may be another writer's.
const STALE_TEMPORARY: std::time::Duration = std::time::Duration::from_secs(600);

impl RunStore {
    pub fn new(out: &Path, experiment: &str) -> Self {
        RunStore {
            dir: out.join("runs").join(experiment),
            excluded: Default::default(),
        }
    }

    /// This store, reading the runs `ids` as absent.
    pub fn excluding(&self, ids: impl IntoIterator<Item = String>) -> RunStore {
        RunStore {
            dir: self.dir.clone(),
            excluded: std::sync::Arc::new(ids.into_iter().collect()),
        }
    }

    /// Whether run `id` is stored, and whole: a finished run's record,
    /// metrics, forecasts and series metrics all read back; a failed run's
    /// record does.
    pub fn health(&self, id: &str) -> RunHealth {
        let record = match self.record(id) {
            Ok(None) => return RunHealth::Absent,
            Ok(Some(record)) => record,
            Err(e) => return RunHealth::Damaged(e.to_string()),
        };
        if record.status == RunStatus::Failed {
            return RunHealth::Failed;
        }
        let metrics = match self.metrics(id) {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(format!("{}: missing", self.run_dir(id).join("metrics.json").display())),
            Err(e) => Err(e.to_string()),
        };
        let forecasts = || self.forecasts(id).map(|_| ()).map_err(|e| e.to_string());
        let series_metrics = || self.series_metrics(id).map(|_| ()).map_err(|e| e.to_string());
        match metrics.and_then(|()| forecasts()).and_then(|()| series_metrics()) {
            Ok(()) => RunHealth::Finished,
            Err(reason) => RunHealth::Damaged(reason),
        }
    }

    /// Moves run `id`'s folder to `damaged/<id>-<unix seconds>` beside the
    /// runs (kept for inspection, out of the way of a recomputation).
    pub fn quarantine(&self, id: &str) -> Result<PathBuf, StoreError> {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let folder = self.dir.join("damaged");
        std::fs::create_dir_all(&folder).map_err(|source| StoreError::Io {
            path: folder.clone(),
            source,
        })?;
        let to = folder.join(format!("{id}-{seconds}"));
        std::fs::rename(self.run_dir(id), &to).map_err(|source| StoreError::Io {
            path: self.run_dir(id),
            source,
        })?;
        Ok(to)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Results shared by the experiment's runs (text embeddings).
    pub fn cache_dir(&self) -> PathBuf {
        self.dir.join("cache")
    }

    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// The record of run `id`, if it was stored.
    pub fn record(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        if self.excluded.contains(id) {
            return Ok(None);
        }
        read_json(&self.run_dir(id).join("run.json"))
    }

    pub fn metrics(&self, id: &str) -> Result<Option<MetricsFile>, StoreError> {
        if self.excluded.contains(id) {
            return Ok(None);
        }
        read_json(&self.run_dir(id).join("metrics.json"))
    }

    /// Each series' metrics of finished run `id`: `series → metric → value`.
    /// Every metric `metrics.json` averages (but WRMSSE, not a per-series
    /// value) must be a column: a renamed or dropped one is an error.
    pub fn series_metrics(&self, id: &str) -> Result<SeriesMetrics, StoreError> {
        let path = self.run_dir(id).join("series_metrics.parquet");
        if path.exists() {
            let values = columns::series_metrics_from_parquet(&path, id)?;
            let names: BTreeSet<&String> = values.values().flat_map(|m| m.keys()).collect();
            let averaged = self.metrics(id)?.map(|m| m.aggregate).unwrap_or_default();
            if let Some(lost) = averaged.keys().find(|name| *name != "wrmsse" && !names.contains(name)) {
                return Err(StoreError::Corrupt {
                    path,
                    message: format!(
                        "no values of `{lost}`, which metrics.json averages (columns: {})",
                        names.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                });
            }
            return Ok(values);
        }
        // A store written before series_metrics.parquet.
        match self.metrics(id)? {
            Some(m) if !m.per_series.is_empty() => Ok(m.per_series),
            _ => Err(missing(&path)),
        }
    }

    /// The forecasts of finished run `id`: its fold's, from its cutoff.
    pub fn forecasts(&self, id: &str) -> Result<ForecastTable, StoreError> {
        let dir = self.run_dir(id);
        let path = dir.join("forecasts.parquet");
        if path.exists() {
            let table = ForecastTable::from_parquet(&path, id)?;
            if let Some(record) = self.record(id)? {
                let foreign = table
                    .rows
                    .iter()
                    .find(|r| r.fold != record.fold || r.cutoff != record.cutoff);
                if let Some(row) = foreign {
                    return Err(StoreError::Corrupt {
                        path,
                        message: format!(
                            "a row of fold {} cut at {}, in run {id} of fold {} cut at {}",
                            row.fold, row.cutoff, record.fold, record.cutoff
                        ),
                    });
                }
            }
            return Ok(table);
        }
        // A store written before forecasts.parquet.
        let legacy = dir.join("forecasts.csv");
        if legacy.exists() {
            return ForecastTable::from_csv(&legacy);
        }
        Err(missing(&path))
    }

    /// Calls `visit(series_id, fold, step, actual, forecast)` for every
    /// forecast row of finished run `id` (Parquet read column by column; a
    /// store written before Parquet through its table).
    pub fn visit_forecasts(
        &self,
        id: &str,
        visit: &mut dyn FnMut(&str, usize, usize, f64, f64),
    ) -> Result<(), StoreError> {
        let path = self.run_dir(id).join("forecasts.parquet");
        if path.exists() {
            return ForecastTable::visit_parquet(&path, id, visit);
        }
        for r in self.forecasts(id)?.rows {
            visit(&r.series_id, r.fold, r.step, r.actual, r.forecast);
        }
        Ok(())
    }

    /// Stores a finished run: forecasts, metrics, then the record.
    pub fn save_finished(
        &self,
        record: &RunRecord,
        metrics: &MetricsFile,
        forecasts: &ForecastTable,
    ) -> Result<(), StoreError> {
        let dir = self.prepare_dir(&record.run_id)?;
        write_atomic(&dir.join("forecasts.parquet"), &forecasts.to_parquet(&record.run_id))?;
        write_atomic(
            &dir.join("series_metrics.parquet"),
            &columns::series_metrics_to_parquet(&metrics.per_series, &record.run_id),
        )?;
        let aggregate = MetricsFile {
            per_series: SeriesMetrics::new(),
            ..metrics.clone()
        };
        write_atomic(&dir.join("metrics.json"), &to_json(&aggregate))?;
        write_atomic(&dir.join("run.json"), &to_json(record))
    }

    /// Stores a failed run's record (its reason in `error`).
    pub fn save_failed(&self, record: &RunRecord) -> Result<(), StoreError> {
        let dir = self.prepare_dir(&record.run_id)?;
        write_atomic(&dir.join("run.json"), &to_json(record))
    }

    /// The run's folder, created, without temporary files left by writes
    /// that died.
    fn prepare_dir(&self, id: &str) -> Result<PathBuf, StoreError> {
        let dir = self.run_dir(id);
        std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
            path: dir.clone(),
            source,
        })?;
        sweep_stale_temporaries(&dir);
        Ok(dir)
    }
}

/// Removes `*.tmp` files in `dir` older than [`STALE_TEMPORARY`]
/// (best effort: what cannot be removed stays).
fn sweep_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMPORARY);
        if stale && path.extension().is_some_and(|e| e == "tmp") {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// The error of a finished run's file that is not there.
fn missing(path: &Path) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "missing"),
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
    trendlab_models::write_atomic(path, bytes).map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    })
}
