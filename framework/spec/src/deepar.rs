//! `family = "deepar"`: DeepAR (Salinas et al., 2020), a global
//! autoregressive LSTM whose output at each period is a distribution of the
//! next value. Trained by likelihood on teacher-forced windows sampled by
//! steps, as neuralforecast's `DeepAR` is (its defaults: two layers of 128,
//! a Student-t likelihood, a linear decoder, the loss on the period after
//! each window); forecast by `samples` seeded sample paths, each drawing
//! its next value from the distribution and feeding it back (the paper's
//! ancestral sampling). The point forecast is the paths' median or mean,
//! the intervals their quantiles. `feedback = "mean"` forecasts as
//! neuralforecast 3 does instead: one trajectory per series feeding back
//! each period's distribution mean, `samples` draws per period for its
//! quantiles.
//!
//! Options are named as neuralforecast names them where they mean the same
//! (`input_size`, `lstm_layers` for `lstm_n_layers`, `lstm_hidden` for
//! `lstm_hidden_size`, `lstm_dropout`, `samples` for `trajectory_samples`,
//! `max_steps`, `batch_size`, `windows_batch_size`, `lr`, `scaler`).

use crate::capabilities::{Capabilities, CheckContext, Family, Intervals};
use crate::device::ComputeDevice;
use crate::families::ParamIssue;
use crate::window::{WindowLoss, WindowScaler, WindowTraining};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The distribution DeepAR emits per period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Likelihood {
    Normal,
    /// Student's t with degrees of freedom above 3 (learnt).
    #[default]
    StudentT,
    /// Counts: the gamma–Poisson mixture, by mean and dispersion.
    NegativeBinomial,
    /// Non-negative with mass at zero (compound Poisson–gamma), variance
    /// power `tweedie_power`.
    Tweedie,
}

/// What the point forecast is, of the sample paths at each period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PathPoint {
    #[default]
    Median,
    Mean,
}

/// What the forecast feeds back to the network after each period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PathFeedback {
    /// Every path its own draw (Salinas et al.'s ancestral sampling): the
    /// paths carry the uncertainty of earlier periods into later ones.
    #[default]
    Sample,
    /// One trajectory per series feeding back each period's distribution
    /// mean (neuralforecast 3's recurrent forecast): the point `mean` is
    /// that mean, the median and the intervals come from `samples` draws of
    /// each period's distribution alone.
    Mean,
}

impl PathFeedback {
    fn is_sample(&self) -> bool {
        *self == PathFeedback::Sample
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeeparConfig {
    /// Periods of history each training window reads before the period it
    /// predicts; the forecast conditions on as many.
    pub input_size: usize,
    #[serde(default = "default_lstm_layers")]
    pub lstm_layers: usize,
    #[serde(default = "default_lstm_hidden")]
    pub lstm_hidden: usize,
    /// Dropout on each LSTM layer's outputs while training, in [0, 1).
    #[serde(default = "default_lstm_dropout")]
    pub lstm_dropout: f64,
    #[serde(default)]
    pub likelihood: Likelihood,
    /// The Tweedie variance power, in (1, 2).
    #[serde(default = "default_tweedie_power")]
    pub tweedie_power: f64,
    /// Sample paths per series.
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// The point forecast of the paths.
    #[serde(default)]
    pub point: PathPoint,
    /// What each period feeds back: its draws (the default) or its mean.
    #[serde(default, skip_serializing_if = "PathFeedback::is_sample")]
    pub feedback: PathFeedback,
    /// How each window is scaled by its input periods; the distribution's
    /// location and scale are anchored on the same statistics.
    #[serde(default = "default_scaler")]
    pub scaler: WindowScaler,
    #[serde(default = "crate::window::default_max_steps")]
    pub max_steps: usize,
    #[serde(default = "crate::window::default_batch_size")]
    pub batch_size: usize,
    #[serde(default = "crate::window::default_windows_batch_size")]
    pub windows_batch_size: usize,
    #[serde(default = "default_lr")]
    pub lr: f64,
    #[serde(default = "default_lr_decays")]
    pub lr_decays: usize,
    #[serde(default = "crate::window::default_val_check_steps")]
    pub val_check_steps: usize,
    #[serde(default = "crate::window::default_patience")]
    pub patience: usize,
    /// Periods at the end of each series' training part held out for
    /// validation (the mean negative log-likelihood of each one's value);
    /// default: the horizon. 0 trains on everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<usize>,
    /// Read covariates besides the target, as neuralforecast's DeepAR does
    /// (`futr_exog_list`, `stat_exog_list`): each LSTM step reads, beside
    /// the previous period's value, the calendar features and `[features]
    /// future` covariates of the period it forecasts (scaled by the
    /// window's input periods) and the series' `[data] static` columns.
    /// Past-only covariates are not read.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exogenous: bool,
    #[serde(default)]
    pub device: ComputeDevice,
}

impl Family for DeeparConfig {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            device: Some(self.device),
            // Covariates only when asked for (as neuralforecast's exog lists).
            reads_features: self.exogenous,
            reads_runs: false,
            reuses_first_fold: false,
            // The sample paths' quantiles.
            intervals: Intervals::Own,
            saves_fit: true,
            per_series: false,
            residuals: false,
        }
    }
    fn check(&self, context: &CheckContext<'_>) -> Vec<ParamIssue> {
        let mut issues = self.check_params();
        if self.exogenous && !context.has_covariates {
            issues.extend(ParamIssue::one(
                "exogenous",
                "exogenous = true reads `[features] future` and `calendar` and `[data] static`, and the spec \
                 gives none of them",
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

fn default_lstm_layers() -> usize {
    2
}
fn default_lstm_hidden() -> usize {
    128
}
fn default_lstm_dropout() -> f64 {
    0.1
}
fn default_tweedie_power() -> f64 {
    1.5
}
fn default_samples() -> usize {
    100
}
fn default_scaler() -> WindowScaler {
    WindowScaler::None
}
fn default_lr() -> f64 {
    1e-3
}
fn default_lr_decays() -> usize {
    3
}

impl DeeparConfig {
    fn check_params(&self) -> Vec<ParamIssue> {
        let positive = [
            (self.input_size, "input_size"),
            (self.lstm_layers, "lstm_layers"),
            (self.lstm_hidden, "lstm_hidden"),
            (self.samples, "samples"),
            (self.max_steps, "max_steps"),
            (self.batch_size, "batch_size"),
            (self.windows_batch_size, "windows_batch_size"),
            (self.val_check_steps, "val_check_steps"),
        ];
        if let Some((_, field)) = positive.iter().find(|(v, _)| *v == 0) {
            return ParamIssue::one(field, format!("{field} must be at least 1"));
        }
        if !(0.0..1.0).contains(&self.lstm_dropout) {
            return ParamIssue::one("lstm_dropout", "lstm_dropout must be in [0, 1)");
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return ParamIssue::one("lr", "lr must be a finite number > 0");
        }
        if !(self.tweedie_power > 1.0 && self.tweedie_power < 2.0) {
            return ParamIssue::one("tweedie_power", "tweedie_power must be strictly between 1 and 2");
        }
        Vec::new()
    }

    /// The options of its training loop (the loss is the likelihood's).
    pub fn training(&self) -> WindowTraining {
        WindowTraining {
            input_size: self.input_size,
            dropout: self.lstm_dropout,
            scaler: self.scaler,
            loss: WindowLoss::Mae,
            quantiles: None,
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

    fn config(extra: serde_json::Value) -> DeeparConfig {
        let mut value = serde_json::json!({ "input_size": 8 });
        value
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn defaults_are_neuralforecasts() {
        let c = config(serde_json::json!({}));
        assert_eq!((c.lstm_layers, c.lstm_hidden, c.samples), (2, 128, 100));
        assert_eq!(
            (c.likelihood, c.scaler, c.point),
            (Likelihood::StudentT, WindowScaler::None, PathPoint::Median)
        );
        assert!(c.check_params().is_empty());
    }

    #[test]
    fn checks_name_the_field() {
        let field = |extra| config(extra).check_params()[0].field;
        assert_eq!(field(serde_json::json!({ "samples": 0 })), "samples");
        assert_eq!(field(serde_json::json!({ "lstm_dropout": 1.0 })), "lstm_dropout");
        assert_eq!(field(serde_json::json!({ "tweedie_power": 2.0 })), "tweedie_power");
        assert_eq!(field(serde_json::json!({ "lr": 0.0 })), "lr");
    }

    #[test]
    fn likelihoods_read_as_snake_case() {
        let c = config(serde_json::json!({ "likelihood": "negative_binomial", "point": "mean" }));
        assert_eq!((c.likelihood, c.point), (Likelihood::NegativeBinomial, PathPoint::Mean));
        assert_eq!(c.feedback, PathFeedback::Sample);
        let c = config(serde_json::json!({ "feedback": "mean" }));
        assert_eq!(c.feedback, PathFeedback::Mean);
    }
}
