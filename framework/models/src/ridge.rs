//! Ridge regression by the normal equations: rows are accumulated into
//! XᵀX / Xᵀy (never stored; XᵀX's upper triangle only, as it is symmetric),
//! the intercept is left unpenalised by centring, and the system is solved
//! by Cholesky factorisation (nalgebra).

use crate::ModelError;
use nalgebra::{DMatrix, DVector};

/// Running sums of the rows seen so far.
#[derive(Debug, Clone)]
pub struct NormalEquations {
    n: f64,
    /// XᵀX row by row; entries below the diagonal stay zero.
    xtx: Vec<f64>,
    xty: Vec<f64>,
    sum_x: Vec<f64>,
    sum_y: f64,
}

/// A fitted linear model `y = intercept + weights · x`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Ridge {
    pub weights: Vec<f64>,
    pub intercept: f64,
}

impl NormalEquations {
    pub fn new(width: usize) -> Self {
        NormalEquations {
            n: 0.0,
            xtx: vec![0.0; width * width],
            xty: vec![0.0; width],
            sum_x: vec![0.0; width],
            sum_y: 0.0,
        }
    }

    pub fn rows(&self) -> usize {
        self.n as usize
    }

    pub fn add(&mut self, x: &[f64], y: f64) {
        let width = self.xty.len();
        debug_assert_eq!(x.len(), width, "row width");
        for (i, &xi) in x.iter().enumerate() {
            let row = &mut self.xtx[i * width + i..(i + 1) * width];
            for (cell, &xj) in row.iter_mut().zip(&x[i..]) {
                *cell += xi * xj;
            }
            self.xty[i] += y * xi;
            self.sum_x[i] += xi;
        }
        self.sum_y += y;
        self.n += 1.0;
    }

    fn width(&self) -> usize {
        self.xty.len()
    }

    /// Minimises ‖y − b − Xw‖² + alpha‖w‖².
    pub fn solve(&self, alpha: f64) -> Result<Ridge, ModelError> {
        if self.n == 0.0 {
            return Err(ModelError::Numerical(
                "no training rows (series shorter than the lags and windows need)".into(),
            ));
        }
        let width = self.width();
        let xtx = DMatrix::from_fn(width, width, |i, j| self.xtx[i.min(j) * width + i.max(j)]);
        let mean_x = DVector::from_column_slice(&self.sum_x) / self.n;
        let mean_y = self.sum_y / self.n;
        let mut gram = xtx - (&mean_x * mean_x.transpose()) * self.n;
        let rhs = DVector::from_column_slice(&self.xty) - &mean_x * (mean_y * self.n);
        for i in 0..gram.nrows() {
            gram[(i, i)] += alpha;
        }
        let scale = gram.diagonal().max().max(f64::MIN_POSITIVE);
        let singular = || {
            ModelError::Numerical(format!(
                "the {}x{} design is singular (constant or collinear features){}",
                self.rows(),
                width,
                if alpha == 0.0 { "; use alpha > 0" } else { "" }
            ))
        };
        let factor = gram.cholesky().ok_or_else(singular)?;
        // A pivot this small relative to the largest variance means the
        // columns are collinear up to rounding: the solution would be noise.
        if factor.l_dirty().diagonal().iter().any(|p| p * p <= 1e-12 * scale) {
            return Err(singular());
        }
        let weights = factor.solve(&rhs);
        let intercept = mean_y - weights.dot(&mean_x);
        Ok(Ridge {
            weights: weights.iter().copied().collect(),
            intercept,
        })
    }
}

impl Ridge {
    pub fn predict(&self, x: &[f64]) -> f64 {
        self.intercept + self.weights.iter().zip(x).map(|(w, v)| w * v).sum::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ols_recovers_an_exact_plane() {
        let mut eq = NormalEquations::new(2);
        for (a, b) in [(0.0, 1.0), (1.0, 0.0), (2.0, 3.0), (3.0, 1.0), (4.0, 5.0)] {
            eq.add(&[a, b], 2.0 + 3.0 * a - b);
        }
        let fit = eq.solve(0.0).unwrap();
        assert!(
            (fit.intercept - 2.0).abs() < 1e-9
                && (fit.weights[0] - 3.0).abs() < 1e-9
                && (fit.weights[1] + 1.0).abs() < 1e-9
        );
    }

    #[test]
    fn ridge_shrinks_by_the_closed_form() {
        // One centred feature x = (-1, 1), y = (-2, 2): w = Σxy / (Σx² + α) = 4 / (2 + 2) = 1.
        let mut eq = NormalEquations::new(1);
        eq.add(&[-1.0], -2.0 + 5.0);
        eq.add(&[1.0], 2.0 + 5.0);
        let fit = eq.solve(2.0).unwrap();
        assert!((fit.weights[0] - 1.0).abs() < 1e-12 && (fit.intercept - 5.0).abs() < 1e-12);
    }

    #[test]
    fn collinear_ols_is_a_clear_error() {
        let mut eq = NormalEquations::new(2);
        for a in [1.0, 2.0, 3.0] {
            eq.add(&[a, 2.0 * a], a);
        }
        let err = eq.solve(0.0).unwrap_err().to_string();
        assert!(err.contains("singular") && err.contains("use alpha > 0"), "{err}");
    }
}
