//! Work units: `plan --manifest` writes them, `work` executes one unit (or
//! a shard of them) into the run store — the one entrypoint of local
//! workers, Slurm array tasks and Kubernetes pods.

use crate::error::{Error, ExitStatus, Outcome};
use crate::experiment::{Workspace, absolute};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use trendlab_engine::{Budget, RunOptions, Summary};
use trendlab_results::{Manifest, PlannedRun, Progress, WorkUnit};
use trendlab_spec::ComputeDevice;

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
#[derive(Debug, Clone, Copy, Default)]
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
    fn indexes(&self, manifest: &Manifest) -> Result<Vec<usize>, Error> {
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
                    .ok_or_else(|| {
                        Error::Failed(
                            "which unit? give --index I or --shard I/N, or run as an array task \
                             (SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX set)"
                                .into(),
                        )
                    })?;
                value
                    .trim()
                    .parse::<usize>()
                    .map_err(|e| Error::failed(format!("{name}={value} is not a task index"), e))?
            }
        };
        let unit = index.checked_add(self.offset).ok_or_else(|| {
            Error::Invalid(format!(
                "unit index {index} + --offset {} is past any unit index",
                self.offset
            ))
        })?;
        Ok(vec![unit])
    }
}

/// What `plan --manifest` wrote.
#[derive(Debug)]
pub struct ManifestOutcome {
    pub path: PathBuf,
    pub manifest: Manifest,
    pub runs: usize,
}

impl Outcome for ManifestOutcome {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::Success
    }
}

/// `trendlab plan SPEC --manifest FILE`.
pub fn write_manifest(
    w: &Workspace,
    manifest_path: &Path,
    series_shards: Option<usize>,
) -> Result<ManifestOutcome, Error> {
    let folder = manifest_path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(folder) = folder {
        std::fs::create_dir_all(folder).map_err(|e| Error::failed(format!("creating {}", folder.display()), e))?;
    }
    let spec_in_manifest = relative_to(&w.spec, folder.unwrap_or(Path::new(".")))?;
    let manifest = w.manifest(spec_in_manifest, series_shards);
    manifest.write(manifest_path)?;
    Ok(ManifestOutcome {
        path: manifest_path.to_path_buf(),
        manifest,
        runs: w.plan.runs.len(),
    })
}

impl Workspace {
    /// The manifest of this plan; `spec` as the manifest records it. The
    /// runs of families that fit series one by one are split into
    /// `series_shards` units (`--series-shards`), else into units of
    /// `[scale] series_per_unit` series.
    pub fn manifest(&self, spec: PathBuf, series_shards: Option<usize>) -> Manifest {
        let evaluated = self.prepared.backtest.series.len().max(1);
        let per_unit = self.prepared.experiment.document.scale.series_per_unit;
        let shards = |c: usize| {
            if !self.plan.configs[c].family.capabilities().per_series {
                return 1;
            }
            let count = match (series_shards, per_unit) {
                (Some(n), _) => n,
                (None, Some(per)) => evaluated.div_ceil(per.max(1)),
                (None, None) => 1,
            };
            count.clamp(1, evaluated)
        };
        Manifest::new(
            &self.plan,
            spec,
            &self.prepared.experiment.spec_hash,
            &self.prepared.panel.fingerprint,
            &shards,
        )
    }
}

/// `path` relative to `folder` (both resolved), for a manifest that moves
/// with its repository.
fn relative_to(path: &Path, folder: &Path) -> Result<PathBuf, Error> {
    let path = absolute(path)?;
    let folder = absolute(folder)?;
    Ok(pathdiff::diff_paths(&path, &folder).unwrap_or(path))
}

/// How a worker runs.
#[derive(Debug, Clone, Copy)]
pub struct WorkOptions {
    pub jobs: usize,
    pub device: Option<ComputeDevice>,
    /// Seconds to wait for the runs the units read (ensembles' members).
    pub wait_for_reads: Option<u64>,
}

/// What a worker did.
#[derive(Debug)]
pub struct WorkOutcome {
    /// `(index, label)` of each unit run.
    pub units: Vec<(usize, String)>,
    pub summary: Summary,
    /// The run store's folder.
    pub store: PathBuf,
}

impl Outcome for WorkOutcome {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::success_if(self.summary.failed.is_empty(), ExitStatus::RunFailed)
    }
}

/// `trendlab work MANIFEST`: runs the selected units of `manifest` (read
/// from `manifest_path` and checked against the plan by
/// [`Workspace::open_manifest`]) into the run store, skipping finished runs.
pub fn work(
    w: &mut Workspace,
    manifest: &Manifest,
    manifest_path: &Path,
    selection: Selection,
    options: WorkOptions,
    progress: &dyn Progress,
) -> Result<WorkOutcome, Error> {
    if let Some(device) = options.device {
        w.set_device(device);
    }
    let units: Vec<&WorkUnit> = selection
        .indexes(manifest)?
        .into_iter()
        .map(|index| manifest.unit(index, manifest_path))
        .collect::<Result<_, _>>()?;
    // Every id is planned: the manifest was checked against the plan.
    let run_by_id: HashMap<&str, &PlannedRun> = w.plan.runs.iter().map(|r| (r.id.as_str(), r)).collect();
    let runs: Vec<&PlannedRun> = units
        .iter()
        .flat_map(|u| u.runs.iter())
        .map(|id| run_by_id[id.as_str()])
        .collect();
    // Without --wait-for-reads, a unit whose reads are not stored fails at
    // once, retryably (exit 1), and stores nothing: an ensemble must not be
    // stored as failed, nor its worker exit 3, merely for starting early.
    wait_for_reads(w, &runs, Duration::from_secs(options.wait_for_reads.unwrap_or(0)))?;
    let run_options = RunOptions {
        force: false,
        budget: Budget::jobs(options.jobs),
    };
    let whole: Vec<&PlannedRun> = units
        .iter()
        .filter(|u| u.series.is_none())
        .flat_map(|u| u.runs.iter())
        .map(|id| run_by_id[id.as_str()])
        .collect();
    let mut summary = trendlab_engine::execute_runs(&w.prepared, &w.plan, &whole, &w.store, run_options, progress)?;
    for unit in &units {
        let Some(shard) = unit.series else { continue };
        let runs: Vec<&PlannedRun> = unit.runs.iter().map(|id| run_by_id[id.as_str()]).collect();
        let part = trendlab_engine::shards::execute_shard(
            &w.prepared,
            &w.plan,
            &runs,
            &w.store,
            shard,
            run_options,
            progress,
        )?;
        summary.planned += part.planned;
        summary.skipped += part.skipped;
        summary.finished += part.finished;
        summary.failed.extend(part.failed);
        summary.repaired.extend(part.repaired);
    }
    Ok(WorkOutcome {
        units: units.iter().map(|u| (u.index, u.label.clone())).collect(),
        summary,
        store: w.store.dir().to_path_buf(),
    })
}

/// Waits until every run that `runs` read outside themselves is stored
/// (finished or failed), checking every two seconds.
fn wait_for_reads(w: &Workspace, runs: &[&PlannedRun], limit: Duration) -> Result<(), Error> {
    let own: HashSet<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    let needed: Vec<&str> = runs
        .iter()
        .flat_map(|r| w.plan.prerequisites(r))
        .filter(|id| !own.contains(id))
        .collect();
    let started = Instant::now();
    loop {
        let mut missing = Vec::new();
        for id in &needed {
            if w.store.record(id)?.is_none() {
                missing.push(*id);
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        if started.elapsed() >= limit {
            let waited = match limit.as_secs() {
                0 => "yet; run the units they come from first, or give --wait-for-reads SECONDS".to_string(),
                s => format!("after {s} s"),
            };
            return Err(Error::Failed(format!(
                "{} runs this unit reads are not stored in {} {waited} (first: {})",
                missing.len(),
                w.store.dir().display(),
                missing[0]
            )));
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
