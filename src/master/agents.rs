//! The master's table of agents, indexed by [`AgentId`].
//!
//! What the ping loop touches for every agent every 15 s (its address and health) lives in a
//! dense array of small records, apart from what is read rarely (name, resources), so that
//! health checks of tens of thousands of agents stay in cache.

use crate::ids::{AgentId, NodeId};
use crate::resources::Resources;
use crate::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentState {
    Active,
    /// Missed too many pings; its resources are not offered.
    Unreachable {
        since: Instant,
    },
}

/// The hot part of an agent's record.
#[derive(Clone, Copy, Debug)]
pub struct Health {
    pub node: NodeId,
    /// A ping is outstanding (no pong since the last ping).
    pub pinged: bool,
    /// Consecutive ping rounds without a pong.
    pub missed_pings: u32,
    pub state: AgentState,
}

impl Health {
    pub fn pong(&mut self) {
        self.pinged = false;
        self.missed_pings = 0;
    }

    /// Ends a ping round; true if the agent has now missed `max` rounds in a row.
    pub fn ping_timed_out(&mut self, max: u32) -> bool {
        if self.pinged {
            self.missed_pings += 1;
        }
        self.missed_pings >= max
    }
}

/// The cold part of an agent's record.
#[derive(Clone, Debug)]
pub struct AgentInfo {
    pub id: AgentId,
    pub name: String,
    pub total: Resources,
    pub registered_at: Instant,
}

#[derive(Default)]
pub struct Registry {
    info: Vec<AgentInfo>,
    health: Vec<Health>,
    /// Agent of each node, by node index.
    by_node: Vec<Option<AgentId>>,
}

impl Registry {
    /// Registers the agent at `node`; an agent that registers again keeps its id.
    pub fn register(
        &mut self,
        node: NodeId,
        name: String,
        total: Resources,
        now: Instant,
    ) -> (AgentId, bool) {
        if let Some(agent) = self.by_node(node) {
            return (agent, false);
        }
        let id = AgentId(u32::try_from(self.info.len()).expect("fewer than 2^32 agents"));
        self.info.push(AgentInfo {
            id,
            name,
            total,
            registered_at: now,
        });
        self.health.push(Health {
            node,
            pinged: false,
            missed_pings: 0,
            state: AgentState::Active,
        });
        if self.by_node.len() <= node.index() {
            self.by_node.resize(node.index() + 1, None);
        }
        self.by_node[node.index()] = Some(id);
        (id, true)
    }

    pub fn by_node(&self, node: NodeId) -> Option<AgentId> {
        self.by_node.get(node.index()).copied().flatten()
    }

    pub fn health(&self, agent: AgentId) -> &Health {
        &self.health[agent.index()]
    }

    pub fn health_mut(&mut self, agent: AgentId) -> &mut Health {
        &mut self.health[agent.index()]
    }

    pub fn info(&self, agent: AgentId) -> &AgentInfo {
        &self.info[agent.index()]
    }

    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.info.len()
    }
}
