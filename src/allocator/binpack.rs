//! `binpack`: the fullest agents first, for clusters where packing beats fairness.
//!
//! Each cycle, agents with something available are taken fullest first (by the fraction of
//! their dominant resource already handed out; ties by id), and each goes to the next
//! framework in a round-robin that turns once per cycle. Every framework's `Offers` message
//! therefore lists agents fullest first, so a framework that packs its tasks into offers in
//! order (as the batch framework does) fills partly used machines before empty ones, and
//! empty machines stay empty for large tasks or for being switched off.
//!
//! Like every allocator here it honours decline filters, suppression, min-allocatable,
//! reservations (offered only to their role) and quota limits; it does not hold headroom for
//! quota guarantees.

use super::ledger::Ledger;
use super::{Allocation, Allocator, AllocatorConfig, Candidates, Quota};
use crate::ids::{AgentId, FrameworkId};
use crate::resources::Resources;
use crate::rng::Rng;
use crate::time::{Duration, Instant};

pub struct Binpack {
    ledger: Ledger,
    /// Where the round-robin over frameworks starts next cycle.
    turn: usize,
}

impl Binpack {
    pub fn new(config: AllocatorConfig) -> Binpack {
        Binpack {
            ledger: Ledger::new(config),
            turn: 0,
        }
    }

    /// The fraction of the agent's dominant resource handed out, as (used, total).
    fn fullness(&mut self, agent: AgentId) -> (u64, u64) {
        let book = self.ledger.agent(agent).expect("a candidate");
        let (total, available) = (book.total.clone(), book.available.clone());
        let t = self.ledger.names.quantities(&total);
        let a = self.ledger.names.quantities(&available);
        let mut best = (0u64, 1u64);
        for (i, &tot) in t.0.iter().enumerate() {
            if tot == 0 {
                continue;
            }
            let used = tot - a.get(i).min(tot);
            if u128::from(used) * u128::from(best.1) > u128::from(best.0) * u128::from(tot) {
                best = (used, tot);
            }
        }
        best
    }
}

impl Allocator for Binpack {
    fn name(&self) -> &'static str {
        "binpack"
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

    fn allocate(&mut self, now: Instant, candidates: &Candidates, _rng: &mut Rng, out: &mut Vec<Allocation>) {
        let frameworks = self.ledger.wanting();
        if frameworks.is_empty() {
            return;
        }
        let agents: Vec<AgentId> = match candidates {
            Candidates::All => self.ledger.free.iter().collect(),
            Candidates::Some(list) => list
                .iter()
                .copied()
                .filter(|a| self.ledger.free.contains(*a))
                .collect(),
        };
        let mut ranked: Vec<(AgentId, (u64, u64))> =
            agents.into_iter().map(|a| (a, self.fullness(a))).collect();
        ranked.sort_by(|(a, (ua, ta)), (b, (ub, tb))| {
            // Fuller first: ua/ta > ub/tb.
            (u128::from(*ub) * u128::from(*ta))
                .cmp(&(u128::from(*ua) * u128::from(*tb)))
                .then(a.cmp(b))
        });
        let n = frameworks.len();
        let mut next = self.turn % n;
        self.turn = self.turn.wrapping_add(1);
        for (agent, _) in ranked {
            for k in 0..n {
                if self.ledger.agent(agent).is_none_or(|a| a.available.is_empty()) {
                    break;
                }
                let framework = frameworks[(next + k) % n];
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
                next = (next + k + 1) % n;
                break;
            }
        }
    }

    fn check_invariants(&self) -> Result<(), String> {
        self.ledger.check_limits()
    }
}
