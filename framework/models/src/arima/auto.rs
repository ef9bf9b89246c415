//! Automatic order selection per series, after Hyndman & Khandakar (2008),
//! as R's `forecast::auto.arima` and statsforecast's AutoARIMA do it:
//! seasonal differences D from the seasonal strength of a classical
//! decomposition (D = 1 above 0.64), differences d by repeated KPSS tests at
//! the 5% level, then a stepwise search over (p, q, P, Q) and the constant,
//! moving to any neighbour with a lower AICc until none improves.

use super::polynomial::{apply, differencing};
use super::{ArimaFit, Orders, fit};
use crate::ModelError;
use std::collections::HashSet;

const MAX_P: usize = 5;
const MAX_Q: usize = 5;
const MAX_SEASONAL_P: usize = 2;
const MAX_SEASONAL_Q: usize = 2;
const MAX_ORDER: usize = 5;
const MAX_MODELS: usize = 94;

/// KPSS statistic for level stationarity, with Newey–West long-run variance
/// over `trunc(3 √n / 13)` lags (the "short" lag of R's tseries).
pub fn kpss_statistic(x: &[f64]) -> f64 {
    let n = x.len();
    let mean = x.iter().sum::<f64>() / n as f64;
    let e: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let lags = (3.0 * (n as f64).sqrt() / 13.0) as usize;
    let mut long_run = e.iter().map(|v| v * v).sum::<f64>();
    for l in 1..=lags {
        let weight = 1.0 - l as f64 / (lags as f64 + 1.0);
        long_run += 2.0 * weight * (l..n).map(|t| e[t] * e[t - l]).sum::<f64>();
    }
    long_run /= n as f64;
    let mut partial = 0.0;
    let eta: f64 = e
        .iter()
        .map(|v| {
            partial += v;
            partial * partial
        })
        .sum();
    eta / (n as f64 * n as f64 * long_run.max(f64::MIN_POSITIVE))
}

/// 5% critical value of the KPSS level test.
const KPSS_CRITICAL_5: f64 = 0.463;

/// Number of differences (at most 2) after which KPSS no longer rejects.
pub fn regular_differences(x: &[f64]) -> usize {
    let mut series = x.to_vec();
    for d in 0..2 {
        let constant = series.windows(2).all(|w| w[0] == w[1]);
        if series.len() < 10 || constant || kpss_statistic(&series) <= KPSS_CRITICAL_5 {
            return d;
        }
        series = apply(&differencing(1, 0, 1), &series);
    }
    2
}

/// Seasonal strength, max(0, 1 − var(remainder) / var(seasonal + remainder)),
/// of a classical additive decomposition with period `s`.
pub fn seasonal_strength(x: &[f64], s: usize) -> f64 {
    let n = x.len();
    if s < 2 || n < 2 * s + 1 {
        return 0.0;
    }
    // Centred moving average of order s (2×s for even s).
    let half = s / 2;
    let trend: Vec<Option<f64>> = (0..n)
        .map(|t| {
            if t < half || t + half >= n {
                return None;
            }
            Some(if s % 2 == 1 {
                x[t - half..=t + half].iter().sum::<f64>() / s as f64
            } else {
                (x[t - half..t + half].iter().sum::<f64>() + x[t - half + 1..=t + half].iter().sum::<f64>())
                    / (2 * s) as f64
            })
        })
        .collect();
    let detrended: Vec<Option<f64>> = x.iter().zip(&trend).map(|(v, t)| t.map(|t| v - t)).collect();
    let mut index = vec![(0.0, 0usize); s];
    for (t, d) in detrended.iter().enumerate() {
        if let Some(d) = d {
            index[t % s].0 += d;
            index[t % s].1 += 1;
        }
    }
    let means: Vec<f64> = index
        .iter()
        .map(|(sum, n)| if *n > 0 { sum / *n as f64 } else { 0.0 })
        .collect();
    let centre = means.iter().sum::<f64>() / s as f64;
    let (mut remainder, mut seasonal_plus) = (Vec::new(), Vec::new());
    for (t, d) in detrended.iter().enumerate() {
        if let Some(d) = d {
            let seasonal = means[t % s] - centre;
            remainder.push(d - seasonal);
            seasonal_plus.push(*d);
        }
    }
    let variance = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64
    };
    let total = variance(&seasonal_plus);
    if total <= 0.0 {
        0.0
    } else {
        (1.0 - variance(&remainder) / total).max(0.0)
    }
}

/// Chooses orders for `y` (period `season`, 1 for none) and returns the best fit.
pub fn auto_arima(y: &[f64], season: usize, series: &str) -> Result<ArimaFit, ModelError> {
    let seasonal = season > 1 && y.len() >= 3 * season;
    let sd = usize::from(seasonal && seasonal_strength(y, season) > 0.64);
    let after_seasonal = if sd == 1 {
        apply(&differencing(0, 1, season), y)
    } else {
        y.to_vec()
    };
    let d = regular_differences(&after_seasonal);
    let allow_constant = d + sd == 0;
    let s = if seasonal { season } else { 0 };
    let orders = |p: usize, q: usize, sp: usize, sq: usize, constant: bool| Orders {
        order: [p, d, q],
        seasonal_order: if seasonal { [sp, sd, sq, s] } else { [0, 0, 0, 0] },
        constant,
    };
    let mut tried: HashSet<Orders> = HashSet::new();
    let mut best: Option<(f64, ArimaFit)> = None;
    let mut consider = |candidate: Orders, best: &mut Option<(f64, ArimaFit)>| -> bool {
        if !tried.insert(candidate) || tried.len() > MAX_MODELS {
            return false;
        }
        let Ok(model) = fit(y, &candidate, series) else {
            return false;
        };
        let score = model.aicc();
        if !score.is_finite() || best.as_ref().is_some_and(|(b, _)| score >= *b) {
            return false;
        }
        *best = Some((score, model));
        true
    };
    let (sp0, sq0) = if seasonal { (1, 1) } else { (0, 0) };
    for (p, q, sp, sq) in [(2, 2, sp0, sq0), (0, 0, 0, 0), (1, 0, sp0, 0), (0, 1, 0, sq0)] {
        consider(orders(p, q, sp, sq, allow_constant), &mut best);
        if allow_constant && (p, q, sp, sq) == (0, 0, 0, 0) {
            consider(orders(0, 0, 0, 0, false), &mut best);
        }
    }
    loop {
        let Some((_, current)) = &best else {
            return Err(ModelError::Numerical(format!(
                "no ARIMA model could be fitted to series `{series}`"
            )));
        };
        let c = current.orders;
        let ([p, _, q], [sp, _, sq, _]) = (c.order, c.seasonal_order);
        let step = |v: usize, delta: i32, max: usize| -> Option<usize> {
            let next = v as i32 + delta;
            (next >= 0 && next as usize <= max).then_some(next as usize)
        };
        let mut neighbours = Vec::new();
        for (dp, dq, dsp, dsq) in [
            (-1, 0, 0, 0),
            (1, 0, 0, 0),
            (0, -1, 0, 0),
            (0, 1, 0, 0),
            (-1, -1, 0, 0),
            (1, 1, 0, 0),
            (0, 0, -1, 0),
            (0, 0, 1, 0),
            (0, 0, 0, -1),
            (0, 0, 0, 1),
            (0, 0, -1, -1),
            (0, 0, 1, 1),
        ] {
            let max_sp = if seasonal { MAX_SEASONAL_P } else { 0 };
            let max_sq = if seasonal { MAX_SEASONAL_Q } else { 0 };
            if let (Some(a), Some(b), Some(e), Some(f)) = (
                step(p, dp, MAX_P),
                step(q, dq, MAX_Q),
                step(sp, dsp, max_sp),
                step(sq, dsq, max_sq),
            ) {
                if a + b + e + f <= MAX_ORDER {
                    neighbours.push(orders(a, b, e, f, c.constant));
                }
            }
        }
        if allow_constant {
            neighbours.push(Orders {
                constant: !c.constant,
                ..c
            });
        }
        // Every neighbour is fitted (no short-circuit): the best of them wins.
        let mut improved = false;
        for neighbour in neighbours {
            improved |= consider(neighbour, &mut best);
        }
        if !improved {
            return Ok(best.expect("a best model exists").1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kpss_separates_noise_from_a_random_walk() {
        // A deterministic zig-zag is stationary; its running sum trends.
        let noise: Vec<f64> = (0..200)
            .map(|t| if t % 2 == 0 { 1.0 } else { -1.0 } * ((t % 7) as f64))
            .collect();
        let walk: Vec<f64> = noise
            .iter()
            .scan(0.0, |s, v| {
                *s += v + 0.3;
                Some(*s)
            })
            .collect();
        assert!(kpss_statistic(&noise) < KPSS_CRITICAL_5);
        assert!(kpss_statistic(&walk) > KPSS_CRITICAL_5);
        assert_eq!(regular_differences(&noise), 0);
        assert_eq!(regular_differences(&walk), 1);
    }

    #[test]
    fn seasonal_strength_of_a_pure_cycle_is_one() {
        let cycle: Vec<f64> = (0..60).map(|t| [3.0, -1.0, 0.0, -2.0][t % 4]).collect();
        assert!((seasonal_strength(&cycle, 4) - 1.0).abs() < 1e-12);
        let flat = vec![5.0; 60];
        assert_eq!(seasonal_strength(&flat, 4), 0.0);
    }
}
