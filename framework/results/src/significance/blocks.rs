//! Every ranked configuration's per-series metric values, laid out on the
//! backtest's blocks (series × fold): what the paired tests, the ranks,
//! the bootstrap and the segment leaderboards read. Values come from the
//! runs' `series_metrics.parquet`; a block a configuration did not score
//! (a failed series, an undefined metric) holds NaN.

use crate::leaderboard::Leaderboard;
use crate::plan::Plan;
use crate::prepare::Prepared;
use crate::store::{RunStore, StoreError};
use trendlab_spec::{Metric, Score};

/// Per-series values of the ranked rows of a leaderboard.
pub struct Blocks {
    /// The backtest's series ids, in its order.
    pub series: Vec<String>,
    pub folds: usize,
    /// The metrics held (the experiment's, but WRMSSE: not a mean over series).
    pub scores: Vec<Score>,
    /// `rows[r]`: the leaderboard row index and, per metric of `scores`,
    /// the values at `fold * series.len() + s`.
    pub rows: Vec<(usize, Vec<Vec<f64>>)>,
}

impl Blocks {
    /// Reads the per-series metrics of every ranked row (each fold finished).
    pub fn read(prepared: &Prepared, plan: &Plan, store: &RunStore, board: &Leaderboard) -> Result<Blocks, StoreError> {
        let series: Vec<String> = prepared
            .backtest
            .series
            .iter()
            .map(|&i| prepared.panel.series[i].id.clone())
            .collect();
        let position = super::positions(&series);
        let scores: Vec<Score> = prepared
            .experiment
            .scores()
            .into_iter()
            .filter(|s| s.metric != Metric::Wrmsse)
            .collect();
        let folds = plan.folds.len();
        let mut rows = Vec::new();
        for (r, row) in board.rows.iter().enumerate().filter(|(_, row)| row.rank.is_some()) {
            let Some(c) = (0..plan.configs.len()).find(|&c| plan.config_id(c) == row.config_id) else {
                continue;
            };
            let mut values = vec![vec![f64::NAN; folds * series.len()]; scores.len()];
            for run in plan.runs_of(c) {
                for (id, metrics) in store.series_metrics(&run.id)? {
                    let Some(&s) = position.get(id.as_str()) else { continue };
                    for (m, score) in scores.iter().enumerate() {
                        if let Some(v) = metrics.get(&score.name()) {
                            values[m][run.fold * series.len() + s] = *v;
                        }
                    }
                }
            }
            rows.push((r, values));
        }
        Ok(Blocks {
            series,
            folds,
            scores,
            rows,
        })
    }

    /// The index of `name` among the metrics held.
    pub fn metric(&self, name: &str) -> Option<usize> {
        self.scores.iter().position(|s| s.name() == name)
    }

    /// The values of leaderboard row `row` for metric `m`.
    pub fn values(&self, row: usize, m: usize) -> Option<&[f64]> {
        self.rows.iter().find(|(r, _)| *r == row).map(|(_, v)| &v[m][..])
    }

    /// Series count per block position (`fold * series + s` → `s`).
    pub fn series_of(&self, block: usize) -> usize {
        block % self.series.len()
    }
}
