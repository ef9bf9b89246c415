//! Every semantic check of a spec that needs only the spec itself, each
//! error located at its key: names, ranges, cross-references between
//! sections, and each model's parameters and grid values against its
//! family's config struct.

use crate::capabilities::CheckContext;
use crate::diagnostics::{Diagnostic, did_you_mean, unknown_field_name, with_suggestion};
use crate::experiment::ModelSpec;
use crate::families::FamilySpec;
use crate::families::ParamIssue;
use crate::frequency::Frequency;
use crate::locate::{KeyPath, Target, span_of};
use crate::schema::*;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use toml::de::DeTable;

mod features;
mod significance;

/// What the checks resolved from a valid document.
pub(crate) struct Checked {
    pub data_path: PathBuf,
    pub frequency: Frequency,
    pub models: Vec<ModelSpec>,
}

/// Checks `document` (parsed from `text`, spanned as `doc`); all problems found.
pub(crate) fn check(
    file: &Path,
    text: &str,
    doc: &toml::Spanned<DeTable<'_>>,
    document: &SpecDocument,
) -> Result<Checked, Vec<Diagnostic>> {
    let mut checker = Checker {
        file,
        text,
        doc,
        found: Vec::new(),
        has_future_covariates: !document.features.future.is_empty(),
        has_covariates: !document.features.future.is_empty()
            || !document.data.events.is_empty()
            || !document.data.statics.is_empty()
            || !document
                .features
                .covariates
                .as_ref()
                .unwrap_or(&document.data.covariates)
                .is_empty(),
        has_calendar: !document.features.calendar.is_empty(),
        levels: document.evaluation.levels.clone(),
        run_limit: (document.experiment.max_runs(), document.evaluation.folds),
        step_and_span: span(&document.evaluation)
            .map(|s| (document.evaluation.step.unwrap_or(document.evaluation.horizon), s)),
    };
    let (data_path, frequency) = checker.data(document);
    checker.features(document);
    checker.evaluation(&document.evaluation);
    checker.significance(document);
    if document.scale.series_per_unit == Some(0) {
        checker.at(["scale", "series_per_unit"], "series_per_unit must be at least 1");
    }
    let models = checker.models(&document.models);
    match frequency {
        Some(frequency) if checker.found.is_empty() => Ok(Checked {
            data_path,
            frequency,
            models,
        }),
        _ => Err(checker.found),
    }
}

/// The most periods a backtest may span back from the last date (274 years
/// of days): longer is impossible for any data.
pub const MAX_PERIODS: usize = 100_000;

/// The periods the backtest of `e` spans back from the last date, when
/// within [`MAX_PERIODS`].
fn span(e: &EvaluationSection) -> Option<usize> {
    let step = e.step.unwrap_or(e.horizon);
    let min_train = e.min_train.unwrap_or(e.horizon).max(e.train_size.unwrap_or(0));
    (e.folds.max(1) - 1)
        .checked_mul(step)
        .and_then(|s| s.checked_add(e.horizon))
        .and_then(|s| s.checked_add(min_train))
        .filter(|span| *span <= MAX_PERIODS)
}

/// The column keys of the long format, with their values.
fn long_format_columns(data: &DataSection) -> [(&'static str, &Option<String>); 3] {
    [("time", &data.time), ("id", &data.id), ("target", &data.target)]
}

/// Collects located errors while walking the document.
struct Checker<'a> {
    file: &'a Path,
    text: &'a str,
    doc: &'a toml::Spanned<DeTable<'a>>,
    found: Vec<Diagnostic>,
    /// Whether `[features] future` lists known-in-advance covariates.
    has_future_covariates: bool,
    /// Whether feature-reading families get covariates (past, future, events, statics).
    has_covariates: bool,
    /// Whether `[features] calendar` lists any feature.
    has_calendar: bool,
    /// `[evaluation] levels`.
    levels: Vec<f64>,
    /// `max_runs` and the folds each configuration runs on.
    run_limit: (u64, usize),
    /// The step between origins and the periods the backtest spans, when
    /// that span is possible (ensembles' validation origins add to it).
    step_and_span: Option<(usize, usize)>,
}

impl Checker<'_> {
    /// Reports `message` at `path` (once: the same message at the same
    /// place found again, by another grid combination, is not repeated).
    fn error(&mut self, path: KeyPath, target: Target, message: impl Into<String>) {
        let span = span_of(self.doc, &path, target);
        let diagnostic = Diagnostic::at(self.file, self.text, span, message.into());
        if !self.found.contains(&diagnostic) {
            self.found.push(diagnostic);
        }
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
                for (key, column) in long_format_columns(data) {
                    if column.is_some() {
                        self.error(["data", key].into(), Target::Key, format!("`data.{key}` does not apply with [data.aggregate]; its columns are `sum`, `by` and `time` there"));
                    }
                }
                for (key, columns) in [
                    ("covariates", &data.covariates),
                    ("static", &data.statics),
                    ("events", &data.events),
                ] {
                    if !columns.is_empty() {
                        self.at(
                            ["data", key],
                            format!("{key} columns are not supported with [data.aggregate]"),
                        );
                    }
                }
                if let Some(w) = &doc.evaluation.wrmsse
                    && (w.weight.is_some() || !w.levels.is_empty())
                {
                    self.at(["evaluation", "wrmsse"], "wrmsse `weight` and `levels` read columns of a long-format file; with [data.aggregate] only the total and the series levels exist");
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
                for (key, column) in long_format_columns(data) {
                    if column.is_none() {
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
        self.categorical(data);
        (data_path, frequency)
    }

    /// The periods a backtest reaches back from the last date must fit
    /// [`MAX_PERIODS`]: min_train (or train_size) + horizon + (folds − 1) ×
    /// step, in checked arithmetic. A larger one is impossible for any data,
    /// and would overflow the date arithmetic that lays out the folds.
    fn backtest_span(&mut self, e: &EvaluationSection) {
        if span(e).is_some() {
            return;
        }
        let step = e.step.unwrap_or(e.horizon);
        let min_train = e.min_train.unwrap_or(e.horizon).max(e.train_size.unwrap_or(0));
        let terms = [
            ("horizon", e.horizon),
            ("folds", e.folds),
            ("step", e.step.unwrap_or(0)),
            ("min_train", e.min_train.unwrap_or(0)),
            ("train_size", e.train_size.unwrap_or(0)),
        ];
        let (key, value) = terms
            .into_iter()
            .max_by_key(|(_, v)| *v)
            .unwrap_or(("horizon", e.horizon));
        self.at(
            ["evaluation", key],
            format!(
                "impossible backtest: {key} = {value} makes each series need min_train {min_train} + horizon {} + (folds {} - 1) x step {step} periods, more than {MAX_PERIODS} (the most any backtest may span)",
                e.horizon, e.folds
            ),
        );
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
        self.backtest_span(e);
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
        if e.levels.is_empty() && e.metrics.iter().any(|m| m.needs_intervals()) {
            self.at(["evaluation", "levels"], "interval metrics need at least one level");
        }
        for (i, level) in e.levels.iter().enumerate() {
            let path = KeyPath::from(["evaluation", "levels"]).index(i);
            if !(*level > 0.0 && *level < 100.0) {
                self.at(
                    path,
                    format!("interval level {level} is not a percentage strictly between 0 and 100"),
                );
            } else if e.levels[..i].contains(level) {
                self.at(path, format!("interval level {level} is listed twice"));
            }
        }
        if let Some(w) = &e.wrmsse
            && w.weight_periods == 0
        {
            self.at(
                ["evaluation", "wrmsse", "weight_periods"],
                "weight_periods must be at least 1",
            );
        }
    }

    fn models(&mut self, entries: &[ModelEntry]) -> Vec<ModelSpec> {
        if entries.is_empty() {
            self.at(KeyPath::default(), "declare at least one [[models]] entry");
        }
        let mut out = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let path = KeyPath::default().key("models").index(i);
            if entry.name.trim().is_empty() || entry.name.chars().any(char::is_control) {
                self.at(
                    path.clone().key("name"),
                    format!(
                        "model name {:?} must be non-empty text without line breaks or control characters",
                        entry.name
                    ),
                );
                continue;
            }
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
        // Only a grid within the limit is expanded (the ensembles' checks
        // expand every model's grid).
        if self.within_run_limit(&out) {
            self.ensembles(entries, &out);
        }
        out
    }

    /// Whether the grids expand to at most `max_runs` backtest runs,
    /// counted without expanding them; else an error at the largest grid
    /// with the count and how to raise the limit.
    fn within_run_limit(&mut self, models: &[ModelSpec]) -> bool {
        let (limit, folds) = self.run_limit;
        let configurations = |m: &ModelSpec| {
            m.grid
                .iter()
                .fold(1u64, |n, (_, values)| n.saturating_mul(values.len() as u64))
        };
        let total = models.iter().fold(0u64, |n, m| n.saturating_add(configurations(m)));
        let runs = total.saturating_mul(folds as u64);
        if runs <= limit {
            return true;
        }
        let Some(largest) = models.iter().max_by_key(|m| configurations(m)) else {
            return true;
        };
        let path = KeyPath::default().key("models").index(largest.index).key("grid");
        let count = |n: u64| match n {
            u64::MAX => "more than 18 quintillion".to_string(),
            n => n.to_string(),
        };
        self.error(
            path,
            Target::Key,
            format!(
                "the grids expand to {} configurations x {folds} folds = {} runs (`{}` alone has {}), more than the limit of {limit}: \
                 shrink the grid, or raise the limit with `max_runs = {}` in [experiment]",
                count(total),
                count(runs),
                largest.name,
                count(configurations(largest)),
                count(runs),
            ),
        );
        false
    }

    /// Checks each ensemble's members against the spec's other models: they
    /// exist, are not ensembles, and fold 0 has forecasts to learn from when
    /// the method (or choosing a member's best configuration) needs them.
    fn ensembles(&mut self, entries: &[ModelEntry], models: &[ModelSpec]) {
        let all_configs: Vec<_> = models.iter().filter_map(|m| m.expand().ok()).flatten().collect();
        for model in models {
            let Ok(configs) = model.expand() else { continue };
            let path = KeyPath::default().key("models").index(model.index);
            let located = |key: &str| match model.grid.iter().any(|(k, _)| k == key) {
                true => path.clone().key("grid").key(key),
                false => path.clone().key(key),
            };
            let mut reported = BTreeSet::new();
            // A member that itself combines stored runs (an ensemble).
            let reads_runs = |name: &str| {
                all_configs
                    .iter()
                    .any(|c| c.model == name && c.family.capabilities().reads_runs)
            };
            for config in &configs {
                let Some(ensemble) = config.family.ensemble() else {
                    continue;
                };
                for (i, member) in ensemble.members.iter().enumerate() {
                    let message = match entries.iter().find(|e| &e.name == member) {
                        None => {
                            let names = entries.iter().map(|e| e.name.as_str()).filter(|n| *n != model.name);
                            Some(format!(
                                "member `{member}` is not a model of this spec{}",
                                did_you_mean(member, names)
                            ))
                        }
                        Some(e) if e.name == model.name => {
                            Some(format!("ensemble `{member}` cannot be its own member"))
                        }
                        Some(e) if reads_runs(&e.name) => {
                            Some(format!("member `{member}` is an ensemble; list its members instead"))
                        }
                        Some(_) => None,
                    };
                    if let Some(message) = message.filter(|m| reported.insert(m.clone())) {
                        let in_grid = model.grid.iter().any(|(k, _)| k == "members");
                        let at = if in_grid {
                            located("members")
                        } else {
                            located("members").index(i)
                        };
                        self.at(at, message);
                    }
                }
                let reach = self.step_and_span.map(|(step, span)| {
                    ensemble
                        .validation_folds
                        .checked_mul(step)
                        .and_then(|v| v.checked_add(span))
                        .filter(|reach| *reach <= MAX_PERIODS)
                });
                if let Some(None) = reach {
                    let message = format!(
                        "impossible backtest: {} validation origins of step {} before the first fold need more than {MAX_PERIODS} periods (the most any backtest may span)",
                        ensemble.validation_folds,
                        self.step_and_span.map_or(0, |(step, _)| step)
                    );
                    if reported.insert(message.clone()) {
                        self.at(located("validation_folds"), message);
                    }
                }
                if ensemble.validation_folds == 0 && ensemble.needs_history(&all_configs) {
                    let why = if ensemble.method.learns() {
                        format!("method `{}` learns its weights", ensemble.method.name())
                    } else {
                        "member_configs = \"best\" picks each member's configuration".to_string()
                    };
                    let message = format!(
                        "{why} from forecasts made before each cutoff, and fold 0 has none: set validation_folds >= 1"
                    );
                    if reported.insert(message.clone()) {
                        self.at(located("validation_folds"), message);
                    }
                }
            }
        }
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
        if let Some(memory) = entry.memory_gb.filter(|m| !(m.is_finite() && *m > 0.0)) {
            self.at(
                path.clone().key("memory_gb"),
                format!("memory_gb must be a positive number of gigabytes, not {memory}"),
            );
        }
        if self.found.len() > before {
            return None;
        }
        let mut base: toml::Table = entry.params.clone().into_iter().collect();
        base.insert("family".into(), toml::Value::String(entry.family.clone()));
        // Each grid key's values on the fixed parameters alone (the other
        // keys at their defaults), when those are valid: every key's bad
        // values are found, whatever the other keys hold. Only then their
        // combinations, from the first.
        if grid.len() > 1 {
            let mark = self.found.len();
            let alone_valid = self.family_table(&path, &base, &grid, None);
            self.found.truncate(mark);
            if alone_valid {
                for (key, values) in &grid {
                    for (j, value) in values.iter().enumerate() {
                        let mut table = base.clone();
                        table.insert(key.clone(), value.clone());
                        self.family_table(&path, &table, &grid, Some((key, j)));
                    }
                }
                if self.found.len() > before {
                    return None;
                }
            }
        }
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
            memory_gb: entry.memory_gb,
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
                Some((k, j)) if k == key && target == Target::Value => {
                    (model.clone().key("grid").key(key).index(j), target)
                }
                _ if in_grid && target == Target::Value => (model.clone().key("grid").key(key).index(0), target),
                _ if in_grid => (model.clone().key("grid").key(key), target),
                _ if table.contains_key(key) => (model.clone().key(key), target),
                _ => (model.clone().key("family"), Target::Value),
            }
        };
        let mut table = table.clone();
        let transform = match crate::transform::take(&mut table) {
            Ok(t) => t,
            Err(message) => {
                let (path, target) = located(crate::transform::KEY, Target::Value);
                self.error(path, target, message);
                return false;
            }
        };
        let reconcile = match crate::reconcile::take(&mut table) {
            Ok(r) => r,
            Err(message) => {
                let (path, target) = located(crate::reconcile::KEY, Target::Value);
                self.error(path, target, message);
                return false;
            }
        };
        if let Err(message) = crate::fallback::take(&mut table) {
            let (path, target) = located(crate::fallback::KEY, Target::Value);
            self.error(path, target, message);
            return false;
        }
        let table = &table;
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
                let context = CheckContext {
                    spec_dir: self.file.parent().unwrap_or(Path::new("")),
                    has_future_covariates: self.has_future_covariates,
                    has_covariates: self.has_covariates || self.has_calendar,
                    levels: &self.levels,
                };
                let mut issues = spec.check(&context);
                if !transform.is_none() && spec.capabilities().reads_runs {
                    issues.push(ParamIssue {
                        field: crate::transform::KEY,
                        message: "an ensemble combines its members' forecasts, already transformed back: give `transform` to the members".into(),
                    });
                }
                issues.extend(crate::reconcile::issues(
                    reconcile,
                    &spec.capabilities(),
                    self.has_covariates,
                ));
                for issue in &issues {
                    let (path, target) = located(issue.field, Target::Value);
                    // Found by varying another key: say with which value.
                    let message = match varied {
                        Some((key, _)) if key != issue.field => {
                            let value = table.get(key.as_str()).map_or_else(String::new, toml::Value::to_string);
                            format!("{} (with `{key}` = {value} of the grid)", issue.message)
                        }
                        _ => issue.message.clone(),
                    };
                    self.error(path, target, message);
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
