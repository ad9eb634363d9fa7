//! Tasks the master knows of: launched and not yet both terminal and acknowledged.

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::{AgentId, FrameworkId};
use crate::lookup::LookupMap;
use crate::proto::{TaskId, TaskState};
use crate::resources::Resources;

#[derive(Clone, Debug)]
pub struct TaskEntry {
    pub agent: AgentId,
    pub resources: Resources,
    pub state: TaskState,
    /// The last agent update applied, so a re-sent update is recognised.
    pub last_uuid: Option<u32>,
    /// Found on an agent that registered again, after its framework was told the task was
    /// lost: the master kills it and acknowledges its updates itself; it holds its
    /// resources until it ends, and frameworks and observers never hear of it again.
    pub adopted: bool,
}

impl TaskEntry {
    /// Whether an agent update to `state` is older than what the master knows: the task's
    /// end, learned from its agent's report rather than from an update (no update applied
    /// yet), while the agent still sends the updates before it.
    pub fn outdated_by(&self, state: TaskState) -> bool {
        self.last_uuid.is_none() && self.state.is_terminal() && !state.is_terminal()
    }
}

#[derive(Default)]
pub struct Tasks {
    /// Looked up by id; listings go through the framework's or agent's own ordered sets.
    table: LookupMap<(FrameworkId, TaskId), TaskEntry>,
}

impl Tasks {
    pub fn insert(&mut self, framework: FrameworkId, task: TaskId, entry: TaskEntry) {
        self.table.insert((framework, task), entry);
    }

    pub fn get(&self, framework: FrameworkId, task: TaskId) -> Option<&TaskEntry> {
        self.table.get(&(framework, task))
    }

    pub fn get_mut(&mut self, framework: FrameworkId, task: TaskId) -> Option<&mut TaskEntry> {
        self.table.get_mut(&(framework, task))
    }

    pub fn remove(&mut self, framework: FrameworkId, task: TaskId) -> Option<TaskEntry> {
        self.table.remove(&(framework, task))
    }

    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.table.len()
    }
}

/// Tasks of partition-aware frameworks on agents marked unreachable: they may run on, and
/// are taken back if their agent registers again. Looked up by task (reconciliation) and
/// by agent (its return), each without a scan.
#[derive(Default)]
pub struct Unreachable {
    by_task: BTreeMap<(FrameworkId, TaskId), (AgentId, Resources)>,
    by_agent: BTreeMap<AgentId, BTreeSet<(FrameworkId, TaskId)>>,
}

impl Unreachable {
    pub fn insert(&mut self, key: (FrameworkId, TaskId), agent: AgentId, resources: Resources) {
        self.by_task.insert(key, (agent, resources));
        self.by_agent.entry(agent).or_default().insert(key);
    }

    /// The agent an unreachable task ran on.
    pub fn agent_of(&self, key: (FrameworkId, TaskId)) -> Option<AgentId> {
        self.by_task.get(&key).map(|(a, _)| *a)
    }

    /// Takes the task out if it was unreachable on `agent`; returns what it holds.
    pub fn take(&mut self, key: (FrameworkId, TaskId), agent: AgentId) -> Option<Resources> {
        if self.agent_of(key)? != agent {
            return None;
        }
        Some(self.remove(key))
    }

    /// Takes out a task listed here; returns what it holds.
    fn remove(&mut self, key: (FrameworkId, TaskId)) -> Resources {
        let (agent, resources) = self.by_task.remove(&key).expect("listed");
        if let Some(set) = self.by_agent.get_mut(&agent) {
            set.remove(&key);
            if set.is_empty() {
                self.by_agent.remove(&agent);
            }
        }
        resources
    }

    /// Takes out every unreachable task of `framework`, in id order.
    pub fn take_framework(&mut self, framework: FrameworkId) -> Vec<(FrameworkId, TaskId)> {
        let range = (framework, TaskId(0))..=(framework, TaskId(u32::MAX));
        let keys: Vec<_> = self.by_task.range(range).map(|(k, _)| *k).collect();
        for &key in &keys {
            self.remove(key);
        }
        keys
    }

    /// Takes out every task unreachable on `agent`, in id order.
    pub fn take_agent(&mut self, agent: AgentId) -> Vec<(FrameworkId, TaskId)> {
        let keys: Vec<_> = self
            .by_agent
            .remove(&agent)
            .unwrap_or_default()
            .into_iter()
            .collect();
        for key in &keys {
            self.by_task.remove(key);
        }
        keys
    }
}
