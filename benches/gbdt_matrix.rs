//! `gbdt` beside LightGBM on the same feature matrix and objective
//! (`benches/gbdt_vs_lightgbm.sh` runs both): for every fold of SPEC's
//! backtest and every horizon step, the training rows of the `direct`
//! strategy (trendlab's own features of the fold's series, each scaled by
//! its training statistics) and the forecast rows at the fold's origin go
//! to CSV files in OUT, with the actual values and each series' MASE scale;
//! trendlab's trees (the first configuration of model `gbdt` in SPEC, made
//! direct) are fitted on them here, timed, and their forecasts written
//! beside, for `benches/peers/lightgbm_matrix.py` to fit LightGBM on the
//! same files and score both.
//!
//!   cargo bench --bench gbdt_matrix -- --spec SPEC --out OUT

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;
use trendlab_engine::execute::fold_input;
use trendlab_models::features::{PreparedSeries, training_rows};
use trendlab_models::{FoldInput, Forecaster, SeriesForecast};
use trendlab_spec::{FamilySpec, Strategy};

fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn csv_line(out: &mut impl Write, values: impl IntoIterator<Item = String>) {
    writeln!(out, "{}", values.into_iter().collect::<Vec<_>>().join(",")).expect("writes");
}

fn main() {
    let spec = PathBuf::from(flag("--spec").unwrap_or_else(|| "experiments/retail_weekly_families.toml".into()));
    let out = PathBuf::from(flag("--out").expect("--out DIR"));
    std::fs::create_dir_all(&out).expect("creates OUT");
    let prepared = trendlab_results::prepare(&spec).expect("the spec and its data load");
    let config = prepared
        .experiment
        .configs()
        .into_iter()
        .find(|c| c.model == "gbdt")
        .expect("SPEC has a model named `gbdt`");
    let FamilySpec::Gbdt(mut gbdt) = config.family.clone() else {
        panic!("model `gbdt` is not of family gbdt");
    };
    gbdt.strategy = Strategy::Direct;
    let e = prepared.experiment.evaluation();
    let season = e.season.max(1);
    let names = prepared.features.names();
    let mut fit_seconds = 0.0;
    for fold in &prepared.backtest.folds {
        let windows = prepared.windows(fold);
        let input: FoldInput<'_> = fold_input(&prepared, &windows, None);
        let series: Vec<PreparedSeries<'_>> = input
            .series
            .iter()
            .map(|s| PreparedSeries::for_fold(s, gbdt.scaling, None).expect("series scale"))
            .collect();
        for step in 1..=e.horizon {
            let mut train = std::fs::File::create(out.join(format!("f{}_k{step}_train.csv", fold.index))).unwrap();
            csv_line(
                &mut train,
                std::iter::once("y".to_string()).chain(names.iter().cloned()),
            );
            for s in &series {
                training_rows(input.features, s, step, |x, y| {
                    csv_line(
                        &mut train,
                        std::iter::once(y.to_string()).chain(x.iter().map(f64::to_string)),
                    );
                });
            }
        }
        // trendlab's forecasts: the direct models, fitted and timed here.
        let start = Instant::now();
        let forecasts = trendlab_gbdt::Gbdt(gbdt.clone()).forecast(&input).expect("gbdt fits");
        fit_seconds += start.elapsed().as_secs_f64();
        for step in 1..=e.horizon {
            let mut test = std::fs::File::create(out.join(format!("f{}_k{step}_test.csv", fold.index))).unwrap();
            let header = ["series", "actual", "shift", "scale", "mase_scale", "trendlab"];
            csv_line(
                &mut test,
                header.iter().map(|h| h.to_string()).chain(names.iter().cloned()),
            );
            for ((w, s), f) in windows.iter().zip(&series).zip(&forecasts) {
                let panel_series = &prepared.panel.series[w.series];
                let Some(&actual) = panel_series.target[w.test.clone()].get(step - 1) else {
                    continue;
                };
                let y = s.history.target;
                let diffs: Vec<f64> = y.windows(season + 1).map(|p| (p[season] - p[0]).abs()).collect();
                let mase_scale = diffs.iter().sum::<f64>() / diffs.len().max(1) as f64;
                let n = s.history.train_len();
                let mut row = Vec::new();
                input.features.row(s, n + step - 1, n - 1, &mut row);
                let ours = f
                    .as_ref()
                    .map(|f: &SeriesForecast| f.mean[step - 1])
                    .unwrap_or(f64::NAN);
                let fixed = [
                    s.history.id.to_string(),
                    actual.to_string(),
                    s.scaler.shift.to_string(),
                    s.scaler.scale.to_string(),
                    mase_scale.to_string(),
                    ours.to_string(),
                ];
                csv_line(&mut test, fixed.into_iter().chain(row.iter().map(f64::to_string)));
            }
        }
    }
    let meta = serde_json::json!({
        "spec": spec,
        "config": config.label(),
        "params": gbdt,
        "seed": prepared.experiment.document.experiment.seed,
        "folds": prepared.backtest.folds.len(),
        "horizon": e.horizon,
        "features": names,
        "trendlab_fit_seconds": fit_seconds,
        "threads": rayon::current_num_threads(),
    });
    std::fs::write(out.join("meta.json"), serde_json::to_vec_pretty(&meta).unwrap()).unwrap();
    println!(
        "{}",
        serde_json::json!({"trendlab_fit_seconds": fit_seconds, "out": out})
    );
}
