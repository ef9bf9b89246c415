//! Series shards: `plan --manifest --series-shards N` splits each run of a
//! family that fits series one by one into N units; workers store their
//! parts and the last one merges them into the run a local run stores.

use crate::common::{leaderboard_without_timing, records, repo, stderr, trendlab, write};
use std::collections::BTreeMap;
use std::path::Path;
use trendlab_results::Manifest;

/// The weekly ARIMA experiment cut to auto-ARIMA (searching every fold, and
/// reusing the first fold's orders), the naive baseline and a global ridge.
fn spec(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo().join("experiments/arima_weekly.toml")).unwrap();
    let data = repo().join("datasets/online_retail_weekly.csv");
    let head = text.split("[[models]]\nname = \"mean\"").next().unwrap();
    let text = head.replace(
        "\"../datasets/online_retail_weekly.csv\"",
        &format!("{:?}", data.to_str().unwrap()),
    ) + "[[models]]\nname = \"auto_arima\"\nfamily = \"arima\"\nauto = true\n[models.grid]\nreuse_order = [false, true]\n\n\
           [[models]]\nname = \"ridge\"\nfamily = \"linear\"\n\n[features]\nlags = [1, 2]\n";
    write(dir, "spec.toml", &text)
}

#[test]
fn series_shards_merge_into_the_runs_of_a_local_run() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path());
    let o = trendlab(
        dir.path(),
        &[
            "plan",
            spec.to_str().unwrap(),
            "--manifest",
            "plan.json",
            "--series-shards",
            "8",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let manifest = Manifest::read(&dir.path().join("plan.json")).unwrap();
    // naive: 3 folds x 8 shards; auto-ARIMA searching: 3 x 8; reusing the
    // first fold's orders: one unit of all folds per shard; ridge learns
    // across series: 3 whole units.
    let mut shards: BTreeMap<String, usize> = BTreeMap::new();
    for unit in &manifest.units {
        let model = unit.label.split(['[', ' ']).next().unwrap().to_string();
        assert_eq!(unit.series.is_some(), model != "ridge", "{}", unit.label);
        *shards.entry(model).or_default() += 1;
    }
    assert_eq!(
        shards,
        BTreeMap::from([("auto_arima".into(), 24 + 8), ("naive".into(), 24), ("ridge".into(), 3)])
    );
    // Three workers, each a third of the units, one after the other.
    for worker in ["0/3", "1/3", "2/3"] {
        let o = trendlab(
            dir.path(),
            &["work", "plan.json", "--shard", worker, "--out", "cluster", "--quiet"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = trendlab(
        dir.path(),
        &["run", spec.to_str().unwrap(), "--out", "local", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // The parts were merged: every run is stored, nothing left to run.
    let o = trendlab(
        dir.path(),
        &["run", spec.to_str().unwrap(), "--out", "cluster", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("12 skipped (already finished)"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let (cluster, local) = (dir.path().join("cluster"), dir.path().join("local"));
    assert_eq!(
        leaderboard_without_timing(&cluster, "arima-weekly"),
        leaderboard_without_timing(&local, "arima-weekly")
    );
    // Byte for byte: the forecasts, the metrics, the per-series metrics; the
    // records but for timing.
    for record in records(&local, "arima-weekly") {
        let run = Path::new("runs/arima-weekly").join(&record.run_id);
        for file in ["forecasts.parquet", "series_metrics.parquet", "metrics.json"] {
            assert_eq!(
                std::fs::read(cluster.join(&run).join(file)).unwrap(),
                std::fs::read(local.join(&run).join(file)).unwrap(),
                "{} {file}",
                record.model
            );
        }
        // The parts are gone once merged into the run.
        assert!(
            !cluster.join(&run).join("shards").exists(),
            "{}: shards/ left",
            record.model
        );
        let merged = records(&cluster, "arima-weekly")
            .into_iter()
            .find(|r| r.run_id == record.run_id)
            .unwrap();
        assert_eq!(
            (&merged.chosen, &merged.failed_series, merged.series, merged.status),
            (&record.chosen, &record.failed_series, record.series, record.status),
            "{}",
            record.model
        );
    }
}
