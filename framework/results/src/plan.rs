//! The plan: every model configuration of the grid times every fold, each
//! run identified by a content hash of everything its result depends on —
//! the model and its parameters, the fold's cutoff, the data fingerprint, the
//! series taking part, the evaluation and (for feature-based families) the
//! features, the seed and the trendlab version. Same inputs, same hash: a
//! finished run is found in the store and skipped.
//!
//! Ensembles add two kinds of runs. An ensemble's run of fold k reads its
//! members' runs (of folds up to k, and of the validation origins), and its
//! hash is made of theirs: it changes whenever a member's would. Validation
//! runs refit a member at origins before the first fold when an ensemble
//! learns from earlier forecasts; they are stored but not scored on the
//! leaderboard. Adding an ensemble changes no other run's hash, so the
//! members already in the store are not run again.

use crate::TRENDLAB_VERSION;
use crate::folds::Fold;
use crate::prepare::Prepared;
use serde::Serialize;
use serde_json::Value;
use serde_json::json;
use std::collections::HashMap;
use trendlab_spec::{ComputeDevice, ModelConfig};

/// One unit of work: a configuration on a fold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedRun {
    /// Content hash (16 hex digits of BLAKE3).
    pub id: String,
    /// Index into `Plan::configs`.
    pub config: usize,
    /// Index into `Plan::folds`, or for a validation run into
    /// `Plan::validation_folds`.
    pub fold: usize,
    pub role: RunRole,
    /// Ids of the runs whose stored results this run reads (an ensemble's
    /// members); it runs after them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reads: Vec<String>,
}

/// Whether a run is scored on the leaderboard or feeds an ensemble only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunRole {
    /// A fold of the backtest.
    #[default]
    Backtest,
    /// A member refitted at an origin before the first fold.
    Validation,
}

impl RunRole {
    pub fn is_backtest(&self) -> bool {
        *self == RunRole::Backtest
    }
}

impl PlannedRun {
    /// "fold 2", or "validation origin 0".
    pub fn origin_label(&self) -> String {
        origin_label(self.role, self.fold)
    }
}

/// "fold 2", or "validation origin 0".
pub fn origin_label(role: RunRole, fold: usize) -> String {
    match role {
        RunRole::Backtest => format!("fold {fold}"),
        RunRole::Validation => format!("validation origin {fold}"),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub experiment: String,
    pub configs: Vec<ModelConfig>,
    pub folds: Vec<Fold>,
    /// Origins before the first fold where ensemble members are refitted
    /// (oldest first; empty without an ensemble that learns).
    pub validation_folds: Vec<Fold>,
    /// Backtest runs, then validation runs, then ensemble runs.
    pub runs: Vec<PlannedRun>,
    /// Indexes into `runs` of each configuration's runs, in plan order (so
    /// looking up a configuration's runs does not scan the whole plan).
    #[serde(skip)]
    by_config: Vec<Vec<usize>>,
}

impl Plan {
    /// A plan of these runs, indexed by configuration.
    pub fn from_parts(
        experiment: String,
        configs: Vec<ModelConfig>,
        folds: Vec<Fold>,
        validation_folds: Vec<Fold>,
        runs: Vec<PlannedRun>,
    ) -> Plan {
        let mut by_config = vec![Vec::new(); configs.len()];
        for (i, run) in runs.iter().enumerate() {
            by_config[run.config].push(i);
        }
        Plan {
            experiment,
            configs,
            folds,
            validation_folds,
            runs,
            by_config,
        }
    }

    pub fn new(prepared: &Prepared) -> Plan {
        let experiment = &prepared.experiment;
        let configs = experiment.configs();
        let folds = prepared.backtest.folds.clone();
        // Validation origins each configuration reads (ensembles that learn).
        let origins: Vec<usize> = configs
            .iter()
            .map(|c| c.family.ensemble().map_or(0, |e| e.origins(&configs)))
            .collect();
        let validation_folds =
            prepared
                .backtest
                .validation_folds(experiment, &prepared.panel, origins.iter().copied().max().unwrap_or(0));
        let e = experiment.evaluation();
        let series: Vec<&str> = prepared
            .backtest
            .series
            .iter()
            .map(|&i| prepared.panel.series[i].id.as_str())
            .collect();
        let shared = json!({
            "trendlab": TRENDLAB_VERSION,
            "data": prepared.panel.fingerprint,
            "series": blake3::hash(series.join("\n").as_bytes()).to_hex().to_string(),
            "seed": experiment.document.experiment.seed,
            "evaluation": {
                "horizon": e.horizon, "window": e.window, "train_size": e.train_size,
                "season": e.season, "metrics": e.metrics, "wrmsse": e.wrmsse, "levels": e.levels,
            },
        });
        let hash = |content: Value| blake3::hash(content.to_string().as_bytes()).to_hex()[..16].to_string();
        let content = |config: &ModelConfig, fold: &Fold| {
            let features = config.family.uses_features().then_some(&experiment.document.features);
            let mut content = json!({
                "shared": shared, "model": config.model, "family": config.family.hashed_params(),
                "features": features, "cutoff": fold.cutoff,
            });
            // Only when set, so that runs without one keep their ids.
            if !config.transform.is_none() {
                content["transform"] = json!(config.transform);
            }
            if !config.reconcile.is_none() {
                content["reconcile"] = json!(config.reconcile);
            }
            if !config.fallback.is_default() {
                content["fallback"] = json!(config.fallback);
            }
            content
        };
        let planned = |config, fold: &Fold, role, id| PlannedRun {
            id,
            config,
            fold: fold.index,
            role,
            reads: Vec::new(),
        };
        let mut runs: Vec<PlannedRun> = Vec::new();
        for (c, config) in configs
            .iter()
            .enumerate()
            .filter(|(_, c)| c.family.ensemble().is_none())
        {
            runs.extend(
                folds
                    .iter()
                    .map(|fold| planned(c, fold, RunRole::Backtest, hash(content(config, fold)))),
            );
        }
        // What each ensemble combines, and each member refitted at the
        // origins its most demanding ensemble reads (linear in the
        // configurations: a grid of thousands plans at once).
        let members: Vec<(usize, Vec<usize>)> = (0..configs.len())
            .filter(|&e| configs[e].family.ensemble().is_some())
            .map(|e| (e, candidates(&configs, e)))
            .collect();
        let mut needed = vec![0; configs.len()];
        for (e, candidates) in &members {
            for &m in candidates {
                needed[m] = needed[m].max(origins[*e]);
            }
        }
        for (c, config) in configs.iter().enumerate() {
            for fold in &validation_folds[validation_folds.len() - needed[c]..] {
                let mut content = content(config, fold);
                content["role"] = json!("validation");
                runs.push(planned(c, fold, RunRole::Validation, hash(content)));
            }
        }
        let id_of: HashMap<(usize, RunRole, usize), String> = runs
            .iter()
            .map(|r| ((r.config, r.role, r.fold), r.id.clone()))
            .collect();
        for (e, candidates) in &members {
            let (e, config) = (*e, &configs[*e]);
            let first_origin = validation_folds.len() - origins[e];
            for fold in &folds {
                let reads: Vec<String> = candidates
                    .iter()
                    .flat_map(|&m| {
                        let validation =
                            (first_origin..validation_folds.len()).map(move |j| (m, RunRole::Validation, j));
                        validation.chain((0..=fold.index).map(move |k| (m, RunRole::Backtest, k)))
                    })
                    .map(|key| id_of[&key].clone())
                    .collect();
                let content = json!({
                    "shared": shared, "model": config.model, "family": config.family.hashed_params(),
                    "cutoff": fold.cutoff, "reads": reads,
                });
                runs.push(PlannedRun {
                    reads,
                    ..planned(e, fold, RunRole::Backtest, hash(content))
                });
            }
        }
        Plan::from_parts(experiment.name().to_string(), configs, folds, validation_folds, runs)
    }

    /// The fold (or validation origin) of `run`.
    pub fn fold_of(&self, run: &PlannedRun) -> &Fold {
        match run.role {
            RunRole::Backtest => &self.folds[run.fold],
            RunRole::Validation => &self.validation_folds[run.fold],
        }
    }

    /// The configurations ensemble `config` may combine, member by member
    /// (each member's grid in order); empty for other families.
    pub fn candidates(&self, config: usize) -> Vec<usize> {
        candidates(&self.configs, config)
    }

    /// Runs of configuration `config` at the validation origins, oldest first.
    pub fn validation_runs_of(&self, config: usize) -> impl Iterator<Item = &PlannedRun> {
        self.runs_of_config(config).filter(|r| r.role == RunRole::Validation)
    }

    /// Every run of configuration `config`, in plan order.
    fn runs_of_config(&self, config: usize) -> impl Iterator<Item = &PlannedRun> {
        self.by_config[config].iter().map(|&i| &self.runs[i])
    }

    /// Ids of the runs that must be stored before `run` starts: the runs
    /// an ensemble reads, and the first fold of a configuration whose later
    /// folds reuse its choices.
    pub fn prerequisites<'a>(&'a self, run: &'a PlannedRun) -> Vec<&'a str> {
        let first_fold = self
            .reuses_first_fold(run)
            .then(|| self.runs_of(run.config).find(|r| r.fold == 0))
            .flatten();
        run.reads
            .iter()
            .map(String::as_str)
            .chain(first_fold.map(|r| r.id.as_str()))
            .collect()
    }

    /// Whether `run` takes its configuration's first-fold choices: a later
    /// backtest fold of a family that reuses them. (A validation origin
    /// comes before the first fold, so it chooses for itself.)
    pub fn reuses_first_fold(&self, run: &PlannedRun) -> bool {
        run.role == RunRole::Backtest && run.fold > 0 && self.configs[run.config].family.reuses_first_fold()
    }

    /// Trains the neural families on `device` (`--device`): where, not what,
    /// so run ids stay the same. Returns whether any family has a device.
    pub fn set_device(&mut self, device: ComputeDevice) -> bool {
        let mut any = false;
        for config in &mut self.configs {
            any |= config.family.set_device(device);
        }
        any
    }

    /// Content hash of configuration `config`: of its runs' ids, so it
    /// changes whenever any of its runs would.
    pub fn config_id(&self, config: usize) -> String {
        let ids: Vec<&str> = self.runs_of(config).map(|r| r.id.as_str()).collect();
        blake3::hash(ids.join(";").as_bytes()).to_hex()[..16].to_string()
    }

    /// The backtest runs of configuration `config`, in fold order.
    pub fn runs_of(&self, config: usize) -> impl Iterator<Item = &PlannedRun> {
        self.runs_of_config(config).filter(|r| r.role == RunRole::Backtest)
    }
}

/// Indexes of the configurations ensemble `e` combines.
fn candidates(configs: &[ModelConfig], e: usize) -> Vec<usize> {
    let Some(ensemble) = configs[e].family.ensemble() else {
        return Vec::new();
    };
    ensemble
        .members
        .iter()
        .flat_map(|member| configs.iter().enumerate().filter(move |(_, c)| &c.model == member))
        .map(|(c, _)| c)
        .collect()
}
