//! Chronos-Bolt forecasting throughput on the CPU, timed: every series of a
//! bundled data set (whole histories as contexts, cut to the model's 2048)
//! forecast by a checkpoint (`benches/peers/chronos_bolt_reference.py`
//! writes one with random weights and times the reference on the same):
//! one warm-up pass, then the median of 3. Prints one JSON line: series per
//! second and peak memory (the process' high-water mark, loading included).
//!
//! `cargo bench --bench chronos -- --checkpoint DIR --data retail|m5 [--threads N]`

use std::collections::BTreeMap;
use std::io::Read;
use std::time::Instant;
use trendlab_neural::chronos::Bolt;

#[path = "support/workload.rs"]
#[allow(dead_code)]
mod workload;

/// Each series' values, by id, from a bundled CSV (gzipped or not).
fn series(data: &str) -> (Vec<Vec<f32>>, usize) {
    let (path, key, target, horizon) = match data {
        "retail" => ("datasets/online_retail_weekly.csv", "stock_code", "quantity", 8),
        "m5" => ("datasets/m5_sample50_daily.csv.gz", "series_id", "value", 28),
        other => panic!("--data retail or m5, not {other}"),
    };
    let mut text = String::new();
    let file = std::fs::File::open(path).expect("the bundled data");
    if path.ends_with(".gz") {
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut text)
            .expect("gzip");
    } else {
        std::io::BufReader::new(file).read_to_string(&mut text).expect("csv");
    }
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().expect("a header").clone();
    let at = |name: &str| headers.iter().position(|h| h == name).expect("the column");
    let (k, y) = (at(key), at(target));
    let mut out: BTreeMap<String, Vec<f32>> = BTreeMap::new();
    for row in reader.records() {
        let row = row.expect("a row");
        out.entry(row[k].to_string())
            .or_default()
            .push(row[y].parse().expect("a number"));
    }
    (out.into_values().collect(), horizon)
}

/// Peak resident memory of this process, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let threads = workload::threads();
    let checkpoint = workload::flag("--checkpoint").expect("--checkpoint DIR");
    let data = workload::flag("--data").unwrap_or_else(|| "retail".into());
    let (contexts, horizon) = series(&data);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    pool.install(|| {
        let model = Bolt::load(std::path::Path::new(&checkpoint)).expect("the checkpoint loads");
        let refs: Vec<&[f32]> = contexts.iter().map(Vec::as_slice).collect();
        model.forecast(&refs, horizon);
        let mut times: Vec<f64> = (0..3)
            .map(|_| {
                let start = Instant::now();
                let out = model.forecast(&refs, horizon);
                assert_eq!(out.len(), refs.len());
                start.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let seconds = times[1];
        println!(
            "{}",
            serde_json::json!({
                "implementation": "trendlab",
                "data": data,
                "series": contexts.len(),
                "seconds": (seconds * 1e4).round() / 1e4,
                "series_per_s": (contexts.len() as f64 / seconds * 100.0).round() / 100.0,
                "peak_rss_mib": (peak_rss_mib() * 10.0).round() / 10.0,
            })
        );
    });
}
