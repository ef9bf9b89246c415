//! One function per subcommand: spec → plan → execute → leaderboard → report.

use crate::compare::CompareWith;
use crate::progress::GridBar;
use crate::table;
use crate::tracking;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use trendlab_engine::leaderboard::Leaderboard;
use trendlab_engine::{Plan, PrepareError, Prepared, Progress, RunOptions, RunStore, prepare};
use trendlab_report::{Comparison, ReportHeader, ReportInput};
use trendlab_spec::ComputeDevice;
use trendlab_tracking::LiveMirror;

pub const INVALID: u8 = 2;

/// Prepares a spec, printing located errors; `None` when it is invalid.
pub fn prepared_or_report(spec: &Path) -> Option<Prepared> {
    match prepare(spec) {
        Ok(p) => Some(p),
        Err(PrepareError::Spec(e)) => {
            eprintln!("{e}");
            None
        }
        Err(PrepareError::Data(e)) => {
            eprintln!("{e}\n  (data of spec {})", spec.display());
            None
        }
    }
}

fn warn_skipped(prepared: &Prepared) {
    let skipped = &prepared.backtest.skipped;
    if skipped.is_empty() {
        return;
    }
    eprintln!(
        "warning: {} series skipped (too short for the backtest):",
        skipped.len()
    );
    for (id, reason) in skipped.iter().take(10) {
        eprintln!("  {id}: {reason}");
    }
    if skipped.len() > 10 {
        eprintln!("  ... and {} more", skipped.len() - 10);
    }
}

pub fn validate(specs: &[std::path::PathBuf]) -> anyhow::Result<ExitCode> {
    let mut all_valid = true;
    for spec in specs {
        match prepared_or_report(spec) {
            Some(p) => {
                let plan = Plan::new(&p);
                let validation = plan.runs.iter().filter(|r| !r.role.is_backtest()).count();
                let refits = match validation {
                    0 => String::new(),
                    n => format!(" + {n} member refits at validation origins"),
                };
                out!(
                    "{}: ok ({} configurations x {} folds = {} runs{refits} on {} series)",
                    spec.display(),
                    plan.configs.len(),
                    plan.folds.len(),
                    plan.runs.len() - validation,
                    p.backtest.series.len()
                );
                warn_skipped(&p);
            }
            None => all_valid = false,
        }
    }
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(INVALID)
    })
}

pub fn plan(spec: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let Some(prepared) = prepared_or_report(spec) else {
        return Ok(ExitCode::from(INVALID));
    };
    let plan = Plan::new(&prepared);
    if json {
        let value = serde_json::json!({
            "experiment": plan.experiment,
            "spec_hash": prepared.experiment.spec_hash,
            "data_fingerprint": prepared.panel.fingerprint,
            "series": prepared.backtest.series.len(),
            "skipped_series": prepared.backtest.skipped,
            "folds": plan.folds,
            "validation_folds": plan.validation_folds,
            "configs": plan.configs.iter().enumerate().map(|(c, config)| serde_json::json!({
                "model": config.model, "label": config.label(), "family": config.family.name(),
                "params": config.family.params(),
                "runs": plan.runs_of(c).map(|r| serde_json::json!({"id": r.id, "fold": r.fold, "reads": r.reads})).collect::<Vec<_>>(),
                "validation_runs": plan.validation_runs_of(c).map(|r| serde_json::json!({"id": r.id, "origin": r.fold})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "total_runs": plan.runs.len(),
        });
        out!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    out!(
        "experiment {} — {} series, {} folds",
        plan.experiment,
        prepared.backtest.series.len(),
        plan.folds.len()
    );
    for f in &plan.validation_folds {
        out!(
            "  validation origin {}: train up to {}, forecast {} .. {} (ensemble members refitted here)",
            f.index,
            f.cutoff,
            f.test_start,
            f.test_end
        );
    }
    for f in &plan.folds {
        out!(
            "  fold {}: train up to {}, test {} .. {}",
            f.index,
            f.cutoff,
            f.test_start,
            f.test_end
        );
    }
    let rows: Vec<Vec<String>> = prepared
        .experiment
        .models
        .iter()
        .map(|m| {
            let configs: Vec<_> = plan
                .configs
                .iter()
                .enumerate()
                .filter(|(_, c)| c.model_index == m.index)
                .collect();
            let runs: usize = configs
                .iter()
                .map(|(c, _)| plan.runs_of(*c).count() + plan.validation_runs_of(*c).count())
                .sum();
            let grid = m
                .grid
                .iter()
                .map(|(k, v)| format!("{k} x{}", v.len()))
                .collect::<Vec<_>>()
                .join(", ");
            let family = configs.first().map_or("", |(_, c)| c.family.name());
            vec![
                m.name.clone(),
                family.to_string(),
                configs.len().to_string(),
                runs.to_string(),
                grid,
            ]
        })
        .collect();
    let header = ["model", "family", "configs", "runs", "grid"].map(String::from);
    out!("{}", table::render(&header, &rows, 2));
    out!("total: {} configurations, {} runs", plan.configs.len(), plan.runs.len());
    for config in &plan.configs {
        out!(
            "  {}  {}",
            config.label(),
            serde_json::Value::Object(config.family.params())
        );
    }
    warn_skipped(&prepared);
    Ok(ExitCode::SUCCESS)
}

/// Where `run`, `report` and `sync` read and write, and which tracking server.
pub struct Target<'a> {
    pub out: &'a Path,
    pub tracking_uri: Option<&'a str>,
}

pub fn run(
    spec: &Path,
    options: RunOptions,
    device: Option<ComputeDevice>,
    target: &Target<'_>,
    quiet: bool,
    compare: CompareWith<'_>,
) -> anyhow::Result<ExitCode> {
    let Some(prepared) = prepared_or_report(spec) else {
        return Ok(ExitCode::from(INVALID));
    };
    let baseline = match compare.baseline(&prepared) {
        Ok(baseline) => baseline,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(ExitCode::from(INVALID));
        }
    };
    warn_skipped(&prepared);
    let mut plan = Plan::new(&prepared);
    if let Some(device) = device {
        if !plan.set_device(device) {
            eprintln!(
                "warning: --device {device} ignored: no model of {} trains on a device",
                spec.display()
            );
        }
    }
    let store = RunStore::new(target.out, &plan.experiment);
    let metrics = &prepared.experiment.scores();
    let uri = tracking::tracking_uri(target.tracking_uri, &prepared);
    let mirror = uri
        .as_deref()
        .and_then(|uri| match tracking::connect_for(uri, &prepared, "run") {
            Ok(mirror) => Some(mirror),
            Err(e) => {
                eprintln!("warning: not mirroring to MLflow: {e}");
                eprintln!(
                    "  runs go to the local store; `trendlab sync {}` mirrors them later",
                    spec.display()
                );
                None
            }
        });
    let bar = GridBar::new(quiet);
    let live = mirror
        .as_ref()
        .map(|m| LiveMirror::new(m, &plan, &store, metrics, &bar));
    let progress: &dyn Progress = match &live {
        Some(live) => live,
        None => &bar,
    };
    let summary = trendlab_engine::execute(&prepared, &plan, &store, options, progress)?;
    bar.finish();
    out!(
        "{} runs planned: {} skipped (already finished), {} finished, {} failed",
        summary.planned,
        summary.skipped,
        summary.finished,
        summary.failed.len()
    );
    let board = local_leaderboard(&prepared, &plan, &store)?;
    let link = mirror
        .as_ref()
        .zip(uri.as_deref())
        .and_then(|(m, uri)| tracking::parent_run_link(uri, m));
    let comparison = baseline.compare(&prepared, &board);
    let report_dir = write_reports(&prepared, &plan, &store, &board, target.out, link, comparison.as_ref())?;
    print_leaderboard(&board);
    print_ensembles(&board);
    let gate_passes = baseline.gate_passes(comparison.as_ref());
    if let (Some(mirror), Some(live), Some(uri)) = (&mirror, &live, &uri) {
        live.finish();
        mirror.finish_parent(&report_dir, !summary.failed.is_empty());
        tracking::print_report(uri, &mirror.report(), spec, mirror.experiment_id());
    }
    for record in &summary.failed {
        let error = record.error.as_deref().unwrap_or("");
        eprintln!(
            "failed: {} {} (run {}): {error}",
            record.model,
            trendlab_engine::plan::origin_label(record.role, record.fold),
            record.run_id
        );
    }
    Ok(if summary.failed.is_empty() && gate_passes {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn report(
    spec: &Path,
    target: &Target<'_>,
    from_mlflow: bool,
    compare: CompareWith<'_>,
) -> anyhow::Result<ExitCode> {
    let Some(prepared) = prepared_or_report(spec) else {
        return Ok(ExitCode::from(INVALID));
    };
    let baseline = match compare.baseline(&prepared) {
        Ok(baseline) => baseline,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(ExitCode::from(INVALID));
        }
    };
    let plan = Plan::new(&prepared);
    let store = RunStore::new(target.out, &plan.experiment);
    let board = if from_mlflow {
        let Some(uri) = tracking::tracking_uri(target.tracking_uri, &prepared) else {
            anyhow::bail!(
                "--from-mlflow needs a server: --tracking-uri, MLFLOW_TRACKING_URI or [tracking] mlflow in the spec"
            );
        };
        let description = &prepared.experiment.document.experiment.description;
        trendlab_tracking::leaderboard_from_mlflow(
            &tracking::client(&uri),
            &plan,
            &prepared.experiment.scores(),
            prepared.experiment.rank_by(),
            description,
        )?
    } else {
        if !plan.runs.iter().any(|r| matches!(store.record(&r.id), Ok(Some(_)))) {
            anyhow::bail!(
                "no runs of this spec are stored in {}; run `trendlab run {}` first",
                store.dir().display(),
                spec.display()
            );
        }
        local_leaderboard(&prepared, &plan, &store)?
    };
    let comparison = baseline.compare(&prepared, &board);
    write_reports(&prepared, &plan, &store, &board, target.out, None, comparison.as_ref())?;
    print_leaderboard(&board);
    print_ensembles(&board);
    Ok(if baseline.gate_passes(comparison.as_ref()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Pushes every stored configuration that MLflow lacks; idempotent.
pub fn sync(spec: &Path, target: &Target<'_>) -> anyhow::Result<ExitCode> {
    let Some(prepared) = prepared_or_report(spec) else {
        return Ok(ExitCode::from(INVALID));
    };
    let Some(uri) = tracking::tracking_uri(target.tracking_uri, &prepared) else {
        anyhow::bail!("sync needs a server: --tracking-uri, MLFLOW_TRACKING_URI or [tracking] mlflow in the spec");
    };
    let plan = Plan::new(&prepared);
    let store = RunStore::new(target.out, &plan.experiment);
    let mirror = tracking::connect_for(&uri, &prepared, "sync").map_err(|e| anyhow::anyhow!("cannot sync: {e}"))?;
    let incomplete = trendlab_tracking::sync(&mirror, &plan, &store, &prepared.experiment.scores());
    mirror.finish_parent(&target.out.join("reports").join(&plan.experiment), false);
    if incomplete > 0 {
        eprintln!(
            "{incomplete} configurations have runs missing from the local store and were not mirrored; `trendlab run` them first"
        );
    }
    let complete = tracking::print_report(&uri, &mirror.report(), spec, mirror.experiment_id());
    Ok(if complete { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// This machine's memory in GB (Linux: `MemTotal` of /proc/meminfo), the
/// default budget for models that declare `memory_gb`.
pub fn machine_memory_gb() -> Option<f64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024.0 / 1e9)
}

pub fn schema() -> anyhow::Result<ExitCode> {
    out!("{}", serde_json::to_string_pretty(&trendlab_spec::json_schema())?);
    Ok(ExitCode::SUCCESS)
}

/// The leaderboard of the plan, from the local run store.
pub fn embed(
    encoder: &Path,
    mut texts: Vec<String>,
    file: Option<&Path>,
    (pooling, normalize): (trendlab_neural::bert::Pooling, bool),
    device: trendlab_spec::ComputeDevice,
) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    if let Some(file) = file {
        let content = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        texts.extend(content.lines().filter(|l| !l.trim().is_empty()).map(str::to_string));
    }
    let device = trendlab_neural::device::inference_device(device).map_err(anyhow::Error::msg)?;
    let encoder = trendlab_neural::bert::TextEncoder::load(encoder, &device)?;
    let input_ids = encoder.token_ids(&texts)?;
    let embeddings = encoder.embed(&texts, pooling, normalize)?;
    let out = serde_json::json!({
        "texts": texts,
        "input_ids": input_ids,
        "embeddings": embeddings,
    });
    crate::print_line(format_args!("{out}"));
    Ok(ExitCode::SUCCESS)
}

fn local_leaderboard(prepared: &Prepared, plan: &Plan, store: &RunStore) -> anyhow::Result<Leaderboard> {
    let description = &prepared.experiment.document.experiment.description;
    Ok(Leaderboard::build(
        plan,
        store,
        &prepared.experiment.scores(),
        prepared.experiment.rank_by(),
        description,
    )?)
}

/// Leaderboard files and the HTML report under `<out>/reports/<experiment>/`.
fn write_reports(
    prepared: &Prepared,
    plan: &Plan,
    store: &RunStore,
    board: &Leaderboard,
    out: &Path,
    mlflow_run: Option<String>,
    comparison: Option<&Comparison>,
) -> anyhow::Result<PathBuf> {
    let dir = out.join("reports").join(&plan.experiment);
    let header = ReportHeader::new(prepared, plan, mlflow_run);
    let input = ReportInput {
        prepared,
        plan,
        store,
        board,
        header: &header,
        comparison,
    };
    trendlab_report::write(&dir, &input).with_context(|| format!("writing the report into {}", dir.display()))?;
    out!("leaderboard: {}", dir.join("leaderboard.md").display());
    out!("report:      {}", dir.join("index.html").display());
    Ok(dir)
}

fn print_leaderboard(board: &Leaderboard) {
    let mut header = vec!["rank".to_string(), "model".into(), "family".into()];
    header.extend(board.metrics.iter().cloned());
    header.push("fit s".into());
    let number = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.4}"));
    let rows: Vec<Vec<String>> = board
        .rows
        .iter()
        .map(|r| {
            let mut cells = vec![
                r.rank.map_or("-".into(), |k| k.to_string()),
                r.label.clone(),
                r.family.clone(),
            ];
            for m in &board.metrics {
                let s = &r.metrics[m];
                cells.push(match (s.mean, s.std) {
                    (Some(mean), Some(std)) => format!("{mean:.4} ± {std:.4}"),
                    (mean, _) => number(mean),
                });
            }
            cells.push(r.fit_seconds.map_or("-".into(), |s| format!("{s:.3}")));
            cells
        })
        .collect();
    out!(
        "\n{} — ranked by {} (mean ± std over folds)",
        board.experiment,
        board.rank_by
    );
    out!("{}", table::render(&header, &rows, 3));
}

/// Each ensemble against its best member: mean and fold by fold.
fn print_ensembles(board: &Leaderboard) {
    let versus: Vec<(&str, &trendlab_engine::leaderboard::VersusBest)> = board
        .rows
        .iter()
        .filter_map(|r| Some((r.label.as_str(), r.ensemble.as_ref()?.versus_best.as_ref()?)))
        .collect();
    if versus.is_empty() {
        return;
    }
    let header = ["ensemble", "best member", "difference", "per fold", "better"].map(String::from);
    let rows: Vec<Vec<String>> = versus
        .iter()
        .map(|(label, v)| {
            let folds: Vec<String> = v
                .per_fold
                .iter()
                .map(|d| d.map_or("n/a".into(), |d| format!("{d:+.4}")))
                .collect();
            vec![
                label.to_string(),
                v.member.clone(),
                format!("{:+.4}{}", v.difference, if v.beats { " (beats it)" } else { "" }),
                folds.join(" "),
                format!("{}/{} folds", v.folds_better, v.per_fold.len()),
            ]
        })
        .collect();
    out!(
        "\nensembles vs their best member — {} (ensemble − member; weights in leaderboard.json)",
        board.rank_by
    );
    out!("{}", table::render(&header, &rows, 2));
}
