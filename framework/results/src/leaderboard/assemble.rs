//! The one assembly of a leaderboard: its rows (from the run store, or read
//! back from a tracking server), ranked; for rows from the store, their
//! means over the series every ranked configuration scored
//! ([`super::coverage`]), the
//! conformal intervals of the configurations without their own scored
//! ([`crate::conformal_backtest`]) and the tests on the per-series values
//! ([`crate::significance`]); for rows read back, the significance section
//! stored beside them when one matches, else a section saying why there is
//! none.

use super::{Leaderboard, LeaderboardRow};
use crate::plan::Plan;
use crate::prepare::Prepared;
use crate::significance::{self, BestTest, Significance};
use crate::store::{RunStore, StoreError};
use std::collections::BTreeMap;
use trendlab_stats::Interval;

/// Where a leaderboard's rows come from.
#[derive(Debug)]
pub enum Source<'a> {
    /// Every planned run read from the local run store.
    Store(&'a RunStore),
    /// Rows read back from elsewhere (MLflow), with what was stored beside them.
    Read(ReadBack),
}

/// A leaderboard's rows read back from a tracking server.
#[derive(Debug)]
pub struct ReadBack {
    /// One per configuration of the plan, unranked.
    pub rows: Vec<LeaderboardRow>,
    /// The significance section stored with the same configurations, or
    /// why there is none (the tests need per-series values the rows lack).
    pub significance: Result<LentSignificance, String>,
}

/// A significance section stored with an earlier leaderboard of the same
/// configurations, and each row's test and interval from it, with the
/// coverage of its means (which needs the runs' records, as the tests need
/// their per-series values).
#[derive(Debug)]
pub struct LentSignificance {
    pub section: Significance,
    /// By configuration id: its test against the best and its interval.
    pub rows: BTreeMap<String, (Option<BestTest>, Option<Interval>)>,
    /// The series the stored leaderboard's means cover.
    pub coverage: Option<super::Coverage>,
}

impl Leaderboard {
    /// The leaderboard of `plan`, finished: ranked by the experiment's
    /// `rank_by`, with every metric it scores, the conformal scores and its
    /// significance section.
    pub fn assemble(prepared: &Prepared, plan: &Plan, source: Source<'_>) -> Result<Leaderboard, StoreError> {
        let experiment = &prepared.experiment;
        let metrics = experiment.scores();
        let ranked = |rows| {
            Leaderboard::ranked(
                &plan.experiment,
                &experiment.document.experiment.description,
                experiment.rank_by(),
                &metrics,
                rows,
            )
        };
        let (mut board, significance) = match source {
            Source::Store(store) => {
                let mut rows = (0..plan.configs.len())
                    .map(|c| LeaderboardRow::from_store(plan, c, store, &metrics))
                    .collect::<Result<Vec<_>, _>>()?;
                let coverage = super::coverage::make_fair(plan, store, &mut rows)?;
                let mut board = ranked(rows);
                board.coverage = Some(coverage);
                crate::conformal_backtest::score(prepared, plan, store, &mut board.rows)?;
                let significance = significance::analyse(prepared, plan, store, &mut board)?;
                (board, significance)
            }
            Source::Read(read) => {
                let mut board = ranked(read.rows);
                let significance = match read.significance {
                    Ok(lent) => {
                        board.coverage = lent.coverage;
                        for row in &mut board.rows {
                            if let Some((test, interval)) = lent.rows.get(&row.config_id) {
                                row.test = test.clone();
                                row.interval = *interval;
                            }
                        }
                        lent.section
                    }
                    Err(why) => Significance::untested(prepared, &why),
                };
                (board, significance)
            }
        };
        board.significance = Some(significance);
        Ok(board)
    }
}
