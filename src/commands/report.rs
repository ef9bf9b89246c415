//! `trendlab report SPEC`.

use super::{Compare, Output};
use crate::print;
use std::path::PathBuf;
use trendlab_ops::execution::{self, ReportOptions};
use trendlab_ops::{ExitStatus, Outcome};

/// Rebuild the leaderboard and HTML report from the run store (or from MLflow).
#[derive(clap::Args)]
#[command(
    after_help = "Example (CI): trendlab report experiments/quickstart.toml --compare old/leaderboard.json --fail-on-regression mase:5\n\
                  Exit code 1 when the gate fails or runs are damaged; the report is written either way."
)]
pub struct Args {
    /// Experiment spec file (TOML).
    spec: PathBuf,
    /// Read the runs from the MLflow server instead of the local store.
    #[arg(long)]
    from_mlflow: bool,
    #[command(flatten)]
    output: Output,
    #[command(flatten)]
    compare: Compare,
}

pub fn exec(args: Args) -> anyhow::Result<ExitStatus> {
    let options = ReportOptions {
        tracking_uri: args.output.tracking_uri.as_deref(),
        from_mlflow: args.from_mlflow,
        compare: args.compare.with(),
    };
    let outcome = execution::report(&args.output.open(&args.spec)?, options)?;
    for (id, reason) in &outcome.damaged {
        eprintln!("warning: run {id} is damaged and left out of the report: {reason}");
    }
    if !outcome.damaged.is_empty() {
        eprintln!(
            "  `trendlab run {}` moves damaged runs aside (kept for inspection) and runs them again",
            args.spec.display()
        );
    }
    print::report_paths(&outcome.report_dir);
    print::leaderboard(&outcome.leaderboard);
    print::gate(outcome.gate.as_ref());
    Ok(outcome.exit_status())
}
