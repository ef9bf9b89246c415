//! Target transforms for any family (`transform` on a model): each series'
//! training values are transformed before the family fits them, and its
//! forecasts and interval bounds transformed back. No bias adjustment: a
//! forecast transformed back is the median of the forecast distribution
//! (what absolute-error metrics reward), not its mean. Box-Cox takes λ per
//! series by Guerrero's (1993) method, as R's `BoxCox.lambda` and
//! statsforecast: the λ in [−1, 2] that makes the standard deviation of
//! each block of `season` periods (2 when there is no season) most nearly
//! proportional to the block's mean to the power 1 − λ.

use crate::{FoldInput, Forecaster, ModelError, SeriesForecast, SeriesHistory, SeriesOutcome};
use trendlab_spec::TargetTransform;

/// The transform of one series, with its parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fitted {
    Log1p,
    BoxCox { lambda: f64 },
}

impl Fitted {
    /// Chooses the transform's parameter on `y`, or says why it cannot apply.
    pub fn of(transform: TargetTransform, s: &SeriesHistory<'_>, season: usize) -> Result<Option<Fitted>, ModelError> {
        let first_bad = |ok: &dyn Fn(f64) -> bool| s.target.iter().position(|v| !ok(*v));
        match transform {
            TargetTransform::None => Ok(None),
            TargetTransform::Log1p => match first_bad(&|v| v > -1.0) {
                None => Ok(Some(Fitted::Log1p)),
                Some(i) => Err(ModelError::Unfit(format!(
                    "series `{}` has {} at {}: log1p needs values above -1",
                    s.id, s.target[i], s.dates[i]
                ))),
            },
            TargetTransform::BoxCox => match first_bad(&|v| v > 0.0) {
                None => Ok(Some(Fitted::BoxCox {
                    lambda: guerrero(s.target, season),
                })),
                Some(i) => Err(ModelError::Unfit(format!(
                    "series `{}` has {} at {}: Box-Cox needs positive values (use transform = \"log1p\" for counts with zeros)",
                    s.id, s.target[i], s.dates[i]
                ))),
            },
        }
    }

    pub fn forward(self, y: f64) -> f64 {
        match self {
            Fitted::Log1p => y.ln_1p(),
            Fitted::BoxCox { lambda } if lambda.abs() < 1e-12 => y.ln(),
            Fitted::BoxCox { lambda } => (y.powf(lambda) - 1.0) / lambda,
        }
    }

    /// The inverse; a value beyond the transform's range (λz + 1 ≤ 0) maps
    /// to the range's edge (zero for λ > 0).
    pub fn back(self, z: f64) -> f64 {
        match self {
            Fitted::Log1p => z.exp_m1(),
            Fitted::BoxCox { lambda } if lambda.abs() < 1e-12 => z.exp(),
            Fitted::BoxCox { lambda } => {
                let base = lambda * z + 1.0;
                if base <= 0.0 {
                    if lambda > 0.0 { 0.0 } else { f64::MAX }
                } else {
                    base.powf(1.0 / lambda)
                }
            }
        }
    }
}

/// Guerrero's coefficient of variation of sd / mean^(1 − λ) over blocks.
fn guerrero_cv(lambda: f64, y: &[f64], period: usize) -> f64 {
    let blocks = y.len() / period;
    let start = y.len() - blocks * period;
    let ratios: Vec<f64> = y[start..]
        .chunks(period)
        .map(|b| {
            let mean = b.iter().sum::<f64>() / period as f64;
            let sd = (b.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (period as f64 - 1.0)).sqrt();
            sd / mean.powf(1.0 - lambda)
        })
        .collect();
    let n = ratios.len() as f64;
    let mean = ratios.iter().sum::<f64>() / n;
    let sd = (ratios.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    sd / mean
}

/// Guerrero's λ in [−1, 2] for positive `y` (λ = 1, no change, for fewer
/// than two blocks).
pub fn guerrero(y: &[f64], season: usize) -> f64 {
    let period = season.max(2);
    if y.len() / period < 2 {
        return 1.0;
    }
    // Golden-section search, as R's `optimize` on the same interval.
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let (mut a, mut b) = (-1.0f64, 2.0f64);
    let f = |l: f64| {
        let v = guerrero_cv(l, y, period);
        if v.is_finite() { v } else { f64::INFINITY }
    };
    let mut c = b - ratio * (b - a);
    let mut d = a + ratio * (b - a);
    let (mut fc, mut fd) = (f(c), f(d));
    while b - a > 1e-8 {
        if fc <= fd {
            (b, d, fd) = (d, c, fc);
            c = b - ratio * (b - a);
            fc = f(c);
        } else {
            (a, c, fc) = (c, d, fd);
            d = a + ratio * (b - a);
            fd = f(d);
        }
    }
    (a + b) / 2.0
}

/// `inner` fitted on transformed targets, its forecasts transformed back.
pub struct Transformed<'a> {
    pub inner: &'a dyn Forecaster,
    pub transform: TargetTransform,
    /// Block length for Guerrero's λ (the experiment's season).
    pub season: usize,
}

impl Forecaster for Transformed<'_> {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        if self.transform.is_none() {
            return self.inner.forecast(input);
        }
        let fitted: Vec<Result<Option<Fitted>, ModelError>> = input
            .series
            .iter()
            .map(|s| Fitted::of(self.transform, s, self.season))
            .collect();
        let targets: Vec<Vec<f64>> = input
            .series
            .iter()
            .zip(&fitted)
            .map(|(s, f)| match f {
                Ok(Some(f)) => s.target.iter().map(|v| f.forward(*v)).collect(),
                _ => Vec::new(),
            })
            .collect();
        let kept: Vec<usize> = (0..fitted.len()).filter(|&i| fitted[i].is_ok()).collect();
        let series: Vec<SeriesHistory<'_>> = kept
            .iter()
            .map(|&i| SeriesHistory {
                target: &targets[i],
                ..input.series[i].clone()
            })
            .collect();
        let outcomes = if series.is_empty() {
            Vec::new()
        } else {
            self.inner.forecast(&FoldInput {
                series,
                ..input.clone()
            })?
        };
        if outcomes.len() != kept.len() {
            return Err(ModelError::Unfit(format!(
                "the model returned forecasts for {} series instead of {}",
                outcomes.len(),
                kept.len()
            )));
        }
        let mut outcomes = outcomes.into_iter();
        Ok(fitted
            .into_iter()
            .map(|f| {
                let f = f?;
                let outcome = outcomes.next().expect("one outcome per kept series");
                outcome.map(|mut forecast| {
                    if let Some(f) = f {
                        back_transform(&mut forecast, f);
                    }
                    forecast
                })
            })
            .collect())
    }
}

/// Forecasts and bounds transformed back; Box-Cox's λ joins the series' choices.
fn back_transform(forecast: &mut SeriesForecast, f: Fitted) {
    let back = |v: &mut f64| *v = f.back(*v);
    forecast.mean.iter_mut().for_each(back);
    // Residuals of the transformed series do not transform back.
    forecast.residuals.clear();
    for interval in &mut forecast.intervals {
        interval
            .lower
            .iter_mut()
            .chain(interval.upper.iter_mut())
            .for_each(back);
    }
    if let Fitted::BoxCox { lambda } = f {
        let chosen = forecast.chosen.get_or_insert_with(|| serde_json::json!({}));
        if let Some(map) = chosen.as_object_mut() {
            map.insert("box_cox_lambda".into(), serde_json::json!(lambda));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FeatureSet;
    use crate::testing::{daily_dates, forecast_with_levels, history};
    use trendlab_spec::{MeanConfig, NaiveConfig};

    #[test]
    fn transforms_invert() {
        for f in [
            Fitted::Log1p,
            Fitted::BoxCox { lambda: 0.0 },
            Fitted::BoxCox { lambda: 0.5 },
            Fitted::BoxCox { lambda: -0.7 },
        ] {
            for y in [0.5, 3.0, 120.0] {
                assert!((f.back(f.forward(y)) - y).abs() < 1e-9 * y, "{f:?} {y}");
            }
        }
        assert_eq!(Fitted::BoxCox { lambda: 0.5 }.back(-10.0), 0.0);
    }

    #[test]
    fn guerrero_finds_the_variance_stabilising_power() {
        // Blocks whose spread grows as the level: sd ∝ mean, the log (λ = 0) stabilises it.
        let y: Vec<f64> = (0..40)
            .flat_map(|b| {
                let level = 10.0 * 1.2f64.powi(b);
                [0.8 * level, 1.2 * level, level, level]
            })
            .collect();
        assert!(guerrero(&y, 4).abs() < 0.02, "{}", guerrero(&y, 4));
        // Spread constant across levels: no transform needed (λ = 1).
        let y: Vec<f64> = (0..40)
            .flat_map(|b| {
                let level = 10.0 + 5.0 * b as f64;
                [level - 2.0, level + 2.0, level, level]
            })
            .collect();
        assert!((guerrero(&y, 4) - 1.0).abs() < 0.02, "{}", guerrero(&y, 4));
    }

    #[test]
    fn the_mean_of_logs_comes_back_as_a_geometric_mean_and_bad_series_fail_alone() {
        let mean = MeanConfig { window: None };
        let model = Transformed {
            inner: &mean,
            transform: TargetTransform::Log1p,
            season: 1,
        };
        let f = forecast_with_levels(&model, &[0.0, 3.0, 15.0], 1, &FeatureSet::default(), &[95.0]).unwrap();
        // exp(mean(log 1, log 4, log 16)) − 1 = 4 − 1.
        assert!((f.mean[0] - 3.0).abs() < 1e-12);
        assert!(f.intervals[0].lower[0] < 3.0 && f.intervals[0].upper[0] > 3.0);
        let naive = NaiveConfig {};
        let boxcox = Transformed {
            inner: &naive,
            transform: TargetTransform::BoxCox,
            season: 1,
        };
        let dates = daily_dates(5);
        let good = [2.0, 3.0, 4.0];
        let bad = [2.0, 0.0, 4.0];
        let features = FeatureSet::default();
        let input = FoldInput::new(
            vec![history("good", &dates, &good), history("bad", &dates, &bad)],
            2,
            &features,
        );
        let out = boxcox.forecast(&input).unwrap();
        assert!((out[0].as_ref().unwrap().mean[0] - 4.0).abs() < 1e-9);
        let reason = out[1].as_ref().unwrap_err().to_string();
        assert!(
            reason.contains("series `bad` has 0 at 2024-01-02: Box-Cox needs positive values"),
            "{reason}"
        );
    }
}
