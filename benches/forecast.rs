//! `trendlab forecast` benchmark (`cargo bench --bench forecast`): the wall
//! time of the forecast step (choose the configuration from the stored
//! backtest, refit it on all the data, forecast, intervals, write the files
//! and the report), after the backtest it needs (timed too, apart), on
//! - the quickstart (200 weekly series; the leaderboard's first, the mean,
//!   with its own intervals; and ridge, with conformal intervals), and
//! - experiments/retail_daily_forecast.toml (200 daily series; the LSTM over
//!   the calendar, retrained on every window, 28 days ahead).
//!
//! Each forecast figure is the median of 3 (1 for the LSTM) on `--jobs 2`;
//! last, the LSTM's forecast again from its saved model (`--from`).

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use trendlab_ops::Workspace;
use trendlab_ops::execution::{self, RunOptions};
use trendlab_ops::forecast::{self, Choice, ForecastOptions};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn backtest(spec: &Path, out: &Path) -> Duration {
    let start = Instant::now();
    let mut w = Workspace::open(spec, out).expect("a valid spec");
    let outcome = execution::run(&mut w, RunOptions::jobs(2), &(), &Mutex::new(Vec::new())).expect("the backtest runs");
    assert!(outcome.summary.failed.is_empty(), "{:?}", outcome.summary.failed);
    start.elapsed()
}

fn time_forecast(
    spec: &Path,
    out: &Path,
    choice: Choice<'_>,
    horizon: Option<usize>,
    repetitions: usize,
) -> (Duration, String) {
    let mut what = String::new();
    let samples = (0..repetitions)
        .map(|_| {
            let start = Instant::now();
            // Opening the spec (data, plan) is part of what a forecast costs.
            let outcome = forecast::forecast(
                &mut Workspace::open(spec, out).expect("a valid spec"),
                ForecastOptions {
                    choice,
                    horizon,
                    levels: None,
                    future: None,
                    tracking_uri: None,
                    jobs: Some(2),
                    from: None,
                },
            )
            .expect("the forecast runs");
            let elapsed = start.elapsed();
            let f = &outcome.file;
            what = format!(
                "{}: {} series x {} periods, intervals {}",
                f.config, f.series, f.horizon, f.intervals_text
            );
            elapsed
        })
        .collect();
    (median(samples), what)
}

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let quickstart = repo.join("experiments/quickstart.toml");
    let daily = repo.join("experiments/retail_daily_forecast.toml");
    let out = tempfile::tempdir().expect("temp dir");
    println!(
        "trendlab forecast (after its backtest), {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let seconds = backtest(&quickstart, out.path());
    println!("quickstart backtest (21 runs): {:.2} s", seconds.as_secs_f64());
    for choice in [Choice::Best, Choice::Model("ridge")] {
        let (time, what) = time_forecast(&quickstart, out.path(), choice, None, 3);
        println!("  forecast {what}: {:.3} s", time.as_secs_f64());
    }
    let seconds = backtest(&daily, out.path());
    println!(
        "retail_daily_forecast backtest (12 runs, LSTM among them): {:.1} s",
        seconds.as_secs_f64()
    );
    let (time, what) = time_forecast(&daily, out.path(), Choice::Model("lstm"), Some(28), 1);
    println!("  forecast {what}: {:.2} s", time.as_secs_f64());
    // The same from the saved model: no training.
    let model = std::fs::read_dir(out.path().join("forecasts/retail-daily-forecast"))
        .expect("the forecast folder")
        .map(|e| e.expect("an entry").path().join("model"))
        .find(|p| p.is_dir())
        .expect("a saved model");
    let start = Instant::now();
    forecast::forecast(
        &mut Workspace::open(&daily, out.path()).expect("a valid spec"),
        ForecastOptions {
            choice: Choice::Best,
            horizon: None,
            levels: None,
            future: None,
            tracking_uri: None,
            jobs: Some(2),
            from: Some(&model),
        },
    )
    .expect("the forecast from the saved model runs");
    println!(
        "  forecast --from the saved LSTM: {:.2} s",
        start.elapsed().as_secs_f64()
    );
}
