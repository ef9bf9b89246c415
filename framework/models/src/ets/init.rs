//! Where an ETS fit starts: the initial states from a decomposition of the
//! first seasons and a line through the first (seasonally adjusted) values,
//! and the starting smoothing parameters, as R's `forecast::ets` and
//! statsforecast choose them.

use super::statespace::{Form, Kind};
use crate::seasonality::{Combine, seasonal_component};

/// Bounds of α, β, γ, φ ("usual" region).
pub const LOWER: [f64; 4] = [1e-4, 1e-4, 1e-4, 0.8];
pub const UPPER: [f64; 4] = [0.9999, 0.9999, 0.9999, 0.98];

/// Least-squares line `a + b t` through `y` at t = 1, 2, ….
fn line(y: &[f64]) -> (f64, f64) {
    let n = y.len() as f64;
    let tm = (n + 1.0) / 2.0;
    let ym = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, v) in y.iter().enumerate() {
        let dt = (i + 1) as f64 - tm;
        sxy += dt * (v - ym);
        sxx += dt * dt;
    }
    let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (ym - b * tm, b)
}

/// The seasonal component of the first values: a classical decomposition
/// with three seasons or more, else the residual of a line plus one
/// Fourier pair.
fn seasonal_of(y: &[f64], m: usize, combine: Combine) -> Vec<f64> {
    if y.len() >= 3 * m {
        return seasonal_component(y, m, combine);
    }
    let n = y.len();
    let w = 2.0 * std::f64::consts::PI / m as f64;
    let mut columns: Vec<Vec<f64>> = vec![vec![1.0; n], (1..=n).map(|t| t as f64).collect()];
    columns.push((1..=n).map(|t| (w * t as f64).cos()).collect());
    if m > 2 {
        columns.push((1..=n).map(|t| (w * t as f64).sin()).collect());
    }
    let x = nalgebra::DMatrix::from_fn(n, columns.len(), |i, j| columns[j][i]);
    let coef = x
        .clone()
        .svd(true, true)
        .solve(&nalgebra::DVector::from_column_slice(y), 1e-12)
        .map(|c| (c[0], c[1]))
        .unwrap_or((0.0, 0.0));
    (0..n)
        .map(|i| {
            let trend = coef.0 + coef.1 * (i + 1) as f64;
            match combine {
                Combine::Additive => y[i] - trend,
                Combine::Multiplicative => y[i] / trend,
            }
        })
        .collect()
}

/// The initial state vector: level, growth (with a trend) and the first
/// m − 1 seasonal states, newest first (the m-th follows from the others).
pub fn initial_states(y: &[f64], form: &Form) -> Vec<f64> {
    let m = form.period;
    let (adjusted, seasons): (Vec<f64>, Vec<f64>) = match form.season {
        Kind::None => (y.to_vec(), Vec::new()),
        Kind::Additive => {
            let s = seasonal_of(y, m, Combine::Additive);
            (
                y.iter().zip(&s).map(|(v, s)| v - s).collect(),
                s[1..m].iter().rev().copied().collect(),
            )
        }
        Kind::Multiplicative => {
            let s = seasonal_of(y, m, Combine::Multiplicative);
            let mut init: Vec<f64> = s[1..m].iter().rev().map(|v| v.max(1e-2)).collect();
            let total: f64 = init.iter().sum();
            if total > m as f64 {
                let scale: f64 = init.iter().map(|v| v + 1e-2).sum();
                init.iter_mut().for_each(|v| *v /= scale);
            }
            (y.iter().zip(&s).map(|(v, s)| v / s.max(1e-2)).collect(), init)
        }
    };
    let first = &adjusted[..adjusted.len().min(10.max(2 * m))];
    let mut state = match form.trend {
        Kind::None => vec![first.iter().sum::<f64>() / first.len() as f64],
        Kind::Additive => {
            let (mut l, mut b) = line(first);
            if (l + b).abs() < 1e-8 {
                l *= 1.0 + 1e-3;
                b *= 1.0 - 1e-3;
            }
            vec![l, b]
        }
        Kind::Multiplicative => {
            let (a, slope) = line(first);
            let mut l = a + slope;
            if l.abs() < 1e-8 {
                l = 1e-7;
            }
            let mut b = (a + 2.0 * slope) / l;
            l /= if b.abs() < 1e-8 { 1e-8 } else { b };
            if b.abs() > 1e10 {
                b = b.signum() * 1e10;
            }
            if l < 1e-8 || b < 1e-8 {
                l = adjusted[0].max(1e-3);
                let div = if adjusted[0].abs() < 1e-8 { 1e-8 } else { adjusted[0] };
                b = (adjusted[1] / div).max(1e-3);
            }
            vec![l, b]
        }
    };
    state.extend(seasons);
    state
}

/// Starting α, β, γ, φ (β, γ, φ only where the form has them), and the
/// upper bounds of β (≤ α) and γ (≤ 1 − α) they imply.
pub fn initial_smoothing(form: &Form) -> [f64; 4] {
    let [lo, hi] = [LOWER, UPPER];
    let mut alpha = lo[0] + 0.2 * (hi[0] - lo[0]) / form.period.max(1) as f64;
    if !(0.0..=1.0).contains(&alpha) {
        alpha = lo[0] + 2e-3;
    }
    let beta = {
        let upper = hi[1].min(alpha);
        let b = lo[1] + 0.1 * (upper - lo[1]);
        if b < 0.0 || b > alpha { alpha - 1e-3 } else { b }
    };
    let gamma = {
        let upper = hi[2].min(1.0 - alpha);
        let g = lo[2] + 0.05 * (upper - lo[2]);
        if g < 0.0 || g > 1.0 - alpha {
            1.0 - alpha - 1e-3
        } else {
            g
        }
    };
    let phi = lo[3] + 0.99 * (hi[3] - lo[3]);
    [alpha, beta, gamma, phi]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_through_the_first_values() {
        let (a, b) = line(&[3.0, 5.0, 7.0]);
        assert!((a - 1.0).abs() < 1e-12 && (b - 2.0).abs() < 1e-12);
        let form = Form {
            error: Kind::Additive,
            trend: Kind::Additive,
            season: Kind::None,
            damped: false,
            period: 1,
        };
        let y: Vec<f64> = (1..=30).map(|t| 4.0 + 0.5 * t as f64).collect();
        let s = initial_states(&y, &form);
        assert!((s[0] - 4.0).abs() < 1e-9 && (s[1] - 0.5).abs() < 1e-9, "{s:?}");
    }
}
