//! Which runs may start now, on one machine: a run waits for the runs it
//! needs (`Plan::prerequisites`) and for room in the budget — at most
//! `jobs` runs at once, at most `gpu_slots` of them training on each GPU,
//! and the memory the models declare (`memory_gb`) within `memory_gb`.
//! Runs start in plan order among those that fit; a run that needs more
//! memory than the whole budget runs alone.

use std::collections::{BTreeMap, HashSet};
use trendlab_results::plan::{Plan, PlannedRun};
use trendlab_spec::ComputeDevice;

/// What one machine offers the runs of a plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// Runs at once.
    pub jobs: usize,
    /// Runs at once on each GPU (neural families on a `cuda` device).
    pub gpu_slots: usize,
    /// Memory for the runs at once, in GB; `None`: declared costs are not
    /// limited.
    pub memory_gb: Option<f64>,
}

impl Budget {
    /// `jobs` runs at once, one run per GPU, no memory limit.
    pub fn jobs(jobs: usize) -> Budget {
        Budget {
            jobs,
            gpu_slots: 1,
            memory_gb: None,
        }
    }
}

/// Runs of one execution, started as their prerequisites finish and the
/// budget allows.
pub(crate) struct Scheduler<'a> {
    plan: &'a Plan,
    budget: Budget,
    /// Not started yet, in plan order.
    waiting: Vec<&'a PlannedRun>,
    /// Ids of the runs of this execution not finished yet.
    unfinished: HashSet<&'a str>,
    running: usize,
    on_gpu: BTreeMap<usize, usize>,
    memory_in_use: f64,
}

impl<'a> Scheduler<'a> {
    pub(crate) fn new(plan: &'a Plan, runs: &[&'a PlannedRun], budget: Budget) -> Scheduler<'a> {
        Scheduler {
            plan,
            budget,
            waiting: runs.to_vec(),
            unfinished: runs.iter().map(|r| r.id.as_str()).collect(),
            running: 0,
            on_gpu: BTreeMap::new(),
            memory_in_use: 0.0,
        }
    }

    /// Every run has finished.
    pub(crate) fn is_done(&self) -> bool {
        self.unfinished.is_empty()
    }

    /// Nothing is running (so nothing will finish to wake the caller).
    pub(crate) fn is_idle(&self) -> bool {
        self.running == 0
    }

    /// Takes the first waiting run that may start now, and books its room.
    pub(crate) fn next(&mut self) -> Option<&'a PlannedRun> {
        if self.running >= self.budget.jobs.max(1) {
            return None;
        }
        let position = self.waiting.iter().position(|r| self.is_ready(r) && self.fits(r))?;
        let run = self.waiting.remove(position);
        self.running += 1;
        if let Some(gpu) = self.gpu_of(run) {
            *self.on_gpu.entry(gpu).or_default() += 1;
        }
        self.memory_in_use += self.memory_of(run);
        Some(run)
    }

    /// Frees the room of `run`, which has finished.
    pub(crate) fn finished(&mut self, run: &PlannedRun) {
        self.unfinished.remove(run.id.as_str());
        self.running -= 1;
        if let Some(gpu) = self.gpu_of(run) {
            *self.on_gpu.entry(gpu).or_default() -= 1;
        }
        self.memory_in_use = (self.memory_in_use - self.memory_of(run)).max(0.0);
    }

    /// Gives up the runs not started (after a store error).
    pub(crate) fn cancel_waiting(&mut self) {
        for run in self.waiting.drain(..) {
            self.unfinished.remove(run.id.as_str());
        }
    }

    fn is_ready(&self, run: &PlannedRun) -> bool {
        self.plan
            .prerequisites(run)
            .iter()
            .all(|id| !self.unfinished.contains(id))
    }

    fn fits(&self, run: &PlannedRun) -> bool {
        let gpu_free = self
            .gpu_of(run)
            .is_none_or(|gpu| self.on_gpu.get(&gpu).copied().unwrap_or(0) < self.budget.gpu_slots.max(1));
        let memory_free = match self.budget.memory_gb {
            Some(limit) => self.running == 0 || self.memory_in_use + self.memory_of(run) <= limit,
            None => true,
        };
        gpu_free && memory_free
    }

    fn gpu_of(&self, run: &PlannedRun) -> Option<usize> {
        match self.plan.configs[run.config].family.device() {
            Some(ComputeDevice::Cuda(index)) => Some(index),
            _ => None,
        }
    }

    fn memory_of(&self, run: &PlannedRun) -> f64 {
        self.plan.configs[run.config].memory_gb.unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trendlab_results::folds::Fold;
    use trendlab_results::plan::RunRole;
    use trendlab_spec::{FamilySpec, ModelConfig};

    /// A configuration of `family` (a TOML table body) with `memory_gb`.
    fn config(model: &str, family: &str, memory_gb: Option<f64>) -> ModelConfig {
        let table: toml::Table = toml::from_str(family).unwrap();
        ModelConfig {
            model: model.into(),
            model_index: 0,
            config_index: 0,
            family: FamilySpec::deserialize(toml::Value::Table(table)).unwrap(),
            transform: Default::default(),
            reconcile: Default::default(),
            fallback: Default::default(),
            grid_values: Default::default(),
            memory_gb,
        }
    }

    fn run(id: &str, config: usize, fold: usize, reads: &[&str]) -> PlannedRun {
        PlannedRun {
            id: id.into(),
            config,
            fold,
            role: RunRole::Backtest,
            reads: reads.iter().map(|r| r.to_string()).collect(),
        }
    }

    fn plan(configs: Vec<ModelConfig>, runs: Vec<PlannedRun>) -> Plan {
        let date = chrono::NaiveDate::from_ymd_opt(2011, 1, 3).unwrap();
        let fold = |index| Fold {
            index,
            cutoff: date,
            test_start: date,
            test_end: date,
        };
        Plan::from_parts("t".into(), configs, vec![fold(0), fold(1)], Vec::new(), runs)
    }

    /// Starts everything that may start; the ids, in order.
    fn start_all<'a>(scheduler: &mut Scheduler<'a>) -> Vec<&'a str> {
        std::iter::from_fn(|| scheduler.next()).map(|r| r.id.as_str()).collect()
    }

    use serde::Deserialize;

    #[test]
    fn gpu_slots_bound_the_neural_runs_on_each_device() {
        let lstm = |device| {
            config(
                "lstm",
                &format!("family = \"lstm\"\ninput_size = 8\ndevice = \"{device}\""),
                None,
            )
        };
        let plan = plan(
            vec![
                lstm("cuda:0"),
                lstm("cuda:1"),
                config("naive", "family = \"naive\"", None),
            ],
            vec![
                run("a", 0, 0, &[]),
                run("b", 0, 1, &[]),
                run("c", 1, 0, &[]),
                run("d", 2, 0, &[]),
            ],
        );
        let runs: Vec<&PlannedRun> = plan.runs.iter().collect();
        let budget = Budget {
            jobs: 8,
            gpu_slots: 1,
            memory_gb: None,
        };
        let mut scheduler = Scheduler::new(&plan, &runs, budget);
        // One run per GPU; the CPU run beside them; `b` waits for cuda:0.
        assert_eq!(start_all(&mut scheduler), ["a", "c", "d"]);
        scheduler.finished(&plan.runs[0]);
        assert_eq!(start_all(&mut scheduler), ["b"]);
        let mut two_slots = Scheduler::new(&plan, &runs, Budget { gpu_slots: 2, ..budget });
        assert_eq!(start_all(&mut two_slots), ["a", "b", "c", "d"]);
    }

    #[test]
    fn declared_memory_never_exceeds_the_budget() {
        let plan = plan(
            vec![
                config("big", "family = \"naive\"", Some(6.0)),
                config("small", "family = \"mean\"", Some(3.0)),
                config("huge", "family = \"drift\"", Some(20.0)),
            ],
            vec![
                run("big0", 0, 0, &[]),
                run("big1", 0, 1, &[]),
                run("small0", 1, 0, &[]),
                run("huge", 2, 0, &[]),
            ],
        );
        let runs: Vec<&PlannedRun> = plan.runs.iter().collect();
        let budget = Budget {
            jobs: 4,
            gpu_slots: 1,
            memory_gb: Some(10.0),
        };
        let mut scheduler = Scheduler::new(&plan, &runs, budget);
        // 6 + 3 fit in 10 GB, a second 6 does not.
        assert_eq!(start_all(&mut scheduler), ["big0", "small0"]);
        scheduler.finished(&plan.runs[0]);
        assert_eq!(start_all(&mut scheduler), ["big1"]);
        // More than the whole budget: it waits until nothing else runs.
        scheduler.finished(&plan.runs[2]);
        assert!(start_all(&mut scheduler).is_empty());
        scheduler.finished(&plan.runs[1]);
        assert_eq!(start_all(&mut scheduler), ["huge"]);
        assert!(start_all(&mut scheduler).is_empty());
        scheduler.finished(&plan.runs[3]);
        assert!(scheduler.is_done());
    }

    #[test]
    fn runs_wait_for_the_runs_they_read_and_the_jobs_limit() {
        let plan = plan(
            vec![config("naive", "family = \"naive\"", None)],
            vec![
                run("m0", 0, 0, &[]),
                run("m1", 0, 1, &[]),
                run("e", 0, 1, &["m0", "m1"]),
            ],
        );
        let runs: Vec<&PlannedRun> = plan.runs.iter().collect();
        let mut scheduler = Scheduler::new(&plan, &runs, Budget::jobs(1));
        assert_eq!(start_all(&mut scheduler), ["m0"]);
        scheduler.finished(&plan.runs[0]);
        assert_eq!(start_all(&mut scheduler), ["m1"]);
        scheduler.finished(&plan.runs[1]);
        assert_eq!(start_all(&mut scheduler), ["e"]);
        // A run read from outside the execution (already stored) does not hold it back.
        let only_e: Vec<&PlannedRun> = vec![&plan.runs[2]];
        let mut scheduler = Scheduler::new(&plan, &only_e, Budget::jobs(2));
        assert_eq!(start_all(&mut scheduler), ["e"]);
    }
}
