//! `trendlab run SPEC`.

use super::{Compare, Output, Stderr};
use crate::print;
use crate::progress::GridBar;
use std::path::PathBuf;
use trendlab_ops::execution::{self, RunOptions};
use trendlab_ops::{Budget, ExitStatus, Outcome};

/// Run every planned run not already finished, then write the leaderboard and report.
#[derive(clap::Args)]
#[command(after_help = "Example: trendlab run experiments/quickstart.toml --jobs 2")]
pub struct Args {
    /// Experiment spec file (TOML).
    spec: PathBuf,
    /// Re-run finished runs too.
    #[arg(long)]
    force: bool,
    /// Worker threads: runs, and the series within a run, are spread over them.
    #[arg(long, short, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,
    /// At most this many neural runs at once on each GPU.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    gpu_slots: u16,
    /// Memory for runs at once, in GB, against the models' declared `memory_gb` (default: this machine's memory).
    #[arg(long, value_name = "GB")]
    memory_gb: Option<f64>,
    /// Train neural families here: "cpu" or "cuda:N" (overrides the spec; run ids stay the same).
    #[arg(long)]
    device: Option<trendlab_spec::ComputeDevice>,
    #[command(flatten)]
    output: Output,
    #[command(flatten)]
    compare: Compare,
}

pub fn exec(args: Args) -> anyhow::Result<ExitStatus> {
    let options = RunOptions {
        force: args.force,
        budget: Budget {
            jobs: args.jobs.into(),
            gpu_slots: args.gpu_slots.into(),
            memory_gb: args.memory_gb.or_else(machine_memory_gb),
        },
        device: args.device,
        tracking_uri: args.output.tracking_uri.as_deref(),
        compare: args.compare.with(),
    };
    let mut workspace = args.output.open(&args.spec)?;
    let bar = GridBar::new(args.output.quiet);
    let outcome = execution::run(&mut workspace, options, &bar, &Stderr);
    bar.finish();
    let outcome = outcome?;
    let summary = &outcome.summary;
    out!(
        "{} runs planned: {} skipped (already finished), {} finished, {} failed",
        summary.planned,
        summary.skipped,
        summary.finished,
        summary.failed.len()
    );
    print::report_paths(&outcome.report_dir);
    print::leaderboard(&outcome.leaderboard);
    print::gate(outcome.gate.as_ref());
    if let Some(mirrored) = &outcome.mirrored {
        print::mirrored(mirrored, &args.spec);
    }
    print::failed(outcome.failed());
    Ok(outcome.exit_status())
}

/// This machine's memory in GB (Linux: `MemTotal` of /proc/meminfo), the
/// default budget for models that declare `memory_gb`.
fn machine_memory_gb() -> Option<f64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024.0 / 1e9)
}
