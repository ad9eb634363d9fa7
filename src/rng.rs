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

    #[test]
    fn streams_are_stable_and_independent() {
        let a1: Vec<u64> = (0..4)
            .map({
                let mut r = stream(7, "agent-1");
                move |_| r.next_u64()
            })
            .collect();
        let a2: Vec<u64> = (0..4)
            .map({
                let mut r = stream(7, "agent-1");
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = stream(7, "agent-2");
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..4)
            .map({
                let mut r = stream(8, "agent-1");
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
        assert_ne!(a1, c);
    }

    #[test]
    fn fnv_matches_reference_values() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
