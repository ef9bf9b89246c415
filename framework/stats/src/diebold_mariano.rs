//! The Diebold–Mariano test (1995) that two forecasts have equal expected
//! loss, with the small-sample correction of Harvey, Leybourne & Newbold
//! (1997): for the loss differential `d_t = L(a)_t − L(b)_t` over T
//! periods of h-step forecasts,
//! `DM = d̄ / √((γ₀ + 2 Σ_{k<h} γ_k) / T)` (γ_k the autocovariances of d,
//! divided by T), scaled by `√((T + 1 − 2h + h(h−1)/T) / T)` and compared
//! with Student's t on T − 1 degrees of freedom (two-sided). Where the
//! rectangular window's variance is not positive (it can be negative),
//! Bartlett's weights `1 − k/h` (Newey–West) stand in.

use crate::NoTest;
use statrs::distribution::{ContinuousCDF, StudentsT};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DieboldMariano {
    /// The corrected statistic; positive when `a` has the larger loss.
    pub statistic: f64,
    pub p_value: f64,
    /// Mean of `loss_a − loss_b`.
    pub mean_difference: f64,
}

pub fn diebold_mariano(loss_a: &[f64], loss_b: &[f64], horizon: usize) -> Result<DieboldMariano, NoTest> {
    let d: Vec<f64> = loss_a.iter().zip(loss_b).map(|(a, b)| a - b).collect();
    let t = d.len();
    let h = horizon.max(1);
    if t < 3 || t <= h {
        return Err(NoTest(format!(
            "Diebold–Mariano needs more periods than the horizon ({t} periods, horizon {h})"
        )));
    }
    let tf = t as f64;
    let mean = d.iter().sum::<f64>() / tf;
    let gamma = |k: usize| (k..t).map(|i| (d[i] - mean) * (d[i - k] - mean)).sum::<f64>() / tf;
    let mut variance = (gamma(0) + 2.0 * (1..h).map(gamma).sum::<f64>()) / tf;
    if variance <= 0.0 {
        // The rectangular window can go negative; Bartlett's weights
        // (Newey–West) cannot.
        variance = (gamma(0) + 2.0 * (1..h).map(|k| (1.0 - k as f64 / h as f64) * gamma(k)).sum::<f64>()) / tf;
    }
    if variance <= 0.0 || !variance.is_finite() {
        return Err(NoTest(if d.iter().all(|v| *v == d[0]) {
            "the two forecasts' losses differ by a constant (or not at all)".into()
        } else {
            "the long-run variance of the loss differential is not positive".into()
        }));
    }
    let hf = h as f64;
    let correction = ((tf + 1.0 - 2.0 * hf + hf * (hf - 1.0) / tf) / tf).sqrt();
    let statistic = mean / variance.sqrt() * correction;
    let student = StudentsT::new(0.0, 1.0, tf - 1.0).expect("T > 1");
    Ok(DieboldMariano {
        statistic,
        p_value: (2.0 * student.cdf(-statistic.abs())).min(1.0),
        mean_difference: mean,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_step_statistic_by_hand() {
        // d = 1, 2, 3, 2 (b's loss 0): mean 2, γ₀ = (1+0+1+0)/4 = 0.5, h = 1:
        // DM = 2/√(0.5/4) = 5.657; correction √((4+1−2)/4) = 0.866 → 4.899.
        let dm = diebold_mariano(&[1.0, 2.0, 3.0, 2.0], &[0.0; 4], 1).unwrap();
        assert!((dm.statistic - 2.0 / (0.125f64).sqrt() * 0.75f64.sqrt()).abs() < 1e-12);
        // Student t with 3 degrees of freedom: P(|T| ≥ 4.899) ≈ 0.0163.
        assert!((dm.p_value - 0.01627).abs() < 1e-4, "{}", dm.p_value);
        let swapped = diebold_mariano(&[0.0; 4], &[1.0, 2.0, 3.0, 2.0], 1).unwrap();
        assert_eq!((swapped.statistic, swapped.p_value), (-dm.statistic, dm.p_value));
        assert!(diebold_mariano(&[1.0; 5], &[1.0; 5], 1).is_err());
        // d = 1, −1, 1, −1, 1, −1 with h = 2: γ₀ = 1, γ₁ = −5/6, so the
        // rectangular 1 − 5/3 < 0; Bartlett's 1 − 5/6 = 1/6 > 0, and d̄ = 0.
        let alternating = diebold_mariano(&[1.0, 0.0, 1.0, 0.0, 1.0, 0.0], &[0.0, 1.0, 0.0, 1.0, 0.0, 1.0], 2).unwrap();
        assert_eq!((alternating.statistic, alternating.p_value), (0.0, 1.0));
        assert!(diebold_mariano(&[1.0, 2.0], &[0.0, 0.0], 1).is_err());
    }
}
