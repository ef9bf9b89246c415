//! The forecast past the data in MLflow: one run of kind `forecast` in the
//! experiment, holding the refit configuration's parameters, its backtest
//! metrics (`backtest_<metric>`), and `forecast.csv`, `forecast.json` and
//! the saved model (`model/`) as artifacts.

use crate::client::{KeyValue, MetricValue, RunInfo};
use crate::{MlflowClient, TrackingError};
use std::path::{Path, PathBuf};
use trendlab_results::forecasts::ForecastFile;

/// Logs `file` (as `forecast` wrote it), and the files of the saved model
/// in `model_dir` under `model/`, as a finished run of `experiment`;
/// returns the run.
pub fn log_forecast(
    client: &MlflowClient,
    experiment: &str,
    file: &ForecastFile,
    model_dir: Option<&Path>,
    tags: Vec<KeyValue>,
) -> Result<RunInfo, TrackingError> {
    client.health()?;
    let experiment_id = client.experiment_id(experiment)?;
    let now = || chrono::Utc::now().timestamp_millis();
    // `tags` (the invocation's) hold the spec hash and data fingerprint.
    let mut tags = tags;
    tags.extend([
        KeyValue::new(super::mirror::KIND, "forecast"),
        KeyValue::new("trendlab.config", &file.config),
        KeyValue::new("trendlab.config_id", &file.config_id),
        KeyValue::new("trendlab.intervals", &file.intervals_text),
    ]);
    let run = client.create_run(&experiment_id, &format!("forecast {}", file.config), &tags, now())?;
    let mut params = vec![
        KeyValue::new("model", &file.model),
        KeyValue::new("family", &file.family),
        KeyValue::new("horizon", file.horizon.to_string()),
        KeyValue::new("last_date", file.last_date.to_string()),
        KeyValue::new(
            "levels",
            file.levels.iter().map(f64::to_string).collect::<Vec<_>>().join(","),
        ),
    ];
    if let Some(map) = file.params.as_object() {
        for (key, value) in map {
            let text = value.as_str().map_or_else(|| value.to_string(), str::to_string);
            params.push(KeyValue::new(format!("param.{key}"), text));
        }
    }
    let metrics = file
        .backtest
        .metrics
        .iter()
        .filter_map(|(name, summary)| {
            Some(MetricValue {
                key: format!("backtest_{name}"),
                value: summary.mean?,
                timestamp: now(),
                step: 0,
            })
        })
        .collect();
    client.log(&run.run_id, metrics, params, Vec::new())?;
    client.upload_artifact(&run, "forecast.csv", &file.to_csv())?;
    client.upload_artifact(&run, "forecast.json", &file.to_json())?;
    if let Some(dir) = model_dir {
        for (relative, path) in files_below(dir) {
            let bytes = std::fs::read(&path).map_err(|e| TrackingError::Protocol {
                endpoint: "mlflow-artifacts".into(),
                reason: format!("cannot read {}: {e}", path.display()),
            })?;
            client.upload_artifact(&run, &format!("model/{relative}"), &bytes)?;
        }
    }
    client.end_run(&run.run_id, "FINISHED", now())?;
    Ok(run)
}

/// Every file below `dir`, with its path relative to `dir` (`/`-separated),
/// in name order.
fn files_below(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                let relative: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                found.push((relative.join("/"), path));
            }
        }
    }
    found.sort();
    found
}
