//! Fold boundaries, grid expansion counts, and the no-leakage guarantee.

use crate::common::quickstart_variant;
use chrono::NaiveDate;
use trendlab_engine::execute::fold_input;
use trendlab_ops::Workspace;
use trendlab_results::folds::Window;

fn prepared(spec: &std::path::Path) -> Result<trendlab_results::Prepared, trendlab_ops::Error> {
    Ok(Workspace::open(spec, spec.parent().unwrap())?.prepared)
}
use trendlab_models::Forecaster;
use trendlab_models::features::{PreparedSeries, training_rows};
use trendlab_spec::{FamilySpec, Scaling};

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[test]
fn expanding_fold_boundaries_on_the_quickstart() {
    let dir = tempfile::tempdir().unwrap();
    let prepared = prepared(&quickstart_variant(dir.path(), &[])).unwrap();
    let folds = &prepared.backtest.folds;
    // 52 weeks from 2010-12-06; last week 2011-11-28. Cutoffs lie 8 + (2 - k) * 8 weeks back.
    let cutoffs: Vec<NaiveDate> = folds.iter().map(|f| f.cutoff).collect();
    assert_eq!(
        cutoffs,
        vec![date("2011-06-13"), date("2011-08-08"), date("2011-10-03")]
    );
    assert_eq!(
        (folds[0].test_start, folds[0].test_end),
        (date("2011-06-20"), date("2011-08-08"))
    );
    assert_eq!(folds[2].test_end, date("2011-11-28"));
    let first = |k: usize| prepared.windows(&folds[k]).remove(0);
    assert_eq!(
        first(0),
        Window {
            series: 0,
            train: 0..28,
            test: 28..36
        }
    );
    assert_eq!(
        first(2),
        Window {
            series: 0,
            train: 0..44,
            test: 44..52
        }
    );
    assert_eq!(prepared.backtest.series.len(), 200);
}

#[test]
fn sliding_windows_keep_train_size_periods() {
    let dir = tempfile::tempdir().unwrap();
    let spec = quickstart_variant(
        dir.path(),
        &[
            ("window = \"expanding\"", "window = \"sliding\"\ntrain_size = 20"),
            ("step = 8", "step = 4"),
        ],
    );
    let prepared = prepared(&spec).unwrap();
    let windows: Vec<Window> = prepared
        .backtest
        .folds
        .iter()
        .map(|f| prepared.windows(f).remove(0))
        .collect();
    // Cutoff positions 35, 39, 43 (last index 51, minus 8 and 2·4, 4, 0).
    assert_eq!(
        windows[0],
        Window {
            series: 0,
            train: 16..36,
            test: 36..44
        }
    );
    assert_eq!(
        windows[2],
        Window {
            series: 0,
            train: 24..44,
            test: 44..52
        }
    );
}

#[test]
fn grid_expansion_counts() {
    let dir = tempfile::tempdir().unwrap();
    let grid =
        "alpha = [0.1, 1.0, 10.0]\nstrategy = [\"recursive\", \"direct\"]\nscaling = [\"mean_abs\", \"standard\"]";
    let spec = quickstart_variant(
        dir.path(),
        &[("alpha = [0.1, 1.0, 10.0]", grid), ("folds = 3", "folds = 2")],
    );
    let plan = Workspace::open(&spec, dir.path()).unwrap().plan;
    // naive, snaive4, mean, drift + 3 × 2 × 2 ridge configurations, each on 2 folds.
    assert_eq!(plan.configs.len(), 4 + 12);
    assert_eq!(plan.runs.len(), 16 * 2);
    let ridge: Vec<_> = plan.configs.iter().filter(|c| c.model == "ridge").collect();
    assert_eq!(
        ridge[0].label(),
        "ridge[alpha=0.1,scaling=\"mean_abs\",strategy=\"recursive\"]"
    );
    assert_eq!(
        ridge[11].label(),
        "ridge[alpha=10.0,scaling=\"standard\",strategy=\"direct\"]"
    );
    let mut ids: Vec<&str> = plan.runs.iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 32, "run hashes are distinct");
    // The same spec plans the same hashes.
    let again = Workspace::open(&spec, dir.path()).unwrap().plan;
    assert_eq!(again.runs, plan.runs);
}

/// Training rows of every series of fold 0, and the linear model's forecasts.
fn fold_zero(prepared: &trendlab_results::Prepared) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let fold = &prepared.backtest.folds[0];
    let windows = prepared.windows(fold);
    let input = fold_input(prepared, &windows, None);
    let mut rows = Vec::new();
    for s in &input.series {
        let scaled = PreparedSeries::new(s, Scaling::MeanAbs).unwrap();
        for step in 1..=3 {
            training_rows(input.features, &scaled, step, |x, y| {
                rows.push(x.iter().copied().chain([y]).collect())
            });
        }
    }
    let ridge = prepared
        .experiment
        .configs()
        .into_iter()
        .find(|c| c.model == "ridge")
        .unwrap();
    let FamilySpec::Linear(linear) = ridge.family else {
        panic!("ridge is linear")
    };
    let forecasts = linear.forecast(&input).unwrap();
    (rows, forecasts.into_iter().map(|f| f.unwrap().mean).collect())
}

#[test]
fn changing_future_values_changes_no_training_feature() {
    let dir = tempfile::tempdir().unwrap();
    let spec = quickstart_variant(
        dir.path(),
        &[(
            "calendar = [\"week_of_year\", \"month\"]",
            "calendar = [\"week_of_year\", \"month\"]\nfuture = []",
        )],
    );
    let prepared = prepared(&spec).unwrap();
    let (rows, forecasts) = fold_zero(&prepared);
    assert!(
        rows.len() > 1000 && rows[0].len() > 8,
        "the quickstart has lags, windows, calendar and a covariate"
    );

    // Every target and covariate value after fold 0's cutoff becomes absurd.
    let cutoff = prepared.backtest.folds[0].cutoff;
    let mut future_changed = prepared.clone();
    for s in &mut future_changed.panel.series {
        for t in 0..s.len() {
            if s.dates[t] > cutoff {
                s.target[t] = 1e12;
                s.covariates.iter_mut().for_each(|c| c[t] = -1e12);
            }
        }
    }
    let (rows_after, forecasts_after) = fold_zero(&future_changed);
    assert_eq!(
        rows_after, rows,
        "a training feature moved when only the future changed"
    );
    assert_eq!(forecasts_after, forecasts);

    // Control: changing one value before the cutoff does change the features.
    let mut past_changed = prepared.clone();
    past_changed.panel.series[0].target[10] += 100.0;
    assert_ne!(fold_zero(&past_changed).0, rows);
}
