//! `family = "gbdt"`: one global gradient-boosted tree model per fold over
//! every series' `[features]` rows (the model that won the M5 competition
//! was LightGBM of this kind), recursive or direct like `linear`. The
//! parameters and their defaults are LightGBM's (histogram trees grown
//! leaf-wise).

use crate::capabilities::{Capabilities, CheckContext, Family, Intervals};
use crate::device::ComputeDevice;
use crate::families::ParamIssue;
use crate::linear::Scaling;
use crate::linear::Strategy;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The loss the trees minimise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GbdtObjective {
    /// Squared error: forecasts the conditional mean.
    #[default]
    SquaredError,
    /// Absolute error: the conditional median.
    Absolute,
    /// Poisson deviance on a log link (counts: values must be >= 0).
    Poisson,
    /// Tweedie deviance with `tweedie_power` in (1, 2) on a log link
    /// (intermittent sales: zeros and positive amounts; values >= 0).
    Tweedie,
    /// Pinball loss at `quantile`.
    Quantile,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GbdtConfig {
    #[serde(default)]
    pub objective: GbdtObjective,
    /// Variance power of the Tweedie objective, in (1, 2).
    #[serde(default = "default_power")]
    pub tweedie_power: f64,
    /// Quantile of the quantile objective, in (0, 1).
    #[serde(default = "default_quantile")]
    pub quantile: f64,
    /// Shrinkage of each tree (LightGBM `learning_rate`), in (0, 1].
    #[serde(default = "default_learning_rate")]
    pub learning_rate: f64,
    /// Boosting rounds: trees per model (LightGBM `num_iterations`), >= 1.
    #[serde(default = "default_rounds")]
    pub rounds: usize,
    /// Leaves per tree, grown best-first (LightGBM `num_leaves`), >= 2.
    #[serde(default = "default_leaves")]
    pub max_leaves: usize,
    /// Smallest hessian sum in a leaf (LightGBM `min_sum_hessian_in_leaf`;
    /// for squared error, the fewest rows), >= 0.
    #[serde(default = "default_min_child_weight")]
    pub min_child_weight: f64,
    /// Share of rows each tree sees (LightGBM `bagging_fraction`), in (0, 1].
    #[serde(default = "default_one")]
    pub subsample: f64,
    /// Share of features each tree sees (LightGBM `feature_fraction`), in (0, 1].
    #[serde(default = "default_one")]
    pub colsample: f64,
    /// L2 penalty on leaf values (LightGBM `lambda_l2`), >= 0.
    #[serde(default)]
    pub lambda: f64,
    /// How multi-step forecasts are produced.
    #[serde(default)]
    pub strategy: Strategy,
    /// Per-series scaling of the target (fitted on each fold's training data).
    #[serde(default)]
    pub scaling: Scaling,
}

fn default_power() -> f64 {
    1.5
}
fn default_quantile() -> f64 {
    0.5
}
fn default_learning_rate() -> f64 {
    0.1
}
fn default_rounds() -> usize {
    100
}
fn default_leaves() -> usize {
    31
}
fn default_min_child_weight() -> f64 {
    1e-3
}
fn default_one() -> f64 {
    1.0
}

impl Family for GbdtConfig {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            device: None,
            reads_features: true,
            reads_runs: false,
            reuses_first_fold: false,
            intervals: Intervals::None,
            saves_fit: false,
            // One model across series.
            per_series: false,
            residuals: false,
        }
    }
    fn check(&self, _: &CheckContext<'_>) -> Vec<ParamIssue> {
        if !(self.tweedie_power > 1.0 && self.tweedie_power < 2.0) {
            return ParamIssue::one(
                "tweedie_power",
                format!("tweedie_power must be in (1, 2), got {}", self.tweedie_power),
            );
        }
        if !(self.quantile > 0.0 && self.quantile < 1.0) {
            return ParamIssue::one("quantile", format!("quantile must be in (0, 1), got {}", self.quantile));
        }
        let unit = [
            ("learning_rate", self.learning_rate),
            ("subsample", self.subsample),
            ("colsample", self.colsample),
        ];
        if let Some((field, v)) = unit.into_iter().find(|(_, v)| !(*v > 0.0 && *v <= 1.0)) {
            return ParamIssue::one(field, format!("{field} must be in (0, 1], got {v}"));
        }
        if self.rounds == 0 {
            return ParamIssue::one("rounds", "rounds must be at least 1");
        }
        if self.max_leaves < 2 {
            return ParamIssue::one("max_leaves", "max_leaves must be at least 2");
        }
        let nonnegative = [("min_child_weight", self.min_child_weight), ("lambda", self.lambda)];
        if let Some((field, v)) = nonnegative.into_iter().find(|(_, v)| !(*v >= 0.0 && v.is_finite())) {
            return ParamIssue::one(field, format!("{field} must be a finite number >= 0, got {v}"));
        }
        let log_link = matches!(self.objective, GbdtObjective::Poisson | GbdtObjective::Tweedie);
        if log_link && matches!(self.scaling, Scaling::Standard | Scaling::MinMax) {
            return ParamIssue::one(
                "scaling",
                "the poisson and tweedie objectives need non-negative targets: use scaling \"mean_abs\" or \"none\"",
            );
        }
        Vec::new()
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
