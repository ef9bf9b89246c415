//! Accuracy of one series' forecasts: the per-series metrics every
//! family is scored by (the engine aggregates them over series and folds)
//! and the ensembles rank their members by.
//!
//! Definitions (a = actual, f = forecast, e = f − a over the horizon; y the
//! series' training values; m the seasonal period):
//! - mae = mean|e|; rmse = √mean(e²); bias = mean(e) (positive: over-forecast)
//! - mape = 100·mean(|e|/|a|) over non-zero actuals (zeros skipped, counted)
//! - smape = 100·mean(2|e|/(|a|+|f|)), a term with a = f = 0 counts as 0 (M4)
//! - wape = 100·Σ|e|/Σ|a|
//! - mase = mae / mean|y_t − y_{t−m}|, rmsse = rmse / √mean((y_t − y_{t−m})²)
//! - r2 = 1 − Σe²/Σ(a − ā)²
//! - wrmsse: M5's weighted RMSSE over aggregation levels (computed by the engine over a hierarchy).
//!
//! With a central prediction interval [l, u] at level L (α = 1 − L/100):
//! - coverage_L = share of steps with l ≤ a ≤ u
//! - winkler_L = mean of (u − l) + (2/α)(l − a)⁺ + (2/α)(a − u)⁺
//! - pinball = mean quantile loss ρ_τ(a, q) = max(τ(a − q), (τ − 1)(a − q))
//!   over the quantiles the intervals give (l at α/2, u at 1 − α/2 for every
//!   level) and the point forecast as the median, in the target's units.
//!
//! A metric that is undefined for a series (zero scale, all-zero actuals)
//! is left out of that series' values and counted in a note, never NaN.

use crate::Interval;
use trendlab_spec::{Metric, Score};

/// One series' forecasts in one fold.
#[derive(Debug, Clone, Copy)]
pub struct SeriesEval<'a> {
    pub train: &'a [f64],
    pub actual: &'a [f64],
    pub forecast: &'a [f64],
    /// Prediction intervals (empty when the model gives none).
    pub intervals: &'a [Interval],
}

pub fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

fn errors<'a>(s: &'a SeriesEval<'a>) -> impl Iterator<Item = f64> + 'a {
    s.forecast.iter().zip(s.actual).map(|(f, a)| f - a)
}

/// Mean of `|y_t − y_{t−m}|^power` over the training values, if positive.
pub fn seasonal_scale(train: &[f64], m: usize, power: i32) -> Option<f64> {
    let scale = mean(
        train
            .iter()
            .skip(m)
            .zip(train)
            .map(|(y, lagged)| (y - lagged).abs().powi(power)),
    )?;
    (scale > 0.0).then_some(scale)
}

/// One per-series score; `None` where undefined (an interval metric of a
/// model without intervals). `wrmsse` is panel-level and is `None` here.
pub fn series_score(score: &Score, s: &SeriesEval<'_>, season: usize) -> Option<f64> {
    let interval = |level: Option<f64>| s.intervals.iter().find(|i| Some(i.level) == level);
    match score.metric {
        Metric::Coverage => {
            let i = interval(score.level)?;
            mean(
                (0..s.actual.len())
                    .map(|h| f64::from(u8::from(i.lower[h] <= s.actual[h] && s.actual[h] <= i.upper[h]))),
            )
        }
        Metric::Winkler => {
            let i = interval(score.level)?;
            let alpha = 1.0 - i.level / 100.0;
            mean((0..s.actual.len()).map(|h| {
                let (lo, hi, a) = (i.lower[h], i.upper[h], s.actual[h]);
                (hi - lo) + 2.0 / alpha * ((lo - a).max(0.0) + (a - hi).max(0.0))
            }))
        }
        Metric::Pinball => {
            if s.intervals.is_empty() {
                return None;
            }
            let pinball = |tau: f64, q: f64, a: f64| (tau * (a - q)).max((tau - 1.0) * (a - q));
            let quantiles = s.intervals.iter().flat_map(|i| {
                let alpha = 1.0 - i.level / 100.0;
                [(alpha / 2.0, &i.lower), (1.0 - alpha / 2.0, &i.upper)]
            });
            let quantiles: Vec<(f64, &Vec<f64>)> = quantiles.collect();
            mean((0..s.actual.len()).flat_map(|h| {
                let a = s.actual[h];
                quantiles
                    .iter()
                    .map(move |(tau, q)| pinball(*tau, q[h], a))
                    .chain(std::iter::once(pinball(0.5, s.forecast[h], a)))
            }))
        }
        metric => series_metric(metric, s, season),
    }
}

/// One per-series point-forecast metric; `None` where undefined.
pub fn series_metric(metric: Metric, s: &SeriesEval<'_>, season: usize) -> Option<f64> {
    let mae = || mean(errors(s).map(f64::abs));
    let mse = || mean(errors(s).map(|e| e * e));
    match metric {
        Metric::Mae => mae(),
        Metric::Rmse => mse().map(f64::sqrt),
        Metric::Bias => mean(errors(s)),
        Metric::Mape => mean(
            errors(s)
                .zip(s.actual)
                .filter(|(_, a)| **a != 0.0)
                .map(|(e, a)| 100.0 * e.abs() / a.abs()),
        ),
        Metric::Smape => mean(s.forecast.iter().zip(s.actual).map(|(f, a)| {
            let denominator = f.abs() + a.abs();
            if denominator == 0.0 {
                0.0
            } else {
                200.0 * (f - a).abs() / denominator
            }
        })),
        Metric::Wape => {
            let total: f64 = s.actual.iter().map(|a| a.abs()).sum();
            (total > 0.0).then(|| 100.0 * errors(s).map(f64::abs).sum::<f64>() / total)
        }
        Metric::Mase => Some(mae()? / seasonal_scale(s.train, season, 1)?),
        Metric::Rmsse => Some((mse()? / seasonal_scale(s.train, season, 2)?).sqrt()),
        Metric::R2 => {
            let mean_actual = mean(s.actual.iter().copied())?;
            let total: f64 = s.actual.iter().map(|a| (a - mean_actual).powi(2)).sum();
            (total > 0.0).then(|| 1.0 - errors(s).map(|e| e * e).sum::<f64>() / total)
        }
        Metric::Wrmsse | Metric::Coverage | Metric::Winkler | Metric::Pinball => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRAIN: [f64; 5] = [2.0, 4.0, 3.0, 5.0, 4.0];
    const ACTUAL: [f64; 3] = [4.0, 0.0, 6.0];
    const FORECAST: [f64; 3] = [5.0, 1.0, 3.0];

    fn metric(m: Metric, season: usize) -> Option<f64> {
        series_metric(
            m,
            &SeriesEval {
                train: &TRAIN,
                actual: &ACTUAL,
                forecast: &FORECAST,
                intervals: &[],
            },
            season,
        )
    }

    fn close(a: Option<f64>, b: f64) {
        let a = a.expect("defined");
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    // Errors e = f − a = (1, 1, −3).
    #[test]
    fn scale_free_metrics_by_hand() {
        close(metric(Metric::Mae, 1), 5.0 / 3.0);
        close(metric(Metric::Rmse, 1), (11.0f64 / 3.0).sqrt());
        close(metric(Metric::Bias, 1), -1.0 / 3.0);
        // mape over non-zero actuals: (1/4 + 3/6) / 2 = 0.375.
        close(metric(Metric::Mape, 1), 37.5);
        // smape: 2·1/9, 2·1/1, 2·3/9 → mean = (2/9 + 2 + 6/9)/3.
        close(metric(Metric::Smape, 1), 100.0 * (2.0 / 9.0 + 2.0 + 6.0 / 9.0) / 3.0);
        // wape: 5 / 10.
        close(metric(Metric::Wape, 1), 50.0);
        // r2: mean a = 10/3, SST = (2/3)² + (10/3)² + (8/3)² = 168/9, SSE = 11.
        close(metric(Metric::R2, 1), 1.0 - 11.0 / (168.0 / 9.0));
    }

    #[test]
    fn scaled_metrics_by_hand() {
        // One-step changes of TRAIN: 2, −1, 2, −1 → mean|.| = 1.5, mean(.²) = 2.5.
        close(metric(Metric::Mase, 1), (5.0 / 3.0) / 1.5);
        close(metric(Metric::Rmsse, 1), ((11.0 / 3.0) / 2.5f64).sqrt());
        // Season 2: changes 1, 1, 1 → scale 1.
        close(metric(Metric::Mase, 2), 5.0 / 3.0);
    }

    #[test]
    fn interval_scores_by_hand() {
        // Actuals 4, 0, 6 against the 80% interval [3, 5], [1, 2], [2, 4]:
        // inside, below by 1, above by 2. α = 0.2, 2/α = 10.
        let interval = Interval {
            level: 80.0,
            lower: vec![3.0, 1.0, 2.0],
            upper: vec![5.0, 2.0, 4.0],
        };
        let eval = SeriesEval {
            train: &TRAIN,
            actual: &ACTUAL,
            forecast: &FORECAST,
            intervals: std::slice::from_ref(&interval),
        };
        let score = |metric, level| series_score(&Score { metric, level }, &eval, 1);
        close(score(Metric::Coverage, Some(80.0)), 1.0 / 3.0);
        // Widths 2, 1, 2; penalties 0, 10·1, 10·2.
        close(score(Metric::Winkler, Some(80.0)), (2.0 + 11.0 + 22.0) / 3.0);
        // τ = 0.1 at the lower bound: 0.1·1, 0.9·1, 0.1·4; τ = 0.9 at the upper:
        // 0.1·1, 0.1·2, 0.9·2; τ = 0.5 at the forecast: 0.5·(1, 1, 3).
        let expected = (0.1 + 0.9 + 0.4) + (0.1 + 0.2 + 1.8) + 0.5 * 5.0;
        close(score(Metric::Pinball, None), expected / 9.0);
        assert_eq!(score(Metric::Coverage, Some(95.0)), None, "no 95% interval");
        let without = SeriesEval { intervals: &[], ..eval };
        assert_eq!(
            series_score(
                &Score {
                    metric: Metric::Pinball,
                    level: None
                },
                &without,
                1
            ),
            None
        );
    }

    #[test]
    fn undefined_cases_are_none_not_nan() {
        let flat = SeriesEval {
            train: &[3.0, 3.0, 3.0],
            actual: &[0.0, 0.0],
            forecast: &[0.0, 0.0],
            intervals: &[],
        };
        for m in [Metric::Mase, Metric::Rmsse, Metric::Mape, Metric::Wape, Metric::R2] {
            assert_eq!(series_metric(m, &flat, 1), None, "{m:?}");
        }
        close(series_metric(Metric::Smape, &flat, 1), 0.0);
    }
}
