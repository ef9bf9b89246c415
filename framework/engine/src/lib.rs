//! The experiment pipeline after the spec: prepare (load and check data),
//! plan (grid × folds, each run content-hashed), execute (fit, forecast,
//! score, store; `schedule` decides when each run starts), and rank
//! (leaderboard). For other processes and machines, `units` cuts the plan
//! into work units, each executed by `execute_runs`.
//!
//! ```text
//! prepare::prepare → plan::Plan::new → execute::execute → leaderboard::Leaderboard::build
//!                                 └→ units::Manifest → (a worker) execute::execute_runs
//! ```

pub mod conformal;
pub mod conformal_backtest;
pub mod execute;
pub mod families;
pub mod folds;
pub mod forecasts;
pub mod future;
pub mod leaderboard;
pub mod members;
pub mod metrics;
pub mod plan;
pub mod prepare;
pub mod saved_model;
pub mod schedule;
mod scoring;
pub mod shards;
pub mod significance;
pub mod store;
pub mod units;

pub use execute::{Progress, RunOptions, Summary, execute, execute_runs};
pub use leaderboard::{Leaderboard, LeaderboardRow};
pub use plan::{Plan, PlannedRun, RunRole};
pub use prepare::{PrepareError, Prepared, prepare};
pub use schedule::Budget;
pub use store::{RunHealth, RunRecord, RunStatus, RunStore, StoreError};
pub use trendlab_models::{EpochLoss, TrainingLog};
pub use units::{Group, Manifest, ManifestError, WorkUnit};

/// The version recorded in every run and folded into every run hash.
pub const TRENDLAB_VERSION: &str = env!("CARGO_PKG_VERSION");
