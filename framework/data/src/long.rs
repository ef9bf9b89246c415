//! Long-format files: one row per (series, date) with the target, numeric
//! covariates, optional text and per-series attributes. Rows of a series must
//! come in date order; duplicate dates, off-frequency dates, bad numbers and
//! (unless `fill = "zero"`) gaps are errors naming the line.

use crate::categorical::{Encoding, Interner, MAX_LEVELS};
use crate::reader::{
    DATE_FORMATS, RecordStart, Rows, cell_str, check_span, column_indexes, date_as_read, parse_date, parse_number,
};
use crate::{DataError, FutureRows, Panel, Series};
use chrono::NaiveDate;
use std::collections::HashMap;
use std::path::Path;
use trendlab_spec::{Experiment, FillPolicy, Frequency};

/// Which columns to read and how.
pub(crate) struct LongLayout {
    pub(crate) time: String,
    pub(crate) id: String,
    pub(crate) target: String,
    pub(crate) text: Option<String>,
    pub(crate) numeric: Vec<String>,
    pub(crate) statics: Vec<String>,
    /// `[data] events`: categorical columns read after the numeric ones.
    pub(crate) events: Vec<String>,
    /// `[data] static`: the statics that become model inputs.
    pub(crate) model_statics: Vec<String>,
    pub(crate) frequency: Frequency,
    pub(crate) fill: FillPolicy,
}

impl LongLayout {
    pub(crate) fn of(experiment: &Experiment) -> Self {
        let data = &experiment.document.data;
        let target = data.target.clone().expect("validated: long format has a target");
        let mut numeric = data.covariates.clone();
        let wrmsse = experiment.evaluation().wrmsse.as_ref();
        if let Some(weight) = wrmsse.and_then(|w| w.weight.clone())
            && weight != target
            && !numeric.contains(&weight)
        {
            numeric.push(weight);
        }
        let mut statics: Vec<String> = Vec::new();
        for col in wrmsse
            .iter()
            .flat_map(|w| &w.levels)
            .chain(&experiment.evaluation().segments)
            .flat_map(|l| l.split('+'))
            .map(str::trim)
            .chain(data.statics.iter().map(String::as_str))
        {
            if !statics.iter().any(|s| s == col) {
                statics.push(col.to_string());
            }
        }
        LongLayout {
            time: data.time.clone().expect("validated: long format has a time column"),
            id: data.id.clone().expect("validated: long format has an id column"),
            target,
            text: data.text.clone(),
            numeric,
            statics,
            events: data.events.clone(),
            model_statics: data.statics.clone(),
            frequency: experiment.frequency,
            fill: data.fill,
        }
    }
}

impl LongLayout {
    /// The date in a `time` cell, on the frequency; else the message.
    pub(crate) fn date(&self, cell: &[u8]) -> Result<NaiveDate, String> {
        let date = parse_date(cell).ok_or_else(|| {
            format!(
                "`{}` value `{}` is not a date: expected {DATE_FORMATS}",
                self.time,
                cell_str(cell)
            )
        })?;
        if !self.frequency.is_aligned(date) {
            return Err(format!(
                "date {} is not on the `{}` frequency (expected {})",
                date_as_read(cell, date),
                self.frequency,
                self.frequency.floor(date)
            ));
        }
        Ok(date)
    }
}

/// The covariate columns while rows are read: the numeric ones' indexes,
/// then the event columns' indexes and the values seen in them.
struct CovariateColumns {
    numeric: Vec<usize>,
    columns: Vec<usize>,
    values: Vec<Interner>,
    /// Where their codes start among a series' covariates.
    offset: usize,
}

impl CovariateColumns {
    fn push_codes(&mut self, record: &csv::ByteRecord, covariates: &mut [Vec<f64>]) {
        for ((k, &c), values) in self.columns.iter().enumerate().zip(&mut self.values) {
            covariates[self.offset + k].push(values.code(record.get(c).unwrap_or_default()));
        }
    }
}

/// A series while its rows are being read.
struct Pending {
    series: Series,
    /// Where its last row starts (for messages).
    last_start: RecordStart,
    /// Where its first future row starts.
    first_future: RecordStart,
    /// Whether periods are missing between its rows (filled with zeros).
    gaps: bool,
}

/// Keeps a row with an empty target as a future row of its series: it must
/// follow the series' last period (or future row) by one period; its empty
/// covariate cells are NaN.
fn add_future_row(
    p: &mut Pending,
    date: NaiveDate,
    record: &csv::ByteRecord,
    covariates: &mut CovariateColumns,
    layout: &LongLayout,
    start: RecordStart,
    path: &Path,
) -> Result<(), DataError> {
    let err = |message: String| start.error(path, message);
    let previous = p.series.future.dates.last().or(p.series.dates.last());
    let Some(&previous) = previous else {
        return Err(err(format!(
            "`{}` is empty in the first row of series `{}`: a series starts with a value (rows with it empty are the future, past its last value)",
            layout.target, p.series.id
        )));
    };
    let expected = layout.frequency.advance(previous, 1);
    if date != expected {
        return Err(err(format!(
            "future row of series `{}` on {date} (`{}` empty): expected {expected}, the period after {previous}; future rows follow a series' last value period by period",
            p.series.id, layout.target
        )));
    }
    for (k, &c) in covariates.numeric.iter().enumerate() {
        let text = record.get(c).unwrap_or_default();
        let value = match text.trim_ascii().is_empty() {
            true => f64::NAN,
            false => parse_number(text, &layout.numeric[k]).map_err(&err)?,
        };
        p.series.future.covariates[k].push(value);
    }
    covariates.push_codes(record, &mut p.series.future.covariates);
    if p.series.future.dates.is_empty() {
        p.first_future = start;
    }
    p.series.future.dates.push(date);
    Ok(())
}

pub(crate) fn load(layout: &LongLayout, path: &Path) -> Result<Panel, DataError> {
    let mut rows = Rows::open(path)?;
    let header = rows.header(path)?;
    let fixed: Vec<&str> = vec![&layout.time, &layout.id, &layout.target];
    let [time_col, id_col, target_col] = column_indexes(path, &header, &fixed)?[..] else {
        unreachable!()
    };
    let text_col = match &layout.text {
        Some(t) => Some(column_indexes(path, &header, &[t])?[0]),
        None => None,
    };
    let numeric_cols = column_indexes(path, &header, &layout.numeric)?;
    let static_cols = column_indexes(path, &header, &layout.statics)?;
    let mut events = CovariateColumns {
        numeric: numeric_cols.clone(),
        columns: column_indexes(path, &header, &layout.events)?,
        values: vec![Interner::default(); layout.events.len()],
        offset: numeric_cols.len(),
    };
    let width = numeric_cols.len() + layout.events.len();
    // Timestamps with a time zone are read as that zone's wall clock: a
    // date off the frequency says so.
    let zone_note = rows.zone(time_col).map(|zone| {
        format!(
            "; the `{}` timestamps are in time zone {zone} and are read as its wall-clock dates",
            layout.time
        )
    });
    let date_error = |message: String| match &zone_note {
        Some(note) if message.contains("frequency") => message + note,
        _ => message,
    };

    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut pending: Vec<Pending> = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut rows_read = 0;
    while rows.read(path, &mut record)? {
        rows_read += 1;
        let start = rows.start(&record);
        let err = |message: String| start.error(path, message);
        let cell = |i: usize| record.get(i).unwrap_or_default();
        let date = layout
            .date(cell(time_col))
            .map_err(|message| err(date_error(message)))?;
        let id = cell(id_col).trim_ascii();
        if id.is_empty() {
            return Err(err(format!("`{}` is empty", layout.id)));
        }
        let target = match cell(target_col).trim_ascii().is_empty() {
            true => None,
            false => Some(parse_number(cell(target_col), &layout.target).map_err(&err)?),
        };
        let slot = *index.entry(id.to_vec()).or_insert_with(|| {
            pending.push(Pending {
                series: Series {
                    id: cell_str(id),
                    text: text_col.map(|c| cell_str(cell(c))).filter(|t| !t.is_empty()),
                    dates: Vec::new(),
                    target: Vec::new(),
                    covariates: vec![Vec::new(); width],
                    statics: static_cols.iter().map(|&c| cell_str(cell(c))).collect(),
                    future: FutureRows {
                        dates: Vec::new(),
                        covariates: vec![Vec::new(); width],
                    },
                },
                last_start: start,
                first_future: start,
                gaps: false,
            });
            pending.len() - 1
        });
        let p = &mut pending[slot];
        let Some(target) = target else {
            add_future_row(p, date, &record, &mut events, layout, start, path)?;
            continue;
        };
        if let Some(&future) = p.series.future.dates.first() {
            return Err(err(format!(
                "series `{}` has a `{}` on {date} after the row of {future} left it empty ({}): only rows past a series' last `{}` may leave it empty",
                p.series.id,
                layout.target,
                p.first_future.place(path),
                layout.target
            )));
        }
        if let Some(&last) = p.series.dates.last() {
            let last_start = p.last_start;
            if date == last {
                return Err(err(format!(
                    "duplicate row for series `{}` on {date} (first at {})",
                    p.series.id,
                    last_start.place(path)
                )));
            }
            if date < last {
                return Err(err(format!(
                    "rows are not sorted: series `{}` has {date} after {last} ({}); sort by date within each series",
                    p.series.id,
                    last_start.place(path)
                )));
            }
            let missing = layout.frequency.periods_between(last, date) - 1;
            if missing > 0 {
                if layout.fill == FillPolicy::Error {
                    return Err(err(format!(
                        "series `{}` skips {missing} period(s) between {last} ({}) and {date}; set data.fill = \"zero\" to fill gaps with zeros",
                        p.series.id,
                        last_start.place(path),
                    )));
                }
                p.gaps = true;
            }
        }
        for (k, &c) in static_cols.iter().enumerate() {
            if cell(c).trim_ascii() != p.series.statics[k].as_bytes() {
                return Err(err(format!(
                    "`{}` changes within series `{}` (`{}` here, `{}` before); static and hierarchy columns must be constant per series",
                    layout.statics[k],
                    p.series.id,
                    cell_str(cell(c)),
                    p.series.statics[k]
                )));
            }
        }
        for (k, &c) in numeric_cols.iter().enumerate() {
            p.series.covariates[k].push(parse_number(cell(c), &layout.numeric[k]).map_err(&err)?);
        }
        events.push_codes(&record, &mut p.series.covariates);
        p.series.dates.push(date);
        p.series.target.push(target);
        p.last_start = start;
    }
    if pending.is_empty() {
        return Err(DataError::file(path, "no data rows"));
    }
    let mut series = pending
        .into_iter()
        .map(|p| fill_gaps(p, layout, path))
        .collect::<Result<Vec<_>, _>>()?;
    let mut covariate_names = layout.numeric.clone();
    let event_covariates = expand_events(&mut series, &events, layout, path)?;
    covariate_names.extend(event_covariates.iter().cloned());
    let static_covariates = expand_statics(&mut series, layout, path)?;
    // Vectors grown row by row keep up to half their size spare: at M5's
    // 49 M rows that is hundreds of megabytes.
    for s in &mut series {
        s.dates.shrink_to_fit();
        s.target.shrink_to_fit();
        s.covariates.iter_mut().for_each(Vec::shrink_to_fit);
    }
    covariate_names.extend(static_covariates.iter().cloned());
    Ok(Panel {
        frequency: layout.frequency,
        series,
        covariate_names,
        event_covariates,
        static_covariates,
        static_names: layout.statics.clone(),
        source: path.to_path_buf(),
        fingerprint: String::new(),
        rows_read,
        nonnegative: false,
    })
}

/// Replaces the event columns' codes among each series' covariates (and
/// future rows') by their model columns; returns those columns' names.
fn expand_events(
    series: &mut [Series],
    events: &CovariateColumns,
    layout: &LongLayout,
    path: &Path,
) -> Result<Vec<String>, DataError> {
    let encodings: Vec<_> = events
        .values
        .iter()
        .zip(&layout.events)
        .map(|(values, name)| encoding(values, name, "events", path))
        .collect::<Result<_, _>>()?;
    for s in series.iter_mut() {
        for covariates in [&mut s.covariates, &mut s.future.covariates] {
            let codes = covariates.split_off(events.offset);
            for (e, codes) in encodings.iter().zip(&codes) {
                covariates.extend(e.expand(codes));
            }
        }
    }
    Ok(encodings.into_iter().flat_map(|e| e.names).collect())
}

/// `values.encoding(column)`, or the error naming the column of `[data]
/// list` with too many distinct values to one-hot encode.
fn encoding(values: &Interner, column: &str, list: &str, path: &Path) -> Result<Encoding, DataError> {
    values.encoding(column).map_err(|count| {
        DataError::file(
            path,
            format!(
                "column `{column}` of [data] {list} has {count} distinct values; one-hot encoding makes a column of each, over every period of every series, and at most {MAX_LEVELS} are read: give a coarser column (a category, a department) or leave it out"
            ),
        )
    })
}

/// Appends the `[data] static` columns' model columns, constant over each
/// series' periods and future rows; returns their names.
fn expand_statics(series: &mut [Series], layout: &LongLayout, path: &Path) -> Result<Vec<String>, DataError> {
    let mut names = Vec::new();
    for column in &layout.model_statics {
        let k = layout
            .statics
            .iter()
            .position(|s| s == column)
            .expect("model statics are statics");
        let mut values = Interner::default();
        let codes: Vec<f64> = series.iter().map(|s| values.code(s.statics[k].as_bytes())).collect();
        let encoding = encoding(&values, column, "static", path)?;
        for (s, code) in series.iter_mut().zip(codes) {
            let row = &encoding.rows[code as usize];
            let (n, future) = (s.len(), s.future.dates.len());
            s.covariates.extend(row.iter().map(|v| vec![*v; n]));
            s.future.covariates.extend(row.iter().map(|v| vec![*v; future]));
        }
        names.extend(encoding.names);
    }
    Ok(names)
}

/// Fills the periods missing between a series' rows with zeros (`fill =
/// "zero"`; with `fill = "error"` the first gap was reported while reading).
fn fill_gaps(p: Pending, layout: &LongLayout, path: &Path) -> Result<Series, DataError> {
    let freq = layout.frequency;
    if !p.gaps {
        return Ok(p.series);
    }
    let s = &p.series;
    let first: NaiveDate = s.dates[0];
    let n = check_span(path, &s.id, first, *s.dates.last().expect("non-empty"), freq)?;
    let mut filled = Series {
        dates: (0..n).map(|i| freq.advance(first, i)).collect(),
        target: vec![0.0; n],
        covariates: vec![vec![0.0; n]; s.covariates.len()],
        ..p.series.clone()
    };
    for (t, date) in s.dates.iter().enumerate() {
        let i = freq.periods_between(first, *date) as usize;
        filled.target[i] = s.target[t];
        for (k, cov) in s.covariates.iter().enumerate() {
            filled.covariates[k][i] = cov[t];
        }
    }
    Ok(filled)
}
