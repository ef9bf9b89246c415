//! DeepAR's forecast: sample paths. The LSTM reads each series' last
//! window; its state is copied once per path; then, period by period, each
//! path draws its value from the distribution the network emits and feeds
//! it back (scaled as the window) as the next input, with the covariates of
//! the period the next step forecasts ([`super::inputs`]). Each path draws from
//! its own generator, seeded by the run's seed, the series and the path, so
//! the paths do not depend on how series are split among threads.
//!
//! With [`PathFeedback::Mean`] (neuralforecast 3's recurrent forecast) each
//! series has one trajectory that feeds back the distribution's mean; the
//! `samples` draws of each period come from that period's distribution
//! alone (the same generators), for its median and quantiles.
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
use trendlab_spec::PathFeedback;

/// One series' forecast draws.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPaths {
    /// `[horizon, samples]`, in the series' units.
    pub draws: Vec<f64>,
    /// With mean feedback, the distribution means fed back, per period.
    pub means: Option<Vec<f64>>,
}

/// Series whose paths advance together (one matrix product per layer and
/// period for all their paths).
const SERIES_PER_PIECE: usize = 4;

/// How the forecast draws: `samples` per period over `horizon` periods,
/// feeding back `feedback`, every draw from generators seeded by `seed`.
#[derive(Debug, Clone, Copy)]
pub struct Draws {
    pub horizon: usize,
    pub samples: usize,
    pub feedback: PathFeedback,
    pub seed: u64,
}

/// What every piece of series reads: the network, its emission, the inputs.
#[derive(Clone, Copy)]
struct Model<'a> {
    shape: &'a Shape,
    params: &'a [f32],
    emission: &'a Emission,
    inputs: StepInputs<'a>,
}

/// Per forecast window of `inputs`, its draws.
pub fn sample_paths(
    shape: &Shape,
    params: &[f32],
    emission: &Emission,
    inputs: StepInputs<'_>,
    draws: Draws,
) -> Vec<SeriesPaths> {
    let model = Model {
        shape,
        params,
        emission,
        inputs,
    };
    let rows = inputs.batch.rows;
    let starts: Vec<usize> = (0..rows).step_by(SERIES_PER_PIECE).collect();
    starts
        .par_iter()
        .flat_map_iter(|&first| piece(model, first..(first + SERIES_PER_PIECE).min(rows), draws))
        .collect()
}

fn piece(model: Model<'_>, series: std::ops::Range<usize>, draws: Draws) -> Vec<SeriesPaths> {
    let Model {
        shape,
        params,
        emission,
        inputs,
    } = model;
    let Draws {
        horizon,
        samples,
        feedback,
        seed,
    } = draws;
    let (n, w, steps) = (series.len(), inputs.width(), inputs.steps);
    let mut state = State::new(shape, n);
    let mut x = vec![0.0f32; n * w];
    for t in 0..steps {
        for (b, s) in series.clone().enumerate() {
            inputs.write_own(s, t, &mut x[b * w..(b + 1) * w]);
        }
        advance(shape, params, &mut state, &x);
    }
    let mut rngs: Vec<Xoshiro256PlusPlus> = series
        .clone()
        .flat_map(|s| (0..samples).map(move |j| Xoshiro256PlusPlus::seed_from_u64(derive(seed, &[s as u64, j as u64]))))
        .collect();
    if feedback == PathFeedback::Mean {
        return mean_feedback(model, series, draws, state, &mut rngs);
    }
    let mut state = state.repeat(samples);
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
        .into_iter()
        .map(|draws| SeriesPaths { draws, means: None })
        .collect()
}

/// One trajectory per series of `state` feeding back the mean; each
/// series' `samples` draws per period from its `samples` generators.
fn mean_feedback(
    model: Model<'_>,
    series: std::ops::Range<usize>,
    draws: Draws,
    mut state: State,
    rngs: &mut [Xoshiro256PlusPlus],
) -> Vec<SeriesPaths> {
    let (shape, params, inputs) = (model.shape, model.params, model.inputs);
    let (n, w, p, samples) = (series.len(), inputs.width(), shape.outputs, draws.samples);
    let mut out = vec![
        SeriesPaths {
            draws: vec![0.0; draws.horizon * samples],
            means: Some(vec![0.0; draws.horizon]),
        };
        n
    ];
    let mut x = vec![0.0f32; n * w];
    for t in 0..draws.horizon {
        let raw = state.outputs(shape, params, &[], &[]);
        for (b, paths) in out.iter_mut().enumerate() {
            let (shift, scale) = inputs.batch.scales[series.start + b];
            let dist = model.emission.decouple(&raw[b * p..(b + 1) * p], shift, scale);
            for (j, rng) in rngs[b * samples..(b + 1) * samples].iter_mut().enumerate() {
                paths.draws[t * samples + j] = dist.sample(rng);
            }
            let mean = dist.mean();
            if let Some(means) = paths.means.as_mut() {
                means[t] = mean;
            }
            if t + 1 < draws.horizon {
                let scaled = ((mean - f64::from(shift)) / f64::from(scale)) as f32;
                inputs.write(series.start + b, inputs.steps + t, scaled, &mut x[b * w..(b + 1) * w]);
            }
        }
        if t + 1 < draws.horizon {
            advance(shape, params, &mut state, &x);
        }
    }
    out
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
