//! trendlab's operations as library calls, in the style of cargo's `ops`:
//! each command of the binary is one function here that takes typed
//! options and returns a typed outcome carrying its exit status. The binary
//! only parses arguments, calls one operation and prints its outcome.
//!
//! Every operation on a spec starts from [`Workspace::open`] (validated
//! spec, data, plan, run store): nothing outside this crate prepares data,
//! builds a plan or opens a run store.
//!
//! ```text
//! validate · plan · run · report · export · sync · work · slurm · k8s · embed
//!        └── Workspace::open(spec, out) → engine (execute) → report / tracking / cluster
//! ```

mod compare;
mod error;
pub mod execution;
pub mod experiment;
pub mod export;
pub mod forecast;
pub mod inspect;
pub mod scale_out;
pub mod tracking;
pub mod units;

#[cfg(feature = "neural")]
pub mod embed;

pub use compare::{Baseline, CompareWith, GateVerdict};
pub use error::{Error, ExitStatus, Outcome, Shell};
pub use execution::{ReportOptions, ReportOutcome, RunOptions, RunOutcome, SyncOutcome};
pub use experiment::Workspace;
pub use inspect::{PlanOutcome, ValidateOutcome, Validated};
pub use units::{ManifestOutcome, Selection, Shard, WorkOptions, WorkOutcome};

pub use trendlab_engine::{Budget, Progress};
