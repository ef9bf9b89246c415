//! Classical seasonal decomposition and the autocorrelation test for a
//! seasonal period, as statsmodels' `seasonal_decompose` and `acf` compute
//! them (ETS's initial seasonal states, Theta's deseasonalisation).

/// Sample autocorrelations at lags `1..=lags` (demeaned, divided by n).
pub fn acf(y: &[f64], lags: usize) -> Vec<f64> {
    let n = y.len();
    let mean = y.iter().sum::<f64>() / n as f64;
    let d: Vec<f64> = y.iter().map(|v| v - mean).collect();
    let c0: f64 = d.iter().map(|v| v * v).sum();
    (1..=lags)
        .map(|k| {
            if k >= n || c0 == 0.0 {
                return 0.0;
            }
            d[..n - k].iter().zip(&d[k..]).map(|(a, b)| a * b).sum::<f64>() / c0
        })
        .collect()
}

/// Whether `y` has a significant autocorrelation at lag `m` (90% one-sided,
/// Bartlett's standard error over the lags below it): the test Theta uses
/// to decide on deseasonalising. Needs m ≥ 4 and two full seasons.
pub fn has_seasonality(y: &[f64], m: usize) -> bool {
    if m < 4 || y.len() < 2 * m {
        return false;
    }
    let r = acf(y, m);
    let below: f64 = r[..m - 1].iter().map(|v| v * v).sum();
    let se = ((1.0 + 2.0 * below) / y.len() as f64).sqrt();
    r[m - 1].abs() / se > crate::intervals::normal_quantile(0.95)
}

/// How the seasonal component combines with the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    Additive,
    Multiplicative,
}

/// The seasonal component of a classical decomposition with period `m`:
/// a centred moving average (2×m for even m) as trend, the detrended values
/// averaged per position in the season, normalised to sum 0 (additive) or
/// to mean 1 (multiplicative); one value per period of `y`, starting at
/// `y`'s first position. Needs two full seasons.
pub fn seasonal_component(y: &[f64], m: usize, combine: Combine) -> Vec<f64> {
    let n = y.len();
    let weights: Vec<f64> = if m.is_multiple_of(2) {
        let mut w = vec![1.0 / m as f64; m + 1];
        w[0] = 0.5 / m as f64;
        w[m] = 0.5 / m as f64;
        w
    } else {
        vec![1.0 / m as f64; m]
    };
    let half = weights.len() / 2;
    let mut sums = vec![0.0; m];
    let mut counts = vec![0usize; m];
    for t in half..n.saturating_sub(half) {
        let trend: f64 = weights.iter().enumerate().map(|(k, w)| w * y[t + k - half]).sum();
        let detrended = match combine {
            Combine::Additive => y[t] - trend,
            Combine::Multiplicative => y[t] / trend,
        };
        sums[t % m] += detrended;
        counts[t % m] += 1;
    }
    let mut averages: Vec<f64> = sums.iter().zip(&counts).map(|(s, &c)| s / c.max(1) as f64).collect();
    let mean = averages.iter().sum::<f64>() / m as f64;
    for a in &mut averages {
        match combine {
            Combine::Additive => *a -= mean,
            Combine::Multiplicative => *a /= mean,
        }
    }
    (0..n).map(|t| averages[t % m]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decomposition_by_hand() {
        // Period 2 around a flat level: detrended values alternate ±1.
        let y = [11.0, 9.0, 11.0, 9.0, 11.0, 9.0];
        let s = seasonal_component(&y, 2, Combine::Additive);
        assert_eq!(s, vec![1.0, -1.0, 1.0, -1.0, 1.0, -1.0]);
        let s = seasonal_component(&y, 2, Combine::Multiplicative);
        assert!((s[0] - 1.1).abs() < 1e-12 && (s[1] - 0.9).abs() < 1e-12, "{s:?}");
        // Period 3 on a line plus a cycle: the line is removed exactly.
        let y: Vec<f64> = (0..9).map(|t| t as f64 + [2.0, -1.0, -1.0][t % 3]).collect();
        let s = seasonal_component(&y, 3, Combine::Additive);
        assert!(
            s.iter()
                .zip([2.0, -1.0, -1.0].iter().cycle())
                .all(|(a, b)| (a - b).abs() < 1e-12)
        );
    }

    #[test]
    fn autocorrelation_by_hand_and_the_seasonal_test() {
        // 1, 2, 3, 4: deviations -1.5, -0.5, 0.5, 1.5, Σd² = 5; lag 1: (0.75 - 0.25 + 0.75) / 5.
        assert!((acf(&[1.0, 2.0, 3.0, 4.0], 1)[0] - 0.25).abs() < 1e-12);
        let cycle: Vec<f64> = (0..48)
            .map(|t| [5.0, 1.0, 1.0, 1.0][t % 4] + (t % 3) as f64 * 0.1)
            .collect();
        assert!(has_seasonality(&cycle, 4));
        let mut state = 7u64;
        let flat: Vec<f64> = (0..48)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 40) as f64
            })
            .collect();
        assert!(!has_seasonality(&flat, 4));
    }
}
