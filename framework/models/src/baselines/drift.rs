//! `drift`: extends the straight line through the first and last training
//! values (the random walk with drift forecast).

use super::require;
use crate::{FoldInput, Forecaster, ModelError, SeriesOutcome, per_series};
use trendlab_spec::families::DriftConfig;

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
            Ok((1..=h).map(|step| last + slope * step as f64).collect::<Vec<f64>>())
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
