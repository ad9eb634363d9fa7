//! `random`: a seeded uniform choice, the baseline researchers compare against.
//!
//! Each cycle, agents with something available come in a random order, and each goes to a
//! framework drawn uniformly among those that want offers (trying the others in a random
//! order if the first cannot take it: filtered, or below min-allocatable). It honours decline
//! filters, suppression, reservations and quota limits, and nothing else.

use rand::RngExt;

use super::Allocation;
use super::ledger::Ledger;
use super::policy::Policy;
use crate::ids::{AgentId, FrameworkId};
use crate::rng::Rng;
use crate::time::Instant;

#[derive(Default)]
pub struct Random;

fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        let j = rng.random_range(0..=i);
        items.swap(i, j);
    }
}

impl Policy for Random {
    const NAME: &'static str = "random";

    fn allocate(
        &mut self,
        books: &mut Ledger,
        now: Instant,
        mut agents: Vec<AgentId>,
        mut frameworks: Vec<FrameworkId>,
        rng: &mut Rng,
        out: &mut Vec<Allocation>,
    ) {
        shuffle(&mut agents, rng);
        for agent in agents {
            shuffle(&mut frameworks, rng);
            for &framework in &frameworks {
                if !books.has_available(agent) {
                    break;
                }
                out.extend(books.offer(framework, agent, now));
            }
        }
    }
}
