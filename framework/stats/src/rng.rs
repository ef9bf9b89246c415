//! SplitMix64 (Steele, Lea & Flood 2014): the seeded generator of bootstrap
//! resamples, report samples and the neural families' initialisation,
//! shuffling and dropout. Written out rather than taken from `rand`, whose
//! seeded generators may change their stream between releases: trendlab
//! promises the same numbers for the same seed.

#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

/// The stream's increment (the golden ratio's odd integer).
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function of a state.
#[inline(always)]
fn mix(state: u64) -> u64 {
    let mut z = state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GAMMA);
        mix(self.0)
    }

    /// Draw `n` (0-based) of the stream seeded by `seed`, without making
    /// the draws before it: the state is a counter, so pieces of one
    /// stream can be drawn in parallel, and a loop of them vectorises.
    #[inline(always)]
    pub fn draw_at(seed: u64, n: u64) -> u64 {
        mix(seed.wrapping_add(GAMMA.wrapping_mul(n.wrapping_add(1))))
    }

    /// A draw's top 24 bits as a uniform in [0, 1) (what [`Self::next_f32`]
    /// makes of the next draw).
    #[inline(always)]
    pub fn unit_f32(draw: u64) -> f32 {
        (draw >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in [0, 1).
    pub fn next_f32(&mut self) -> f32 {
        Self::unit_f32(self.next_u64())
    }

    /// Uniform in [0, n) (Lemire's multiply-shift; `n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_matches_the_reference_and_draws_are_uniform() {
        // The first outputs of Vigna's reference C code seeded with 0.
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 7960286522194355700);
        let mut rng = SplitMix64::new(7);
        let draws: Vec<usize> = (0..1000).map(|_| rng.below(10)).collect();
        for v in 0..10 {
            let count = draws.iter().filter(|d| **d == v).count();
            assert!((60..=140).contains(&count), "{v}: {count}");
        }
    }

    #[test]
    fn a_draw_at_an_index_is_the_draw_the_sequence_makes_there() {
        let mut stepped = SplitMix64::new(11);
        for n in 0..1000 {
            let draw = stepped.next_u64();
            assert_eq!(SplitMix64::draw_at(11, n), draw, "draw {n}");
        }
        let mut again = SplitMix64::new(11);
        assert_eq!(again.next_f32(), SplitMix64::unit_f32(SplitMix64::draw_at(11, 0)));
    }
}
