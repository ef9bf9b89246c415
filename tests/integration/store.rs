//! The run store: atomic writes, skip on rerun, failed runs, determinism.

use crate::common::{files_under, leaderboard_without_timing, quickstart_variant, records, stderr, stdout, trendlab};
use std::path::{Path, PathBuf};
use trendlab_ops::Workspace;
use trendlab_results::store::{RunRecord, RunStatus, write_atomic};

fn leftover_temp_files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect()
}

#[test]
fn atomic_write_replaces_whole_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    write_atomic(&path, b"first").unwrap();
    write_atomic(&path, b"second").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"second");
    assert!(leftover_temp_files(dir.path()).is_empty());
    let e = write_atomic(&dir.path().join("missing/run.json"), b"x").unwrap_err();
    assert!(e.to_string().contains("missing/run.json"), "{e}");
}

#[test]
fn rerun_skips_finished_runs_and_force_reruns_them() {
    let dir = tempfile::tempdir().unwrap();
    let spec = quickstart_variant(dir.path(), &[]);
    let spec = spec.to_str().unwrap();
    let out = dir.path().join("out");
    let out_arg = out.to_str().unwrap();
    let first = trendlab(dir.path(), &["run", spec, "--out", out_arg, "--quiet"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("21 runs planned: 0 skipped (already finished), 21 finished, 0 failed"),
        "{}",
        stdout(&first)
    );
    assert!(leftover_temp_files(&out).is_empty());
    let before = records(&out, "quickstart");
    assert_eq!(before.len(), 21);

    let second = trendlab(dir.path(), &["run", spec, "--out", out_arg, "--quiet"]);
    assert!(
        stdout(&second).contains("21 runs planned: 21 skipped (already finished), 0 finished, 0 failed"),
        "{}",
        stdout(&second)
    );
    assert_eq!(records(&out, "quickstart"), before, "skipped runs are not rewritten");

    // A run whose record was never written (a crash mid-run) is not finished.
    let victim = &before[0].run_id;
    std::fs::remove_file(out.join("runs/quickstart").join(victim).join("run.json")).unwrap();
    let third = trendlab(dir.path(), &["run", spec, "--out", out_arg, "--quiet"]);
    assert!(
        stdout(&third).contains("20 skipped (already finished), 1 finished"),
        "{}",
        stdout(&third)
    );

    let forced = trendlab(
        dir.path(),
        &["run", spec, "--out", out_arg, "--quiet", "--force", "--jobs", "2"],
    );
    assert!(
        stdout(&forced).contains("0 skipped (already finished), 21 finished"),
        "{}",
        stdout(&forced)
    );
}

#[test]
fn same_spec_and_seed_give_identical_forecasts_and_leaderboards() {
    let dir = tempfile::tempdir().unwrap();
    let spec = quickstart_variant(dir.path(), &[]);
    for (out, jobs) in [("a", "1"), ("b", "2")] {
        let o = trendlab(
            dir.path(),
            &["run", spec.to_str().unwrap(), "--out", out, "--quiet", "--jobs", jobs],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for record in records(&a, "quickstart") {
        for file in ["forecasts.parquet", "series_metrics.parquet", "metrics.json"] {
            let path = Path::new("runs/quickstart").join(&record.run_id).join(file);
            assert_eq!(
                std::fs::read(a.join(&path)).unwrap(),
                std::fs::read(b.join(&path)).unwrap(),
                "{}",
                path.display()
            );
        }
    }
    // The leaderboard agrees on everything but the measured fit seconds.
    assert_eq!(
        leaderboard_without_timing(&a, "quickstart"),
        leaderboard_without_timing(&b, "quickstart")
    );
}

#[test]
fn a_failing_configuration_is_recorded_and_the_grid_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    // Training has 28, 36 and 44 weeks in the three folds: a 40-week
    // season fails the first two, on every series, which the fallback
    // does not fill in (the run would be the fallback's, not the model's).
    let spec = quickstart_variant(dir.path(), &[("season = 4", "season = 40")]);
    let run = |force: bool| {
        let mut args = vec!["run", spec.to_str().unwrap(), "--out", "out", "--quiet"];
        if force {
            args.push("--force");
        }
        trendlab(dir.path(), &args)
    };
    let out = run(false);
    assert_eq!(out.status.code(), Some(1), "failed runs give exit code 1");
    assert!(
        stdout(&out).contains("21 runs planned: 0 skipped (already finished), 19 finished, 2 failed"),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("failed: snaive4 fold 0"), "{}", stderr(&out));
    let failed: Vec<RunRecord> = records(&dir.path().join("out"), "quickstart")
        .into_iter()
        .filter(|r| r.status == RunStatus::Failed)
        .collect();
    assert_eq!(failed.len(), 2);
    assert_eq!(
        failed[0].error.as_deref(),
        Some("all 200 series failed; the first: series `15036` has 28 training periods; this model needs at least 40")
    );
    assert!(
        !dir.path()
            .join("out/runs/quickstart")
            .join(&failed[0].run_id)
            .join("metrics.json")
            .exists()
    );

    let board: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/reports/quickstart/leaderboard.json")).unwrap())
            .unwrap();
    let rows = board["rows"].as_array().unwrap();
    let snaive = rows.iter().find(|r| r["model"] == "snaive4").unwrap();
    assert!(snaive["rank"].is_null(), "an incomplete configuration is not ranked");
    assert_eq!(snaive["folds_finished"], 1);
    assert_eq!(rows.iter().filter(|r| r["rank"].is_number()).count(), 6);
    assert_eq!(rows.last().unwrap()["model"], "snaive4", "unranked rows come last");

    // Failed runs are retried on the next invocation; finished ones are not.
    let again = run(false);
    assert!(
        stdout(&again).contains("19 skipped (already finished), 0 finished, 2 failed"),
        "{}",
        stdout(&again)
    );
}

/// A damaged run store repairs itself: `report` names the damaged runs (a
/// file of another run copied over a run's, a renamed metric column too) and
/// renders the rest (exit 1); `run` moves them aside, kept for inspection,
/// recomputes only them, and gets the same leaderboard; a temporary file
/// left by a write that died is swept when its run is written again.
#[test]
fn damaged_runs_are_reported_moved_aside_and_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    let spec = quickstart_variant(dir.path(), &[]);
    let spec = spec.to_str().unwrap();
    let out = trendlab(dir.path(), &["run", spec, "--out", "out", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let before = leaderboard_without_timing(&dir.path().join("out"), "quickstart");
    let runs = dir.path().join("out/runs/quickstart");
    let ids: Vec<String> = records(&dir.path().join("out"), "quickstart")
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    let (garbage, no_forecasts, crashed, truncated) = (&ids[0], &ids[1], &ids[2], &ids[3]);
    let (swapped, renamed) = (&ids[4], &ids[5]);
    std::fs::copy(
        runs.join(&ids[6]).join("forecasts.parquet"),
        runs.join(swapped).join("forecasts.parquet"),
    )
    .unwrap();
    // A metric column renamed (a CSV round trip, a hand edit).
    let values = Workspace::open(Path::new(spec), &dir.path().join("out"))
        .unwrap()
        .store
        .series_metrics(renamed)
        .unwrap();
    let values: trendlab_results::store::SeriesMetrics = values
        .into_iter()
        .map(|(id, m)| (id, m.into_iter().map(|(k, v)| (k.replace("mase", "msae"), v)).collect()))
        .collect();
    std::fs::write(
        runs.join(renamed).join("series_metrics.parquet"),
        trendlab_results::store::columns::series_metrics_to_parquet(&values, renamed),
    )
    .unwrap();
    std::fs::write(runs.join(garbage).join("metrics.json"), "{ this is not json").unwrap();
    std::fs::remove_file(runs.join(no_forecasts).join("forecasts.parquet")).unwrap();
    // A Parquet file cut short (a full disk, a copy that stopped).
    let parquet = runs.join(truncated).join("series_metrics.parquet");
    let bytes = std::fs::read(&parquet).unwrap();
    std::fs::write(&parquet, &bytes[..bytes.len() * 2 / 3]).unwrap();
    // A write that died before its record: no run.json, an old temporary file.
    std::fs::remove_file(runs.join(crashed).join("run.json")).unwrap();
    let stale = runs.join(crashed).join(".forecasts.parquet.4242.0.tmp");
    std::fs::write(&stale, "half a file").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(old)
        .unwrap();

    let report = trendlab(dir.path(), &["report", spec, "--out", "out"]);
    assert_eq!(report.status.code(), Some(1), "{}", stderr(&report));
    let err = stderr(&report);
    for id in [garbage, no_forecasts, truncated, swapped, renamed] {
        assert!(
            err.contains(&format!("warning: run {id} is damaged and left out of the report")),
            "{err}"
        );
    }
    assert!(
        err.contains(&format!("holds the results of run {}, not of run {swapped}", ids[6])),
        "{err}"
    );
    assert!(
        err.contains("no values of `mase`, which metrics.json averages"),
        "{err}"
    );
    assert!(
        err.contains("series_metrics.parquet"),
        "the damaged file is named: {err}"
    );
    assert!(err.contains("`trendlab run"), "{err}");
    assert!(dir.path().join("out/reports/quickstart/index.html").is_file());

    let again = trendlab(dir.path(), &["run", spec, "--out", "out", "--quiet"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("21 runs planned: 15 skipped (already finished), 6 finished, 0 failed"),
        "{}",
        stdout(&again)
    );
    let err = stderr(&again);
    for id in [garbage, no_forecasts, truncated, swapped, renamed] {
        assert!(err.contains(&format!("warning: run {id} was damaged (")), "{err}");
        let kept: Vec<_> = std::fs::read_dir(runs.join("damaged"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(id.as_str()))
            .collect();
        assert_eq!(kept.len(), 1, "the damaged folder of {id} is kept");
    }
    assert_eq!(
        std::fs::read_to_string(
            runs.join("damaged")
                .join(
                    std::fs::read_dir(runs.join("damaged"))
                        .unwrap()
                        .map(|e| e.unwrap().file_name())
                        .find(|n| n.to_string_lossy().starts_with(garbage.as_str()))
                        .unwrap()
                )
                .join("metrics.json")
        )
        .unwrap(),
        "{ this is not json"
    );
    assert!(!stale.exists(), "the stale temporary file is swept");
    assert_eq!(
        leaderboard_without_timing(&dir.path().join("out"), "quickstart"),
        before
    );
    let report = trendlab(dir.path(), &["report", spec, "--out", "out"]);
    assert_eq!(report.status.code(), Some(0), "{}", stderr(&report));
}

/// `trendlab export`: every finished run's forecasts and per-series metrics
/// as CSV, the same values as the store's Parquet files.
#[test]
fn export_writes_the_stored_columns_as_csv() {
    let dir = tempfile::tempdir().unwrap();
    let spec = quickstart_variant(dir.path(), &[]);
    let spec = spec.to_str().unwrap();
    let o = trendlab(dir.path(), &["run", spec, "--out", "out", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = trendlab(dir.path(), &["export", spec, "--out", "out"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("exported 21 finished run(s)"), "{}", stdout(&o));
    let out = dir.path().join("out");
    let store = trendlab_results::RunStore::new(&out, "quickstart");
    for record in records(&out, "quickstart") {
        let exported = out.join("exports/quickstart").join(&record.run_id);
        let csv = std::fs::read_to_string(exported.join("forecasts.csv")).unwrap();
        assert_eq!(csv, crate::common::forecasts_csv(&store.run_dir(&record.run_id)));
        assert!(csv.starts_with("series_id,fold,cutoff,date,step,actual,forecast"));
        let metrics = std::fs::read_to_string(exported.join("series_metrics.csv")).unwrap();
        let stored = store.series_metrics(&record.run_id).unwrap();
        let mut lines = metrics.lines();
        assert_eq!(lines.next(), Some("series_id,mae,mase,rmse,smape"));
        for (line, (id, values)) in lines.zip(&stored) {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells[0], id);
            assert_eq!(cells[1].parse::<f64>().unwrap(), values["mae"], "{id}");
        }
        assert_eq!(metrics.lines().count(), 1 + stored.len());
    }
}
