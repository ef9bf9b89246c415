//! Aggregate accuracy: notes on undefined values, M5's WRMSSE over a
//! hierarchy, and mean ± std over folds. The per-series definitions live
//! in `trendlab_models::accuracy`.

use std::collections::BTreeMap;
pub use trendlab_models::accuracy::{SeriesEval, mean, series_metric, series_score};
use trendlab_spec::Metric;

/// Why some values are missing: `metric → note`.
pub fn undefined_note(metric: Metric, count: usize, zero_actuals: usize) -> String {
    match metric {
        Metric::Mape => {
            format!("mape skipped {zero_actuals} zero actual(s); undefined for {count} series with only zero actuals")
        }
        Metric::Mase | Metric::Rmsse => format!(
            "{} undefined for {count} series whose training data never changes at the seasonal lag",
            metric.name()
        ),
        Metric::Wape => format!("wape undefined for {count} series with only zero actuals"),
        Metric::R2 => format!("r2 undefined for {count} series whose actuals are constant"),
        Metric::Coverage | Metric::Winkler | Metric::Pinball => format!(
            "{} undefined for {count} series: the model gives no prediction intervals",
            metric.name()
        ),
        _ => format!("{} undefined for {count} series", metric.name()),
    }
}

/// One series of the WRMSSE computation with its hierarchy labels.
#[derive(Debug, Clone)]
pub struct WeightedSeries<'a> {
    pub eval: SeriesEval<'a>,
    /// Sum of the weight column over the last `weight_periods` training periods.
    pub weight: f64,
    /// Label of this series at each declared level, in level order.
    pub labels: Vec<String>,
}

/// Aggregates series into groups: element-wise sums, training values
/// aligned by their end (every series ends at the same cutoff).
fn group_sum<'a>(members: &[&WeightedSeries<'a>]) -> (Vec<f64>, Vec<f64>, Vec<f64>, f64) {
    let longest = members.iter().map(|m| m.eval.train.len()).max().unwrap_or(0);
    let horizon = members.first().map_or(0, |m| m.eval.actual.len());
    let (mut train, mut actual, mut forecast, mut weight) =
        (vec![0.0; longest], vec![0.0; horizon], vec![0.0; horizon], 0.0);
    for m in members {
        let offset = longest - m.eval.train.len();
        for (i, v) in m.eval.train.iter().enumerate() {
            train[offset + i] += v;
        }
        for i in 0..horizon {
            actual[i] += m.eval.actual[i];
            forecast[i] += m.eval.forecast[i];
        }
        weight += m.weight;
    }
    (train, actual, forecast, weight)
}

/// M5's WRMSSE: the mean over levels (the total, each declared level, and
/// the series themselves) of the weighted RMSSE of the aggregated series,
/// weights being each group's share of the level's weight. The RMSSE scale
/// is the mean squared one-step change of the training values from the
/// group's first non-zero value on (as in M5). Groups whose scale is zero
/// are left out and counted.
pub fn wrmsse(series: &[WeightedSeries<'_>], level_count: usize) -> Wrmsse {
    let mut level_scores = Vec::new();
    let mut left_out = 0;
    let levels: Vec<Option<usize>> = std::iter::once(None).chain((0..level_count).map(Some)).collect();
    let mut grouped: Vec<Vec<Vec<&WeightedSeries<'_>>>> = levels
        .iter()
        .map(|level| {
            let mut groups: BTreeMap<&str, Vec<&WeightedSeries<'_>>> = BTreeMap::new();
            for s in series {
                groups
                    .entry(level.map_or("", |l| s.labels[l].as_str()))
                    .or_default()
                    .push(s);
            }
            groups.into_values().collect()
        })
        .collect();
    grouped.push(series.iter().map(|s| vec![s]).collect());
    for groups in grouped {
        let mut weighted = 0.0;
        let mut weights = 0.0;
        for members in groups {
            let (train, actual, forecast, weight) = group_sum(&members);
            let start = train.iter().position(|v| *v != 0.0).unwrap_or(train.len());
            let eval = SeriesEval {
                train: &train[start..],
                actual: &actual,
                forecast: &forecast,
                intervals: &[],
            };
            match series_metric(Metric::Rmsse, &eval, 1) {
                Some(rmsse) => {
                    weighted += weight * rmsse;
                    weights += weight;
                }
                None => left_out += 1,
            }
        }
        level_scores.push((weights > 0.0).then(|| weighted / weights));
    }
    Wrmsse {
        value: mean(level_scores.iter().flatten().copied()),
        left_out,
        per_level: level_scores,
    }
}

/// WRMSSE and its parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Wrmsse {
    /// The mean over the levels that could be scored.
    pub value: Option<f64>,
    /// Groups left out for a zero scale.
    pub left_out: usize,
    /// The weighted RMSSE of each level: the total, each declared level in
    /// order, the series themselves (`None`: no group could be scored).
    pub per_level: Vec<Option<f64>>,
}

/// The names of WRMSSE's levels in [`Wrmsse::per_level`] order.
pub fn wrmsse_level_names(declared: &[String]) -> Vec<String> {
    std::iter::once("total".to_string())
        .chain(declared.iter().cloned())
        .chain(std::iter::once("series".to_string()))
        .collect()
}

/// Mean and sample standard deviation (`None` for fewer than two values).
pub fn mean_std(values: &[f64]) -> (Option<f64>, Option<f64>) {
    let m = mean(values.iter().copied());
    let std = (values.len() > 1).then(|| {
        let m = m.expect("non-empty");
        (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt()
    });
    (m, std)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) {
        let a = a.expect("defined");
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn wrmsse_leaves_out_groups_with_zero_scale() {
        // Two series, one declared level putting both in one group.
        let a = WeightedSeries {
            eval: SeriesEval {
                train: &[0.0, 1.0, 3.0],
                actual: &[2.0, 2.0],
                forecast: &[3.0, 2.0],
                intervals: &[],
            },
            weight: 3.0,
            labels: vec!["x".into()],
        };
        let b = WeightedSeries {
            eval: SeriesEval {
                train: &[4.0, 2.0],
                actual: &[1.0, 1.0],
                forecast: &[1.0, 3.0],
                intervals: &[],
            },
            weight: 1.0,
            labels: vec!["x".into()],
        };
        // a: train from first non-zero = [1, 3] → scale 4; mse = 1/2 → rmsse √(1/8).
        // b: scale 4; mse = 2 → rmsse √(1/2).
        let bottom = (3.0 * (0.125f64).sqrt() + 1.0 * 0.5f64.sqrt()) / 4.0;
        // total = level "x": train aligned by end [0, 5, 5] → from first non-zero [5, 5]: scale 0 → left out.
        let Wrmsse { value, left_out, .. } = wrmsse(&[a, b], 1);
        assert_eq!(left_out, 2);
        close(value, bottom);
    }

    #[test]
    fn wrmsse_over_total_level_and_series_by_hand() {
        let a = WeightedSeries {
            eval: SeriesEval {
                train: &[1.0, 3.0],
                actual: &[2.0, 2.0],
                forecast: &[3.0, 2.0],
                intervals: &[],
            },
            weight: 3.0,
            labels: vec!["x".into()],
        };
        let b = WeightedSeries {
            eval: SeriesEval {
                train: &[2.0, 2.0, 5.0],
                actual: &[1.0, 1.0],
                forecast: &[1.0, 3.0],
                intervals: &[],
            },
            weight: 1.0,
            labels: vec!["y".into()],
        };
        // a: one-step changes (2) → scale 4; errors (1, 0) → rmsse √(0.5/4).
        // b: changes (0, 3) → scale 4.5; errors (0, 2) → rmsse √(2/4.5) = 2/3.
        let series_level = (3.0 * (0.5f64 / 4.0).sqrt() + 1.0 * (2.0 / 3.0)) / 4.0;
        // Total: training aligned by end [0,1,3] + [2,2,5] = [2,3,8] → changes (1, 5) → scale 13;
        // actual (3, 3), forecast (4, 5) → errors (1, 2) → rmsse √(2.5/13).
        let total = (2.5f64 / 13.0).sqrt();
        // The declared level splits {a} and {b}: the same as the series level.
        let Wrmsse {
            value,
            left_out,
            per_level,
        } = wrmsse(&[a, b], 1);
        assert_eq!(left_out, 0);
        close(value, (total + series_level + series_level) / 3.0);
        for (level, expected) in per_level.into_iter().zip([total, series_level, series_level]) {
            close(level, expected);
        }
    }

    #[test]
    fn mean_and_sample_std() {
        assert_eq!(mean_std(&[1.0, 3.0]), (Some(2.0), Some(2f64.sqrt())));
        assert_eq!(mean_std(&[5.0]), (Some(5.0), None));
    }
}
