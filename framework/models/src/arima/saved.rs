//! An ARIMA fit as `trendlab forecast` saves it (`model/`), and the model it
//! stands for on a series' data again: the coefficients, regression
//! coefficients and σ² fixed, the series filtered through them, so that new
//! observations update the state without any estimation. On the data it was
//! fitted on, that is the fit itself.

use super::{ArimaFit, Coefficients, Method, Orders, Problem, predicted_state};
use crate::ModelError;
use serde::{Deserialize, Serialize};

/// What re-filtering a fitted model needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedArima {
    pub orders: Orders,
    pub method: Method,
    /// The ARMA coefficients, unconstrained (as the optimiser saw them).
    pub coefficients: Vec<f64>,
    /// Regression coefficients: the trend's terms, then the exogenous columns'.
    pub beta: Vec<f64>,
    pub sigma2: f64,
    /// The fit's log-likelihood and parameter count (kept for information).
    pub loglik: f64,
    pub parameters: usize,
}

impl ArimaFit {
    /// The fit as saved.
    pub fn saved(&self) -> SavedArima {
        SavedArima {
            orders: self.orders,
            method: self.method,
            coefficients: self.unconstrained.clone(),
            beta: self.beta.clone(),
            sigma2: self.sigma2,
            loglik: self.loglik,
            parameters: self.parameters,
        }
    }
}

impl SavedArima {
    /// The saved model on `y` (and `exogenous`, covering `y` and the periods
    /// to forecast): nothing is estimated again.
    pub fn refilter(&self, y: &[f64], exogenous: &[&[f64]], series: &str) -> Result<ArimaFit, ModelError> {
        let Problem {
            delta,
            design,
            w,
            regressors,
            kept,
        } = Problem::new(y, exogenous, &self.orders, series)?;
        let [p, _, q] = self.orders.order;
        let [sp, _, sq, s] = self.orders.seasonal_order;
        let unreadable = |what: &str| ModelError::Unfit(format!("the saved ARIMA of series `{series}` {what}"));
        if self.coefficients.len() != p + q + sp + sq {
            return Err(unreadable("does not match its orders"));
        }
        if self.beta.len() != design.width() {
            return Err(unreadable("has another number of regressors than the data"));
        }
        let columns: Vec<&[f64]> = std::iter::once(w.as_slice())
            .chain(kept.iter().map(|j| regressors[*j].as_slice()))
            .collect();
        let coefficients = Coefficients::from_unconstrained(&self.coefficients, [p, q, sp, sq]);
        let arma = coefficients.arma(s);
        let filtered = arma.innovations(&columns).ok_or_else(|| {
            ModelError::Numerical(format!(
                "the saved ARIMA of series `{series}` is degenerate on this data"
            ))
        })?;
        let kept_beta: Vec<f64> = kept.iter().map(|j| self.beta[*j]).collect();
        let state = predicted_state(&filtered, &kept_beta);
        Ok(ArimaFit {
            orders: self.orders,
            method: self.method,
            ar: coefficients.ar,
            ma: coefficients.ma,
            seasonal_ar: coefficients.seasonal_ar,
            seasonal_ma: coefficients.seasonal_ma,
            beta: self.beta.clone(),
            sigma2: self.sigma2,
            loglik: self.loglik,
            nobs: w.len(),
            parameters: self.parameters,
            unconstrained: self.coefficients.clone(),
            arma,
            delta,
            design,
            state,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arima::{ArimaTrend, fit};

    fn series(n: usize) -> Vec<f64> {
        let mut x = 0.0;
        (0..n)
            .map(|t| {
                x = 0.6 * x + ((t * 7919) % 13) as f64 - 6.0;
                40.0 + 0.2 * t as f64 + x
            })
            .collect()
    }

    #[test]
    fn a_saved_fit_forecasts_as_the_fit_and_filters_new_observations() {
        let orders = Orders {
            order: [1, 1, 1],
            seasonal_order: [0; 4],
            trend: ArimaTrend::N,
        };
        let y = series(80);
        let fitted = fit(&y[..70], &[], &orders, "s").unwrap();
        let saved: SavedArima = serde_json::from_str(&serde_json::to_string(&fitted.saved()).unwrap()).unwrap();
        // On the same data: the same forecasts, to the bit.
        let again = saved.refilter(&y[..70], &[], "s").unwrap();
        assert_eq!(
            again.forecast(&y[..70], 5).unwrap(),
            fitted.forecast(&y[..70], 5).unwrap()
        );
        // On ten more observations: the same coefficients, a new state, and
        // the forecasts of the fit's own recursion from there.
        let newer = saved.refilter(&y, &[], "s").unwrap();
        assert_eq!(
            (newer.ar.clone(), newer.ma.clone()),
            (fitted.ar.clone(), fitted.ma.clone())
        );
        let f = newer.forecast(&y, 3).unwrap().mean;
        let (phi, theta) = (fitted.ar[0], fitted.ma[0]);
        // ARIMA(1,1,1): Δŷ_{t+1} = φ Δy_t + θ ε_t; later steps φ Δŷ.
        assert!((f[1] - f[0] - phi * (f[0] - y[79])).abs() < 1e-9, "{f:?}");
        assert!((f[2] - f[1] - phi * (f[1] - f[0])).abs() < 1e-9, "{f:?}");
        assert!(theta.abs() < 1.0);
        assert_ne!(f, fitted.forecast(&y[..70], 3).unwrap().mean);
    }
}
