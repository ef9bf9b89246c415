//! The intermittent families in a backtest: one flat forecast per series.

use super::{adida, croston, imapa, optimized_ses, ses, tsb};
use crate::{FoldInput, Forecaster, ModelError, SeriesOutcome, per_series};
use trendlab_spec::{AdidaConfig, CrostonConfig, CrostonVariant, ImapaConfig, TsbConfig};

/// A flat forecast of `rule` applied to each series (at least one value).
fn flat(input: &FoldInput<'_>, rule: impl Fn(&[f64]) -> f64 + Sync) -> Result<Vec<SeriesOutcome>, ModelError> {
    per_series(input, |s, horizon| {
        if s.target.is_empty() {
            return Err(ModelError::TooShort {
                series: s.id.to_string(),
                need: 1,
                have: 0,
            });
        }
        Ok(vec![rule(s.target); horizon])
    })
}

impl Forecaster for CrostonConfig {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        match self.variant {
            CrostonVariant::Classic => flat(input, |y| croston(y, |x| ses(x, 0.1))),
            CrostonVariant::Sba => flat(input, |y| 0.95 * croston(y, |x| ses(x, 0.1))),
            CrostonVariant::Optimized => flat(input, |y| croston(y, optimized_ses)),
        }
    }
}

impl Forecaster for TsbConfig {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        flat(input, |y| tsb(y, self.alpha_d, self.alpha_p))
    }
}

impl Forecaster for AdidaConfig {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        flat(input, adida)
    }
}

impl Forecaster for ImapaConfig {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        flat(input, imapa)
    }
}
