//! Series shards of a run: a work unit that runs part of a run's series
//! (`WorkUnit::series`) stores its part under `<run>/shards/<k>of<n>/`
//! (`run.json`, and `forecasts.parquet` when any series was forecast); the
//! worker that stores the last part merges the parts into the run: the
//! forecasts in the backtest's series order, the failed series, the choices
//! and the seconds gathered, and the metrics scored once over every series,
//! so the stored run is the one a local run stores. Only families that fit
//! series one by one are split (`Capabilities::per_series`).

use crate::execute::{Computed, RunContext, compute, fail_if_none_scored, finish, first_fold_choices};
use crate::members::series_forecast;
use crate::scoring::score;
use crate::{RunOptions, Summary};
use std::collections::HashMap;
use std::time::Instant;
use trendlab_models::{Choices, SeriesForecast};
use trendlab_results::Progress;
use trendlab_results::folds::Window;
use trendlab_results::plan::{Plan, PlannedRun};
use trendlab_results::prepare::Prepared;
use trendlab_results::store::parts::{read_part, remove_parts, save_part};
use trendlab_results::store::{ForecastTable, RunHealth, RunRecord, RunStatus, RunStore, StoreError};
use trendlab_results::units::SeriesShard;

/// The windows of `windows` whose series are in `shard` of the evaluated series.
fn windows_of(prepared: &Prepared, windows: &[Window], shard: SeriesShard) -> Vec<Window> {
    let evaluated = &prepared.backtest.series;
    let mine: std::collections::HashSet<usize> = evaluated[shard.positions(evaluated.len())].iter().copied().collect();
    windows.iter().filter(|w| mine.contains(&w.series)).cloned().collect()
}

/// Runs part `shard` of each of `runs` (in order: a later fold reads the
/// choices its shard made in the first), stores the parts, and merges each
/// run whose parts are all stored. Runs already finished are skipped.
pub fn execute_shard(
    prepared: &Prepared,
    plan: &Plan,
    runs: &[&PlannedRun],
    store: &RunStore,
    shard: SeriesShard,
    options: RunOptions,
    progress: &dyn Progress,
) -> Result<Summary, StoreError> {
    let mut summary = Summary {
        planned: runs.len(),
        ..Summary::default()
    };
    let pool = crate::execute::worker_pool(options.budget.jobs, store)?;
    let pending: Vec<&PlannedRun> = runs
        .iter()
        .copied()
        .filter(|r| options.force || store.health(&r.id) != RunHealth::Finished)
        .collect();
    summary.skipped = runs.len() - pending.len();
    progress.start(&pending, summary.skipped);
    for run in pending {
        if let RunHealth::Damaged(reason) = store.health(&run.id) {
            let moved = store.quarantine(&run.id)?;
            summary.repaired.push((run.id.clone(), reason, moved));
        }
        let stored = read_part(store, &run.id, shard)?;
        let record = match stored {
            Some((record, _)) if !options.force => record,
            _ => pool.install(|| run_part(prepared, plan, run, store, shard, progress))?,
        };
        progress.run_done(&record);
        match record.status {
            RunStatus::Finished => summary.finished += 1,
            RunStatus::Failed => summary.failed.push(record),
        }
        merge(prepared, plan, run, store, shard.count)?;
    }
    Ok(summary)
}

/// Computes and stores part `shard` of `run`.
fn run_part(
    prepared: &Prepared,
    plan: &Plan,
    run: &PlannedRun,
    store: &RunStore,
    shard: SeriesShard,
    progress: &dyn Progress,
) -> Result<RunRecord, StoreError> {
    let started = Instant::now();
    let fold = plan.fold_of(run);
    let windows = windows_of(prepared, &prepared.windows(fold), shard);
    let choices = shard_choices(plan, run, store, shard)?;
    let context = RunContext {
        prepared,
        plan,
        run,
        store,
        progress,
    };
    let Computed { mut record, scored } = compute(&context, &windows, choices.as_ref());
    if windows.is_empty() {
        // None of this shard's series is long enough at this fold: an empty
        // part, not a failure (the run fails only if no series is).
        record.status = RunStatus::Finished;
        record.error = None;
    }
    record.total_seconds = started.elapsed().as_secs_f64();
    let table = (!scored.is_empty()).then(|| score(prepared, &scored, fold).1);
    save_part(store, shard, &record, table.as_ref())?;
    Ok(record)
}

/// The first fold's choices for this shard's series: of the merged first
/// fold when it is stored, else of this shard's part of it.
fn shard_choices(
    plan: &Plan,
    run: &PlannedRun,
    store: &RunStore,
    shard: SeriesShard,
) -> Result<Option<Choices>, StoreError> {
    if let Some(choices) = first_fold_choices(plan, run, store)? {
        return Ok(Some(choices));
    }
    if !plan.reuses_first_fold(run) {
        return Ok(None);
    }
    let Some(first) = plan.runs_of(run.config).find(|r| r.fold == 0) else {
        return Ok(None);
    };
    Ok(read_part(store, &first.id, shard)?
        .filter(|(r, _)| r.status == RunStatus::Finished)
        .map(|(r, _)| r.chosen))
}

/// Each series' forecast in `table`, with its intervals.
fn forecasts_of(table: &ForecastTable) -> HashMap<String, SeriesForecast> {
    let mut rows: HashMap<&str, Vec<&trendlab_results::store::ForecastRow>> = HashMap::new();
    for row in &table.rows {
        rows.entry(row.series_id.as_str()).or_default().push(row);
    }
    rows.into_iter()
        .filter_map(|(id, rows)| {
            let horizon = rows.len();
            Some((id.to_string(), series_forecast(&rows, &table.levels, horizon)?))
        })
        .collect()
}

/// Merges the `count` parts of `run` into the run once all are stored
/// (and it is not stored yet); `None` while parts are missing.
pub fn merge(
    prepared: &Prepared,
    plan: &Plan,
    run: &PlannedRun,
    store: &RunStore,
    count: usize,
) -> Result<Option<RunRecord>, StoreError> {
    if matches!(store.health(&run.id), RunHealth::Finished | RunHealth::Failed) {
        return Ok(None);
    }
    let mut parts = Vec::with_capacity(count);
    for index in 0..count {
        match read_part(store, &run.id, SeriesShard { index, count })? {
            Some(part) => parts.push(part),
            None => return Ok(None),
        }
    }
    let fold = plan.fold_of(run);
    let windows = prepared.windows(fold);
    let mut record = parts[0].0.clone();
    record.series = windows.len();
    record.status = RunStatus::Finished;
    record.error = None;
    record.failed_series = Vec::new();
    record.fallback_series = Vec::new();
    record.chosen = Default::default();
    record.fit_seconds = 0.0;
    record.total_seconds = 0.0;
    let mut forecasts = HashMap::new();
    for (part, table) in &parts {
        // A part that failed as a whole (not series by series) fails the run.
        if part.status == RunStatus::Failed && part.failed_series.is_empty() {
            record.status = RunStatus::Failed;
            record.error = record.error.take().or_else(|| part.error.clone());
        }
        record.started_at = record.started_at.clone().min(part.started_at.clone());
        record.fit_seconds += part.fit_seconds;
        record.total_seconds += part.total_seconds;
        record.failed_series.extend(part.failed_series.iter().cloned());
        record.fallback_series.extend(part.fallback_series.iter().cloned());
        record.chosen.extend(part.chosen.clone());
        forecasts.extend(forecasts_of(table));
    }
    // In the backtest's series order, as a local run lists them.
    let position: HashMap<&str, usize> = windows
        .iter()
        .enumerate()
        .map(|(k, w)| (prepared.panel.series[w.series].id.as_str(), k))
        .collect();
    let at = |series: &str| position.get(series).copied().unwrap_or(usize::MAX);
    record.failed_series.sort_by_key(|f| at(&f.series));
    record.fallback_series.sort_by_key(|f| at(&f.series));
    let scored: Vec<(&Window, SeriesForecast)> = windows
        .iter()
        .filter_map(|w| Some((w, forecasts.remove(&prepared.panel.series[w.series].id)?)))
        .collect();
    if record.status == RunStatus::Finished {
        fail_if_none_scored(&mut record, scored.is_empty(), windows.len());
    }
    let record = finish(prepared, store, fold, record, &scored, windows.len(), None)?;
    // The run holds everything now; its parts would only be read again by
    // mistake (and a later plan with another shard count would find them).
    remove_parts(store, &run.id)?;
    Ok(Some(record))
}
