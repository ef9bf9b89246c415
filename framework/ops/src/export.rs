//! `trendlab export SPEC`: the run store's columnar files as CSV, for
//! spreadsheets and scripts: `<to>/<run-id>/forecasts.csv` (the columns of
//! the stored forecasts) and `series_metrics.csv` for every finished run of
//! the plan. By default `<to>` is `<out>/exports/<experiment>/`.

use crate::{Error, ExitStatus, Outcome, Workspace};
use std::path::{Path, PathBuf};
use trendlab_results::store::{columns, write_atomic};
use trendlab_results::{RunHealth, RunStatus};

/// What was exported.
#[derive(Debug)]
pub struct ExportOutcome {
    pub dir: PathBuf,
    /// Finished runs exported.
    pub runs: usize,
    /// Planned runs not finished (absent or failed): nothing to export.
    pub not_finished: usize,
    /// Damaged runs (id, what is wrong): not exported.
    pub damaged: Vec<(String, String)>,
}

/// Exit 1 when a run is damaged; what could be read is exported either way.
impl Outcome for ExportOutcome {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::success_if(self.damaged.is_empty(), ExitStatus::Failed)
    }
}

pub fn export(w: &Workspace, to: Option<&Path>) -> Result<ExportOutcome, Error> {
    let dir = to.map_or_else(|| w.out.join("exports").join(&w.plan.experiment), Path::to_path_buf);
    let mut outcome = ExportOutcome {
        dir: dir.clone(),
        runs: 0,
        not_finished: 0,
        damaged: Vec::new(),
    };
    for run in &w.plan.runs {
        match w.store.health(&run.id) {
            RunHealth::Finished => {}
            RunHealth::Damaged(reason) => {
                outcome.damaged.push((run.id.clone(), reason));
                continue;
            }
            RunHealth::Absent | RunHealth::Failed => {
                outcome.not_finished += 1;
                continue;
            }
        }
        let finished = w
            .store
            .record(&run.id)?
            .is_some_and(|r| r.status == RunStatus::Finished);
        if !finished {
            continue;
        }
        let run_dir = dir.join(&run.id);
        std::fs::create_dir_all(&run_dir).map_err(|e| Error::failed(run_dir.display(), e))?;
        let forecasts = w.store.forecasts(&run.id)?;
        write_atomic(&run_dir.join("forecasts.csv"), &forecasts.to_csv())?;
        let metrics = w.store.series_metrics(&run.id)?;
        write_atomic(
            &run_dir.join("series_metrics.csv"),
            &columns::series_metrics_to_csv(&metrics),
        )?;
        outcome.runs += 1;
    }
    Ok(outcome)
}
