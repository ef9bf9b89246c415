//! `slurm submit|status|resubmit` and `k8s manifest`: the spec's work units
//! handed to a cluster engine, each task running `trendlab work`; results
//! land in the run store under `out`.

use crate::error::{Error, ExitStatus, Outcome, Shell};
use crate::experiment::{Workspace, absolute};
use std::path::PathBuf;
use std::time::Duration;
use trendlab_cluster::k8s::{self, JobOptions};
use trendlab_cluster::slurm::{self, ArrayOptions, ArrayRequest, SlurmDir, Worker};
use trendlab_cluster::status::{self, UnitState, UnitStatus};
use trendlab_cluster::{Ledger, Submission};
use trendlab_results::{Group, Manifest};

/// What `slurm submit` did.
#[derive(Debug)]
pub struct SubmitOutcome {
    pub manifest_path: PathBuf,
    pub units: usize,
    pub runs: usize,
    /// With `--dry-run`: the sbatch command lines, nothing submitted.
    pub dry_run: Vec<String>,
    pub submitted: Vec<Submission>,
}

impl Outcome for SubmitOutcome {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::Success
    }
}

/// `trendlab slurm submit SPEC`: the manifest and one sbatch array script
/// per unit group under `runs/<experiment>/slurm/`, submitted without waiting.
/// `w` is opened with [`Workspace::open_absolute`]: the scripts run elsewhere.
pub fn submit(w: &Workspace, options: &ArrayOptions, dry_run: bool, shell: &dyn Shell) -> Result<SubmitOutcome, Error> {
    let dir = SlurmDir::new(&w.store);
    std::fs::create_dir_all(dir.logs()).map_err(|e| Error::failed(format!("creating {}", dir.logs().display()), e))?;
    let manifest = w.manifest(absolute(&w.spec)?, None);
    let manifest_path = dir.manifest();
    let mut ledger = Ledger::read(&dir.ledger())?;
    // Submissions of another plan name other units: start a new ledger.
    let previous = Manifest::read(&manifest_path).ok();
    if previous.is_some_and(|p| p.units != manifest.units) && !ledger.submissions.is_empty() {
        let archived = dir.dir().join(format!(
            "submissions-{}.json",
            chrono::Utc::now().format("%Y%m%dT%H%M%S")
        ));
        std::fs::rename(dir.ledger(), &archived)
            .map_err(|e| Error::failed(format!("archiving {}", dir.ledger().display()), e))?;
        shell.warn(&format!(
            "the plan changed: earlier submissions moved to {}",
            archived.display()
        ));
        ledger = Ledger::default();
    }
    manifest.write(&manifest_path)?;
    let worker = Worker {
        executable: std::env::current_exe().map_err(|e| Error::failed("locating the trendlab binary", e))?,
        manifest: absolute(&manifest_path)?,
        out: w.out.clone(),
    };
    let mut requests = Vec::new();
    let max_size = slurm::max_array_size();
    for range in &manifest.groups {
        let script = slurm::script(&manifest, range.group, &worker, options, &dir);
        trendlab_results::store::write_atomic(&dir.script(range.group), script.as_bytes())?;
        requests.extend(ArrayRequest::whole(
            &manifest,
            range.group,
            &dir,
            options.throttle,
            max_size,
        ));
    }
    let mut outcome = SubmitOutcome {
        manifest_path,
        units: manifest.units.len(),
        runs: w.plan.runs.len(),
        dry_run: Vec::new(),
        submitted: Vec::new(),
    };
    if dry_run {
        outcome.dry_run = requests
            .iter()
            .map(|request| {
                let after = match request.group {
                    Group::Ensembles => vec!["<jobs above>".to_string()],
                    Group::Classical | Group::Neural => Vec::new(),
                };
                format!("sbatch {}", request.sbatch_args(&after, &dir, options.hold).join(" "))
            })
            .collect();
    } else {
        outcome.submitted = slurm::submit(&requests, &dir, &mut ledger, options.hold, false)?;
    }
    Ok(outcome)
}

/// Every unit's state, from the run store and the queue.
#[derive(Debug)]
pub struct StatusOutcome {
    pub manifest: Manifest,
    pub ledger: Ledger,
    pub states: Vec<UnitStatus>,
    /// Each unit's log file, where it has a task.
    pub logs: Vec<Option<PathBuf>>,
    /// The manifest no longer matches the plan (a warning).
    pub stale: Option<String>,
}

impl Outcome for StatusOutcome {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::success_if(!self.any_failed(), ExitStatus::Failed)
    }
}

impl StatusOutcome {
    pub fn any_failed(&self) -> bool {
        self.states.iter().any(|s| matches!(s.state, UnitState::Failed(_)))
    }

    /// Units per state name.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        status::counts(&self.states)
    }
}

/// `trendlab slurm status SPEC` (`wait`: until no unit is pending or running).
pub fn status(w: &Workspace, wait: bool) -> Result<StatusOutcome, Error> {
    let dir = SlurmDir::new(&w.store);
    let mut outcome = states(w, &dir)?;
    while wait && !outcome.states.iter().all(|s| s.state.is_settled()) {
        std::thread::sleep(Duration::from_secs(2));
        outcome = states(w, &dir)?;
    }
    Ok(outcome)
}

/// The submitted manifest and every unit's state.
fn states(w: &Workspace, dir: &SlurmDir) -> Result<StatusOutcome, Error> {
    let path = dir.manifest();
    if !path.exists() {
        return Err(Error::Failed(format!(
            "nothing was submitted for experiment {} ({} is missing): run `trendlab slurm submit` first",
            w.plan.experiment,
            path.display()
        )));
    }
    let manifest = Manifest::read(&path)?;
    let stale = manifest.check(&w.plan, &path).err().map(|e| e.to_string());
    let ledger = Ledger::read(&dir.ledger())?;
    let queue = slurm::queue_states(&ledger)?;
    let states = status::unit_states(&manifest, &w.store, &ledger, &queue)?;
    let logs = states
        .iter()
        .map(|s| s.task.as_ref().map(|t| dir.log_of(manifest.units[s.unit].group, t)))
        .collect();
    Ok(StatusOutcome {
        manifest,
        ledger,
        states,
        logs,
        stale,
    })
}

/// What `slurm resubmit --failed` did.
#[derive(Debug)]
pub struct ResubmitOutcome {
    pub experiment: String,
    /// Empty when no unit had failed.
    pub submitted: Vec<Submission>,
}

impl Outcome for ResubmitOutcome {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::Success
    }
}

/// `trendlab slurm resubmit SPEC --failed`: only the failed units, with
/// the scripts of the submission.
pub fn resubmit(w: &Workspace, throttle: Option<u32>, hold: bool) -> Result<ResubmitOutcome, Error> {
    let dir = SlurmDir::new(&w.store);
    let StatusOutcome {
        manifest,
        mut ledger,
        states,
        ..
    } = states(w, &dir)?;
    let failed: Vec<usize> = states
        .iter()
        .filter(|s| matches!(s.state, UnitState::Failed(_)))
        .map(|s| s.unit)
        .collect();
    let mut outcome = ResubmitOutcome {
        experiment: manifest.experiment.clone(),
        submitted: Vec::new(),
    };
    if failed.is_empty() {
        return Ok(outcome);
    }
    let max_size = slurm::max_array_size();
    let requests: Vec<ArrayRequest> = manifest
        .groups
        .iter()
        .flat_map(|range| ArrayRequest::some(&manifest, range.group, &failed, &dir, throttle, max_size))
        .collect();
    if let Some(missing) = requests.iter().find(|r| !r.script.exists()) {
        return Err(Error::Failed(format!(
            "{} is missing: run `trendlab slurm submit {}` again",
            missing.script.display(),
            w.spec.display()
        )));
    }
    outcome.submitted = slurm::submit(&requests, &dir, &mut ledger, hold, true)?;
    Ok(outcome)
}

/// What `k8s manifest` produced.
#[derive(Debug)]
pub struct JobsOutcome {
    /// The Indexed Jobs as YAML.
    pub yaml: String,
    pub manifest_path: PathBuf,
    pub jobs: usize,
    pub units: usize,
}

impl Outcome for JobsOutcome {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::Success
    }
}

/// `trendlab k8s manifest SPEC`: writes the work manifest under
/// `<out>/runs/<experiment>/k8s/` and returns the Jobs. The workspace's
/// spec and `out` are relative to the folder the pods mount.
pub fn k8s_manifest(w: &Workspace, options: &JobOptions) -> Result<JobsOutcome, Error> {
    let (spec, out) = (w.spec.as_path(), w.out.as_path());
    if out.is_absolute() || spec.is_absolute() {
        return Err(Error::Invalid(format!(
            "give the spec and --out relative to the folder mounted at {} in the pods (the working directory here)",
            options.mount
        )));
    }
    // Relative: the pods see this folder at the mount.
    let folder = out.join("runs").join(&w.plan.experiment).join("k8s");
    std::fs::create_dir_all(&folder).map_err(|e| Error::failed(format!("creating {}", folder.display()), e))?;
    let manifest_path = folder.join("plan.json");
    let spec_in_manifest =
        pathdiff::diff_paths(spec, &folder).ok_or_else(|| Error::Failed("relating the spec to the manifest".into()))?;
    let manifest = w.manifest(spec_in_manifest, None);
    manifest.write(&manifest_path)?;
    Ok(JobsOutcome {
        yaml: k8s::jobs_yaml(&manifest, &manifest_path, out, options),
        jobs: manifest.groups.len(),
        units: manifest.units.len(),
        manifest_path,
    })
}
