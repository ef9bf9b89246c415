//! `fallback` on any `[[models]]` entry (or in its grid): the method that
//! forecasts a series its family could not (a fit that fails, a forecast
//! that is not finite), in the backtest and in `forecast` alike, so that
//! every series gets a forecast. The series it forecast are named in the
//! run's notes and in `forecast.json`. Not a family parameter: it enters a
//! run id only when it is not the default.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What forecasts a series whose fit failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// The seasonal naive at `[evaluation] season`, or the naive where the
    /// season is 1 or the series is shorter than one season.
    #[default]
    SeasonalNaive,
    /// The last training value.
    Naive,
    /// The mean of the training values.
    Mean,
    /// None: the series fails, with its reason, and is not scored.
    None,
}

impl Fallback {
    pub fn is_default(&self) -> bool {
        *self == Fallback::default()
    }

    /// Its name in a spec (`seasonal_naive`).
    pub fn name(&self) -> &'static str {
        match self {
            Fallback::SeasonalNaive => "seasonal_naive",
            Fallback::Naive => "naive",
            Fallback::Mean => "mean",
            Fallback::None => "none",
        }
    }
}

/// The key of a model entry that holds it.
pub const KEY: &str = "fallback";

/// Removes `fallback` from a model's parameter table and reads it.
pub fn take(table: &mut toml::Table) -> Result<Fallback, String> {
    crate::transform::take_key(table, KEY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_the_spec_syntax() {
        for fallback in [Fallback::SeasonalNaive, Fallback::Naive, Fallback::Mean, Fallback::None] {
            let mut table = toml::Table::new();
            table.insert(KEY.into(), toml::Value::String(fallback.name().into()));
            assert_eq!(take(&mut table), Ok(fallback));
            assert!(table.is_empty());
        }
        assert_eq!(take(&mut toml::Table::new()), Ok(Fallback::SeasonalNaive));
        let mut table = toml::Table::new();
        table.insert(KEY.into(), toml::Value::String("drift".into()));
        let error = take(&mut table).unwrap_err();
        assert!(error.starts_with("fallback: unknown variant `drift`"), "{error}");
    }
}
