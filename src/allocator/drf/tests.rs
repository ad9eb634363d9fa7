//! Mesos's own allocator tests (src/tests/hierarchical_allocator_tests.cpp), reproduced on
//! the `drf` allocator through the `Allocator` trait, with Mesos's conventions: adding an
//! agent allocates that agent at once, adding or reviving a framework allocates all agents,
//! and each clock advance of one interval is one batch allocation.

use super::*;
use crate::allocator::Allocator;
use crate::rng::stream;

struct Harness {
    drf: Drf,
    rng: Rng,
    now: Instant,
    frameworks: u32,
    agents: u32,
}

fn r(text: &str) -> Resources {
    Resources::parse(text).unwrap()
}

/// An allocation as (framework number, agent number, resources) — numbers from 1, as Mesos
/// names them.
type Got = Vec<(u32, u32, String)>;

fn got(allocations: Vec<Allocation>) -> Got {
    let mut g: Got = allocations
        .into_iter()
        .map(|a| (a.framework.0 + 1, a.agent.0 + 1, a.resources.to_string()))
        .collect();
    g.sort();
    g
}

impl Harness {
    fn new() -> Harness {
        Harness::with(AllocatorConfig::default())
    }

    fn with(config: AllocatorConfig) -> Harness {
        Harness {
            drf: Drf::new(config),
            rng: stream(1, "master"),
            now: Instant::ZERO,
            frameworks: 0,
            agents: 0,
        }
    }

    fn run(&mut self, candidates: Candidates) -> Got {
        let mut out = Vec::new();
        self.drf.allocate(self.now, &candidates, &mut self.rng, &mut out);
        self.drf.check_invariants().expect("invariants hold");
        got(out)
    }

    fn agent(&mut self, resources: &str) -> Got {
        self.agent_used(resources, &[])
    }

    fn agent_used(&mut self, resources: &str, used: &[(u32, &str)]) -> Got {
        let id = AgentId(self.agents);
        self.agents += 1;
        let used: Vec<(FrameworkId, Resources)> =
            used.iter().map(|(f, u)| (FrameworkId(f - 1), r(u))).collect();
        self.drf.add_agent(id, &r(resources), &used);
        self.run(Candidates::Some(vec![id]))
    }

    fn framework(&mut self, role: &str) -> Got {
        let id = FrameworkId(self.frameworks);
        self.frameworks += 1;
        self.drf
            .add_framework(id, &format!("framework{}", id.0 + 1), role);
        self.run(Candidates::All)
    }

    fn advance(&mut self) -> Got {
        self.advance_by(Duration::from_secs(1))
    }

    fn advance_by(&mut self, d: Duration) -> Got {
        self.now += d;
        self.run(Candidates::All)
    }

    fn recover(&mut self, framework: u32, agent: u32, resources: &str, refuse: Option<Duration>) {
        self.drf.recover(
            FrameworkId(framework - 1),
            AgentId(agent - 1),
            &r(resources),
            refuse,
            self.now,
        );
    }
}

fn one(framework: u32, agent: u32, resources: &str) -> Got {
    vec![(framework, agent, r(resources).to_string())]
}

#[test]
fn unreserved_drf() {
    let mut h = Harness::new();
    h.agent("cpus:2;mem:1024");
    assert_eq!(h.framework("role1"), one(1, 1, "cpus:2;mem:1024"));
    assert_eq!(h.framework("role2"), vec![]);
    assert_eq!(h.agent("cpus:1;mem:512"), one(2, 2, "cpus:1;mem:512"));
    assert_eq!(h.agent("cpus:3;mem:2048"), one(2, 3, "cpus:3;mem:2048"));
    assert_eq!(h.framework("role1"), vec![]);
    assert_eq!(h.agent("cpus:4;mem:4096"), one(3, 4, "cpus:4;mem:4096"));
    assert_eq!(h.framework("role1"), vec![]);
    assert_eq!(h.agent("cpus:1;mem:512"), one(2, 5, "cpus:1;mem:512"));
}

#[test]
fn reserved_drf() {
    let mut h = Harness::new();
    h.agent("cpus:1;mem:512;cpus(role1):100;mem(role1):1024");
    assert_eq!(
        h.framework("role1"),
        one(1, 1, "cpus:1;mem:512;cpus(role1):100;mem(role1):1024")
    );
    h.framework("role2");
    assert_eq!(h.agent("cpus:2;mem:512"), one(2, 2, "cpus:2;mem:512"));
    assert_eq!(h.agent("cpus:2;mem:512"), one(2, 3, "cpus:2;mem:512"));
    h.framework("role1");
    assert_eq!(
        h.agent("cpus(role1):2;mem(role1):1024"),
        one(3, 4, "cpus(role1):2;mem(role1):1024")
    );
}

#[test]
fn drf_with_fairness_exclusion() {
    let mut h = Harness::with(AllocatorConfig {
        fair_sharing_excluded: vec!["gpus".into()],
        ..Default::default()
    });
    h.agent("cpus:2;mem:1024;gpus:1");
    assert_eq!(h.framework("role1"), one(1, 1, "cpus:2;mem:1024;gpus:1"));
    h.framework("role2");
    assert_eq!(h.agent("cpus:1;mem:512"), one(2, 2, "cpus:1;mem:512"));
    assert_eq!(h.agent("cpus:3;mem:2048"), one(2, 3, "cpus:3;mem:2048"));
    h.framework("role1");
    assert_eq!(h.agent("cpus:4;mem:4096"), one(3, 4, "cpus:4;mem:4096"));
    h.framework("role1");
    assert_eq!(h.agent("cpus:1;mem:512"), one(2, 5, "cpus:1;mem:512"));
}

#[test]
fn nested_role_drf() {
    let mut h = Harness::new();
    h.agent("cpus:2;mem:1024");
    assert_eq!(h.framework("a/b"), one(1, 1, "cpus:2;mem:1024"));
    h.framework("a/c");
    h.framework("d/e");
    assert_eq!(h.agent("cpus:1;mem:512"), one(3, 2, "cpus:1;mem:512"));
    h.framework("d/f");
    assert_eq!(h.agent("cpus:2;mem:1024"), one(4, 3, "cpus:2;mem:1024"));
}

#[test]
fn offer_filter() {
    let mut h = Harness::new();
    h.framework("role");
    assert_eq!(h.agent("cpus:1;mem:512"), one(1, 1, "cpus:1;mem:512"));
    h.recover(1, 1, "cpus:1;mem:512", Some(Duration::from_secs(2)));
    assert_eq!(h.advance(), vec![], "filtered at t=1");
    assert_eq!(
        h.advance(),
        one(1, 1, "cpus:1;mem:512"),
        "the filter is gone at t=2"
    );
}

#[test]
fn small_offer_filter_timeout_lasts_one_interval() {
    let interval = Duration::from_secs(60);
    let mut h = Harness::with(AllocatorConfig {
        allocation_interval: interval,
        ..Default::default()
    });
    h.framework("role");
    h.framework("role");
    h.agent_used("cpus:1;mem:512", &[(1, "cpus:1;mem:512")]);
    assert_eq!(h.agent("cpus:1;mem:512"), one(2, 2, "cpus:1;mem:512"));
    h.recover(2, 2, "cpus:1;mem:512", Some(Duration::from_secs(1)));
    // The tick at 60 s still sees the one-interval filter.
    assert_eq!(h.advance_by(interval), one(1, 2, "cpus:1;mem:512"));
    h.recover(1, 2, "cpus:1;mem:512", None);
    assert_eq!(h.advance_by(interval), one(2, 2, "cpus:1;mem:512"));
}

#[test]
fn coarse_grained() {
    let mut h = Harness::new();
    h.agent("cpus:2;mem:1024");
    h.agent("cpus:2;mem:1024");
    let first = h.framework("role1");
    assert_eq!(
        first,
        vec![(1, 1, "cpus:2;mem:1024".into()), (1, 2, "cpus:2;mem:1024".into())]
    );
    h.recover(1, 1, "cpus:2;mem:1024", None);
    h.recover(1, 2, "cpus:2;mem:1024", None);
    let second = h.framework("role2");
    assert_eq!(second.len(), 2);
    let frameworks: Vec<u32> = second.iter().map(|g| g.0).collect();
    assert_eq!(frameworks, vec![1, 2], "each framework gets one whole agent");
}

#[test]
fn same_share_fairness() {
    let mut h = Harness::new();
    h.framework("*");
    h.framework("*");
    let mut first = h.agent("cpus:2;mem:1024");
    let mut counts = [0, 0];
    for _ in 0..10 {
        assert_eq!(first.len(), 1);
        let (f, a, res) = first[0].clone();
        counts[f as usize - 1] += 1;
        h.recover(f, a, &res, None);
        first = h.advance();
    }
    assert_eq!(counts, [5, 5]);
}

#[test]
fn reservations_go_only_to_their_role() {
    let mut h = Harness::new();
    h.agent("cpus(role1):2;mem(role1):1024");
    h.agent("cpus(role2):2;mem(role2):1024;cpus:1;mem:1024");
    h.agent("cpus(role3):1;mem(role3):1024");
    assert_eq!(
        h.framework("role1"),
        vec![
            (1, 1, r("cpus(role1):2;mem(role1):1024").to_string()),
            (1, 2, r("cpus:1;mem:1024").to_string())
        ]
    );
    assert_eq!(h.framework("role2"), one(2, 2, "cpus(role2):2;mem(role2):1024"));
    assert_eq!(h.advance(), vec![]);
}

#[test]
fn recovered_parts_are_offered_alone() {
    let mut h = Harness::new();
    h.framework("role1");
    let all = "cpus(role1):1;mem(role1):200;cpus:1;mem:200";
    assert_eq!(h.agent(all), one(1, 1, all));
    h.recover(1, 1, "cpus(role1):1;mem(role1):200", None);
    assert_eq!(h.advance(), one(1, 1, "cpus(role1):1;mem(role1):200"));
}

#[test]
fn min_allocatable() {
    let mut h = Harness::new();
    h.framework("role1");
    assert_eq!(h.agent("cpus:0.005;mem:16;disk:128"), vec![]);
    assert_eq!(
        h.agent("cpus:0.01;mem:16;disk:128"),
        one(1, 2, "cpus:0.01;mem:16;disk:128")
    );
    assert_eq!(
        h.agent("cpus:0.005;mem:32;disk:128"),
        one(1, 3, "cpus:0.005;mem:32;disk:128")
    );
    let all = "cpus:0.015;mem:16;cpus(role1):0.015;mem(role1):16;disk:128";
    assert_eq!(h.agent(all), one(1, 4, all));
}

/// Mesos's per-framework offer filters (`OfferFilters.min_allocatable_resources`): they
/// replace the master's min_allocatable for that framework only; loosening them offers the
/// agents they used to keep back (even ones a cycle had found nothing for), tightening them
/// keeps agents back from then on.
#[test]
fn framework_offer_filters() {
    let mut h = Harness::new();
    let big = FrameworkId(0);
    h.framework("role1");
    h.drf
        .set_offer_filters(big, Some(MinAllocatable::parse("cpus:2;mem:1024").unwrap()));
    // Too small for the framework's filters, though above the master's.
    assert_eq!(h.agent("cpus:1;mem:2048"), vec![]);
    assert_eq!(h.agent("cpus:4;mem:512"), vec![]);
    assert_eq!(h.agent("cpus:2;mem:1024"), one(1, 3, "cpus:2;mem:1024"));
    // Nothing changes: the two small agents stay unoffered cycle after cycle.
    assert_eq!(h.advance(), vec![]);
    assert_eq!(h.advance(), vec![]);
    // A looser alternative lets the first agent through at the next cycle.
    h.drf.set_offer_filters(
        big,
        Some(MinAllocatable::parse("cpus:2;mem:1024|cpus:1;mem:2048").unwrap()),
    );
    assert_eq!(h.advance(), one(1, 1, "cpus:1;mem:2048"));
    // Back to the master's min_allocatable: the second agent too.
    h.drf.set_offer_filters(big, None);
    assert_eq!(h.advance(), one(1, 2, "cpus:4;mem:512"));
    // Stricter filters keep what comes back from being offered again.
    h.drf
        .set_offer_filters(big, Some(MinAllocatable::parse("cpus:3").unwrap()));
    h.recover(1, 1, "cpus:1;mem:2048", None);
    h.recover(1, 3, "cpus:2;mem:1024", None);
    assert_eq!(h.advance(), vec![]);
    // Another framework is not bound by them.
    assert_eq!(
        h.framework("role2"),
        vec![
            (2, 1, r("cpus:1;mem:2048").to_string()),
            (2, 3, r("cpus:2;mem:1024").to_string())
        ]
    );
}

#[test]
fn update_weight() {
    let mut h = Harness::new();
    for _ in 0..6 {
        h.agent("cpus:2;mem:1024");
    }
    assert_eq!(h.framework("role1").len(), 6);
    h.framework("role2");
    for a in 1..=6 {
        h.recover(1, a, "cpus:2;mem:1024", None);
    }
    let per_framework = |g: &Got| -> Vec<usize> {
        let mut n = vec![0; 3];
        for (f, _, _) in g {
            n[*f as usize - 1] += 1;
        }
        n
    };
    let step1 = h.advance();
    assert_eq!(per_framework(&step1), vec![3, 3, 0]);
    for (f, a, res) in &step1 {
        h.recover(*f, *a, res, None);
    }
    h.drf.set_weight("role2", 2.0);
    let step2 = h.advance();
    assert_eq!(per_framework(&step2), vec![2, 4, 0]);
    for (f, a, res) in &step2 {
        h.recover(*f, *a, res, None);
    }
    h.drf.set_weight("role3", 3.0);
    let step3 = h.framework("role3");
    assert_eq!(per_framework(&step3), vec![1, 2, 3]);
}

#[test]
fn suppress_and_revive() {
    let mut h = Harness::new();
    h.framework("role1");
    assert_eq!(h.agent("cpus:2;mem:1024"), one(1, 1, "cpus:2;mem:1024"));
    h.recover(1, 1, "cpus:2;mem:1024", Some(Duration::from_secs(1000)));
    assert_eq!(h.advance(), vec![]);
    h.drf.suppress(FrameworkId(0));
    h.drf.revive(FrameworkId(0));
    assert_eq!(
        h.run(Candidates::All),
        one(1, 1, "cpus:2;mem:1024"),
        "revive clears filters"
    );
    h.recover(1, 1, "cpus:2;mem:1024", None);
    h.drf.suppress(FrameworkId(0));
    assert_eq!(h.advance(), vec![], "suppressed");
}

#[test]
fn removing_an_agent_returns_its_share() {
    let mut h = Harness::new();
    h.framework("role");
    h.framework("role");
    assert_eq!(h.agent("cpus:2;mem:200"), one(1, 1, "cpus:2;mem:200"));
    assert_eq!(h.agent("cpus:1;mem:100"), one(2, 2, "cpus:1;mem:100"));
    h.drf.remove_agent(AgentId(0));
    assert_eq!(h.agent("cpus:1;mem:100"), one(1, 3, "cpus:1;mem:100"));
}

fn quota(guarantee: &str, limit: &str) -> Quota {
    Quota {
        guarantee: r(guarantee),
        limit: Some(crate::allocator::Limits::parse(limit).unwrap()),
    }
}

#[test]
fn quota_provides_guarantee() {
    let mut h = Harness::new();
    h.framework("QR");
    h.drf.set_quota("QR", quota("cpus:2;mem:1024", "cpus:2;mem:1024"));
    h.framework("NQR");
    assert_eq!(h.agent("cpus:1;mem:512"), one(1, 1, "cpus:1;mem:512"));
    assert_eq!(h.agent("cpus:1;mem:512"), one(1, 2, "cpus:1;mem:512"));
    h.recover(1, 2, "cpus:1;mem:512", Some(Duration::from_secs(2)));
    assert_eq!(h.advance(), vec![], "fw1 filtered, fw2 held back by headroom");
    assert_eq!(h.advance(), one(1, 2, "cpus:1;mem:512"));
}

#[test]
fn quota_provides_limit() {
    let mut h = Harness::new();
    h.framework("*");
    h.drf.set_quota("*", quota("", "cpus:0;mem:0;disk:0"));
    assert_eq!(h.agent("cpus:2;mem:1024;disk:1024"), vec![]);
    assert_eq!(h.framework("NQR"), one(2, 1, "cpus:2;mem:1024;disk:1024"));
    h.drf.set_quota("*", quota("", "cpus:1;mem:512;disk:512"));
    assert_eq!(
        h.agent("cpus:2;mem:1024;disk:1024"),
        vec![
            (1, 2, r("cpus:1;mem:512;disk:512").to_string()),
            (2, 2, r("cpus:1;mem:512;disk:512").to_string())
        ]
    );
}

#[test]
fn drf_with_quota() {
    let mut h = Harness::new();
    h.drf
        .set_quota("QR", quota("cpus:0.25;mem:128", "cpus:0.25;mem:128"));
    h.framework("QR");
    h.framework("NQR");
    assert_eq!(
        h.agent_used("cpus:1;mem:512", &[(1, "cpus:0.25;mem:128")]),
        one(2, 1, "cpus:0.75;mem:384")
    );
    assert_eq!(h.agent("cpus:1;mem:512"), one(2, 2, "cpus:1;mem:512"));
}

#[test]
fn quota_allocation_granularity() {
    let mut h = Harness::new();
    h.drf
        .set_quota("QR", quota("cpus:0.5;mem:200", "cpus:0.5;mem:200"));
    h.framework("QR");
    assert_eq!(h.agent("cpus:1;mem:512"), one(1, 1, "cpus:0.5;mem:200"));
    assert_eq!(h.framework("NQR"), one(2, 1, "cpus:0.5;mem:312"));
}

#[test]
fn multi_quota_with_frameworks() {
    let mut h = Harness::new();
    h.drf.set_quota("QR1", quota("cpus:1;mem:200", "cpus:1;mem:200"));
    h.drf
        .set_quota("QR2", quota("cpus:2;mem:2000", "cpus:2;mem:2000"));
    h.framework("QR1");
    h.framework("QR2");
    h.agent_used("cpus:1;mem:1024", &[(1, "cpus:1;mem:1024")]);
    h.agent_used("cpus:1;mem:1024", &[(2, "cpus:1;mem:1024")]);
    assert_eq!(h.agent("cpus:2;mem:2048"), one(2, 3, "cpus:1;mem:976"));
}

#[test]
fn quota_absent_framework_holds_a_whole_agent() {
    let mut h = Harness::new();
    h.drf.set_quota("QR", quota("cpus:2;mem:1024", "cpus:2;mem:1024"));
    h.framework("NQR");
    assert_eq!(h.agent("cpus:2;mem:1024"), vec![]);
    assert_eq!(h.agent("cpus:2;mem:1024"), one(1, 2, "cpus:2;mem:1024"));
}

#[test]
fn quota_role_allocates_non_quota_resources_within_headroom() {
    let mut h = Harness::new();
    h.drf.set_quota("QR1", quota("cpus:2", "cpus:2"));
    h.framework("QR1");
    let agent = "cpus:1;mem:1024;ports:[31000-32000]";
    assert_eq!(h.agent(agent), one(1, 1, agent));
    h.drf.set_quota("QR2", quota("mem:1024", "mem:1024"));
    assert_eq!(h.agent(agent), one(1, 2, "cpus:1;ports:[31000-32000]"));
    assert_eq!(h.agent(agent), one(1, 3, "mem:1024;ports:[31000-32000]"));
}

#[test]
fn reservation_within_quota() {
    let mut h = Harness::new();
    h.drf.set_quota("QR", quota("cpus:2;mem:256", "cpus:2;mem:256"));
    h.framework("QR");
    h.framework("NQR");
    assert_eq!(
        h.agent_used("cpus:8;mem(QR):256", &[(1, "cpus:2;mem(QR):256")]),
        one(2, 1, "cpus:6")
    );
    assert_eq!(h.agent("cpus:4"), one(2, 2, "cpus:4"));
}

#[test]
fn quota_with_nested_role_allocation() {
    let mut h = Harness::new();
    h.framework("a/b");
    assert_eq!(h.agent("cpus:1;mem:1024"), one(1, 1, "cpus:1;mem:1024"));
    h.drf.set_quota("a", quota("cpus:1;mem:1024", "cpus:1;mem:1024"));
    h.framework("a");
    assert_eq!(h.agent("cpus:1;mem:1024"), one(1, 2, "cpus:1;mem:1024"));
}

#[test]
fn offers_ancestor_reservations_to_descendants() {
    let mut h = Harness::new();
    h.framework("a/b/c");
    assert_eq!(h.agent("cpus(a):1;mem(a):512"), one(1, 1, "cpus(a):1;mem(a):512"));
    let second = "cpus:2;mem:1024;cpus(a/b):4;mem(a/b):2048";
    assert_eq!(h.agent(second), one(1, 2, second));
}
