//! `mesosim fuzz`: random scenarios under random fault schedules, each checked for safety
//! while it runs and for liveness once every fault has healed.
//!
//! A seed draws a scenario ([`generate`]): one master or three, a small cluster, service
//! and batch frameworks, and a random schedule of every fault kind. The run checks, after
//! every event, the invariants the processes and the simulator keep (no agent
//! over-committed, at most one master leading, legal task transitions, ...) and, as each
//! task starts, that its id does not run anywhere else ([`safety`]). Once the last fault has
//! healed, everything is healed for good ([`World::heal_all`]) and the cluster has
//! `bound` to converge ([`liveness::unconverged`]): one leader that knows every agent and
//! framework and agrees with the agents on every task, every update acknowledged, nothing
//! left to kill, and no framework with work that fits waiting.

pub mod generate;
pub mod liveness;
pub mod safety;

use std::cell::RefCell;
use std::rc::Rc;

use crate::metrics::{Collector, Shared};
use crate::run::world::World;
use crate::scenario::Scenario;
use crate::sim::Stop;
use crate::time::{Duration, Instant};

/// The default time a healed cluster has to converge: beyond the longest status update
/// retry (10 min) plus a reconciliation interval (10 min) and registration backoffs.
pub const DEFAULT_BOUND: Duration = Duration::from_mins(30);

/// How often convergence is looked at.
const STEP: Duration = Duration::from_secs(1);

/// What one seed did.
#[derive(Clone, Debug)]
pub struct Passed {
    pub seed: u64,
    pub events: u64,
    /// Faults applied (a random schedule may draw one that picks nothing).
    pub faults: u32,
    pub masters: u32,
    pub agents: u32,
    /// From the moment everything healed until the cluster had converged.
    pub converged_s: f64,
}

/// How a seed failed.
#[derive(Clone, Debug)]
pub struct Failed {
    pub seed: u64,
    /// When, in simulated seconds.
    pub at_s: f64,
    pub what: String,
}

/// The command that replays seed `seed`.
pub fn replay_command(seed: u64, bound: Duration) -> String {
    if bound == DEFAULT_BOUND {
        format!("mesosim fuzz --from {seed} --seeds 1")
    } else {
        format!("mesosim fuzz --from {seed} --seeds 1 --bound {bound}")
    }
}

thread_local! {
    /// Where the last panic on this thread happened, and what it said.
    static PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Makes panics quiet and remembered, so that a seed that panics is reported as a failed
/// seed (with where it panicked) rather than ending the whole run. For the fuzz command.
pub fn catch_panics() {
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_owned());
        PANIC.with(|p| *p.borrow_mut() = Some(format!("panicked{at}: {what}")));
    }));
}

/// Runs seed `seed` as [`run_seed`] does, a panic being one more way to fail.
pub fn run_seed_guarded(seed: u64, bound: Duration) -> Result<Passed, Failed> {
    guarded(seed, || run_seed(seed, bound))
}

/// Checks `scenario` as [`check`] does, a panic being one more way to fail.
pub fn run_scenario_guarded(scenario: &Scenario, heal_at: Duration) -> Result<Passed, Failed> {
    guarded(scenario.seed, || check(scenario, heal_at))
}

fn guarded(seed: u64, f: impl FnOnce() -> Result<Passed, Failed>) -> Result<Passed, Failed> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(_) => Err(Failed {
            seed,
            at_s: f64::NAN,
            what: PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| "panicked".to_owned()),
        }),
    }
}

/// Runs seed `seed`: the fault phase, then the healed cluster for at most `bound`.
pub fn run_seed(seed: u64, bound: Duration) -> Result<Passed, Failed> {
    let drawn = generate::scenario(seed, bound);
    let loaded =
        crate::scenario::load_str(&drawn.yaml, &format!("fuzz-{seed}.yaml"), &[]).map_err(|e| Failed {
            seed,
            at_s: 0.0,
            what: format!("the generated scenario is invalid: {e}"),
        })?;
    check(&loaded.scenario, drawn.heal_at)
}

/// When every fault of `scenario` has healed: the last fault's end (a random schedule's
/// last start plus its `max_down`); crashed machines that never come back aside.
pub fn heal_time(scenario: &Scenario) -> Duration {
    let mut heal = Duration::ZERO;
    for f in &scenario.faults.list {
        heal = heal.max(f.at + f.action().lasts().unwrap_or(Duration::ZERO));
    }
    if let Some(r) = &scenario.faults.random {
        heal = heal.max(r.to.unwrap_or(scenario.duration) + r.max_down);
    }
    heal
}

/// Runs `scenario` through its faults until `heal_at`, heals everything, and requires it
/// to converge by the end of its `duration`.
pub fn check(scenario: &Scenario, heal_at: Duration) -> Result<Passed, Failed> {
    let seed = scenario.seed;
    let fail = |at: Instant, what: String| Failed {
        seed,
        at_s: at.as_secs_f64(),
        what,
    };
    if heal_at >= scenario.duration {
        return Err(fail(
            Instant::ZERO,
            format!(
                "faults heal at {heal_at}, which leaves no time to converge before the end ({})",
                scenario.duration
            ),
        ));
    }
    let bound = scenario.duration - heal_at;
    let mut world = World::build(scenario).map_err(|e| fail(Instant::ZERO, e))?;
    // The metrics run too: they must hold up under whatever the faults do.
    let collector = Rc::new(RefCell::new(Collector::new(crate::run::setup(scenario), None)));
    let broken = safety::Broken::default();
    let watch = safety::Watch::new(Shared(Rc::clone(&collector)), Rc::clone(&broken));
    world.sim.set_observer(Box::new(watch));
    let heal_at = Instant::ZERO + heal_at;
    let end = heal_at + bound;
    let mut next = Instant::ZERO + STEP;
    let mut healed = false;
    loop {
        match world.sim.run(next.min(end), u64::MAX) {
            Stop::External(id) => {
                if let Some((at, what)) = broken.borrow_mut().take() {
                    return Err(fail(at, what));
                }
                let notice = world.apply(id).map_err(|e| fail(world.sim.now(), e))?;
                if let Some(notice) = notice {
                    collector.borrow_mut().notice(world.sim.now(), notice);
                }
                continue;
            }
            Stop::Violation(v) => {
                return Err(fail(
                    v.time,
                    format!("{} broke an invariant: {}", v.process, v.message),
                ));
            }
            Stop::TimeLimit | Stop::Idle | Stop::Budget => {}
        }
        let now = next.min(end);
        if let Some((at, what)) = broken.borrow_mut().take() {
            return Err(fail(at, what));
        }
        if !healed && now >= heal_at {
            world.heal_all().map_err(|e| fail(now, e))?;
            healed = true;
        } else if healed {
            let left = liveness::unconverged(&world);
            if left.is_empty() {
                return Ok(Passed {
                    seed,
                    events: world.sim.events(),
                    faults: collector.borrow().recovery.faults.len() as u32,
                    masters: scenario.master.masters,
                    agents: world.agent_nodes().count() as u32,
                    converged_s: (now - heal_at).as_secs_f64(),
                });
            }
            if now >= end {
                return Err(fail(
                    now,
                    format!(
                        "not converged {bound} after every fault healed: {}",
                        left.join("; ")
                    ),
                ));
            }
        }
        next = now + STEP;
    }
}
