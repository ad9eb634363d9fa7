//! Leadership and recovery, when the masters run with a coordinator (Mesos's ZooKeeper).
//!
//! - Every master contends for leadership and keeps its session alive with heartbeats
//!   every third of `session_timeout`. A master whose session lapses (no answer for
//!   `session_timeout` from the heartbeat answered last) gives leadership up at once, as
//!   Mesos's master does by exiting, and contends again from scratch: the coordinator
//!   cannot have elected another before then.
//! - A master the coordinator names leader reads the registry (agents, framework ids,
//!   weights, quotas), then leads: the agents listed are expected back, nothing of them is
//!   offered until they register again with the tasks they run; frameworks register again
//!   under their ids. Agents not back within `agent_reregister_timeout` (10 min) are
//!   marked unreachable.
//! - With quotas, no offers are made until 80% of the expected agents are back, or 10 min
//!   have passed (Mesos holds allocation so, so that a quota role is not short-changed
//!   while the cluster is half known).
//! - The leader writes each change of the registry as it makes it, and resends those the
//!   coordinator has not acknowledged with every heartbeat. As Mesos's master acts on its
//!   registrar's answer, what others would learn of a change waits for it to be applied: a
//!   new agent hears its id, a new framework its id, and everyone that an agent is
//!   unreachable only then. A leader that fails in between has told no one, so the next
//!   one, reading the registry, never contradicts what was said (two agents given one id,
//!   or tasks reported lost that a new leader then finds running).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::agents::AgentState;
use super::{Master, MasterCtx, MasterTimer};
use crate::allocator::Candidates;
use crate::ids::{AgentId, FrameworkId, NodeId};
use crate::proto::{
    Beat, Event, Msg, RegisteredAgent, RegistryOp, RegistryState, RegistryWrite, ReportedTask,
};
use crate::time::{Duration, Instant};

/// Allocation waits for this share of the expected agents after a failover, with quotas.
pub const QUOTA_HOLD_AGENTS: f64 = 0.8;
/// ... or this long.
pub const QUOTA_HOLD_MAX: Duration = Duration::from_mins(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leadership {
    /// No coordinator: the only master, leading from the start.
    Sole,
    /// Contending, or standing by.
    Standby,
    /// Named leader as of this epoch; reading the registry.
    Elected {
        epoch: u32,
    },
    Leading {
        epoch: u32,
    },
}

/// What a master does once a registry change is applied.
#[derive(Debug)]
enum AfterWrite {
    /// Tell everyone the agent is unreachable.
    MarkUnreachable(AgentId),
    /// Answer the new agent and bring it (and the tasks it reported) up.
    Admit {
        agent: AgentId,
        tasks: Vec<ReportedTask>,
    },
    /// Answer the new framework and start offering to it.
    Welcome(FrameworkId),
}

#[derive(Debug)]
pub(super) struct Failover {
    pub leadership: Leadership,
    /// The last leader epoch heard of. Kept when the master gives leadership up, so that a
    /// late copy of news of its own election to an epoch gone by finds it unmoved.
    seen: u32,
    /// The number of the session opened last (kept when leadership is given up).
    session: u64,
    /// The session is alive until then, as far as this master can tell.
    session_until: Instant,
    /// Registry changes not yet acknowledged, the first of them numbered `log_first`.
    log: VecDeque<RegistryOp>,
    log_first: u64,
    /// What waits for a registry change to be applied, by the change's number: Mesos's
    /// master acts on the registrar's answer, so that a leader failing in between has told
    /// no one of a change the next leader may not know.
    after: VecDeque<(u64, AfterWrite)>,
    /// Agents missing pings that are being marked unreachable, with the change's number.
    marking: BTreeMap<AgentId, u64>,
    /// New frameworks waiting for their id to be written.
    welcoming: BTreeSet<FrameworkId>,
    /// Agents the registry listed as unreachable when this master took over: which of
    /// their tasks were unreachable it does not know.
    unreachable_before: BTreeSet<AgentId>,
    /// Agents whose tasks this master never learned and whose machine has since come back
    /// as another agent: whatever ran there is gone.
    rebooted: BTreeSet<AgentId>,
    /// Agents expected back since this master took over, and how many are.
    expected: u32,
    back: u32,
    /// With quotas, allocation waits until then (or enough agents are back).
    hold_until: Option<Instant>,
    /// Between taking over and the end of `agent_reregister_timeout`: agents and
    /// frameworks are still expected back.
    recovering: bool,
}

impl Failover {
    pub fn new(coordinator: Option<NodeId>) -> Failover {
        Failover {
            leadership: if coordinator.is_some() {
                Leadership::Standby
            } else {
                Leadership::Sole
            },
            seen: 0,
            session: 0,
            session_until: Instant::ZERO,
            log: VecDeque::new(),
            log_first: 0,
            after: VecDeque::new(),
            marking: BTreeMap::new(),
            welcoming: BTreeSet::new(),
            unreachable_before: BTreeSet::new(),
            rebooted: BTreeSet::new(),
            expected: 0,
            back: 0,
            hold_until: None,
            recovering: false,
        }
    }
}

impl Master {
    /// Whether this master acts as the leader.
    pub fn is_leading(&self) -> bool {
        matches!(
            self.failover.leadership,
            Leadership::Sole | Leadership::Leading { .. }
        )
    }

    pub fn leadership(&self) -> Leadership {
        self.failover.leadership
    }

    fn session_timeout(&self) -> Duration {
        self.config.session_timeout
    }

    /// Opens a session with the coordinator and contends for leadership.
    pub(super) fn contend(&mut self, ctx: &mut MasterCtx<'_>, coordinator: NodeId) {
        self.failover.leadership = Leadership::Standby;
        // Numbered by the time it opens, so that a master restarted opens a later one too.
        let session = ctx.now().as_nanos().max(self.failover.session + 1);
        self.failover.session = session;
        ctx.send(coordinator, Msg::Contend { session });
        self.failover.session_until = ctx.now() + self.session_timeout();
        ctx.set_timer(MasterTimer::Session, self.failover.session_until);
        ctx.set_timer_after(
            MasterTimer::Heartbeat,
            Duration::from_nanos(self.session_timeout().as_nanos() / 3),
        );
    }

    /// Keeps the session alive; while elected, asks for the registry again; while leading,
    /// resends registry changes not yet acknowledged.
    pub(super) fn heartbeat(&mut self, ctx: &mut MasterCtx<'_>) {
        let Some(coordinator) = self.config.coordinator else {
            return;
        };
        let session = self.failover.session;
        let beat = Beat {
            session,
            sent: ctx.now(),
        };
        ctx.send(coordinator, Msg::Heartbeat(Box::new(beat)));
        match self.failover.leadership {
            Leadership::Elected { .. } => ctx.send(coordinator, Msg::RegistryRead { session }),
            Leadership::Leading { epoch } if !self.failover.log.is_empty() => {
                let write = RegistryWrite {
                    epoch,
                    first: self.failover.log_first,
                    ops: self.failover.log.iter().cloned().collect(),
                };
                ctx.send(coordinator, Msg::RegistryWrite(Box::new(write)));
            }
            _ => {}
        }
        ctx.set_timer_after(
            MasterTimer::Heartbeat,
            Duration::from_nanos(self.session_timeout().as_nanos() / 3),
        );
    }

    /// The session may have lapsed: if it did, leadership is given up and the master
    /// contends again, from scratch.
    pub(super) fn session_check(&mut self, ctx: &mut MasterCtx<'_>) {
        if ctx.now() >= self.failover.session_until {
            self.session_lost(ctx);
        }
    }

    fn session_lost(&mut self, ctx: &mut MasterCtx<'_>) {
        let Some(coordinator) = self.config.coordinator else {
            return;
        };
        if self.failover.leadership != Leadership::Standby {
            self.abdicate(ctx);
        }
        self.contend(ctx, coordinator);
    }

    /// Stops leading: everything this master knew is dropped (Mesos's master exits and is
    /// restarted), and the timers it had armed find nothing to do.
    fn abdicate(&mut self, ctx: &mut MasterCtx<'_>) {
        for ended in self.offers_ended() {
            Self::publish(ctx, ended);
        }
        Self::publish(ctx, Event::MasterAbdicated);
        if let Ok(mut fresh) = Master::new(self.config.clone()) {
            fresh.failover.seen = self.failover.seen;
            fresh.failover.session = self.failover.session;
            *self = fresh;
        }
    }

    /// Its outstanding offers, as ended (rescinded): what becomes of them when this master
    /// stops leading.
    pub fn offers_ended(&self) -> Vec<Event> {
        let mut ended = Vec::new();
        for i in 0..self.frameworks.len() {
            let framework = self.frameworks.get(crate::ids::FrameworkId(i as u32));
            for id in &framework.offers {
                if let Some(offer) = self.offers.get(*id) {
                    ended.push(Event::OfferEnded {
                        offer: *id,
                        framework: offer.framework,
                        agent: offer.agent,
                        resources: offer.resources.clone(),
                        how: crate::proto::OfferEnd::Rescinded,
                    });
                }
            }
        }
        ended
    }

    /// A message from the coordinator.
    pub(super) fn coordinator_says(&mut self, ctx: &mut MasterCtx<'_>, coordinator: NodeId, msg: Msg) {
        match msg {
            Msg::HeartbeatAck(beat) if beat.session == self.failover.session => {
                let until = beat.sent + self.session_timeout();
                if until > self.failover.session_until {
                    self.failover.session_until = until;
                    ctx.set_timer(MasterTimer::Session, until);
                }
            }
            Msg::SessionExpired { session } if session == self.failover.session => self.session_lost(ctx),
            Msg::LeaderIs { leader, epoch } => {
                ctx.send(coordinator, Msg::LeaderAck { epoch });
                if epoch <= self.failover.seen {
                    return;
                }
                self.failover.seen = epoch;
                if leader == Some(ctx.me()) {
                    match self.failover.leadership {
                        // Elected, in this session or (if the request that opened it was
                        // lost) an older one: the coordinator hands the registry over only
                        // in the first case.
                        Leadership::Standby | Leadership::Elected { .. } => {
                            self.failover.leadership = Leadership::Elected { epoch };
                            let session = self.failover.session;
                            ctx.send(coordinator, Msg::RegistryRead { session });
                        }
                        // Leading in an older epoch: the coordinator counted this master
                        // out in between, so what it knows may be out of date.
                        Leadership::Leading { .. } | Leadership::Sole => {
                            self.abdicate(ctx);
                            self.contend(ctx, coordinator);
                        }
                    }
                } else {
                    match self.failover.leadership {
                        // Elected in a session that ended, and nothing taken over yet.
                        Leadership::Elected { .. } => self.failover.leadership = Leadership::Standby,
                        // Another leads: this master's session must have ended.
                        Leadership::Leading { .. } | Leadership::Sole => {
                            self.abdicate(ctx);
                            self.contend(ctx, coordinator);
                        }
                        Leadership::Standby => {}
                    }
                }
            }
            Msg::RegistrySnapshot { epoch, registry }
                if self.failover.leadership == (Leadership::Elected { epoch }) =>
            {
                self.take_over(ctx, epoch, *registry);
            }
            Msg::RegistryAck { epoch, upto }
                if self.failover.leadership == (Leadership::Leading { epoch }) =>
            {
                while self.failover.log_first < upto && self.failover.log.pop_front().is_some() {
                    self.failover.log_first += 1;
                }
                while self
                    .failover
                    .after
                    .front()
                    .is_some_and(|(index, _)| *index < upto)
                {
                    let (index, then) = self.failover.after.pop_front().expect("checked");
                    self.written(ctx, index, then);
                }
            }
            _ => {}
        }
    }

    /// Leads, from what the registry says.
    fn take_over(&mut self, ctx: &mut MasterCtx<'_>, epoch: u32, registry: RegistryState) {
        let now = ctx.now();
        let mut expected = 0;
        // An unreachable agent whose machine was admitted again later as another agent
        // rebooted: its tasks are gone.
        let mut later: BTreeMap<NodeId, u64> = BTreeMap::new();
        let mut superseded = vec![false; registry.agents.len()];
        for (i, a) in registry.agents.iter().enumerate().rev() {
            superseded[i] = later.get(&a.node).is_some_and(|&boot| boot != a.boot);
            later.entry(a.node).or_insert(a.boot);
        }
        for (i, a) in registry.agents.into_iter().enumerate() {
            expected += u32::from(!a.unreachable);
            if a.unreachable && superseded[i] {
                self.failover.rebooted.insert(AgentId(i as u32));
            } else if a.unreachable {
                self.failover.unreachable_before.insert(AgentId(i as u32));
            }
            self.agents
                .recover(a.node, a.name, a.resources, a.boot, a.unreachable, now);
        }
        self.frameworks.reserve(registry.frameworks);
        for (role, weight) in &registry.weights {
            self.allocator.set_weight(role, *weight);
        }
        for (role, quota) in &registry.quotas {
            self.allocator.set_quota(role, quota.clone());
        }
        // Offer ids of different leaders never meet.
        self.offers.start_at(u64::from(epoch) << 40);
        let f = &mut self.failover;
        f.leadership = Leadership::Leading { epoch };
        f.log.clear();
        f.log_first = 0;
        f.expected = expected;
        f.back = 0;
        f.hold_until = (!registry.quotas.is_empty() && expected > 0).then(|| now + QUOTA_HOLD_MAX);
        f.recovering = true;
        Self::publish(
            ctx,
            Event::MasterElected {
                epoch,
                agents: expected,
            },
        );
        ctx.set_timer_after(
            MasterTimer::BatchAllocation,
            self.config.allocator_config.allocation_interval,
        );
        ctx.set_timer_after(
            MasterTimer::ReregisterTimeout,
            self.config.agent_reregister_timeout,
        );
    }

    /// Records a registry change and sends it to the coordinator (with a coordinator only);
    /// returns its number, which the coordinator's acknowledgements count past once it is
    /// applied.
    pub(super) fn persist(&mut self, ctx: &mut MasterCtx<'_>, op: RegistryOp) -> Option<u64> {
        let (Some(coordinator), Leadership::Leading { epoch }) =
            (self.config.coordinator, self.failover.leadership)
        else {
            return None;
        };
        let first = self.failover.log_first + self.failover.log.len() as u64;
        self.failover.log.push_back(op.clone());
        let write = RegistryWrite {
            epoch,
            first,
            ops: vec![op],
        };
        ctx.send(coordinator, Msg::RegistryWrite(Box::new(write)));
        Some(first)
    }

    /// Begins marking an agent that missed its pings unreachable: once the registry says so
    /// (at once without a coordinator). Until then the agent stays as it is, except that it
    /// is not pinged and its attempts to register again are ignored.
    pub(super) fn mark_unreachable(&mut self, ctx: &mut MasterCtx<'_>, agent: AgentId) {
        if self.failover.marking.contains_key(&agent) {
            return;
        }
        let op = RegistryOp::AgentReachable {
            id: agent,
            reachable: false,
        };
        match self.persist(ctx, op) {
            Some(index) => {
                self.failover.marking.insert(agent, index);
                self.failover
                    .after
                    .push_back((index, AfterWrite::MarkUnreachable(agent)));
            }
            None => self.agent_unreachable(ctx, agent),
        }
    }

    /// A registry change this master waited for is applied: it acts on it (unless what it
    /// waited for was called off since).
    fn written(&mut self, ctx: &mut MasterCtx<'_>, index: u64, then: AfterWrite) {
        match then {
            AfterWrite::MarkUnreachable(agent) => {
                if self.failover.marking.get(&agent) == Some(&index) {
                    self.failover.marking.remove(&agent);
                    self.agent_unreachable(ctx, agent);
                }
            }
            AfterWrite::Admit { agent, tasks } => {
                // Unless its machine came back as another agent meanwhile.
                if self.agents.health(agent).state == AgentState::Admitting {
                    self.admitted(ctx, agent, &tasks);
                }
            }
            AfterWrite::Welcome(framework) => {
                if self.failover.welcoming.remove(&framework) {
                    self.welcome(ctx, framework);
                }
            }
        }
    }

    /// Admits a new agent once the registry has it (at once without a coordinator): until
    /// then it is not answered, offered or pinged, and its retries are ignored.
    pub(super) fn admit_when_written(
        &mut self,
        ctx: &mut MasterCtx<'_>,
        agent: AgentId,
        tasks: &[ReportedTask],
    ) {
        match self.persist_agent(ctx, agent) {
            Some(index) => {
                self.agents.health_mut(agent).state = AgentState::Admitting;
                let tasks = tasks.to_vec();
                self.failover
                    .after
                    .push_back((index, AfterWrite::Admit { agent, tasks }));
            }
            None => self.admitted(ctx, agent, tasks),
        }
    }

    /// Gives up admitting an agent whose machine came back as another before its admission
    /// was written: it is unreachable.
    pub(super) fn forget_admission(&mut self, ctx: &mut MasterCtx<'_>, agent: AgentId) {
        self.agents.health_mut(agent).state = AgentState::Unreachable { since: ctx.now() };
        let op = RegistryOp::AgentReachable {
            id: agent,
            reachable: false,
        };
        self.persist(ctx, op);
    }

    /// Whether a framework registered as new waits for its id to be written.
    pub(super) fn welcoming(&self, framework: FrameworkId) -> bool {
        self.failover.welcoming.contains(&framework)
    }

    /// Welcomes a new framework once the registry has its id (at once without a
    /// coordinator): until then its retries are ignored.
    pub(super) fn welcome_when_written(&mut self, ctx: &mut MasterCtx<'_>, framework: FrameworkId) {
        let upto = self.frameworks.handed_out();
        match self.persist(ctx, RegistryOp::FrameworksUpTo { upto }) {
            Some(index) => {
                self.failover.welcoming.insert(framework);
                self.failover
                    .after
                    .push_back((index, AfterWrite::Welcome(framework)));
            }
            None => self.welcome(ctx, framework),
        }
    }

    /// Marks an agent unreachable at once, whether or not it was being marked: its machine
    /// came back as a new agent, and the registry hears of the old one's end first.
    pub(super) fn mark_unreachable_now(&mut self, ctx: &mut MasterCtx<'_>, agent: AgentId) {
        self.failover.marking.remove(&agent);
        let op = RegistryOp::AgentReachable {
            id: agent,
            reachable: false,
        };
        self.persist(ctx, op);
        self.agent_unreachable(ctx, agent);
    }

    /// Whether the agent is being marked unreachable.
    pub(super) fn marking(&self, agent: AgentId) -> bool {
        self.failover.marking.contains_key(&agent)
    }

    /// Whether this master took over and still expects agents and frameworks back.
    pub(super) fn recovering(&self) -> bool {
        self.failover.recovering
    }

    /// Whether the registry listed the agent unreachable when this master took over (so
    /// that it does not know which of its tasks were), and it has not come back since.
    pub(super) fn unreachable_before(&self, agent: AgentId) -> bool {
        self.failover.unreachable_before.contains(&agent)
    }

    /// The machine of agent `old` came back as another agent. If this master never
    /// learned the old agent's tasks (unreachable when it took over, or expected back),
    /// it remembers that they are gone.
    pub(super) fn machine_rebooted(&mut self, old: AgentId) {
        let unknown = self.failover.unreachable_before.remove(&old)
            || self.agents.health(old).state == AgentState::Recovered;
        if unknown {
            self.failover.rebooted.insert(old);
        }
    }

    /// Whether agent `agent`'s tasks, which this master never learned, are gone with its
    /// machine's reboot.
    pub(super) fn rebooted(&self, agent: AgentId) -> bool {
        self.failover.rebooted.contains(&agent)
    }

    /// Whether the registry listed the agent unreachable when this master took over (so
    /// that it does not know which of its tasks were), and forgets it.
    pub(super) fn take_unreachable_before(&mut self, agent: AgentId) -> bool {
        self.failover.unreachable_before.remove(&agent)
    }

    /// Persists a newly admitted agent.
    fn persist_agent(&mut self, ctx: &mut MasterCtx<'_>, agent: AgentId) -> Option<u64> {
        self.config.coordinator?;
        let info = self.agents.info(agent);
        let op = RegistryOp::AdmitAgent {
            id: agent,
            agent: RegisteredAgent {
                name: info.name.clone(),
                node: self.agents.health(agent).node,
                resources: info.total.clone(),
                boot: info.boot,
                unreachable: false,
            },
        };
        self.persist(ctx, op)
    }

    /// An expected agent is back (or will not be: it came back as a new agent).
    pub(super) fn agent_back(&mut self) {
        self.failover.back += 1;
    }

    /// Whether allocation waits for agents to come back (with quotas, after a failover).
    pub(super) fn allocation_held(&mut self, now: Instant) -> bool {
        let Some(until) = self.failover.hold_until else {
            return false;
        };
        let enough = f64::from(self.failover.back) >= QUOTA_HOLD_AGENTS * f64::from(self.failover.expected);
        if now >= until || enough {
            self.failover.hold_until = None;
            return false;
        }
        true
    }

    /// Agents the registry listed that have not registered again in time are unreachable.
    pub(super) fn reregister_timed_out(&mut self, ctx: &mut MasterCtx<'_>) {
        for i in 0..self.agents.len() {
            let agent = AgentId(i as u32);
            if self.agents.health(agent).state == AgentState::Recovered {
                self.expect_no_more(ctx, agent);
            }
        }
        self.failover.recovering = false;
        self.arm_failover_of_absent(ctx);
        self.trigger_allocation(ctx, Candidates::All);
    }

    /// An agent the registry listed will not register again (its time is up, or its
    /// machine came back as a new agent): it is unreachable.
    pub(super) fn expect_no_more(&mut self, ctx: &mut MasterCtx<'_>, agent: AgentId) {
        self.agents.health_mut(agent).state = AgentState::Unreachable { since: ctx.now() };
        Self::publish(ctx, Event::AgentUnreachable { agent });
        self.persist(
            ctx,
            RegistryOp::AgentReachable {
                id: agent,
                reachable: false,
            },
        );
    }
}
