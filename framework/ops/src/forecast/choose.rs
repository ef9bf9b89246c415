//! Which configuration `forecast` refits: the leaderboard's top one, the
//! best of `--model NAME`, or `--config LABEL`, read from the run store;
//! and how its backtest ran (what the refit reuses).

use crate::error::Error;
use crate::experiment::Workspace;
use trendlab_results::leaderboard::{Leaderboard, LeaderboardRow};
use trendlab_results::{RunRecord, RunStatus};
use trendlab_spec::diagnostics::did_you_mean;

/// `--model` or `--config`, or neither (the top of the leaderboard).
#[derive(Debug, Clone, Copy, Default)]
pub enum Choice<'a> {
    #[default]
    Best,
    Model(&'a str),
    Config(&'a str),
}

/// The configuration chosen, with its leaderboard row and its backtest
/// runs' records (fold order).
#[derive(Debug)]
pub struct Chosen {
    pub config: usize,
    pub row: LeaderboardRow,
    pub leaderboard: Leaderboard,
    pub folds: Vec<RunRecord>,
}

pub fn choose(w: &Workspace, choice: Choice<'_>) -> Result<Chosen, Error> {
    let spec = w.spec.display();
    let stored = w
        .plan
        .runs
        .iter()
        .any(|r| r.role.is_backtest() && w.store.run_dir(&r.id).join("run.json").exists());
    if !stored {
        return Err(Error::Invalid(format!(
            "no backtest of {spec} is stored in {}: run `trendlab run {spec}` first (forecast refits the configuration its leaderboard ranks first)",
            w.store.dir().display()
        )));
    }
    let experiment = &w.prepared.experiment;
    let leaderboard =
        trendlab_results::Leaderboard::assemble(&w.prepared, &w.plan, trendlab_results::Source::Store(&w.store))?;
    let ranked = |row: &&LeaderboardRow| row.rank.is_some();
    let row = match choice {
        Choice::Best => leaderboard.rows.iter().find(ranked).ok_or_else(|| {
            Error::Invalid(format!(
                "no configuration of {spec} finished every backtest fold: nothing is ranked to forecast with (see `trendlab report {spec}`)"
            ))
        })?,
        Choice::Model(name) => {
            let of_model: Vec<&LeaderboardRow> = leaderboard.rows.iter().filter(|r| r.model == name).collect();
            if of_model.is_empty() {
                let names: Vec<&str> = experiment.models.iter().map(|m| m.name.as_str()).collect();
                return Err(Error::Invalid(format!(
                    "--model {name}: {spec} has no model `{name}`{} (its models: {})",
                    did_you_mean(name, names.iter().copied()),
                    names.join(", ")
                )));
            }
            of_model.into_iter().find(ranked).ok_or_else(|| {
                Error::Invalid(format!(
                    "--model {name}: no configuration of `{name}` finished every backtest fold (see `trendlab report {spec}`)"
                ))
            })?
        }
        Choice::Config(label) => {
            let row = leaderboard.rows.iter().find(|r| r.label == label).ok_or_else(|| {
                let labels: Vec<&str> = leaderboard.rows.iter().map(|r| r.label.as_str()).collect();
                Error::Invalid(format!(
                    "--config {label}: {spec} has no configuration `{label}`{} (`trendlab plan {spec}` lists them)",
                    did_you_mean(label, labels.iter().copied())
                ))
            })?;
            if row.rank.is_none() {
                return Err(Error::Invalid(format!(
                    "--config {label}: it finished {} of its {} backtest folds; forecast needs a configuration whose backtest finished (see `trendlab report {spec}`)",
                    row.folds_finished, row.folds
                )));
            }
            row
        }
    };
    let config = w
        .plan
        .configs
        .iter()
        .position(|c| c.label() == row.label)
        .expect("leaderboard rows are the plan's configurations");
    let mut folds = Vec::new();
    for run in w.plan.runs_of(config).filter(|r| r.role.is_backtest()) {
        let record = w
            .store
            .record(&run.id)
            .map_err(|e| Error::failed("reading the run store", e))?
            .filter(|r| r.status == RunStatus::Finished)
            .ok_or_else(|| {
                Error::Failed(format!(
                    "run {} of `{}` is not finished in the store",
                    run.id, row.label
                ))
            })?;
        folds.push(record);
    }
    folds.sort_by_key(|r| r.fold);
    Ok(Chosen {
        config,
        row: row.clone(),
        leaderboard: leaderboard.clone(),
        folds,
    })
}
