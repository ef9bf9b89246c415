//! The validated experiment: the spec document plus what was resolved from
//! it (data path, frequency, checked models), with the accessors the rest of
//! trendlab reads, and located diagnostics for checks made later against the
//! data ([`Experiment::diagnostic`], [`Experiment::check_columns`]).

use crate::diagnostics::{Diagnostic, Diagnostics, SpecError, did_you_mean, with_suggestion};
use crate::families::FamilySpec;
use crate::frequency::Frequency;
use crate::grid::{ModelConfig, combinations};
use crate::locate::{KeyPath, Target, span_of};
use crate::schema::*;
use crate::validate::{Checked, check};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::de::DeTable;

/// A validated experiment: the document plus what was resolved from it.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The spec file as given on the command line.
    pub file: PathBuf,
    /// Its text, kept to locate later (data-dependent) errors.
    pub text: String,
    pub document: SpecDocument,
    /// `data.path` resolved against the spec's folder.
    pub data_path: PathBuf,
    pub frequency: Frequency,
    pub models: Vec<ModelSpec>,
    /// BLAKE3 of the canonical JSON form of the document.
    pub spec_hash: String,
}

/// A `[[models]]` entry whose parameters and grid values all passed their
/// family's checks.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    pub name: String,
    pub index: usize,
    /// Fixed parameters, including `family`.
    pub base: toml::Table,
    /// Grid parameters and their values, in key order.
    pub grid: Vec<(String, Vec<toml::Value>)>,
    /// Declared memory of one run, in GB (`memory_gb`).
    pub memory_gb: Option<f64>,
}

impl Experiment {
    /// Parses and validates spec text read from `file`.
    pub fn from_text(file: &Path, text: String) -> Result<Self, SpecError> {
        let invalid = |d: Vec<Diagnostic>| SpecError::Invalid(Diagnostics(d));
        let doc = DeTable::parse(&text).map_err(|e| invalid(vec![toml_diagnostic(file, &text, &e)]))?;
        let document = SpecDocument::deserialize(toml::de::Deserializer::from(doc.clone()))
            .map_err(|e| invalid(vec![toml_diagnostic(file, &text, &e)]))?;
        let Checked {
            data_path,
            frequency,
            models,
        } = check(file, &text, &doc, &document).map_err(invalid)?;
        let canonical = serde_json::to_vec(&document).expect("spec serialises to JSON");
        Ok(Experiment {
            file: file.to_path_buf(),
            spec_hash: blake3::hash(&canonical).to_hex().to_string(),
            text,
            document,
            data_path,
            frequency,
            models,
        })
    }

    pub fn name(&self) -> &str {
        &self.document.experiment.name
    }

    pub fn evaluation(&self) -> &EvaluationSection {
        &self.document.evaluation
    }

    /// Periods of history below which a series is a new product
    /// (`[evaluation] new_product_periods`, default twice the larger of
    /// the horizon and the season).
    pub fn new_product_periods(&self) -> usize {
        let e = self.evaluation();
        e.new_product_periods.unwrap_or(2 * e.horizon.max(e.season))
    }

    /// Periods between origins.
    pub fn step(&self) -> usize {
        self.evaluation().step.unwrap_or(self.evaluation().horizon)
    }

    /// The score the leaderboard is ranked by.
    pub fn rank_by(&self) -> Score {
        let e = self.evaluation();
        e.rank_by.unwrap_or(e.metrics[0]).scores(&e.levels)[0]
    }

    /// Every reported score, in `metrics` order (per-level metrics expanded).
    pub fn scores(&self) -> Vec<Score> {
        let e = self.evaluation();
        e.metrics.iter().flat_map(|m| m.scores(&e.levels)).collect()
    }

    /// Fewest training periods a series needs before the first origin.
    pub fn min_train(&self) -> usize {
        self.evaluation().min_train.unwrap_or(self.evaluation().horizon).max(1)
    }

    /// Every model configuration of the grid, in spec order.
    pub fn configs(&self) -> Vec<ModelConfig> {
        self.models
            .iter()
            .flat_map(|m| m.expand().expect("grids are checked when the spec is loaded"))
            .collect()
    }

    /// A diagnostic pointing at the value of `path` in this spec.
    pub fn diagnostic(&self, path: &KeyPath, message: impl Into<String>) -> Diagnostic {
        let doc = DeTable::parse(&self.text).expect("the spec parsed when it was loaded");
        Diagnostic::at(
            &self.file,
            &self.text,
            span_of(&doc, path, Target::Value),
            message.into(),
        )
    }

    /// Columns the data must have, each with the spec key that names it.
    pub fn required_columns(&self) -> Vec<(KeyPath, &str)> {
        fn optional<'s>(path: [&str; 2], name: &'s Option<String>) -> Option<(KeyPath, &'s str)> {
            name.as_deref().map(|n| (KeyPath::from(path), n))
        }
        let data = &self.document.data;
        let mut out: Vec<(KeyPath, &str)> = match &data.aggregate {
            Some(a) => [
                ("sum", Some(&a.sum)),
                ("by", Some(&a.by)),
                ("time", Some(&a.time)),
                ("text", a.text.as_ref()),
            ]
            .into_iter()
            .filter_map(|(key, col)| col.map(|c| (KeyPath::from(["data", "aggregate", key]), c.as_str())))
            .collect(),
            None => [
                ("time", &data.time),
                ("id", &data.id),
                ("target", &data.target),
                ("text", &data.text),
            ]
            .into_iter()
            .filter_map(|(key, col)| optional(["data", key], col))
            .chain(
                [
                    ("covariates", &data.covariates),
                    ("static", &data.statics),
                    ("events", &data.events),
                ]
                .into_iter()
                .flat_map(|(key, columns)| {
                    columns
                        .iter()
                        .enumerate()
                        .map(move |(i, c)| (KeyPath::from(["data", key]).index(i), c.as_str()))
                }),
            )
            .collect(),
        };
        for (i, segment) in self.evaluation().segments.iter().enumerate() {
            for col in segment.split('+') {
                out.push((KeyPath::from(["evaluation", "segments"]).index(i), col.trim()));
            }
        }
        if let Some(w) = &self.evaluation().wrmsse {
            out.extend(optional(["evaluation", "wrmsse"], &w.weight).map(|(p, c)| (p.key("weight"), c)));
            for (i, level) in w.levels.iter().enumerate() {
                for col in level.split('+') {
                    out.push((KeyPath::from(["evaluation", "wrmsse", "levels"]).index(i), col.trim()));
                }
            }
        }
        out
    }

    /// Errors for every required column missing from `header`, or named
    /// twice in it (which of the two is meant would be a guess).
    pub fn check_columns(&self, header: &[String]) -> Vec<Diagnostic> {
        self.required_columns()
            .into_iter()
            .filter_map(|(path, col)| {
                let positions: Vec<usize> = (0..header.len()).filter(|&i| header[i] == *col).collect();
                let msg = match positions[..] {
                    [] => {
                        let hint = did_you_mean(col, header.iter().map(String::as_str));
                        format!("column `{col}` not found in {}{hint}", self.data_path.display())
                    }
                    [_] => return None,
                    [first, second, ..] => format!(
                        "column `{col}` appears twice in the header of {} (columns {} and {}): rename one",
                        self.data_path.display(),
                        first + 1,
                        second + 1
                    ),
                };
                Some(self.diagnostic(&path, msg))
            })
            .collect()
    }
}

impl ModelSpec {
    /// The cartesian product of the grid, each combination a config.
    pub fn expand(&self) -> Result<Vec<ModelConfig>, String> {
        combinations(&self.grid)
            .into_iter()
            .enumerate()
            .map(|(config_index, combo)| {
                let mut table = self.base.clone();
                let mut grid_values = BTreeMap::new();
                for (key, value) in combo {
                    table.insert(key.to_string(), value.clone());
                    grid_values.insert(key.to_string(), toml_to_json(value));
                }
                let transform = crate::transform::take(&mut table)?;
                let reconcile = crate::reconcile::take(&mut table)?;
                let fallback = crate::fallback::take(&mut table)?;
                let family = FamilySpec::deserialize(toml::Value::Table(table)).map_err(|e| e.to_string())?;
                Ok(ModelConfig {
                    model: self.name.clone(),
                    model_index: self.index,
                    config_index,
                    family,
                    transform,
                    reconcile,
                    fallback,
                    grid_values,
                    memory_gb: self.memory_gb,
                })
            })
            .collect()
    }
}

fn toml_to_json(value: &toml::Value) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn toml_diagnostic(file: &Path, text: &str, e: &toml::de::Error) -> Diagnostic {
    let message = with_suggestion(e.message().trim());
    Diagnostic::at(file, text, e.span().unwrap_or(0..0), message)
}
