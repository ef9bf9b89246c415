//! DeepAR's forecast: sample paths. The LSTM reads each series' last
//! window; its state is copied once per path; then, period by period, each
//! path draws its value from the distribution the network emits and feeds
//! it back (scaled as the window) as the next input, with the covariates of
//! the period the next step forecasts ([`super::inputs`]). Each path draws from
//! its own generator, seeded by the run's seed, the series and the path, so
//! the paths do not depend on how series are split among threads.
//!
//! The LSTM runs on the host (the kernel's inference state,
//! [`crate::kernel::infer::State`]) whatever device trained it.

use super::inputs::StepInputs;
use super::likelihood::Emission;
use crate::kernel::Shape;
use crate::kernel::infer::{State, advance};
use crate::rng::derive;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rayon::prelude::*;

/// Series whose paths advance together (one matrix product per layer and
/// period for all their paths).
const SERIES_PER_PIECE: usize = 4;

/// Per forecast window of `inputs`: `samples` paths over `horizon`
/// periods, `[horizon, samples]`, in the series' units.
pub fn sample_paths(
    shape: &Shape,
    params: &[f32],
    emission: &Emission,
    inputs: StepInputs<'_>,
    horizon: usize,
    samples: usize,
    seed: u64,
) -> Vec<Vec<f64>> {
    let rows = inputs.batch.rows;
    let starts: Vec<usize> = (0..rows).step_by(SERIES_PER_PIECE).collect();
    starts
        .par_iter()
        .flat_map_iter(|&first| {
            let series = first..(first + SERIES_PER_PIECE).min(rows);
            piece(shape, params, emission, inputs, series, horizon, samples, seed)
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn piece(
    shape: &Shape,
    params: &[f32],
    emission: &Emission,
    inputs: StepInputs<'_>,
    series: std::ops::Range<usize>,
    horizon: usize,
    samples: usize,
    seed: u64,
) -> Vec<Vec<f64>> {
    let (n, w, steps) = (series.len(), inputs.width(), inputs.steps);
    let mut state = State::new(shape, n);
    let mut x = vec![0.0f32; n * w];
    for t in 0..steps {
        for (b, s) in series.clone().enumerate() {
            inputs.write_own(s, t, &mut x[b * w..(b + 1) * w]);
        }
        advance(shape, params, &mut state, &x);
    }
    let mut state = state.repeat(samples);
    let mut rngs: Vec<Xoshiro256PlusPlus> = series
        .clone()
        .flat_map(|s| (0..samples).map(move |j| Xoshiro256PlusPlus::seed_from_u64(derive(seed, &[s as u64, j as u64]))))
        .collect();
    let mut paths = vec![vec![0.0f64; horizon * samples]; n];
    let mut x = vec![0.0f32; n * samples * w];
    let p = shape.outputs;
    for t in 0..horizon {
        let raw = state.outputs(shape, params, &[], &[]);
        for (r, rng) in rngs.iter_mut().enumerate() {
            let (b, j) = (r / samples, r % samples);
            let (shift, scale) = inputs.batch.scales[series.start + b];
            let value = emission.decouple(&raw[r * p..(r + 1) * p], shift, scale).sample(rng);
            paths[b][t * samples + j] = value;
            if t + 1 < horizon {
                // The draw for the window's period `steps + t`, read with the
                // covariates of the period after it.
                let scaled = ((value - f64::from(shift)) / f64::from(scale)) as f32;
                inputs.write(series.start + b, steps + t, scaled, &mut x[r * w..(r + 1) * w]);
            }
        }
        if t + 1 < horizon {
            advance(shape, params, &mut state, &x);
        }
    }
    paths
}

/// The `q` quantile of sorted values, linearly interpolated (numpy's and
/// torch's default).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let at = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        let v = [1.0, 2.0, 4.0, 8.0];
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert_eq!(quantile(&v, 1.0), 8.0);
        assert!((quantile(&v, 0.9) - 6.8).abs() < 1e-12);
    }
}
