//! Parquet input: a long-format Parquet file reads as the same CSV does
//! (dates, strings, integers, dictionary-encoded ids), gives the same
//! leaderboard, names the row of a bad value, and a damaged file is an
//! error naming it.

use crate::common::{dataset, leaderboard_without_timing, quickstart_variant, stderr, trendlab};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, Date32Array, DictionaryArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use std::path::Path;
use std::sync::Arc;

/// The quickstart's weekly CSV as Parquet: the week a Date32, the stock
/// code dictionary-encoded, the quantity an Int64, the revenue a Float64.
fn weekly_as_parquet(path: &Path, corrupt_row: Option<usize>) {
    let mut reader = csv::Reader::from_path(dataset("online_retail_weekly.csv")).unwrap();
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let (mut weeks, mut codes, mut texts, mut quantities, mut revenues) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, row) in reader.records().enumerate() {
        let row = row.unwrap();
        let week: chrono::NaiveDate = row[0].parse().unwrap();
        // A Monday moved to a Tuesday: off the W-MON frequency.
        let shift = if corrupt_row == Some(i) { 1 } else { 0 };
        weeks.push((week - epoch).num_days() as i32 + shift);
        codes.push(row[1].to_string());
        texts.push(row[2].to_string());
        quantities.push(row[3].parse::<i64>().unwrap());
        revenues.push(row[4].parse::<f64>().unwrap());
    }
    let codes: DictionaryArray<Int32Type> = codes.iter().map(String::as_str).collect();
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("week_start", Arc::new(Date32Array::from(weeks))),
        ("stock_code", Arc::new(codes)),
        ("description", Arc::new(StringArray::from(texts))),
        ("quantity", Arc::new(Int64Array::from(quantities))),
        ("revenue", Arc::new(Float64Array::from(revenues))),
    ];
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, a)| Field::new(*name, a.data_type().clone(), false))
            .collect::<Vec<_>>(),
    ));
    assert!(matches!(schema.field(1).data_type(), DataType::Dictionary(_, _)));
    let batch = RecordBatch::try_new(schema.clone(), columns.into_iter().map(|(_, a)| a).collect()).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

fn parquet_spec(dir: &Path) -> std::path::PathBuf {
    let csv = format!("{:?}", dataset("online_retail_weekly.csv").to_str().unwrap());
    let parquet = format!("{:?}", dir.join("weekly.parquet").to_str().unwrap());
    quickstart_variant(dir, &[(&csv, &parquet)])
}

#[test]
fn a_parquet_file_gives_the_leaderboard_of_its_csv() {
    let dir = tempfile::tempdir().unwrap();
    weekly_as_parquet(&dir.path().join("weekly.parquet"), None);
    let csv_spec = quickstart_variant(dir.path(), &[]);
    let o = trendlab(
        dir.path(),
        &["run", csv_spec.to_str().unwrap(), "--out", "csv", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let spec = parquet_spec(dir.path());
    let o = trendlab(
        dir.path(),
        &["run", spec.to_str().unwrap(), "--out", "parquet", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // Same numbers (the run ids differ: the file's bytes are the data's identity).
    let strip_ids = |rows: Vec<String>| -> Vec<String> {
        rows.into_iter()
            .map(|r| {
                r.split(',')
                    .filter(|c| c.len() != 16 && !c.contains(';'))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect()
    };
    assert_eq!(
        strip_ids(leaderboard_without_timing(&dir.path().join("parquet"), "quickstart")),
        strip_ids(leaderboard_without_timing(&dir.path().join("csv"), "quickstart"))
    );
}

#[test]
fn a_bad_parquet_row_or_a_damaged_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weekly.parquet");
    weekly_as_parquet(&path, Some(41));
    let spec = parquet_spec(dir.path());
    let o = trendlab(dir.path(), &["validate", spec.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("weekly.parquet: row 42: date"), "{}", stderr(&o));
    weekly_as_parquet(&path, None);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let o = trendlab(dir.path(), &["validate", spec.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("weekly.parquet") && stderr(&o).contains("damaged or truncated Parquet file"),
        "{}",
        stderr(&o)
    );
}
