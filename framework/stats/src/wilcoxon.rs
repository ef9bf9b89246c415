//! The Wilcoxon signed-rank test of paired differences (two-sided), as
//! SciPy's `wilcoxon(d)` with its defaults (`zero_method="wilcox"`, no
//! continuity correction, `method="auto"`):
//!
//! - zero differences are dropped; the others are ranked by magnitude
//!   (average ranks for ties) and `R⁺`, `R⁻` sum the ranks of the positive
//!   and negative ones; the statistic is `min(R⁺, R⁻)`;
//! - up to 50 differences without ties or zeros: the exact null
//!   distribution of `R⁺` (every subset of ranks equally likely);
//! - up to 13 with ties or zeros: every one of the 2ⁿ sign assignments
//!   enumerated (SciPy's exact permutation test);
//! - otherwise the normal approximation with the tie-corrected variance
//!   `(n(n+1)(2n+1) − Σ(t³ − t)/2) / 24`.

use crate::ranks::average_ranks;
use statrs::distribution::{ContinuousCDF, Normal};

/// How the p-value was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WilcoxonMethod {
    Exact,
    Permutation,
    Normal,
    /// Every difference is zero: nothing to test, p = 1 (SciPy: NaN).
    AllZero,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Wilcoxon {
    /// `min(R⁺, R⁻)`.
    pub statistic: f64,
    pub r_plus: f64,
    pub r_minus: f64,
    pub p_value: f64,
    /// Non-zero differences.
    pub nonzero: usize,
    pub method: WilcoxonMethod,
}

/// Two-sided test that the differences `d` are symmetric about zero.
pub fn wilcoxon(d: &[f64]) -> Wilcoxon {
    let nonzero: Vec<f64> = d.iter().copied().filter(|v| *v != 0.0).collect();
    let zeros = d.len() - nonzero.len();
    let magnitudes: Vec<f64> = nonzero.iter().map(|v| v.abs()).collect();
    let (ranks, groups) = average_ranks(&magnitudes);
    let r_plus: f64 = nonzero
        .iter()
        .zip(&ranks)
        .filter(|(v, _)| **v > 0.0)
        .map(|(_, r)| r)
        .sum();
    let r_minus: f64 = nonzero
        .iter()
        .zip(&ranks)
        .filter(|(v, _)| **v < 0.0)
        .map(|(_, r)| r)
        .sum();
    let n = nonzero.len();
    let ties = groups.iter().any(|g| *g > 1);
    let (p_value, method) = if n == 0 {
        (1.0, WilcoxonMethod::AllZero)
    } else if d.len() <= 50 && !ties && zeros == 0 {
        (exact(n, r_plus), WilcoxonMethod::Exact)
    } else if d.len() <= 13 {
        (permutation(&ranks, r_plus), WilcoxonMethod::Permutation)
    } else {
        let count = n as f64;
        let mean = count * (count + 1.0) / 4.0;
        let tie_term: f64 = groups.iter().map(|&t| (t * t * t - t) as f64).sum();
        let se = ((count * (count + 1.0) * (2.0 * count + 1.0) - tie_term / 2.0) / 24.0).sqrt();
        let z = (r_plus - mean) / se;
        let normal = Normal::standard();
        ((2.0 * normal.cdf(-z.abs())).min(1.0), WilcoxonMethod::Normal)
    };
    Wilcoxon {
        statistic: r_plus.min(r_minus),
        r_plus,
        r_minus,
        p_value,
        nonzero: n,
        method,
    }
}

/// `2·min(P(R⁺ ≥ r), P(R⁺ ≤ r))` under the exact null distribution of
/// `n` untied ranks (a subset-sum count).
fn exact(n: usize, r_plus: f64) -> f64 {
    let total = n * (n + 1) / 2;
    let mut counts = vec![0.0f64; total + 1];
    counts[0] = 1.0;
    for k in 1..=n {
        for s in (k..=total).rev() {
            counts[s] += counts[s - k];
        }
    }
    let all: f64 = counts.iter().sum();
    let r = r_plus.round() as usize;
    let below: f64 = counts[..=r].iter().sum();
    let above: f64 = counts[r..].iter().sum();
    (2.0 * below.min(above) / all).min(1.0)
}

/// Every sign assignment of the ranks (zeros add nothing and cancel out of
/// the proportions): `2·min(#(R⁺ ≤ r), #(R⁺ ≥ r)) / 2ⁿ`. Ranks are
/// multiples of ½, so sums are compared exactly in half-units.
fn permutation(ranks: &[f64], r_plus: f64) -> f64 {
    let halves: Vec<i64> = ranks.iter().map(|r| (r * 2.0).round() as i64).collect();
    let observed = (r_plus * 2.0).round() as i64;
    let (mut below, mut above) = (0u64, 0u64);
    let assignments = 1u64 << halves.len();
    for mask in 0..assignments {
        let sum: i64 = (0..halves.len())
            .filter(|i| mask >> i & 1 == 1)
            .map(|i| halves[i])
            .sum();
        below += u64::from(sum <= observed);
        above += u64::from(sum >= observed);
    }
    (2.0 * below.min(above) as f64 / assignments as f64).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_exact_case_by_hand() {
        // d = 1, −2, 3: ranks 1, 2, 3; R⁺ = 4, R⁻ = 2. Of the 8 subsets of
        // {1, 2, 3}, sums ≤ 4: {}, 1, 2, 3, 1+2, 1+3 → 6; ≥ 4: 1+3, 2+3,
        // 1+2+3 → 3. p = 2·3/8.
        let w = wilcoxon(&[1.0, -2.0, 3.0]);
        assert_eq!((w.r_plus, w.r_minus, w.statistic), (4.0, 2.0, 2.0));
        assert_eq!(w.method, WilcoxonMethod::Exact);
        assert!((w.p_value - 0.75).abs() < 1e-15);
        let same = wilcoxon(&[0.0, 0.0]);
        assert_eq!((same.method, same.p_value), (WilcoxonMethod::AllZero, 1.0));
    }

    #[test]
    fn a_clear_shift_is_significant_and_symmetric_in_sign() {
        let d: Vec<f64> = (0..80).map(|i| 0.5 + ((i * 37) % 17) as f64 / 10.0 - 0.6).collect();
        let up = wilcoxon(&d);
        let down = wilcoxon(&d.iter().map(|v| -v).collect::<Vec<_>>());
        assert_eq!(up.method, WilcoxonMethod::Normal);
        assert!(up.p_value < 1e-6, "{up:?}");
        assert!((up.p_value - down.p_value).abs() < 1e-15);
        assert_eq!((up.r_plus, up.r_minus), (down.r_minus, down.r_plus));
    }
}
