//! The run digest: a 64-bit fold over every handled event's (time, process, event kind).
//!
//! Two runs with equal digests handled the same events at the same instants in the same order.
//! It is a divergence detector, not a cryptographic hash.

use std::fmt;

use crate::ids::NodeId;
use crate::time::Instant;

#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Digest(u64);

const K: u64 = 0x9e37_79b9_7f4a_7c15;

impl Digest {
    pub fn fold(&mut self, time: Instant, node: NodeId, kind: u32) {
        self.word(time.as_nanos());
        self.word((u64::from(node.0) << 32) | u64::from(kind));
    }

    fn word(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(23) ^ w).wrapping_mul(K);
    }

    /// The digest with a final avalanche, so every bit depends on every folded word.
    pub fn value(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.value())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
