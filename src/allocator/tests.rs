//! Tests every allocator must pass, whatever its policy: a model check over random operation
//! sequences, plus the behaviour that defines `binpack` and `random`. (`drf` has Mesos's own
//! tests in drf/tests.rs.)

use proptest::prelude::*;

use super::*;
use crate::rng::stream;

fn r(text: &str) -> Resources {
    Resources::parse(text).unwrap()
}

fn secs(s: u64) -> Instant {
    Instant::ZERO + Duration::from_secs(s)
}

fn make(name: &str) -> Box<dyn Allocator + Send> {
    build(name, AllocatorConfig::default()).unwrap()
}

fn cycle(a: &mut dyn super::Allocator, now: Instant, rng: &mut crate::rng::Rng) -> Vec<Allocation> {
    let mut out = Vec::new();
    a.allocate(now, &Candidates::All, rng, &mut out);
    a.check_invariants().expect("invariants hold");
    out
}

/// (framework, agent) pairs, as numbers.
fn pairs(out: &[Allocation]) -> Vec<(u32, u32)> {
    out.iter().map(|a| (a.framework.0, a.agent.0)).collect()
}

#[test]
fn every_named_allocator_builds_under_its_name() {
    for name in NAMES {
        assert_eq!(make(name).name(), name);
    }
    assert!(build("fifo", AllocatorConfig::default()).is_none());
}

#[test]
fn binpack_offers_the_fullest_agents_first() {
    let mut a = make("binpack");
    let mut rng = stream(1, "master");
    for (i, total) in ["cpus:4;mem:4096", "cpus:4;mem:4096", "cpus:4;mem:4096"]
        .iter()
        .enumerate()
    {
        let used: &[(FrameworkId, Resources)] = match i {
            // Agent 1 has a quarter of its cpus used, agent 2 three quarters of its memory.
            1 => &[(FrameworkId(1), r("cpus:1;mem:512"))],
            2 => &[(FrameworkId(1), r("cpus:0.5;mem:3072"))],
            _ => &[],
        };
        a.add_agent(AgentId(i as u32), &r(total), used);
    }
    a.add_framework(FrameworkId(0), "f0", "*");
    a.add_framework(FrameworkId(1), "f1", "*");
    a.suppress(FrameworkId(1));
    let out = cycle(a.as_mut(), Instant::ZERO, &mut rng);
    // Fullest by dominant share: agent 2 (3/4 of mem), agent 1 (1/4 of cpus), agent 0 (empty).
    assert_eq!(pairs(&out), vec![(0, 2), (0, 1), (0, 0)]);
    assert_eq!(out[0].resources, r("cpus:3.5;mem:1024"));
}

#[test]
fn binpack_turns_its_round_robin_each_cycle() {
    let mut a = make("binpack");
    let mut rng = stream(1, "master");
    for i in 0..4 {
        a.add_agent(AgentId(i), &r("cpus:2;mem:1024"), &[]);
    }
    a.add_framework(FrameworkId(0), "f0", "*");
    a.add_framework(FrameworkId(1), "f1", "*");
    let out = cycle(a.as_mut(), Instant::ZERO, &mut rng);
    assert_eq!(pairs(&out), vec![(0, 0), (1, 1), (0, 2), (1, 3)]);
    for o in &out {
        a.recover(o.framework, o.agent, &o.resources, None, Instant::ZERO);
    }
    let out = cycle(a.as_mut(), secs(1), &mut rng);
    assert_eq!(pairs(&out), vec![(1, 0), (0, 1), (1, 2), (0, 3)]);
}

#[test]
fn random_is_seeded_and_close_to_uniform() {
    let draw = |seed: u64| {
        let mut a = make("random");
        let mut rng = stream(seed, "master");
        a.add_agent(AgentId(0), &r("cpus:2;mem:1024"), &[]);
        for f in 0..4 {
            a.add_framework(FrameworkId(f), &format!("f{f}"), "*");
        }
        let mut winners = Vec::new();
        for t in 0..4000 {
            let out = cycle(a.as_mut(), secs(t), &mut rng);
            assert_eq!(out.len(), 1, "one agent, one offer per cycle");
            winners.push(out[0].framework.0);
            a.recover(out[0].framework, out[0].agent, &out[0].resources, None, secs(t));
        }
        winners
    };
    let first = draw(7);
    assert_eq!(first, draw(7), "the same seed gives the same choices");
    assert_ne!(first, draw(8), "another seed gives other choices");
    let mut counts = [0u32; 4];
    for w in &first {
        counts[*w as usize] += 1;
    }
    // 1000 expected each; the binomial standard deviation is about 27.
    for c in counts {
        assert!((880..=1120).contains(&c), "far from uniform: {counts:?}");
    }
}

#[test]
fn random_skips_a_framework_whose_filter_covers_the_agent() {
    let mut a = make("random");
    let mut rng = stream(3, "master");
    a.add_agent(AgentId(0), &r("cpus:2;mem:1024"), &[]);
    a.add_framework(FrameworkId(0), "f0", "*");
    a.add_framework(FrameworkId(1), "f1", "*");
    a.recover(
        FrameworkId(0),
        AgentId(0),
        &r("cpus:2;mem:1024"),
        Some(Duration::from_secs(60)),
        Instant::ZERO,
    );
    for t in 0..50 {
        let out = cycle(a.as_mut(), secs(t), &mut rng);
        assert_eq!(pairs(&out), vec![(1, 0)]);
        a.recover(FrameworkId(1), AgentId(0), &out[0].resources, None, secs(t));
    }
}

/// One step of a random allocator workout.
#[derive(Clone, Debug)]
enum Op {
    AddAgent(u8),
    RemoveAgent(u8),
    AddFramework(u8),
    RemoveFramework(u8),
    Activate(u8, bool),
    Suppress(u8),
    Revive(u8),
    Allocate,
    /// Gives back one outstanding allocation, with a decline filter of that many seconds.
    Recover(u8, Option<u8>),
    Advance(u8),
    Weight(u8),
    /// A limit of that many cpus on role `a` (whose consumption includes its sub-role `a/x`).
    LimitA(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => any::<u8>().prop_map(Op::AddAgent),
        1 => any::<u8>().prop_map(Op::RemoveAgent),
        2 => any::<u8>().prop_map(Op::AddFramework),
        1 => any::<u8>().prop_map(Op::RemoveFramework),
        1 => (any::<u8>(), any::<bool>()).prop_map(|(f, b)| Op::Activate(f, b)),
        1 => any::<u8>().prop_map(Op::Suppress),
        1 => any::<u8>().prop_map(Op::Revive),
        5 => Just(Op::Allocate),
        4 => (any::<u8>(), proptest::option::of(0u8..10)).prop_map(|(i, s)| Op::Recover(i, s)),
        2 => (0u8..5).prop_map(Op::Advance),
        1 => (1u8..4).prop_map(Op::Weight),
        1 => (0u8..12).prop_map(Op::LimitA),
    ]
}

const AGENT_KINDS: [&str; 4] = [
    "cpus:4;mem:4096",
    "cpus:2;mem:8192;disk:1000",
    "cpus:8;mem:2048;cpus(b):2;mem(b):512",
    "cpus:1;mem:256;ports:[31000-31009]",
];
const ROLES: [&str; 4] = ["a", "b", "a/x", "*"];

#[derive(Default)]
struct Model {
    agents: Vec<Option<Resources>>,
    /// (role, active, suppressed)
    frameworks: Vec<Option<(&'static str, bool, bool)>>,
    outstanding: Vec<Allocation>,
    /// (framework, agent, resources, until)
    filters: Vec<(FrameworkId, AgentId, Resources, Instant)>,
    limit_a: Option<u64>,
}

impl Model {
    fn held_on(&self, agent: AgentId) -> Resources {
        self.outstanding
            .iter()
            .filter(|o| o.agent == agent)
            .map(|o| &o.resources)
            .sum()
    }

    /// Unreserved cpus (in thousandths) in `allocations` to frameworks in `roles`.
    fn cpus_of(&self, allocations: &[Allocation], roles: &[&str]) -> u64 {
        allocations
            .iter()
            .filter(|o| self.frameworks[o.framework.index()].is_some_and(|(r, ..)| roles.contains(&r)))
            .map(|o| o.resources.unreserved().cpus().millis())
            .sum()
    }

    fn live_agent(&self, i: u8) -> Option<AgentId> {
        let live: Vec<usize> = (0..self.agents.len())
            .filter(|&a| self.agents[a].is_some())
            .collect();
        (!live.is_empty()).then(|| AgentId(live[i as usize % live.len()] as u32))
    }

    fn live_framework(&self, i: u8) -> Option<FrameworkId> {
        let live: Vec<usize> = (0..self.frameworks.len())
            .filter(|&f| self.frameworks[f].is_some())
            .collect();
        (!live.is_empty()).then(|| FrameworkId(live[i as usize % live.len()] as u32))
    }
}

/// Runs `ops` on allocator `name`, checking every cycle's offers against the model.
fn workout(name: &str, seed: u64, ops: &[Op]) -> Result<(), String> {
    let config = AllocatorConfig::default();
    let min = config.min_allocatable.clone();
    let mut a = build(name, config).unwrap();
    let mut rng = stream(seed, "master");
    let mut m = Model::default();
    let mut now = Instant::ZERO;
    for op in ops {
        match *op {
            Op::AddAgent(k) if m.agents.len() < 24 => {
                let total = r(AGENT_KINDS[k as usize % AGENT_KINDS.len()]);
                a.add_agent(AgentId(m.agents.len() as u32), &total, &[]);
                m.agents.push(Some(total));
            }
            Op::AddAgent(_) => {}
            Op::RemoveAgent(i) => {
                if let Some(agent) = m.live_agent(i) {
                    a.remove_agent(agent);
                    m.agents[agent.index()] = None;
                    m.outstanding.retain(|o| o.agent != agent);
                    m.filters.retain(|f| f.1 != agent);
                }
            }
            Op::AddFramework(k) if m.frameworks.len() < 12 => {
                let role = ROLES[k as usize % ROLES.len()];
                let id = FrameworkId(m.frameworks.len() as u32);
                a.add_framework(id, &format!("f{}", id.0), role);
                m.frameworks.push(Some((role, true, false)));
            }
            Op::AddFramework(_) => {}
            Op::RemoveFramework(i) => {
                if let Some(f) = m.live_framework(i) {
                    a.remove_framework(f);
                    m.frameworks[f.index()] = None;
                    m.outstanding.retain(|o| o.framework != f);
                    m.filters.retain(|x| x.0 != f);
                }
            }
            Op::Activate(i, active) => {
                if let Some(f) = m.live_framework(i) {
                    a.set_framework_active(f, active);
                    m.frameworks[f.index()].as_mut().unwrap().1 = active;
                    if !active {
                        m.filters.retain(|x| x.0 != f);
                    }
                }
            }
            Op::Suppress(i) => {
                if let Some(f) = m.live_framework(i) {
                    a.suppress(f);
                    m.frameworks[f.index()].as_mut().unwrap().2 = true;
                }
            }
            Op::Revive(i) => {
                if let Some(f) = m.live_framework(i) {
                    a.revive(f);
                    m.frameworks[f.index()].as_mut().unwrap().2 = false;
                    m.filters.retain(|x| x.0 != f);
                }
            }
            Op::Recover(i, refuse) => {
                if !m.outstanding.is_empty() {
                    let o = m.outstanding.remove(i as usize % m.outstanding.len());
                    let refuse = refuse.map(|s| Duration::from_secs(u64::from(s)));
                    a.recover(o.framework, o.agent, &o.resources, refuse, now);
                    if let Some(d) = refuse.filter(|d| !d.is_zero()) {
                        m.filters.push((o.framework, o.agent, o.resources, now + d));
                    }
                }
            }
            Op::Advance(s) => now += Duration::from_millis(u64::from(s) * 500),
            Op::Weight(w) => a.set_weight("b", f64::from(w)),
            Op::LimitA(c) => {
                let limit = Limits::parse(&format!("cpus:{c}")).unwrap();
                a.set_quota(
                    "a",
                    Quota {
                        guarantee: Resources::new(),
                        limit: Some(limit),
                    },
                );
                m.limit_a = Some(u64::from(c) * 1000);
            }
            Op::Allocate => {
                // Role a's quota consumption counts its sub-role a/x; as in Mesos, its limit
                // binds offers to a's own frameworks only.
                let before = m.cpus_of(&m.outstanding, &["a", "a/x"]);
                let out = cycle(a.as_mut(), now, &mut rng);
                for o in &out {
                    let Some(total) = m.agents.get(o.agent.index()).cloned().flatten() else {
                        return Err(format!("{o:?}: the agent is gone"));
                    };
                    let Some((role, active, suppressed)) =
                        m.frameworks.get(o.framework.index()).copied().flatten()
                    else {
                        return Err(format!("{o:?}: the framework is gone"));
                    };
                    if !active || suppressed {
                        return Err(format!("{o:?}: active {active}, suppressed {suppressed}"));
                    }
                    let free = total
                        .checked_sub(&m.held_on(o.agent))
                        .expect("the model never over-books");
                    if !free.contains(&o.resources) {
                        return Err(format!("{o:?}: more than the {free} left on the agent"));
                    }
                    if o.resources.allocatable_to(role) != o.resources {
                        return Err(format!("{o:?}: holds reservations not for role {role}"));
                    }
                    if !min.is_allocatable(&o.resources) {
                        return Err(format!("{o:?}: below min-allocatable"));
                    }
                    if let Some(f) = m.filters.iter().find(|f| {
                        f.0 == o.framework && f.1 == o.agent && now < f.3 && f.2.contains(&o.resources)
                    }) {
                        return Err(format!("{o:?}: blocked by the decline filter {f:?} at {now}"));
                    }
                    m.outstanding.push(o.clone());
                }
                let own = m.cpus_of(&out, &["a"]);
                if let Some(limit) = m.limit_a
                    && own > 0
                    && before + own > limit
                {
                    return Err(format!(
                        "role a was offered {own} more millicpus on top of {before}, past its limit {limit}"
                    ));
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_allocator_offers_only_what_is_free_and_allowed(
        seed in any::<u64>(),
        ops in proptest::collection::vec(op(), 1..160),
    ) {
        for name in NAMES {
            if let Err(e) = workout(name, seed, &ops) {
                return Err(TestCaseError::fail(format!("{name}: {e}")));
            }
        }
    }
}
