//! The exact Gaussian likelihood of a zero-mean ARMA by the Kalman filter,
//! in Harvey's state-space form (state dimension r = max(p, q + 1)), started
//! from the stationary distribution (the discrete Lyapunov equation, solved
//! by doubling). The innovation variance σ² is concentrated out.

use std::f64::consts::PI;

/// `w_t = Σ phi_i w_{t-i} + ε_t + Σ theta_j ε_{t-j}`, coefficients from lag 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Arma {
    pub phi: Vec<f64>,
    pub theta: Vec<f64>,
}

/// The filter's result over a sample.
#[derive(Debug, Clone)]
pub struct Filtered {
    /// Concentrated log-likelihood (σ² at its maximum-likelihood value).
    pub loglik: f64,
    pub sigma2: f64,
    /// Predicted state for the period after the sample.
    pub state: Vec<f64>,
}

impl Arma {
    fn dimension(&self) -> usize {
        self.phi.len().max(self.theta.len() + 1)
    }

    fn phi_at(&self, i: usize) -> f64 {
        self.phi.get(i).copied().unwrap_or(0.0)
    }

    /// `T X` for the companion transition T: `(T X)_ij = phi_i X_0j + X_(i+1)j`.
    fn transition_rows(&self, x: &[f64], r: usize, out: &mut [f64]) {
        for i in 0..r {
            for j in 0..r {
                let below = if i + 1 < r { x[(i + 1) * r + j] } else { 0.0 };
                out[i * r + j] = self.phi_at(i) * x[j] + below;
            }
        }
    }

    /// `R Rᵀ` with `R = (1, theta_1, ..., theta_{r-1})`.
    fn disturbance(&self, r: usize) -> Vec<f64> {
        let loading: Vec<f64> = (0..r)
            .map(|i| {
                if i == 0 {
                    1.0
                } else {
                    self.theta.get(i - 1).copied().unwrap_or(0.0)
                }
            })
            .collect();
        (0..r * r).map(|k| loading[k / r] * loading[k % r]).collect()
    }

    /// The stationary state covariance (σ² = 1): P = T P Tᵀ + R Rᵀ.
    fn stationary_covariance(&self, r: usize) -> Option<Vec<f64>> {
        let mut p = self.disturbance(r);
        let mut a: Vec<f64> = (0..r * r)
            .map(|k| {
                let (i, j) = (k / r, k % r);
                if j == 0 {
                    self.phi_at(i)
                } else if j == i + 1 {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        for _ in 0..64 {
            // P ← P + A P Aᵀ, A ← A²: after k steps P sums 2^k terms of the series.
            let ap = matmul(&a, &p, r);
            let apa = matmul_transposed(&ap, &a, r);
            let change = apa.iter().map(|v| v.abs()).fold(0.0, f64::max);
            p.iter_mut().zip(&apa).for_each(|(x, y)| *x += y);
            a = matmul(&a, &a, r);
            let scale = p.iter().map(|v| v.abs()).fold(0.0, f64::max);
            if !scale.is_finite() {
                return None;
            }
            if change <= 1e-14 * scale {
                return Some(p);
            }
        }
        None
    }

    /// Runs the filter over `w`; `None` when the model is not stationary or
    /// the filter breaks down.
    pub fn filter(&self, w: &[f64]) -> Option<Filtered> {
        let r = self.dimension();
        let q = self.disturbance(r);
        let mut p = self.stationary_covariance(r)?;
        let (mut a, mut next_a) = (vec![0.0; r], vec![0.0; r]);
        let (mut log_f, mut sum_squares) = (0.0, 0.0);
        let (mut gain, mut first_row) = (vec![0.0; r], vec![0.0; r]);
        let (mut previous, mut tp, mut tpt, mut scratch) =
            (vec![0.0; r * r], vec![0.0; r * r], vec![0.0; r * r], vec![0.0; r * r]);
        // Once the predicted covariance stops changing, F and the gain are
        // constant (the steady state): only the mean needs propagating.
        let mut steady = false;
        for &y in w {
            let f = p[0];
            if f.is_nan() || f <= 0.0 || f.is_infinite() {
                return None;
            }
            let v = y - a[0];
            log_f += f.ln();
            sum_squares += v * v / f;
            if !steady {
                for i in 0..r {
                    gain[i] = p[i * r] / f;
                }
            }
            // Update a += P e0 v / F, then predict a ← T a.
            for i in 0..r {
                a[i] += gain[i] * v;
            }
            for i in 0..r {
                next_a[i] = self.phi_at(i) * a[0] + if i + 1 < r { a[i + 1] } else { 0.0 };
            }
            std::mem::swap(&mut a, &mut next_a);
            if steady {
                continue;
            }
            // P ← T (P − P e0 e0ᵀ P / F) Tᵀ + R Rᵀ.
            previous.copy_from_slice(&p);
            first_row.copy_from_slice(&p[..r]);
            for i in 0..r {
                for j in 0..r {
                    p[i * r + j] -= gain[i] * first_row[j];
                }
            }
            self.transition_rows(&p, r, &mut tp);
            transpose(&tp, r, &mut scratch);
            self.transition_rows(&scratch, r, &mut tpt);
            let (mut change, mut scale) = (0.0f64, 0.0f64);
            for k in 0..r * r {
                p[k] = tpt[k] + q[k];
                change = change.max((p[k] - previous[k]).abs());
                scale = scale.max(p[k].abs());
            }
            steady = change <= 1e-14 * scale;
        }
        let n = w.len() as f64;
        let sigma2 = sum_squares / n;
        let loglik = -0.5 * n * ((2.0 * PI).ln() + sigma2.ln() + 1.0) - 0.5 * log_f;
        loglik.is_finite().then_some(Filtered {
            loglik,
            sigma2,
            state: a,
        })
    }

    /// Mean forecasts of the next `horizon` periods from a filtered state.
    pub fn forecast(&self, state: &[f64], horizon: usize) -> Vec<f64> {
        let r = state.len();
        let mut a = state.to_vec();
        (0..horizon)
            .map(|_| {
                let value = a[0];
                a = (0..r)
                    .map(|i| self.phi_at(i) * a[0] + if i + 1 < r { a[i + 1] } else { 0.0 })
                    .collect();
                value
            })
            .collect()
    }
}

fn matmul(a: &[f64], b: &[f64], r: usize) -> Vec<f64> {
    let mut out = vec![0.0; r * r];
    for i in 0..r {
        for k in 0..r {
            let x = a[i * r + k];
            if x != 0.0 {
                for j in 0..r {
                    out[i * r + j] += x * b[k * r + j];
                }
            }
        }
    }
    out
}

/// `A Bᵀ`.
fn matmul_transposed(a: &[f64], b: &[f64], r: usize) -> Vec<f64> {
    (0..r * r)
        .map(|k| (0..r).map(|m| a[(k / r) * r + m] * b[(k % r) * r + m]).sum())
        .collect()
}

fn transpose(x: &[f64], r: usize, out: &mut [f64]) {
    for i in 0..r {
        for j in 0..r {
            out[j * r + i] = x[i * r + j];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ar1_likelihood_matches_the_closed_form() {
        // Exact AR(1) likelihood: w1 ~ N(0, σ²/(1-φ²)), then w_t | w_{t-1} ~ N(φ w_{t-1}, σ²).
        let phi = 0.6;
        let w = [0.3, -0.2, 0.5, 1.1, 0.4];
        let arma = Arma {
            phi: vec![phi],
            theta: vec![],
        };
        let f = arma.filter(&w).unwrap();
        let ss = w[0] * w[0] * (1.0 - phi * phi) + w.windows(2).map(|p| (p[1] - phi * p[0]).powi(2)).sum::<f64>();
        let sigma2 = ss / 5.0;
        let expected = -2.5 * ((2.0 * PI).ln() + sigma2.ln() + 1.0) - 0.5 * (1.0 / (1.0 - phi * phi)).ln();
        assert!((f.sigma2 - sigma2).abs() < 1e-12);
        assert!((f.loglik - expected).abs() < 1e-10, "{} vs {expected}", f.loglik);
        assert!((arma.forecast(&f.state, 2)[1] - phi * phi * w[4]).abs() < 1e-12);
    }

    #[test]
    fn ma1_likelihood_of_two_points_by_hand() {
        // (w1, w2) ~ N(0, σ² Σ), Σ = [[1 + θ², θ], [θ, 1 + θ²]]: a two-dimensional state.
        let (theta, w): (f64, [f64; 2]) = (0.5, [1.0, -2.0]);
        let (a, b) = (1.0 + theta * theta, theta);
        let det = a * a - b * b;
        let quadratic = (a * w[0] * w[0] - 2.0 * b * w[0] * w[1] + a * w[1] * w[1]) / det;
        let sigma2 = quadratic / 2.0;
        let expected = -((2.0 * PI).ln() + sigma2.ln() + 1.0) - 0.5 * det.ln();
        let f = Arma {
            phi: vec![],
            theta: vec![theta],
        }
        .filter(&w)
        .unwrap();
        assert!(
            (f.sigma2 - sigma2).abs() < 1e-12 && (f.loglik - expected).abs() < 1e-12,
            "{} vs {expected}",
            f.loglik
        );
    }

    #[test]
    fn ma1_first_variance_is_one_plus_theta_squared() {
        let arma = Arma {
            phi: vec![],
            theta: vec![0.5],
        };
        let p = arma.stationary_covariance(2).unwrap();
        assert!((p[0] - 1.25).abs() < 1e-12 && (p[1] - 0.5).abs() < 1e-12 && (p[3] - 0.25).abs() < 1e-12);
    }
}
