//! Executes a plan: for every run not already finished in the store, build
//! the fold's inputs, fit and forecast, score (`scoring`), and store the result. A run
//! that fails (bad parameters, numerical failure, even a panic in a model)
//! is stored as failed with its reason, and the grid goes on; a series a
//! model cannot forecast is recorded in its run, and the others are scored.
//!
//! Runs execute on a rayon pool of `--jobs` threads, and families spread
//! their series over the same pool, so one big run uses every thread too.
//! The `schedule` decides when each run starts: after the runs it needs
//! (an ensemble's members, the first fold whose choices a later fold
//! reuses) and within the budget (jobs, GPU slots, memory).

use crate::fallback::SeriesResult;
use crate::families::forecaster;
use crate::schedule::{Budget, Scheduler};
use crate::scoring::score;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Instant;
use trendlab_models::ensemble::CombinationLog;
use trendlab_models::reconcile::{Hierarchy, Reconciled};
use trendlab_models::{
    Choices, EpochLoss, FitObserver, FoldInput, Forecaster, SeriesForecast, SeriesHistory, SeriesOutcome, TrainingLog,
};
use trendlab_results::Progress;
use trendlab_results::folds::Window;
use trendlab_results::plan::{Plan, PlannedRun, RunRole};
use trendlab_results::prepare::Prepared;
use trendlab_results::store::{RunHealth, RunRecord, RunStatus, RunStore, SeriesFailure, SeriesFallback, StoreError};

#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Re-run finished runs too.
    pub force: bool,
    /// Worker threads (runs, and the series within a run, share them), GPU
    /// slots and memory.
    pub budget: Budget,
}

/// What happened to the plan's runs.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub planned: usize,
    pub skipped: usize,
    pub finished: usize,
    pub failed: Vec<RunRecord>,
    /// Damaged runs found in the store: id, what was wrong, where the
    /// damaged folder was moved (they were run again).
    pub repaired: Vec<(String, String, PathBuf)>,
}

/// Runs every planned run not yet finished (all of them with `force`).
pub fn execute(
    prepared: &Prepared,
    plan: &Plan,
    store: &RunStore,
    options: RunOptions,
    progress: &dyn Progress,
) -> Result<Summary, StoreError> {
    let all: Vec<&PlannedRun> = plan.runs.iter().collect();
    execute_runs(prepared, plan, &all, store, options, progress)
}

/// Runs those of `selected` not yet finished (all of them with `force`);
/// the runs they need outside the selection are read from the store. A
/// worker executing one work unit calls this with the unit's runs.
pub fn execute_runs(
    prepared: &Prepared,
    plan: &Plan,
    selected: &[&PlannedRun],
    store: &RunStore,
    options: RunOptions,
    progress: &dyn Progress,
) -> Result<Summary, StoreError> {
    let mut repaired = Vec::new();
    let mut pending: Vec<&PlannedRun> = Vec::new();
    for &run in selected {
        match store.health(&run.id) {
            RunHealth::Finished if !options.force => continue,
            RunHealth::Damaged(reason) => {
                let moved = store.quarantine(&run.id)?;
                repaired.push((run.id.clone(), reason, moved));
            }
            RunHealth::Absent | RunHealth::Failed | RunHealth::Finished => {}
        }
        pending.push(run);
    }
    let skipped = selected.len() - pending.len();
    progress.start(&pending, skipped);
    let windows: Vec<Vec<Window>> = plan.folds.iter().map(|f| prepared.windows(f)).collect();
    let validation_windows: Vec<Vec<Window>> = plan.validation_folds.iter().map(|f| prepared.windows(f)).collect();
    let outcome: Mutex<Result<Summary, StoreError>> = Mutex::new(Ok(Summary {
        planned: selected.len(),
        skipped,
        repaired,
        ..Summary::default()
    }));
    let stop = AtomicBool::new(false);
    let execute_one = |run: &PlannedRun| {
        let result = first_fold_choices(plan, run, store).and_then(|choices| {
            let context = RunContext {
                prepared,
                plan,
                run,
                store,
                progress,
            };
            let windows = match run.role {
                RunRole::Backtest => &windows[run.fold],
                RunRole::Validation => &validation_windows[run.fold],
            };
            run_one(&context, windows, choices.as_ref())
        });
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
                stop.store(true, Ordering::Relaxed);
            }
            (_, Err(_)) => {}
        }
    };
    let pool = worker_pool(options.budget.jobs, store)?;
    let mut scheduler = Scheduler::new(plan, &pending, options.budget);
    let (done, finished) = mpsc::channel::<&PlannedRun>();
    // The scheduler runs on this thread; runs (and their series) on the pool.
    pool.in_place_scope(|scope| {
        while !scheduler.is_done() {
            if stop.load(Ordering::Relaxed) {
                scheduler.cancel_waiting();
            }
            while let Some(run) = scheduler.next() {
                let done = done.clone();
                let execute_one = &execute_one;
                scope.spawn(move |_| {
                    execute_one(run);
                    // The receiver lives until the scope ends.
                    let _ = done.send(run);
                });
            }
            if scheduler.is_idle() {
                // Only after a store error: nothing runs, nothing may start.
                scheduler.cancel_waiting();
                break;
            }
            match finished.recv() {
                Ok(run) => scheduler.finished(run),
                Err(_) => break,
            }
        }
    });
    let mut summary = outcome.into_inner().unwrap_or_else(|e| e.into_inner())?;
    summary.failed.sort_by_key(|r| (r.model.clone(), r.role, r.fold));
    Ok(summary)
}

/// The pool of `jobs` threads runs (and their series) execute on.
pub(crate) fn worker_pool(jobs: usize, store: &RunStore) -> Result<rayon::ThreadPool, StoreError> {
    let jobs = jobs.max(1);
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| StoreError::Io {
            path: store.dir().to_path_buf(),
            source: std::io::Error::other(format!("cannot start {jobs} worker threads: {e}")),
        })
}

/// What the first fold of `run`'s configuration chose per series, when the
/// family reuses it and that fold finished.
pub(crate) fn first_fold_choices(
    plan: &Plan,
    run: &PlannedRun,
    store: &RunStore,
) -> Result<Option<Choices>, StoreError> {
    if !plan.reuses_first_fold(run) {
        return Ok(None);
    }
    let Some(first) = plan.runs_of(run.config).find(|r| r.fold == 0) else {
        return Ok(None);
    };
    Ok(store
        .record(&first.id)?
        .filter(|r| r.status == RunStatus::Finished)
        .map(|r| r.chosen))
}

/// What one run executes against.
pub(crate) struct RunContext<'a> {
    pub prepared: &'a Prepared,
    pub plan: &'a Plan,
    pub run: &'a PlannedRun,
    pub store: &'a RunStore,
    pub progress: &'a dyn Progress,
}

/// Passes a family's epochs to the progress bar and keeps its training log
/// (or an ensemble's combination) for the run record.
struct RunObserver<'a> {
    run: &'a PlannedRun,
    progress: &'a dyn Progress,
    log: Mutex<Option<TrainingLog>>,
    combination: Mutex<Option<CombinationLog>>,
    importance: Mutex<Vec<(String, f64)>>,
}

impl FitObserver for RunObserver<'_> {
    fn epoch(&self, epoch: &EpochLoss, of: usize) {
        self.progress.epoch(self.run, epoch, of);
    }

    fn trained(&self, log: TrainingLog) {
        *self.log.lock().unwrap_or_else(|e| e.into_inner()) = Some(log);
    }

    fn combined(&self, log: &CombinationLog) {
        *self.combination.lock().unwrap_or_else(|e| e.into_inner()) = Some(log.clone());
    }

    fn importance(&self, gains: &[(String, f64)]) {
        *self.importance.lock().unwrap_or_else(|e| e.into_inner()) = gains.to_vec();
    }
}

/// Executes one run and stores its outcome; only store I/O errors escape.
fn run_one(
    context: &RunContext<'_>,
    windows: &[Window],
    first_fold: Option<&Choices>,
) -> Result<RunRecord, StoreError> {
    let started = Instant::now();
    let Computed { record, scored } = compute(context, windows, first_fold);
    let fold = context.plan.fold_of(context.run);
    finish(
        context.prepared,
        context.store,
        fold,
        record,
        &scored,
        windows.len(),
        Some(started),
    )
}

/// A run computed, not yet stored: its record and each scored series'
/// forecast.
pub(crate) struct Computed<'w> {
    pub record: RunRecord,
    pub scored: Vec<(&'w Window, SeriesForecast)>,
}

/// Fits and forecasts the series of `windows` (all of a run's, or a
/// shard's); failed series are in the record, the others in `scored`.
pub(crate) fn compute<'w>(
    context: &RunContext<'_>,
    windows: &'w [Window],
    first_fold: Option<&Choices>,
) -> Computed<'w> {
    let RunContext {
        prepared,
        plan,
        run,
        store,
        progress,
    } = *context;
    let experiment = &prepared.experiment;
    let config = &plan.configs[run.config];
    let fold = plan.fold_of(run);
    let mut record = RunRecord {
        run_id: run.id.clone(),
        experiment: experiment.name().to_string(),
        model: config.model.clone(),
        family: config.family.name().to_string(),
        params: config.params(),
        grid_values: config.grid_values.clone(),
        fold: run.fold,
        role: run.role,
        cutoff: fold.cutoff,
        horizon: experiment.evaluation().horizon,
        series: windows.len(),
        status: RunStatus::Finished,
        error: None,
        seed: experiment.document.experiment.seed,
        trendlab_version: trendlab_results::TRENDLAB_VERSION.to_string(),
        spec_hash: experiment.spec_hash.clone(),
        data_fingerprint: prepared.panel.fingerprint.clone(),
        started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        fit_seconds: 0.0,
        total_seconds: 0.0,
        failed_series: Vec::new(),
        fallback_series: Vec::new(),
        chosen: Default::default(),
        training: None,
        ensemble: None,
        importance: Vec::new(),
    };
    let fit_start = Instant::now();
    let observer = RunObserver {
        run,
        progress,
        log: Mutex::new(None),
        combination: Mutex::new(None),
        importance: Mutex::new(Vec::new()),
    };
    let run_dir = store.run_dir(&run.id);
    let mut input = fold_input(prepared, windows, first_fold);
    input.observer = &observer;
    input.context.files.artifacts = Some(&run_dir);
    let cache = store.cache_dir();
    input.context.files.cache = Some(&cache);
    let members = match config.family.ensemble() {
        Some(_) => crate::members::gather(prepared, plan, run, store, windows).map(Some),
        None => Ok(None),
    };
    input.context.members = members.as_ref().ok().and_then(Option::as_ref);
    let outcomes = match (&members, windows.is_empty()) {
        (Err(reason), _) => Err(reason.clone()),
        (Ok(_), true) => Err(format!(
            "no series has {} training periods up to {}",
            prepared.experiment.min_train(),
            fold.cutoff
        )),
        (Ok(_), false) => forecast(
            &input,
            config,
            prepared.panel.nonnegative,
            hierarchy(prepared, windows, config),
        ),
    };
    record.fit_seconds = fit_start.elapsed().as_secs_f64();
    record.training = observer.log.lock().unwrap_or_else(|e| e.into_inner()).take();
    record.ensemble = observer.combination.lock().unwrap_or_else(|e| e.into_inner()).take();
    record.importance = std::mem::take(&mut *observer.importance.lock().unwrap_or_else(|e| e.into_inner()));
    let mut scored: Vec<(&Window, SeriesForecast)> = Vec::new();
    match outcomes {
        Ok(outcomes) => {
            for ((w, s), outcome) in windows.iter().zip(&input.series).zip(outcomes) {
                if let Some(reason) = outcome.fell_back {
                    record.fallback_series.push(SeriesFallback {
                        series: s.id.to_string(),
                        fallback: config.fallback,
                        reason,
                    });
                }
                match outcome.forecast {
                    Ok(f) => {
                        if let Some(choice) = &f.chosen {
                            record.chosen.insert(s.id.to_string(), choice.clone());
                        }
                        scored.push((w, f));
                    }
                    Err(reason) => record.failed_series.push(SeriesFailure {
                        series: s.id.to_string(),
                        reason,
                    }),
                }
            }
            fail_if_none_scored(&mut record, scored.is_empty(), windows.len());
        }
        Err(reason) => {
            record.status = RunStatus::Failed;
            record.error = Some(reason);
        }
    }
    Computed { record, scored }
}

/// A run none of whose `series` could be scored fails, with the first reason.
pub(crate) fn fail_if_none_scored(record: &mut RunRecord, none_scored: bool, series: usize) {
    if none_scored {
        record.status = RunStatus::Failed;
        record.error = Some(format!(
            "all {series} series failed; the first: {}",
            record.failed_series.first().map_or("", |f| f.reason.as_str())
        ));
    }
}

/// Scores and stores a computed run of `series` series (its total seconds
/// measured from `started`, when given).
pub(crate) fn finish(
    prepared: &Prepared,
    store: &RunStore,
    fold: &trendlab_results::folds::Fold,
    mut record: RunRecord,
    scored: &[(&Window, SeriesForecast)],
    series: usize,
    started: Option<Instant>,
) -> Result<RunRecord, StoreError> {
    let total = |record: &mut RunRecord| {
        if let Some(started) = started {
            record.total_seconds = started.elapsed().as_secs_f64();
        }
    };
    if record.status == RunStatus::Failed {
        total(&mut record);
        store.save_failed(&record)?;
    } else {
        let (mut metrics, table) = score(prepared, scored, fold);
        if !record.fallback_series.is_empty() {
            metrics
                .notes
                .insert(0, crate::fallback::note(&record.fallback_series, series));
        }
        if !record.failed_series.is_empty() {
            metrics
                .notes
                .insert(0, failed_series_note(&record.failed_series, series));
        }
        total(&mut record);
        store.save_finished(&record, &metrics, &table)?;
    }
    Ok(record)
}

/// "3 of 200 series failed and are not scored (s001: reason; ...)".
fn failed_series_note(failed: &[SeriesFailure], total: usize) -> String {
    format!(
        "{} of {total} series failed and are not scored ({})",
        failed.len(),
        first_reasons(failed.iter().map(|f| (f.series.as_str(), f.reason.as_str())))
    )
}

/// "s001: reason; s002: reason; s003: reason; ...": the first three
/// series with their reasons, and whether there are more.
pub(crate) fn first_reasons<'a>(mut reasons: impl ExactSizeIterator<Item = (&'a str, &'a str)>) -> String {
    const SHOWN: usize = 3;
    let more = if reasons.len() > SHOWN { "; ..." } else { "" };
    let shown: Vec<String> = reasons
        .by_ref()
        .take(SHOWN)
        .map(|(series, reason)| format!("{series}: {reason}"))
        .collect();
    format!("{}{more}", shown.join("; "))
}

/// The fold's inputs as the model sees them: training targets only, plus
/// dates and known-in-advance covariates of the forecast window.
pub fn fold_input<'a>(prepared: &'a Prepared, windows: &[Window], first_fold: Option<&'a Choices>) -> FoldInput<'a> {
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
    let mut input = FoldInput::new(series, prepared.experiment.evaluation().horizon, features);
    input.seed = prepared.experiment.document.experiment.seed;
    input.levels = &prepared.experiment.evaluation().levels;
    input.season = prepared.experiment.evaluation().season;
    input.context.first_fold = first_fold;
    input.context.files.spec_dir = prepared.experiment.file.parent().unwrap_or(std::path::Path::new(""));
    input
}

/// The hierarchy `config` reconciles over: the total and each group of
/// `[evaluation.wrmsse] levels` among the series of `windows` (none
/// without `reconcile`).
pub(crate) fn hierarchy(prepared: &Prepared, windows: &[Window], config: &trendlab_spec::ModelConfig) -> Hierarchy {
    let mut aggregates = Vec::new();
    if config.reconcile.forecasts_aggregates() && !windows.is_empty() {
        let panel = &prepared.panel;
        aggregates.push(("total".to_string(), (0..windows.len()).collect()));
        let levels = prepared
            .experiment
            .evaluation()
            .wrmsse
            .iter()
            .flat_map(|w| w.levels.clone());
        for level in levels {
            let mut groups: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
            for (k, w) in windows.iter().enumerate() {
                let label = panel
                    .level_label(&panel.series[w.series], &level)
                    .expect("level columns are loaded");
                groups.entry(label).or_default().push(k);
            }
            aggregates.extend(
                groups
                    .into_iter()
                    .map(|(key, members)| (format!("{level} = {key}"), members)),
            );
        }
    }
    Hierarchy { aggregates }
}

/// Runs the model, turning errors and panics into a reason; each series'
/// outcome is checked (shape, finite values) and fails alone if malformed,
/// and a failed series is forecast by the configuration's fallback
/// ([`crate::fallback`]). With `nonnegative`, forecasts and bounds are
/// clipped at zero.
pub(crate) fn forecast(
    input: &FoldInput<'_>,
    config: &trendlab_spec::ModelConfig,
    nonnegative: bool,
    hierarchy: Hierarchy,
) -> Result<Vec<SeriesResult>, String> {
    let transformed = trendlab_models::transform::Transformed {
        inner: forecaster(&config.family),
        transform: config.transform,
        season: input.season,
    };
    // Each node (series or aggregate) transformed on its own, then reconciled.
    let model = Reconciled {
        inner: &transformed,
        method: config.reconcile,
        hierarchy,
        reads_features: config.family.uses_features(),
    };
    let outcomes = catch_unwind(AssertUnwindSafe(|| model.forecast(input)))
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
    if outcomes.len() != input.series.len() {
        return Err(format!(
            "the model returned forecasts for {} series instead of {}",
            outcomes.len(),
            input.series.len()
        ));
    }
    let checked = outcomes
        .into_iter()
        .map(|outcome: SeriesOutcome| {
            let f = outcome.map_err(|e| e.to_string())?;
            check_shape(&f, input)?;
            Ok(f)
        })
        .collect();
    let mut results = crate::fallback::fill(input, config, checked);
    if nonnegative {
        for result in &mut results {
            if let Ok(f) = &mut result.forecast {
                f.clip_at_zero();
            }
        }
    }
    Ok(results)
}

/// A series' forecasts must have `horizon` finite values, and intervals at
/// the requested levels (or none) with finite, ordered bounds.
pub(crate) fn check_shape(f: &SeriesForecast, input: &FoldInput<'_>) -> Result<(), String> {
    let h = input.horizon;
    if f.mean.len() != h {
        return Err(format!("the model returned {} forecasts instead of {h}", f.mean.len()));
    }
    if f.mean.iter().any(|v| !v.is_finite()) {
        return Err("the model returned a non-finite forecast".into());
    }
    let levels_match = f.intervals.is_empty()
        || (f.intervals.len() == input.levels.len()
            && f.intervals.iter().zip(input.levels).all(|(i, l)| i.level == *l));
    if !levels_match {
        return Err("the model returned prediction intervals at other levels than requested".into());
    }
    for i in &f.intervals {
        let well_formed = i.lower.len() == h
            && i.upper.len() == h
            && i.lower
                .iter()
                .zip(&i.upper)
                .all(|(lo, hi)| lo.is_finite() && hi.is_finite() && lo <= hi);
        if !well_formed {
            return Err(format!(
                "the model returned a malformed {}% prediction interval",
                i.level
            ));
        }
    }
    Ok(())
}
