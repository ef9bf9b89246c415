//! What the LSTM benches share (included with `#[path]`, as each bench is
//! its own crate): flag parsing and the training workload of
//! `benches/peers/torch_lstm_reference.py`.

use trendlab_neural::rng::SplitMix64;
use trendlab_neural::samples::Samples;

/// The value after `--name` on the command line.
pub fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// `--threads N` (default 2, as the PyTorch script).
pub fn threads() -> usize {
    flag("--threads").map_or(2, |t| t.parse().expect("--threads N"))
}

/// X[12800, 28, 8] and y[12800], standard normal from seed 0; window `r`
/// is series `r`.
pub fn lstm_workload() -> Samples {
    let (n, steps, features) = (256 * 50, 28, 8);
    let mut rng = SplitMix64::new(0);
    let mut normal = || {
        // Box–Muller.
        let (u, v) = (rng.next_f32().max(1e-12), rng.next_f32());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    };
    let mut samples = Samples::new(steps, features, 0, 1);
    samples.x = (0..n * steps * features).map(|_| normal()).collect();
    samples.y = (0..n).map(|_| normal()).collect();
    samples.series = (0..n as u32).collect();
    samples
}
