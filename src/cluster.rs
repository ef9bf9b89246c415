//! `trendlab slurm submit|status|resubmit` and `trendlab k8s manifest`:
//! the spec's work units handed to a cluster engine, each task running
//! `trendlab work`; results land in the run store under `--out`.

use crate::commands::{INVALID, prepared_or_report};
use crate::table;
use crate::work::manifest_of;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use trendlab_cluster::k8s::{self, JobOptions};
use trendlab_cluster::slurm::{self, ArrayOptions, ArrayRequest, SlurmDir, Worker};
use trendlab_cluster::status::{self, UnitState, UnitStatus};
use trendlab_cluster::{Ledger, Submission};
use trendlab_engine::{Group, Manifest, Plan, Prepared, RunStore};

/// A spec's plan and where its Slurm files are.
struct Experiment {
    prepared: Prepared,
    plan: Plan,
    store: RunStore,
    dir: SlurmDir,
}

/// The experiment of `spec`, its store under `out` (made absolute: the
/// paths go into scripts that run elsewhere); `None` for an invalid spec.
fn load(spec: &Path, out: &Path) -> anyhow::Result<Option<Experiment>> {
    let Some(prepared) = prepared_or_report(spec) else {
        return Ok(None);
    };
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let plan = Plan::new(&prepared);
    let store = RunStore::new(&absolute(out)?, &plan.experiment);
    let dir = SlurmDir::new(&store);
    Ok(Some(Experiment {
        prepared,
        plan,
        store,
        dir,
    }))
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::fs::canonicalize(path).with_context(|| format!("resolving {}", path.display()))
}

/// `trendlab slurm submit SPEC`.
pub fn submit(spec: &Path, out: &Path, options: &ArrayOptions, dry_run: bool) -> anyhow::Result<ExitCode> {
    let Some(e) = load(spec, out)? else {
        return Ok(ExitCode::from(INVALID));
    };
    std::fs::create_dir_all(e.dir.logs()).with_context(|| format!("creating {}", e.dir.logs().display()))?;
    let manifest = manifest_of(&e.prepared, &e.plan, absolute(spec)?);
    let manifest_path = e.dir.manifest();
    let mut ledger = Ledger::read(&e.dir.ledger())?;
    // Submissions of another plan name other units: start a new ledger.
    let previous = Manifest::read(&manifest_path).ok();
    if previous.is_some_and(|p| p.units != manifest.units) && !ledger.submissions.is_empty() {
        let archived = e.dir.dir().join(format!(
            "submissions-{}.json",
            chrono::Utc::now().format("%Y%m%dT%H%M%S")
        ));
        std::fs::rename(e.dir.ledger(), &archived)
            .with_context(|| format!("archiving {}", e.dir.ledger().display()))?;
        eprintln!("the plan changed: earlier submissions moved to {}", archived.display());
        ledger = Ledger::default();
    }
    manifest.write(&manifest_path)?;
    let worker = Worker {
        executable: std::env::current_exe().context("locating the trendlab binary")?,
        manifest: absolute(&manifest_path)?,
        out: absolute(out)?,
    };
    let mut requests = Vec::new();
    for range in &manifest.groups {
        let script = slurm::script(&manifest, range.group, &worker, options, &e.dir);
        let path = e.dir.script(range.group);
        trendlab_engine::store::write_atomic(&path, script.as_bytes())?;
        requests.extend(ArrayRequest::whole(&manifest, range.group, &e.dir, options.throttle));
    }
    out!(
        "{}: {} work units of {} runs",
        manifest_path.display(),
        manifest.units.len(),
        e.plan.runs.len()
    );
    if dry_run {
        for request in &requests {
            let after = match request.group {
                Group::Ensembles => vec!["<jobs above>".to_string()],
                _ => Vec::new(),
            };
            out!(
                "would run: sbatch {}",
                request.sbatch_args(&after, &e.dir, options.hold).join(" ")
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let submitted = slurm::submit(&requests, &e.dir, &mut ledger, options.hold, false)?;
    print_submitted(&submitted, spec);
    Ok(ExitCode::SUCCESS)
}

fn print_submitted(submitted: &[Submission], spec: &Path) {
    for s in submitted {
        out!(
            "submitted {}: job {} (units {}, --array={})",
            s.group.name(),
            s.job_id,
            unit_list(&s.units),
            s.array
        );
    }
    out!(
        "follow with: trendlab slurm status {0}   (--wait to block); when done: trendlab report {0}",
        spec.display()
    );
}

/// `0-11` or `3, 7`.
fn unit_list(units: &[usize]) -> String {
    match units {
        [first, .., last] if last - first + 1 == units.len() => format!("{first}-{last}"),
        _ => units.iter().map(usize::to_string).collect::<Vec<_>>().join(", "),
    }
}

/// The submitted manifest and every unit's state.
fn states(e: &Experiment) -> anyhow::Result<(Manifest, Ledger, Vec<UnitStatus>)> {
    let path = e.dir.manifest();
    if !path.exists() {
        anyhow::bail!(
            "nothing was submitted for experiment {} ({} is missing): run `trendlab slurm submit` first",
            e.plan.experiment,
            path.display()
        );
    }
    let manifest = Manifest::read(&path)?;
    if let Err(stale) = manifest.check(&e.plan, &path) {
        eprintln!("warning: {stale}");
    }
    let ledger = Ledger::read(&e.dir.ledger())?;
    let queue = slurm::queue_states(&ledger)?;
    let states = status::unit_states(&manifest, &e.store, &ledger, &queue)?;
    Ok((manifest, ledger, states))
}

/// `trendlab slurm status SPEC`.
pub fn status(spec: &Path, out: &Path, json: bool, wait: bool) -> anyhow::Result<ExitCode> {
    let Some(e) = load(spec, out)? else {
        return Ok(ExitCode::from(INVALID));
    };
    let (manifest, ledger, mut states) = states(&e)?;
    while wait && !states.iter().all(|s| s.state.is_settled()) {
        std::thread::sleep(Duration::from_secs(2));
        states = self::states(&e)?.2;
    }
    let counts = status::counts(&states);
    if json {
        let value = serde_json::json!({
            "experiment": manifest.experiment,
            "counts": counts.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
            "units": states,
            "submissions": ledger.submissions,
        });
        out!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        let summary: Vec<String> = counts
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        out!(
            "experiment {}: {} units — {}",
            manifest.experiment,
            states.len(),
            summary.join(", ")
        );
        let rows: Vec<Vec<String>> = states
            .iter()
            .filter(|s| !matches!(s.state, UnitState::Done))
            .map(|s| {
                let reason = match &s.state {
                    UnitState::Failed(reason) => reason.clone(),
                    _ => String::new(),
                };
                let log = s
                    .task
                    .as_ref()
                    .map(|t| e.dir.log_of(manifest.units[s.unit].group, t).display().to_string())
                    .unwrap_or_default();
                vec![
                    s.unit.to_string(),
                    s.label.clone(),
                    s.state.name().to_string(),
                    s.task.clone().unwrap_or_default(),
                    reason,
                    log,
                ]
            })
            .collect();
        if !rows.is_empty() {
            let header = ["unit", "label", "state", "task", "reason", "log"].map(String::from);
            out!("{}", table::render(&header, &rows, 6));
        }
        if counts.iter().any(|(k, n)| *k == "failed" && *n > 0) {
            out!(
                "rerun the failed units with: trendlab slurm resubmit {} --failed",
                spec.display()
            );
        }
    }
    let any_failed = states.iter().any(|s| matches!(s.state, UnitState::Failed(_)));
    Ok(if any_failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `trendlab slurm resubmit SPEC --failed`.
pub fn resubmit(spec: &Path, out: &Path, throttle: Option<u32>, hold: bool) -> anyhow::Result<ExitCode> {
    let Some(e) = load(spec, out)? else {
        return Ok(ExitCode::from(INVALID));
    };
    let (manifest, mut ledger, states) = states(&e)?;
    let failed: Vec<usize> = states
        .iter()
        .filter(|s| matches!(s.state, UnitState::Failed(_)))
        .map(|s| s.unit)
        .collect();
    if failed.is_empty() {
        out!(
            "no failed units in experiment {}: nothing to resubmit",
            manifest.experiment
        );
        return Ok(ExitCode::SUCCESS);
    }
    let requests: Vec<ArrayRequest> = manifest
        .groups
        .iter()
        .filter_map(|range| ArrayRequest::some(&manifest, range.group, &failed, &e.dir, throttle))
        .collect();
    for request in &requests {
        if !request.script.exists() {
            anyhow::bail!(
                "{} is missing: run `trendlab slurm submit {}` again",
                request.script.display(),
                spec.display()
            );
        }
    }
    let submitted = slurm::submit(&requests, &e.dir, &mut ledger, hold, true)?;
    print_submitted(&submitted, spec);
    Ok(ExitCode::SUCCESS)
}

/// `trendlab k8s manifest SPEC`: writes the work manifest under
/// `<out>/runs/<experiment>/k8s/` and prints the Jobs.
pub fn k8s_manifest(spec: &Path, out: &Path, options: &JobOptions, output: Option<&Path>) -> anyhow::Result<ExitCode> {
    if out.is_absolute() || spec.is_absolute() {
        eprintln!(
            "error: give the spec and --out relative to the folder mounted at {} in the pods (the working directory here)",
            options.mount
        );
        return Ok(ExitCode::from(INVALID));
    }
    let Some(e) = load(spec, out)? else {
        return Ok(ExitCode::from(INVALID));
    };
    // Relative: the pods see this folder at the mount.
    let folder = out.join("runs").join(&e.plan.experiment).join("k8s");
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    let manifest_path = folder.join("plan.json");
    let spec_in_manifest = pathdiff::diff_paths(spec, &folder).context("relating the spec to the manifest")?;
    let manifest = manifest_of(&e.prepared, &e.plan, spec_in_manifest);
    manifest.write(&manifest_path)?;
    let yaml = k8s::jobs_yaml(&manifest, &manifest_path, out, options);
    match output {
        Some(path) => {
            trendlab_engine::store::write_atomic(path, yaml.as_bytes())?;
            eprintln!(
                "{}: {} Indexed Jobs over {} work units ({}); apply with kubectl apply -f {}",
                path.display(),
                manifest.groups.len(),
                manifest.units.len(),
                manifest_path.display(),
                path.display()
            );
        }
        None => crate::print_line(format_args!("{}", yaml.trim_end())),
    }
    Ok(ExitCode::SUCCESS)
}
