//! The Tera engine over the templates of `templates/` (compiled in) and the
//! few filters they use for numbers and Markdown cells.

use crate::ReportError;
use serde::Serialize;
use std::collections::HashMap;
use tera::{Context, Tera, Value};

/// `(name, source)` of every template, named by its path under `templates/`.
macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../../../templates/", $name)))),*]
    };
}

const TEMPLATES: [(&str, &str); 16] = templates![
    "base.html",
    "index.html",
    "sections/header.html",
    "sections/leaderboard.html",
    "sections/significance.html",
    "sections/segments.html",
    "sections/folds.html",
    "sections/explorer.html",
    "sections/sensitivity.html",
    "sections/training.html",
    "sections/importance.html",
    "sections/ensembles.html",
    "sections/runs.html",
    "sections/failures.html",
    "sections/forecast.html",
    "leaderboard.md",
];

fn engine() -> Result<Tera, tera::Error> {
    let mut tera = Tera::default();
    tera.add_raw_templates(TEMPLATES)?;
    tera.register_filter("fixed", fixed);
    tera.register_filter("md", markdown_cell);
    tera.register_filter("pvalue", p_value);
    tera.register_filter("pphrase", p_phrase);
    tera.register_filter("sentence", sentence);
    Ok(tera)
}

/// Renders template `name` with `data`'s fields as its variables.
pub fn render(name: &str, data: &impl Serialize) -> Result<String, ReportError> {
    let context = Context::from_serialize(data)?;
    Ok(engine()?.render(name, &context)?)
}

/// `{{ x | fixed(digits=4) }}`: a number with exactly `digits` decimals
/// (Tera's `round` drops trailing zeros, which misaligns table columns).
fn fixed(value: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
    let number = value
        .as_f64()
        .ok_or_else(|| tera::Error::msg(format!("fixed: `{value}` is not a number")))?;
    let digits = args.get("digits").and_then(Value::as_u64).unwrap_or(4) as usize;
    Ok(Value::String(format!("{number:.digits$}")))
}

/// `{{ p | pvalue }}`: three decimals, `< 0.001` below.
fn p_value(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let p = value
        .as_f64()
        .ok_or_else(|| tera::Error::msg(format!("pvalue: `{value}` is not a number")))?;
    Ok(Value::String(trendlab_results::significance::p_text(p)))
}

/// `{{ p | pphrase }}`: `p < 0.001` or `p = 0.031`.
fn p_phrase(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let p = value
        .as_f64()
        .ok_or_else(|| tera::Error::msg(format!("pphrase: `{value}` is not a number")))?;
    Ok(Value::String(trendlab_results::significance::p_phrase(p)))
}

/// `{{ note | sentence }}`: the first letter upper-case, the rest as it is
/// (Tera's `capitalize` lower-cases the rest: MLflow, WRMSSE).
fn sentence(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let text = value.as_str().unwrap_or_default();
    let mut chars = text.chars();
    Ok(Value::String(match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }))
}

/// `{{ text | md }}`: text safe inside a Markdown table cell: pipes and
/// backslashes escaped, line breaks as spaces, and `<`, `>`, `&` as HTML
/// entities (GitHub renders inline HTML in tables).
fn markdown_cell(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut cell = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => cell.push_str("\\|"),
            '\\' => cell.push_str("\\\\"),
            '<' => cell.push_str("&lt;"),
            '>' => cell.push_str("&gt;"),
            '&' => cell.push_str("&amp;"),
            '\n' | '\r' => cell.push(' '),
            c => cell.push(c),
        }
    }
    Ok(Value::String(cell))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_keeps_trailing_zeros() {
        let mut args = HashMap::new();
        args.insert("digits".to_string(), Value::from(3));
        assert_eq!(fixed(&Value::from(1.23), &args).unwrap(), Value::from("1.230"));
        assert!(fixed(&Value::from("x"), &args).is_err());
    }

    #[test]
    fn sentences_keep_what_follows_their_first_letter() {
        let s = sentence(&Value::from("no test: MLflow holds WRMSSE"), &HashMap::new()).unwrap();
        assert_eq!(s, Value::from("No test: MLflow holds WRMSSE"));
    }

    #[test]
    fn markdown_cells_cannot_break_the_table_or_inject_html() {
        let cell = markdown_cell(&Value::from("a|b\\c\n<script>&"), &HashMap::new()).unwrap();
        assert_eq!(cell, Value::from("a\\|b\\\\c &lt;script&gt;&amp;"));
    }
}
