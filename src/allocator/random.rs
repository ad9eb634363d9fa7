//! `random`: a seeded uniform choice, the baseline researchers compare against.
//!
//! Each cycle, agents with something available come in a random order, and each goes to a
//! framework drawn uniformly among those that want offers (trying the others in a random
//! order if the first cannot take it: filtered, or below min-allocatable). It honours decline
//! filters, suppression, reservations and quota limits, and nothing else.

use rand::RngExt;

use super::ledger::Ledger;
use super::{Allocation, Allocator, AllocatorConfig, Candidates, Quota};
use crate::ids::{AgentId, FrameworkId};
use crate::resources::Resources;
use crate::rng::Rng;
use crate::time::{Duration, Instant};

pub struct RandomAllocator {
    ledger: Ledger,
}

impl RandomAllocator {
    pub fn new(config: AllocatorConfig) -> RandomAllocator {
        RandomAllocator {
            ledger: Ledger::new(config),
        }
    }
}

fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        let j = rng.random_range(0..=i);
        items.swap(i, j);
    }
}

impl Allocator for RandomAllocator {
    fn name(&self) -> &'static str {
        "random"
    }

    fn add_agent(&mut self, agent: AgentId, total: &Resources, used: &[(FrameworkId, Resources)]) {
        self.ledger.add_agent(agent, total, used);
    }

    fn remove_agent(&mut self, agent: AgentId) {
        self.ledger.remove_agent(agent);
    }

    fn add_framework(&mut self, framework: FrameworkId, name: &str, role: &str) {
        self.ledger.add_framework(framework, name, role);
    }

    fn remove_framework(&mut self, framework: FrameworkId) {
        self.ledger.remove_framework(framework);
    }

    fn set_framework_active(&mut self, framework: FrameworkId, active: bool) {
        if let Some(f) = self.ledger.framework_mut(framework) {
            f.active = active;
            if !active {
                self.ledger.filters.clear_framework(framework);
            }
        }
    }

    fn suppress(&mut self, framework: FrameworkId) {
        if let Some(f) = self.ledger.framework_mut(framework) {
            f.suppressed = true;
        }
    }

    fn revive(&mut self, framework: FrameworkId) {
        if let Some(f) = self.ledger.framework_mut(framework) {
            f.suppressed = false;
            self.ledger.filters.clear_framework(framework);
        }
    }

    fn set_weight(&mut self, role: &str, weight: f64) {
        self.ledger.set_weight(role, weight);
    }

    fn set_quota(&mut self, role: &str, quota: Quota) {
        self.ledger.set_quota(role, quota);
    }

    fn recover(
        &mut self,
        framework: FrameworkId,
        agent: AgentId,
        r: &Resources,
        refuse: Option<Duration>,
        now: Instant,
    ) {
        self.ledger.recover(framework, agent, r, refuse, now);
    }

    fn allocate(&mut self, now: Instant, candidates: &Candidates, rng: &mut Rng, out: &mut Vec<Allocation>) {
        let mut frameworks = self.ledger.wanting();
        if frameworks.is_empty() {
            return;
        }
        let mut agents: Vec<AgentId> = match candidates {
            Candidates::All => self.ledger.free.iter().collect(),
            Candidates::Some(list) => list
                .iter()
                .copied()
                .filter(|a| self.ledger.free.contains(*a))
                .collect(),
        };
        shuffle(&mut agents, rng);
        for agent in agents {
            shuffle(&mut frameworks, rng);
            for &framework in &frameworks {
                if self.ledger.agent(agent).is_none_or(|a| a.available.is_empty()) {
                    break;
                }
                let role = self.ledger.framework(framework).expect("wanting").role.clone();
                let avail = self.ledger.avail_for(agent, &role);
                let offer = self.ledger.within_limit(&role, &avail);
                if !self.ledger.eligible(framework, agent, &offer, now) {
                    continue;
                }
                let consumed = self
                    .ledger
                    .roles
                    .get(&role)
                    .map(|b| b.consumed())
                    .unwrap_or_default();
                self.ledger.check_offer(&role, &consumed, &offer);
                let _ = self.ledger.book(framework, agent, &offer);
                out.push(Allocation {
                    framework,
                    agent,
                    resources: offer,
                });
            }
        }
    }

    fn check_invariants(&self) -> Result<(), String> {
        self.ledger.check_limits()
    }
}
