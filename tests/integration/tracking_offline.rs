//! MLflow tracking without a server: an unreachable one at the start costs
//! no run, and `sync` says why it cannot mirror.

use crate::common::{free_port, quickstart_variant, stderr, stdout, trendlab};
use std::path::Path;

/// The quickstart under a fresh experiment name, with extra edits.
pub fn spec(dir: &Path, experiment: &str, edits: &[(&str, &str)]) -> String {
    let name = format!("name = \"{experiment}\"");
    let mut all = vec![("name = \"quickstart\"", name.as_str())];
    all.extend_from_slice(edits);
    quickstart_variant(dir, &all).to_str().unwrap().to_string()
}

#[test]
fn an_unreachable_server_at_start_costs_no_run() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), "unreachable", &[]);
    let uri = format!("http://127.0.0.1:{}", free_port());
    let out = trendlab(
        dir.path(),
        &["run", &spec, "--out", "out", "--quiet", "--tracking-uri", &uri],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("21 finished, 0 failed"));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "warning: not mirroring to MLflow: MLflow server {uri} is unreachable"
        )),
        "{err}"
    );
    assert!(dir.path().join("out/reports/unreachable/leaderboard.csv").exists());
    let sync = trendlab(dir.path(), &["sync", &spec, "--out", "out", "--tracking-uri", &uri]);
    assert_eq!(sync.status.code(), Some(1));
    assert!(
        stderr(&sync).contains("cannot sync: MLflow server"),
        "{}",
        stderr(&sync)
    );
}
