//! `family = "ensemble"`: combines other models' forecasts of the same fold.
//!
//! The engine hands the family its members' stored forecasts
//! ([`MemberForecasts`]): those of the fold being forecast, and the
//! *selection window*, every earlier forecast whose target date is on or
//! before the fold's cutoff (from the validation origins and the earlier
//! folds). Everything learned here — each member's best configuration,
//! inverse-error weights, stacking weights, the greedy bag — comes from the
//! selection window alone, so no fold's weights have seen its own test data.
//!
//! One fold, in order: rank the candidates on the selection window
//! ([`selection`]), keep each member model's best configuration (or all),
//! weigh the kept ones by the method ([`selection`], [`stacking`]), and
//! combine their forecasts and intervals series by series ([`combine`]).

pub mod combine;
mod layout;
pub mod selection;
pub mod stacking;

pub use layout::ForecastsByLabel;

use crate::{FoldInput, Forecaster, ModelError, SeriesForecast, SeriesOutcome};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use trendlab_spec::{EnsembleConfig, MemberConfigs, Method, Metric};

/// One configuration of a member model that may take part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The configuration's label (`ridge[alpha=0.1]`).
    pub label: String,
    /// The member model it belongs to (`ridge`).
    pub model: String,
}

/// Every candidate's forecasts of one series from one earlier origin,
/// restricted to target dates on or before the ensemble fold's cutoff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryChunk {
    /// Index of the series in [`FoldInput::series`].
    pub series: usize,
    /// The origin (last training date) the forecasts were made from.
    pub origin: NaiveDate,
    /// The series' training values at that origin (for scaled metrics).
    pub train: Vec<f64>,
    /// The actuals of the kept target dates.
    pub actual: Vec<f64>,
    /// `forecasts[candidate][step]`, each as long as `actual`.
    pub forecasts: Vec<Vec<f64>>,
}

/// What the engine read from the run store for one ensemble fold.
#[derive(Debug, Clone)]
pub struct MemberForecasts {
    pub candidates: Vec<Candidate>,
    /// `current[series][candidate]`: the fold's forecasts; `None` where the
    /// member could not forecast that series.
    pub current: Vec<Vec<Option<SeriesForecast>>>,
    /// The selection window: chunks where every candidate has forecasts.
    pub history: Vec<HistoryChunk>,
    /// Members left out of this fold (`on_missing = "drop"`), with why.
    pub dropped: Vec<DroppedMember>,
    /// The experiment's ranking metric (the default of `metric`).
    pub rank_by: Metric,
    /// Seasonal period of the scaled metrics.
    pub season: usize,
}

/// A member left out of one fold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DroppedMember {
    pub member: String,
    pub reason: String,
}

/// How one fold was combined: saved in the run record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CombinationLog {
    pub method: String,
    /// The metric candidates were ranked by on the selection window, when
    /// the method or the choice of configurations ranks them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    pub members: Vec<MemberWeight>,
    /// The earlier forecasts everything was learned from.
    pub selection: SelectionWindow,
    /// The combination's `metric` on the selection window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection_score: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<DroppedMember>,
    /// How the prediction intervals were combined, or why they were not.
    pub intervals: String,
}

/// One candidate's part in a fold's combination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberWeight {
    pub label: String,
    pub model: String,
    /// Whether it was combined (a member's best configuration, or any with `all`).
    pub used: bool,
    /// Its weight in the linear combination; `None` for the median, which
    /// is an order statistic, and for unused candidates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// Its `metric` on the selection window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

/// The forecasts the weights were learned from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SelectionWindow {
    /// Origins the forecasts were made from.
    pub origins: Vec<NaiveDate>,
    /// (series, origin) pairs and their forecast steps in the window.
    pub chunks: usize,
    pub steps: usize,
    /// The latest target date in the window (never after the fold's cutoff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_date: Option<NaiveDate>,
}

impl SelectionWindow {
    fn of(history: &[HistoryChunk], input: &FoldInput<'_>) -> SelectionWindow {
        let mut origins: Vec<NaiveDate> = history.iter().map(|c| c.origin).collect();
        origins.sort();
        origins.dedup();
        let last_date = history
            .iter()
            .filter_map(|c| {
                let dates = input.series[c.series].dates;
                let first = dates.iter().position(|d| *d > c.origin)?;
                dates.get(first + c.actual.len().checked_sub(1)?).copied()
            })
            .max();
        SelectionWindow {
            origins,
            chunks: history.len(),
            steps: history.iter().map(|c| c.actual.len()).sum(),
            last_date,
        }
    }
}

/// The combination of one fold: per-series outcomes and what was learned.
#[derive(Debug, Clone)]
pub struct Combined {
    pub outcomes: Vec<SeriesOutcome>,
    pub log: CombinationLog,
}

/// Weights of the kept candidates: one per kept candidate, or none for the median.
pub(crate) type Weights = Option<Vec<f64>>;

/// Combines one fold's member forecasts as `config` says.
pub fn combine(
    config: &EnsembleConfig,
    members: &MemberForecasts,
    input: &FoldInput<'_>,
) -> Result<Combined, ModelError> {
    if members.candidates.is_empty() {
        return Err(ModelError::Unfit("no member forecasts to combine".into()));
    }
    let metric = config.metric_or(members.rank_by);
    let window = selection::Window::new(&members.history, metric, members.season);
    let scores: Vec<Option<f64>> = (0..members.candidates.len())
        .map(|c| window.candidate_score(c))
        .collect();
    let kept = keep(config, members, &scores)?;
    let weights = weigh(config, members, &window, &scores, &kept)?;
    let selection_score = window.combination_score(&kept, weights.as_deref());
    let (outcomes, intervals) = combine::fold(config, members, &kept, weights.as_deref(), input);
    let ranked = config.method.ranks()
        || (config.member_configs == MemberConfigs::Best && kept.len() < members.candidates.len());
    let log = CombinationLog {
        method: config.method.name().to_string(),
        metric: ranked.then(|| metric.name().to_string()),
        members: members
            .candidates
            .iter()
            .enumerate()
            .map(|(c, candidate)| {
                let position = kept.iter().position(|k| *k == c);
                MemberWeight {
                    label: candidate.label.clone(),
                    model: candidate.model.clone(),
                    used: position.is_some(),
                    weight: position.and_then(|p| weights.as_ref().map(|w| w[p])),
                    score: scores[c],
                }
            })
            .collect(),
        selection: SelectionWindow::of(&members.history, input),
        selection_score,
        dropped: members.dropped.clone(),
        intervals,
    };
    Ok(Combined { outcomes, log })
}

/// The candidates combined: every one with `all`; with `best`, each member
/// model's configuration with the best selection-window score.
fn keep(config: &EnsembleConfig, members: &MemberForecasts, scores: &[Option<f64>]) -> Result<Vec<usize>, ModelError> {
    let candidates = &members.candidates;
    if config.member_configs == MemberConfigs::All {
        return Ok((0..candidates.len()).collect());
    }
    let mut kept = Vec::new();
    for (c, candidate) in candidates.iter().enumerate() {
        if candidates[..c].iter().any(|other| other.model == candidate.model) {
            continue;
        }
        let group: Vec<usize> = (c..candidates.len())
            .filter(|&o| candidates[o].model == candidate.model)
            .collect();
        if group.len() == 1 {
            kept.push(c);
            continue;
        }
        let best = group
            .iter()
            .filter_map(|&o| scores[o].map(|s| (o, s)))
            .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
            .ok_or_else(|| {
                ModelError::Unfit(format!(
                    "cannot choose the best configuration of member `{}`: no scored forecasts before the cutoff",
                    candidate.model
                ))
            })?;
        kept.push(best.0);
    }
    Ok(kept)
}

/// The method's weights of the kept candidates.
fn weigh(
    config: &EnsembleConfig,
    members: &MemberForecasts,
    window: &selection::Window<'_>,
    scores: &[Option<f64>],
    kept: &[usize],
) -> Result<Weights, ModelError> {
    let no_history = || {
        ModelError::Unfit(format!(
            "method `{}` learns from forecasts made before the cutoff, and there are none scored by `{}` (raise validation_folds)",
            config.method.name(),
            window.metric().name()
        ))
    };
    Ok(match config.method {
        Method::Mean => Some(vec![1.0 / kept.len() as f64; kept.len()]),
        Method::Median => None,
        Method::InverseError => {
            let errors: Option<Vec<f64>> = kept.iter().map(|&c| scores[c]).collect();
            Some(selection::inverse_error(&errors.ok_or_else(no_history)?))
        }
        Method::Greedy => Some(window.greedy(kept, config.rounds()).ok_or_else(no_history)?),
        Method::Stacking => {
            let problem = stacking::Problem::from_history(&members.history, kept, members.season);
            if problem.rows() == 0 {
                return Err(no_history());
            }
            Some(problem.solve(config.solver(), config.alpha(), config.constrained())?)
        }
    })
}

impl Forecaster for EnsembleConfig {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        let members = input
            .context
            .members
            .ok_or_else(|| ModelError::Unfit("an ensemble needs its members' stored forecasts".into()))?;
        let combined = combine(self, members, input)?;
        input.observer.combined(&combined.log);
        Ok(combined.outcomes)
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Toy member forecasts for the ensemble's tests.
    use super::*;
    use crate::FeatureSet;
    pub use crate::testing::daily_dates as dates;
    use crate::testing::history;

    pub fn candidate(label: &str) -> Candidate {
        Candidate {
            label: label.into(),
            model: label.split('[').next().unwrap_or(label).into(),
        }
    }

    /// Runs `f` with a fold input of `series` series of `train` training
    /// days and `horizon` forecast days.
    pub fn with_input<T>(
        series: usize,
        train: usize,
        horizon: usize,
        levels: &[f64],
        f: impl FnOnce(&FoldInput<'_>) -> T,
    ) -> T {
        let dates = dates(train + horizon);
        let target = vec![1.0; train];
        let features = FeatureSet::default();
        let ids: Vec<String> = (0..series).map(|i| format!("s{i}")).collect();
        let series = ids.iter().map(|id| history(id, &dates, &target)).collect();
        let input = FoldInput {
            levels,
            ..FoldInput::new(series, horizon, &features)
        };
        f(&input)
    }
}
