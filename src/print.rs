//! Printing what operations return: errors, warnings, leaderboards.

use crate::table;
use trendlab_ops::tracking::Mirrored;
use trendlab_results::leaderboard::{Leaderboard, VersusBest};
use trendlab_results::significance::{Significance, p_text};
use trendlab_results::{RunRecord, plan::origin_label};

/// An operation's error on stderr: located spec errors as they are, others
/// after `error:`.
pub fn error(e: &trendlab_ops::Error) {
    match e {
        trendlab_ops::Error::Spec { .. } => eprintln!("{e}"),
        _ => eprintln!("error: {e}"),
    }
}

/// The warning about series too short for the backtest.
pub fn skipped(skipped: &[(String, String)]) {
    if let Some(message) = trendlab_ops::execution::skipped_warning(skipped) {
        eprintln!("warning: {message}");
    }
}

/// Failed runs with their reasons, on stderr.
pub fn failed(failed: &[RunRecord]) {
    for record in failed {
        eprintln!(
            "failed: {} {} (run {}): {}",
            record.model,
            origin_label(record.role, record.fold),
            record.run_id,
            record.error.as_deref().unwrap_or("")
        );
    }
}

/// The ranked leaderboard, then each ensemble against its best member.
pub fn leaderboard(board: &Leaderboard) {
    let mut header = vec!["rank".to_string(), "model".into(), "family".into()];
    header.extend(board.metrics.iter().cloned());
    let significance = board.significance.as_ref();
    let tested = significance.is_some_and(|s| s.tested);
    if tested {
        header.extend(["vs best".to_string(), "CI".into()]);
    }
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
                // Without intervals of its own: its conformal intervals' score (‡).
                let conformal = r
                    .conformal
                    .as_ref()
                    .and_then(|c| c.metrics.get(m))
                    .filter(|_| s.mean.is_none());
                cells.push(match (s.mean, s.std, conformal) {
                    (Some(mean), Some(std), _) => format!("{mean:.4} ± {std:.4}"),
                    (None, _, Some(k)) => match (k.mean, k.std) {
                        (Some(mean), Some(std)) => format!("{mean:.4} ± {std:.4} ‡"),
                        (mean, _) => format!("{} ‡", number(mean)),
                    },
                    (mean, _, _) => number(mean),
                });
            }
            if tested {
                cells.push(match (&r.test, r.rank) {
                    (_, Some(1)) => "best".into(),
                    (Some(t), _) => format!("{} p {}", if t.tied { "tied" } else { "worse" }, p_text(t.p_holm)),
                    _ => "-".into(),
                });
                cells.push(
                    r.interval
                        .map_or("-".into(), |i| format!("[{:.4}, {:.4}]", i.low, i.high)),
                );
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
    if board.rows.iter().any(|r| r.conformal.is_some()) {
        out!(
            "‡ no intervals of its own: scored with the conformal intervals `trendlab forecast` gives it (from the earlier folds' errors)"
        );
    }
    if let Some(s) = significance {
        significance_lines(board, s);
    }
    ensembles(board);
}

/// What the tests say below the table: their reading, the ranks' test and
/// each segment's best.
fn significance_lines(board: &Leaderboard, s: &Significance) {
    if let Some(metric) = s.metric.as_ref().filter(|_| s.tested) {
        let pct = s.interval_level * 100.0;
        out!(
            "vs best: Wilcoxon signed-rank on per-series {metric} against the best, Holm-adjusted; tied = not significantly worse at alpha {}; CI: {pct:.0}% bootstrap over series",
            s.alpha
        );
    }
    for note in &s.notes {
        out!("note: {note}");
    }
    if let Some(r) = &s.ranks {
        out!(
            "ranks over {} series × fold blocks: Friedman chi² {:.2}, p {}; Nemenyi CD {:.3} (alpha {}); average ranks {}",
            r.blocks,
            r.statistic,
            p_text(r.p_value),
            r.critical_difference,
            s.alpha,
            r.configurations
                .iter()
                .map(|(label, rank)| format!("{label} {rank:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let (Some(metric), false) = (&s.metric, s.segments.is_empty()) else {
        return;
    };
    let header = ["segment", "series", "best", metric.as_str(), "runner-up"].map(String::from);
    let rows: Vec<Vec<String>> = s
        .segments
        .iter()
        .map(|seg| {
            let cell = |k: usize| {
                seg.rows
                    .get(k)
                    .and_then(|r| Some((r.label.clone(), r.metrics.get(metric).copied().flatten()?)))
            };
            let (best, value) = cell(0).map_or(("-".into(), "-".into()), |(l, v)| (l, format!("{v:.4}")));
            vec![
                format!("{}: {}", seg.dimension, seg.segment),
                seg.series.to_string(),
                best,
                value,
                cell(1).map_or("-".into(), |(l, v)| format!("{l} {v:.4}")),
            ]
        })
        .collect();
    out!(
        "\nbest per segment — {} (every segment's leaderboard in leaderboard.json)",
        board.experiment
    );
    out!("{}", table::render(&header, &rows, 2));
}

/// Each ensemble against its best member: mean and fold by fold.
fn ensembles(board: &Leaderboard) {
    let versus: Vec<(&str, &VersusBest)> = board
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

/// Where the leaderboard and report were written.
pub fn report_paths(dir: &std::path::Path) {
    out!("leaderboard: {}", dir.join("leaderboard.md").display());
    out!("report:      {}", dir.join("index.html").display());
}

/// The regression gate's verdict: passed on stdout, failed on stderr.
pub fn gate(verdict: Option<&trendlab_ops::GateVerdict>) {
    match verdict {
        Some(v) if v.passed() => out!("{v}"),
        Some(v) => eprintln!("{v}"),
        None => {}
    }
}

/// What was mirrored to MLflow, with a warning for what was not.
pub fn mirrored(m: &Mirrored, spec: &std::path::Path) {
    let report = &m.report;
    out!(
        "mlflow {} (experiment {}): {} configurations mirrored, {} already there",
        m.uri,
        m.experiment_id,
        report.mirrored,
        report.already_there
    );
    if report.not_mirrored.is_empty() {
        return;
    }
    match &report.outage {
        Some(reason) => eprintln!("warning: MLflow went away ({reason})"),
        None => eprintln!("warning: MLflow refused some configurations"),
    }
    eprintln!(
        "warning: {} configurations not mirrored (they are in the local store):",
        report.not_mirrored.len()
    );
    for (label, reason) in report.not_mirrored.iter().take(10) {
        eprintln!("  {label}: {reason}");
    }
    if report.not_mirrored.len() > 10 {
        eprintln!("  ... and {} more", report.not_mirrored.len() - 10);
    }
    eprintln!("  run `trendlab sync {}` once the server is back", spec.display());
}

/// What `forecast` wrote: where, with what, and the totals per period.
pub fn forecast(outcome: &trendlab_ops::forecast::ForecastOutcome) {
    let f = &outcome.file;
    let rank = f
        .backtest
        .rank
        .map_or_else(String::new, |r| format!(", #{r} on {}", f.backtest.rank_by));
    out!("forecast: {} ({}{rank})", f.config, f.family);
    if let Some(from) = &outcome.from {
        out!(
            "  from the saved model in {}, without fitting ({})",
            from.dir.display(),
            if from.same_data {
                "the data it was fitted on".to_string()
            } else {
                format!("newer data than it was fitted on, {}", from.fitted_on)
            }
        );
    }
    if let (Some(refit), None) = (&f.refit, &outcome.from) {
        out!("  refit: {refit}");
    }
    out!(
        "  {} series, {} periods after {}; intervals: {}{}",
        f.series,
        f.horizon,
        f.last_date,
        f.intervals_text,
        if f.clipped_at_zero { "; clipped at zero" } else { "" }
    );
    let header = ["date".to_string(), "step".to_string(), "total forecast".to_string()];
    let rows: Vec<Vec<String>> = f
        .totals
        .iter()
        .map(|t| vec![t.date.to_string(), t.step.to_string(), format!("{:.1}", t.forecast)])
        .collect();
    out!("{}", table::render(&header, &rows, 2));
    for failure in &f.failures {
        eprintln!("series {} failed: {}", failure.series, failure.reason);
    }
    if let Some(first) = f.fallbacks.first() {
        out!(
            "  note: {} series forecast by the fallback ({}) where the model failed (first: {}: {}; all in forecast.json)",
            f.fallbacks.len(),
            first.fallback.name(),
            first.series,
            first.reason
        );
    }
    if !f.skipped.is_empty() {
        out!(
            "  {} series are not forecast (too short for the backtest, or not in this data; reasons in forecast.json)",
            f.skipped.len()
        );
    }
    out!("forecast.csv:  {}", outcome.dir.join("forecast.csv").display());
    out!("forecast.json: {}", outcome.dir.join("forecast.json").display());
    if outcome.from.is_none() {
        out!("model:         {}", outcome.dir.join("model").display());
    }
    out!(
        "report:        {} (Forecast section)",
        outcome.report_dir.join("index.html").display()
    );
    match &outcome.mirrored {
        Some(Ok(link)) => out!("mlflow:        {link}"),
        Some(Err(reason)) => eprintln!("warning: the forecast is not in MLflow ({reason}); it is written locally"),
        None => {}
    }
}
