//! A forecast for every series: where a family fails on a series (its fit
//! fails, or its forecast is not finite or malformed), the configuration's
//! `fallback` method forecasts that series instead, from the same training
//! data, through the same checks. The backtest and `forecast` share this
//! path (`execute::forecast`), so a series forecast by the fallback in a
//! fold is forecast by it again on data cut at that fold's cutoff.
//!
//! A model that fails on every series of a fold is not filled in: its run
//! there would be the fallback's, not the model's (a season longer than
//! every series, say), so it fails as before, with the first reason.
//!
//! The fallback's intervals are kept where the family gives intervals of
//! its own (so every series of a run has them or none does); conformal
//! intervals from the backtest cover the others in `forecast`, as for the
//! family.

use crate::execute::check_shape;
use trendlab_models::{FamilyContext, FoldInput, Forecaster, SeriesForecast};
use trendlab_results::store::SeriesFallback;
use trendlab_spec::{Fallback, Intervals, MeanConfig, ModelConfig, NaiveConfig, SeasonalNaiveConfig};

/// One series' forecast, or why it has none.
#[derive(Debug, Clone)]
pub struct SeriesResult {
    pub forecast: Result<SeriesForecast, String>,
    /// Why the family failed on the series, when the fallback forecast it.
    pub fell_back: Option<String>,
}

impl SeriesResult {
    fn own(forecast: Result<SeriesForecast, String>) -> SeriesResult {
        SeriesResult {
            forecast,
            fell_back: None,
        }
    }
}

/// `outcomes` (one per series of `input`) with every failed series
/// forecast by `config`'s fallback where it can be (unless every series
/// failed); a series the fallback cannot forecast either keeps the
/// family's reason.
pub(crate) fn fill(
    input: &FoldInput<'_>,
    config: &ModelConfig,
    outcomes: Vec<Result<SeriesForecast, String>>,
) -> Vec<SeriesResult> {
    let failed: Vec<usize> = (0..outcomes.len()).filter(|k| outcomes[*k].is_err()).collect();
    if failed.is_empty() || failed.len() == outcomes.len() || config.fallback == Fallback::None {
        return outcomes.into_iter().map(SeriesResult::own).collect();
    }
    let mut only = input.clone();
    only.series = failed.iter().map(|k| input.series[*k].clone()).collect();
    only.observer = &();
    only.context = FamilyContext::default();
    let keep_intervals = config.family.capabilities().intervals != Intervals::None;
    let mut forecasts = by_fallback(config.fallback, &only).into_iter();
    let mut results: Vec<SeriesResult> = outcomes.into_iter().map(SeriesResult::own).collect();
    for k in failed {
        let substitute = forecasts.next().expect("one forecast per failed series");
        let Ok(mut substitute) = substitute else { continue };
        if !keep_intervals {
            substitute.intervals.clear();
        }
        if check_shape(&substitute, input).is_err() {
            continue;
        }
        let reason = std::mem::replace(&mut results[k].forecast, Ok(substitute));
        results[k].fell_back = reason.err();
    }
    results
}

/// The fallback's forecast of each series of `input`.
fn by_fallback(fallback: Fallback, input: &FoldInput<'_>) -> Vec<Result<SeriesForecast, String>> {
    let run = |forecaster: &dyn Forecaster| match forecaster.forecast(input) {
        Ok(outcomes) => outcomes.into_iter().map(|o| o.map_err(|e| e.to_string())).collect(),
        Err(e) => vec![Err(e.to_string()); input.series.len()],
    };
    match fallback {
        Fallback::Naive => run(&NaiveConfig {}),
        Fallback::Mean => run(&MeanConfig { window: None }),
        Fallback::None => vec![Err("no fallback".to_string()); input.series.len()],
        Fallback::SeasonalNaive => {
            let naive = run(&NaiveConfig {});
            if input.season <= 1 {
                return naive;
            }
            let seasonal = run(&SeasonalNaiveConfig { season: input.season });
            // The naive where a series is shorter than one season.
            seasonal
                .into_iter()
                .zip(naive)
                .map(|(seasonal, naive)| seasonal.or(naive))
                .collect()
        }
    }
}

/// "2 of 120 series forecast by the fallback (seasonal_naive) where the
/// model failed (s001: reason; ...)".
pub(crate) fn note(fell_back: &[SeriesFallback], total: usize) -> String {
    let method = fell_back.first().map_or("", |f| f.fallback.name());
    format!(
        "{} of {total} series forecast by the fallback ({method}) where the model failed ({})",
        fell_back.len(),
        crate::execute::first_reasons(fell_back.iter().map(|f| (f.series.as_str(), f.reason.as_str())))
    )
}
