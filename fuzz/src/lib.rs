//! What the fuzz targets share: a scratch folder per process, where a
//! target writes the bytes it was given as a file (the loaders read files,
//! as users' data arrive), and the specs the data targets load with.
//!
//! Every target calls the same library functions the CLI calls; a panic,
//! an abort, a hang or runaway memory is a finding (libFuzzer stops and
//! keeps the input). An `Err` is the expected outcome for most inputs.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// This process's scratch folder (under the system's temporary folder).
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("trendlab-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        dir
    })
}

/// Writes `bytes` to `name` in the scratch folder; returns its path.
pub fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch().join(name);
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).expect("scratch folder");
    }
    std::fs::write(&path, bytes).expect("scratch file");
    path
}

/// A spec over the data file `data` with `data_keys` in `[data]` (and
/// whatever sections or models `extra` adds at its end), written once per process under `name`.
pub fn spec(name: &str, data: &str, data_keys: &str, extra: &str) -> PathBuf {
    let text = format!(
        r#"[experiment]
name = "fuzz"
seed = 1

[data]
path = "{data}"
{data_keys}

[evaluation]
horizon = 2
folds = 2
step = 1
min_train = 3
metrics = ["mae", "mase"]

[[models]]
name = "naive"
family = "naive"

{extra}
"#
    );
    write(name, text.as_bytes())
}

/// Loads `spec` and its data the way `validate` and `run` do, and reads
/// every fold's windows (the backtest the data must fit).
pub fn prepare(spec: &Path) {
    if let Ok(prepared) = trendlab_results::prepare(spec) {
        for fold in &prepared.backtest.folds {
            let _ = prepared.windows(fold);
        }
    }
}
