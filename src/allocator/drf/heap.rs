//! An indexed binary min-heap, and in-order walks over it.
//!
//! The sorter's sets change in one pattern above all: the smallest entry is offered an
//! agent, its key grows, and it sinks. A heap does that in O(log n) swaps, where a sorted
//! vector moves O(n) entries and a B-tree searches twice. Entries are addressed by a small
//! `slot` number chosen by the owner; the heap tracks where each slot sits.
//!
//! Walking entries in order without disturbing the heap uses a second, small heap of
//! candidate positions (the classic "k smallest of a heap" walk): O(k log k) for k steps.

const NONE: u32 = u32::MAX;

#[derive(Clone, Debug)]
pub struct Heap<K> {
    items: Vec<(K, u32)>,
    /// Position of each slot in `items`, or `NONE`.
    pos: Vec<u32>,
}

impl<K> Default for Heap<K> {
    fn default() -> Self {
        Heap {
            items: Vec::new(),
            pos: Vec::new(),
        }
    }
}

impl<K: Ord + Copy> Heap<K> {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn clear(&mut self) {
        self.items.clear();
        self.pos.iter_mut().for_each(|p| *p = NONE);
    }

    /// Inserts `slot` with `key`, or moves it to `key` if present.
    pub fn set(&mut self, slot: u32, key: K) {
        if self.pos.len() <= slot as usize {
            self.pos.resize(slot as usize + 1, NONE);
        }
        let p = self.pos[slot as usize];
        if p == NONE {
            self.items.push((key, slot));
            let i = self.items.len() - 1;
            self.pos[slot as usize] = i as u32;
            self.sift_up(i);
        } else {
            let i = p as usize;
            let old = self.items[i].0;
            self.items[i].0 = key;
            if key < old {
                self.sift_up(i);
            } else {
                self.sift_down(i);
            }
        }
    }

    pub fn remove(&mut self, slot: u32) {
        let Some(&p) = self.pos.get(slot as usize) else {
            return;
        };
        if p == NONE {
            return;
        }
        let i = p as usize;
        let last = self.items.len() - 1;
        self.swap(i, last);
        self.items.pop();
        self.pos[slot as usize] = NONE;
        if i < self.items.len() {
            self.sift_down(i);
            self.sift_up(i);
        }
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.items.swap(a, b);
        self.pos[self.items[a].1 as usize] = a as u32;
        self.pos[self.items[b].1 as usize] = b as u32;
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.items[parent].0 <= self.items[i].0 {
                break;
            }
            self.swap(i, parent);
            i = parent;
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.items.len();
        loop {
            let left = 2 * i + 1;
            if left >= n {
                break;
            }
            let right = left + 1;
            let child = if right < n && self.items[right].0 < self.items[left].0 {
                right
            } else {
                left
            };
            if self.items[i].0 <= self.items[child].0 {
                break;
            }
            self.swap(i, child);
            i = child;
        }
    }
}

/// A walk over a heap's entries in increasing key order. Valid as long as the heap is not
/// changed; reusable (its memory is kept across [`Cursor::start`]s).
#[derive(Clone, Debug)]
pub struct Cursor<K> {
    /// Candidate positions, as a min-heap on their keys.
    frontier: Vec<(K, u32)>,
}

impl<K> Default for Cursor<K> {
    fn default() -> Self {
        Cursor { frontier: Vec::new() }
    }
}

impl<K: Ord + Copy> Cursor<K> {
    pub fn start(&mut self, heap: &Heap<K>) {
        self.frontier.clear();
        if let Some(&(k, _)) = heap.items.first() {
            self.frontier.push((k, 0));
        }
    }

    /// The next (key, slot) in increasing key order.
    pub fn next(&mut self, heap: &Heap<K>) -> Option<(K, u32)> {
        if self.frontier.is_empty() {
            return None;
        }
        // Pop the smallest candidate.
        let last = self.frontier.len() - 1;
        self.frontier.swap(0, last);
        let (key, pos) = self.frontier.pop().expect("not empty");
        let mut i = 0;
        let n = self.frontier.len();
        loop {
            let left = 2 * i + 1;
            if left >= n {
                break;
            }
            let child = if left + 1 < n && self.frontier[left + 1].0 < self.frontier[left].0 {
                left + 1
            } else {
                left
            };
            if self.frontier[i].0 <= self.frontier[child].0 {
                break;
            }
            self.frontier.swap(i, child);
            i = child;
        }
        // Its children in the heap become candidates.
        for c in [2 * pos as usize + 1, 2 * pos as usize + 2] {
            if let Some(&(k, _)) = heap.items.get(c) {
                self.frontier.push((k, c as u32));
                let mut j = self.frontier.len() - 1;
                while j > 0 {
                    let parent = (j - 1) / 2;
                    if self.frontier[parent].0 <= self.frontier[j].0 {
                        break;
                    }
                    self.frontier.swap(j, parent);
                    j = parent;
                }
            }
        }
        Some((key, heap.items[pos as usize].1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any sequence of sets and removes walks in the order of a sorted model.
        #[test]
        fn walks_in_key_order(ops in proptest::collection::vec((0u8..3, 0u32..40, 0u32..1000), 0..300)) {
            let mut heap = Heap::default();
            let mut model: std::collections::BTreeMap<u32, u32> = Default::default();
            let mut cursor = Cursor::default();
            for (op, slot, key) in ops {
                if op == 0 {
                    heap.remove(slot);
                    model.remove(&slot);
                } else {
                    // Keys made unique by the slot, as the sorter's keys are.
                    let k = (key, slot);
                    heap.set(slot, k);
                    model.insert(slot, key);
                }
                let mut expected: Vec<((u32, u32), u32)> = model.iter().map(|(&s, &k)| ((k, s), s)).collect();
                expected.sort();
                cursor.start(&heap);
                let walked: Vec<((u32, u32), u32)> = std::iter::from_fn(|| cursor.next(&heap)).collect();
                prop_assert_eq!(walked, expected);
            }
        }
    }
}
