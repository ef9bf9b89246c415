//! Transaction-log mode: sums a numeric column of a raw log (one row per
//! invoice line) per key and period, giving one zero-filled series per key —
//! what a retail analyst starts from (e.g. the UCI Online Retail log).

use crate::reader::{
    DATE_FORMATS, RecordStart, cell_str, check_span, column_indexes, csv_error, open, parse_date, parse_number,
};
use crate::{DataError, Panel, Series};
use chrono::NaiveDate;
use std::collections::HashMap;
use std::path::Path;
use trendlab_spec::{AggregateSection, Frequency};

/// Per-key accumulation while reading.
#[derive(Default)]
struct KeyTotals {
    by_period: HashMap<NaiveDate, f64>,
    texts: HashMap<String, usize>,
    total: f64,
}

/// Reads the log at `path` and returns one series per key, each from its
/// first period with a transaction to the last period of the whole log.
pub fn aggregate(path: &Path, spec: &AggregateSection, frequency: Frequency) -> Result<Panel, DataError> {
    if crate::is_parquet(path) {
        return Err(DataError::file(
            path,
            "a raw transaction log (`[data] aggregate`) is read from CSV or CSV.gz; convert it, or give a long-format Parquet file without `aggregate`",
        ));
    }
    let mut reader = open(path)?;
    let header = reader.byte_headers().map_err(|e| csv_error(path, e))?.clone();
    let [sum_col, by_col, time_col] = column_indexes(path, &header, &[&spec.sum, &spec.by, &spec.time])?[..] else {
        unreachable!()
    };
    let text_col = match &spec.text {
        Some(t) => Some(column_indexes(path, &header, &[t])?[0]),
        None => None,
    };
    let mut keys: HashMap<Vec<u8>, KeyTotals> = HashMap::new();
    let mut record = csv::ByteRecord::new();
    let mut rows_read = 0;
    let mut last_period: Option<NaiveDate> = None;
    while reader.read_byte_record(&mut record).map_err(|e| csv_error(path, e))? {
        rows_read += 1;
        let start = RecordStart::of(record.position());
        let cell = |i: usize| record.get(i).unwrap_or_default();
        let value = parse_number(cell(sum_col), &spec.sum).map_err(|m| DataError::line(path, start.line(path), m))?;
        let date = parse_date(cell(time_col)).ok_or_else(|| {
            DataError::line(
                path,
                start.line(path),
                format!(
                    "`{}` value `{}` is not a date or date-time: expected {DATE_FORMATS}",
                    spec.time,
                    cell_str(cell(time_col))
                ),
            )
        })?;
        let period = frequency.floor(date);
        last_period = last_period.max(Some(period));
        if spec.positive_only && value <= 0.0 {
            continue;
        }
        let key = cell(by_col).trim_ascii();
        if key.is_empty() {
            return Err(DataError::line(
                path,
                start.line(path),
                format!("`{}` is empty", spec.by),
            ));
        }
        let totals = match keys.get_mut(key) {
            Some(t) => t,
            None => keys.entry(key.to_vec()).or_default(),
        };
        *totals.by_period.entry(period).or_default() += value;
        totals.total += value;
        if let Some(c) = text_col {
            let text = cell(c).trim_ascii();
            if !text.is_empty() {
                match totals.texts.get_mut(std::str::from_utf8(text).unwrap_or("")) {
                    Some(n) => *n += 1,
                    None => *totals.texts.entry(cell_str(text)).or_default() += 1,
                }
            }
        }
    }
    let last = last_period.ok_or_else(|| DataError::file(path, "no data rows"))?;
    if keys.is_empty() {
        // Every row was a return or a cancellation: nothing to forecast.
        return Err(DataError::file(
            path,
            format!(
                "no series: every row's `{}` is zero or negative, and `positive_only` drops such rows",
                spec.sum
            ),
        ));
    }
    let mut entries: Vec<(String, KeyTotals)> = keys.into_iter().map(|(k, v)| (cell_str(&k), v)).collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(top) = spec.top {
        entries.sort_by(|a, b| b.1.total.total_cmp(&a.1.total).then_with(|| a.0.cmp(&b.0)));
        entries.truncate(top);
        entries.sort_by(|a, b| a.0.cmp(&b.0));
    }
    let series = entries
        .into_iter()
        .map(|(id, totals)| to_series(path, id, totals, frequency, last))
        .collect::<Result<_, _>>()?;
    Ok(Panel {
        event_covariates: Vec::new(),
        static_covariates: Vec::new(),
        frequency,
        series,
        covariate_names: Vec::new(),
        static_names: Vec::new(),
        source: path.to_path_buf(),
        fingerprint: String::new(),
        rows_read,
        nonnegative: false,
    })
}

fn to_series(
    path: &Path,
    id: String,
    totals: KeyTotals,
    frequency: Frequency,
    last: NaiveDate,
) -> Result<Series, DataError> {
    let first = *totals.by_period.keys().min().expect("a key has a period");
    let n = check_span(path, &id, first, last, frequency)?;
    let dates: Vec<NaiveDate> = (0..n).map(|i| frequency.advance(first, i)).collect();
    let target = dates
        .iter()
        .map(|d| totals.by_period.get(d).copied().unwrap_or(0.0))
        .collect();
    // Most frequent text; ties go to the alphabetically first for determinism.
    let text = totals
        .texts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .map(|(t, _)| t);
    Ok(Series {
        id,
        text,
        dates,
        target,
        covariates: Vec::new(),
        statics: Vec::new(),
        future: Default::default(),
    })
}
