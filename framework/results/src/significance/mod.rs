//! Whether the leaderboard's differences are real. From the per-series
//! values of the ranked configurations (blocks: series × fold):
//!
//! - each configuration's paired Wilcoxon signed-rank test against the
//!   best one, Holm-adjusted over the leaderboard: "tied with best" when
//!   the adjusted p-value is at least `[evaluation] alpha`; and, series by
//!   series, Diebold–Mariano tests of their horizon errors ([`dm`]);
//! - a seeded bootstrap interval of each configuration's mean over series;
//! - Friedman's test over every configuration and Nemenyi's critical
//!   difference of their average ranks, with the groups no test separates;
//! - a leaderboard per segment ([`segments`]);
//! - per-series values a later `--compare` pairs with its own: the tested
//!   metric's of every configuration, and each metric's best.
//!
//! The tested metric is `rank_by`, or, when that has no per-series values
//! (WRMSSE), the first metric that has. Differences are taken on the
//! metric's ranking key (|bias|, coverage's distance from its level, −R²),
//! so that smaller is better everywhere. With one configuration or one
//! series there is nothing to test, and the leaderboard says so.

pub mod blocks;
pub mod dm;
pub mod segments;

use crate::leaderboard::Leaderboard;
use crate::plan::Plan;
use crate::prepare::Prepared;
use crate::store::{RunStore, StoreError};
use blocks::Blocks;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use trendlab_stats::{WilcoxonMethod, bootstrap_mean, friedman, holm, nemenyi, wilcoxon};

pub use segments::{SegmentBoard, SegmentRow};

/// A configuration's paired test against the best one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestTest {
    /// Blocks (series × fold) both scored.
    pub pairs: usize,
    /// Wilcoxon's `min(R⁺, R⁻)`.
    pub statistic: f64,
    pub p_value: f64,
    /// Holm-adjusted over the leaderboard's tests.
    pub p_holm: f64,
    /// Not significantly worse than the best at `alpha`.
    pub tied: bool,
    pub method: WilcoxonMethod,
    /// Diebold–Mariano series by series (when the store holds forecasts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dm: Option<dm::DmCounts>,
}

/// Friedman's test and Nemenyi's comparison of the configurations' ranks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranks {
    pub statistic: f64,
    pub p_value: f64,
    /// Blocks every ranked configuration scored.
    pub blocks: usize,
    /// Labels and average ranks (1 = best), best first.
    pub configurations: Vec<(String, f64)>,
    pub critical_difference: f64,
    /// Runs of `configurations` (first and last index) whose average ranks
    /// lie within the critical difference of each other.
    pub cliques: Vec<(usize, usize)>,
}

/// One configuration's values of one metric: `[fold][series]`, `None`
/// where not scored. In JSON each fold is one string of comma-separated
/// numbers in `series` order (empty where not scored), six significant
/// digits: 30,490 series × 3 folds fit in 0.8 MB instead of 3.
pub type FoldValues = Vec<Vec<Option<f64>>>;

/// Significant digits of the kept per-series values: finer than any real
/// difference between forecasts, and the same in memory as in JSON, so an
/// unchanged leaderboard compares equal with its own file.
pub const SERIES_VALUE_DIGITS: usize = 6;

fn round_value(v: f64) -> f64 {
    format!("{v:.*e}", SERIES_VALUE_DIGITS - 1).parse().unwrap_or(v)
}

/// `FoldValues` as one string per fold.
mod compact {
    use super::FoldValues;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeMap;

    type ByMetric = BTreeMap<String, BTreeMap<String, FoldValues>>;

    pub fn serialize<S: Serializer>(values: &ByMetric, serializer: S) -> Result<S::Ok, S::Error> {
        let text: BTreeMap<&String, BTreeMap<&String, Vec<String>>> = values
            .iter()
            .map(|(label, metrics)| {
                let metrics = metrics
                    .iter()
                    .map(|(metric, folds)| {
                        let folds = folds
                            .iter()
                            .map(|fold| {
                                fold.iter()
                                    .map(|v| v.map_or_else(String::new, cell))
                                    .collect::<Vec<_>>()
                                    .join(",")
                            })
                            .collect();
                        (metric, folds)
                    })
                    .collect();
                (label, metrics)
            })
            .collect();
        serde::Serialize::serialize(&text, serializer)
    }

    /// The shortest text that reads back as `v`: plain, or with an
    /// exponent when very small or very large.
    fn cell(v: f64) -> String {
        if v == 0.0 || (1e-4..1e15).contains(&v.abs()) {
            v.to_string()
        } else {
            format!("{v:e}")
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ByMetric, D::Error> {
        let text: BTreeMap<String, BTreeMap<String, Vec<String>>> = Deserialize::deserialize(deserializer)?;
        text.into_iter()
            .map(|(label, metrics)| {
                let metrics = metrics
                    .into_iter()
                    .map(|(metric, folds)| {
                        let folds = folds
                            .iter()
                            .map(|fold| {
                                fold.split(',')
                                    .map(|cell| match cell {
                                        "" => Ok(None),
                                        cell => cell.parse::<f64>().map(Some).map_err(serde::de::Error::custom),
                                    })
                                    .collect::<Result<Vec<_>, _>>()
                            })
                            .collect::<Result<FoldValues, _>>()?;
                        Ok((metric, folds))
                    })
                    .collect::<Result<_, D::Error>>()?;
                Ok((label, metrics))
            })
            .collect()
    }
}

/// What a later `--compare` pairs with: the series ids, the best
/// configuration of each metric, and per-series values — the tested
/// metric's of every ranked configuration, and each metric's of its best.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeriesValues {
    pub series: Vec<String>,
    /// Metric → the label with the best mean.
    pub best: BTreeMap<String, String>,
    /// Label → metric → values.
    #[serde(with = "compact")]
    pub values: BTreeMap<String, BTreeMap<String, FoldValues>>,
}

impl SeriesValues {
    /// The values of `label` for `metric`, when kept.
    pub fn of(&self, label: &str, metric: &str) -> Option<&FoldValues> {
        self.values.get(label)?.get(metric)
    }

    /// The best configuration of `metric` and its values.
    pub fn best_of(&self, metric: &str) -> Option<(&str, &FoldValues)> {
        let label = self.best.get(metric)?;
        Some((label, self.of(label, metric)?))
    }
}

/// The leaderboard's significance section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Significance {
    /// The metric tested (`None`: no metric has per-series values).
    pub metric: Option<String>,
    pub alpha: f64,
    /// Whether the paired tests ran (two configurations and two series).
    pub tested: bool,
    /// Level of the bootstrap intervals (1 − alpha).
    pub interval_level: f64,
    /// Below it a series is a new product at a fold.
    pub new_product_periods: usize,
    /// Why a test is missing, or which metric stands in for `rank_by`.
    pub notes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranks: Option<Ranks>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<SegmentBoard>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series_values: Option<SeriesValues>,
}

impl Significance {
    /// A section without tests, saying why.
    pub(crate) fn untested(prepared: &Prepared, why: &str) -> Significance {
        let mut section = Significance::empty(prepared);
        section.notes.push(why.to_string());
        section
    }

    /// The experiment's settings, nothing found yet.
    fn empty(prepared: &Prepared) -> Significance {
        let e = prepared.experiment.evaluation();
        Significance {
            metric: None,
            alpha: e.alpha,
            tested: false,
            interval_level: 1.0 - e.alpha,
            new_product_periods: prepared.experiment.new_product_periods(),
            notes: Vec::new(),
            ranks: None,
            segments: Vec::new(),
            series_values: None,
        }
    }
}

/// Sets the paired tests and intervals of `board`'s rows and returns its
/// significance section, from the run store's per-series metrics (called
/// by [`Leaderboard::assemble`] alone).
pub(crate) fn analyse(
    prepared: &Prepared,
    plan: &Plan,
    store: &RunStore,
    board: &mut Leaderboard,
) -> Result<Significance, StoreError> {
    let e = prepared.experiment.evaluation();
    let blocks = Blocks::read(prepared, plan, store, board)?;
    let mut significance = Significance::empty(prepared);
    let tested = blocks
        .metric(&board.rank_by)
        .or_else(|| (!blocks.scores.is_empty()).then_some(0));
    let Some(m) = tested else {
        significance
            .notes
            .push(format!("no test: {} has no per-series values", board.rank_by));
        return Ok(significance);
    };
    let metric = blocks.scores[m];
    significance.metric = Some(metric.name());
    if metric.name() != board.rank_by {
        significance.notes.push(format!(
            "{} has no per-series values: the tests, intervals and segments use {}",
            board.rank_by,
            metric.name()
        ));
    }
    let series = blocks.series.len();
    if series < 2 {
        significance.notes.push(format!(
            "no test: the backtest has {series} series, and a paired test needs two or more"
        ));
    } else if blocks.rows.is_empty() {
        significance
            .notes
            .push("no test: no configuration finished every fold".to_string());
    } else if blocks.rows.len() == 1 {
        significance
            .notes
            .push("no test: 1 configuration finished every fold, and a test compares two or more".to_string());
    } else {
        paired_tests(board, &blocks, m, e.alpha);
        dm::count(plan, store, board, &blocks, metric, e.horizon, e.alpha)?;
        significance.tested = true;
        match rank_analysis(board, &blocks, m, e.alpha) {
            Ok(ranks) => significance.ranks = Some(ranks),
            Err(why) => significance.notes.push(why),
        }
    }
    if series >= 2 && e.bootstrap >= 2 {
        intervals(
            board,
            &blocks,
            m,
            e.bootstrap,
            1.0 - e.alpha,
            prepared.experiment.document.experiment.seed,
        );
    }
    if !blocks.rows.is_empty() {
        let dimensions = segments::classify(prepared, &blocks);
        significance.segments = segments::boards(board, &blocks, &dimensions, m);
        significance.series_values = Some(series_values(board, &blocks, m));
    }
    Ok(significance)
}

/// Each id's position in `series`.
pub fn positions(series: &[String]) -> std::collections::HashMap<&str, usize> {
    series.iter().enumerate().map(|(k, id)| (id.as_str(), k)).collect()
}

/// A p-value as tables print it: three decimals, `< 0.001` below.
pub fn p_text(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".to_string()
    } else {
        format!("{p:.3}")
    }
}

/// `p < 0.001` or `p = 0.031`.
pub fn p_phrase(p: f64) -> String {
    if p < 0.001 {
        format!("p {}", p_text(p))
    } else {
        format!("p = {}", p_text(p))
    }
}

/// `d = key(row) − key(best)` on the blocks both scored.
pub fn paired_differences(row: &[f64], best: &[f64], key: impl Fn(f64) -> f64) -> Vec<f64> {
    row.iter()
        .zip(best)
        .filter(|(a, b)| !a.is_nan() && !b.is_nan())
        .map(|(a, b)| key(*a) - key(*b))
        .collect()
}

/// Each ranked row but the best against the best, Holm-adjusted.
fn paired_tests(board: &mut Leaderboard, blocks: &Blocks, m: usize, alpha: f64) {
    let score = blocks.scores[m];
    let (best, best_values) = (&blocks.rows[0].0, &blocks.rows[0].1[m]);
    let tests: Vec<(usize, usize, trendlab_stats::Wilcoxon)> = blocks.rows[1..]
        .iter()
        .map(|(r, values)| {
            let d = paired_differences(&values[m], best_values, |v| score.rank_key(v));
            (*r, d.len(), wilcoxon(&d))
        })
        .collect();
    let adjusted = holm(&tests.iter().map(|(_, _, w)| w.p_value).collect::<Vec<_>>());
    for ((r, pairs, w), p_holm) in tests.into_iter().zip(adjusted) {
        debug_assert_ne!(r, *best);
        board.rows[r].test = Some(BestTest {
            pairs,
            statistic: w.statistic,
            p_value: w.p_value,
            p_holm,
            tied: p_holm >= alpha,
            method: w.method,
            dm: None,
        });
    }
}

/// Each ranked row's bootstrap interval of its mean over series.
fn intervals(board: &mut Leaderboard, blocks: &Blocks, m: usize, resamples: usize, level: f64, seed: u64) {
    let n = blocks.series.len();
    for (r, values) in &blocks.rows {
        let mut clusters = vec![(0.0, 0usize); n];
        for (b, v) in values[m].iter().enumerate().filter(|(_, v)| !v.is_nan()) {
            let cluster = &mut clusters[b % n];
            cluster.0 += v;
            cluster.1 += 1;
        }
        clusters.retain(|c| c.1 > 0);
        board.rows[*r].interval = bootstrap_mean(&clusters, resamples, level, seed).ok();
    }
}

/// Friedman over the blocks every ranked row scored, then Nemenyi.
fn rank_analysis(board: &Leaderboard, blocks: &Blocks, m: usize, alpha: f64) -> Result<Ranks, String> {
    let score = blocks.scores[m];
    let width = blocks.folds * blocks.series.len();
    let complete: Vec<Vec<f64>> = (0..width)
        .filter_map(|b| {
            blocks
                .rows
                .iter()
                .map(|(_, v)| Some(v[m][b]).filter(|x| !x.is_nan()).map(|x| score.rank_key(x)))
                .collect()
        })
        .collect();
    let f = friedman(&complete).map_err(|e| format!("no rank test: {e}"))?;
    let n = nemenyi(&f.mean_ranks, f.blocks, alpha);
    let mut configurations: Vec<(String, f64)> = blocks
        .rows
        .iter()
        .zip(&f.mean_ranks)
        .map(|((r, _), rank)| (board.rows[*r].label.clone(), *rank))
        .collect();
    configurations.sort_by(|a, b| a.1.total_cmp(&b.1));
    Ok(Ranks {
        statistic: f.statistic,
        p_value: f.p_value,
        blocks: f.blocks,
        cliques: cliques(
            &configurations.iter().map(|c| c.1).collect::<Vec<_>>(),
            n.critical_difference,
        ),
        critical_difference: n.critical_difference,
        configurations,
    })
}

/// Maximal runs of sorted `ranks` spanning less than `cd`, of two or more.
pub fn cliques(ranks: &[f64], cd: f64) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for i in 0..ranks.len() {
        let mut j = i;
        while j + 1 < ranks.len() && ranks[j + 1] - ranks[i] < cd {
            j += 1;
        }
        if j > i && out.last().is_none_or(|&(_, last)| j > last) {
            out.push((i, j));
        }
    }
    out
}

/// Past this many values (configurations × series × folds) only each
/// metric's best configuration's values are kept: at M5's full size
/// (30,490 series × 3 folds) that is under 1 MB per metric in
/// `leaderboard.json`, where every configuration's would be several.
pub const EVERY_CONFIGURATION_UP_TO: usize = 250_000;

/// The tested metric's values of every ranked row (up to
/// [`EVERY_CONFIGURATION_UP_TO`] values), and each metric's best row's
/// values of it.
fn series_values(board: &Leaderboard, blocks: &Blocks, tested: usize) -> SeriesValues {
    let n = blocks.series.len();
    let folds = |values: &[f64]| -> FoldValues {
        values
            .chunks(n)
            .map(|fold| fold.iter().map(|v| (!v.is_nan()).then(|| round_value(*v))).collect())
            .collect()
    };
    let mut out = SeriesValues {
        series: blocks.series.clone(),
        ..SeriesValues::default()
    };
    let label = |r: usize| board.rows[r].label.clone();
    if blocks.rows.len() * blocks.folds * n <= EVERY_CONFIGURATION_UP_TO {
        for (r, values) in &blocks.rows {
            let name = blocks.scores[tested].name();
            out.values
                .entry(label(*r))
                .or_default()
                .insert(name, folds(&values[tested]));
        }
    }
    for (m, score) in blocks.scores.iter().enumerate() {
        let name = score.name();
        let best = blocks
            .rows
            .iter()
            .filter_map(|(r, v)| Some((r, v, board.rows[*r].metrics.get(&name)?.mean?)))
            .min_by(|a, b| score.rank_key(a.2).total_cmp(&score.rank_key(b.2)));
        if let Some((r, values, _)) = best {
            out.values
                .entry(label(*r))
                .or_default()
                .insert(name.clone(), folds(&values[m]));
            out.best.insert(name, label(*r));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_values_travel_as_one_string_per_fold_and_read_back_equal() {
        let values = SeriesValues {
            series: vec!["a".into(), "b".into(), "c".into()],
            best: BTreeMap::from([("mae".to_string(), "m".to_string())]),
            values: BTreeMap::from([(
                "m".to_string(),
                BTreeMap::from([(
                    "mae".to_string(),
                    vec![
                        vec![Some(round_value(0.1 + 0.2)), None, Some(1e-300)],
                        vec![Some(-2.5), Some(round_value(123456789.0)), None],
                    ],
                )]),
            )]),
        };
        let json = serde_json::to_string(&values).unwrap();
        assert!(json.contains(r#""mae":["0.3,,1e-300","-2.5,123457000,"]"#), "{json}");
        assert_eq!(serde_json::from_str::<SeriesValues>(&json).unwrap(), values);
        assert!(serde_json::from_str::<SeriesValues>(&json.replace("-2.5", "x")).is_err());
    }

    #[test]
    fn cliques_are_maximal_runs_within_the_critical_difference() {
        // 1.0 1.4 2.0 | 3.1 3.3: with CD 1.05, {0,1,2} (2.0−1.0 < 1.05), {2,3} (1.1 ≥ 1.05: no),
        // {3,4}.
        assert_eq!(cliques(&[1.0, 1.4, 2.0, 3.1, 3.3], 1.05), [(0, 2), (3, 4)]);
        // 2.0 − 1.0 is not below 1.0: {0,1}, then {1,2,3}.
        assert_eq!(cliques(&[1.0, 1.4, 2.0, 2.3], 1.0), [(0, 1), (1, 3)]);
        assert!(cliques(&[1.0, 3.0], 1.0).is_empty());
    }
}
