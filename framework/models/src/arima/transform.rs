//! Stationarity and invertibility by reparameterisation (Jones 1980,
//! Monahan 1984, as statsmodels does): any real vector maps to partial
//! autocorrelations in (-1, 1), and these to the coefficients of a polynomial
//! whose roots lie outside the unit circle.

/// Unconstrained values → AR coefficients φ of a stationary `1 - Σ φ_k Bᵏ`.
pub fn constrain(unconstrained: &[f64]) -> Vec<f64> {
    let n = unconstrained.len();
    let partial: Vec<f64> = unconstrained.iter().map(|x| x / (1.0 + x * x).sqrt()).collect();
    let mut phi = vec![0.0; n];
    let mut previous = vec![0.0; n];
    for k in 0..n {
        phi[k] = partial[k];
        for i in 0..k {
            phi[i] = previous[i] - partial[k] * previous[k - 1 - i];
        }
        previous[..=k].copy_from_slice(&phi[..=k]);
    }
    phi
}

/// The inverse of [`constrain`] (for starting values); `None` if `phi` is not stationary.
pub fn unconstrain(phi: &[f64]) -> Option<Vec<f64>> {
    let n = phi.len();
    let mut current = phi.to_vec();
    let mut partial = vec![0.0; n];
    for k in (0..n).rev() {
        let r = current[k];
        if r.abs() >= 1.0 {
            return None;
        }
        partial[k] = r;
        let previous: Vec<f64> = (0..k)
            .map(|i| (current[i] + r * current[k - 1 - i]) / (1.0 - r * r))
            .collect();
        current[..k].copy_from_slice(&previous);
    }
    Some(partial.iter().map(|r| r / (1.0 - r * r).sqrt()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_ar2_by_hand() {
        // Partial autocorrelations (0.5, -0.3): φ2 = -0.3, φ1 = 0.5 - (-0.3)(0.5) = 0.65.
        let x = [0.5 / (1.0f64 - 0.25).sqrt(), -0.3 / (1.0f64 - 0.09).sqrt()];
        let phi = constrain(&x);
        assert!((phi[0] - 0.65).abs() < 1e-12 && (phi[1] + 0.3).abs() < 1e-12, "{phi:?}");
        let back = unconstrain(&phi).unwrap();
        assert!(back.iter().zip(&x).all(|(a, b)| (a - b).abs() < 1e-12));
        assert_eq!(unconstrain(&[1.2]), None);
    }
}
