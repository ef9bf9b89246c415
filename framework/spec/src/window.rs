//! What the window networks (`nhits`, `patchtst`) share: how a window is
//! scaled, the point losses, and the options of their step-based training
//! loop, gathered from each family's config.

use crate::device::ComputeDevice;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a window is scaled by statistics of its own input periods.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WindowScaler {
    /// Subtract the input mean, divide by the input standard deviation.
    #[default]
    Standard,
    /// Subtract the input median, divide by its median absolute deviation.
    Robust,
    /// The values as they are.
    None,
}

/// A loss on point forecasts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PointLoss {
    /// Mean absolute error.
    #[default]
    Mae,
    /// Mean squared error.
    Mse,
}

/// The options of the step-based training loop, as each window family's
/// config states them.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowTraining {
    pub input_size: usize,
    pub dropout: f64,
    pub scaler: WindowScaler,
    pub loss: PointLoss,
    pub max_steps: usize,
    pub batch_size: usize,
    pub windows_batch_size: usize,
    pub lr: f64,
    pub lr_decays: usize,
    pub val_check_steps: usize,
    pub patience: usize,
    pub validation: Option<usize>,
    pub device: ComputeDevice,
}

// The training loop's defaults, neuralforecast's.
pub(crate) fn default_max_steps() -> usize {
    1000
}
pub(crate) fn default_batch_size() -> usize {
    32
}
pub(crate) fn default_windows_batch_size() -> usize {
    1024
}
pub(crate) fn default_val_check_steps() -> usize {
    100
}
pub(crate) fn default_patience() -> usize {
    5
}

/// A fixed number of "epochs" for a step-based family: that many rounds of
/// `val_check_steps` steps, no early stopping, no validation. Sets
/// `[max_steps, patience]` and `validation`; always applies.
pub(crate) fn fix_epochs(
    epochs: usize,
    val_check_steps: usize,
    [max_steps, patience]: [&mut usize; 2],
    validation: &mut Option<usize>,
) -> bool {
    *max_steps = epochs.max(1) * val_check_steps;
    *patience = 0;
    *validation = Some(0);
    true
}
