//! Named timers of one live process, with the simulator's semantics: arming an armed timer
//! moves its deadline, cancelling removes it, and a timer is disarmed before it fires.
//!
//! Timers wait in a map ordered by (deadline, arming sequence), so equal deadlines fire in the
//! order they were armed; a second map from timer to its key makes re-arming and cancelling
//! direct.

use std::collections::BTreeMap;
use std::hash::Hash;

use crate::lookup::LookupMap;
use crate::time::Instant;

pub struct Timers<T> {
    by_deadline: BTreeMap<(Instant, u64), T>,
    by_timer: LookupMap<T, (Instant, u64)>,
    next_seq: u64,
}

impl<T> Default for Timers<T> {
    fn default() -> Self {
        Timers {
            by_deadline: BTreeMap::new(),
            by_timer: LookupMap::default(),
            next_seq: 0,
        }
    }
}

impl<T: Clone + Eq + Hash> Timers<T> {
    /// Arms `timer` for `at`, replacing its previous deadline if it was armed.
    pub fn set(&mut self, timer: T, at: Instant) {
        if let Some(old) = self.by_timer.remove(&timer) {
            self.by_deadline.remove(&old);
        }
        let key = (at, self.next_seq);
        self.next_seq += 1;
        self.by_deadline.insert(key, timer.clone());
        self.by_timer.insert(timer, key);
    }

    pub fn cancel(&mut self, timer: &T) {
        if let Some(key) = self.by_timer.remove(timer) {
            self.by_deadline.remove(&key);
        }
    }

    /// The earliest deadline of an armed timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.by_deadline.first_key_value().map(|(&(at, _), _)| at)
    }

    /// The sequence the next arming will get: timers armed from now on compare at or above it.
    pub fn seq_mark(&self) -> u64 {
        self.next_seq
    }

    /// Disarms and returns the earliest timer if it is due at `now` and was armed before
    /// `mark` (so a handler that re-arms its timer for "now" cannot keep one sweep going).
    /// The earliest timer due by `now` and armed before `mark`, with its deadline.
    pub fn pop_due(&mut self, now: Instant, mark: u64) -> Option<(Instant, T)> {
        let entry = self.by_deadline.first_entry()?;
        let (at, seq) = *entry.key();
        if at > now || seq >= mark {
            return None;
        }
        let timer = entry.remove();
        self.by_timer.remove(&timer);
        Some((at, timer))
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_deadline.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_nanos(ms * 1_000_000)
    }

    #[test]
    fn due_timers_fire_in_deadline_then_arming_order() {
        let mut t = Timers::default();
        t.set("c", at(30));
        t.set("a", at(10));
        t.set("b", at(10));
        let mark = t.seq_mark();
        assert_eq!(t.pop_due(at(5), mark).map(|(_, t)| t), None);
        assert_eq!(t.pop_due(at(20), mark).map(|(_, t)| t), Some("a"));
        assert_eq!(t.pop_due(at(20), mark).map(|(_, t)| t), Some("b"));
        assert_eq!(t.pop_due(at(20), mark).map(|(_, t)| t), None);
        assert_eq!(t.next_deadline(), Some(at(30)));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn rearming_moves_and_cancelling_removes() {
        let mut t = Timers::default();
        t.set("a", at(10));
        t.set("a", at(50));
        assert_eq!(t.len(), 1);
        assert_eq!(t.next_deadline(), Some(at(50)));
        t.set("a", at(5));
        assert_eq!(t.next_deadline(), Some(at(5)));
        t.cancel(&"a");
        t.cancel(&"a");
        assert_eq!(t.len(), 0);
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn a_timer_armed_during_a_sweep_waits_for_the_next_one() {
        let mut t = Timers::default();
        t.set("a", at(10));
        let mark = t.seq_mark();
        assert_eq!(t.pop_due(at(10), mark).map(|(_, t)| t), Some("a"));
        t.set("a", at(10));
        assert_eq!(t.pop_due(at(10), mark).map(|(_, t)| t), None);
        let mark = t.seq_mark();
        assert_eq!(t.pop_due(at(10), mark), Some((at(10), "a")));
    }
}
