//! `trendlab work MANIFEST`: one worker of a job array.

use crate::print;
use crate::progress::GridBar;
use std::path::PathBuf;
use trendlab_ops::units::{self, Selection, Shard, WorkOptions};
use trendlab_ops::{ExitStatus, Outcome};

/// Execute work units of a manifest (`plan --manifest`) into the run store: one worker of a job array.
#[derive(clap::Args)]
#[command(
    after_help = "The unit is --index I (plus --offset), or every N-th unit with --shard I/N, or the array task's\n\
                  index from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX (plus --offset). Finished runs are skipped.\n\
                  Exit codes: 0 every run finished; 3 a run failed (its reason stored); 2 bad manifest or spec; 1 other errors."
)]
pub struct Args {
    /// The manifest written by `trendlab plan SPEC --manifest FILE`.
    manifest: PathBuf,
    /// The unit to run.
    #[arg(long, conflicts_with = "shard")]
    index: Option<usize>,
    /// Every N-th unit starting at I (I/N, 0 <= I < N).
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Added to the index (the first unit of an array's group).
    #[arg(long, default_value_t = 0, conflicts_with = "shard")]
    offset: usize,
    /// Worker threads.
    #[arg(long, short, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,
    /// Train neural families here: "cpu" or "cuda:N".
    #[arg(long)]
    device: Option<trendlab_spec::ComputeDevice>,
    /// Wait up to this many seconds for the runs the units read (an ensemble's members) to be stored.
    #[arg(long, value_name = "SECONDS")]
    wait_for_reads: Option<u64>,
    /// Folder holding `runs/`.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

pub fn exec(args: Args) -> anyhow::Result<ExitStatus> {
    let selection = Selection {
        index: args.index,
        shard: args.shard,
        offset: args.offset,
    };
    let options = WorkOptions {
        jobs: args.jobs.into(),
        device: args.device,
        wait_for_reads: args.wait_for_reads,
    };
    let (mut workspace, manifest) = trendlab_ops::Workspace::open_manifest(&args.manifest, &args.out)?;
    let bar = GridBar::new(args.quiet);
    let outcome = units::work(&mut workspace, &manifest, &args.manifest, selection, options, &bar);
    bar.finish();
    let outcome = outcome?;
    for (index, label) in &outcome.units {
        out!("unit {index} ({label})");
    }
    let summary = &outcome.summary;
    out!(
        "{} runs: {} skipped (already finished), {} finished, {} failed — stored in {}",
        summary.planned,
        summary.skipped,
        summary.finished,
        summary.failed.len(),
        outcome.store.display()
    );
    print::failed(&summary.failed);
    Ok(outcome.exit_status())
}
