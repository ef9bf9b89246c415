//! `trendlab export SPEC`.

use std::path::PathBuf;
use trendlab_ops::{ExitStatus, Outcome};

/// Write the stored forecasts and per-series metrics of every finished run as CSV.
#[derive(clap::Args)]
#[command(after_help = "Example: trendlab export experiments/quickstart.toml\n\
                  Writes exports/<experiment>/<run-id>/forecasts.csv and series_metrics.csv (the store keeps them as Parquet).")]
pub struct Args {
    /// Experiment spec file (TOML).
    spec: PathBuf,
    /// Folder holding `runs/`.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Where to write (default: <out>/exports/<experiment>).
    #[arg(long, value_name = "DIR")]
    to: Option<PathBuf>,
}

pub fn exec(args: Args) -> anyhow::Result<ExitStatus> {
    let workspace = trendlab_ops::Workspace::open(&args.spec, &args.out)?;
    let outcome = trendlab_ops::export::export(&workspace, args.to.as_deref())?;
    for (id, reason) in &outcome.damaged {
        eprintln!("warning: run {id} is damaged and not exported: {reason}");
    }
    out!(
        "exported {} finished run(s) to {}{}",
        outcome.runs,
        outcome.dir.display(),
        match outcome.not_finished {
            0 => String::new(),
            n => format!(" ({n} planned run(s) not finished)"),
        }
    );
    Ok(outcome.exit_status())
}
