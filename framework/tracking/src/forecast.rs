//! The forecast past the data in MLflow: one run of kind `forecast` in the
//! experiment, holding the refit configuration's parameters, its backtest
//! metrics (`backtest_<metric>`), and `forecast.csv` and `forecast.json` as
//! artifacts.

use crate::client::{KeyValue, MetricValue, RunInfo};
use crate::{MlflowClient, TrackingError};
use trendlab_engine::forecasts::ForecastFile;

/// Logs `file` (as `forecast` wrote it) as a finished run of `experiment`;
/// returns the run.
pub fn log_forecast(
    client: &MlflowClient,
    experiment: &str,
    file: &ForecastFile,
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
    client.end_run(&run.run_id, "FINISHED", now())?;
    Ok(run)
}
