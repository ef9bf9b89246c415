//! Lag polynomials as coefficient vectors `[1, c1, c2, ...]` (c_k multiplies
//! Bᵏ): products, seasonal expansion, and differencing operators.

/// The product of two lag polynomials.
pub fn multiply(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; a.len() + b.len() - 1];
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out
}

/// `1 + sign·(c1 B^s + c2 B^2s + ...)`: an AR (`sign = -1`) or MA (`+1`)
/// polynomial in the lag `B^s`.
pub fn lag_polynomial(coefficients: &[f64], s: usize, sign: f64) -> Vec<f64> {
    let mut out = vec![0.0; coefficients.len() * s + 1];
    out[0] = 1.0;
    for (k, c) in coefficients.iter().enumerate() {
        out[(k + 1) * s] = sign * c;
    }
    out
}

/// `(1 - B)^d (1 - B^s)^D`.
pub fn differencing(d: usize, seasonal_d: usize, s: usize) -> Vec<f64> {
    let mut out = vec![1.0];
    for _ in 0..d {
        out = multiply(&out, &[1.0, -1.0]);
    }
    for _ in 0..seasonal_d {
        out = multiply(&out, &lag_polynomial(&[1.0], s, -1.0));
    }
    out
}

/// Applies a differencing operator: `w_t = Σ δ_k y_{t-k}` for every t with a full window.
pub fn apply(delta: &[f64], y: &[f64]) -> Vec<f64> {
    let k = delta.len() - 1;
    (k..y.len())
        .map(|t| delta.iter().enumerate().map(|(i, c)| c * y[t - i]).sum())
        .collect()
}

/// The first `n` ψ-weights of `theta(B) / phi(B)` (both with leading 1).
pub fn psi_weights(phi: &[f64], theta: &[f64], n: usize) -> Vec<f64> {
    let mut psi = vec![0.0; n];
    for j in 0..n {
        let mut value = theta.get(j).copied().unwrap_or(0.0);
        for i in 1..phi.len().min(j + 1) {
            value -= phi[i] * psi[j - i];
        }
        psi[j] = value;
    }
    psi
}

/// The smallest modulus of the roots of `c0 + c1 z + c2 z² + …` (the
/// eigenvalues of its companion matrix); infinity for a constant.
pub fn min_root_modulus(c: &[f64]) -> f64 {
    let Some(degree) = c.iter().rposition(|v| *v != 0.0).filter(|d| *d > 0) else {
        return f64::INFINITY;
    };
    let lead = c[degree];
    let companion = nalgebra::DMatrix::from_fn(degree, degree, |i, j| {
        if i == 0 {
            -c[degree - 1 - j] / lead
        } else if i == j + 1 {
            1.0
        } else {
            0.0
        }
    });
    companion
        .complex_eigenvalues()
        .iter()
        .map(|z| z.norm())
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_expansion_and_differencing() {
        assert_eq!(multiply(&[1.0, -0.5], &[1.0, 0.2]), vec![1.0, -0.3, -0.1]);
        assert_eq!(lag_polynomial(&[0.5], 3, -1.0), vec![1.0, 0.0, 0.0, -0.5]);
        // (1 - B)(1 - B^2) = 1 - B - B^2 + B^3
        assert_eq!(differencing(1, 1, 2), vec![1.0, -1.0, -1.0, 1.0]);
        assert_eq!(apply(&[1.0, -1.0], &[1.0, 4.0, 9.0]), vec![3.0, 5.0]);
    }

    #[test]
    fn roots_by_hand() {
        // 1 - 0.5 z: root 2. (1 - 0.5z)(1 + 0.25z) = 1 - 0.25z - 0.125z²: roots 2 and -4.
        assert!((min_root_modulus(&[1.0, -0.5]) - 2.0).abs() < 1e-12);
        assert!((min_root_modulus(&[1.0, -0.25, -0.125]) - 2.0).abs() < 1e-12);
        // 1 + z²: roots ±i.
        assert!((min_root_modulus(&[1.0, 0.0, 1.0]) - 1.0).abs() < 1e-12);
        assert_eq!(min_root_modulus(&[1.0, 0.0]), f64::INFINITY);
    }

    #[test]
    fn psi_weights_of_a_random_walk_and_an_ar1() {
        assert_eq!(psi_weights(&[1.0, -1.0], &[1.0], 4), vec![1.0; 4]);
        assert_eq!(psi_weights(&[1.0, -0.5], &[1.0, 0.5], 3), vec![1.0, 1.0, 0.5]);
    }
}
