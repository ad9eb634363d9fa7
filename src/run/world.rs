//! Builds a simulated world from a scenario: the master, one agent per machine, the
//! frameworks, their workloads, and the scenario's timed events.
//!
//! Operators and users are outside the cluster: their calls (weights, quotas, suppress,
//! revive, task submissions) come from a passive `operator` process, so they cross the
//! simulated network like any other message.

use std::collections::{BTreeMap, BTreeSet};

use crate::agent::{Agent, AgentConfig};
use crate::allocator::{AllocatorConfig, Quota};
use crate::coordinator::{Coordinator, CoordinatorConfig};
use crate::frameworks::batch::{Batch, BatchConfig};
use crate::frameworks::scripted::{OnOffer, Scripted, ScriptedConfig};
use crate::ids::NodeId;
use crate::master::{Master, MasterConfig, RoleConfig};
use crate::metrics::{FaultKind, FaultNotice, Notice};
use crate::process::{Ctx, Process};
use crate::proto::{Msg, OperatorCall, TaskRequest};
use crate::resources::Resources;
use crate::rng;
use crate::scenario::Scenario;
use crate::scenario::schema::{
    self, Action, AddAgent, DurationDist, FaultAction, FrameworkKind, FrameworkSpec, SplitBy, Start,
    TraceSpec, WorkloadSpec,
};
use crate::sim::{Burst, Machine, NetworkConfig, Partition, Sim};
use crate::time::Instant;
use crate::trace::{self, Capacity, Format, MachineChange, ReadOptions, TaskReader};
use crate::workload::Workload;
use crate::workload::synthetic::{Dist, Generator, TaskList};
use crate::workload::trace::{Mapping, TraceCounts, TraceWorkload};

use super::faults;

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
    /// An agent process that stopped starts again from what it persisted.
    RecoverAgent(String),
    /// A crashed machine boots again: a fresh agent registers.
    BootAgent(String),
    /// The scenario's fault with this index begins.
    Fault(usize),
    /// The partition of fault `i` heals.
    Heal(usize),
    /// The network burst of fault `i` ends.
    EndBurst(usize),
    /// A crashed master's process starts again (as a standby).
    RestartMaster(NodeId),
    /// The scheduler of framework slot `i` starts again from its checkpoint.
    RecoverScheduler(usize),
}

impl WorldAction {
    /// Same-time actions apply frameworks first, then operator events, then faults.
    fn rank(&self) -> u8 {
        match self {
            WorldAction::StartFramework(_) => 0,
            WorldAction::Scenario(_) => 1,
            _ => 2,
        }
    }
}

struct FrameworkSlot {
    spec: FrameworkSpec,
    node: Option<NodeId>,
    /// The configuration its scheduler was built with, to restart it.
    config: Option<SchedulerConfig>,
    /// Submissions made while its scheduler is down: users send them again once it is up.
    held: Vec<TaskRequest>,
}

/// A framework's scheduler, as its spec configures it.
#[derive(Clone)]
pub enum SchedulerConfig {
    Scripted(ScriptedConfig),
    Batch(Box<BatchConfig>),
}

impl SchedulerConfig {
    pub fn of(spec: &FrameworkSpec, master: NodeId, coordinator: Option<NodeId>) -> SchedulerConfig {
        match spec.kind {
            FrameworkKind::Scripted => {
                let on_offer = match spec.on_offer.expect("validated") {
                    schema::OnOffer::Hold => OnOffer::Hold,
                    schema::OnOffer::Decline => OnOffer::Decline,
                };
                SchedulerConfig::Scripted(ScriptedConfig {
                    name: spec.name.clone(),
                    role: spec.role.clone(),
                    master,
                    coordinator,
                    on_offer,
                    refuse_seconds: spec.refuse_seconds,
                    failover_timeout: spec.failover_timeout,
                })
            }
            FrameworkKind::Batch => SchedulerConfig::Batch(Box::new(batch_config(spec, master, coordinator))),
        }
    }
}

fn batch_config(spec: &FrameworkSpec, master: NodeId, coordinator: Option<NodeId>) -> BatchConfig {
    let mut config = BatchConfig::new(spec.name.clone(), spec.role.clone(), master);
    config.coordinator = coordinator;
    config.max_tasks_per_offer = spec.max_tasks_per_offer;
    config.refuse_seconds = spec.refuse_seconds;
    config.failover_timeout = spec.failover_timeout;
    if let Some(d) = spec.suppress_after {
        config.suppress_after = d;
    }
    if let Some(d) = spec.min_revive_interval {
        config.min_revive_interval = d;
    }
    config.offer_filters = spec.offer_filters.unwrap_or(false);
    if let Some(d) = spec.reconcile_interval {
        config.reconcile_interval = d;
    }
    config.partition_aware = spec.partition_aware.unwrap_or(false);
    if let Some(d) = spec.replace_unreachable_after {
        config.replace_unreachable_after = d;
    }
    if let Some(d) = spec.launch_timeout {
        config.launch_timeout = d;
    }
    config
}

/// Where a feed's submissions come from.
pub enum Source {
    Synthetic(Box<dyn Workload>),
    Trace(Box<TraceWorkload>),
}

impl Source {
    /// The next submission: when (from the framework's start), which group, what.
    pub fn next_submission(&mut self) -> Result<Option<(Instant, u32, Vec<TaskRequest>)>, String> {
        Ok(match self {
            Source::Synthetic(w) => w.next_arrival().map(|a| (a.at, 0, a.tasks)),
            Source::Trace(w) => w
                .next_batch()
                .map_err(|e| e.to_string())?
                .map(|b| (b.at, b.group, b.tasks)),
        })
    }

    /// What a trace replay did, if this is one.
    pub fn trace_counts(&self) -> Option<TraceCounts> {
        match self {
            Source::Trace(w) => Some(w.counts()),
            Source::Synthetic(_) => None,
        }
    }
}

/// A batch framework's workload, pulled one submission at a time.
struct Feed {
    /// The framework slot whose spec declared the workload.
    framework: usize,
    source: Source,
    /// Arrival times count from the framework's start.
    offset: Instant,
    /// The next submission: when, which group, what.
    next: Option<(Instant, u32, Vec<TaskRequest>)>,
    /// The framework slot each group's tasks go to, once started. A workload that is not
    /// split has one group, the declaring framework itself.
    groups: Vec<Option<usize>>,
    split: bool,
    /// Tasks sent to frameworks so far.
    sent: u64,
}

impl Feed {
    fn pull(&mut self) -> Result<(), String> {
        self.next = self.source.next_submission()?;
        Ok(())
    }
}

pub struct World {
    pub sim: Sim<Msg>,
    /// The first master: the only one, or the one agents and frameworks try before the
    /// coordinator names the leader.
    pub master: NodeId,
    /// Every master (one unless `master.masters` says more).
    masters: Vec<NodeId>,
    coordinator: Option<NodeId>,
    master_config: MasterConfig,
    operator: NodeId,
    seed: u64,
    agents: BTreeMap<String, NodeId>,
    /// Every machine ever added, in order, with its class and rack: what faults pick from.
    machines: Vec<faults::Machine>,
    /// The scenario's faults, in time order.
    faults: Vec<FaultAction>,
    /// How long after a fault ends the master may still mark an agent it cut off
    /// unreachable (one ping interval).
    detect_window: crate::time::Duration,
    /// Machines whose agent process stopped (its tasks run on): it recovers from what it
    /// persisted, unless its machine crashes meanwhile.
    stopped: BTreeSet<String>,
    agent_template: AgentConfig,
    default_refuse: crate::time::Duration,
    frameworks: Vec<FrameworkSlot>,
    actions: Vec<(Instant, WorldAction)>,
    feeds: Vec<Feed>,
    /// Frameworks started so far.
    started: u64,
    /// Everything was healed ([`World::heal_all`]): faults still to come are not applied.
    healed: bool,
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

/// The master's configuration a scenario gives (the coordinator is the world's to set).
pub fn master_config(s: &Scenario) -> MasterConfig {
    MasterConfig {
        agent_ping_timeout: s.master.agent_ping_timeout,
        max_agent_ping_timeouts: s.master.max_agent_ping_timeouts,
        allocator: s.master.allocator.clone(),
        allocator_config: AllocatorConfig {
            allocation_interval: s.master.allocation_interval,
            min_allocatable: s.master.min_allocatable.clone(),
            fair_sharing_excluded: s.master.fair_sharing_excluded_resources.clone(),
        },
        refuse_seconds: s.master.refuse_seconds,
        offer_timeout: s.master.offer_timeout,
        coordinator: None,
        session_timeout: s.master.session_timeout,
        agent_reregister_timeout: s.master.agent_reregister_timeout,
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
    }
}

/// What every agent of a scenario is configured with but its name and resources.
pub fn agent_template(s: &Scenario, master: NodeId, coordinator: Option<NodeId>) -> AgentConfig {
    let mut config = AgentConfig::new("", Resources::new(), master);
    config.coordinator = coordinator;
    config.master_ping_timeout = s
        .master
        .agent_ping_timeout
        .saturating_mul(u64::from(s.master.max_agent_ping_timeouts));
    config
}

/// Where a framework's submissions come from, drawn from the run's seed.
pub fn workload(spec: &FrameworkSpec, seed: u64) -> Result<Option<Source>, String> {
    let stream = rng::stream(seed, &format!("workload/{}", spec.name));
    let Some(workload) = spec.workload.as_ref() else {
        return Ok(None);
    };
    Ok(match workload {
        WorkloadSpec::Synthetic(syn) => Some(Source::Synthetic(match &syn.tasks {
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
        })),
        WorkloadSpec::Trace(t) => {
            let (reader, mapping) = open_trace(t, seed)?;
            Some(Source::Trace(Box::new(TraceWorkload::new(reader, mapping))))
        }
    })
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
        let mut master_config = master_config(s);
        let (masters, coordinator) = if s.master.masters > 1 {
            let coordinator = sim.add_process(
                "coordinator",
                Coordinator::new(CoordinatorConfig {
                    session_timeout: s.master.session_timeout,
                    ..CoordinatorConfig::default()
                }),
            );
            master_config.coordinator = Some(coordinator);
            let mut masters = Vec::new();
            for i in 1..=s.master.masters {
                masters.push(sim.add_process(format!("master-{i}"), Master::new(master_config.clone())?));
            }
            sim.set_leader_group(masters.clone());
            (masters, Some(coordinator))
        } else {
            (
                vec![sim.add_process("master", Master::new(master_config.clone())?)],
                None,
            )
        };
        if let Some(processing) = &s.master.processing {
            for &m in &masters {
                sim.set_processing(m, super::processing::cost_model(processing, coordinator));
            }
        }
        let master = masters[0];
        let operator = sim.add_process("operator", Operator);
        let agent_template = agent_template(s, master, coordinator);
        let mut world = World {
            sim,
            master,
            masters,
            coordinator,
            master_config,
            operator,
            seed: s.seed,
            agents: BTreeMap::new(),
            machines: Vec::new(),
            faults: Vec::new(),
            detect_window: s.master.agent_ping_timeout,
            stopped: BTreeSet::new(),
            agent_template,
            default_refuse: s.master.refuse_seconds,
            frameworks: s
                .expanded_frameworks()
                .into_iter()
                .map(|(_, spec)| FrameworkSlot::new(spec))
                .collect(),
            actions: Vec::new(),
            feeds: Vec::new(),
            started: 0,
            healed: false,
        };
        for (m, class) in faults::cluster_machines(s)
            .into_iter()
            .zip(s.cluster.iter().flat_map(|c| (0..c.count).map(move |_| c)))
        {
            world.add_machine(m, class.resources.clone());
        }
        let mut timed: Vec<(Instant, usize, WorldAction)> = Vec::new();
        let specs: Vec<FrameworkSpec> = world.frameworks.iter().map(|f| f.spec.clone()).collect();
        for f in &specs {
            if let Some(WorkloadSpec::Trace(t)) = &f.workload {
                for (at, action) in trace_machines(&f.name, t, s.seed)? {
                    match action {
                        // Machines there from the start are there when the master starts.
                        Action::AddAgent(add) if at == Instant::ZERO => {
                            if world.agents.contains_key(&add.name) {
                                return Err(format!(
                                    "{}: machine {} is named twice (by the trace and the cluster)",
                                    t.path, add.name
                                ));
                            }
                            world.add_agent(add.name, add.resources);
                        }
                        // After the scenario's own events of the same instant.
                        other => timed.push((at, usize::MAX, WorldAction::Scenario(other))),
                    }
                }
            }
        }
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
        for (i, (at, fault)) in faults::plan(s).into_iter().enumerate() {
            world.faults.push(fault);
            timed.push((at, i, WorldAction::Fault(i)));
        }
        timed.sort_by_key(|(at, order, action)| (*at, action.rank(), *order));
        for (at, _, action) in timed {
            world.sim.schedule_external(at, world.actions.len() as u64);
            world.actions.push((at, action));
        }
        Ok(world)
    }

    fn add_agent(&mut self, name: String, resources: Resources) -> NodeId {
        let machine = faults::Machine {
            name,
            class: None,
            rack: None,
        };
        self.add_machine(machine, resources)
    }

    fn add_machine(&mut self, machine: faults::Machine, resources: Resources) -> NodeId {
        let name = machine.name.clone();
        self.machines.push(machine);
        let mut config = self.agent_template.clone();
        config.name = name.clone();
        config.resources = resources.clone();
        let node = self.sim.add_process(name.clone(), Agent::new(config));
        self.sim.add_machine(node, Machine::new(name.clone(), resources));
        self.agents.insert(name, node);
        node
    }

    /// The node of the agent on machine `name`.
    pub fn agent_node(&self, name: &str) -> Option<NodeId> {
        self.agents.get(name).copied()
    }

    /// The configuration the agent at `node` was built with.
    fn agent_config(&self, name: &str, node: NodeId) -> AgentConfig {
        let mut config = self.agent_template.clone();
        config.name = name.to_owned();
        config.resources = self
            .sim
            .machine_of(node)
            .map(|m| m.total().clone())
            .unwrap_or_default();
        config
    }

    /// Schedules `action` at `at`.
    fn schedule(&mut self, at: Instant, action: WorldAction) {
        self.sim.schedule_external(at, self.actions.len() as u64);
        self.actions.push((at, action));
    }

    /// The agent process on machine `name` stops (its tasks run on) and starts again from
    /// its checkpoint after `down_for`. False if there is no such agent up.
    pub fn restart_agent(&mut self, name: &str, down_for: crate::time::Duration) -> bool {
        let Some(&node) = self.agents.get(name) else {
            return false;
        };
        if !self.sim.is_up(node) || self.sim.process::<Agent>(node).is_none() {
            return false;
        }
        self.stopped.insert(name.to_owned());
        self.sim.crash(node);
        let at = self.sim.now() + down_for;
        self.schedule(at, WorldAction::RecoverAgent(name.to_owned()));
        true
    }

    /// Machine `name` crashes, losing its agent and every task on it; after `back_after`
    /// (if given) it boots again and a new agent registers with nothing running. Returns
    /// how many tasks the machine lost, `None` if there is no such machine up.
    pub fn crash_agent(&mut self, name: &str, back_after: Option<crate::time::Duration>) -> Option<usize> {
        let &node = self.agents.get(name)?;
        if !self.sim.is_up(node) {
            return None;
        }
        let lost = self.sim.crash_machine(node);
        self.stopped.remove(name);
        if let Some(after) = back_after {
            let at = self.sim.now() + after;
            self.schedule(at, WorldAction::BootAgent(name.to_owned()));
        }
        Some(lost)
    }

    fn start_framework(&mut self, i: usize) -> Result<(), String> {
        let spec = self.frameworks[i].spec.clone();
        let split = matches!(&spec.workload, Some(WorkloadSpec::Trace(t)) if t.split_by != SplitBy::None);
        // A split trace starts one framework per group as the group's first tasks arrive.
        if !split {
            self.start_process(i);
        }
        if let Some(source) = self.workload(&spec)? {
            let mut feed = Feed {
                framework: i,
                source,
                offset: self.sim.now(),
                next: None,
                groups: Vec::new(),
                split,
                sent: 0,
            };
            if !split {
                feed.groups.push(Some(i));
            }
            feed.pull()?;
            let id = self.feeds.len();
            self.feeds.push(feed);
            self.schedule_feed(id);
        }
        Ok(())
    }

    fn start_process(&mut self, i: usize) {
        let spec = &self.frameworks[i].spec;
        let name = format!("framework-{}", spec.name);
        let config = SchedulerConfig::of(spec, self.master, self.coordinator);
        let node = match config.clone() {
            SchedulerConfig::Scripted(config) => self.sim.add_process(name, Scripted::new(config)),
            SchedulerConfig::Batch(config) => self.sim.add_process(name, Batch::new(*config)),
        };
        self.frameworks[i].config = Some(config);
        self.frameworks[i].node = Some(node);
        self.started += 1;
    }

    /// Starts the framework for group `group` of a split trace: `<name>-<group>` in role
    /// `<group>` (or `<role>/<group>` under a declared role).
    fn start_group(&mut self, feed: usize, group: u32) -> usize {
        let base = self.feeds[feed].framework;
        let Source::Trace(w) = &self.feeds[feed].source else {
            unreachable!("only traces split")
        };
        let group_name = w.group_name(group).to_owned();
        let mut spec = self.frameworks[base].spec.clone();
        spec.name = format!("{}-{group_name}", spec.name);
        spec.role = if spec.role == "*" {
            group_name
        } else {
            format!("{}/{group_name}", spec.role)
        };
        spec.workload = None;
        let i = self.frameworks.len();
        self.frameworks.push(FrameworkSlot::new(spec));
        self.start_process(i);
        i
    }

    fn workload(&self, spec: &FrameworkSpec) -> Result<Option<Source>, String> {
        workload(spec, self.seed)
    }

    fn schedule_feed(&mut self, id: usize) {
        let feed = &self.feeds[id];
        if let Some(next) = &feed.next {
            let at = feed.offset + next.0.since_start();
            self.sim.schedule_external(at, FEED_BASE + id as u64);
        }
    }

    fn feed(&mut self, id: usize) -> Result<(), String> {
        let Some((_, group, tasks)) = self.feeds[id].next.take() else {
            return Ok(());
        };
        let g = group as usize;
        if self.feeds[id].groups.len() <= g {
            self.feeds[id].groups.resize(g + 1, None);
        }
        let slot = match self.feeds[id].groups[g] {
            Some(slot) => slot,
            None => {
                debug_assert!(self.feeds[id].split);
                let slot = self.start_group(id, group);
                self.feeds[id].groups[g] = Some(slot);
                slot
            }
        };
        let node = self.frameworks[slot]
            .node
            .expect("a feed's frameworks are started");
        self.feeds[id].sent += tasks.len() as u64;
        if self.sim.is_up(node) {
            self.sim.send(self.operator, node, Msg::Submit(Box::new(tasks)));
        } else {
            self.frameworks[slot].held.extend(tasks);
        }
        self.feeds[id].pull()?;
        self.schedule_feed(id);
        Ok(())
    }

    /// Whether a planned fault restarts a process from its records (an agent process, or a
    /// scheduler); without one, nothing ever reads them.
    pub fn restarts_planned(&self) -> bool {
        self.faults
            .iter()
            .any(|f| matches!(f, FaultAction::RestartAgents(_) | FaultAction::CrashScheduler(_)))
    }

    /// Frameworks started so far (the groups of a split trace included).
    pub fn frameworks_started(&self) -> u64 {
        self.started
    }

    /// What each trace replay did, summed over the traces of the scenario.
    pub fn trace_counts(&self) -> Option<TraceCounts> {
        let mut total: Option<TraceCounts> = None;
        for feed in &self.feeds {
            if let Source::Trace(w) = &feed.source {
                let mut c = w.counts();
                // What reached a framework, not what was read ahead.
                c.submitted = feed.sent;
                total.get_or_insert_with(TraceCounts::default).absorb(c);
            }
        }
        total
    }

    /// Applies the world action with external id `id`.
    /// `Err` when a trace turns out to be malformed partway.
    /// Applies external event `id`; returns what the metrics must hear of it.
    pub fn apply(&mut self, id: u64) -> Result<Option<Notice>, String> {
        if id >= FEED_BASE {
            return self.feed((id - FEED_BASE) as usize).map(|()| None);
        }
        let (_, action) = &self.actions[id as usize];
        let action = match action {
            WorldAction::StartFramework(i) => {
                let i = *i;
                return self.start_framework(i).map(|()| None);
            }
            WorldAction::Scenario(a) => a.clone(),
            // Unless its machine crashed meanwhile (its checkpoint went with it).
            WorldAction::RecoverAgent(name) if !self.stopped.contains(name) => return Ok(None),
            WorldAction::RecoverAgent(name) | WorldAction::BootAgent(name) => {
                let name = name.clone();
                self.start_agent(&name)?;
                return Ok(None);
            }
            WorldAction::Fault(_) if self.healed => return Ok(None),
            WorldAction::Fault(i) => {
                let i = *i;
                return Ok(Some(Notice::Fault(self.fault(i))));
            }
            WorldAction::Heal(i) => {
                self.sim.heal(*i as u64);
                return Ok(None);
            }
            WorldAction::EndBurst(i) => {
                self.sim.end_burst(*i as u64);
                return Ok(None);
            }
            WorldAction::RecoverScheduler(i) => {
                let i = *i;
                self.recover_scheduler(i)?;
                return Ok(None);
            }
            WorldAction::RestartMaster(node) => {
                let node = *node;
                self.restart_master(node)?;
                return Ok(None);
            }
        };
        match action {
            Action::AddAgent(add) => {
                self.add_agent(add.name, add.resources);
            }
            Action::RemoveAgent(name) => {
                if let Some(node) = self.agents.remove(&name) {
                    self.sim.crash(node);
                    return Ok(Some(Notice::AgentRemoved(name)));
                }
            }
            Action::AddFramework(_) => unreachable!("mapped to StartFramework when built"),
            Action::SetWeight(w) => {
                self.operate(
                    self.leader(),
                    OperatorCall::SetWeight {
                        role: w.role.clone(),
                        weight: w.weight,
                    },
                );
                return Ok(Some(Notice::WeightSet {
                    role: w.role,
                    weight: w.weight,
                }));
            }
            Action::SetQuota(q) => self.operate(
                self.leader(),
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
        Ok(None)
    }

    /// Machines with an agent up now, in the order they were added.
    fn machines_up(&self) -> Vec<faults::Machine> {
        self.machines
            .iter()
            .filter(|m| self.agents.get(&m.name).is_some_and(|&n| self.sim.is_up(n)))
            .cloned()
            .collect()
    }

    /// Starts fault `i`; returns what the metrics must hear of it.
    fn fault(&mut self, i: usize) -> FaultNotice {
        let now = self.sim.now();
        let mut rng = rng::stream(self.seed, &format!("faults/{i}"));
        let window = self.detect_window;
        let healed = self.faults[i].lasts().map(|d| now + d);
        match self.faults[i].clone() {
            FaultAction::CrashAgents(sel) => {
                let names = faults::pick(&sel, &self.machines_up(), &mut rng);
                for n in &names {
                    self.crash_agent(n, sel.back_after);
                }
                FaultNotice {
                    kind: FaultKind::AgentsCrashed,
                    target: describe(&sel, &names),
                    crashed: names,
                    watched: Some(Vec::new()),
                    watch_until: None,
                    healed,
                    ended_offers: Vec::new(),
                }
            }
            FaultAction::RestartAgents(sel) => {
                let names = faults::pick(&sel, &self.machines_up(), &mut rng);
                let down = sel.back_after.unwrap_or(schema::RESTART_DOWN);
                for n in &names {
                    self.restart_agent(n, down);
                }
                FaultNotice {
                    kind: FaultKind::AgentsRestarted,
                    target: describe(&sel, &names),
                    crashed: Vec::new(),
                    watched: Some(names),
                    watch_until: healed.map(|h| h + window),
                    healed,
                    ended_offers: Vec::new(),
                }
            }
            FaultAction::Partition(p) => {
                let cut = self.partition_of(&p);
                let leader = self.leader();
                let watched = self
                    .machines
                    .iter()
                    .filter(|m| {
                        self.agents
                            .get(&m.name)
                            .is_some_and(|&a| cut.cuts(leader, a) || cut.cuts(a, leader))
                    })
                    .map(|m| m.name.clone())
                    .collect();
                self.sim.partition(i as u64, cut);
                if let Some(at) = healed {
                    self.schedule(at, WorldAction::Heal(i));
                }
                let groups: Vec<String> = p.groups.iter().map(|g| format!("[{}]", g.join(", "))).collect();
                FaultNotice {
                    kind: FaultKind::Partition,
                    target: format!(
                        "{}{}",
                        groups.join(" | "),
                        if p.one_way { " one way" } else { "" }
                    ),
                    crashed: Vec::new(),
                    watched: Some(watched),
                    watch_until: healed.map(|h| h + window),
                    healed,
                    ended_offers: Vec::new(),
                }
            }
            FaultAction::CrashMaster(_) => {
                let leader = self.leader();
                let name = self.sim.name(leader).to_owned();
                // Its offers die with it.
                let ended_offers = self
                    .sim
                    .process::<Master>(leader)
                    .map(Master::offers_ended)
                    .unwrap_or_default();
                self.sim.crash(leader);
                if let Some(at) = healed {
                    self.schedule(at, WorldAction::RestartMaster(leader));
                }
                FaultNotice {
                    kind: FaultKind::MasterCrashed,
                    target: name,
                    crashed: Vec::new(),
                    watched: Some(Vec::new()),
                    watch_until: None,
                    healed,
                    ended_offers,
                }
            }
            FaultAction::CrashScheduler(f) => {
                let slots: Vec<usize> = self.framework_slots(&f.framework);
                for &slot in &slots {
                    self.crash_scheduler(slot, f.back_after);
                }
                FaultNotice {
                    kind: FaultKind::SchedulerCrashed,
                    target: f.framework.clone(),
                    crashed: Vec::new(),
                    watched: Some(Vec::new()),
                    watch_until: None,
                    healed,
                    ended_offers: Vec::new(),
                }
            }
            FaultAction::Network(b) => {
                let delay = b.delay.clone().unwrap_or(schema::LatencySpec {
                    min: crate::time::Duration::ZERO,
                    max: crate::time::Duration::ZERO,
                });
                self.sim.burst(
                    i as u64,
                    Burst {
                        drop_probability: b.drop,
                        duplicate_probability: b.duplicate,
                        extra_min: delay.min,
                        extra_max: delay.max,
                    },
                );
                let ends = now + b.duration;
                self.schedule(ends, WorldAction::EndBurst(i));
                FaultNotice {
                    kind: FaultKind::Network,
                    target: format!(
                        "drop {}, duplicate {}, delay {}..{}",
                        b.drop, b.duplicate, delay.min, delay.max
                    ),
                    crashed: Vec::new(),
                    watched: None,
                    watch_until: Some(ends + window),
                    healed,
                    ended_offers: Vec::new(),
                }
            }
        }
    }

    /// The framework slots a name picks: the framework of that name, and its instances
    /// and trace groups (`<name>-...`), those started.
    fn framework_slots(&self, name: &str) -> Vec<usize> {
        let prefix = format!("{name}-");
        (0..self.frameworks.len())
            .filter(|&i| {
                let f = &self.frameworks[i];
                f.node.is_some() && (f.spec.name == name || f.spec.name.starts_with(&prefix))
            })
            .collect()
    }

    /// The scheduler of framework slot `i` crashes (its tasks run on); it starts again
    /// from its checkpoint after `back_after`, or never.
    fn crash_scheduler(&mut self, i: usize, back_after: Option<crate::time::Duration>) {
        let Some(node) = self.frameworks[i].node else {
            return;
        };
        if !self.sim.is_up(node) {
            return;
        }
        self.sim.crash(node);
        if let Some(after) = back_after {
            let at = self.sim.now() + after;
            self.schedule(at, WorldAction::RecoverScheduler(i));
        }
    }

    /// The scheduler of framework slot `i` starts again from what it persisted, and hears
    /// the submissions made while it was down.
    fn recover_scheduler(&mut self, i: usize) -> Result<(), String> {
        let slot = &self.frameworks[i];
        let Some(node) = slot.node else {
            return Ok(());
        };
        if self.sim.is_up(node) {
            return Ok(());
        }
        let name = &slot.spec.name;
        let empty = crate::process::Store::default();
        let store = self.sim.store(node).unwrap_or(&empty);
        let unreadable = |e: String| format!("framework {name}: its store does not recover: {e}");
        match slot.config.clone() {
            Some(SchedulerConfig::Batch(config)) => {
                let batch = Batch::recover(*config, store).map_err(unreadable)?;
                self.sim.restart(node, batch)?;
            }
            Some(SchedulerConfig::Scripted(config)) => {
                let scripted = Scripted::recover(config, store).map_err(unreadable)?;
                self.sim.restart(node, scripted)?;
            }
            None => return Ok(()),
        }
        let held = std::mem::take(&mut self.frameworks[i].held);
        if !held.is_empty() {
            self.sim.send(self.operator, node, Msg::Submit(Box::new(held)));
        }
        Ok(())
    }

    /// The network cut a partition spec asks for, over the nodes there are now.
    fn partition_of(&self, p: &schema::PartitionSpec) -> Partition {
        let mut sides = vec![0u8; self.sim.process_count()];
        for (g, group) in p.groups.iter().enumerate() {
            let side = u8::try_from(g + 1).unwrap_or(u8::MAX);
            for name in group {
                for node in self.nodes_named(name) {
                    sides[node.index()] = side;
                }
            }
        }
        Partition {
            sides,
            sides_count: u8::try_from(p.groups.len()).unwrap_or(u8::MAX),
            one_way: p.one_way,
            exempt: vec![self.operator],
        }
    }

    /// The nodes a partition group member names: `master`, `agents`, `frameworks`, an
    /// agent, a class, a rack or a framework (its own process, and those of its trace's
    /// groups).
    fn nodes_named(&self, name: &str) -> Vec<NodeId> {
        let agent = |m: &faults::Machine| self.agents.get(&m.name).copied();
        match name {
            "master" => self.masters.clone(),
            "agents" => self.agents.values().copied().collect(),
            "frameworks" => self.frameworks.iter().filter_map(|f| f.node).collect(),
            _ => {
                let mut out: Vec<NodeId> = self
                    .machines
                    .iter()
                    .filter(|m| {
                        m.name == name || m.class.as_deref() == Some(name) || m.rack.as_deref() == Some(name)
                    })
                    .filter_map(agent)
                    .collect();
                out.extend(
                    self.framework_slots(name)
                        .into_iter()
                        .filter_map(|i| self.frameworks[i].node),
                );
                out.sort_unstable();
                out.dedup();
                out
            }
        }
    }

    /// The leading master, as the coordinator has it (the first master if none leads, or
    /// with a single master). Operators talk to it.
    pub fn leader(&self) -> NodeId {
        self.coordinator
            .and_then(|c| self.sim.process::<Coordinator>(c))
            .and_then(Coordinator::leader)
            .unwrap_or(self.master)
    }

    /// The masters' nodes.
    pub fn masters(&self) -> &[NodeId] {
        &self.masters
    }

    /// Heals everything and applies no fault from now on: partitions heal, bursts end,
    /// crashed masters, agent processes, machines (those that were never to come back
    /// too) and schedulers start again. What is left is for the cluster to converge.
    pub fn heal_all(&mut self) -> Result<(), String> {
        self.healed = true;
        for i in 0..self.faults.len() as u64 {
            self.sim.heal(i);
            self.sim.end_burst(i);
        }
        for node in self.masters.clone() {
            self.restart_master(node)?;
        }
        let machines: Vec<String> = self.agents.keys().cloned().collect();
        for name in machines {
            self.start_agent(&name)?;
        }
        for i in 0..self.frameworks.len() {
            self.recover_scheduler(i)?;
        }
        Ok(())
    }

    /// A crashed master's process starts again, as a standby.
    fn restart_master(&mut self, node: NodeId) -> Result<(), String> {
        if !self.sim.is_up(node) {
            self.sim.restart(node, Master::new(self.master_config.clone())?)?;
        }
        Ok(())
    }

    /// The agent on machine `name` starts again if it is down: from what it persisted if
    /// its process stopped, afresh if its machine crashed (and booted: its storage went
    /// with it).
    fn start_agent(&mut self, name: &str) -> Result<(), String> {
        let Some(&node) = self.agents.get(name) else {
            return Ok(());
        };
        if self.sim.is_up(node) {
            return Ok(());
        }
        let config = self.agent_config(name, node);
        self.stopped.remove(name);
        let agent = match self.sim.store(node) {
            Some(store) => Agent::recover(config, store).map_err(|e| format!("agent {name}: {e}"))?,
            None => Agent::new(config),
        };
        self.sim.restart(node, agent)
    }

    /// The agents' nodes, by machine name (machines removed for good are not listed).
    pub fn agent_nodes(&self) -> impl Iterator<Item = (&str, NodeId)> {
        self.agents.iter().map(|(n, &a)| (n.as_str(), a))
    }

    /// The frameworks' scheduler nodes, by name, those started.
    pub fn framework_nodes(&self) -> impl Iterator<Item = (&str, NodeId)> {
        self.frameworks
            .iter()
            .filter_map(|f| f.node.map(|n| (f.spec.name.as_str(), n)))
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

impl FrameworkSlot {
    fn new(spec: FrameworkSpec) -> FrameworkSlot {
        FrameworkSlot {
            spec,
            node: None,
            config: None,
            held: Vec::new(),
        }
    }
}

/// A fault's agents in words: a few names, or how many and from where.
fn describe(sel: &schema::AgentFault, names: &[String]) -> String {
    if names.len() <= 3 {
        return names.join(", ");
    }
    let from = match (&sel.class, &sel.rack) {
        (Some(c), Some(r)) => format!("{c} in {r}: "),
        (Some(c), None) => format!("{c}: "),
        (None, Some(r)) => format!("{r}: "),
        (None, None) => String::new(),
    };
    format!("{from}{} agents", names.len())
}

/// The reader options and mapping a trace spec asks for.
fn read_options(t: &TraceSpec, format: Format, seed: u64) -> ReadOptions {
    let mut options = ReadOptions::new(format);
    options.seed = seed;
    if let Some(c) = &t.capacity {
        options.capacity = options.capacity.overridden_by(c);
    }
    options.skip_bad_rows = t.skip_bad_rows;
    if let Some(l) = t.lookahead {
        options.lookahead = l;
    }
    options.companion = t.instances.clone();
    options
}

fn mapping(t: &TraceSpec, seed: u64) -> Mapping {
    Mapping {
        from: t.from.unwrap_or_default(),
        to: t.to,
        sample: t.sample,
        time_scale: t.time_scale,
        load_scale: t.load_scale,
        split_by: t.split_by,
        unstarted: t.unstarted,
        seed,
    }
}

fn format_of(t: &TraceSpec) -> Format {
    Format::parse(&t.format).expect("validated")
}

/// Opens a trace for replay.
fn open_trace(t: &TraceSpec, seed: u64) -> Result<(Box<dyn TaskReader>, Mapping), String> {
    let format = format_of(t);
    let reader = trace::tasks(format, &t.path, &read_options(t, format, seed)).map_err(|e| e.to_string())?;
    Ok((reader, mapping(t, seed)))
}

/// The machine events a trace brings to the cluster, as timed add/remove actions. Inferred
/// machines (every machine the tasks name, in order of first appearance, or an SWF
/// header's nodes) are there from the start, named `<framework>-<machine>`.
fn trace_machines(framework: &str, t: &TraceSpec, seed: u64) -> Result<Vec<(Instant, Action)>, String> {
    let format = format_of(t);
    let options = read_options(t, format, seed);
    let Some(machines) = t.machines.as_deref() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    if machines == "inferred" {
        let default = Capacity {
            cpus: options.capacity.cpus / 2.0,
            mem: options.capacity.mem / 2.0,
            disk: options.capacity.disk,
        };
        let resources_of = |cpus: f64, mem: f64, disk: f64| match &t.machine {
            Some(r) => r.clone(),
            None => trace::resources(cpus, mem, disk, 0.0),
        };
        let mut reader = trace::tasks(format, &t.path, &options).map_err(|e| e.to_string())?;
        if let Some(hint) = reader.machine_hint() {
            for n in 1..=hint.count {
                out.push((
                    Instant::ZERO,
                    Action::AddAgent(AddAgent {
                        name: format!("{framework}-node{n}"),
                        resources: resources_of(hint.cpus, hint.mem, 0.0),
                    }),
                ));
            }
            return Ok(out);
        }
        let mut seen = BTreeSet::new();
        while let Some(task) = reader.next_task().map_err(|e| e.to_string())? {
            if let Some(m) = task.machine
                && seen.insert(m)
            {
                out.push((
                    Instant::ZERO,
                    Action::AddAgent(AddAgent {
                        name: format!("{framework}-{}", reader.machine_name(m)),
                        resources: resources_of(default.cpus, default.mem, default.disk),
                    }),
                ));
            }
        }
        return Ok(out);
    }
    let map = mapping(t, seed);
    let mut reader = trace::machines(format, machines, &options)
        .expect("validated: the format has machine files")
        .map_err(|e| e.to_string())?;
    while let Some(m) = reader.next_machine().map_err(|e| e.to_string())? {
        // Machines that were there before the window are there at the start.
        let at = map.time(m.at).unwrap_or(Instant::ZERO);
        let name = format!("{framework}-{}", m.name);
        let action = match m.change {
            MachineChange::Add => Action::AddAgent(AddAgent {
                name,
                resources: trace::resources(m.cpus, m.mem, m.disk, m.gpus),
            }),
            MachineChange::Remove => Action::RemoveAgent(name),
            // A capacity change would need the agent to re-register; the replay keeps the
            // machine as it was added.
            MachineChange::Update => continue,
        };
        out.push((at, action));
    }
    Ok(out)
}
