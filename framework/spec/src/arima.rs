//! The ARIMA family: seasonal ARIMA(X) by exact maximum likelihood, fixed
//! orders or the automatic search.

use crate::capabilities::{Capabilities, CheckContext, Family, Intervals};
use crate::device::ComputeDevice;
use crate::families::ParamIssue;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArimaConfig {
    /// `[p, d, q]`: AR order, differences, MA order (not with `auto`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<[usize; 3]>,
    /// `[P, D, Q, s]`: seasonal AR order, seasonal differences, seasonal MA order, period.
    #[serde(default)]
    pub seasonal_order: [usize; 4],
    /// Deterministic trend: "n" none, "c" constant, "t" linear in time (a
    /// drift when d + D = 1), "ct" both; default "c" without differencing, else "n".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trend: Option<ArimaTrend>,
    /// Choose the orders per series: Hyndman-Khandakar stepwise search on AICc.
    #[serde(default)]
    pub auto: bool,
    /// Seasonal period the automatic search considers (with `auto`; default 1: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub season: Option<usize>,
    /// With `auto`: rank candidates by conditional sums of squares and refit
    /// only the winner by exact likelihood (as `auto.arima`'s
    /// `approximation`); default: on for series longer than 150 periods or
    /// seasons longer than 12.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximation: Option<bool>,
    /// With `auto`: choose each series' orders on the first fold of the
    /// backtest and refit those orders on later folds.
    #[serde(default)]
    pub reuse_order: bool,
    /// Regress on the experiment's known-in-advance covariates
    /// (`[features] covariates` marked future): ARIMAX.
    #[serde(default)]
    pub exogenous: bool,
}

impl Family for ArimaConfig {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            device: None,
            // ARIMAX reads the known-in-advance covariates of `[features]`.
            reads_features: self.exogenous,
            reads_runs: false,
            reuses_first_fold: self.reuse_order,
            intervals: Intervals::Own,
            saves_fit: true,
            per_series: true,
            residuals: false,
        }
    }
    fn check(&self, context: &CheckContext<'_>) -> Vec<ParamIssue> {
        let mut issues = self.check_orders();
        if self.exogenous && !context.has_future_covariates {
            issues.extend(ParamIssue::one(
                "exogenous",
                "exogenous regressors come from `[features] future`, which lists none",
            ));
        }
        issues
    }
    fn device_mut(&mut self) -> Option<&mut ComputeDevice> {
        None
    }
    /// 2: fixed orders search from zeros and near the MA edge too, and a
    /// search that stops unconverged or at the edge tries again from zeros
    /// (version 1 failed 8 of 600 Online Retail fits and stopped at worse
    /// optima than statsmodels'). 3: fixed orders also start from every
    /// partial autocorrelation at ±0.9 (version 2 stopped below statsmodels'
    /// optimum on 4 of 168 golden fits).
    fn algorithm_version(&self) -> u32 {
        3
    }
    fn fix_epochs(&mut self, _: usize) -> bool {
        false
    }
}

/// Deterministic trend of an ARIMA model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ArimaTrend {
    #[serde(rename = "n")]
    N,
    #[serde(rename = "c")]
    C,
    #[serde(rename = "t")]
    T,
    #[serde(rename = "ct")]
    Ct,
}

impl ArimaTrend {
    /// The statsmodels default: a constant without differencing, else nothing.
    pub fn default_for(differences: usize) -> ArimaTrend {
        if differences == 0 { ArimaTrend::C } else { ArimaTrend::N }
    }

    /// Powers of time the trend holds (0 for the constant, 1 for the slope).
    pub fn powers(self) -> &'static [usize] {
        match self {
            ArimaTrend::N => &[],
            ArimaTrend::C => &[0],
            ArimaTrend::T => &[1],
            ArimaTrend::Ct => &[0, 1],
        }
    }
}

impl ArimaConfig {
    fn check_orders(&self) -> Vec<ParamIssue> {
        let issue = |field, message: String| vec![ParamIssue { field, message }];
        match (self.auto, self.order) {
            (true, Some(_)) => {
                return issue(
                    "order",
                    "with auto = true the search chooses the orders; remove `order`".into(),
                );
            }
            (false, None) => return issue("auto", "arima needs `order = [p, d, q]` (or `auto = true`)".into()),
            _ => {}
        }
        if self.auto && self.seasonal_order != [0; 4] {
            return issue(
                "seasonal_order",
                "with auto = true give the period as `season`; the search chooses the orders".into(),
            );
        }
        if self.auto && self.trend.is_some() {
            return issue(
                "trend",
                "with auto = true the search chooses the mean or drift; remove `trend`".into(),
            );
        }
        for (set, field) in [
            (self.season.is_some(), "season"),
            (self.approximation.is_some(), "approximation"),
            (self.reuse_order, "reuse_order"),
        ] {
            if set && !self.auto {
                return issue(field, format!("`{field}` applies to auto = true"));
            }
        }
        let [p, d, q] = self.order.unwrap_or_default();
        let [sp, sd, sq, s] = self.seasonal_order;
        if sp + sd + sq > 0 && s < 2 {
            return issue(
                "seasonal_order",
                format!("a seasonal part needs a period s >= 2, got {s}"),
            );
        }
        if p + q + sp + sq > 30 || d > 2 || sd > 1 {
            return issue(
                "order",
                "orders are limited to p + q + P + Q <= 30, d <= 2, D <= 1".into(),
            );
        }
        if let Some(trend) = self.trend
            && let Some(power) = trend.powers().iter().find(|power| **power < d + sd)
        {
            return issue(
                "trend",
                format!(
                    "with d + D = {} differences a trend term of power {power} is differenced away; \
                         use a trend of power >= {} (\"t\" is a drift when d + D = 1)",
                    d + sd,
                    d + sd
                ),
            );
        }
        Vec::new()
    }
}
