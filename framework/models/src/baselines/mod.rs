//! The baseline families: closed-form rules on one series' training values,
//! each forecasting every horizon step directly. One module per family.
//! Their prediction intervals are the textbook ones (Hyndman &
//! Athanasopoulos, FPP3 §5.5): normal, with σ̂ from the rule's in-sample
//! one-step residuals, widened per step as the rule's error accumulates.

mod drift;
mod mean;
mod naive;
mod seasonal_naive;

use crate::{ModelError, SeriesForecast, SeriesHistory};

/// The training values, if there are at least `need` of them.
fn require<'a>(s: &SeriesHistory<'a>, need: usize) -> Result<&'a [f64], ModelError> {
    if s.train_len() < need {
        return Err(ModelError::TooShort {
            series: s.id.to_string(),
            need,
            have: s.train_len(),
        });
    }
    Ok(s.target)
}

/// Point forecasts with normal intervals at `levels`: σ̂² = Σe² / (n − k)
/// over the `residuals` with `parameters` (k) estimated, times `spread(h)`²
/// at step h = 1, 2, …; no intervals when fewer than k + 1 residuals exist.
fn with_intervals(
    mean: Vec<f64>,
    residuals: impl Iterator<Item = f64>,
    parameters: usize,
    spread: impl Fn(usize) -> f64,
    input: &crate::FoldInput<'_>,
) -> SeriesForecast {
    let levels = input.levels;
    let residuals: Vec<f64> = residuals.collect();
    let (squares, n) = residuals.iter().fold((0.0, 0usize), |(s, n), e| (s + e * e, n + 1));
    let residuals = if input.context.residuals { residuals } else { Vec::new() };
    let intervals = if n > parameters {
        let sigma = (squares / (n - parameters) as f64).sqrt();
        let sd: Vec<f64> = (1..=mean.len()).map(|h| sigma * spread(h)).collect();
        crate::intervals::normal(&mean, &sd, levels)
    } else {
        Vec::new()
    };
    SeriesForecast {
        mean,
        intervals,
        chosen: None,
        residuals,
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::forecast_with_levels;
    use crate::{FeatureSet, Forecaster};
    use trendlab_spec::{DriftConfig, MeanConfig, NaiveConfig, SeasonalNaiveConfig};

    const Y: [f64; 5] = [1.0, 3.0, 2.0, 5.0, 4.0];
    const Z95: f64 = 1.959963984540054;

    /// Half-widths of the 95% interval at each step.
    fn half_widths(model: &dyn Forecaster, horizon: usize) -> Vec<f64> {
        let f = forecast_with_levels(model, &Y, horizon, &FeatureSet::default(), &[95.0]).unwrap();
        let i = &f.intervals[0];
        i.upper.iter().zip(&f.mean).map(|(u, m)| u - m).collect()
    }

    fn close(a: &[f64], b: &[f64]) {
        assert!(a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-7), "{a:?} vs {b:?}");
    }

    #[test]
    fn baseline_intervals_by_hand() {
        // Naive: differences 2, -1, 3, -1 → σ̂² = 15/4; widths grow as √h.
        let s = (15.0f64 / 4.0).sqrt();
        close(&half_widths(&NaiveConfig {}, 2), &[Z95 * s, Z95 * s * 2f64.sqrt()]);
        // Seasonal naive, m = 2: seasonal differences 1, 2, 2 → σ̂² = 9/3; steps 1-2 one season back, 3 two.
        let s = 3f64.sqrt();
        close(
            &half_widths(&SeasonalNaiveConfig { season: 2 }, 3),
            &[Z95 * s, Z95 * s, Z95 * s * 2f64.sqrt()],
        );
        // Mean 3: deviations -2, 0, -1, 2, 1 → σ̂² = 10/4, times √(1 + 1/5).
        let s = (10.0f64 / 4.0 * 1.2).sqrt();
        close(&half_widths(&MeanConfig { window: None }, 1), &[Z95 * s]);
        // Drift 0.75: residuals 1.25, -1.75, 2.25, -1.75 → σ̂² = 12.75/3; step h: √(h (1 + h/4)).
        let s = (12.75f64 / 3.0).sqrt();
        close(
            &half_widths(&DriftConfig {}, 2),
            &[Z95 * s * 1.25f64.sqrt(), Z95 * s * (2.0f64 * 1.5).sqrt()],
        );
    }
}
