//! Fair means: a leaderboard compares its ranked configurations on the same
//! series. Where some of them could not forecast a series in a fold (no
//! fallback, or the fallback failed too), that fold's means of every
//! complete configuration are taken again from the per-series values over
//! the series all of them scored, and the dropped series are counted and
//! named in the rows' notes and in [`Coverage`]. With fallbacks (the
//! default) every series has a forecast, and the means cover all of them.
//!
//! WRMSSE weighs series and aggregates over the whole hierarchy and cannot
//! be taken again from per-series values: a fold with dropped series keeps
//! each configuration's own WRMSSE, and the coverage says so.

use super::LeaderboardRow;
use crate::metrics::mean_std;
use crate::plan::Plan;
use crate::store::{RunStatus, RunStore, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use trendlab_spec::Metric;

/// Which series the leaderboard's means cover.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Every series of each fold (`all`), or in some fold only those every
    /// ranked configuration scored (`shared`).
    pub basis: Basis,
    /// Forecasts made by the configurations' fallbacks (series × fold, over
    /// the complete configurations), scored with the others.
    pub fallbacks: usize,
    /// Per fold, the series left out of every complete configuration's means.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<DroppedSeries>,
    /// The above in words, for the report and `leaderboard.md`.
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    All,
    Shared,
}

/// The series of one fold some complete configuration did not score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DroppedSeries {
    pub fold: usize,
    /// Series the fold's means are over.
    pub kept: usize,
    pub series: Vec<String>,
}

/// How many dropped series a note names.
const NAMED: usize = 5;

/// Takes the means of `rows` (configurations `0..` of `plan`, in plan
/// order) again over the series every complete configuration scored, fold
/// by fold, and says which series the means cover.
pub(crate) fn make_fair(plan: &Plan, store: &RunStore, rows: &mut [LeaderboardRow]) -> Result<Coverage, StoreError> {
    let complete: Vec<usize> = (0..rows.len())
        .filter(|c| rows[*c].folds_finished == rows[*c].folds)
        .collect();
    let folds = rows.first().map_or(0, |r| r.folds);
    let mut fallbacks = 0;
    let mut failed: Vec<BTreeSet<String>> = vec![BTreeSet::new(); folds];
    let mut scored: Vec<usize> = vec![0; folds];
    let mut fold_numbers: Vec<usize> = (0..folds).collect();
    for &c in &complete {
        for (k, run) in plan.runs_of(c).enumerate() {
            let Some(record) = store.record(&run.id)? else { continue };
            if record.status != RunStatus::Finished {
                continue;
            }
            fold_numbers[k] = run.fold;
            fallbacks += record.fallback_series.len();
            failed[k].extend(record.failed_series.into_iter().map(|f| f.series));
            scored[k] = scored[k].max(record.series);
        }
    }
    let mut dropped = Vec::new();
    for (k, series) in failed.into_iter().enumerate() {
        if series.is_empty() {
            continue;
        }
        for &c in &complete {
            let run = plan.runs_of(c).nth(k).expect("a run per fold");
            let values = store.series_metrics(&run.id)?;
            let row = &mut rows[c];
            for (metric, slots) in &mut row.per_fold {
                if metric == Metric::Wrmsse.name() {
                    continue;
                }
                let kept: Vec<f64> = values
                    .iter()
                    .filter(|(id, _)| !series.contains(*id))
                    .filter_map(|(_, by_metric)| by_metric.get(metric).copied())
                    .collect();
                slots[k] = (!kept.is_empty()).then(|| kept.iter().sum::<f64>() / kept.len() as f64);
            }
            row.notes.push(format!(
                "fold {}: means over the {} series every ranked configuration scored ({})",
                fold_numbers[k],
                scored[k] - series.len(),
                named(&series)
            ));
        }
        dropped.push(DroppedSeries {
            fold: fold_numbers[k],
            kept: scored[k] - series.len(),
            series: series.into_iter().collect(),
        });
    }
    if !dropped.is_empty() {
        for &c in &complete {
            let row = &mut rows[c];
            for (name, summary) in &mut row.metrics {
                let values: Option<Vec<f64>> = row.per_fold[name].iter().copied().collect();
                (summary.mean, summary.std) = values.map_or((None, None), |v| mean_std(&v));
            }
        }
    }
    let basis = if dropped.is_empty() { Basis::All } else { Basis::Shared };
    let text = describe(
        basis,
        fallbacks,
        &dropped,
        rows.iter().any(|r| r.metrics.contains_key("wrmsse")),
    );
    Ok(Coverage {
        basis,
        fallbacks,
        dropped,
        text,
    })
}

/// "3 dropped (fold 0: a, b; fold 2: c)": the dropped series, the first
/// few named.
fn named(series: &BTreeSet<String>) -> String {
    let shown: Vec<&str> = series.iter().take(NAMED).map(String::as_str).collect();
    let more = series.len().saturating_sub(NAMED);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!("{} dropped: {}{more}", series.len(), shown.join(", "))
}

fn describe(basis: Basis, fallbacks: usize, dropped: &[DroppedSeries], wrmsse: bool) -> String {
    let by_fallback = match fallbacks {
        0 => String::new(),
        n => format!(" ({n} forecasts by fallbacks where a model failed, listed in the runs' notes)"),
    };
    match basis {
        Basis::All => format!("every series of every fold{by_fallback}"),
        Basis::Shared => {
            let folds: Vec<String> = dropped
                .iter()
                .map(|d| format!("fold {}: {}", d.fold, named(&d.series.iter().cloned().collect())))
                .collect();
            let wrmsse = if wrmsse {
                "; WRMSSE over each configuration's own series"
            } else {
                ""
            };
            format!(
                "the series every ranked configuration scored ({}){by_fallback}{wrmsse}",
                folds.join("; ")
            )
        }
    }
}
