//! Recovery from faults, as observed: for each fault, when the master noticed, which agents
//! it lost and when they were back, when the tasks it hit ran again (or ended for good), and
//! how much capacity was gone for how long.
//!
//! An agent is lost to a fault when its machine crashed (from that moment), or when the
//! master marks it unreachable while the fault could have cut it off (a restarted process,
//! a partition, a burst of message loss). It is back when an agent registers again on its
//! machine. A task hit by a fault is one running on a lost agent, or launched onto it after
//! it was lost (from an offer made before the master noticed). It recovers when it, or the
//! task its framework resubmitted in its place (`retry_of`), reaches `TASK_RUNNING` again,
//! or when it ends in a state its framework does not retry. A lost task that nobody
//! resubmits by the end of the run is accounted terminal when it was lost.
//!
//! For the report's timeline it also keeps each agent's time out ([`Outage`]) and each
//! affected task's time hit ([`TaskSpan`]): one entry per agent lost and per task hit, so
//! nothing is added to events that have nothing to do with a fault.

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::FrameworkId;
use crate::proto::TaskId;
use crate::time::Instant;

use super::pools::Amounts;

/// What failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// An agent's machine went away for good (a scenario's `remove_agent`, a trace's machine
    /// removal).
    AgentRemoved,
    /// Machines crashed (`crash_agents`).
    AgentsCrashed,
    /// Agent processes stopped and started again (`restart_agents`).
    AgentsRestarted,
    /// The network was cut between groups of nodes.
    Partition,
    /// A burst of message loss, duplication and delay.
    Network,
    /// The leading master's process crashed (`crash_master`).
    MasterCrashed,
    /// A framework's scheduler crashed (`crash_scheduler`).
    SchedulerCrashed,
}

impl FaultKind {
    /// Every kind, in a fixed order (the report's colours go by it).
    pub const ALL: [FaultKind; 7] = [
        FaultKind::AgentsCrashed,
        FaultKind::AgentsRestarted,
        FaultKind::Partition,
        FaultKind::Network,
        FaultKind::MasterCrashed,
        FaultKind::AgentRemoved,
        FaultKind::SchedulerCrashed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::AgentRemoved => "agent_removed",
            FaultKind::AgentsCrashed => "crash_agents",
            FaultKind::AgentsRestarted => "restart_agents",
            FaultKind::Partition => "partition",
            FaultKind::Network => "network",
            FaultKind::MasterCrashed => "crash_master",
            FaultKind::SchedulerCrashed => "crash_scheduler",
        }
    }
}

/// A fault as the run loop starts it. An agent several faults may have cut off is lost to
/// the earliest of them.
#[derive(Clone, Debug)]
pub struct FaultNotice {
    pub kind: FaultKind,
    /// What it hit, in words (`node-3`, `rack-2`, `5 agents`, `[rack-1] | [master]`); a
    /// scheduler crash names its framework.
    pub target: String,
    /// Agents whose machines are gone now, with every task on them.
    pub crashed: Vec<String>,
    /// Agents the fault may cut off (`None`: every agent): one the master marks unreachable
    /// before `watch_until` is lost to this fault.
    pub watched: Option<Vec<String>>,
    pub watch_until: Option<Instant>,
    /// When the fault itself ends (process up again, machine booted, partition healed,
    /// burst over); `None`: never.
    pub healed: Option<Instant>,
    /// Offers that ended with it (a crashed master's), as `OfferEnded` events.
    pub ended_offers: Vec<crate::proto::Event>,
}

#[derive(Clone, Debug)]
pub struct Fault {
    pub kind: FaultKind,
    pub target: String,
    pub at: Instant,
    pub healed: Option<Instant>,
    /// When the master first marked an agent lost to this fault unreachable.
    pub detected: Option<Instant>,
    /// Agents the master lost to this fault (each counted once, however often it was
    /// lost), and how many are not back yet.
    pub agents_lost: u32,
    pub agents_out: u32,
    lost_names: BTreeSet<String>,
    /// When the last lost agent was back (`None` while one is out, or if none was lost).
    pub restored: Option<Instant>,
    /// Capacity lost × time by resource index, in units × s.
    pub capacity_lost: BTreeMap<usize, f64>,
    pub tasks_affected: u64,
    /// Affected tasks not yet running again or ended for good.
    pub tasks_pending: u64,
    /// When the last affected task recovered.
    pub last_recovery: Option<Instant>,
    /// A master crash: when the next leader took over, how many agents it expected back
    /// and how many are, and when the last was.
    pub elected: Option<Instant>,
    pub agents_expected: u32,
    pub agents_back: u32,
    /// Until the last agent registered with the new leader (a master crash), or until the
    /// framework registered again (a scheduler crash).
    pub reregistered: Option<Instant>,
    /// A scheduler crash: when the master removed the framework (its failover timeout
    /// passed), killing its tasks.
    pub removed: Option<Instant>,
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

    fn add_lost(&mut self, capacity: &Amounts, from: Instant, to: Instant) {
        let secs = to.saturating_since(from).as_secs_f64();
        for (i, v) in capacity.values().enumerate() {
            if v > 0 {
                *self.capacity_lost.entry(i).or_insert(0.0) += v as f64 / 1000.0 * secs;
            }
        }
    }
}

struct Affected {
    fault: usize,
    /// Its entry in [`Recovery::task_spans`].
    span: usize,
    /// Lost at this time and waiting for a resubmission.
    lost: Option<Instant>,
    retried: bool,
    /// Killed with its removed framework: its end waits for a resubmission, as a loss.
    killed_with_framework: bool,
}

/// An agent's time lost to a fault: from when it was lost until an agent registered on its
/// machine again (`None`: not by the end of the run).
#[derive(Clone, Debug)]
pub struct Outage {
    pub fault: usize,
    pub since: Instant,
    pub until: Option<Instant>,
    pub capacity: Amounts,
}

/// An affected task's time hit: from when its agent was lost (or it was launched onto a
/// lost agent) until it recovered (`None`: not by the end of the run).
#[derive(Clone, Copy, Debug)]
pub struct TaskSpan {
    pub hit: Instant,
    pub recovered: Option<Instant>,
}

struct Watch {
    fault: usize,
    agents: Option<BTreeSet<String>>,
    until: Option<Instant>,
}

#[derive(Default)]
pub struct Recovery {
    pub faults: Vec<Fault>,
    /// Every agent's time lost to a fault, in the order they were lost (the timeline's
    /// capacity out).
    pub outages: Vec<Outage>,
    /// Every affected task's time hit, in the order they were hit (the timeline's tasks
    /// waiting to recover).
    pub task_spans: Vec<TaskSpan>,
    /// Affected tasks by (framework, id of their first attempt).
    affected: BTreeMap<(FrameworkId, TaskId), Affected>,
    /// Agents lost and not back, by machine name: their entry in `outages`.
    out: BTreeMap<String, usize>,
    watches: Vec<Watch>,
}

impl Recovery {
    /// Opens a fault; the caller then tells which agents it lost ([`Recovery::lose`]).
    pub fn open(&mut self, at: Instant, notice: &FaultNotice) -> usize {
        let index = self.faults.len();
        if notice.watched.as_ref().is_none_or(|w| !w.is_empty()) {
            self.watches.push(Watch {
                fault: index,
                agents: notice.watched.as_ref().map(|w| w.iter().cloned().collect()),
                until: notice.watch_until,
            });
        }
        self.faults.push(Fault {
            kind: notice.kind,
            target: notice.target.clone(),
            at,
            healed: notice.healed,
            detected: None,
            agents_lost: 0,
            agents_out: 0,
            lost_names: BTreeSet::new(),
            restored: None,
            capacity_lost: BTreeMap::new(),
            tasks_affected: 0,
            tasks_pending: 0,
            last_recovery: None,
            elected: None,
            agents_expected: 0,
            agents_back: 0,
            reregistered: None,
            removed: None,
        });
        index
    }

    /// The latest crash of framework `name`'s scheduler for which `open` holds.
    fn scheduler_fault(&mut self, name: &str, open: impl Fn(&Fault) -> bool) -> Option<usize> {
        // A fault naming a framework with instances or trace groups hits each of them.
        let hits = |target: &str| {
            name == target
                || name
                    .strip_prefix(target)
                    .is_some_and(|rest| rest.starts_with('-'))
        };
        self.faults
            .iter()
            .rposition(|f| f.kind == FaultKind::SchedulerCrashed && hits(&f.target) && open(f))
    }

    /// The master noticed framework `name`'s scheduler ended.
    pub fn scheduler_disconnected(&mut self, now: Instant, name: &str) {
        if let Some(i) = self.scheduler_fault(name, |f| f.detected.is_none()) {
            self.faults[i].detected = Some(now);
        }
    }

    /// Framework `name` registered again (under its id, or anew after it was removed).
    pub fn scheduler_back(&mut self, now: Instant, name: &str) {
        if let Some(i) = self.scheduler_fault(name, |f| f.reregistered.is_none()) {
            self.faults[i].reregistered = Some(now);
        }
    }

    /// The master removed framework `name`, killing `tasks` (by their first attempts).
    pub fn framework_removed(
        &mut self,
        now: Instant,
        name: &str,
        tasks: impl IntoIterator<Item = (FrameworkId, TaskId)>,
    ) {
        let Some(i) = self.scheduler_fault(name, |f| f.removed.is_none()) else {
            return;
        };
        self.faults[i].removed = Some(now);
        for key in tasks {
            self.hit(i, now, key);
            if let Some(a) = self.affected.get_mut(&key) {
                a.killed_with_framework = true;
            }
        }
    }

    /// The fault a new leader recovers from: the latest master crash not yet recovered.
    fn failing_over(&mut self) -> Option<&mut Fault> {
        self.faults
            .iter_mut()
            .rev()
            .find(|f| f.kind == FaultKind::MasterCrashed)
            .filter(|f| f.elected.is_none() || f.reregistered.is_none())
    }

    /// A new leader took over, expecting `agents` agents back.
    pub fn master_elected(&mut self, now: Instant, agents: u32) {
        if let Some(f) = self.failing_over()
            && f.elected.is_none()
        {
            f.elected = Some(now);
            f.detected = Some(now);
            f.agents_expected = agents;
            if agents == 0 {
                f.reregistered = Some(now);
            }
        }
    }

    /// An agent the new leader expected registered with it.
    pub fn agent_recovered(&mut self, now: Instant) {
        if let Some(f) = self.failing_over()
            && f.elected.is_some()
        {
            f.agents_back += 1;
            if f.agents_back >= f.agents_expected {
                f.reregistered = Some(now);
            }
        }
    }

    /// Fault `fault` took agent `name` (with `capacity`) away at `since`, and with it `tasks`.
    pub fn lose(
        &mut self,
        fault: usize,
        name: &str,
        since: Instant,
        capacity: Amounts,
        tasks: impl IntoIterator<Item = (FrameworkId, TaskId)>,
    ) {
        if self.out.contains_key(name) {
            return;
        }
        self.out.insert(name.to_owned(), self.outages.len());
        self.outages.push(Outage {
            fault,
            since,
            until: None,
            capacity,
        });
        let f = &mut self.faults[fault];
        if f.lost_names.insert(name.to_owned()) {
            f.agents_lost += 1;
        }
        f.agents_out += 1;
        f.restored = None;
        for key in tasks {
            self.hit(fault, since, key);
        }
    }

    fn hit(&mut self, fault: usize, now: Instant, key: (FrameworkId, TaskId)) {
        if self.affected.contains_key(&key) {
            return;
        }
        self.affected.insert(
            key,
            Affected {
                fault,
                span: self.task_spans.len(),
                lost: None,
                retried: false,
                killed_with_framework: false,
            },
        );
        self.task_spans.push(TaskSpan {
            hit: now,
            recovered: None,
        });
        let f = &mut self.faults[fault];
        f.tasks_affected += 1;
        f.tasks_pending += 1;
    }

    /// The master marked agent `name` unreachable. Returns the fault that now loses it, if
    /// one may have cut it off and it was not lost already; the caller then calls `lose`.
    pub fn agent_unreachable(&mut self, now: Instant, name: &str) -> Option<usize> {
        if let Some(&out) = self.out.get(name) {
            self.faults[self.outages[out].fault].detected.get_or_insert(now);
            return None;
        }
        // Watches that ended are done with; of the others, the earliest that covers the
        // agent takes it (a later fault found it already cut off).
        self.watches.retain(|w| w.until.is_none_or(|u| now <= u));
        let fault = self
            .watches
            .iter()
            .find(|w| w.agents.as_ref().is_none_or(|a| a.contains(name)))?
            .fault;
        self.faults[fault].detected.get_or_insert(now);
        Some(fault)
    }

    /// Whether some agent is lost and not back: only then can a launch be hit.
    pub fn any_out(&self) -> bool {
        !self.out.is_empty()
    }

    /// An agent registered on machine `name`: if it was lost to a fault, it is back.
    pub fn agent_added(&mut self, now: Instant, name: &str) {
        let Some(out) = self.out.remove(name) else {
            return;
        };
        let out = &mut self.outages[out];
        out.until = Some(now);
        let f = &mut self.faults[out.fault];
        f.add_lost(&out.capacity, out.since, now);
        f.agents_out -= 1;
        if f.agents_out == 0 {
            f.restored = Some(now);
        }
    }

    /// A task was launched onto the agent on machine `name`: if it is lost, the fault hits
    /// the task too.
    pub fn task_added(&mut self, now: Instant, name: &str, key: (FrameworkId, TaskId)) {
        if let Some(&out) = self.out.get(name) {
            let fault = self.outages[out].fault;
            self.hit(fault, now, key);
        }
    }

    fn resolve(&mut self, key: (FrameworkId, TaskId), at: Instant) {
        if let Some(a) = self.affected.remove(&key) {
            self.task_spans[a.span].recovered = Some(at);
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
        match self.affected.get_mut(&key) {
            Some(a) if retried || a.killed_with_framework => a.lost = Some(now),
            _ => self.resolve(key, now),
        }
    }

    /// A framework resubmitted the task whose first attempt is `key`.
    pub fn resubmitted(&mut self, key: (FrameworkId, TaskId)) {
        if let Some(a) = self.affected.get_mut(&key) {
            a.retried = true;
        }
    }

    /// Closes the books at `end`: capacity still out counts until then, and lost tasks
    /// nobody resubmitted are accounted ended when they were lost.
    pub fn finish(&mut self, end: Instant) {
        for out in std::mem::take(&mut self.out).into_values() {
            let out = &self.outages[out];
            self.faults[out.fault].add_lost(&out.capacity, out.since, end);
        }
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
