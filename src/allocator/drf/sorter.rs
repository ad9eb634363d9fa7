//! The DRF sorter: roles in a tree ordered level by level, frameworks ordered within their
//! role, both by dominant share, then allocation count, then name.
//!
//! - A share is (offered-or-allocated ÷ cluster total) of the client's dominant resource,
//!   divided by its weight. Shares are exact rationals compared by cross-multiplication, so
//!   ties are real ties (Mesos's own tests rely on 1/6 tying with (2/6)/2).
//! - The allocation count is the number of offers ever made to the client (never reset);
//!   a parent's count and allocation are the sums over its subtree.
//! - A role with frameworks of its own *and* sub-roles competes with its children through a
//!   virtual leaf named `<role>/.` with weight 1.
//!
//! Orders are kept incrementally: every change re-keys the client and its ancestors
//! (O(depth · log n)); a change of the cluster total re-keys everything, lazily.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::ops::Bound;

use smol_str::SmolStr;

use super::super::quantities::Quantities;
use crate::ids::FrameworkId;

/// An exact dominant share: `alloc / total / (weight / 1000)`.
#[derive(Clone, Copy, Debug)]
pub struct Share {
    alloc: u64,
    total: u64,
    weight: u64,
}

impl Share {
    pub const ZERO: Share = Share {
        alloc: 0,
        total: 1,
        weight: 1000,
    };

    /// The dominant share of `alloc` in `total`, resources flagged in `excluded` left out.
    pub fn of(alloc: &Quantities, total: &Quantities, excluded: &[bool], weight: u64) -> Share {
        let mut best = Share {
            alloc: 0,
            total: 1,
            weight,
        };
        for (i, &t) in total.0.iter().enumerate() {
            if t == 0 || excluded.get(i).copied().unwrap_or(false) {
                continue;
            }
            let a = alloc.get(i);
            // a / t > best.alloc / best.total ?
            if u128::from(a) * u128::from(best.total) > u128::from(best.alloc) * u128::from(t) {
                best.alloc = a;
                best.total = t;
            }
        }
        best
    }

    /// The share as a float, for reports only.
    pub fn as_f64(self) -> f64 {
        self.alloc as f64 / self.total as f64 / (self.weight as f64 / 1000.0)
    }
}

impl Ord for Share {
    fn cmp(&self, other: &Share) -> Ordering {
        // a/(t·w) vs b/(u·v)  ⇔  a·u·v vs b·t·w; every factor is below 2^46 or a weight in
        // thousandths below 2^30, so the products fit in 128 bits.
        let lhs = u128::from(self.alloc) * u128::from(other.total) * u128::from(other.weight);
        let rhs = u128::from(other.alloc) * u128::from(self.total) * u128::from(self.weight);
        lhs.cmp(&rhs)
    }
}

impl PartialOrd for Share {
    fn partial_cmp(&self, other: &Share) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Share {
    fn eq(&self, other: &Share) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Share {}

/// A weight in thousandths (weights are validated positive and at most a million).
pub fn weight_millis(weight: f64) -> u64 {
    ((weight * 1000.0).round() as u64).clamp(1, 1_000_000_000)
}

/// What a tree entry stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    /// The node's own frameworks (the node itself, as a client).
    Own,
    Child(usize),
}

type EntryKey = (Share, u64, SmolStr, Target);
type FrameworkKey = (Share, u64, SmolStr, FrameworkId);

struct RoleNode {
    path: SmolStr,
    parent: Option<usize>,
    weight: u64,
    /// Frameworks registered in exactly this role.
    clients: usize,
    /// Clients in this role and below.
    subtree_clients: usize,
    own_alloc: Quantities,
    own_count: u64,
    sub_alloc: Quantities,
    sub_count: u64,
    /// Entries for this node's own frameworks and for its children with clients.
    children: BTreeSet<EntryKey>,
    own_key: Option<EntryKey>,
    key_in_parent: Option<EntryKey>,
    /// Active frameworks of this role, in order.
    frameworks: BTreeSet<FrameworkKey>,
}

struct FrameworkRec {
    name: SmolStr,
    node: usize,
    alloc: Quantities,
    count: u64,
    active: bool,
    key: Option<FrameworkKey>,
}

/// Where a walk over the role order is.
pub struct RoleWalk {
    stack: Vec<(usize, Option<EntryKey>)>,
}

pub struct Sorter {
    nodes: Vec<RoleNode>,
    frameworks: Vec<Option<FrameworkRec>>,
    total: Quantities,
    excluded: Vec<bool>,
}

const ROOT: usize = 0;

impl Default for Sorter {
    fn default() -> Self {
        Sorter {
            nodes: vec![Self::new_node(SmolStr::default(), None, 1000)],
            frameworks: Vec::new(),
            total: Quantities::default(),
            excluded: Vec::new(),
        }
    }
}

impl Sorter {
    fn new_node(path: SmolStr, parent: Option<usize>, weight: u64) -> RoleNode {
        RoleNode {
            path,
            parent,
            weight,
            clients: 0,
            subtree_clients: 0,
            own_alloc: Quantities::default(),
            own_count: 0,
            sub_alloc: Quantities::default(),
            sub_count: 0,
            children: BTreeSet::new(),
            own_key: None,
            key_in_parent: None,
            frameworks: BTreeSet::new(),
        }
    }

    /// The node of `path`, created with its ancestors.
    pub fn role(&mut self, path: &str) -> usize {
        let mut node = ROOT;
        let mut prefix = String::new();
        for part in path.split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            node = match self.nodes.iter().position(|n| n.path == prefix) {
                Some(i) => i,
                None => {
                    self.nodes
                        .push(Self::new_node(SmolStr::new(&prefix), Some(node), 1000));
                    self.nodes.len() - 1
                }
            };
        }
        node
    }

    pub fn path(&self, node: usize) -> &str {
        &self.nodes[node].path
    }

    pub fn find_role(&self, path: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.path == path)
    }

    fn share(&self, alloc: &Quantities, weight: u64) -> Share {
        Share::of(alloc, &self.total, &self.excluded, weight)
    }

    fn own_entry(&self, node: usize) -> EntryKey {
        let n = &self.nodes[node];
        let path = SmolStr::new(format!("{}/.", n.path));
        (self.share(&n.own_alloc, 1000), n.own_count, path, Target::Own)
    }

    fn child_entry(&self, node: usize) -> EntryKey {
        let n = &self.nodes[node];
        (
            self.share(&n.sub_alloc, n.weight),
            n.sub_count,
            n.path.clone(),
            Target::Child(node),
        )
    }

    fn framework_key(&self, id: FrameworkId) -> FrameworkKey {
        let f = self.frameworks[id.index()].as_ref().expect("a known framework");
        (self.share(&f.alloc, 1000), f.count, f.name.clone(), id)
    }

    /// Puts `node`'s own entry where its current figures say.
    fn rekey_own(&mut self, node: usize) {
        if let Some(old) = self.nodes[node].own_key.take() {
            self.nodes[node].children.remove(&old);
        }
        if self.nodes[node].clients > 0 {
            let key = self.own_entry(node);
            self.nodes[node].children.insert(key.clone());
            self.nodes[node].own_key = Some(key);
        }
    }

    /// Puts `node`'s entry in its parent where its current figures say.
    fn rekey_in_parent(&mut self, node: usize) {
        let Some(parent) = self.nodes[node].parent else {
            return;
        };
        if let Some(old) = self.nodes[node].key_in_parent.take() {
            self.nodes[parent].children.remove(&old);
        }
        if self.nodes[node].subtree_clients > 0 {
            let key = self.child_entry(node);
            self.nodes[parent].children.insert(key.clone());
            self.nodes[node].key_in_parent = Some(key);
        }
    }

    fn rekey_framework(&mut self, id: FrameworkId) {
        let f = self.frameworks[id.index()].as_mut().expect("a known framework");
        let node = f.node;
        if let Some(old) = f.key.take() {
            self.nodes[node].frameworks.remove(&old);
        }
        if self.frameworks[id.index()].as_ref().expect("known").active {
            let key = self.framework_key(id);
            self.nodes[node].frameworks.insert(key.clone());
            self.frameworks[id.index()].as_mut().expect("known").key = Some(key);
        }
    }

    /// Re-keys `node` and every ancestor in their parents.
    fn rekey_up(&mut self, node: usize) {
        let mut n = Some(node);
        while let Some(i) = n {
            self.rekey_in_parent(i);
            n = self.nodes[i].parent;
        }
    }

    pub fn add_framework(&mut self, id: FrameworkId, name: &str, role: &str) {
        let node = self.role(role);
        let i = id.index();
        if self.frameworks.len() <= i {
            self.frameworks.resize_with(i + 1, || None);
        }
        self.frameworks[i] = Some(FrameworkRec {
            name: SmolStr::new(name),
            node,
            alloc: Quantities::default(),
            count: 0,
            active: true,
            key: None,
        });
        self.nodes[node].clients += 1;
        let mut n = Some(node);
        while let Some(x) = n {
            self.nodes[x].subtree_clients += 1;
            n = self.nodes[x].parent;
        }
        self.rekey_own(node);
        self.rekey_up(node);
        self.rekey_framework(id);
    }

    pub fn remove_framework(&mut self, id: FrameworkId) {
        let Some(f) = self.frameworks.get_mut(id.index()).and_then(Option::take) else {
            return;
        };
        let node = f.node;
        if let Some(key) = &f.key {
            self.nodes[node].frameworks.remove(key);
        }
        self.nodes[node].clients -= 1;
        let mut n = Some(node);
        while let Some(x) = n {
            self.nodes[x].subtree_clients -= 1;
            n = self.nodes[x].parent;
        }
        self.rekey_own(node);
        self.rekey_up(node);
    }

    /// An active framework is sorted (offered to); an inactive one keeps its allocation.
    pub fn set_active(&mut self, id: FrameworkId, active: bool) {
        if let Some(f) = self.frameworks.get_mut(id.index()).and_then(|f| f.as_mut()) {
            f.active = active;
            self.rekey_framework(id);
        }
    }

    /// `q` was offered to `id` (counts as one allocation).
    pub fn allocated(&mut self, id: FrameworkId, q: &Quantities) {
        self.change(id, q, true);
    }

    /// `q` came back from `id`.
    pub fn unallocated(&mut self, id: FrameworkId, q: &Quantities) {
        self.change(id, q, false);
    }

    fn change(&mut self, id: FrameworkId, q: &Quantities, allocated: bool) {
        let Some(f) = self.frameworks.get_mut(id.index()).and_then(|f| f.as_mut()) else {
            return;
        };
        let node = f.node;
        if allocated {
            f.alloc.add(q);
            f.count += 1;
        } else {
            f.alloc.sub(q);
        }
        self.rekey_framework(id);
        let n = &mut self.nodes[node];
        if allocated {
            n.own_alloc.add(q);
            n.own_count += 1;
        } else {
            n.own_alloc.sub(q);
        }
        let mut x = Some(node);
        while let Some(i) = x {
            let n = &mut self.nodes[i];
            if allocated {
                n.sub_alloc.add(q);
                n.sub_count += 1;
            } else {
                n.sub_alloc.sub(q);
            }
            x = n.parent;
        }
        self.rekey_own(node);
        self.rekey_up(node);
    }

    pub fn set_weight(&mut self, role: &str, weight: f64) {
        let node = self.role(role);
        self.nodes[node].weight = weight_millis(weight);
        self.rekey_in_parent(node);
    }

    /// A new cluster total (and fairness exclusions): every key is recomputed.
    pub fn set_total(&mut self, total: &Quantities, excluded: Vec<bool>) {
        self.total = total.clone();
        self.excluded = excluded;
        for node in 0..self.nodes.len() {
            self.nodes[node].children.clear();
            self.nodes[node].frameworks.clear();
            self.nodes[node].own_key = None;
            self.nodes[node].key_in_parent = None;
        }
        for node in 0..self.nodes.len() {
            self.rekey_own(node);
            self.rekey_in_parent(node);
        }
        for i in 0..self.frameworks.len() {
            if let Some(f) = self.frameworks[i].as_mut() {
                f.key = None;
                self.rekey_framework(FrameworkId(i as u32));
            }
        }
    }

    pub fn walk(&self) -> RoleWalk {
        RoleWalk {
            stack: vec![(ROOT, None)],
        }
    }

    /// The next role in DRF order (a node whose own frameworks compete), after the ones the
    /// walk has already returned. Entries re-keyed behind the walk's position may come up
    /// again; callers skip what they have already handled.
    pub fn next_role(&self, walk: &mut RoleWalk) -> Option<usize> {
        loop {
            let (node, last) = walk.stack.last_mut()?;
            let children = &self.nodes[*node].children;
            let next = match last {
                None => children.iter().next(),
                Some(k) => children.range((Bound::Excluded(&*k), Bound::Unbounded)).next(),
            }
            .cloned();
            match next {
                None => {
                    walk.stack.pop();
                }
                Some(entry) => {
                    let target = entry.3;
                    let here = *node;
                    *last = Some(entry);
                    match target {
                        Target::Own => return Some(here),
                        Target::Child(c) => walk.stack.push((c, None)),
                    }
                }
            }
        }
    }

    /// The active framework of `role` that sorts right after `after` (first if `None`).
    pub fn next_framework(&self, role: usize, after: Option<&FrameworkKey>) -> Option<FrameworkKey> {
        let set = &self.nodes[role].frameworks;
        match after {
            None => set.iter().next(),
            Some(k) => set.range((Bound::Excluded(k), Bound::Unbounded)).next(),
        }
        .cloned()
    }

    /// Roles in DRF order, for tests and reports.
    pub fn role_order(&self) -> Vec<String> {
        let mut walk = self.walk();
        let mut out = Vec::new();
        while let Some(node) = self.next_role(&mut walk) {
            out.push(self.nodes[node].path.to_string());
        }
        out
    }

    /// The dominant share of a role's subtree, for reports.
    pub fn role_share(&self, role: &str) -> Option<f64> {
        let node = self.find_role(role)?;
        Some(
            self.share(&self.nodes[node].sub_alloc, self.nodes[node].weight)
                .as_f64(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(cpus: u64, mem: u64) -> Quantities {
        let mut q = Quantities::default();
        q.set_at(0, cpus * 1000);
        q.set_at(1, mem * 1000);
        q
    }

    fn sorter(total: Quantities) -> Sorter {
        let mut s = Sorter::default();
        s.set_total(&total, vec![false, false]);
        s
    }

    #[test]
    fn shares_compare_exactly_with_weights() {
        let total = q(12, 6144);
        let a = Share::of(&q(2, 1024), &total, &[], 1000); // 1/6
        let b = Share::of(&q(4, 2048), &total, &[], 2000); // (2/6)/2
        assert_eq!(a, b);
        let c = Share::of(&q(3, 0), &total, &[], 1000);
        assert!(c > a);
        assert_eq!(Share::ZERO, Share::of(&Quantities::default(), &total, &[], 3000));
    }

    #[test]
    fn mesos_sorter_drf_example() {
        // Mesos's DRFSorterTest.DRF, first steps: total cpus:100;mem:100.
        let mut s = sorter(q(100, 100));
        for (i, name) in ["a", "b", "c", "d"].iter().enumerate() {
            s.add_framework(FrameworkId(i as u32), name, name);
        }
        s.allocated(FrameworkId(0), &q(5, 5));
        s.allocated(FrameworkId(1), &q(6, 6));
        s.allocated(FrameworkId(2), &q(1, 1));
        s.allocated(FrameworkId(3), &q(3, 1));
        assert_eq!(s.role_order(), ["c", "d", "a", "b"]);
        s.remove_framework(FrameworkId(0));
        s.unallocated(FrameworkId(1), &q(4, 4));
        assert_eq!(s.role_order(), ["c", "b", "d"]);
    }

    #[test]
    fn ties_break_on_allocation_count_then_name() {
        let mut s = sorter(q(10, 10));
        s.add_framework(FrameworkId(0), "x", "b");
        s.add_framework(FrameworkId(1), "y", "a");
        assert_eq!(s.role_order(), ["a", "b"], "equal shares and counts: by name");
        s.allocated(FrameworkId(1), &q(1, 1));
        s.unallocated(FrameworkId(1), &q(1, 1));
        assert_eq!(s.role_order(), ["b", "a"], "a has one allocation more");
    }

    #[test]
    fn hierarchical_iteration_order() {
        // Mesos's HierarchicalIterationOrder: a/b=0, c=0.08, d(own)=0.03, d/e=0.02.
        let mut s = sorter(q(100, 100));
        s.add_framework(FrameworkId(0), "f0", "a/b");
        s.add_framework(FrameworkId(1), "f1", "c");
        s.add_framework(FrameworkId(2), "f2", "d");
        s.add_framework(FrameworkId(3), "f3", "d/e");
        s.allocated(FrameworkId(1), &q(8, 8));
        s.allocated(FrameworkId(2), &q(3, 3));
        s.allocated(FrameworkId(3), &q(2, 2));
        assert_eq!(s.role_order(), ["a/b", "d/e", "d", "c"]);
    }

    #[test]
    fn inactive_frameworks_are_not_offered_to_but_keep_their_share() {
        let mut s = sorter(q(10, 10));
        s.add_framework(FrameworkId(0), "f0", "r");
        s.add_framework(FrameworkId(1), "f1", "r");
        s.allocated(FrameworkId(0), &q(5, 5));
        s.set_active(FrameworkId(1), false);
        let role = s.find_role("r").unwrap();
        let first = s.next_framework(role, None).unwrap();
        assert_eq!(first.3, FrameworkId(0));
        assert!(s.next_framework(role, Some(&first)).is_none());
        assert_eq!(s.role_share("r"), Some(0.5));
    }
}
