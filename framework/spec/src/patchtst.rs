//! `family = "patchtst"`: PatchTST (Nie et al., 2023), a global
//! Transformer over patches of each window, univariate (channel
//! independent), trained by steps on sampled windows as neuralforecast's
//! `PatchTST` is. Options are named as neuralforecast names them where
//! they mean the same (`input_size`, `patch_len`, `stride`, `max_steps`,
//! `batch_size`, `windows_batch_size`, `lr`, `scaler`, `loss`); the
//! Transformer's sizes as the paper names them (`d_model` for
//! `hidden_size`, `heads` for `n_heads`, `ff` for `linear_hidden_size`,
//! `layers` for `encoder_layers`).

use crate::capabilities::{Capabilities, CheckContext, Family, Intervals};
use crate::device::ComputeDevice;
use crate::families::ParamIssue;
use crate::window::{WindowLoss, WindowScaler, WindowTraining, loss_issues};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchtstConfig {
    /// Periods of history each window reads.
    pub input_size: usize,
    /// Periods per patch.
    #[serde(default = "default_patch_len")]
    pub patch_len: usize,
    /// Periods between the starts of consecutive patches.
    #[serde(default = "default_stride")]
    pub stride: usize,
    /// Width of the patch embeddings and the encoder.
    #[serde(default = "default_d_model")]
    pub d_model: usize,
    /// Attention heads (dividing `d_model`).
    #[serde(default = "default_heads")]
    pub heads: usize,
    /// Encoder layers.
    #[serde(default = "default_layers")]
    pub layers: usize,
    /// Width of each layer's feed-forward part.
    #[serde(default = "default_ff")]
    pub ff: usize,
    /// Dropout on the embeddings and each sub-layer's output while
    /// training, in [0, 1).
    #[serde(default = "default_dropout")]
    pub dropout: f64,
    /// RevIN subtracts each window's last value (`false`: its mean).
    #[serde(default = "default_true")]
    pub revin_subtract_last: bool,
    /// RevIN learns an affine map.
    #[serde(default)]
    pub revin_affine: bool,
    /// Each layer adds the previous layer's attention scores to its own.
    #[serde(default = "default_true")]
    pub residual_attention: bool,
    /// Batch norms before each sub-layer (`false`: after its residual sum).
    #[serde(default)]
    pub pre_norm: bool,
    /// The feed-forward activation.
    #[serde(default)]
    pub activation: Activation,
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
    #[serde(default)]
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
    /// Covariates are not read (PatchTST is univariate); `true` is refused
    /// with that explanation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exogenous: bool,
    /// Where to train: "cpu" or "cuda:N" (needs a build with a GPU feature).
    #[serde(default)]
    pub device: ComputeDevice,
}

/// A feed-forward activation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    #[default]
    Gelu,
    Relu,
}

impl Family for PatchtstConfig {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            device: Some(self.device),
            // Univariate: the target alone.
            reads_features: false,
            reads_runs: false,
            reuses_first_fold: false,
            intervals: match self.loss {
                WindowLoss::Quantile => Intervals::Own,
                WindowLoss::Mae | WindowLoss::Mse => Intervals::None,
            },
            saves_fit: true,
            per_series: false,
            residuals: false,
        }
    }
    fn check(&self, context: &CheckContext<'_>) -> Vec<ParamIssue> {
        let mut issues = self.check_params();
        issues.extend(loss_issues(self.loss, self.quantiles.as_deref(), context.levels));
        if self.exogenous {
            issues.extend(ParamIssue::one(
                "exogenous",
                "patchtst is univariate (channel-independent, as in its paper and neuralforecast): it reads \
                 the target alone; nhits and deepar read covariates (exogenous = true)",
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

fn default_patch_len() -> usize {
    16
}
fn default_stride() -> usize {
    8
}
fn default_d_model() -> usize {
    128
}
fn default_heads() -> usize {
    16
}
fn default_layers() -> usize {
    3
}
fn default_ff() -> usize {
    256
}
fn default_dropout() -> f64 {
    0.2
}
fn default_true() -> bool {
    true
}
fn default_lr() -> f64 {
    1e-4
}

impl PatchtstConfig {
    fn check_params(&self) -> Vec<ParamIssue> {
        let positive = [
            (self.input_size, "input_size"),
            (self.patch_len, "patch_len"),
            (self.stride, "stride"),
            (self.d_model, "d_model"),
            (self.heads, "heads"),
            (self.layers, "layers"),
            (self.ff, "ff"),
            (self.max_steps, "max_steps"),
            (self.batch_size, "batch_size"),
            (self.windows_batch_size, "windows_batch_size"),
            (self.val_check_steps, "val_check_steps"),
        ];
        if let Some((_, field)) = positive.iter().find(|(v, _)| *v == 0) {
            return ParamIssue::one(field, format!("{field} must be at least 1"));
        }
        if self.patch_len > self.input_size + self.stride {
            return ParamIssue::one(
                "patch_len",
                format!(
                    "patch_len {} is longer than input_size + stride = {} (the window padded at its end)",
                    self.patch_len,
                    self.input_size + self.stride
                ),
            );
        }
        if !self.d_model.is_multiple_of(self.heads) {
            return ParamIssue::one(
                "heads",
                format!("heads = {} must divide d_model = {}", self.heads, self.d_model),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: serde_json::Value) -> PatchtstConfig {
        let mut value = serde_json::json!({ "input_size": 32 });
        value
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn checks_name_the_field() {
        assert!(config(serde_json::json!({})).check_params().is_empty());
        let field = |extra| config(extra).check_params()[0].field;
        assert_eq!(field(serde_json::json!({ "heads": 3 })), "heads");
        assert_eq!(field(serde_json::json!({ "patch_len": 41 })), "patch_len");
        assert_eq!(field(serde_json::json!({ "dropout": 1.0 })), "dropout");
        assert_eq!(field(serde_json::json!({ "stride": 0 })), "stride");
    }
}
