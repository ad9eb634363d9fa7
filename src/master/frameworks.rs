//! The master's table of frameworks, indexed by [`FrameworkId`].

use std::collections::BTreeSet;

use crate::ids::{FrameworkId, NodeId};
use crate::proto::{OfferId, TaskId};
use crate::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct FrameworkEntry {
    pub id: FrameworkId,
    pub node: NodeId,
    pub name: String,
    pub role: String,
    pub failover_timeout: Duration,
    /// Its tasks on lost agents become unreachable, not lost.
    pub partition_aware: bool,
    pub registered_at: Instant,
    pub suppressed: bool,
    /// Outstanding offers, in the order they were made (ids grow).
    pub offers: BTreeSet<OfferId>,
    /// Tasks the master knows of for this framework.
    pub tasks: BTreeSet<TaskId>,
}

#[derive(Default)]
pub struct Registry {
    entries: Vec<FrameworkEntry>,
    by_node: Vec<Option<FrameworkId>>,
}

impl Registry {
    /// Registers the framework at `node`; a framework that registers again keeps its id.
    pub fn register(
        &mut self,
        node: NodeId,
        name: String,
        role: String,
        failover_timeout: Duration,
        partition_aware: bool,
        now: Instant,
    ) -> (FrameworkId, bool) {
        if let Some(id) = self.by_node(node) {
            return (id, false);
        }
        let id = FrameworkId(u32::try_from(self.entries.len()).expect("fewer than 2^32 frameworks"));
        self.entries.push(FrameworkEntry {
            id,
            node,
            name,
            role,
            failover_timeout,
            partition_aware,
            registered_at: now,
            suppressed: false,
            offers: BTreeSet::new(),
            tasks: BTreeSet::new(),
        });
        if self.by_node.len() <= node.index() {
            self.by_node.resize(node.index() + 1, None);
        }
        self.by_node[node.index()] = Some(id);
        (id, true)
    }

    pub fn by_node(&self, node: NodeId) -> Option<FrameworkId> {
        self.by_node.get(node.index()).copied().flatten()
    }

    pub fn get(&self, id: FrameworkId) -> &FrameworkEntry {
        &self.entries[id.index()]
    }

    pub fn get_mut(&mut self, id: FrameworkId) -> &mut FrameworkEntry {
        &mut self.entries[id.index()]
    }

    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}
