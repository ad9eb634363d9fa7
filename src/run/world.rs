//! Builds a simulated world from a scenario: the master, one agent per machine, the
//! frameworks, their workloads, and the scenario's timed events.
//!
//! Operators and users are outside the cluster: their calls (weights, quotas, suppress,
//! revive, task submissions) come from a passive `operator` process, so they cross the
//! simulated network like any other message.

use std::collections::BTreeMap;

use crate::agent::{Agent, AgentConfig};
use crate::allocator::{AllocatorConfig, Quota};
use crate::frameworks::batch::{Batch, BatchConfig};
use crate::frameworks::scripted::{OnOffer, Scripted, ScriptedConfig};
use crate::ids::NodeId;
use crate::master::{Master, MasterConfig, RoleConfig};
use crate::process::{Ctx, Process};
use crate::proto::{Msg, OperatorCall};
use crate::resources::Resources;
use crate::rng;
use crate::scenario::Scenario;
use crate::scenario::schema::{
    self, Action, DurationDist, FrameworkKind, FrameworkSpec, Start, WorkloadSpec,
};
use crate::sim::{Machine, NetworkConfig, Sim};
use crate::time::Instant;
use crate::workload::synthetic::{Dist, Generator, TaskList};
use crate::workload::{Arrival, Workload};

/// External ids at or above this are workload feeds; below, world actions.
const FEED_BASE: u64 = 1 << 32;

/// Stands for operators and users: sends their calls, ignores everything it hears.
pub struct Operator;

impl Process for Operator {
    type Msg = Msg;
    type Timer = ();
    fn on_start(&mut self, _: &mut Ctx<'_, Msg, ()>) {}
    fn on_message(&mut self, _: &mut Ctx<'_, Msg, ()>, _: NodeId, _: Msg) {}
    fn on_timer(&mut self, _: &mut Ctx<'_, Msg, ()>, _: ()) {}
}

enum WorldAction {
    Scenario(Action),
    StartFramework(usize),
}

struct FrameworkSlot {
    spec: FrameworkSpec,
    node: Option<NodeId>,
}

/// A batch framework's workload, pulled one arrival at a time.
struct Feed {
    framework: usize,
    workload: Box<dyn Workload>,
    /// Arrival times count from the framework's start.
    offset: Instant,
    next: Option<Arrival>,
}

pub struct World {
    pub sim: Sim<Msg>,
    pub master: NodeId,
    operator: NodeId,
    seed: u64,
    agents: BTreeMap<String, NodeId>,
    agent_template: AgentConfig,
    default_refuse: crate::time::Duration,
    frameworks: Vec<FrameworkSlot>,
    actions: Vec<(Instant, WorldAction)>,
    feeds: Vec<Feed>,
}

fn dist(d: &DurationDist) -> Dist {
    match *d {
        DurationDist::Fixed(d) => Dist::Fixed(d),
        DurationDist::Exponential { mean } => Dist::Exponential { mean },
        DurationDist::Lognormal { median, sigma } => Dist::Lognormal { median, sigma },
        DurationDist::Uniform { min, max } => Dist::Uniform { min, max },
        DurationDist::Endless => Dist::Endless,
    }
}

impl World {
    /// Builds the world; `Err` only for what validation cannot see (an unknown allocator
    /// reaching the master).
    pub fn build(s: &Scenario) -> Result<World, String> {
        let network = NetworkConfig {
            latency_min: s.network.latency.min,
            latency_max: s.network.latency.max,
            drop_probability: s.network.drop_probability,
            duplicate_probability: s.network.duplicate_probability,
        };
        let mut sim = Sim::new(s.seed, network);
        let master_config = MasterConfig {
            agent_ping_timeout: s.master.agent_ping_timeout,
            max_agent_ping_timeouts: s.master.max_agent_ping_timeouts,
            allocator: s.master.allocator.clone(),
            allocator_config: AllocatorConfig {
                allocation_interval: s.master.allocation_interval,
                min_allocatable: s.master.min_allocatable.clone(),
                fair_sharing_excluded: s.master.fair_sharing_excluded_resources.clone(),
            },
            refuse_seconds: s.master.refuse_seconds,
            roles: s
                .expanded_roles()
                .into_iter()
                .map(|(_, r)| RoleConfig {
                    name: r.name.clone(),
                    weight: r.weight,
                    quota: r.quota.as_ref().map(|q| Quota {
                        guarantee: q.guarantee.clone().unwrap_or_default(),
                        limit: q.limit.clone(),
                    }),
                })
                .collect(),
        };
        let master = sim.add_process("master", Master::new(master_config)?);
        let operator = sim.add_process("operator", Operator);
        let mut agent_template = AgentConfig::new("", Resources::new(), master);
        agent_template.master_ping_timeout = s
            .master
            .agent_ping_timeout
            .saturating_mul(u64::from(s.master.max_agent_ping_timeouts));
        let mut world = World {
            sim,
            master,
            operator,
            seed: s.seed,
            agents: BTreeMap::new(),
            agent_template,
            default_refuse: s.master.refuse_seconds,
            frameworks: s
                .expanded_frameworks()
                .into_iter()
                .map(|(_, spec)| FrameworkSlot { spec, node: None })
                .collect(),
            actions: Vec::new(),
            feeds: Vec::new(),
        };
        for class in &s.cluster {
            for n in 1..=class.count {
                world.add_agent(format!("{}-{n}", class.class), class.resources.clone());
            }
        }
        let mut timed: Vec<(Instant, usize, WorldAction)> = Vec::new();
        for (i, e) in s.events.iter().enumerate() {
            let action = match e.action() {
                Action::AddFramework(name) => {
                    let f = world
                        .frameworks
                        .iter()
                        .position(|f| f.spec.name == name)
                        .expect("validated");
                    WorldAction::StartFramework(f)
                }
                other => WorldAction::Scenario(other),
            };
            timed.push((Instant::ZERO + e.at, i, action));
        }
        // Frameworks that start by themselves come before same-time events.
        for (i, f) in world.frameworks.iter().map(|f| &f.spec).enumerate() {
            if let Start::At(at) = f.start {
                timed.push((Instant::ZERO + at, 0, WorldAction::StartFramework(i)));
            }
        }
        timed.sort_by_key(|(at, order, action)| (*at, matches!(action, WorldAction::Scenario(_)), *order));
        for (at, _, action) in timed {
            world.sim.schedule_external(at, world.actions.len() as u64);
            world.actions.push((at, action));
        }
        Ok(world)
    }

    fn add_agent(&mut self, name: String, resources: Resources) -> NodeId {
        let mut config = self.agent_template.clone();
        config.name = name.clone();
        config.resources = resources.clone();
        let node = self.sim.add_process(name.clone(), Agent::new(config));
        self.sim.add_machine(node, Machine::new(name.clone(), resources));
        self.agents.insert(name, node);
        node
    }

    fn start_framework(&mut self, i: usize) {
        let spec = self.frameworks[i].spec.clone();
        let now = self.sim.now();
        let name = format!("framework-{}", spec.name);
        let node = match spec.kind {
            FrameworkKind::Scripted => {
                let on_offer = match spec.on_offer.expect("validated") {
                    schema::OnOffer::Hold => OnOffer::Hold,
                    schema::OnOffer::Decline => OnOffer::Decline,
                };
                let config = ScriptedConfig {
                    name: spec.name.clone(),
                    role: spec.role.clone(),
                    master: self.master,
                    on_offer,
                    refuse_seconds: spec.refuse_seconds,
                    failover_timeout: spec.failover_timeout,
                };
                self.sim.add_process(name, Scripted::new(config))
            }
            FrameworkKind::Batch => {
                let mut config = BatchConfig::new(spec.name.clone(), spec.role.clone(), self.master);
                config.max_tasks_per_offer = spec.max_tasks_per_offer;
                config.refuse_seconds = spec.refuse_seconds;
                config.failover_timeout = spec.failover_timeout;
                if let Some(d) = spec.suppress_after {
                    config.suppress_after = d;
                }
                if let Some(d) = spec.min_revive_interval {
                    config.min_revive_interval = d;
                }
                self.sim.add_process(name, Batch::new(config))
            }
        };
        self.frameworks[i].node = Some(node);
        if let Some(workload) = self.workload(&spec) {
            let mut feed = Feed {
                framework: i,
                workload,
                offset: now,
                next: None,
            };
            feed.next = feed.workload.next_arrival();
            let id = self.feeds.len();
            self.feeds.push(feed);
            self.schedule_feed(id);
        }
    }

    fn workload(&self, spec: &FrameworkSpec) -> Option<Box<dyn Workload>> {
        let stream = rng::stream(self.seed, &format!("workload/{}", spec.name));
        match spec.workload.as_ref()? {
            WorkloadSpec::Synthetic(syn) => Some(match &syn.tasks {
                Some(list) => Box::new(TaskList::new(
                    stream,
                    list.iter()
                        .map(|t| {
                            (
                                Instant::ZERO + t.at,
                                t.resources.clone(),
                                dist(&t.duration),
                                t.count,
                            )
                        })
                        .collect(),
                )),
                None => Box::new(Generator::new(
                    stream,
                    syn.arrival_rate_per_s,
                    syn.count,
                    syn.task.clone().expect("validated"),
                    dist(syn.duration.as_ref().expect("validated")),
                )),
            }),
            WorkloadSpec::Trace(_) => None,
        }
    }

    fn schedule_feed(&mut self, id: usize) {
        let feed = &self.feeds[id];
        if let Some(next) = &feed.next {
            let at = feed.offset + next.at.since_start();
            self.sim.schedule_external(at, FEED_BASE + id as u64);
        }
    }

    fn feed(&mut self, id: usize) {
        let feed = &mut self.feeds[id];
        let Some(arrival) = feed.next.take() else { return };
        let node = self.frameworks[feed.framework]
            .node
            .expect("a feed starts with its framework");
        feed.next = feed.workload.next_arrival();
        self.sim
            .send(self.operator, node, Msg::Submit(Box::new(arrival.tasks)));
        self.schedule_feed(id);
    }

    /// Applies the world action with external id `id`.
    pub fn apply(&mut self, id: u64) {
        if id >= FEED_BASE {
            self.feed((id - FEED_BASE) as usize);
            return;
        }
        let (_, action) = &self.actions[id as usize];
        let action = match action {
            WorldAction::StartFramework(i) => {
                let i = *i;
                self.start_framework(i);
                return;
            }
            WorldAction::Scenario(a) => a.clone(),
        };
        match action {
            Action::AddAgent(add) => {
                self.add_agent(add.name, add.resources);
            }
            Action::RemoveAgent(name) => {
                if let Some(node) = self.agents.remove(&name) {
                    self.sim.crash(node);
                }
            }
            Action::AddFramework(_) => unreachable!("mapped to StartFramework when built"),
            Action::SetWeight(w) => self.operate(
                self.master,
                OperatorCall::SetWeight {
                    role: w.role,
                    weight: w.weight,
                },
            ),
            Action::SetQuota(q) => self.operate(
                self.master,
                OperatorCall::SetQuota {
                    role: q.role,
                    guarantee: q.guarantee,
                    limit: q.limit,
                },
            ),
            Action::Suppress(name) | Action::Revive(name) => {
                let suppress = matches!(
                    self.actions[id as usize].1,
                    WorldAction::Scenario(Action::Suppress(_))
                );
                if let Some(node) = self.framework_node(&name) {
                    let call = if suppress {
                        OperatorCall::Suppress
                    } else {
                        OperatorCall::Revive
                    };
                    self.operate(node, call);
                }
            }
        }
    }

    fn operate(&mut self, to: NodeId, call: OperatorCall) {
        self.sim.send(self.operator, to, Msg::Operator(Box::new(call)));
    }

    fn framework_node(&self, name: &str) -> Option<NodeId> {
        self.frameworks
            .iter()
            .find(|f| f.spec.name == name)
            .and_then(|f| f.node)
    }

    pub fn agent(&self, name: &str) -> Option<NodeId> {
        self.agents.get(name).copied()
    }

    /// The decline filter frameworks get by default.
    pub fn default_refuse(&self) -> crate::time::Duration {
        self.default_refuse
    }
}
