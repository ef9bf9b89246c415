//! Slurm job arrays over work units. `submit` writes the manifest and one
//! sbatch script per unit group (classical, neural, ensembles), and hands
//! each to `sbatch --parsable` without waiting: array task `i` runs unit
//! `first + i` through `trendlab work`. Ensembles wait for the other
//! arrays (`--dependency=afterany`), so they read finished members.
//! `queue_states` asks `squeue` (and `sacct`, where accounting is on)
//! where each task is; `resubmit` hands failed units back, with the same
//! script and an `--array` listing only them.
//!
//! Files live in `runs/<experiment>/slurm/`: `plan.json`, `<group>.sbatch`,
//! `submissions.json` and `logs/<group>-<job>_<task>.out`.

use crate::ClusterError;
use crate::ledger::{Ledger, Submission};
use crate::status::QueueStates;
use std::path::{Path, PathBuf};
use std::process::Command;
use trendlab_results::{Group, Manifest, RunStore};

/// Resources and limits of the arrays (`trendlab slurm submit` options).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArrayOptions {
    pub partition: Option<String>,
    /// CPUs per task; the worker uses them all (`--jobs`).
    pub cpus_per_task: u32,
    /// GPUs per task of the neural group (0: the neural group runs on CPUs).
    pub gpus_per_task: u32,
    /// At most this many tasks of an array at once (`%K`).
    pub throttle: Option<u32>,
    /// Wall-clock limit per task (`--time`), e.g. `1:00:00`.
    pub time: Option<String>,
    /// Memory per task (`--mem`), e.g. `4G`.
    pub mem: Option<String>,
    /// Submit held (`--hold`): tasks wait for `scontrol release JOB`.
    pub hold: bool,
}

/// Where an experiment's Slurm files are.
#[derive(Debug, Clone)]
pub struct SlurmDir {
    dir: PathBuf,
}

impl SlurmDir {
    pub fn new(store: &RunStore) -> SlurmDir {
        SlurmDir {
            dir: store.dir().join("slurm"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> PathBuf {
        self.dir.join("plan.json")
    }

    pub fn ledger(&self) -> PathBuf {
        self.dir.join("submissions.json")
    }

    pub fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }

    pub fn script(&self, group: Group) -> PathBuf {
        self.dir.join(format!("{}.sbatch", group.name()))
    }

    /// The log of `task` (`1234_5`) of `group`.
    pub fn log_of(&self, group: Group, task: &str) -> PathBuf {
        self.logs().join(format!("{}-{task}.out", group.name()))
    }
}

/// What a worker needs to find: the binary, the manifest, the output folder.
#[derive(Debug, Clone)]
pub struct Worker {
    /// Absolute path of the `trendlab` binary the tasks run.
    pub executable: PathBuf,
    /// Absolute path of the manifest.
    pub manifest: PathBuf,
    /// Absolute path of the folder holding `runs/` (`--out`).
    pub out: PathBuf,
}

/// The sbatch script of `group`: array `0-(n-1)`, throttled, one log per task.
pub fn script(manifest: &Manifest, group: Group, worker: &Worker, options: &ArrayOptions, dir: &SlurmDir) -> String {
    let range = manifest
        .group(group)
        .expect("scripts are written for groups with units");
    let mut lines = vec![
        "#!/bin/bash".to_string(),
        format!(
            "# trendlab work units of experiment {}, group {}: units {}..{} of {}.",
            manifest.experiment,
            group.name(),
            range.first,
            range.first + range.count - 1,
            worker.manifest.display()
        ),
        format!(
            "# Array task i runs unit OFFSET + i, OFFSET being the script's argument ({} for the\n# group's first array; a group larger than MaxArraySize is several arrays). Written by\n# `trendlab slurm submit`.",
            range.first
        ),
        format!("#SBATCH --job-name=trendlab-{}-{}", manifest.experiment, group.name()),
        format!(
            "#SBATCH --array={}",
            array_spec(&[(0, range.count - 1)], options.throttle)
        ),
        format!(
            "#SBATCH --output={}",
            dir.logs().join(format!("{}-%A_%a.out", group.name())).display()
        ),
        format!("#SBATCH --cpus-per-task={}", options.cpus_per_task.max(1)),
    ];
    if let Some(partition) = &options.partition {
        lines.push(format!("#SBATCH --partition={partition}"));
    }
    if let Some(time) = &options.time {
        lines.push(format!("#SBATCH --time={time}"));
    }
    if let Some(mem) = &options.mem {
        lines.push(format!("#SBATCH --mem={mem}"));
    }
    let on_gpu = group == Group::Neural && options.gpus_per_task > 0;
    if on_gpu {
        lines.push(format!("#SBATCH --gpus-per-task={}", options.gpus_per_task));
    }
    lines.push("set -euo pipefail".into());
    let mut command = vec![
        "exec".to_string(),
        shell_quote(&worker.executable.to_string_lossy()),
        "work".into(),
        shell_quote(&worker.manifest.to_string_lossy()),
        "--offset".into(),
        format!("\"${{1:-{}}}\"", range.first),
        "--out".into(),
        shell_quote(&worker.out.to_string_lossy()),
        "--jobs".into(),
        "\"${SLURM_CPUS_PER_TASK:-1}\"".into(),
    ];
    if on_gpu {
        // Slurm exposes the task's GPUs as CUDA devices 0..G-1.
        command.extend(["--device".into(), "cuda:0".into()]);
    }
    lines.push(command.join(" "));
    lines.join("\n") + "\n"
}

/// `0-11%4` or `1,3,7%4` from inclusive ranges of task indexes.
fn array_spec(ranges: &[(usize, usize)], throttle: Option<u32>) -> String {
    let parts: Vec<String> = ranges
        .iter()
        .map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") })
        .collect();
    let throttle = throttle.map_or(String::new(), |k| format!("%{k}"));
    format!("{}{throttle}", parts.join(","))
}

/// Consecutive indexes as inclusive ranges: `[1,2,3,7]` → `[(1,3),(7,7)]`.
fn ranges(indexes: &[usize]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &i in indexes {
        match out.last_mut() {
            Some((_, end)) if *end + 1 == i => *end = i,
            _ => out.push((i, i)),
        }
    }
    out
}

/// One array to hand to sbatch: a script, the units, the `--array` value.
/// Task `i` runs unit `first + i`.
#[derive(Debug, Clone)]
pub struct ArrayRequest {
    pub group: Group,
    pub script: PathBuf,
    pub first: usize,
    pub units: Vec<usize>,
    pub array: String,
}

/// Slurm's default MaxArraySize: task indexes run from 0 to 1000.
pub const DEFAULT_MAX_ARRAY_SIZE: usize = 1001;

/// The cluster's MaxArraySize (task indexes must stay below it), from
/// `scontrol show config`; Slurm's default when it cannot be read.
pub fn max_array_size() -> usize {
    run("scontrol", &["show".into(), "config".into()])
        .ok()
        .and_then(|text| parse_max_array_size(&text))
        .unwrap_or(DEFAULT_MAX_ARRAY_SIZE)
}

/// `MaxArraySize = 1001` among `scontrol show config`'s lines.
fn parse_max_array_size(config: &str) -> Option<usize> {
    config.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "MaxArraySize").then(|| value.trim().parse().ok())?
    })
}

impl ArrayRequest {
    /// Every unit of `group`: one array, or several when the group has more
    /// units than `max_size` (the cluster's MaxArraySize).
    pub fn whole(
        manifest: &Manifest,
        group: Group,
        dir: &SlurmDir,
        throttle: Option<u32>,
        max_size: usize,
    ) -> Vec<ArrayRequest> {
        let Some(range) = manifest.group(group) else {
            return Vec::new();
        };
        Self::some(
            manifest,
            group,
            &range.indexes().collect::<Vec<_>>(),
            dir,
            throttle,
            max_size,
        )
    }

    /// Only `units` of `group` (a resubmission), in arrays whose task
    /// indexes stay below `max_size`: the group's units in chunks of
    /// `max_size`, each chunk an array of its own.
    pub fn some(
        manifest: &Manifest,
        group: Group,
        units: &[usize],
        dir: &SlurmDir,
        throttle: Option<u32>,
        max_size: usize,
    ) -> Vec<ArrayRequest> {
        let Some(range) = manifest.group(group) else {
            return Vec::new();
        };
        let max_size = max_size.max(1);
        let mut by_chunk: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for &u in units.iter().filter(|u| range.indexes().contains(u)) {
            by_chunk.entry((u - range.first) / max_size).or_default().push(u);
        }
        by_chunk
            .into_iter()
            .map(|(chunk, mine)| {
                let first = range.first + chunk * max_size;
                let tasks: Vec<usize> = mine.iter().map(|u| u - first).collect();
                ArrayRequest {
                    group,
                    script: dir.script(group),
                    first,
                    units: mine,
                    array: array_spec(&ranges(&tasks), throttle),
                }
            })
            .collect()
    }

    /// The sbatch command line; ensembles depend on `after` (job ids).
    pub fn sbatch_args(&self, after: &[String], dir: &SlurmDir, hold: bool) -> Vec<String> {
        let mut args = vec![
            "--parsable".to_string(),
            format!("--array={}", self.array),
            format!(
                "--output={}",
                dir.logs().join(format!("{}-%A_%a.out", self.group.name())).display()
            ),
        ];
        if !after.is_empty() {
            args.push(format!("--dependency=afterany:{}", after.join(":")));
        }
        if hold {
            args.push("--hold".into());
        }
        // The script's argument: the unit of task 0.
        args.push(self.script.to_string_lossy().into_owned());
        args.push(self.first.to_string());
        args
    }
}

/// Hands `requests` to sbatch in group order (ensembles after the others,
/// depending on them) and records each in the ledger as soon as it is
/// accepted, so a failure part-way loses nothing already submitted.
pub fn submit(
    requests: &[ArrayRequest],
    dir: &SlurmDir,
    ledger: &mut Ledger,
    hold: bool,
    resubmit: bool,
) -> Result<Vec<Submission>, ClusterError> {
    std::fs::create_dir_all(dir.logs()).map_err(|source| ClusterError::Io {
        path: dir.logs(),
        source,
    })?;
    let mut submitted: Vec<Submission> = Vec::new();
    for request in requests {
        let after: Vec<String> = match request.group {
            Group::Ensembles => submitted.iter().map(|s| s.job_id.clone()).collect(),
            _ => Vec::new(),
        };
        let output = run("sbatch", &request.sbatch_args(&after, dir, hold))?;
        // --parsable prints `jobid` or `jobid;cluster`.
        let job_id = output.trim().split(';').next().unwrap_or_default().to_string();
        if job_id.is_empty() || !job_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(ClusterError::Scheduler {
                command: "sbatch".into(),
                message: format!("unexpected reply `{}` (expected a job id)", output.trim()),
            });
        }
        let submission = Submission {
            job_id,
            group: request.group,
            first: request.first,
            units: request.units.clone(),
            array: request.array.clone(),
            script: request.script.clone(),
            submitted_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            resubmit,
        };
        ledger.submissions.push(submission.clone());
        ledger.write(&dir.ledger())?;
        submitted.push(submission);
    }
    Ok(submitted)
}

/// Where Slurm says each task of `ledger`'s jobs is: `squeue` for the
/// jobs it still holds, `sacct` (when accounting is on) for older ones.
pub fn queue_states(ledger: &Ledger) -> Result<QueueStates, ClusterError> {
    let mut states = QueueStates::new();
    let ids = ledger.job_ids();
    if ids.is_empty() {
        return Ok(states);
    }
    // sacct first: squeue's view, where it has one, is the fresher.
    let accounting = Command::new("sacct")
        .args(["-n", "-P", "-X", "--format=JobID,State", "-j", &ids.join(",")])
        .output();
    if let Some(out) = accounting.ok().filter(|o| o.status.success()) {
        parse_states(&String::from_utf8_lossy(&out.stdout), &mut states);
    }
    let queue = run(
        "squeue",
        &["-h", "-r", "--me", "--states=all", "-o", "%i|%T"].map(String::from),
    )?;
    parse_states(&queue, &mut states);
    Ok(states)
}

/// `1234_5|RUNNING` lines (sacct may add words: `CANCELLED by 0`).
fn parse_states(text: &str, states: &mut QueueStates) {
    for line in text.lines() {
        if let Some((task, state)) = line.split_once('|') {
            let state = state.split_whitespace().next().unwrap_or_default();
            if !task.is_empty() && !state.is_empty() {
                states.insert(task.trim().to_string(), state.to_string());
            }
        }
    }
}

/// Runs a scheduler command, its stdout on success.
fn run(program: &str, args: &[String]) -> Result<String, ClusterError> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| ClusterError::Scheduler {
            command: program.to_string(),
            message: match e.kind() {
                std::io::ErrorKind::NotFound => {
                    format!("`{program}` is not installed or not on PATH (is this a Slurm login node?)")
                }
                _ => e.to_string(),
            },
        })?;
    if !output.status.success() {
        return Err(ClusterError::Scheduler {
            command: format!("{program} {}", args.join(" ")),
            message: format!("{} ({})", String::from_utf8_lossy(&output.stderr).trim(), output.status),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Single-quotes `s` for bash.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_list_ranges_and_throttle() {
        assert_eq!(array_spec(&[(0, 11)], Some(4)), "0-11%4");
        assert_eq!(array_spec(&ranges(&[1, 2, 3, 7, 9, 10]), None), "1-3,7,9-10");
        assert_eq!(array_spec(&ranges(&[5]), Some(2)), "5%2");
    }

    #[test]
    fn max_array_size_is_read_from_scontrol() {
        let config = "Configuration data as of 2026-11-29T08:00:00\nMaxArraySize            = 5\nMaxJobCount = 10000\n";
        assert_eq!(parse_max_array_size(config), Some(5));
        assert_eq!(parse_max_array_size("MaxJobCount = 10000\n"), None);
    }

    #[test]
    fn a_group_larger_than_max_array_size_is_several_arrays() {
        use trendlab_results::units::GroupRange;
        let manifest = Manifest {
            format: trendlab_results::units::MANIFEST_FORMAT,
            trendlab: String::new(),
            experiment: "e".into(),
            spec: "spec.toml".into(),
            spec_hash: String::new(),
            data_fingerprint: String::new(),
            groups: vec![
                GroupRange {
                    group: Group::Classical,
                    first: 0,
                    count: 12,
                },
                GroupRange {
                    group: Group::Ensembles,
                    first: 12,
                    count: 2,
                },
            ],
            units: Vec::new(),
        };
        let dir = SlurmDir { dir: "slurm".into() };
        // Task indexes stay below 5: units 0-4, 5-9 and 10-11, each array from task 0.
        let arrays = ArrayRequest::whole(&manifest, Group::Classical, &dir, Some(2), 5);
        let shape: Vec<(usize, &str, Vec<usize>)> = arrays
            .iter()
            .map(|a| (a.first, a.array.as_str(), a.units.clone()))
            .collect();
        assert_eq!(
            shape,
            [
                (0, "0-4%2", vec![0, 1, 2, 3, 4]),
                (5, "0-4%2", vec![5, 6, 7, 8, 9]),
                (10, "0-1%2", vec![10, 11])
            ]
        );
        // The script learns its first unit from its argument.
        assert_eq!(arrays[1].sbatch_args(&[], &dir, false).last().unwrap(), "5");
        // A resubmission of some units keeps each in its chunk.
        let again = ArrayRequest::some(&manifest, Group::Classical, &[3, 7, 8, 11], &dir, None, 5);
        let shape: Vec<(usize, &str)> = again.iter().map(|a| (a.first, a.array.as_str())).collect();
        assert_eq!(shape, [(0, "3"), (5, "2-3"), (10, "1")]);
        let ensembles = ArrayRequest::whole(&manifest, Group::Ensembles, &dir, None, 5);
        assert_eq!((ensembles[0].first, ensembles[0].array.as_str()), (12, "0-1"));
    }

    #[test]
    fn queue_lines_parse_with_sacct_words() {
        let mut states = QueueStates::new();
        parse_states("12_0|RUNNING\n12_1|CANCELLED by 0\n\nnoise\n", &mut states);
        assert_eq!(states.get("12_0").map(String::as_str), Some("RUNNING"));
        assert_eq!(states.get("12_1").map(String::as_str), Some("CANCELLED"));
        assert_eq!(states.len(), 2);
    }

    #[test]
    fn quoting_survives_quotes() {
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
    }
}
