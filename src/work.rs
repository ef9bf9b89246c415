//! Work units from the command line: `plan --manifest` writes them,
//! `work` executes one unit (or a shard of them) into the run store — the
//! one entrypoint of local workers, Slurm array tasks and Kubernetes pods.

use crate::commands::{INVALID, prepared_or_report};
use crate::progress::GridBar;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use trendlab_engine::{Budget, Manifest, Plan, PlannedRun, RunOptions, RunStore, WorkUnit};
use trendlab_spec::ComputeDevice;

/// A worker's exit code when a run failed (its reason stored): a retry
/// would fail the same way.
pub const RUN_FAILED: u8 = trendlab_cluster::k8s::RUN_FAILED_EXIT;

/// `--shard I/N`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let parsed = s
            .split_once('/')
            .and_then(|(i, n)| Some((i.trim().parse::<usize>().ok()?, n.trim().parse::<usize>().ok()?)));
        match parsed {
            Some((index, count)) if count > 0 && index < count => Ok(Shard { index, count }),
            _ => Err(format!("`{s}` is not a shard I/N with 0 <= I < N (e.g. 0/4)")),
        }
    }
}

/// Which units a worker takes.
#[derive(Debug, Clone, Copy)]
pub struct Selection {
    pub index: Option<usize>,
    pub shard: Option<Shard>,
    /// Added to an index (from `--index` or the environment).
    pub offset: usize,
}

/// Environment variables that carry a task's index, in the order tried.
const INDEX_VARIABLES: [&str; 2] = ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"];

impl Selection {
    /// The unit indexes to run.
    fn indexes(&self, manifest: &Manifest) -> anyhow::Result<Vec<usize>> {
        if let Some(shard) = self.shard {
            return Ok(manifest
                .shard(shard.index, shard.count)
                .iter()
                .map(|u| u.index)
                .collect());
        }
        let index = match self.index {
            Some(index) => index,
            None => {
                let (name, value) = INDEX_VARIABLES
                    .iter()
                    .find_map(|name| Some((*name, std::env::var(name).ok()?)))
                    .context(
                        "which unit? give --index I or --shard I/N, or run as an array task \
                         (SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX set)",
                    )?;
                value
                    .trim()
                    .parse::<usize>()
                    .with_context(|| format!("{name}={value} is not a task index"))?
            }
        };
        Ok(vec![index + self.offset])
    }
}

/// `trendlab plan SPEC --manifest FILE`.
pub fn write_manifest(spec: &Path, manifest_path: &Path) -> anyhow::Result<ExitCode> {
    let Some(prepared) = prepared_or_report(spec) else {
        return Ok(ExitCode::from(INVALID));
    };
    let plan = Plan::new(&prepared);
    let folder = manifest_path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(folder) = folder {
        std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    }
    let spec_in_manifest = relative_to(spec, folder.unwrap_or(Path::new(".")))?;
    let manifest = manifest_of(&prepared, &plan, spec_in_manifest);
    manifest.write(manifest_path)?;
    let groups: Vec<String> = manifest
        .groups
        .iter()
        .map(|g| format!("{} {}-{}", g.group.name(), g.first, g.first + g.count - 1))
        .collect();
    out!(
        "{}: {} work units of {} runs ({})",
        manifest_path.display(),
        manifest.units.len(),
        plan.runs.len(),
        groups.join(", ")
    );
    out!(
        "run one with: trendlab work {} --index I   (or --shard I/N)",
        manifest_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The manifest of a prepared spec's plan.
pub fn manifest_of(prepared: &trendlab_engine::Prepared, plan: &Plan, spec: PathBuf) -> Manifest {
    Manifest::new(plan, spec, &prepared.experiment.spec_hash, &prepared.panel.fingerprint)
}

/// `path` relative to `folder` (both resolved), for a manifest that moves
/// with its repository.
fn relative_to(path: &Path, folder: &Path) -> anyhow::Result<PathBuf> {
    let path = std::fs::canonicalize(path).with_context(|| format!("resolving {}", path.display()))?;
    let folder = std::fs::canonicalize(folder).with_context(|| format!("resolving {}", folder.display()))?;
    Ok(pathdiff::diff_paths(&path, &folder).unwrap_or(path))
}

/// How a worker runs.
pub struct WorkOptions<'a> {
    pub jobs: usize,
    pub device: Option<ComputeDevice>,
    pub out: &'a Path,
    pub quiet: bool,
    /// Seconds to wait for the runs the units read (ensembles' members).
    pub wait_for_reads: Option<u64>,
}

/// `trendlab work MANIFEST`.
pub fn work(manifest_path: &Path, selection: Selection, options: &WorkOptions<'_>) -> anyhow::Result<ExitCode> {
    let manifest = match Manifest::read(manifest_path) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(INVALID));
        }
    };
    let spec = manifest.spec_path(manifest_path);
    let Some(prepared) = prepared_or_report(&spec) else {
        return Ok(ExitCode::from(INVALID));
    };
    let mut plan = Plan::new(&prepared);
    if let Some(device) = options.device {
        plan.set_device(device);
    }
    if let Err(e) = manifest.check(&plan, manifest_path) {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(INVALID));
    }
    let mut units: Vec<&WorkUnit> = Vec::new();
    for index in selection.indexes(&manifest)? {
        match manifest.unit(index, manifest_path) {
            Ok(unit) => units.push(unit),
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(INVALID));
            }
        }
    }
    let store = RunStore::new(options.out, &plan.experiment);
    // Every id is planned: the manifest was checked against the plan.
    let run_by_id: std::collections::HashMap<&str, &PlannedRun> =
        plan.runs.iter().map(|r| (r.id.as_str(), r)).collect();
    let runs: Vec<&PlannedRun> = units
        .iter()
        .flat_map(|u| u.runs.iter())
        .map(|id| run_by_id[id.as_str()])
        .collect();
    if let Some(seconds) = options.wait_for_reads {
        wait_for_reads(&plan, &runs, &store, Duration::from_secs(seconds))?;
    }
    let bar = GridBar::new(options.quiet);
    let run_options = RunOptions {
        force: false,
        budget: Budget::jobs(options.jobs),
    };
    let summary = trendlab_engine::execute_runs(&prepared, &plan, &runs, &store, run_options, &bar)?;
    bar.finish();
    for unit in &units {
        out!("unit {} ({})", unit.index, unit.label);
    }
    out!(
        "{} runs: {} skipped (already finished), {} finished, {} failed — stored in {}",
        summary.planned,
        summary.skipped,
        summary.finished,
        summary.failed.len(),
        store.dir().display()
    );
    for record in &summary.failed {
        eprintln!(
            "failed: {} {} (run {}): {}",
            record.model,
            trendlab_engine::plan::origin_label(record.role, record.fold),
            record.run_id,
            record.error.as_deref().unwrap_or("")
        );
    }
    Ok(if summary.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(RUN_FAILED)
    })
}

/// Waits until every run that `runs` read outside themselves is stored
/// (finished or failed), checking every two seconds.
fn wait_for_reads(plan: &Plan, runs: &[&PlannedRun], store: &RunStore, limit: Duration) -> anyhow::Result<()> {
    let own: std::collections::HashSet<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    let needed: Vec<&str> = runs
        .iter()
        .flat_map(|r| plan.prerequisites(r))
        .filter(|id| !own.contains(id))
        .collect();
    let started = Instant::now();
    loop {
        let mut missing = Vec::new();
        for id in &needed {
            if store.record(id)?.is_none() {
                missing.push(*id);
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        if started.elapsed() >= limit {
            anyhow::bail!(
                "{} runs this unit reads are still not stored in {} after {} s (first: {})",
                missing.len(),
                store.dir().display(),
                limit.as_secs(),
                missing[0]
            );
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::Shard;

    #[test]
    fn shards_parse_and_refuse_out_of_range() {
        assert_eq!("1/4".parse::<Shard>(), Ok(Shard { index: 1, count: 4 }));
        assert!("4/4".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
    }
}
