//! The leaderboard's significance section end to end: segments of a
//! hand-built panel (one series of each Syntetos–Boylan class, a product
//! launched late, a category column) classified as built and adding up to
//! the overall leaderboard; paired tests, ranks and intervals on the
//! quickstart; and the reasons given instead of a test with one
//! configuration or one series.

use crate::common::{quickstart_variant, read_json, stderr, trendlab, write};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use trendlab_results::store::SeriesMetrics;

/// Blocks (fold, series id).
type Blocks = Vec<(usize, String)>;

const SPEC: &str = r#"
[experiment]
name = "segments"
seed = 3

[data]
path = "panel.csv"
time = "week"
id = "item"
target = "sales"
frequency = "W-MON"

[evaluation]
horizon = 4
folds = 2
step = 4
metrics = ["mae", "rmse", "mase"]
rank_by = "mase"
segments = ["category"]

[[models]]
name = "naive"
family = "naive"

[[models]]
name = "mean"
family = "mean"

[[models]]
name = "drift"
family = "drift"
"#;

/// 40 weeks of five items: smooth, erratic, intermittent and lumpy from
/// the first week, and `fresh`, launched in week 26 (6 a week since).
fn panel() -> String {
    let mut csv = String::from("week,item,category,sales\n");
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    for t in 0..40i64 {
        let week = start + chrono::Duration::weeks(t);
        let values = [
            ("smooth", "A", 10.0 + (t % 3 - 1) as f64),
            ("erratic", "A", if t % 2 == 0 { 1.0 } else { 20.0 }),
            ("intermittent", "B", if t % 2 == 0 { 5.0 } else { 0.0 }),
            ("lumpy", "B", [1.0, 0.0, 0.0, 30.0, 0.0, 0.0][t as usize % 6]),
            ("fresh", "A", if t >= 26 { 6.0 } else { 0.0 }),
        ];
        for (item, category, sales) in values {
            csv.push_str(&format!("{week},{item},{category},{sales}\n"));
        }
    }
    csv
}

/// `label → fold → series → metric → value`, from the run store.
fn per_series(out: &Path, board: &Value) -> BTreeMap<String, Vec<SeriesMetrics>> {
    let store = trendlab_results::RunStore::new(out, "segments");
    board["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let folds = row["run_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|id| store.series_metrics(id.as_str().unwrap()).unwrap())
                .collect();
            (row["label"].as_str().unwrap().to_string(), folds)
        })
        .collect()
}

#[test]
fn segments_hold_the_series_built_for_them_and_add_up_to_the_leaderboard() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "panel.csv", &panel());
    let spec = write(dir.path(), "segments.toml", SPEC);
    let o = trendlab(dir.path(), &["run", spec.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let board = read_json(&dir.path().join("reports/segments/leaderboard.json"));
    let values = per_series(dir.path(), &board);
    let significance = &board["significance"];
    assert_eq!(significance["new_product_periods"], 8, "twice the horizon");
    let segments = significance["segments"].as_array().unwrap();
    let segment = |dimension: &str, name: &str| {
        segments
            .iter()
            .find(|s| s["dimension"] == dimension && s["segment"] == name)
            .unwrap_or_else(|| panic!("no segment {dimension}: {name}"))
    };
    // What each segment must hold: (fold, series) blocks. `fresh` has 6
    // weeks of sales at the first cutoff (week 31): new there, and 10 at
    // the second: established. Its steady sales are smooth.
    let both = |ids: &[&str]| -> Blocks {
        (0..2)
            .flat_map(|f| ids.iter().map(move |id| (f, id.to_string())))
            .collect()
    };
    let established: Blocks = both(&["smooth", "erratic", "intermittent", "lumpy"])
        .into_iter()
        .chain([(1, "fresh".to_string())])
        .collect();
    let expected: Vec<(&str, &str, Blocks)> = vec![
        ("demand pattern", "smooth", both(&["smooth", "fresh"])),
        ("demand pattern", "erratic", both(&["erratic"])),
        ("demand pattern", "intermittent", both(&["intermittent"])),
        ("demand pattern", "lumpy", both(&["lumpy"])),
        ("history", "new", vec![(0, "fresh".to_string())]),
        ("history", "established", established),
        ("category", "A", both(&["smooth", "erratic", "fresh"])),
        ("category", "B", both(&["intermittent", "lumpy"])),
    ];
    for (dimension, name, blocks) in &expected {
        let s = segment(dimension, name);
        assert_eq!(s["blocks"], blocks.len(), "{dimension}: {name}");
        for row in s["rows"].as_array().unwrap() {
            let label = row["label"].as_str().unwrap();
            for metric in ["mae", "rmse", "mase"] {
                let hand: Vec<f64> = blocks
                    .iter()
                    .filter_map(|(f, id)| values[label][*f].get(id)?.get(metric).copied())
                    .collect();
                let hand = hand.iter().sum::<f64>() / hand.len() as f64;
                let shown = row["metrics"][metric].as_f64().unwrap();
                assert!(
                    (shown - hand).abs() < 1e-9,
                    "{dimension}: {name}, {label} {metric}: {shown} vs {hand}"
                );
            }
        }
    }
    // Every dimension's segments, weighted by their blocks, add up to the
    // overall leaderboard (every fold scored every series).
    for dimension in ["demand pattern", "history", "volume", "category"] {
        let parts: Vec<&Value> = segments.iter().filter(|s| s["dimension"] == dimension).collect();
        let blocks: u64 = parts.iter().map(|s| s["blocks"].as_u64().unwrap()).sum();
        assert_eq!(blocks, 10, "{dimension}: 5 series × 2 folds");
        for row in board["rows"].as_array().unwrap() {
            let label = row["label"].as_str().unwrap();
            for metric in ["mae", "rmse", "mase"] {
                let total: f64 = parts
                    .iter()
                    .map(|s| {
                        let r = s["rows"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .find(|r| r["label"] == label)
                            .unwrap();
                        r["metrics"][metric].as_f64().unwrap() * s["blocks"].as_f64().unwrap()
                    })
                    .sum();
                let overall = row["metrics"][metric]["mean"].as_f64().unwrap();
                assert!(
                    (total / blocks as f64 - overall).abs() < 1e-9,
                    "{dimension}, {label} {metric}: {} vs {overall}",
                    total / blocks as f64
                );
            }
        }
    }
    // A segment column that does not exist is a spec error naming it.
    let typo = write(
        dir.path(),
        "typo.toml",
        &SPEC.replace("segments = [\"category\"]", "segments = [\"categry\"]"),
    );
    let o = trendlab(dir.path(), &["validate", typo.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("column `categry` not found"), "{}", stderr(&o));
}

#[test]
fn one_configuration_or_one_series_gets_a_reason_not_a_nan() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "panel.csv", &panel());
    let only_mean = SPEC
        .split("[[models]]")
        .filter(|part| !part.contains("\"naive\"") && !part.contains("\"drift\""))
        .collect::<Vec<_>>()
        .join("[[models]]");
    let spec = write(dir.path(), "one.toml", &only_mean);
    let o = trendlab(dir.path(), &["run", spec.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        stdout.contains("note: no test: 1 configuration finished every fold, and a test compares two or more"),
        "{stdout}"
    );
    let dir_report = dir.path().join("reports/segments");
    let markdown = std::fs::read_to_string(dir_report.join("leaderboard.md")).unwrap();
    assert!(
        markdown.contains("_No test: 1 configuration finished every fold"),
        "{markdown}"
    );
    for file in ["leaderboard.md", "leaderboard.json", "leaderboard.csv", "index.html"] {
        let text = std::fs::read_to_string(dir_report.join(file)).unwrap();
        assert!(!text.contains("NaN") && !text.contains("nan,"), "{file}");
    }

    let single = panel()
        .lines()
        .filter(|l| !l.contains(",A,") && !l.contains("lumpy"))
        .collect::<Vec<_>>()
        .join("\n");
    write(dir.path(), "panel.csv", &single);
    let spec = write(
        dir.path(),
        "single.toml",
        &SPEC.replace("name = \"segments\"", "name = \"single\""),
    );
    let o = trendlab(dir.path(), &["run", spec.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let board = read_json(&dir.path().join("reports/single/leaderboard.json"));
    assert_eq!(
        board["significance"]["notes"][0],
        "no test: the backtest has 1 series, and a paired test needs two or more"
    );
    assert!(
        board["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r.get("test").is_none() && r.get("interval").is_none())
    );
    let html = std::fs::read_to_string(dir.path().join("reports/single/index.html")).unwrap();
    assert!(
        html.contains("No test: the backtest has 1 series"),
        "the report says why"
    );
}

#[test]
fn quickstart_marks_ties_with_the_best_and_draws_the_critical_difference() {
    let dir = tempfile::tempdir().unwrap();
    let spec = quickstart_variant(dir.path(), &[]);
    let o = trendlab(dir.path(), &["run", spec.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let board = read_json(&dir.path().join("reports/quickstart/leaderboard.json"));
    let rows = board["rows"].as_array().unwrap();
    let s = &board["significance"];
    assert_eq!(s["metric"], "mase");
    assert!(rows[0].get("test").is_none(), "the best is not tested against itself");
    // Every other row is tested on the 600 series × fold pairs, and its Holm
    // p-value is at least its own and decides the mark.
    for row in &rows[1..] {
        let t = &row["test"];
        assert_eq!(t["pairs"], 600, "{}", row["label"]);
        assert!(t["p_holm"].as_f64().unwrap() >= t["p_value"].as_f64().unwrap());
        assert_eq!(t["tied"].as_bool().unwrap(), t["p_holm"].as_f64().unwrap() >= 0.05);
        // Diebold–Mariano on each of the 200 series' 24 horizon errors.
        let dm = &t["dm"];
        assert_eq!(
            (dm["loss"].as_str(), dm["series"].as_u64()),
            (Some("absolute error"), Some(200))
        );
        assert!(dm["worse"].as_u64().unwrap() + dm["better"].as_u64().unwrap() <= 200);
    }
    // Intervals around each mean, reproducible from the seed.
    for row in rows {
        let (lo, hi) = (
            row["interval"]["low"].as_f64().unwrap(),
            row["interval"]["high"].as_f64().unwrap(),
        );
        let mean = row["metrics"]["mase"]["mean"].as_f64().unwrap();
        assert!(lo < mean && mean < hi, "{}: {lo} {mean} {hi}", row["label"]);
    }
    let ranks = &s["ranks"];
    assert_eq!(ranks["blocks"], 600);
    assert_eq!(ranks["configurations"].as_array().unwrap().len(), rows.len());
    let mean_rank: f64 = ranks["configurations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[1].as_f64().unwrap())
        .sum::<f64>()
        / rows.len() as f64;
    assert!(
        (mean_rank - (rows.len() as f64 + 1.0) / 2.0).abs() < 1e-9,
        "ranks average (k+1)/2"
    );
    let html = std::fs::read_to_string(dir.path().join("reports/quickstart/index.html")).unwrap();
    assert!(
        html.contains(r#"id="cd-diagram""#) && html.contains("CD = "),
        "the diagram is drawn"
    );
    assert!(html.contains(r#"<span class="badge">best</span>"#));
    let again = tempfile::tempdir().unwrap();
    let spec = quickstart_variant(again.path(), &[]);
    let o = trendlab(again.path(), &["run", spec.to_str().unwrap(), "--quiet", "--jobs", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let other = read_json(&again.path().join("reports/quickstart/leaderboard.json"));
    assert_eq!(
        other["significance"], board["significance"],
        "same spec and seed, any --jobs"
    );
    for (a, b) in rows.iter().zip(other["rows"].as_array().unwrap()) {
        assert_eq!((&a["test"], &a["interval"]), (&b["test"], &b["interval"]));
    }
}
