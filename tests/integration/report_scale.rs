//! The report of a large panel: past `[report] all_up_to` series the
//! explorer holds the largest by volume, the best model's worst, a seeded
//! sample and the named ones, and says what it left out; every aggregation
//! level of the evaluation has its own entries, and the leaderboard shows
//! WRMSSE per level.

use crate::common::{chart_data, dataset, quickstart_variant, repo, stderr, trendlab, write};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The explorer's entries: `(id, level)`.
fn entries(data: &Value) -> Vec<(String, Option<String>)> {
    data["explorer"]["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["level"].as_str().map(String::from),
            )
        })
        .collect()
}

#[test]
fn past_all_up_to_the_explorer_holds_the_largest_the_worst_a_sample_and_the_named() {
    let dir = tempfile::tempdir().unwrap();
    let report = "rank_by = \"mase\"\n\n[report]\nall_up_to = 10\ntop = 3\nworst = 2\nsample = 4\nseries = [\"85123A\", \"no-such-id\"]\n";
    let spec = quickstart_variant(dir.path(), &[("rank_by = \"mase\"\n", report)]);
    let o = trendlab(dir.path(), &["run", spec.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(dir.path().join("reports/quickstart/index.html")).unwrap();
    let data = chart_data(&html);
    let entries = entries(&data);
    assert_eq!(entries[0], ("total".to_string(), Some("total".to_string())));
    let held: BTreeSet<&str> = entries[1..].iter().map(|(id, _)| id.as_str()).collect();
    // The three largest by total quantity.
    let mut volume: BTreeMap<String, f64> = BTreeMap::new();
    let mut reader = csv::Reader::from_path(dataset("online_retail_weekly.csv")).unwrap();
    for row in reader.records() {
        let row = row.unwrap();
        *volume.entry(row[1].to_string()).or_default() += row[3].parse::<f64>().unwrap();
    }
    let mut by_volume: Vec<(&String, &f64)> = volume.iter().collect();
    by_volume.sort_by(|a, b| b.1.total_cmp(a.1));
    for (id, _) in &by_volume[..3] {
        assert!(held.contains(id.as_str()), "{id} is among the largest");
    }
    // The best model's two worst series by MASE (mean over its folds).
    let board: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("reports/quickstart/leaderboard.json")).unwrap())
            .unwrap();
    let store = trendlab_results::RunStore::new(dir.path(), "quickstart");
    let mut mase: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for run_id in board["rows"][0]["run_ids"].as_array().unwrap() {
        for (id, values) in store.series_metrics(run_id.as_str().unwrap()).unwrap() {
            if let Some(v) = values.get("mase") {
                mase.entry(id).or_default().push(*v);
            }
        }
    }
    let mut worst: Vec<(String, f64)> = mase
        .into_iter()
        .map(|(id, v)| (id, v.iter().sum::<f64>() / v.len() as f64))
        .collect();
    worst.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (id, _) in &worst[..2] {
        assert!(held.contains(id.as_str()), "{id} is among the worst");
    }
    assert!(held.contains("85123A"), "named");
    // 3 + 2 + 4 + 1 at most (the picks may overlap), the sample's 4 at least on top of the rest.
    assert!((7..=10).contains(&held.len()), "{held:?}");
    assert!(
        html.contains(&format!("It holds {} of the 200 series", held.len())),
        "the note"
    );
    assert!(
        html.contains("<code>no-such-id</code>"),
        "the named id that is not evaluated"
    );
    // Seeded: the same sample again.
    let again = tempfile::tempdir().unwrap();
    let spec = quickstart_variant(again.path(), &[("rank_by = \"mase\"\n", report)]);
    assert!(
        trendlab(again.path(), &["run", spec.to_str().unwrap(), "--quiet"])
            .status
            .success()
    );
    let html = std::fs::read_to_string(again.path().join("reports/quickstart/index.html")).unwrap();
    assert_eq!(self::entries(&chart_data(&html)), entries);
}

#[test]
fn every_level_of_the_m5_hierarchy_has_entries_and_a_wrmsse_column() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("experiments/m5_daily.toml")).unwrap();
    let text = text
        .replace(
            "\"../datasets/m5_sample50_daily.csv.gz\"",
            &format!("{:?}", dataset("m5_sample50_daily.csv.gz").to_str().unwrap()),
        )
        // The baselines are enough here.
        .split("[[models]]\nname = \"ridge\"")
        .next()
        .unwrap()
        .to_string()
        + "\n[report]\nper_level = 2\n";
    let spec = write(dir.path(), "m5.toml", &text);
    let o = trendlab(dir.path(), &["run", spec.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(dir.path().join("reports/m5-daily/index.html")).unwrap();
    let entries = entries(&chart_data(&html));
    // The total, then at most two groups per declared level, then the 50 series.
    let levels: Vec<&str> = entries.iter().filter_map(|(_, l)| l.as_deref()).collect();
    assert_eq!(levels[0], "total");
    let declared = [
        "state_id",
        "store_id",
        "cat_id",
        "dept_id",
        "state_id+cat_id",
        "state_id+dept_id",
        "store_id+cat_id",
        "store_id+dept_id",
        "item_id",
        "item_id+state_id",
    ];
    for level in declared {
        let n = levels.iter().filter(|l| **l == level).count();
        assert!((1..=2).contains(&n), "{level}: {n}");
    }
    assert_eq!(entries.len() - levels.len(), 50);
    assert!(entries.iter().any(|(id, _)| id.starts_with("state_id = ")));
    // The leaderboard's per-level table: every level, and WRMSSE is their mean.
    assert!(html.contains("WRMSSE by aggregation level"));
    let board: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("reports/m5-daily/leaderboard.json")).unwrap())
            .unwrap();
    for row in board["rows"].as_array().unwrap() {
        let levels = row["levels"].as_array().unwrap();
        assert_eq!(levels.len(), 1 + declared.len() + 1, "total, declared, series");
        assert_eq!(levels[0][0], "total");
        assert_eq!(levels[levels.len() - 1][0], "series");
        // Per fold, WRMSSE is the mean of the levels; so are the means over folds.
        let mean = levels.iter().map(|l| l[1].as_f64().unwrap()).sum::<f64>() / levels.len() as f64;
        let wrmsse = row["metrics"]["wrmsse"]["mean"].as_f64().unwrap();
        assert!((mean - wrmsse).abs() < 1e-9 * wrmsse, "{mean} vs {wrmsse}");
    }
}
