//! The intermittent-demand families (`croston`, `tsb`, `adida`, `imapa`):
//! for series with many zero periods, such as most products' daily unit
//! sales. Each forecasts a flat demand rate per series from its own history,
//! as statsforecast's methods of the same names; none has its own
//! prediction intervals (conformal ones come from the backtest).

use crate::capabilities::{Capabilities, CheckContext, Family, Intervals, univariate_with_intervals};
use crate::device::ComputeDevice;
use crate::families::ParamIssue;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A family that forecasts each series from its own history, point forecasts only.
const fn univariate_points() -> Capabilities {
    Capabilities {
        intervals: Intervals::None,
        residuals: false,
        ..univariate_with_intervals()
    }
}

/// Which Croston method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CrostonVariant {
    /// Croston (1972): demand sizes and intervals smoothed with α = 0.1.
    #[default]
    Classic,
    /// Syntetos–Boylan approximation: the classic forecast times 0.95 (debiased).
    Sba,
    /// Sizes and intervals each smoothed with α chosen in [0.1, 0.3] by in-sample MSE.
    Optimized,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrostonConfig {
    #[serde(default)]
    pub variant: CrostonVariant,
}

/// Teunter–Syntetos–Babai: the demand probability smoothed every period
/// (so obsolescence shows), the demand size at each demand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TsbConfig {
    /// Smoothing of the demand size, in (0, 1].
    pub alpha_d: f64,
    /// Smoothing of the demand probability, in (0, 1].
    pub alpha_p: f64,
}

/// Aggregate–disaggregate intermittent demand approach (Nikolopoulos et
/// al. 2011): sums over blocks of the mean inter-demand interval, smoothed,
/// spread evenly back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdidaConfig {}

/// Intermittent multiple aggregation prediction algorithm (Petropoulos &
/// Kourentzes 2015): ADIDA at every block size up to the mean interval, averaged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImapaConfig {}

impl Family for TsbConfig {
    fn capabilities(&self) -> Capabilities {
        univariate_points()
    }
    fn check(&self, _: &CheckContext<'_>) -> Vec<ParamIssue> {
        [("alpha_d", self.alpha_d), ("alpha_p", self.alpha_p)]
            .into_iter()
            .find(|(_, v)| !(*v > 0.0 && *v <= 1.0))
            .map(|(field, v)| ParamIssue::one(field, format!("{field} must be in (0, 1], got {v}")))
            .unwrap_or_default()
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

crate::capabilities::unchecked_family!(univariate_points(); CrostonConfig => 1, AdidaConfig => 1, ImapaConfig => 1);
