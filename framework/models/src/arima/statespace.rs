//! The exact Gaussian likelihood of a zero-mean ARMA by the Kalman filter,
//! in Harvey's state-space form (state dimension r = max(p, q + 1)), started
//! from the stationary distribution (the discrete Lyapunov equation, solved
//! by doubling). The innovation variance σ² is concentrated out.

/// `w_t = Σ phi_i w_{t-i} + ε_t + Σ theta_j ε_{t-j}`, coefficients from lag 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Arma {
    pub phi: Vec<f64>,
    pub theta: Vec<f64>,
}

/// What the filter (or the conditional recursion) makes of some data
/// columns under one ARMA: the gain does not depend on the data, so the
/// target and every regressor go through the same pass.
#[derive(Debug, Clone)]
pub struct Innovations {
    /// Per column, its innovations divided by their standard deviation
    /// (`v_t / √F_t`): regressing the target's on the regressors' is
    /// generalised least squares.
    pub standardized: Vec<Vec<f64>>,
    /// `Σ ln F_t` (0 for conditional sums of squares).
    pub log_det: f64,
    /// Per column, the predicted state for the period after the sample.
    pub states: Vec<Vec<f64>>,
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

    /// Runs the Kalman filter over equally long `columns`; `None` when the
    /// model is not stationary or the filter breaks down.
    pub fn innovations(&self, columns: &[&[f64]]) -> Option<Innovations> {
        let r = self.dimension();
        let n = columns.first().map_or(0, |c| c.len());
        let q = self.disturbance(r);
        let mut p = self.stationary_covariance(r)?;
        let mut states = vec![vec![0.0; r]; columns.len()];
        let mut standardized = vec![Vec::with_capacity(n); columns.len()];
        let mut log_det = 0.0;
        let (mut gain, mut first_row, mut next_a) = (vec![0.0; r], vec![0.0; r], vec![0.0; r]);
        let (mut previous, mut tp, mut tpt, mut scratch) =
            (vec![0.0; r * r], vec![0.0; r * r], vec![0.0; r * r], vec![0.0; r * r]);
        // Once the predicted covariance stops changing, F and the gain are
        // constant (the steady state): only the means need propagating.
        let mut steady = false;
        let mut root_f = 0.0;
        for t in 0..n {
            let f = p[0];
            if !steady {
                if f.is_nan() || f <= 0.0 || f.is_infinite() {
                    return None;
                }
                root_f = f.sqrt();
                for i in 0..r {
                    gain[i] = p[i * r] / f;
                }
            }
            log_det += f.ln();
            for ((column, a), out) in columns.iter().zip(&mut states).zip(&mut standardized) {
                // Update a += P e0 v / F, then predict a <- T a.
                let v = column[t] - a[0];
                out.push(v / root_f);
                for i in 0..r {
                    a[i] += gain[i] * v;
                }
                for i in 0..r {
                    next_a[i] = self.phi_at(i) * a[0] + if i + 1 < r { a[i + 1] } else { 0.0 };
                }
                a.copy_from_slice(&next_a);
            }
            if steady {
                continue;
            }
            // P <- T (P - P e0 e0' P / F) T' + R R'.
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
        log_det.is_finite().then_some(Innovations {
            standardized,
            log_det,
            states,
        })
    }

    /// Conditional residuals (the CSS recursion, as R's `arima(method =
    /// "CSS")`): the first `skip` periods and every residual before them are
    /// taken as zero, then `e_t = w_t − Σ φ_i w_{t−i} − Σ θ_j e_{t−j}`; only
    /// residuals from `skip` on are returned.
    pub fn conditional_residuals(&self, columns: &[&[f64]], skip: usize) -> Innovations {
        // Expanded seasonal polynomials are mostly zeros: keep (lag, coefficient) pairs.
        let nonzero = |c: &[f64]| -> Vec<(usize, f64)> {
            c.iter()
                .enumerate()
                .filter(|(_, v)| **v != 0.0)
                .map(|(i, v)| (i + 1, *v))
                .collect()
        };
        let (ar, ma) = (nonzero(&self.phi), nonzero(&self.theta));
        let standardized = columns
            .iter()
            .map(|w| {
                let mut e = vec![0.0; w.len()];
                for t in skip..w.len() {
                    let mut value = w[t];
                    for &(lag, c) in ar.iter().filter(|(lag, _)| *lag <= t) {
                        value -= c * w[t - lag];
                    }
                    for &(lag, c) in ma.iter().filter(|(lag, _)| *lag <= t) {
                        value -= c * e[t - lag];
                    }
                    e[t] = value;
                }
                e.split_off(skip.min(w.len()))
            })
            .collect();
        Innovations {
            standardized,
            log_det: 0.0,
            states: Vec::new(),
        }
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
    use std::f64::consts::PI;

    /// Concentrated log-likelihood and σ² of `w`.
    fn loglik(arma: &Arma, w: &[f64]) -> (f64, f64) {
        let i = arma.innovations(&[w]).unwrap();
        let n = w.len() as f64;
        let sigma2 = i.standardized[0].iter().map(|v| v * v).sum::<f64>() / n;
        (
            -0.5 * n * ((2.0 * PI).ln() + sigma2.ln() + 1.0) - 0.5 * i.log_det,
            sigma2,
        )
    }

    #[test]
    fn conditional_residuals_of_an_arma11_by_hand() {
        // e_1 = w_1 - 0.5 w_0 (e_0 = 0), e_2 = w_2 - 0.5 w_1 - 0.4 e_1.
        let arma = Arma {
            phi: vec![0.5],
            theta: vec![0.4],
        };
        let w = [1.0, 2.0, -1.0];
        let e = &arma.conditional_residuals(&[&w], 1).standardized[0];
        assert_eq!(e.len(), 2);
        assert!(
            (e[0] - 1.5).abs() < 1e-15 && (e[1] - (-1.0 - 1.0 - 0.6)).abs() < 1e-15,
            "{e:?}"
        );
    }

    #[test]
    fn ar1_likelihood_matches_the_closed_form() {
        // Exact AR(1) likelihood: w1 ~ N(0, σ²/(1-φ²)), then w_t | w_{t-1} ~ N(φ w_{t-1}, σ²).
        let phi = 0.6;
        let w = [0.3, -0.2, 0.5, 1.1, 0.4];
        let arma = Arma {
            phi: vec![phi],
            theta: vec![],
        };
        let f = loglik(&arma, &w);
        let ss = w[0] * w[0] * (1.0 - phi * phi) + w.windows(2).map(|p| (p[1] - phi * p[0]).powi(2)).sum::<f64>();
        let sigma2 = ss / 5.0;
        let expected = -2.5 * ((2.0 * PI).ln() + sigma2.ln() + 1.0) - 0.5 * (1.0 / (1.0 - phi * phi)).ln();
        assert!((f.1 - sigma2).abs() < 1e-12);
        assert!((f.0 - expected).abs() < 1e-10, "{} vs {expected}", f.0);
        let state = &arma.innovations(&[&w]).unwrap().states[0];
        assert!((arma.forecast(state, 2)[1] - phi * phi * w[4]).abs() < 1e-12);
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
        let f = loglik(
            &Arma {
                phi: vec![],
                theta: vec![theta],
            },
            &w,
        );
        assert!(
            (f.1 - sigma2).abs() < 1e-12 && (f.0 - expected).abs() < 1e-12,
            "{} vs {expected}",
            f.0
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
