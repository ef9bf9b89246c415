//! Kubernetes Indexed Jobs over work units: one Job per unit group
//! (`completionMode: Indexed`, `completions` = the group's units), each pod
//! running `trendlab work` with its `JOB_COMPLETION_INDEX` plus the group's
//! first unit. The repository and the run store sit on a volume mounted at
//! the same place in every pod. Kubernetes has no dependencies between
//! Jobs, so the ensembles' pods wait for the runs they read
//! (`--wait-for-reads`).
//!
//! A worker exits 3 when a run failed and stored its reason: retrying does
//! not help, so a pod failure policy fails the index at once
//! (`FailIndex`); other failures (a killed pod, a lost node) are retried up
//! to `backoffLimitPerIndex` times.

use serde_json::{Value, json};
use std::path::Path;
use trendlab_results::{Group, Manifest};

/// The exit code of a worker whose runs failed (their reasons stored).
pub const RUN_FAILED_EXIT: u8 = 3;

/// What the Jobs run on (`trendlab k8s manifest` options).
#[derive(Debug, Clone, PartialEq)]
pub struct JobOptions {
    /// Container image holding the `trendlab` binary on its PATH.
    pub image: String,
    /// PersistentVolumeClaim holding the repository and the run store.
    pub claim: String,
    /// Where the claim is mounted (the working directory of the pods).
    pub mount: String,
    /// Pods at once per Job.
    pub parallelism: u32,
    /// Retries of each index after a pod failure other than a failed run.
    pub backoff_limit_per_index: u32,
    /// CPUs per pod (request and limit); the worker uses them all.
    pub cpus: u32,
    /// Memory per pod (request and limit), e.g. `4Gi`.
    pub memory: String,
    /// GPUs per pod of the neural group (0: it runs on CPUs).
    pub gpus: u32,
    /// Seconds the ensembles' pods wait for the runs they read.
    pub wait_for_reads: u64,
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions {
            image: "trendlab:latest".into(),
            claim: "trendlab".into(),
            mount: "/workspace".into(),
            parallelism: 4,
            backoff_limit_per_index: 2,
            cpus: 1,
            memory: "2Gi".into(),
            gpus: 0,
            wait_for_reads: 24 * 3600,
        }
    }
}

/// The Jobs of `manifest` as one multi-document YAML stream.
/// `manifest_path` (the manifest) and `out` (the folder holding `runs/`)
/// are relative to the mount.
pub fn jobs_yaml(manifest: &Manifest, manifest_path: &Path, out: &Path, options: &JobOptions) -> String {
    manifest
        .groups
        .iter()
        .map(|range| {
            let job = job(manifest, range.group, (manifest_path, out), options);
            format!("---\n{}", to_yaml(&job, 0))
        })
        .collect()
}

/// The Indexed Job of one group; paths relative to the mount.
pub fn job(manifest: &Manifest, group: Group, (manifest_path, out): (&Path, &Path), options: &JobOptions) -> Value {
    let range = manifest.group(group).expect("jobs are written for groups with units");
    let mount = options.mount.trim_end_matches('/');
    let in_mount = |path: &Path| {
        let inside: std::path::PathBuf = path
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect();
        Path::new(mount)
            .join(inside)
            .to_string_lossy()
            .trim_end_matches('/')
            .to_string()
    };
    let mut args = vec![
        "work".to_string(),
        in_mount(manifest_path),
        "--offset".into(),
        range.first.to_string(),
        "--out".into(),
        in_mount(out),
        "--jobs".into(),
        options.cpus.max(1).to_string(),
    ];
    let on_gpu = group == Group::Neural && options.gpus > 0;
    if on_gpu {
        args.extend(["--device".into(), "cuda:0".into()]);
    }
    if group == Group::Ensembles {
        args.extend(["--wait-for-reads".into(), options.wait_for_reads.to_string()]);
    }
    let mut resources = json!({
        "requests": {"cpu": options.cpus.max(1).to_string(), "memory": options.memory},
        "limits": {"cpu": options.cpus.max(1).to_string(), "memory": options.memory},
    });
    if on_gpu {
        resources["limits"]["nvidia.com/gpu"] = json!(options.gpus.to_string());
    }
    let name = format!("trendlab-{}-{}", dns_label(&manifest.experiment), group.name());
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "labels": {
                "app.kubernetes.io/name": "trendlab",
                "trendlab/experiment": dns_label(&manifest.experiment),
                "trendlab/group": group.name(),
            },
            "annotations": {
                "trendlab/units": format!("{}-{}", range.first, range.first + range.count - 1),
                "trendlab/spec-hash": manifest.spec_hash,
            },
        },
        "spec": {
            "completionMode": "Indexed",
            "completions": range.count,
            "parallelism": options.parallelism.max(1).min(range.count as u32),
            "backoffLimitPerIndex": options.backoff_limit_per_index,
            "podFailurePolicy": {
                "rules": [
                    {"action": "FailIndex", "onExitCodes": {"containerName": "work", "operator": "In", "values": [RUN_FAILED_EXIT]}},
                    {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
                ],
            },
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "trendlab", "trendlab/group": group.name()}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{
                        "name": "work",
                        "image": options.image,
                        "command": ["trendlab"],
                        "args": args,
                        "workingDir": mount,
                        "resources": resources,
                        "volumeMounts": [{"name": "workspace", "mountPath": mount}],
                    }],
                    "volumes": [{"name": "workspace", "persistentVolumeClaim": {"claimName": options.claim}}],
                },
            },
        },
    })
}

/// A Kubernetes name: lower case letters, digits and `-`.
fn dns_label(name: &str) -> String {
    let label: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    label.trim_matches('-').chars().take(40).collect()
}

/// Block-style YAML of a JSON value; every string is written as a JSON
/// string, which YAML reads as the same double-quoted scalar.
fn to_yaml(value: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => map
            .iter()
            .map(|(key, v)| match v {
                Value::Object(m) if !m.is_empty() => {
                    format!("{pad}{}:\n{}", scalar(&json!(key)), to_yaml(v, indent + 2))
                }
                Value::Array(a) if !a.is_empty() => format!("{pad}{}:\n{}", scalar(&json!(key)), to_yaml(v, indent)),
                _ => format!("{pad}{}: {}\n", scalar(&json!(key)), scalar(v)),
            })
            .collect(),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|item| {
                let nested = to_yaml(item, indent + 2);
                match item {
                    Value::Object(m) if !m.is_empty() => format!("{pad}- {}", &nested[indent + 2..]),
                    Value::Array(a) if !a.is_empty() => format!("{pad}-\n{nested}"),
                    _ => format!("{pad}- {}\n", scalar(item)),
                }
            })
            .collect(),
        other => format!("{pad}{}\n", scalar(other)),
    }
}

/// A scalar (or empty collection) in flow style.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) if is_plain(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Strings safe unquoted in YAML: names and paths, not numbers or keywords.
fn is_plain(s: &str) -> bool {
    let keyword = matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~" | "y" | "n"
    );
    !s.is_empty()
        && !keyword
        && s.parse::<f64>().is_err()
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '/')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_of_nested_values() {
        let value = json!({"a": {"b": [1, "x y", {"c": "2", "d": []}]}, "e": "true", "f": "plain-name"});
        let yaml = to_yaml(&value, 0);
        assert_eq!(
            yaml,
            "a:\n  b:\n  - 1\n  - \"x y\"\n  - c: \"2\"\n    d: []\ne: \"true\"\nf: plain-name\n"
        );
    }

    #[test]
    fn names_become_dns_labels() {
        assert_eq!(dns_label("Ensemble_retail.v2"), "ensemble-retail-v2");
    }
}
