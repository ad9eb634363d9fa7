//! The event queue: earliest time first, then insertion order.
//!
//! A hierarchical timing wheel, shaped for discrete-event simulation where most events are
//! scheduled a little ahead (message latencies) or a fixed period ahead (heartbeats, timeouts):
//!
//! - `near`: a binary heap ordered by (time, sequence) holding every event before `cursor`,
//!   the end of the current level-0 tick; it holds a millisecond's worth of events, so it is
//!   tiny and stays in cache;
//! - level 0: [`SLOTS`] unsorted buckets of 2^20 ns (~1 ms), for events in the current
//!   level-1 tick;
//! - level 1: [`SLOTS`] unsorted buckets of 2^32 ns (~4.3 s), for events in the current
//!   level-2 tick (2^44 ns, ~4.9 h);
//! - `far`: a binary heap for everything later.
//!
//! An event is appended to a bucket in O(1) and moves at most three times (far → level 1 →
//! level 0 → near), always in bulk: when the cursor enters a tick, that tick's bucket on the
//! level above is spread into the level below.
//!
//! Ties never depend on addresses or hashing: `near` orders by (time, push sequence), and
//! every event passes through `near` before it pops.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::Instant;

/// Slots per level, and bits of time per level-0 slot.
const SLOT_BITS: u32 = 12;
const SLOTS: usize = 1 << SLOT_BITS;
const L0_SHIFT: u32 = 20;
const L1_SHIFT: u32 = L0_SHIFT + SLOT_BITS;
const L2_SHIFT: u32 = L1_SHIFT + SLOT_BITS;

struct Entry<P> {
    time: u64,
    seq: u64,
    payload: P,
}

impl<P> PartialEq for Entry<P> {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}

impl<P> Eq for Entry<P> {}

impl<P> Ord for Entry<P> {
    /// Reversed, so that std's max-heap pops the earliest (time, seq) first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

impl<P> PartialOrd for Entry<P> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Up to this many events, `near` is an unsorted vector scanned for its minimum (typically it
/// holds a handful); beyond, a binary heap.
const NEAR_SMALL: usize = 8;

/// The events before the cursor, earliest first.
enum Near<P> {
    /// Unsorted, with the index of the earliest cached.
    Small {
        entries: Vec<Entry<P>>,
        min: usize,
    },
    Heap(BinaryHeap<Entry<P>>),
}

impl<P> Near<P> {
    fn is_empty(&self) -> bool {
        match self {
            Near::Small { entries, .. } => entries.is_empty(),
            Near::Heap(heap) => heap.is_empty(),
        }
    }

    fn push(&mut self, entry: Entry<P>) {
        match self {
            Near::Small { entries, min } => {
                if entries.len() == NEAR_SMALL {
                    let mut heap = BinaryHeap::from(std::mem::take(entries));
                    heap.push(entry);
                    *self = Near::Heap(heap);
                    return;
                }
                // `Entry`'s order is reversed for the max-heap: "greater" is earlier.
                if entries.is_empty() || entry > entries[*min] {
                    *min = entries.len();
                }
                entries.push(entry);
            }
            Near::Heap(heap) => heap.push(entry),
        }
    }

    fn extend(&mut self, bucket: &mut Vec<Entry<P>>) {
        for entry in bucket.drain(..) {
            self.push(entry);
        }
    }

    fn peek(&self) -> Option<&Entry<P>> {
        match self {
            Near::Small { entries, min } => entries.get(*min),
            Near::Heap(heap) => heap.peek(),
        }
    }

    fn pop(&mut self) -> Option<Entry<P>> {
        match self {
            Near::Small { entries, min } => {
                if entries.is_empty() {
                    return None;
                }
                let entry = entries.swap_remove(*min);
                *min = (0..entries.len())
                    .max_by(|&a, &b| entries[a].cmp(&entries[b]))
                    .unwrap_or(0);
                Some(entry)
            }
            Near::Heap(heap) => {
                let entry = heap.pop();
                if heap.is_empty() {
                    let mut entries = std::mem::take(heap).into_vec();
                    entries.clear();
                    *self = Near::Small { entries, min: 0 };
                }
                entry
            }
        }
    }
}

/// One level of the wheel: buckets and a bitmap of the non-empty ones.
struct Level<P> {
    buckets: Vec<Vec<Entry<P>>>,
    occupied: [u64; SLOTS / 64],
    /// Drained buckets kept for reuse while their memory is warm; bounded, and per level so
    /// that the large buckets of level 1 never bloat level 0.
    pool: Vec<Vec<Entry<P>>>,
}

const POOL_MAX: usize = 16;

impl<P> Level<P> {
    fn new() -> Self {
        Level {
            buckets: (0..SLOTS).map(|_| Vec::new()).collect(),
            occupied: [0; SLOTS / 64],
            pool: Vec::new(),
        }
    }

    fn push(&mut self, slot: usize, entry: Entry<P>) {
        let bucket = &mut self.buckets[slot];
        if bucket.capacity() == 0
            && let Some(recycled) = self.pool.pop()
        {
            *bucket = recycled;
        }
        bucket.push(entry);
        self.occupied[slot / 64] |= 1 << (slot % 64);
    }

    /// Takes the bucket at `slot`; hand it back to [`Level::recycle`] once drained.
    fn take(&mut self, slot: usize) -> Vec<Entry<P>> {
        self.occupied[slot / 64] &= !(1 << (slot % 64));
        std::mem::take(&mut self.buckets[slot])
    }

    fn recycle(&mut self, bucket: Vec<Entry<P>>) {
        debug_assert!(bucket.is_empty());
        if self.pool.len() < POOL_MAX && bucket.capacity() > 0 {
            self.pool.push(bucket);
        }
    }

    /// The first non-empty slot at or after `from`.
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
    /// Events before `cursor`, earliest first.
    near: Near<P>,
    /// The first time not yet loaded into `near`; level 0 holds events from here to the end
    /// of the cursor's level-1 tick, level 1 those from there to the end of its level-2 tick.
    cursor: u64,
    level0: Level<P>,
    level1: Level<P>,
    far: BinaryHeap<Entry<P>>,
    len: usize,
    next_seq: u64,
}

impl<P> Default for EventQueue<P> {
    fn default() -> Self {
        EventQueue {
            near: Near::Small {
                entries: Vec::new(),
                min: 0,
            },
            cursor: 0,
            level0: Level::new(),
            level1: Level::new(),
            far: BinaryHeap::new(),
            len: 0,
            next_seq: 0,
        }
    }
}

fn slot(time: u64, shift: u32) -> usize {
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
        self.place(Entry {
            time: time.as_nanos(),
            seq,
            payload,
        });
        seq
    }

    fn place(&mut self, entry: Entry<P>) {
        let t = entry.time;
        if t < self.cursor {
            self.near.push(entry);
        } else if t >> L1_SHIFT == self.cursor >> L1_SHIFT {
            self.level0.push(slot(t, L0_SHIFT), entry);
        } else if t >> L2_SHIFT == self.cursor >> L2_SHIFT {
            self.level1.push(slot(t, L1_SHIFT), entry);
        } else {
            self.far.push(entry);
        }
    }

    /// Moves the cursor forward to `to`, spreading the buckets of every tick it enters.
    fn move_cursor(&mut self, to: u64) {
        let from = self.cursor;
        debug_assert!(to >= from);
        self.cursor = to;
        if to >> L2_SHIFT != from >> L2_SHIFT {
            while let Some(first) = self.far.peek() {
                if first.time >> L2_SHIFT != to >> L2_SHIFT {
                    break;
                }
                let entry = self.far.pop().expect("peeked");
                self.place(entry);
            }
        }
        if to >> L1_SHIFT != from >> L1_SHIFT {
            let mut bucket = self.level1.take(slot(to, L1_SHIFT));
            for entry in bucket.drain(..) {
                self.place(entry);
            }
            self.level1.recycle(bucket);
        }
    }

    /// Loads the next non-empty level-0 slot into `near`; false if nothing is queued.
    fn advance(&mut self) -> bool {
        loop {
            if let Some(i) = self.level0.first_from(slot(self.cursor, L0_SHIFT)) {
                let tick_start = (self.cursor >> L1_SHIFT << L1_SHIFT) | ((i as u64) << L0_SHIFT);
                let mut bucket = self.level0.take(i);
                self.move_cursor(tick_start + (1 << L0_SHIFT));
                self.near.extend(&mut bucket);
                self.level0.recycle(bucket);
                return true;
            }
            // Level 0 is empty for the rest of this level-1 tick: enter the next busy one.
            let next_l1 = (self.cursor >> L1_SHIFT) + 1;
            let from = if next_l1 >> SLOT_BITS == self.cursor >> L2_SHIFT {
                Some(slot(next_l1 << L1_SHIFT, L1_SHIFT))
            } else {
                None
            };
            if let Some(j) = from.and_then(|from| self.level1.first_from(from)) {
                self.move_cursor((self.cursor >> L2_SHIFT << L2_SHIFT) | ((j as u64) << L1_SHIFT));
                continue;
            }
            // Level 1 is empty too: jump to the level-2 tick of the earliest far event.
            let Some(first) = self.far.peek() else {
                return false;
            };
            let to = first.time >> L2_SHIFT << L2_SHIFT;
            self.move_cursor(to.max(self.cursor));
        }
    }

    /// Pops the earliest event if it is due at or before `limit`.
    pub fn pop_until(&mut self, limit: Instant) -> Option<(Instant, u64, P)> {
        while self.near.is_empty() {
            if !self.advance() {
                return None;
            }
        }
        let first = self.near.peek().expect("not empty");
        if first.time > limit.as_nanos() {
            return None;
        }
        let entry = self.near.pop().expect("not empty");
        self.len -= 1;
        Some((Instant::from_nanos(entry.time), entry.seq, entry.payload))
    }

    /// The payload that pops next, if it is already known without turning the wheel.
    pub fn peek_near(&self) -> Option<&P> {
        self.near.peek().map(|e| &e.payload)
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
