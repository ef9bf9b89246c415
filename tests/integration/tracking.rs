//! MLflow tracking against real MLflow servers (started by scripts/test.sh,
//! or privately by a test), checked through the REST API.

use crate::common::{files_under, stderr, stdout, trendlab};
use crate::mlflow_server::{PrivateServer, shared_uri, unique};
use crate::tracking_offline::spec;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use trendlab_tracking::client::{KeyValue, MetricValue, Run};
use trendlab_tracking::{Credentials, MlflowClient};

fn runs(uri: &str, experiment: &str, kind: &str) -> Vec<Run> {
    let client = MlflowClient::new(uri, Credentials::default());
    let id = client.experiment_id(experiment).unwrap();
    client
        .search_runs(&[&id], &format!("tags.`trendlab.kind` = '{kind}'"))
        .unwrap()
}

#[test]
fn a_run_is_mirrored_once_with_params_metrics_tags_and_artifacts() {
    let uri = shared_uri();
    let experiment = unique("mirrored");
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), &experiment, &[]);
    let run = || {
        trendlab(
            dir.path(),
            &["run", &spec, "--out", "out", "--quiet", "--tracking-uri", &uri],
        )
    };
    let first = run();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("7 configurations mirrored, 0 already there"),
        "{}",
        stdout(&first)
    );

    let parents = runs(&uri, &experiment, "invocation");
    assert_eq!(parents.len(), 1);
    let parent = &parents[0];
    assert_eq!(parent.info.status, "FINISHED");
    for tag in [
        "trendlab.spec_hash",
        "trendlab.version",
        "trendlab.host",
        "trendlab.device",
        "trendlab.data_fingerprint",
    ] {
        assert!(parent.tag(tag).is_some(), "parent lacks {tag}");
    }
    let client = MlflowClient::new(&uri, Credentials::default());
    let parent_files: BTreeSet<String> = client
        .list_artifacts(&parent.info.run_id, "")
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        parent_files,
        BTreeSet::from(["index.html", "leaderboard.csv", "leaderboard.json", "leaderboard.md"].map(String::from))
    );
    // The report links to this parent run.
    let html = std::fs::read_to_string(dir.path().join(format!("out/reports/{experiment}/index.html"))).unwrap();
    let link = format!(
        r#"<a id="mlflow-link" href="{uri}/#/experiments/{}/runs/{}">"#,
        parent.info.experiment_id, parent.info.run_id
    );
    assert!(html.contains(&link.replace('/', "&#x2F;")), "no {link}");

    let children = runs(&uri, &experiment, "config");
    assert_eq!(children.len(), 7, "one child per configuration");
    let local: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(format!("out/reports/{experiment}/leaderboard.json"))).unwrap(),
    )
    .unwrap();
    for child in &children {
        assert_eq!(child.tag("mlflow.parentRunId"), Some(parent.info.run_id.as_str()));
        assert_eq!(child.info.status, "FINISHED");
        assert_eq!(child.tag("trendlab.status"), Some("finished"));
        let label = child.tag("trendlab.label").unwrap();
        let row = local["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["label"] == label)
            .unwrap();
        assert_eq!(child.tag("trendlab.run_hash"), row["config_id"].as_str());
        assert_eq!(child.param("family"), row["family"].as_str());
        assert_eq!(child.metric("folds"), Some(3.0));
        let mase = row["metrics"]["mase"]["mean"].as_f64().unwrap();
        assert!((child.metric("mase").unwrap() - mase).abs() <= 1e-9 * mase);
        for k in 0..3 {
            let fold = row["per_fold"]["mase"][k].as_f64().unwrap();
            assert!((child.metric(&format!("mase_fold{k}")).unwrap() - fold).abs() <= 1e-9 * fold);
        }
        assert!(child.metric("mase_std").is_some() && child.metric("fit_seconds").is_some());
        let files = client.list_artifacts(&child.info.run_id, "fold1").unwrap();
        assert_eq!(
            files,
            [
                "fold1/forecasts.parquet",
                "fold1/metrics.json",
                "fold1/run.json",
                "fold1/series_metrics.parquet"
            ]
        );
    }
    let ridge = children
        .iter()
        .find(|c| c.tag("trendlab.label") == Some("ridge[alpha=0.1]"))
        .unwrap();
    assert_eq!(ridge.param("alpha"), Some("0.1"));
    assert_eq!(ridge.param("strategy"), Some("recursive"));
    assert_eq!(ridge.param("model"), Some("ridge"));

    // Re-running mirrors nothing new.
    let second = run();
    assert!(
        stdout(&second).contains("0 configurations mirrored, 7 already there"),
        "{}",
        stdout(&second)
    );
    assert_eq!(runs(&uri, &experiment, "config").len(), 7);

    // The leaderboard rebuilt from MLflow alone equals the local one.
    let local_bytes = std::fs::read(dir.path().join(format!("out/reports/{experiment}/leaderboard.json"))).unwrap();
    let from = trendlab(
        dir.path(),
        &[
            "report",
            &spec,
            "--out",
            "from-mlflow",
            "--from-mlflow",
            "--tracking-uri",
            &uri,
        ],
    );
    assert!(from.status.success(), "{}", stderr(&from));
    assert_eq!(
        std::fs::read(
            dir.path()
                .join(format!("from-mlflow/reports/{experiment}/leaderboard.json"))
        )
        .unwrap(),
        local_bytes
    );
    // Without a local store the report has no forecasts or run details to show.
    let html =
        std::fs::read_to_string(dir.path().join(format!("from-mlflow/reports/{experiment}/index.html"))).unwrap();
    assert!(html.contains(r#"id="leaderboard""#));
    assert!(!html.contains(r#"id="explorer""#) && !html.contains(r#"id="runs""#));
}

#[test]
fn neural_epoch_losses_are_step_metrics() {
    let uri = shared_uri();
    let experiment = unique("epochs");
    let dir = tempfile::tempdir().unwrap();
    let lstm = "[[models]]\nname = \"lstm\"\nfamily = \"lstm\"\ninput_size = 6\nhidden = 4\nepochs = 3\npatience = 0\n\n[[models]]\nname = \"ridge\"";
    let spec = spec(dir.path(), &experiment, &[("[[models]]\nname = \"ridge\"", lstm)]);
    let out = trendlab(
        dir.path(),
        &["run", &spec, "--out", "out", "--quiet", "--tracking-uri", &uri],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let child = runs(&uri, &experiment, "config")
        .into_iter()
        .find(|c| c.tag("trendlab.label") == Some("lstm"))
        .expect("the LSTM configuration is mirrored");
    let client = MlflowClient::new(&uri, Credentials::default());
    let records = crate::common::records(&dir.path().join("out"), &experiment);
    for k in 0..3 {
        let local = records
            .iter()
            .find(|r| r.model == "lstm" && r.fold == k)
            .and_then(|r| r.training.clone())
            .expect("a training log");
        for (key, want) in [
            (
                format!("train_loss_fold{k}"),
                local.epochs.iter().map(|e| e.train).collect::<Vec<_>>(),
            ),
            (
                format!("val_loss_fold{k}"),
                local.epochs.iter().filter_map(|e| e.validation).collect(),
            ),
        ] {
            let mut history = client.metric_history(&child.info.run_id, &key).unwrap();
            history.sort_by_key(|m| m.step);
            assert_eq!(history.iter().map(|m| m.step).collect::<Vec<_>>(), [1, 2, 3], "{key}");
            assert_eq!(history.iter().map(|m| m.value).collect::<Vec<_>>(), want, "{key}");
        }
    }
}

#[test]
fn a_batch_of_150_params_and_2500_metrics_is_logged_completely() {
    let client = MlflowClient::new(&shared_uri(), Credentials::default());
    let experiment = client.experiment_id(&unique("batches")).unwrap();
    let run = client.create_run(&experiment, "wide", &[], 0).unwrap();
    let params: Vec<KeyValue> = (0..150)
        .map(|i| KeyValue::new(format!("param_{i:03}"), i.to_string()))
        .collect();
    let metrics: Vec<MetricValue> = (0..2500)
        .map(|i| MetricValue {
            key: format!("metric_{i:04}"),
            value: i as f64 / 4.0,
            timestamp: 1,
            step: 0,
        })
        .collect();
    let tags: Vec<KeyValue> = (0..120).map(|i| KeyValue::new(format!("tag_{i:03}"), "x")).collect();
    let requests = client.log(&run.run_id, metrics, params, tags).unwrap();
    assert_eq!(requests, 3, "split to MLflow's per-request limits");
    let stored = client.get_run(&run.run_id).unwrap();
    assert_eq!(stored.data.params.len(), 150);
    assert_eq!(stored.data.metrics.len(), 2500);
    assert_eq!(
        stored.data.tags.iter().filter(|t| t.key.starts_with("tag_")).count(),
        120
    );
    assert_eq!(stored.param("param_149"), Some("149"));
    assert_eq!(stored.metric("metric_2499"), Some(624.75));
    // A param, once logged, cannot change: the server's message comes through.
    let err = client
        .log(&run.run_id, vec![], vec![KeyValue::new("param_000", "changed")], vec![])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("400") && err.contains("Changing param values is not allowed"),
        "{err}"
    );
}

#[test]
fn a_server_lost_mid_grid_costs_no_run_and_sync_mirrors_everything_once() {
    let mut server = PrivateServer::start();
    let uri = server.uri();
    let experiment = unique("outage");
    let dir = tempfile::tempdir().unwrap();
    let alphas: Vec<String> = (1..=40).map(|i| format!("{i}.0")).collect();
    let grid = format!("alpha = [{}]", alphas.join(", "));
    let spec = spec(dir.path(), &experiment, &[("alpha = [0.1, 1.0, 10.0]", &grid)]);
    let child = Command::new(env!("CARGO_BIN_EXE_trendlab"))
        .current_dir(dir.path())
        .args(["run", &spec, "--out", "out", "--quiet", "--tracking-uri", &uri])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Stop the server as soon as the first configuration reached it.
    let client = MlflowClient::new(&uri, Credentials::default()).with_retries(0, Duration::ZERO);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let seen = client
            .experiment_id(&experiment)
            .and_then(|id| client.search_runs(&[&id], "tags.`trendlab.kind` = 'config'"));
        if seen.is_ok_and(|r| !r.is_empty()) {
            break;
        }
        assert!(Instant::now() < deadline, "no configuration reached MLflow");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.stop();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "the grid finishes: {}", stderr(&out));
    assert!(
        stdout(&out).contains("132 runs planned: 0 skipped (already finished), 132 finished, 0 failed"),
        "{}",
        stdout(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains("warning: MLflow went away") && err.contains("configurations not mirrored"),
        "{err}"
    );
    assert!(err.contains(&format!("run `trendlab sync {spec}`")), "{err}");

    server.restart();
    let sync = trendlab(dir.path(), &["sync", &spec, "--out", "out", "--tracking-uri", &uri]);
    assert_eq!(sync.status.code(), Some(0), "{}{}", stdout(&sync), stderr(&sync));
    let children = runs(&uri, &experiment, "config");
    let hashes: BTreeSet<&str> = children.iter().filter_map(|c| c.tag("trendlab.run_hash")).collect();
    assert_eq!(children.len(), 44, "one child per planned configuration, no duplicates");
    assert_eq!(hashes.len(), 44);
    assert!(children.iter().all(|c| c.info.status == "FINISHED"));
    let again = trendlab(dir.path(), &["sync", &spec, "--out", "out", "--tracking-uri", &uri]);
    assert!(
        stdout(&again).contains("0 configurations mirrored, 44 already there"),
        "{}",
        stdout(&again)
    );
}

/// Every file under `dir`, as text.
fn all_text(dir: &Path) -> String {
    files_under(dir)
        .iter()
        .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned())
        .collect()
}

#[test]
fn credentials_from_the_environment_are_sent_and_never_stored() {
    // A stand-in server that records requests, is healthy, and answers 503 to the API.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    let (sender, received) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buffer = [0u8; 8192];
            let n = stream.read(&mut buffer).unwrap_or(0);
            let request = String::from_utf8_lossy(&buffer[..n]).into_owned();
            let answer: &[u8] = if request.starts_with("GET /health") {
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK"
            } else {
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            };
            let _ = sender.send(request);
            let _ = stream.write_all(answer);
        }
    });
    let secret = "sekrit-token-5e1f";
    let dir = tempfile::tempdir().unwrap();
    let fake_spec = spec(dir.path(), "credentials", &[]);
    let out = Command::new(env!("CARGO_BIN_EXE_trendlab"))
        .current_dir(dir.path())
        .args(["run", &fake_spec, "--out", "out", "--quiet"])
        .env("MLFLOW_TRACKING_URI", &uri)
        .env("MLFLOW_TRACKING_TOKEN", secret)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let first = received
        .recv_timeout(Duration::from_secs(5))
        .expect("the server was contacted");
    assert!(first.starts_with("GET /health"), "{first}");
    let authorised: Vec<String> = received
        .try_iter()
        .filter(|r| {
            r.contains(&format!("authorization: Bearer {secret}"))
                || r.contains(&format!("Authorization: Bearer {secret}"))
        })
        .collect();
    assert!(!authorised.is_empty(), "API calls carry the token");
    assert!(!stdout(&out).contains(secret) && !stderr(&out).contains(secret));
    assert!(
        !all_text(&dir.path().join("out")).contains(secret),
        "the token reached the run store"
    );

    // Against a real server: nothing logged carries the token either.
    let uri = shared_uri();
    let experiment = unique("credentials");
    let real_spec = spec(dir.path(), &experiment, &[]);
    let out = Command::new(env!("CARGO_BIN_EXE_trendlab"))
        .current_dir(dir.path())
        .args(["run", &real_spec, "--out", "real", "--quiet", "--tracking-uri", &uri])
        .env("MLFLOW_TRACKING_TOKEN", secret)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for run in runs(&uri, &experiment, "config")
        .iter()
        .chain(&runs(&uri, &experiment, "invocation"))
    {
        let logged = run
            .data
            .params
            .iter()
            .chain(&run.data.tags)
            .any(|kv| kv.value.contains(secret) || kv.key.contains(secret));
        assert!(!logged, "run {} logged the token", run.info.run_id);
    }
    assert!(!all_text(&dir.path().join("real")).contains(secret));
}

/// An ensemble's members and weights per fold survive the trip through
/// MLflow: the leaderboard rebuilt from it equals the local one, the
/// comparison with the best member included.
#[test]
fn an_ensembles_weights_round_trip_through_mlflow() {
    let uri = shared_uri();
    let experiment = unique("ensemble");
    let dir = tempfile::tempdir().unwrap();
    let ensemble = "[[models]]\nname = \"stacked\"\nfamily = \"ensemble\"\nmembers = [\"naive\", \"drift\", \"ridge\"]\nmethod = \"stacking\"\n\n[[models]]\nname = \"mean\"";
    let spec = spec(dir.path(), &experiment, &[("[[models]]\nname = \"mean\"", ensemble)]);
    let run = trendlab(
        dir.path(),
        &["run", &spec, "--out", "out", "--quiet", "--tracking-uri", &uri],
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let local = std::fs::read(dir.path().join(format!("out/reports/{experiment}/leaderboard.json"))).unwrap();
    let board: serde_json::Value = serde_json::from_slice(&local).unwrap();
    let row = board["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["model"] == "stacked")
        .unwrap();
    let weights = row["ensemble"]["weights"].as_array().unwrap();
    assert_eq!(weights.len(), 3);
    for fold in weights {
        let total: f64 = fold.as_object().unwrap().values().map(|w| w.as_f64().unwrap()).sum();
        assert!(
            (total - 1.0).abs() < 1e-9,
            "constrained stacking weights sum to 1: {fold}"
        );
    }
    assert!(row["ensemble"]["versus_best"]["member"].is_string());
    let from = trendlab(
        dir.path(),
        &[
            "report",
            &spec,
            "--out",
            "from-mlflow",
            "--from-mlflow",
            "--tracking-uri",
            &uri,
        ],
    );
    assert!(from.status.success(), "{}", stderr(&from));
    assert_eq!(
        std::fs::read(
            dir.path()
                .join(format!("from-mlflow/reports/{experiment}/leaderboard.json"))
        )
        .unwrap(),
        local
    );
}

/// `forecast --tracking-uri`: one run of kind `forecast` holding the refit
/// configuration's parameters, its backtest metrics and the forecast files,
/// exactly as written locally.
#[test]
fn a_forecast_is_an_mlflow_run_with_its_params_metrics_and_files() {
    let uri = shared_uri();
    let experiment = unique("forecast");
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), &experiment, &[]);
    let run = trendlab(dir.path(), &["run", &spec, "--out", "out", "--quiet"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let out = trendlab(
        dir.path(),
        &[
            "forecast",
            &spec,
            "--out",
            "out",
            "--model",
            "ridge",
            "--tracking-uri",
            &uri,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("mlflow:        {uri}/#/experiments/")),
        "{}",
        stdout(&out)
    );
    let forecasts = runs(&uri, &experiment, "forecast");
    assert_eq!(forecasts.len(), 1);
    let run = &forecasts[0];
    assert_eq!(run.info.status, "FINISHED");
    assert_eq!(run.param("model"), Some("ridge"));
    assert_eq!(run.param("horizon"), Some("8"));
    assert_eq!(run.param("param.alpha"), Some("0.1"));
    assert_eq!(run.tag("trendlab.config"), Some("ridge[alpha=0.1]"));
    assert!(run.metric("backtest_mase").is_some_and(|m| m > 0.0));
    let client = MlflowClient::new(&uri, Credentials::default());
    let files: BTreeSet<String> = client
        .list_artifacts(&run.info.run_id, "")
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        files,
        BTreeSet::from(["forecast.csv", "forecast.json", "model"].map(String::from))
    );
    let model: Vec<String> = client.list_artifacts(&run.info.run_id, "model").unwrap();
    assert_eq!(
        model,
        vec!["model/model.json".to_string()],
        "a ridge model is its model.json"
    );
    let local = files_under(&dir.path().join("out/forecasts"));
    let csv = local.iter().find(|p| p.ends_with("forecast.csv")).unwrap();
    let root = run
        .info
        .artifact_uri
        .strip_prefix("mlflow-artifacts:")
        .unwrap()
        .trim_matches('/');
    let artifact = ureq::get(&format!("{uri}/api/2.0/mlflow-artifacts/artifacts/{root}/forecast.csv"))
        .call()
        .unwrap()
        .into_body()
        .read_to_vec()
        .unwrap();
    assert_eq!(artifact, std::fs::read(csv).unwrap());
}
