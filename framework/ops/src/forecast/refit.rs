//! Refitting one configuration on the future fold the way its backtest fit
//! it, and saving the fit: a family that stops early trains for the epochs
//! early stopping chose on the last fold; an ARIMA order search reuses the
//! last fold's orders when configured to (`reuse_order`); an ensemble
//! refits each of its members so, and combines their forecasts with the
//! weights it learns from the selection window its last fold learned from.
//! Or, with a saved fit (`--from`), forecasting from it without fitting.

use crate::error::Error;
use crate::experiment::Workspace;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use trendlab_engine::fallback::SeriesResult;
use trendlab_engine::future::{FutureFold, FutureRequest, forecast_future, future_members};
use trendlab_models::ensemble::MemberForecasts;
use trendlab_models::{FitObserver, FittedState};
use trendlab_results::saved_model::{SavedFit, SavedModel, SavedSelection};
use trendlab_results::{RunRecord, RunStatus};

/// One configuration's forecasts past the data, per window of the fold,
/// and its fit.
pub(super) struct Refitted {
    pub outcomes: Vec<SeriesResult>,
    /// How the refit differs from a backtest fold's fit, if it does.
    pub note: Option<String>,
    pub fit: SavedFit,
}

/// Fit now, or forecast from a saved fit; files go to (or come from)
/// `model_dir/<config id>/`.
#[derive(Clone, Copy)]
pub(super) enum Source<'a> {
    Fit { model_dir: &'a Path },
    Saved { fit: &'a SavedFit, model_dir: &'a Path },
}

/// Keeps the fit a family reports.
#[derive(Default)]
struct Collect(Mutex<Option<FittedState>>);

impl FitObserver for Collect {
    fn fitted(&self, state: FittedState) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(state);
    }
}

/// Configuration `c`'s run of the last backtest fold.
fn last_backtest_run(w: &Workspace, c: usize) -> Result<&trendlab_results::PlannedRun, Error> {
    w.plan
        .runs_of(c)
        .filter(|r| r.role.is_backtest())
        .max_by_key(|r| r.fold)
        .ok_or_else(|| Error::Failed(format!("`{}` has no backtest runs", w.plan.configs[c].label())))
}

/// The record of configuration `c`'s last backtest fold.
pub(super) fn last_fold(w: &Workspace, c: usize) -> Result<RunRecord, Error> {
    let label = w.plan.configs[c].label();
    let run = last_backtest_run(w, c)?;
    w.store
        .record(&run.id)
        .map_err(|e| Error::failed("reading the run store", e))?
        .filter(|r| r.status == RunStatus::Finished)
        .ok_or_else(|| {
            Error::Failed(format!(
                "`{label}` did not finish its last backtest fold (run {}): run `trendlab run {}` first",
                run.id,
                w.spec.display()
            ))
        })
}

/// Refits configuration `c` (or forecasts from its saved fit) on `fold`
/// with intervals at `levels`.
pub(super) fn refit(
    w: &Workspace,
    c: usize,
    fold: &FutureFold,
    levels: &[f64],
    source: Source<'_>,
) -> Result<Refitted, Error> {
    let config = &w.plan.configs[c];
    let label = config.label();
    let config_id = w.plan.config_id(c);
    let mut refit_config = config.clone();
    let mut note = None;
    let (saved, model_dir) = match source {
        Source::Fit { model_dir } => (None, model_dir),
        Source::Saved { fit, model_dir } => (Some(fit), model_dir),
    };
    let mut choices = None;
    if saved.is_none() {
        let last = last_fold(w, c)?;
        if let Some(best) = last.training.as_ref().map(|t| t.best_epoch)
            && refit_config.family.fix_epochs(best)
        {
            note = Some(format!(
                "trained {best} epochs on every window (the epochs early stopping chose on the last backtest fold)"
            ));
        }
        choices = config.family.reuses_first_fold().then(|| last.chosen.clone());
    }
    let mut fit = SavedFit {
        config: label.clone(),
        config_id: config_id.clone(),
        family: config.family.name().to_string(),
        state: None,
        members: Vec::new(),
        selection: None,
    };
    let members = match config.family.ensemble() {
        None => None,
        Some(_) => Some(ensemble_members(w, c, fold, levels, source, &mut fit, &mut note)?),
    };
    let fitted = match saved {
        Some(saved) if config.family.capabilities().saves_fit && members.is_none() => {
            Some(saved.state.as_ref().ok_or_else(|| {
                Error::Invalid(format!(
                    "the saved model in {} holds no fit of `{label}` (forecasting from a saved {} is not available yet): run `trendlab forecast` without --from",
                    model_dir.display(),
                    config.family.name()
                ))
            })?)
        }
        _ => None,
    };
    let files = SavedModel::files_of(model_dir, &label);
    let collect = Collect::default();
    let outcomes = forecast_future(
        fold,
        FutureRequest {
            levels,
            choices: choices.as_ref(),
            members: members.as_ref(),
            fitted,
            artifacts: Some(&files),
            cache: Some(&w.store.cache_dir()),
            observer: &collect,
            ..FutureRequest::new(&refit_config)
        },
    )
    .map_err(|reason| Error::Failed(format!("`{label}` could not forecast: {reason}")))?;
    fit.state = match saved {
        Some(saved) => saved.state.clone(),
        None => collect
            .0
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    };
    Ok(Refitted { outcomes, note, fit })
}

/// What ensemble `c` combines on `fold`: each candidate refit (or forecast
/// from its saved fit), and the selection window of its last backtest fold
/// (or the saved one), which `fit` records.
fn ensemble_members(
    w: &Workspace,
    c: usize,
    fold: &FutureFold,
    levels: &[f64],
    source: Source<'_>,
    fit: &mut SavedFit,
    note: &mut Option<String>,
) -> Result<MemberForecasts, Error> {
    let label = w.plan.configs[c].label();
    let mut current = HashMap::new();
    let mut notes = Vec::new();
    for m in w.plan.candidates(c) {
        let member_source = match source {
            Source::Fit { .. } => source,
            Source::Saved { fit: saved, model_dir } => {
                let member_label = w.plan.configs[m].label();
                let member = saved.members.iter().find(|f| f.config == member_label).ok_or_else(|| {
                    Error::Invalid(format!(
                        "the saved model in {} holds no fit of `{}`, a member of `{label}`",
                        model_dir.display(),
                        w.plan.configs[m].label()
                    ))
                })?;
                Source::Saved { fit: member, model_dir }
            }
        };
        let member = refit(w, m, fold, levels, member_source)?;
        if let Some(n) = member.note {
            notes.push(format!("{}: {n}", w.plan.configs[m].label()));
        }
        current.insert(
            w.plan.configs[m].label(),
            member.outcomes.into_iter().map(|r| r.forecast.ok()).collect::<Vec<_>>(),
        );
        fit.members.push(member.fit);
    }
    *note = (!notes.is_empty()).then(|| format!("members refit; {}", notes.join("; ")));
    let series_id = |i: usize| w.prepared.panel.series[fold.windows[i].series].id.clone();
    let members = match source {
        Source::Fit { .. } => {
            let run = last_backtest_run(w, c)?;
            future_members(&w.prepared, &w.plan, &w.store, run, fold, &current)
                .map_err(|reason| Error::Failed(format!("`{label}` could not read its members: {reason}")))?
        }
        Source::Saved { fit: saved, model_dir } => {
            let selection = saved.selection.as_ref().ok_or_else(|| {
                Error::Invalid(format!(
                    "the saved model in {} lacks the selection window of `{label}`",
                    model_dir.display()
                ))
            })?;
            let index: HashMap<String, usize> = (0..fold.windows.len()).map(|i| (series_id(i), i)).collect();
            let e = w.prepared.experiment.evaluation();
            MemberForecasts::from_saved(
                selection.candidates.clone(),
                &selection.history,
                selection.dropped.clone(),
                &current,
                fold.windows.len(),
                |id| index.get(id).copied(),
                (w.prepared.experiment.rank_by().metric, e.season),
            )
        }
    };
    fit.selection = Some(SavedSelection {
        candidates: members.candidates.clone(),
        history: members.history_by_id(series_id),
        dropped: members.dropped.clone(),
    });
    Ok(members)
}
