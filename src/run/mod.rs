//! One simulation run: scenario → world → event loop → collected metrics → summary.

pub mod world;

use std::cell::RefCell;
use std::rc::Rc;

use crate::metrics::{Collector, Shared};
use crate::report::summary::{AgentsSummary, NetworkSummary, Summary};
use crate::scenario::Scenario;
use crate::sim::{Stop, Violation};
use crate::time::Instant;
use world::World;

/// Events handled between progress reports.
const PROGRESS_EVERY: u64 = 1 << 16;

/// What a finished run produced.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub summary: Summary,
}

/// Runs `scenario` to its duration (or until nothing is left to do). `progress` hears the
/// simulated time every few tens of thousands of events.
pub fn run(scenario: &Scenario, mut progress: impl FnMut(Instant)) -> Result<Outcome, Violation> {
    let collector = Rc::new(RefCell::new(Collector::default()));
    let mut world = World::build(scenario);
    world.sim.set_observer(Box::new(Shared(Rc::clone(&collector))));
    let end = Instant::ZERO + scenario.duration;
    loop {
        match world.sim.run(end, PROGRESS_EVERY) {
            Stop::Budget => progress(world.sim.now()),
            Stop::External(id) => world.apply(id),
            Stop::TimeLimit | Stop::Idle => break,
            Stop::Violation(v) => return Err(v),
        }
    }
    progress(world.sim.now());
    drop(world.sim.take_observer());
    let collected = Rc::try_unwrap(collector)
        .map(RefCell::into_inner)
        .unwrap_or_else(|rc| rc.borrow().clone());
    let net = world.sim.network_stats();
    let summary = Summary {
        schema: Summary::SCHEMA,
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        allocator: scenario.master.allocator.name(),
        digest: world.sim.digest().to_string(),
        simulated_s: world.sim.now().as_secs_f64(),
        events: world.sim.events(),
        agents: AgentsSummary {
            registered: collected.agents_added,
            unreachable: collected.agents_unreachable,
        },
        network: NetworkSummary {
            messages_sent: net.sent,
            messages_delivered: collected.messages_delivered,
            dropped: net.dropped,
            duplicated: net.duplicated,
        },
    };
    Ok(Outcome { summary })
}
