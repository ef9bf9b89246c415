//! Regression with ARIMA errors: `y_t = x_t β + u_t` with `u_t` an ARIMA.
//! The regressors are the deterministic trend (powers of time, t = 1, 2, …
//! as statsmodels counts) followed by exogenous covariates. For given ARMA
//! coefficients β is concentrated out of the likelihood: the target and each
//! regressor go through the same filter, and β is the least-squares fit of
//! the target's standardised innovations on theirs (generalised least
//! squares), so the optimiser only ever searches the ARMA coefficients.

use super::statespace::Innovations;
use nalgebra::{DMatrix, DVector};
use trendlab_spec::ArimaTrend;

/// The regressors of one series over its training periods and beyond.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    trend: ArimaTrend,
    /// Exogenous columns, each covering the training periods and the future.
    exogenous: Vec<Vec<f64>>,
}

impl Design {
    pub fn new(trend: ArimaTrend, exogenous: &[&[f64]]) -> Design {
        Design {
            trend,
            exogenous: exogenous.iter().map(|c| c.to_vec()).collect(),
        }
    }

    /// Number of regressors.
    pub fn width(&self) -> usize {
        self.trend.powers().len() + self.exogenous.len()
    }

    /// Periods the exogenous columns cover (unbounded without them).
    pub fn covered(&self) -> usize {
        self.exogenous.iter().map(Vec::len).min().unwrap_or(usize::MAX)
    }

    /// Regressor `j` at period `t` (0-based).
    pub fn value(&self, j: usize, t: usize) -> f64 {
        let powers = self.trend.powers();
        match powers.get(j) {
            Some(power) => ((t + 1) as f64).powi(*power as i32),
            None => self.exogenous[j - powers.len()][t],
        }
    }

    /// Regressor `j` over the first `n` periods.
    pub fn column(&self, j: usize, n: usize) -> Vec<f64> {
        (0..n).map(|t| self.value(j, t)).collect()
    }

    /// `x_t β`.
    pub fn fitted(&self, beta: &[f64], t: usize) -> f64 {
        beta.iter().enumerate().map(|(j, b)| b * self.value(j, t)).sum()
    }
}

/// Indices of a maximal linearly independent subset of `columns`, in order
/// (Gram–Schmidt with a relative tolerance): a covariate that never changes,
/// or one that its differencing turns into another's copy, is left out
/// (coefficient 0) instead of making the normal equations singular.
pub fn independent(columns: &[Vec<f64>]) -> Vec<usize> {
    let mut basis: Vec<Vec<f64>> = Vec::new();
    let mut kept = Vec::new();
    for (j, column) in columns.iter().enumerate() {
        let norm = column.iter().map(|v| v * v).sum::<f64>().sqrt();
        let mut residual = column.clone();
        for b in &basis {
            let projection: f64 = residual.iter().zip(b).map(|(x, y)| x * y).sum();
            residual.iter_mut().zip(b).for_each(|(x, y)| *x -= projection * y);
        }
        let left = residual.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 && left > 1e-8 * norm {
            residual.iter_mut().for_each(|x| *x /= left);
            basis.push(residual);
            kept.push(j);
        }
    }
    kept
}

/// β and the residual sum of squares of the target's standardised
/// innovations (column 0) regressed on the regressors' (columns 1..);
/// `None` if the regressors' innovations are collinear.
pub fn concentrate(innovations: &Innovations) -> Option<(Vec<f64>, f64)> {
    let columns = &innovations.standardized;
    let target = &columns[0];
    let regressors = &columns[1..];
    let k = regressors.len();
    let beta = if k == 0 {
        Vec::new()
    } else {
        let gram = DMatrix::from_fn(k, k, |i, j| dot(&regressors[i], &regressors[j]));
        let rhs = DVector::from_fn(k, |i, _| dot(&regressors[i], target));
        gram.cholesky()?.solve(&rhs).iter().copied().collect()
    };
    let residual_squares = (0..target.len())
        .map(|t| {
            let fitted: f64 = beta.iter().zip(regressors).map(|(b, x)| b * x[t]).sum();
            (target[t] - fitted).powi(2)
        })
        .sum();
    Some((beta, residual_squares))
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_and_repeated_columns_are_left_out() {
        let columns = vec![
            vec![1.0, 2.0, 3.0],
            vec![0.0, 0.0, 0.0],
            vec![2.0, 4.0, 6.0],
            vec![1.0, 1.0, 1.0],
        ];
        assert_eq!(independent(&columns), vec![0, 3]);
    }

    #[test]
    fn least_squares_by_hand() {
        // y = 2 x exactly plus a residual orthogonal to x.
        let innovations = Innovations {
            standardized: vec![vec![2.0 + 1.0, 4.0 - 0.5], vec![1.0, 2.0]],
            log_det: 0.0,
            states: vec![],
        };
        let (beta, rss) = concentrate(&innovations).unwrap();
        assert!(
            (beta[0] - 2.0).abs() < 1e-12 && (rss - 1.25).abs() < 1e-12,
            "{beta:?} {rss}"
        );
    }
}
