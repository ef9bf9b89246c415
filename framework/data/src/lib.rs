//! Loads the series an experiment declares: a long-format CSV (date, id,
//! target, covariates, text) or a raw transaction log summed into series
//! ([`transactions`]). Plain and gzip-compressed files are read alike.
//!
//! Every error names the file, and the line where one is to blame.

mod categorical;
mod error;
mod future;
mod long;
mod parquet_rows;
mod reader;
pub mod transactions;

pub use error::DataError;
pub use future::{FutureValues, read_future};
pub use parquet_rows::{check_chunks, guarded, is_parquet};
pub use reader::{explain_damage, gzip_damage, read_header};

use chrono::NaiveDate;
use std::path::PathBuf;
use trendlab_spec::{Experiment, Frequency};

/// All series of a dataset, each on the same regular frequency.
#[derive(Debug, Clone)]
pub struct Panel {
    pub frequency: Frequency,
    pub series: Vec<Series>,
    /// Names of the time-varying numeric columns, in `Series::covariates` order.
    pub covariate_names: Vec<String>,
    /// Names of the per-series attribute columns, in `Series::statics` order.
    pub static_names: Vec<String>,
    /// The covariates made from `[data] events` (known in advance).
    pub event_covariates: Vec<String>,
    /// The covariates made from `[data] static` (constant within a series).
    pub static_covariates: Vec<String>,
    pub source: PathBuf,
    /// BLAKE3 of the file's bytes and of the options it was read with (not
    /// of its path: moving a file does not invalidate its runs).
    pub fingerprint: String,
    /// CSV records read (before aggregation).
    pub rows_read: usize,
    /// Forecasts and bounds are clipped at zero: `[data] nonnegative`, by
    /// default whether every target value is at least zero.
    pub nonnegative: bool,
}

/// One series: consecutive periods, no gaps.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub id: String,
    pub text: Option<String>,
    pub dates: Vec<NaiveDate>,
    pub target: Vec<f64>,
    /// `covariates[k][t]`: covariate k at period t.
    pub covariates: Vec<Vec<f64>>,
    /// Attribute values, e.g. store or category, for hierarchy levels.
    pub statics: Vec<String>,
    /// Rows past the last target (target cell empty): the known-in-advance
    /// covariates of the periods `trendlab forecast` forecasts.
    pub future: FutureRows,
}

/// A series' rows past its last target, period by period from the one
/// after its last date.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FutureRows {
    pub dates: Vec<NaiveDate>,
    /// `covariates[k][j]`: covariate k at future period j; NaN where the
    /// cell is empty (only the `[features] future` covariates must be set).
    pub covariates: Vec<Vec<f64>>,
}

impl Series {
    pub fn len(&self) -> usize {
        self.dates.len()
    }
    pub fn is_empty(&self) -> bool {
        self.dates.is_empty()
    }
    /// Index of `date` in this series, if it lies inside it.
    pub fn position(&self, date: NaiveDate, frequency: Frequency) -> Option<usize> {
        let first = *self.dates.first()?;
        let i = frequency.periods_between(first, date);
        (i >= 0 && (i as usize) < self.len() && self.dates[i as usize] == date).then_some(i as usize)
    }
}

impl Panel {
    /// The latest date of any series.
    pub fn last_date(&self) -> Option<NaiveDate> {
        self.series.iter().filter_map(|s| s.dates.last().copied()).max()
    }
    pub fn covariate_index(&self, name: &str) -> Option<usize> {
        self.covariate_names.iter().position(|n| n == name)
    }
    pub fn static_index(&self, name: &str) -> Option<usize> {
        self.static_names.iter().position(|n| n == name)
    }

    /// The group of series `s` at an aggregation level: the values of the
    /// level's columns (`"state_id+cat_id"`), joined by `+`; `None` when a
    /// column was not loaded.
    pub fn level_label(&self, s: &Series, level: &str) -> Option<String> {
        let parts = level
            .split('+')
            .map(|c| Some(s.statics[self.static_index(c.trim())?].as_str()))
            .collect::<Option<Vec<&str>>>()?;
        Some(parts.join("+"))
    }
}

/// Drops every period before `since` (`[data] since`), and the series left empty.
fn keep_since(panel: &mut Panel, since: NaiveDate) -> Result<(), DataError> {
    for s in &mut panel.series {
        let first = s.dates.partition_point(|d| *d < since);
        s.dates.drain(..first);
        s.target.drain(..first);
        for c in &mut s.covariates {
            c.drain(..first);
        }
    }
    panel.series.retain(|s| !s.is_empty());
    if panel.series.is_empty() {
        return Err(DataError::File {
            path: panel.source.clone(),
            message: format!("no series has a period on or after `[data] since` = {since}"),
        });
    }
    Ok(())
}

/// Reads the dataset of an experiment.
pub fn load(experiment: &Experiment) -> Result<Panel, DataError> {
    let data = &experiment.document.data;
    let path = &experiment.data_path;
    let loaded = match &data.aggregate {
        Some(agg) => transactions::aggregate(path, agg, experiment.frequency),
        None => long::load(&long::LongLayout::of(experiment), path),
    };
    let mut panel = loaded.map_err(|e| explain_damage(path, e))?;
    if let Some(since) = data.since {
        keep_since(&mut panel, since)?;
    }
    panel.nonnegative = data
        .nonnegative
        .unwrap_or_else(|| panel.series.iter().flat_map(|s| &s.target).all(|v| *v >= 0.0));
    // Clipping changes the forecasts, so it is part of the data's identity.
    let mut options = serde_json::to_vec(&trendlab_spec::DataSection {
        path: String::new(),
        ..data.clone()
    })
    .unwrap_or_default();
    if panel.nonnegative {
        options.extend_from_slice(b";clipped at zero");
    }
    panel.fingerprint = reader::fingerprint(&experiment.data_path, &options)?;
    Ok(panel)
}
