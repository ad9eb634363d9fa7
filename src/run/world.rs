//! Builds a simulated world from a scenario: the master, one agent per machine, and the
//! scenario's timed events queued as world actions.

use std::collections::BTreeMap;

use crate::agent::{Agent, AgentConfig};
use crate::ids::NodeId;
use crate::master::{Master, MasterConfig};
use crate::proto::Msg;
use crate::resources::Resources;
use crate::scenario::Scenario;
use crate::scenario::schema::Action;
use crate::sim::{Machine, NetworkConfig, Sim};
use crate::time::Instant;

pub struct World {
    pub sim: Sim<Msg>,
    pub master: NodeId,
    /// Agents by name, including those added by events.
    agents: BTreeMap<String, NodeId>,
    agent_template: AgentConfig,
    /// Timed actions, in the order they apply; an action's index is its external id.
    actions: Vec<(Instant, Action)>,
}

impl World {
    pub fn build(s: &Scenario) -> World {
        let network = NetworkConfig {
            latency_min: s.network.latency.min,
            latency_max: s.network.latency.max,
            drop_probability: s.network.drop_probability,
            duplicate_probability: s.network.duplicate_probability,
        };
        let mut sim = Sim::new(s.seed, network);
        let master_config = MasterConfig {
            agent_ping_timeout: s.master.agent_ping_timeout,
            max_agent_ping_timeouts: s.master.max_agent_ping_timeouts,
        };
        let master = sim.add_process("master", Master::new(master_config));
        let mut agent_template = AgentConfig::new("", Resources::new(), master);
        agent_template.master_ping_timeout = s
            .master
            .agent_ping_timeout
            .saturating_mul(u64::from(s.master.max_agent_ping_timeouts));
        let mut world = World {
            sim,
            master,
            agents: BTreeMap::new(),
            agent_template,
            actions: Vec::new(),
        };
        for class in &s.cluster {
            for n in 1..=class.count {
                world.add_agent(format!("{}-{n}", class.class), class.resources.clone());
            }
        }
        let mut order: Vec<usize> = (0..s.events.len()).collect();
        order.sort_by_key(|&i| (s.events[i].at, i));
        for i in order {
            let e = &s.events[i];
            let at = Instant::ZERO + e.at;
            world.sim.schedule_external(at, world.actions.len() as u64);
            world.actions.push((at, e.action()));
        }
        world
    }

    fn add_agent(&mut self, name: String, resources: Resources) -> NodeId {
        let mut config = self.agent_template.clone();
        config.name = name.clone();
        config.resources = resources.clone();
        let node = self.sim.add_process(name.clone(), Agent::new(config));
        self.sim.add_machine(node, Machine::new(name.clone(), resources));
        self.agents.insert(name, node);
        node
    }

    /// Applies the world action with external id `id`.
    pub fn apply(&mut self, id: u64) {
        let (_, action) = self.actions[id as usize].clone();
        match action {
            Action::AddAgent(add) => {
                self.add_agent(add.name, add.resources);
            }
            Action::RemoveAgent(name) => {
                if let Some(node) = self.agents.remove(&name) {
                    self.sim.crash(node);
                }
            }
            // Frameworks, weights and quotas act through the allocator, which comes next.
            Action::AddFramework(_)
            | Action::SetWeight(_)
            | Action::SetQuota(_)
            | Action::Suppress(_)
            | Action::Revive(_) => {}
        }
    }

    pub fn agent(&self, name: &str) -> Option<NodeId> {
        self.agents.get(name).copied()
    }
}
