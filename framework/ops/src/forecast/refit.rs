//! Refitting one configuration on the future fold the way its backtest fit
//! it: a family that stops early trains for the epochs early stopping
//! chose on the last fold; an ARIMA order search reuses the last fold's
//! orders when configured to (`reuse_order`); an ensemble refits each of
//! its members so, and combines their forecasts with the weights it learns
//! from the selection window its last fold learned from.

use crate::error::Error;
use crate::experiment::Workspace;
use std::collections::HashMap;
use trendlab_engine::future::{FutureFold, FutureRequest, forecast_future, future_members};
use trendlab_engine::{RunRecord, RunStatus};
use trendlab_models::SeriesForecast;

/// One configuration's forecasts past the data, per window of the fold.
pub(super) struct Refitted {
    pub outcomes: Vec<Result<SeriesForecast, String>>,
    /// How the refit differs from a backtest fold's fit, if it does.
    pub note: Option<String>,
}

/// The record of configuration `c`'s last backtest fold.
pub(super) fn last_fold(w: &Workspace, c: usize) -> Result<RunRecord, Error> {
    let label = w.plan.configs[c].label();
    let run = w
        .plan
        .runs_of(c)
        .filter(|r| r.role.is_backtest())
        .max_by_key(|r| r.fold)
        .ok_or_else(|| Error::Failed(format!("`{label}` has no backtest runs")))?;
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

/// Refits configuration `c` and forecasts `fold` with intervals at `levels`.
pub(super) fn refit(w: &Workspace, c: usize, fold: &FutureFold, levels: &[f64]) -> Result<Refitted, Error> {
    let config = &w.plan.configs[c];
    let label = config.label();
    let last = last_fold(w, c)?;
    let mut refit_config = config.clone();
    let mut note = None;
    if let Some(best) = last.training.as_ref().map(|t| t.best_epoch) {
        if refit_config.family.fix_epochs(best) {
            note = Some(format!(
                "trained {best} epochs on every window (the epochs early stopping chose on the last backtest fold)"
            ));
        }
    }
    let choices = config.family.reuses_first_fold().then(|| last.chosen.clone());
    let members = match config.family.ensemble() {
        None => None,
        Some(_) => {
            let mut current = HashMap::new();
            let mut notes = Vec::new();
            for m in w.plan.candidates(c) {
                let member = refit(w, m, fold, levels)?;
                if let Some(n) = member.note {
                    notes.push(format!("{}: {n}", w.plan.configs[m].label()));
                }
                current.insert(
                    w.plan.configs[m].label(),
                    member.outcomes.into_iter().map(Result::ok).collect::<Vec<_>>(),
                );
            }
            note = (!notes.is_empty()).then(|| format!("members refit; {}", notes.join("; ")));
            let run = w
                .plan
                .runs_of(c)
                .filter(|r| r.role.is_backtest())
                .max_by_key(|r| r.fold)
                .expect("a configuration with a last fold has backtest runs");
            let members = future_members(&w.prepared, &w.plan, &w.store, run, fold, &current)
                .map_err(|reason| Error::Failed(format!("`{label}` could not read its members: {reason}")))?;
            Some(members)
        }
    };
    let outcomes = forecast_future(
        fold,
        FutureRequest {
            levels,
            choices: choices.as_ref(),
            members: members.as_ref(),
            cache: Some(&w.store.cache_dir()),
            ..FutureRequest::new(&refit_config)
        },
    )
    .map_err(|reason| Error::Failed(format!("`{label}` could not forecast: {reason}")))?;
    Ok(Refitted { outcomes, note })
}
