//! Mesos's hierarchical DRF allocator (the `drf` allocator), as in Mesos 1.10/1.11.
//!
//! One cycle over the candidate agents (those with something available), in two stages:
//!
//! 1. **Quota guarantees**, only while some role's guarantee is unmet. Agents in a seeded
//!    random order; for each, roles in DRF order, skipping roles without an unmet guarantee;
//!    within a role, frameworks in DRF order. A framework gets the unreserved scalars that
//!    advance its role's guarantee (plus its role's own reservations and non-scalars riding
//!    along), and beyond the guarantee only what the role's limit and other roles' headroom
//!    allow.
//! 2. **Everyone.** Agents reshuffled; for each, roles then frameworks in DRF order. The first
//!    eligible framework takes everything on the agent its role may use (reservations of its
//!    role and of its ancestors included), its unreserved scalars chopped to the role's limit
//!    and to the headroom other roles' unmet guarantees need.
//!
//! A framework is eligible if it is active and not suppressed, the offer passes the
//! min-allocatable check, and no decline filter contains it. Shares and allocation counts
//! change with every offer, so the next agent sees the new order (within one agent, the order
//! of roles not yet visited is unchanged). Stage-1 and stage-2 parts for the same
//! (framework, agent) make one offer.

mod heap;
mod sorter;

use std::collections::BTreeMap;

use smol_str::SmolStr;

use super::ledger::{Ledger, Widened};
use super::quantities::Quantities;
use super::{Allocation, Allocator, AllocatorConfig, Candidates, Quota};
use crate::ids::{AgentId, FrameworkId};
use crate::resources::{MinAllocatable, Resources};
use crate::rng::Rng;
use crate::time::{Duration, Instant};
pub use sorter::{FrameworkWalk, RoleWalk, Share, Sorter, weight_millis};

#[derive(Clone)]
pub struct Drf {
    ledger: Ledger,
    sorter: Sorter,
    /// `ledger.total_epoch` when the sorter last saw the total.
    sorter_epoch: u64,
    /// Names counted when the sorter last saw the exclusions.
    sorter_names: usize,
}

/// Offers being built in one cycle, merged per (framework, agent).
#[derive(Default)]
struct Pending {
    offers: Vec<Allocation>,
    /// Stage 1 ran, so stage 2 may add to an offer it made: merge per (framework, agent).
    merge: bool,
    index: crate::lookup::LookupMap<(FrameworkId, AgentId), usize>,
}

impl Pending {
    fn add(&mut self, framework: FrameworkId, agent: AgentId, r: Resources) {
        if !self.merge {
            self.offers.push(Allocation {
                framework,
                agent,
                resources: r,
            });
            return;
        }
        match self.index.get(&(framework, agent)).copied() {
            Some(i) => self.offers[i].resources += &r,
            None => {
                self.index.insert((framework, agent), self.offers.len());
                self.offers.push(Allocation {
                    framework,
                    agent,
                    resources: r,
                });
            }
        }
    }
}

/// The parts of what a role may use on an agent.
struct Parts {
    /// Reserved resources (any role), ranges, and other non-scalars: never chopped.
    fixed: Resources,
    /// Unreserved scalars: chopped to limits and headroom.
    unreserved: Resources,
}

fn split(avail: &Resources, own_reservations_only: Option<&str>) -> Parts {
    let mut fixed = Resources::new();
    let mut unreserved = Resources::new();
    for (name, role, amount) in avail.scalars() {
        match role {
            None => unreserved.add_scalar(name, None, amount),
            Some(r) if own_reservations_only.is_none_or(|own| own == r) => {
                fixed.add_scalar(name, Some(r), amount)
            }
            Some(_) => {}
        }
    }
    for (name, role, ranges) in avail.ranges() {
        if role.is_some() && own_reservations_only.is_some_and(|own| Some(own) != role) {
            continue;
        }
        for &(first, last) in ranges {
            fixed.add_range(name, role, first, last);
        }
    }
    Parts { fixed, unreserved }
}

/// The walks of one stage, reused agent after agent.
#[derive(Default)]
struct Walks {
    roles: RoleWalk,
    frameworks: FrameworkWalk,
    visited_roles: Vec<usize>,
    visited_frameworks: Vec<FrameworkId>,
}

/// Per-cycle quota state.
struct QuotaCycle {
    required: Quantities,
    headroom: Quantities,
    /// Consumption of top-level roles with quota, as the cycle goes.
    consumed: BTreeMap<SmolStr, Quantities>,
}

impl Drf {
    pub fn new(config: AllocatorConfig) -> Drf {
        Drf {
            ledger: Ledger::new(config),
            sorter: Sorter::default(),
            sorter_epoch: u64::MAX,
            sorter_names: 0,
        }
    }

    /// Books `r` on `agent` as offered to `framework`, outside any cycle: for replaying a
    /// known state (benchmarks, recovery tests).
    pub fn book_for_replay(&mut self, framework: FrameworkId, agent: AgentId, r: &Resources) {
        let q = self.ledger.book(framework, agent, r);
        self.sorter.allocated(framework, &q);
    }

    /// Brings the sorter up to date with the cluster total now rather than at the next cycle
    /// (allocation does it anyway; benchmarks call it to measure a cycle in steady state).
    pub fn prepare(&mut self) {
        self.refresh_sorter();
    }

    /// Gives the sorter the current cluster total, if it changed.
    fn refresh_sorter(&mut self) {
        if self.sorter_epoch == self.ledger.total_epoch && self.sorter_names == self.ledger.names.len() {
            self.sorter.refresh();
            return;
        }
        let excluded: Vec<bool> = (0..self.ledger.names.len())
            .map(|i| {
                self.ledger
                    .config
                    .fair_sharing_excluded
                    .iter()
                    .any(|n| n == self.ledger.names.name(i))
            })
            .collect();
        self.sorter.set_total(&self.ledger.total, excluded);
        self.sorter_epoch = self.ledger.total_epoch;
        self.sorter_names = self.ledger.names.len();
    }

    /// Books an offer everywhere it counts.
    fn offer(&mut self, pending: &mut Pending, framework: FrameworkId, agent: AgentId, r: Resources) {
        let q = self.ledger.book(framework, agent, &r);
        self.sorter.allocated(framework, &q);
        pending.add(framework, agent, r);
    }

    fn eligible(&mut self, framework: FrameworkId, agent: AgentId, offer: &Resources, now: Instant) -> bool {
        self.ledger.eligible(framework, agent, offer, now)
    }

    fn avail_for(&self, agent: AgentId, role: &str) -> Resources {
        self.ledger.avail_for(agent, role)
    }

    fn stage1(&mut self, now: Instant, agents: &[AgentId], q: &mut QuotaCycle, pending: &mut Pending) {
        let mut walks = Walks::default();
        for &agent in agents {
            walks.visited_roles.clear();
            walks.visited_frameworks.clear();
            'restart: loop {
                self.sorter.restart(&mut walks.roles);
                while let Some(node) = self.sorter.next_role(&mut walks.roles) {
                    if walks.visited_roles.contains(&node) {
                        continue;
                    }
                    if self.ledger.agent(agent).is_none_or(|a| a.available.is_empty()) {
                        break 'restart;
                    }
                    if self.stage1_role(now, agent, node, q, pending, &mut walks) {
                        continue 'restart; // an offer changed the order
                    }
                    walks.visited_roles.push(node);
                }
                break;
            }
        }
    }

    /// Stage 1 for one role on one agent; true if an offer was made.
    fn stage1_role(
        &mut self,
        now: Instant,
        agent: AgentId,
        node: usize,
        q: &mut QuotaCycle,
        pending: &mut Pending,
        walks: &mut Walks,
    ) -> bool {
        let role = SmolStr::new(self.sorter.path(node));
        let Some(book) = self.ledger.roles.get(&role) else {
            return false;
        };
        if book.guarantee.is_zero() || role.contains('/') {
            return false;
        }
        let (guarantee, limit) = (book.guarantee.clone(), book.limit.clone());
        self.sorter.start_frameworks(&mut walks.frameworks, node);
        while let Some(framework) = self.sorter.next_framework(&mut walks.frameworks, node) {
            if walks.visited_frameworks.contains(&framework) {
                continue;
            }
            walks.visited_frameworks.push(framework);
            let consumed = q.consumed.get(&role).cloned().unwrap_or_default();
            let unsat = guarantee.minus(&consumed);
            if unsat.is_zero() {
                return false;
            }
            let avail = self.avail_for(agent, &role);
            if avail.is_empty() {
                return false;
            }
            if !self.ledger.allocatable(framework, &avail) {
                continue;
            }
            let parts = split(&avail, Some(&role));
            let g = self.ledger.shrink(&parts.unreserved, &unsat);
            if g.is_empty() {
                continue;
            }
            let gq = self.ledger.names.quantities(&g);
            let mut extra = parts.unreserved.clone() - &g;
            if let Some(limit) = &limit {
                let mut used = consumed.clone();
                used.add(&gq);
                extra = self.ledger.shrink_to_caps(&extra, &limit.room(&used));
            }
            if !q.required.is_zero() && !extra.is_empty() {
                let room = q.headroom.minus(&q.required);
                extra = self.ledger.shrink(&extra, &room);
            }
            let to_offer = parts.fixed + &g + &extra;
            if !self.eligible(framework, agent, &to_offer, now) {
                continue;
            }
            let eq = self.ledger.names.quantities(&extra);
            self.ledger.check_offer(&role, &consumed, &to_offer);
            self.offer(pending, framework, agent, to_offer);
            let c = q.consumed.entry(role.clone()).or_default();
            c.add(&gq);
            c.add(&eq);
            q.required.sub(&gq);
            q.headroom.sub(&gq);
            q.headroom.sub(&eq);
            return true;
        }
        false
    }

    fn stage2(&mut self, now: Instant, agents: &[AgentId], q: &mut QuotaCycle, pending: &mut Pending) {
        let quota_in_play = !q.required.is_zero() || self.ledger.roles.values().any(|b| b.limit.is_some());
        let mut walks = Walks::default();
        for &agent in agents {
            walks.visited_roles.clear();
            walks.visited_frameworks.clear();
            'restart: loop {
                self.sorter.restart(&mut walks.roles);
                while let Some(node) = self.sorter.next_role(&mut walks.roles) {
                    if walks.visited_roles.contains(&node) {
                        continue;
                    }
                    if self.ledger.agent(agent).is_none_or(|a| a.available.is_empty()) {
                        break 'restart;
                    }
                    if self.stage2_role(now, agent, node, quota_in_play, q, pending, &mut walks) {
                        continue 'restart; // an offer changed the order
                    }
                    walks.visited_roles.push(node);
                }
                break;
            }
        }
    }

    /// Stage 2 for one role on one agent; true if an offer was made.
    #[allow(clippy::too_many_arguments)]
    fn stage2_role(
        &mut self,
        now: Instant,
        agent: AgentId,
        node: usize,
        quota_in_play: bool,
        q: &mut QuotaCycle,
        pending: &mut Pending,
        walks: &mut Walks,
    ) -> bool {
        let role = SmolStr::new(self.sorter.path(node));
        self.sorter.start_frameworks(&mut walks.frameworks, node);
        while let Some(framework) = self.sorter.next_framework(&mut walks.frameworks, node) {
            // A framework is considered once per agent, as in Mesos's one pass.
            if walks.visited_frameworks.contains(&framework) {
                continue;
            }
            walks.visited_frameworks.push(framework);
            if !quota_in_play && let Some(offered) = self.offer_whole_agent(now, framework, agent, pending) {
                if offered {
                    return true;
                }
                continue;
            }
            let avail = self.avail_for(agent, &role);
            if avail.is_empty() {
                return false;
            }
            if !self.ledger.allocatable(framework, &avail) {
                continue;
            }
            let to_offer = if quota_in_play {
                self.chop(&role, &avail, q)
            } else {
                avail
            };
            if !self.eligible(framework, agent, &to_offer, now) {
                continue;
            }
            if quota_in_play {
                let consumed = self.cycle_consumed(&role, q);
                self.ledger.check_offer(&role, &consumed, &to_offer);
                let extra = split(&to_offer, None).unreserved;
                let eq = self.ledger.names.quantities(&extra);
                if self.ledger.roles.get(&role).is_some_and(|b| b.has_quota()) {
                    q.consumed.entry(role.clone()).or_default().add(&eq);
                }
                q.headroom.sub(&eq);
            }
            self.offer(pending, framework, agent, to_offer);
            return true;
        }
        false
    }

    /// Stage 2's common case: no quota in play and no reservations on the agent, so the
    /// offer is everything the agent has. Checked in place and moved, not copied. `None` if
    /// the case does not apply; otherwise whether an offer was made.
    fn offer_whole_agent(
        &mut self,
        now: Instant,
        framework: FrameworkId,
        agent: AgentId,
        pending: &mut Pending,
    ) -> Option<bool> {
        let book = self.ledger.agents[agent.index()].as_ref()?;
        if book.available.reserved_roles().next().is_some() {
            return None;
        }
        let avail = &book.available;
        if avail.is_empty()
            || !self.ledger.allocatable(framework, avail)
            || self.ledger.filters.blocks(framework, agent, avail, now)
        {
            return Some(false);
        }
        let r = self.ledger.take_available(agent);
        let q = self.ledger.book_taken(framework, agent, &r);
        self.sorter.allocated(framework, &q);
        pending.add(framework, agent, r);
        Some(true)
    }

    /// What stage 2 offers `role` out of `avail`: reservations and non-scalars whole, the
    /// unreserved scalars within the role's own limit and the headroom others need.
    fn chop(&mut self, role: &SmolStr, avail: &Resources, q: &QuotaCycle) -> Resources {
        let parts = split(avail, None);
        let mut extra = parts.unreserved;
        if let Some(limit) = self.ledger.roles.get(role).and_then(|b| b.limit.clone()) {
            let consumed = self.cycle_consumed(role, q);
            extra = self.ledger.shrink_to_caps(&extra, &limit.room(&consumed));
        }
        if !q.required.is_zero() && !extra.is_empty() {
            extra = self.ledger.shrink(&extra, &q.headroom.minus(&q.required));
        }
        parts.fixed + &extra
    }

    /// A role's consumption as this cycle reckons it: set at the start of the cycle and
    /// charged for the role's own offers since (not its sub-roles', as in Mesos).
    fn cycle_consumed(&self, role: &SmolStr, q: &QuotaCycle) -> Quantities {
        q.consumed.get(role).cloned().unwrap_or_else(|| {
            self.ledger
                .roles
                .get(role)
                .map(|b| b.consumed())
                .unwrap_or_default()
        })
    }

    fn shuffle(agents: &mut [AgentId], rng: &mut Rng) {
        use rand::RngExt;
        for i in (1..agents.len()).rev() {
            let j = rng.random_range(0..=i);
            agents.swap(i, j);
        }
    }
}

impl Allocator for Drf {
    fn name(&self) -> &'static str {
        "drf"
    }

    fn add_agent(&mut self, agent: AgentId, total: &Resources, used: &[(FrameworkId, Resources)]) {
        self.ledger.add_agent(agent, total, used);
        for (framework, r) in used {
            let q = self.ledger.names.quantities(r);
            self.sorter.allocated(*framework, &q);
        }
    }

    fn remove_agent(&mut self, agent: AgentId) {
        for (framework, r) in self.ledger.remove_agent(agent) {
            let q = self.ledger.names.quantities(&r);
            self.sorter.unallocated(framework, &q);
        }
    }

    fn add_framework(&mut self, framework: FrameworkId, name: &str, role: &str) {
        self.ledger.add_framework(framework, name, role);
        let weight = self.ledger.roles.get(role).map_or(1.0, |b| b.weight);
        self.sorter.add_framework(framework, name, role);
        self.sorter.set_weight(role, weight);
    }

    fn remove_framework(&mut self, framework: FrameworkId) {
        self.ledger.remove_framework(framework);
        self.sorter.remove_framework(framework);
    }

    fn set_framework_active(&mut self, framework: FrameworkId, active: bool) {
        let Some(f) = self.ledger.framework_mut(framework) else {
            return;
        };
        f.active = active;
        let wants = f.wants_offers();
        if active {
            self.ledger.widen(framework, Widened::Everything);
        } else {
            self.ledger.filters.clear_framework(framework);
        }
        self.sorter.set_active(framework, wants);
    }

    fn suppress(&mut self, framework: FrameworkId) {
        if let Some(f) = self.ledger.framework_mut(framework) {
            f.suppressed = true;
            self.sorter.set_active(framework, false);
        }
    }

    fn revive(&mut self, framework: FrameworkId) {
        if let Some(f) = self.ledger.framework_mut(framework) {
            f.suppressed = false;
            let wants = f.wants_offers();
            self.ledger.filters.clear_framework(framework);
            self.sorter.set_active(framework, wants);
            self.ledger.widen(framework, Widened::Everything);
        }
    }

    fn set_offer_filters(&mut self, framework: FrameworkId, filters: Option<MinAllocatable>) {
        self.ledger.set_offer_filters(framework, filters);
    }

    fn set_weight(&mut self, role: &str, weight: f64) {
        self.ledger.set_weight(role, weight);
        self.sorter.set_weight(role, weight);
    }

    fn set_quota(&mut self, role: &str, quota: Quota) {
        self.ledger.set_quota(role, quota);
    }

    fn recover(
        &mut self,
        framework: FrameworkId,
        agent: AgentId,
        resources: &Resources,
        refuse: Option<Duration>,
        now: Instant,
    ) {
        let back = self.ledger.recover(framework, agent, resources, refuse, now);
        if !back.is_empty() {
            let q = self.ledger.names.quantities(&back);
            self.sorter.unallocated(framework, &q);
        }
    }

    fn allocate(&mut self, now: Instant, candidates: &Candidates, rng: &mut Rng, out: &mut Vec<Allocation>) {
        // Nobody to offer to (no frameworks yet, or all suppressed): skip the agent shuffle.
        if !self.ledger.frameworks.iter().flatten().any(|f| f.wants_offers()) {
            return;
        }
        self.refresh_sorter();
        // Without quota, whether anything can be offered on an agent depends on that agent
        // alone (its resources and filters) and on the frameworks and roles: agents a cycle
        // found nothing for stay skipped until one of those changes. Quota headroom and
        // limits depend on the whole cluster, so with quota every cycle visits every agent.
        let quota_in_play = self
            .ledger
            .roles
            .values()
            .any(|b| b.has_quota() || b.limit.is_some());
        self.ledger.expire_filters(now);
        let mut agents: Vec<AgentId> = match candidates {
            Candidates::All if quota_in_play => self.ledger.free.iter().collect(),
            Candidates::All => self.ledger.unsettled(now),
            Candidates::Some(list) => list
                .iter()
                .copied()
                .filter(|a| self.ledger.free.contains(*a))
                .collect(),
        };
        if agents.is_empty() {
            return;
        }
        let mut q = QuotaCycle {
            required: self.ledger.required_headroom(),
            headroom: self.ledger.available_headroom(),
            consumed: self
                .ledger
                .roles
                .iter()
                .filter(|(name, b)| !name.contains('/') && b.has_quota())
                .map(|(name, b)| (name.clone(), b.consumed()))
                .collect(),
        };
        let mut pending = Pending::default();
        pending.offers.reserve(agents.len());
        if !q.required.is_zero() {
            pending.merge = true;
            Self::shuffle(&mut agents, rng);
            self.stage1(now, &agents, &mut q, &mut pending);
        }
        Self::shuffle(&mut agents, rng);
        self.stage2(now, &agents, &mut q, &mut pending);
        if !quota_in_play {
            // Stage 2 offered each agent until nobody could take more: what is left stays
            // unoffered until something changes.
            for &agent in &agents {
                if self.ledger.free.contains(agent) {
                    self.ledger.settled.insert(agent);
                }
            }
        }
        out.extend(pending.offers);
    }

    fn check_invariants(&self) -> Result<(), String> {
        self.ledger.check_limits()
    }
}

#[cfg(test)]
mod tests;
