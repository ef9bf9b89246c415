//! Local scale-out benchmark (`cargo bench --bench scale`): the wall time of
//! executing a whole grid with `--jobs 1` and `--jobs 2` (runs, and the
//! series within a run, spread over the threads), and the speed-up, on
//! - the quickstart grid (baselines and a ridge grid, 21 runs), and
//! - the ARIMA grid of experiments/arima_weekly.toml (auto-ARIMA with and
//!   without reused orders, three fixed orders, baselines: 24 runs).
//!
//! Every measurement starts from an empty run store; the quickstart figure
//! is the median of 5 repetitions, the ARIMA one of 3. It also checks that
//! both job counts give identical metrics.

use std::path::Path;
use std::time::{Duration, Instant};
use trendlab_engine::{Budget, RunOptions, execute};
use trendlab_ops::Workspace;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Median seconds of executing the plan of `spec` on `jobs` threads, and
/// the metrics of every run (to compare across job counts).
fn time_grid(spec: &Path, jobs: usize, repetitions: usize) -> (Duration, Vec<String>) {
    let mut metrics = Vec::new();
    let samples = (0..repetitions)
        .map(|_| {
            let out = tempfile::tempdir().expect("temp dir");
            let w = Workspace::open(spec, out.path()).expect("a valid spec");
            let (prepared, plan, store) = (&w.prepared, &w.plan, &w.store);
            let options = RunOptions {
                force: false,
                budget: Budget::jobs(jobs),
            };
            let start = Instant::now();
            let summary = execute(prepared, plan, store, options, &()).expect("the store is writable");
            let elapsed = start.elapsed();
            assert!(summary.failed.is_empty(), "runs failed: {:?}", summary.failed);
            metrics = plan
                .runs
                .iter()
                .map(|r| {
                    format!(
                        "{:?}",
                        store.metrics(&r.id).expect("stored").expect("finished").aggregate
                    )
                })
                .collect();
            elapsed
        })
        .collect();
    (median(samples), metrics)
}

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("local scale-out: --jobs 1 vs --jobs 2 on {cores} cores");
    for (name, file, repetitions) in [
        ("quickstart grid", "experiments/quickstart.toml", 5),
        ("ARIMA grid", "experiments/arima_weekly.toml", 3),
    ] {
        let spec = repo.join(file);
        let (one, metrics_one) = time_grid(&spec, 1, repetitions);
        let (two, metrics_two) = time_grid(&spec, 2, repetitions);
        assert_eq!(metrics_one, metrics_two, "{name}: metrics depend on --jobs");
        println!(
            "{name:<16} {} runs   1 job {:>8.1} ms   2 jobs {:>8.1} ms   speed-up {:.2}x",
            metrics_one.len(),
            one.as_secs_f64() * 1e3,
            two.as_secs_f64() * 1e3,
            one.as_secs_f64() / two.as_secs_f64()
        );
    }
}
