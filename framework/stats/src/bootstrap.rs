//! Seeded percentile bootstrap of a mean over clusters: the clusters
//! (a series with its folds) are resampled with replacement and the mean
//! of every value they hold recomputed; the interval is the percentiles of
//! those means (linear interpolation, as NumPy's default `quantile`).

use crate::NoTest;
use crate::rng::SplitMix64;

/// A central interval at `level` (a fraction: 0.95).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
    pub level: f64,
}

/// `clusters[i]`: the sum and the count of cluster i's values. The same
/// seed and cluster count draw the same resamples, so configurations
/// scored on the same series are resampled alike.
pub fn bootstrap_mean(clusters: &[(f64, usize)], resamples: usize, level: f64, seed: u64) -> Result<Interval, NoTest> {
    if clusters.len() < 2 {
        return Err(NoTest(format!(
            "a bootstrap needs two series or more ({} here)",
            clusters.len()
        )));
    }
    if resamples < 2 {
        return Err(NoTest("a bootstrap needs two resamples or more".into()));
    }
    let mut rng = SplitMix64::new(seed);
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| {
            let (mut sum, mut count) = (0.0, 0usize);
            for _ in 0..clusters.len() {
                let (s, c) = clusters[rng.below(clusters.len())];
                sum += s;
                count += c;
            }
            if count == 0 { f64::NAN } else { sum / count as f64 }
        })
        .filter(|m| m.is_finite())
        .collect();
    if means.len() < 2 {
        return Err(NoTest("the resampled series hold no values".into()));
    }
    means.sort_by(f64::total_cmp);
    Ok(Interval {
        low: quantile(&means, (1.0 - level) / 2.0),
        high: quantile(&means, (1.0 + level) / 2.0),
        level,
    })
}

/// The `q` quantile of sorted `values`, interpolated linearly.
fn quantile(values: &[f64], q: f64) -> f64 {
    let position = q * (values.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(values.len() - 1);
    values[below] + (values[above] - values[below]) * (position - below as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_covers_the_true_mean_about_as_often_as_its_level() {
        // Exponential values with mean 1 in clusters of three: over 200
        // simulated samples a 90% interval should miss the mean ~20 times.
        let mut rng = SplitMix64::new(11);
        let mut missed = 0;
        for trial in 0..200 {
            let clusters: Vec<(f64, usize)> = (0..60)
                .map(|_| {
                    let sum: f64 = (0..3).map(|_| -(1.0 - rng.next_f32() as f64).ln()).sum();
                    (sum, 3)
                })
                .collect();
            let i = bootstrap_mean(&clusters, 400, 0.9, trial).unwrap();
            assert!(i.low < i.high);
            missed += usize::from(!(i.low..=i.high).contains(&1.0));
        }
        assert!((8..=35).contains(&missed), "{missed}");
    }

    #[test]
    fn same_seed_same_interval_and_too_few_series_say_why() {
        let clusters = [(1.0, 1), (2.0, 1), (7.0, 2), (0.5, 1)];
        assert_eq!(
            bootstrap_mean(&clusters, 100, 0.95, 3),
            bootstrap_mean(&clusters, 100, 0.95, 3)
        );
        let e = bootstrap_mean(&[(1.0, 1)], 100, 0.95, 3).unwrap_err();
        assert!(e.0.contains("two series"), "{e}");
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
    }
}
