//! Per-run facts from the run store: the training curves of trained
//! families (loss per epoch, per fold), tree models' feature importance,
//! and the details of every configuration's runs (parameters, status,
//! timings, device).

use crate::{ReportError, ReportInput};
use serde::Serialize;
use trendlab_results::{RunRecord, RunStatus};

/// A trained configuration's loss curves, one per fold.
#[derive(Debug, Clone, Serialize)]
pub struct TrainingCurves {
    pub label: String,
    pub device: String,
    pub folds: Vec<FoldCurve>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FoldCurve {
    pub fold: usize,
    pub train: Vec<f64>,
    /// `None` for epochs without validation windows.
    pub validation: Vec<Option<f64>>,
    /// The epoch (1-based) whose weights forecast.
    pub best_epoch: usize,
    pub stopped_early: bool,
}

/// A tree model's gain importance per feature, averaged over its folds
/// (shares summing to one), largest first.
#[derive(Debug, Clone, Serialize)]
pub struct Importance {
    pub label: String,
    pub features: Vec<(String, f64)>,
}

impl Importance {
    fn averaged(label: &str, folds: &[Vec<(String, f64)>]) -> Option<Importance> {
        if folds.is_empty() {
            return None;
        }
        let mut totals: std::collections::BTreeMap<&str, f64> = std::collections::BTreeMap::new();
        for (name, share) in folds.iter().flatten() {
            *totals.entry(name).or_default() += share / folds.len() as f64;
        }
        let mut features: Vec<(String, f64)> = totals.into_iter().map(|(n, s)| (n.to_string(), s)).collect();
        features.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Some(Importance {
            label: label.to_string(),
            features,
        })
    }
}

/// What [`gather`] finds.
pub struct Gathered {
    pub training: Vec<TrainingCurves>,
    pub importance: Vec<Importance>,
    pub runs: Vec<ConfigRuns>,
}

/// One configuration and its backtest runs.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigRuns {
    pub label: String,
    pub family: String,
    pub params: serde_json::Map<String, serde_json::Value>,
    pub runs: Vec<RunDetails>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunDetails {
    pub run_id: String,
    pub fold: usize,
    /// `finished`, `failed`, or `missing` (not in the store).
    pub status: String,
    pub error: Option<String>,
    pub fit_seconds: Option<f64>,
    pub total_seconds: Option<f64>,
    pub device: Option<String>,
    pub started_at: Option<String>,
    pub failed_series: usize,
}

impl RunDetails {
    fn of(run_id: &str, fold: usize, record: Option<&RunRecord>) -> Self {
        let status = match record.map(|r| r.status) {
            Some(RunStatus::Finished) => "finished",
            Some(RunStatus::Failed) => "failed",
            None => "missing",
        };
        RunDetails {
            run_id: run_id.to_string(),
            fold,
            status: status.to_string(),
            error: record.and_then(|r| r.error.clone()),
            fit_seconds: record.map(|r| r.fit_seconds),
            total_seconds: record.map(|r| r.total_seconds),
            device: record.map(|r| r.training.as_ref().map_or("cpu".to_string(), |t| t.device.clone())),
            started_at: record.map(|r| r.started_at.clone()),
            failed_series: record.map_or(0, |r| r.failed_series.len()),
        }
    }
}

/// The training curves of every trained configuration, the importance of
/// every tree model and the run details of every configuration, in
/// leaderboard order.
pub fn gather(input: &ReportInput<'_>) -> Result<Gathered, ReportError> {
    let mut curves = Vec::new();
    let mut importance = Vec::new();
    let mut details = Vec::new();
    for row in &input.board.rows {
        let Some(c) = input.config_of(row) else {
            continue;
        };
        let config = &input.plan.configs[c];
        let mut runs = Vec::new();
        let mut folds = Vec::new();
        let mut device = None;
        let mut gains = Vec::new();
        for run in input.plan.runs_of(c) {
            let record = input.store.record(&run.id)?;
            runs.push(RunDetails::of(&run.id, run.fold, record.as_ref()));
            if let Some(r) = record.as_ref().filter(|r| !r.importance.is_empty()) {
                gains.push(r.importance.clone());
            }
            if let Some(log) = record.and_then(|r| r.training) {
                device.get_or_insert_with(|| log.device.clone());
                folds.push(FoldCurve {
                    fold: run.fold,
                    train: log.epochs.iter().map(|e| e.train).collect(),
                    validation: log.epochs.iter().map(|e| e.validation).collect(),
                    best_epoch: log.best_epoch,
                    stopped_early: log.stopped_early,
                });
            }
        }
        importance.extend(Importance::averaged(&row.label, &gains));
        if !folds.is_empty() {
            curves.push(TrainingCurves {
                label: row.label.clone(),
                device: device.unwrap_or_default(),
                folds,
            });
        }
        if runs.iter().any(|r| r.status != "missing") {
            details.push(ConfigRuns {
                label: row.label.clone(),
                family: row.family.clone(),
                params: config.params(),
                runs,
            });
        }
    }
    Ok(Gathered {
        training: curves,
        importance,
        runs: details,
    })
}
