//! The plan: every model configuration of the grid times every fold, each
//! run identified by a content hash of everything its result depends on —
//! the model and its parameters, the fold's cutoff, the data fingerprint, the
//! series taking part, the evaluation and (for feature-based families) the
//! features, the seed and the trendlab version. Same inputs, same hash: a
//! finished run is found in the store and skipped.

use crate::TRENDLAB_VERSION;
use crate::folds::Fold;
use crate::prepare::Prepared;
use serde::Serialize;
use serde_json::json;
use trendlab_spec::{ComputeDevice, FamilySpec, ModelConfig};

/// One unit of work: a configuration on a fold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedRun {
    /// Content hash (16 hex digits of BLAKE3).
    pub id: String,
    /// Index into `Plan::configs`.
    pub config: usize,
    /// Index into `Plan::folds`.
    pub fold: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub experiment: String,
    pub configs: Vec<ModelConfig>,
    pub folds: Vec<Fold>,
    pub runs: Vec<PlannedRun>,
}

impl Plan {
    pub fn new(prepared: &Prepared) -> Plan {
        let experiment = &prepared.experiment;
        let configs = experiment.configs();
        let folds = prepared.backtest.folds.clone();
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
        let runs = configs
            .iter()
            .enumerate()
            .flat_map(|(c, config)| {
                let features = config.family.uses_features().then_some(&experiment.document.features);
                folds.iter().map(move |fold| (c, config, features, fold))
            })
            .map(|(c, config, features, fold)| {
                let content = json!({
                    "shared": shared, "model": config.model, "family": hashed_family(&config.family),
                    "features": features, "cutoff": fold.cutoff,
                });
                let hash = blake3::hash(content.to_string().as_bytes()).to_hex()[..16].to_string();
                PlannedRun {
                    id: hash,
                    config: c,
                    fold: fold.index,
                }
            })
            .collect();
        Plan {
            experiment: experiment.name().to_string(),
            configs,
            folds,
            runs,
        }
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

    /// The runs of configuration `config`, in fold order.
    pub fn runs_of(&self, config: usize) -> impl Iterator<Item = &PlannedRun> {
        self.runs.iter().filter(move |r| r.config == config)
    }
}

/// A family as it enters run hashes: without its compute device, which
/// changes where a run trains, not which run it is (a run stored on a GPU
/// box is found by a CPU `report`).
fn hashed_family(family: &FamilySpec) -> serde_json::Value {
    let mut value = serde_json::to_value(family).expect("family configs serialise");
    if let Some(map) = value.as_object_mut() {
        map.remove("device");
    }
    value
}
