//! Unconstrained minimisation by BFGS with central-difference gradients and
//! a backtracking (Armijo) line search: enough for the few smooth parameters
//! of an ARIMA likelihood.

/// When to stop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stop {
    pub max_iterations: usize,
    /// Converged once an iteration improves the value by no more than this
    /// fraction of it (or the gradient vanishes).
    pub relative_tolerance: f64,
}

/// Result of a minimisation.
#[derive(Debug, Clone)]
pub struct Minimum {
    pub x: Vec<f64>,
    pub value: f64,
    pub converged: bool,
}

fn gradient(f: &mut impl FnMut(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    let mut probe = x.to_vec();
    (0..x.len())
        .map(|i| {
            let h = 1e-6 * x[i].abs().max(1.0);
            probe[i] = x[i] + h;
            let up = f(&probe);
            probe[i] = x[i] - h;
            let down = f(&probe);
            probe[i] = x[i];
            (up - down) / (2.0 * h)
        })
        .collect()
}

/// Minimises `f` from `x0`; non-finite values count as +∞ (the line search
/// backs away from them).
pub fn minimize(f: impl FnMut(&[f64]) -> f64, x0: Vec<f64>, stop: Stop) -> Minimum {
    minimize_within(f, x0, stop, |_| true)
}

/// [`minimize`] over the points where `feasible` holds: the line search
/// accepts no step out of that region (from a feasible `x0`), so the
/// iterates stop at its edge when the minimum lies beyond it.
pub fn minimize_within(
    mut f: impl FnMut(&[f64]) -> f64,
    x0: Vec<f64>,
    stop: Stop,
    feasible: impl Fn(&[f64]) -> bool,
) -> Minimum {
    let n = x0.len();
    let mut x = x0;
    let mut value = f(&x);
    if n == 0 || !value.is_finite() {
        return Minimum {
            x,
            value,
            converged: n == 0 && value.is_finite(),
        };
    }
    let mut g = gradient(&mut f, &x);
    let mut h: Vec<f64> = (0..n * n).map(|k| if k / n == k % n { 1.0 } else { 0.0 }).collect();
    for _ in 0..stop.max_iterations {
        if g.iter().map(|v| v.abs()).fold(0.0, f64::max) < 1e-7 {
            return Minimum {
                x,
                value,
                converged: true,
            };
        }
        let mut direction: Vec<f64> = (0..n)
            .map(|i| -(0..n).map(|j| h[i * n + j] * g[j]).sum::<f64>())
            .collect();
        let mut slope: f64 = direction.iter().zip(&g).map(|(d, g)| d * g).sum();
        if slope >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            h.iter_mut()
                .enumerate()
                .for_each(|(k, v)| *v = if k / n == k % n { 1.0 } else { 0.0 });
            direction = g.iter().map(|v| -v).collect();
            slope = -g.iter().map(|v| v * v).sum::<f64>();
        }
        let mut step = 1.0;
        let (next, next_value) = loop {
            let candidate: Vec<f64> = x.iter().zip(&direction).map(|(x, d)| x + step * d).collect();
            let candidate_value = f(&candidate);
            let sufficient = candidate_value.is_finite() && candidate_value <= value + 1e-4 * step * slope;
            if sufficient && feasible(&candidate) {
                break (candidate, candidate_value);
            }
            step *= 0.5;
            if step < 1e-12 {
                return Minimum {
                    x,
                    value,
                    converged: true,
                };
            }
        };
        let next_g = gradient(&mut f, &next);
        let s: Vec<f64> = next.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = next_g.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy: f64 = s.iter().zip(&y).map(|(a, b)| a * b).sum();
        // Curvature condition, relative to the step and gradient change: a
        // flat direction (a likelihood rising toward the edge of the
        // invertible region) still teaches the inverse Hessian its scale.
        let norms = s.iter().map(|v| v * v).sum::<f64>().sqrt() * y.iter().map(|v| v * v).sum::<f64>().sqrt();
        if sy > 1e-10 * norms && sy > 0.0 {
            // H ← (I - ρ s yᵀ) H (I - ρ y sᵀ) + ρ s sᵀ
            let rho = 1.0 / sy;
            let hy: Vec<f64> = (0..n).map(|i| (0..n).map(|j| h[i * n + j] * y[j]).sum()).collect();
            let yhy: f64 = y.iter().zip(&hy).map(|(a, b)| a * b).sum();
            for i in 0..n {
                for j in 0..n {
                    h[i * n + j] += -rho * (hy[i] * s[j] + s[i] * hy[j]) + (rho * rho * yhy + rho) * s[i] * s[j];
                }
            }
        }
        let improvement = value - next_value;
        x = next;
        value = next_value;
        g = next_g;
        if improvement.abs() <= stop.relative_tolerance * (value.abs() + stop.relative_tolerance) {
            return Minimum {
                x,
                value,
                converged: true,
            };
        }
    }
    Minimum {
        x,
        value,
        converged: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_rosenbrock_minimum() {
        let m = minimize(
            |x| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2),
            vec![-1.2, 1.0],
            Stop {
                max_iterations: 500,
                relative_tolerance: 1e-14,
            },
        );
        assert!(m.converged);
        assert!((m.x[0] - 1.0).abs() < 1e-4 && (m.x[1] - 1.0).abs() < 1e-4, "{:?}", m.x);
    }
}
