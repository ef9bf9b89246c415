//! The commands end to end on the bundled experiments.

use crate::common::{forecasts_csv, on_quickstart, repo, stderr, stdout, trendlab, write};

#[test]
fn quickstart_ranks_baselines_and_ridge_with_finite_metrics_for_every_series() {
    let out = tempfile::tempdir().unwrap();
    let o = on_quickstart("run", out.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report = out.path().join("reports/quickstart");
    let csv = std::fs::read_to_string(report.join("leaderboard.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "rank,model,family,params,run_ids,mae_mean,mae_std,rmse_mean,rmse_std,smape_mean,smape_std,mase_mean,mase_std,vs_best,p_value,p_holm,ci_low,ci_high,fit_seconds"
    );
    let rows: Vec<Vec<String>> = csv::Reader::from_reader(csv.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    assert_eq!(rows.len(), 7);
    let ranks: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ranks, ["1", "2", "3", "4", "5", "6", "7"]);
    let mase: Vec<f64> = rows.iter().map(|r| r[11].parse().unwrap()).collect();
    assert!(mase.windows(2).all(|w| w[0] <= w[1]), "ranked by mase: {mase:?}");
    for model in ["snaive4", "ridge[alpha=0.1]", "ridge[alpha=1.0]", "ridge[alpha=10.0]"] {
        let row = rows
            .iter()
            .find(|r| r[1] == model)
            .unwrap_or_else(|| panic!("{model} missing"));
        for run_id in row[4].split(';') {
            let store = trendlab_results::RunStore::new(out.path(), "quickstart");
            let per_series = store.series_metrics(run_id).unwrap();
            assert_eq!(per_series.len(), 200, "{model}: every series scored");
            for (id, values) in per_series {
                for metric in ["mae", "rmse", "smape", "mase"] {
                    let v = *values
                        .get(metric)
                        .unwrap_or_else(|| panic!("{model} {id} lacks {metric}"));
                    assert!(v.is_finite(), "{model} {id} {metric} = {v}");
                }
            }
        }
    }
    let forecasts = forecasts_csv(
        &out.path()
            .join("runs/quickstart")
            .join(rows[0][4].split(';').next().unwrap()),
    );
    // Baselines give 95% intervals (the default level); ridge gives none.
    let header = if rows[0][2] == "linear" {
        "series_id,fold,cutoff,date,step,actual,forecast"
    } else {
        "series_id,fold,cutoff,date,step,actual,forecast,lo_95,hi_95"
    };
    assert_eq!(forecasts.lines().next(), Some(header), "top model: {}", rows[0][1]);
    assert_eq!(forecasts.lines().count(), 1 + 200 * 8);
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert_eq!(html.matches("<tr class=\"ranked\"").count(), 7);
    assert!(html.contains("ridge[alpha=0.1]") && html.contains("<h1>quickstart</h1>"));
    assert!(stdout(&o).contains("quickstart — ranked by mase"));

    // `report` rebuilds the same leaderboard from the store alone.
    std::fs::remove_dir_all(&report).unwrap();
    let r = on_quickstart("report", out.path());
    assert!(r.status.success(), "{}", stderr(&r));
    assert_eq!(std::fs::read_to_string(report.join("leaderboard.csv")).unwrap(), csv);
}

#[test]
fn report_without_runs_says_what_to_do() {
    let out = tempfile::tempdir().unwrap();
    let o = on_quickstart("report", out.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no runs of this spec are stored"), "{}", stderr(&o));
}

#[test]
fn plan_lists_runs_for_people_and_machines() {
    let o = trendlab(&repo(), &["plan", "experiments/m5_daily.toml", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // naive, snaive7, mean28 + 2 alphas x 2 strategies + gbdt, on 3 folds.
    assert_eq!(plan["configs"].as_array().unwrap().len(), 8);
    assert_eq!(plan["total_runs"], 24);
    assert_eq!(plan["series"], 50);
    assert_eq!(plan["folds"][2]["test_end"], "2016-05-22");
    let text = trendlab(&repo(), &["plan", "experiments/quickstart.toml"]);
    assert!(
        stdout(&text).contains("total: 7 configurations, 21 runs"),
        "{}",
        stdout(&text)
    );
}

/// The bundled experiments, as `experiments/<name>.toml`.
pub fn bundled_experiments() -> Vec<String> {
    let mut specs: Vec<String> = std::fs::read_dir(repo().join("experiments"))
        .unwrap()
        .map(|e| format!("experiments/{}", e.unwrap().file_name().to_string_lossy()))
        .filter(|p| p.ends_with(".toml"))
        .collect();
    specs.sort();
    specs
}

/// The Chronos-Bolt experiment for a real checkpoint, which a user copies
/// to `models/chronos-bolt-small` (never in the repository).
pub const CHRONOS_M5: &str = "experiments/chronos_m5.toml";

/// `trendlab validate` of every bundled experiment in `root`: all ok, but
/// for the one needing a real Chronos-Bolt checkpoint when `root` has none,
/// which is refused naming the missing directory.
pub fn all_validate(root: &std::path::Path) {
    let specs = bundled_experiments();
    let has_checkpoint = root.join("models/chronos-bolt-small").is_dir();
    let (runnable, missing): (Vec<&String>, Vec<&String>) =
        specs.iter().partition(|s| has_checkpoint || s.as_str() != CHRONOS_M5);
    let mut args = vec!["validate"];
    args.extend(runnable.iter().map(|s| s.as_str()));
    let o = trendlab(root, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).matches(": ok (").count(), runnable.len());
    for spec in missing {
        let o = trendlab(root, &["validate", spec]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let message = stderr(&o);
        assert!(
            message.contains("checkpoint directory experiments/../models/chronos-bolt-small not found")
                && message.contains("amazon/chronos-bolt"),
            "{message}"
        );
    }
}

/// Every bundled experiment validates, in a copy of the repository's
/// layout whose `models/all-MiniLM-L6-v2` is a stand-in holding the files
/// `validate` checks for (the real one is fetched by scripts/test.sh; with
/// it, `bert_minilm` validates the experiments in place).
#[test]
fn every_bundled_experiment_validates() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("experiments")).unwrap();
    for spec in bundled_experiments() {
        std::fs::copy(repo().join(&spec), root.join(&spec)).unwrap();
    }
    std::os::unix::fs::symlink(repo().join("datasets"), root.join("datasets")).unwrap();
    // The golden Chronos-Bolt checkpoint (random weights) one experiment reads.
    std::os::unix::fs::symlink(repo().join("tests"), root.join("tests")).unwrap();
    let encoder = root.join("models/all-MiniLM-L6-v2");
    std::fs::create_dir_all(&encoder).unwrap();
    for file in std::fs::read_dir(repo().join("tests/specs/stub-encoder")).unwrap() {
        let file = file.unwrap().path();
        std::fs::copy(&file, encoder.join(file.file_name().unwrap())).unwrap();
    }
    all_validate(root);
    // With a checkpoint where the Chronos-Bolt experiment expects one, it
    // validates too.
    crate::chronos::copy_golden_checkpoint(&root.join("models/chronos-bolt-small"));
    all_validate(root);
}

#[test]
fn mape_says_how_many_zero_actuals_it_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let spec = crate::common::quickstart_variant(
        dir.path(),
        &[(
            "metrics = [\"mae\", \"rmse\", \"smape\", \"mase\"]",
            "metrics = [\"mase\", \"mape\"]",
        )],
    );
    let o = trendlab(dir.path(), &["run", spec.to_str().unwrap(), "--out", "out", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let board: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/reports/quickstart/leaderboard.json")).unwrap())
            .unwrap();
    // Zero weekly quantities in the test windows (counted in the CSV): 5, 7 and 13; no series is all zeros.
    let notes: Vec<&str> = board["rows"][0]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(
        notes,
        [
            "fold 0: mape skipped 5 zero actual(s); undefined for 0 series with only zero actuals",
            "fold 1: mape skipped 7 zero actual(s); undefined for 0 series with only zero actuals",
            "fold 2: mape skipped 13 zero actual(s); undefined for 0 series with only zero actuals",
        ]
    );
    let html = std::fs::read_to_string(dir.path().join("out/reports/quickstart/index.html")).unwrap();
    assert!(html.contains("mape skipped 13 zero actual(s)"));
}

/// A run whose output goes to a reader that stops early (`| head -1`)
/// ends promptly with its own status: 1, since runs failed, not 0.
#[test]
fn a_closed_stdout_ends_the_command_promptly_with_its_status() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("date,id,y\n");
    for s in 0..3 {
        for t in 0..40 {
            let day = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(t);
            csv.push_str(&format!("{day},s{s},{}\n", (t * 7 + s) % 5));
        }
    }
    write(dir.path(), "data.csv", &csv);
    // ETS with a multiplicative error fails on series with zeros: every
    // run of `mnn` fails, with its reason.
    write(
        dir.path(),
        "spec.toml",
        "[experiment]\nname = \"pipe\"\n\n[data]\npath = \"data.csv\"\ntime = \"date\"\nid = \"id\"\ntarget = \"y\"\nfrequency = \"D\"\n\n[evaluation]\nhorizon = 4\nfolds = 2\nmin_train = 20\nmetrics = [\"mae\"]\n\n[[models]]\nname = \"naive\"\nfamily = \"naive\"\n\n[[models]]\nname = \"mnn\"\nfamily = \"ets\"\nmodel = \"MNN\"\nfallback = \"none\"\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_trendlab"))
        .current_dir(dir.path())
        .args(["run", "spec.toml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The reader goes away before the first line: every line written
    // meets a closed pipe.
    drop(child.stdout.take());
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("trendlab did not end within 60 s of its stdout closing");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(1), "runs failed: exit 1");
}
