//! Tasks the master knows of: launched and not yet both terminal and acknowledged.

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
