//! Turns a spec document into a validated [`Experiment`]: every semantic
//! check that needs only the spec itself, each error located at its key.
//! Checks against the data (column names, series lengths) are done by the
//! engine through [`Experiment::diagnostic`] and [`Experiment::check_columns`].

use crate::diagnostics::{Diagnostic, Diagnostics, SpecError, did_you_mean, unknown_field_name, with_suggestion};
use crate::families::FamilySpec;
use crate::frequency::Frequency;
use crate::grid::{ModelConfig, combinations};
use crate::locate::{KeyPath, Seg, Target, span_of};
use crate::schema::*;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
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
}

impl Experiment {
    /// Parses and validates spec text read from `file`.
    pub fn from_text(file: &Path, text: String) -> Result<Self, SpecError> {
        let invalid = |d: Vec<Diagnostic>| SpecError::Invalid(Diagnostics(d));
        let doc = DeTable::parse(&text).map_err(|e| invalid(vec![toml_diagnostic(file, &text, &e)]))?;
        let document = SpecDocument::deserialize(toml::de::Deserializer::from(doc.clone()))
            .map_err(|e| invalid(vec![toml_diagnostic(file, &text, &e)]))?;
        let mut checker = Checker {
            file,
            text: &text,
            doc: &doc,
            found: Vec::new(),
        };
        let (data_path, frequency) = checker.data(&document);
        checker.features(&document);
        checker.evaluation(&document.evaluation);
        let models = checker.models(&document.models);
        if !checker.found.is_empty() {
            return Err(invalid(checker.found));
        }
        let canonical = serde_json::to_vec(&document).expect("spec serialises to JSON");
        Ok(Experiment {
            file: file.to_path_buf(),
            spec_hash: blake3::hash(&canonical).to_hex().to_string(),
            text,
            document,
            data_path,
            frequency: frequency.expect("checked above"),
            models,
        })
    }

    pub fn name(&self) -> &str {
        &self.document.experiment.name
    }

    pub fn evaluation(&self) -> &EvaluationSection {
        &self.document.evaluation
    }

    /// Periods between origins.
    pub fn step(&self) -> usize {
        self.evaluation().step.unwrap_or(self.evaluation().horizon)
    }

    pub fn rank_by(&self) -> Metric {
        self.evaluation().rank_by.unwrap_or(self.evaluation().metrics[0])
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
                data.covariates
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (KeyPath::from(["data", "covariates"]).index(i), c.as_str())),
            )
            .collect(),
        };
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

    /// Errors for every required column missing from `header`.
    pub fn check_columns(&self, header: &[String]) -> Vec<Diagnostic> {
        self.required_columns()
            .into_iter()
            .filter(|(_, col)| !header.iter().any(|h| h == col))
            .map(|(path, col)| {
                let hint = did_you_mean(col, header.iter().map(String::as_str));
                let msg = format!("column `{col}` not found in {}{hint}", self.data_path.display());
                self.diagnostic(&path, msg)
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
                let family = FamilySpec::deserialize(toml::Value::Table(table)).map_err(|e| e.to_string())?;
                Ok(ModelConfig {
                    model: self.name.clone(),
                    model_index: self.index,
                    config_index,
                    family,
                    grid_values,
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

/// Collects located errors while walking the document.
struct Checker<'a> {
    file: &'a Path,
    text: &'a str,
    doc: &'a toml::Spanned<DeTable<'a>>,
    found: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn error(&mut self, path: KeyPath, target: Target, message: impl Into<String>) {
        let span = span_of(self.doc, &path, target);
        self.found
            .push(Diagnostic::at(self.file, self.text, span, message.into()));
    }

    fn at(&mut self, path: impl Into<KeyPath>, message: impl Into<String>) {
        self.error(path.into(), Target::Value, message)
    }

    fn data(&mut self, doc: &SpecDocument) -> (PathBuf, Option<Frequency>) {
        let name = &doc.experiment.name;
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            || name.starts_with('.')
        {
            self.at(
                ["experiment", "name"],
                "experiment name must be non-empty and use only letters, digits, `-`, `_` and `.` (it names folders)",
            );
        }
        let data = &doc.data;
        let base = self.file.parent().unwrap_or(Path::new(""));
        let data_path = base.join(&data.path);
        if !data_path.is_file() {
            self.at(
                ["data", "path"],
                format!("data file not found: {}", data_path.display()),
            );
        }
        let frequency = match &data.aggregate {
            Some(agg) => {
                for key in ["time", "id", "target"] {
                    let set = match key {
                        "time" => data.time.is_some(),
                        "id" => data.id.is_some(),
                        _ => data.target.is_some(),
                    };
                    if set {
                        self.error(["data", key].into(), Target::Key, format!("`data.{key}` does not apply with [data.aggregate]; its columns are `sum`, `by` and `time` there"));
                    }
                }
                if !data.covariates.is_empty() {
                    self.at(
                        ["data", "covariates"],
                        "covariates are not supported with [data.aggregate]",
                    );
                }
                if let Some(w) = &doc.evaluation.wrmsse {
                    if w.weight.is_some() || !w.levels.is_empty() {
                        self.at(["evaluation", "wrmsse"], "wrmsse `weight` and `levels` read columns of a long-format file; with [data.aggregate] only the total and the series levels exist");
                    }
                }
                if agg.top == Some(0) {
                    self.at(["data", "aggregate", "top"], "top must be at least 1");
                }
                match (agg.frequency, data.frequency) {
                    (Some(a), Some(d)) if a != d => {
                        self.at(
                            ["data", "aggregate", "frequency"],
                            format!("frequency `{a}` differs from data.frequency `{d}`; set it once"),
                        );
                        None
                    }
                    (a, d) => a.or(d),
                }
            }
            None => {
                for key in ["time", "id", "target"] {
                    let missing = match key {
                        "time" => data.time.is_none(),
                        "id" => data.id.is_none(),
                        _ => data.target.is_none(),
                    };
                    if missing {
                        self.at(
                            ["data"],
                            format!("missing field `{key}` (the {key} column of the data)"),
                        );
                    }
                }
                data.frequency
            }
        };
        if frequency.is_none() {
            self.at(["data"], "missing field `frequency` (one of D, W-MON..W-SUN, MS, M)");
        }
        (data_path, frequency)
    }

    fn features(&mut self, doc: &SpecDocument) {
        let f = &doc.features;
        let mut seen = BTreeSet::new();
        for (i, lag) in f.lags.iter().enumerate() {
            let path = KeyPath::from(["features", "lags"]).index(i);
            if *lag == 0 {
                self.at(path, "lags start at 1 (lag 0 would be the target itself)");
            } else if !seen.insert(lag) {
                self.at(path, format!("lag {lag} is listed twice"));
            }
        }
        for (i, r) in f.rolling.iter().enumerate() {
            let path = KeyPath::from(["features", "rolling"]).index(i);
            if r.window == 0 || (r.window == 1 && r.stats.contains(&RollingStat::Std)) {
                self.at(
                    path.clone().key("window"),
                    "rolling window must be at least 1 (at least 2 for std)",
                );
            }
            if r.stats.is_empty() {
                self.at(path.key("stats"), "list at least one of mean, std, min, max");
            }
        }
        let declared: Vec<&str> = doc.data.covariates.iter().map(String::as_str).collect();
        let lists = [
            ("covariates", f.covariates.as_deref().unwrap_or(&[])),
            ("future", &f.future[..]),
        ];
        for (key, names) in lists {
            for (i, name) in names.iter().enumerate() {
                if !declared.contains(&name.as_str()) {
                    let hint = did_you_mean(name, declared.iter().copied());
                    self.at(
                        KeyPath::from(["features", key]).index(i),
                        format!("`{name}` is not one of data.covariates {declared:?}{hint}"),
                    );
                }
            }
        }
    }

    fn evaluation(&mut self, e: &EvaluationSection) {
        for (key, value) in [
            ("horizon", Some(e.horizon)),
            ("folds", Some(e.folds)),
            ("step", e.step),
            ("season", Some(e.season)),
            ("train_size", e.train_size),
            ("min_train", e.min_train),
        ] {
            if value == Some(0) {
                self.at(["evaluation", key], format!("{key} must be at least 1"));
            }
        }
        match (e.window, e.train_size) {
            (WindowKind::Sliding, None) => self.at(
                ["evaluation", "window"],
                "window = \"sliding\" needs `train_size` (training periods per fold)",
            ),
            (WindowKind::Expanding, Some(_)) => self.error(
                ["evaluation", "train_size"].into(),
                Target::Key,
                "train_size applies only to window = \"sliding\"",
            ),
            _ => {}
        }
        if e.metrics.is_empty() {
            self.at(["evaluation", "metrics"], "list at least one metric");
        }
        for (i, m) in e.metrics.iter().enumerate() {
            if e.metrics[..i].contains(m) {
                self.at(
                    KeyPath::from(["evaluation", "metrics"]).index(i),
                    format!("metric `{}` is listed twice", m.name()),
                );
            }
        }
        if let Some(rank) = e.rank_by.filter(|r| !e.metrics.is_empty() && !e.metrics.contains(r)) {
            let names = e.metrics.iter().map(|m| m.name());
            self.at(
                ["evaluation", "rank_by"],
                format!(
                    "rank_by `{}` is not in metrics{}",
                    rank.name(),
                    did_you_mean(rank.name(), names)
                ),
            );
        }
        if let Some(w) = &e.wrmsse {
            if w.weight_periods == 0 {
                self.at(
                    ["evaluation", "wrmsse", "weight_periods"],
                    "weight_periods must be at least 1",
                );
            }
        }
    }

    fn models(&mut self, entries: &[ModelEntry]) -> Vec<ModelSpec> {
        if entries.is_empty() {
            self.at(KeyPath::default(), "declare at least one [[models]] entry");
        }
        let mut out = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let path = KeyPath::default().key("models").index(i);
            if entries[..i].iter().any(|e| e.name == entry.name) {
                self.at(
                    path.clone().key("name"),
                    format!("model name `{}` is used twice", entry.name),
                );
                continue;
            }
            if let Some(model) = self.model(i, entry, path) {
                out.push(model);
            }
        }
        out
    }

    /// Checks a model's fixed params and every grid value against its family.
    fn model(&mut self, index: usize, entry: &ModelEntry, path: KeyPath) -> Option<ModelSpec> {
        let before = self.found.len();
        let mut grid = Vec::new();
        for (key, values) in &entry.grid {
            let key_path = path.clone().key("grid").key(key);
            match values.as_array() {
                _ if entry.params.contains_key(key) => self.error(
                    key_path,
                    Target::Key,
                    format!("`{key}` is set both as a parameter and in the grid"),
                ),
                Some(list) if !list.is_empty() => grid.push((key.clone(), list.clone())),
                _ => self.at(
                    key_path,
                    format!("grid values of `{key}` must be a non-empty list, e.g. {key} = [1, 2]"),
                ),
            }
        }
        if self.found.len() > before {
            return None;
        }
        let mut base: toml::Table = entry.params.clone().into_iter().collect();
        base.insert("family".into(), toml::Value::String(entry.family.clone()));
        let first: toml::Table = base
            .clone()
            .into_iter()
            .chain(grid.iter().map(|(k, v)| (k.clone(), v[0].clone())))
            .collect();
        if !self.family_table(&path, &first, &grid, None) {
            return None;
        }
        for (key, values) in &grid {
            for (j, value) in values.iter().enumerate().skip(1) {
                let mut table = first.clone();
                table.insert(key.clone(), value.clone());
                self.family_table(&path, &table, &grid, Some((key, j)));
            }
        }
        (self.found.len() == before).then(|| ModelSpec {
            name: entry.name.clone(),
            index,
            base,
            grid,
        })
    }

    /// Deserialises one parameter table into its family config and checks
    /// it; `varied` names the grid element this table tries, if any.
    fn family_table(
        &mut self,
        model: &KeyPath,
        table: &toml::Table,
        grid: &[(String, Vec<toml::Value>)],
        varied: Option<(&String, usize)>,
    ) -> bool {
        let located = |key: &str, target: Target| -> (KeyPath, Target) {
            let in_grid = grid.iter().any(|(k, _)| k == key);
            match varied {
                Some((k, j)) if k == key => (model.clone().key("grid").key(key).index(j), target),
                _ if in_grid && target == Target::Value => (model.clone().key("grid").key(key).index(0), target),
                _ if in_grid => (model.clone().key("grid").key(key), target),
                _ if table.contains_key(key) => (model.clone().key(key), target),
                _ => (model.clone().key("family"), Target::Value),
            }
        };
        match serde_path_to_error::deserialize::<_, FamilySpec>(toml::Value::Table(table.clone())) {
            Err(e) => {
                let inner = e.inner().to_string();
                let message = with_suggestion(inner.lines().next().unwrap_or_default());
                let path_key = match e.path().iter().next() {
                    Some(serde_path_to_error::Segment::Map { key }) => Some(key.clone()),
                    _ => culprit(table, &message),
                };
                let (path, target) = match (unknown_field_name(&message), path_key) {
                    (Some(field), _) => located(field, Target::Key),
                    (None, Some(key)) if key != "family" => located(&key, Target::Value),
                    _ => (model.clone().key("family"), Target::Value),
                };
                let family = table.get("family").and_then(|f| f.as_str()).unwrap_or("?");
                let message = if message.starts_with("missing field") {
                    format!(
                        "family `{family}` needs {}",
                        message.trim_start_matches("missing field ")
                    )
                } else {
                    message
                };
                self.error(path, target, message);
                false
            }
            Ok(spec) => {
                let issues = spec.check();
                for issue in &issues {
                    let (path, target) = located(issue.field, Target::Value);
                    self.error(path, target, issue.message.clone());
                }
                issues.is_empty()
            }
        }
    }
}

/// The key whose value causes `message` when serde lost the path (tagged
/// enums buffer their content): the one key whose removal changes the error.
fn culprit(table: &toml::Table, message: &str) -> Option<String> {
    table.keys().filter(|k| *k != "family").find_map(|key| {
        let mut without = table.clone();
        without.remove(key);
        let changed = match FamilySpec::deserialize(toml::Value::Table(without)) {
            Ok(_) => true,
            Err(e) => e.to_string().lines().next().unwrap_or_default() != message,
        };
        changed.then(|| key.clone())
    })
}

/// Segments of a path, for display in messages.
impl std::fmt::Display for KeyPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}
