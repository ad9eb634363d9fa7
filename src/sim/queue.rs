//! The event queue: earliest time first, then insertion order.
//!
//! A hierarchical timing wheel over a slab, shaped for discrete-event simulation where most
//! events are scheduled a little ahead (message latencies) or a fixed period ahead
//! (heartbeats, timeouts):
//!
//! - every queued event lives in one slab slot from push to pop; slots are recycled through
//!   a free list, so the queue allocates nothing once warm, and payloads never move;
//! - `near`: a binary heap of (time, sequence, slot) keys for every event before `cursor`,
//!   the end of the current level-0 tick; it holds about a millisecond's worth of events;
//! - level 0: [`SLOTS`] buckets of 2^20 ns (~1 ms) for events in the current level-1 tick;
//! - level 1: [`SLOTS`] buckets of 2^32 ns (~4.3 s) for events in the current level-2 tick
//!   (2^44 ns, ~4.9 h);
//! - `far`: a binary heap of keys for everything later.
//!
//! A bucket is a vector of (time, sequence, slot) keys: pushing is O(1) amortised, and when
//! the cursor enters a tick its bucket on the level above is spread into the level below (or
//! into `near`) in one sequential pass that touches no slot. An event's key moves at most
//! three times; its payload never moves.
//!
//! Ties never depend on addresses or hashing: `near` orders by (time, push sequence), and
//! every event passes through `near` before it pops.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::time::Instant;

/// Slots per level, and bits of time per level-0 slot.
const SLOT_BITS: u32 = 12;
const SLOTS: usize = 1 << SLOT_BITS;
const L0_SHIFT: u32 = 20;
const L1_SHIFT: u32 = L0_SHIFT + SLOT_BITS;
const L2_SHIFT: u32 = L1_SHIFT + SLOT_BITS;

/// Emptied bucket vectors kept for reuse: a bucket filling up takes one rather than growing
/// a new vector from nothing, and the wheel's spare memory stays bounded.
const SPARE_MAX: usize = 64;

type BucketKey = (u64, u64, u32);

/// The end of the free list.
const NONE: u32 = u32::MAX;

struct Slot<P> {
    /// The next free slot, while this one is free.
    next: u32,
    payload: Option<P>,
}

/// What the heaps order: (time, sequence), with the slot alongside.
type Key = Reverse<BucketKey>;

/// A min-heap of (time << 64 | sequence, slot), for the few events due before the cursor.
/// Packing the order into one `u128` makes every comparison two instructions.
#[derive(Default)]
struct NearHeap {
    items: Vec<(u128, u32)>,
}

impl NearHeap {
    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn peek(&self) -> Option<(u64, u64, u32)> {
        self.items
            .first()
            .map(|&(key, slot)| ((key >> 64) as u64, key as u64, slot))
    }

    fn push(&mut self, time: u64, seq: u64, slot: u32) {
        let key = (u128::from(time) << 64) | u128::from(seq);
        let mut i = self.items.len();
        self.items.push((key, slot));
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.items[parent].0 <= key {
                break;
            }
            self.items.swap(i, parent);
            i = parent;
        }
    }

    fn pop(&mut self) {
        let last = self.items.pop().expect("pop on an empty heap");
        let n = self.items.len();
        if n == 0 {
            return;
        }
        let mut i = 0;
        loop {
            let left = 2 * i + 1;
            if left >= n {
                break;
            }
            let child = if left + 1 < n && self.items[left + 1].0 < self.items[left].0 {
                left + 1
            } else {
                left
            };
            if self.items[child].0 >= last.0 {
                break;
            }
            self.items[i] = self.items[child];
            i = child;
        }
        self.items[i] = last;
    }
}

/// One level of the wheel: buckets of (time, sequence, slot) keys, and a bitmap of the
/// non-empty ones.
struct Level {
    buckets: Box<[Vec<BucketKey>]>,
    occupied: [u64; SLOTS / 64],
    /// Emptied bucket vectors of this level (so of about its buckets' sizes), at most
    /// [`SPARE_MAX`].
    spare: Vec<Vec<BucketKey>>,
}

impl Level {
    fn new() -> Self {
        Level {
            buckets: (0..SLOTS).map(|_| Vec::new()).collect(),
            occupied: [0; SLOTS / 64],
            spare: Vec::new(),
        }
    }

    fn push(&mut self, b: usize, key: BucketKey) {
        let bucket = &mut self.buckets[b];
        if bucket.capacity() == 0
            && let Some(v) = self.spare.pop()
        {
            *bucket = v;
        }
        bucket.push(key);
        self.occupied[b / 64] |= 1 << (b % 64);
    }

    /// Takes the keys of bucket `i`, leaving it empty.
    fn take(&mut self, i: usize) -> Vec<BucketKey> {
        self.occupied[i / 64] &= !(1 << (i % 64));
        std::mem::take(&mut self.buckets[i])
    }

    /// Keeps an emptied bucket vector for reuse, if there is room.
    fn recycle(&mut self, mut keys: Vec<BucketKey>) {
        if self.spare.len() < SPARE_MAX {
            keys.clear();
            self.spare.push(keys);
        }
    }

    /// The first non-empty bucket at or after `from`.
    fn first_from(&self, from: usize) -> Option<usize> {
        let (mut word, bit) = (from / 64, from % 64);
        let mut bits = self.occupied[word] & (u64::MAX << bit);
        loop {
            if bits != 0 {
                return Some(word * 64 + bits.trailing_zeros() as usize);
            }
            word += 1;
            if word == self.occupied.len() {
                return None;
            }
            bits = self.occupied[word];
        }
    }
}

pub struct EventQueue<P> {
    slab: Vec<Slot<P>>,
    /// Head of the free list of slab slots.
    free: u32,
    /// Events before `cursor`, earliest first.
    near: NearHeap,
    /// The first time not yet loaded into `near`; level 0 holds events from here to the end
    /// of the cursor's level-1 tick, level 1 those from there to the end of its level-2 tick.
    cursor: u64,
    level0: Level,
    level1: Level,
    far: BinaryHeap<Key>,
    len: usize,
    next_seq: u64,
}

impl<P> Default for EventQueue<P> {
    fn default() -> Self {
        EventQueue {
            slab: Vec::new(),
            free: NONE,
            near: NearHeap::default(),
            cursor: 0,
            level0: Level::new(),
            level1: Level::new(),
            far: BinaryHeap::new(),
            len: 0,
            next_seq: 0,
        }
    }
}

fn bucket(time: u64, shift: u32) -> usize {
    ((time >> shift) as usize) & (SLOTS - 1)
}

impl<P> EventQueue<P> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues `payload` at `time`; returns its sequence number, unique for the queue's life.
    pub fn push(&mut self, time: Instant, payload: P) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.len += 1;
        let time = time.as_nanos();
        let i = if self.free == NONE {
            self.slab.push(Slot {
                next: NONE,
                payload: Some(payload),
            });
            u32::try_from(self.slab.len() - 1).expect("fewer than 2^32 queued events")
        } else {
            let i = self.free;
            let slot = &mut self.slab[i as usize];
            self.free = slot.next;
            slot.next = NONE;
            // A free slot's payload is None: nothing to drop, so skip the drop glue.
            std::mem::forget(slot.payload.replace(payload));
            i
        };
        self.place((time, seq, i));
        seq
    }

    /// Files the key of an event where its time belongs.
    #[inline(always)]
    fn place(&mut self, key: (u64, u64, u32)) {
        let t = key.0;
        if t < self.cursor {
            self.near.push(t, key.1, key.2);
        } else if t >> L1_SHIFT == self.cursor >> L1_SHIFT {
            self.level0.push(bucket(t, L0_SHIFT), key);
        } else if t >> L2_SHIFT == self.cursor >> L2_SHIFT {
            self.level1.push(bucket(t, L1_SHIFT), key);
        } else {
            self.far.push(Reverse(key));
        }
    }

    /// Files every key of a bucket anew.
    fn place_all(&mut self, keys: &[(u64, u64, u32)]) {
        for &key in keys {
            self.place(key);
        }
    }

    /// Moves the cursor forward to `to`, spreading the buckets of every tick it enters.
    fn move_cursor(&mut self, to: u64) {
        let from = self.cursor;
        debug_assert!(to >= from);
        self.cursor = to;
        if to >> L2_SHIFT != from >> L2_SHIFT {
            while let Some(&Reverse(key)) = self.far.peek() {
                if key.0 >> L2_SHIFT != to >> L2_SHIFT {
                    break;
                }
                self.far.pop();
                self.place(key);
            }
        }
        if to >> L1_SHIFT != from >> L1_SHIFT {
            let b = bucket(to, L1_SHIFT);
            let keys = self.level1.take(b);
            self.place_all(&keys); // all into level 0 or `near`, none back into bucket b
            self.level1.recycle(keys);
        }
    }

    /// Loads the next non-empty level-0 bucket into `near`; false if nothing is queued.
    fn advance(&mut self) -> bool {
        loop {
            if let Some(b) = self.level0.first_from(bucket(self.cursor, L0_SHIFT)) {
                let tick_start = (self.cursor >> L1_SHIFT << L1_SHIFT) | ((b as u64) << L0_SHIFT);
                let keys = self.level0.take(b);
                self.move_cursor(tick_start + (1 << L0_SHIFT));
                // Every entry is now before the cursor: into `near`. Their slots were
                // written long ago; start loading them, as they pop within a millisecond.
                let slab = self.slab.as_ptr();
                for &(_, _, i) in &keys {
                    super::prefetch(slab.wrapping_add(i as usize).cast::<u8>());
                }
                self.place_all(&keys);
                self.level0.recycle(keys);
                return true;
            }
            // Level 0 is empty for the rest of this level-1 tick: enter the next busy one.
            let next_l1 = (self.cursor >> L1_SHIFT) + 1;
            if next_l1 >> SLOT_BITS == self.cursor >> L2_SHIFT
                && let Some(b) = self.level1.first_from(bucket(next_l1 << L1_SHIFT, L1_SHIFT))
            {
                self.move_cursor((self.cursor >> L2_SHIFT << L2_SHIFT) | ((b as u64) << L1_SHIFT));
                continue;
            }
            // Level 1 is empty too: jump to the level-2 tick of the earliest far event.
            let Some(&Reverse((t, _, _))) = self.far.peek() else {
                return false;
            };
            self.move_cursor((t >> L2_SHIFT << L2_SHIFT).max(self.cursor));
        }
    }

    /// Pops the earliest event if it is due at or before `limit`.
    pub fn pop_until(&mut self, limit: Instant) -> Option<(Instant, u64, P)> {
        while self.near.is_empty() {
            if !self.advance() {
                return None;
            }
        }
        let (t, seq, i) = self.near.peek().expect("not empty");
        if t > limit.as_nanos() {
            return None;
        }
        self.near.pop();
        self.len -= 1;
        let slot = &mut self.slab[i as usize];
        let payload = slot.payload.take().expect("a queued slot holds its payload");
        slot.next = self.free;
        self.free = i;
        Some((Instant::from_nanos(t), seq, payload))
    }

    /// The payload that pops next, if it is already known without turning the wheel.
    pub fn peek_near(&self) -> Option<&P> {
        let (_, _, i) = self.near.peek()?;
        self.slab[i as usize].payload.as_ref()
    }

    /// Pops the earliest event.
    pub fn pop(&mut self) -> Option<(Instant, u64, P)> {
        self.pop_until(Instant::MAX)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Delays that exercise every tier: same instant, within a slot, across slots, and past
    /// the horizon.
    fn delay() -> impl Strategy<Value = u64> {
        prop_oneof![
            Just(0u64),
            0u64..1 << L0_SHIFT,
            0u64..1 << L1_SHIFT,
            (1u64 << L1_SHIFT) - 5..(1 << L1_SHIFT) + 5,
            0u64..1 << L2_SHIFT,
            (1u64 << L2_SHIFT) - 5..(1 << L2_SHIFT) + 5,
            0u64..1 << (L2_SHIFT + 3),
        ]
    }

    proptest! {
        /// Interleaved pushes and pops come out sorted by time, in push order within a time,
        /// exactly as a sort of what was pushed would order them.
        #[test]
        fn pops_in_time_then_push_order(ops in proptest::collection::vec((delay(), 0u8..3), 0..300)) {
            let mut q = EventQueue::new();
            let mut model: Vec<(u64, usize)> = Vec::new();
            let mut now = 0u64;
            for (i, (delay, pops)) in ops.into_iter().enumerate() {
                let t = now + delay;
                q.push(Instant::from_nanos(t), i);
                model.push((t, i));
                for _ in 0..pops {
                    model.sort();
                    let expected = if model.is_empty() { None } else { Some(model.remove(0)) };
                    let got = q.pop().map(|(t, _, i)| (t.as_nanos(), i));
                    prop_assert_eq!(got, expected);
                    if let Some((t, _)) = got { now = t; }
                }
            }
            model.sort();
            let mut rest = Vec::new();
            while let Some((t, _, i)) = q.pop() { rest.push((t.as_nanos(), i)); }
            prop_assert_eq!(rest, model);
            prop_assert!(q.is_empty());
        }

        /// Stopping at a limit loses nothing, and an event may still be queued at the limit
        /// afterwards: every time pops, in non-decreasing order.
        #[test]
        fn limits_stop_without_loss(times in proptest::collection::vec(0u64..3 << L2_SHIFT, 1..100), limit in 0u64..3 << L2_SHIFT) {
            let mut q = EventQueue::new();
            for t in &times {
                q.push(Instant::from_nanos(*t), ());
            }
            let mut got = Vec::new();
            while let Some((t, _, ())) = q.pop_until(Instant::from_nanos(limit)) {
                prop_assert!(t.as_nanos() <= limit);
                got.push(t.as_nanos());
            }
            q.push(Instant::from_nanos(limit), ());
            while let Some((t, _, ())) = q.pop() {
                got.push(t.as_nanos());
            }
            prop_assert!(got.windows(2).all(|w| w[0] <= w[1]), "{:?}", got);
            let mut expected = times.clone();
            expected.push(limit);
            expected.sort();
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn sequence_numbers_follow_push_order() {
        let mut q = EventQueue::new();
        let a = q.push(Instant::from_nanos(5), ());
        let b = q.push(Instant::from_nanos(1), ());
        assert!(b > a);
        assert_eq!(q.pop().map(|e| e.1), Some(b));
    }

    #[test]
    fn far_events_come_back_in_order() {
        let mut q = EventQueue::new();
        let far = 5 << L2_SHIFT;
        q.push(Instant::from_nanos(far + 2), 'c');
        q.push(Instant::from_nanos(far), 'a');
        q.push(Instant::from_nanos(far), 'b');
        q.push(Instant::from_nanos(10), 'z');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|e| e.2)).collect();
        assert_eq!(order, vec!['z', 'a', 'b', 'c']);
    }
}
