//! The submission ledger: `runs/<experiment>/slurm/submissions.json`, one
//! entry per job array handed to the scheduler (which units, which job
//! id), so that `status` can ask the queue about them and `resubmit` knows
//! what was already tried. Rewritten atomically after every submission.

use crate::ClusterError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use trendlab_results::Group;

/// One job array handed to the scheduler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// The scheduler's job id of the array.
    pub job_id: String,
    pub group: Group,
    /// Unit index of array task 0.
    pub first: usize,
    /// Indexes of the units the array runs.
    pub units: Vec<usize>,
    /// The `--array` value it was submitted with.
    pub array: String,
    pub script: PathBuf,
    pub submitted_at: String,
    /// A resubmission of failed units.
    #[serde(default)]
    pub resubmit: bool,
}

impl Submission {
    /// The scheduler's name of the task that runs `unit` (`1234_5`).
    pub fn task_of(&self, unit: usize) -> String {
        format!("{}_{}", self.job_id, unit - self.first)
    }
}

/// Every submission of one experiment, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    pub submissions: Vec<Submission>,
}

impl Ledger {
    /// Reads the ledger at `path`; empty when nothing was submitted.
    pub fn read(path: &Path) -> Result<Ledger, ClusterError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| ClusterError::Corrupt {
                path: path.to_path_buf(),
                message: format!("{}:{}: {e}", e.line(), e.column()),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ledger::default()),
            Err(source) => Err(ClusterError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    pub fn write(&self, path: &Path) -> Result<(), ClusterError> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("ledgers serialise");
        bytes.push(b'\n');
        trendlab_results::store::write_atomic(path, &bytes).map_err(ClusterError::from)
    }

    /// The latest submission that ran `unit`.
    pub fn latest_for(&self, unit: usize) -> Option<&Submission> {
        self.submissions.iter().rev().find(|s| s.units.contains(&unit))
    }

    /// Job ids of every submission.
    pub fn job_ids(&self) -> Vec<&str> {
        self.submissions.iter().map(|s| s.job_id.as_str()).collect()
    }
}
