//! What an executor tells about its runs as they go: the progress bar and
//! the live MLflow mirror listen.

use crate::plan::PlannedRun;
use crate::store::RunRecord;
use trendlab_models::EpochLoss;

/// Observes the execution of a plan.
pub trait Progress: Sync {
    /// Called once, before any run: the runs about to execute.
    fn start(&self, _to_run: &[&PlannedRun], _skipped: usize) {}
    fn run_done(&self, _record: &RunRecord) {}
    /// A trained family finished an epoch of `run` (at most `of` epochs).
    fn epoch(&self, _run: &PlannedRun, _epoch: &EpochLoss, _of: usize) {}
}

/// No progress reporting.
impl Progress for () {}
