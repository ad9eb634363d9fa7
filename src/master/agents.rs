//! The master's table of agents, indexed by [`AgentId`].
//!
//! What the ping loop touches for every agent every 15 s (its address and health) lives in a
//! dense array of small records, apart from what is read rarely, so that health checks of
//! tens of thousands of agents stay in cache.

use std::collections::BTreeSet;

use smallvec::SmallVec;

use crate::ids::{AgentId, FrameworkId, NodeId};
use crate::proto::{OfferId, TaskId};
use crate::resources::Resources;
use crate::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentState {
    Active,
    /// Missed too many pings; its resources are not offered and its tasks are lost.
    Unreachable {
        since: Instant,
    },
    /// Listed in the registry a new leading master read, and not registered with it yet:
    /// nothing of it is offered or pinged, and the tasks on it are not known.
    Recovered,
    /// New, and waiting for the registry to admit it: not answered, offered or pinged.
    Admitting,
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

/// The rest of an agent's record: what it has, and what of it is handed out.
#[derive(Clone, Debug)]
pub struct AgentInfo {
    pub id: AgentId,
    pub name: String,
    pub total: Resources,
    pub registered_at: Instant,
    /// The boot id of the agent process that registered it.
    pub boot: u64,
    /// Resources in outstanding offers.
    pub offered: Resources,
    /// Resources held by tasks the master launched here and has not seen end.
    pub used: Resources,
    pub offers: SmallVec<[OfferId; 2]>,
    pub tasks: BTreeSet<(FrameworkId, TaskId)>,
}

#[derive(Default)]
pub struct Registry {
    info: Vec<AgentInfo>,
    health: Vec<Health>,
    /// Agent of each node, by node index.
    by_node: Vec<Option<AgentId>>,
    /// Agents whose health or books changed since [`Registry::clear_touched`]: the
    /// invariants after an event check just these.
    health_touched: Vec<AgentId>,
    books_touched: Vec<AgentId>,
}

fn touch(list: &mut Vec<AgentId>, agent: AgentId) {
    if list.last() != Some(&agent) {
        list.push(agent);
    }
}

impl Registry {
    /// Registers the agent at `node` booted as `boot`: a registration retried by the same
    /// process keeps its id; any other gets a new one (and the address forgets the old).
    pub fn register(
        &mut self,
        node: NodeId,
        name: String,
        total: Resources,
        boot: u64,
        now: Instant,
    ) -> (AgentId, bool) {
        if let Some(agent) = self.by_node(node)
            && self.info[agent.index()].boot == boot
        {
            return (agent, false);
        }
        let id = self.push(node, name, total, boot, now, AgentState::Active);
        touch(&mut self.books_touched, id);
        (id, true)
    }

    /// Adds the next agent, at `node` (which it takes over from any earlier agent there).
    fn push(
        &mut self,
        node: NodeId,
        name: String,
        total: Resources,
        boot: u64,
        now: Instant,
        state: AgentState,
    ) -> AgentId {
        let id = AgentId(u32::try_from(self.info.len()).expect("fewer than 2^32 agents"));
        self.info.push(AgentInfo {
            id,
            name,
            total,
            registered_at: now,
            boot,
            offered: Resources::new(),
            used: Resources::new(),
            offers: SmallVec::new(),
            tasks: BTreeSet::new(),
        });
        self.health.push(Health {
            node,
            pinged: false,
            missed_pings: 0,
            state,
        });
        if self.by_node.len() <= node.index() {
            self.by_node.resize(node.index() + 1, None);
        }
        self.by_node[node.index()] = Some(id);
        touch(&mut self.health_touched, id);
        id
    }

    /// The agent is back: active, and its ping count starts over.
    pub fn reactivate(&mut self, agent: AgentId) {
        let health = self.health_mut(agent);
        health.state = AgentState::Active;
        health.pong();
    }

    /// Lists agent `id` (the next id) as the registry has it: recovered, to be registered
    /// again, or unreachable since `now`.
    pub fn recover(
        &mut self,
        node: NodeId,
        name: String,
        total: Resources,
        boot: u64,
        unreachable: bool,
        now: Instant,
    ) {
        let state = if unreachable {
            AgentState::Unreachable { since: now }
        } else {
            AgentState::Recovered
        };
        self.push(node, name, total, boot, now, state);
    }

    pub fn by_node(&self, node: NodeId) -> Option<AgentId> {
        self.by_node.get(node.index()).copied().flatten()
    }

    pub fn health(&self, agent: AgentId) -> &Health {
        &self.health[agent.index()]
    }

    pub fn health_mut(&mut self, agent: AgentId) -> &mut Health {
        touch(&mut self.health_touched, agent);
        &mut self.health[agent.index()]
    }

    /// The agent answered a ping: nothing an invariant watches can break, so the agent is
    /// not marked touched (pongs are most of a quiet cluster's events).
    pub fn pong(&mut self, agent: AgentId) {
        self.health[agent.index()].pong();
    }

    pub fn info(&self, agent: AgentId) -> &AgentInfo {
        &self.info[agent.index()]
    }

    pub fn info_mut(&mut self, agent: AgentId) -> &mut AgentInfo {
        touch(&mut self.books_touched, agent);
        &mut self.info[agent.index()]
    }

    /// Agents whose health changed since the last [`Registry::clear_touched`].
    pub fn health_touched(&self) -> &[AgentId] {
        &self.health_touched
    }

    /// Agents whose books (offers, used resources) changed since the last
    /// [`Registry::clear_touched`].
    pub fn books_touched(&self) -> &[AgentId] {
        &self.books_touched
    }

    pub fn clear_touched(&mut self) {
        self.health_touched.clear();
        self.books_touched.clear();
    }

    pub fn is_active(&self, agent: AgentId) -> bool {
        self.health
            .get(agent.index())
            .is_some_and(|h| h.state == AgentState::Active)
    }

    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.info.len()
    }

    /// An agent's books balance: its offers add up to what it has offered, and offered plus
    /// used fits in what it has.
    pub fn check(&self, agent: AgentId, offered_sum: &Resources) -> Result<(), String> {
        let info = &self.info[agent.index()];
        if *offered_sum != info.offered {
            return Err(format!(
                "agent {} has offers adding up to {offered_sum} but counts {} offered",
                info.name, info.offered
            ));
        }
        let handed_out = info.offered.clone() + &info.used;
        if !info.total.contains(&handed_out) {
            return Err(format!(
                "agent {} over-committed: {} offered + {} used exceeds its {}",
                info.name, info.offered, info.used, info.total
            ));
        }
        Ok(())
    }
}
