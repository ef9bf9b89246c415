//! `drift`: extends the straight line through the first and last training
//! values (the random walk with drift forecast); σ̂ from the one-step
//! differences minus the slope, growing as √(h (1 + h/(T − 1))).

use super::{require, with_intervals};
use crate::{FoldInput, Forecaster, ModelError, SeriesOutcome, per_series};
use trendlab_spec::DriftConfig;

impl Forecaster for DriftConfig {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        per_series(input, |s, h| {
            let y = require(s, 1)?;
            let last = y[y.len() - 1];
            let slope = if y.len() > 1 {
                (last - y[0]) / (y.len() - 1) as f64
            } else {
                0.0
            };
            let mean = (1..=h).map(|step| last + slope * step as f64).collect();
            let residuals = y.windows(2).map(|w| w[1] - w[0] - slope);
            let t = y.len() as f64;
            let spread = |step: usize| (step as f64 * (1.0 + step as f64 / (t - 1.0))).sqrt();
            Ok(with_intervals(mean, residuals, 1, spread, input))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::run;

    #[test]
    fn slope_from_first_to_last() {
        // slope (4 - 1) / 4 = 0.75
        assert_eq!(
            run(&DriftConfig {}, &[1.0, 3.0, 2.0, 5.0, 4.0], 2).unwrap(),
            vec![4.75, 5.5]
        );
        assert_eq!(run(&DriftConfig {}, &[7.0], 2).unwrap(), vec![7.0, 7.0]);
    }
}
