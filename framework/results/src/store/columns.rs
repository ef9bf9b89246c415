//! The run store's columnar files, Parquet with zstd-compressed columns:
//! `forecasts.parquet` (one row per series and forecast period: the
//! forecast, the actual and each interval's bounds) and
//! `series_metrics.parquet` (one row per series, one column per metric; a
//! missing value is null). The ids are dictionary-encoded, so a 30,490-series
//! run costs a few megabytes. `trendlab export` writes both back as CSV.
//!
//! Each file names its run in its key-value metadata (`trendlab.run_id`):
//! a file copied over another run's is refused when read as that run's.

use super::{ForecastRow, ForecastTable, StoreError};
use arrow_array::{Array, ArrayRef, Date32Array, Float64Array, RecordBatch, StringArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema};
use chrono::NaiveDate;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// The fixed columns of `forecasts.parquet` (and of its CSV export), before
/// `lo_<level>, hi_<level>` per interval level.
pub const FORECAST_COLUMNS: [&str; 7] = ["series_id", "fold", "cutoff", "date", "step", "actual", "forecast"];

/// Rows per row group: a reader holds one group's columns at a time.
const ROW_GROUP: usize = 1 << 20;

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")
}

fn days(date: NaiveDate) -> i32 {
    (date - epoch()).num_days() as i32
}

fn date_of(days: i32) -> NaiveDate {
    epoch() + chrono::Duration::days(i64::from(days))
}

/// The key-value metadata entry naming a file's run.
const RUN_ID_KEY: &str = "trendlab.run_id";

/// Parquet bytes of one record batch of `columns`, of run `run_id`.
fn write_parquet(columns: Vec<(String, ArrayRef)>, run_id: &str) -> Vec<u8> {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| Field::new(name, array.data_type().clone(), array.null_count() > 0))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns.into_iter().map(|(_, a)| a).collect())
        .expect("columns of one length and their declared types");
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("a valid zstd level")))
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .set_key_value_metadata(Some(vec![KeyValue::new(RUN_ID_KEY.to_string(), run_id.to_string())]))
        .build();
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, schema, Some(properties)).expect("a writable schema");
    writer.write(&batch).expect("writing to memory");
    writer.close().expect("writing to memory");
    bytes
}

/// Every record batch of the Parquet file at `path`, which must be run
/// `run_id`'s when it names its run (files written before it did do not).
fn read_parquet(path: &Path, run_id: &str) -> Result<Vec<RecordBatch>, StoreError> {
    let corrupt = |message: String| StoreError::Corrupt {
        path: path.to_path_buf(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file_len = file.metadata().map_or(u64::MAX, |m| m.len());
    let unreadable = |e: &dyn std::fmt::Display| corrupt(format!("not a readable Parquet file: {e}"));
    let builder = trendlab_data::guarded(|| ParquetRecordBatchReaderBuilder::try_new(file))
        .map_err(|e| unreadable(&e))?
        .map_err(|e| unreadable(&e))?;
    trendlab_data::check_chunks(builder.metadata(), file_len)
        .map_err(|e| corrupt(format!("not a readable Parquet file: {e}")))?;
    let owner = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|entries| entries.iter().find(|e| e.key == RUN_ID_KEY))
        .and_then(|e| e.value.clone());
    if let Some(owner) = owner.filter(|owner| owner != run_id) {
        return Err(corrupt(format!(
            "holds the results of run {owner}, not of run {run_id}"
        )));
    }
    let reader = trendlab_data::guarded(|| builder.with_batch_size(ROW_GROUP).build())
        .map_err(|e| unreadable(&e))?
        .map_err(|e| unreadable(&e))?;
    let damaged = |e: &dyn std::fmt::Display| corrupt(format!("damaged Parquet data: {e}"));
    trendlab_data::guarded(|| reader.collect::<Result<Vec<_>, _>>())
        .map_err(|e| damaged(&e))?
        .map_err(|e| damaged(&e))
}

/// Column `name` of `batch` as an array of type `A`.
fn column<'b, A: Array + 'static>(batch: &'b RecordBatch, name: &str, path: &Path) -> Result<&'b A, StoreError> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<A>())
        .ok_or_else(|| StoreError::Corrupt {
            path: path.to_path_buf(),
            message: format!("no column `{name}` of the expected type"),
        })
}

impl ForecastTable {
    /// `forecasts.parquet` of run `run_id`.
    pub fn to_parquet(&self, run_id: &str) -> Vec<u8> {
        let rows = &self.rows;
        let floats = |f: &dyn Fn(&ForecastRow) -> f64| -> ArrayRef {
            Arc::new(Float64Array::from_iter_values(rows.iter().map(f)))
        };
        let mut columns: Vec<(String, ArrayRef)> = vec![
            (
                "series_id".into(),
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.series_id.as_str()))),
            ),
            (
                "fold".into(),
                Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.fold as u32))),
            ),
            (
                "cutoff".into(),
                Arc::new(Date32Array::from_iter_values(rows.iter().map(|r| days(r.cutoff)))),
            ),
            (
                "date".into(),
                Arc::new(Date32Array::from_iter_values(rows.iter().map(|r| days(r.date)))),
            ),
            (
                "step".into(),
                Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.step as u32))),
            ),
            ("actual".into(), floats(&|r| r.actual)),
            ("forecast".into(), floats(&|r| r.forecast)),
        ];
        for (k, level) in self.levels.iter().enumerate() {
            columns.push((format!("lo_{level}"), floats(&|r| r.bounds[k].0)));
            columns.push((format!("hi_{level}"), floats(&|r| r.bounds[k].1)));
        }
        write_parquet(columns, run_id)
    }

    /// Calls `visit(series_id, fold, step, actual, forecast)` for every
    /// row of `forecasts.parquet`, without building rows (what a pass over
    /// many runs' point forecasts needs); damage is an error naming the file.
    pub fn visit_parquet(
        path: &Path,
        run_id: &str,
        visit: &mut dyn FnMut(&str, usize, usize, f64, f64),
    ) -> Result<(), StoreError> {
        for batch in &read_parquet(path, run_id)? {
            let ids = column::<StringArray>(batch, "series_id", path)?;
            let fold = column::<UInt32Array>(batch, "fold", path)?;
            let step = column::<UInt32Array>(batch, "step", path)?;
            let actual = column::<Float64Array>(batch, "actual", path)?;
            let forecast = column::<Float64Array>(batch, "forecast", path)?;
            for i in 0..batch.num_rows() {
                visit(
                    ids.value(i),
                    fold.value(i) as usize,
                    step.value(i) as usize,
                    actual.value(i),
                    forecast.value(i),
                );
            }
        }
        Ok(())
    }

    /// Reads run `run_id`'s `forecasts.parquet`; any damage is an error
    /// naming the file.
    pub fn from_parquet(path: &Path, run_id: &str) -> Result<ForecastTable, StoreError> {
        let batches = read_parquet(path, run_id)?;
        let corrupt = |message: String| StoreError::Corrupt {
            path: path.to_path_buf(),
            message,
        };
        let mut table = ForecastTable::default();
        let Some(first) = batches.first() else {
            return Ok(table);
        };
        let names: Vec<String> = first.schema().fields().iter().map(|f| f.name().clone()).collect();
        if names.iter().take(FORECAST_COLUMNS.len()).ne(FORECAST_COLUMNS.iter()) {
            return Err(corrupt(format!("unexpected columns {names:?}")));
        }
        table.levels = names[FORECAST_COLUMNS.len()..]
            .iter()
            .step_by(2)
            .map(|name| {
                name.strip_prefix("lo_")
                    .and_then(|l| l.parse::<f64>().ok())
                    .ok_or_else(|| corrupt(format!("unexpected interval column `{name}`")))
            })
            .collect::<Result<_, _>>()?;
        for batch in &batches {
            let ids = column::<StringArray>(batch, "series_id", path)?;
            let fold = column::<UInt32Array>(batch, "fold", path)?;
            let cutoff = column::<Date32Array>(batch, "cutoff", path)?;
            let date = column::<Date32Array>(batch, "date", path)?;
            let step = column::<UInt32Array>(batch, "step", path)?;
            let actual = column::<Float64Array>(batch, "actual", path)?;
            let forecast = column::<Float64Array>(batch, "forecast", path)?;
            let bounds = table
                .levels
                .iter()
                .map(|level| {
                    Ok((
                        column::<Float64Array>(batch, &format!("lo_{level}"), path)?,
                        column::<Float64Array>(batch, &format!("hi_{level}"), path)?,
                    ))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            table.rows.reserve(batch.num_rows());
            for i in 0..batch.num_rows() {
                table.rows.push(ForecastRow {
                    series_id: ids.value(i).to_string(),
                    fold: fold.value(i) as usize,
                    cutoff: date_of(cutoff.value(i)),
                    date: date_of(date.value(i)),
                    step: step.value(i) as usize,
                    actual: actual.value(i),
                    forecast: forecast.value(i),
                    bounds: bounds.iter().map(|(lo, hi)| (lo.value(i), hi.value(i))).collect(),
                });
            }
        }
        Ok(table)
    }
}

/// Each series' metrics: `series → metric → value`.
pub type SeriesMetrics = BTreeMap<String, BTreeMap<String, f64>>;

/// `series_metrics.parquet` of run `run_id`: `series_id`, then one
/// nullable column per metric (sorted by name).
pub fn series_metrics_to_parquet(metrics: &SeriesMetrics, run_id: &str) -> Vec<u8> {
    let names: std::collections::BTreeSet<&String> = metrics.values().flat_map(|m| m.keys()).collect();
    let mut columns: Vec<(String, ArrayRef)> = vec![(
        "series_id".into(),
        Arc::new(StringArray::from_iter_values(metrics.keys())),
    )];
    for name in names {
        let values = Float64Array::from_iter(metrics.values().map(|m| m.get(name).copied()));
        columns.push((name.clone(), Arc::new(values)));
    }
    write_parquet(columns, run_id)
}

/// The series metrics as CSV: `series_id`, then one column per metric
/// (sorted by name; empty where a value is missing).
pub fn series_metrics_to_csv(metrics: &SeriesMetrics) -> Vec<u8> {
    let names: std::collections::BTreeSet<&String> = metrics.values().flat_map(|m| m.keys()).collect();
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = std::iter::once("series_id").chain(names.iter().map(|n| n.as_str()));
    writer.write_record(header).expect("writing to memory");
    for (id, values) in metrics {
        let cells = names
            .iter()
            .map(|n| values.get(*n).map_or_else(String::new, f64::to_string));
        writer
            .write_record(std::iter::once(id.clone()).chain(cells))
            .expect("writing to memory");
    }
    writer.into_inner().expect("writing to memory")
}

/// Reads run `run_id`'s `series_metrics.parquet`; any damage is an error
/// naming the file.
pub fn series_metrics_from_parquet(path: &Path, run_id: &str) -> Result<SeriesMetrics, StoreError> {
    let mut out = SeriesMetrics::new();
    for batch in read_parquet(path, run_id)? {
        let ids = column::<StringArray>(&batch, "series_id", path)?;
        let schema = batch.schema();
        let metrics = schema
            .fields()
            .iter()
            .filter(|f| f.name() != "series_id" && *f.data_type() == DataType::Float64)
            .map(|f| Ok((f.name().clone(), column::<Float64Array>(&batch, f.name(), path)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        for i in 0..batch.num_rows() {
            let values = metrics
                .iter()
                .filter(|(_, c)| c.is_valid(i))
                .map(|(name, c)| (name.clone(), c.value(i)))
                .collect();
            out.insert(ids.value(i).to_string(), values);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(levels: Vec<f64>) -> ForecastTable {
        let day = |d: u32| NaiveDate::from_ymd_opt(2024, 2, d).unwrap();
        let rows = (0..5)
            .map(|i| ForecastRow {
                series_id: if i < 3 { "a, \"quoted\"".into() } else { "b".into() },
                fold: 2,
                cutoff: day(1),
                date: day(2 + i as u32),
                step: i + 1,
                actual: i as f64 * 0.1,
                forecast: 1.0 / (i as f64 + 3.0),
                bounds: levels
                    .iter()
                    .map(|l| (-l * 1e-3 - i as f64, l + std::f64::consts::PI))
                    .collect(),
            })
            .collect();
        ForecastTable { levels, rows }
    }

    #[test]
    fn forecasts_and_series_metrics_read_back_bit_for_bit() {
        let dir = tempfile::tempdir().unwrap();
        for levels in [vec![], vec![80.0, 95.0, 99.5]] {
            let written = table(levels.clone());
            let path = dir.path().join("f.parquet");
            std::fs::write(&path, written.to_parquet("r1")).unwrap();
            assert_eq!(
                ForecastTable::from_parquet(&path, "r1").unwrap(),
                written,
                "levels {levels:?}"
            );
            let mut visited = Vec::new();
            ForecastTable::visit_parquet(&path, "r1", &mut |id, fold, step, actual, forecast| {
                visited.push((id.to_string(), fold, step, actual, forecast));
            })
            .unwrap();
            let expected: Vec<_> = written
                .rows
                .iter()
                .map(|r| (r.series_id.clone(), r.fold, r.step, r.actual, r.forecast))
                .collect();
            assert_eq!(visited, expected);
        }
        let mut metrics = SeriesMetrics::new();
        metrics.insert(
            "a".into(),
            [("mae".to_string(), 0.1 + 0.2), ("mase".to_string(), 1e-300)].into(),
        );
        metrics.insert("b".into(), [("mae".to_string(), 7.0)].into());
        let path = dir.path().join("m.parquet");
        std::fs::write(&path, series_metrics_to_parquet(&metrics, "r1")).unwrap();
        assert_eq!(series_metrics_from_parquet(&path, "r1").unwrap(), metrics);
    }

    #[test]
    fn a_truncated_or_foreign_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("forecasts.parquet");
        let bytes = table(vec![90.0]).to_parquet("r1");
        for damaged in [&bytes[..bytes.len() / 2], b"series_id,fold\n".as_slice(), &[]] {
            std::fs::write(&path, damaged).unwrap();
            let e = ForecastTable::from_parquet(&path, "r1").unwrap_err().to_string();
            assert!(e.contains("forecasts.parquet"), "{e}");
            let e = ForecastTable::visit_parquet(&path, "r1", &mut |_, _, _, _, _| {}).unwrap_err();
            assert!(e.to_string().contains("forecasts.parquet"), "{e}");
        }
    }

    #[test]
    fn a_file_of_another_run_is_refused_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("forecasts.parquet");
        std::fs::write(&path, table(vec![]).to_parquet("other")).unwrap();
        let e = ForecastTable::from_parquet(&path, "mine").unwrap_err().to_string();
        assert!(e.contains("holds the results of run other, not of run mine"), "{e}");
        let e = ForecastTable::visit_parquet(&path, "mine", &mut |_, _, _, _, _| {}).unwrap_err();
        assert!(e.to_string().contains("not of run mine"), "{e}");
        let metrics: SeriesMetrics = [("a".to_string(), [("mae".to_string(), 1.0)].into())].into();
        std::fs::write(&path, series_metrics_to_parquet(&metrics, "other")).unwrap();
        let e = series_metrics_from_parquet(&path, "mine").unwrap_err().to_string();
        assert!(e.contains("not of run mine"), "{e}");
    }
}
