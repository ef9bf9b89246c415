//! The experiment specification: the TOML schema a user writes, its validation
//! into a typed [`Experiment`], and the expansion of model grids.
//!
//! The flow inside this crate is `text → spanned TOML → schema structs →
//! validated Experiment`. Every error carries the spec file and the line and
//! column it refers to ([`Diagnostic`]), so `trendlab validate` can print
//! `path:line:col: message` the way compilers do.

pub mod arima;
pub mod baselines;
mod bert_fusion;
pub mod capabilities;
pub mod chronos;
pub mod deepar;
pub mod device;
pub mod diagnostics;
mod ensemble;
mod experiment;
pub mod fallback;
pub mod families;
pub mod frequency;
pub mod gbdt;
pub mod grid;
pub mod intermittent;
pub mod linear;
mod locate;
pub mod lstm;
mod model_schema;
pub mod nhits;
pub mod patchtst;
pub mod reconcile;
pub mod schema;
pub mod statistical;
pub mod transform;
mod validate;
pub mod window;

pub use arima::{ArimaConfig, ArimaTrend};
pub use baselines::{DriftConfig, MeanConfig, NaiveConfig, SeasonalNaiveConfig};
pub use bert_fusion::{BertFusionConfig, Fusion, Pooling, TextFusion};
pub use capabilities::{Capabilities, CheckContext, Family, Intervals};
pub use chronos::ChronosConfig;
pub use deepar::{DeeparConfig, Likelihood, PathFeedback, PathPoint};
pub use device::ComputeDevice;
pub use diagnostics::{Diagnostic, Diagnostics, SpecError};
pub use ensemble::{EnsembleConfig, MemberConfigs, Method, OnMissing, Solver};
pub use experiment::{Experiment, ModelSpec};
pub use fallback::Fallback;
pub use families::FamilySpec;
pub use frequency::Frequency;
pub use gbdt::{GbdtConfig, GbdtObjective};
pub use grid::ModelConfig;
pub use intermittent::{AdidaConfig, CrostonConfig, CrostonVariant, ImapaConfig, TsbConfig};
pub use linear::{LinearConfig, Scaling, Strategy};
pub use locate::{KeyPath, Seg};
pub use lstm::{Anchor, LstmConfig};
pub use nhits::NhitsConfig;
pub use patchtst::{Activation, PatchtstConfig};
pub use reconcile::Reconcile;
pub use schema::*;
pub use statistical::{Decomposition, EtsConfig, ThetaConfig, ThetaModel};
pub use transform::TargetTransform;
pub use validate::MAX_PERIODS;
pub use window::{WindowLoss, WindowScaler, WindowTraining, level_ends, loss_quantiles, quantile_index};

use std::path::Path;

/// Reads and validates a spec file. Data-dependent checks (columns, series
/// lengths) happen later, against the loaded data, through
/// [`Experiment::diagnostic`].
pub fn load(path: &Path) -> Result<Experiment, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Experiment::from_text(path, text)
}

/// JSON Schema of the spec document, for editor completion.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(schema::SpecDocument)).expect("a generated schema is always valid JSON")
}
