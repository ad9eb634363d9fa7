//! The production master: the registry of agents and their health.
//!
//! Health checking follows Mesos: the master pings every registered agent each
//! `agent_ping_timeout` (15 s); an agent that has not answered `max_agent_ping_timeouts` (5)
//! pings in a row is marked unreachable.

mod agents;

use crate::ids::{AgentId, NodeId};
use crate::process::{Ctx, Process};
use crate::proto::{Msg, OperatorEvent, RegisterAgent};
use crate::time::Duration;

pub use agents::{AgentInfo, AgentState, Health};

#[derive(Clone, Debug, PartialEq)]
pub struct MasterConfig {
    pub agent_ping_timeout: Duration,
    pub max_agent_ping_timeouts: u32,
}

impl Default for MasterConfig {
    fn default() -> Self {
        MasterConfig {
            agent_ping_timeout: Duration::from_secs(15),
            max_agent_ping_timeouts: 5,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MasterTimer {
    /// The ping round of one agent is over: count a miss if it did not answer, ping again.
    Ping(AgentId),
}

pub struct Master {
    config: MasterConfig,
    agents: agents::Registry,
    /// The agent the last event changed, so that its record can be checked in O(1).
    touched: Option<AgentId>,
}

impl Master {
    pub fn new(config: MasterConfig) -> Master {
        Master {
            config,
            agents: agents::Registry::default(),
            touched: None,
        }
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
}

type MasterCtx<'a> = Ctx<'a, Msg, MasterTimer>;

impl Process for Master {
    type Msg = Msg;
    type Timer = MasterTimer;

    fn on_start(&mut self, _ctx: &mut MasterCtx<'_>) {}

    fn on_message(&mut self, ctx: &mut MasterCtx<'_>, from: NodeId, msg: Msg) {
        self.touched = self.agents.by_node(from);
        match msg {
            Msg::RegisterAgent(register) => {
                let RegisterAgent { name, resources } = *register;
                let (agent, is_new) = self
                    .agents
                    .register(from, name.clone(), resources.clone(), ctx.now());
                self.touched = Some(agent);
                ctx.send(from, Msg::AgentRegistered { agent });
                if is_new {
                    ctx.publish(Msg::Event(Box::new(OperatorEvent::AgentAdded {
                        agent,
                        name,
                        resources,
                    })));
                    self.ping(ctx, agent);
                }
            }
            Msg::Pong => {
                if let Some(agent) = self.agents.by_node(from) {
                    self.agents.health_mut(agent).pong();
                }
            }
            Msg::AgentRegistered { .. } | Msg::Ping | Msg::Event(_) => {} // not for the master
        }
    }

    fn check_invariants(&self) -> Result<(), String> {
        self.check_touched_agent()
    }

    fn on_timer(&mut self, ctx: &mut MasterCtx<'_>, timer: MasterTimer) {
        match timer {
            MasterTimer::Ping(agent) => {
                self.touched = Some(agent);
                let max = self.config.max_agent_ping_timeouts;
                let health = self.agents.health_mut(agent);
                if health.state != AgentState::Active {
                    return;
                }
                if health.ping_timed_out(max) {
                    health.state = AgentState::Unreachable { since: ctx.now() };
                    ctx.publish(Msg::Event(Box::new(OperatorEvent::AgentUnreachable { agent })));
                    return;
                }
                self.ping(ctx, agent);
            }
        }
    }
}

impl Master {
    /// The record of the agent the last event changed must be self-consistent.
    fn check_touched_agent(&self) -> Result<(), String> {
        let Some(agent) = self.touched else { return Ok(()) };
        let health = self.agents.health(agent);
        if self.agents.by_node(health.node) != Some(agent) {
            return Err(format!(
                "agent {agent} at {} is not found by its own address",
                health.node
            ));
        }
        if health.state == AgentState::Active && health.missed_pings >= self.config.max_agent_ping_timeouts {
            return Err(format!(
                "agent {agent} missed {} pings (the limit is {}) and is still active",
                health.missed_pings, self.config.max_agent_ping_timeouts
            ));
        }
        Ok(())
    }

    fn ping(&mut self, ctx: &mut MasterCtx<'_>, agent: AgentId) {
        let health = self.agents.health_mut(agent);
        health.pinged = true;
        ctx.send(health.node, Msg::Ping);
        ctx.set_timer_after(MasterTimer::Ping(agent), self.config.agent_ping_timeout);
    }
}

#[cfg(test)]
mod tests;
