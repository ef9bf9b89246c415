//! Transaction-log mode on the raw UCI Online Retail log (541,909 rows).

use crate::common::{dataset, write};
use chrono::NaiveDate;
use trendlab_ops::Workspace;

fn aggregate(extra: &str) -> trendlab_data::Panel {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!(
        "[experiment]\nname = \"raw\"\n\n[data]\npath = {:?}\n\n[data.aggregate]\nsum = \"Quantity\"\nby = \"StockCode\"\ntime = \"InvoiceDate\"\nfrequency = \"D\"\ntext = \"Description\"\n{extra}\n\n[evaluation]\nhorizon = 7\n\n[[models]]\nname = \"naive\"\nfamily = \"naive\"\n",
        dataset("online_retail_2010_2011.csv.gz").to_str().unwrap()
    );
    Workspace::open(&write(dir.path(), "spec.toml", &spec), dir.path())
        .expect("the raw log aggregates")
        .prepared
        .panel
}

fn value(panel: &trendlab_data::Panel, id: &str, date: &str) -> f64 {
    let series = panel.series.iter().find(|s| s.id == id).expect("series exists");
    let date: NaiveDate = date.parse().unwrap();
    series.target[series.position(date, panel.frequency).expect("date inside the series")]
}

#[test]
fn raw_log_reproduces_known_totals() {
    let panel = aggregate("");
    assert_eq!(panel.rows_read, 541_909);
    assert_eq!(panel.series.len(), 4_070, "distinct stock codes of the UCI log");
    // 85123A on 2010-12-01, 17 invoice lines summed by hand:
    // 6+6+6+64+32+6+4+8+6+3+32+4+128+128+6+9+6 = 454.
    assert_eq!(value(&panel, "85123A", "2010-12-01"), 454.0);
    // 10133 on 2011-07-01: invoices 558679 (20), 558707 (4), 558714 (10) and
    // the cancellation C558716 (-10): 24 in all.
    assert_eq!(value(&panel, "10133", "2011-07-01"), 24.0);
    let heart = panel.series.iter().find(|s| s.id == "85123A").unwrap();
    assert_eq!(heart.text.as_deref(), Some("WHITE HANGING HEART T-LIGHT HOLDER"));
    // Every series runs to the log's last day, zero-filled.
    assert_eq!(heart.dates.last(), Some(&"2011-12-09".parse().unwrap()));
    assert_eq!(
        value(&panel, "85123A", "2010-12-04"),
        0.0,
        "a Saturday: the shop never sold"
    );
}

#[test]
fn positive_only_drops_cancellations_and_top_keeps_the_largest() {
    let panel = aggregate("positive_only = true\ntop = 50");
    assert_eq!(panel.series.len(), 50);
    let ids: Vec<&str> = panel.series.iter().map(|s| s.id.as_str()).collect();
    assert!(ids.contains(&"85123A"), "one of the best sellers");
    assert!(!ids.contains(&"10133"));
    let panel = aggregate("positive_only = true");
    assert_eq!(value(&panel, "10133", "2011-07-01"), 34.0);
}
