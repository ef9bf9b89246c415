//! Grid sensitivity: for each model with a grid and each swept
//! hyperparameter, the ranking metric's mean against the parameter's
//! values, one line per combination of the model's other swept values.

use serde::Serialize;
use std::collections::BTreeMap;
use trendlab_results::{Leaderboard, Plan};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sensitivity {
    pub model: String,
    pub family: String,
    pub parameter: String,
    pub metric: String,
    /// The parameter's values, ascending (numbers by value), as written.
    pub values: Vec<String>,
    pub lines: Vec<SensitivityLine>,
}

/// The metric at each of `values` with the other parameters held at `label`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SensitivityLine {
    /// The other swept parameters, `strategy=direct`; empty if none.
    pub label: String,
    /// `None` where that configuration has no mean (unfinished or failed).
    pub metric: Vec<Option<f64>>,
}

impl Sensitivity {
    /// Every (model, swept parameter) pair of the plan with two values or more.
    pub fn of_plan(plan: &Plan, board: &Leaderboard) -> Vec<Sensitivity> {
        let mean_of: BTreeMap<&str, Option<f64>> = board
            .rows
            .iter()
            .map(|r| (r.config_id.as_str(), r.metrics.get(&board.rank_by).and_then(|s| s.mean)))
            .collect();
        let mut out = Vec::new();
        let mut models: Vec<&str> = plan.configs.iter().map(|c| c.model.as_str()).collect();
        models.dedup();
        for model in models {
            let configs: Vec<usize> = (0..plan.configs.len())
                .filter(|&c| plan.configs[c].model == model)
                .collect();
            let Some(&first) = configs.first() else { continue };
            for parameter in plan.configs[first].grid_values.keys() {
                let mut values: Vec<&serde_json::Value> = configs
                    .iter()
                    .map(|&c| &plan.configs[c].grid_values[parameter])
                    .collect();
                values.sort_by(|a, b| compare_values(a, b));
                values.dedup();
                if values.len() < 2 {
                    continue;
                }
                let mut lines: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
                for &c in &configs {
                    let grid = &plan.configs[c].grid_values;
                    let others: Vec<String> = grid
                        .iter()
                        .filter(|(k, _)| *k != parameter)
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    let at = values
                        .iter()
                        .position(|v| *v == &grid[parameter])
                        .expect("value listed");
                    let line = lines
                        .entry(others.join(","))
                        .or_insert_with(|| vec![None; values.len()]);
                    line[at] = mean_of.get(plan.config_id(c).as_str()).copied().flatten();
                }
                out.push(Sensitivity {
                    model: model.to_string(),
                    family: plan.configs[first].family.name().to_string(),
                    parameter: parameter.clone(),
                    metric: board.rank_by.clone(),
                    values: values.iter().map(|v| display(v)).collect(),
                    lines: lines
                        .into_iter()
                        .map(|(label, metric)| SensitivityLine { label, metric })
                        .collect(),
                });
            }
        }
        out
    }
}

/// Numbers by value, then anything else by its JSON text.
fn compare_values(a: &serde_json::Value, b: &serde_json::Value) -> std::cmp::Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.to_string().cmp(&b.to_string()),
    }
}

/// A value as the spec writes it (strings without quotes).
fn display(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_sort_by_value_and_strings_by_text() {
        let mut values = vec![json!(10.0), json!("direct"), json!(0.1), json!(1.0), json!("recursive")];
        values.sort_by(compare_values);
        assert_eq!(
            values,
            vec![json!(0.1), json!(1.0), json!(10.0), json!("direct"), json!("recursive")]
        );
        assert_eq!(display(&json!("direct")), "direct");
        assert_eq!(display(&json!(0.1)), "0.1");
    }
}
