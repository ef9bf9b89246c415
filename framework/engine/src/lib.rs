//! The experiment pipeline after the spec: prepare (load and check data),
//! plan (grid × folds, each run content-hashed), execute (fit, forecast,
//! score, store), and rank (leaderboard).
//!
//! ```text
//! prepare::prepare → plan::Plan::new → execute::execute → leaderboard::Leaderboard::build
//! ```

pub mod execute;
pub mod families;
pub mod folds;
pub mod leaderboard;
pub mod members;
pub mod metrics;
pub mod plan;
pub mod prepare;
pub mod store;

pub use execute::{Progress, RunOptions, Summary, execute};
pub use leaderboard::{Leaderboard, LeaderboardRow};
pub use plan::{Plan, PlannedRun, RunRole};
pub use prepare::{PrepareError, Prepared, prepare};
pub use store::{RunRecord, RunStatus, RunStore, StoreError};
pub use trendlab_models::{EpochLoss, TrainingLog};

/// The version recorded in every run and folded into every run hash.
pub const TRENDLAB_VERSION: &str = env!("CARGO_PKG_VERSION");
