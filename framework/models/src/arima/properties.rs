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
        trend: trendlab_spec::ArimaTrend::N,
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

/// A deterministic zig-zag "noise" for known-answer regression cases.
fn wiggle(n: usize) -> Vec<f64> {
    (0..n).map(|t| ((t * 7919) % 13) as f64 - 6.0).collect()
}

#[test]
fn white_noise_regression_is_ordinary_least_squares() {
    // ARIMA(0,0,0) with a constant and one regressor: the MLE of β is OLS,
    // σ̂² the mean squared residual, the forecast x_future β.
    let n = 60;
    let x: Vec<f64> = (0..n + 3).map(|t| ((t * 37) % 11) as f64).collect();
    let noise = wiggle(n);
    let y: Vec<f64> = (0..n).map(|t| 5.0 + 2.0 * x[t] + noise[t]).collect();
    let orders = Orders {
        order: [0, 0, 0],
        seasonal_order: [0; 4],
        trend: trendlab_spec::ArimaTrend::C,
    };
    let model = fit(&y, &[&x], &orders, "ols").unwrap();
    // Closed-form simple regression.
    let (mx, my) = (x[..n].iter().sum::<f64>() / n as f64, y.iter().sum::<f64>() / n as f64);
    let sxy: f64 = (0..n).map(|t| (x[t] - mx) * (y[t] - my)).sum();
    let sxx: f64 = (0..n).map(|t| (x[t] - mx).powi(2)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let rss: f64 = (0..n).map(|t| (y[t] - intercept - slope * x[t]).powi(2)).sum();
    assert!((model.beta[0] - intercept).abs() < 1e-9, "{:?}", model.beta);
    assert!((model.beta[1] - slope).abs() < 1e-9, "{:?}", model.beta);
    assert!((model.sigma2 - rss / n as f64).abs() < 1e-9);
    let forecast = model.forecast(&y, 3).unwrap();
    for h in 0..3 {
        assert!((forecast.mean[h] - (intercept + slope * x[n + h])).abs() < 1e-9);
    }
    // Exogenous columns must cover the forecast periods.
    assert!(model.forecast(&y, 4).is_err());
}

#[test]
fn random_walk_with_drift_by_hand() {
    // ARIMA(0,1,0) with trend "t": the drift is the mean difference, σ̂² the
    // mean squared deviation of the differences, forecasts y_n + h·drift.
    let noise = wiggle(80);
    let y: Vec<f64> = noise
        .iter()
        .scan(100.0, |level, e| {
            *level += 0.5 + e;
            Some(*level)
        })
        .collect();
    let orders = Orders {
        order: [0, 1, 0],
        seasonal_order: [0; 4],
        trend: trendlab_spec::ArimaTrend::T,
    };
    let model = fit(&y, &[], &orders, "drift").unwrap();
    let diffs: Vec<f64> = y.windows(2).map(|w| w[1] - w[0]).collect();
    let drift = diffs.iter().sum::<f64>() / diffs.len() as f64;
    let sigma2 = diffs.iter().map(|d| (d - drift).powi(2)).sum::<f64>() / diffs.len() as f64;
    assert!((model.beta[0] - drift).abs() < 1e-9, "{:?} vs {drift}", model.beta);
    assert!((model.sigma2 - sigma2).abs() < 1e-9);
    assert_eq!(model.orders.to_string(), "ARIMA(0,1,0) with drift");
    let forecast = model.forecast(&y, 4).unwrap();
    for h in 0..4 {
        let expected = y[79] + (h + 1) as f64 * drift;
        assert!((forecast.mean[h] - expected).abs() < 1e-9);
        assert!((forecast.variance[h] - (h + 1) as f64 * sigma2).abs() < 1e-9);
    }
}

#[test]
fn a_constant_regressor_is_left_out_not_singular() {
    let y = simulate(&[0.5], &[], 0, 0, 1, 100, 3);
    let flat = vec![4.0; 105];
    let orders = Orders::new([1, 0, 0], [0; 4]);
    let model = fit(&y, &[&flat], &orders, "flat").unwrap();
    // The constant regressor duplicates the mean: its coefficient is 0.
    assert_eq!(model.beta[1], 0.0);
    let plain = fit(&y, &[], &orders, "plain").unwrap();
    assert!((model.loglik - plain.loglik).abs() < 1e-9);
}

#[test]
fn a_likelihood_rising_to_the_non_invertible_edge_converges() {
    // Weekly sales of Online Retail product 21930 (36 weeks to 2011-08-08):
    // the ARIMA(0,1,1)-with-drift likelihood rises all the way to θ = -1,
    // where the reparameterisation flattens it. The fit must still stop (at
    // the edge), not crawl to the iteration limit.
    let y = [
        125.0, 80.0, 124.0, 0.0, 45.0, 108.0, 78.0, 94.0, 184.0, 26.0, 148.0, 65.0, 35.0, 59.0, 60.0, 147.0, 320.0,
        30.0, 48.0, 4.0, 58.0, 108.0, 58.0, 68.0, 164.0, 192.0, 100.0, 36.0, 135.0, 281.0, 178.0, 34.0, 48.0, 166.0,
        89.0, 153.0,
    ];
    let orders = Orders {
        order: [0, 1, 1],
        seasonal_order: [0; 4],
        trend: trendlab_spec::ArimaTrend::T,
    };
    let model = fit(&y, &[], &orders, "21930").unwrap();
    assert!(model.ma[0] < -0.99, "θ = {}", model.ma[0]);
    // At θ = -1 the model is a linear trend plus white noise: the drift
    // tends to the least-squares slope of y on t.
    let n = y.len() as f64;
    let t_mean = (n + 1.0) / 2.0;
    let y_mean = y.iter().sum::<f64>() / n;
    let slope = y
        .iter()
        .enumerate()
        .map(|(t, v)| (t as f64 + 1.0 - t_mean) * (v - y_mean))
        .sum::<f64>()
        / y.iter()
            .enumerate()
            .map(|(t, _)| (t as f64 + 1.0 - t_mean).powi(2))
            .sum::<f64>();
    assert!(
        (model.beta[0] - slope).abs() < 0.05 * slope.abs(),
        "{:?} vs {slope}",
        model.beta
    );
}
