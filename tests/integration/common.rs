//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use trendlab_results::store::RunRecord;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A bundled dataset, by file name.
pub fn dataset(name: &str) -> PathBuf {
    repo().join("datasets").join(name)
}

/// Runs the trendlab binary in `cwd`.
pub fn trendlab(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trendlab"))
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("the trendlab binary runs")
}

/// `trendlab COMMAND experiments/quickstart.toml --out OUT` from the repository.
pub fn on_quickstart(command: &str, out: &Path) -> Output {
    trendlab(
        &repo(),
        &[command, "experiments/quickstart.toml", "--out", out.to_str().unwrap()],
    )
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("temp file is writable");
    path
}

/// The quickstart spec with `data.path` made absolute and `edit` applied
/// (a list of (old, new) text replacements), written to `dir/spec.toml`.
pub fn quickstart_variant(dir: &Path, edits: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(repo().join("experiments/quickstart.toml")).unwrap();
    let data = dataset("online_retail_weekly.csv");
    text = text.replace(
        "\"../datasets/online_retail_weekly.csv\"",
        &format!("{:?}", data.to_str().unwrap()),
    );
    for (old, new) in edits {
        assert!(text.contains(old), "quickstart has no `{old}`");
        text = text.replacen(old, new, 1);
    }
    write(dir, "spec.toml", &text)
}

/// Every file below `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a readable folder") {
        let path = entry.expect("a readable entry").path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Every run record of `experiment` under `out`, by model, fold and id.
pub fn records(out: &Path, experiment: &str) -> Vec<RunRecord> {
    let dir = out.join("runs").join(experiment);
    let mut all: Vec<RunRecord> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().join("run.json"))
        .filter(|path| path.exists())
        .map(|path| serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap())
        .collect();
    all.sort_by(|a, b| (&a.model, a.fold, &a.run_id).cmp(&(&b.model, b.fold, &b.run_id)));
    all
}

/// The stored forecasts file of run `run_id` of `experiment` under `out`.
pub fn stored_forecasts(out: &Path, experiment: &str, run_id: &str) -> Vec<u8> {
    let path = out.join("runs").join(experiment).join(run_id).join("forecasts.parquet");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `reports/<experiment>/leaderboard.csv` of `out` without its last column,
/// the measured fit seconds: what must not depend on how runs were spread.
pub fn leaderboard_without_timing(out: &Path, experiment: &str) -> Vec<String> {
    let path = out.join("reports").join(experiment).join("leaderboard.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
        .collect()
}

#[cfg(feature = "service-tests")]
pub fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests with scripts/test.sh, which installs and starts what they need (MLflow, Chromium)")
    })
}

/// A free local port (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A stored run's forecasts (`<run dir>/forecasts.parquet`) as the CSV
/// `trendlab export` writes.
pub fn forecasts_csv(run_dir: &Path) -> String {
    let run_id = run_dir.file_name().and_then(|n| n.to_str()).expect("a run folder");
    let table = trendlab_results::store::ForecastTable::from_parquet(&run_dir.join("forecasts.parquet"), run_id)
        .unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8(table.to_csv()).expect("UTF-8")
}

/// The chart data a report embeds (its `report-data` JSON block).
pub fn chart_data(html: &str) -> serde_json::Value {
    let start = html
        .find(r#"<script type="application/json" id="report-data">"#)
        .expect("the report embeds its chart data");
    let body = &html[start..];
    let body = &body[body.find('>').unwrap() + 1..];
    serde_json::from_str(&body[..body.find("</script>").unwrap()]).expect("the chart data is JSON")
}

/// A JSON file, parsed.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
