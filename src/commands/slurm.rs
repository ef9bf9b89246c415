//! `trendlab slurm submit|status|resubmit SPEC`.

use super::Stderr;
use crate::table;
use std::path::{Path, PathBuf};
use trendlab_cluster::Submission;
use trendlab_cluster::status::UnitState;
use trendlab_ops::{ExitStatus, Outcome};
use trendlab_ops::{Workspace, scale_out};

/// Run the work units as Slurm job arrays (submit, status, resubmit).
#[derive(clap::Subcommand)]
pub enum Command {
    /// Write the manifest and one sbatch array script per unit group, and submit them without waiting.
    #[command(
        after_help = "Files go to <out>/runs/<experiment>/slurm/ (plan.json, <group>.sbatch, logs/, submissions.json).\n\
                      Example: trendlab slurm submit experiments/quickstart.toml --partition cpu --cpus-per-task 4 --throttle 16"
    )]
    Submit {
        /// Experiment spec file (TOML).
        spec: PathBuf,
        #[command(flatten)]
        array: ArraySettings,
        /// Write the scripts and print the sbatch commands without submitting.
        #[arg(long)]
        dry_run: bool,
        /// Folder holding `runs/` (shared by the nodes).
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Done, failed, running and pending units, from the run store and squeue/sacct.
    #[command(after_help = "Exit code 1 when a unit failed.")]
    Status {
        /// Experiment spec file (TOML).
        spec: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Wait until no unit is pending or running.
        #[arg(long)]
        wait: bool,
        /// Folder holding `runs/`.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Submit again only the units that failed (a stored failure, or a task that ended without results).
    Resubmit {
        /// Experiment spec file (TOML).
        spec: PathBuf,
        /// Resubmit the failed units.
        #[arg(long, required = true)]
        failed: bool,
        /// At most K tasks of each array at once.
        #[arg(long, value_name = "K")]
        throttle: Option<u32>,
        /// Submit held: tasks wait for `scontrol release JOB`.
        #[arg(long)]
        hold: bool,
        /// Folder holding `runs/`.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
}

/// Resources of the Slurm arrays.
#[derive(clap::Args)]
pub struct ArraySettings {
    /// Slurm partition.
    #[arg(long)]
    partition: Option<String>,
    /// CPUs per task (the worker's threads).
    #[arg(long, default_value_t = 1)]
    cpus_per_task: u32,
    /// GPUs per task of the neural units (0: they run on CPUs).
    #[arg(long, default_value_t = 0)]
    gpus_per_task: u32,
    /// At most K tasks of each array at once.
    #[arg(long, value_name = "K")]
    throttle: Option<u32>,
    /// Wall-clock limit per task (sbatch --time), e.g. 1:00:00.
    #[arg(long)]
    time: Option<String>,
    /// Memory per task (sbatch --mem), e.g. 4G.
    #[arg(long)]
    mem: Option<String>,
    /// Submit held: tasks wait for `scontrol release JOB`.
    #[arg(long)]
    hold: bool,
}

impl ArraySettings {
    fn options(self) -> trendlab_cluster::slurm::ArrayOptions {
        trendlab_cluster::slurm::ArrayOptions {
            partition: self.partition,
            cpus_per_task: self.cpus_per_task,
            gpus_per_task: self.gpus_per_task,
            throttle: self.throttle,
            time: self.time,
            mem: self.mem,
            hold: self.hold,
        }
    }
}

pub fn exec(command: Command) -> anyhow::Result<ExitStatus> {
    match command {
        Command::Submit {
            spec,
            array,
            dry_run,
            out,
        } => {
            let workspace = Workspace::open_absolute(&spec, &out)?;
            let outcome = scale_out::submit(&workspace, &array.options(), dry_run, &Stderr)?;
            out!(
                "{}: {} work units of {} runs",
                outcome.manifest_path.display(),
                outcome.units,
                outcome.runs
            );
            for line in &outcome.dry_run {
                out!("would run: {line}");
            }
            if !dry_run {
                print_submitted(&outcome.submitted, &spec);
            }
            Ok(outcome.exit_status())
        }
        Command::Status { spec, json, wait, out } => status(&spec, &out, json, wait),
        Command::Resubmit {
            spec,
            failed: _,
            throttle,
            hold,
            out,
        } => {
            let workspace = Workspace::open_absolute(&spec, &out)?;
            let outcome = scale_out::resubmit(&workspace, throttle, hold)?;
            if outcome.submitted.is_empty() {
                out!(
                    "no failed units in experiment {}: nothing to resubmit",
                    outcome.experiment
                );
            } else {
                print_submitted(&outcome.submitted, &spec);
            }
            Ok(outcome.exit_status())
        }
    }
}

fn status(spec: &Path, out: &Path, json: bool, wait: bool) -> anyhow::Result<ExitStatus> {
    let outcome = scale_out::status(&Workspace::open_absolute(spec, out)?, wait)?;
    if let Some(stale) = &outcome.stale {
        eprintln!("warning: {stale}");
    }
    let counts = outcome.counts();
    if json {
        let value = serde_json::json!({
            "experiment": outcome.manifest.experiment,
            "counts": counts.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
            "units": outcome.states,
            "submissions": outcome.ledger.submissions,
        });
        out!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(outcome.exit_status());
    }
    let summary: Vec<String> = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    out!(
        "experiment {}: {} units — {}",
        outcome.manifest.experiment,
        outcome.states.len(),
        summary.join(", ")
    );
    let rows: Vec<Vec<String>> = outcome
        .states
        .iter()
        .zip(&outcome.logs)
        .filter(|(s, _)| !matches!(s.state, UnitState::Done))
        .map(|(s, log)| {
            let reason = match &s.state {
                UnitState::Failed(reason) => reason.clone(),
                UnitState::Done | UnitState::Running | UnitState::Pending | UnitState::NotSubmitted => String::new(),
            };
            vec![
                s.unit.to_string(),
                s.label.clone(),
                s.state.name().to_string(),
                s.task.clone().unwrap_or_default(),
                reason,
                log.as_ref().map(|l| l.display().to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        let header = ["unit", "label", "state", "task", "reason", "log"].map(String::from);
        out!("{}", table::render(&header, &rows, 6));
    }
    if outcome.any_failed() {
        out!(
            "rerun the failed units with: trendlab slurm resubmit {} --failed",
            spec.display()
        );
    }
    Ok(outcome.exit_status())
}

fn print_submitted(submitted: &[Submission], spec: &Path) {
    for s in submitted {
        out!(
            "submitted {}: job {} (units {}, --array={})",
            s.group.name(),
            s.job_id,
            unit_list(&s.units),
            s.array
        );
    }
    out!(
        "follow with: trendlab slurm status {0}   (--wait to block); when done: trendlab report {0}",
        spec.display()
    );
}

/// `0-11` or `3, 7`.
fn unit_list(units: &[usize]) -> String {
    match units {
        [first, .., last] if last - first + 1 == units.len() => format!("{first}-{last}"),
        _ => units.iter().map(usize::to_string).collect::<Vec<_>>().join(", "),
    }
}
