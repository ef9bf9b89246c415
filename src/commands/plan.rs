//! `trendlab plan SPEC [--json | --manifest FILE]`.

use crate::table;
use std::path::{Path, PathBuf};
use trendlab_ops::{ExitStatus, Outcome};

/// Show the runs a spec expands to (grid x folds).
#[derive(clap::Args)]
pub struct Args {
    /// Experiment spec file (TOML).
    spec: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    /// Write the work units (for `trendlab work`, job arrays) to this file instead.
    #[arg(long, value_name = "FILE", conflicts_with = "json")]
    manifest: Option<PathBuf>,
    /// With --manifest: split each run of a family that fits series one by one into N units of series (overrides [scale] series_per_unit).
    #[arg(long, value_name = "N", requires = "manifest", value_parser = clap::value_parser!(u32).range(1..))]
    series_shards: Option<u32>,
}

pub fn exec(args: Args) -> anyhow::Result<ExitStatus> {
    let workspace = trendlab_ops::Workspace::open(&args.spec, Path::new("."))?;
    if let Some(path) = &args.manifest {
        let outcome = trendlab_ops::units::write_manifest(&workspace, path, args.series_shards.map(|n| n as usize))?;
        let groups: Vec<String> = outcome
            .manifest
            .groups
            .iter()
            .map(|g| format!("{} {}-{}", g.group.name(), g.first, g.first + g.count - 1))
            .collect();
        out!(
            "{}: {} work units of {} runs ({})",
            outcome.path.display(),
            outcome.manifest.units.len(),
            outcome.runs,
            groups.join(", ")
        );
        out!(
            "run one with: trendlab work {} --index I   (or --shard I/N)",
            outcome.path.display()
        );
        return Ok(outcome.exit_status());
    }
    let outcome = trendlab_ops::inspect::plan(workspace);
    if args.json {
        out!("{}", serde_json::to_string_pretty(&outcome.json())?);
        return Ok(outcome.exit_status());
    }
    let w = &outcome.workspace;
    let plan = &w.plan;
    out!(
        "experiment {} — {} series, {} folds",
        plan.experiment,
        w.prepared.backtest.series.len(),
        plan.folds.len()
    );
    for f in &plan.validation_folds {
        out!(
            "  validation origin {}: train up to {}, forecast {} .. {} (ensemble members refitted here)",
            f.index,
            f.cutoff,
            f.test_start,
            f.test_end
        );
    }
    for f in &plan.folds {
        out!(
            "  fold {}: train up to {}, test {} .. {}",
            f.index,
            f.cutoff,
            f.test_start,
            f.test_end
        );
    }
    let rows: Vec<Vec<String>> = outcome
        .models()
        .into_iter()
        .map(|m| {
            vec![
                m.name,
                m.family.to_string(),
                m.configurations.to_string(),
                m.runs.to_string(),
                m.grid,
            ]
        })
        .collect();
    let header = ["model", "family", "configs", "runs", "grid"].map(String::from);
    out!("{}", table::render(&header, &rows, 2));
    out!("total: {} configurations, {} runs", plan.configs.len(), plan.runs.len());
    for config in &plan.configs {
        out!(
            "  {}  {}",
            config.label(),
            serde_json::Value::Object(config.family.params())
        );
    }
    crate::print::skipped(w.skipped_series());
    Ok(outcome.exit_status())
}
