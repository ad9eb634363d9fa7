//! Seeded random streams.
//!
//! A run has one seed. Every consumer of randomness (each process, the network, the fault
//! injector, each workload generator) gets its own ChaCha stream derived from that seed and
//! a stable name, so adding a process never shifts another one's draws.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator every stream uses: fast, portable and reproducible across platforms.
pub type Rng = ChaCha8Rng;

/// The stream named `name` of the run seeded with `seed`.
pub fn stream(seed: u64, name: &str) -> Rng {
    stream_by_hash(seed, fnv1a64(name.as_bytes()))
}

/// The stream whose name hashes to `name_hash` (see [`fnv1a64`]).
pub fn stream_by_hash(seed: u64, name_hash: u64) -> Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(name_hash);
    rng
}

/// SplitMix64: a tiny, fast generator for hot streams drawn from on every event (network
/// jitter), seeded from a named ChaCha stream. Not for anything adversarial; statistically
/// sound (it passes BigCrush) and fully determined by its seed.
#[derive(Clone, Debug)]
pub struct FastRng(u64);

impl FastRng {
    pub fn from_stream(mut stream: Rng) -> FastRng {
        use rand::Rng as _;
        FastRng(stream.next_u64())
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A draw in `[0, span)`, by scaling one 64-bit draw (Lemire's multiply without the
    /// rejection step: the bias is below span / 2^64).
    pub fn below(&mut self, span: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(span)) >> 64) as u64
    }

    /// True with probability `p` (to within 2^-64).
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        self.next_u64() < (p * 18_446_744_073_709_551_616.0) as u64
    }
}

/// FNV-1a, 64 bits: a stable hash of a stream's name (stable across Rust versions, unlike
/// `std::hash`).
pub const fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    fn draws(seed: u64, name: &str) -> Vec<u64> {
        let mut r = stream(seed, name);
        (0..4).map(|_| r.next_u64()).collect()
    }

    #[test]
    fn streams_are_stable_and_independent() {
        assert_eq!(draws(7, "agent-1"), draws(7, "agent-1"));
        assert_ne!(draws(7, "agent-1"), draws(7, "agent-2"));
        assert_ne!(draws(7, "agent-1"), draws(8, "agent-1"));
    }

    #[test]
    fn fast_rng_draws_are_uniform_enough() {
        let mut r = FastRng::from_stream(stream(1, "network"));
        let mut buckets = [0u32; 10];
        for _ in 0..100_000 {
            buckets[r.below(10) as usize] += 1;
        }
        assert!(
            buckets.iter().all(|&b| (9_500..10_500).contains(&b)),
            "{buckets:?}"
        );
        let hits = (0..100_000).filter(|_| r.chance(0.25)).count();
        assert!((24_000..26_000).contains(&hits), "{hits}");
        assert!(!r.chance(0.0) && r.chance(1.0));
    }

    #[test]
    fn fnv_matches_reference_values() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
