//! Scale-out on real tools (feature `service-tests`): Kubernetes Indexed
//! Jobs checked against the Kubernetes schema by kubernetes-validate, and
//! Slurm job arrays on the single-node cluster started by scripts/test.sh.

use crate::common::{
    leaderboard_without_timing, quickstart_variant, records, repo, required_env, stderr, stdout, trendlab,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};
use trendlab_results::{Group, Manifest};

/// `kubernetes-validate` from the virtualenv of scripts/test.sh.
fn kubernetes_validate() -> String {
    required_env("TRENDLAB_KUBERNETES_VALIDATE")
}

/// YAML documents as JSON, read by PyYAML (installed with kubernetes-validate).
fn yaml_documents(path: &Path) -> Vec<Value> {
    let python = Path::new(&kubernetes_validate()).with_file_name("python");
    let o = Command::new(python)
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
            path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// `target` (absolute) as a path relative to `dir` (absolute).
fn relative_from(dir: &Path, target: &Path) -> PathBuf {
    let up = dir.components().skip(1).map(|_| "..");
    up.collect::<PathBuf>().join(target.strip_prefix("/").unwrap())
}

#[test]
fn kubernetes_indexed_jobs_pass_the_schema_and_cover_every_unit() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("jobs.yaml");
    // Ensembles and their members; the LSTM spec adds the neural group on GPUs.
    for (name, experiment, gpus) in [
        ("ensemble_retail", "ensemble-retail", "0"),
        ("lstm_retail", "lstm-retail", "1"),
    ] {
        let spec = relative_from(dir.path(), &repo().join(format!("experiments/{name}.toml")));
        let o = Command::new(env!("CARGO_BIN_EXE_trendlab"))
            .current_dir(dir.path())
            .args(["k8s", "manifest"])
            .arg(&spec)
            .args([
                "--image",
                "registry.example/trendlab:0.1",
                "--gpus",
                gpus,
                "--parallelism",
                "8",
                "--output",
            ])
            .arg(&yaml)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let o = Command::new(kubernetes_validate())
            .args(["--strict", "--kubernetes-version", "1.33", yaml.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(o.status.success(), "{name}: {}{}", stdout(&o), stderr(&o));
        let jobs = yaml_documents(&yaml);
        let manifest = Manifest::read(&dir.path().join("runs").join(experiment).join("k8s/plan.json")).unwrap();
        assert_eq!(jobs.len(), manifest.groups.len());
        let mut covered = Vec::new();
        for (job, range) in jobs.iter().zip(&manifest.groups) {
            let spec = &job["spec"];
            assert_eq!(spec["completionMode"], "Indexed");
            assert_eq!(spec["completions"], range.count);
            assert!(spec["backoffLimitPerIndex"].as_u64().is_some());
            let container = &spec["template"]["spec"]["containers"][0];
            let args: Vec<&str> = container["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            let offset = args.iter().position(|a| *a == "--offset").unwrap();
            assert_eq!(args[offset + 1], range.first.to_string());
            assert!(
                args[1].starts_with("/workspace/") && args[1].ends_with("k8s/plan.json"),
                "{args:?}"
            );
            let gpu = &container["resources"]["limits"]["nvidia.com/gpu"];
            assert_eq!(
                gpu.is_string(),
                range.group == Group::Neural && gpus == "1",
                "{}",
                range.group.name()
            );
            assert_eq!(args.contains(&"--wait-for-reads"), range.group == Group::Ensembles);
            covered.extend(range.indexes());
        }
        assert_eq!(covered, (0..manifest.units.len()).collect::<Vec<_>>());
    }
}

/// `slurm status --json` once no unit is pending or running.
fn settled_status(dir: &Path, spec: &Path, out: &Path) -> Value {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let o = trendlab(
            dir,
            &[
                "slurm",
                "status",
                spec.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--json",
            ],
        );
        let status: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", stderr(&o)));
        let busy = status["counts"]["running"].as_u64().unwrap() + status["counts"]["pending"].as_u64().unwrap();
        if busy == 0 {
            return status;
        }
        assert!(Instant::now() < deadline, "slurm tasks still busy: {status}");
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The report of the runs the cluster stored under `dir/cluster` renders,
/// and its leaderboard equals a local run's (`dir/local`) but for timing.
fn assert_cluster_matches_a_local_run(dir: &Path, spec: &Path, experiment: &str) {
    let o = trendlab(dir, &["report", spec.to_str().unwrap(), "--out", "cluster"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = trendlab(dir, &["run", spec.to_str().unwrap(), "--out", "local", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        leaderboard_without_timing(&dir.join("cluster"), experiment),
        leaderboard_without_timing(&dir.join("local"), experiment)
    );
}

fn run_json_times(out: &Path) -> BTreeMap<String, SystemTime> {
    records(out, "quickstart")
        .into_iter()
        .map(|r| {
            let path = out.join("runs/quickstart").join(&r.run_id).join("run.json");
            (r.run_id, std::fs::metadata(path).unwrap().modified().unwrap())
        })
        .collect()
}

#[test]
fn slurm_arrays_match_a_local_run_and_resubmit_only_the_killed_task() {
    required_env("SLURM_CONF");
    let dir = tempfile::tempdir().unwrap();
    let spec = quickstart_variant(dir.path(), &[]);
    let out = dir.path().join("cluster");
    // Held, so one task can be killed before it runs.
    let o = trendlab(
        dir.path(),
        &[
            "slurm",
            "submit",
            spec.to_str().unwrap(),
            "--out",
            "cluster",
            "--throttle",
            "2",
            "--hold",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("--array=0-20%2"), "{}", stdout(&o));
    let ledger: Value =
        serde_json::from_slice(&std::fs::read(out.join("runs/quickstart/slurm/submissions.json")).unwrap()).unwrap();
    let job = ledger["submissions"][0]["job_id"].as_str().unwrap().to_string();
    let killed = 5;
    let scancel = Command::new("scancel").arg(format!("{job}_{killed}")).output().unwrap();
    assert!(scancel.status.success(), "{}", stderr(&scancel));
    let release = Command::new("scontrol").args(["release", &job]).output().unwrap();
    assert!(release.status.success(), "{}", stderr(&release));

    let status = settled_status(dir.path(), &spec, &out);
    assert_eq!(status["counts"]["done"], 20, "{status}");
    assert_eq!(status["counts"]["failed"], 1, "{status}");
    let failed = &status["units"][killed];
    assert_eq!(failed["state"], "failed");
    assert_eq!(failed["task"], format!("{job}_{killed}"));
    assert!(
        failed["reason"].as_str().unwrap().contains("without storing"),
        "{failed}"
    );
    let before = run_json_times(&out);
    assert_eq!(before.len(), 20);

    let o = trendlab(
        dir.path(),
        &[
            "slurm",
            "resubmit",
            spec.to_str().unwrap(),
            "--failed",
            "--out",
            "cluster",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("(units {killed}, --array={killed})")),
        "{}",
        stdout(&o)
    );
    let status = settled_status(dir.path(), &spec, &out);
    assert_eq!(status["counts"]["done"], 21, "{status}");
    let resubmission = &status["submissions"][1];
    assert_eq!(resubmission["units"], serde_json::json!([killed]));
    assert_eq!(resubmission["resubmit"], true);
    // Only the killed unit ran again: every other record is untouched.
    let after = run_json_times(&out);
    assert_eq!(after.len(), 21);
    for (id, time) in &before {
        assert_eq!(after[id], *time, "run {id} was rewritten");
    }
    let o = trendlab(
        dir.path(),
        &["slurm", "status", spec.to_str().unwrap(), "--out", "cluster"],
    );
    assert!(
        o.status.success() && stdout(&o).contains("21 units — 21 done"),
        "{}",
        stdout(&o)
    );

    assert_cluster_matches_a_local_run(dir.path(), &spec, "quickstart");
}

#[test]
fn series_shards_on_slurm_past_max_array_size_match_a_local_run() {
    required_env("SLURM_CONF");
    let dir = tempfile::tempdir().unwrap();
    // Auto-ARIMA and the naive baseline on the 200 weekly series, 25 series
    // a unit: 8 shards per fold, 48 classical units against the test
    // cluster's MaxArraySize of 40.
    let text = std::fs::read_to_string(repo().join("experiments/arima_weekly.toml")).unwrap();
    let data = repo().join("datasets/online_retail_weekly.csv");
    let text = text.split("[[models]]\nname = \"mean\"").next().unwrap().replace(
        "\"../datasets/online_retail_weekly.csv\"",
        &format!("{:?}", data.to_str().unwrap()),
    ) + "[[models]]\nname = \"auto_arima\"\nfamily = \"arima\"\nauto = true\n\n[scale]\nseries_per_unit = 25\n";
    let spec = crate::common::write(dir.path(), "spec.toml", &text);
    let out = dir.path().join("cluster");
    let o = trendlab(
        dir.path(),
        &["slurm", "submit", spec.to_str().unwrap(), "--out", "cluster"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let ledger: Value =
        serde_json::from_slice(&std::fs::read(out.join("runs/arima-weekly/slurm/submissions.json")).unwrap()).unwrap();
    let arrays: Vec<(u64, &str)> = ledger["submissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["first"].as_u64().unwrap(), s["array"].as_str().unwrap()))
        .collect();
    assert_eq!(
        arrays,
        [(0, "0-39"), (40, "0-7")],
        "one group of 48 units as two arrays"
    );
    let status = settled_status(dir.path(), &spec, &out);
    assert_eq!(status["counts"]["done"], 48, "{status}");
    assert_cluster_matches_a_local_run(dir.path(), &spec, "arima-weekly");
    assert_eq!(records(&out, "arima-weekly").len(), 6, "every run merged");
}
