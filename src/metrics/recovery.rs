//! Recovery from faults, as observed: for each fault, when the master noticed, when the
//! tasks it hit ran again (or ended for good), and how much capacity was gone for how long.
//!
//! A task hit by a fault is one running on a failed agent, or launched onto it after it
//! failed (from an offer made before the master noticed). It recovers when
//! it, or the task its framework resubmitted in its place (`retry_of`), reaches
//! `TASK_RUNNING` again, or when it ends in a state its framework does not retry. A lost
//! task that nobody resubmits by the end of the run is accounted terminal when it was lost.

use std::collections::BTreeMap;

use crate::ids::{AgentId, FrameworkId};
use crate::proto::TaskId;
use crate::time::Instant;

use super::pools::Amounts;

/// What failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// An agent's machine went away (a scenario's `remove_agent`, a trace's machine removal).
    AgentRemoved,
}

impl FaultKind {
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::AgentRemoved => "agent_removed",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Fault {
    pub kind: FaultKind,
    pub target: String,
    pub at: Instant,
    pub agent: Option<AgentId>,
    /// When the master marked the agent unreachable.
    pub detected: Option<Instant>,
    /// When the agent registered again, if it did.
    pub restored: Option<Instant>,
    /// The agent's resources, gone from `at` until restored or the end of the run.
    pub capacity: Amounts,
    pub tasks_affected: u64,
    /// Affected tasks not yet running again or ended for good.
    pub tasks_pending: u64,
    /// When the last affected task recovered.
    pub last_recovery: Option<Instant>,
}

impl Fault {
    /// Seconds from the fault until every affected task recovered; `None` while some have
    /// not (and zero when none were affected).
    pub fn recovered_s(&self) -> Option<f64> {
        if self.tasks_pending > 0 {
            return None;
        }
        Some(self.last_recovery.map_or(0.0, |t| (t - self.at).as_secs_f64()))
    }
}

struct Affected {
    fault: usize,
    /// Lost at this time and waiting for a resubmission.
    lost: Option<Instant>,
    retried: bool,
}

#[derive(Default)]
pub struct Recovery {
    pub faults: Vec<Fault>,
    /// Affected tasks by (framework, id of their first attempt).
    affected: BTreeMap<(FrameworkId, TaskId), Affected>,
    /// Failed agents not yet back, with their fault.
    down: BTreeMap<AgentId, usize>,
}

impl Recovery {
    /// Records a fault hitting `tasks`; returns its index.
    pub fn fault(
        &mut self,
        kind: FaultKind,
        target: String,
        at: Instant,
        agent: Option<AgentId>,
        capacity: Amounts,
        tasks: impl IntoIterator<Item = (FrameworkId, TaskId)>,
    ) {
        let index = self.faults.len();
        if let Some(a) = agent {
            self.down.insert(a, index);
        }
        let mut n = 0;
        for key in tasks {
            self.affected.insert(
                key,
                Affected {
                    fault: index,
                    lost: None,
                    retried: false,
                },
            );
            n += 1;
        }
        self.faults.push(Fault {
            kind,
            target,
            at,
            agent,
            detected: None,
            restored: None,
            capacity,
            tasks_affected: n,
            tasks_pending: n,
            last_recovery: None,
        });
    }

    pub fn agent_unreachable(&mut self, now: Instant, agent: AgentId) {
        if let Some(&f) = self.down.get(&agent) {
            self.faults[f].detected.get_or_insert(now);
        }
    }

    /// An agent registered: if it is a failed one by name, its fault is over.
    pub fn agent_added(&mut self, now: Instant, name: &str) {
        if self.down.is_empty() {
            return;
        }
        let back: Vec<AgentId> = self
            .down
            .iter()
            .filter(|&(_, &f)| self.faults[f].target == name)
            .map(|(&a, _)| a)
            .collect();
        for a in back {
            let f = self.down.remove(&a).expect("listed above");
            self.faults[f].restored = Some(now);
        }
    }

    /// A task was launched onto `agent`: if the agent has failed, the fault hits it too.
    pub fn task_added(&mut self, agent: AgentId, key: (FrameworkId, TaskId)) {
        if let Some(&fault) = self.down.get(&agent)
            && !self.affected.contains_key(&key)
        {
            self.affected.insert(
                key,
                Affected {
                    fault,
                    lost: None,
                    retried: false,
                },
            );
            let f = &mut self.faults[fault];
            f.tasks_affected += 1;
            f.tasks_pending += 1;
        }
    }

    fn resolve(&mut self, key: (FrameworkId, TaskId), at: Instant) {
        if let Some(a) = self.affected.remove(&key) {
            let f = &mut self.faults[a.fault];
            f.tasks_pending -= 1;
            f.last_recovery = Some(f.last_recovery.map_or(at, |t| t.max(at)));
        }
    }

    /// A task (by its first attempt's id) reached `TASK_RUNNING`.
    pub fn running(&mut self, now: Instant, key: (FrameworkId, TaskId)) {
        if !self.affected.is_empty() {
            self.resolve(key, now);
        }
    }

    /// A task ended; `retried` says whether its framework resubmits tasks ending so.
    pub fn ended(&mut self, now: Instant, key: (FrameworkId, TaskId), retried: bool) {
        if self.affected.is_empty() {
            return;
        }
        if retried {
            if let Some(a) = self.affected.get_mut(&key) {
                a.lost = Some(now);
            }
        } else {
            self.resolve(key, now);
        }
    }

    /// A framework resubmitted the task whose first attempt is `key`.
    pub fn resubmitted(&mut self, key: (FrameworkId, TaskId)) {
        if let Some(a) = self.affected.get_mut(&key) {
            a.retried = true;
        }
    }

    /// Accounts lost tasks nobody resubmitted as ended when they were lost.
    pub fn finish(&mut self) {
        let done: Vec<((FrameworkId, TaskId), Instant)> = self
            .affected
            .iter()
            .filter_map(|(k, a)| a.lost.filter(|_| !a.retried).map(|t| (*k, t)))
            .collect();
        for (key, at) in done {
            self.resolve(key, at);
        }
    }
}
