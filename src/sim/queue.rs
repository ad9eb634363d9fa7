//! The event queue: earliest time first, then insertion order.
//!
//! A radix heap. Simulated time never runs backwards (no event is queued before the last one
//! popped), which lets events sit in 65 buckets by the highest bit in which their time differs
//! from the last popped time. Bucket 0 holds events due exactly then, in push order; when it
//! runs dry, the first non-empty bucket is split into lower ones around its minimum. Each event
//! moves at most a few times, always through sequential memory, and payloads travel inline
//! (no side table to miss in cache).
//!
//! Ties never depend on addresses or hashing: events with equal times always share a bucket,
//! and every move keeps their push order, so they pop first-in first-out.

use std::collections::VecDeque;

use crate::time::Instant;

struct Entry<P> {
    time: u64,
    seq: u64,
    payload: P,
}

pub struct EventQueue<P> {
    /// Time of the last popped event: every queued event is at or after it.
    last: u64,
    /// Events due exactly at `last`, first-in first-out.
    due: VecDeque<Entry<P>>,
    /// `buckets[i]` holds events whose time differs from `last` first in bit `i`
    /// (counting from 0 at the least significant bit).
    buckets: [Vec<Entry<P>>; 64],
    /// Bit `i` is set when `buckets[i]` is not empty.
    occupied: u64,
    len: usize,
    next_seq: u64,
}

impl<P> Default for EventQueue<P> {
    fn default() -> Self {
        EventQueue {
            last: 0,
            due: VecDeque::new(),
            buckets: std::array::from_fn(|_| Vec::new()),
            occupied: 0,
            len: 0,
            next_seq: 0,
        }
    }
}

impl<P> EventQueue<P> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues `payload` at `time` (clamped to the last popped time: the past cannot be
    /// scheduled); returns its sequence number, unique for the queue's life.
    pub fn push(&mut self, time: Instant, payload: P) -> u64 {
        let time = time.as_nanos().max(self.last);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.len += 1;
        self.place(Entry { time, seq, payload });
        seq
    }

    fn place(&mut self, entry: Entry<P>) {
        let diff = entry.time ^ self.last;
        if diff == 0 {
            self.due.push_back(entry);
        } else {
            let i = 63 - diff.leading_zeros() as usize;
            self.buckets[i].push(entry);
            self.occupied |= 1 << i;
        }
    }

    /// Pops the earliest event if it is due at or before `limit`.
    pub fn pop_until(&mut self, limit: Instant) -> Option<(Instant, u64, P)> {
        let limit = limit.as_nanos();
        if self.due.is_empty() {
            if self.occupied == 0 {
                return None;
            }
            let i = self.occupied.trailing_zeros() as usize;
            let min = self.buckets[i]
                .iter()
                .map(|e| e.time)
                .min()
                .expect("bucket is not empty");
            if min > limit {
                return None;
            }
            self.last = min;
            // Every entry of bucket i agrees with the new `last` on bit i and above, so each
            // lands in a lower bucket; bucket i stays empty while it drains.
            let mut bucket = std::mem::take(&mut self.buckets[i]);
            self.occupied &= !(1 << i);
            for entry in bucket.drain(..) {
                self.place(entry);
            }
            self.buckets[i] = bucket; // keep the allocation: buckets refill as fast as they drain
        } else if self.last > limit {
            return None;
        }
        let entry = self.due.pop_front().expect("due is not empty");
        self.len -= 1;
        Some((Instant::from_nanos(entry.time), entry.seq, entry.payload))
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

    proptest! {
        /// Interleaved pushes and pops come out sorted by time, in push order within a time,
        /// exactly as a sort of what was pushed would order them.
        #[test]
        fn pops_in_time_then_push_order(ops in proptest::collection::vec((0u64..1_000_000, 0u8..3), 0..400)) {
            let mut q = EventQueue::new();
            let mut model: Vec<(u64, usize)> = Vec::new();
            let mut now = 0u64;
            for (i, (delay, pops)) in ops.into_iter().enumerate() {
                // Delays cluster around a few values so that ties are common.
                let t = now + (delay % 7) * (delay / 7 % 3) * 1000;
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
    }

    #[test]
    fn pop_until_leaves_later_events_queued() {
        let mut q = EventQueue::new();
        q.push(Instant::from_nanos(10), 'a');
        q.push(Instant::from_nanos(30), 'b');
        assert_eq!(q.pop_until(Instant::from_nanos(20)).map(|e| e.2), Some('a'));
        assert_eq!(q.pop_until(Instant::from_nanos(20)).map(|e| e.2), None);
        // The limit stopped the queue before moving on: an event at 20 is still allowed.
        q.push(Instant::from_nanos(20), 'c');
        assert_eq!(q.pop().map(|e| e.2), Some('c'));
        assert_eq!(q.pop().map(|e| e.2), Some('b'));
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn sequence_numbers_follow_push_order() {
        let mut q = EventQueue::new();
        let a = q.push(Instant::from_nanos(5), ());
        let b = q.push(Instant::from_nanos(1), ());
        assert!(b > a);
        assert_eq!(q.pop().map(|e| e.1), Some(b));
    }
}
