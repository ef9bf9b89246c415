//! The changes since an earlier leaderboard (`--compare OLD/leaderboard.json`)
//! and the CI gate on them (`--fail-on-regression METRIC:PCT`).
//!
//! Rows are matched by label (model and grid values), not by content hash:
//! a CI job compares leaderboards precisely when the data or the code has
//! changed, which changes every hash. A metric's change is ▲ when its value
//! went up and ▼ when it went down; whether that is better follows the
//! metric (lower MAE, higher R², coverage nearer its level).
//!
//! Changes are compared on the series too: both leaderboards carry
//! per-series values (`significance.series_values`: the tested metric's of
//! every configuration, each metric's best), and a Wilcoxon signed-rank
//! test on the series × fold pairs they share says whether a change is
//! real. The gate fails only on a change of the best that is both larger
//! than its limit and significant at `[evaluation] alpha`; an old
//! leaderboard without per-series values (written before they existed) is
//! gated on its means.

use crate::Leaderboard;
use crate::significance::{FoldValues, SeriesValues, paired_differences, positions};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use trendlab_spec::Score;

#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("{}: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: not a trendlab leaderboard.json: {message}", path.display())]
    Parse {
        path: std::path::PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}: significance.series_values: {message}; the file was cut or edited", path.display())]
    Values { path: std::path::PathBuf, message: String },
}

/// What is read of an earlier `leaderboard.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct PastLeaderboard {
    pub experiment: String,
    pub rows: Vec<PastRow>,
    #[serde(default)]
    pub significance: Option<PastSignificance>,
}

/// What the gate reads of an old leaderboard's significance section.
#[derive(Debug, Clone, Deserialize)]
pub struct PastSignificance {
    #[serde(default)]
    pub series_values: Option<SeriesValues>,
}

impl PastLeaderboard {
    fn series_values(&self) -> Option<&SeriesValues> {
        self.significance.as_ref()?.series_values.as_ref()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct PastRow {
    pub label: String,
    pub rank: Option<usize>,
    pub metrics: BTreeMap<String, PastMetric>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PastMetric {
    pub mean: Option<f64>,
}

impl PastLeaderboard {
    pub fn read(path: &Path) -> Result<Self, CompareError> {
        let text = std::fs::read_to_string(path).map_err(|source| CompareError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let past: PastLeaderboard = serde_json::from_str(&text).map_err(|e| CompareError::Parse {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        past.check_series_values().map_err(|message| CompareError::Values {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(past)
    }

    /// Every fold's per-series list holds one value per series: a shorter
    /// one (a cut or edited file) would pair values with the wrong series,
    /// or leave pairs out unseen.
    fn check_series_values(&self) -> Result<(), String> {
        let Some(values) = self.series_values() else {
            return Ok(());
        };
        for (label, metrics) in &values.values {
            for (metric, folds) in metrics {
                if let Some((fold, list)) = folds.iter().enumerate().find(|(_, l)| l.len() != values.series.len()) {
                    return Err(format!(
                        "the {metric} of `{label}` at fold {fold} has {} values for {} series",
                        list.len(),
                        values.series.len()
                    ));
                }
            }
        }
        Ok(())
    }
}

/// How one metric of one row changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub old: f64,
    pub new: f64,
    /// Relative change of the value, percent (`None` when `old` is 0).
    pub percent: Option<f64>,
    /// `▲` up, `▼` down, `=` unchanged.
    pub arrow: &'static str,
    /// `better`, `worse` or `same`, by the metric's direction.
    pub verdict: &'static str,
    /// The paired test of the per-series values behind the two means (a
    /// row's own on both sides; for a metric's best, the two best
    /// configurations'), when both leaderboards hold them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<ChangeTest>,
}

/// Wilcoxon signed-rank test of new against old on the series × fold
/// pairs both leaderboards scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeTest {
    pub pairs: usize,
    pub statistic: f64,
    pub p_value: f64,
    /// The configurations compared.
    pub old_label: String,
    pub new_label: String,
}

impl ChangeTest {
    /// The test of `old_label`'s values in `old` against `new_label`'s in
    /// `new` for metric `score`, pairs matched by series id and fold.
    pub fn between(score: &Score, old: (&SeriesValues, &str), new: (&SeriesValues, &str)) -> Option<ChangeTest> {
        let name = score.name();
        let then: &FoldValues = old.0.of(old.1, &name)?;
        let now: &FoldValues = new.0.of(new.1, &name)?;
        let position = positions(&old.0.series);
        let (mut before, mut after) = (Vec::new(), Vec::new());
        for (fold, values) in now.iter().enumerate() {
            let Some(old_fold) = then.get(fold) else { continue };
            for (id, value) in new.0.series.iter().zip(values) {
                let old_value = position
                    .get(id.as_str())
                    .and_then(|&k| old_fold.get(k).copied().flatten());
                if let (Some(a), Some(b)) = (value, old_value) {
                    after.push(*a);
                    before.push(b);
                }
            }
        }
        let d = paired_differences(&after, &before, |v| score.rank_key(v));
        let w = trendlab_stats::wilcoxon(&d);
        Some(ChangeTest {
            pairs: d.len(),
            statistic: w.statistic,
            p_value: w.p_value,
            old_label: old.1.to_string(),
            new_label: new.1.to_string(),
        })
    }
}

impl Change {
    fn of(score: &Score, old: f64, new: f64) -> Self {
        let percent = (old != 0.0).then(|| (new - old) / old.abs() * 100.0);
        let (old_key, new_key) = (score.rank_key(old), score.rank_key(new));
        Change {
            old,
            new,
            percent,
            arrow: match new.total_cmp(&old) {
                std::cmp::Ordering::Greater => "▲",
                std::cmp::Ordering::Less => "▼",
                std::cmp::Ordering::Equal => "=",
            },
            verdict: match new_key.total_cmp(&old_key) {
                std::cmp::Ordering::Less => "better",
                std::cmp::Ordering::Greater => "worse",
                std::cmp::Ordering::Equal => "same",
            },
            test: None,
        }
    }

    /// How much worse, percent of the old value's distance from perfect
    /// (negative when better; infinite when a perfect value was lost).
    pub fn percent_worse(&self, score: &Score) -> f64 {
        let (old_key, new_key) = (score.rank_key(self.old), score.rank_key(self.new));
        if old_key == new_key {
            0.0
        } else if old_key == 0.0 {
            f64::INFINITY
        } else {
            (new_key - old_key) / old_key.abs() * 100.0
        }
    }
}

/// One row of the new leaderboard against the old one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowChange {
    pub label: String,
    /// Not on the old leaderboard.
    pub new: bool,
    pub old_rank: Option<usize>,
    /// Metrics with a mean on both sides.
    pub metrics: BTreeMap<String, Change>,
    /// Those of `metrics` whose value changed.
    pub changed: Vec<String>,
}

/// The new leaderboard against an old one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The old file, as given.
    pub source: String,
    /// One per row of the new leaderboard, in its order (labels hold
    /// brackets and quotes, so the templates index rows by position).
    pub rows: Vec<RowChange>,
    /// Labels on the old leaderboard only.
    pub removed: Vec<String>,
    /// Per metric, the best mean of the old against the best of the new.
    pub best: BTreeMap<String, Change>,
}

impl Comparison {
    pub fn new(source: &str, old: &PastLeaderboard, new: &Leaderboard, scores: &[Score]) -> Self {
        let new_values = new.significance.as_ref().and_then(|s| s.series_values.as_ref());
        let old_rows: BTreeMap<&str, &PastRow> = old.rows.iter().map(|r| (r.label.as_str(), r)).collect();
        let rows = new
            .rows
            .iter()
            .map(|row| {
                let past = old_rows.get(row.label.as_str());
                let metrics: BTreeMap<String, Change> = scores
                    .iter()
                    .filter_map(|score| {
                        let name = score.name();
                        let now = row.metrics.get(&name)?.mean?;
                        let then = past?.metrics.get(&name)?.mean?;
                        let mut change = Change::of(score, then, now);
                        if let (Some(o), Some(n)) = (old.series_values(), new_values) {
                            change.test = ChangeTest::between(score, (o, &row.label), (n, &row.label));
                        }
                        Some((name, change))
                    })
                    .collect();
                RowChange {
                    label: row.label.clone(),
                    new: past.is_none(),
                    old_rank: past.and_then(|p| p.rank),
                    changed: metrics
                        .iter()
                        .filter(|(_, c)| c.arrow != "=")
                        .map(|(m, _)| m.clone())
                        .collect(),
                    metrics,
                }
            })
            .collect();
        let removed = old
            .rows
            .iter()
            .filter(|r| !new.rows.iter().any(|n| n.label == r.label))
            .map(|r| r.label.clone())
            .collect();
        let best = scores
            .iter()
            .filter_map(|score| {
                let name = score.name();
                let best_of = |means: Vec<f64>| {
                    means
                        .into_iter()
                        .min_by(|a, b| score.rank_key(*a).total_cmp(&score.rank_key(*b)))
                };
                let then = best_of(old.rows.iter().filter_map(|r| r.metrics.get(&name)?.mean).collect())?;
                let now = best_of(new.rows.iter().filter_map(|r| r.metrics.get(&name)?.mean).collect())?;
                let mut change = Change::of(score, then, now);
                if let (Some(o), Some(n)) = (old.series_values(), new_values) {
                    let (old_best, new_best) = (o.best.get(&name)?, n.best.get(&name)?);
                    change.test = ChangeTest::between(score, (o, old_best), (n, new_best));
                }
                Some((name, change))
            })
            .collect();
        Comparison {
            source: source.to_string(),
            rows,
            removed,
            best,
        }
    }
}

impl Comparison {
    /// The change of the row labelled `label`.
    pub fn row(&self, label: &str) -> Option<&RowChange> {
        self.rows.iter().find(|r| r.label == label)
    }
}

/// `--fail-on-regression METRIC:PCT`: fail when the best mean of METRIC is
/// more than PCT percent worse than on the old leaderboard and the paired
/// test of the two best configurations' per-series values says the change
/// is significant.
#[derive(Debug, Clone, PartialEq)]
pub struct RegressionGate {
    pub metric: String,
    pub percent: f64,
}

impl std::str::FromStr for RegressionGate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (metric, percent) = text
            .rsplit_once(':')
            .ok_or_else(|| format!("`{text}` is not METRIC:PCT (e.g. mase:5)"))?;
        let percent: f64 = percent
            .trim_end_matches('%')
            .parse()
            .ok()
            .filter(|p: &f64| p.is_finite() && *p >= 0.0)
            .ok_or_else(|| format!("`{percent}` is not a percentage ≥ 0 (e.g. mase:5)"))?;
        if metric.is_empty() {
            return Err(format!("`{text}` names no metric (e.g. mase:5)"));
        }
        Ok(RegressionGate {
            metric: metric.to_string(),
            percent,
        })
    }
}

/// What the gate found.
#[derive(Debug, Clone, PartialEq)]
pub enum GateOutcome {
    Passed {
        percent_worse: f64,
        /// The paired test, when both leaderboards carry per-series values.
        test: Option<ChangeTest>,
    },
    Failed {
        percent_worse: f64,
        change: Change,
    },
    /// One of the leaderboards has no mean of the metric.
    NoData,
}

impl RegressionGate {
    /// The metric's score among the experiment's, or why the gate cannot
    /// apply to it.
    pub fn score<'a>(&self, scores: &'a [Score]) -> Result<&'a Score, String> {
        scores.iter().find(|s| s.name() == self.metric).ok_or_else(|| {
            let names: Vec<String> = scores.iter().map(Score::name).collect();
            format!(
                "--fail-on-regression: `{}` is not a metric of this experiment ({})",
                self.metric,
                names.join(", ")
            )
        })
    }

    /// The verdict at significance level `alpha`: a change beyond the
    /// limit fails unless its paired test finds it not significant.
    pub fn check(&self, comparison: &Comparison, score: &Score, alpha: f64) -> GateOutcome {
        let Some(change) = comparison.best.get(&self.metric) else {
            return GateOutcome::NoData;
        };
        let percent_worse = change.percent_worse(score);
        let significant = change.test.as_ref().is_none_or(|t| t.p_value < alpha);
        if percent_worse > self.percent && significant {
            GateOutcome::Failed {
                percent_worse,
                change: change.clone(),
            }
        } else {
            GateOutcome::Passed {
                percent_worse,
                test: change.test.clone(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leaderboard::{LeaderboardRow, MetricSummary};
    use trendlab_spec::Metric;

    fn score(metric: Metric) -> Score {
        Score { metric, level: None }
    }

    fn row(label: &str, means: &[(&str, f64)]) -> LeaderboardRow {
        LeaderboardRow {
            rank: None,
            model: label.to_string(),
            label: label.to_string(),
            family: "naive".into(),
            params: "{}".into(),
            config_id: label.to_string(),
            run_ids: Vec::new(),
            metrics: means
                .iter()
                .map(|(m, v)| {
                    (
                        m.to_string(),
                        MetricSummary {
                            mean: Some(*v),
                            std: None,
                        },
                    )
                })
                .collect(),
            per_fold: BTreeMap::new(),
            fit_seconds: None,
            folds_finished: 1,
            folds: 1,
            errors: Vec::new(),
            notes: Vec::new(),
            ensemble: None,
            conformal: None,
            levels: Vec::new(),
            test: None,
            interval: None,
        }
    }

    fn past(rows: &[(&str, &[(&str, f64)])]) -> PastLeaderboard {
        PastLeaderboard {
            experiment: "x".into(),
            rows: rows
                .iter()
                .map(|(label, means)| PastRow {
                    label: label.to_string(),
                    rank: None,
                    metrics: means
                        .iter()
                        .map(|(m, v)| (m.to_string(), PastMetric { mean: Some(*v) }))
                        .collect(),
                })
                .collect(),
            significance: None,
        }
    }

    #[test]
    fn arrows_follow_the_value_and_verdicts_the_metric() {
        let mae = Change::of(&score(Metric::Mae), 10.0, 9.0);
        assert_eq!((mae.arrow, mae.verdict), ("▼", "better"));
        assert!((mae.percent.unwrap() + 10.0).abs() < 1e-12);
        let r2 = Change::of(&score(Metric::R2), 0.5, 0.4);
        assert_eq!((r2.arrow, r2.verdict), ("▼", "worse"));
        assert!((r2.percent_worse(&score(Metric::R2)) - 20.0).abs() < 1e-9);
        let bias = Change::of(&score(Metric::Bias), -2.0, 1.0);
        assert_eq!((bias.arrow, bias.verdict), ("▲", "better"), "|1| < |-2|");
        let coverage = Score {
            metric: Metric::Coverage,
            level: Some(90.0),
        };
        // 0.80 → 0.95: from 0.10 below nominal to 0.05 above.
        let c = Change::of(&coverage, 0.80, 0.95);
        assert_eq!((c.arrow, c.verdict), ("▲", "better"));
        let same = Change::of(&score(Metric::Mae), 3.0, 3.0);
        assert_eq!((same.arrow, same.verdict), ("=", "same"));
        assert_eq!(Change::of(&score(Metric::Mae), 0.0, 1.0).percent, None);
        assert_eq!(
            Change::of(&score(Metric::Mae), 0.0, 1.0).percent_worse(&score(Metric::Mae)),
            f64::INFINITY
        );
    }

    #[test]
    fn comparison_matches_rows_by_label_and_lists_new_and_removed() {
        let scores = [score(Metric::Mae), score(Metric::Rmse)];
        let new = Leaderboard::ranked(
            "x",
            "",
            scores[0],
            &scores,
            vec![
                row("a", &[("mae", 1.0), ("rmse", 2.0)]),
                row("b", &[("mae", 3.0), ("rmse", 1.5)]),
            ],
        );
        let old = past(&[("a", &[("mae", 2.0), ("rmse", 2.0)]), ("gone", &[("mae", 0.5)])]);
        let comparison = Comparison::new("old.json", &old, &new, &scores);
        assert!(!comparison.row("a").unwrap().new && comparison.row("b").unwrap().new);
        assert_eq!(comparison.row("a").unwrap().metrics["mae"].verdict, "better");
        assert_eq!(comparison.row("a").unwrap().metrics["rmse"].verdict, "same");
        assert_eq!(comparison.row("a").unwrap().changed, ["mae"]);
        assert!(comparison.row("b").unwrap().metrics.is_empty());
        assert_eq!(comparison.removed, ["gone"]);
        // Best MAE: 0.5 (a removed model) then 1.0; best RMSE 2.0 then 1.5.
        assert_eq!((comparison.best["mae"].old, comparison.best["mae"].new), (0.5, 1.0));
        assert_eq!(comparison.best["rmse"].verdict, "better");

        let gate: RegressionGate = "mae:99".parse().unwrap();
        match gate.check(&comparison, &scores[0], 0.05) {
            GateOutcome::Failed { percent_worse, .. } => assert!((percent_worse - 100.0).abs() < 1e-9),
            other => panic!("{other:?}"),
        }
        let gate: RegressionGate = "mae:100%".parse().unwrap();
        assert_eq!(
            gate.check(&comparison, &scores[0], 0.05),
            GateOutcome::Passed {
                percent_worse: 100.0,
                test: None
            }
        );
        let gate: RegressionGate = "smape:1".parse().unwrap();
        assert_eq!(
            gate.check(&comparison, &score(Metric::Smape), 0.05),
            GateOutcome::NoData
        );
        assert!(gate.score(&scores).unwrap_err().contains("(mae, rmse)"));
    }

    #[test]
    fn a_leaderboard_whose_per_series_lists_were_cut_is_refused() {
        use crate::significance::SeriesValues;
        let values = |second_fold: Vec<Option<f64>>| SeriesValues {
            series: vec!["a".into(), "b".into()],
            best: BTreeMap::from([("mae".to_string(), "m".to_string())]),
            values: BTreeMap::from([(
                "m".to_string(),
                BTreeMap::from([("mae".to_string(), vec![vec![Some(1.0), Some(2.0)], second_fold])]),
            )]),
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leaderboard.json");
        let write = |values: SeriesValues| {
            let json = serde_json::json!({"experiment": "x", "rows": [], "significance": {"series_values": values}});
            std::fs::write(&path, json.to_string()).unwrap();
        };
        write(values(vec![Some(3.0), None]));
        assert!(PastLeaderboard::read(&path).is_ok());
        write(values(vec![Some(3.0)]));
        let e = PastLeaderboard::read(&path).unwrap_err().to_string();
        assert!(
            e.ends_with("significance.series_values: the mae of `m` at fold 1 has 1 values for 2 series; the file was cut or edited"),
            "{e}"
        );
    }

    #[test]
    fn gates_parse_metric_and_percentage() {
        assert_eq!(
            "coverage_95:2.5".parse::<RegressionGate>().unwrap(),
            RegressionGate {
                metric: "coverage_95".into(),
                percent: 2.5
            }
        );
        for bad in ["mase", "mase:", ":5", "mase:-1", "mase:x", "mase:inf"] {
            assert!(bad.parse::<RegressionGate>().is_err(), "{bad}");
        }
    }
}
