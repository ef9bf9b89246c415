//! Property tests on simulated processes: known coefficients are recovered
//! within sampling error, and 95% intervals cover 95% of outcomes.

use super::polynomial::{apply, differencing};
use super::{Orders, fit};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};

/// `n` values of the ARMA `w_t = Σ phi w_{t-i} + e_t + Σ theta e_{t-j}`
/// (after a burn-in), integrated by `(1-B)^d (1-B^s)^D`.
fn simulate(phi: &[f64], theta: &[f64], d: usize, seasonal_d: usize, s: usize, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let burn = 500;
    let e: Vec<f64> = (0..n + burn).map(|_| StandardNormal.sample(&mut rng)).collect();
    let mut w = vec![0.0; n + burn];
    for t in 0..n + burn {
        let ar: f64 = phi
            .iter()
            .enumerate()
            .filter(|(i, _)| t > *i)
            .map(|(i, p)| p * w[t - i - 1])
            .sum();
        let ma: f64 = theta
            .iter()
            .enumerate()
            .filter(|(j, _)| t > *j)
            .map(|(j, q)| q * e[t - j - 1])
            .sum();
        w[t] = ar + e[t] + ma;
    }
    let w = &w[burn..];
    let delta = differencing(d, seasonal_d, s.max(1));
    let k = delta.len() - 1;
    let mut y = vec![0.0; k];
    for value in w {
        let t = y.len();
        let lagged: f64 = delta.iter().enumerate().skip(1).map(|(i, c)| c * y[t - i]).sum();
        y.push(value - lagged);
    }
    assert_eq!(apply(&delta, &y).len(), n);
    y
}

fn config(order: [usize; 3], seasonal_order: [usize; 4]) -> Orders {
    Orders {
        order,
        seasonal_order,
        trend: trendlab_spec::families::ArimaTrend::N,
    }
}

#[test]
fn arma_11_coefficients_are_recovered() {
    // φ = 0.7, θ = 0.4, n = 2000. Asymptotic variances (Box & Jenkins):
    // var φ̂ = (1-φ²)(1+φθ)² / ((φ+θ)² n) → sd 0.019; var θ̂ = (1-θ²)(1+φθ)² / ((φ+θ)² n) → sd 0.024.
    // Allowed: 3 sd.
    let y = simulate(&[0.7], &[0.4], 0, 0, 1, 2000, 7);
    let model = fit(&y, &[], &config([1, 0, 1], [0, 0, 0, 0]), "sim").unwrap();
    assert!((model.ar[0] - 0.7).abs() < 0.057, "φ = {}", model.ar[0]);
    assert!((model.ma[0] - 0.4).abs() < 0.072, "θ = {}", model.ma[0]);
    // σ̂² of 2000 unit normals: sd √(2/2000) ≈ 0.032.
    assert!((model.sigma2 - 1.0).abs() < 0.095, "σ² = {}", model.sigma2);
}

#[test]
fn airline_model_coefficients_are_recovered() {
    // (0,1,1)(0,1,1)12 with θ = -0.4, Θ = -0.6 on 50 years of monthly data.
    let theta = [-0.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.6, 0.24];
    let y = simulate(&[], &theta, 1, 1, 12, 600, 11);
    let model = fit(&y, &[], &config([0, 1, 1], [0, 1, 1, 12]), "sim").unwrap();
    assert!((model.ma[0] + 0.4).abs() < 0.12, "θ = {}", model.ma[0]);
    assert!(
        (model.seasonal_ma[0] + 0.6).abs() < 0.12,
        "Θ = {}",
        model.seasonal_ma[0]
    );
}

#[test]
fn ninety_five_percent_intervals_cover_ninety_five_percent() {
    // 400 AR(1) series, φ = 0.7: how often do the 95% intervals at steps 1 and 6
    // contain the realised values? Binomial sd ≈ 1.1%; allow ±3%.
    let (mut hits_1, mut hits_6, reps) = (0, 0, 400);
    for seed in 0..reps {
        let y = simulate(&[0.7], &[], 0, 0, 1, 156, 1000 + seed);
        let (train, test) = y.split_at(150);
        let model = fit(train, &[], &config([1, 0, 0], [0, 0, 0, 0]), "sim").unwrap();
        let interval = model.forecast(train, 6).unwrap().interval(0.95);
        hits_1 += usize::from(interval[0].0 <= test[0] && test[0] <= interval[0].1);
        hits_6 += usize::from(interval[5].0 <= test[5] && test[5] <= interval[5].1);
    }
    for (step, hits) in [(1, hits_1), (6, hits_6)] {
        let coverage = hits as f64 / reps as f64;
        assert!((coverage - 0.95).abs() <= 0.03, "step {step}: coverage {coverage}");
    }
}
