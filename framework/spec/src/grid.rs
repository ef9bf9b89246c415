//! Grid expansion: the cartesian product of a model's `[models.grid]`.

use crate::families::FamilySpec;
use serde::Serialize;
use std::collections::BTreeMap;

/// One concrete configuration of a model: the family with every parameter
/// fixed, and the grid values that produced it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelConfig {
    pub model: String,
    pub model_index: usize,
    /// Position of this combination within the model's grid.
    pub config_index: usize,
    pub family: FamilySpec,
    /// The target transform the family fits under (`transform`); part of
    /// run ids when set.
    pub transform: crate::TargetTransform,
    /// How its forecasts are reconciled over the hierarchy (`reconcile`);
    /// part of run ids when set.
    pub reconcile: crate::Reconcile,
    /// What forecasts a series the family fails on (`fallback`); part of
    /// run ids when not the default.
    pub fallback: crate::Fallback,
    pub grid_values: BTreeMap<String, serde_json::Value>,
    /// Declared memory of one run, in GB (the model's `memory_gb`); the
    /// local scheduler's budget, never part of run ids.
    pub memory_gb: Option<f64>,
}

impl ModelConfig {
    /// Parameters as recorded for runs: the family's, and `transform` when set.
    pub fn params(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut params = self.family.params();
        if !self.reconcile.is_none() {
            params.insert(crate::reconcile::KEY.into(), serde_json::json!(self.reconcile));
        }
        if !self.transform.is_none() {
            params.insert(crate::transform::KEY.into(), serde_json::json!(self.transform));
        }
        if !self.fallback.is_default() {
            params.insert(crate::fallback::KEY.into(), serde_json::json!(self.fallback));
        }
        params
    }

    /// `ridge[alpha=0.1]`, or just `naive` without a grid.
    pub fn label(&self) -> String {
        if self.grid_values.is_empty() {
            return self.model.clone();
        }
        let values: Vec<String> = self.grid_values.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{}[{}]", self.model, values.join(","))
    }
}

/// All combinations of the grid values, the last key varying fastest. An
/// empty grid has exactly one (empty) combination.
pub fn combinations<V>(grid: &[(String, Vec<V>)]) -> Vec<Vec<(&str, &V)>> {
    let mut out: Vec<Vec<(&str, &V)>> = vec![Vec::new()];
    for (key, values) in grid {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut combo = prefix.clone();
                    combo.push((key.as_str(), v));
                    combo
                })
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_counts_and_order() {
        let grid = vec![("a".to_string(), vec![1, 2, 3]), ("b".to_string(), vec![10, 20])];
        let combos = combinations(&grid);
        assert_eq!(combos.len(), 6);
        assert_eq!(combos[0], vec![("a", &1), ("b", &10)]);
        assert_eq!(combos[1], vec![("a", &1), ("b", &20)]);
        assert_eq!(combos[5], vec![("a", &3), ("b", &20)]);
        assert_eq!(combinations::<i32>(&[]).len(), 1);
    }
}
