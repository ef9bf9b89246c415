//! One module per subcommand: its arguments, the one library operation it
//! calls (`trendlab_ops`), and what it prints.

pub mod embed;
pub mod export;
pub mod forecast;
pub mod k8s;
pub mod plan;
pub mod report;
pub mod run;
pub mod schema;
pub mod slurm;
pub mod sync;
pub mod validate;
pub mod work;

use std::path::{Path, PathBuf};
use trendlab_ops::Workspace;

/// Where `run`, `report` and `sync` read and write.
#[derive(clap::Args, Clone)]
pub struct Output {
    /// Folder holding `runs/` and `reports/`.
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// MLflow tracking server (overrides MLFLOW_TRACKING_URI and the spec's [tracking] mlflow).
    #[arg(long, value_name = "URI")]
    pub tracking_uri: Option<String>,
}

impl Output {
    /// `spec` opened with its run store under `--out`.
    pub fn open(&self, spec: &Path) -> Result<Workspace, trendlab_ops::Error> {
        Workspace::open(spec, &self.out)
    }
}

/// Comparison with an earlier leaderboard, for CI.
#[derive(clap::Args, Clone)]
pub struct Compare {
    /// An earlier leaderboard.json: the report and leaderboard.md get a change column (▲/▼ per metric, new and removed models).
    #[arg(long, value_name = "LEADERBOARD_JSON")]
    pub compare: Option<PathBuf>,
    /// With --compare: exit 1 when the best mean of METRIC is more than PCT percent worse than before and a paired test on the series says the change is significant at [evaluation] alpha (e.g. mase:5).
    #[arg(long, value_name = "METRIC:PCT", requires = "compare")]
    pub fail_on_regression: Option<trendlab_results::compare::RegressionGate>,
}

impl Compare {
    pub fn with(&self) -> trendlab_ops::CompareWith<'_> {
        trendlab_ops::CompareWith {
            leaderboard: self.compare.as_deref(),
            gate: self.fail_on_regression.as_ref(),
        }
    }
}

/// Prints warnings of an operation on stderr as they come.
pub struct Stderr;

impl trendlab_ops::Shell for Stderr {
    fn warn(&self, message: &str) {
        eprintln!("warning: {message}");
    }
}
