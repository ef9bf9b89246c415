//! `trendlab validate SPEC...`.

use std::path::PathBuf;
use trendlab_ops::{ExitStatus, Outcome};

/// Check specs and their data without running anything.
#[derive(clap::Args)]
#[command(after_help = "Errors are printed as path:line:col: message; exit code 2 if any spec is invalid.")]
pub struct Args {
    /// Experiment spec files (TOML).
    #[arg(required = true)]
    specs: Vec<PathBuf>,
}

pub fn exec(args: Args) -> anyhow::Result<ExitStatus> {
    let outcome = trendlab_ops::inspect::validate(&args.specs);
    for (spec, checked) in &outcome.specs {
        match checked {
            Ok(v) => {
                let refits = match v.validation_runs {
                    0 => String::new(),
                    n => format!(" + {n} member refits at validation origins"),
                };
                out!(
                    "{}: ok ({} configurations x {} folds = {} runs{refits} on {} series)",
                    spec.display(),
                    v.configurations,
                    v.folds,
                    v.backtest_runs,
                    v.series
                );
                crate::print::skipped(&v.skipped);
            }
            Err(e) => crate::print::error(e),
        }
    }
    Ok(outcome.exit_status())
}
