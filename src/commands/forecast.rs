//! `trendlab forecast SPEC`.

use crate::print;
use std::path::PathBuf;
use trendlab_ops::forecast::{self, Choice, ForecastOptions};
use trendlab_ops::{ExitStatus, Outcome};

/// Refit the best configuration on all data and forecast the next periods, with intervals.
#[derive(clap::Args)]
#[command(
    after_help = "Example: trendlab forecast experiments/quickstart.toml --horizon 12 --levels 80,95\n\
                  Writes forecasts/<experiment>/<data fingerprint>/forecast.csv and forecast.json under --out.\n\
                  Needs the experiment's backtest in the run store (`trendlab run SPEC` first)."
)]
pub struct Args {
    /// Experiment spec file (TOML).
    spec: PathBuf,
    /// Forecast with the best configuration of this model (default: the leaderboard's first).
    #[arg(long, value_name = "NAME", conflicts_with = "config")]
    model: Option<String>,
    /// Forecast with this configuration, by its label (`ridge[alpha=1.0]`, as `trendlab plan` lists them).
    #[arg(long, value_name = "LABEL")]
    config: Option<String>,
    /// Periods past the data's last date (default: the spec's evaluation.horizon).
    #[arg(long, value_name = "H")]
    horizon: Option<usize>,
    /// Central prediction interval levels in percent (default: the spec's evaluation.levels).
    #[arg(long, value_name = "L,L", value_delimiter = ',')]
    levels: Option<Vec<f64>>,
    /// Known-in-advance covariates of the forecast dates: a CSV with the data's columns (target empty).
    #[arg(long, value_name = "FILE")]
    future: Option<PathBuf>,
    /// Folder holding `runs/` (the backtest); `forecasts/` is written there.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Forecast from this saved model (`forecasts/<experiment>/<fingerprint>/model`) without fitting, on the same data or newer.
    #[arg(long, value_name = "MODEL_DIR")]
    from: Option<PathBuf>,
    /// Worker threads the series are spread over (default: one per core); the forecasts do not depend on it.
    #[arg(long, short, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// MLflow tracking server (overrides MLFLOW_TRACKING_URI and the spec's [tracking] mlflow).
    #[arg(long, value_name = "URI")]
    tracking_uri: Option<String>,
}

pub fn exec(args: Args) -> anyhow::Result<ExitStatus> {
    let choice = match (&args.model, &args.config) {
        (Some(model), _) => Choice::Model(model),
        (None, Some(config)) => Choice::Config(config),
        (None, None) => Choice::Best,
    };
    let mut workspace = trendlab_ops::Workspace::open(&args.spec, &args.out)?;
    let options = ForecastOptions {
        choice,
        horizon: args.horizon,
        levels: args.levels.as_deref(),
        future: args.future.as_deref(),
        tracking_uri: args.tracking_uri.as_deref(),
        jobs: args.jobs.map(usize::from),
        from: args.from.as_deref(),
    };
    let outcome = forecast::forecast(&mut workspace, options)?;
    print::forecast(&outcome);
    Ok(outcome.exit_status())
}
