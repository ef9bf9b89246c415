//! The forecast file of a refit (`trendlab_results::forecasts::ForecastFile`),
//! from what `forecast` chose and computed.

use super::choose::Chosen;
use crate::experiment::Workspace;
use chrono::NaiveDate;
use trendlab_engine::future::FutureFold;
use trendlab_models::SeriesForecast;
use trendlab_results::conformal::IntervalMethod;
use trendlab_results::forecasts::{BacktestSummary, ForecastFile, PeriodTotal};
use trendlab_results::store::{SeriesFailure, SeriesFallback};

/// What a refit produced, for its forecast file.
pub(super) struct Refit {
    pub forecasts: Vec<(String, SeriesForecast)>,
    pub failures: Vec<SeriesFailure>,
    pub fallbacks: Vec<SeriesFallback>,
    pub levels: Vec<f64>,
    pub intervals: IntervalMethod,
    /// What else to say of the intervals.
    pub interval_note: Option<String>,
    /// How the refit differs from a backtest fold's fit.
    pub note: Option<String>,
}

pub(super) fn forecast_file(w: &Workspace, chosen: &Chosen, fold: &FutureFold, refit: Refit) -> ForecastFile {
    let config = &w.plan.configs[chosen.config];
    let row = &chosen.row;
    let mut file = ForecastFile {
        experiment: w.plan.experiment.clone(),
        spec_hash: w.prepared.experiment.spec_hash.clone(),
        data_fingerprint: String::new(),
        trendlab_version: trendlab_results::TRENDLAB_VERSION.to_string(),
        model: config.model.clone(),
        family: config.family.name().to_string(),
        config: row.label.clone(),
        config_id: row.config_id.clone(),
        params: config.family.hashed_params(),
        backtest: BacktestSummary {
            rank: row.rank,
            rank_by: chosen.leaderboard.rank_by.clone(),
            metrics: row.metrics.clone(),
            folds: row.folds,
        },
        refit: refit.note,
        last_date: fold.fold.cutoff,
        horizon: fold.horizon,
        levels: refit.levels,
        intervals_text: match &refit.interval_note {
            Some(note) => format!("{}; {note}", refit.intervals),
            None => refit.intervals.to_string(),
        },
        intervals: refit.intervals,
        clipped_at_zero: false,
        series: 0,
        failures: Vec::new(),
        fallbacks: Vec::new(),
        skipped: Vec::new(),
        totals: Vec::new(),
        forecasts: Vec::new(),
    };
    set_forecasts(
        &mut file,
        w,
        fold,
        refit.forecasts,
        Unforecast {
            failures: refit.failures,
            fallbacks: refit.fallbacks,
        },
    );
    file
}

/// The series the model did not forecast: without a forecast, or
/// forecast by the fallback.
pub(super) struct Unforecast {
    pub failures: Vec<SeriesFailure>,
    pub fallbacks: Vec<SeriesFallback>,
}

/// Sets what `file` says of the data and the forecasts: the data's
/// fingerprint and last date, the forecasts with their dates, the totals per
/// period, the series that failed, those the fallback forecast, and those
/// the backtest leaves out.
pub(super) fn set_forecasts(
    file: &mut ForecastFile,
    w: &Workspace,
    fold: &FutureFold,
    forecasts: Vec<(String, SeriesForecast)>,
    unforecast: Unforecast,
) {
    let frequency = w.prepared.panel.frequency;
    let dates: Vec<NaiveDate> = (1..=fold.horizon)
        .map(|h| frequency.advance(fold.fold.cutoff, h))
        .collect();
    file.totals = dates
        .iter()
        .enumerate()
        .map(|(h, &date)| PeriodTotal {
            date,
            step: h + 1,
            forecast: forecasts.iter().map(|(_, f)| f.mean[h]).sum(),
        })
        .collect();
    file.data_fingerprint = w.prepared.panel.fingerprint.clone();
    file.last_date = fold.fold.cutoff;
    file.horizon = fold.horizon;
    file.clipped_at_zero = w.prepared.panel.nonnegative;
    file.series = forecasts.len();
    file.failures = unforecast.failures;
    file.fallbacks = unforecast.fallbacks;
    file.skipped = w
        .prepared
        .backtest
        .skipped
        .iter()
        .map(|(series, reason)| SeriesFailure {
            series: series.clone(),
            reason: reason.clone(),
        })
        .collect();
    file.forecasts = forecasts.into_iter().map(|(id, f)| (id, dates.clone(), f)).collect();
}
