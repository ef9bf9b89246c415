//! `arima`: seasonal ARIMA(p,d,q)(P,D,Q)s with a deterministic trend and
//! exogenous regressors, by exact maximum likelihood as statsmodels' SARIMAX
//! estimates it. The series and regressors are differenced (the diffuse
//! likelihood of an integrated model is the exact likelihood of its
//! differenced data); the ARMA part's Gaussian likelihood is computed by the
//! Kalman filter from the stationary distribution ([`statespace`]) with the
//! regression coefficients concentrated out ([`regression`]); stationarity
//! and invertibility hold by construction ([`transform`]); the likelihood is
//! maximised by BFGS ([`optimize`]) from conditional-sum-of-squares starting
//! values. Forecasts come from the filtered state, integrated back; their
//! variances from the ψ-weights.

pub mod auto;
mod family;
mod optimize;
pub mod polynomial;
pub mod regression;
pub mod statespace;
pub mod transform;

#[cfg(test)]
mod properties;
pub mod saved;

use polynomial::{differencing, lag_polynomial, multiply, psi_weights};
use regression::Design;
use statespace::{Arma, Innovations};
use trendlab_spec::ArimaTrend;

pub use crate::ModelError;

/// How the coefficients are estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Exact maximum likelihood (Kalman filter), from CSS starting values.
    Exact,
    /// Conditional sum of squares only (R's `method = "CSS"`): cheap, used
    /// to rank candidates in the approximate automatic search.
    Conditional,
}

/// How coefficients are estimated and when the optimiser stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimation {
    pub method: Method,
    stop: optimize::Stop,
    /// Whether running out of iterations fails the fit (else the best point
    /// found is kept, as R's `arima` does with a warning).
    strict: bool,
    /// Keep every root of the AR and MA polynomials at least this far from
    /// the origin (a likelihood that rises toward the unit circle is
    /// maximised at this distance from it).
    min_root: Option<f64>,
}

impl Estimation {
    /// The maximum-likelihood estimate (fixed orders), to a relative change
    /// of 1e-10 in the likelihood: tighter than statsmodels' default stop.
    pub const EXACT: Estimation = Estimation {
        method: Method::Exact,
        stop: optimize::Stop {
            max_iterations: 500,
            relative_tolerance: 1e-10,
        },
        strict: true,
        min_root: None,
    };

    /// As `auto.arima` fits its candidates: R's `optim` defaults (relative
    /// change 1.5e-8, at most 100 iterations), with roots kept at least
    /// `min_root` from the origin, the distance `auto.arima` demands.
    pub fn search(method: Method, min_root: f64) -> Estimation {
        Estimation {
            method,
            stop: optimize::Stop {
                max_iterations: 100,
                relative_tolerance: 1.5e-8,
            },
            strict: false,
            min_root: Some(min_root),
        }
    }
}

/// A fit whose roots lie within this modulus of the origin (5% of the
/// unit circle) is searched again from zeros ([`fit_by`]).
const NEAR_EDGE: f64 = 1.05;

/// The unconstrained value of a partial autocorrelation of 0.9: MA
/// coefficients of -0.9 (statsmodels' sign), a start near the edge.
const MA_EDGE_START: f64 = 2.064_741_605_556_4;

/// The starts a fixed-order fit searches from besides the conditional
/// estimate and zeros. The exact likelihood is often multimodal, with
/// maxima toward the edges of the stationary and invertible region (an MA
/// root piling up at the unit circle, AR and MA roots nearly cancelling):
/// MA partial autocorrelations at the edge ([`MA_EDGE_START`]), every
/// partial autocorrelation at +0.9 and at -0.9 together, and each alone at
/// ±0.9 with the others at 0. With the conditional start and zeros these
/// reached statsmodels' optimum, or a higher one, on every fit of
/// `tests/goldens/arima_convergence_retail_weekly.json`, where the three
/// starts of version 2 stopped at local optima on four ARIMA(2,1,2) fits.
fn edge_starts([p, q, sp, sq]: [usize; 4]) -> Vec<Vec<f64>> {
    let k = p + q + sp + sq;
    let mut starts = Vec::with_capacity(2 * k + 3);
    if q + sq > 0 {
        let mut edge = vec![0.0; k];
        edge[p..p + q].fill(MA_EDGE_START);
        edge[p + q + sp..].fill(MA_EDGE_START);
        starts.push(edge);
    }
    if k > 1 {
        starts.push(vec![MA_EDGE_START; k]);
    }
    starts.push(vec![-MA_EDGE_START; k]);
    for i in 0..k {
        for sign in [1.0, -1.0] {
            let mut one = vec![0.0; k];
            one[i] = sign * MA_EDGE_START;
            if !starts.contains(&one) {
                starts.push(one);
            }
        }
    }
    starts.retain(|start| start.iter().any(|v| *v != 0.0));
    starts
}

/// A fitted model.
#[derive(Debug, Clone, PartialEq)]
pub struct ArimaFit {
    pub orders: Orders,
    pub method: Method,
    pub ar: Vec<f64>,
    pub ma: Vec<f64>,
    pub seasonal_ar: Vec<f64>,
    pub seasonal_ma: Vec<f64>,
    /// Regression coefficients: the trend's terms (constant, then slope),
    /// then one per exogenous column (0 for a column left out as collinear).
    pub beta: Vec<f64>,
    pub sigma2: f64,
    /// Log-likelihood (for [`Method::Conditional`], R's CSS value).
    pub loglik: f64,
    /// Observations the likelihood covers (after differencing).
    pub nobs: usize,
    /// Estimated parameters, σ² included (for information criteria).
    pub parameters: usize,
    /// The ARMA coefficients as the optimiser saw them (unconstrained),
    /// what a saved fit keeps ([`saved::SavedArima`]).
    unconstrained: Vec<f64>,
    arma: Arma,
    delta: Vec<f64>,
    design: Design,
    state: Vec<f64>,
}

/// Point forecasts and their variances.
#[derive(Debug, Clone, PartialEq)]
pub struct ArimaForecast {
    pub mean: Vec<f64>,
    pub variance: Vec<f64>,
}

impl ArimaForecast {
    /// The central interval of probability `level` (e.g. 0.95) at each step.
    pub fn interval(&self, level: f64) -> Vec<(f64, f64)> {
        let z = crate::intervals::normal_quantile(0.5 + level / 2.0);
        self.mean
            .iter()
            .zip(&self.variance)
            .map(|(m, v)| (m - z * v.sqrt(), m + z * v.sqrt()))
            .collect()
    }
}

impl ArimaFit {
    pub fn aic(&self) -> f64 {
        -2.0 * self.loglik + 2.0 * self.parameters as f64
    }

    pub fn aicc(&self) -> f64 {
        let k = self.parameters as f64;
        self.aic() + 2.0 * k * (k + 1.0) / (self.nobs as f64 - k - 1.0)
    }

    pub fn bic(&self) -> f64 {
        -2.0 * self.loglik + self.parameters as f64 * (self.nobs as f64).ln()
    }

    /// The smallest modulus of the roots of the expanded AR and MA
    /// polynomials (2 when there are none): near 1, the model is close to
    /// non-stationary or non-invertible.
    pub fn min_root_modulus(&self) -> f64 {
        min_root_modulus(
            [&self.ar, &self.ma, &self.seasonal_ar, &self.seasonal_ma],
            self.orders.seasonal_order[3],
        )
    }

    /// Forecasts of `y` (the series the model was fitted on) `horizon`
    /// periods ahead; exogenous columns must cover them.
    pub fn forecast(&self, y: &[f64], horizon: usize) -> Result<ArimaForecast, ModelError> {
        if self.design.covered() < y.len() + horizon {
            return Err(ModelError::Numerical(format!(
                "the exogenous regressors cover {} periods; the forecasts need {}",
                self.design.covered(),
                y.len() + horizon
            )));
        }
        let w_hat = self.arma.forecast(&self.state, horizon);
        // The regression errors u = y − xβ, extended by their forecasts.
        let mut errors: Vec<f64> = y
            .iter()
            .enumerate()
            .map(|(t, v)| v - self.design.fitted(&self.beta, t))
            .collect();
        for w in &w_hat {
            // Undo the differencing: u_t = w_t − Σ_{k≥1} δ_k u_{t−k}.
            let t = errors.len();
            let lagged: f64 = self
                .delta
                .iter()
                .enumerate()
                .skip(1)
                .map(|(k, d)| d * errors[t - k])
                .sum();
            errors.push(w - lagged);
        }
        let mean = (y.len()..y.len() + horizon)
            .map(|t| errors[t] + self.design.fitted(&self.beta, t))
            .collect();
        let ar_full: Vec<f64> = multiply(
            &std::iter::once(1.0)
                .chain(self.arma.phi.iter().map(|p| -p))
                .collect::<Vec<_>>(),
            &self.delta,
        );
        let ma_full: Vec<f64> = std::iter::once(1.0).chain(self.arma.theta.iter().copied()).collect();
        let psi = psi_weights(&ar_full, &ma_full, horizon);
        let mut cumulative = 0.0;
        let variance = psi
            .iter()
            .map(|p| {
                cumulative += p * p;
                self.sigma2 * cumulative
            })
            .collect();
        Ok(ArimaForecast { mean, variance })
    }
}

/// The expanded ARMA of the differenced series from the four coefficient sets.
fn expand(ar: &[f64], ma: &[f64], seasonal_ar: &[f64], seasonal_ma: &[f64], s: usize) -> Arma {
    let ar_poly = multiply(
        &lag_polynomial(ar, 1, -1.0),
        &lag_polynomial(seasonal_ar, s.max(1), -1.0),
    );
    let ma_poly = multiply(&lag_polynomial(ma, 1, 1.0), &lag_polynomial(seasonal_ma, s.max(1), 1.0));
    Arma {
        phi: ar_poly[1..].iter().map(|c| -c).collect(),
        theta: ma_poly[1..].to_vec(),
    }
}

/// The orders of one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Orders {
    /// `[p, d, q]`.
    pub order: [usize; 3],
    /// `[P, D, Q, s]`.
    pub seasonal_order: [usize; 4],
    /// The deterministic trend.
    pub trend: ArimaTrend,
}

impl Orders {
    /// Orders with statsmodels' default trend.
    pub fn new(order: [usize; 3], seasonal_order: [usize; 4]) -> Orders {
        Orders {
            order,
            seasonal_order,
            trend: ArimaTrend::default_for(order[1] + seasonal_order[1]),
        }
    }

    /// Regular plus seasonal differences.
    pub fn differences(&self) -> usize {
        self.order[1] + self.seasonal_order[1]
    }
}

impl std::fmt::Display for Orders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ([p, d, q], [sp, sd, sq, s]) = (self.order, self.seasonal_order);
        write!(f, "ARIMA({p},{d},{q})")?;
        if sp + sd + sq > 0 {
            write!(f, "({sp},{sd},{sq})[{s}]")?;
        }
        match (self.trend, self.differences()) {
            (ArimaTrend::N, _) => Ok(()),
            (ArimaTrend::C, _) => write!(f, " with mean"),
            (ArimaTrend::T, 1) => write!(f, " with drift"),
            (ArimaTrend::T, _) => write!(f, " with linear trend"),
            (ArimaTrend::Ct, _) => write!(f, " with mean and linear trend"),
        }
    }
}

/// The exact (concentrated) log-likelihood of `y` under given coefficients:
/// `ar`, `ma`, seasonal `ar`, seasonal `ma`, and no regressors. `None` if the
/// coefficients are not stationary or the filter breaks down.
pub fn log_likelihood(y: &[f64], orders: &Orders, coefficients: [&[f64]; 4]) -> Option<f64> {
    let [_, d, _] = orders.order;
    let [_, sd, _, s] = orders.seasonal_order;
    let w = polynomial::apply(&differencing(d, sd, s.max(1)), y);
    let [ar, ma, sar, sma] = coefficients;
    let innovations = expand(ar, ma, sar, sma, s).innovations(&[&w])?;
    let (_, residual_squares) = regression::concentrate(&innovations)?;
    Some(exact_loglik(w.len(), residual_squares, innovations.log_det).0)
}

/// The exact log-likelihood with σ² at its maximum, and that σ².
fn exact_loglik(n: usize, residual_squares: f64, log_det: f64) -> (f64, f64) {
    let n = n as f64;
    let sigma2 = residual_squares / n;
    // A model that fits exactly (a constant series) has an infinite
    // likelihood: it is taken at the smallest positive variance instead,
    // so that the fit exists (forecasts without spread) and serialises.
    let floor = if sigma2 > 0.0 { sigma2 } else { f64::MIN_POSITIVE };
    let loglik = -0.5 * n * ((2.0 * std::f64::consts::PI).ln() + floor.ln() + 1.0) - 0.5 * log_det;
    (loglik, sigma2)
}

/// [`ArimaFit::min_root_modulus`] of coefficient sets `[ar, ma, sar, sma]`.
fn min_root_modulus(coefficients: [&[f64]; 4], season: usize) -> f64 {
    let s = season.max(1) as f64;
    let [ar, ma, sar, sma] = coefficients;
    [(ar, -1.0, 1.0), (ma, 1.0, 1.0), (sar, -1.0, s), (sma, 1.0, s)]
        .into_iter()
        .filter(|(c, _, _)| !c.is_empty())
        // A root z of the polynomial in B gives roots |z|^(1/s) of the same polynomial in B^s.
        .map(|(c, sign, s)| polynomial::min_root_modulus(&lag_polynomial(c, 1, sign)).powf(1.0 / s))
        .fold(2.0, f64::min)
}

/// The coefficient sets of an unconstrained optimiser vector.
struct Coefficients {
    ar: Vec<f64>,
    ma: Vec<f64>,
    seasonal_ar: Vec<f64>,
    seasonal_ma: Vec<f64>,
}

impl Coefficients {
    fn from_unconstrained(x: &[f64], [p, q, sp, sq]: [usize; 4]) -> Coefficients {
        let (ar, rest) = x.split_at(p);
        let (ma, rest) = rest.split_at(q);
        let (seasonal_ar, seasonal_ma) = rest.split_at(sp);
        let negated = |c: Vec<f64>| c.iter().map(|v| -v).collect();
        debug_assert_eq!(seasonal_ma.len(), sq);
        Coefficients {
            ar: transform::constrain(ar),
            ma: negated(transform::constrain(ma)),
            seasonal_ar: transform::constrain(seasonal_ar),
            seasonal_ma: negated(transform::constrain(seasonal_ma)),
        }
    }

    fn arma(&self, s: usize) -> Arma {
        expand(&self.ar, &self.ma, &self.seasonal_ar, &self.seasonal_ma, s)
    }
}

/// Fits a model of the given orders to `y` by exact maximum likelihood,
/// regressing on `exogenous` columns (each covering `y` and the periods to
/// forecast) when given.
pub fn fit(y: &[f64], exogenous: &[&[f64]], orders: &Orders, series: &str) -> Result<ArimaFit, ModelError> {
    fit_by(Estimation::EXACT, y, exogenous, orders, series)
}

/// Fits a model of the given orders to `y` as `estimation` says.
pub fn fit_by(
    estimation: Estimation,
    y: &[f64],
    exogenous: &[&[f64]],
    orders: &Orders,
    series: &str,
) -> Result<ArimaFit, ModelError> {
    let Problem {
        delta,
        design,
        w,
        regressors,
        kept,
    } = Problem::new(y, exogenous, orders, series)?;
    let [p, _, q] = orders.order;
    let [sp, _, sq, s] = orders.seasonal_order;
    let columns: Vec<&[f64]> = std::iter::once(w.as_slice())
        .chain(kept.iter().map(|j| regressors[*j].as_slice()))
        .collect();
    let sizes = [p, q, sp, sq];
    let nobs = w.len();
    // Conditional sums of squares: the first p + sP periods condition the rest.
    let skip = (p + sp * s).min(nobs);
    let conditional = |x: &[f64]| {
        let innovations = Coefficients::from_unconstrained(x, sizes)
            .arma(s)
            .conditional_residuals(&columns, skip);
        regression::concentrate(&innovations).map_or(f64::INFINITY, |(_, rss)| 0.5 * (rss / (nobs - skip) as f64).ln())
    };
    let exact = |x: &[f64]| {
        Coefficients::from_unconstrained(x, sizes)
            .arma(s)
            .innovations(&columns)
            .and_then(|i| {
                let (_, rss) = regression::concentrate(&i)?;
                Some(-exact_loglik(nobs, rss, i.log_det).0 / nobs as f64)
            })
            .unwrap_or(f64::INFINITY)
    };
    let zeros = vec![0.0; p + q + sp + sq];
    let not_converged = || {
        ModelError::Numerical(format!(
            "the ARIMA fit of series `{series}` did not converge in {} iterations",
            estimation.stop.max_iterations
        ))
    };
    let method = estimation.method;
    let css = optimize::minimize(conditional, zeros.clone(), estimation.stop);
    let x = match method {
        Method::Conditional if !css.value.is_finite() => {
            return Err(ModelError::Numerical(format!(
                "the conditional sum of squares of series `{series}` could not be evaluated"
            )));
        }
        Method::Conditional if !css.converged && estimation.strict => return Err(not_converged()),
        Method::Conditional => css.x,
        Method::Exact => {
            let feasible = |x: &[f64]| {
                estimation.min_root.is_none_or(|limit| {
                    let c = Coefficients::from_unconstrained(x, sizes);
                    min_root_modulus([&c.ar, &c.ma, &c.seasonal_ar, &c.seasonal_ma], s) >= limit
                })
            };
            // From the conditional estimate (or zeros when it is no start).
            // Near the edge of the stationary or invertible region the
            // transformed likelihood is flat: BFGS crawls there without
            // converging, or stops at a spurious maximum on the edge (an MA
            // root piled up at the unit circle). Fixed orders (`strict`)
            // always search again from zeros and from MA coefficients of
            // -0.9; a search's candidates only when the first search failed
            // or ended near the edge. The best converged optimum is kept.
            let css_start = css.value.is_finite() && feasible(&css.x) && exact(&css.x).is_finite();
            let start = if css_start { css.x } else { zeros.clone() };
            let mut best = optimize::minimize_within(exact, start, estimation.stop, feasible);
            let near_edge = |x: &[f64]| {
                let c = Coefficients::from_unconstrained(x, sizes);
                min_root_modulus([&c.ar, &c.ma, &c.seasonal_ar, &c.seasonal_ma], s) < NEAR_EDGE
            };
            let mut starts = Vec::new();
            if css_start && (estimation.strict || !best.converged || near_edge(&best.x)) {
                starts.push(zeros.clone());
            }
            if estimation.strict {
                starts.extend(edge_starts(sizes));
            }
            for start in starts {
                let again = optimize::minimize_within(exact, start, estimation.stop, feasible);
                let better = match (again.converged, best.converged) {
                    (true, false) => true,
                    (false, true) => false,
                    _ => again.value < best.value,
                };
                if better && again.value.is_finite() {
                    best = again;
                }
            }
            if !best.value.is_finite() {
                return Err(ModelError::Numerical(format!(
                    "the ARIMA likelihood of series `{series}` could not be evaluated"
                )));
            }
            if !best.converged && estimation.strict {
                return Err(not_converged());
            }
            best.x
        }
    };
    let coefficients = Coefficients::from_unconstrained(&x, sizes);
    let arma = coefficients.arma(s);
    let degenerate = || ModelError::Numerical(format!("the fitted ARIMA of series `{series}` is degenerate"));
    let filtered = arma.innovations(&columns).ok_or_else(degenerate)?;
    let (kept_beta, (loglik, sigma2)) = match method {
        Method::Exact => {
            let (beta, rss) = regression::concentrate(&filtered).ok_or_else(degenerate)?;
            (beta, exact_loglik(nobs, rss, filtered.log_det))
        }
        Method::Conditional => {
            let residuals = arma.conditional_residuals(&columns, skip);
            let (beta, rss) = regression::concentrate(&residuals).ok_or_else(degenerate)?;
            let sigma2 = rss / (nobs - skip) as f64;
            // R's CSS log-likelihood, over all differenced observations.
            let n = nobs as f64;
            (
                beta,
                (
                    -0.5 * n * ((2.0 * std::f64::consts::PI).ln() + 1.0 + sigma2.ln()),
                    sigma2,
                ),
            )
        }
    };
    let mut beta = vec![0.0; design.width()];
    for (j, b) in kept.iter().zip(&kept_beta) {
        beta[*j] = *b;
    }
    let state = predicted_state(&filtered, &kept_beta);
    Ok(ArimaFit {
        orders: *orders,
        method,
        ar: coefficients.ar,
        ma: coefficients.ma,
        seasonal_ar: coefficients.seasonal_ar,
        seasonal_ma: coefficients.seasonal_ma,
        beta,
        sigma2,
        loglik,
        nobs,
        parameters: p + q + sp + sq + kept.len() + 1,
        unconstrained: x,
        arma,
        delta,
        design,
        state,
    })
}

/// A model's data: the differencing, the regression design, the
/// differenced target and regressors, and the regressors kept (the others
/// are collinear).
struct Problem {
    delta: Vec<f64>,
    design: Design,
    w: Vec<f64>,
    regressors: Vec<Vec<f64>>,
    kept: Vec<usize>,
}

impl Problem {
    fn new(y: &[f64], exogenous: &[&[f64]], orders: &Orders, series: &str) -> Result<Problem, ModelError> {
        let [p, d, q] = orders.order;
        let [sp, sd, sq, s] = orders.seasonal_order;
        let delta = differencing(d, sd, s.max(1));
        let design = Design::new(orders.trend, exogenous);
        let need = delta.len() - 1 + p + sp * s + q + sq * s + design.width() + 2;
        if y.len() < need {
            return Err(ModelError::TooShort {
                series: series.to_string(),
                need,
                have: y.len(),
            });
        }
        let n = y.len();
        let w = polynomial::apply(&delta, y);
        let regressors: Vec<Vec<f64>> = (0..design.width())
            .map(|j| polynomial::apply(&delta, &design.column(j, n)))
            .collect();
        let kept = regression::independent(&regressors);
        Ok(Problem {
            delta,
            design,
            w,
            regressors,
            kept,
        })
    }
}

/// The ARMA state after the sample: the target's minus β times the
/// regressors' (the filter is linear in the data).
fn predicted_state(filtered: &Innovations, beta: &[f64]) -> Vec<f64> {
    let mut state = filtered.states[0].clone();
    for (b, regressor) in beta.iter().zip(&filtered.states[1..]) {
        state.iter_mut().zip(regressor).for_each(|(a, x)| *a -= b * x);
    }
    state
}
