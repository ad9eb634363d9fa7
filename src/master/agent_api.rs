//! What agents ask of the master: registration, pongs, task status updates; and what the
//! master does when an agent falls silent.

use super::agents::AgentState;
use super::{Master, MasterCtx, MasterTimer};
use crate::allocator::Candidates;
use crate::ids::{AgentId, NodeId};
use crate::proto::{Event, Msg, OfferEnd, Reason, RegisterAgent, StatusUpdate, TaskState};

impl Master {
    pub(super) fn register_agent(&mut self, ctx: &mut MasterCtx<'_>, from: NodeId, register: RegisterAgent) {
        let RegisterAgent { name, resources } = register;
        let (agent, is_new) = self
            .agents
            .register(from, name.clone(), resources.clone(), ctx.now());
        ctx.send(from, Msg::AgentRegistered { agent });
        if is_new {
            Self::publish(
                ctx,
                Event::AgentAdded {
                    agent,
                    name,
                    resources: resources.clone(),
                },
            );
            self.allocator.add_agent(agent, &resources, &[]);
            self.ping(ctx, agent);
            self.trigger_allocation(ctx, Candidates::Some(vec![agent]));
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
        let max = self.config.max_agent_ping_timeouts;
        let health = self.agents.health_mut(agent);
        if health.state != AgentState::Active {
            return;
        }
        if health.ping_timed_out(max) {
            self.mark_unreachable(ctx, agent);
            return;
        }
        self.ping(ctx, agent);
    }

    /// An agent missed too many pings: its offers are rescinded, its tasks are lost, and its
    /// resources leave the allocator.
    fn mark_unreachable(&mut self, ctx: &mut MasterCtx<'_>, agent: AgentId) {
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
            if self.tasks.remove(framework, task).is_none() {
                continue;
            }
            let entry = self.frameworks.get_mut(framework);
            entry.tasks.remove(&task);
            let node = entry.node;
            Self::publish(
                ctx,
                Event::TaskUpdated {
                    framework,
                    task,
                    state: TaskState::Lost,
                },
            );
            let update = StatusUpdate {
                framework,
                task,
                agent: Some(agent),
                state: TaskState::Lost,
                reason: Some(Reason::AgentUnreachable),
                message: "the agent stopped answering pings".to_owned(),
                uuid: None,
            };
            ctx.send(node, Msg::Update(Box::new(update)));
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
        if framework.index() >= self.frameworks.len() {
            return;
        }
        if let Some(entry) = self.tasks.get_mut(framework, task)
            && entry.last_uuid != update.uuid
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
            entry.state = update.state;
            entry.last_uuid = update.uuid;
            let resources = entry.resources.clone();
            Self::publish(
                ctx,
                Event::TaskUpdated {
                    framework,
                    task,
                    state: update.state,
                },
            );
            if update.state.is_terminal() {
                let info = self.agents.info_mut(agent);
                info.used -= &resources;
                info.tasks.remove(&(framework, task));
                self.allocator
                    .recover(framework, agent, &resources, None, ctx.now());
            }
        }
        let node = self.frameworks.get(framework).node;
        ctx.send(node, Msg::Update(Box::new(update)));
    }
}
