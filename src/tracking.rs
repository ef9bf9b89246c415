//! The CLI's side of MLflow tracking: which server (flag, environment, spec),
//! connecting without ever failing a run, the parent run's tags, and what to
//! tell the user about mirroring.

use std::path::Path;
use trendlab_engine::Prepared;
use trendlab_tracking::client::KeyValue;
use trendlab_tracking::{Credentials, Mirror, MirrorReport, MlflowClient};

/// The tracking server: `--tracking-uri`, else `MLFLOW_TRACKING_URI`, else
/// the spec's `[tracking] mlflow`.
pub fn tracking_uri(flag: Option<&str>, prepared: &Prepared) -> Option<String> {
    flag.map(String::from)
        .or_else(|| std::env::var("MLFLOW_TRACKING_URI").ok().filter(|u| !u.is_empty()))
        .or_else(|| prepared.experiment.document.tracking.mlflow.clone())
}

pub fn client(uri: &str) -> MlflowClient {
    MlflowClient::new(uri, Credentials::from_env())
}

/// Tags of the parent run of one invocation.
fn parent_tags(prepared: &Prepared, command: &str) -> Vec<KeyValue> {
    let mut tags = vec![
        KeyValue::new("trendlab.command", command),
        KeyValue::new("trendlab.spec_hash", &prepared.experiment.spec_hash),
        KeyValue::new("trendlab.data_fingerprint", &prepared.panel.fingerprint),
        KeyValue::new("trendlab.version", trendlab_engine::TRENDLAB_VERSION),
        KeyValue::new("trendlab.device", "cpu"),
        KeyValue::new("trendlab.spec", prepared.experiment.file.display().to_string()),
    ];
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok());
    if let Some(host) = host.map(|h| h.trim().to_string()).filter(|h| !h.is_empty()) {
        tags.push(KeyValue::new("trendlab.host", host));
    }
    if let Some(commit) = git_commit(prepared.experiment.file.parent().unwrap_or(Path::new("."))) {
        tags.push(KeyValue::new("mlflow.source.git.commit", commit));
    }
    tags
}

/// The commit checked out where the spec lives, if it is in a git repository.
fn git_commit(dir: &Path) -> Option<String> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Connects and opens the parent run; an unreachable or failing server is
/// reported and returns `None` (the caller goes on with the local store).
pub fn connect_for(uri: &str, prepared: &Prepared, command: &str) -> Result<Mirror, String> {
    let mut mirror = Mirror::connect(client(uri), prepared.experiment.name()).map_err(|e| e.to_string())?;
    let name = format!("{command} {}", chrono::Utc::now().format("%Y-%m-%d %H:%M:%S"));
    mirror
        .start_parent(&name, parent_tags(prepared, command))
        .map_err(|e| e.to_string())?;
    Ok(mirror)
}

/// Prints what was mirrored; `true` when everything was.
pub fn print_report(uri: &str, report: &MirrorReport, spec: &Path, experiment_id: &str) -> bool {
    out!(
        "mlflow {uri} (experiment {experiment_id}): {} configurations mirrored, {} already there",
        report.mirrored,
        report.already_there
    );
    if report.not_mirrored.is_empty() {
        return true;
    }
    match &report.outage {
        Some(reason) => eprintln!("warning: MLflow went away ({reason})"),
        None => eprintln!("warning: MLflow refused some configurations"),
    }
    eprintln!(
        "warning: {} configurations not mirrored (they are in the local store):",
        report.not_mirrored.len()
    );
    for (label, reason) in report.not_mirrored.iter().take(10) {
        eprintln!("  {label}: {reason}");
    }
    if report.not_mirrored.len() > 10 {
        eprintln!("  ... and {} more", report.not_mirrored.len() - 10);
    }
    eprintln!("  run `trendlab sync {}` once the server is back", spec.display());
    false
}

/// The MLflow UI address of the mirror's parent run (for the report header).
pub fn parent_run_link(uri: &str, mirror: &Mirror) -> Option<String> {
    let parent = mirror.parent()?;
    Some(format!(
        "{}/#/experiments/{}/runs/{}",
        uri.trim_end_matches('/'),
        mirror.experiment_id(),
        parent.run_id
    ))
}
