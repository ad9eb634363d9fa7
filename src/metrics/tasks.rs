//! Task lifecycles as observed: submission (framework stream), launch and end (master
//! stream).

use std::collections::BTreeMap;

use crate::ids::{AgentId, FrameworkId};
use crate::proto::{TaskId, TaskState};
use crate::resources::Resources;
use crate::time::Instant;

/// Tasks by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskCounts {
    pub submitted: u64,
    /// Reached `TASK_RUNNING`.
    pub launched: u64,
    pub finished: u64,
    pub failed: u64,
    pub killed: u64,
    /// Lost with their agent (`TASK_LOST`, `TASK_GONE`).
    pub lost: u64,
    /// Refused as malformed (`TASK_ERROR`).
    pub error: u64,
    /// Refused because their offer was gone (`TASK_DROPPED`).
    pub dropped: u64,
}

/// Queue delay (submission to `TASK_RUNNING`) over launched tasks, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DelayStats {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

struct OpenTask {
    submitted: Option<Instant>,
    launched: Option<Instant>,
    agent: Option<AgentId>,
    resources: Resources,
    /// Launched on an agent and holding its resources.
    held: bool,
    state: TaskState,
}

/// A task's row, complete or (at the end of the run) as far as it got.
pub struct EndedTask {
    pub framework: FrameworkId,
    pub task: TaskId,
    pub agent: Option<AgentId>,
    pub submitted: Option<Instant>,
    pub launched: Option<Instant>,
    pub ended: Option<Instant>,
    pub state: TaskState,
    pub resources: Resources,
    /// What it held on its agent until it ended, if anything.
    pub held: Option<Resources>,
}

#[derive(Default)]
pub struct TaskTracker {
    /// Tasks submitted or launched and not yet ended, in id order.
    open: BTreeMap<(FrameworkId, TaskId), OpenTask>,
    pub counts: TaskCounts,
    /// Queue delays in nanoseconds, in launch order.
    delays: Vec<u64>,
    /// When the latest launch happened.
    pub last_launch: Option<Instant>,
}

impl TaskTracker {
    fn entry(&mut self, framework: FrameworkId, task: TaskId) -> &mut OpenTask {
        self.open.entry((framework, task)).or_insert_with(|| OpenTask {
            submitted: None,
            launched: None,
            agent: None,
            resources: Resources::new(),
            held: false,
            state: TaskState::Staging,
        })
    }

    pub fn submitted(&mut self, framework: FrameworkId, task: TaskId, at: Instant, resources: Resources) {
        self.counts.submitted += 1;
        let t = self.entry(framework, task);
        t.submitted = Some(at);
        t.resources = resources;
    }

    pub fn added(&mut self, framework: FrameworkId, task: TaskId, agent: AgentId, resources: Resources) {
        let t = self.entry(framework, task);
        t.agent = Some(agent);
        t.resources = resources;
        t.held = true;
    }

    /// Applies a state change; returns the task's row when it has ended.
    pub fn updated(
        &mut self,
        now: Instant,
        framework: FrameworkId,
        task: TaskId,
        state: TaskState,
    ) -> Option<EndedTask> {
        let t = self.entry(framework, task);
        t.state = state;
        if state == TaskState::Running && t.launched.is_none() {
            t.launched = Some(now);
            let delay = t.submitted.map(|s| (now - s).as_nanos());
            self.counts.launched += 1;
            self.last_launch = Some(now);
            if let Some(d) = delay {
                self.delays.push(d);
            }
        }
        if !state.is_terminal() {
            return None;
        }
        let c = &mut self.counts;
        match state {
            TaskState::Finished => c.finished += 1,
            TaskState::Failed => c.failed += 1,
            TaskState::Killed => c.killed += 1,
            TaskState::Error => c.error += 1,
            TaskState::Dropped => c.dropped += 1,
            _ => c.lost += 1,
        }
        let t = self.open.remove(&(framework, task)).expect("entered above");
        Some(EndedTask {
            framework,
            task,
            agent: t.agent,
            submitted: t.submitted,
            launched: t.launched,
            ended: Some(now),
            state,
            held: t.held.then(|| t.resources.clone()),
            resources: t.resources,
        })
    }

    /// Every task still open, in id order, as far as it got.
    pub fn drain_open(&mut self) -> Vec<EndedTask> {
        std::mem::take(&mut self.open)
            .into_iter()
            .map(|((framework, task), t)| EndedTask {
                framework,
                task,
                agent: t.agent,
                submitted: t.submitted,
                launched: t.launched,
                ended: None,
                state: t.state,
                held: None,
                resources: t.resources,
            })
            .collect()
    }

    /// Exact nearest-rank percentiles of the queue delays.
    pub fn delay_stats(&mut self) -> DelayStats {
        let n = self.delays.len();
        if n == 0 {
            return DelayStats::default();
        }
        let mut sorted = self.delays.clone();
        sorted.sort_unstable();
        let secs = |ns: u64| ns as f64 / 1e9;
        let rank = |p: f64| sorted[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
        let total: u128 = sorted.iter().map(|&d| u128::from(d)).sum();
        DelayStats {
            count: n as u64,
            mean: total as f64 / n as f64 / 1e9,
            p50: secs(rank(0.50)),
            p95: secs(rank(0.95)),
            p99: secs(rank(0.99)),
            max: secs(sorted[n - 1]),
        }
    }
}
