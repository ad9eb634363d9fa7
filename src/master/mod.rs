//! The production master: agents and their health, frameworks and their offers, tasks and
//! their states, and the allocation cycle that decides who is offered what.
//!
//! Behaviour follows Apache Mesos's master:
//!
//! - Health: every registered agent is pinged each `agent_ping_timeout` (15 s); one that
//!   misses `max_agent_ping_timeouts` (5) in a row is unreachable: its offers are rescinded,
//!   its tasks are lost, its resources leave the allocator.
//! - Allocation runs every `allocation_interval` over all agents, and at once when a
//!   framework registers or revives (all agents) or an agent registers (that agent). Triggers
//!   that arrive while one is pending merge into it. Declines, task ends and weight changes
//!   wait for the next batch.
//! - Offers: each cycle's allocations become one `Offers` message per framework. Accepting
//!   launches tasks that fit in the offer; what the tasks leave unused goes back to the
//!   allocator with the decline filter the framework asked for (the default otherwise).
//! - Status updates from agents are forwarded to frameworks; their acknowledgements are
//!   relayed to the agents, which retry until then.
//!
//! - With a coordinator, several masters contend and one leads; the others stand by and
//!   ignore everyone but the coordinator (`failover.rs`).
//!
//! Handlers are split by caller: `agent_api.rs`, `scheduler_api.rs`, `operator_api.rs`.

mod agent_api;
mod agents;
mod failover;
mod frameworks;
mod offers;
mod operator_api;
mod scheduler_api;
mod scheduler_failover;
mod tasks;

use crate::allocator::{self, Allocation, Allocator, AllocatorConfig, Candidates, Quota};
use crate::ids::{AgentId, FrameworkId, NodeId};
use crate::process::{Ctx, Process};
use crate::proto::{Event, Msg, Offer, OfferId};
use crate::time::Duration;

pub use agents::{AgentInfo, AgentState, Health};
pub use failover::Leadership;
pub use frameworks::FrameworkEntry;

#[derive(Clone, Debug, PartialEq)]
pub struct MasterConfig {
    pub agent_ping_timeout: Duration,
    pub max_agent_ping_timeouts: u32,
    /// The allocator's name (see [`allocator::NAMES`]).
    pub allocator: String,
    pub allocator_config: AllocatorConfig,
    /// The decline filter for frameworks that do not name one.
    pub refuse_seconds: Duration,
    /// Roles' initial weights and quotas.
    pub roles: Vec<RoleConfig>,
    /// Offers outstanding this long are rescinded (Mesos's `--offer_timeout`; none by
    /// default). An offer whose message was lost is otherwise held for good.
    pub offer_timeout: Option<Duration>,
    /// The coordinator to contend for leadership through; `None`: the only master.
    pub coordinator: Option<NodeId>,
    pub session_timeout: Duration,
    /// After a failover, agents not registered again this long are unreachable.
    pub agent_reregister_timeout: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RoleConfig {
    pub name: String,
    pub weight: f64,
    pub quota: Option<Quota>,
}

impl Default for MasterConfig {
    fn default() -> Self {
        MasterConfig {
            agent_ping_timeout: Duration::from_secs(15),
            max_agent_ping_timeouts: 5,
            allocator: "drf".to_owned(),
            allocator_config: AllocatorConfig::default(),
            refuse_seconds: Duration::from_secs(5),
            roles: Vec::new(),
            offer_timeout: None,
            coordinator: None,
            session_timeout: Duration::from_secs(10),
            agent_reregister_timeout: Duration::from_mins(10),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MasterTimer {
    /// The ping round of one agent is over: count a miss if it did not answer, ping again.
    Ping(AgentId),
    /// The periodic allocation over all agents.
    BatchAllocation,
    /// An event-triggered allocation, merged with any others pending.
    Allocate,
    /// An offer outstanding for `offer_timeout`: rescind it.
    OfferTimeout(OfferId),
    /// Time to tell the coordinator this master is alive.
    Heartbeat,
    /// The session may have lapsed.
    Session,
    /// Agents expected back after a failover had their time.
    ReregisterTimeout,
    /// A disconnected framework's failover timeout may be over.
    FrameworkFailover(FrameworkId),
}

pub struct Master {
    config: MasterConfig,
    agents: agents::Registry,
    frameworks: frameworks::Registry,
    offers: offers::Offers,
    tasks: tasks::Tasks,
    allocator: Box<dyn Allocator + Send>,
    /// Agents of the pending event-triggered allocation, if one is pending.
    pending: Option<Candidates>,
    /// Reused across cycles.
    allocations: Vec<Allocation>,
    /// A broken rule noticed while handling an event (an illegal task transition).
    violation: Option<String>,
    /// Tasks of partition-aware frameworks on agents marked unreachable.
    unreachable: tasks::Unreachable,
    /// Tasks the master itself is killing (adopted ones: found on an agent that came back
    /// after their framework was told they were lost, or of a removed framework), by
    /// agent: the kill is sent again at each of the agent's ping rounds until the task
    /// ends, as a kill can be lost on the way.
    killing: std::collections::BTreeSet<(AgentId, FrameworkId, crate::proto::TaskId)>,
    failover: failover::Failover,
}

pub(crate) type MasterCtx<'a> = Ctx<'a, Msg, MasterTimer>;

impl Master {
    /// A master with the allocator its configuration names; `Err` if there is no such
    /// allocator.
    pub fn new(config: MasterConfig) -> Result<Master, String> {
        let mut allocator = allocator::build(&config.allocator, config.allocator_config.clone())
            .ok_or_else(|| format!("no allocator is named \"{}\"", config.allocator))?;
        for role in &config.roles {
            allocator.set_weight(&role.name, role.weight);
            if let Some(quota) = &role.quota {
                allocator.set_quota(&role.name, quota.clone());
            }
        }
        Ok(Master {
            agents: agents::Registry::default(),
            frameworks: frameworks::Registry::default(),
            offers: offers::Offers::default(),
            tasks: tasks::Tasks::default(),
            allocator,
            pending: None,
            allocations: Vec::new(),
            violation: None,
            unreachable: tasks::Unreachable::default(),
            killing: std::collections::BTreeSet::new(),
            failover: failover::Failover::new(config.coordinator),
            config,
        })
    }

    /// Agents ever registered.
    pub fn agent_count(&self) -> usize {
        self.agents.len()
    }

    pub fn agent_info(&self, agent: AgentId) -> &AgentInfo {
        self.agents.info(agent)
    }

    pub fn agent_health(&self, agent: AgentId) -> &Health {
        self.agents.health(agent)
    }

    pub fn framework_count(&self) -> usize {
        self.frameworks.len()
    }

    pub fn framework(&self, id: FrameworkId) -> &FrameworkEntry {
        self.frameworks.get(id)
    }

    pub fn outstanding_offers(&self) -> usize {
        self.offers.outstanding()
    }

    /// Tasks the master currently knows of.
    pub fn known_tasks(&self) -> usize {
        self.tasks.len()
    }

    /// What the master knows of a task: its agent, its state, and whether the master took
    /// it on to kill it (an adopted task).
    pub fn task(
        &self,
        framework: FrameworkId,
        task: crate::proto::TaskId,
    ) -> Option<(AgentId, crate::proto::TaskState, bool)> {
        self.tasks
            .get(framework, task)
            .map(|t| (t.agent, t.state, t.adopted))
    }

    /// Tasks the master is killing itself that have not ended yet.
    pub fn killing(&self) -> usize {
        self.killing
            .iter()
            .filter(|&&(agent, framework, task)| {
                self.tasks
                    .get(framework, task)
                    .is_some_and(|t| t.adopted && t.agent == agent && !t.state.is_terminal())
            })
            .count()
    }

    fn publish(ctx: &mut MasterCtx<'_>, event: Event) {
        ctx.publish(Msg::Event(Box::new(event)));
    }

    /// Asks for an allocation over `candidates` as soon as the current event is handled;
    /// requests made before it runs merge into one.
    fn trigger_allocation(&mut self, ctx: &mut MasterCtx<'_>, candidates: Candidates) {
        let merged = match (self.pending.take(), candidates) {
            (None, c) => c,
            (Some(Candidates::All), _) | (_, Candidates::All) => Candidates::All,
            (Some(Candidates::Some(mut a)), Candidates::Some(b)) => {
                a.extend(b);
                a.sort_unstable();
                a.dedup();
                Candidates::Some(a)
            }
        };
        self.pending = Some(merged);
        ctx.set_timer(MasterTimer::Allocate, ctx.now());
    }

    /// Runs one allocation cycle and sends the resulting offers, one message per framework.
    fn allocate(&mut self, ctx: &mut MasterCtx<'_>, candidates: Candidates) {
        let now = ctx.now();
        if self.allocation_held(now) {
            return;
        }
        let mut allocations = std::mem::take(&mut self.allocations);
        self.allocator
            .allocate(now, &candidates, ctx.rng(), &mut allocations);
        // Group by framework, in the order each first appears.
        let mut batches: Vec<(FrameworkId, Vec<Offer>)> = Vec::new();
        let mut batch_of: Vec<Option<usize>> = vec![None; self.frameworks.len()];
        for Allocation {
            framework,
            agent,
            resources,
        } in allocations.drain(..)
        {
            let id = self.offers.create(offers::OfferEntry {
                framework,
                agent,
                resources: resources.clone(),
            });
            let info = self.agents.info_mut(agent);
            info.offered += &resources;
            info.offers.push(id);
            self.frameworks.get_mut(framework).offers.insert(id);
            Self::publish(
                ctx,
                Event::OfferMade {
                    offer: id,
                    framework,
                    agent,
                    resources: resources.clone(),
                },
            );
            if let Some(timeout) = self.config.offer_timeout {
                ctx.set_timer_after(MasterTimer::OfferTimeout(id), timeout);
            }
            let b = *batch_of[framework.index()].get_or_insert_with(|| {
                batches.push((framework, Vec::new()));
                batches.len() - 1
            });
            let call = self.frameworks.get(framework).last_call;
            batches[b].1.push(Offer {
                id,
                agent,
                resources,
                call,
            });
        }
        self.allocations = allocations;
        for (framework, offers) in batches {
            let node = self.frameworks.get(framework).node;
            ctx.send(node, Msg::Offers(Box::new(offers)));
        }
    }

    /// The agents the last event changed must be healthy by the rules and their books must
    /// balance: checked for just those agents, so the cost follows the work done.
    fn check_touched_agents(&self) -> Result<(), String> {
        for &agent in self.agents.health_touched() {
            let health = self.agents.health(agent);
            // An unreachable agent's address may belong to its machine's next agent.
            if health.state == AgentState::Active && self.agents.by_node(health.node) != Some(agent) {
                return Err(format!(
                    "agent {agent} at {} is not found by its own address",
                    health.node
                ));
            }
            if health.state == AgentState::Active
                && health.missed_pings >= self.config.max_agent_ping_timeouts
                && !self.marking(agent)
            {
                return Err(format!(
                    "agent {agent} missed {} pings (the limit is {}) and is not being marked unreachable",
                    health.missed_pings, self.config.max_agent_ping_timeouts
                ));
            }
        }
        for &agent in self.agents.books_touched() {
            let info = self.agents.info(agent);
            let mut offered = crate::resources::Resources::new();
            for id in &info.offers {
                match self.offers.get(*id) {
                    Some(offer) if offer.agent == agent => offered += &offer.resources,
                    _ => {
                        return Err(format!(
                            "agent {} lists offer {id:?}, which is not outstanding there",
                            info.name
                        ));
                    }
                }
            }
            self.agents.check(agent, &offered)?;
        }
        Ok(())
    }
}

impl Process for Master {
    type Msg = Msg;
    type Timer = MasterTimer;

    fn on_start(&mut self, ctx: &mut MasterCtx<'_>) {
        match self.config.coordinator {
            Some(coordinator) => self.contend(ctx, coordinator),
            None => ctx.set_timer_after(
                MasterTimer::BatchAllocation,
                self.config.allocator_config.allocation_interval,
            ),
        }
    }

    fn on_message(&mut self, ctx: &mut MasterCtx<'_>, from: NodeId, msg: Msg) {
        self.agents.clear_touched();
        if Some(from) == self.config.coordinator {
            return self.coordinator_says(ctx, from, msg);
        }
        if !self.is_leading() && !matches!(msg, Msg::Operator(_)) {
            return; // a standby answers nobody
        }
        match msg {
            // From agents.
            Msg::RegisterAgent(register) => self.register_agent(ctx, from, *register),
            Msg::ReregisterAgent(register) => self.reregister_agent(ctx, from, *register),
            Msg::Pong => self.pong(from),
            Msg::AgentUpdate(update) => self.agent_update(ctx, from, *update),
            // From frameworks.
            Msg::RegisterFramework(register) => self.register_framework(ctx, from, *register),
            Msg::Accept(accept) => self.accept(ctx, from, *accept),
            Msg::Decline {
                offer,
                refuse_seconds,
            } => self.decline(ctx, from, offer, refuse_seconds.get()),
            Msg::Suppress { call } => self.suppress(from, call),
            Msg::Revive { call } => self.revive(ctx, from, call),
            Msg::UpdateFramework(update) => self.update_framework(from, *update),
            Msg::Kill { task } => self.kill(ctx, from, task),
            Msg::Acknowledge { agent, task, uuid } => self.acknowledge(ctx, from, agent, task, uuid),
            Msg::Reconcile(tasks) => self.reconcile(ctx, from, &tasks),
            // From operators.
            Msg::Operator(call) => self.operator(ctx, *call),
            // Not for the master.
            Msg::AgentRegistered { .. }
            | Msg::Ping
            | Msg::RunTask(_)
            | Msg::KillTask { .. }
            | Msg::AgentAck { .. }
            | Msg::FrameworkRegistered { .. }
            | Msg::FrameworkRemoved { .. }
            | Msg::Offers(_)
            | Msg::Rescind { .. }
            | Msg::Update(_)
            | Msg::Reconciled(_)
            | Msg::Submit(_)
            | Msg::Event(_)
            | Msg::Contend { .. }
            | Msg::Heartbeat { .. }
            | Msg::HeartbeatAck { .. }
            | Msg::SessionExpired { .. }
            | Msg::Watch
            | Msg::LeaderIs { .. }
            | Msg::LeaderAck { .. }
            | Msg::RegistryRead { .. }
            | Msg::RegistrySnapshot { .. }
            | Msg::RegistryWrite(_)
            | Msg::RegistryAck { .. }
            | Msg::ReconcileTasks(_) => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut MasterCtx<'_>, timer: MasterTimer) {
        self.agents.clear_touched();
        match timer {
            MasterTimer::Heartbeat => self.heartbeat(ctx),
            MasterTimer::Session => self.session_check(ctx),
            // Timers armed before this master gave leadership up find nothing to do.
            _ if !self.is_leading() => {}
            MasterTimer::ReregisterTimeout => self.reregister_timed_out(ctx),
            MasterTimer::Ping(agent) => self.ping_round(ctx, agent),
            MasterTimer::BatchAllocation => {
                // The batch covers every agent, so a pending trigger is served by it.
                self.pending = None;
                ctx.cancel_timer(MasterTimer::Allocate);
                self.allocate(ctx, Candidates::All);
                ctx.set_timer_after(
                    MasterTimer::BatchAllocation,
                    self.config.allocator_config.allocation_interval,
                );
            }
            MasterTimer::Allocate => {
                if let Some(candidates) = self.pending.take() {
                    self.allocate(ctx, candidates);
                }
            }
            MasterTimer::OfferTimeout(offer) => self.offer_timed_out(ctx, offer),
            MasterTimer::FrameworkFailover(framework) => self.failover_timed_out(ctx, framework),
        }
    }

    fn on_exited(&mut self, ctx: &mut MasterCtx<'_>, peer: NodeId) {
        self.agents.clear_touched();
        if self.is_leading() {
            self.framework_exited(ctx, peer);
        }
    }

    fn claims_leadership(&self) -> bool {
        self.is_leading()
    }

    fn check_invariants(&self) -> Result<(), String> {
        if let Some(v) = &self.violation {
            return Err(v.clone());
        }
        self.check_touched_agents()?;
        self.allocator.check_invariants()
    }
}

#[cfg(test)]
mod tests;
