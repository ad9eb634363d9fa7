//! Named timers of one process.
//!
//! A process arms timers by value (`PingTimeout(agent)`); re-arming moves the deadline.
//! Each armed timer owns a slot and has at most one *live* queue entry, identified by the
//! queue's unique sequence number. Moving a deadline later costs nothing until the live entry
//! pops, when it is re-queued at the new deadline; moving it earlier queues a new live entry
//! and leaves the old one stale. Stale entries are recognised by their sequence number and
//! skipped, so cancelling is O(1) and never touches the heap.

use std::hash::Hash;

use smallvec::SmallVec;

use crate::lookup::LookupMap;
use crate::time::Instant;

/// Up to this many timers, a linear scan finds a slot faster than hashing.
const LINEAR_MAX: usize = 8;

struct Slot<T> {
    key: Option<T>,
    deadline: Instant,
    queued_at: Instant,
    live_seq: Option<u64>,
}

/// What a popped timer entry means.
pub enum Popped<T> {
    /// Cancelled, superseded, or from before a restart: ignore.
    Stale,
    /// Its deadline moved later; it has been queued again.
    Deferred,
    /// Due now: the timer is disarmed and handed to the process.
    Fire(T),
}

pub struct TimerTable<T> {
    /// Slot by key, built once a process has more than [`LINEAR_MAX`] timers.
    index: Option<LookupMap<T, u32>>,
    /// Inline for the common process with one or two timers: no pointer to chase.
    slots: SmallVec<[Slot<T>; 2]>,
    free: Vec<u32>,
    /// The slot of the timer being handled: kept until the handler returns, so that a
    /// periodic timer re-arming itself finds its slot without a lookup.
    firing: Option<u32>,
    /// The slot last found by key: a process re-arming the same timer event after event (a
    /// ping timeout) finds it without a lookup.
    recent: Option<u32>,
}

impl<T> Default for TimerTable<T> {
    fn default() -> Self {
        TimerTable {
            index: None,
            slots: SmallVec::new(),
            free: Vec::new(),
            firing: None,
            recent: None,
        }
    }
}

impl<T: Clone + Eq + Hash> TimerTable<T> {
    /// Arms `timer` for `at`. `queue(at, slot)` queues an entry and returns its sequence.
    pub fn set(&mut self, timer: T, at: Instant, queue: impl FnOnce(Instant, u32) -> u64) {
        let firing = self
            .firing
            .filter(|&f| self.slots[f as usize].key.as_ref() == Some(&timer));
        let slot = match firing.or_else(|| self.find(&timer)) {
            Some(slot) => slot,
            None => {
                let slot = match self.free.pop() {
                    Some(slot) => slot,
                    None => {
                        self.slots.push(Slot {
                            key: None,
                            deadline: Instant::ZERO,
                            queued_at: Instant::ZERO,
                            live_seq: None,
                        });
                        u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 timers")
                    }
                };
                if let Some(index) = &mut self.index {
                    index.insert(timer.clone(), slot);
                } else if self.slots.len() > LINEAR_MAX {
                    let mut index = LookupMap::default();
                    for (i, s) in self.slots.iter().enumerate() {
                        if let Some(key) = &s.key {
                            index.insert(key.clone(), i as u32);
                        }
                    }
                    index.insert(timer.clone(), slot);
                    self.index = Some(index);
                }
                self.slots[slot as usize].key = Some(timer);
                slot
            }
        };
        let s = &mut self.slots[slot as usize];
        s.deadline = at;
        if s.live_seq.is_some() && s.queued_at <= at {
            return; // the live entry pops first and re-queues itself at the new deadline
        }
        s.live_seq = Some(queue(at, slot));
        s.queued_at = at;
    }

    pub fn cancel(&mut self, timer: &T) {
        if let Some(slot) = self.find(timer) {
            self.release(slot);
        }
    }

    fn find(&mut self, timer: &T) -> Option<u32> {
        if let Some(r) = self.recent
            && self.slots[r as usize].key.as_ref() == Some(timer)
        {
            return Some(r);
        }
        let found = self.lookup(timer);
        if found.is_some() {
            self.recent = found;
        }
        found
    }

    fn lookup(&self, timer: &T) -> Option<u32> {
        match &self.index {
            Some(index) => index.get(timer).copied(),
            None => self
                .slots
                .iter()
                .position(|s| s.key.as_ref() == Some(timer))
                .map(|i| i as u32),
        }
    }

    /// Interprets a popped queue entry for `slot` with sequence `seq` at time `now`.
    pub fn pop(
        &mut self,
        slot: u32,
        seq: u64,
        now: Instant,
        queue: impl FnOnce(Instant, u32) -> u64,
    ) -> Popped<T> {
        let Some(s) = self.slots.get_mut(slot as usize) else {
            return Popped::Stale;
        };
        if s.live_seq != Some(seq) {
            return Popped::Stale;
        }
        if s.deadline > now {
            s.live_seq = Some(queue(s.deadline, slot));
            s.queued_at = s.deadline;
            return Popped::Deferred;
        }
        let key = s.key.clone().expect("an armed slot has a key");
        s.live_seq = None;
        self.firing = Some(slot);
        Popped::Fire(key)
    }

    /// The handler of a fired timer has returned: frees the timer's slot unless it re-armed.
    pub fn fired_done(&mut self) {
        if let Some(slot) = self.firing.take() {
            let s = &self.slots[slot as usize];
            if s.key.is_some() && s.live_seq.is_none() {
                self.release(slot);
            }
        }
    }

    /// Disarms everything (a process crash). Entries already queued become stale.
    pub fn clear(&mut self) {
        if let Some(index) = &mut self.index {
            index.clear();
        }
        self.free.clear();
        self.firing = None;
        for (i, s) in self.slots.iter_mut().enumerate() {
            s.key = None;
            s.live_seq = None;
            self.free.push(i as u32);
        }
    }

    #[cfg(test)]
    pub fn armed(&self) -> usize {
        self.slots.iter().filter(|s| s.key.is_some()).count()
    }

    fn release(&mut self, slot: u32) {
        let s = &mut self.slots[slot as usize];
        if let (Some(index), Some(key)) = (&mut self.index, &s.key) {
            index.remove(key);
        }
        s.key = None;
        s.live_seq = None;
        self.free.push(slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::queue::EventQueue;

    /// Drives a table against a real queue and returns (time, timer) for every firing.
    fn fire_all(table: &mut TimerTable<&'static str>, q: &mut EventQueue<u32>) -> Vec<(u64, &'static str)> {
        let mut fired = Vec::new();
        while let Some((now, seq, slot)) = q.pop() {
            if let Popped::Fire(t) = table.pop(slot, seq, now, |at, slot| q.push(at, slot)) {
                fired.push((now.as_nanos(), t));
                table.fired_done();
            }
        }
        fired
    }

    #[test]
    fn rearming_later_defers_and_earlier_supersedes() {
        let mut table = TimerTable::default();
        let mut q = EventQueue::new();
        let t = |ns| Instant::from_nanos(ns);
        table.set("a", t(10), |at, s| q.push(at, s));
        table.set("a", t(30), |at, s| q.push(at, s)); // later: no new entry
        assert_eq!(q.len(), 1);
        table.set("b", t(20), |at, s| q.push(at, s));
        table.set("b", t(5), |at, s| q.push(at, s)); // earlier: new live entry
        table.set("c", t(7), |at, s| q.push(at, s));
        table.cancel(&"c");
        assert_eq!(fire_all(&mut table, &mut q), vec![(5, "b"), (30, "a")]);
        assert_eq!(table.armed(), 0);
    }

    #[test]
    fn many_timers_switch_to_an_index_and_keep_working() {
        let mut table = TimerTable::default();
        let mut q = EventQueue::new();
        let names: Vec<&'static str> = vec![
            "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t10", "t11",
        ];
        for (i, n) in names.iter().enumerate() {
            table.set(*n, Instant::from_nanos(100 - i as u64), |at, s| q.push(at, s));
        }
        table.cancel(&"t3");
        table.set("t0", Instant::from_nanos(1), |at, s| q.push(at, s));
        let fired = fire_all(&mut table, &mut q);
        assert_eq!(fired.len(), 11);
        assert_eq!(fired[0], (1, "t0"));
        assert_eq!(fired[1], (89, "t11"));
        assert!(!fired.iter().any(|f| f.1 == "t3"));
    }

    #[test]
    fn a_timer_rearmed_while_firing_keeps_its_slot_and_fires_again() {
        let mut table = TimerTable::default();
        let mut q = EventQueue::new();
        table.set("tick", Instant::from_nanos(10), |at, s| q.push(at, s));
        let mut fired = Vec::new();
        while let Some((now, seq, slot)) = q.pop() {
            if let Popped::Fire(t) = table.pop(slot, seq, now, |at, s| q.push(at, s)) {
                fired.push(now.as_nanos());
                if fired.len() < 3 {
                    table.set(t, now + crate::time::Duration::from_nanos(10), |at, s| {
                        q.push(at, s)
                    });
                }
                table.fired_done();
            }
        }
        assert_eq!(fired, vec![10, 20, 30]);
        assert_eq!(table.slots.len(), 1);
        assert_eq!(table.armed(), 0);
    }

    #[test]
    fn clear_makes_queued_entries_stale() {
        let mut table = TimerTable::default();
        let mut q = EventQueue::new();
        table.set("a", Instant::from_nanos(10), |at, s| q.push(at, s));
        table.clear();
        table.set("b", Instant::from_nanos(20), |at, s| q.push(at, s));
        assert_eq!(fire_all(&mut table, &mut q), vec![(20, "b")]);
    }
}
