//! The `trendlab` command line: parses arguments, calls one library
//! operation (`trendlab_ops`) per command (`commands/`) and prints its
//! outcome. Exit codes: 0 success, 1 some runs failed (or another error),
//! 2 invalid spec or data (nothing was run), 3 a worker's run failed.

/// `println!` that stops printing quietly when stdout is closed (e.g.
/// piped into `head`) instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => { $crate::print_line(format_args!($($arg)*)) };
}

mod commands;
mod print;
mod progress;
mod table;

use clap::{Parser, Subcommand};
use commands::*;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "trendlab",
    version,
    about = "Declarative forecasting experiments on retail sales"
)]
#[command(after_help = "Examples:
  trendlab validate experiments/*.toml
  trendlab plan experiments/quickstart.toml
  trendlab run experiments/quickstart.toml --jobs 2
  trendlab slurm submit experiments/quickstart.toml --throttle 8
  trendlab report experiments/quickstart.toml
  trendlab export experiments/quickstart.toml
  trendlab forecast experiments/quickstart.toml --horizon 12
  trendlab schema > trendlab.schema.json")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check specs and their data without running anything.
    Validate(validate::Args),
    /// Show the runs a spec expands to (grid x folds).
    Plan(plan::Args),
    /// Run every planned run not already finished, then write the leaderboard and report.
    Run(run::Args),
    /// Execute work units of a manifest (`plan --manifest`) into the run store: one worker of a job array.
    Work(work::Args),
    /// Run the work units as Slurm job arrays (submit, status, resubmit).
    #[command(subcommand)]
    Slurm(slurm::Command),
    /// Kubernetes Indexed Jobs over the work units.
    #[command(subcommand)]
    K8s(k8s::Command),
    /// Rebuild the leaderboard and HTML report from the run store (or from MLflow).
    Report(report::Args),
    /// Write the stored forecasts and per-series metrics of every finished run as CSV.
    Export(export::Args),
    /// Refit the best configuration on all data and forecast the next periods, with intervals.
    Forecast(forecast::Args),
    /// Mirror every stored run that the MLflow server lacks (after an outage).
    Sync(sync::Args),
    /// Print the JSON Schema of experiment specs (for editor completion).
    Schema(schema::Args),
    /// Embed texts with a BERT encoder directory and print the pooled vectors as JSON.
    Embed(embed::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Validate(args) => validate::exec(args),
        Command::Plan(args) => plan::exec(args),
        Command::Run(args) => run::exec(args),
        Command::Work(args) => work::exec(args),
        Command::Slurm(command) => slurm::exec(command),
        Command::K8s(command) => k8s::exec(command),
        Command::Report(args) => report::exec(args),
        Command::Export(args) => export::exec(args),
        Command::Forecast(args) => forecast::exec(args),
        Command::Sync(args) => sync::exec(args),
        Command::Schema(args) => schema::exec(args),
        Command::Embed(args) => embed::exec(args),
    };
    match result {
        Ok(status) => ExitCode::from(status.code()),
        Err(e) => match e.downcast_ref::<trendlab_ops::Error>() {
            Some(error) => {
                print::error(error);
                ExitCode::from(error.exit_status().code())
            }
            None => {
                eprintln!("error: {e:#}");
                ExitCode::from(1)
            }
        },
    }
}

/// Set once stdout is closed (its reader stopped early, e.g. `| head -1`):
/// the rest of the output is dropped, and the command still ends with its
/// own exit status (1 when runs failed), never a misleading 0.
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn print_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    use std::sync::atomic::Ordering;
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    if let Err(e) = writeln!(std::io::stdout().lock(), "{args}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            return;
        }
        eprintln!("error: writing to stdout: {e}");
        std::process::exit(1);
    }
}
