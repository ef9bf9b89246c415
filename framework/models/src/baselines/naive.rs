//! `naive`: every step repeats the last training value; σ̂ from the
//! one-step differences, growing as √h.

use super::{require, with_intervals};
use crate::{FoldInput, Forecaster, ModelError, SeriesOutcome, per_series};
use trendlab_spec::NaiveConfig;

impl Forecaster for NaiveConfig {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        per_series(input, |s, h| {
            let y = require(s, 1)?;
            let residuals = y.windows(2).map(|w| w[1] - w[0]);
            let spread = |step: usize| (step as f64).sqrt();
            Ok(with_intervals(vec![y[y.len() - 1]; h], residuals, 0, spread, input))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::run;

    #[test]
    fn repeats_the_last_value() {
        assert_eq!(
            run(&NaiveConfig {}, &[1.0, 3.0, 2.0, 5.0, 4.0], 3).unwrap(),
            vec![4.0; 3]
        );
        assert!(matches!(
            run(&NaiveConfig {}, &[], 1),
            Err(ModelError::TooShort { need: 1, .. })
        ));
    }
}
