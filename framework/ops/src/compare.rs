//! `--compare OLD.json [--fail-on-regression METRIC:PCT]` of `run` and
//! `report`: the old leaderboard is read before anything is written (it may
//! be the very file the report replaces), and the gate's verdict returned.

use crate::error::Error;
use std::path::Path;
use trendlab_results::Prepared;
use trendlab_results::compare::{Comparison, GateOutcome, PastLeaderboard, RegressionGate};
use trendlab_results::leaderboard::Leaderboard;
use trendlab_results::significance::p_phrase;

/// `--compare OLD.json [--fail-on-regression METRIC:PCT]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompareWith<'a> {
    pub leaderboard: Option<&'a Path>,
    pub gate: Option<&'a RegressionGate>,
}

/// The old leaderboard to compare with, read before anything is
/// overwritten.
pub struct Baseline<'a> {
    past: Option<(String, PastLeaderboard)>,
    gate: Option<(&'a RegressionGate, trendlab_spec::Score)>,
    /// `[evaluation] alpha`.
    alpha: f64,
}

/// The regression gate's verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum GateVerdict {
    Passed {
        metric: String,
        percent_worse: f64,
        limit: f64,
        /// The paired test's p-value and pairs, when both leaderboards
        /// carry per-series values.
        test: Option<(f64, usize)>,
        alpha: f64,
    },
    Failed {
        metric: String,
        old: f64,
        new: f64,
        percent_worse: f64,
        limit: f64,
        test: Option<(f64, usize)>,
    },
    /// No model has the metric on both leaderboards.
    NoData { metric: String, source: String },
}

impl GateVerdict {
    pub fn passed(&self) -> bool {
        matches!(self, GateVerdict::Passed { .. })
    }
}

impl std::fmt::Display for GateVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GateVerdict::Passed {
                metric,
                percent_worse,
                limit,
                test,
                alpha,
            } => {
                write!(
                    f,
                    "regression gate: best {metric} {percent_worse:+.2}% (limit +{limit}%)"
                )?;
                match test {
                    Some((p, pairs)) if *percent_worse > *limit => write!(
                        f,
                        ", not significant ({} on {pairs} series × fold pairs, alpha {alpha})",
                        p_phrase(*p)
                    )?,
                    Some((p, pairs)) => write!(f, ", {} on {pairs} pairs", p_phrase(*p))?,
                    None => write!(f, ", means only (no per-series values on both sides)")?,
                }
                write!(f, ": passed")
            }
            GateVerdict::Failed {
                metric,
                old,
                new,
                percent_worse,
                limit,
                test,
            } => {
                write!(
                    f,
                    "regression gate failed: best {metric} went from {old:.6} to {new:.6}, {percent_worse:+.2}% worse (limit {limit}%)"
                )?;
                match test {
                    Some((p, pairs)) => write!(f, ", significant ({} on {pairs} series × fold pairs)", p_phrase(*p)),
                    None => write!(f, " (means only: the old leaderboard carries no per-series values)"),
                }
            }
            GateVerdict::NoData { metric, source } => write!(
                f,
                "regression gate failed: no model has a mean {metric} on both {source} and this leaderboard"
            ),
        }
    }
}

impl<'a> CompareWith<'a> {
    /// Reads the old leaderboard and checks the gate's metric; an invalid
    /// request is [`Error::Invalid`] (nothing run).
    pub fn baseline(&self, prepared: &Prepared) -> Result<Baseline<'a>, Error> {
        let scores = prepared.experiment.scores();
        let gate = match self.gate {
            Some(gate) => Some((gate, *gate.score(&scores).map_err(Error::Invalid)?)),
            None => None,
        };
        let past = match self.leaderboard {
            Some(path) => {
                let past = PastLeaderboard::read(path).map_err(|e| Error::Invalid(format!("--compare: {e}")))?;
                let experiment = prepared.experiment.name();
                // Rows are matched by label: another experiment's `ridge`
                // is another model, and gating on it would pass or fail at random.
                if past.experiment != experiment {
                    return Err(Error::Invalid(format!(
                        "--compare {}: a leaderboard of experiment `{}`, not of `{experiment}`; compare leaderboards of one experiment",
                        path.display(),
                        past.experiment
                    )));
                }
                Some((path.display().to_string(), past))
            }
            None => None,
        };
        Ok(Baseline {
            past,
            gate,
            alpha: prepared.experiment.evaluation().alpha,
        })
    }
}

impl Baseline<'_> {
    pub fn compare(&self, prepared: &Prepared, board: &Leaderboard) -> Option<Comparison> {
        let (source, past) = self.past.as_ref()?;
        Some(Comparison::new(source, past, board, &prepared.experiment.scores()))
    }

    /// The gate's verdict, when a gate was asked for.
    pub fn verdict(&self, comparison: Option<&Comparison>) -> Option<GateVerdict> {
        let (Some((gate, score)), Some(comparison)) = (self.gate, comparison) else {
            return None;
        };
        let metric = gate.metric.to_string();
        let limit = gate.percent;
        Some(match gate.check(comparison, &score, self.alpha) {
            GateOutcome::Passed { percent_worse, test } => GateVerdict::Passed {
                metric,
                percent_worse,
                limit,
                test: test.map(|t| (t.p_value, t.pairs)),
                alpha: self.alpha,
            },
            GateOutcome::Failed { percent_worse, change } => GateVerdict::Failed {
                metric,
                old: change.old,
                new: change.new,
                percent_worse,
                limit,
                test: change.test.map(|t| (t.p_value, t.pairs)),
            },
            GateOutcome::NoData => GateVerdict::NoData {
                metric,
                source: comparison.source.clone(),
            },
        })
    }
}
