//! The operations that execute and rank: `run` (every planned run not yet
//! finished, then the leaderboard and report), `report` (the leaderboard and
//! report from the run store or from MLflow alone) and `sync` (the run store
//! mirrored to MLflow after an outage).

use crate::compare::{CompareWith, GateVerdict};
use crate::error::{Error, ExitStatus, Outcome, Shell};
use crate::experiment::Workspace;
use crate::tracking::{self, Mirrored};
use std::path::PathBuf;
use trendlab_engine::{Budget, Summary};
use trendlab_report::{ReportHeader, ReportInput};
use trendlab_results::compare::Comparison;
use trendlab_results::forecasts::{ForecastFile, forecast_dir};
use trendlab_results::leaderboard::{Leaderboard, Source};
use trendlab_results::{Progress, RunHealth, RunRecord, RunStore};
use trendlab_spec::ComputeDevice;
use trendlab_tracking::LiveMirror;

/// How `run` runs.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions<'a> {
    /// Run finished runs again.
    pub force: bool,
    pub budget: Budget,
    /// Train the neural families here (`--device`).
    pub device: Option<ComputeDevice>,
    /// `--tracking-uri` (else `MLFLOW_TRACKING_URI`, else the spec's).
    pub tracking_uri: Option<&'a str>,
    pub compare: CompareWith<'a>,
}

impl RunOptions<'static> {
    /// `trendlab run` with its defaults on `jobs` worker threads: finished
    /// runs skipped, devices as the spec says, the tracking server of the
    /// environment or the spec, no comparison.
    pub fn jobs(jobs: usize) -> Self {
        RunOptions {
            force: false,
            budget: Budget::jobs(jobs),
            device: None,
            tracking_uri: None,
            compare: CompareWith::default(),
        }
    }
}

/// What `run` did.
#[derive(Debug)]
pub struct RunOutcome {
    pub summary: Summary,
    pub leaderboard: Leaderboard,
    /// `reports/<experiment>/`.
    pub report_dir: PathBuf,
    pub gate: Option<GateVerdict>,
    /// What reached MLflow, when a server was configured and answered.
    pub mirrored: Option<Mirrored>,
}

impl Outcome for RunOutcome {
    fn exit_status(&self) -> ExitStatus {
        let gate_passes = self.gate.as_ref().is_none_or(GateVerdict::passed);
        ExitStatus::success_if(self.summary.failed.is_empty() && gate_passes, ExitStatus::Failed)
    }
}

impl RunOutcome {
    /// The failed runs, with their reasons.
    pub fn failed(&self) -> &[RunRecord] {
        &self.summary.failed
    }
}

/// `trendlab run SPEC`: runs what is not finished, mirrors each run to
/// MLflow when a server is configured (an unreachable one is a warning:
/// the grid runs whatever the server does), writes the leaderboard and report.
pub fn run(
    workspace: &mut Workspace,
    options: RunOptions<'_>,
    progress: &dyn Progress,
    shell: &dyn Shell,
) -> Result<RunOutcome, Error> {
    let baseline = options.compare.baseline(&workspace.prepared)?;
    warn_skipped(workspace, shell);
    if let Some(device) = options.device
        && !workspace.set_device(device)
    {
        shell.warn(&format!(
            "--device {device} ignored: no model of {} trains on a device",
            workspace.spec.display()
        ));
    }
    let w = &*workspace;
    let metrics = &w.prepared.experiment.scores();
    let uri = tracking::tracking_uri(options.tracking_uri, &w.prepared);
    let mirror = uri
        .as_deref()
        .and_then(|uri| match tracking::connect_for(uri, &w.prepared, "run") {
            Ok(mirror) => Some(mirror),
            Err(e) => {
                shell.warn(&format!(
                    "not mirroring to MLflow: {e}\n  runs go to the local store; `trendlab sync {}` mirrors them later",
                    w.spec.display()
                ));
                None
            }
        });
    let live = mirror
        .as_ref()
        .map(|m| LiveMirror::new(m, &w.plan, &w.store, metrics, progress));
    let observed: &dyn Progress = match &live {
        Some(live) => live,
        None => progress,
    };
    let engine_options = trendlab_engine::RunOptions {
        force: options.force,
        budget: options.budget,
    };
    let summary = trendlab_engine::execute(&w.prepared, &w.plan, &w.store, engine_options, observed)?;
    for (id, reason, moved) in &summary.repaired {
        shell.warn(&format!(
            "run {id} was damaged ({reason}): moved to {} and run again",
            moved.display()
        ));
    }
    let leaderboard = Leaderboard::assemble(&w.prepared, &w.plan, Source::Store(&w.store))?;
    let link = mirror
        .as_ref()
        .zip(uri.as_deref())
        .and_then(|(m, uri)| tracking::parent_run_link(uri, m));
    let comparison = baseline.compare(&w.prepared, &leaderboard);
    let report_dir = write_reports(w, &w.store, &leaderboard, link, comparison.as_ref())?;
    let gate = baseline.verdict(comparison.as_ref());
    let mirrored = match (&mirror, &live, &uri) {
        (Some(mirror), Some(live), Some(uri)) => {
            live.finish();
            mirror.finish_parent(&report_dir, !summary.failed.is_empty());
            Some(Mirrored::of(uri, mirror))
        }
        _ => None,
    };
    Ok(RunOutcome {
        summary,
        leaderboard,
        report_dir,
        gate,
        mirrored,
    })
}

/// How `report` reads.
#[derive(Debug, Clone, Copy)]
pub struct ReportOptions<'a> {
    /// `--tracking-uri` (else `MLFLOW_TRACKING_URI`, else the spec's).
    pub tracking_uri: Option<&'a str>,
    /// Read the runs from the MLflow server instead of the local store.
    pub from_mlflow: bool,
    pub compare: CompareWith<'a>,
}

/// What `report` wrote.
#[derive(Debug)]
pub struct ReportOutcome {
    pub leaderboard: Leaderboard,
    pub report_dir: PathBuf,
    pub gate: Option<GateVerdict>,
    /// Damaged runs left out of the report (id, what is wrong); `run`
    /// moves them aside and recomputes them.
    pub damaged: Vec<(String, String)>,
}

/// Exit 1 when the gate failed or runs are damaged; the report is written either way.
impl Outcome for ReportOutcome {
    fn exit_status(&self) -> ExitStatus {
        let gate_passes = self.gate.as_ref().is_none_or(GateVerdict::passed);
        ExitStatus::success_if(gate_passes && self.damaged.is_empty(), ExitStatus::Failed)
    }
}

/// `trendlab report SPEC`: the leaderboard and report from the run store
/// (or from MLflow alone).
pub fn report(w: &Workspace, options: ReportOptions<'_>) -> Result<ReportOutcome, Error> {
    let baseline = options.compare.baseline(&w.prepared)?;
    let damaged: Vec<(String, String)> = if options.from_mlflow {
        Vec::new()
    } else {
        w.plan
            .runs
            .iter()
            .filter_map(|r| match w.store.health(&r.id) {
                RunHealth::Damaged(reason) => Some((r.id.clone(), reason)),
                RunHealth::Absent | RunHealth::Finished | RunHealth::Failed => None,
            })
            .collect()
    };
    let store = w.store.excluding(damaged.iter().map(|(id, _)| id.clone()));
    let source = if options.from_mlflow {
        let Some(uri) = tracking::tracking_uri(options.tracking_uri, &w.prepared) else {
            return Err(Error::Failed(
                "--from-mlflow needs a server: --tracking-uri, MLFLOW_TRACKING_URI or [tracking] mlflow in the spec"
                    .into(),
            ));
        };
        Source::Read(trendlab_tracking::read_back_from_mlflow(
            &tracking::client(&uri),
            &w.plan,
            &w.prepared.experiment.scores(),
        )?)
    } else {
        if !w
            .plan
            .runs
            .iter()
            .any(|r| w.store.run_dir(&r.id).join("run.json").exists())
        {
            return Err(Error::Failed(format!(
                "no runs of this spec are stored in {}; run `trendlab run {}` first",
                w.store.dir().display(),
                w.spec.display()
            )));
        }
        Source::Store(&store)
    };
    let leaderboard = Leaderboard::assemble(&w.prepared, &w.plan, source)?;
    let comparison = baseline.compare(&w.prepared, &leaderboard);
    let report_dir = write_reports(w, &store, &leaderboard, None, comparison.as_ref())?;
    Ok(ReportOutcome {
        gate: baseline.verdict(comparison.as_ref()),
        leaderboard,
        report_dir,
        damaged,
    })
}

/// What `sync` mirrored.
#[derive(Debug)]
pub struct SyncOutcome {
    pub mirrored: Mirrored,
    /// Configurations with runs missing from the local store (not mirrored).
    pub incomplete: usize,
}

impl Outcome for SyncOutcome {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::success_if(self.mirrored.complete(), ExitStatus::Failed)
    }
}

/// `trendlab sync SPEC`: pushes every stored configuration that MLflow
/// lacks; idempotent.
pub fn sync(w: &Workspace, tracking_uri: Option<&str>) -> Result<SyncOutcome, Error> {
    let Some(uri) = tracking::tracking_uri(tracking_uri, &w.prepared) else {
        return Err(Error::Failed(
            "sync needs a server: --tracking-uri, MLFLOW_TRACKING_URI or [tracking] mlflow in the spec".into(),
        ));
    };
    let mirror =
        tracking::connect_for(&uri, &w.prepared, "sync").map_err(|e| Error::Failed(format!("cannot sync: {e}")))?;
    let incomplete = trendlab_tracking::sync(&mirror, &w.plan, &w.store, &w.prepared.experiment.scores());
    mirror.finish_parent(&w.report_dir(), false);
    Ok(SyncOutcome {
        mirrored: Mirrored::of(&uri, &mirror),
        incomplete,
    })
}

/// Warns about the series left out of the backtest.
pub(crate) fn warn_skipped(workspace: &Workspace, shell: &dyn Shell) {
    if let Some(message) = skipped_warning(workspace.skipped_series()) {
        shell.warn(&message);
    }
}

/// What to tell about series left out of the backtest (too short), if any.
pub fn skipped_warning(skipped: &[(String, String)]) -> Option<String> {
    if skipped.is_empty() {
        return None;
    }
    let mut message = format!("{} series skipped (too short for the backtest):", skipped.len());
    for (id, reason) in skipped.iter().take(10) {
        message.push_str(&format!("\n  {id}: {reason}"));
    }
    if skipped.len() > 10 {
        message.push_str(&format!("\n  ... and {} more", skipped.len() - 10));
    }
    Some(message)
}

/// Leaderboard files and the HTML report under `<out>/reports/<experiment>/`,
/// with the forecast past the data when one is stored for this data.
pub(crate) fn write_reports(
    w: &Workspace,
    store: &RunStore,
    board: &Leaderboard,
    mlflow_run: Option<String>,
    comparison: Option<&Comparison>,
) -> Result<PathBuf, Error> {
    let dir = w.report_dir();
    let header = ReportHeader::new(&w.prepared, &w.plan, mlflow_run);
    let forecast_dir = forecast_dir(&w.out, &w.plan.experiment, &w.prepared.panel.fingerprint);
    let forecast = ForecastFile::read(&forecast_dir).map_err(|e| {
        Error::Failed(format!(
            "{e}: the stored forecast is damaged; run `trendlab forecast {}` again (or delete {})",
            w.spec.display(),
            forecast_dir.display()
        ))
    })?;
    let input = ReportInput {
        prepared: &w.prepared,
        plan: &w.plan,
        store,
        board,
        header: &header,
        comparison,
        forecast: forecast.as_ref(),
    };
    trendlab_report::write(&dir, &input)
        .map_err(|e| Error::failed(format!("writing the report into {}", dir.display()), e))?;
    Ok(dir)
}
