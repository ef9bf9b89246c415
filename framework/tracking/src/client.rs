//! A small typed client of the MLflow REST API (2.0 endpoints, as served by
//! MLflow 3): experiments, runs, batched logging, search, proxied artifact
//! upload. Errors carry the server's own message. Transport failures, 5xx
//! and 429 answers are retried with exponential backoff; other 4xx answers
//! are not (they would fail again).
//!
//! Credentials come from the environment (`MLFLOW_TRACKING_TOKEN`, or
//! `MLFLOW_TRACKING_USERNAME` + `MLFLOW_TRACKING_PASSWORD`), are sent as an
//! `Authorization` header, and are never printed (`Debug` redacts them).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::fmt;
use std::time::Duration;

/// MLflow's limits on one `runs/log-batch` request.
pub const MAX_METRICS_PER_BATCH: usize = 1000;
pub const MAX_PARAMS_PER_BATCH: usize = 100;
pub const MAX_TAGS_PER_BATCH: usize = 100;
pub const MAX_ENTITIES_PER_BATCH: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum TrackingError {
    #[error("MLflow server {uri} is unreachable: {reason}")]
    Unreachable { uri: String, reason: String },
    #[error("MLflow {endpoint} answered {status} {code}: {message}")]
    Server {
        endpoint: String,
        status: u16,
        code: String,
        message: String,
    },
    #[error("MLflow {endpoint} gave an unexpected answer: {reason}")]
    Protocol { endpoint: String, reason: String },
}

impl TrackingError {
    /// Whether the server is down or failing (as opposed to refusing a
    /// request): further calls are pointless for now.
    pub fn is_outage(&self) -> bool {
        match self {
            TrackingError::Unreachable { .. } => true,
            TrackingError::Server { status, .. } => *status >= 500,
            TrackingError::Protocol { .. } => false,
        }
    }
}

/// How the client authenticates; read from the environment only.
#[derive(Clone, Default)]
pub struct Credentials {
    token: Option<String>,
    basic: Option<(String, String)>,
}

impl Credentials {
    /// `MLFLOW_TRACKING_TOKEN` (bearer), else `MLFLOW_TRACKING_USERNAME` and
    /// `MLFLOW_TRACKING_PASSWORD` (basic), else none.
    pub fn from_env() -> Self {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        Credentials {
            token: var("MLFLOW_TRACKING_TOKEN"),
            basic: var("MLFLOW_TRACKING_USERNAME").zip(var("MLFLOW_TRACKING_PASSWORD")),
        }
    }

    fn header(&self) -> Option<String> {
        if let Some(token) = &self.token {
            return Some(format!("Bearer {token}"));
        }
        self.basic
            .as_ref()
            .map(|(user, password)| format!("Basic {}", BASE64.encode(format!("{user}:{password}"))))
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match (&self.token, &self.basic) {
            (Some(_), _) => "bearer token (redacted)",
            (None, Some(_)) => "username and password (redacted)",
            (None, None) => "none",
        };
        write!(f, "Credentials({kind})")
    }
}

/// `{key, value}` as MLflow sends params and tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

impl KeyValue {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        KeyValue {
            key: key.into(),
            value: value.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricValue {
    pub key: String,
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RunInfo {
    pub run_id: String,
    pub experiment_id: String,
    pub status: String,
    #[serde(default)]
    pub artifact_uri: String,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct RunData {
    #[serde(default)]
    pub metrics: Vec<MetricValue>,
    #[serde(default)]
    pub params: Vec<KeyValue>,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Run {
    pub info: RunInfo,
    #[serde(default)]
    pub data: RunData,
}

impl Run {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.data.tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }
    pub fn param(&self, key: &str) -> Option<&str> {
        self.data.params.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }
    /// The latest value of a metric.
    pub fn metric(&self, key: &str) -> Option<f64> {
        self.data
            .metrics
            .iter()
            .filter(|m| m.key == key)
            .max_by_key(|m| (m.step, m.timestamp))
            .map(|m| m.value)
    }
}

/// One `runs/log-batch` request's worth of entities.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Batch {
    pub metrics: Vec<MetricValue>,
    pub params: Vec<KeyValue>,
    pub tags: Vec<KeyValue>,
}

/// Splits entities into batches within MLflow's per-request limits.
pub fn split_batches(mut metrics: Vec<MetricValue>, mut params: Vec<KeyValue>, mut tags: Vec<KeyValue>) -> Vec<Batch> {
    let mut batches = Vec::new();
    while !(metrics.is_empty() && params.is_empty() && tags.is_empty()) {
        let take_params: Vec<KeyValue> = params.drain(..params.len().min(MAX_PARAMS_PER_BATCH)).collect();
        let take_tags: Vec<KeyValue> = tags.drain(..tags.len().min(MAX_TAGS_PER_BATCH)).collect();
        let room = (MAX_ENTITIES_PER_BATCH - take_params.len() - take_tags.len()).min(MAX_METRICS_PER_BATCH);
        let take_metrics = metrics.drain(..metrics.len().min(room)).collect();
        batches.push(Batch {
            metrics: take_metrics,
            params: take_params,
            tags: take_tags,
        });
    }
    batches
}

enum Method {
    Get,
    Post,
}

/// How long the first request to a server may take, connecting included.
pub const FIRST_CONTACT: Duration = Duration::from_secs(5);

/// A client of one MLflow tracking server.
#[derive(Debug, Clone)]
pub struct MlflowClient {
    base: String,
    agent: ureq::Agent,
    credentials: Credentials,
    retries: u32,
    backoff: Duration,
}

impl MlflowClient {
    /// A client of the server at `uri` (`http://host:port`, optionally with a path prefix).
    pub fn new(uri: &str, credentials: Credentials) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(Some(Duration::from_secs(60)))
            .http_status_as_error(false)
            .build()
            .into();
        MlflowClient {
            base: uri.trim_end_matches('/').to_string(),
            agent,
            credentials,
            retries: 3,
            backoff: Duration::from_millis(200),
        }
    }

    /// Changes how often and how patiently failed requests are retried.
    pub fn with_retries(mut self, retries: u32, backoff: Duration) -> Self {
        self.retries = retries;
        self.backoff = backoff;
        self
    }

    pub fn uri(&self) -> &str {
        &self.base
    }

    /// Sends one request, retrying transport errors, 429 and 5xx answers.
    fn send(
        &self,
        endpoint: &str,
        attempt: impl Fn() -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Value, TrackingError> {
        let mut tries = 0;
        loop {
            let outcome = attempt();
            let retry = match &outcome {
                Err(_) => true,
                Ok(response) => response.status().as_u16() == 429 || response.status().is_server_error(),
            };
            if retry && tries < self.retries {
                std::thread::sleep(self.backoff * 4u32.pow(tries));
                tries += 1;
                continue;
            }
            let mut response = outcome.map_err(|e| TrackingError::Unreachable {
                uri: self.base.clone(),
                reason: e.to_string(),
            })?;
            let status = response.status().as_u16();
            let text = response.body_mut().read_to_string().unwrap_or_default();
            let body: Value = if text.trim().is_empty() {
                json!({})
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text.clone()))
            };
            if response.status().is_success() {
                return Ok(body);
            }
            let field = |name: &str| body.get(name).and_then(Value::as_str).map(String::from);
            return Err(TrackingError::Server {
                endpoint: endpoint.to_string(),
                status,
                code: field("error_code").unwrap_or_default(),
                message: field("message").unwrap_or_else(|| text.chars().take(300).collect()),
            });
        }
    }

    /// Adds the `Authorization` header, if credentials are set.
    fn authorised<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match self.credentials.header() {
            Some(value) => request.header("Authorization", value),
            None => request,
        }
    }

    fn call(&self, method: Method, endpoint: &str, body: Value) -> Result<Value, TrackingError> {
        let url = format!("{}/api/2.0/mlflow/{endpoint}", self.base);
        self.send(endpoint, || match method {
            Method::Get => {
                let mut request = self.authorised(self.agent.get(&url));
                for (k, v) in body.as_object().into_iter().flatten() {
                    request = request.query(k, v.as_str().unwrap_or_default());
                }
                request.call()
            }
            Method::Post => self
                .authorised(self.agent.post(&url))
                .header("Content-Type", "application/json")
                .send(body.to_string().as_bytes()),
        })
    }

    fn decode<T: for<'de> Deserialize<'de>>(endpoint: &str, value: Value) -> Result<T, TrackingError> {
        serde_json::from_value(value).map_err(|e| TrackingError::Protocol {
            endpoint: endpoint.to_string(),
            reason: e.to_string(),
        })
    }

    /// `GET /health`: whether the server answers at all, within
    /// [`FIRST_CONTACT`] and without retries. The first contact decides
    /// whether a grid is mirrored, so a server that accepts connections and
    /// never answers costs seconds, not the minutes of a patient request.
    pub fn health(&self) -> Result<(), TrackingError> {
        let url = format!("{}/health", self.base);
        let once = MlflowClient {
            retries: 0,
            ..self.clone()
        };
        once.send("health", || {
            self.authorised(self.agent.get(&url))
                .config()
                .timeout_global(Some(FIRST_CONTACT))
                .build()
                .call()
        })
        .map_err(|e| match e {
            TrackingError::Unreachable { uri, reason } if reason.contains("timeout") => TrackingError::Unreachable {
                uri,
                reason: format!("no answer within {} s", FIRST_CONTACT.as_secs()),
            },
            other => other,
        })
        .map(|_| ())
    }

    /// The id of the experiment called `name`, created if it does not exist.
    pub fn experiment_id(&self, name: &str) -> Result<String, TrackingError> {
        let id = |v: &Value| {
            v.pointer("/experiment/experiment_id")
                .or_else(|| v.get("experiment_id"))
                .and_then(Value::as_str)
                .map(String::from)
        };
        match self.call(
            Method::Get,
            "experiments/get-by-name",
            json!({ "experiment_name": name }),
        ) {
            Ok(v) => id(&v).ok_or_else(|| TrackingError::Protocol {
                endpoint: "experiments/get-by-name".into(),
                reason: "no experiment id".into(),
            }),
            Err(TrackingError::Server { code, .. }) if code == "RESOURCE_DOES_NOT_EXIST" => {
                let created = self.call(Method::Post, "experiments/create", json!({ "name": name }));
                match created {
                    Ok(v) => id(&v).ok_or_else(|| TrackingError::Protocol {
                        endpoint: "experiments/create".into(),
                        reason: "no experiment id".into(),
                    }),
                    // Created meanwhile by someone else.
                    Err(TrackingError::Server { code, .. }) if code == "RESOURCE_ALREADY_EXISTS" => {
                        self.experiment_id(name)
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    pub fn create_run(
        &self,
        experiment_id: &str,
        name: &str,
        tags: &[KeyValue],
        start_time_ms: i64,
    ) -> Result<RunInfo, TrackingError> {
        let body =
            json!({ "experiment_id": experiment_id, "run_name": name, "start_time": start_time_ms, "tags": tags });
        let answer = self.call(Method::Post, "runs/create", body)?;
        Self::decode("runs/create", answer.pointer("/run/info").cloned().unwrap_or_default())
    }

    /// Logs everything, split into as many `runs/log-batch` requests as MLflow's limits need.
    pub fn log(
        &self,
        run_id: &str,
        metrics: Vec<MetricValue>,
        params: Vec<KeyValue>,
        tags: Vec<KeyValue>,
    ) -> Result<usize, TrackingError> {
        let batches = split_batches(metrics, params, tags);
        for batch in &batches {
            let body =
                json!({ "run_id": run_id, "metrics": batch.metrics, "params": batch.params, "tags": batch.tags });
            self.call(Method::Post, "runs/log-batch", body)?;
        }
        Ok(batches.len())
    }

    /// Ends a run with `status` (`FINISHED`, `FAILED`, `KILLED`).
    pub fn end_run(&self, run_id: &str, status: &str, end_time_ms: i64) -> Result<(), TrackingError> {
        self.call(
            Method::Post,
            "runs/update",
            json!({ "run_id": run_id, "status": status, "end_time": end_time_ms }),
        )
        .map(|_| ())
    }

    pub fn delete_run(&self, run_id: &str) -> Result<(), TrackingError> {
        self.call(Method::Post, "runs/delete", json!({ "run_id": run_id }))
            .map(|_| ())
    }

    /// Every logged value of metric `key` of a run (all steps).
    pub fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<MetricValue>, TrackingError> {
        let answer = self.call(
            Method::Get,
            "metrics/get-history",
            json!({ "run_id": run_id, "metric_key": key, "max_results": "25000" }),
        )?;
        Self::decode(
            "metrics/get-history",
            answer.get("metrics").cloned().unwrap_or(json!([])),
        )
    }

    pub fn get_run(&self, run_id: &str) -> Result<Run, TrackingError> {
        let answer = self.call(Method::Get, "runs/get", json!({ "run_id": run_id }))?;
        Self::decode("runs/get", answer.get("run").cloned().unwrap_or_default())
    }

    /// Every active run of the experiments matching `filter`, all pages.
    pub fn search_runs(&self, experiment_ids: &[&str], filter: &str) -> Result<Vec<Run>, TrackingError> {
        let mut runs = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut body = json!({ "experiment_ids": experiment_ids, "filter": filter, "max_results": 1000, "run_view_type": "ACTIVE_ONLY" });
            if let Some(token) = &page_token {
                body["page_token"] = json!(token);
            }
            let answer = self.call(Method::Post, "runs/search", body)?;
            let page: Vec<Run> = Self::decode("runs/search", answer.get("runs").cloned().unwrap_or(json!([])))?;
            runs.extend(page);
            page_token = answer
                .get("next_page_token")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(String::from);
            if page_token.is_none() {
                return Ok(runs);
            }
        }
    }

    /// Uploads `bytes` as artifact `path` of `run` through the server's
    /// artifact proxy (needs `mlflow server --artifacts-destination`).
    pub fn upload_artifact(&self, run: &RunInfo, path: &str, bytes: &[u8]) -> Result<(), TrackingError> {
        let url = self.artifact_url(run, path)?;
        self.send("mlflow-artifacts", || {
            self.authorised(self.agent.put(&url))
                .header("Content-Type", "application/octet-stream")
                .send(bytes)
        })
        .map(|_| ())
    }

    /// The artifact proxy's URL of `path` in `run`'s artifacts.
    fn artifact_url(&self, run: &RunInfo, path: &str) -> Result<String, TrackingError> {
        let root = run
            .artifact_uri
            .strip_prefix("mlflow-artifacts:")
            .ok_or_else(|| TrackingError::Protocol {
                endpoint: "mlflow-artifacts".into(),
                reason: format!(
                    "artifact root `{}` is not served by the tracking server; start it with --artifacts-destination",
                    run.artifact_uri
                ),
            })?;
        Ok(format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{}/{path}",
            self.base,
            root.trim_matches('/')
        ))
    }

    /// A JSON artifact of `run`, through the server's artifact proxy.
    pub fn artifact_json(&self, run: &RunInfo, path: &str) -> Result<Value, TrackingError> {
        let url = self.artifact_url(run, path)?;
        self.send("mlflow-artifacts", || self.authorised(self.agent.get(&url)).call())
    }

    /// Paths of a run's artifacts under `path` (empty: the root).
    pub fn list_artifacts(&self, run_id: &str, path: &str) -> Result<Vec<String>, TrackingError> {
        let answer = self.call(Method::Get, "artifacts/list", json!({ "run_id": run_id, "path": path }))?;
        let files = answer
            .get("files")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(files
            .iter()
            .filter_map(|f| f.get("path").and_then(Value::as_str).map(String::from))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(n: usize) -> Vec<MetricValue> {
        (0..n)
            .map(|i| MetricValue {
                key: format!("m{i}"),
                value: i as f64,
                timestamp: 0,
                step: 0,
            })
            .collect()
    }

    fn pairs(n: usize) -> Vec<KeyValue> {
        (0..n).map(|i| KeyValue::new(format!("k{i}"), "v")).collect()
    }

    #[test]
    fn batches_respect_every_limit_and_keep_everything() {
        let batches = split_batches(metrics(2500), pairs(150), pairs(120));
        assert!(
            batches
                .iter()
                .all(|b| b.params.len() <= 100 && b.tags.len() <= 100 && b.metrics.len() <= 1000)
        );
        assert!(
            batches
                .iter()
                .all(|b| b.params.len() + b.tags.len() + b.metrics.len() <= 1000)
        );
        assert_eq!(batches.iter().map(|b| b.params.len()).sum::<usize>(), 150);
        assert_eq!(batches.iter().map(|b| b.tags.len()).sum::<usize>(), 120);
        assert_eq!(batches.iter().map(|b| b.metrics.len()).sum::<usize>(), 2500);
        // 800 + 930 + 770 metrics beside (100 params + 100 tags), (50 + 20), ().
        assert_eq!(batches.len(), 3);
        assert_eq!(batches[0].metrics[0].key, "m0");
        assert_eq!(batches[2].metrics.last().unwrap().key, "m2499");
        assert!(split_batches(vec![], vec![], vec![]).is_empty());
    }

    #[test]
    fn credentials_become_headers_and_never_print() {
        let bearer = Credentials {
            token: Some("s3cret".into()),
            basic: None,
        };
        assert_eq!(bearer.header().as_deref(), Some("Bearer s3cret"));
        let basic = Credentials {
            token: None,
            basic: Some(("ann".into(), "pw".into())),
        };
        // base64("ann:pw") = "YW5uOnB3"
        assert_eq!(basic.header().as_deref(), Some("Basic YW5uOnB3"));
        assert!(!format!("{bearer:?} {basic:?}").contains("s3cret"));
        assert!(!format!("{basic:?}").contains("pw)"));
    }
}
