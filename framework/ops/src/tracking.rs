//! MLflow for the operations: which server (flag, environment, spec),
//! connecting without ever failing a run, and the parent run's tags.

use std::path::Path;
use trendlab_results::Prepared;
use trendlab_tracking::client::KeyValue;
use trendlab_tracking::{Credentials, Mirror, MlflowClient};

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
pub(crate) fn parent_tags(prepared: &Prepared, command: &str) -> Vec<KeyValue> {
    let mut tags = vec![
        KeyValue::new("trendlab.command", command),
        KeyValue::new("trendlab.spec_hash", &prepared.experiment.spec_hash),
        KeyValue::new("trendlab.data_fingerprint", &prepared.panel.fingerprint),
        KeyValue::new("trendlab.version", trendlab_results::TRENDLAB_VERSION),
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

/// Connects and opens the parent run of `command`; the error says why the
/// server cannot be used (the caller goes on with the local store).
pub fn connect_for(uri: &str, prepared: &Prepared, command: &str) -> Result<Mirror, String> {
    let mut mirror = Mirror::connect(client(uri), prepared.experiment.name()).map_err(|e| e.to_string())?;
    let name = format!("{command} {}", chrono::Utc::now().format("%Y-%m-%d %H:%M:%S"));
    mirror
        .start_parent(&name, parent_tags(prepared, command))
        .map_err(|e| e.to_string())?;
    Ok(mirror)
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

/// What one operation mirrored to MLflow.
#[derive(Debug, Clone)]
pub struct Mirrored {
    pub uri: String,
    pub experiment_id: String,
    pub report: trendlab_tracking::MirrorReport,
}

impl Mirrored {
    pub(crate) fn of(uri: &str, mirror: &Mirror) -> Mirrored {
        Mirrored {
            uri: uri.to_string(),
            experiment_id: mirror.experiment_id().to_string(),
            report: mirror.report(),
        }
    }

    /// Whether every configuration reached the server.
    pub fn complete(&self) -> bool {
        self.report.not_mirrored.is_empty()
    }
}
