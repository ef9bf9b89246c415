//! The linear family: ridge or ordinary least squares on the `[features]`,
//! and the multi-step strategy and target scaling it shares with the LSTM.

use crate::capabilities::{Capabilities, CheckContext, Family, Intervals};
use crate::device::ComputeDevice;
use crate::families::ParamIssue;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinearConfig {
    /// L2 penalty; 0 gives ordinary least squares.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// One model per series instead of one global model.
    #[serde(default)]
    pub per_series: bool,
    /// How multi-step forecasts are produced.
    #[serde(default)]
    pub strategy: Strategy,
    /// Per-series scaling of the target (fitted on each fold's training data).
    #[serde(default)]
    pub scaling: Scaling,
}

impl Family for LinearConfig {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            device: None,
            reads_features: true,
            reads_runs: false,
            reuses_first_fold: false,
            intervals: Intervals::None,
            saves_fit: true,
            // One model per series with `per_series`; else one across them.
            per_series: self.per_series,
            residuals: false,
        }
    }
    fn check(&self, _: &CheckContext<'_>) -> Vec<ParamIssue> {
        if self.alpha >= 0.0 && self.alpha.is_finite() {
            Vec::new()
        } else {
            ParamIssue::one("alpha", "alpha must be a finite number >= 0")
        }
    }
    fn device_mut(&mut self) -> Option<&mut ComputeDevice> {
        None
    }
    fn algorithm_version(&self) -> u32 {
        1
    }
    fn fix_epochs(&mut self, _: usize) -> bool {
        false
    }
}

fn default_alpha() -> f64 {
    1.0
}

/// Multi-step forecasting strategy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// One one-step model applied repeatedly, feeding forecasts back as lags.
    #[default]
    Recursive,
    /// One model per horizon step, each using only what is known at the origin.
    Direct,
}

/// Per-series target scaling.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    None,
    /// Divide by the mean absolute training value.
    #[default]
    MeanAbs,
    /// Subtract the training mean, divide by the training standard deviation.
    Standard,
    /// Map the training range to [0, 1].
    MinMax,
}
