//! Renders the experiment report (`reports/<experiment>/index.html`) from the
//! Tera templates in the repository's `templates/` folder. The templates are
//! compiled into the binary, so a report renders wherever trendlab runs; all
//! data-derived text is escaped by Tera's HTML autoescaping.

use serde::Serialize;
use std::path::Path;
use tera::{Context, Tera};
use trendlab_engine::Leaderboard;
use trendlab_engine::store::{StoreError, write_atomic};

const TEMPLATES: [(&str, &str); 2] = [
    ("base.html", include_str!("../../../templates/base.html")),
    ("index.html", include_str!("../../../templates/index.html")),
];

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("rendering the report failed: {0}")]
    Template(#[from] tera::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Facts about the experiment shown in the report header.
#[derive(Debug, Clone, Serialize)]
pub struct ReportHeader {
    pub spec_hash: String,
    pub data_fingerprint: String,
    pub trendlab_version: String,
    pub generated_at: String,
    pub series: usize,
    pub skipped_series: Vec<(String, String)>,
    pub folds: Vec<trendlab_engine::folds::Fold>,
}

fn engine() -> Result<Tera, tera::Error> {
    let mut tera = Tera::default();
    tera.add_raw_templates(TEMPLATES)?;
    tera.register_filter("fixed", fixed);
    Ok(tera)
}

/// `{{ x | fixed(digits=4) }}`: a number with exactly `digits` decimals
/// (Tera's `round` drops trailing zeros, which misaligns table columns).
fn fixed(value: &tera::Value, args: &std::collections::HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    let number = value
        .as_f64()
        .ok_or_else(|| tera::Error::msg(format!("fixed: `{value}` is not a number")))?;
    let digits = args.get("digits").and_then(tera::Value::as_u64).unwrap_or(4) as usize;
    Ok(tera::Value::String(format!("{number:.digits$}")))
}

/// The HTML page of a leaderboard.
pub fn render_index(leaderboard: &Leaderboard, header: &ReportHeader) -> Result<String, ReportError> {
    let mut context = Context::new();
    context.insert("board", leaderboard);
    context.insert("header", header);
    Ok(engine()?.render("index.html", &context)?)
}

/// Writes `index.html` into `dir`.
pub fn write_index(dir: &Path, leaderboard: &Leaderboard, header: &ReportHeader) -> Result<(), ReportError> {
    let html = render_index(leaderboard, header)?;
    std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    write_atomic(&dir.join("index.html"), html.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_keeps_trailing_zeros() {
        let mut args = std::collections::HashMap::new();
        args.insert("digits".to_string(), tera::Value::from(3));
        assert_eq!(
            fixed(&tera::Value::from(1.23), &args).unwrap(),
            tera::Value::from("1.230")
        );
        assert!(fixed(&tera::Value::from("x"), &args).is_err());
    }
}
