//! The leaderboard: one row per model configuration, each metric's mean and
//! standard deviation over folds, ranked by `rank_by`. Built from the run
//! store alone, so `trendlab report` can rebuild it without running anything.
//! Configurations with a failed or missing fold are listed unranked.
//! An ensemble's row also carries its weights per fold and how it compares
//! with its best member (the member configuration with the best mean of
//! `rank_by` on this leaderboard), on the mean and fold by fold.
//!
//! [`Leaderboard::assemble`] is the one place a leaderboard is put
//! together (rows, ranks, conformal scores, tests); nothing changes it
//! afterwards.

mod assemble;
mod coverage;
pub use assemble::{LentSignificance, ReadBack, Source};
pub use coverage::{Basis, Coverage, DroppedSeries};

use crate::metrics::mean_std;
use crate::plan::Plan;
use crate::store::{RunStatus, RunStore, StoreError, write_atomic};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use trendlab_spec::Score;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
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
    /// Content hash of the configuration (of its runs' ids).
    pub config_id: String,
    pub run_ids: Vec<String>,
    pub metrics: BTreeMap<String, MetricSummary>,
    /// Each metric's value per fold (`None`: failed, missing or undefined).
    pub per_fold: BTreeMap<String, Vec<Option<f64>>>,
    /// Mean seconds in the model per fold.
    pub fit_seconds: Option<f64>,
    pub folds_finished: usize,
    pub folds: usize,
    /// Failure reasons, one per failed fold.
    pub errors: Vec<String>,
    /// Why some metric values are missing (`metrics.json` notes), per fold.
    pub notes: Vec<String>,
    /// For an ensemble: its members, weights and comparison with the best one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ensemble: Option<EnsembleSummary>,
    /// For a configuration without intervals of its own: the conformal
    /// intervals `forecast` would give it, scored fold by fold
    /// (`conformal_backtest`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conformal: Option<crate::conformal_backtest::ConformalScores>,
    /// WRMSSE's weighted RMSSE per aggregation level (the total, each
    /// declared level, the series), mean over folds; empty without WRMSSE.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<(String, f64)>,
    /// The paired test against the best configuration (`significance`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<crate::significance::BestTest>,
    /// Bootstrap interval (level 1 − alpha) of the tested metric's mean
    /// over series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<trendlab_stats::Interval>,
}

/// An ensemble's weights per fold and its standing against its best member.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct EnsembleSummary {
    /// The member models.
    pub members: Vec<String>,
    /// Per fold: each combined configuration's weight (`null` for the
    /// median, an order statistic); empty for a fold not finished.
    pub weights: Vec<BTreeMap<String, Option<f64>>>,
    /// Against the best member configuration; set when ranking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versus_best: Option<VersusBest>,
}

/// An ensemble against its best member on the leaderboard's `rank_by`.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct VersusBest {
    /// The member configuration with the best mean.
    pub member: String,
    /// Ensemble minus member, mean over folds.
    pub difference: f64,
    /// Ensemble minus member, per fold (`None` where either is missing).
    pub per_fold: Vec<Option<f64>>,
    /// Folds where the ensemble is better.
    pub folds_better: usize,
    /// Whether the ensemble's mean is better.
    pub beats: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Leaderboard {
    pub experiment: String,
    pub description: String,
    pub rank_by: String,
    pub metrics: Vec<String>,
    pub rows: Vec<LeaderboardRow>,
    /// Which series the means cover; `None` for rows read back from MLflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
    /// Paired tests, ranks, segments; `None` without per-series values
    /// (a leaderboard read back from MLflow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub significance: Option<crate::significance::Significance>,
}

/// Significant digits of every number in a leaderboard: far beyond any
/// meaningful precision of a metric, and few enough that values survive a
/// round trip through a tracking server that perturbs the last bit.
pub const SIGNIFICANT_DIGITS: usize = 12;

fn round_significant(value: f64) -> f64 {
    format!("{value:.*e}", SIGNIFICANT_DIGITS - 1).parse().unwrap_or(value)
}

impl LeaderboardRow {
    /// The row with every number rounded to [`SIGNIFICANT_DIGITS`].
    pub fn rounded(mut self) -> Self {
        let round = |v: &mut Option<f64>| *v = v.map(round_significant);
        for summary in self.metrics.values_mut() {
            round(&mut summary.mean);
            round(&mut summary.std);
        }
        self.per_fold.values_mut().flatten().for_each(round);
        round(&mut self.fit_seconds);
        for (_, value) in &mut self.levels {
            *value = round_significant(*value);
        }
        if let Some(summary) = &mut self.ensemble {
            summary.weights.iter_mut().flat_map(|w| w.values_mut()).for_each(round);
        }
        self
    }

    /// Summarises configuration `c` of the plan from the stored runs of its
    /// folds (unranked).
    pub fn from_store(plan: &Plan, c: usize, store: &RunStore, metrics: &[Score]) -> Result<Self, StoreError> {
        let config = &plan.configs[c];
        let folds = plan.runs_of(c).count();
        let mut per_fold: BTreeMap<String, Vec<Option<f64>>> =
            metrics.iter().map(|m| (m.name(), vec![None; folds])).collect();
        let (mut run_ids, mut errors, mut notes, mut fit, mut finished) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), 0);
        let mut levels: Vec<(String, Vec<f64>)> = Vec::new();
        let mut ensemble = config.family.ensemble().map(|e| EnsembleSummary {
            members: e.members.clone(),
            weights: vec![BTreeMap::new(); folds],
            versus_best: None,
        });
        for (k, run) in plan.runs_of(c).enumerate() {
            run_ids.push(run.id.clone());
            let Some(record) = store.record(&run.id)? else {
                continue;
            };
            match record.status {
                RunStatus::Failed => errors.push(format!("fold {}: {}", run.fold, record.error.unwrap_or_default())),
                RunStatus::Finished => {
                    finished += 1;
                    fit.push(record.fit_seconds);
                    if let (Some(summary), Some(log)) = (&mut ensemble, &record.ensemble) {
                        summary.weights[k] = log
                            .members
                            .iter()
                            .filter(|m| m.used)
                            .map(|m| (m.label.clone(), m.weight))
                            .collect();
                    }
                    let values = store.metrics(&run.id)?.unwrap_or_default();
                    notes.extend(values.notes.iter().map(|n| format!("fold {}: {n}", run.fold)));
                    for (name, slots) in &mut per_fold {
                        slots[k] = values.aggregate.get(name).copied();
                    }
                    for (name, value) in values.wrmsse_levels {
                        match levels.iter_mut().find(|(n, _)| *n == name) {
                            Some((_, values)) => values.push(value),
                            None => levels.push((name, vec![value])),
                        }
                    }
                }
            }
        }
        let summaries = per_fold
            .iter()
            .map(|(name, slots)| {
                let values: Option<Vec<f64>> = slots.iter().copied().collect();
                let (mean, std) = values
                    .filter(|_| finished == folds)
                    .map_or((None, None), |v| mean_std(&v));
                (name.clone(), MetricSummary { mean, std })
            })
            .collect();
        Ok(LeaderboardRow {
            rank: None,
            model: config.model.clone(),
            label: config.label(),
            family: config.family.name().to_string(),
            params: serde_json::Value::Object(config.params()).to_string(),
            config_id: plan.config_id(c),
            run_ids,
            metrics: summaries,
            per_fold,
            fit_seconds: mean_std(&fit).0,
            folds_finished: finished,
            folds,
            errors,
            notes,
            ensemble,
            conformal: None,
            test: None,
            interval: None,
            // Levels scored in every fold only, as the means above.
            levels: levels
                .into_iter()
                .filter(|(_, values)| finished == folds && values.len() == folds)
                .filter_map(|(name, values)| Some((name, mean_std(&values).0?)))
                .collect(),
        })
    }
}

/// Sorts `items` by `key`, smaller first and those without one last (a
/// stable sort), and returns their 1-based ranks (`None` without a key).
pub(crate) fn rank_by_key<T>(items: &mut [T], key: impl Fn(&T) -> Option<f64>) -> Vec<Option<usize>> {
    items.sort_by(|a, b| match (key(a), key(b)) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    let mut rank = 0;
    items
        .iter()
        .map(|item| {
            key(item).map(|_| {
                rank += 1;
                rank
            })
        })
        .collect()
}

/// Sets each ensemble row's comparison with its best member row.
fn compare_with_best_members(rows: &mut [LeaderboardRow], rank_by: Score) {
    let name = rank_by.name();
    let mean = |row: &LeaderboardRow| row.metrics.get(&name).and_then(|s| s.mean);
    for e in 0..rows.len() {
        let Some(summary) = &rows[e].ensemble else { continue };
        let best = rows
            .iter()
            .filter(|r| r.ensemble.is_none() && summary.members.contains(&r.model))
            .filter_map(|r| mean(r).map(|m| (r, m)))
            .min_by(|a, b| rank_by.rank_key(a.1).total_cmp(&rank_by.rank_key(b.1)));
        let versus = match (best, mean(&rows[e])) {
            (Some((member, member_mean)), Some(ensemble_mean)) => {
                let ensemble_folds = &rows[e].per_fold[&name];
                let member_folds = &member.per_fold[&name];
                let better = |a: f64, b: f64| rank_by.rank_key(a) < rank_by.rank_key(b);
                Some(VersusBest {
                    member: member.label.clone(),
                    difference: ensemble_mean - member_mean,
                    per_fold: ensemble_folds
                        .iter()
                        .zip(member_folds)
                        .map(|(a, b)| Some((*a)? - (*b)?))
                        .collect(),
                    folds_better: ensemble_folds
                        .iter()
                        .zip(member_folds)
                        .filter(|(a, b)| matches!((a, b), (Some(a), Some(b)) if better(*a, *b)))
                        .count(),
                    beats: better(ensemble_mean, member_mean),
                })
            }
            _ => None,
        };
        if let Some(summary) = &mut rows[e].ensemble {
            summary.versus_best = versus;
        }
    }
}

impl Leaderboard {
    /// Orders `rows` by the mean of `rank_by` and numbers the ranked ones;
    /// rows lacking that mean (incomplete configurations) come last, unranked.
    pub fn ranked(
        experiment: &str,
        description: &str,
        rank_by: Score,
        metrics: &[Score],
        rows: Vec<LeaderboardRow>,
    ) -> Leaderboard {
        let mut rows: Vec<LeaderboardRow> = rows.into_iter().map(LeaderboardRow::rounded).collect();
        compare_with_best_members(&mut rows, rank_by);
        let key = |row: &LeaderboardRow| {
            row.metrics
                .get(&rank_by.name())
                .and_then(|s| s.mean)
                .map(|v| rank_by.rank_key(v))
        };
        let ranks = rank_by_key(&mut rows, key);
        for (row, rank) in rows.iter_mut().zip(ranks) {
            row.rank = rank;
        }
        Leaderboard {
            experiment: experiment.to_string(),
            description: description.to_string(),
            rank_by: rank_by.name(),
            metrics: metrics.iter().map(Score::name).collect(),
            rows,
            coverage: None,
            significance: None,
        }
    }

    /// `leaderboard.csv`: rank, model, family, params, run_ids, then
    /// `<metric>_mean,<metric>_std` for every metric, then the paired test
    /// against the best (`vs_best`: best, tied or worse; `p_value`,
    /// `p_holm`) and the bootstrap interval of the tested metric's mean
    /// (`ci_low`, `ci_high`), empty where not tested, then fit_seconds
    /// (last: the one column that depends on the machine).
    pub fn to_csv(&self) -> Vec<u8> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<String> = ["rank", "model", "family", "params", "run_ids"]
            .map(String::from)
            .to_vec();
        for m in &self.metrics {
            header.extend([format!("{m}_mean"), format!("{m}_std")]);
        }
        header.extend(["vs_best", "p_value", "p_holm", "ci_low", "ci_high"].map(String::from));
        header.push("fit_seconds".into());
        let tested = self.significance.as_ref().is_some_and(|s| s.tested);
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
            record.push(match (&row.test, row.rank) {
                (_, Some(1)) if tested => "best".into(),
                (Some(t), _) => if t.tied { "tied" } else { "worse" }.into(),
                _ => String::new(),
            });
            let p = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:e}"));
            record.push(p(row.test.as_ref().map(|t| t.p_value)));
            record.push(p(row.test.as_ref().map(|t| t.p_holm)));
            record.push(number(row.interval.map(|i| i.low)));
            record.push(number(row.interval.map(|i| i.high)));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_keeps_twelve_significant_digits_and_absorbs_last_bit_noise() {
        assert_eq!(round_significant(94.51534000721499), 94.5153400072);
        assert_eq!(
            round_significant(0.9528556160502535),
            round_significant(0.9528556160502536)
        );
        assert_eq!(round_significant(0.9528556160502535), 0.95285561605);
        assert_eq!(round_significant(1.0e-300), 1.0e-300);
        assert_eq!(round_significant(-2.5), -2.5);
    }
}
