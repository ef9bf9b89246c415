//! `trendlab sync SPEC`.

use super::Output;
use crate::print;
use std::path::PathBuf;
use trendlab_ops::{ExitStatus, Outcome};

/// Mirror every stored run that the MLflow server lacks (after an outage).
#[derive(clap::Args)]
#[command(after_help = "Example: MLFLOW_TRACKING_URI=http://127.0.0.1:5000 trendlab sync experiments/quickstart.toml")]
pub struct Args {
    /// Experiment spec file (TOML).
    spec: PathBuf,
    #[command(flatten)]
    output: Output,
}

pub fn exec(args: Args) -> anyhow::Result<ExitStatus> {
    let workspace = args.output.open(&args.spec)?;
    let outcome = trendlab_ops::execution::sync(&workspace, args.output.tracking_uri.as_deref())?;
    if outcome.incomplete > 0 {
        eprintln!(
            "{} configurations have runs missing from the local store and were not mirrored; `trendlab run` them first",
            outcome.incomplete
        );
    }
    print::mirrored(&outcome.mirrored, &args.spec);
    Ok(outcome.exit_status())
}
