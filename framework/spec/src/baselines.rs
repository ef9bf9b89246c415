//! The baselines: naive, seasonal naive, mean and drift, each forecasting a
//! series from its own latest values, on the CPU, with intervals of its own.

use crate::capabilities::{Capabilities, CheckContext, Family, univariate_with_intervals};
use crate::device::ComputeDevice;
use crate::families::ParamIssue;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NaiveConfig {}

// Families without parameters: each series' own history, on the CPU,
// with their own intervals.
crate::capabilities::unchecked_family!(univariate_with_intervals(); NaiveConfig => 1, DriftConfig => 1);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SeasonalNaiveConfig {
    /// Season length in periods (7 for daily data with a weekly cycle).
    pub season: usize,
}

impl Family for SeasonalNaiveConfig {
    fn capabilities(&self) -> Capabilities {
        univariate_with_intervals()
    }
    fn check(&self, _: &CheckContext<'_>) -> Vec<ParamIssue> {
        match self.season {
            0 => ParamIssue::one("season", "season must be at least 1"),
            _ => Vec::new(),
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

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeanConfig {
    /// Average only the last `window` training values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<usize>,
}

impl Family for MeanConfig {
    fn capabilities(&self) -> Capabilities {
        univariate_with_intervals()
    }
    fn check(&self, _: &CheckContext<'_>) -> Vec<ParamIssue> {
        match self.window {
            Some(0) => ParamIssue::one("window", "window must be at least 1"),
            _ => Vec::new(),
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

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DriftConfig {}
