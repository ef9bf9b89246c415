//! Mirrors the local run store into MLflow: one MLflow experiment per
//! trendlab experiment, one parent run per `trendlab run` (or `sync`)
//! invocation, one child run per model configuration holding its params,
//! its metrics (mean, std and per fold), its tags and its folds' files as
//! artifacts. The local store is always written first; MLflow is a mirror.
//!
//! A configuration is found again by its content hash (tag
//! `trendlab.run_hash`), so mirroring is idempotent: finished configurations
//! already in MLflow are skipped, half-written ones (left RUNNING by an
//! outage) are replaced. When the server goes away the mirror stops trying,
//! the grid goes on, and the report lists what `trendlab sync` must push.

use crate::client::{KeyValue, MetricValue, MlflowClient, Run, RunInfo, TrackingError};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use trendlab_results::leaderboard::{EnsembleSummary, LeaderboardRow, MetricSummary, ReadBack};
use trendlab_results::{Plan, PlannedRun, Progress, RunRecord, RunStore};
use trendlab_spec::Score;

/// Tag marking trendlab's child runs, one per model configuration.
pub(crate) const KIND: &str = "trendlab.kind";
/// Tag holding an ensemble's members and weights per fold (JSON).
const ENSEMBLE: &str = "trendlab.ensemble";
/// Tag holding a configuration's content hash.
pub const RUN_HASH: &str = "trendlab.run_hash";

/// What happened to the configurations handed to the mirror.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MirrorReport {
    pub mirrored: usize,
    /// Already in MLflow with the same outcome.
    pub already_there: usize,
    /// `(configuration, reason)` of those not mirrored.
    pub not_mirrored: Vec<(String, String)>,
    /// Why the mirror stopped, if the server went away.
    pub outage: Option<String>,
}

#[derive(Debug, Clone)]
struct Known {
    run_id: String,
    status: String,
}

/// A connection to one MLflow experiment.
#[derive(Debug)]
pub struct Mirror {
    client: MlflowClient,
    experiment_id: String,
    known: Mutex<HashMap<String, Known>>,
    parent: Option<RunInfo>,
    report: Mutex<MirrorReport>,
    down: AtomicBool,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Mirror {
    /// Connects to the experiment called `experiment` (created if needed) and
    /// learns which configurations it already holds.
    pub fn connect(client: MlflowClient, experiment: &str) -> Result<Mirror, TrackingError> {
        client.health()?;
        let experiment_id = client.experiment_id(experiment)?;
        let mut known = HashMap::new();
        for run in client.search_runs(&[&experiment_id], &format!("tags.`{KIND}` = 'config'"))? {
            if let Some(hash) = run.tag(RUN_HASH) {
                known.insert(
                    hash.to_string(),
                    Known {
                        run_id: run.info.run_id.clone(),
                        status: run.info.status.clone(),
                    },
                );
            }
        }
        Ok(Mirror {
            client,
            experiment_id,
            known: Mutex::new(known),
            parent: None,
            report: Mutex::new(MirrorReport::default()),
            down: AtomicBool::new(false),
        })
    }

    pub fn experiment_id(&self) -> &str {
        &self.experiment_id
    }

    pub fn parent(&self) -> Option<&RunInfo> {
        self.parent.as_ref()
    }

    /// Opens the parent run of this invocation.
    pub fn start_parent(&mut self, name: &str, tags: Vec<KeyValue>) -> Result<(), TrackingError> {
        let mut tags = tags;
        tags.push(KeyValue::new(KIND, "invocation"));
        self.parent = Some(self.client.create_run(&self.experiment_id, name, &tags, now_ms())?);
        Ok(())
    }

    /// Uploads the leaderboard files and the HTML report to the parent run
    /// and closes it.
    pub fn finish_parent(&self, report_dir: &Path, any_failed: bool) {
        let Some(parent) = &self.parent else { return };
        if self.down.load(Ordering::Relaxed) {
            return;
        }
        let result = (|| {
            for name in ["leaderboard.csv", "leaderboard.json", "leaderboard.md", "index.html"] {
                if let Ok(bytes) = std::fs::read(report_dir.join(name)) {
                    self.client.upload_artifact(parent, name, &bytes)?;
                }
            }
            self.client
                .end_run(&parent.run_id, if any_failed { "FAILED" } else { "FINISHED" }, now_ms())
        })();
        if let Err(e) = result {
            self.failed("the parent run", &e);
        }
    }

    fn lock_report(&self) -> MutexGuard<'_, MirrorReport> {
        self.report.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn failed(&self, what: &str, e: &TrackingError) {
        let mut report = self.lock_report();
        if e.is_outage() && !self.down.swap(true, Ordering::Relaxed) {
            report.outage = Some(e.to_string());
        }
        report.not_mirrored.push((what.to_string(), e.to_string()));
    }

    /// Mirrors one configuration whose folds are all stored (finished or
    /// failed). Never fails: problems are recorded in the report.
    pub fn mirror_config(&self, plan: &Plan, c: usize, store: &RunStore, metrics: &[Score]) {
        let label = plan.configs[c].label();
        if self.down.load(Ordering::Relaxed) {
            let mut report = self.lock_report();
            let reason = format!("not attempted: {}", report.outage.clone().unwrap_or_default());
            report.not_mirrored.push((label, reason));
            return;
        }
        let row = match LeaderboardRow::from_store(plan, c, store, metrics) {
            Ok(row) => row,
            Err(e) => return self.lock_report().not_mirrored.push((label, e.to_string())),
        };
        let status = if row.folds_finished == row.folds {
            "FINISHED"
        } else {
            "FAILED"
        };
        let existing = self
            .known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&row.config_id)
            .cloned();
        if let Some(known) = &existing
            && known.status == status
        {
            self.lock_report().already_there += 1;
            return;
        }
        let result = (|| {
            if let Some(known) = existing {
                // Left RUNNING by an outage, or its outcome changed: replace it.
                self.client.delete_run(&known.run_id)?;
            }
            let run = self.log_child(plan, c, &row, status, store)?;
            self.known.lock().unwrap_or_else(PoisonError::into_inner).insert(
                row.config_id.clone(),
                Known {
                    run_id: run,
                    status: status.into(),
                },
            );
            Ok::<(), TrackingError>(())
        })();
        match result {
            Ok(()) => self.lock_report().mirrored += 1,
            Err(e) => self.failed(&label, &e),
        }
    }

    fn log_child(
        &self,
        plan: &Plan,
        c: usize,
        row: &LeaderboardRow,
        status: &str,
        store: &RunStore,
    ) -> Result<String, TrackingError> {
        let mut tags = vec![
            KeyValue::new(KIND, "config"),
            KeyValue::new(RUN_HASH, &row.config_id),
            KeyValue::new("trendlab.status", status.to_lowercase()),
            KeyValue::new("trendlab.model", &row.model),
            KeyValue::new("trendlab.label", &row.label),
            KeyValue::new("trendlab.family", &row.family),
            KeyValue::new("trendlab.params", &row.params),
            KeyValue::new("trendlab.run_ids", row.run_ids.join(";")),
            KeyValue::new(
                "trendlab.errors",
                serde_json::to_string(&row.errors).unwrap_or_default(),
            ),
            KeyValue::new("trendlab.notes", serde_json::to_string(&row.notes).unwrap_or_default()),
        ];
        if let Some(ensemble) = &row.ensemble {
            let members_and_weights = EnsembleSummary {
                versus_best: None,
                ..ensemble.clone()
            };
            tags.push(KeyValue::new(
                ENSEMBLE,
                serde_json::to_string(&members_and_weights).unwrap_or_default(),
            ));
        }
        if let Some(parent) = &self.parent {
            tags.push(KeyValue::new("mlflow.parentRunId", &parent.run_id));
        }
        let run = self
            .client
            .create_run(&self.experiment_id, &row.label, &tags[..2], now_ms())?;
        let mut params = vec![KeyValue::new("model", &row.model), KeyValue::new("family", &row.family)];
        for (key, value) in plan.configs[c].params() {
            params.push(KeyValue::new(
                key,
                value.as_str().map_or_else(|| value.to_string(), String::from),
            ));
        }
        let timestamp = now_ms();
        let metric = |key: String, value: f64| MetricValue {
            key,
            value,
            timestamp,
            step: 0,
        };
        let mut values = Vec::new();
        for (name, summary) in &row.metrics {
            values.extend(summary.mean.map(|v| metric(name.clone(), v)));
            values.extend(summary.std.map(|v| metric(format!("{name}_std"), v)));
        }
        for (name, folds) in &row.per_fold {
            values.extend(
                folds
                    .iter()
                    .enumerate()
                    .filter_map(|(k, v)| v.map(|v| metric(format!("{name}_fold{k}"), v))),
            );
        }
        values.extend(row.fit_seconds.map(|v| metric("fit_seconds".into(), v)));
        values.push(metric("folds".into(), row.folds as f64));
        values.push(metric("folds_finished".into(), row.folds_finished as f64));
        values.extend(training_curves(plan, c, store, timestamp));
        self.client.log(&run.run_id, values, params, tags[2..].to_vec())?;
        for (k, planned) in plan.runs_of(c).enumerate() {
            for file in [
                "run.json",
                "metrics.json",
                "forecasts.parquet",
                "series_metrics.parquet",
                "forecasts.csv",
            ] {
                if let Ok(bytes) = std::fs::read(store.run_dir(&planned.id).join(file)) {
                    self.client.upload_artifact(&run, &format!("fold{k}/{file}"), &bytes)?;
                }
            }
        }
        self.client.end_run(&run.run_id, status, now_ms())?;
        Ok(run.run_id)
    }

    pub fn report(&self) -> MirrorReport {
        self.lock_report().clone()
    }
}

/// Mirrors each configuration as soon as its last fold is stored, while
/// passing progress on to `inner` (the progress bar).
pub struct LiveMirror<'a> {
    mirror: &'a Mirror,
    plan: &'a Plan,
    store: &'a RunStore,
    metrics: &'a [Score],
    inner: &'a dyn Progress,
    config_of: HashMap<&'a str, usize>,
    pending: Vec<AtomicUsize>,
    done: Vec<AtomicBool>,
}

impl<'a> LiveMirror<'a> {
    pub fn new(
        mirror: &'a Mirror,
        plan: &'a Plan,
        store: &'a RunStore,
        metrics: &'a [Score],
        inner: &'a dyn Progress,
    ) -> Self {
        LiveMirror {
            mirror,
            plan,
            store,
            metrics,
            inner,
            config_of: plan.runs.iter().map(|r| (r.id.as_str(), r.config)).collect(),
            pending: plan.configs.iter().map(|_| AtomicUsize::new(0)).collect(),
            done: plan.configs.iter().map(|_| AtomicBool::new(false)).collect(),
        }
    }

    /// Mirrors the configurations the grid did not touch (all folds already
    /// stored): they may be missing from MLflow after an outage.
    pub fn finish(&self) {
        for c in 0..self.plan.configs.len() {
            if !self.done[c].swap(true, Ordering::Relaxed) && complete(self.plan, c, self.store) {
                self.mirror.mirror_config(self.plan, c, self.store, self.metrics);
            }
        }
    }
}

impl Progress for LiveMirror<'_> {
    fn start(&self, to_run: &[&PlannedRun], skipped: usize) {
        for run in to_run {
            self.pending[run.config].fetch_add(1, Ordering::Relaxed);
        }
        self.inner.start(to_run, skipped);
    }

    fn epoch(&self, run: &PlannedRun, epoch: &trendlab_results::EpochLoss, of: usize) {
        self.inner.epoch(run, epoch, of);
    }

    fn run_done(&self, record: &RunRecord) {
        self.inner.run_done(record);
        let Some(&c) = self.config_of.get(record.run_id.as_str()) else {
            return;
        };
        if self.pending[c].fetch_sub(1, Ordering::AcqRel) == 1 && !self.done[c].swap(true, Ordering::Relaxed) {
            self.mirror.mirror_config(self.plan, c, self.store, self.metrics);
        }
    }
}

/// Whether every fold of configuration `c` is stored (finished or failed).
pub fn complete(plan: &Plan, c: usize, store: &RunStore) -> bool {
    plan.runs_of(c).all(|r| matches!(store.record(&r.id), Ok(Some(_))))
}

/// Pushes every stored configuration of the plan that MLflow lacks.
pub fn sync(mirror: &Mirror, plan: &Plan, store: &RunStore, metrics: &[Score]) -> usize {
    let mut incomplete = 0;
    for c in 0..plan.configs.len() {
        if complete(plan, c, store) {
            mirror.mirror_config(plan, c, store, metrics);
        } else {
            incomplete += 1;
        }
    }
    incomplete
}

/// Why a leaderboard could not be read back from MLflow.
#[derive(Debug, thiserror::Error)]
pub enum ReadBackError {
    #[error(transparent)]
    Tracking(#[from] TrackingError),
    #[error(
        "configuration `{label}` (run hash {hash}) is not in MLflow experiment `{experiment}`; run `trendlab sync` first"
    )]
    Missing {
        label: String,
        hash: String,
        experiment: String,
    },
    #[error("MLflow run {run_id} lacks `{what}`")]
    Incomplete { run_id: String, what: String },
}

/// The plan's leaderboard rows read back from MLflow alone (the child runs
/// found by their run hash), with the significance section of the newest
/// parent run that holds the same configurations;
/// [`Leaderboard::assemble`](trendlab_results::Leaderboard::assemble) ranks them.
pub fn read_back_from_mlflow(client: &MlflowClient, plan: &Plan, metrics: &[Score]) -> Result<ReadBack, ReadBackError> {
    let experiment_id = client.experiment_id(&plan.experiment)?;
    let mut by_hash: HashMap<String, Run> = HashMap::new();
    for run in client.search_runs(&[&experiment_id], &format!("tags.`{KIND}` = 'config'"))? {
        if let Some(hash) = run.tag(RUN_HASH)
            && matches!(run.info.status.as_str(), "FINISHED" | "FAILED")
        {
            by_hash.insert(hash.to_string(), run);
        }
    }
    let rows = (0..plan.configs.len())
        .map(|c| {
            let hash = plan.config_id(c);
            let run = by_hash.get(&hash).ok_or_else(|| ReadBackError::Missing {
                label: plan.configs[c].label(),
                hash: hash.clone(),
                experiment: plan.experiment.clone(),
            })?;
            row_from_run(run, metrics)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let wanted: BTreeSet<&str> = rows.iter().map(|r| r.config_id.as_str()).collect();
    let significance = crate::significance::from_parent_runs(client, &experiment_id, &wanted)?.ok_or_else(|| {
        "no test: no parent run in MLflow holds a leaderboard of these configurations (a report from the local run store has them)"
            .to_string()
    });
    Ok(ReadBack { rows, significance })
}

fn row_from_run(run: &Run, metrics: &[Score]) -> Result<LeaderboardRow, ReadBackError> {
    let tag = |key: &str| {
        run.tag(key).map(String::from).ok_or_else(|| ReadBackError::Incomplete {
            run_id: run.info.run_id.clone(),
            what: format!("tag {key}"),
        })
    };
    let list =
        |key: &str| -> Result<Vec<String>, ReadBackError> { Ok(serde_json::from_str(&tag(key)?).unwrap_or_default()) };
    let count = |key: &str| {
        run.metric(key)
            .map(|v| v as usize)
            .ok_or_else(|| ReadBackError::Incomplete {
                run_id: run.info.run_id.clone(),
                what: format!("metric {key}"),
            })
    };
    let folds = count("folds")?;
    Ok(LeaderboardRow {
        rank: None,
        model: tag("trendlab.model")?,
        label: tag("trendlab.label")?,
        family: tag("trendlab.family")?,
        params: tag("trendlab.params")?,
        config_id: tag(RUN_HASH)?,
        run_ids: tag("trendlab.run_ids")?.split(';').map(String::from).collect(),
        metrics: metrics
            .iter()
            .map(|m| {
                let name = m.name();
                (
                    name.clone(),
                    MetricSummary {
                        mean: run.metric(&name),
                        std: run.metric(&format!("{name}_std")),
                    },
                )
            })
            .collect(),
        per_fold: metrics
            .iter()
            .map(|m| {
                (
                    m.name(),
                    (0..folds)
                        .map(|k| run.metric(&format!("{}_fold{k}", m.name())))
                        .collect(),
                )
            })
            .collect(),
        fit_seconds: run.metric("fit_seconds"),
        folds_finished: count("folds_finished")?,
        folds,
        errors: list("trendlab.errors")?,
        notes: list("trendlab.notes")?,
        ensemble: run.tag(ENSEMBLE).and_then(|json| serde_json::from_str(json).ok()),
        conformal: None,
        // Not mirrored: a report rebuilt from MLflow has no per-level table.
        levels: Vec::new(),
        test: None,
        interval: None,
    })
}

/// Per-epoch losses of a trained family's folds as MLflow step metrics
/// (`train_loss_fold0`, `val_loss_fold0`, step = epoch).
fn training_curves(plan: &Plan, c: usize, store: &RunStore, timestamp: i64) -> Vec<MetricValue> {
    let mut values = Vec::new();
    for (k, planned) in plan.runs_of(c).enumerate() {
        let Ok(Some(record)) = store.record(&planned.id) else {
            continue;
        };
        for e in record.training.iter().flat_map(|t| &t.epochs) {
            let step = e.epoch as i64;
            values.push(MetricValue {
                key: format!("train_loss_fold{k}"),
                value: e.train,
                timestamp,
                step,
            });
            values.extend(e.validation.map(|v| MetricValue {
                key: format!("val_loss_fold{k}"),
                value: v,
                timestamp,
                step,
            }));
        }
    }
    values
}
