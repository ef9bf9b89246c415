//! trendlab's operations as library calls, in the style of cargo's `ops`:
//! each command of the binary is one function here that takes typed
//! options and returns a typed outcome carrying its exit status. The binary
//! only parses arguments, calls one operation and prints its outcome.
//!
//! Every operation on a spec takes an opened [`Workspace`] (validated
//! spec, data, plan, run store), as cargo's `ops::compile` takes its
//! workspace: the binary opens it once per command, and two operations can
//! share one loaded dataset. Nothing outside this crate prepares data,
//! builds a plan or opens a run store.
//!
//! ```text
//! Workspace::open(spec, out) ─→ plan · run · report · forecast · export · sync · work · slurm · k8s
//!                                 └→ engine (execute) → results (leaderboard) → report / tracking / cluster
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

pub mod embed;

pub use compare::{Baseline, CompareWith, GateVerdict};
pub use error::{Error, ExitStatus, Outcome, Shell};
pub use execution::{ReportOptions, ReportOutcome, RunOptions, RunOutcome, SyncOutcome};
pub use experiment::Workspace;
pub use inspect::{PlanOutcome, ValidateOutcome, Validated};
pub use units::{ManifestOutcome, Selection, Shard, WorkOptions, WorkOutcome};

pub use trendlab_engine::Budget;
pub use trendlab_results::Progress;
