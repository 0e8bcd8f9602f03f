//! Deterministic randomness without hidden state.
//!
//! Every random choice the simulator makes is drawn from a splitmix64 stream keyed by
//! `(seed, key, purpose)`: the key is usually an event index, the purpose says which aspect
//! of the event is being drawn (its lifecycle, its descriptive fields, its comments). Two
//! streams with different keys or purposes are independent, and a stream never depends on
//! which other streams were drawn before it, which is what makes the simulated world a pure
//! function of its inputs.

/// The splitmix64 increment (the golden ratio in 64-bit fixed point).
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The splitmix64 finaliser: a bijective mix of all 64 bits.
const fn finalise(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Which aspect of an event a stream draws; keeps the streams of one event independent.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub enum Purpose {
    /// Submission, send-back, approval and deletion days.
    Lifecycle = 1,
    /// Facility, activity, assignee and the other descriptive fields.
    Details = 2,
    /// Free-text comments.
    Comments = 3,
    /// Seed-wide choices that are not about one event (the facility list).
    Catalog = 4,
}

/// A splitmix64 generator.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// The stream for `key` and `purpose` under `seed`.
    pub fn keyed(seed: u64, key: u64, purpose: Purpose) -> Self {
        let state = finalise(finalise(seed.wrapping_add(GOLDEN)) ^ key.wrapping_mul(GOLDEN));
        Self {
            state: finalise(state ^ (purpose as u64)),
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        finalise(self.state)
    }

    /// A value in `0..n`; `n` must be positive.
    pub fn below(&mut self, n: u64) -> u64 {
        // Multiply-high maps 64 random bits onto the range with negligible bias.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A value in `lo..=hi`; `lo` must not exceed `hi`.
    pub fn between(&mut self, lo: i32, hi: i32) -> i32 {
        let span = u64::from((hi - lo) as u32) + 1;
        lo + self.below(span) as i32
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// An index into `weights`, chosen with probability proportional to its weight.
    pub fn weighted(&mut self, weights: impl Iterator<Item = u32> + Clone) -> usize {
        let total: u64 = weights.clone().map(u64::from).sum();
        let mut roll = self.below(total.max(1));
        for (index, weight) in weights.enumerate() {
            if roll < u64::from(weight) {
                return index;
            }
            roll -= u64::from(weight);
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_gives_same_stream() {
        let mut a = Rng::keyed(7, 42, Purpose::Lifecycle);
        let mut b = Rng::keyed(7, 42, Purpose::Lifecycle);
        assert!((0..100).all(|_| a.next_u64() == b.next_u64()));
    }

    #[test]
    fn purposes_and_seeds_give_different_streams() {
        let first = |seed, purpose| Rng::keyed(seed, 42, purpose).next_u64();
        assert_ne!(first(7, Purpose::Lifecycle), first(7, Purpose::Details));
        assert_ne!(first(7, Purpose::Lifecycle), first(8, Purpose::Lifecycle));
    }

    #[test]
    fn between_stays_inside_inclusive_bounds_and_reaches_both() {
        let mut rng = Rng::keyed(1, 1, Purpose::Lifecycle);
        let draws: Vec<i32> = (0..2000).map(|_| rng.between(-2, 3)).collect();
        assert!(draws.iter().all(|d| (-2..=3).contains(d)));
        assert!(draws.contains(&-2) && draws.contains(&3));
    }

    #[test]
    fn weighted_never_picks_a_zero_weight() {
        let mut rng = Rng::keyed(1, 2, Purpose::Details);
        let weights = [0, 5, 0, 1];
        assert!((0..1000).all(|_| [1, 3].contains(&rng.weighted(weights.iter().copied()))));
    }
}
