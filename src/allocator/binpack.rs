//! `binpack`: the fullest agents first, for clusters where packing beats fairness.
//!
//! Each cycle, agents with something available are taken fullest first (by the fraction of
//! their dominant resource already handed out; ties by id), and each goes to the next
//! framework in a round-robin that turns once per cycle. Every framework's `Offers` message
//! therefore lists agents fullest first, so a framework that packs its tasks into offers in
//! order (as the batch framework does) fills partly used machines before empty ones, and
//! empty machines stay empty for large tasks or for being switched off.
//!
//! Like every [`Policy`] it honours decline filters, suppression, min-allocatable,
//! reservations (offered only to their role) and quota limits; it does not hold headroom for
//! quota guarantees.

use super::Allocation;
use super::ledger::Ledger;
use super::policy::Policy;
use crate::ids::{AgentId, FrameworkId};
use crate::rng::Rng;
use crate::time::Instant;

#[derive(Default)]
pub struct Binpack {
    /// Where the round-robin over frameworks starts next cycle.
    turn: usize,
}

/// The fraction of the agent's dominant resource handed out, as (used, total).
fn fullness(books: &mut Ledger, agent: AgentId) -> (u64, u64) {
    let book = books.agent(agent).expect("a candidate");
    let (total, available) = (book.total.clone(), book.available.clone());
    let t = books.names.quantities(&total);
    let a = books.names.quantities(&available);
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

impl Policy for Binpack {
    const NAME: &'static str = "binpack";

    fn allocate(
        &mut self,
        books: &mut Ledger,
        now: Instant,
        agents: Vec<AgentId>,
        frameworks: Vec<FrameworkId>,
        _rng: &mut Rng,
        out: &mut Vec<Allocation>,
    ) {
        let mut ranked: Vec<(AgentId, (u64, u64))> =
            agents.into_iter().map(|a| (a, fullness(books, a))).collect();
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
                if !books.has_available(agent) {
                    break;
                }
                if let Some(offer) = books.offer(frameworks[(next + k) % n], agent, now) {
                    out.push(offer);
                    next = (next + k + 1) % n;
                    break;
                }
            }
        }
    }
}
