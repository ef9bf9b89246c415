//! `trendlab forecast --future FILE`: the known-in-advance covariates of
//! the periods to forecast, in a file with the data's columns (date, id,
//! the covariates; the target column may be there, empty, and is not
//! read). An empty covariate cell is unknown (NaN): only the `[features]
//! future` covariates must be given for every forecast date.
//!
//! `[data] events` columns, when the file has them, are encoded as the
//! data's were (a number, or one 0/1 column per value the data holds; an
//! empty cell is no event); a value the data never holds has no column to
//! go to and is an error naming it. Without them, the events come from the
//! data's own rows past its last target.

use crate::long::LongLayout;
use crate::reader::{RecordStart, cell_str, column_indexes, csv_error, open, parse_number};
use crate::{DataError, explain_damage};
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::path::Path;
use trendlab_spec::Experiment;

/// Per series id, per date: the covariates in the panel's order (`[data]
/// covariates`, then the model columns of `[data] events`; NaN: unknown).
pub type FutureValues = BTreeMap<String, BTreeMap<NaiveDate, Vec<f64>>>;

/// Reads `path` for `experiment`'s series, whose `[data] events` the data
/// encoded as the model columns `event_columns` (`Panel::event_covariates`).
pub fn read_future(experiment: &Experiment, path: &Path, event_columns: &[String]) -> Result<FutureValues, DataError> {
    if crate::is_parquet(path) {
        return Err(DataError::file(path, "future covariates are read from CSV or CSV.gz"));
    }
    read(&LongLayout::of(experiment), path, event_columns).map_err(|e| explain_damage(path, e))
}

/// One `[data] events` column of a future file: where it is, and how the
/// data encoded it.
struct EventColumn<'a> {
    name: &'a str,
    /// Its index in the file (`None`: the file lacks it).
    at: Option<usize>,
    /// The model columns it became: `[name]` for a number, else `name=value` each.
    columns: Vec<&'a str>,
}

impl EventColumn<'_> {
    /// The model columns' values of `cell` (NaN when the file lacks the column).
    fn encode(&self, cell: Option<&[u8]>) -> Result<Vec<f64>, String> {
        let Some(cell) = cell else {
            return Ok(vec![f64::NAN; self.columns.len()]);
        };
        let value = cell_str(cell);
        let value = value.trim();
        if self.columns == [self.name] {
            return match value.is_empty() {
                true => Ok(vec![0.0]),
                false => parse_number(cell, self.name).map(|v| vec![v]),
            };
        }
        let mut row = vec![0.0; self.columns.len()];
        if !value.is_empty() {
            let k = self
                .columns
                .iter()
                .position(|c| c.strip_prefix(self.name).and_then(|c| c.strip_prefix('=')) == Some(value))
                .ok_or_else(|| {
                    format!(
                        "`{}` value `{value}` never occurs in the data, so the models have no column for it: use one of its values, or leave the cell empty (no event)",
                        self.name
                    )
                })?;
            row[k] = 1.0;
        }
        Ok(row)
    }
}

fn read(layout: &LongLayout, path: &Path, event_columns: &[String]) -> Result<FutureValues, DataError> {
    let mut reader = open(path)?;
    let header = reader.byte_headers().map_err(|e| csv_error(path, e))?.clone();
    let [time_col, id_col] = column_indexes(path, &header, &[&layout.time, &layout.id])?[..] else {
        unreachable!()
    };
    let numeric_cols = column_indexes(path, &header, &layout.numeric)?;
    let events: Vec<EventColumn<'_>> = layout
        .events
        .iter()
        .map(|name| EventColumn {
            name,
            at: header.iter().position(|h| h.trim_ascii() == name.as_bytes()),
            columns: event_columns
                .iter()
                .map(String::as_str)
                .filter(|c| *c == name || c.strip_prefix(name.as_str()).is_some_and(|rest| rest.starts_with('=')))
                .collect(),
        })
        .collect();
    let mut values = FutureValues::new();
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(|e| csv_error(path, e))? {
        let start = RecordStart::of(record.position());
        let err = |message: String| DataError::line(path, start.line(path), message);
        let cell = |i: usize| record.get(i).unwrap_or_default();
        let date = layout.date(cell(time_col)).map_err(&err)?;
        let id = cell_str(cell(id_col));
        if id.is_empty() {
            return Err(err(format!("`{}` is empty", layout.id)));
        }
        let mut row = numeric_cols
            .iter()
            .zip(&layout.numeric)
            .map(|(&c, name)| match cell(c).trim_ascii().is_empty() {
                true => Ok(f64::NAN),
                false => parse_number(cell(c), name),
            })
            .collect::<Result<Vec<f64>, String>>()
            .map_err(&err)?;
        for event in &events {
            row.extend(event.encode(event.at.map(cell)).map_err(&err)?);
        }
        if values.entry(id.clone()).or_default().insert(date, row).is_some() {
            return Err(err(format!("duplicate row for series `{id}` on {date}")));
        }
    }
    Ok(values)
}
