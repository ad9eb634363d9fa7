//! The production master: the registry of agents and their health.
//!
//! Health checking follows Mesos: the master pings every registered agent each
//! `agent_ping_timeout` (15 s); an agent that has not answered `max_agent_ping_timeouts` (5)
//! pings in a row is marked unreachable.

mod agents;

use crate::ids::{AgentId, NodeId};
use crate::process::{Ctx, Process};
use crate::proto::{Msg, RegisterAgent};
use crate::time::Duration;

pub use agents::{AgentEntry, AgentState};

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
}

impl Master {
    pub fn new(config: MasterConfig) -> Master {
        Master {
            config,
            agents: agents::Registry::default(),
        }
    }

    pub fn agents(&self) -> &[AgentEntry] {
        self.agents.entries()
    }
}

type MasterCtx<'a> = Ctx<'a, Msg, MasterTimer>;

impl Process for Master {
    type Msg = Msg;
    type Timer = MasterTimer;

    fn on_start(&mut self, _ctx: &mut MasterCtx<'_>) {}

    fn on_message(&mut self, ctx: &mut MasterCtx<'_>, from: NodeId, msg: Msg) {
        match msg {
            Msg::RegisterAgent(register) => {
                let RegisterAgent { name, resources } = *register;
                let (agent, is_new) = self.agents.register(from, name, resources);
                ctx.send(from, Msg::AgentRegistered { agent });
                if is_new {
                    self.ping(ctx, agent);
                }
            }
            Msg::Pong => {
                if let Some(agent) = self.agents.by_node(from) {
                    self.agents.get_mut(agent).pong();
                }
            }
            Msg::AgentRegistered { .. } | Msg::Ping => {} // master-to-agent messages: ignore
        }
    }

    fn on_timer(&mut self, ctx: &mut MasterCtx<'_>, timer: MasterTimer) {
        match timer {
            MasterTimer::Ping(agent) => {
                let max = self.config.max_agent_ping_timeouts;
                let entry = self.agents.get_mut(agent);
                if entry.state != AgentState::Active {
                    return;
                }
                if entry.ping_timed_out(max) {
                    entry.state = AgentState::Unreachable { since: ctx.now() };
                    return;
                }
                self.ping(ctx, agent);
            }
        }
    }
}

impl Master {
    fn ping(&mut self, ctx: &mut MasterCtx<'_>, agent: AgentId) {
        let entry = self.agents.get_mut(agent);
        entry.pinged = true;
        ctx.send(entry.node, Msg::Ping);
        ctx.set_timer_after(MasterTimer::Ping(agent), self.config.agent_ping_timeout);
    }
}
