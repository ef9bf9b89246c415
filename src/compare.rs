//! `--compare OLD.json [--fail-on-regression METRIC:PCT]` of `run` and
//! `report`: the old leaderboard is read before anything is written (it may
//! be the very file the report replaces), and the gate's verdict printed.

use std::path::Path;
use trendlab_engine::Prepared;
use trendlab_engine::leaderboard::Leaderboard;
use trendlab_report::compare::{GateOutcome, PastLeaderboard};
use trendlab_report::{Comparison, RegressionGate};

/// `--compare OLD.json [--fail-on-regression METRIC:PCT]` of `run` and `report`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompareWith<'a> {
    pub leaderboard: Option<&'a Path>,
    pub gate: Option<&'a RegressionGate>,
}

/// The old leaderboard to compare with, read before anything is
/// overwritten (it may be the very file the report replaces).
pub struct Baseline<'a> {
    past: Option<(String, PastLeaderboard)>,
    gate: Option<(&'a RegressionGate, trendlab_spec::Score)>,
}

impl<'a> CompareWith<'a> {
    /// Reads the old leaderboard and checks the gate's metric; `Err` holds
    /// the message of an invalid request (exit code 2, nothing run).
    pub fn baseline(&self, prepared: &Prepared) -> Result<Baseline<'a>, String> {
        let scores = prepared.experiment.scores();
        let gate = match self.gate {
            Some(gate) => Some((gate, *gate.score(&scores)?)),
            None => None,
        };
        let past = match self.leaderboard {
            Some(path) => Some((
                path.display().to_string(),
                PastLeaderboard::read(path).map_err(|e| format!("--compare: {e}"))?,
            )),
            None => None,
        };
        Ok(Baseline { past, gate })
    }
}

impl Baseline<'_> {
    pub fn compare(&self, prepared: &Prepared, board: &Leaderboard) -> Option<Comparison> {
        let (source, past) = self.past.as_ref()?;
        Some(Comparison::new(source, past, board, &prepared.experiment.scores()))
    }

    /// Prints the gate's verdict; `false` when it fails.
    pub fn gate_passes(&self, comparison: Option<&Comparison>) -> bool {
        let (Some((gate, score)), Some(comparison)) = (self.gate, comparison) else {
            return true;
        };
        match gate.check(comparison, &score) {
            GateOutcome::Passed { percent_worse } => {
                out!(
                    "regression gate: best {} {:+.2}% (limit +{}%): passed",
                    gate.metric,
                    percent_worse,
                    gate.percent
                );
                true
            }
            GateOutcome::Failed { percent_worse, change } => {
                eprintln!(
                    "regression gate failed: best {} went from {:.6} to {:.6}, {:+.2}% worse (limit {}%)",
                    gate.metric, change.old, change.new, percent_worse, gate.percent
                );
                false
            }
            GateOutcome::NoData => {
                eprintln!(
                    "regression gate failed: no model has a mean {} on both {} and this leaderboard",
                    gate.metric, comparison.source
                );
                false
            }
        }
    }
}
