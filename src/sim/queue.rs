//! The event queue: earliest time first, then insertion order.
//!
//! Heap entries are 24 bytes (time, sequence, slab slot); payloads stay put in a slab, so a
//! sift never moves a message. Ties never depend on memory addresses: two events at the same
//! instant pop in the order they were pushed.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::Instant;

#[derive(Clone, Copy, PartialEq, Eq)]
struct Entry {
    time: u64,
    seq: u64,
    slot: u32,
}

impl Ord for Entry {
    /// Reversed, so that std's max-heap pops the earliest (time, seq) first.
    fn cmp(&self, other: &Entry) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Entry) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A priority queue of payloads ordered by (time, insertion sequence).
pub struct EventQueue<P> {
    heap: BinaryHeap<Entry>,
    slab: Vec<Option<P>>,
    free: Vec<u32>,
    next_seq: u64,
}

impl<P> Default for EventQueue<P> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            next_seq: 0,
        }
    }
}

impl<P> EventQueue<P> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues `payload` at `time`; returns its sequence number, unique for the queue's life.
    pub fn push(&mut self, time: Instant, payload: P) -> u64 {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slab[slot as usize] = Some(payload);
                slot
            }
            None => {
                self.slab.push(Some(payload));
                u32::try_from(self.slab.len() - 1).expect("fewer than 2^32 queued events")
            }
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry {
            time: time.as_nanos(),
            seq,
            slot,
        });
        seq
    }

    /// The earliest event: its time, its sequence number and its payload.
    pub fn pop(&mut self) -> Option<(Instant, u64, P)> {
        let entry = self.heap.pop()?;
        let payload = self.slab[entry.slot as usize]
            .take()
            .expect("a queued slot holds a payload");
        self.free.push(entry.slot);
        Some((Instant::from_nanos(entry.time), entry.seq, payload))
    }

    pub fn peek_time(&self) -> Option<Instant> {
        self.heap.peek().map(|e| Instant::from_nanos(e.time))
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Pops come out sorted by time, and in push order within one time.
        #[test]
        fn pops_in_time_then_push_order(times in proptest::collection::vec(0u64..50, 0..300)) {
            let mut q = EventQueue::new();
            for (i, t) in times.iter().enumerate() {
                q.push(Instant::from_nanos(*t), i);
            }
            let mut expected: Vec<(u64, usize)> = times.iter().copied().zip(0..).collect();
            expected.sort();
            let mut got = Vec::new();
            while let Some((t, _, i)) = q.pop() {
                got.push((t.as_nanos(), i));
            }
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn slots_are_reused() {
        let mut q = EventQueue::new();
        for round in 0..100u64 {
            q.push(Instant::from_nanos(round), round);
            q.push(Instant::from_nanos(round), round);
            q.pop();
            q.pop();
        }
        assert!(q.slab.len() <= 2);
    }
}
