//! The master's table of agents, indexed by [`AgentId`].

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

#[derive(Clone, Debug)]
pub struct AgentEntry {
    pub id: AgentId,
    pub node: NodeId,
    pub name: String,
    pub total: Resources,
    pub state: AgentState,
    /// A ping is outstanding (no pong since the last ping).
    pub pinged: bool,
    /// Consecutive ping rounds without a pong.
    pub missed_pings: u32,
}

impl AgentEntry {
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

#[derive(Default)]
pub struct Registry {
    entries: Vec<AgentEntry>,
    /// Agent of each node, by node index.
    by_node: Vec<Option<AgentId>>,
}

impl Registry {
    /// Registers the agent at `node`; an agent that registers again keeps its id.
    pub fn register(&mut self, node: NodeId, name: String, total: Resources) -> (AgentId, bool) {
        if let Some(agent) = self.by_node(node) {
            return (agent, false);
        }
        let id = AgentId(u32::try_from(self.entries.len()).expect("fewer than 2^32 agents"));
        self.entries.push(AgentEntry {
            id,
            node,
            name,
            total,
            state: AgentState::Active,
            pinged: false,
            missed_pings: 0,
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

    pub fn get_mut(&mut self, agent: AgentId) -> &mut AgentEntry {
        &mut self.entries[agent.index()]
    }

    pub fn entries(&self) -> &[AgentEntry] {
        &self.entries
    }
}
