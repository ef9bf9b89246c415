//! `arima`: seasonal ARIMA(p,d,q)(P,D,Q)s by exact maximum likelihood, as
//! statsmodels' SARIMAX estimates it. The series is differenced (the
//! diffuse likelihood of an integrated model is the exact likelihood of its
//! differenced data); the ARMA part's Gaussian likelihood is computed by the
//! Kalman filter from the stationary distribution ([`statespace`]);
//! stationarity and invertibility hold by construction ([`transform`]); the
//! likelihood is maximised by BFGS ([`optimize`]). Forecasts come from the
//! filtered state, integrated back; their variances from the ψ-weights.

pub mod auto;
mod optimize;
pub mod polynomial;
pub mod statespace;
pub mod transform;

#[cfg(test)]
mod properties;

use crate::{FoldInput, Forecaster, ModelError, SeriesHistory, per_series};
use polynomial::{differencing, lag_polynomial, multiply, psi_weights};
use statespace::Arma;
use trendlab_spec::families::{ArimaConfig, ArimaTrend};

/// A fitted model.
#[derive(Debug, Clone, PartialEq)]
pub struct ArimaFit {
    pub orders: Orders,
    pub ar: Vec<f64>,
    pub ma: Vec<f64>,
    pub seasonal_ar: Vec<f64>,
    pub seasonal_ma: Vec<f64>,
    /// Mean of the (undifferenced) series, with `trend = "c"`.
    pub mean: f64,
    pub sigma2: f64,
    pub loglik: f64,
    /// Observations the likelihood covers (after differencing).
    pub nobs: usize,
    /// Estimated parameters, σ² included (for information criteria).
    pub parameters: usize,
    arma: Arma,
    delta: Vec<f64>,
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
        let z = normal_quantile(0.5 + level / 2.0);
        self.mean
            .iter()
            .zip(&self.variance)
            .map(|(m, v)| (m - z * v.sqrt(), m + z * v.sqrt()))
            .collect()
    }
}

/// Standard normal quantile (Acklam's rational approximation, relative
/// error below 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
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

    /// Forecasts of `y` (the series the model was fitted on) `horizon` periods ahead.
    pub fn forecast(&self, y: &[f64], horizon: usize) -> ArimaForecast {
        let w_hat = self.arma.forecast(&self.state, horizon);
        let mut extended: Vec<f64> = y.iter().map(|v| v - self.mean).collect();
        for w in &w_hat {
            // Undo the differencing: y_t = w_t − Σ_{k≥1} δ_k y_{t−k}.
            let t = extended.len();
            let lagged: f64 = self
                .delta
                .iter()
                .enumerate()
                .skip(1)
                .map(|(k, d)| d * extended[t - k])
                .sum();
            extended.push(w - lagged);
        }
        let mean = extended[y.len()..].iter().map(|v| v + self.mean).collect();
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
        ArimaForecast { mean, variance }
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Orders {
    /// `[p, d, q]`.
    pub order: [usize; 3],
    /// `[P, D, Q, s]`.
    pub seasonal_order: [usize; 4],
    /// Whether a constant mean is estimated.
    pub constant: bool,
}

impl Orders {
    /// The fixed orders of a spec (`None` with `auto = true`).
    pub fn of(config: &ArimaConfig) -> Option<Orders> {
        let order = config.order?;
        let differenced = order[1] + config.seasonal_order[1] > 0;
        let trend = config
            .trend
            .unwrap_or(if differenced { ArimaTrend::N } else { ArimaTrend::C });
        Some(Orders {
            order,
            seasonal_order: config.seasonal_order,
            constant: trend == ArimaTrend::C,
        })
    }
}

impl std::fmt::Display for Orders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ([p, d, q], [sp, sd, sq, s]) = (self.order, self.seasonal_order);
        write!(f, "ARIMA({p},{d},{q})")?;
        if sp + sd + sq > 0 {
            write!(f, "({sp},{sd},{sq})[{s}]")?;
        }
        if self.constant {
            write!(f, " with mean")?;
        }
        Ok(())
    }
}

/// The exact (concentrated) log-likelihood of `y` under given coefficients:
/// `ar`, `ma`, seasonal `ar`, seasonal `ma` (no constant). `None` if the
/// coefficients are not stationary or the filter breaks down.
pub fn log_likelihood(y: &[f64], orders: &Orders, coefficients: [&[f64]; 4]) -> Option<f64> {
    let [_, d, _] = orders.order;
    let [_, sd, _, s] = orders.seasonal_order;
    let w = polynomial::apply(&differencing(d, sd, s.max(1)), y);
    let [ar, ma, sar, sma] = coefficients;
    expand(ar, ma, sar, sma, s).filter(&w).map(|f| f.loglik)
}

/// Fits a model of the given orders to `y` by exact maximum likelihood.
pub fn fit(y: &[f64], orders: &Orders, series: &str) -> Result<ArimaFit, ModelError> {
    let [p, d, q] = orders.order;
    let [sp, sd, sq, s] = orders.seasonal_order;
    let delta = differencing(d, sd, s.max(1));
    let with_mean = orders.constant;
    let need = delta.len() - 1 + p + sp * s + q + sq * s + 2;
    if y.len() < need {
        return Err(ModelError::TooShort {
            series: series.to_string(),
            need,
            have: y.len(),
        });
    }
    let w = polynomial::apply(&delta, y);
    let sample_mean = w.iter().sum::<f64>() / w.len() as f64;
    let spread = (w.iter().map(|v| (v - sample_mean).powi(2)).sum::<f64>() / w.len() as f64)
        .sqrt()
        .max(1e-12);
    let sizes = [p, q, sp, sq];
    let split = |x: &[f64]| -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, f64) {
        let mut offset = 0;
        let mut take = |n: usize| {
            let part = &x[offset..offset + n];
            offset += n;
            part.to_vec()
        };
        let ar = transform::constrain(&take(sizes[0]));
        let ma: Vec<f64> = transform::constrain(&take(sizes[1])).iter().map(|c| -c).collect();
        let sar = transform::constrain(&take(sizes[2]));
        let sma: Vec<f64> = transform::constrain(&take(sizes[3])).iter().map(|c| -c).collect();
        // The mean is optimised in units of the series' spread around its sample mean.
        let mean = if with_mean {
            sample_mean + x[offset] * spread
        } else {
            0.0
        };
        (ar, ma, sar, sma, mean)
    };
    let n = w.len() as f64;
    let objective = |x: &[f64]| {
        let (ar, ma, sar, sma, mean) = split(x);
        let centred: Vec<f64> = w.iter().map(|v| v - mean).collect();
        expand(&ar, &ma, &sar, &sma, s)
            .filter(&centred)
            .map_or(f64::INFINITY, |f| -f.loglik / n)
    };
    let mut start = vec![0.0; p + q + sp + sq];
    if with_mean {
        start.push(0.0);
    }
    let best = optimize::minimize(objective, start, 500);
    if !best.value.is_finite() {
        return Err(ModelError::Numerical(format!(
            "the ARIMA likelihood of series `{series}` could not be evaluated"
        )));
    }
    if !best.converged {
        return Err(ModelError::Numerical(format!(
            "the ARIMA fit of series `{series}` did not converge in 500 iterations"
        )));
    }
    let (ar, ma, seasonal_ar, seasonal_ma, mean) = split(&best.x);
    let arma = expand(&ar, &ma, &seasonal_ar, &seasonal_ma, s);
    let centred: Vec<f64> = w.iter().map(|v| v - mean).collect();
    let filtered = arma
        .filter(&centred)
        .ok_or_else(|| ModelError::Numerical(format!("the fitted ARIMA of series `{series}` is degenerate")))?;
    let delta_mean = if with_mean { mean } else { 0.0 };
    Ok(ArimaFit {
        orders: *orders,
        ar,
        ma,
        seasonal_ar,
        seasonal_ma,
        mean: delta_mean,
        sigma2: filtered.sigma2,
        loglik: filtered.loglik,
        nobs: w.len(),
        parameters: p + q + sp + sq + usize::from(with_mean) + 1,
        arma,
        delta,
        state: filtered.state,
    })
}

impl Forecaster for ArimaConfig {
    fn forecast(&self, input: &FoldInput<'_>) -> Result<Vec<Vec<f64>>, ModelError> {
        per_series(input, |s: &SeriesHistory<'_>, h| {
            let model = match Orders::of(self) {
                Some(orders) => fit(s.target, &orders, s.id)?,
                None => auto::auto_arima(s.target, self.season.unwrap_or(1), s.id)?,
            };
            Ok(model.forecast(s.target, h).mean)
        })
    }
}
