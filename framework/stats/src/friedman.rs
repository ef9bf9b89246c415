//! Friedman's test that k treatments rank alike over n blocks, and
//! Nemenyi's post-hoc comparison of their average ranks (Demšar 2006).
//!
//! Friedman (as SciPy's `friedmanchisquare`): each block's values ranked
//! 1..k (ties averaged), `χ² = (12/(n k (k+1)) Σ_j R_j² − 3 n (k+1)) / C`
//! with `R_j` the rank sums and the tie correction
//! `C = 1 − Σ(t³ − t) / (n k (k² − 1))`, against χ² with k − 1 degrees of
//! freedom.
//!
//! Nemenyi (as scikit-posthocs' `posthoc_nemenyi_friedman`): two average
//! ranks differ when `|R̄_i − R̄_j| / √(k(k+1)/(6n))`, times √2, exceeds the
//! studentized range of k normals (infinite degrees of freedom); the
//! critical difference is the smallest such gap,
//! `CD = q_α/√2 · √(k(k+1)/(6n))`.

use crate::NoTest;
use crate::ranks::average_ranks;
use statrs::distribution::{ChiSquared, Continuous, ContinuousCDF, Normal};

#[derive(Debug, Clone, PartialEq)]
pub struct Friedman {
    pub statistic: f64,
    pub p_value: f64,
    /// Average rank of each treatment (1 = smallest value).
    pub mean_ranks: Vec<f64>,
    pub blocks: usize,
}

/// `blocks[b][j]`: treatment j's value in block b (every block complete,
/// smaller is ranked first). Needs three treatments and two blocks.
pub fn friedman(blocks: &[Vec<f64>]) -> Result<Friedman, NoTest> {
    let k = blocks.first().map_or(0, Vec::len);
    if k < 3 {
        return Err(NoTest(format!(
            "Friedman's test needs three configurations or more ({k} here)"
        )));
    }
    let n = blocks.len();
    if n < 2 {
        return Err(NoTest(format!("Friedman's test needs two blocks or more ({n} here)")));
    }
    let mut sums = vec![0.0; k];
    let mut ties = 0.0;
    for block in blocks {
        let (ranks, groups) = average_ranks(block);
        for (s, r) in sums.iter_mut().zip(ranks) {
            *s += r;
        }
        ties += groups.iter().map(|&t| (t * t * t - t) as f64).sum::<f64>();
    }
    let (nf, kf) = (n as f64, k as f64);
    let correction = 1.0 - ties / (nf * kf * (kf * kf - 1.0));
    if correction <= 0.0 {
        return Err(NoTest("every block ties every configuration: nothing to rank".into()));
    }
    let ss: f64 = sums.iter().map(|s| s * s).sum();
    let statistic = (12.0 / (nf * kf * (kf + 1.0)) * ss - 3.0 * nf * (kf + 1.0)) / correction;
    let chi2 = ChiSquared::new(kf - 1.0).expect("k ≥ 3");
    Ok(Friedman {
        statistic,
        p_value: chi2.sf(statistic),
        mean_ranks: sums.iter().map(|s| s / nf).collect(),
        blocks: n,
    })
}

/// Nemenyi's comparison of `k` average ranks over `n` blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Nemenyi {
    /// The smallest significant gap between two average ranks at `alpha`.
    pub critical_difference: f64,
    /// `p[i][j]`: the pairwise p-value (1 on the diagonal).
    pub p_values: Vec<Vec<f64>>,
}

pub fn nemenyi(mean_ranks: &[f64], blocks: usize, alpha: f64) -> Nemenyi {
    let k = mean_ranks.len();
    let scale = (k as f64 * (k as f64 + 1.0) / (6.0 * blocks as f64)).sqrt();
    let p_values = (0..k)
        .map(|i| {
            (0..k)
                .map(|j| {
                    if i == j {
                        1.0
                    } else {
                        range_sf((mean_ranks[i] - mean_ranks[j]).abs() / scale * 2f64.sqrt(), k)
                    }
                })
                .collect()
        })
        .collect();
    Nemenyi {
        critical_difference: range_isf(alpha, k) / 2f64.sqrt() * scale,
        p_values,
    }
}

/// `P(Q ≥ q)` for the range Q of k standard normals:
/// `∫ k φ(z) (Φ(z)^{k−1} − (Φ(z) − Φ(z − q))^{k−1}) dz` (the first term
/// integrates to one), by composite Simpson over z ∈ [−10, 10 + q].
pub fn range_sf(q: f64, k: usize) -> f64 {
    if q <= 0.0 {
        return 1.0;
    }
    let normal = Normal::standard();
    let (lo, hi) = (-10.0, 10.0 + q);
    let steps = 4000;
    let h = (hi - lo) / steps as f64;
    let f = |z: f64| {
        let upper = normal.cdf(z);
        let inside = (upper - normal.cdf(z - q)).max(0.0);
        k as f64 * normal.pdf(z) * (upper.powi(k as i32 - 1) - inside.powi(k as i32 - 1))
    };
    let mut total = f(lo) + f(hi);
    for i in 1..steps {
        total += if i % 2 == 1 { 4.0 } else { 2.0 } * f(lo + i as f64 * h);
    }
    (total * h / 3.0).clamp(0.0, 1.0)
}

/// The q with `P(Q ≥ q) = alpha` for k standard normals (bisection).
pub fn range_isf(alpha: f64, k: usize) -> f64 {
    let (mut lo, mut hi) = (0.0, 30.0);
    for _ in 0..80 {
        let mid = (lo + hi) / 2.0;
        if range_sf(mid, k) > alpha {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_of_two_normals_is_a_scaled_half_normal() {
        // For k = 2 the range is |Z₁ − Z₂| ~ √2·|N(0,1)|: P(Q ≥ q) = 2Φ(−q/√2).
        let normal = Normal::standard();
        for q in [0.5, 1.0, 2.77, 4.0] {
            let expected = 2.0 * normal.cdf(-q / 2f64.sqrt());
            assert!((range_sf(q, 2) - expected).abs() < 1e-10, "{q}");
        }
        // Demšar's table: q_0.05 = 2.343·√2 for k = 3, 2.569·√2 for k = 4.
        assert!((range_isf(0.05, 3) / 2f64.sqrt() - 2.343).abs() < 1e-3);
        assert!((range_isf(0.05, 4) / 2f64.sqrt() - 2.569).abs() < 1e-3);
    }

    #[test]
    fn friedman_needs_three_configurations_and_two_blocks() {
        assert!(friedman(&[vec![1.0, 2.0], vec![2.0, 1.0]]).is_err());
        assert!(friedman(&[vec![1.0, 2.0, 3.0]]).is_err());
        assert!(friedman(&[vec![1.0, 1.0, 1.0], vec![2.0, 2.0, 2.0]]).is_err());
        // Identical orderings: ranks 1, 2, 3 in all 4 blocks; χ² = 12/(4·3·4)·(16+64+144) − 3·4·4 = 8.
        let f = friedman(&vec![vec![0.1, 0.5, 0.9]; 4]).unwrap();
        assert!((f.statistic - 8.0).abs() < 1e-12);
        assert_eq!(f.mean_ranks, [1.0, 2.0, 3.0]);
    }
}
