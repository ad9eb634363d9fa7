//! The scenario's faults as the world applies them: a random schedule expanded from the
//! seed, and the agents a selector picks when its fault begins.

use rand::RngExt;

use crate::rng::{self, Rng};
use crate::scenario::Scenario;
use crate::scenario::schema::{
    AgentFault, BurstSpec, FaultAction, LatencySpec, MasterFault, PartitionSpec, RandomFaults, SchedulerFault,
};
use crate::time::{Duration, Instant};

/// Every fault of `s`, in time order (same-time faults in file order), a random schedule
/// drawn from the seed's `faults` stream.
pub fn plan(s: &Scenario) -> Vec<(Instant, FaultAction)> {
    let mut out: Vec<(Instant, FaultAction)> = s
        .faults
        .list
        .iter()
        .map(|f| (Instant::ZERO + f.at, f.action()))
        .collect();
    if let Some(r) = &s.faults.random {
        out.extend(random(s, r));
    }
    out.sort_by_key(|(at, _)| *at);
    out
}

/// The machines a fault may pick from: name, class and rack, in declaration order.
#[derive(Clone, Debug)]
pub struct Machine {
    pub name: String,
    pub class: Option<String>,
    pub rack: Option<String>,
}

/// The agents `sel` names among `up` (the machines with an agent up now, in declaration
/// order): its `names`, or those matching `class` and `rack`, narrowed to `count` or
/// `fraction` of them (at least one) drawn from `rng`. Returned in declaration order.
pub fn pick(sel: &AgentFault, up: &[Machine], rng: &mut Rng) -> Vec<String> {
    if let Some(names) = &sel.names {
        return up
            .iter()
            .filter(|m| names.contains(&m.name))
            .map(|m| m.name.clone())
            .collect();
    }
    let mut pool: Vec<usize> = up
        .iter()
        .enumerate()
        .filter(|(_, m)| {
            sel.class.as_ref().is_none_or(|c| m.class.as_ref() == Some(c))
                && sel.rack.as_ref().is_none_or(|r| m.rack.as_ref() == Some(r))
        })
        .map(|(i, _)| i)
        .collect();
    let want = match (sel.count, sel.fraction) {
        (Some(n), _) => n as usize,
        (None, Some(f)) => ((pool.len() as f64 * f).round() as usize).max(1),
        (None, None) => pool.len(),
    };
    if want < pool.len() {
        // A partial Fisher-Yates shuffle: the first `want` are a uniform sample.
        for i in 0..want {
            let j = rng.random_range(i..pool.len());
            pool.swap(i, j);
        }
        pool.truncate(want);
        pool.sort_unstable();
    }
    pool.into_iter().map(|i| up[i].name.clone()).collect()
}

/// The machines of the scenario's cluster, in declaration order, with their class and rack.
pub fn cluster_machines(s: &Scenario) -> Vec<Machine> {
    let mut out = Vec::new();
    for class in &s.cluster {
        for n in 1..=class.count {
            out.push(Machine {
                name: format!("{}-{n}", class.class),
                class: Some(class.class.clone()),
                rack: Some(format!("rack-{}", (n - 1) % class.racks.max(1) + 1)),
            });
        }
    }
    out
}

fn duration_between(rng: &mut Rng, min: Duration, max: Duration) -> Duration {
    if max <= min {
        return min;
    }
    Duration::from_nanos(rng.random_range(min.as_nanos()..=max.as_nanos()))
}

/// Draws `r.count` faults. Agent faults pick by count, fraction or rack; partitions cut a
/// rack, a random set of agents, or a framework off from the master; bursts drop, duplicate
/// and delay; a scheduler crash picks a framework. Everything heals within `max_down`,
/// except crashed machines, which one time in five never come back.
fn random(s: &Scenario, r: &RandomFaults) -> Vec<(Instant, FaultAction)> {
    let mut rng = rng::stream(s.seed, "faults");
    let from = r.from.unwrap_or(Duration::ZERO);
    let to = r.to.unwrap_or(s.duration);
    let machines = cluster_machines(s);
    let racks = s.cluster.iter().map(|c| c.racks).max().unwrap_or(1);
    let frameworks: Vec<String> = s.expanded_frameworks().into_iter().map(|(_, f)| f.name).collect();
    let second = Duration::from_secs(1);
    // The sole master is never crashed: nothing would take over; nor is a scheduler
    // without frameworks.
    let kinds: Vec<&str> = r
        .kinds
        .iter()
        .map(String::as_str)
        .filter(|k| s.master.masters > 1 || *k != "crash_master")
        .filter(|k| !frameworks.is_empty() || *k != "crash_scheduler")
        .collect();
    let mut out = Vec::new();
    if kinds.is_empty() {
        return out;
    }
    for _ in 0..r.count {
        let at = Instant::ZERO + duration_between(&mut rng, from, to - Duration::from_nanos(1));
        let down = duration_between(&mut rng, second.min(r.max_down), r.max_down);
        let kind = kinds[rng.random_range(0..kinds.len())];
        let selector = |rng: &mut Rng| {
            let mut sel = AgentFault::default();
            match rng.random_range(0..3u32) {
                0 => sel.count = Some(1),
                1 if racks > 1 => sel.rack = Some(format!("rack-{}", rng.random_range(1..=racks))),
                _ => sel.fraction = Some(rng.random_range(0.0..r.max_fraction).max(1e-9)),
            }
            sel
        };
        let action = match kind {
            "crash_agents" => {
                let mut sel = selector(&mut rng);
                sel.back_after = (rng.random_range(0..5u32) > 0).then_some(down);
                FaultAction::CrashAgents(sel)
            }
            "restart_agents" => {
                let mut sel = selector(&mut rng);
                sel.back_after = Some(down);
                FaultAction::RestartAgents(sel)
            }
            "partition" => {
                let cut: Vec<String> = match rng.random_range(0..3u32) {
                    0 if racks > 1 => vec![format!("rack-{}", rng.random_range(1..=racks))],
                    1 if !frameworks.is_empty() => {
                        vec![frameworks[rng.random_range(0..frameworks.len())].clone()]
                    }
                    _ => {
                        let sel = AgentFault {
                            fraction: Some(rng.random_range(0.0..r.max_fraction).max(1e-9)),
                            ..AgentFault::default()
                        };
                        pick(&sel, &machines, &mut rng)
                    }
                };
                if cut.is_empty() {
                    continue;
                }
                FaultAction::Partition(PartitionSpec {
                    groups: vec![cut, vec!["master".to_owned()]],
                    one_way: rng.random_range(0..4u32) == 0,
                    duration: Some(down),
                })
            }
            "network" => FaultAction::Network(BurstSpec {
                drop: rng.random_range(0.0..0.5),
                duplicate: rng.random_range(0.0..0.2),
                delay: Some(LatencySpec {
                    min: Duration::ZERO,
                    max: duration_between(&mut rng, Duration::ZERO, Duration::from_secs(2)),
                }),
                duration: down,
            }),
            "crash_master" => FaultAction::CrashMaster(MasterFault {
                back_after: Some(down),
            }),
            "crash_scheduler" => FaultAction::CrashScheduler(SchedulerFault {
                framework: frameworks[rng.random_range(0..frameworks.len())].clone(),
                back_after: Some(down),
            }),
            other => unreachable!("validated fault kind {other}"),
        };
        out.push((at, action));
    }
    out
}
