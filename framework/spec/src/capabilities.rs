//! What a model family can do and needs, stated by the family itself.
//!
//! Every family's config implements [`Family`]; [`FamilySpec`] reaches it
//! through one exhaustive match ([`FamilySpec::family`]). The plan (what
//! enters a run id), the scheduler (GPU slots), the work units (groups) and
//! validation all read these statements and nothing else, so a new family
//! is one compiler-guided change: its variant, its config, and its
//! [`Family`] impl, whose every item must be written out (no defaults).
//!
//! What enters a run id follows from the statement: every serialised
//! parameter except the compute device (where a run trains, not which run
//! it is), the family's algorithm version, plus the `[features]` section
//! when the family reads it, plus the ids of the runs it reads when it
//! reads other runs' results.
//!
//! The algorithm version names the family's numerics: a change that moves
//! any forecast of the family (a new optimiser, another leaf rule) bumps
//! it, so its runs get new ids and a store never serves results of the old
//! numerics as the new. `tests/integration/fingerprints.rs` keeps each
//! family's forecasts on fixed inputs and fails when they change while the
//! version stays. Version 1 is each family's numerics when versions began
//! and adds nothing to the hash, so stores made before keep their ids.

use crate::device::ComputeDevice;
use crate::families::{FamilySpec, ParamIssue};
use serde::Serialize;
use std::path::Path;

/// A family's statement of what it can do and needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// The compute device it trains on (`None`: always the CPU). Set by
    /// `--device`; scheduled against GPU slots; never part of a run id.
    pub device: Option<ComputeDevice>,
    /// Reads the `[features]` section (lags, rolling windows, calendar,
    /// covariates): changing it changes the family's run ids.
    pub reads_features: bool,
    /// Combines other runs' stored results (runs after them; its run ids are
    /// made of theirs).
    pub reads_runs: bool,
    /// Later folds take the first fold's per-series choices (so they run
    /// after it, and form one work unit with it).
    pub reuses_first_fold: bool,
    /// Where its prediction intervals come from.
    pub intervals: Intervals,
    /// Its fit is saved by `forecast` (in `model/`) and forecast from by
    /// `forecast --from` without fitting again; `false`: `--from` fits it
    /// again on the data (the baselines fit nothing beyond each series'
    /// latest values; the intermittent methods and `gbdt` refit).
    pub saves_fit: bool,
    /// Fits each series on its own (a series' forecast depends on that
    /// series alone): its runs may be split into shards of series, one
    /// work unit each (`[scale] series_per_unit`). `false` for families
    /// that learn across series and for those reading other runs.
    pub per_series: bool,
    /// Gives each series' in-sample one-step residuals with its forecasts
    /// (`SeriesForecast::residuals`), which MinT reconciliation needs.
    pub residuals: bool,
}

/// Where a family's prediction intervals come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Intervals {
    /// It has none.
    None,
    /// Its own model gives them (at `[evaluation] levels`).
    Own,
    /// Combined from its members' intervals.
    Combined,
}

/// What a family's checks may look at besides its own parameters.
#[derive(Debug, Clone, Copy)]
pub struct CheckContext<'a> {
    /// The folder of the spec file (relative paths resolve against it).
    pub spec_dir: &'a Path,
    /// Whether `[features] future` lists any covariate.
    pub has_future_covariates: bool,
    /// Whether a family reading covariates gets any: past or future
    /// covariates, events, static columns or calendar features.
    pub has_covariates: bool,
    /// `[evaluation] levels`: the intervals a family with its own gives.
    pub levels: &'a [f64],
}

/// One model family's own statement: implemented by every family config.
pub trait Family {
    /// What it can do and needs.
    fn capabilities(&self) -> Capabilities;

    /// Checks serde cannot express (ranges, combinations, files it needs).
    fn check(&self, context: &CheckContext<'_>) -> Vec<ParamIssue>;

    /// Its compute device, for families that train on one (`--device`).
    fn device_mut(&mut self) -> Option<&mut ComputeDevice>;

    /// The version of its numerics (see the module docs): bumped whenever a
    /// change moves its forecasts.
    fn algorithm_version(&self) -> u32;

    /// Trains for exactly `epochs` epochs on every window, none held out
    /// for validation (how `forecast` refits a family that stops early: for
    /// the epochs early stopping chose in the backtest, since no later data
    /// is left to validate on); `false` for families that do not train by
    /// epochs.
    fn fix_epochs(&mut self, epochs: usize) -> bool;
}

/// The config of `$spec`'s family as a `dyn Family`: the one exhaustive
/// match over the families, for shared and mutable borrows alike.
macro_rules! as_family {
    ($spec:expr) => {
        match $spec {
            FamilySpec::Naive(c) => c,
            FamilySpec::SeasonalNaive(c) => c,
            FamilySpec::Mean(c) => c,
            FamilySpec::Drift(c) => c,
            FamilySpec::Linear(c) => c,
            FamilySpec::Arima(c) => c,
            FamilySpec::Gbdt(c) => c,
            FamilySpec::Ets(c) => c,
            FamilySpec::Theta(c) => c,
            FamilySpec::Croston(c) => c,
            FamilySpec::Tsb(c) => c,
            FamilySpec::Adida(c) => c,
            FamilySpec::Imapa(c) => c,
            FamilySpec::Lstm(c) => c,
            FamilySpec::BertFusion(c) => c,
            FamilySpec::Nhits(c) => c,
            FamilySpec::Patchtst(c) => c,
            FamilySpec::Deepar(c) => c,
            FamilySpec::Chronos(c) => c,
            FamilySpec::Ensemble(c) => c,
        }
    };
}

impl FamilySpec {
    /// The family's own statement and checks.
    pub fn family(&self) -> &dyn Family {
        as_family!(self)
    }

    fn family_mut(&mut self) -> &mut dyn Family {
        as_family!(self)
    }

    /// What the family can do and needs.
    pub fn capabilities(&self) -> Capabilities {
        self.family().capabilities()
    }

    /// Checks serde cannot express.
    pub fn check(&self, context: &CheckContext<'_>) -> Vec<ParamIssue> {
        self.family().check(context)
    }

    /// Sets the compute device of families that train on one (`--device`);
    /// `false` for families that always run on the CPU.
    pub fn set_device(&mut self, device: ComputeDevice) -> bool {
        match self.family_mut().device_mut() {
            Some(slot) => {
                *slot = device;
                true
            }
            None => false,
        }
    }

    /// Trains for exactly `epochs` epochs without validation (see
    /// [`Family::fix_epochs`]); `false` for families without epochs.
    pub fn fix_epochs(&mut self, epochs: usize) -> bool {
        self.family_mut().fix_epochs(epochs)
    }

    /// The compute device of the families that train on one.
    pub fn device(&self) -> Option<ComputeDevice> {
        self.capabilities().device
    }

    /// Whether this family reads `[features]` (and so its run ids change with them).
    pub fn uses_features(&self) -> bool {
        self.capabilities().reads_features
    }

    /// Whether later folds of a configuration take the first fold's
    /// per-series choices (so they run after it).
    pub fn reuses_first_fold(&self) -> bool {
        self.capabilities().reuses_first_fold
    }

    /// The version of the family's numerics.
    pub fn algorithm_version(&self) -> u32 {
        self.family().algorithm_version()
    }

    /// The parameters that enter a run id: every serialised parameter (with
    /// the family tag) except the compute device, and the algorithm version
    /// from version 2 on (`algorithm_version`).
    pub fn hashed_params(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).expect("family configs serialise");
        let map = value.as_object_mut().expect("tagged enum serialises to an object");
        if self.capabilities().device.is_some() {
            map.remove("device");
        }
        add_version(map, self.algorithm_version());
        value
    }
}

/// Adds `algorithm_version` to a family's hashed parameters from version 2
/// on: version 1 leaves the run ids of the stores made before versions.
fn add_version(params: &mut serde_json::Map<String, serde_json::Value>, version: u32) {
    if version > 1 {
        params.insert("algorithm_version".into(), version.into());
    }
}

/// `Family` for configs whose parameters need no check (if any), on the
/// CPU, without epochs:
/// `unchecked_family!(capabilities; Config => algorithm version, ...)`.
macro_rules! unchecked_family {
    ($capabilities:expr; $($config:ty => $version:expr),*) => {$(
        impl $crate::capabilities::Family for $config {
            fn capabilities(&self) -> $crate::capabilities::Capabilities {
                $capabilities
            }
            fn algorithm_version(&self) -> u32 {
                $version
            }
            fn check(&self, _: &$crate::capabilities::CheckContext<'_>) -> Vec<$crate::families::ParamIssue> {
                Vec::new()
            }
            fn device_mut(&mut self) -> Option<&mut $crate::device::ComputeDevice> {
                None
            }
            fn fix_epochs(&mut self, _: usize) -> bool {
                false
            }
        }
    )*};
}
pub(crate) use unchecked_family;

/// A family that forecasts each series from its own history on the CPU,
/// with its own intervals (the baselines).
pub(crate) const fn univariate_with_intervals() -> Capabilities {
    Capabilities {
        device: None,
        reads_features: false,
        reads_runs: false,
        reuses_first_fold: false,
        intervals: Intervals::Own,
        saves_fit: false,
        per_series: true,
        residuals: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_algorithm_version_enters_the_hash_from_version_two_on() {
        let naive: FamilySpec = serde_json::from_value(json!({ "family": "naive" })).unwrap();
        assert_eq!(naive.algorithm_version(), 1);
        assert_eq!(naive.hashed_params(), json!({ "family": "naive" }));
        let mut params = serde_json::Map::new();
        add_version(&mut params, 1);
        assert!(params.is_empty());
        add_version(&mut params, 2);
        assert_eq!(serde_json::Value::Object(params), json!({ "algorithm_version": 2 }));
    }

    #[test]
    fn the_device_does_not_enter_the_hash() {
        let lstm: FamilySpec =
            serde_json::from_value(json!({ "family": "lstm", "input_size": 4, "device": "cuda:1" })).unwrap();
        assert!(lstm.hashed_params().get("device").is_none());
        assert_eq!(lstm.hashed_params()["input_size"], 4);
    }
}
