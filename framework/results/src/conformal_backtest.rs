//! The conformal intervals `forecast` gives a family without intervals of
//! its own, scored in the backtest so a user sees whether they hold: at
//! fold k, the intervals [`conformal::intervals`] builds from the errors of
//! folds 0..k (each series scaled by its training history at fold k, as the
//! forecast scales by its whole history), around fold k's stored forecasts,
//! scored by the experiment's interval metrics (coverage, Winkler,
//! pinball). Fold 0 has no earlier errors and is not scored.

use crate::conformal::{self, SeriesErrors};
use crate::leaderboard::{LeaderboardRow, MetricSummary};
use crate::metrics::{SeriesEval, series_score};
use crate::plan::Plan;
use crate::prepare::Prepared;
use crate::store::{ForecastTable, RunStatus, RunStore, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use trendlab_models::Interval;

/// A configuration's conformal intervals scored fold by fold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConformalScores {
    /// Per interval metric (`coverage_80`), per fold; `None` for fold 0.
    pub per_fold: BTreeMap<String, Vec<Option<f64>>>,
    /// Mean ± std over the scored folds.
    pub metrics: BTreeMap<String, MetricSummary>,
    /// Folds scored (every fold after the first that finished).
    pub folds_scored: usize,
}

/// Sets `conformal` on every row whose configuration's stored forecasts
/// carry no intervals, when the experiment scores intervals and the
/// backtest has two folds or more (called by [`Leaderboard::assemble`]).
///
/// [`Leaderboard::assemble`]: crate::Leaderboard::assemble
pub(crate) fn score(
    prepared: &Prepared,
    plan: &Plan,
    store: &RunStore,
    rows: &mut [LeaderboardRow],
) -> Result<(), StoreError> {
    let scores: Vec<_> = prepared
        .experiment
        .scores()
        .into_iter()
        .filter(|s| s.metric.needs_intervals())
        .collect();
    if scores.is_empty() || plan.folds.len() < 2 {
        return Ok(());
    }
    let levels = &prepared.experiment.evaluation().levels;
    for row in rows {
        let Some(c) = (0..plan.configs.len()).find(|&c| plan.config_id(c) == row.config_id) else {
            continue;
        };
        row.conformal = config_scores(prepared, plan, store, c, levels, &scores)?;
    }
    Ok(())
}

/// `None` when the configuration has intervals of its own, or no fold
/// after the first finished.
fn config_scores(
    prepared: &Prepared,
    plan: &Plan,
    store: &RunStore,
    c: usize,
    levels: &[f64],
    scores: &[trendlab_spec::Score],
) -> Result<Option<ConformalScores>, StoreError> {
    let mut tables: Vec<Option<ForecastTable>> = Vec::new();
    let mut runs: Vec<_> = plan.runs_of(c).filter(|r| r.role.is_backtest()).collect();
    runs.sort_by_key(|r| r.fold);
    for run in &runs {
        let finished = store.record(&run.id)?.is_some_and(|r| r.status == RunStatus::Finished);
        tables.push(if finished {
            Some(store.forecasts(&run.id)?)
        } else {
            None
        });
    }
    if tables.iter().flatten().any(|t| !t.levels.is_empty()) {
        return Ok(None);
    }
    let panel = &prepared.panel;
    let index: HashMap<&str, usize> = panel
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let horizon = prepared.experiment.evaluation().horizon;
    let season = prepared.experiment.evaluation().season;
    let mut per_fold: BTreeMap<String, Vec<Option<f64>>> =
        scores.iter().map(|s| (s.name(), vec![None; runs.len()])).collect();
    let mut scored = 0;
    for k in 1..runs.len() {
        let Some(table) = &tables[k] else { continue };
        let fold = plan.fold_of(runs[k]);
        // Each series' history at fold k, by its id.
        let train: HashMap<&str, &[f64]> = prepared
            .windows(fold)
            .into_iter()
            .map(|w| {
                let s = &panel.series[w.series];
                (s.id.as_str(), &s.target[w.train])
            })
            .collect();
        let mut errors: BTreeMap<String, SeriesErrors> = BTreeMap::new();
        for earlier in tables[..k].iter().flatten() {
            for row in &earlier.rows {
                let Some(history) = train.get(row.series_id.as_str()) else {
                    continue;
                };
                let e = errors.entry(row.series_id.clone()).or_insert_with(|| SeriesErrors {
                    by_step: Vec::new(),
                    scale: conformal::scale(history),
                });
                if e.by_step.len() < row.step {
                    e.by_step.resize(row.step, Vec::new());
                }
                e.by_step[row.step - 1].push(row.actual - row.forecast);
            }
        }
        if errors.is_empty() {
            continue;
        }
        let widths = conformal::intervals(&errors, horizon, levels).half_widths;
        let mut by_series: BTreeMap<&str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
        for row in &table.rows {
            let entry = by_series.entry(row.series_id.as_str()).or_default();
            entry.0.push(row.actual);
            entry.1.push(row.forecast);
        }
        let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for (id, (actual, forecast)) in &by_series {
            let (Some(half), Some(history), Some(_)) = (widths.get(*id), train.get(id), index.get(id)) else {
                continue;
            };
            let intervals: Vec<Interval> = levels
                .iter()
                .zip(half)
                .map(|(&level, h)| {
                    let bound = |sign: f64| -> Vec<f64> {
                        forecast
                            .iter()
                            .zip(h)
                            .map(|(f, w)| f + sign * w)
                            .map(|v| if panel.nonnegative { v.max(0.0) } else { v })
                            .collect()
                    };
                    Interval {
                        level,
                        lower: bound(-1.0),
                        upper: bound(1.0),
                    }
                })
                .collect();
            let eval = SeriesEval {
                train: history,
                actual,
                forecast,
                intervals: &intervals,
            };
            for score in scores {
                if let Some(v) = series_score(score, &eval, season) {
                    values.entry(score.name()).or_default().push(v);
                }
            }
        }
        for (name, v) in values {
            if let Some(slot) = per_fold.get_mut(&name) {
                slot[k] = Some(v.iter().sum::<f64>() / v.len() as f64);
            }
        }
        scored += 1;
    }
    if scored == 0 {
        return Ok(None);
    }
    let metrics = per_fold
        .iter()
        .map(|(name, slots)| {
            let v: Vec<f64> = slots.iter().flatten().copied().collect();
            let (mean, std) = crate::metrics::mean_std(&v);
            (name.clone(), MetricSummary { mean, std })
        })
        .collect();
    Ok(Some(ConformalScores {
        per_fold,
        metrics,
        folds_scored: scored,
    }))
}
