//! `naive`: every step repeats the last training value.

use super::require;
use crate::{FoldInput, Forecaster, ModelError, SeriesOutcome, per_series};
use trendlab_spec::families::NaiveConfig;

impl Forecaster for NaiveConfig {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        per_series(input, |s, h| Ok(vec![require(s, 1)?[s.train_len() - 1]; h]))
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
