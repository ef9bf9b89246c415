//! `family = "ensemble"`: which models of the same spec are combined and
//! how. The combination itself lives in `trendlab-models::ensemble`; the
//! members' forecasts come from the run store (see `trendlab-engine`).

use crate::capabilities::{Capabilities, CheckContext, Family, Intervals};
use crate::device::ComputeDevice;
use crate::families::ParamIssue;
use crate::grid::ModelConfig;
use crate::schema::Metric;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnsembleConfig {
    /// Names of the models combined (`[[models]] name`s of the same spec,
    /// not ensembles themselves).
    pub members: Vec<String>,
    /// `best`: each member model contributes its configuration with the
    /// best `metric` on the forecasts made before each cutoff; `all`: every
    /// configuration of its grid is a candidate.
    #[serde(default)]
    pub member_configs: MemberConfigs,
    /// How the members' forecasts are combined.
    pub method: Method,
    /// Metric that ranks members (`best`, `inverse_error`, `greedy`);
    /// default: the experiment's `rank_by` when it scores point
    /// forecasts, else `mae`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
    /// Stacking: `nnls` (non-negative weights) or `ridge` (an L2 penalty,
    /// weights of any sign); default `nnls`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solver: Option<Solver>,
    /// Stacking with `solver = "ridge"`: the L2 penalty on the weights,
    /// relative to the mean squared scaled forecast; default 1e-3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// Stacking: weights sum to 1 (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constrained: Option<bool>,
    /// Greedy: rounds of Caruana's selection with replacement (default 25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds: Option<usize>,
    /// Origins before the backtest's first cutoff, `step` apart, at which
    /// the members are refitted so that fold 0 has earlier forecasts to
    /// learn weights from (only when the method or `best` needs them).
    #[serde(default = "default_validation_folds")]
    pub validation_folds: usize,
    /// A member whose run failed or is missing: `fail` the ensemble's fold
    /// with that reason, or `drop` the member there and record it.
    #[serde(default)]
    pub on_missing: OnMissing,
}

fn default_validation_folds() -> usize {
    1
}

/// Which configurations of a member model take part.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberConfigs {
    #[default]
    Best,
    All,
}

/// How forecasts are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Method {
    /// Equal weights.
    Mean,
    /// The median of the members at every step.
    Median,
    /// Weights proportional to 1 / the member's `metric` before the cutoff.
    InverseError,
    /// Weights fitted by least squares to the actuals before the cutoff.
    Stacking,
    /// Caruana's greedy selection with replacement.
    Greedy,
}

/// Least-squares variant of stacking.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Solver {
    #[default]
    Nnls,
    Ridge,
}

/// What a failed or missing member does to the ensemble.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnMissing {
    #[default]
    Fail,
    Drop,
}

impl Method {
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Whether the method learns weights from earlier forecasts.
    pub fn learns(self) -> bool {
        matches!(self, Method::InverseError | Method::Stacking | Method::Greedy)
    }

    /// Whether the method ranks members by a metric.
    pub fn ranks(self) -> bool {
        matches!(self, Method::InverseError | Method::Greedy)
    }
}

impl EnsembleConfig {
    pub fn solver(&self) -> Solver {
        self.solver.unwrap_or_default()
    }

    pub fn alpha(&self) -> f64 {
        self.alpha.unwrap_or(1e-3)
    }

    pub fn constrained(&self) -> bool {
        self.constrained.unwrap_or(true)
    }

    pub fn rounds(&self) -> usize {
        self.rounds.unwrap_or(25)
    }

    /// The ranking metric, given the experiment's `rank_by`.
    pub fn metric_or(&self, rank_by: Metric) -> Metric {
        self.metric
            .unwrap_or(if rank_by.ranks_members() { rank_by } else { Metric::Mae })
    }

    /// Whether each fold needs forecasts made before its cutoff: to learn
    /// weights, or to pick the best of a member's several configurations
    /// (`configs`: every configuration of the spec).
    pub fn needs_history(&self, configs: &[ModelConfig]) -> bool {
        let member_has_grid = self
            .members
            .iter()
            .any(|m| configs.iter().filter(|c| &c.model == m).count() > 1);
        self.method.learns() || (self.member_configs == MemberConfigs::Best && member_has_grid)
    }

    /// Validation origins the ensemble reads: `validation_folds` when it
    /// needs earlier forecasts, else none.
    pub fn origins(&self, configs: &[ModelConfig]) -> usize {
        if self.needs_history(configs) {
            self.validation_folds
        } else {
            0
        }
    }

    fn check_params(&self) -> Vec<ParamIssue> {
        let issue = |field, message: String| vec![ParamIssue { field, message }];
        if self.members.is_empty() {
            return issue("members", "list at least one member model".into());
        }
        if let Some((i, name)) = self
            .members
            .iter()
            .enumerate()
            .find(|(i, name)| self.members[..*i].contains(name))
        {
            return issue(
                "members",
                format!("member `{name}` is listed twice (position {})", i + 1),
            );
        }
        let method = self.method.name();
        let stacking = self.method == Method::Stacking;
        let misplaced = [
            ("solver", self.solver.is_some() && !stacking, "stacking"),
            ("constrained", self.constrained.is_some() && !stacking, "stacking"),
            (
                "alpha",
                self.alpha.is_some() && self.solver() != Solver::Ridge,
                "stacking with solver = \"ridge\"",
            ),
            (
                "rounds",
                self.rounds.is_some() && self.method != Method::Greedy,
                "greedy",
            ),
        ];
        if let Some((field, _, applies)) = misplaced.iter().find(|(_, set, _)| *set) {
            return issue(field, format!("`{field}` applies to method = {applies}, not {method}"));
        }
        if let Some(metric) = self.metric.filter(|m| !m.ranks_members()) {
            return issue(
                "metric",
                format!(
                    "an ensemble ranks members by a point-forecast error (mae, rmse, mape, smape, mase, rmsse, wape), not `{}`",
                    metric.name()
                ),
            );
        }
        if self.alpha.is_some_and(|a| !(a >= 0.0 && a.is_finite())) {
            return issue("alpha", "alpha must be a finite number >= 0".into());
        }
        if self.rounds == Some(0) {
            return issue("rounds", "rounds must be at least 1".into());
        }
        Vec::new()
    }
}

impl Family for EnsembleConfig {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            device: None,
            reads_features: false,
            reads_runs: true,
            reuses_first_fold: false,
            intervals: Intervals::Combined,
            saves_fit: true,
            // Reads its members' runs, whole.
            per_series: false,
            residuals: false,
        }
    }

    fn check(&self, _: &CheckContext<'_>) -> Vec<ParamIssue> {
        self.check_params()
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
