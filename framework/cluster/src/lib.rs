//! Runs an experiment's work units (`trendlab_results::units`) on a cluster
//! engine people already have, with the same `trendlab work` entrypoint as
//! a local worker: Slurm job arrays (`slurm`: submit without waiting, status
//! from the queue and the run store, resubmit only the failed units) and
//! Kubernetes Indexed Jobs (`k8s`: manifests to `kubectl apply`). Results
//! land in the run store; `trendlab report` collects them.
//!
//! ```text
//! plan → Manifest (units) → sbatch arrays / Indexed Jobs → trendlab work → run store
//!                                ↑ ledger of submissions ← status ← squeue / sacct
//! ```

pub mod k8s;
pub mod ledger;
pub mod slurm;
pub mod status;

pub use ledger::{Ledger, Submission};
pub use status::{UnitState, UnitStatus};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: unreadable: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
    #[error("`{command}` failed: {message}")]
    Scheduler { command: String, message: String },
    #[error(transparent)]
    Store(#[from] trendlab_results::StoreError),
}
