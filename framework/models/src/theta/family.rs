//! The `theta` family in a backtest: per series, the spec's model (or the
//! four, keeping the lowest MSE), forecasts and simulated intervals; the
//! chosen model is recorded per series.

use super::{Kind, ThetaFit, auto_theta};
use crate::saved_fits::{SeriesFit, per_series_fits};
use crate::{FoldInput, Forecaster, ModelError, SeriesForecast, SeriesHistory, SeriesOutcome};
use trendlab_spec::ThetaConfig;

impl SeriesFit for ThetaFit {
    /// A Theta fit holds no state beyond its parameters: it filters the data
    /// afresh at each forecast.
    fn on_data(self, _: &SeriesHistory<'_>) -> Result<Self, ModelError> {
        Ok(self)
    }
}

impl Forecaster for ThetaConfig {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<SeriesOutcome>, ModelError> {
        per_series_fits(
            input,
            |s| {
                if s.train_len() < 4 {
                    return Err(ModelError::TooShort {
                        series: s.id.to_string(),
                        need: 4,
                        have: s.train_len(),
                    });
                }
                auto_theta(s.target, Kind::of(self.model), self.season, self.decomposition).ok_or_else(|| {
                    ModelError::Numerical(format!("no Theta model could be fitted to series `{}`", s.id))
                })
            },
            |model, s, horizon| {
                let f = model.forecast(s.target, horizon);
                let intervals = model.intervals(&f, input.levels, input.seed);
                Ok(SeriesForecast {
                    residuals: Vec::new(),
                    mean: f.mean,
                    intervals,
                    chosen: Some(serde_json::json!({
                        "model": model.params.kind.name(),
                        "alpha": model.params.alpha,
                        "theta": model.params.theta,
                        "deseasonalised": !model.seasonal.is_empty(),
                    })),
                })
            },
        )
    }
}
