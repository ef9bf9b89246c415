//! Fitting one ETS form by maximum likelihood: the smoothing parameters
//! and the initial states together, by bounded Nelder–Mead from the
//! starting point of [`super::init`], inside the usual bounds (β ≤ α,
//! γ ≤ 1 − α) and the admissible (forecastable) region, as R's
//! `forecast::ets` with `bounds = "both"`.

use super::init::{LOWER, UPPER, initial_smoothing, initial_states};
use super::statespace::{Form, Kind, Smoothing, State, filter};
use crate::nelder_mead::{Settings, minimise};
use serde::{Deserialize, Serialize};

/// A fitted ETS model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EtsFit {
    pub form: Form,
    pub smoothing: Smoothing,
    /// The state before the first observation.
    pub initial: State,
    /// The state after the last.
    pub last: State,
    /// Variance of the innovations.
    pub sigma2: f64,
    pub loglik: f64,
    pub aicc: f64,
    /// Estimated parameters, σ² included.
    pub parameters: usize,
    pub observations: usize,
}

/// Which smoothing parameters the vector holds, in order α, β, γ, φ.
struct Layout {
    form: Form,
    fixed_alpha: Option<f64>,
}

impl Layout {
    fn free(&self) -> [bool; 4] {
        [
            self.fixed_alpha.is_none(),
            self.form.trend != Kind::None,
            self.form.season != Kind::None,
            self.form.damped,
        ]
    }

    /// Smoothing parameters and the initial state from an optimiser vector.
    fn unpack(&self, x: &[f64]) -> Option<(Smoothing, State)> {
        let mut it = x.iter().copied();
        let free = self.free();
        let mut take = |on: bool, default: f64| if on { it.next() } else { Some(default) };
        let alpha = take(free[0], self.fixed_alpha.unwrap_or(0.0))?;
        let beta = take(free[1], 0.0)?;
        let gamma = take(free[2], 0.0)?;
        let phi = take(free[3], 1.0)?;
        let level = it.next()?;
        let growth = if free[1] { it.next()? } else { 0.0 };
        let season = match self.form.season {
            Kind::None => Vec::new(),
            kind => {
                let mut s: Vec<f64> = it.by_ref().take(self.form.period - 1).collect();
                let total = if kind == Kind::Multiplicative {
                    self.form.period as f64
                } else {
                    0.0
                };
                s.push(total - s.iter().sum::<f64>());
                s
            }
        };
        Some((
            Smoothing {
                alpha,
                beta,
                gamma,
                phi,
            },
            State { level, growth, season },
        ))
    }

    /// Inside the usual bounds and the admissible region.
    fn feasible(&self, p: &Smoothing, state: &State) -> bool {
        let free = self.free();
        let within = |i: usize, v: f64| !free[i] || (LOWER[i]..=UPPER[i]).contains(&v);
        if !(within(0, p.alpha) && within(1, p.beta) && within(2, p.gamma) && within(3, p.phi)) {
            return false;
        }
        if (free[1] && p.beta > p.alpha) || (free[2] && p.gamma > 1.0 - p.alpha) {
            return false;
        }
        if self.form.season == Kind::Multiplicative && state.season.iter().any(|s| *s < 0.0) {
            return false;
        }
        admissible(p, &self.form)
    }
}

/// Whether the model is forecastable (its discount matrix's eigenvalues in
/// the unit circle), by Hyndman et al. (2008)'s conditions.
fn admissible(p: &Smoothing, form: &Form) -> bool {
    let (alpha, beta, gamma, phi) = (p.alpha, p.beta, p.gamma, p.phi);
    if !(0.0..=1.0 + 1e-8).contains(&phi) {
        return false;
    }
    if form.season == Kind::None {
        if alpha < 1.0 - 1.0 / phi || alpha > 1.0 + 1.0 / phi {
            return false;
        }
        return form.trend == Kind::None || (beta >= alpha * (phi - 1.0) && beta <= (1.0 + phi) * (2.0 - alpha));
    }
    let m = form.period as f64;
    if gamma < (1.0 - 1.0 / phi - alpha).max(0.0) || gamma > 1.0 + 1.0 / phi - alpha {
        return false;
    }
    if alpha < 1.0 - 1.0 / phi - gamma * (1.0 - m + phi + phi * m) / (2.0 * phi * m) {
        return false;
    }
    if beta < -(1.0 - phi) * (gamma / m + alpha) {
        return false;
    }
    // The characteristic polynomial's roots, lowest power first.
    let mut poly = vec![phi * (1.0 - alpha - gamma), alpha + beta - alpha * phi + gamma - 1.0];
    poly.extend(std::iter::repeat_n(alpha + beta - alpha * phi, form.period - 2));
    poly.extend([alpha + beta - phi, 1.0]);
    // Without damping (φ = 1) the polynomial always has the root z = 1, on
    // the boundary the reference admits: divide it out, test the rest.
    let at_one: f64 = poly.iter().sum();
    if at_one.abs() < 1e-9 {
        let mut quotient = vec![0.0; poly.len() - 1];
        let mut carry = 0.0;
        for i in (1..poly.len()).rev() {
            carry += poly[i];
            quotient[i - 1] = carry;
        }
        return roots_within(&quotient, 1.0 + 1e-10);
    }
    roots_within(&poly, 1.0 + 1e-10)
}

/// Whether every root of `c0 + c1 z + … + cd z^d` has modulus below
/// `radius`: the Schur–Cohn test (the polynomial's reflection coefficients
/// all inside the unit circle) on the polynomial of z·radius, in O(d²)
/// with no eigenvalues.
fn roots_within(poly: &[f64], radius: f64) -> bool {
    let mut a: Vec<f64> = poly
        .iter()
        .enumerate()
        .map(|(i, c)| c * radius.powi(i as i32))
        .collect();
    while a.len() > 1 {
        let n = a.len() - 1;
        // Monic, so that the coefficients neither vanish nor overflow.
        let lead = a[n];
        if lead == 0.0 || !lead.is_finite() {
            return false;
        }
        a.iter_mut().for_each(|c| *c /= lead);
        let k = a[0];
        if k.abs() >= 1.0 {
            return false;
        }
        // (p(z) − k · p*(z)) / z: one degree lower, the same roots inside
        // the unit circle but one, none leaving it.
        a = (0..n).map(|i| a[i + 1] - k * a[n - 1 - i]).collect();
    }
    true
}

/// Fits `form` to `y` (at least as many values as parameters + 2);
/// `None` where no admissible fit exists.
pub fn fit_form(y: &[f64], form: Form, fixed_alpha: Option<f64>) -> Option<EtsFit> {
    let layout = Layout { form, fixed_alpha };
    let start_smoothing = initial_smoothing(&form);
    let free = layout.free();
    let mut x0: Vec<f64> = (0..4).filter(|&i| free[i]).map(|i| start_smoothing[i]).collect();
    let mut lower: Vec<f64> = (0..4).filter(|&i| free[i]).map(|i| LOWER[i]).collect();
    let mut upper: Vec<f64> = (0..4).filter(|&i| free[i]).map(|i| UPPER[i]).collect();
    let states = initial_states(y, &form);
    lower.extend(std::iter::repeat_n(f64::NEG_INFINITY, states.len()));
    upper.extend(std::iter::repeat_n(f64::INFINITY, states.len()));
    x0.extend(states);
    let estimated = x0.len();
    if estimated + 1 >= y.len() {
        return None;
    }
    let objective = |x: &[f64]| {
        let Some((p, state)) = layout.unpack(x) else {
            return f64::INFINITY;
        };
        if !layout.feasible(&p, &state) {
            return f64::INFINITY;
        }
        filter(&form, &p, &state, y).likelihood.max(-1e10)
    };
    let first = minimise(objective, &x0, &lower, &upper, Settings::default());
    // Nelder–Mead can stall on a face of the simplex: start once more from
    // where it stopped, keeping the better end.
    let again = minimise(objective, &first.x, &lower, &upper, Settings::default());
    let best = if again.value <= first.value { again } else { first };
    if !best.value.is_finite() {
        return None;
    }
    let (smoothing, initial) = layout.unpack(&best.x)?;
    let run = filter(&form, &smoothing, &initial, y);
    if !run.likelihood.is_finite() {
        return None;
    }
    let n = y.len() as f64;
    let parameters = estimated + 1;
    let k = parameters as f64;
    let aic = run.likelihood + 2.0 * k;
    let aicc = if n - k - 1.0 > 0.0 {
        aic + 2.0 * k * (k + 1.0) / (n - k - 1.0)
    } else {
        f64::INFINITY
    };
    let squares: f64 = run.errors.iter().map(|e| e * e).sum();
    Some(EtsFit {
        form,
        smoothing,
        initial,
        last: run.last,
        sigma2: squares / (n - k - 1.0).max(1.0),
        loglik: -0.5 * run.likelihood,
        aicc,
        parameters,
        observations: y.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(error: Kind, trend: Kind, season: Kind, damped: bool, period: usize) -> Form {
        Form {
            error,
            trend,
            season,
            damped,
            period,
        }
    }

    #[test]
    fn the_schur_cohn_test_agrees_with_the_roots() {
        let mut state = 99u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        };
        for degree in 1..=9 {
            for _ in 0..200 {
                let poly: Vec<f64> = (0..degree).map(|_| next() * 0.9).chain([1.0]).collect();
                let reversed: Vec<f64> = poly.iter().rev().copied().collect();
                let largest = 1.0 / crate::arima::polynomial::min_root_modulus(&reversed);
                if (largest - 1.0).abs() > 1e-6 {
                    assert_eq!(
                        roots_within(&poly, 1.0),
                        largest < 1.0,
                        "{poly:?}: largest root {largest}"
                    );
                }
            }
        }
        // (z − 0.5)(z + 0.8) inside; (z − 1.2) outside; z² + 1 on the circle.
        assert!(roots_within(&[-0.4, 0.3, 1.0], 1.0));
        assert!(!roots_within(&[-1.2, 1.0], 1.0));
        assert!(!roots_within(&[1.0, 0.0, 1.0], 1.0));
        assert!(roots_within(&[1.0, 0.0, 1.0], 1.0 + 1e-10));
    }

    #[test]
    fn admissible_region_by_hand() {
        let p = |alpha, beta, gamma, phi| Smoothing {
            alpha,
            beta,
            gamma,
            phi,
        };
        let ann = form(Kind::Additive, Kind::None, Kind::None, false, 1);
        assert!(admissible(&p(0.5, 0.0, 0.0, 1.0), &ann));
        assert!(admissible(&p(1.9, 0.0, 0.0, 1.0), &ann));
        assert!(!admissible(&p(2.1, 0.0, 0.0, 1.0), &ann));
        let ana = form(Kind::Additive, Kind::None, Kind::Additive, false, 4);
        assert!(admissible(&p(0.3, 0.0, 0.1, 1.0), &ana));
        assert!(!admissible(&p(0.3, 0.0, 2.5, 1.0), &ana));
    }

    #[test]
    fn recovers_the_smoothing_of_a_simulated_local_level() {
        // A local level with α = 0.3: the fitted α is close, the level follows the data.
        let mut level = 100.0;
        let mut y = Vec::new();
        let mut seed = 12345u64;
        let mut normal = || {
            let mut u = || {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((seed >> 11) as f64 + 0.5) / (1u64 << 53) as f64
            };
            (-2.0 * u().ln()).sqrt() * (2.0 * std::f64::consts::PI * u()).cos()
        };
        for _ in 0..400 {
            let e = normal();
            y.push(level + e);
            level += 0.3 * e;
        }
        let fit = fit_form(&y, form(Kind::Additive, Kind::None, Kind::None, false, 1), None).unwrap();
        assert!((fit.smoothing.alpha - 0.3).abs() < 0.08, "{fit:?}");
        assert!((fit.sigma2 - 1.0).abs() < 0.2, "{fit:?}");
    }
}
