//! `family = "ets"` and `family = "theta"`: exponential smoothing state-space
//! models and the Theta method family, each fitted per series by maximum
//! likelihood (ETS) or least squares (Theta), with an automatic choice of
//! form as statsforecast's `AutoETS` and `AutoTheta`.

use crate::capabilities::{Capabilities, CheckContext, Family, univariate_with_intervals};
use crate::device::ComputeDevice;
use crate::families::ParamIssue;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EtsConfig {
    /// Error, trend and season, one letter each: `N` none, `A` additive,
    /// `M` multiplicative, `Z` chosen per series by AICc. "ZZZ" (the
    /// default) is the automatic search of R's `ets` and statsforecast's
    /// `AutoETS`; "ANN" is simple exponential smoothing, "AAA" additive
    /// Holt-Winters.
    #[serde(default = "default_ets_model")]
    pub model: String,
    /// Damp the trend: `true`, `false`, or unset to try both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub damped: Option<bool>,
    /// Season length in periods (7 for daily data with a weekly cycle, 52
    /// weekly, 12 monthly); 1: no seasonal part.
    #[serde(default = "default_season")]
    pub season: usize,
    /// Let `Z` in the trend position include a multiplicative trend.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub multiplicative_trend: bool,
}

fn default_ets_model() -> String {
    "ZZZ".into()
}
fn default_season() -> usize {
    1
}

impl Family for EtsConfig {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            saves_fit: true,
            residuals: true,
            ..univariate_with_intervals()
        }
    }
    fn check(&self, _: &CheckContext<'_>) -> Vec<ParamIssue> {
        let letters: Vec<char> = self.model.chars().collect();
        let valid = letters.len() == 3
            && "AMZ".contains(letters[0])
            && "NAMZ".contains(letters[1])
            && "NAMZ".contains(letters[2]);
        if !valid {
            return ParamIssue::one(
                "model",
                format!(
                    "`{}` is not an ETS model code: three letters for error (A, M, Z), trend (N, A, M, Z) and season (N, A, M, Z), e.g. \"ZZZ\" or \"AAN\"",
                    self.model
                ),
            );
        }
        if self.season == 0 {
            return ParamIssue::one("season", "season must be at least 1");
        }
        if self.season == 1 && "AM".contains(letters[2]) {
            return ParamIssue::one(
                "season",
                format!(
                    "model `{}` has a seasonal part: give its period as `season` (>= 2)",
                    self.model
                ),
            );
        }
        if letters[0] == 'A' && (letters[1] == 'M' || letters[2] == 'M') {
            return ParamIssue::one(
                "model",
                format!(
                    "`{}` mixes an additive error with a multiplicative part, an unstable model",
                    self.model
                ),
            );
        }
        if self.damped == Some(true) && letters[1] == 'N' {
            return ParamIssue::one("damped", "a damped trend needs a trend: use trend A, M or Z");
        }
        if letters[1] == 'M' && !self.multiplicative_trend {
            return ParamIssue::one("model", "a multiplicative trend needs `multiplicative_trend = true`");
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

/// Which Theta model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThetaModel {
    /// Standard Theta (Assimakopoulos & Nikolopoulos 2000): θ = 2.
    Standard,
    /// Optimised Theta (Fiorucci et al. 2016): θ fitted.
    Optimized,
    /// Dynamic standard Theta: the trend line updated each period, θ = 2.
    Dynamic,
    /// Dynamic optimised Theta: updated trend line, θ fitted.
    DynamicOptimized,
    /// The four fitted, the lowest in-sample MSE kept per series (`AutoTheta`).
    #[default]
    Auto,
}

/// How a seasonal component is removed before fitting Theta.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decomposition {
    /// Divide by seasonal indices (additive where the series is not all
    /// positive or an index falls below 0.01).
    #[default]
    Multiplicative,
    Additive,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThetaConfig {
    #[serde(default)]
    pub model: ThetaModel,
    /// Season length in periods; with 4 or more, a series whose
    /// autocorrelation at that lag is significant (90%) is deseasonalised
    /// by a classical decomposition first. 1: never.
    #[serde(default = "default_season")]
    pub season: usize,
    #[serde(default)]
    pub decomposition: Decomposition,
}

impl Family for ThetaConfig {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            saves_fit: true,
            residuals: false,
            ..univariate_with_intervals()
        }
    }
    fn check(&self, _: &CheckContext<'_>) -> Vec<ParamIssue> {
        if self.season == 0 {
            ParamIssue::one("season", "season must be at least 1")
        } else {
            Vec::new()
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
