//! The short way to a new allocator: write only the decision.
//!
//! A [`Policy`] is handed the shared books ([`Ledger`]) and the agents worth looking at, and
//! decides, agent by agent, which framework is offered what. [`Booked`] turns it into a full
//! [`Allocator`]: it keeps the books on every other call (agents and frameworks coming and
//! going, resources coming back, decline filters, suppression, weights, quotas), so decline
//! filters, min-allocatable, reservations and quota limits hold for every policy alike.
//! `binpack` and `random` are written this way; docs/allocators.md walks through a new one.

use super::ledger::Ledger;
use super::{Allocation, Allocator, AllocatorConfig, Candidates, Quota};
use crate::ids::{AgentId, FrameworkId};
use crate::resources::{MinAllocatable, Resources};
use crate::rng::Rng;
use crate::time::{Duration, Instant};

/// An allocation policy: one cycle's decisions, given the books.
pub trait Policy {
    /// The name scenarios use (`master: { allocator: <NAME> }`).
    const NAME: &'static str;

    /// One allocation cycle. `agents` are the candidates with something available, in
    /// ascending id order; `frameworks` are those that want offers, in id order (both are
    /// the policy's to reorder). Make each offer with [`Ledger::offer`] and push what it
    /// returns onto `out`.
    #[allow(clippy::too_many_arguments)]
    fn allocate(
        &mut self,
        books: &mut Ledger,
        now: Instant,
        agents: Vec<AgentId>,
        frameworks: Vec<FrameworkId>,
        rng: &mut Rng,
        out: &mut Vec<Allocation>,
    );
}

/// A [`Policy`] with the shared books kept for it: a complete [`Allocator`].
pub struct Booked<P> {
    books: Ledger,
    policy: P,
}

impl<P: Policy> Booked<P> {
    pub fn new(config: AllocatorConfig, policy: P) -> Booked<P> {
        Booked {
            books: Ledger::new(config),
            policy,
        }
    }

    pub fn books(&self) -> &Ledger {
        &self.books
    }
}

impl<P: Policy> Allocator for Booked<P> {
    fn name(&self) -> &'static str {
        P::NAME
    }

    fn add_agent(&mut self, agent: AgentId, total: &Resources, used: &[(FrameworkId, Resources)]) {
        self.books.add_agent(agent, total, used);
    }

    fn remove_agent(&mut self, agent: AgentId) {
        self.books.remove_agent(agent);
    }

    fn add_framework(&mut self, framework: FrameworkId, name: &str, role: &str) {
        self.books.add_framework(framework, name, role);
    }

    fn remove_framework(&mut self, framework: FrameworkId) {
        self.books.remove_framework(framework);
    }

    fn set_framework_active(&mut self, framework: FrameworkId, active: bool) {
        if let Some(f) = self.books.framework_mut(framework) {
            f.active = active;
            if !active {
                self.books.filters.clear_framework(framework);
            }
        }
    }

    fn suppress(&mut self, framework: FrameworkId) {
        if let Some(f) = self.books.framework_mut(framework) {
            f.suppressed = true;
        }
    }

    fn revive(&mut self, framework: FrameworkId) {
        if let Some(f) = self.books.framework_mut(framework) {
            f.suppressed = false;
            self.books.filters.clear_framework(framework);
        }
    }

    fn set_offer_filters(&mut self, framework: FrameworkId, filters: Option<MinAllocatable>) {
        self.books.set_offer_filters(framework, filters);
    }

    fn set_weight(&mut self, role: &str, weight: f64) {
        self.books.set_weight(role, weight);
    }

    fn set_quota(&mut self, role: &str, quota: Quota) {
        self.books.set_quota(role, quota);
    }

    fn recover(
        &mut self,
        framework: FrameworkId,
        agent: AgentId,
        resources: &Resources,
        refuse: Option<Duration>,
        now: Instant,
    ) {
        self.books.recover(framework, agent, resources, refuse, now);
    }

    fn allocate(&mut self, now: Instant, candidates: &Candidates, rng: &mut Rng, out: &mut Vec<Allocation>) {
        let frameworks = self.books.wanting();
        if frameworks.is_empty() {
            return;
        }
        let agents = self.books.candidates(candidates);
        if agents.is_empty() {
            return;
        }
        self.policy
            .allocate(&mut self.books, now, agents, frameworks, rng, out);
    }

    fn check_invariants(&self) -> Result<(), String> {
        self.books.check_limits()
    }
}
