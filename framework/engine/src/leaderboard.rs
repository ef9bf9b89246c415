//! The leaderboard: one row per model configuration, each metric's mean and
//! standard deviation over folds, ranked by `rank_by`. Built from the run
//! store alone, so `trendlab report` can rebuild it without running anything.
//! Configurations with a failed or missing fold are listed unranked.

use crate::metrics::mean_std;
use crate::plan::Plan;
use crate::store::{RunStatus, RunStore, StoreError, write_atomic};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use trendlab_spec::Metric;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSummary {
    pub mean: Option<f64>,
    pub std: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeaderboardRow {
    /// 1-based; `None` for configurations that did not finish every fold or
    /// lack the ranking metric.
    pub rank: Option<usize>,
    pub model: String,
    pub label: String,
    pub family: String,
    /// The family's parameters as compact JSON.
    pub params: String,
    pub run_ids: Vec<String>,
    pub metrics: BTreeMap<String, MetricSummary>,
    /// Mean seconds in the model per fold.
    pub fit_seconds: Option<f64>,
    pub folds_finished: usize,
    pub folds: usize,
    /// Failure reasons, one per failed fold.
    pub errors: Vec<String>,
    /// Why some metric values are missing (`metrics.json` notes), per fold.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Leaderboard {
    pub experiment: String,
    pub description: String,
    pub rank_by: String,
    pub metrics: Vec<String>,
    pub rows: Vec<LeaderboardRow>,
}

impl Leaderboard {
    /// Reads every planned run from the store and ranks the configurations.
    pub fn build(
        plan: &Plan,
        store: &RunStore,
        metrics: &[Metric],
        rank_by: Metric,
        description: &str,
    ) -> Result<Leaderboard, StoreError> {
        let mut rows = Vec::new();
        for (c, config) in plan.configs.iter().enumerate() {
            let mut per_metric: BTreeMap<Metric, Vec<f64>> = BTreeMap::new();
            let (mut run_ids, mut errors, mut notes, mut fit, mut finished) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new(), 0);
            for run in plan.runs_of(c) {
                run_ids.push(run.id.clone());
                let Some(record) = store.record(&run.id)? else {
                    continue;
                };
                match record.status {
                    RunStatus::Failed => {
                        errors.push(format!("fold {}: {}", run.fold, record.error.unwrap_or_default()))
                    }
                    RunStatus::Finished => {
                        finished += 1;
                        fit.push(record.fit_seconds);
                        let values = store.metrics(&run.id)?.unwrap_or_default();
                        notes.extend(values.notes.iter().map(|n| format!("fold {}: {n}", run.fold)));
                        for m in metrics {
                            if let Some(v) = values.aggregate.get(m.name()) {
                                per_metric.entry(*m).or_default().push(*v);
                            }
                        }
                    }
                }
            }
            let folds = run_ids.len();
            let complete = |m: &Metric| per_metric.get(m).is_some_and(|v| v.len() == folds && finished == folds);
            let summaries = metrics
                .iter()
                .map(|m| {
                    let (mean, std) = if complete(m) {
                        mean_std(&per_metric[m])
                    } else {
                        (None, None)
                    };
                    (m.name().to_string(), MetricSummary { mean, std })
                })
                .collect();
            rows.push(LeaderboardRow {
                rank: None,
                model: config.model.clone(),
                label: config.label(),
                family: config.family.name().to_string(),
                params: serde_json::Value::Object(config.family.params()).to_string(),
                run_ids,
                metrics: summaries,
                fit_seconds: mean_std(&fit).0,
                folds_finished: finished,
                folds,
                errors,
                notes,
            });
        }
        let key = |row: &LeaderboardRow| {
            row.metrics
                .get(rank_by.name())
                .and_then(|s| s.mean)
                .map(|v| rank_by.rank_key(v))
        };
        rows.sort_by(|a, b| match (key(a), key(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
        let mut rank = 0;
        for row in &mut rows {
            if key(row).is_some() {
                rank += 1;
                row.rank = Some(rank);
            }
        }
        Ok(Leaderboard {
            experiment: plan.experiment.clone(),
            description: description.to_string(),
            rank_by: rank_by.name().to_string(),
            metrics: metrics.iter().map(|m| m.name().to_string()).collect(),
            rows,
        })
    }

    /// `leaderboard.csv`: rank, model, family, params, run_ids, then
    /// `<metric>_mean,<metric>_std` for every metric, then fit_seconds.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<String> = ["rank", "model", "family", "params", "run_ids"]
            .map(String::from)
            .to_vec();
        for m in &self.metrics {
            header.extend([format!("{m}_mean"), format!("{m}_std")]);
        }
        header.push("fit_seconds".into());
        writer.write_record(&header).expect("writing to memory");
        let number = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v}"));
        for row in &self.rows {
            let mut record = vec![
                row.rank.map_or(String::new(), |r| r.to_string()),
                row.label.clone(),
                row.family.clone(),
                row.params.clone(),
                row.run_ids.join(";"),
            ];
            for m in &self.metrics {
                let s = &row.metrics[m];
                record.extend([number(s.mean), number(s.std)]);
            }
            record.push(number(row.fit_seconds));
            writer.write_record(&record).expect("writing to memory");
        }
        writer.into_inner().expect("writing to memory")
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("leaderboard serialises");
        bytes.push(b'\n');
        bytes
    }

    /// Writes `leaderboard.csv` and `leaderboard.json` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        write_atomic(&dir.join("leaderboard.csv"), &self.to_csv())?;
        write_atomic(&dir.join("leaderboard.json"), &self.to_json())
    }
}
