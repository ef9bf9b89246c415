//! Where each work unit stands, from two sources: the run store (the truth
//! about results: a unit is done when every run of it finished, failed
//! when a run stored a failure) and the scheduler's queue (pending or
//! running tasks). A task that left the queue without storing its runs —
//! cancelled, killed, out of memory, node lost — counts as failed, so that
//! `resubmit --failed` picks it up.

use crate::ledger::Ledger;
use serde::Serialize;
use std::collections::BTreeMap;
use trendlab_results::{Manifest, RunStatus, RunStore, StoreError, WorkUnit};

/// The state of one unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum UnitState {
    /// Every run of the unit finished.
    Done,
    /// A run failed, or the task ended without storing the unit's runs.
    Failed(String),
    /// The task is running.
    Running,
    /// The task waits in the queue.
    Pending,
    /// No submission ran this unit.
    NotSubmitted,
}

impl UnitState {
    pub fn name(&self) -> &'static str {
        match self {
            UnitState::Done => "done",
            UnitState::Failed(_) => "failed",
            UnitState::Running => "running",
            UnitState::Pending => "pending",
            UnitState::NotSubmitted => "not submitted",
        }
    }

    /// Nothing more will happen to the unit without a (re)submission.
    pub fn is_settled(&self) -> bool {
        !matches!(self, UnitState::Running | UnitState::Pending)
    }
}

/// A unit with its state and the task that ran it last.
#[derive(Debug, Clone, Serialize)]
pub struct UnitStatus {
    pub unit: usize,
    pub label: String,
    #[serde(flatten)]
    pub state: UnitState,
    /// The scheduler's task (`1234_5`), when submitted.
    pub task: Option<String>,
}

/// What the scheduler says about each task it knows (`1234_5` → `RUNNING`).
pub type QueueStates = BTreeMap<String, String>;

/// The state of every unit of `manifest`.
pub fn unit_states(
    manifest: &Manifest,
    store: &RunStore,
    ledger: &Ledger,
    queue: &QueueStates,
) -> Result<Vec<UnitStatus>, StoreError> {
    manifest
        .units
        .iter()
        .map(|unit| {
            let submission = ledger.latest_for(unit.index);
            let task = submission.map(|s| s.task_of(unit.index));
            let state = match stored_state(unit, store)? {
                Some(state) => state,
                None => match (&task, task.as_ref().and_then(|t| queue.get(t))) {
                    (None, _) => UnitState::NotSubmitted,
                    (Some(_), Some(s)) if is_waiting(s) => UnitState::Pending,
                    (Some(_), Some(s)) if is_running(s) => UnitState::Running,
                    (Some(task), Some(s)) => {
                        UnitState::Failed(format!("task {task} ended {s} without storing the unit's runs"))
                    }
                    (Some(task), None) => UnitState::Failed(format!(
                        "task {task} left the queue without storing the unit's runs (cancelled or killed)"
                    )),
                },
            };
            // A task may still run a unit whose earlier attempt stored a failure.
            let state = match (state, task.as_ref().and_then(|t| queue.get(t))) {
                (UnitState::Failed(_), Some(s)) if is_running(s) => UnitState::Running,
                (UnitState::Failed(_), Some(s)) if is_waiting(s) => UnitState::Pending,
                (state, _) => state,
            };
            Ok(UnitStatus {
                unit: unit.index,
                label: unit.label.clone(),
                state,
                task,
            })
        })
        .collect()
}

/// Done or failed by the store alone; `None` while runs are missing. A
/// series shard's unit is done once its part is stored (the run itself is
/// merged when the last part is).
fn stored_state(unit: &WorkUnit, store: &RunStore) -> Result<Option<UnitState>, StoreError> {
    let mut all_finished = true;
    for id in &unit.runs {
        let record = match (store.record(id)?, unit.series) {
            (Some(record), _) => Some(record),
            (None, Some(shard)) => trendlab_results::store::parts::part_record(store, id, shard)?,
            (None, None) => None,
        };
        match record {
            Some(record) if record.status == RunStatus::Failed => {
                let reason = record.error.unwrap_or_default();
                return Ok(Some(UnitState::Failed(format!("run {id} failed: {reason}"))));
            }
            Some(_) => {}
            None => all_finished = false,
        }
    }
    Ok(all_finished.then_some(UnitState::Done))
}

fn is_waiting(state: &str) -> bool {
    matches!(
        state,
        "PENDING" | "CONFIGURING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" | "RESIZING" | "SUSPENDED"
    )
}

fn is_running(state: &str) -> bool {
    matches!(state, "RUNNING" | "COMPLETING" | "STAGE_OUT" | "SIGNALING")
}

/// Units per state name, in a fixed order.
pub fn counts(states: &[UnitStatus]) -> Vec<(&'static str, usize)> {
    ["done", "failed", "running", "pending", "not submitted"]
        .into_iter()
        .map(|name| (name, states.iter().filter(|s| s.state.name() == name).count()))
        .collect()
}
