//! An ensemble fold's inputs, read from the run store: its members'
//! forecasts of the fold, and the selection window — their earlier
//! forecasts (validation origins, earlier folds) cut at the fold's cutoff.
//!
//! This is where leakage is ruled out: a history chunk keeps only target
//! dates on or before the cutoff of the fold being combined, and its
//! actuals and training values come from the panel up to that date. The
//! runs read are exactly the planned run's `reads`, whose ids make its hash.

use std::collections::HashMap;
use trendlab_models::ensemble::{Candidate, DroppedMember, HistoryChunk, MemberForecasts};
use trendlab_models::{Interval, SeriesForecast};
use trendlab_results::folds::{Fold, Window};
use trendlab_results::plan::{Plan, PlannedRun, RunRole};
use trendlab_results::prepare::Prepared;
use trendlab_results::store::{ForecastRow, ForecastTable, RunStatus, RunStore};
use trendlab_spec::OnMissing;

/// One member run's forecasts, by series id, in step order.
type BySeries<'t> = HashMap<&'t str, Vec<&'t ForecastRow>>;

/// A member run with its forecast table indexed by series.
struct Indexed<'p, 't> {
    run: &'p PlannedRun,
    rows: BySeries<'t>,
    levels: &'t [f64],
}

/// Reads what ensemble run `run` combines; `Err` is the run's failure reason.
pub fn gather(
    prepared: &Prepared,
    plan: &Plan,
    run: &PlannedRun,
    store: &RunStore,
    windows: &[Window],
) -> Result<MemberForecasts, String> {
    let (candidates, tables, dropped) = read_candidates(plan, run, store)?;
    let members: Vec<Vec<Indexed<'_, '_>>> = tables
        .iter()
        .map(|runs| {
            runs.iter()
                .map(|(r, table)| Indexed {
                    run: r,
                    rows: by_series(table),
                    levels: &table.levels,
                })
                .collect()
        })
        .collect();
    let e = prepared.experiment.evaluation();
    Ok(MemberForecasts {
        candidates,
        current: current_forecasts(prepared, run, &members, windows),
        history: selection_window(prepared, plan, run, &members, windows),
        dropped,
        rank_by: prepared.experiment.rank_by().metric,
        season: e.season,
    })
}

/// Each candidate configuration with its read runs' forecast tables, or
/// (with `on_missing = "drop"`) why it was dropped.
type Read<'p> = (
    Vec<Candidate>,
    Vec<Vec<(&'p PlannedRun, ForecastTable)>>,
    Vec<DroppedMember>,
);

fn read_candidates<'p>(plan: &'p Plan, run: &PlannedRun, store: &RunStore) -> Result<Read<'p>, String> {
    let ensemble = plan.configs[run.config].family.ensemble().ok_or("not an ensemble")?;
    let by_id: HashMap<&str, &PlannedRun> = plan.runs.iter().map(|r| (r.id.as_str(), r)).collect();
    let (mut candidates, mut tables, mut dropped) = (Vec::new(), Vec::new(), Vec::new());
    for c in plan.candidates(run.config) {
        let label = plan.configs[c].label();
        let mut reads: Vec<&PlannedRun> = run
            .reads
            .iter()
            .filter_map(|id| by_id.get(id.as_str()).copied())
            .filter(|r| r.config == c)
            .collect();
        // The fold's own run first: its failure is the one to report.
        reads.sort_by_key(|r| !is_current(r, run));
        match read_member(store, &label, &reads) {
            Ok(read) => {
                candidates.push(Candidate {
                    label,
                    model: plan.configs[c].model.clone(),
                });
                tables.push(read);
            }
            Err(reason) if ensemble.on_missing == OnMissing::Drop => {
                dropped.push(DroppedMember { member: label, reason })
            }
            Err(reason) => return Err(reason),
        }
    }
    if candidates.is_empty() {
        let reasons: Vec<&str> = dropped.iter().map(|d| d.reason.as_str()).collect();
        return Err(format!("every member was dropped: {}", reasons.join("; ")));
    }
    Ok((candidates, tables, dropped))
}

/// Whether `member` is the member's run of the ensemble run's own fold.
fn is_current(member: &PlannedRun, ensemble: &PlannedRun) -> bool {
    member.role == RunRole::Backtest && member.fold == ensemble.fold
}

/// `[series][candidate]`: each candidate's forecast of the fold.
fn current_forecasts(
    prepared: &Prepared,
    run: &PlannedRun,
    members: &[Vec<Indexed<'_, '_>>],
    windows: &[Window],
) -> Vec<Vec<Option<SeriesForecast>>> {
    let horizon = prepared.experiment.evaluation().horizon;
    windows
        .iter()
        .map(|w| {
            let id = prepared.panel.series[w.series].id.as_str();
            members
                .iter()
                .map(|runs| {
                    let current = runs.iter().find(|x| is_current(x.run, run))?;
                    series_forecast(current.rows.get(id)?, current.levels, horizon)
                })
                .collect()
        })
        .collect()
}

/// The candidates' earlier forecasts of the fold's series, cut at its
/// cutoff: one chunk per (origin, series) every candidate forecast.
fn selection_window(
    prepared: &Prepared,
    plan: &Plan,
    run: &PlannedRun,
    members: &[Vec<Indexed<'_, '_>>],
    windows: &[Window],
) -> Vec<HistoryChunk> {
    let cutoff = plan.fold_of(run).cutoff;
    let panel = &prepared.panel;
    let mut origins: Vec<&Fold> = members[0]
        .iter()
        .filter(|x| !is_current(x.run, run))
        .map(|x| plan.fold_of(x.run))
        .collect();
    origins.sort_by_key(|f| f.cutoff);
    let mut history = Vec::new();
    for origin in origins {
        let at_origin: HashMap<usize, Window> = prepared.windows(origin).into_iter().map(|w| (w.series, w)).collect();
        // Every candidate's run at this origin (the plan reads the same origins for all).
        let rows_at: Vec<&BySeries<'_>> = members
            .iter()
            .filter_map(|runs| runs.iter().find(|x| plan.fold_of(x.run).cutoff == origin.cutoff))
            .map(|x| &x.rows)
            .collect();
        if rows_at.len() < members.len() {
            continue;
        }
        for (i, w) in windows.iter().enumerate() {
            let Some(o) = at_origin.get(&w.series) else { continue };
            let s = &panel.series[w.series];
            let dates = &s.dates[o.test.clone()];
            let steps = dates.iter().take_while(|d| **d <= cutoff).count();
            if steps == 0 {
                continue;
            }
            let forecasts: Option<Vec<Vec<f64>>> = rows_at
                .iter()
                .map(|rows| {
                    let kept = rows.get(s.id.as_str())?.get(..steps)?;
                    let aligned = kept.iter().zip(dates).all(|(r, d)| r.date == *d);
                    aligned.then(|| kept.iter().map(|r| r.forecast).collect())
                })
                .collect();
            if let Some(forecasts) = forecasts {
                history.push(HistoryChunk {
                    series: i,
                    origin: origin.cutoff,
                    train: s.target[o.train.clone()].to_vec(),
                    actual: s.target[o.test.start..o.test.start + steps].to_vec(),
                    forecasts,
                });
            }
        }
    }
    history
}

/// The stored forecasts of one member configuration's runs, or why the
/// ensemble cannot use it.
fn read_member<'p>(
    store: &RunStore,
    label: &str,
    runs: &[&'p PlannedRun],
) -> Result<Vec<(&'p PlannedRun, ForecastTable)>, String> {
    runs.iter()
        .map(|r| {
            let origin = r.origin_label();
            let record = store
                .record(&r.id)
                .map_err(|e| format!("member `{label}` at {origin}: {e}"))?
                .ok_or_else(|| format!("member `{label}` has no stored run at {origin} (run {})", r.id))?;
            if record.status == RunStatus::Failed {
                return Err(format!(
                    "member `{label}` failed at {origin}: {}",
                    record.error.unwrap_or_default()
                ));
            }
            let table = store
                .forecasts(&r.id)
                .map_err(|e| format!("member `{label}` at {origin}: {e}"))?;
            Ok((*r, table))
        })
        .collect()
}

fn by_series(table: &ForecastTable) -> BySeries<'_> {
    let mut rows: BySeries<'_> = HashMap::new();
    for row in &table.rows {
        rows.entry(row.series_id.as_str()).or_default().push(row);
    }
    for series in rows.values_mut() {
        series.sort_by_key(|r| r.step);
    }
    rows
}

/// A member's stored forecast of one series (with its intervals).
pub(crate) fn series_forecast(rows: &[&ForecastRow], levels: &[f64], horizon: usize) -> Option<SeriesForecast> {
    if rows.len() != horizon {
        return None;
    }
    Some(SeriesForecast {
        mean: rows.iter().map(|r| r.forecast).collect(),
        intervals: levels
            .iter()
            .enumerate()
            .map(|(l, level)| Interval {
                level: *level,
                lower: rows.iter().map(|r| r.bounds[l].0).collect(),
                upper: rows.iter().map(|r| r.bounds[l].1).collect(),
            })
            .collect(),
        chosen: None,
        residuals: Vec::new(),
    })
}
