//! Forecasting past the data (`trendlab forecast`): a configuration refit
//! on every series' whole history and forecast `horizon` periods past the
//! data's last date, through the backtest's own code path. The future is
//! one more fold: its cutoff is the last date, its test window has no
//! actuals yet, and its inputs are built and its forecasts checked by the
//! same functions as every backtest fold's (`execute::fold_input`,
//! `execute::forecast`). So a forecast from data cut at a fold's cutoff is
//! that fold's backtest forecast.

use crate::execute::{fold_input, forecast};
use crate::fallback::SeriesResult;
use std::path::Path;
use trendlab_models::ensemble::{ForecastsByLabel, MemberForecasts};
use trendlab_models::{Choices, FitObserver};
use trendlab_results::folds::{Fold, Window};
use trendlab_results::prepare::Prepared;
use trendlab_spec::ModelConfig;

/// The fold past the data.
#[derive(Debug, Clone)]
pub struct FutureFold {
    /// The data with every taking-part series extended `horizon` periods:
    /// the dates, NaN targets (never read: models see training targets
    /// only), and the known-in-advance covariates of its future rows.
    pub prepared: Prepared,
    pub fold: Fold,
    /// Every series of the backtest, trained on all its periods (or its
    /// last `train_size`, sliding) and tested on the `horizon` after.
    pub windows: Vec<Window>,
    pub horizon: usize,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FutureError {
    #[error(
        "series `{series}` has no value of the known-in-advance covariate `{column}` on {date}: give it in a row of the data for {date} with `{target}` empty, or in --future FILE"
    )]
    MissingCovariate {
        series: String,
        date: chrono::NaiveDate,
        column: String,
        target: String,
    },
    #[error("no series of the backtest to forecast")]
    NoSeries,
}

/// The future fold of `prepared`, `horizon` periods past its last date.
/// The `[features] future` covariates of the forecast dates come from each
/// series' future rows (the data's rows past its last target); a missing
/// one is an error naming the series, date and column. Rows past the
/// horizon are ignored.
pub fn future_fold(prepared: &Prepared, horizon: usize) -> Result<FutureFold, FutureError> {
    let last = prepared.panel.last_date().ok_or(FutureError::NoSeries)?;
    if prepared.backtest.series.is_empty() {
        return Err(FutureError::NoSeries);
    }
    let frequency = prepared.panel.frequency;
    let mut extended = prepared.clone();
    let panel = &mut extended.panel;
    let known: Vec<usize> = prepared
        .features
        .future
        .iter()
        .filter_map(|name| panel.covariate_index(name))
        .collect();
    let target = prepared.experiment.document.data.target.clone().unwrap_or_default();
    let mut windows = Vec::with_capacity(prepared.backtest.series.len());
    for &i in &prepared.backtest.series {
        let s = &mut panel.series[i];
        let cutoff = s.len() - 1;
        let dates: Vec<chrono::NaiveDate> = (1..=horizon).map(|h| frequency.advance(last, h)).collect();
        for (k, column) in s.covariates.iter_mut().enumerate() {
            let given = s.future.covariates.get(k);
            // A `[data] static` column is known: the series' own value.
            let fixed = prepared
                .panel
                .static_covariates
                .contains(&prepared.panel.covariate_names[k]);
            let constant = column.last().copied().filter(|_| fixed);
            for (j, date) in dates.iter().enumerate() {
                let value = given
                    .filter(|_| s.future.dates.get(j) == Some(date))
                    .and_then(|values| values.get(j).copied())
                    .filter(|v| v.is_finite())
                    .or(constant);
                match value {
                    Some(v) => column.push(v),
                    None if known.contains(&k) => {
                        return Err(FutureError::MissingCovariate {
                            series: s.id.clone(),
                            date: *date,
                            column: data_column(prepared, &prepared.panel.covariate_names[k]).to_string(),
                            target,
                        });
                    }
                    // Past-only covariates: models never read their future.
                    None => column.push(f64::NAN),
                }
            }
        }
        s.dates.extend(&dates);
        s.target.extend(std::iter::repeat_n(f64::NAN, horizon));
        windows.push(Window::at(&prepared.experiment, i, cutoff, horizon));
    }
    Ok(FutureFold {
        prepared: extended,
        fold: Fold {
            index: prepared.backtest.folds.len(),
            cutoff: last,
            test_start: frequency.advance(last, 1),
            test_end: frequency.advance(last, horizon),
        },
        windows,
        horizon,
    })
}

/// The data's column a model column comes from: an event's one-hot column
/// `event=value` comes from `event`; any other is its own.
fn data_column<'a>(prepared: &'a Prepared, model_column: &'a str) -> &'a str {
    prepared
        .experiment
        .document
        .data
        .events
        .iter()
        .find(|e| {
            model_column
                .strip_prefix(e.as_str())
                .is_some_and(|rest| rest.starts_with('='))
        })
        .map_or(model_column, String::as_str)
}

/// Takes the known-in-advance covariates of the `horizon` periods after the
/// data's last date from `values` (`--future FILE`), over what the data's
/// own future rows give; dates past the horizon are ignored.
pub fn use_future_values(prepared: &mut Prepared, values: &trendlab_data::FutureValues, horizon: usize) {
    let Some(last) = prepared.panel.last_date() else {
        return;
    };
    let frequency = prepared.panel.frequency;
    let dates: Vec<chrono::NaiveDate> = (1..=horizon).map(|h| frequency.advance(last, h)).collect();
    // The file holds the `[data] covariates` (the first columns) and the
    // events' model columns (NaN where it lacks them: the data's own
    // future rows give them); static columns are constant.
    let constant: Vec<bool> = (prepared.panel.covariate_names.iter())
        .map(|name| prepared.panel.static_covariates.contains(name))
        .collect();
    for s in &mut prepared.panel.series {
        let Some(given) = values.get(&s.id) else {
            continue;
        };
        let own = std::mem::take(&mut s.future);
        let covariates = (0..s.covariates.len())
            .map(|k| {
                dates
                    .iter()
                    .map(|date| {
                        let from_file = given
                            .get(date)
                            .and_then(|row| row.get(k).copied())
                            .filter(|v| v.is_finite());
                        let from_data = own.dates.iter().position(|d| d == date).map(|j| own.covariates[k][j]);
                        let fixed = constant[k].then(|| s.covariates[k].last().copied()).flatten();
                        from_file.or(from_data).or(fixed).unwrap_or(f64::NAN)
                    })
                    .collect()
            })
            .collect();
        s.future = trendlab_data::FutureRows {
            dates: dates.clone(),
            covariates,
        };
    }
}

/// What to forecast the future fold with.
#[derive(Clone, Copy)]
pub struct FutureRequest<'a> {
    /// The configuration, as refit (a family that stops early: for a fixed
    /// number of epochs, see `FamilySpec::fix_epochs`).
    pub config: &'a ModelConfig,
    /// Interval levels wanted from families with their own intervals.
    pub levels: &'a [f64],
    /// Per-series choices to reuse (an ARIMA order search's last fold).
    pub choices: Option<&'a Choices>,
    /// An ensemble's members ([`future_members`]).
    pub members: Option<&'a MemberForecasts>,
    /// A saved fit to forecast from instead of fitting (`forecast --from`).
    pub fitted: Option<&'a trendlab_models::FittedState>,
    /// Where the family may save files (checkpoints) and the shared cache.
    pub artifacts: Option<&'a Path>,
    pub cache: Option<&'a Path>,
    pub observer: &'a dyn FitObserver,
}

impl<'a> FutureRequest<'a> {
    /// `config` refit without intervals, reused choices, members, files or
    /// anybody listening.
    pub fn new(config: &'a ModelConfig) -> FutureRequest<'a> {
        FutureRequest {
            config,
            levels: &[],
            choices: None,
            members: None,
            fitted: None,
            artifacts: None,
            cache: None,
            observer: &(),
        }
    }
}

/// What ensemble run `last` (a configuration's last backtest fold) reads,
/// for the future fold: the selection window that fold learned its weights
/// from (so the weights are its), and as the forecasts to combine, each
/// candidate's refit forecasts past the data (`current`: by candidate
/// label, per window of `fold`; a candidate missing there or a series it
/// could not forecast is `None`).
pub fn future_members(
    prepared: &Prepared,
    plan: &trendlab_results::plan::Plan,
    store: &trendlab_results::store::RunStore,
    last: &trendlab_results::plan::PlannedRun,
    fold: &FutureFold,
    current: &ForecastsByLabel,
) -> Result<MemberForecasts, String> {
    let mut members = crate::members::gather(prepared, plan, last, store, &fold.windows)?;
    members.set_current(current, fold.windows.len());
    Ok(members)
}

/// One outcome per window of `fold`, in its order: the forecasts (the
/// fallback's where the model failed on the series), or why that series
/// failed; `Err` when the whole fold failed.
pub fn forecast_future(fold: &FutureFold, request: FutureRequest<'_>) -> Result<Vec<SeriesResult>, String> {
    let mut input = fold_input(&fold.prepared, &fold.windows, request.choices);
    input.horizon = fold.horizon;
    input.levels = request.levels;
    input.observer = request.observer;
    input.context.files.artifacts = request.artifacts;
    input.context.files.cache = request.cache;
    input.context.members = request.members;
    input.context.fitted = request.fitted;
    let hierarchy = crate::execute::hierarchy(&fold.prepared, &fold.windows, request.config);
    forecast(&input, request.config, fold.prepared.panel.nonnegative, hierarchy)
}
