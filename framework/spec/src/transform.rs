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
    take_key(table, KEY)
}

/// Removes model-level key `key` (not a family parameter: `transform`,
/// `reconcile`) from a model's parameter table and reads it; its default
/// when absent.
pub(crate) fn take_key<T: Default + for<'de> Deserialize<'de>>(
    table: &mut toml::Table,
    key: &str,
) -> Result<T, String> {
    match table.remove(key) {
        None => Ok(T::default()),
        Some(value) => T::deserialize(value).map_err(|e| {
            let e = e.to_string();
            format!("{key}: {}", e.lines().next().unwrap_or_default())
        }),
    }
}
