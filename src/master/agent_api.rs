//! What agents ask of the master: registration, pongs, task status updates; and what the
//! master does when an agent falls silent.

use std::collections::BTreeSet;

use super::agents::AgentState;
use super::tasks::TaskEntry;
use super::{Master, MasterCtx, MasterTimer};
use crate::allocator::Candidates;
use crate::ids::{AgentId, FrameworkId, NodeId};
use crate::proto::{
    Event, Msg, OfferEnd, Reason, RegisterAgent, RegistryOp, ReportedTask, ReregisterAgent, StatusUpdate,
    TaskId, TaskState,
};
use crate::resources::Resources;

impl Master {
    pub(super) fn register_agent(&mut self, ctx: &mut MasterCtx<'_>, from: NodeId, register: RegisterAgent) {
        let RegisterAgent {
            name,
            resources,
            boot,
        } = register;
        // A machine that rebooted comes back as a new agent: the old one is gone, and so
        // are its tasks.
        if let Some(old) = self.agents.by_node(from)
            && self.agents.info(old).boot != boot
        {
            self.machine_rebooted(old);
            match self.agents.health(old).state {
                AgentState::Active => self.mark_unreachable_now(ctx, old),
                // Expected back after a failover, it rebooted instead.
                AgentState::Recovered => {
                    self.expect_no_more(ctx, old);
                    self.agent_back();
                }
                AgentState::Admitting => self.forget_admission(ctx, old),
                AgentState::Unreachable { .. } => {}
            }
            // Tasks that ran on as unreachable died with the machine.
            self.forget_unreachable(ctx, old);
        }
        self.admit(ctx, from, name, resources, boot, &[]);
    }

    /// Registers the agent at `from` (a new agent unless that address has one already),
    /// adopting and killing the tasks it reports.
    fn admit(
        &mut self,
        ctx: &mut MasterCtx<'_>,
        from: NodeId,
        name: String,
        resources: Resources,
        boot: u64,
        tasks: &[ReportedTask],
    ) {
        let (agent, is_new) = self
            .agents
            .register(from, name, resources.clone(), boot, ctx.now());
        if is_new {
            return self.admit_when_written(ctx, agent, tasks);
        }
        match self.agents.health(agent).state {
            // Still waiting for the registry: the agent will ask again.
            AgentState::Admitting => {}
            // Admitted in the registry by a leader that failed before answering: back, with
            // no tasks (it never knew its id).
            AgentState::Recovered => {
                ctx.send(from, Msg::AgentRegistered { agent });
                self.recover_agent(ctx, agent, resources, &[]);
            }
            _ => ctx.send(from, Msg::AgentRegistered { agent }),
        }
    }

    /// A new agent the registry now has: it hears its id and joins the cluster.
    pub(super) fn admitted(&mut self, ctx: &mut MasterCtx<'_>, agent: AgentId, tasks: &[ReportedTask]) {
        let health = self.agents.health_mut(agent);
        health.state = AgentState::Active;
        let node = health.node;
        ctx.send(node, Msg::AgentRegistered { agent });
        let info = self.agents.info(agent);
        let (name, resources) = (info.name.clone(), info.total.clone());
        self.bring_up(ctx, agent, name, resources, tasks);
    }

    /// An agent (new, or back from unreachable) joins the cluster: observers hear of it,
    /// the tasks it reports are adopted, its resources go to the allocator, pings begin and
    /// an allocation over it is asked for.
    fn bring_up(
        &mut self,
        ctx: &mut MasterCtx<'_>,
        agent: AgentId,
        name: String,
        resources: Resources,
        tasks: &[ReportedTask],
    ) {
        Self::publish(
            ctx,
            Event::AgentAdded {
                agent,
                name,
                resources: resources.clone(),
            },
        );
        // Frameworks this master does not know, of tasks running or ended there: known from
        // now on, so that they are removed if they never register (their agents' updates
        // are then acknowledged, not sent again for good).
        let node = self.agents.health(agent).node;
        for t in tasks {
            self.reported_framework(ctx, t, node);
        }
        let mut used = self.take_back(ctx, agent, tasks);
        used.extend(self.adopt(ctx, agent, tasks));
        self.allocator.add_agent(agent, &resources, &used);
        self.ping(ctx, agent);
        self.trigger_allocation(ctx, Candidates::Some(vec![agent]));
    }

    /// A task on `agent` holding `resources` is over: they go back to the agent's books and
    /// the allocator.
    fn release(
        &mut self,
        ctx: &MasterCtx<'_>,
        agent: AgentId,
        framework: FrameworkId,
        task: TaskId,
        resources: &Resources,
    ) {
        let info = self.agents.info_mut(agent);
        info.used -= resources;
        info.tasks.remove(&(framework, task));
        self.allocator
            .recover(framework, agent, resources, None, ctx.now());
    }

    /// An agent that registered before registers again, with the tasks it still has.
    ///
    /// - Still active (its process restarted within the ping timeout): tasks the master
    ///   launched there that it does not report never reached it and are lost; tasks it
    ///   reports that the master does not know are killed.
    /// - Unreachable (partitioned, or restarted too late): it is admitted again, as Mesos
    ///   does since 1.1; its frameworks were told its tasks were lost, so the tasks still
    ///   running there are adopted and killed.
    /// - Unknown (an id this master never gave): registered as a new agent, its tasks
    ///   adopted and killed.
    pub(super) fn reregister_agent(
        &mut self,
        ctx: &mut MasterCtx<'_>,
        from: NodeId,
        register: ReregisterAgent,
    ) {
        let ReregisterAgent {
            agent,
            name,
            resources,
            tasks,
        } = register;
        let known = agent.index() < self.agents.len()
            && self.agents.info(agent).name == name
            && self.agents.by_node(from) == Some(agent);
        if !known {
            if self.agents.by_node(from).is_none() {
                self.admit(ctx, from, name, resources, u64::MAX, &tasks);
            }
            return;
        }
        if self.marking(agent) || self.agents.health(agent).state == AgentState::Admitting {
            // Mesos ignores an agent being marked unreachable or admitted; it tries again.
            return;
        }
        ctx.send(from, Msg::AgentRegistered { agent });
        if self.agents.health(agent).state == AgentState::Recovered {
            return self.recover_agent(ctx, agent, resources, &tasks);
        }
        if self.agents.is_active(agent) {
            self.agents.health_mut(agent).pong();
            let reported: BTreeSet<(FrameworkId, TaskId)> =
                tasks.iter().map(|t| (t.framework, t.task)).collect();
            let missing: Vec<(FrameworkId, TaskId)> = self
                .agents
                .info(agent)
                .tasks
                .iter()
                .filter(|id| !reported.contains(id))
                .copied()
                .collect();
            // The agent is asked about them: its registration may have left before their
            // launch arrived. Those it never got it reports ended (a partition-aware
            // framework hears TASK_DROPPED, as Mesos says).
            let ask: Vec<(FrameworkId, TaskId, TaskState)> = missing
                .into_iter()
                .filter(|&(framework, task)| self.tasks.get(framework, task).is_some())
                .map(|(framework, task)| {
                    let state = if self.frameworks.get(framework).partition_aware {
                        TaskState::Dropped
                    } else {
                        TaskState::Lost
                    };
                    (framework, task, state)
                })
                .collect();
            if !ask.is_empty() {
                ctx.send(from, Msg::ReconcileTasks(Box::new(ask)));
            }
            for t in &tasks {
                if !t.state.is_terminal() && self.tasks.get(t.framework, t.task).is_none() {
                    ctx.send(
                        from,
                        Msg::KillTask {
                            framework: t.framework,
                            task: t.task,
                        },
                    );
                }
            }
            return;
        }
        self.agents.reactivate(agent);
        self.persist(
            ctx,
            RegistryOp::AgentReachable {
                id: agent,
                reachable: true,
            },
        );
        self.bring_up(ctx, agent, name, resources, &tasks);
    }

    /// An agent the registry listed registers with the new leader: its tasks are its
    /// frameworks' again (frameworks that have not registered again yet are known by id and
    /// role, and offered nothing), its resources go to the allocator, pings begin.
    fn recover_agent(
        &mut self,
        ctx: &mut MasterCtx<'_>,
        agent: AgentId,
        resources: Resources,
        tasks: &[ReportedTask],
    ) {
        self.agents.reactivate(agent);
        let node = self.agents.health(agent).node;
        let mut used = Vec::new();
        let mut removed = Vec::new();
        for t in tasks {
            if self.tasks.get(t.framework, t.task).is_some() {
                continue;
            }
            if t.framework.index() < self.frameworks.len() && self.frameworks.get(t.framework).removed {
                // Its framework was removed while the agent was away: killed now.
                removed.push(t.clone());
                continue;
            }
            self.reported_framework(ctx, t, node).tasks.insert(t.task);
            let entry = TaskEntry {
                agent,
                resources: t.resources.clone(),
                state: t.state,
                last_uuid: None,
                adopted: false,
            };
            // Observers hear each task's state from the new leader, as Mesos's operator API
            // subscribers get a snapshot: a task may have ended while no master led.
            Self::publish_task(ctx, t.framework, t.task, t.state);
            if t.state.is_terminal() {
                // Ended, its update not yet acknowledged: known until it is, holding nothing.
                self.tasks.insert(t.framework, t.task, entry);
                continue;
            }
            self.hold_task(agent, t.framework, t.task, entry);
            used.push((t.framework, t.resources.clone()));
        }
        used.extend(self.adopt(ctx, agent, &removed));
        self.agents.info_mut(agent).total = resources.clone();
        self.allocator.add_agent(agent, &resources, &used);
        Self::publish(ctx, Event::AgentRecovered { agent });
        self.agent_back();
        self.ping(ctx, agent);
        self.trigger_allocation(ctx, Candidates::Some(vec![agent]));
    }

    /// The framework of a task an agent reports, made known by id, role, partition-awareness
    /// and failover timeout (and to the allocator, inactive) if it has not registered with
    /// this master. Learned after the re-registration period, it has its failover timeout
    /// from now to register.
    fn reported_framework(
        &mut self,
        ctx: &mut MasterCtx<'_>,
        t: &ReportedTask,
        node: NodeId,
    ) -> &mut super::frameworks::FrameworkEntry {
        let entry = self.frameworks.known(t.framework, node);
        if !entry.allocated {
            entry.allocated = true;
            entry.role = t.role.clone();
            entry.partition_aware = t.partition_aware;
            entry.failover_timeout = t.failover_timeout;
            let name = format!("{}", t.framework);
            self.allocator.add_framework(t.framework, &name, &t.role);
            self.allocator.set_framework_active(t.framework, false);
            if !self.recovering() {
                self.arm_failover(ctx, t.framework, t.failover_timeout);
            }
        }
        self.frameworks.get_mut(t.framework)
    }

    /// An agent back from unreachable reports its tasks: those of partition-aware
    /// frameworks that were unreachable there run on and are theirs again (the framework
    /// hears they run); those it no longer has are gone. Returns what the tasks taken back
    /// hold, for the allocator.
    ///
    /// A master that took over with the agent already unreachable does not know which of
    /// its tasks were: it takes back every task of a partition-aware framework the agent
    /// reports (Mesos re-adds them so), and the rest are adopted and killed.
    fn take_back(
        &mut self,
        ctx: &mut MasterCtx<'_>,
        agent: AgentId,
        tasks: &[ReportedTask],
    ) -> Vec<(FrameworkId, Resources)> {
        let unknown_fate = self.take_unreachable_before(agent);
        let node = self.agents.health(agent).node;
        let mut used = Vec::new();
        for t in tasks {
            let key = (t.framework, t.task);
            if t.state.is_terminal() {
                continue;
            }
            let resources = match self.unreachable.take(key, agent) {
                Some(resources) => resources,
                None if unknown_fate
                    && t.partition_aware
                    && self.tasks.get(t.framework, t.task).is_none() =>
                {
                    self.reported_framework(ctx, t, node);
                    t.resources.clone()
                }
                None => continue,
            };
            let entry = TaskEntry {
                agent,
                resources: resources.clone(),
                state: t.state,
                last_uuid: None,
                adopted: false,
            };
            self.hold_task(agent, t.framework, t.task, entry);
            self.frameworks.get_mut(t.framework).tasks.insert(t.task);
            used.push((t.framework, resources));
            let why = (Reason::AgentReregistered, "its agent registered again");
            self.tell_task(ctx, agent, t.framework, t.task, t.state, why);
        }
        self.forget_unreachable(ctx, agent);
        used
    }

    /// Records a task on `agent` that holds its resources there.
    fn hold_task(&mut self, agent: AgentId, framework: FrameworkId, task: TaskId, entry: TaskEntry) {
        let info = self.agents.info_mut(agent);
        info.used += &entry.resources;
        info.tasks.insert((framework, task));
        self.tasks.insert(framework, task, entry);
    }

    /// The tasks still unreachable on `agent` are gone: their frameworks hear so.
    fn forget_unreachable(&mut self, ctx: &mut MasterCtx<'_>, agent: AgentId) {
        for (framework, task) in self.unreachable.take_agent(agent) {
            let why = (Reason::AgentRestarted, "its agent came back without it");
            self.tell_task(ctx, agent, framework, task, TaskState::Gone, why);
        }
    }

    /// Tells observers that a task is now in `state`.
    fn publish_task(ctx: &mut MasterCtx<'_>, framework: FrameworkId, task: TaskId, state: TaskState) {
        Self::publish(
            ctx,
            Event::TaskUpdated {
                framework,
                task,
                state,
            },
        );
    }

    /// Tells observers and the task's framework (an update it need not acknowledge) that a
    /// task on `agent` is now in `state`, for `why`.
    fn tell_task(
        &self,
        ctx: &mut MasterCtx<'_>,
        agent: AgentId,
        framework: FrameworkId,
        task: TaskId,
        state: TaskState,
        (reason, message): (Reason, &str),
    ) {
        Self::publish_task(ctx, framework, task, state);
        let update = StatusUpdate {
            framework,
            task,
            agent: Some(agent),
            state,
            reason: Some(reason),
            message: message.to_owned(),
            uuid: None,
        };
        let entry = self.frameworks.get(framework);
        if entry.connected {
            ctx.send(entry.node, Msg::Update(Box::new(update)));
        }
    }

    /// Takes on the tasks an agent reports that no framework expects any more, and kills
    /// those still running; returns what they hold, for the allocator.
    fn adopt(
        &mut self,
        ctx: &mut MasterCtx<'_>,
        agent: AgentId,
        tasks: &[ReportedTask],
    ) -> Vec<(FrameworkId, Resources)> {
        let mut used = Vec::new();
        for t in tasks {
            if t.state.is_terminal() || self.tasks.get(t.framework, t.task).is_some() {
                continue;
            }
            let entry = TaskEntry {
                agent,
                resources: t.resources.clone(),
                state: TaskState::Killing,
                last_uuid: None,
                adopted: true,
            };
            self.hold_task(agent, t.framework, t.task, entry);
            used.push((t.framework, t.resources.clone()));
            self.kill_adopted(ctx, agent, t.framework, t.task);
        }
        used
    }

    /// Tells a task's framework (and observers) that it is lost, and forgets it. Its
    /// resources are the caller's to give back.
    fn lose_task(
        &mut self,
        ctx: &mut MasterCtx<'_>,
        agent: AgentId,
        framework: FrameworkId,
        task: TaskId,
        reason: Reason,
        message: &str,
    ) {
        if self.tasks.remove(framework, task).is_none() {
            return;
        }
        self.frameworks.get_mut(framework).tasks.remove(&task);
        self.tell_task(ctx, agent, framework, task, TaskState::Lost, (reason, message));
    }

    /// A partition-aware framework's task on a lost agent: it may run on. The framework
    /// hears it is unreachable; the master keeps it aside in case the agent comes back.
    fn unreach_task(
        &mut self,
        ctx: &mut MasterCtx<'_>,
        agent: AgentId,
        framework: FrameworkId,
        task: TaskId,
    ) {
        let Some(entry) = self.tasks.remove(framework, task) else {
            return;
        };
        if entry.state.is_terminal() {
            // Its end is known; only the acknowledgement was missing.
            self.frameworks.get_mut(framework).tasks.remove(&task);
            return;
        }
        self.frameworks.get_mut(framework).tasks.remove(&task);
        self.unreachable.insert((framework, task), agent, entry.resources);
        let why = (Reason::AgentUnreachable, "the agent stopped answering pings");
        self.tell_task(ctx, agent, framework, task, TaskState::Unreachable, why);
    }

    /// Acknowledges an agent's update in place of a framework (one that no framework will).
    fn acknowledge_itself(ctx: &mut MasterCtx<'_>, agent: NodeId, update: &StatusUpdate) {
        if let Some(uuid) = update.uuid {
            let (framework, task) = (update.framework, update.task);
            ctx.send(
                agent,
                Msg::AgentAck {
                    framework,
                    task,
                    uuid,
                },
            );
        }
    }

    pub(super) fn pong(&mut self, from: NodeId) {
        if let Some(agent) = self.agents.by_node(from) {
            self.agents.pong(agent);
        }
    }

    pub(super) fn ping(&mut self, ctx: &mut MasterCtx<'_>, agent: AgentId) {
        let health = self.agents.health_mut(agent);
        health.pinged = true;
        ctx.send(health.node, Msg::Ping);
        ctx.set_timer_after(MasterTimer::Ping(agent), self.config.agent_ping_timeout);
    }

    /// The end of a ping round: a miss if the agent did not answer; unreachable after too
    /// many in a row; otherwise another ping.
    pub(super) fn ping_round(&mut self, ctx: &mut MasterCtx<'_>, agent: AgentId) {
        if agent.index() >= self.agents.len() {
            return; // armed before this master gave leadership up and led again
        }
        let max = self.config.max_agent_ping_timeouts;
        let health = self.agents.health_mut(agent);
        if health.state != AgentState::Active {
            return;
        }
        if health.ping_timed_out(max) {
            self.mark_unreachable(ctx, agent);
            return;
        }
        self.kill_again(ctx, agent);
        self.ping(ctx, agent);
    }

    /// An agent is unreachable (the registry says so already): its offers are rescinded,
    /// its tasks are lost, and its resources leave the allocator.
    pub(super) fn agent_unreachable(&mut self, ctx: &mut MasterCtx<'_>, agent: AgentId) {
        if !self.agents.is_active(agent) {
            return;
        }
        self.agents.health_mut(agent).state = AgentState::Unreachable { since: ctx.now() };
        Self::publish(ctx, Event::AgentUnreachable { agent });
        let info = self.agents.info_mut(agent);
        let offers = std::mem::take(&mut info.offers);
        let tasks = std::mem::take(&mut info.tasks);
        info.offered = Default::default();
        info.used = Default::default();
        for id in offers {
            if let Some(offer) = self.offers.remove(id) {
                let framework = self.frameworks.get_mut(offer.framework);
                framework.offers.remove(&id);
                let node = framework.node;
                ctx.send(node, Msg::Rescind { offer: id });
                Self::publish(
                    ctx,
                    Event::OfferEnded {
                        offer: id,
                        framework: offer.framework,
                        agent,
                        resources: offer.resources,
                        how: OfferEnd::Rescinded,
                    },
                );
            }
        }
        for (framework, task) in tasks {
            if self.tasks.get(framework, task).is_some_and(|t| t.adopted) {
                self.tasks.remove(framework, task);
                continue;
            }
            if self.frameworks.get(framework).partition_aware {
                self.unreach_task(ctx, agent, framework, task);
                continue;
            }
            self.lose_task(
                ctx,
                agent,
                framework,
                task,
                Reason::AgentUnreachable,
                "the agent stopped answering pings",
            );
        }
        self.allocator.remove_agent(agent);
    }

    /// An agent reports a task's new state: record it, give back the resources of a task that
    /// ended, and forward the update to the framework (which acknowledges through us).
    pub(super) fn agent_update(&mut self, ctx: &mut MasterCtx<'_>, from: NodeId, update: StatusUpdate) {
        let Some(agent) = self.agents.by_node(from) else {
            return;
        };
        if !self.agents.is_active(agent) {
            return;
        }
        let (framework, task) = (update.framework, update.task);
        if let Some(entry) = self.tasks.get(framework, task)
            && entry.adopted
        {
            if update.state.is_terminal() {
                let resources = entry.resources.clone();
                self.tasks.remove(framework, task);
                self.release(ctx, agent, framework, task, &resources);
                // Observers may still count it running: its framework's master, before a
                // failover, did.
                Self::publish_task(ctx, framework, task, update.state);
            }
            return Self::acknowledge_itself(ctx, from, &update);
        }
        if framework.index() >= self.frameworks.len() {
            return;
        }
        if self.frameworks.get(framework).removed {
            // Nobody else will: the master acknowledges the updates of a removed
            // framework's tasks, so that the agent stops sending them.
            return Self::acknowledge_itself(ctx, from, &update);
        }
        // An agent reports a task's latest state when it registers again, while its older
        // updates still wait for acknowledgement: those are passed on (the framework must
        // hear every update) without taking the task back in time.
        if let Some(entry) = self.tasks.get_mut(framework, task)
            && entry.last_uuid != update.uuid
            && !entry.outdated_by(update.state)
        {
            if entry.agent != agent {
                self.violation = Some(format!(
                    "an update for {framework}/{task:?} came from {agent}, but the task runs on {}",
                    entry.agent
                ));
                return;
            }
            if entry.state != update.state && !entry.state.may_become(update.state) {
                self.violation = Some(format!(
                    "task {framework}/{task:?} went from {} to {}",
                    entry.state.name(),
                    update.state.name()
                ));
                return;
            }
            let ends = update.state.is_terminal() && !entry.state.is_terminal();
            entry.state = update.state;
            entry.last_uuid = update.uuid;
            let resources = entry.resources.clone();
            Self::publish_task(ctx, framework, task, update.state);
            if ends {
                self.release(ctx, agent, framework, task, &resources);
            }
        } else if update.state.is_terminal() && self.tasks.get(framework, task).is_none() {
            // The end of a task this master does not know (it took over while the agent
            // was unreachable): observers that still count it running hear it ended.
            Self::publish_task(ctx, framework, task, update.state);
        }
        // A framework not registered with this master (yet) hears nothing: the agent
        // sends the update again until it is acknowledged.
        let entry = self.frameworks.get(framework);
        if entry.connected {
            ctx.send(entry.node, Msg::Update(Box::new(update)));
        }
    }
}
