//! Conformal prediction intervals from backtest errors, for families
//! without intervals of their own: the interval at level L around a
//! forecast h steps ahead is ± the ⌈(n+1)·L⌉-th smallest absolute error of
//! n backtest forecasts h steps ahead (split conformal: it covers at least
//! L of new errors that behave like the old).
//!
//! Per series when its own folds are enough for every level (n ≥ L/(1−L):
//! 4 folds for 80%, 19 for 95%); otherwise pooled over every series, each
//! error divided by its series' scale (the mean absolute one-step change
//! of its history) and the width multiplied back, so a series selling
//! thousands and one selling units share the shape of the errors, not
//! their size. Steps past the backtest's horizon take its last step's
//! errors.

use std::collections::BTreeMap;

/// Where a forecast's intervals come from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum IntervalMethod {
    /// The family's own model.
    Own,
    /// An ensemble's, combined from its members' own intervals.
    Combined,
    /// Conformal, from each series' own backtest errors.
    ConformalPerSeries { folds: usize },
    /// Conformal, from the scaled backtest errors of every series.
    ConformalPooled { series: usize, folds: usize },
    /// No levels were asked for.
    None,
}

impl std::fmt::Display for IntervalMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IntervalMethod::Own => f.write_str("the model's own"),
            IntervalMethod::Combined => f.write_str("combined from the members' own"),
            IntervalMethod::ConformalPerSeries { folds } => {
                write!(f, "conformal, per series (from each series' {folds} backtest folds)")
            }
            IntervalMethod::ConformalPooled { series, folds } => write!(
                f,
                "conformal, pooled over {series} series (their {folds} backtest folds are too few per series; errors scaled by each series' mean absolute one-step change)"
            ),
            IntervalMethod::None => f.write_str("none"),
        }
    }
}

/// Backtest errors (actual − forecast) of one series: `by_step[h]` holds
/// one per fold that forecast it h+1 steps ahead.
#[derive(Debug, Clone, Default)]
pub struct SeriesErrors {
    pub by_step: Vec<Vec<f64>>,
    /// Its scale for pooling (positive).
    pub scale: f64,
}

/// Half-widths of the intervals, per series id: `[level][step]`.
#[derive(Debug, Clone)]
pub struct Conformal {
    pub method: IntervalMethod,
    pub half_widths: BTreeMap<String, Vec<Vec<f64>>>,
}

/// The series' scale: the mean absolute one-step change of `history`, else
/// its mean absolute value, else 1 (a constant zero series).
pub fn scale(history: &[f64]) -> f64 {
    let changes: Vec<f64> = history.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let level = mean(&history.iter().map(|v| v.abs()).collect::<Vec<_>>());
    [mean(&changes), level].into_iter().find(|s| *s > 0.0).unwrap_or(1.0)
}

/// The k-th smallest (1-based, k = ⌈(n+1)·level⌉, at most n) of `values`.
fn conformal_quantile(values: &mut [f64], level: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let k = (((n + 1) as f64) * level / 100.0).ceil() as usize;
    values[k.clamp(1, n) - 1]
}

/// Whether n errors are enough for a conformal interval at `level` (%).
fn enough(n: usize, level: f64) -> bool {
    n > 0 && (((n + 1) as f64) * level / 100.0).ceil() as usize <= n
}

/// Intervals at `levels` (percent) for `horizon` steps of every series in
/// `errors`.
pub fn intervals(errors: &BTreeMap<String, SeriesErrors>, horizon: usize, levels: &[f64]) -> Conformal {
    if levels.is_empty() {
        return Conformal {
            method: IntervalMethod::None,
            half_widths: BTreeMap::new(),
        };
    }
    // The fewest errors any series has at any step (0 for a series with none).
    let folds = errors
        .values()
        .map(|e| e.by_step.iter().map(Vec::len).min().unwrap_or(0))
        .min()
        .unwrap_or(0);
    let step_of = |e: &SeriesErrors, h: usize| e.by_step.len().min(h + 1).saturating_sub(1);
    if levels.iter().all(|&l| enough(folds, l)) {
        let half_widths = errors
            .iter()
            .map(|(id, e)| {
                let widths = levels
                    .iter()
                    .map(|&l| {
                        (0..horizon)
                            .map(|h| {
                                let mut abs: Vec<f64> = e
                                    .by_step
                                    .get(step_of(e, h))
                                    .map(|v| v.iter().map(|x| x.abs()).collect())
                                    .unwrap_or_default();
                                conformal_quantile(&mut abs, l)
                            })
                            .collect()
                    })
                    .collect();
                (id.clone(), widths)
            })
            .collect();
        return Conformal {
            method: IntervalMethod::ConformalPerSeries { folds },
            half_widths,
        };
    }
    let steps = errors.values().map(|e| e.by_step.len()).max().unwrap_or(0);
    // Scaled absolute errors of every series, per step.
    let pooled: Vec<Vec<f64>> = (0..steps)
        .map(|h| {
            errors
                .values()
                .flat_map(|e| e.by_step.get(h).into_iter().flatten().map(|x| x.abs() / e.scale))
                .collect()
        })
        .collect();
    let quantiles: Vec<Vec<f64>> = levels
        .iter()
        .map(|&l| {
            (0..horizon)
                .map(|h| {
                    let mut v = pooled.get(h.min(steps.saturating_sub(1))).cloned().unwrap_or_default();
                    conformal_quantile(&mut v, l)
                })
                .collect()
        })
        .collect();
    let half_widths = errors
        .iter()
        .map(|(id, e)| {
            let widths = quantiles
                .iter()
                .map(|q| q.iter().map(|v| v * e.scale).collect())
                .collect();
            (id.clone(), widths)
        })
        .collect();
    Conformal {
        method: IntervalMethod::ConformalPooled {
            series: errors.len(),
            folds,
        },
        half_widths,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quantile_is_the_conformal_rank() {
        // n = 9: 80% takes the ⌈10·0.8⌉ = 8th smallest.
        let mut v: Vec<f64> = (1..=9).map(f64::from).collect();
        assert_eq!(conformal_quantile(&mut v, 80.0), 8.0);
        assert!(enough(4, 80.0) && !enough(3, 80.0));
        assert!(enough(19, 95.0) && !enough(18, 95.0));
    }

    #[test]
    fn scale_is_the_mean_absolute_change_or_the_level() {
        assert_eq!(scale(&[1.0, 3.0, 2.0]), 1.5);
        assert_eq!(scale(&[4.0, 4.0]), 4.0);
        assert_eq!(scale(&[0.0, 0.0]), 1.0);
    }

    #[test]
    fn few_folds_pool_scaled_errors_and_scale_back() {
        let mut errors = BTreeMap::new();
        // Two series whose errors differ only in size (x1 and x10).
        for (id, size) in [("a", 1.0), ("b", 10.0)] {
            errors.insert(
                id.to_string(),
                SeriesErrors {
                    by_step: vec![vec![size, -2.0 * size, 3.0 * size]],
                    scale: size,
                },
            );
        }
        // Three folds are too few per series at 80%: pooled scaled |e| =
        // 1,1,2,2,3,3, whose ⌈7·0.8⌉ = 6th is 3; the second step reuses the
        // first (the backtest's last).
        let c = intervals(&errors, 2, &[80.0]);
        assert_eq!(c.method, IntervalMethod::ConformalPooled { series: 2, folds: 3 });
        assert_eq!(c.half_widths["a"], vec![vec![3.0, 3.0]]);
        assert_eq!(c.half_widths["b"], vec![vec![30.0, 30.0]]);
        // At 50% three are enough: each series' own 2nd smallest |e|.
        let c = intervals(&errors, 1, &[50.0]);
        assert_eq!(c.method, IntervalMethod::ConformalPerSeries { folds: 3 });
        assert_eq!(c.half_widths["a"], vec![vec![2.0]]);
        assert_eq!(c.half_widths["b"], vec![vec![20.0]]);
    }
}
