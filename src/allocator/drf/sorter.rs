//! The DRF sorter: roles in a tree ordered level by level, frameworks ordered within their
//! role, both by dominant share, then allocation count, then name.
//!
//! - A share is (offered-or-allocated ÷ cluster total) of the client's dominant resource,
//!   divided by its weight. Shares are exact rationals (see [`Share`]), so ties are real
//!   ties (Mesos's own tests rely on 1/6 tying with (2/6)/2).
//! - The allocation count is the number of offers ever made to the client (never reset);
//!   a parent's count and allocation are the sums over its subtree.
//! - A role with frameworks of its own *and* sub-roles competes with its children through a
//!   virtual leaf named `<role>/.` with weight 1.
//!
//! Each node keeps its children, and each role its active frameworks, in an indexed heap
//! ([`Heap`]): an offer re-keys one framework and the path of roles above it in O(log n)
//! each, and walks visit entries in order without disturbing the heaps. Names enter keys as
//! ranks (their order as strings), recomputed, with every key, when a name is added or the
//! cluster total changes ("dirty"), lazily before the next use.

use std::cmp::Ordering;

use smol_str::SmolStr;

use super::super::quantities::Quantities;
use super::heap::{Cursor, Heap};
use crate::ids::FrameworkId;

/// An exact dominant share: `alloc / total / (weight / 1000)`.
///
/// Compared through `approx` (the quotient in floating point) when that settles it, and
/// exactly, by cross-multiplication, when the two are within a few parts in 10^12: floating
/// point only ever speeds the comparison up, it never decides a near-tie.
#[derive(Clone, Copy, Debug)]
pub struct Share {
    approx: f64,
    alloc: u64,
    total: u64,
    weight: u64,
}

impl Share {
    pub const ZERO: Share = Share {
        approx: 0.0,
        alloc: 0,
        total: 1,
        weight: 1000,
    };

    /// The dominant share of `alloc` in `total`, resources flagged in `excluded` left out.
    pub fn of(alloc: &Quantities, total: &Quantities, excluded: &[bool], weight: u64) -> Share {
        let (mut best_alloc, mut best_total) = (0u64, 1u64);
        for (i, &t) in total.0.iter().enumerate() {
            if t == 0 || excluded.get(i).copied().unwrap_or(false) {
                continue;
            }
            let a = alloc.get(i);
            // a / t > best_alloc / best_total ?
            if u128::from(a) * u128::from(best_total) > u128::from(best_alloc) * u128::from(t) {
                best_alloc = a;
                best_total = t;
            }
        }
        let approx = best_alloc as f64 / best_total as f64 / (weight as f64 / 1000.0);
        Share {
            approx,
            alloc: best_alloc,
            total: best_total,
            weight,
        }
    }

    /// The share as a float, for reports only.
    pub fn as_f64(self) -> f64 {
        self.approx
    }
}

impl Ord for Share {
    fn cmp(&self, other: &Share) -> Ordering {
        let (a, b) = (self.approx, other.approx);
        if (a - b).abs() > 1e-12 * a.max(b) {
            return if a < b { Ordering::Less } else { Ordering::Greater };
        }
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

/// What a tree entry stands for: a child node's index, or [`OWN`] for the node's own
/// frameworks (the node itself, as a client).
const OWN: u32 = u32::MAX;
/// The heap slot of a node's own entry; child `k` of a node sits at slot `k + 1`.
const OWN_SLOT: u32 = 0;

/// (share, allocation count, name rank, target).
type EntryKey = (Share, u64, u32, u32);
/// (share, allocation count, name rank, framework).
type FrameworkKey = (Share, u64, u32, FrameworkId);

#[derive(Clone)]
struct RoleNode {
    path: SmolStr,
    /// Rank of `path` among all entry names (tie-break in the parent).
    path_rank: u32,
    /// Rank of `<path>/.`, the name of this node's own entry.
    own_rank: u32,
    parent: Option<usize>,
    /// This node's slot in its parent's heap.
    slot: u32,
    weight: u64,
    /// Frameworks registered in exactly this role.
    clients: usize,
    /// Clients in this role and below.
    subtree_clients: usize,
    own_alloc: Quantities,
    own_count: u64,
    sub_alloc: Quantities,
    sub_count: u64,
    /// Child nodes, by slot − 1.
    kids: Vec<usize>,
    /// The own entry (if this role has clients) and the children with clients.
    children: Heap<EntryKey>,
    /// This role's frameworks, by slot.
    members: Vec<Option<FrameworkId>>,
    /// The active ones, keyed.
    frameworks: Heap<FrameworkKey>,
}

#[derive(Clone)]
struct FrameworkRec {
    name: SmolStr,
    rank: u32,
    node: usize,
    /// Slot in its role's `frameworks` heap.
    slot: u32,
    alloc: Quantities,
    count: u64,
    active: bool,
}

/// Where a walk over the role order is.
#[derive(Clone, Debug, Default)]
pub struct RoleWalk {
    stack: Vec<(usize, Cursor<EntryKey>)>,
    depth: usize,
}

/// Where a walk over one role's frameworks is.
#[derive(Clone, Debug, Default)]
pub struct FrameworkWalk {
    cursor: Cursor<FrameworkKey>,
}

#[derive(Clone)]
pub struct Sorter {
    nodes: Vec<RoleNode>,
    frameworks: Vec<Option<FrameworkRec>>,
    total: Quantities,
    excluded: Vec<bool>,
    /// Names or the total changed: ranks and keys are rebuilt before the next use, and
    /// re-keying is skipped until then.
    dirty: bool,
}

const ROOT: usize = 0;

impl Default for Sorter {
    fn default() -> Self {
        Sorter {
            nodes: vec![Self::new_node(SmolStr::default(), None, 0)],
            frameworks: Vec::new(),
            total: Quantities::default(),
            excluded: Vec::new(),
            dirty: true,
        }
    }
}

impl Sorter {
    fn new_node(path: SmolStr, parent: Option<usize>, slot: u32) -> RoleNode {
        RoleNode {
            path,
            path_rank: 0,
            own_rank: 0,
            parent,
            slot,
            weight: 1000,
            clients: 0,
            subtree_clients: 0,
            own_alloc: Quantities::default(),
            own_count: 0,
            sub_alloc: Quantities::default(),
            sub_count: 0,
            kids: Vec::new(),
            children: Heap::default(),
            members: Vec::new(),
            frameworks: Heap::default(),
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
            node = match self.nodes[node]
                .kids
                .iter()
                .copied()
                .find(|&k| self.nodes[k].path == prefix)
            {
                Some(k) => k,
                None => {
                    let slot = self.nodes[node].kids.len() as u32 + 1;
                    self.nodes
                        .push(Self::new_node(SmolStr::new(&prefix), Some(node), slot));
                    let k = self.nodes.len() - 1;
                    self.nodes[node].kids.push(k);
                    self.dirty = true;
                    k
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
        (self.share(&n.own_alloc, 1000), n.own_count, n.own_rank, OWN)
    }

    fn child_entry(&self, node: usize) -> EntryKey {
        let n = &self.nodes[node];
        (
            self.share(&n.sub_alloc, n.weight),
            n.sub_count,
            n.path_rank,
            node as u32,
        )
    }

    fn framework_key(&self, id: FrameworkId) -> FrameworkKey {
        let f = self.frameworks[id.index()].as_ref().expect("a known framework");
        (self.share(&f.alloc, 1000), f.count, f.rank, id)
    }

    /// Puts `node`'s own entry where its current figures say. A leaf role's own entry is
    /// alone in its heap, where its key cannot matter; a first child's arrival rebuilds every
    /// key anyway.
    fn rekey_own(&mut self, node: usize) {
        if self.dirty
            || (self.nodes[node].kids.is_empty()
                && !self.nodes[node].children.is_empty()
                && self.nodes[node].clients > 0)
        {
            return;
        }
        if self.nodes[node].clients > 0 {
            let key = self.own_entry(node);
            self.nodes[node].children.set(OWN_SLOT, key);
        } else {
            self.nodes[node].children.remove(OWN_SLOT);
        }
    }

    /// Puts `node`'s entry in its parent where its current figures say.
    fn rekey_in_parent(&mut self, node: usize) {
        if self.dirty {
            return;
        }
        let Some(parent) = self.nodes[node].parent else {
            return;
        };
        let slot = self.nodes[node].slot;
        if self.nodes[node].subtree_clients > 0 {
            let key = self.child_entry(node);
            self.nodes[parent].children.set(slot, key);
        } else {
            self.nodes[parent].children.remove(slot);
        }
    }

    fn rekey_framework(&mut self, id: FrameworkId) {
        if self.dirty {
            return;
        }
        let f = self.frameworks[id.index()].as_ref().expect("a known framework");
        let (node, slot, active) = (f.node, f.slot, f.active);
        if active {
            let key = self.framework_key(id);
            self.nodes[node].frameworks.set(slot, key);
        } else {
            self.nodes[node].frameworks.remove(slot);
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
        let members = &mut self.nodes[node].members;
        let slot = match members.iter().position(Option::is_none) {
            Some(s) => s,
            None => {
                members.push(None);
                members.len() - 1
            }
        };
        members[slot] = Some(id);
        self.frameworks[i] = Some(FrameworkRec {
            name: SmolStr::new(name),
            rank: 0,
            node,
            slot: slot as u32,
            alloc: Quantities::default(),
            count: 0,
            active: true,
        });
        self.dirty = true;
        self.nodes[node].clients += 1;
        let mut n = Some(node);
        while let Some(x) = n {
            self.nodes[x].subtree_clients += 1;
            n = self.nodes[x].parent;
        }
    }

    pub fn remove_framework(&mut self, id: FrameworkId) {
        let Some(f) = self.frameworks.get_mut(id.index()).and_then(Option::take) else {
            return;
        };
        let node = f.node;
        self.nodes[node].frameworks.remove(f.slot);
        self.nodes[node].members[f.slot as usize] = None;
        self.dirty = true;
        self.nodes[node].clients -= 1;
        let mut n = Some(node);
        while let Some(x) = n {
            self.nodes[x].subtree_clients -= 1;
            n = self.nodes[x].parent;
        }
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
        self.dirty = true;
        self.refresh();
    }

    /// Rebuilds name ranks and every key if anything made them stale.
    pub fn refresh(&mut self) {
        if !self.dirty {
            return;
        }
        // Entry names: each node's path and, for its own entry, `<path>/.`; ranked as strings.
        let mut names: Vec<(String, usize, bool)> = Vec::new();
        for (i, n) in self.nodes.iter().enumerate().skip(1) {
            names.push((n.path.to_string(), i, false));
            names.push((format!("{}/.", n.path), i, true));
        }
        names.sort();
        for (rank, (_, i, own)) in names.into_iter().enumerate() {
            if own {
                self.nodes[i].own_rank = rank as u32;
            } else {
                self.nodes[i].path_rank = rank as u32;
            }
        }
        let mut fws: Vec<(SmolStr, usize)> = self
            .frameworks
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.as_ref().map(|f| (f.name.clone(), i)))
            .collect();
        fws.sort();
        for (rank, (_, i)) in fws.into_iter().enumerate() {
            self.frameworks[i].as_mut().expect("listed").rank = rank as u32;
        }
        self.dirty = false;
        for node in 0..self.nodes.len() {
            self.nodes[node].children.clear();
            self.nodes[node].frameworks.clear();
        }
        for node in 0..self.nodes.len() {
            self.rekey_own(node);
            self.rekey_in_parent(node);
        }
        for i in 0..self.frameworks.len() {
            if self.frameworks[i].is_some() {
                self.rekey_framework(FrameworkId(i as u32));
            }
        }
    }

    /// A walk over the roles in DRF order, from the first.
    pub fn walk(&self) -> RoleWalk {
        let mut walk = RoleWalk::default();
        self.restart(&mut walk);
        walk
    }

    /// Starts `walk` over again from the first role, reusing its memory.
    pub fn restart(&self, walk: &mut RoleWalk) {
        walk.depth = 0;
        self.descend(walk, ROOT);
    }

    fn descend(&self, walk: &mut RoleWalk, node: usize) {
        if walk.stack.len() <= walk.depth {
            walk.stack.push((node, Cursor::default()));
        }
        let (n, cursor) = &mut walk.stack[walk.depth];
        *n = node;
        cursor.start(&self.nodes[node].children);
        walk.depth += 1;
    }

    /// The next role in DRF order (a node whose own frameworks compete). The walk is valid
    /// until the sorter changes; after an offer, callers restart it and skip what they have
    /// already handled.
    pub fn next_role(&self, walk: &mut RoleWalk) -> Option<usize> {
        loop {
            if walk.depth == 0 {
                return None;
            }
            let (node, cursor) = &mut walk.stack[walk.depth - 1];
            let node = *node;
            match cursor.next(&self.nodes[node].children) {
                None => walk.depth -= 1,
                Some((key, _)) if key.3 == OWN => return Some(node),
                Some((key, _)) => self.descend(walk, key.3 as usize),
            }
        }
    }

    /// Starts a walk over `role`'s active frameworks in DRF order.
    pub fn start_frameworks(&self, walk: &mut FrameworkWalk, role: usize) {
        walk.cursor.start(&self.nodes[role].frameworks);
    }

    /// The next active framework of `role`, valid until the sorter changes.
    pub fn next_framework(&self, walk: &mut FrameworkWalk, role: usize) -> Option<FrameworkId> {
        walk.cursor
            .next(&self.nodes[role].frameworks)
            .map(|(key, _)| key.3)
    }

    /// Roles in DRF order, for tests and reports.
    pub fn role_order(&mut self) -> Vec<String> {
        self.refresh();
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
        s.refresh();
        let role = s.find_role("r").unwrap();
        let mut walk = FrameworkWalk::default();
        s.start_frameworks(&mut walk, role);
        assert_eq!(s.next_framework(&mut walk, role), Some(FrameworkId(0)));
        assert_eq!(s.next_framework(&mut walk, role), None);
        assert_eq!(s.role_share("r"), Some(0.5));
    }
}
