//! Diebold–Mariano tests of each configuration against the best, series by
//! series: a series' losses at every fold and step (ordered in time: with
//! `step` = horizon the folds' test windows follow each other), the
//! long-run variance over `horizon − 1` lags as for h-step forecasts, the
//! Harvey–Leybourne–Newbold correction ([`trendlab_stats::diebold_mariano`]).
//! The loss is the squared error for the squared-error metrics (RMSE,
//! RMSSE, R²) and the absolute error otherwise. What the leaderboard keeps
//! is a count: in how many series the configuration is significantly worse
//! than the best at `alpha`, and in how many better.

use super::blocks::Blocks;
use crate::leaderboard::Leaderboard;
use crate::plan::Plan;
use crate::store::{RunStore, StoreError};
use serde::{Deserialize, Serialize};
use trendlab_spec::{Metric, Score};
use trendlab_stats::diebold_mariano;

/// A configuration's Diebold–Mariano tests against the best, series by series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DmCounts {
    /// `absolute error` or `squared error`.
    pub loss: String,
    /// Series with a test (enough periods, a loss differential that varies).
    pub series: usize,
    /// Significantly worse than the best at `alpha`, and better.
    pub worse: usize,
    pub better: usize,
}

/// Sets `dm` on the paired test of every ranked row but the best.
pub fn count(
    plan: &Plan,
    store: &RunStore,
    board: &mut Leaderboard,
    blocks: &Blocks,
    metric: Score,
    horizon: usize,
    alpha: f64,
) -> Result<(), StoreError> {
    let squared = matches!(metric.metric, Metric::Rmse | Metric::Rmsse | Metric::R2);
    let position = super::positions(&blocks.series);
    let config_ids: Vec<String> = board.rows.iter().map(|r| r.config_id.clone()).collect();
    let losses = |row: usize| -> Result<Vec<f64>, StoreError> {
        let config = (0..plan.configs.len()).find(|&c| plan.config_id(c) == config_ids[row]);
        let (n, folds) = (blocks.series.len(), blocks.folds);
        let mut out = vec![f64::NAN; n * folds * horizon];
        for run in config.into_iter().flat_map(|c| plan.runs_of(c)) {
            store.visit_forecasts(&run.id, &mut |id, fold, step, actual, forecast| {
                let Some(&s) = position.get(id) else { return };
                if step == 0 || step > horizon || fold >= folds {
                    return;
                }
                let e = forecast - actual;
                out[(s * folds + fold) * horizon + step - 1] = if squared { e * e } else { e.abs() };
            })?;
        }
        Ok(out)
    };
    let Some((best_row, _)) = blocks.rows.first() else {
        return Ok(());
    };
    let best = losses(*best_row)?;
    let per_series = blocks.folds * horizon;
    for (row, _) in &blocks.rows[1..] {
        let mine = losses(*row)?;
        let mut counts = DmCounts {
            loss: if squared { "squared error" } else { "absolute error" }.to_string(),
            series: 0,
            worse: 0,
            better: 0,
        };
        for (a, b) in mine.chunks(per_series).zip(best.chunks(per_series)) {
            let (x, y): (Vec<f64>, Vec<f64>) = a.iter().zip(b).filter(|(p, q)| !p.is_nan() && !q.is_nan()).unzip();
            let Ok(test) = diebold_mariano(&x, &y, horizon) else {
                continue;
            };
            counts.series += 1;
            if test.p_value < alpha {
                if test.statistic > 0.0 {
                    counts.worse += 1;
                } else {
                    counts.better += 1;
                }
            }
        }
        if let Some(test) = &mut board.rows[*row].test {
            test.dm = Some(counts);
        }
    }
    Ok(())
}
