//! The LSTM training workload of `benches/peers/torch_lstm_reference.py`,
//! through trendlab's training loop: a 1-layer LSTM 8→64 with a linear head
//! on the last step, X[12800, 28, 8] and y[12800] standard normal, batch
//! 256, Adam 1e-3, MSE; one warm-up epoch, then the median of 3 timed
//! epochs, and inference over all 12,800 windows. Prints JSON.
//!
//! `cargo bench --bench lstm -- [--threads N] [--path kernel|burn]`
//! (default: 2 threads, as the PyTorch script; `burn` times the same
//! network on burn's flex backend with autodiff, the path GPUs take).

use std::time::Instant;
use trendlab_neural::device::Backend;
use trendlab_neural::samples::Samples;
use trendlab_neural::train::{TrainConfig, predict, train};

#[path = "support/workload.rs"]
mod workload;

fn main() {
    let threads = workload::threads();
    let path = workload::flag("--path").unwrap_or_else(|| "kernel".into());
    let backend = match path.as_str() {
        "kernel" => Backend::Kernel,
        "burn" => Backend::burn_cpu(),
        other => panic!("--path kernel|burn, not {other}"),
    };
    let samples = workload::lstm_workload();
    let n = samples.len();
    let config = TrainConfig {
        hidden: 64,
        layers: 1,
        dropout: 0.0,
        lr: 1e-3,
        batch_size: 256,
        epochs: 4,
        patience: 0,
        seed: 0,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    pool.install(|| {
        let mut epochs = Vec::new();
        let trained = train(
            &mut samples.clone(),
            &mut Samples::default(),
            &config,
            &backend,
            None,
            |e| epochs.push(e.clone()),
        )
        .expect("training");
        let mut timed: Vec<f64> = epochs[1..].iter().map(|e| e.seconds).collect();
        timed.sort_by(f64::total_cmp);
        let mut inference: Vec<f64> = (0..3)
            .map(|_| {
                let start = Instant::now();
                let out = predict(&trained.network, &trained.shape, &samples, &backend);
                assert_eq!(out.len(), n);
                start.elapsed().as_secs_f64()
            })
            .collect();
        inference.sort_by(f64::total_cmp);
        let round = |v: f64| (v * 1e4).round() / 1e4;
        println!(
            "{{\"trendlab\": \"{}\", \"path\": \"{path}\", \"threads\": {threads}, \"warmup_epoch_s\": {}, \
             \"epoch_times_s\": {:?}, \"median_epoch_s\": {}, \"final_losses\": {:?}, \"inference_all_12800_s\": {}}}",
            env!("CARGO_PKG_VERSION"),
            round(epochs[0].seconds),
            epochs[1..].iter().map(|e| round(e.seconds)).collect::<Vec<_>>(),
            round(timed[1]),
            epochs[1..]
                .iter()
                .map(|e| (e.train * 1e5).round() / 1e5)
                .collect::<Vec<_>>(),
            round(inference[1]),
        );
    });
}
