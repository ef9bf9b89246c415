//! Executes a plan: for every run not already finished in the store, build
//! the fold's inputs, fit and forecast, score, and store the result. A run
//! that fails (bad parameters, numerical failure, even a panic in a model)
//! is stored as failed with its reason, and the grid goes on.

use crate::families::forecaster;
use crate::folds::Window;
use crate::metrics::{SeriesEval, WeightedSeries, series_metric, undefined_note, wrmsse};
use crate::plan::{Plan, PlannedRun};
use crate::prepare::Prepared;
use crate::store::{ForecastRow, MetricsFile, RunRecord, RunStatus, RunStore, StoreError};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use trendlab_models::{FoldInput, SeriesHistory};
use trendlab_spec::Metric;

#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Re-run finished runs too.
    pub force: bool,
    /// Runs executed at once (threads).
    pub jobs: usize,
}

/// Observer of a grid's progress (the CLI draws a progress bar).
pub trait Progress: Sync {
    /// Called once, before any run: the runs about to execute.
    fn start(&self, _to_run: &[&PlannedRun], _skipped: usize) {}
    fn run_done(&self, _record: &RunRecord) {}
}

/// No progress reporting.
impl Progress for () {}

/// What happened to the plan's runs.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub planned: usize,
    pub skipped: usize,
    pub finished: usize,
    pub failed: Vec<RunRecord>,
}

/// Runs every planned run not yet finished (all of them with `force`).
pub fn execute(
    prepared: &Prepared,
    plan: &Plan,
    store: &RunStore,
    options: RunOptions,
    progress: &dyn Progress,
) -> Result<Summary, StoreError> {
    let pending: Vec<&PlannedRun> = plan
        .runs
        .iter()
        .filter(|r| options.force || !store.is_finished(&r.id))
        .collect();
    let skipped = plan.runs.len() - pending.len();
    progress.start(&pending, skipped);
    let windows: Vec<Vec<Window>> = plan.folds.iter().map(|f| prepared.windows(f)).collect();
    let next = AtomicUsize::new(0);
    let outcome: Mutex<Result<Summary, StoreError>> = Mutex::new(Ok(Summary {
        planned: plan.runs.len(),
        skipped,
        ..Summary::default()
    }));
    let worker = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(run) = pending.get(i) else { break };
            let result = run_one(prepared, plan, run, &windows[run.fold], store);
            if let Ok(record) = &result {
                // Outside the lock: observers may be slow (mirroring to a server).
                progress.run_done(record);
            }
            let mut guard = outcome.lock().unwrap_or_else(|e| e.into_inner());
            match (result, &mut *guard) {
                (Ok(record), Ok(summary)) => match record.status {
                    RunStatus::Finished => summary.finished += 1,
                    RunStatus::Failed => summary.failed.push(record),
                },
                (Err(e), Ok(_)) => {
                    *guard = Err(e);
                    next.store(pending.len(), Ordering::Relaxed);
                }
                (_, Err(_)) => break,
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..options.jobs.max(1).min(pending.len().max(1)) {
            scope.spawn(worker);
        }
        worker();
    });
    let mut summary = outcome.into_inner().unwrap_or_else(|e| e.into_inner())?;
    summary.failed.sort_by_key(|r| (r.model.clone(), r.fold));
    Ok(summary)
}

/// Executes one run and stores its outcome; only store I/O errors escape.
fn run_one(
    prepared: &Prepared,
    plan: &Plan,
    run: &PlannedRun,
    windows: &[Window],
    store: &RunStore,
) -> Result<RunRecord, StoreError> {
    let started = Instant::now();
    let experiment = &prepared.experiment;
    let config = &plan.configs[run.config];
    let fold = &plan.folds[run.fold];
    let mut record = RunRecord {
        run_id: run.id.clone(),
        experiment: experiment.name().to_string(),
        model: config.model.clone(),
        family: config.family.name().to_string(),
        params: config.family.params(),
        grid_values: config.grid_values.clone(),
        fold: run.fold,
        cutoff: fold.cutoff,
        horizon: experiment.evaluation().horizon,
        series: windows.len(),
        status: RunStatus::Finished,
        error: None,
        seed: experiment.document.experiment.seed,
        trendlab_version: crate::TRENDLAB_VERSION.to_string(),
        spec_hash: experiment.spec_hash.clone(),
        data_fingerprint: prepared.panel.fingerprint.clone(),
        started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        fit_seconds: 0.0,
        total_seconds: 0.0,
    };
    let fit_start = Instant::now();
    let forecasts = forecast(prepared, windows, &config.family);
    record.fit_seconds = fit_start.elapsed().as_secs_f64();
    match forecasts {
        Ok(forecasts) => {
            let (metrics, rows) = score(prepared, windows, fold, &forecasts);
            record.total_seconds = started.elapsed().as_secs_f64();
            store.save_finished(&record, &metrics, &rows)?;
        }
        Err(reason) => {
            record.status = RunStatus::Failed;
            record.error = Some(reason);
            record.total_seconds = started.elapsed().as_secs_f64();
            store.save_failed(&record)?;
        }
    }
    Ok(record)
}

/// The fold's inputs as the model sees them: training targets only, plus
/// dates and known-in-advance covariates of the forecast window.
pub fn fold_input<'a>(prepared: &'a Prepared, windows: &[Window]) -> FoldInput<'a> {
    let panel = &prepared.panel;
    let features = &prepared.features;
    let covariate = |name: &String| panel.covariate_index(name).expect("feature covariates are loaded");
    let series = windows
        .iter()
        .map(|w| {
            let s = &panel.series[w.series];
            SeriesHistory {
                id: &s.id,
                text: s.text.as_deref(),
                dates: &s.dates[w.train.start..w.test.end],
                target: &s.target[w.train.clone()],
                past: features
                    .past
                    .iter()
                    .map(|c| &s.covariates[covariate(c)][w.train.clone()])
                    .collect(),
                future: features
                    .future
                    .iter()
                    .map(|c| &s.covariates[covariate(c)][w.train.start..w.test.end])
                    .collect(),
            }
        })
        .collect();
    FoldInput {
        series,
        horizon: prepared.experiment.evaluation().horizon,
        features,
        seed: prepared.experiment.document.experiment.seed,
    }
}

/// Runs the model, turning errors, panics and malformed output into a reason.
fn forecast(
    prepared: &Prepared,
    windows: &[Window],
    family: &trendlab_spec::FamilySpec,
) -> Result<Vec<Vec<f64>>, String> {
    let input = fold_input(prepared, windows);
    let result = catch_unwind(AssertUnwindSafe(|| forecaster(family).forecast(&input)))
        .map_err(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
            format!(
                "the model panicked: {}",
                message.unwrap_or_else(|| "unknown cause".into())
            )
        })?
        .map_err(|e| e.to_string())?;
    if result.len() != windows.len() || result.iter().any(|f| f.len() != input.horizon) {
        return Err(format!(
            "the model returned forecasts of the wrong shape (expected {} series x {} steps)",
            windows.len(),
            input.horizon
        ));
    }
    if let Some((i, _)) = result
        .iter()
        .enumerate()
        .find(|(_, f)| f.iter().any(|v| !v.is_finite()))
    {
        return Err(format!(
            "the model returned a non-finite forecast for series `{}`",
            input.series[i].id
        ));
    }
    Ok(result)
}

/// Metrics and forecast rows of one fold.
fn score(
    prepared: &Prepared,
    windows: &[Window],
    fold: &crate::folds::Fold,
    forecasts: &[Vec<f64>],
) -> (MetricsFile, Vec<ForecastRow>) {
    let panel = &prepared.panel;
    let e = prepared.experiment.evaluation();
    let evals: Vec<SeriesEval<'_>> = windows
        .iter()
        .zip(forecasts)
        .map(|(w, f)| {
            let s = &panel.series[w.series];
            SeriesEval {
                train: &s.target[w.train.clone()],
                actual: &s.target[w.test.clone()],
                forecast: f,
            }
        })
        .collect();
    let mut metrics = MetricsFile::default();
    for &metric in e.metrics.iter().filter(|m| **m != Metric::Wrmsse) {
        let mut values = Vec::new();
        for (w, eval) in windows.iter().zip(&evals) {
            if let Some(v) = series_metric(metric, eval, e.season) {
                metrics
                    .per_series
                    .entry(panel.series[w.series].id.clone())
                    .or_default()
                    .insert(metric.name().into(), v);
                values.push(v);
            }
        }
        let zero_actuals = evals.iter().flat_map(|s| s.actual).filter(|a| **a == 0.0).count();
        if values.len() < evals.len() || (metric == Metric::Mape && zero_actuals > 0) {
            metrics
                .notes
                .push(undefined_note(metric, evals.len() - values.len(), zero_actuals));
        }
        if !values.is_empty() {
            metrics
                .aggregate
                .insert(metric.name().into(), values.iter().sum::<f64>() / values.len() as f64);
        }
    }
    if e.metrics.contains(&Metric::Wrmsse) {
        let (value, left_out) = wrmsse(
            &weighted(prepared, windows, &evals),
            e.wrmsse.as_ref().map_or(0, |w| w.levels.len()),
        );
        if left_out > 0 {
            metrics.notes.push(format!(
                "wrmsse left out {left_out} aggregate series whose training data never changes"
            ));
        }
        if let Some(v) = value {
            metrics.aggregate.insert(Metric::Wrmsse.name().into(), v);
        }
    }
    let rows = windows
        .iter()
        .zip(&evals)
        .flat_map(|(w, eval)| {
            let s = &panel.series[w.series];
            w.test.clone().enumerate().map(move |(h, t)| ForecastRow {
                series_id: s.id.clone(),
                fold: fold.index,
                cutoff: fold.cutoff,
                date: s.dates[t],
                step: h + 1,
                actual: eval.actual[h],
                forecast: eval.forecast[h],
            })
        })
        .collect();
    (metrics, rows)
}

/// WRMSSE inputs: each series' weight over the last training periods and
/// its label at every declared level.
fn weighted<'a>(prepared: &Prepared, windows: &[Window], evals: &[SeriesEval<'a>]) -> Vec<WeightedSeries<'a>> {
    let panel = &prepared.panel;
    let spec = prepared
        .experiment
        .evaluation()
        .wrmsse
        .clone()
        .unwrap_or(trendlab_spec::WrmsseSection {
            weight: None,
            weight_periods: 28,
            levels: vec![],
        });
    let weight_column = spec.weight.as_ref().and_then(|w| panel.covariate_index(w));
    windows
        .iter()
        .zip(evals)
        .map(|(w, eval)| {
            let s = &panel.series[w.series];
            let values = weight_column.map_or(&s.target[w.train.clone()], |k| &s.covariates[k][w.train.clone()]);
            let weight = values[values.len().saturating_sub(spec.weight_periods)..].iter().sum();
            let labels = spec
                .levels
                .iter()
                .map(|level| {
                    let parts: Vec<&str> = level
                        .split('+')
                        .map(|c| s.statics[panel.static_index(c.trim()).expect("level columns are loaded")].as_str())
                        .collect();
                    parts.join("+")
                })
                .collect();
            WeightedSeries {
                eval: *eval,
                weight,
                labels,
            }
        })
        .collect()
}
