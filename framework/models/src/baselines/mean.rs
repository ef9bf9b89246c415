//! `mean`: every step is the mean of the training values (or of the last
//! `window` of them); σ̂ from the deviations from that mean, times
//! √(1 + 1/T).

use super::{require, with_intervals};
use crate::{FoldInput, Forecaster, ModelError, SeriesOutcome, per_series};
use trendlab_spec::MeanConfig;

impl Forecaster for MeanConfig {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        per_series(input, |s, h| {
            let y = require(s, 1)?;
            let window = &y[y.len() - self.window.unwrap_or(y.len()).min(y.len())..];
            let mean = window.iter().sum::<f64>() / window.len() as f64;
            let residuals = window.iter().map(|v| v - mean);
            let spread = |_| (1.0 + 1.0 / window.len() as f64).sqrt();
            Ok(with_intervals(vec![mean; h], residuals, 1, spread, input))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::run;

    #[test]
    fn whole_history_or_window() {
        let y = [1.0, 3.0, 2.0, 5.0, 4.0];
        assert_eq!(run(&MeanConfig { window: None }, &y, 2).unwrap(), vec![3.0, 3.0]);
        assert_eq!(run(&MeanConfig { window: Some(2) }, &y, 1).unwrap(), vec![4.5]);
        assert_eq!(run(&MeanConfig { window: Some(50) }, &y, 1).unwrap(), vec![3.0]);
    }
}
