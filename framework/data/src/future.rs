//! `trendlab forecast --future FILE`: the known-in-advance covariates of
//! the periods to forecast, in a file with the data's columns (date, id,
//! the covariates; the target column may be there, empty, and is not
//! read). An empty covariate cell is unknown (NaN): only the `[features]
//! future` covariates must be given for every forecast date.

use crate::long::LongLayout;
use crate::reader::{RecordStart, cell_str, column_indexes, csv_error, open, parse_number};
use crate::{DataError, explain_damage};
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::path::Path;
use trendlab_spec::Experiment;

/// Per series id, per date: the covariates in `[data] covariates` order.
pub type FutureValues = BTreeMap<String, BTreeMap<NaiveDate, Vec<f64>>>;

/// Reads `path` for `experiment`'s series.
pub fn read_future(experiment: &Experiment, path: &Path) -> Result<FutureValues, DataError> {
    if crate::is_parquet(path) {
        return Err(DataError::file(path, "future covariates are read from CSV or CSV.gz"));
    }
    read(&LongLayout::of(experiment), path).map_err(|e| explain_damage(path, e))
}

fn read(layout: &LongLayout, path: &Path) -> Result<FutureValues, DataError> {
    let mut reader = open(path)?;
    let header = reader.byte_headers().map_err(|e| csv_error(path, e))?.clone();
    let [time_col, id_col] = column_indexes(path, &header, &[&layout.time, &layout.id])?[..] else {
        unreachable!()
    };
    let numeric_cols = column_indexes(path, &header, &layout.numeric)?;
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
        let row = numeric_cols
            .iter()
            .zip(&layout.numeric)
            .map(|(&c, name)| match cell(c).trim_ascii().is_empty() {
                true => Ok(f64::NAN),
                false => parse_number(cell(c), name),
            })
            .collect::<Result<Vec<f64>, String>>()
            .map_err(&err)?;
        if values.entry(id.clone()).or_default().insert(date, row).is_some() {
            return Err(err(format!("duplicate row for series `{id}` on {date}")));
        }
    }
    Ok(values)
}
