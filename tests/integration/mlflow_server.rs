//! MLflow servers for the tracking tests: the shared one that
//! `scripts/test.sh` starts, and private ones a test can stop and restart.

use crate::common::{free_port, required_env};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server started by scripts/test.sh.
pub fn shared_uri() -> String {
    required_env("TRENDLAB_TEST_MLFLOW_URI")
}

/// A name no other test (or earlier test run against the same server) uses.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

fn healthy(uri: &str) -> bool {
    ureq::get(&format!("{uri}/health"))
        .call()
        .is_ok_and(|r| r.status() == 200)
}

/// A server of this test's own, on its own port and storage.
pub struct PrivateServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl PrivateServer {
    pub fn start() -> Self {
        let mut server = PrivateServer {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
        };
        server.launch();
        server
    }

    pub fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn launch(&mut self) {
        let dir: &Path = self.dir.path();
        let child = Command::new(required_env("TRENDLAB_MLFLOW_BIN"))
            .args(["server", "--backend-store-uri"])
            .arg(format!("sqlite:///{}", dir.join("mlflow.db").display()))
            .arg("--artifacts-destination")
            .arg(dir.join("artifacts"))
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--workers",
                "1",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("mlflow starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(120);
        while !healthy(&self.uri()) {
            assert!(
                Instant::now() < deadline,
                "private mlflow server did not answer /health in 120 s"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Stops the server and its workers (the whole process group).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and storage.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        self.stop();
    }
}
