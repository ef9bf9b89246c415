//! Stacking: the weights that best reproduce the selection window's actuals
//! from the members' forecasts, by least squares.
//!
//! Every (series, origin) chunk's forecasts and actuals are divided by the
//! series' MASE scale (the mean absolute seasonal difference of its
//! training values), so a best-seller does not outweigh the long tail: the
//! objective is the mean squared *scaled* error, an RMSSE. The problem
//!
//! ```text
//! minimise  ½ wᵀ(XᵀX/m + λI)w − (Xᵀy/m)ᵀw
//! subject to  w ≥ 0 (nnls),  Σw = 1 (constrained)
//! ```
//!
//! is a small convex QP solved by Clarabel's interior-point method; ridge
//! sets λ = alpha × the mean of diag(XᵀX/m) (so alpha is scale-free) and
//! leaves the weights' signs free. An interior-point solution only
//! approaches the bounds, so it is then polished: the weights it leaves
//! clearly positive are re-solved exactly (the KKT system of that support,
//! as OSQP's polishing does), the others set to zero; the polished weights
//! are kept when they are feasible and no worse.

use super::HistoryChunk;
use crate::ModelError;
use crate::accuracy::seasonal_scale;
use clarabel::algebra::CscMatrix;
use clarabel::solver::{DefaultSettings, DefaultSolver, IPSolver, NonnegativeConeT, SolverStatus, ZeroConeT};
use nalgebra::{DMatrix, DVector};
use trendlab_spec::Solver;

/// The least-squares problem on scaled selection-window rows.
pub struct Problem {
    /// m × n: one row per scaled forecast step, one column per kept member.
    x: DMatrix<f64>,
    y: DVector<f64>,
}

impl Problem {
    /// Rows from the chunks whose series has a defined scale.
    pub fn from_history(history: &[HistoryChunk], kept: &[usize], season: usize) -> Problem {
        let mut rows: Vec<f64> = Vec::new();
        let mut y = Vec::new();
        for chunk in history {
            let Some(scale) = seasonal_scale(&chunk.train, season, 1) else {
                continue;
            };
            for (h, actual) in chunk.actual.iter().enumerate() {
                rows.extend(kept.iter().map(|&c| chunk.forecasts[c][h] / scale));
                y.push(actual / scale);
            }
        }
        Problem {
            x: DMatrix::from_row_slice(y.len(), kept.len(), &rows),
            y: DVector::from_vec(y),
        }
    }

    pub fn rows(&self) -> usize {
        self.y.len()
    }

    /// The stacking weights.
    pub fn solve(&self, solver: Solver, alpha: f64, constrained: bool) -> Result<Vec<f64>, ModelError> {
        let (m, n) = (self.rows() as f64, self.x.ncols());
        let mut gram = self.x.transpose() * &self.x / m;
        let linear = -(self.x.transpose() * &self.y) / m;
        if solver == Solver::Ridge {
            let penalty = alpha * gram.diagonal().mean();
            for i in 0..n {
                gram[(i, i)] += penalty;
            }
        }
        let nonnegative = solver == Solver::Nnls;
        let upper: Vec<(usize, usize, f64)> = (0..n)
            .flat_map(|j| (0..=j).map(move |i| (i, j)))
            .map(|(i, j)| (i, j, gram[(i, j)]))
            .filter(|(_, _, v)| *v != 0.0)
            .collect();
        let p = triplets(n, n, &upper);
        let mut a = Vec::new();
        let mut b = Vec::new();
        let mut cones = Vec::new();
        if constrained {
            a.extend((0..n).map(|j| (0, j, 1.0)));
            b.push(1.0);
            cones.push(ZeroConeT(1));
        }
        if nonnegative {
            let first = b.len();
            a.extend((0..n).map(|j| (first + j, j, -1.0)));
            b.extend(std::iter::repeat_n(0.0, n));
            cones.push(NonnegativeConeT(n));
        }
        let a = triplets(b.len(), n, &a);
        let settings = DefaultSettings {
            verbose: false,
            ..DefaultSettings::default()
        };
        let numerical = |what: String| ModelError::Numerical(format!("stacking: {what}"));
        let mut qp = DefaultSolver::new(&p, linear.as_slice(), &a, &b, &cones, settings)
            .map_err(|e| numerical(e.to_string()))?;
        qp.solve();
        if !matches!(qp.solution.status, SolverStatus::Solved | SolverStatus::AlmostSolved) {
            return Err(numerical(format!("the solver stopped with {:?}", qp.solution.status)));
        }
        let w = qp.solution.x.clone();
        if w.iter().any(|v| !v.is_finite()) {
            return Err(numerical("non-finite weights".into()));
        }
        let objective = |w: &[f64]| {
            let w = DVector::from_column_slice(w);
            0.5 * (w.transpose() * &gram * &w)[0] + linear.dot(&w)
        };
        let polished = polish(&gram, &linear, &w, nonnegative, constrained)
            .filter(|p| objective(p) <= objective(&w) + 1e-12 * (1.0 + objective(&w).abs()));
        Ok(polished.unwrap_or(w))
    }
}

/// The exact optimum on the support of the interior-point solution `w`:
/// with nnls, start from the weights above 1e-6 of the largest, solve the
/// KKT system of the support, drop any weight that comes out at or below
/// 1e-10 of the largest, and repeat until none does.
fn polish(
    gram: &DMatrix<f64>,
    linear: &DVector<f64>,
    w: &[f64],
    nonnegative: bool,
    constrained: bool,
) -> Option<Vec<f64>> {
    let largest = w.iter().copied().fold(0.0, f64::max);
    let mut support: Vec<usize> = (0..w.len())
        .filter(|&i| !nonnegative || w[i] > 1e-6 * largest)
        .collect();
    loop {
        let solution = solve_on(gram, linear, &support, constrained)?;
        let top = solution.iter().copied().fold(0.0, f64::max);
        let keep: Vec<bool> = solution.iter().map(|v| !nonnegative || *v > 1e-10 * top).collect();
        if keep.iter().all(|k| *k) {
            let mut polished = vec![0.0; w.len()];
            for (a, &i) in support.iter().enumerate() {
                polished[i] = solution[a];
            }
            return Some(polished);
        }
        support = support
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(i, _)| *i)
            .collect();
        if support.is_empty() {
            return None;
        }
    }
}

/// The minimiser of the quadratic restricted to `support` (weights
/// outside it zero), under Σw = 1 when `constrained`.
fn solve_on(gram: &DMatrix<f64>, linear: &DVector<f64>, support: &[usize], constrained: bool) -> Option<Vec<f64>> {
    let k = support.len();
    let size = k + usize::from(constrained);
    let mut kkt = DMatrix::zeros(size, size);
    let mut rhs = DVector::zeros(size);
    for (a, &i) in support.iter().enumerate() {
        for (b, &j) in support.iter().enumerate() {
            kkt[(a, b)] = gram[(i, j)];
        }
        rhs[a] = -linear[i];
    }
    if constrained {
        for a in 0..k {
            kkt[(a, k)] = 1.0;
            kkt[(k, a)] = 1.0;
        }
        rhs[k] = 1.0;
    }
    let solution = kkt.lu().solve(&rhs)?;
    let weights: Vec<f64> = solution.iter().take(k).copied().collect();
    weights.iter().all(|v| v.is_finite()).then_some(weights)
}

/// A compressed-column matrix from `(row, column, value)` entries.
fn triplets(rows: usize, columns: usize, entries: &[(usize, usize, f64)]) -> CscMatrix<f64> {
    CscMatrix::new_from_triplets(
        rows,
        columns,
        entries.iter().map(|e| e.0).collect(),
        entries.iter().map(|e| e.1).collect(),
        entries.iter().map(|e| e.2).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    /// Members a, b, c on 40 series of 8 steps; the truth is 0.7a + 0.3b
    /// (plus `noise`), c an unrelated distractor.
    fn synthetic(noise: f64) -> Vec<HistoryChunk> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let level = Normal::new(0.0, 5.0).expect("valid");
        let error = Normal::new(0.0, noise.max(1e-300)).expect("valid");
        (0..40)
            .map(|s| {
                let scale = 1.0 + s as f64;
                let member = |rng: &mut rand::rngs::StdRng| -> Vec<f64> {
                    (0..8).map(|_| scale * (10.0 + level.sample(rng))).collect()
                };
                let (a, b, c) = (member(&mut rng), member(&mut rng), member(&mut rng));
                let actual = (0..8)
                    .map(|h| 0.7 * a[h] + 0.3 * b[h] + if noise > 0.0 { error.sample(&mut rng) } else { 0.0 })
                    .collect();
                HistoryChunk {
                    series: s,
                    origin: chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid"),
                    train: (0..10).map(|t| scale * (t % 3) as f64).collect(),
                    actual,
                    forecasts: vec![a, b, c],
                }
            })
            .collect()
    }

    fn close(w: &[f64], expected: &[f64], tolerance: f64) {
        for (got, want) in w.iter().zip(expected) {
            assert!((got - want).abs() < tolerance, "{w:?} != {expected:?}");
        }
    }

    #[test]
    fn recovers_known_weights() {
        let problem = Problem::from_history(&synthetic(0.0), &[0, 1, 2], 1);
        assert_eq!(problem.rows(), 320);
        for constrained in [true, false] {
            let nnls = problem.solve(Solver::Nnls, 0.0, constrained).expect("solves");
            close(&nnls, &[0.7, 0.3, 0.0], 1e-6);
            assert_eq!(nnls[2], 0.0, "a weight at the bound is exactly zero");
            let ridge = problem.solve(Solver::Ridge, 0.0, constrained).expect("solves");
            close(&ridge, &[0.7, 0.3, 0.0], 1e-6);
        }
    }

    #[test]
    fn constraints_hold_under_noise() {
        let problem = Problem::from_history(&synthetic(20.0), &[0, 1, 2], 1);
        let w = problem.solve(Solver::Nnls, 0.0, true).expect("solves");
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(w.iter().all(|v| *v >= 0.0));
        close(&w, &[0.7, 0.3, 0.0], 0.1);
        // A heavy ridge penalty pulls the constrained weights towards equal.
        let shrunk = problem.solve(Solver::Ridge, 1e3, true).expect("solves");
        close(&shrunk, &[1.0 / 3.0; 3], 1e-2);
    }

    #[test]
    fn only_scaled_rows_count() {
        let mut history = synthetic(0.0);
        history[0].train = vec![4.0; 10];
        assert_eq!(Problem::from_history(&history, &[0, 1], 1).rows(), 312);
    }
}
