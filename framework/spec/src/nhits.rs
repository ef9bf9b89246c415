//! `family = "nhits"`: N-HiTS (Challu et al., 2023), a global MLP network
//! over windows of each series, trained by steps on sampled windows as
//! neuralforecast's `NHITS` is. Options are named as neuralforecast names
//! them where they mean the same (`input_size`, `mlp_units`,
//! `pooling_sizes` for `n_pool_kernel_size`, `downsample` for
//! `n_freq_downsample`, `max_steps`, `batch_size`, `windows_batch_size`,
//! `lr`, `scaler`, `loss`).
//!
//! With every pooling size and every downsampling factor 1 it is N-BEATS'
//! generic architecture.

use crate::capabilities::{Capabilities, CheckContext, Family, Intervals};
use crate::device::ComputeDevice;
use crate::families::ParamIssue;
use crate::window::{WindowLoss, WindowScaler, WindowTraining, loss_issues};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NhitsConfig {
    /// Periods of history each window reads.
    pub input_size: usize,
    /// Blocks per stack (one stack per entry of `pooling_sizes`).
    #[serde(default = "default_blocks")]
    pub blocks: usize,
    /// Width of each hidden layer of a block's MLP.
    #[serde(default = "default_mlp_units")]
    pub mlp_units: Vec<usize>,
    /// Per stack: the max-pooling size its blocks read the window at.
    #[serde(default = "default_pooling")]
    pub pooling_sizes: Vec<usize>,
    /// Per stack: the frequency downsampling factor (its blocks emit
    /// `horizon / factor` knots, linearly interpolated to the horizon).
    #[serde(default = "default_downsample")]
    pub downsample: Vec<usize>,
    /// Dropout after each hidden layer while training, in [0, 1).
    #[serde(default)]
    pub dropout: f64,
    /// How each window is scaled (by its input periods) before the network
    /// reads it; the forecast is scaled back.
    #[serde(default)]
    pub scaler: WindowScaler,
    /// The training loss, on scaled values; `quantile` trains one output
    /// per quantile and gives the family its own intervals.
    #[serde(default)]
    pub loss: WindowLoss,
    /// With `loss = "quantile"`: the quantiles trained (0.5 and both ends
    /// of every `[evaluation] levels` interval among them); default: those
    /// the levels need.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantiles: Option<Vec<f64>>,
    /// Optimiser steps.
    #[serde(default = "crate::window::default_max_steps")]
    pub max_steps: usize,
    /// Series sampled per step.
    #[serde(default = "crate::window::default_batch_size")]
    pub batch_size: usize,
    /// Windows sampled per step from the sampled series' windows.
    #[serde(default = "crate::window::default_windows_batch_size")]
    pub windows_batch_size: usize,
    /// Adam learning rate.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Times the learning rate halves over `max_steps` (evenly spaced).
    #[serde(default = "default_lr_decays")]
    pub lr_decays: usize,
    /// Steps between validation checks (a training "epoch" in run records).
    #[serde(default = "crate::window::default_val_check_steps")]
    pub val_check_steps: usize,
    /// Stop after this many checks without a better validation loss (0:
    /// train all steps); the best check's weights forecast.
    #[serde(default = "crate::window::default_patience")]
    pub patience: usize,
    /// Periods at the end of each series' training part held out for
    /// validation; default: the horizon. 0 trains on everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<usize>,
    /// Read covariates besides the target: the calendar features and
    /// `[features] future` covariates over the window and the horizon
    /// (neuralforecast's `futr_exog_list`), `[features] past` covariates
    /// over the window (`hist_exog_list`) and `[data] static` columns
    /// (`stat_exog_list`). Each window's covariates are scaled as its
    /// target is, by their input periods; static columns as they are.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exogenous: bool,
    /// Where to train: "cpu" or "cuda:N" (needs a build with a GPU feature).
    #[serde(default)]
    pub device: ComputeDevice,
}

impl Family for NhitsConfig {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            device: Some(self.device),
            // Covariates only when asked for (as neuralforecast's exog lists).
            reads_features: self.exogenous,
            reads_runs: false,
            reuses_first_fold: false,
            intervals: match self.loss {
                WindowLoss::Quantile => Intervals::Own,
                WindowLoss::Mae | WindowLoss::Mse => Intervals::None,
            },
            saves_fit: true,
            // One network across series.
            per_series: false,
            residuals: false,
        }
    }
    fn check(&self, context: &CheckContext<'_>) -> Vec<ParamIssue> {
        let mut issues = self.check_params();
        issues.extend(loss_issues(self.loss, self.quantiles.as_deref(), context.levels));
        if self.exogenous && !context.has_covariates {
            issues.extend(ParamIssue::one(
                "exogenous",
                "exogenous = true reads `[features] future`, `past` and `calendar` and `[data] static`, \
                 and the spec gives none of them",
            ));
        }
        issues
    }
    fn device_mut(&mut self) -> Option<&mut ComputeDevice> {
        Some(&mut self.device)
    }
    fn algorithm_version(&self) -> u32 {
        1
    }
    /// A round of `val_check_steps` steps is an "epoch".
    fn fix_epochs(&mut self, epochs: usize) -> bool {
        crate::window::fix_epochs(
            epochs,
            self.val_check_steps,
            [&mut self.max_steps, &mut self.patience],
            &mut self.validation,
        )
    }
}

fn default_blocks() -> usize {
    1
}
fn default_mlp_units() -> Vec<usize> {
    vec![512, 512]
}
fn default_pooling() -> Vec<usize> {
    vec![2, 2, 1]
}
fn default_downsample() -> Vec<usize> {
    vec![4, 2, 1]
}
fn default_lr() -> f64 {
    1e-3
}
fn default_lr_decays() -> usize {
    3
}

impl NhitsConfig {
    fn check_params(&self) -> Vec<ParamIssue> {
        let positive = [
            (self.input_size, "input_size"),
            (self.blocks, "blocks"),
            (self.max_steps, "max_steps"),
            (self.batch_size, "batch_size"),
            (self.windows_batch_size, "windows_batch_size"),
            (self.val_check_steps, "val_check_steps"),
        ];
        if let Some((_, field)) = positive.iter().find(|(v, _)| *v == 0) {
            return ParamIssue::one(field, format!("{field} must be at least 1"));
        }
        if self.mlp_units.is_empty() || self.mlp_units.contains(&0) {
            return ParamIssue::one("mlp_units", "mlp_units must list at least one width, each at least 1");
        }
        if self.pooling_sizes.is_empty() || self.pooling_sizes.contains(&0) {
            return ParamIssue::one(
                "pooling_sizes",
                "pooling_sizes must list one size per stack, each at least 1",
            );
        }
        if self.downsample.len() != self.pooling_sizes.len() || self.downsample.contains(&0) {
            return ParamIssue::one(
                "downsample",
                format!(
                    "downsample must list one factor (at least 1) per stack: pooling_sizes has {} stacks",
                    self.pooling_sizes.len()
                ),
            );
        }
        if let Some(&pool) = self.pooling_sizes.iter().find(|&&p| p > self.input_size) {
            return ParamIssue::one(
                "pooling_sizes",
                format!("a pooling size of {pool} is longer than input_size {}", self.input_size),
            );
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return ParamIssue::one("dropout", "dropout must be in [0, 1)");
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return ParamIssue::one("lr", "lr must be a finite number > 0");
        }
        Vec::new()
    }

    /// The options of its training loop.
    pub fn training(&self) -> WindowTraining {
        WindowTraining {
            input_size: self.input_size,
            dropout: self.dropout,
            scaler: self.scaler,
            loss: self.loss,
            quantiles: self.quantiles.clone(),
            max_steps: self.max_steps,
            batch_size: self.batch_size,
            windows_batch_size: self.windows_batch_size,
            lr: self.lr,
            lr_decays: self.lr_decays,
            val_check_steps: self.val_check_steps,
            patience: self.patience,
            validation: self.validation,
            device: self.device,
        }
    }

    /// Per block, in order: its pooling size and downsampling factor.
    pub fn block_rates(&self) -> Vec<(usize, usize)> {
        self.pooling_sizes
            .iter()
            .zip(&self.downsample)
            .flat_map(|(&p, &d)| std::iter::repeat_n((p, d), self.blocks))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: serde_json::Value) -> NhitsConfig {
        let mut value = serde_json::json!({ "input_size": 8 });
        value
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn blocks_repeat_their_stack_rates() {
        let c = config(serde_json::json!({ "blocks": 2, "pooling_sizes": [4, 1], "downsample": [2, 1] }));
        assert_eq!(c.block_rates(), vec![(4, 2), (4, 2), (1, 1), (1, 1)]);
        assert!(c.check_params().is_empty());
    }

    #[test]
    fn checks_name_the_field() {
        let field = |extra| config(extra).check_params()[0].field;
        assert_eq!(field(serde_json::json!({ "downsample": [1, 1] })), "downsample");
        assert_eq!(
            field(serde_json::json!({ "pooling_sizes": [9, 1, 1] })),
            "pooling_sizes"
        );
        assert_eq!(field(serde_json::json!({ "mlp_units": [] })), "mlp_units");
        assert_eq!(field(serde_json::json!({ "max_steps": 0 })), "max_steps");
        assert_eq!(field(serde_json::json!({ "lr": -1.0 })), "lr");
    }

    #[test]
    fn fixed_epochs_are_rounds_of_checks() {
        let mut c = config(serde_json::json!({ "val_check_steps": 50 }));
        assert!(c.fix_epochs(3));
        assert_eq!((c.max_steps, c.patience, c.validation), (150, 0, Some(0)));
    }
}
