//! `seasonal_naive`: step h repeats the value one season before it, taken
//! from the last full season of training data; σ̂ from the seasonal
//! differences, growing with the number of seasons ahead.

use super::{require, with_intervals};
use crate::{FoldInput, Forecaster, ModelError, SeriesOutcome, per_series};
use trendlab_spec::SeasonalNaiveConfig;

impl Forecaster for SeasonalNaiveConfig {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        let m = self.season;
        per_series(input, |s, h| {
            let y = require(s, m)?;
            let last_season = &y[y.len() - m..];
            let mean = (0..h).map(|step| last_season[step % m]).collect();
            let residuals = y.iter().skip(m).zip(y).map(|(a, b)| a - b);
            // Step h repeats a value from ⌊(h − 1)/m⌋ + 1 seasons back.
            let spread = |step: usize| (((step - 1) / m + 1) as f64).sqrt();
            Ok(with_intervals(mean, residuals, 0, spread, input))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::run;

    #[test]
    fn cycles_the_last_season() {
        let y = [1.0, 3.0, 2.0, 5.0, 4.0];
        assert_eq!(
            run(&SeasonalNaiveConfig { season: 2 }, &y, 3).unwrap(),
            vec![5.0, 4.0, 5.0]
        );
        assert_eq!(
            run(&SeasonalNaiveConfig { season: 3 }, &y, 4).unwrap(),
            vec![2.0, 5.0, 4.0, 2.0]
        );
    }

    #[test]
    fn needs_a_full_season() {
        let err = run(&SeasonalNaiveConfig { season: 7 }, &[1.0, 2.0], 1).unwrap_err();
        assert_eq!(
            err,
            ModelError::TooShort {
                series: "s".into(),
                need: 7,
                have: 2
            }
        );
    }
}
