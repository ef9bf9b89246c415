//! Opening CSV and CSV.gz files, reading headers, and parsing the cells the
//! loaders need (dates, numbers) with errors that name the line.

use crate::DataError;
use crate::parquet_rows::{ParquetRows, is_parquet};
use chrono::NaiveDate;
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

/// A CSV reader over a plain or gzip file (by the `.gz` extension).
pub(crate) fn open(path: &Path) -> Result<csv::Reader<Box<dyn Read>>, DataError> {
    Ok(csv::ReaderBuilder::new()
        .buffer_capacity(1 << 16)
        .from_reader(bytes_of(path)?))
}

/// Whether `path` names a gzip file (by its `.gz` extension).
fn is_gzip(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "gz")
}

/// The file's bytes, decompressed when it is gzip (by the `.gz` extension).
fn bytes_of(path: &Path) -> Result<Box<dyn Read>, DataError> {
    let file = File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(if is_gzip(path) {
        Box::new(MultiGzDecoder::new(BufReader::with_capacity(1 << 16, file)))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, file))
    })
}

/// The error to report when `path` is a `.gz` file that cannot be
/// decompressed to its end (a corrupt or truncated archive); `None` for
/// other files and sound archives. Reads the whole file: for messages only.
pub fn gzip_damage(path: &Path) -> Option<DataError> {
    if !is_gzip(path) {
        return None;
    }
    let mut reader = bytes_of(path).ok()?;
    let damage = std::io::copy(&mut reader, &mut std::io::sink()).err()?;
    Some(DataError::file(path, format!("damaged gzip archive: {damage}")))
}

/// `error` of reading `path`, unless the file is a damaged gzip archive:
/// then that is what to say (whatever the decompressed bytes looked like).
pub fn explain_damage(path: &Path, error: DataError) -> DataError {
    gzip_damage(path).unwrap_or(error)
}

/// Where a record starts, for messages: the csv crate's byte offset, and
/// its line count (which is one short after a CRLF line end); or a Parquet
/// file's row number.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RecordStart {
    byte: u64,
    csv_line: u64,
    /// The 1-based row of a Parquet file.
    row: Option<u64>,
}

impl RecordStart {
    pub(crate) fn of(position: Option<&csv::Position>) -> RecordStart {
        position.map_or(RecordStart::default(), |p| RecordStart {
            byte: p.byte(),
            csv_line: p.line(),
            row: None,
        })
    }

    /// The error `message` about this record of `path`.
    pub(crate) fn error(self, path: &Path, message: String) -> DataError {
        match self.row {
            Some(row) => DataError::file(path, format!("row {row}: {message}")),
            None => DataError::line(path, self.line(path), message),
        }
    }

    /// Where the record is, for messages: `line 12` (CSV) or `row 11` (Parquet).
    pub(crate) fn place(self, path: &Path) -> String {
        match self.row {
            Some(row) => format!("row {row}"),
            None => format!("line {}", self.line(path)),
        }
    }

    /// The physical line (1-based) the record starts on, whatever the line
    /// ends (LF, CRLF) and however many lines earlier quoted fields span:
    /// the line breaks before its first byte, counted by reading the file
    /// again (only when a message needs it). The csv crate's count when the
    /// file cannot be read again.
    pub(crate) fn line(self, path: &Path) -> u64 {
        physical_line(path, self.byte).unwrap_or(self.csv_line)
    }
}

/// 1 + the line feeds before the first byte at or after `byte` that is not
/// a line end (a record's offset may point at the end of the line before).
fn physical_line(path: &Path, byte: u64) -> Option<u64> {
    let mut reader = bytes_of(path).ok()?;
    let mut buffer = vec![0u8; 1 << 16];
    let (mut line, mut offset) = (1, 0u64);
    loop {
        let read = reader.read(&mut buffer).ok()?;
        if read == 0 {
            return Some(line);
        }
        for (i, &b) in buffer[..read].iter().enumerate() {
            if offset + i as u64 >= byte && b != b'\r' && b != b'\n' {
                return Some(line);
            }
            if b == b'\n' {
                line += 1;
            }
        }
        offset += read as u64;
    }
}

/// The rows of a long-format file: CSV (plain or gzip) or Parquet.
pub(crate) enum Rows {
    Csv(csv::Reader<Box<dyn Read>>),
    Parquet(ParquetRows),
}

impl Rows {
    pub(crate) fn open(path: &Path) -> Result<Rows, DataError> {
        Ok(if is_parquet(path) {
            Rows::Parquet(ParquetRows::open(path)?)
        } else {
            Rows::Csv(open(path)?)
        })
    }

    pub(crate) fn header(&mut self, path: &Path) -> Result<csv::ByteRecord, DataError> {
        match self {
            Rows::Csv(reader) => reader.byte_headers().map_err(|e| csv_error(path, e)).cloned(),
            Rows::Parquet(rows) => Ok(csv::ByteRecord::from(rows.header().to_vec())),
        }
    }

    /// Reads the next row into `record`; `false` at the end.
    pub(crate) fn read(&mut self, path: &Path, record: &mut csv::ByteRecord) -> Result<bool, DataError> {
        match self {
            Rows::Csv(reader) => reader.read_byte_record(record).map_err(|e| csv_error(path, e)),
            Rows::Parquet(rows) => rows.read(record),
        }
    }

    /// The time zone of column `index` (Parquet timestamps with one).
    pub(crate) fn zone(&self, index: usize) -> Option<String> {
        match self {
            Rows::Csv(_) => None,
            Rows::Parquet(rows) => rows.zone(index),
        }
    }

    /// Where `record`, the row just read, starts.
    pub(crate) fn start(&self, record: &csv::ByteRecord) -> RecordStart {
        match self {
            Rows::Csv(_) => RecordStart::of(record.position()),
            Rows::Parquet(rows) => RecordStart {
                row: Some(rows.row()),
                ..RecordStart::default()
            },
        }
    }
}

/// Column names of a CSV, CSV.gz or Parquet file.
pub fn read_header(path: &Path) -> Result<Vec<String>, DataError> {
    if is_parquet(path) {
        return Ok(ParquetRows::open(path)?.header().to_vec());
    }
    let mut reader = open(path)?;
    let header = reader.headers().map_err(|e| csv_error(path, e))?;
    if header.is_empty() {
        return Err(DataError::file(path, "the file is empty (no header row)"));
    }
    Ok(header.iter().map(|h| h.trim().to_string()).collect())
}

/// Index of each named column in the header.
pub(crate) fn column_indexes(
    path: &Path,
    header: &csv::ByteRecord,
    names: &[impl AsRef<str>],
) -> Result<Vec<usize>, DataError> {
    names
        .iter()
        .map(|name| {
            let name = name.as_ref();
            let mut found = header
                .iter()
                .enumerate()
                .filter(|(_, h)| h.trim_ascii() == name.as_bytes())
                .map(|(i, _)| i);
            match (found.next(), found.next()) {
                (Some(i), None) => Ok(i),
                (Some(first), Some(second)) => Err(DataError::file(
                    path,
                    format!(
                        "column `{name}` appears twice in the header (columns {} and {}): rename one",
                        first + 1,
                        second + 1
                    ),
                )),
                (None, _) => Err(DataError::file(
                    path,
                    format!("column `{name}` not found in the header"),
                )),
            }
        })
        .collect()
}

pub(crate) fn csv_error(path: &Path, e: csv::Error) -> DataError {
    let message = match e.kind() {
        // The csv crate compares every record with the first (the header).
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            Some(format!("the row has {len} fields, the header {expected_len}"))
        }
        csv::ErrorKind::Utf8 { err, .. } => Some(match utf16_byte_order_mark(path) {
            true => "the file is UTF-16 (it starts with a UTF-16 byte order mark): save it as UTF-8".to_string(),
            false => format!(
                "field {} is not valid UTF-8 (after its first {} bytes): save the file as UTF-8",
                err.field() + 1,
                err.valid_up_to()
            ),
        }),
        _ => None,
    };
    match e.position() {
        Some(pos) => DataError::line(
            path,
            RecordStart::of(Some(pos)).line(path),
            message.unwrap_or_else(|| format!("malformed CSV: {e}")),
        ),
        None => match e.into_kind() {
            csv::ErrorKind::Io(source) => DataError::Io {
                path: path.to_path_buf(),
                source,
            },
            kind => DataError::file(path, message.unwrap_or_else(|| format!("malformed CSV: {kind:?}"))),
        },
    }
}

/// Whether the (decompressed) file starts with a UTF-16 byte order mark.
fn utf16_byte_order_mark(path: &Path) -> bool {
    let mut start = [0u8; 2];
    bytes_of(path).is_ok_and(|mut r| r.read_exact(&mut start).is_ok()) && matches!(start, [0xFF, 0xFE] | [0xFE, 0xFF])
}

/// Parses `YYYY-MM-DD`, optionally followed by a time (`2010-12-01 08:26:00`,
/// `2010-12-01T08:26`), or the US `M/D/YYYY[ H:MM]` of spreadsheet exports.
pub(crate) fn parse_date(cell: &[u8]) -> Option<NaiveDate> {
    let cell = cell.trim_ascii();
    let digits = |b: &[u8]| -> Option<u32> {
        if b.is_empty() || b.len() > 4 || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(b.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
    };
    if cell.len() >= 10 && cell[4] == b'-' && cell[7] == b'-' && (cell.len() == 10 || matches!(cell[10], b' ' | b'T')) {
        return NaiveDate::from_ymd_opt(digits(&cell[..4])? as i32, digits(&cell[5..7])?, digits(&cell[8..10])?);
    }
    let date = cell.split(|b| *b == b' ').next()?;
    let mut parts = date.split(|b| *b == b'/');
    let (m, d, y) = (digits(parts.next()?)?, digits(parts.next()?)?, digits(parts.next()?)?);
    (parts.next().is_none() && y >= 1000)
        .then(|| NaiveDate::from_ymd_opt(y as i32, m, d))
        .flatten()
}

/// Refuses a series whose dates from `first` to `last` span more than
/// [`trendlab_spec::MAX_PERIODS`] periods (a mistyped year, a sentinel like
/// 9999-12-31): filling it would take memory no forecast needs.
pub(crate) fn check_span(
    path: &Path,
    series: &str,
    first: NaiveDate,
    last: NaiveDate,
    frequency: trendlab_spec::Frequency,
) -> Result<usize, DataError> {
    let periods = frequency.periods_between(first, last).unsigned_abs() as usize + 1;
    if periods > trendlab_spec::MAX_PERIODS {
        return Err(DataError::file(
            path,
            format!(
                "series `{series}` runs from {first} to {last}, {periods} periods at frequency `{frequency}`, more than the {} any series may span: check those dates",
                trendlab_spec::MAX_PERIODS
            ),
        ));
    }
    Ok(periods)
}

/// The date formats [`parse_date`] reads, for messages.
pub(crate) const DATE_FORMATS: &str = "YYYY-MM-DD (optionally followed by a time, e.g. 2010-12-01 08:26:00) or the US M/D/YYYY [H:MM] of spreadsheet exports";

/// How a date cell reads, for messages: `2011-03-01`, or `03/01/2011
/// (read as 2011-03-01, month/day/year)` when it was not written that way.
pub(crate) fn date_as_read(cell: &[u8], date: NaiveDate) -> String {
    let text = cell_str(cell);
    if text.starts_with(&date.to_string()) {
        format!("{date}")
    } else {
        format!("`{text}` (read as {date}, month/day/year)")
    }
}

/// Parses a finite number; an error message otherwise.
pub(crate) fn parse_number(cell: &[u8], column: &str) -> Result<f64, String> {
    let text = std::str::from_utf8(cell).unwrap_or("").trim();
    if text.is_empty() {
        return Err(format!("`{column}` is empty"));
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("`{column}` value `{text}` is not a finite number")),
    }
}

pub(crate) fn cell_str(cell: &[u8]) -> String {
    String::from_utf8_lossy(cell.trim_ascii()).into_owned()
}

/// BLAKE3 of the file's bytes followed by the options it was read with.
pub(crate) fn fingerprint(path: &Path, options: &[u8]) -> Result<String, DataError> {
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(File::open(path).map_err(io)?).map_err(io)?;
    hasher.update(options);
    Ok(hasher.finalize().to_hex()[..16].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_the_formats_retail_exports_use() {
        let d = |s: &str| parse_date(s.as_bytes());
        let dec1 = NaiveDate::from_ymd_opt(2010, 12, 1);
        assert_eq!(d("2010-12-01"), dec1);
        assert_eq!(d("2010-12-01 08:26:00"), dec1);
        assert_eq!(d("2010-12-01T08:26"), dec1);
        assert_eq!(d("12/1/2010 8:26"), dec1);
        assert_eq!(d("2010-13-01"), None);
        assert_eq!(d("yesterday"), None);
        assert_eq!(d("2010-12-011"), None);
    }

    #[test]
    fn numbers_must_be_finite() {
        assert_eq!(parse_number(b" 2.5 ", "q"), Ok(2.5));
        assert!(parse_number(b"NaN", "q").unwrap_err().contains("not a finite number"));
        assert!(parse_number(b"", "q").unwrap_err().contains("empty"));
    }
}
