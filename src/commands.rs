//! One function per subcommand: spec → plan → execute → leaderboard → report.

use crate::progress::GridBar;
use crate::table;
use anyhow::Context;
use std::path::Path;
use std::process::ExitCode;
use trendlab_engine::leaderboard::Leaderboard;
use trendlab_engine::{Plan, PrepareError, Prepared, RunOptions, RunStore, prepare};
use trendlab_report::ReportHeader;

const INVALID: u8 = 2;

/// Prepares a spec, printing located errors; `None` when it is invalid.
fn prepared_or_report(spec: &Path) -> Option<Prepared> {
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
                out!(
                    "{}: ok ({} configurations x {} folds = {} runs on {} series)",
                    spec.display(),
                    plan.configs.len(),
                    plan.folds.len(),
                    plan.runs.len(),
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
            "configs": plan.configs.iter().enumerate().map(|(c, config)| serde_json::json!({
                "model": config.model, "label": config.label(), "family": config.family.name(),
                "params": config.family.params(),
                "runs": plan.runs_of(c).map(|r| serde_json::json!({"id": r.id, "fold": r.fold})).collect::<Vec<_>>(),
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
            let runs: usize = configs.iter().map(|(c, _)| plan.runs_of(*c).count()).sum();
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

pub fn run(spec: &Path, force: bool, jobs: usize, out: &Path, quiet: bool) -> anyhow::Result<ExitCode> {
    let Some(prepared) = prepared_or_report(spec) else {
        return Ok(ExitCode::from(INVALID));
    };
    warn_skipped(&prepared);
    let plan = Plan::new(&prepared);
    let store = RunStore::new(out, &plan.experiment);
    let bar = GridBar::new(quiet);
    let summary = trendlab_engine::execute(&prepared, &plan, &store, RunOptions { force, jobs }, &bar)?;
    bar.finish();
    out!(
        "{} runs planned: {} skipped (already finished), {} finished, {} failed",
        summary.planned,
        summary.skipped,
        summary.finished,
        summary.failed.len()
    );
    let board = write_reports(&prepared, &plan, &store, out)?;
    print_leaderboard(&board);
    for record in &summary.failed {
        eprintln!(
            "failed: {} fold {} (run {}): {}",
            record.model,
            record.fold,
            record.run_id,
            record.error.as_deref().unwrap_or("")
        );
    }
    Ok(if summary.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn report(spec: &Path, out: &Path) -> anyhow::Result<ExitCode> {
    let Some(prepared) = prepared_or_report(spec) else {
        return Ok(ExitCode::from(INVALID));
    };
    let plan = Plan::new(&prepared);
    let store = RunStore::new(out, &plan.experiment);
    if !plan.runs.iter().any(|r| matches!(store.record(&r.id), Ok(Some(_)))) {
        anyhow::bail!(
            "no runs of this spec are stored in {}; run `trendlab run {}` first",
            store.dir().display(),
            spec.display()
        );
    }
    let board = write_reports(&prepared, &plan, &store, out)?;
    print_leaderboard(&board);
    Ok(ExitCode::SUCCESS)
}

pub fn schema() -> anyhow::Result<ExitCode> {
    out!("{}", serde_json::to_string_pretty(&trendlab_spec::json_schema())?);
    Ok(ExitCode::SUCCESS)
}

/// Leaderboard files and the HTML report under `<out>/reports/<experiment>/`.
fn write_reports(prepared: &Prepared, plan: &Plan, store: &RunStore, out: &Path) -> anyhow::Result<Leaderboard> {
    let e = prepared.experiment.evaluation();
    let board = Leaderboard::build(
        plan,
        store,
        &e.metrics,
        prepared.experiment.rank_by(),
        &prepared.experiment.document.experiment.description,
    )?;
    let dir = out.join("reports").join(&plan.experiment);
    board.write(&dir)?;
    let header = ReportHeader {
        spec_hash: prepared.experiment.spec_hash.clone(),
        data_fingerprint: prepared.panel.fingerprint.clone(),
        trendlab_version: trendlab_engine::TRENDLAB_VERSION.to_string(),
        generated_at: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        series: prepared.backtest.series.len(),
        skipped_series: prepared.backtest.skipped.clone(),
        folds: plan.folds.clone(),
    };
    trendlab_report::write_index(&dir, &board, &header).context("writing the HTML report")?;
    out!("leaderboard: {}", dir.join("leaderboard.csv").display());
    out!("report:      {}", dir.join("index.html").display());
    Ok(board)
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
