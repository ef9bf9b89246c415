//! The `trendlab` command line: a thin layer over the framework crates.
//! Exit codes: 0 success, 1 some runs failed (or another error), 2 invalid
//! spec or data (nothing was run).

/// `println!` that ends the program quietly when stdout is closed (e.g.
/// piped into `head`) instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => { $crate::print_line(format_args!($($arg)*)) };
}

mod commands;
mod compare;
mod progress;
mod table;
mod tracking;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use trendlab_engine::RunOptions;

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
  trendlab report experiments/quickstart.toml
  trendlab schema > trendlab.schema.json")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Output {
    /// Folder holding `runs/` and `reports/`.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// MLflow tracking server (overrides MLFLOW_TRACKING_URI and the spec's [tracking] mlflow).
    #[arg(long, value_name = "URI")]
    tracking_uri: Option<String>,
}

/// Comparison with an earlier leaderboard, for CI.
#[derive(clap::Args, Clone)]
struct Compare {
    /// An earlier leaderboard.json: the report and leaderboard.md get a change column (▲/▼ per metric, new and removed models).
    #[arg(long, value_name = "LEADERBOARD_JSON")]
    compare: Option<PathBuf>,
    /// With --compare: exit 1 when the best mean of METRIC is more than PCT percent worse than before (e.g. mase:5).
    #[arg(long, value_name = "METRIC:PCT", requires = "compare")]
    fail_on_regression: Option<trendlab_report::RegressionGate>,
}

impl Compare {
    fn with(&self) -> compare::CompareWith<'_> {
        compare::CompareWith {
            leaderboard: self.compare.as_deref(),
            gate: self.fail_on_regression.as_ref(),
        }
    }
}

impl Output {
    fn target(&self) -> commands::Target<'_> {
        commands::Target {
            out: &self.out,
            tracking_uri: self.tracking_uri.as_deref(),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Check specs and their data without running anything.
    #[command(after_help = "Errors are printed as path:line:col: message; exit code 2 if any spec is invalid.")]
    Validate {
        /// Experiment spec files (TOML).
        #[arg(required = true)]
        specs: Vec<PathBuf>,
    },
    /// Show the runs a spec expands to (grid x folds).
    Plan {
        /// Experiment spec file (TOML).
        spec: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Run every planned run not already finished, then write the leaderboard and report.
    #[command(after_help = "Example: trendlab run experiments/quickstart.toml --jobs 2")]
    Run {
        /// Experiment spec file (TOML).
        spec: PathBuf,
        /// Re-run finished runs too.
        #[arg(long)]
        force: bool,
        /// Worker threads: runs, and the series within a run, are spread over them.
        #[arg(long, short, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
        jobs: u16,
        /// Train neural families here: "cpu" or "cuda:N" (overrides the spec; run ids stay the same).
        #[arg(long)]
        device: Option<trendlab_spec::ComputeDevice>,
        #[command(flatten)]
        output: Output,
        #[command(flatten)]
        compare: Compare,
    },
    /// Rebuild the leaderboard and HTML report from the run store (or from MLflow).
    #[command(
        after_help = "Example (CI): trendlab report experiments/quickstart.toml --compare old/leaderboard.json --fail-on-regression mase:5\n\
                      Exit code 1 when the gate fails; the report is written either way."
    )]
    Report {
        /// Experiment spec file (TOML).
        spec: PathBuf,
        /// Read the runs from the MLflow server instead of the local store.
        #[arg(long)]
        from_mlflow: bool,
        #[command(flatten)]
        output: Output,
        #[command(flatten)]
        compare: Compare,
    },
    /// Mirror every stored run that the MLflow server lacks (after an outage).
    #[command(
        after_help = "Example: MLFLOW_TRACKING_URI=http://127.0.0.1:5000 trendlab sync experiments/quickstart.toml"
    )]
    Sync {
        /// Experiment spec file (TOML).
        spec: PathBuf,
        #[command(flatten)]
        output: Output,
    },
    /// Print the JSON Schema of experiment specs (for editor completion).
    Schema,
    /// Embed texts with a BERT encoder directory and print the pooled vectors as JSON.
    #[command(
        group(clap::ArgGroup::new("input").required(true).multiple(true).args(["text", "file"])),
        after_help = "Example: trendlab embed --encoder models/all-MiniLM-L6-v2 --text \"JUMBO BAG RED RETROSPOT\"\n\
                      Prints {\"texts\": [...], \"input_ids\": [...], \"embeddings\": [[...]]}."
    )]
    Embed {
        /// A Hugging Face BERT directory (config.json, model.safetensors, tokenizer.json).
        #[arg(long)]
        encoder: PathBuf,
        /// A text to embed (repeat for several).
        #[arg(long)]
        text: Vec<String>,
        /// A file with one text per line (blank lines are skipped).
        #[arg(long)]
        file: Option<PathBuf>,
        /// How token states become one vector: mean (as sentence-transformers) or cls.
        #[arg(long, default_value = "mean")]
        pooling: trendlab_neural::bert::Pooling,
        /// Scale each vector to unit length (as sentence-transformers' Normalize).
        #[arg(long)]
        normalize: bool,
        /// Where to run the encoder: "cpu" or "cuda:N".
        #[arg(long, default_value = "cpu")]
        device: trendlab_spec::ComputeDevice,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate { specs } => commands::validate(&specs),
        Command::Plan { spec, json } => commands::plan(&spec, json),
        Command::Run {
            spec,
            force,
            jobs,
            device,
            output,
            compare,
        } => commands::run(
            &spec,
            RunOptions {
                force,
                jobs: jobs.into(),
            },
            device,
            &output.target(),
            output.quiet,
            compare.with(),
        ),
        Command::Report {
            spec,
            from_mlflow,
            output,
            compare,
        } => commands::report(&spec, &output.target(), from_mlflow, compare.with()),
        Command::Sync { spec, output } => commands::sync(&spec, &output.target()),
        Command::Schema => commands::schema(),
        Command::Embed {
            encoder,
            text,
            file,
            pooling,
            normalize,
            device,
        } => commands::embed(&encoder, text, file.as_deref(), (pooling, normalize), device),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn print_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = writeln!(std::io::stdout().lock(), "{args}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing to stdout: {e}");
        std::process::exit(1);
    }
}
