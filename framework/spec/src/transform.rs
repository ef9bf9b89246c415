//! `transform` on any `[[models]]` entry (or in its grid): the target is
//! transformed per series before the family fits it, and the forecasts and
//! interval bounds are transformed back. Not a family parameter: every
//! family but the ensemble (which combines forecasts already transformed
//! back) takes it, and it enters a run id only when set.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A transform of the target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetTransform {
    #[default]
    None,
    /// log(1 + y): for counts with zeros; forecasts come back as medians.
    Log1p,
    /// Box-Cox with λ chosen per series by Guerrero's method (values must be positive).
    BoxCox,
}

impl TargetTransform {
    pub fn is_none(&self) -> bool {
        *self == TargetTransform::None
    }
}

/// The key of a model entry that holds it.
pub const KEY: &str = "transform";

/// Removes `transform` from a model's parameter table and reads it.
pub fn take(table: &mut toml::Table) -> Result<TargetTransform, String> {
    match table.remove(KEY) {
        None => Ok(TargetTransform::None),
        Some(value) => TargetTransform::deserialize(value).map_err(|e| {
            let e = e.to_string();
            format!("transform: {}", e.lines().next().unwrap_or_default())
        }),
    }
}
