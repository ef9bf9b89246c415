//! What an experiment's runs produce and everything read from it, without
//! executing anything: the prepared experiment (validated spec, data,
//! backtest folds), the plan (every run content-hashed), the run store, the
//! leaderboard with its tests and conformal scores, the comparison with an
//! earlier leaderboard and its CI gate, forecasts past the data, saved
//! models and work units.
//!
//! The executor (`trendlab-engine`) writes runs into the store; the report,
//! tracking and the cluster launchers read them back through this crate
//! alone, so they never build the model families.
//!
//! ```text
//! prepare::prepare → plan::Plan::new → (engine executes) → store::RunStore
//!                                                     → Leaderboard::assemble → compare::Comparison
//! ```

pub mod compare;
pub mod conformal;
pub mod conformal_backtest;
pub mod folds;
pub mod forecasts;
pub mod leaderboard;
pub mod metrics;
pub mod plan;
pub mod prepare;
pub mod progress;
pub mod saved_model;
pub mod significance;
pub mod store;
pub mod units;

pub use leaderboard::{Leaderboard, LeaderboardRow, Source};
pub use plan::{Plan, PlannedRun, RunRole};
pub use prepare::{PrepareError, Prepared, prepare};
pub use progress::Progress;
pub use store::{RunHealth, RunRecord, RunStatus, RunStore, StoreError};
pub use trendlab_models::{EpochLoss, TrainingLog};
pub use units::{Group, Manifest, ManifestError, WorkUnit};

/// The version recorded in every run and folded into every run hash.
pub const TRENDLAB_VERSION: &str = env!("CARGO_PKG_VERSION");
