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
    /// The number of the last suppress or revive call applied (kept across registrations:
    /// the framework's numbers only grow).
    pub last_call: u32,
    /// Outstanding offers, in the order they were made (ids grow).
    pub offers: BTreeSet<OfferId>,
    /// Tasks the master knows of for this framework.
    pub tasks: BTreeSet<TaskId>,
    /// Registered with this master. After a failover, a framework known only from the
    /// tasks agents report is not, until it registers again: nothing is sent to it.
    pub connected: bool,
    /// Known to the allocator (a framework known only from its id is not).
    pub allocated: bool,
    /// Disconnected: removed at this time unless it registers again first.
    pub failover_deadline: Option<Instant>,
    /// Removed (away longer than its failover timeout): its tasks were killed, and it may
    /// not register again under its id.
    pub removed: bool,
}

#[derive(Default)]
pub struct Registry {
    entries: Vec<FrameworkEntry>,
    by_node: Vec<Option<FrameworkId>>,
    /// Ids below this were handed out by earlier leaders: new frameworks get ids above.
    reserved: u32,
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
        let len = u32::try_from(self.entries.len()).expect("fewer than 2^32 frameworks");
        let id = FrameworkId(len.max(self.reserved));
        let entry = self.known(id, node);
        entry.name = name;
        entry.role = role;
        entry.failover_timeout = failover_timeout;
        entry.partition_aware = partition_aware;
        entry.registered_at = now;
        entry.connected = true;
        self.attach(id, node);
        (id, true)
    }

    /// The framework that had id `id` registers again from `node` (with a new leading
    /// master, or after its scheduler failed over). Returns its entry.
    pub fn reregister(&mut self, id: FrameworkId, node: NodeId) -> &mut FrameworkEntry {
        let old = self.known(id, node).node;
        if self.by_node(old) == Some(id) {
            self.by_node[old.index()] = None;
        }
        self.attach(id, node);
        let entry = &mut self.entries[id.index()];
        entry.connected = true;
        entry
    }

    /// The entry for `id`, made (with entries for any lower ids) if there is none yet: a
    /// framework known only by its id, registered with no master here.
    pub fn known(&mut self, id: FrameworkId, node: NodeId) -> &mut FrameworkEntry {
        while self.entries.len() <= id.index() {
            let next = FrameworkId(self.entries.len() as u32);
            self.entries.push(FrameworkEntry {
                id: next,
                node,
                name: String::new(),
                role: String::new(),
                failover_timeout: Duration::ZERO,
                partition_aware: false,
                registered_at: Instant::ZERO,
                suppressed: false,
                last_call: 0,
                offers: BTreeSet::new(),
                tasks: BTreeSet::new(),
                connected: false,
                allocated: false,
                failover_deadline: None,
                removed: false,
            });
        }
        &mut self.entries[id.index()]
    }

    fn attach(&mut self, id: FrameworkId, node: NodeId) {
        self.entries[id.index()].node = node;
        if self.by_node.len() <= node.index() {
            self.by_node.resize(node.index() + 1, None);
        }
        self.by_node[node.index()] = Some(id);
    }

    /// Forgets the address of a removed framework: what registers from there next is a new
    /// framework.
    pub fn detach(&mut self, id: FrameworkId) {
        let node = self.entries[id.index()].node;
        if self.by_node(node) == Some(id) {
            self.by_node[node.index()] = None;
        }
    }

    /// Ids below `upto` were handed out before (the registry says so).
    pub fn reserve(&mut self, upto: u32) {
        self.reserved = self.reserved.max(upto);
    }

    /// Ids handed out so far.
    pub fn handed_out(&self) -> u32 {
        (self.entries.len() as u32).max(self.reserved)
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
