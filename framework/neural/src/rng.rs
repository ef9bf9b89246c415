//! The seeded generator of weight initialisation, shuffling and dropout
//! masks: `trendlab_stats`' SplitMix64 (stable across releases), and seeds
//! derived from a base seed along a path of indices.

pub use trendlab_stats::SplitMix64;

/// A seed derived from a base seed and a path of indices (epoch, batch,
/// shard), so streams of different parts never overlap by accident.
pub fn derive(seed: u64, path: &[u64]) -> u64 {
    path.iter().fold(seed, |acc, &k| {
        SplitMix64::new(acc ^ k.wrapping_mul(0xD1B5_4A32_D192_ED03)).next_u64()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffles_permute_and_draws_stay_in_range() {
        let mut r = SplitMix64::new(3);
        let mut v: Vec<usize> = (0..10).collect();
        r.shuffle(&mut v);
        let mut sorted = v.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        assert_ne!(v, sorted);
        assert!((0..1000).all(|_| r.next_f32() < 1.0 && r.below(7) < 7));
    }
}
