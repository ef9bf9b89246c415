//! `trendlab forecast SPEC`: the chosen configuration (the leaderboard's
//! top one, or `--model` / `--config`) refit on every series' whole
//! history and forecast `--horizon` periods past the data's last date, with
//! intervals for every family, written under
//! `forecasts/<experiment>/<data fingerprint>/`.
//!
//! The refit is the backtest's own code path (`trendlab_engine::future`):
//! each family fits as in its backtest, with nothing the backtest did not
//! have. An ARIMA order search runs again on the full data, unless
//! `reuse_order`, which takes the orders of the last fold; a family that
//! stops early trains for the epochs early stopping chose on the last fold;
//! an ensemble refits its members so and combines them with the weights its
//! last fold learned (`refit`).
//! Families without intervals of their own get conformal intervals from
//! the stored backtest errors (`trendlab_results::conformal`).

mod choose;
mod from;
mod output;
mod refit;

pub use choose::Choice;
pub use trendlab_results::forecasts::ForecastFile;

use crate::error::{Error, ExitStatus, Outcome};
use crate::experiment::Workspace;
use crate::tracking;
use choose::Chosen;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use trendlab_engine::fallback::SeriesResult;
use trendlab_engine::future::{FutureFold, future_fold, use_future_values};
use trendlab_models::{Interval, SeriesForecast};
use trendlab_results::conformal::{self, IntervalMethod, SeriesErrors};
use trendlab_results::forecasts::forecast_dir;
use trendlab_results::saved_model::{MODEL_FORMAT, SavedModel};
use trendlab_results::store::{SeriesFailure, SeriesFallback};
use trendlab_spec::{Fallback, Intervals};

/// What `forecast` forecasts and where it writes.
#[derive(Debug, Clone, Copy)]
pub struct ForecastOptions<'a> {
    pub choice: Choice<'a>,
    /// Periods past the data's last date; default `evaluation.horizon`.
    pub horizon: Option<usize>,
    /// Interval levels (percent); default `evaluation.levels`.
    pub levels: Option<&'a [f64]>,
    /// Known-in-advance covariates of the forecast dates (`--future FILE`,
    /// the data's columns), over the data's own rows past its last target.
    pub future: Option<&'a Path>,
    /// `--tracking-uri` (else `MLFLOW_TRACKING_URI`, else the spec's): the
    /// forecast is logged there as a run of kind `forecast`.
    pub tracking_uri: Option<&'a str>,
    /// Worker threads the series are spread over (`--jobs`; the forecasts
    /// do not depend on it); default: one per core.
    pub jobs: Option<usize>,
    /// A saved model (`--from MODEL_DIR`): forecast from it without fitting,
    /// on the same data or newer.
    pub from: Option<&'a Path>,
}

/// What `forecast` wrote.
#[derive(Debug)]
pub struct ForecastOutcome {
    /// `forecasts/<experiment>/<data fingerprint>/`.
    pub dir: PathBuf,
    /// The report, rendered again with the forecast.
    pub report_dir: PathBuf,
    /// With a tracking server: the MLflow run's address, or why the
    /// forecast is not there (it is written locally either way).
    pub mirrored: Option<Result<String, String>>,
    pub file: ForecastFile,
    /// With `--from`: the saved model forecast from.
    pub from: Option<from::Provenance>,
}

impl Outcome for ForecastOutcome {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::success_if(self.file.failures.is_empty(), ExitStatus::Failed)
    }
}

/// Refits the chosen configuration and forecasts past the data, into
/// `forecasts/` beside the workspace's run store.
pub fn forecast(w: &mut Workspace, options: ForecastOptions<'_>) -> Result<ForecastOutcome, Error> {
    match options.jobs {
        None => forecast_here(w, options),
        Some(jobs) => rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .build()
            .map_err(|e| Error::failed(format!("starting {jobs} worker threads"), e))?
            .install(|| forecast_here(w, options)),
    }
}

/// [`forecast`] on the current rayon pool.
fn forecast_here(w: &mut Workspace, options: ForecastOptions<'_>) -> Result<ForecastOutcome, Error> {
    let saved = match options.from {
        Some(dir) => Some(from::read(w, dir, &options)?),
        None => None,
    };
    let evaluation = w.prepared.experiment.evaluation();
    let horizon = match &saved {
        Some(model) => model.horizon,
        None => options.horizon.unwrap_or(evaluation.horizon),
    };
    if horizon == 0 {
        return Err(Error::Invalid("--horizon 0: forecast at least one period".into()));
    }
    if horizon > trendlab_spec::MAX_PERIODS {
        return Err(Error::Invalid(format!(
            "--horizon {horizon}: at most {} periods past the data (the most any backtest may span)",
            trendlab_spec::MAX_PERIODS
        )));
    }
    let levels: Vec<f64> = match &saved {
        Some(model) => model.levels.clone(),
        None => options
            .levels
            .map_or_else(|| evaluation.levels.clone(), <[f64]>::to_vec),
    };
    if let Some(bad) = levels.iter().find(|l| !(**l > 0.0 && **l < 100.0)) {
        return Err(Error::Invalid(format!(
            "--levels {bad}: interval levels are percentages between 0 and 100 (exclusive)"
        )));
    }
    if let Some(twice) = levels.iter().enumerate().find(|(i, l)| levels[..*i].contains(l)) {
        return Err(Error::Invalid(format!("--levels: {} is given twice", twice.1)));
    }
    let chosen = match &saved {
        Some(_) => None,
        None => Some(choose::choose(w, options.choice)?),
    };
    if let Some(file) = options.future {
        if w.prepared.experiment.document.data.aggregate.is_some() {
            return Err(Error::Invalid(format!(
                "--future {}: the data of {} is a transaction log, which has no covariates to give",
                file.display(),
                w.spec.display()
            )));
        }
        let values = trendlab_data::read_future(&w.prepared.experiment, file, &w.prepared.panel.event_covariates)
            .map_err(|e| Error::Invalid(format!("{e}\n  (--future file of {})", w.spec.display())))?;
        use_future_values(&mut w.prepared, &values, horizon);
    }
    let fold = future_fold(&w.prepared, horizon).map_err(|e| Error::Invalid(e.to_string()))?;
    let dir = forecast_dir(&w.out, &w.plan.experiment, &w.prepared.panel.fingerprint);
    let (file, model) = match (&saved, &chosen) {
        (Some(model), _) => {
            let dir = options.from.expect("a saved model comes from --from");
            (from::forecast(w, model, dir, &fold)?, None)
        }
        (None, Some(chosen)) => {
            let staging = dir.join(format!(".model-{}.tmp", std::process::id()));
            let (file, model) = fit_and_forecast(w, chosen, &fold, &levels, &staging)?;
            (file, Some((model, staging)))
        }
        (None, None) => unreachable!("a forecast either refits or reads a saved model"),
    };
    file.write(&dir)
        .map_err(|e| Error::failed(format!("writing the forecast to {}", dir.display()), e))?;
    if let Some((model, staging)) = model {
        save_model(&model, &staging, &dir.join("model"))?;
    }
    // The report shows it (Forecast section, explorer) from now on.
    // The leaderboard `choose` built, or (from a saved model) the store's.
    let board = match chosen {
        Some(chosen) => chosen.leaderboard,
        None => {
            trendlab_results::Leaderboard::assemble(&w.prepared, &w.plan, trendlab_results::Source::Store(&w.store))?
        }
    };
    let report_dir = crate::execution::write_reports(w, &w.store, &board, None, None)?;
    let mirrored = tracking::tracking_uri(options.tracking_uri, &w.prepared).map(|uri| {
        let tags = tracking::parent_tags(&w.prepared, "forecast");
        let model_dir = dir.join("model");
        let model_dir = (options.from.is_none() && model_dir.is_dir()).then_some(model_dir.as_path());
        trendlab_tracking::forecast::log_forecast(&tracking::client(&uri), &w.plan.experiment, &file, model_dir, tags)
            .map(|run| {
                format!(
                    "{}/#/experiments/{}/runs/{}",
                    uri.trim_end_matches('/'),
                    run.experiment_id,
                    run.run_id
                )
            })
            .map_err(|e| e.to_string())
    });
    Ok(ForecastOutcome {
        dir,
        report_dir,
        file,
        mirrored,
        from: saved.map(|model| from::Provenance::of(&model, w, options.from.expect("read from --from"))),
    })
}

/// Refits the chosen configuration on `fold` (its files staged in
/// `staging`) and forecasts, with intervals; returns the forecast and the
/// model to save.
fn fit_and_forecast(
    w: &Workspace,
    chosen: &Chosen,
    fold: &FutureFold,
    levels: &[f64],
    staging: &Path,
) -> Result<(ForecastFile, SavedModel), Error> {
    let config = &w.plan.configs[chosen.config];
    let refit::Refitted { outcomes, note, fit } = refit::refit(
        w,
        chosen.config,
        fold,
        levels,
        refit::Source::Fit { model_dir: staging },
    )
    .inspect_err(|_| drop(std::fs::remove_dir_all(staging)))?;
    let Split {
        mut forecasts,
        failures,
        fallbacks,
    } = split(fold, config.fallback, outcomes);
    if forecasts.is_empty() {
        let _ = std::fs::remove_dir_all(staging);
        let first = failures.first().map_or("", |f| f.reason.as_str());
        return Err(Error::Failed(format!(
            "`{}` could not forecast any of the {} series; the first: {first}",
            chosen.row.label,
            failures.len()
        )));
    }
    let own = config.family.capabilities().intervals;
    let mut interval_note = None;
    let mut widths = BTreeMap::new();
    let method = if levels.is_empty() {
        IntervalMethod::None
    } else if own != Intervals::None && forecasts.iter().all(|(_, f)| !f.intervals.is_empty()) {
        match own {
            Intervals::Combined => IntervalMethod::Combined,
            Intervals::Own | Intervals::None => IntervalMethod::Own,
        }
    } else {
        let errors = backtest_errors(w, chosen, fold)?;
        let conformal = conformal::intervals(&errors, fold.horizon, levels);
        let backtest_horizon = w.prepared.experiment.evaluation().horizon;
        if fold.horizon > backtest_horizon {
            interval_note = Some(format!(
                "steps past the backtest's horizon ({backtest_horizon}) take the errors of its last step"
            ));
        }
        widths = conformal.half_widths;
        conformal.method
    };
    finish_intervals(w, &mut forecasts, levels, &widths);
    let file = output::forecast_file(
        w,
        chosen,
        fold,
        output::Refit {
            forecasts,
            failures,
            fallbacks,
            levels: levels.to_vec(),
            intervals: method.clone(),
            interval_note: interval_note.clone(),
            note,
        },
    );
    let model = SavedModel {
        format: MODEL_FORMAT,
        experiment: w.plan.experiment.clone(),
        spec_hash: w.prepared.experiment.spec_hash.clone(),
        data_fingerprint: w.prepared.panel.fingerprint.clone(),
        horizon: fold.horizon,
        levels: levels.to_vec(),
        intervals: method,
        interval_note,
        conformal: widths,
        series: file.forecasts.iter().map(|(id, ..)| id.clone()).collect(),
        forecast: file.clone(),
        fit,
        checksum: None,
    };
    Ok((file, model))
}

/// Conformal bounds from `widths` (per series `[level][step]`; none for
/// intervals of the model's own), then everything clipped at zero for a
/// target that is never negative.
fn finish_intervals(
    w: &Workspace,
    forecasts: &mut [(String, SeriesForecast)],
    levels: &[f64],
    widths: &BTreeMap<String, Vec<Vec<f64>>>,
) {
    for (id, f) in forecasts.iter_mut() {
        if let Some(widths) = widths.get(id.as_str()) {
            f.intervals = levels
                .iter()
                .zip(widths)
                .map(|(&level, half)| Interval {
                    level,
                    lower: f.mean.iter().zip(half).map(|(m, h)| m - h).collect(),
                    upper: f.mean.iter().zip(half).map(|(m, h)| m + h).collect(),
                })
                .collect();
        }
    }
    if w.prepared.panel.nonnegative {
        // The conformal bounds (the model's own were clipped with its forecasts).
        forecasts.iter_mut().for_each(|(_, f)| f.clip_at_zero());
    }
}

/// Moves the staged model (`model.json` written there) to `model_dir`,
/// replacing an earlier one.
fn save_model(model: &SavedModel, staging: &Path, model_dir: &Path) -> Result<(), Error> {
    let failed = |e: &dyn std::fmt::Display| Error::failed(format!("saving the model in {}", model_dir.display()), e);
    model.write(staging).map_err(|e| failed(&e))?;
    if model_dir.exists() {
        std::fs::remove_dir_all(model_dir).map_err(|e| failed(&e))?;
    }
    std::fs::rename(staging, model_dir).map_err(|e| failed(&e))
}

/// A refit's outcomes by series id (fold order).
struct Split {
    forecasts: Vec<(String, SeriesForecast)>,
    /// Series without a forecast.
    failures: Vec<SeriesFailure>,
    /// Series the fallback forecast.
    fallbacks: Vec<SeriesFallback>,
}

fn split(fold: &FutureFold, fallback: Fallback, outcomes: Vec<SeriesResult>) -> Split {
    let mut split = Split {
        forecasts: Vec::new(),
        failures: Vec::new(),
        fallbacks: Vec::new(),
    };
    for (window, outcome) in fold.windows.iter().zip(outcomes) {
        let series = fold.prepared.panel.series[window.series].id.clone();
        if let Some(reason) = outcome.fell_back {
            split.fallbacks.push(SeriesFallback {
                series: series.clone(),
                fallback,
                reason,
            });
        }
        match outcome.forecast {
            Ok(f) => split.forecasts.push((series, f)),
            Err(reason) => split.failures.push(SeriesFailure { series, reason }),
        }
    }
    split
}

/// The chosen configuration's backtest errors per series and step, with
/// each series' scale (of its whole history).
fn backtest_errors(w: &Workspace, chosen: &Chosen, fold: &FutureFold) -> Result<BTreeMap<String, SeriesErrors>, Error> {
    let mut errors: BTreeMap<String, SeriesErrors> = fold
        .windows
        .iter()
        .map(|window| {
            let s = &w.prepared.panel.series[window.series];
            (
                s.id.clone(),
                SeriesErrors {
                    by_step: Vec::new(),
                    scale: conformal::scale(&s.target),
                },
            )
        })
        .collect();
    for record in &chosen.folds {
        let table = w
            .store
            .forecasts(&record.run_id)
            .map_err(|e| Error::failed("reading the run store", e))?;
        for row in &table.rows {
            if let Some(e) = errors.get_mut(&row.series_id) {
                if e.by_step.len() < row.step {
                    e.by_step.resize(row.step, Vec::new());
                }
                e.by_step[row.step - 1].push(row.actual - row.forecast);
            }
        }
    }
    Ok(errors)
}
