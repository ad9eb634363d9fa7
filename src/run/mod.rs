//! One simulation run: scenario → world → event loop → collected metrics → summary.

pub mod world;

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use crate::metrics::{Collector, Shared, Sinks};
use crate::report::summary::{
    AgentsSummary, DelaySummary, NetworkSummary, OffersSummary, Summary, TasksSummary, UtilisationSummary,
};
use crate::scenario::Scenario;
use crate::sim::{Stop, Violation};
use crate::time::Instant;
use world::World;

/// Events handled between progress reports.
const PROGRESS_EVERY: u64 = 1 << 16;

/// What a finished run produced.
pub struct Outcome {
    pub summary: Summary,
    /// The simulation as it ended and its metrics: freed with the outcome, or not at all
    /// by [`Outcome::leak`].
    remains: Option<(World, Collector)>,
}

impl Outcome {
    /// The summary, leaving the simulation's memory unfreed: for a process about to exit,
    /// where freeing millions of objects one by one costs seconds and gains nothing.
    pub fn leak(mut self) -> Summary {
        std::mem::forget(self.remains.take());
        self.summary
    }
}

/// Why a run did not finish.
#[derive(Debug)]
pub enum Failure {
    /// A broken invariant: a bug.
    Violation(Violation),
    /// The world could not be built, or a report file could not be written.
    Setup(String),
}

/// Runs `scenario` to its duration (or until nothing is left to do), streaming `tasks.csv`
/// and `offers.csv` into `out` when given. `progress` hears the simulated time every few
/// tens of thousands of events.
pub fn run(
    scenario: &Scenario,
    out: Option<&Path>,
    mut progress: impl FnMut(Instant),
) -> Result<Outcome, Failure> {
    let sinks = match out {
        Some(dir) => {
            Some(Sinks::create(dir, true).map_err(|e| Failure::Setup(format!("{}: {e}", dir.display())))?)
        }
        None => None,
    };
    let collector = Rc::new(RefCell::new(Collector::new(sinks)));
    let mut world = World::build(scenario).map_err(Failure::Setup)?;
    world.sim.set_observer(Box::new(Shared(Rc::clone(&collector))));
    let end = Instant::ZERO + scenario.duration;
    loop {
        match world.sim.run(end, PROGRESS_EVERY) {
            Stop::Budget => progress(world.sim.now()),
            Stop::External(id) => world.apply(id).map_err(Failure::Setup)?,
            Stop::TimeLimit | Stop::Idle => break,
            Stop::Violation(v) => return Err(Failure::Violation(v)),
        }
    }
    progress(world.sim.now());
    drop(world.sim.take_observer());
    let mut c = Rc::try_unwrap(collector)
        .map(RefCell::into_inner)
        .map_err(|_| Failure::Setup("collector still shared".into()))?;
    c.finish(world.sim.now());
    if let Some(e) = c.write_error.take() {
        return Err(Failure::Setup(format!("writing the report: {e}")));
    }
    if let Some(sinks) = c.take_sinks() {
        sinks
            .commit()
            .map_err(|e| Failure::Setup(format!("writing the report: {e}")))?;
    }
    let net = world.sim.network_stats();
    let t = c.task_counts();
    let d = c.queue_delay();
    let summary = Summary {
        schema: Summary::SCHEMA,
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        allocator: scenario.master.allocator.clone(),
        digest: world.sim.digest().to_string(),
        simulated_s: world.sim.now().as_secs_f64(),
        events: world.sim.events(),
        agents: AgentsSummary {
            registered: c.agents_added,
            unreachable: c.agents_unreachable,
        },
        frameworks: world.frameworks_started(),
        tasks: TasksSummary {
            submitted: t.submitted,
            launched: t.launched,
            finished: t.finished,
            failed: t.failed,
            killed: t.killed,
            lost: t.lost,
            error: t.error,
            dropped: t.dropped,
            all_launched_s: c.all_launched_at().map(|at| at.as_secs_f64()),
        },
        offers: OffersSummary {
            made: c.offers.made,
            accepted: c.offers.accepted,
            declined: c.offers.declined,
            rescinded: c.offers.rescinded,
        },
        utilisation: c
            .utilisation()
            .into_iter()
            .map(|(name, u)| {
                (
                    name,
                    UtilisationSummary {
                        allocated_mean: u.allocated_mean,
                        used_mean: u.used_mean,
                        total_mean: u.total_mean,
                    },
                )
            })
            .collect(),
        queue_delay_s: DelaySummary {
            count: d.count,
            mean: d.mean,
            p50: d.p50,
            p95: d.p95,
            p99: d.p99,
            max: d.max,
        },
        network: NetworkSummary {
            messages_sent: net.sent,
            messages_delivered: c.messages_delivered,
            dropped: net.dropped,
            duplicated: net.duplicated,
        },
        trace: world.trace_counts(),
    };
    Ok(Outcome {
        summary,
        remains: Some((world, c)),
    })
}
