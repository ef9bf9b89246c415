//! Data errors name the file and line; fill policies; gzip; short series.

use crate::common::{dataset, write};
use std::io::Write;
use std::path::Path;
use trendlab_ops::{Error, Workspace};
use trendlab_results::PrepareError;
use trendlab_results::Prepared;

/// The prepared spec, or the spec's or data's own error.
fn prepared(spec: &Path) -> Result<Prepared, PrepareError> {
    match Workspace::open(spec, spec.parent().unwrap()) {
        Ok(w) => Ok(w.prepared),
        Err(Error::Spec { error, .. }) => Err(error),
        Err(other) => panic!("not a spec or data error: {other}"),
    }
}

/// A daily spec over `data_file` (in `dir`) with one naive model, a 1-step
/// horizon and one fold; `data_extra` is appended to `[data]`.
fn spec(dir: &Path, data_file: &str, data_extra: &str) -> std::path::PathBuf {
    let text = format!(
        "[experiment]\nname = \"t\"\n\n[data]\npath = \"{data_file}\"\ntime = \"date\"\nid = \"id\"\ntarget = \"y\"\nfrequency = \"D\"\n{data_extra}\n\n[evaluation]\nhorizon = 1\nmin_train = 2\n\n[[models]]\nname = \"naive\"\nfamily = \"naive\"\n"
    );
    write(dir, "spec.toml", &text)
}

fn load(csv: &str, data_extra: &str) -> (tempfile::TempDir, Result<Prepared, PrepareError>) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "data.csv", csv);
    let result = prepared(&spec(dir.path(), "data.csv", data_extra));
    (dir, result)
}

fn error(csv: &str, data_extra: &str) -> String {
    let (_dir, result) = load(csv, data_extra);
    let message = result.expect_err("the data is broken").to_string();
    assert!(!message.contains("panicked"));
    message
}

#[test]
fn duplicate_rows_name_both_lines() {
    let csv = "date,id,y\n2024-01-01,a,1\n2024-01-02,a,2\n2024-01-02,a,5\n";
    let e = error(csv, "");
    assert!(
        e.ends_with("data.csv:4: duplicate row for series `a` on 2024-01-02 (first at line 3)"),
        "{e}"
    );
}

#[test]
fn non_numeric_and_non_finite_targets_name_the_line() {
    let e = error("date,id,y\n2024-01-01,a,1\n2024-01-02,a,lots\n", "");
    assert!(
        e.ends_with("data.csv:3: `y` value `lots` is not a finite number"),
        "{e}"
    );
    let e = error("date,id,y\n2024-01-01,a,NaN\n", "");
    assert!(e.ends_with("data.csv:2: `y` value `NaN` is not a finite number"), "{e}");
    // An empty target is the future (rows past a series' last value, for
    // `forecast`): not at a series' start, nor followed by a value.
    let e = error("date,id,y\n2024-01-01,a,\n", "");
    assert!(
        e.ends_with(
            "data.csv:2: `y` is empty in the first row of series `a`: a series starts with a value (rows with it empty are the future, past its last value)"
        ),
        "{e}"
    );
    let e = error("date,id,y\n2024-01-01,a,1\n2024-01-02,a,\n2024-01-03,a,3\n", "");
    assert!(
        e.ends_with(
            "data.csv:4: series `a` has a `y` on 2024-01-03 after the row of 2024-01-02 left it empty (line 3): only rows past a series' last `y` may leave it empty"
        ),
        "{e}"
    );
    let e = error("date,id,y\n2024-01-01,a,1\n2024-01-02,a,2\n2024-01-04,a,\n", "");
    assert!(
        e.ends_with(
            "data.csv:4: future row of series `a` on 2024-01-04 (`y` empty): expected 2024-01-03, the period after 2024-01-02; future rows follow a series' last value period by period"
        ),
        "{e}"
    );
}

#[test]
fn unsorted_rows_are_an_error() {
    let e = error("date,id,y\n2024-01-02,a,1\n2024-01-03,b,1\n2024-01-01,a,2\n", "");
    assert!(
        e.contains("data.csv:4: rows are not sorted: series `a` has 2024-01-01 after 2024-01-02 (line 2)"),
        "{e}"
    );
}

#[test]
fn bad_dates_and_ragged_rows_name_the_line() {
    let e = error("date,id,y\n2024-01-01,a,1\nsoon,a,2\n", "");
    assert!(
        e.ends_with(
            "data.csv:3: `date` value `soon` is not a date: expected YYYY-MM-DD (optionally followed by a time, \
             e.g. 2010-12-01 08:26:00) or the US M/D/YYYY [H:MM] of spreadsheet exports"
        ),
        "{e}"
    );
    let e = error("date,id,y\n2024-01-01,a,1\n2024-01-02,a\n", "");
    assert!(e.ends_with("data.csv:3: the row has 2 fields, the header 3"), "{e}");
}

#[test]
fn missing_file_is_named() {
    let missing = Path::new("/nonexistent/sales.csv");
    let e = trendlab_data::read_header(missing).unwrap_err().to_string();
    assert!(e.starts_with("/nonexistent/sales.csv: cannot read:"), "{e}");
}

#[test]
fn gaps_are_errors_unless_filled_with_zero() {
    let csv = "date,id,y\n2024-01-01,a,1\n2024-01-02,a,2\n2024-01-05,a,5\n2024-01-06,a,6\n";
    let e = error(csv, "");
    assert!(
        e.contains("data.csv:4: series `a` skips 2 period(s) between 2024-01-02 (line 3) and 2024-01-05"),
        "{e}"
    );
    let (_dir, prepared) = load(csv, "fill = \"zero\"");
    let series = &prepared.unwrap().panel.series[0];
    assert_eq!(series.target, vec![1.0, 2.0, 0.0, 0.0, 5.0, 6.0]);
    assert_eq!(series.dates.len(), 6);
}

#[test]
fn dates_off_the_frequency_are_errors() {
    let csv = "date,id,y\n2024-01-01,a,1\n2024-01-09,a,2\n";
    let (dir, _) = load(csv, "");
    let text = std::fs::read_to_string(dir.path().join("spec.toml"))
        .unwrap()
        .replace("frequency = \"D\"", "frequency = \"W-MON\"");
    let spec = write(dir.path(), "spec.toml", &text);
    let e = prepared(&spec).unwrap_err().to_string();
    assert!(
        e.ends_with("data.csv:3: date 2024-01-09 is not on the `W-MON` frequency (expected 2024-01-08)"),
        "{e}"
    );
}

#[test]
fn gzip_files_read_like_plain_ones() {
    let csv = "date,id,y\n2024-01-01,a,1\n2024-01-02,a,2\n2024-01-03,a,4\n";
    let (_plain_dir, plain) = load(csv, "");
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(dir.path().join("data.csv.gz")).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(csv.as_bytes()).unwrap();
    gz.finish().unwrap();
    let gzipped = prepared(&spec(dir.path(), "data.csv.gz", "")).unwrap();
    assert_eq!(gzipped.panel.series, plain.unwrap().panel.series);
}

#[test]
fn short_series_are_skipped_with_their_reason() {
    let csv = "date,id,y\n2024-01-01,a,1\n2024-01-02,a,2\n2024-01-03,a,4\n2024-01-02,b,1\n2024-01-03,b,1\n2024-01-01,c,1\n2024-01-02,c,1\n";
    let (_dir, prepared) = load(csv, "");
    let backtest = prepared.unwrap().backtest;
    assert_eq!(backtest.series, vec![0]);
    assert_eq!(
        backtest.skipped,
        vec![
            (
                "b".to_string(),
                "1 periods before the first cutoff 2024-01-02, needs 2".to_string()
            ),
            (
                "c".to_string(),
                "ends 2024-01-02 before the last test date 2024-01-03".to_string()
            ),
        ]
    );
}

/// Every message names the physical line: LF and CRLF line ends, a quoted
/// field spanning lines, gzip, and the rows a message cites besides its own.
#[test]
fn messages_name_the_physical_line_whatever_the_line_ends() {
    let rows = ["date,id,y", "2024-01-01,a,1", "2024-01-02,a,lots", "2024-01-03,a,2"];
    for end in ["\n", "\r\n"] {
        let csv = rows.join(end) + end;
        let e = error(&csv, "");
        assert!(
            e.ends_with("data.csv:3: `y` value `lots` is not a finite number"),
            "{end:?}: {e}"
        );
        // A duplicate cites the earlier row's line too.
        let duplicate = ["date,id,y", "2024-01-01,a,1", "2024-01-02,a,2", "2024-01-02,a,5"].join(end) + end;
        let e = error(&duplicate, "");
        assert!(
            e.ends_with("data.csv:4: duplicate row for series `a` on 2024-01-02 (first at line 3)"),
            "{end:?}: {e}"
        );
        // A text cell over two lines: the next record starts a line later.
        let quoted = format!("date,id,y,note{end}2024-01-01,a,1,\"two{end}lines\"{end}2024-01-02,a,lots,x{end}");
        let e = error(&quoted, "text = \"note\"");
        assert!(
            e.ends_with("data.csv:4: `y` value `lots` is not a finite number"),
            "{end:?}: {e}"
        );
    }

    // The bundled weekly CSV (CRLF, from a spreadsheet export) with a bad
    // quantity on physical line 1000, gzipped as well.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(dataset("online_retail_weekly.csv")).unwrap();
    assert!(text.contains("\r\n"), "the bundled file has CRLF line ends");
    let mut lines: Vec<String> = text.split("\r\n").map(str::to_string).collect();
    let mut cells: Vec<&str> = lines[999].split(',').collect();
    cells[3] = "many";
    lines[999] = cells.join(",");
    write(dir.path(), "weekly.csv", &lines.join("\r\n"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(lines.join("\r\n").as_bytes()).unwrap();
    std::fs::write(dir.path().join("weekly.csv.gz"), gz.finish().unwrap()).unwrap();
    for file in ["weekly.csv", "weekly.csv.gz"] {
        let spec = format!(
            "[experiment]\nname = \"w\"\n\n[data]\npath = \"{file}\"\ntime = \"week_start\"\nid = \"stock_code\"\ntarget = \"quantity\"\nfrequency = \"W-MON\"\n\n[evaluation]\nhorizon = 4\n\n[[models]]\nname = \"naive\"\nfamily = \"naive\"\n"
        );
        let e = prepared(&write(dir.path(), "spec.toml", &spec))
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with(&format!("{file}:1000: `quantity` value `many` is not a finite number")),
            "{e}"
        );
    }
}

/// A column named twice in the header is an error naming both positions,
/// not silently the first one.
#[test]
fn a_column_named_twice_in_the_header_is_refused() {
    let e = error("date,id,y,y\n2024-01-01,a,1,2\n2024-01-02,a,2,3\n", "");
    assert!(
        e.contains("column `y` appears twice in the header of") && e.contains("(columns 3 and 4): rename one"),
        "{e}"
    );
}

/// A US-style date off the frequency shows the text as written and how it
/// was read; a damaged gzip archive is called that, not malformed CSV or a
/// missing column.
#[test]
fn misread_dates_and_damaged_archives_say_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "data.csv",
        "date,id,y\n03/01/2011,a,1\n03/08/2011,a,2\n03/15/2011,a,3\n",
    );
    let weekly = spec(dir.path(), "data.csv", "").to_str().unwrap().to_string();
    let weekly = std::fs::read_to_string(&weekly)
        .unwrap()
        .replace("frequency = \"D\"", "frequency = \"W-MON\"");
    let e = prepared(&write(dir.path(), "spec.toml", &weekly))
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with(
            "data.csv:2: date `03/01/2011` (read as 2011-03-01, month/day/year) is not on the `W-MON` frequency (expected 2011-02-28)"
        ),
        "{e}"
    );

    let csv = "date,id,y\n2024-01-01,a,1\n2024-01-02,a,2\n2024-01-03,a,3\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(csv.as_bytes()).unwrap();
    let sound = gz.finish().unwrap();
    let mut corrupt = sound.clone();
    corrupt[15] ^= 0xff;
    corrupt[20] ^= 0xff;
    for (bytes, damage) in [
        (corrupt, "corrupt"),
        (sound[..25].to_vec(), "incomplete deflate stream"),
    ] {
        std::fs::write(dir.path().join("data.csv.gz"), bytes).unwrap();
        let e = prepared(&spec(dir.path(), "data.csv.gz", "")).unwrap_err().to_string();
        assert!(
            e.contains("data.csv.gz: damaged gzip archive: ") && e.contains(damage),
            "{e}"
        );
    }
}
