//! Checks of `[features]` and of the categorical `[data]` columns.

use super::Checker;
use crate::diagnostics::did_you_mean;
use crate::locate::KeyPath;
use crate::schema::*;
use std::collections::BTreeSet;

impl Checker<'_> {
    pub(super) fn features(&mut self, doc: &SpecDocument) {
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
        for (i, r) in f.seasonal_rolling.iter().enumerate() {
            let path = KeyPath::from(["features", "seasonal_rolling"]).index(i);
            if r.season == 0 {
                self.at(path.clone().key("season"), "season must be at least 1");
            }
            if r.windows.is_empty() || r.windows.contains(&0) {
                self.at(path.key("windows"), "list numbers of seasons, each at least 1");
            }
        }
        for (i, alpha) in f.ewm.iter().enumerate() {
            if !(*alpha > 0.0 && *alpha <= 1.0) {
                self.at(
                    KeyPath::from(["features", "ewm"]).index(i),
                    format!("an exponential weight must be in (0, 1], got {alpha}"),
                );
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

    /// `[data] events` and `static`: each column read one way only; and no
    /// input column (covariates, static, events) names the series id, the
    /// date or the target, which a model would then read as a feature (the
    /// target's own values at the dates it forecasts).
    pub(super) fn categorical(&mut self, data: &DataSection) {
        let roles = [("id", &data.id), ("time", &data.time), ("target", &data.target)];
        for (key, columns) in [
            ("covariates", &data.covariates),
            ("static", &data.statics),
            ("events", &data.events),
        ] {
            for (i, column) in columns.iter().enumerate() {
                if let Some((role, _)) = roles.iter().find(|(_, c)| c.as_deref() == Some(column.as_str())) {
                    self.at(
                        KeyPath::from(["data", key]).index(i),
                        format!(
                            "`{column}` is the {role} column (`data.{role}`): as an input it would hand the models what they forecast or identify the series by"
                        ),
                    );
                }
            }
        }
        for (i, column) in data.events.iter().enumerate() {
            let elsewhere = if data.covariates.contains(column) {
                Some("covariates")
            } else if data.statics.contains(column) {
                Some("static")
            } else {
                None
            };
            if let Some(list) = elsewhere {
                self.at(
                    KeyPath::from(["data", "events"]).index(i),
                    format!("`{column}` is in `data.{list}` too: an event column is read as events only"),
                );
            }
        }
        for (i, column) in data.statics.iter().enumerate() {
            if data.covariates.contains(column) {
                self.at(
                    KeyPath::from(["data", "static"]).index(i),
                    format!("`{column}` is in `data.covariates` too: a static column is read as static only"),
                );
            }
        }
    }
}
