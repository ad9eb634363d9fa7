//! One simulation run: scenario → world → event loop → collected metrics → summary.

pub mod faults;
pub mod processing;
pub mod world;

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use crate::metrics::recovery::FaultKind;
use crate::metrics::{Collector, Setup, Shared, Sinks};
use crate::report::summary::{
    AgentsSummary, FairnessSummary, FaultSummary, FrameworkShareSummary, JobsSummary, NetworkSummary,
    OffersSummary, RoleSummary, Summary, TasksSummary,
};
use crate::scenario::Scenario;
use crate::sim::{NetworkStats, Stop, Violation};
use crate::time::Instant;
use world::World;

/// Events handled between progress reports.
const PROGRESS_EVERY: u64 = 1 << 16;

/// What a finished run produced.
pub struct Outcome {
    pub summary: Summary,
    /// The simulation as it ended (none for a live run) and its metrics: freed with the
    /// outcome, or not at all by [`Outcome::leak`].
    remains: Option<(Option<World>, Collector)>,
}

impl Outcome {
    pub fn new(summary: Summary, world: Option<World>, collector: Collector) -> Outcome {
        Outcome {
            summary,
            remains: Some((world, collector)),
        }
    }

    /// What was collected, for the report files.
    pub fn collector(&self) -> &Collector {
        &self.remains.as_ref().expect("present until leaked").1
    }

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

/// The collector's configuration for `scenario`.
pub fn setup(scenario: &Scenario) -> Setup {
    use crate::scenario::schema::{FrameworkKind, OnOffer};
    Setup {
        sample_interval: scenario
            .report
            .sample_interval
            .unwrap_or_else(|| Setup::default_interval(scenario.duration)),
        duration: scenario.duration,
        weights: scenario
            .expanded_roles()
            .into_iter()
            .map(|(_, r)| (r.name, r.weight))
            .collect(),
        greedy: scenario
            .expanded_frameworks()
            .into_iter()
            .filter(|(_, f)| f.kind == FrameworkKind::Scripted && f.on_offer == Some(OnOffer::Hold))
            .map(|(_, f)| f.name)
            .collect(),
        classes: scenario
            .cluster
            .iter()
            .map(|c| (c.class.clone(), c.count))
            .collect(),
    }
}

/// Runs `scenario` to its duration (or until nothing is left to do), streaming `tasks.csv`
/// and `offers.csv` into `out` when given. `progress` hears the simulated time every few
/// tens of thousands of events.
pub fn run(
    scenario: &Scenario,
    out: Option<&Path>,
    mut progress: impl FnMut(Instant),
) -> Result<Outcome, Failure> {
    let offers = scenario.report.offers_csv.unwrap_or(true);
    let sinks = match out {
        Some(dir) => {
            Some(Sinks::create(dir, offers).map_err(|e| Failure::Setup(format!("{}: {e}", dir.display())))?)
        }
        None => None,
    };
    let collector = Rc::new(RefCell::new(Collector::new(setup(scenario), sinks)));
    let mut world = World::build(scenario).map_err(Failure::Setup)?;
    world.sim.set_keeps_records(world.restarts_planned());
    world.sim.set_observer(Box::new(Shared(Rc::clone(&collector))));
    let end = Instant::ZERO + scenario.duration;
    loop {
        match world.sim.run(end, PROGRESS_EVERY) {
            Stop::Budget => progress(world.sim.now()),
            Stop::External(id) => {
                if let Some(notice) = world.apply(id).map_err(Failure::Setup)? {
                    collector.borrow_mut().notice(world.sim.now(), notice);
                }
            }
            Stop::TimeLimit | Stop::Idle => break,
            Stop::Violation(v) => return Err(Failure::Violation(v)),
        }
    }
    progress(world.sim.now());
    drop(world.sim.take_observer());
    let mut c = Rc::try_unwrap(collector)
        .map(RefCell::into_inner)
        .map_err(|_| Failure::Setup("collector still shared".into()))?;
    close(&mut c, world.sim.now())?;
    let facts = Facts::of(&world);
    let summary = summarise(scenario, &facts, &mut c);
    Ok(Outcome::new(summary, Some(world), c))
}

/// Ends collection at `end` and commits the streamed report files.
pub fn close(c: &mut Collector, end: Instant) -> Result<(), Failure> {
    c.finish(end);
    if let Some(e) = c.write_error.take() {
        return Err(Failure::Setup(format!("writing the report: {e}")));
    }
    if let Some(sinks) = c.take_sinks() {
        sinks
            .commit()
            .map_err(|e| Failure::Setup(format!("writing the report: {e}")))?;
    }
    Ok(())
}

/// Runs `scenario` with nothing observing it: the simulation alone, for measuring what
/// collection costs. Returns the events handled, the digest, and the world as it ended
/// (for the caller to free when it suits it).
pub fn run_unobserved(scenario: &Scenario) -> Result<(u64, String, World), Failure> {
    let mut world = World::build(scenario).map_err(Failure::Setup)?;
    world.sim.set_keeps_records(world.restarts_planned());
    let end = Instant::ZERO + scenario.duration;
    loop {
        match world.sim.run(end, u64::MAX) {
            Stop::Budget => {}
            Stop::External(id) => {
                world.apply(id).map_err(Failure::Setup)?;
            }
            Stop::TimeLimit | Stop::Idle => break,
            Stop::Violation(v) => return Err(Failure::Violation(v)),
        }
    }
    Ok((world.sim.events(), world.sim.digest().to_string(), world))
}

/// What the summary reports of the driver rather than of the collected metrics.
pub struct Facts {
    /// `None` for a simulation, `Some("live")` for real processes.
    pub mode: Option<&'static str>,
    pub digest: String,
    pub now: Instant,
    pub events: u64,
    pub net: NetworkStats,
    pub frameworks: u64,
    pub trace: Option<crate::workload::trace::TraceCounts>,
}

impl Facts {
    fn of(world: &World) -> Facts {
        Facts {
            mode: None,
            digest: world.sim.digest().to_string(),
            now: world.sim.now(),
            events: world.sim.events(),
            net: world.sim.network_stats(),
            frameworks: world.frameworks_started(),
            trace: world.trace_counts(),
        }
    }
}

/// The summary of a finished run: its metrics, and what the driver says of it.
pub fn summarise(scenario: &Scenario, facts: &Facts, c: &mut Collector) -> Summary {
    let net = facts.net;
    let now = facts.now;
    let t = c.task_counts();
    let d = c.queue_delay();
    let simulated_s = now.as_secs_f64();
    let roles = c.role_rows();
    let names: Vec<(usize, String)> = c.resources();
    let events: Vec<FaultSummary> = c
        .recovery
        .faults
        .iter()
        .map(|f| {
            let since = |t: Instant| (t - f.at).as_secs_f64();
            FaultSummary {
                kind: f.kind.name(),
                target: f.target.clone(),
                at_s: f.at.as_secs_f64(),
                healed_s: f.healed.filter(|&h| h <= now).map(since),
                detect_s: f.detected.map(since),
                agents_lost: u64::from(f.agents_lost),
                restored_s: f.restored.map(since),
                tasks_affected: f.tasks_affected,
                tasks_unrecovered: f.tasks_pending,
                recovered_s: f.recovered_s(),
                capacity_lost: names
                    .iter()
                    .map(|(i, n)| (n.clone(), f.capacity_lost.get(i).copied().unwrap_or(0.0)))
                    .collect(),
                elect_s: f.elected.map(since),
                agents_expected: f.elected.map(|_| u64::from(f.agents_expected)),
                reregistered_s: matches!(f.kind, FaultKind::MasterCrashed | FaultKind::SchedulerCrashed)
                    .then(|| f.reregistered.map(since)),
                removed_s: f.removed.map(since),
            }
        })
        .collect();
    let recovery = crate::report::recovery::summarise(events);
    let jobs = c.jobs();
    Summary {
        schema: Summary::SCHEMA,
        mode: facts.mode,
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        allocator: scenario.master.allocator.clone(),
        digest: facts.digest.clone(),
        simulated_s,
        events: facts.events,
        agents: AgentsSummary {
            registered: c.agents_added,
            unreachable: c.agents_unreachable,
        },
        frameworks: facts.frameworks,
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
            run_time_s: c.run_time(),
            slowdown: c.slowdown(),
            makespan_s: c.makespan(),
        },
        offers: OffersSummary {
            made: c.offers.made,
            accepted: c.offers.accepted,
            declined: c.offers.declined,
            rescinded: c.offers.rescinded,
            per_s: if simulated_s > 0.0 {
                c.offers.made as f64 / simulated_s
            } else {
                0.0
            },
            decline_ratio: if c.offers.made > 0 {
                c.offers.declined as f64 / c.offers.made as f64
            } else {
                0.0
            },
            demand_to_offer_s: c.demand_to_offer(),
        },
        utilisation: c.utilisation().into_iter().collect(),
        queue_delay_s: d,
        network: NetworkSummary {
            messages_sent: net.sent,
            messages_delivered: c.messages_delivered,
            dropped: net.dropped,
            duplicated: net.duplicated,
        },
        trace: facts.trace.clone(),
        utilisation_by_class: c
            .utilisation_by_class()
            .into_iter()
            .map(|(class, v)| (class, v.into_iter().collect()))
            .collect(),
        jobs: JobsSummary {
            completed: jobs.completed,
            failed: jobs.failed,
            completion_s: jobs.completion.quantiles(),
        },
        fairness: FairnessSummary {
            jain_dominant_share: c.jain(),
            jain_entitled: c.jain_entitled(),
            max_min_share_ratio: c.max_min_share_ratio(),
            below_fair_share_s: roles.iter().map(|r| r.below_fair_share_s).sum(),
            roles: roles
                .iter()
                .map(|r| {
                    (
                        r.name.clone(),
                        RoleSummary {
                            weight: r.weight,
                            share_mean: r.share_mean,
                            share_max: r.share_max,
                            demand_s: r.demand_s,
                            share_mean_with_demand: r.share_mean_with_demand,
                            below_fair_share_s: r.below_fair_share_s,
                        },
                    )
                })
                .collect(),
            frameworks: c
                .framework_rows()
                .into_iter()
                .map(|f| {
                    (
                        f.name,
                        FrameworkShareSummary {
                            role: f.role,
                            share_mean: f.share_mean,
                            share_max: f.share_max,
                        },
                    )
                })
                .collect(),
        },
        recovery,
    }
}
