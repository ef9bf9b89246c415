//! The JSON Schema of one `[[models]]` entry, as editors (Taplo, VS Code's
//! Even Better TOML) read it: one object schema per family, holding the
//! family's parameters beside `name`, `family`, `grid` and `memory_gb`,
//! with `additionalProperties: false`, so a misspelt parameter is flagged
//! and a correct entry validates. (A family's generated schema on its own
//! cannot sit beside the common keys: its `additionalProperties: false`
//! would reject them.) The grid lists the family's own parameters, each as
//! a list of values; a required parameter may be fixed or swept.

use crate::families::FamilySpec;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

/// The `[[models]]` entry: `family` names one of the families, whose entry
/// schema then applies (`if`/`then`, so a checker reports the offending key
/// of that family rather than "matches none of the families").
pub(crate) fn model_entry(generator: &mut SchemaGenerator) -> Schema {
    let families = FamilySpec::json_schema(generator);
    let definitions = generator.definitions().clone();
    let variants: Vec<Value> = families
        .get("oneOf")
        .and_then(Value::as_array)
        .map(|variants| variants.iter().map(|v| entry_of(v, &definitions)).collect())
        .unwrap_or_default();
    let names: Vec<&Value> = variants.iter().map(|v| &v["properties"]["family"]["const"]).collect();
    let chosen: Vec<Value> = variants
        .iter()
        .map(|v| {
            json!({
                "if": { "properties": { "family": { "const": v["properties"]["family"]["const"] } }, "required": ["family"] },
                "then": v,
            })
        })
        .collect();
    let schema = json!({
        "description": "A model: `name`, `family` with the family's parameters, and `[models.grid]` mapping parameters to lists of values (cartesian product).",
        "type": "object",
        "properties": {
            "name": { "type": "string" },
            "family": { "description": "The model family.", "enum": names },
        },
        "required": ["name", "family"],
        "allOf": chosen,
    });
    Schema::try_from(schema).expect("an object is a schema")
}

/// One family's entry schema.
fn entry_of(variant: &Value, definitions: &Map<String, Value>) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    gather(variant, definitions, &mut properties, &mut required);
    // Model-level keys (not family parameters), fixed or swept like them.
    properties.insert(
        "transform".into(),
        json!({
            "enum": ["none", "log1p", "box_cox"],
            "description": "Transform of the target the family fits under, inverted for forecasts and interval bounds: log1p, or Box-Cox with λ per series by Guerrero's method."
        }),
    );
    properties.insert(
        "reconcile".into(),
        json!({
            "enum": ["none", "bottom_up", "top_down", "min_trace"],
            "description": "Forecast the aggregates of [evaluation.wrmsse] levels too and reconcile: bottom_up (the series' forecasts summed), top_down (the total split by historical shares), min_trace (MinT with the shrunk covariance of in-sample residuals)."
        }),
    );
    properties.insert(
        "fallback".into(),
        json!({
            "enum": ["seasonal_naive", "naive", "mean", "none"],
            "description": "What forecasts a series the family fails on, in the backtest and in forecast (named in the run's notes and in forecast.json): the seasonal naive (default; the naive for a season of 1 or a series shorter than one), the naive, the mean, or none (the series fails and is not scored)."
        }),
    );
    let grid: Map<String, Value> = properties
        .iter()
        .filter(|(name, _)| *name != "family")
        .map(|(name, schema)| (name.clone(), json!({ "type": "array", "items": schema })))
        .collect();
    // A required parameter is either fixed beside `family` or swept in the grid.
    let fixed_or_swept: Vec<Value> = required
        .iter()
        .filter(|name| *name != "family")
        .map(|name| {
            json!({ "anyOf": [
                { "required": [name] },
                { "required": ["grid"], "properties": { "grid": { "required": [name] } } },
            ]})
        })
        .collect();
    properties.insert(
        "name".into(),
        json!({ "type": "string", "description": "The model's name (unique in the spec)." }),
    );
    properties.insert(
        "grid".into(),
        json!({
            "type": "object",
            "description": "Parameters swept: each maps to a list of values; the runs are their cartesian product.",
            "properties": grid,
            "additionalProperties": false,
        }),
    );
    properties.insert(
        "memory_gb".into(),
        json!({
            "type": "number", "exclusiveMinimum": 0,
            "description": "Memory one run of this model needs, in GB; `run --jobs N` never runs more at once than fit in `--memory-gb`."
        }),
    );
    let mut entry = json!({
        "type": "object",
        "properties": properties,
        "required": ["name", "family"],
        "additionalProperties": false,
    });
    if let Some(description) = variant.get("description") {
        entry["description"] = description.clone();
    }
    if !fixed_or_swept.is_empty() {
        entry["allOf"] = Value::Array(fixed_or_swept);
    }
    entry
}

/// Collects the properties and required keys of `schema`, following
/// `$ref`s into `definitions` and through `allOf`.
fn gather(
    schema: &Value,
    definitions: &Map<String, Value>,
    properties: &mut Map<String, Value>,
    required: &mut Vec<String>,
) {
    if let Some(name) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        && let Some(definition) = definitions.get(name)
    {
        gather(definition, definitions, properties, required);
    }
    for part in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        gather(part, definitions, properties, required);
    }
    if let Some(own) = schema.get("properties").and_then(Value::as_object) {
        properties.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    for key in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
        if let Some(key) = key.as_str().filter(|k| !required.iter().any(|r| r == k)) {
            required.push(key.to_string());
        }
    }
}
