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

/// A server that accepts connections and never answers (a hung proxy, a
/// stopped process behind a live socket): the first contact gives up
/// within seconds, the grid runs and is stored, and the warning says why.
#[test]
fn a_server_that_never_answers_costs_seconds_not_the_grid() {
    use std::time::{Duration, Instant};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    // Accepts and holds every connection, reading and writing nothing, until the test ends.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(64) {
            held.push(stream);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), "blackhole", &[]);
    let started = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_trendlab"))
        .current_dir(dir.path())
        .args(["run", &spec, "--out", "out", "--quiet", "--tracking-uri", &uri])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A hang guard, not a speed measurement: the old client waited minutes.
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            panic!("trendlab run still waits on a server that never answers after 30 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("21 finished, 0 failed"), "{}", stdout(&out));
    assert!(
        stderr(&out).contains(&format!(
            "warning: not mirroring to MLflow: MLflow server {uri} is unreachable: no answer within 5 s"
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(crate::common::records(&dir.path().join("out"), "blackhole").len(), 21);
}
