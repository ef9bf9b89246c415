//! Per-series fits that `forecast` saves and `forecast --from` reuses: each
//! series is fitted (or its saved fit brought up to date with its data,
//! nothing estimated again), forecast, and the fits reported once through
//! [`crate::FitObserver::fitted`].

use crate::{FittedState, FoldInput, ModelError, SeriesForecast, SeriesHistory, SeriesOutcome, per_series};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A series' fit as saved in `model/`.
pub(crate) trait SeriesFit: Serialize + DeserializeOwned {
    /// The saved fit on `s`'s data (the data it was fitted on, or the same
    /// series with later periods), its parameters unchanged.
    fn on_data(self, s: &SeriesHistory<'_>) -> Result<Self, ModelError>;
}

/// Fits (or takes the saved fit of) every series and forecasts it.
pub(crate) fn per_series_fits<F: SeriesFit>(
    input: &FoldInput<'_>,
    fit: impl Fn(&SeriesHistory<'_>) -> Result<F, ModelError> + Sync,
    forecast: impl Fn(&F, &SeriesHistory<'_>, usize) -> Result<SeriesForecast, ModelError> + Sync,
) -> Result<Vec<SeriesOutcome>, ModelError> {
    let saved = input.context.fitted;
    let fits = std::sync::Mutex::new(FittedState::default());
    let outcomes = per_series(input, |s, horizon| {
        let model = match saved {
            Some(state) => state.series_state::<F>(s.id)?.on_data(s)?,
            None => {
                let model = fit(s)?;
                let value = serde_json::to_value(&model).map_err(|e| ModelError::Numerical(e.to_string()))?;
                let mut fits = fits.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                fits.series.insert(s.id.to_string(), value);
                model
            }
        };
        let out = forecast(&model, s, horizon)?;
        if out.mean.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::Numerical(format!(
                "the forecast of series `{}` is not finite",
                s.id
            )));
        }
        Ok(out)
    })?;
    if saved.is_none() {
        input
            .observer
            .fitted(fits.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner));
    }
    Ok(outcomes)
}
