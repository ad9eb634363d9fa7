//! Simulated machines: the backend that agents launch tasks on.
//!
//! A task holds its resources from launch until it exits: when its duration is up, or at once
//! when killed. A launch that does not fit the machine is a bug in the agent (agents only launch
//! what the master allocated to them), so it is reported as a broken invariant, not absorbed.

use indexmap::IndexMap;
use rustc_hash::FxBuildHasher;

use crate::process::{TaskKey, TaskSpec};
use crate::resources::Resources;

struct Running {
    resources: Resources,
    /// The queue sequence of the task's completion event, if it ends by itself.
    completion_seq: Option<u64>,
}

pub struct Machine {
    name: String,
    total: Resources,
    used: Resources,
    /// Looked up by key; iterated only in insertion order (deterministic) when the machine dies.
    tasks: IndexMap<TaskKey, Running, FxBuildHasher>,
}

impl Machine {
    pub fn new(name: impl Into<String>, total: Resources) -> Machine {
        Machine {
            name: name.into(),
            total,
            used: Resources::default(),
            tasks: IndexMap::default(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn total(&self) -> &Resources {
        &self.total
    }

    pub fn used(&self) -> &Resources {
        &self.used
    }

    pub fn running(&self) -> usize {
        self.tasks.len()
    }

    /// Starts a task; `Err` names the broken invariant.
    pub fn launch(&mut self, spec: &TaskSpec) -> Result<(), String> {
        if self.tasks.contains_key(&spec.key) {
            return Err(format!(
                "machine {}: task {:?} launched twice",
                self.name, spec.key
            ));
        }
        let used = self.used.clone() + &spec.resources;
        if !self.total.contains(&used) {
            return Err(format!(
                "machine {} over-committed: {} in use of {} when launching {:?} with {}",
                self.name, self.used, self.total, spec.key, spec.resources
            ));
        }
        self.used = used;
        self.tasks.insert(
            spec.key,
            Running {
                resources: spec.resources.clone(),
                completion_seq: None,
            },
        );
        Ok(())
    }

    /// Records the sequence of the event that will end `key` by itself.
    pub fn set_completion(&mut self, key: TaskKey, seq: u64) {
        if let Some(task) = self.tasks.get_mut(&key) {
            task.completion_seq = Some(seq);
        }
    }

    /// A completion event popped: ends the task if it is still the one that event was for.
    pub fn complete(&mut self, key: TaskKey, seq: u64) -> bool {
        match self.tasks.get(&key) {
            Some(task) if task.completion_seq == Some(seq) => {
                self.remove(key);
                true
            }
            _ => false,
        }
    }

    /// The machine crashed: every task on it is gone, without an exit to report. Returns
    /// how many there were.
    pub fn wipe(&mut self) -> usize {
        let n = self.tasks.len();
        self.tasks.clear();
        self.used = Resources::default();
        n
    }

    /// Kills a task; false if it is not running (it already exited).
    pub fn kill(&mut self, key: TaskKey) -> bool {
        self.remove(key)
    }

    fn remove(&mut self, key: TaskKey) -> bool {
        match self.tasks.swap_remove(&key) {
            Some(task) => {
                self.used -= &task.resources;
                true
            }
            None => false,
        }
    }
}
