//! Scale-out without a cluster: work manifests and `trendlab work` (by
//! index, shard and the array variables) and concurrent workers on one unit.
//! The Kubernetes and Slurm tests are in `cluster_services`.

use crate::common::{leaderboard_without_timing, quickstart_variant, records, repo, stderr, stdout, trendlab};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use trendlab_results::{Group, Manifest};

fn write_manifest(dir: &Path, spec: &Path) -> (PathBuf, Manifest) {
    let path = dir.join("plan.json");
    let o = trendlab(
        dir,
        &["plan", spec.to_str().unwrap(), "--manifest", path.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let manifest = Manifest::read(&path).unwrap();
    (path, manifest)
}

/// Run ids of `plan --json`, configuration by configuration.
fn planned_ids(dir: &Path, spec: &Path) -> BTreeSet<String> {
    let o = trendlab(dir, &["plan", spec.to_str().unwrap(), "--json"]);
    let plan: Value = serde_json::from_slice(&o.stdout).unwrap();
    plan["configs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| {
            let runs = c["runs"].as_array().unwrap().iter();
            runs.chain(c["validation_runs"].as_array().unwrap().iter())
                .map(|r| r["id"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn work_units_by_shard_fill_the_store_as_a_local_run_does() {
    let dir = tempfile::tempdir().unwrap();
    let spec = quickstart_variant(dir.path(), &[]);
    let (manifest_path, manifest) = write_manifest(dir.path(), &spec);
    // One unit per run (7 configurations x 3 folds), all classical.
    let listed: BTreeSet<String> = manifest.units.iter().flat_map(|u| u.runs.clone()).collect();
    assert_eq!(listed, planned_ids(dir.path(), &spec));
    assert_eq!(manifest.units.len(), 21);
    assert!(
        manifest
            .units
            .iter()
            .all(|u| u.runs.len() == 1 && u.group == Group::Classical)
    );
    assert_eq!(manifest.groups.len(), 1);
    assert_eq!(manifest.groups[0].indexes(), 0..21);
    assert_eq!(
        manifest.spec,
        PathBuf::from("spec.toml"),
        "the spec is relative to the manifest"
    );
    // Two workers, each every other unit.
    for shard in ["0/2", "1/2"] {
        let o = trendlab(
            dir.path(),
            &["work", "plan.json", "--shard", shard, "--out", "cluster", "--quiet"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = trendlab(
        dir.path(),
        &["run", spec.to_str().unwrap(), "--out", "local", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = trendlab(dir.path(), &["report", spec.to_str().unwrap(), "--out", "cluster"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (cluster, local) = (dir.path().join("cluster"), dir.path().join("local"));
    assert_eq!(
        leaderboard_without_timing(&cluster, "quickstart"),
        leaderboard_without_timing(&local, "quickstart")
    );
    for record in records(&local, "quickstart") {
        let path = Path::new("runs/quickstart")
            .join(&record.run_id)
            .join("forecasts.parquet");
        assert_eq!(
            std::fs::read(cluster.join(&path)).unwrap(),
            std::fs::read(local.join(&path)).unwrap()
        );
    }
    // A second pass finds every run finished.
    let o = trendlab(dir.path(), &["work", "plan.json", "--shard", "0/2", "--out", "cluster"]);
    assert!(stdout(&o).contains("11 runs: 11 skipped"), "{}", stdout(&o));
    // The array variables pick the unit; --offset shifts them.
    let o = Command::new(env!("CARGO_BIN_EXE_trendlab"))
        .current_dir(dir.path())
        .args(["work", manifest_path.to_str().unwrap(), "--offset", "5", "--out", "env"])
        .env("SLURM_ARRAY_TASK_ID", "2")
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("unit 7 ({})", manifest.units[7].label)),
        "{}",
        stdout(&o)
    );
    let stored = records(&dir.path().join("env"), "quickstart");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].run_id, manifest.units[7].runs[0]);
    let o = Command::new(env!("CARGO_BIN_EXE_trendlab"))
        .current_dir(dir.path())
        .args(["work", "plan.json", "--out", "k8s"])
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env("JOB_COMPLETION_INDEX", "20")
        .output()
        .unwrap();
    assert!(stdout(&o).contains("unit 20 ("), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn manifests_group_units_by_what_they_need() {
    let dir = tempfile::tempdir().unwrap();
    // ARIMA reusing its first fold's orders: all folds in one unit, in order.
    let (_, arima) = write_manifest(dir.path(), &repo().join("experiments/arima_weekly.toml"));
    let reusing: Vec<_> = arima
        .units
        .iter()
        .filter(|u| u.label.contains("reuse_order=true"))
        .collect();
    assert_eq!(reusing.len(), 1);
    assert_eq!(reusing[0].runs.len(), 3);
    assert!(reusing[0].label.ends_with("all folds"), "{}", reusing[0].label);
    let searching = arima
        .units
        .iter()
        .filter(|u| u.label.contains("reuse_order=false"))
        .count();
    assert_eq!(searching, 3, "one unit per fold");
    // Ensembles come last, after the units of the runs they read.
    let (_, ensemble) = write_manifest(dir.path(), &repo().join("experiments/ensemble_retail.toml"));
    let range = ensemble.group(Group::Ensembles).unwrap();
    assert_eq!(range.first + range.count, ensemble.units.len());
    for unit in &ensemble.units[range.indexes()] {
        assert!(!unit.after.is_empty());
        assert!(unit.after.iter().all(|&u| u < range.first));
    }
    // A worker on an ensemble unit started before its members' runs are
    // stored fails retryably (exit 1, not 3) and stores nothing; with
    // --wait-for-reads it waits first, then says the same.
    let first = range.first.to_string();
    for wait in [None, Some("0")] {
        let mut args = vec!["work", "plan.json", "--index", &first, "--out", "empty"];
        args.extend(wait.map(|s| ["--wait-for-reads", s]).into_iter().flatten());
        let o = trendlab(dir.path(), &args);
        assert_eq!(o.status.code(), Some(1), "{wait:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("runs this unit reads are not stored in")
                && stderr(&o).contains("run the units they come from first, or give --wait-for-reads"),
            "{}",
            stderr(&o)
        );
        assert!(!dir.path().join("empty/runs").exists(), "nothing stored");
    }
    let lstm = write_manifest(dir.path(), &repo().join("experiments/lstm_retail.toml")).1;
    assert!(lstm.units.iter().any(|u| u.group == Group::Neural));
}

#[test]
fn work_refuses_a_stale_manifest_and_a_missing_unit() {
    let dir = tempfile::tempdir().unwrap();
    let spec = quickstart_variant(dir.path(), &[]);
    write_manifest(dir.path(), &spec);
    let o = trendlab(dir.path(), &["work", "plan.json", "--index", "21"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no unit 21 (it has units 0 to 20)"),
        "{}",
        stderr(&o)
    );
    let o = Command::new(env!("CARGO_BIN_EXE_trendlab"))
        .current_dir(dir.path())
        .args(["work", "plan.json"])
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .unwrap();
    assert!(stderr(&o).contains("which unit?"), "{}", stderr(&o));
    // The grid changes after the manifest was written.
    let text = std::fs::read_to_string(&spec)
        .unwrap()
        .replace("[0.1, 1.0, 10.0]", "[0.1, 1.0]");
    std::fs::write(&spec, text).unwrap();
    let o = trendlab(dir.path(), &["work", "plan.json", "--index", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("changed since this manifest was written (3 of its runs are no longer planned)"),
        "{}",
        stderr(&o)
    );
    std::fs::write(dir.path().join("bad.json"), "{\"format\": 1, \"units\": [}").unwrap();
    let o = trendlab(dir.path(), &["work", "bad.json", "--index", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.json:1:"), "{}", stderr(&o));
}

#[test]
fn concurrent_workers_on_one_unit_leave_one_valid_result() {
    let dir = tempfile::tempdir().unwrap();
    let spec = quickstart_variant(dir.path(), &[]);
    let (_, manifest) = write_manifest(dir.path(), &spec);
    let unit = manifest.units.iter().find(|u| u.label.starts_with("ridge")).unwrap();
    let reference = dir.path().join("reference");
    let index = unit.index.to_string();
    let o = trendlab(
        dir.path(),
        &["work", "plan.json", "--index", &index, "--out", "reference"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for round in 0..4 {
        let out = format!("race{round}");
        let workers: Vec<_> = (0..2)
            .map(|_| {
                Command::new(env!("CARGO_BIN_EXE_trendlab"))
                    .current_dir(dir.path())
                    .args(["work", "plan.json", "--index", &index, "--out", &out, "--quiet"])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for worker in workers {
            let o = worker.wait_with_output().unwrap();
            assert!(o.status.success(), "{}", stderr(&o));
        }
        let run_dir = Path::new("runs/quickstart").join(&unit.runs[0]);
        let mut files: Vec<String> = std::fs::read_dir(dir.path().join(&out).join(&run_dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                "forecasts.parquet",
                "metrics.json",
                "run.json",
                "series_metrics.parquet"
            ],
            "no temporary file is left"
        );
        let stored = records(&dir.path().join(&out), "quickstart");
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].status, trendlab_results::RunStatus::Finished);
        for file in ["forecasts.parquet", "series_metrics.parquet", "metrics.json"] {
            assert_eq!(
                std::fs::read(dir.path().join(&out).join(&run_dir).join(file)).unwrap(),
                std::fs::read(reference.join(&run_dir).join(file)).unwrap()
            );
        }
    }
}
