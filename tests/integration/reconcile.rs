//! `reconcile`: MinT against hierarchicalforecast 1.x's
//! `MinTrace(method="mint_shrink")` on a hierarchy of real M5 series
//! (tests/goldens/make_hierarchicalforecast_mint.py), bottom-up exactly
//! coherent, top-down splitting the total by historical shares, and
//! reconciled runs end to end.

use crate::common::{dataset, records, repo, stderr, trendlab, write};
use nalgebra::DMatrix;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use trendlab_models::reconcile::{Hierarchy, MINT_RIDGE, mint_projection, shrunk_covariance};

/// The golden's six series, cut from the M5 sample into `dir/six.csv`.
fn six_series(dir: &std::path::Path, ids: &[String]) -> std::path::PathBuf {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(dataset("m5_sample50_daily.csv.gz")).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    for line in lines.filter(|l| ids.iter().any(|id| l.split(',').nth(1) == Some(id))) {
        out.push_str(line);
        out.push('\n');
    }
    write(dir, "six.csv", &out)
}

/// Each series' forecast of `model`'s (only) run: `series → values`.
fn forecasts(out: &std::path::Path, model: &str) -> BTreeMap<String, Vec<f64>> {
    let record = records(out, "hierarchy")
        .into_iter()
        .find(|r| r.model == model)
        .unwrap();
    assert_eq!(
        record.status,
        trendlab_results::RunStatus::Finished,
        "{model}: {:?}",
        record.error
    );
    let store = trendlab_results::RunStore::new(out, "hierarchy");
    let mut by_series: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for row in store.forecasts(&record.run_id).unwrap().rows {
        by_series.entry(row.series_id).or_default().push(row.forecast);
    }
    by_series
}

fn golden() -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo().join("tests/goldens/hierarchicalforecast_mint.json")).unwrap())
        .unwrap()
}

fn matrix(value: &Value) -> DMatrix<f64> {
    let rows: Vec<Vec<f64>> = serde_json::from_value(value.clone()).unwrap();
    DMatrix::from_fn(rows.len(), rows[0].len(), |i, j| rows[i][j])
}

#[test]
fn min_trace_matches_hierarchicalforecast_within_1e_6() {
    let golden = golden();
    let aggregates: Vec<(String, Vec<usize>)> = serde_json::from_value(golden["aggregates"].clone()).unwrap();
    let bottom = golden["series"].as_array().unwrap().len();
    let hierarchy = Hierarchy { aggregates };
    let s = hierarchy.summing_matrix(bottom);
    let (y_hat, residuals) = (matrix(&golden["y_hat"]), matrix(&golden["residuals"]));
    let w = shrunk_covariance(&residuals, MINT_RIDGE);
    let p = mint_projection(&s, &w).unwrap();
    let reconciled = &s * (&p * &y_hat);
    let expected = matrix(&golden["min_trace"]);
    let worst = (&reconciled - &expected).abs().max();
    assert!(worst < 1e-6, "largest difference {worst}");
    // Incoherent base forecasts: MinT moved them; the result is coherent.
    assert!((&y_hat - &expected).abs().max() > 0.01);
    let coherent = &s * reconciled.rows(s.nrows() - bottom, bottom);
    assert!((&coherent - &reconciled).abs().max() < 1e-9);
    // Bottom-up: the aggregates are the series' sums, exactly.
    let bottom_up = &s * y_hat.rows(s.nrows() - bottom, bottom);
    assert_eq!(bottom_up, matrix(&golden["bottom_up"]));
}

#[test]
fn reconciled_runs_are_coherent_and_bottom_up_is_the_series_own() {
    let ids: Vec<String> = serde_json::from_value(golden()["series"].clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = six_series(dir.path(), &ids);
    let mut spec = format!(
        r#"[experiment]
name = "hierarchy"
[data]
path = {:?}
time = "date"
id = "series_id"
target = "value"
frequency = "D"
nonnegative = false
[evaluation]
horizon = 28
folds = 1
metrics = ["mae", "wrmsse"]
rank_by = "wrmsse"
[evaluation.wrmsse]
levels = ["store_id", "cat_id"]
"#,
        data.to_str().unwrap()
    );
    for (name, family, reconcile) in [
        ("naive", "naive", "none"),
        ("naive_bu", "naive", "bottom_up"),
        ("naive_mint", "naive", "min_trace"),
        ("naive_td", "naive", "top_down"),
        ("ets", "ets", "none"),
        ("ets_mint", "ets", "min_trace"),
    ] {
        spec.push_str(&format!(
            "[[models]]\nname = \"{name}\"\nfamily = \"{family}\"\nreconcile = \"{reconcile}\"\n"
        ));
    }
    let spec = write(dir.path(), "spec.toml", &spec);
    let o = trendlab(dir.path(), &["run", spec.to_str().unwrap(), "--out", "out", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.path().join("out");
    let naive = forecasts(&out, "naive");
    // Bottom-up: the series' own forecasts, bit for bit.
    assert_eq!(forecasts(&out, "naive_bu"), naive);
    // Naive forecasts of a hierarchy are coherent already: MinT keeps them.
    let mint = forecasts(&out, "naive_mint");
    for id in &ids {
        assert!(
            (mint[id][0] - naive[id][0]).abs() < 1e-9 * naive[id][0].abs().max(1.0),
            "{id}"
        );
    }
    // Top-down: the total's forecast split by training shares.
    let top_down = forecasts(&out, "naive_td");
    let total: f64 = ids.iter().map(|id| naive[id][0]).sum();
    let split: f64 = ids.iter().map(|id| top_down[id][0]).sum();
    assert!((split - total).abs() < 1e-9 * total.max(1.0), "{split} vs {total}");
    // ETS's aggregates are not the sums of its series' forecasts: MinT moves them.
    let (ets, ets_mint) = (forecasts(&out, "ets"), forecasts(&out, "ets_mint"));
    assert!(ids.iter().any(|id| (ets[id][0] - ets_mint[id][0]).abs() > 1e-3));
    // The reconciled runs have no intervals, and are scored like any other.
    let board: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("reports/hierarchy/leaderboard.json")).unwrap())
            .unwrap();
    assert!(board["rows"].as_array().unwrap().iter().all(|r| r["rank"].is_number()));
}

/// A family that reads no `[features]` (ETS) reconciles whatever
/// covariates the data declares: the aggregates go without them, as the
/// series do. (It was refused at run time, every run failing.)
#[test]
fn a_family_without_features_reconciles_beside_declared_covariates() {
    let ids: Vec<String> = serde_json::from_value(golden()["series"].clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = six_series(dir.path(), &ids);
    let spec = format!(
        "[experiment]\nname = \"hierarchy\"\n[data]\npath = {:?}\ntime = \"date\"\nid = \"series_id\"\ntarget = \"value\"\nfrequency = \"D\"\ncovariates = [\"snap\"]\n[features]\nlags = [7]\nfuture = [\"snap\"]\n[evaluation]\nhorizon = 28\nfolds = 1\nmetrics = [\"mae\"]\n[evaluation.wrmsse]\nlevels = [\"store_id\"]\n[[models]]\nname = \"ets_td\"\nfamily = \"ets\"\nmodel = \"ANN\"\nreconcile = \"top_down\"\n[[models]]\nname = \"ets_mint\"\nfamily = \"ets\"\nmodel = \"ANN\"\nreconcile = \"min_trace\"\n",
        data.to_str().unwrap()
    );
    let spec = write(dir.path(), "spec.toml", &spec);
    let o = trendlab(dir.path(), &["run", spec.to_str().unwrap(), "--out", "out", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for model in ["ets_td", "ets_mint"] {
        assert_eq!(forecasts(&dir.path().join("out"), model).len(), ids.len(), "{model}");
    }
}

#[test]
fn reconcile_refuses_what_it_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    for (family, reconcile, expected) in [
        ("theta", "min_trace", "in-sample one-step residuals"),
        ("linear", "top_down", "aggregates have no covariates"),
        ("naive", "sideways", "unknown variant `sideways`"),
    ] {
        let spec = crate::common::quickstart_variant(
            dir.path(),
            &[(
                "name = \"naive\"\nfamily = \"naive\"\n",
                &format!("name = \"naive\"\nfamily = \"{family}\"\nreconcile = \"{reconcile}\"\n"),
            )],
        );
        let o = trendlab(dir.path(), &["validate", spec.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{family} {reconcile}");
        assert!(stderr(&o).contains(expected), "{family} {reconcile}: {}", stderr(&o));
    }
}
