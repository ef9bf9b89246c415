//! Bounded Nelder–Mead minimisation: the derivative-free simplex search
//! that R's `forecast::ets`, statsforecast's ETS and Theta, and `forecTheta`
//! fit their smoothing parameters and initial states with. Points leaving
//! the box are clamped back onto it; the coefficients adapt to the
//! dimension (Gao & Han 2012), as statsforecast's do.

/// How the search starts and stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Relative step of the initial simplex along each coordinate.
    pub init_step: f64,
    /// The step of a coordinate that starts at zero.
    pub zero_step: f64,
    pub max_iterations: usize,
    /// Stops once the standard deviation of the simplex's values falls below this.
    pub tolerance: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            init_step: 0.05,
            zero_step: 1e-4,
            max_iterations: 1_000,
            tolerance: 1e-4,
        }
    }
}

/// The best point found and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    pub x: Vec<f64>,
    pub value: f64,
    pub iterations: usize,
}

fn clamp(x: &mut [f64], lower: &[f64], upper: &[f64]) {
    for ((v, lo), hi) in x.iter_mut().zip(lower).zip(upper) {
        *v = v.max(*lo).min(*hi);
    }
}

/// Minimises `f` over the box `[lower, upper]` from `start`. A value that
/// is not a number counts as +∞ (the point is infeasible).
pub fn minimise(
    mut f: impl FnMut(&[f64]) -> f64,
    start: &[f64],
    lower: &[f64],
    upper: &[f64],
    settings: Settings,
) -> Minimum {
    let n = start.len();
    let mut value = |x: &[f64]| {
        let v = f(x);
        if v.is_nan() { f64::INFINITY } else { v }
    };
    let mut x0 = start.to_vec();
    clamp(&mut x0, lower, upper);
    if n == 0 {
        let v = value(&x0);
        return Minimum {
            x: x0,
            value: v,
            iterations: 0,
        };
    }
    let dim = n as f64;
    let (reflect, expand, contract, shrink) = (1.0, 1.0 + 2.0 / dim, 0.75 - 1.0 / (2.0 * dim), 1.0 - 1.0 / dim);
    let mut simplex: Vec<Vec<f64>> = vec![x0.clone(); n + 1];
    for (i, vertex) in simplex.iter_mut().take(n).enumerate() {
        let v = vertex[i];
        vertex[i] = if v == 0.0 {
            settings.zero_step
        } else {
            v * (1.0 + settings.init_step)
        };
        vertex[i] = vertex[i].max(lower[i]).min(upper[i]);
    }
    let mut values: Vec<f64> = simplex.iter().map(|x| value(x)).collect();
    let toward = |from: &[f64], to: &[f64], t: f64| -> Vec<f64> {
        let mut p: Vec<f64> = from.iter().zip(to).map(|(a, b)| a + t * (b - a)).collect();
        clamp(&mut p, lower, upper);
        p
    };
    let mut iterations = 0;
    while iterations < settings.max_iterations {
        iterations += 1;
        let mut order: Vec<usize> = (0..=n).collect();
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
        let (best, second_worst, worst) = (order[0], order[n - 1], order[n]);
        if spread(&values) < settings.tolerance {
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| (simplex.iter().map(|x| x[j]).sum::<f64>() - simplex[worst][j]) / dim)
            .collect();
        let reflected = toward(&centroid, &simplex[worst], -reflect);
        let f_r = value(&reflected);
        if values[best] <= f_r && f_r < values[second_worst] {
            (simplex[worst], values[worst]) = (reflected, f_r);
            continue;
        }
        if f_r < values[best] {
            let expanded = toward(&centroid, &reflected, expand);
            let f_e = value(&expanded);
            (simplex[worst], values[worst]) = if f_e < f_r { (expanded, f_e) } else { (reflected, f_r) };
            continue;
        }
        if values[second_worst] <= f_r && f_r < values[worst] {
            let outside = toward(&centroid, &reflected, contract);
            let f_oc = value(&outside);
            if f_oc <= f_r {
                (simplex[worst], values[worst]) = (outside, f_oc);
                continue;
            }
        } else {
            let inside = toward(&centroid, &reflected, -contract);
            let f_ic = value(&inside);
            if f_ic < values[worst] {
                (simplex[worst], values[worst]) = (inside, f_ic);
                continue;
            }
        }
        let anchor = simplex[best].clone();
        for j in (0..=n).filter(|&j| j != best) {
            simplex[j] = toward(&anchor, &simplex[j], shrink);
            values[j] = value(&simplex[j]);
        }
    }
    let best = (0..=n).min_by(|&a, &b| values[a].total_cmp(&values[b])).unwrap_or(0);
    Minimum {
        x: simplex.swap_remove(best),
        value: values[best],
        iterations,
    }
}

/// Population standard deviation of the simplex's values (∞ while any is).
fn spread(values: &[f64]) -> f64 {
    if values.iter().any(|v| !v.is_finite()) {
        return f64::INFINITY;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_rosenbrock_minimum_and_respects_bounds() {
        let rosenbrock = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let tight = Settings {
            tolerance: 1e-14,
            max_iterations: 5_000,
            ..Settings::default()
        };
        let m = minimise(rosenbrock, &[-1.2, 1.0], &[-5.0, -5.0], &[5.0, 5.0], tight);
        assert!((m.x[0] - 1.0).abs() < 1e-4 && (m.x[1] - 1.0).abs() < 1e-4, "{m:?}");
        // The unconstrained minimum (1, 1) lies outside x ≤ 0.5: the search stops on the bound.
        let m = minimise(rosenbrock, &[0.0, 0.0], &[-5.0, -5.0], &[0.5, 5.0], tight);
        assert!((m.x[0] - 0.5).abs() < 1e-6 && (m.x[1] - 0.25).abs() < 1e-3, "{m:?}");
    }

    #[test]
    fn a_value_that_is_not_a_number_is_infeasible() {
        let m = minimise(
            |x: &[f64]| if x[0] < 0.0 { f64::NAN } else { (x[0] - 2.0).powi(2) },
            &[1.0],
            &[-10.0],
            &[10.0],
            Settings {
                tolerance: 1e-12,
                ..Settings::default()
            },
        );
        assert!((m.x[0] - 2.0).abs() < 1e-4, "{m:?}");
    }
}
