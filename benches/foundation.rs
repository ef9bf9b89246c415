//! Foundation benchmark (`cargo bench --bench foundation`): prints
//! - the time to load and aggregate the raw 541,909-row UCI Online Retail
//!   log into daily series, and
//! - the time to validate and plan a 1,000-run grid (spec checks, data
//!   load, backtest layout, grid expansion, run hashes).
//!
//! Each figure is the median of several repetitions after one warm-up.

use std::path::Path;
use std::time::{Duration, Instant};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn measure<T>(repetitions: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut last = f();
    let samples = (0..repetitions)
        .map(|_| {
            let start = Instant::now();
            last = f();
            start.elapsed()
        })
        .collect();
    (median(samples), last)
}

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("temp dir");

    let raw = repo.join("datasets/online_retail_2010_2011.csv.gz");
    let spec = format!(
        "[experiment]\nname = \"raw\"\n[data]\npath = {:?}\n[data.aggregate]\nsum = \"Quantity\"\nby = \"StockCode\"\ntime = \"InvoiceDate\"\nfrequency = \"D\"\ntext = \"Description\"\n[evaluation]\nhorizon = 28\n[[models]]\nname = \"naive\"\nfamily = \"naive\"\n",
        raw.to_str().unwrap()
    );
    let raw_spec = dir.path().join("raw.toml");
    std::fs::write(&raw_spec, spec).unwrap();
    let experiment = trendlab_spec::load(&raw_spec).expect("valid spec");
    let (time, panel) = measure(5, || trendlab_data::load(&experiment).expect("aggregates"));
    println!(
        "load + aggregate raw log: {:>8.1} ms  ({} rows -> {} daily series, {:.2} M rows/s)",
        time.as_secs_f64() * 1e3,
        panel.rows_read,
        panel.series.len(),
        panel.rows_read as f64 / time.as_secs_f64() / 1e6
    );

    // A grid spec of the quickstart: `n` alphas x 2 strategies x 2 scalings.
    let grid_spec = |n: i32| {
        let alphas: Vec<String> = (0..n)
            .map(|i| format!("{}", if i < 50 { 0.01 * 1.2f64.powi(i) } else { f64::from(i) }))
            .collect();
        std::fs::read_to_string(repo.join("experiments/quickstart.toml"))
            .unwrap()
            .replace(
                "\"../datasets/online_retail_weekly.csv\"",
                &format!("{:?}", repo.join("datasets/online_retail_weekly.csv").to_str().unwrap()),
            )
            .replace("folds = 3", "folds = 5")
            .replace("step = 8", "step = 4")
            .replace(
                "alpha = [0.1, 1.0, 10.0]",
                &format!(
                    "alpha = [{}]\nstrategy = [\"recursive\", \"direct\"]\nscaling = [\"mean_abs\", \"standard\"]",
                    alphas.join(", ")
                ),
            )
    };
    for (alphas, repetitions) in [(50, 10), (10_000, 3)] {
        let grid_path = dir.path().join(format!("grid{alphas}.toml"));
        std::fs::write(&grid_path, grid_spec(alphas)).unwrap();
        let (spec_time, experiment) = measure(repetitions, || trendlab_spec::load(&grid_path).expect("valid spec"));
        let (time, plan) = measure(repetitions, || {
            trendlab_ops::Workspace::open(&grid_path, dir.path())
                .expect("valid spec and data")
                .plan
        });
        assert_eq!(
            plan.configs.len(),
            4 + 4 * alphas as usize,
            "4 baselines + the ridge grid"
        );
        assert_eq!(plan.runs.len(), plan.configs.len() * 5);
        println!(
            "validate + plan grid:     {:>8.1} ms  ({} configurations x {} folds = {} runs; spec checks alone {:.1} ms for {} configs)",
            time.as_secs_f64() * 1e3,
            plan.configs.len(),
            plan.folds.len(),
            plan.runs.len(),
            spec_time.as_secs_f64() * 1e3,
            experiment.configs().len()
        );
    }
}
