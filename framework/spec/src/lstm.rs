//! The LSTM family: a global network over windows of history, and the
//! anchor its outputs are measured from.

use crate::capabilities::{Capabilities, CheckContext, Family, Intervals};
use crate::device::ComputeDevice;
use crate::families::ParamIssue;
use crate::linear::Scaling;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LstmConfig {
    /// Periods of history the network reads (the window length).
    pub input_size: usize,
    /// Hidden units per layer.
    #[serde(default = "default_hidden")]
    pub hidden: usize,
    /// Stacked LSTM layers.
    #[serde(default = "default_one")]
    pub layers: usize,
    /// Dropout on each layer's outputs while training (between layers and
    /// before the output layer), in [0, 1).
    #[serde(default)]
    pub dropout: f64,
    /// Adam learning rate.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Windows per gradient step.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Maximum passes over the training windows.
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// Stop after this many epochs without a better validation loss
    /// (0: train all epochs); the best epoch's weights forecast.
    #[serde(default = "default_patience")]
    pub patience: usize,
    /// Periods at the end of each series' training part held out for
    /// validation (windows whose targets all fall there); default: the
    /// horizon. 0 trains on everything and keeps the last epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<usize>,
    /// Per-series scaling of the target, fitted on the training part.
    #[serde(default = "default_lstm_scaling")]
    pub scaling: Scaling,
    /// What the outputs are measured from: `none` (the scaled targets
    /// themselves) or `window_mean` (departures from the mean of the input
    /// window, added back: helps a level or trend beyond the training range).
    #[serde(default)]
    pub anchor: Anchor,
    /// Where to train: "cpu" or "cuda:N" (needs a build with a GPU feature).
    #[serde(default)]
    pub device: ComputeDevice,
}

impl Family for LstmConfig {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            device: Some(self.device),
            reads_features: true,
            reads_runs: false,
            reuses_first_fold: false,
            intervals: Intervals::None,
            saves_fit: true,
            // One network across series.
            per_series: false,
            residuals: false,
        }
    }
    fn check(&self, _: &CheckContext<'_>) -> Vec<ParamIssue> {
        self.check_params()
    }
    fn device_mut(&mut self) -> Option<&mut ComputeDevice> {
        Some(&mut self.device)
    }
    fn algorithm_version(&self) -> u32 {
        1
    }
    fn fix_epochs(&mut self, epochs: usize) -> bool {
        self.epochs = epochs.max(1);
        self.patience = 0;
        self.validation = Some(0);
        true
    }
}

fn default_hidden() -> usize {
    64
}
fn default_one() -> usize {
    1
}
fn default_lr() -> f64 {
    1e-3
}
fn default_batch_size() -> usize {
    64
}
fn default_epochs() -> usize {
    50
}
fn default_patience() -> usize {
    5
}
fn default_lstm_scaling() -> Scaling {
    Scaling::Standard
}

impl LstmConfig {
    pub(crate) fn check_params(&self) -> Vec<ParamIssue> {
        let issue = |field, message: &str| {
            vec![ParamIssue {
                field,
                message: message.to_string(),
            }]
        };
        let positive = [
            (self.input_size, "input_size"),
            (self.hidden, "hidden"),
            (self.layers, "layers"),
            (self.batch_size, "batch_size"),
            (self.epochs, "epochs"),
        ];
        if let Some((_, field)) = positive.iter().find(|(v, _)| *v == 0) {
            return issue(field, &format!("{field} must be at least 1"));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return issue("dropout", "dropout must be in [0, 1)");
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return issue("lr", "lr must be a finite number > 0");
        }
        Vec::new()
    }
}

/// The level a sequence model's outputs are measured from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    #[default]
    None,
    WindowMean,
}
