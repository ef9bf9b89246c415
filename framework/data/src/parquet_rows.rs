//! Long-format Parquet input (M5 is often shared as Parquet): its rows
//! turned into the same cells a CSV row gives, so one loader checks both
//! and its messages name the row (`data.parquet: row 12: ...`). Strings,
//! integers, floats, booleans (1/0), dates and timestamps are read; a null
//! cell reads as an empty one. A damaged or truncated file is an error
//! naming it.

use crate::DataError;
use arrow_array::cast::AsArray;
use arrow_array::timezone::Tz;
use arrow_array::types::{
    Date32Type, Date64Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type,
    UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use chrono::{DateTime, NaiveDate};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Whether `path` names a Parquet file (by its `.parquet` or `.pq` extension).
pub fn is_parquet(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "parquet" || e == "pq")
}

/// Runs `f`, a call into the parquet crate over a file's bytes, with a
/// panic turned into an error carrying its message. The parquet and arrow
/// crates assert on some damaged pages and levels instead of returning an
/// error (found by the `parquet` fuzz target); a user's broken file must
/// be an error naming it, never a crash. The panic's report is not printed
/// (it is the error's message).
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    use std::cell::Cell;
    use std::panic::{AssertUnwindSafe, catch_unwind};
    thread_local! {
        static QUIET: Cell<bool> = const { Cell::new(false) };
    }
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    result.map_err(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()));
        format!(
            "the Parquet reader failed on it: {}",
            message.unwrap_or_else(|| "unknown cause".into())
        )
    })
}

/// Checks that every column chunk of `metadata` lies within a file of
/// `file_len` bytes: the parquet crate asserts it (a panic) when it reads
/// such a chunk, and a damaged footer can say otherwise.
pub fn check_chunks(metadata: &parquet::file::metadata::ParquetMetaData, file_len: u64) -> Result<(), String> {
    for (g, group) in metadata.row_groups().iter().enumerate() {
        for column in group.columns() {
            let start = column.dictionary_page_offset().unwrap_or(column.data_page_offset());
            let length = column.compressed_size();
            let inside = start >= 0
                && length >= 0
                && (start as u64)
                    .checked_add(length as u64)
                    .is_some_and(|end| end <= file_len);
            if !inside {
                return Err(format!(
                    "row group {g}: column `{}` claims bytes {start}..{start}+{length} of a {file_len}-byte file",
                    column.column_path().string()
                ));
            }
        }
    }
    Ok(())
}

/// A Parquet file read row by row as CSV-like cells.
pub(crate) struct ParquetRows {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    header: Vec<String>,
    batch: Option<RecordBatch>,
    /// The next row of `batch`.
    next: usize,
    /// Rows handed out so far.
    rows: u64,
}

fn damaged(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::file(path, format!("damaged or truncated Parquet file: {e}"))
}

impl ParquetRows {
    pub(crate) fn open(path: &Path) -> Result<ParquetRows, DataError> {
        let file = std::fs::File::open(path).map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file_len = file.metadata().map_or(u64::MAX, |m| m.len());
        let builder = guarded(|| ParquetRecordBatchReaderBuilder::try_new(file))
            .map_err(|e| damaged(path, e))?
            .map_err(|e| damaged(path, e))?;
        check_chunks(builder.metadata(), file_len).map_err(|e| damaged(path, e))?;
        let header = builder.schema().fields().iter().map(|f| f.name().clone()).collect();
        for field in builder.schema().fields() {
            if !readable(field.data_type()) {
                return Err(DataError::file(
                    path,
                    format!(
                        "column `{}` has Parquet/Arrow type {}, which trendlab does not read (strings, integers, floats, booleans, dates and timestamps)",
                        field.name(),
                        field.data_type()
                    ),
                ));
            }
        }
        let reader = guarded(|| builder.with_batch_size(64 * 1024).build())
            .map_err(|e| damaged(path, e))?
            .map_err(|e| damaged(path, e))?;
        Ok(ParquetRows {
            path: path.to_path_buf(),
            reader,
            header,
            batch: None,
            next: 0,
            rows: 0,
        })
    }

    pub(crate) fn header(&self) -> &[String] {
        &self.header
    }

    /// The time zone of column `index`, when it holds timestamps with one.
    pub(crate) fn zone(&self, index: usize) -> Option<String> {
        use arrow_array::RecordBatchReader;
        match self.reader.schema().fields().get(index)?.data_type() {
            DataType::Timestamp(_, Some(zone)) => Some(zone.to_string()),
            _ => None,
        }
    }

    /// The 1-based number of the row last read.
    pub(crate) fn row(&self) -> u64 {
        self.rows
    }

    /// Reads the next row into `record`; `false` at the end.
    pub(crate) fn read(&mut self, record: &mut csv::ByteRecord) -> Result<bool, DataError> {
        loop {
            if let Some(batch) = &self.batch
                && self.next < batch.num_rows()
            {
                record.clear();
                let mut cell = Vec::new();
                for column in batch.columns() {
                    cell.clear();
                    format_cell(column.as_ref(), self.next, &mut cell);
                    record.push_field(&cell);
                }
                self.next += 1;
                self.rows += 1;
                return Ok(true);
            }
            let next = guarded(|| self.reader.next()).map_err(|e| damaged(&self.path, e))?;
            match next {
                None => return Ok(false),
                Some(Err(e)) => return Err(damaged(&self.path, e)),
                Some(Ok(batch)) => {
                    self.batch = Some(batch);
                    self.next = 0;
                }
            }
        }
    }
}

/// Whether [`format_cell`] reads columns of type `t`.
fn readable(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Boolean | DataType::Null => true,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => true,
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => true,
        DataType::Float32 | DataType::Float64 | DataType::Date32 | DataType::Date64 => true,
        // A zone this build cannot resolve is an unreadable column, not
        // dates silently read in UTC.
        DataType::Timestamp(_, zone) => zone.as_deref().is_none_or(|z| z.parse::<Tz>().is_ok()),
        DataType::Dictionary(_, value) => readable(value),
        _ => false,
    }
}

/// Appends the text of `column[i]` to `out` (nothing for a null).
fn format_cell(column: &dyn Array, i: usize, out: &mut Vec<u8>) {
    if column.is_null(i) {
        return;
    }
    let _ = match column.data_type() {
        DataType::Utf8 => out.write_all(column.as_string::<i32>().value(i).as_bytes()),
        DataType::LargeUtf8 => out.write_all(column.as_string::<i64>().value(i).as_bytes()),
        DataType::Utf8View => out.write_all(column.as_string_view().value(i).as_bytes()),
        DataType::Boolean => out.write_all(if column.as_boolean().value(i) { b"1" } else { b"0" }),
        DataType::Int8 => write!(out, "{}", column.as_primitive::<Int8Type>().value(i)),
        DataType::Int16 => write!(out, "{}", column.as_primitive::<Int16Type>().value(i)),
        DataType::Int32 => write!(out, "{}", column.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => write!(out, "{}", column.as_primitive::<Int64Type>().value(i)),
        DataType::UInt8 => write!(out, "{}", column.as_primitive::<UInt8Type>().value(i)),
        DataType::UInt16 => write!(out, "{}", column.as_primitive::<UInt16Type>().value(i)),
        DataType::UInt32 => write!(out, "{}", column.as_primitive::<UInt32Type>().value(i)),
        DataType::UInt64 => write!(out, "{}", column.as_primitive::<UInt64Type>().value(i)),
        DataType::Float32 => write!(out, "{}", column.as_primitive::<Float32Type>().value(i)),
        DataType::Float64 => write!(out, "{}", column.as_primitive::<Float64Type>().value(i)),
        DataType::Date32 => {
            let days = column.as_primitive::<Date32Type>().value(i);
            // Beyond chrono's dates (±262,000 years): the number, which the
            // loader refuses as not a date.
            match epoch().checked_add_signed(chrono::Duration::days(i64::from(days))) {
                Some(date) => write!(out, "{date}"),
                None => write!(out, "{days} days after 1970-01-01"),
            }
        }
        DataType::Date64 => write_instant(out, column.as_primitive::<Date64Type>().value(i), 1_000, None),
        DataType::Timestamp(unit, _) => {
            let (value, per_second) = match unit {
                TimeUnit::Second => (column.as_primitive::<TimestampSecondType>().value(i), 1),
                TimeUnit::Millisecond => (column.as_primitive::<TimestampMillisecondType>().value(i), 1_000),
                TimeUnit::Microsecond => (column.as_primitive::<TimestampMicrosecondType>().value(i), 1_000_000),
                TimeUnit::Nanosecond => (column.as_primitive::<TimestampNanosecondType>().value(i), 1_000_000_000),
            };
            let zone = match column.data_type() {
                DataType::Timestamp(_, Some(zone)) => zone.parse::<Tz>().ok(),
                _ => None,
            };
            write_instant(out, value, per_second, zone)
        }
        DataType::Dictionary(_, _) => {
            let dictionary = column.as_any_dictionary();
            let keys = dictionary.keys();
            let key = match keys.data_type() {
                DataType::Int8 => keys.as_primitive::<Int8Type>().value(i) as usize,
                DataType::Int16 => keys.as_primitive::<Int16Type>().value(i) as usize,
                DataType::Int32 => keys.as_primitive::<Int32Type>().value(i) as usize,
                DataType::Int64 => keys.as_primitive::<Int64Type>().value(i) as usize,
                DataType::UInt8 => keys.as_primitive::<UInt8Type>().value(i) as usize,
                DataType::UInt16 => keys.as_primitive::<UInt16Type>().value(i) as usize,
                DataType::UInt32 => keys.as_primitive::<UInt32Type>().value(i) as usize,
                DataType::UInt64 => keys.as_primitive::<UInt64Type>().value(i) as usize,
                _ => return,
            };
            format_cell(dictionary.values().as_ref(), key, out);
            Ok(())
        }
        _ => Ok(()),
    };
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")
}

/// An instant `value / per_second` seconds after the epoch, as the wall
/// clock of `zone` (a timestamp column's time zone; UTC without one) shows
/// it: its date, and its time of day when it is not midnight. (Local
/// midnight in Tokyo is 15:00 UTC the day before.)
fn write_instant(out: &mut Vec<u8>, value: i64, per_second: i64, zone: Option<Tz>) -> std::io::Result<()> {
    let seconds = value.div_euclid(per_second);
    let nanos = (value.rem_euclid(per_second) * (1_000_000_000 / per_second)) as u32;
    let Some(utc) = DateTime::from_timestamp(seconds, nanos) else {
        return Ok(());
    };
    let local = match zone {
        Some(zone) => utc.with_timezone(&zone).naive_local(),
        None => utc.naive_utc(),
    };
    match local.time() == chrono::NaiveTime::MIN {
        true => write!(out, "{}", local.date()),
        false => write!(out, "{local}"),
    }
}

#[cfg(test)]
mod tests {
    use super::format_cell;
    use arrow_array::{Date32Array, TimestampMillisecondArray, TimestampNanosecondArray};

    fn text(column: &dyn arrow_array::Array, i: usize) -> String {
        let mut out = Vec::new();
        format_cell(column, i, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn dates_and_timestamps_read_as_the_csv_loader_reads_them() {
        // 2011-01-29 is day 15,003 after the epoch.
        assert_eq!(text(&Date32Array::from(vec![15_003]), 0), "2011-01-29");
        // Past chrono's range (found by the `parquet` fuzz target): no panic.
        assert_eq!(
            text(&Date32Array::from(vec![i32::MAX]), 0),
            "2147483647 days after 1970-01-01"
        );
        let day_ms = 15_003 * 86_400_000_i64;
        let ms = TimestampMillisecondArray::from(vec![Some(day_ms), Some(day_ms + 30_600_000), None]);
        assert_eq!(text(&ms, 0), "2011-01-29");
        assert_eq!(text(&ms, 1), "2011-01-29 08:30:00");
        assert_eq!(text(&ms, 2), "", "a null reads as an empty cell");
        let ns = TimestampNanosecondArray::from(vec![day_ms * 1_000_000]);
        assert_eq!(text(&ns, 0), "2011-01-29");
    }

    #[test]
    fn timestamps_with_a_time_zone_read_as_that_zone_s_wall_clock() {
        // Local midnight of 2011-01-29 in Tokyo (UTC+9) is 15:00 UTC on the 28th.
        let day_ms = 15_003 * 86_400_000_i64;
        let tokyo_midnight = day_ms - 9 * 3_600_000;
        for zone in ["Asia/Tokyo", "+09:00"] {
            let ms = TimestampMillisecondArray::from(vec![tokyo_midnight]).with_timezone(zone);
            assert_eq!(text(&ms, 0), "2011-01-29", "{zone}");
        }
        // New York midnight (UTC-5 in January) is 05:00 UTC the same day.
        let ms = TimestampMillisecondArray::from(vec![day_ms + 5 * 3_600_000]).with_timezone("America/New_York");
        assert_eq!(text(&ms, 0), "2011-01-29");
        let utc = TimestampMillisecondArray::from(vec![day_ms]).with_timezone("UTC");
        assert_eq!(text(&utc, 0), "2011-01-29");
        assert!(!super::readable(&arrow_schema::DataType::Timestamp(
            arrow_schema::TimeUnit::Millisecond,
            Some("Mars/Olympus".into())
        )));
    }
}
