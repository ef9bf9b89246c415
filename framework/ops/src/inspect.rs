//! Operations that look at specs without running anything: `validate`
//! (is each spec and its data valid, and what does it expand to) and
//! `plan` (the folds, configurations and runs, for people or as JSON).

use crate::error::{Error, ExitStatus, Outcome};
use crate::experiment::Workspace;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// What a valid spec expands to.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    pub configurations: usize,
    pub folds: usize,
    /// Runs scored on the leaderboard.
    pub backtest_runs: usize,
    /// Ensemble members refitted at validation origins.
    pub validation_runs: usize,
    pub series: usize,
    /// Series left out of the backtest, with the reason.
    pub skipped: Vec<(String, String)>,
}

/// `validate SPEC...`: each spec with what it expands to, or its errors.
#[derive(Debug)]
pub struct ValidateOutcome {
    pub specs: Vec<(PathBuf, Result<Validated, Error>)>,
}

impl Outcome for ValidateOutcome {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::success_if(self.specs.iter().all(|(_, r)| r.is_ok()), ExitStatus::Invalid)
    }
}

/// Checks every spec and its data.
pub fn validate(specs: &[PathBuf]) -> ValidateOutcome {
    let specs = specs
        .iter()
        .map(|spec| {
            let checked = Workspace::open(spec, Path::new(".")).map(|w| {
                let validation_runs = w.plan.runs.len() - w.backtest_runs();
                Validated {
                    configurations: w.plan.configs.len(),
                    folds: w.plan.folds.len(),
                    backtest_runs: w.backtest_runs(),
                    validation_runs,
                    series: w.prepared.backtest.series.len(),
                    skipped: w.skipped_series().to_vec(),
                }
            });
            (spec.clone(), checked)
        })
        .collect();
    ValidateOutcome { specs }
}

/// `plan SPEC`: the opened experiment, for the binary to print.
#[derive(Debug)]
pub struct PlanOutcome {
    pub workspace: Workspace,
}

impl Outcome for PlanOutcome {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::Success
    }
}

/// `trendlab plan SPEC`: the runs an opened spec expands to.
pub fn plan(workspace: Workspace) -> PlanOutcome {
    PlanOutcome { workspace }
}

/// One model entry of the plan: its configurations and their runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSummary {
    pub name: String,
    pub family: &'static str,
    pub configurations: usize,
    /// Backtest and validation runs.
    pub runs: usize,
    /// `alpha x3, strategy x2`.
    pub grid: String,
}

impl PlanOutcome {
    /// The plan as JSON (`plan --json`): folds, every configuration with
    /// its family's capabilities, parameters and run ids.
    pub fn json(&self) -> Value {
        let w = &self.workspace;
        let plan = &w.plan;
        json!({
            "experiment": plan.experiment,
            "spec_hash": w.prepared.experiment.spec_hash,
            "data_fingerprint": w.prepared.panel.fingerprint,
            "series": w.prepared.backtest.series.len(),
            "skipped_series": w.prepared.backtest.skipped,
            "folds": plan.folds,
            "validation_folds": plan.validation_folds,
            "configs": plan.configs.iter().enumerate().map(|(c, config)| json!({
                "model": config.model, "label": config.label(), "family": config.family.name(),
                "capabilities": config.family.capabilities(),
                "params": config.params(),
                "runs": plan.runs_of(c).map(|r| json!({"id": r.id, "fold": r.fold, "reads": r.reads})).collect::<Vec<_>>(),
                "validation_runs": plan.validation_runs_of(c).map(|r| json!({"id": r.id, "origin": r.fold})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "total_runs": plan.runs.len(),
        })
    }

    /// One summary per `[[models]]` entry, in spec order.
    pub fn models(&self) -> Vec<ModelSummary> {
        let w = &self.workspace;
        let plan = &w.plan;
        w.prepared
            .experiment
            .models
            .iter()
            .map(|m| {
                let configs: Vec<_> = plan
                    .configs
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.model_index == m.index)
                    .collect();
                let runs = configs
                    .iter()
                    .map(|(c, _)| plan.runs_of(*c).count() + plan.validation_runs_of(*c).count())
                    .sum();
                let grid = m
                    .grid
                    .iter()
                    .map(|(k, v)| format!("{k} x{}", v.len()))
                    .collect::<Vec<_>>()
                    .join(", ");
                ModelSummary {
                    name: m.name.clone(),
                    family: configs.first().map_or("", |(_, c)| c.family.name()),
                    configurations: configs.len(),
                    runs,
                    grid,
                }
            })
            .collect()
    }
}
