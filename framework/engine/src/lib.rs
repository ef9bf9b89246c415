//! The executor: every planned run not yet finished is fitted, forecast,
//! scored and stored (`execute`), in an order and number at once that
//! `schedule` decides; `families` maps each family's spec to its
//! implementation; `members` reads an ensemble's inputs from the store;
//! `fallback` forecasts the series a family fails
//! on; `shards` runs part of a run's series and merges the parts; `future`
//! forecasts past the data through the same code path as a backtest fold.
//!
//! Everything the executor reads and writes besides the models — the
//! prepared experiment, the plan, the run store, leaderboards — lives in
//! `trendlab-results`, which never depends on this crate.
//!
//! ```text
//! results::prepare → results::Plan → execute::execute → results::RunStore → results::Leaderboard::assemble
//!                               └→ results::Manifest → (a worker) execute::execute_runs
//! ```

pub mod execute;
pub mod fallback;
pub mod families;
pub mod future;
pub mod members;
pub mod schedule;
mod scoring;
pub mod shards;

pub use execute::{RunOptions, Summary, execute, execute_runs};
pub use schedule::Budget;
