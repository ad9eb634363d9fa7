//! The books every allocator keeps: what each agent has and has handed out, what each
//! framework and role holds, decline filters, and quota consumption.
//!
//! "Offered or allocated" (OOA) resources are those in an outstanding offer or held by a
//! task: allocators do not distinguish the two. Quota consumption of a top-level role is, as
//! in Mesos, its OOA unreserved scalars plus all its reservations (allocated or not), both
//! including its sub-roles.

use std::collections::BTreeMap;

use smallvec::SmallVec;
use smol_str::SmolStr;

use super::filters::Filters;
use super::quantities::{Names, Quantities};
use super::{Allocation, AllocatorConfig, Candidates, Quota};
use crate::ids::{AgentId, FrameworkId};
use crate::resources::{MinAllocatable, Resources, Totals};
use crate::time::{Duration, Instant};

#[derive(Clone)]
pub struct AgentBook {
    pub total: Resources,
    /// `total` minus everything offered or allocated.
    pub available: Resources,
    /// Offered-or-allocated resources per framework.
    pub allocated: SmallVec<[(FrameworkId, Resources); 2]>,
}

#[derive(Clone)]
pub struct FrameworkBook {
    pub name: SmolStr,
    pub role: SmolStr,
    /// The role's index in [`Roles`].
    pub role_id: usize,
    pub active: bool,
    pub suppressed: bool,
    /// The framework's own offer filters (Mesos's `OfferFilters.min_allocatable_resources`),
    /// in place of the master's `min_allocatable`.
    pub min_allocatable: Option<MinAllocatable>,
}

impl FrameworkBook {
    /// Offered nothing while inactive or suppressed.
    pub fn wants_offers(&self) -> bool {
        self.active && !self.suppressed
    }
}

/// A role's quota-related books (for every role with a quota, weight, reservation or
/// framework, and its ancestors).
#[derive(Clone, Debug, Default)]
pub struct RoleBook {
    pub name: SmolStr,
    pub parent: Option<usize>,
    pub weight: f64,
    pub quota: Quota,
    pub guarantee: Quantities,
    /// `None`: no limit at all. Per resource index; `None` entries are unlimited.
    pub limit: Option<Caps>,
    /// Reservations to this role and its sub-roles, on every agent, allocated or not.
    pub reservations: Quantities,
    /// Offered-or-allocated unreserved scalars of this role and its sub-roles.
    pub ooa_unreserved: Quantities,
}

impl RoleBook {
    pub fn consumed(&self) -> Quantities {
        let mut c = self.ooa_unreserved.clone();
        c.add(&self.reservations);
        c
    }

    pub fn has_quota(&self) -> bool {
        !self.guarantee.is_zero() || self.limit.is_some()
    }
}

/// Role books by dense id, found by name when needed.
#[derive(Clone, Debug, Default)]
pub struct Roles {
    books: Vec<RoleBook>,
    index: BTreeMap<SmolStr, usize>,
}

impl Roles {
    pub fn get(&self, name: &str) -> Option<&RoleBook> {
        self.index.get(name).map(|&i| &self.books[i])
    }

    pub fn id(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub fn by_id(&self, id: usize) -> &RoleBook {
        &self.books[id]
    }

    /// Books in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&SmolStr, &RoleBook)> {
        self.index.iter().map(|(name, &i)| (name, &self.books[i]))
    }

    pub fn values(&self) -> impl Iterator<Item = &RoleBook> {
        self.books.iter()
    }

    /// The id of `role`, created (with its ancestors) on first use.
    fn ensure(&mut self, role: &str) -> usize {
        if let Some(&i) = self.index.get(role) {
            return i;
        }
        let parent = parent_role(role).map(|p| self.ensure(p));
        self.books.push(RoleBook {
            name: SmolStr::new(role),
            parent,
            weight: 1.0,
            ..RoleBook::default()
        });
        self.index.insert(SmolStr::new(role), self.books.len() - 1);
        self.books.len() - 1
    }

    /// Applies `f` to role `id` and each of its ancestors.
    fn for_self_and_ancestors(&mut self, id: usize, mut f: impl FnMut(&mut RoleBook)) {
        let mut at = Some(id);
        while let Some(i) = at {
            f(&mut self.books[i]);
            at = self.books[i].parent;
        }
    }
}

/// Agent ids as a bitset: O(1) membership changes, iteration in id order.
#[derive(Clone, Debug, Default)]
pub struct AgentSet {
    words: Vec<u64>,
}

impl AgentSet {
    pub fn insert(&mut self, a: AgentId) {
        let (w, b) = (a.index() / 64, a.index() % 64);
        if self.words.len() <= w {
            self.words.resize(w + 1, 0);
        }
        self.words[w] |= 1 << b;
    }

    pub fn remove(&mut self, a: AgentId) {
        if let Some(word) = self.words.get_mut(a.index() / 64) {
            *word &= !(1 << (a.index() % 64));
        }
    }

    pub fn contains(&self, a: AgentId) -> bool {
        self.words
            .get(a.index() / 64)
            .is_some_and(|w| w & (1 << (a.index() % 64)) != 0)
    }

    /// Members of `self` not in `other`, in id order.
    pub fn difference<'a>(&'a self, other: &'a AgentSet) -> impl Iterator<Item = AgentId> + 'a {
        members(
            self.words
                .iter()
                .enumerate()
                .map(|(w, &word)| word & !other.words.get(w).copied().unwrap_or(0)),
        )
    }

    pub fn iter(&self) -> impl Iterator<Item = AgentId> + '_ {
        members(self.words.iter().copied())
    }
}

/// The agents whose bits are set in `words` (64 agents a word), in id order.
fn members(words: impl Iterator<Item = u64>) -> impl Iterator<Item = AgentId> {
    words.enumerate().flat_map(|(w, word)| {
        let mut bits = word;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let b = bits.trailing_zeros();
            bits &= bits - 1;
            Some(AgentId((w * 64) as u32 + b))
        })
    })
}

/// The parent of a role path (`a/b` → `a`), if any.
pub fn parent_role(role: &str) -> Option<&str> {
    role.rfind('/').map(|i| &role[..i])
}

/// The top-level role of a path (`a/b/c` → `a`).
pub fn top_role(role: &str) -> &str {
    role.split('/').next().unwrap_or(role)
}

/// What the hot checks need of an agent's available resources, kept densely by agent id so
/// that walking thousands of agents touches no agent book.
#[derive(Clone, Copy, Debug, Default)]
struct Summary {
    totals: Totals,
    /// Available is non-empty (false for unknown agents).
    nonempty: bool,
    /// Available holds reserved resources.
    reserved: bool,
    /// Available is plain (see [`Resources::plain_totals`]).
    plain: bool,
}

/// How a framework came to be offered more.
#[derive(Clone, Debug)]
pub enum Widened {
    /// Its decline filters were cleared, or it became active.
    Everything,
    /// Its offer filters were loosened; these were the ones before.
    Filters(MinAllocatable),
}

/// Per-resource caps by index: `None` is unlimited.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caps(pub SmallVec<[Option<u64>; 4]>);

impl Caps {
    pub fn get(&self, i: usize) -> Option<u64> {
        self.0.get(i).copied().flatten()
    }

    /// Room left under the caps after `used`; unlimited entries stay unlimited.
    pub fn room(&self, used: &Quantities) -> Caps {
        Caps(
            self.0
                .iter()
                .enumerate()
                .map(|(i, c)| c.map(|c| c.saturating_sub(used.get(i))))
                .collect(),
        )
    }

    /// True if `q` exceeds a cap.
    pub fn exceeded_by(&self, q: &Quantities) -> bool {
        self.0
            .iter()
            .enumerate()
            .any(|(i, c)| c.is_some_and(|c| q.get(i) > c))
    }
}

#[derive(Clone)]
pub struct Ledger {
    pub config: AllocatorConfig,
    /// The first offer found to break a quota limit: a bug, reported by `check_limits`.
    pub violation: Option<String>,
    pub names: Names,
    pub agents: Vec<Option<AgentBook>>,
    /// Per agent id, a summary of `available`, kept by `refresh_free`.
    summaries: Vec<Summary>,
    pub frameworks: Vec<Option<FrameworkBook>>,
    pub filters: Filters,
    pub roles: Roles,
    /// Every agent's total scalars (the denominator of shares).
    pub total: Quantities,
    /// Every reservation's scalars.
    pub reservations: Quantities,
    /// Every offered-or-allocated unreserved scalar.
    pub ooa_unreserved: Quantities,
    /// Agents with something available.
    pub free: AgentSet,
    /// Free agents a full cycle found nothing to offer on, unchanged since: the same cycle
    /// would find nothing again, so cycles skip them. An agent leaves the set when its
    /// available resources change or a decline filter on it expires; every agent leaves it
    /// when frameworks or roles change (see [`Ledger::unsettle_all`]), and the agents one
    /// framework may now take when that framework alone is offered more (see
    /// [`Ledger::widen`]).
    pub settled: AgentSet,
    /// Frameworks offered more since the last full cycle: settled agents are checked
    /// against them before being skipped.
    widened: Vec<(FrameworkId, Widened)>,
    /// When each decline filter stops blocking, with its agent: the agent is unsettled then.
    expiries: std::collections::BinaryHeap<std::cmp::Reverse<(Instant, AgentId)>>,
    /// Bumped whenever `total` changes (shares must be recomputed).
    pub total_epoch: u64,
}

impl Ledger {
    pub fn new(config: AllocatorConfig) -> Ledger {
        let names = Names::default();
        Ledger {
            config,
            violation: None,
            names,
            agents: Vec::new(),
            summaries: Vec::new(),
            frameworks: Vec::new(),
            filters: Filters::default(),
            roles: Roles::default(),
            total: Quantities::default(),
            reservations: Quantities::default(),
            ooa_unreserved: Quantities::default(),
            free: AgentSet::default(),
            settled: AgentSet::default(),
            widened: Vec::new(),
            expiries: std::collections::BinaryHeap::new(),
            total_epoch: 0,
        }
    }

    /// The book of `role`, created (with its ancestors) on first use.
    pub fn role_mut(&mut self, role: &str) -> &mut RoleBook {
        let id = self.roles.ensure(role);
        &mut self.roles.books[id]
    }

    /// Applies `f` to `role` and each of its ancestors.
    fn for_role_and_ancestors(&mut self, role: &str, f: impl FnMut(&mut RoleBook)) {
        let id = self.roles.ensure(role);
        self.roles.for_self_and_ancestors(id, f);
    }

    pub fn agent(&self, agent: AgentId) -> Option<&AgentBook> {
        self.agents.get(agent.index()).and_then(|a| a.as_ref())
    }

    pub fn framework(&self, framework: FrameworkId) -> Option<&FrameworkBook> {
        self.frameworks.get(framework.index()).and_then(|f| f.as_ref())
    }

    pub fn framework_mut(&mut self, framework: FrameworkId) -> Option<&mut FrameworkBook> {
        self.frameworks
            .get_mut(framework.index())
            .and_then(|f| f.as_mut())
    }

    pub fn add_framework(&mut self, framework: FrameworkId, name: &str, role: &str) {
        self.unsettle_all();
        let i = framework.index();
        if self.frameworks.len() <= i {
            self.frameworks.resize_with(i + 1, || None);
        }
        let role_id = self.roles.ensure(role);
        self.frameworks[i] = Some(FrameworkBook {
            name: SmolStr::new(name),
            role: SmolStr::new(role),
            role_id,
            active: true,
            suppressed: false,
            min_allocatable: None,
        });
    }

    /// Adds an agent; its `used` allocations are booked like offers. Returns them as booked.
    pub fn add_agent(&mut self, agent: AgentId, total: &Resources, used: &[(FrameworkId, Resources)]) {
        let i = agent.index();
        if self.agents.len() <= i {
            self.agents.resize_with(i + 1, || None);
        }
        self.agents[i] = Some(AgentBook {
            total: total.clone(),
            available: total.clone(),
            allocated: SmallVec::new(),
        });
        let q = self.names.quantities(total);
        self.total.add(&q);
        self.total_epoch += 1;
        for role in total.reserved_roles().map(SmolStr::new).collect::<Vec<_>>() {
            let rq = self.names.quantities(&total.reserved(&role));
            self.reservations.add(&rq);
            self.for_role_and_ancestors(&role, |b| b.reservations.add(&rq));
        }
        for (framework, r) in used {
            let _ = self.book(*framework, agent, r);
        }
        self.refresh_free(agent);
    }

    /// Removes an agent and returns the allocations it carried.
    pub fn remove_agent(&mut self, agent: AgentId) -> Vec<(FrameworkId, Resources)> {
        let Some(book) = self.agents.get_mut(agent.index()).and_then(Option::take) else {
            return Vec::new();
        };
        let allocated: Vec<(FrameworkId, Resources)> = book.allocated.into_iter().collect();
        for (framework, r) in &allocated {
            self.unbook_role(*framework, r);
        }
        let q = self.names.quantities(&book.total);
        self.total.sub(&q);
        self.total_epoch += 1;
        for role in book.total.reserved_roles().map(SmolStr::new).collect::<Vec<_>>() {
            let rq = self.names.quantities(&book.total.reserved(&role));
            self.reservations.sub(&rq);
            self.for_role_and_ancestors(&role, |b| b.reservations.sub(&rq));
        }
        self.filters.clear_agent(agent);
        self.summaries[agent.index()] = Summary::default();
        self.free.remove(agent);
        self.settled.remove(agent);
        allocated
    }

    /// Books `r` on `agent` as offered-or-allocated to `framework`; returns its scalar
    /// quantities (all of them), which callers need too.
    pub fn book(&mut self, framework: FrameworkId, agent: AgentId, r: &Resources) -> Quantities {
        let book = self.agents[agent.index()].as_mut().expect("a known agent");
        if book.available == *r {
            book.available = Resources::new(); // the whole agent is offered
        } else {
            book.available -= r;
        }
        self.book_taken(framework, agent, r)
    }

    /// Books `r`, already taken out of `agent`'s available resources.
    pub fn book_taken(&mut self, framework: FrameworkId, agent: AgentId, r: &Resources) -> Quantities {
        let role = self.framework(framework).map(|f| f.role_id);
        let book = self.agents[agent.index()].as_mut().expect("a known agent");
        match book.allocated.iter_mut().find(|(f, _)| *f == framework) {
            Some((_, held)) => *held += r,
            None => book.allocated.push((framework, r.clone())),
        }
        let (all, unreserved) = self.names.split_quantities(r);
        self.ooa_unreserved.add(&unreserved);
        if let Some(role) = role {
            self.roles
                .for_self_and_ancestors(role, |b| b.ooa_unreserved.add(&unreserved));
        }
        self.refresh_free(agent);
        all
    }

    /// Everything `agent` has available, taken out: book it at once with
    /// [`Ledger::book_taken`].
    pub fn take_available(&mut self, agent: AgentId) -> Resources {
        let book = self.agents[agent.index()].as_mut().expect("a known agent");
        std::mem::take(&mut book.available)
    }

    /// Takes back `r` from `framework` on `agent` (clamped to what it held there); returns
    /// what was actually taken back.
    pub fn unbook(&mut self, framework: FrameworkId, agent: AgentId, r: &Resources) -> Resources {
        let Some(book) = self.agents.get_mut(agent.index()).and_then(|a| a.as_mut()) else {
            return Resources::new();
        };
        let Some(pos) = book.allocated.iter().position(|(f, _)| *f == framework) else {
            return Resources::new();
        };
        let held = &mut book.allocated[pos].1;
        let back = r.clone() - &(r.clone() - &*held); // r ∩ held
        *held -= &back;
        if held.is_empty() {
            book.allocated.swap_remove(pos);
        }
        book.available += &back;
        self.unbook_role(framework, &back);
        self.refresh_free(agent);
        back
    }

    fn unbook_role(&mut self, framework: FrameworkId, r: &Resources) {
        let role = self.framework(framework).map(|f| f.role_id);
        let uq = self.names.unreserved_quantities(r);
        self.ooa_unreserved.sub(&uq);
        if let Some(role) = role {
            self.roles
                .for_self_and_ancestors(role, |b| b.ooa_unreserved.sub(&uq));
        }
    }

    fn refresh_free(&mut self, agent: AgentId) {
        self.settled.remove(agent);
        let summary = self.agent(agent).map_or(Summary::default(), |a| {
            let plain = a.available.plain_totals();
            Summary {
                totals: plain.unwrap_or_else(|| a.available.totals()),
                nonempty: !a.available.is_empty(),
                reserved: a.available.reserved_roles().next().is_some(),
                plain: plain.is_some(),
            }
        });
        let i = agent.index();
        if self.summaries.len() <= i {
            self.summaries.resize(i + 1, Summary::default());
        }
        self.summaries[i] = summary;
        if summary.nonempty {
            self.free.insert(agent);
        } else {
            self.free.remove(agent);
        }
    }

    /// Installs a decline filter, as [`Filters::add`].
    pub fn filter(
        &mut self,
        framework: FrameworkId,
        agent: AgentId,
        refused: Resources,
        now: Instant,
        refuse: Duration,
    ) {
        let interval = self.config.allocation_interval;
        self.filters.add(framework, agent, refused, now, refuse, interval);
        // A filter of exactly one interval still blocks at its expiry instant.
        let d = refuse.max(interval);
        let inactive_at = now
            + d
            + if d == interval {
                Duration::from_nanos(1)
            } else {
                Duration::ZERO
            };
        self.expiries.push(std::cmp::Reverse((inactive_at, agent)));
    }

    /// Whether `r` is worth offering to `framework`: its own offer filters if it set any,
    /// else the master's `min_allocatable`.
    pub fn allocatable(&self, framework: FrameworkId, r: &Resources) -> bool {
        let own = self.framework(framework).and_then(|f| f.min_allocatable.as_ref());
        own.unwrap_or(&self.config.min_allocatable).is_allocatable(r)
    }

    /// Replaces a framework's offer filters (`None`: the master's `min_allocatable`). Agents
    /// settled under the old filters are looked at again unless the new ones are stricter.
    pub fn set_offer_filters(&mut self, framework: FrameworkId, filters: Option<MinAllocatable>) {
        let global = self.config.min_allocatable.clone();
        let Some(f) = self.framework_mut(framework) else {
            return;
        };
        let stricter = filters
            .as_ref()
            .unwrap_or(&global)
            .is_stricter_than(f.min_allocatable.as_ref().unwrap_or(&global));
        let old = std::mem::replace(&mut f.min_allocatable, filters);
        if !stricter {
            self.widen(framework, Widened::Filters(old.unwrap_or(global)));
        }
    }

    /// `framework` alone may be offered more than before: settled agents it could now take
    /// are looked at again in the next full cycle.
    pub fn widen(&mut self, framework: FrameworkId, how: Widened) {
        match self.widened.iter_mut().find(|(f, _)| *f == framework) {
            // Agents were settled under the first filters: keep those.
            Some((_, Widened::Filters(_))) if matches!(how, Widened::Filters(_)) => {}
            Some((_, w)) => *w = Widened::Everything,
            None => self.widened.push((framework, how)),
        }
    }

    /// Whether a cycle might offer `framework` something on settled `agent` now that it
    /// was widened: it wants offers, and the agent's available resources are allocatable to
    /// it and not blocked by its decline filters (an agent with reservations is assumed to
    /// have something). An agent its old offer filters let through was settled for other
    /// reasons, which stand.
    fn might_offer(&mut self, framework: FrameworkId, how: &Widened, agent: AgentId, now: Instant) -> bool {
        let Some(f) = self.frameworks[framework.index()].as_ref() else {
            return false;
        };
        if !f.wants_offers() {
            return false;
        }
        let s = self.summaries.get(agent.index()).copied().unwrap_or_default();
        if !s.nonempty {
            return false;
        }
        if s.reserved {
            return true;
        }
        // Looked up only when the summary cannot decide (the book is likely not in cache).
        let agents = &self.agents;
        let available = || {
            &agents[agent.index()]
                .as_ref()
                .expect("a non-empty agent is known")
                .available
        };
        let allows = |m: &MinAllocatable| {
            m.allows(&s.totals)
                .unwrap_or_else(|| m.is_allocatable(available()))
        };
        let filters = f.min_allocatable.as_ref().unwrap_or(&self.config.min_allocatable);
        if !allows(filters) {
            return false;
        }
        if let Widened::Filters(old) = how
            && allows(old)
        {
            return false;
        }
        !self
            .filters
            .blocks_plain(framework, agent, available(), s.plain.then_some(&s.totals), now)
    }

    /// Every agent may have something to offer again (frameworks or roles changed).
    pub fn unsettle_all(&mut self) {
        self.settled = AgentSet::default();
    }

    /// Unsettles the agents whose decline filters have stopped blocking by `now`.
    pub fn expire_filters(&mut self, now: Instant) {
        while let Some(&std::cmp::Reverse((at, agent))) = self.expiries.peek() {
            if at > now {
                break;
            }
            self.expiries.pop();
            self.settled.remove(agent);
        }
    }

    /// Free agents that are not settled, in id order, after unsettling those a widened
    /// framework might now be offered.
    pub fn unsettled(&mut self, now: Instant) -> Vec<AgentId> {
        let widened = std::mem::take(&mut self.widened);
        if !widened.is_empty() {
            let settled: Vec<AgentId> = self.settled.iter().collect();
            for agent in settled {
                if widened
                    .iter()
                    .any(|(f, how)| self.might_offer(*f, how, agent, now))
                {
                    self.settled.remove(agent);
                }
            }
        }
        self.free.difference(&self.settled).collect()
    }

    pub fn set_quota(&mut self, role: &str, quota: Quota) {
        self.unsettle_all();
        let guarantee = self.names.quantities(&quota.guarantee);
        let limit = quota.limit.as_ref().map(|l| {
            let mut caps = Caps::default();
            for (name, v) in &l.0 {
                let i = self.names.index(name);
                if caps.0.len() <= i {
                    caps.0.resize(i + 1, None);
                }
                caps.0[i] = Some(v.millis());
            }
            caps
        });
        let book = self.role_mut(role);
        book.guarantee = guarantee;
        book.limit = limit;
        book.quota = quota;
    }

    pub fn set_weight(&mut self, role: &str, weight: f64) {
        self.unsettle_all();
        self.role_mut(role).weight = weight;
    }

    /// Unallocated unreserved scalars cluster-wide: what headroom can come from.
    pub fn available_headroom(&self) -> Quantities {
        let mut a = self.total.clone();
        a.sub(&self.reservations);
        a.sub(&self.ooa_unreserved);
        a
    }

    /// Σ over top-level roles of what their guarantees still lack.
    pub fn required_headroom(&self) -> Quantities {
        let mut required = Quantities::default();
        for (name, book) in self.roles.iter() {
            if !name.contains('/') && !book.guarantee.is_zero() {
                required.add(&book.guarantee.minus(&book.consumed()));
            }
        }
        required
    }

    /// Shrinks the unreserved scalars `extra` to quantities `room` (absent: nothing).
    pub fn shrink(&mut self, extra: &Resources, room: &Quantities) -> Resources {
        self.shrink_by(extra, |i| room.get(i))
    }

    /// Shrinks the unreserved scalars `extra` under `caps` (absent: unlimited).
    pub fn shrink_to_caps(&mut self, extra: &Resources, caps: &Caps) -> Resources {
        self.shrink_by(extra, |i| caps.0.get(i).copied().flatten().unwrap_or(u64::MAX))
    }

    fn shrink_by(&mut self, extra: &Resources, fits: impl Fn(usize) -> u64) -> Resources {
        let mut out = Resources::new();
        for (name, role, amount) in extra.scalars() {
            debug_assert!(role.is_none(), "only unreserved scalars are shrunk");
            let i = self.names.index(name);
            let v = amount.millis().min(fits(i));
            if v > 0 {
                out.add_scalar(name, None, crate::resources::Scalar::from_millis(v));
            }
        }
        out
    }

    /// Records a broken limit if an offer of `offered` to `role` takes the consumption the
    /// allocator reckoned with (`consumed`) past the role's limit in some unreserved resource
    /// the offer adds. A role's limit binds only its own offers, never its sub-roles'.
    pub fn check_offer(&mut self, role: &str, consumed: &Quantities, offered: &Resources) {
        if self.violation.is_some() {
            return;
        }
        let Some(caps) = self.roles.get(role).and_then(|b| b.limit.clone()) else {
            return;
        };
        let added = self.names.unreserved_quantities(offered);
        for (i, &a) in added.0.iter().enumerate() {
            if let Some(cap) = caps.get(i)
                && a > 0
                && consumed.get(i) + a > cap
            {
                self.violation = Some(format!(
                    "an offer of {offered} takes role {role} to {} of {}, beyond its limit {}",
                    milli(consumed.get(i) + a),
                    self.names.name(i),
                    milli(cap)
                ));
                return;
            }
        }
    }

    /// Unreserved scalars of `avail` within `role`'s own limit (reservations and
    /// non-scalars whole), consumption as booked now.
    pub fn within_limit(&mut self, role: &str, avail: &Resources) -> Resources {
        let Some(limit) = self.roles.get(role).and_then(|b| b.limit.clone()) else {
            return avail.clone();
        };
        let consumed = self.roles.get(role).map(RoleBook::consumed).unwrap_or_default();
        let mut fixed = Resources::new();
        let mut unreserved = Resources::new();
        for (name, r, amount) in avail.scalars() {
            match r {
                None => unreserved.add_scalar(name, None, amount),
                Some(r) => fixed.add_scalar(name, Some(r), amount),
            }
        }
        for (name, r, ranges) in avail.ranges() {
            for &(first, last) in ranges {
                fixed.add_range(name, r, first, last);
            }
        }
        fixed + &self.shrink_to_caps(&unreserved, &limit.room(&consumed))
    }

    /// What `agent` has that `role` may use.
    pub fn avail_for(&self, agent: AgentId, role: &str) -> Resources {
        match self.agent(agent) {
            Some(a) if a.available.reserved_roles().next().is_none() => a.available.clone(),
            Some(a) => a.available.allocatable_to(role),
            None => Resources::new(),
        }
    }

    /// The common part of every allocator's `recover`.
    pub fn recover(
        &mut self,
        framework: FrameworkId,
        agent: AgentId,
        r: &Resources,
        refuse: Option<Duration>,
        now: Instant,
    ) -> Resources {
        let back = self.unbook(framework, agent, r);
        if let Some(refuse) = refuse
            && !refuse.is_zero()
            && self.agent(agent).is_some()
        {
            self.filter(framework, agent, r.clone(), now, refuse);
        }
        back
    }

    /// The agents among `candidates` with something available, in ascending id order.
    pub fn candidates(&self, candidates: &Candidates) -> Vec<AgentId> {
        match candidates {
            Candidates::All => self.free.iter().collect(),
            Candidates::Some(list) => list.iter().copied().filter(|a| self.free.contains(*a)).collect(),
        }
    }

    /// Whether `agent` still has anything to offer.
    pub fn has_available(&self, agent: AgentId) -> bool {
        self.agent(agent).is_some_and(|a| !a.available.is_empty())
    }

    /// Offers `framework` all that its role may use on `agent` (its reservations and the
    /// unreserved rest, cut to the role's quota limit), and books it, unless that is empty,
    /// below min-allocatable or blocked by a decline filter.
    pub fn offer(&mut self, framework: FrameworkId, agent: AgentId, now: Instant) -> Option<Allocation> {
        let role = self.framework(framework)?.role.clone();
        let avail = self.avail_for(agent, &role);
        let offer = self.within_limit(&role, &avail);
        if !self.eligible(framework, agent, &offer, now) {
            return None;
        }
        let consumed = self.roles.get(&role).map(|b| b.consumed()).unwrap_or_default();
        self.check_offer(&role, &consumed, &offer);
        let _ = self.book(framework, agent, &offer);
        Some(Allocation {
            framework,
            agent,
            resources: offer,
        })
    }

    /// Frameworks that want offers, in id order.
    pub fn wanting(&self) -> Vec<FrameworkId> {
        self.frameworks
            .iter()
            .enumerate()
            .filter(|(_, f)| f.as_ref().is_some_and(|f| f.wants_offers()))
            .map(|(i, _)| FrameworkId(i as u32))
            .collect()
    }

    /// Whether `offer` may go to `framework` on `agent` now: not empty, allocatable, and not
    /// blocked by a decline filter.
    pub fn eligible(
        &mut self,
        framework: FrameworkId,
        agent: AgentId,
        offer: &Resources,
        now: Instant,
    ) -> bool {
        !offer.is_empty()
            && self.allocatable(framework, offer)
            && !self.filters.blocks(framework, agent, offer, now)
    }

    /// Forgets a framework and gives back all it held.
    pub fn remove_framework(&mut self, framework: FrameworkId) {
        self.unsettle_all();
        for agent in 0..self.agents.len() as u32 {
            let agent = AgentId(agent);
            let held = self.agent(agent).and_then(|a| {
                a.allocated
                    .iter()
                    .find(|(f, _)| *f == framework)
                    .map(|(_, r)| r.clone())
            });
            if let Some(r) = held {
                self.unbook(framework, agent, &r);
            }
        }
        self.filters.clear_framework(framework);
        if let Some(f) = self.frameworks.get_mut(framework.index()) {
            *f = None;
        }
    }

    /// No offer has taken a role past its limit.
    pub fn check_limits(&self) -> Result<(), String> {
        match &self.violation {
            Some(v) => Err(v.clone()),
            None => Ok(()),
        }
    }
}

fn milli(v: u64) -> String {
    crate::resources::Scalar::from_millis(v).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(t: &str) -> Resources {
        Resources::parse(t).unwrap()
    }

    #[test]
    fn booking_moves_resources_between_available_and_allocated() {
        let mut l = Ledger::new(AllocatorConfig::default());
        l.add_framework(FrameworkId(0), "f", "a/b");
        l.add_agent(AgentId(0), &r("cpus:4;mem:4096;cpus(a):2"), &[]);
        let _ = l.book(FrameworkId(0), AgentId(0), &r("cpus:1;mem:1024;cpus(a):2"));
        let a = l.agent(AgentId(0)).unwrap();
        assert_eq!(a.available, r("cpus:3;mem:3072"));
        assert_eq!(
            l.roles.get("a").unwrap().ooa_unreserved,
            l.roles.get("a/b").unwrap().ooa_unreserved
        );
        assert_eq!(
            l.roles.get("a").unwrap().consumed().get(0),
            3000,
            "1 unreserved cpu + 2 reserved"
        );
        let back = l.unbook(FrameworkId(0), AgentId(0), &r("cpus:5"));
        assert_eq!(back, r("cpus:1"), "only what it held comes back");
        assert_eq!(l.agent(AgentId(0)).unwrap().available, r("cpus:4;mem:3072"));
    }

    #[test]
    fn headroom_is_what_guarantees_still_lack() {
        let mut l = Ledger::new(AllocatorConfig::default());
        l.add_agent(AgentId(0), &r("cpus:4;mem:4096"), &[]);
        l.set_quota(
            "q",
            Quota {
                guarantee: r("cpus:2;mem:1024"),
                limit: None,
            },
        );
        assert_eq!(l.required_headroom().get(0), 2000);
        l.add_framework(FrameworkId(0), "f", "q");
        let _ = l.book(FrameworkId(0), AgentId(0), &r("cpus:1"));
        assert_eq!(l.required_headroom().get(0), 1000);
        assert_eq!(l.available_headroom().get(0), 3000);
    }
}
