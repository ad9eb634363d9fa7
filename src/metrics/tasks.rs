//! Task lifecycles as observed: submission (framework stream), launch and end (master
//! stream).

use crate::ids::{AgentId, FrameworkId};
use crate::proto::{TaskId, TaskState};
use crate::resources::Resources;
use crate::time::Instant;

use super::histogram::{Histogram, Quantiles, nearest_rank};

/// Bounded slowdown counts run times under this as this long (seconds), as is usual for
/// batch workloads: a 1-second task waiting 1 second is not "twice as slow" in any sense
/// that matters.
pub const SLOWDOWN_BOUND_S: f64 = 10.0;

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

struct OpenTask {
    job: Option<u64>,
    /// The first attempt's id, for a resubmitted task.
    retry_of: Option<TaskId>,
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
    pub job: Option<u64>,
    pub retry_of: Option<TaskId>,
    pub agent: Option<AgentId>,
    pub submitted: Option<Instant>,
    pub launched: Option<Instant>,
    pub ended: Option<Instant>,
    pub state: TaskState,
    pub resources: Resources,
    /// It held `resources` on its agent until it ended.
    pub held: bool,
}

/// A job's tasks as far as seen: it completes when none is left waiting or running.
struct Job {
    first_submit: Instant,
    open: u32,
    failed: bool,
}

/// What a state change meant.
pub struct Change {
    /// The task left the queue: it first reached `TASK_RUNNING`, or ended before it did.
    pub dequeued: bool,
    pub launched: bool,
    /// Its first attempt's id (its own, unless resubmitted).
    pub first: TaskId,
    /// The task's row, when it ended.
    pub ended: Option<EndedTask>,
    /// A launched task stopped holding its resources on this agent without ending
    /// (`TASK_UNREACHABLE`: the master lost its agent), or held them again (`true`: its
    /// agent came back with it running).
    pub hold: Option<(AgentId, bool)>,
}

/// Jobs that completed, and how long from their first submission.
#[derive(Debug, Default)]
pub struct JobStats {
    pub completed: u64,
    /// Completed with some task failed, killed or refused.
    pub failed: u64,
    pub completion: Histogram,
}

#[derive(Default)]
pub struct TaskTracker {
    /// Tasks submitted or launched and not yet ended, in id order.
    /// (A hash map for speed: every iteration over it is sorted before use.)
    open: hashbrown::HashMap<(FrameworkId, TaskId), OpenTask, rustc_hash::FxBuildHasher>,
    pub counts: TaskCounts,
    /// Queue delays in nanoseconds, in launch order until the run ends, then ascending.
    delays: Vec<u64>,
    /// When the latest launch happened.
    pub last_launch: Option<Instant>,
    pub first_submit: Option<Instant>,
    pub last_end: Option<Instant>,
    /// Launch to end of tasks that finished, in seconds.
    pub run_time: Histogram,
    /// (queue delay + run time) ÷ max(run time, 10 s), at least 1, of tasks that finished.
    pub slowdown: Histogram,
    jobs: hashbrown::HashMap<(FrameworkId, u64), Job, rustc_hash::FxBuildHasher>,
    pub job_stats: JobStats,
    /// Tasks submitted and waiting for their first launch.
    pub queued: u64,
    /// Tasks launched and not yet ended.
    pub running: u64,
}

impl TaskTracker {
    fn entry(&mut self, framework: FrameworkId, task: TaskId) -> &mut OpenTask {
        self.open.entry((framework, task)).or_insert_with(|| OpenTask {
            job: None,
            retry_of: None,
            submitted: None,
            launched: None,
            agent: None,
            resources: Resources::new(),
            held: false,
            state: TaskState::Staging,
        })
    }

    pub fn submitted(
        &mut self,
        framework: FrameworkId,
        task: TaskId,
        at: Instant,
        resources: Resources,
        job: Option<u64>,
        retry_of: Option<TaskId>,
    ) {
        self.counts.submitted += 1;
        self.queued += 1;
        self.first_submit.get_or_insert(at);
        let t = self.entry(framework, task);
        t.submitted = Some(at);
        t.resources = resources;
        t.job = job;
        t.retry_of = retry_of;
        // A resubmission stands in for a task already counted in its job.
        if let (Some(job), None) = (job, retry_of) {
            let j = self.jobs.entry((framework, job)).or_insert(Job {
                first_submit: at,
                open: 0,
                failed: false,
            });
            j.open += 1;
        }
    }

    /// A task was launched onto `agent`; returns its first attempt's id.
    pub fn added(
        &mut self,
        framework: FrameworkId,
        task: TaskId,
        agent: AgentId,
        resources: &Resources,
    ) -> TaskId {
        let t = self.entry(framework, task);
        t.agent = Some(agent);
        // Usually what it asked for.
        if t.resources != *resources {
            t.resources = resources.clone();
        }
        t.held = true;
        t.retry_of.unwrap_or(task)
    }

    /// Whether a task is submitted or launched and has not ended.
    pub fn is_open(&self, framework: FrameworkId, task: TaskId) -> bool {
        self.open.contains_key(&(framework, task))
    }

    /// Applies a state change to an open task; `None` if the task is not open (it ended
    /// already).
    pub fn updated(
        &mut self,
        now: Instant,
        framework: FrameworkId,
        task: TaskId,
        state: TaskState,
    ) -> Option<Change> {
        let t = self.open.get_mut(&(framework, task))?;
        let was_queued = t.submitted.is_some() && t.launched.is_none();
        let first = t.retry_of.unwrap_or(task);
        let was = std::mem::replace(&mut t.state, state);
        let mut change = Change {
            dequeued: false,
            launched: false,
            first,
            ended: None,
            hold: None,
        };
        if let Some(agent) = t.agent {
            if state == TaskState::Unreachable && t.held {
                t.held = false;
                change.hold = Some((agent, false));
            } else if was == TaskState::Unreachable && !state.is_terminal() && !t.held {
                t.held = true;
                change.hold = Some((agent, true));
            }
        }
        let mut delay = None;
        if state == TaskState::Running && t.launched.is_none() {
            t.launched = Some(now);
            delay = t.submitted.map(|s| (now - s).as_nanos());
            change.launched = true;
        }
        if was_queued && (change.launched || state.is_terminal()) {
            change.dequeued = true;
            self.queued -= 1;
        }
        if change.launched {
            self.counts.launched += 1;
            self.running += 1;
            self.last_launch = Some(now);
            if let Some(d) = delay {
                self.delays.push(d);
            }
        }
        if !state.is_terminal() {
            return Some(change);
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
        self.last_end = Some(now);
        if t.launched.is_some() {
            self.running -= 1;
        }
        if state == TaskState::Finished
            && let Some(launched) = t.launched
        {
            let run = (now - launched).as_secs_f64();
            let wait = t.submitted.map_or(0.0, |s| (launched - s).as_secs_f64());
            self.run_time.record(run);
            self.slowdown
                .record(((wait + run) / run.max(SLOWDOWN_BOUND_S)).max(1.0));
        }
        // Lost tasks are resubmitted: their job waits for the resubmission.
        let retried = matches!(state, TaskState::Lost | TaskState::Gone | TaskState::Dropped);
        if let Some(job) = t.job
            && !retried
            && let Some(j) = self.jobs.get_mut(&(framework, job))
        {
            j.open -= 1;
            j.failed |= state != TaskState::Finished;
            if j.open == 0 {
                let j = self.jobs.remove(&(framework, job)).expect("present");
                let stats = &mut self.job_stats;
                stats.completed += 1;
                stats.failed += u64::from(j.failed);
                stats.completion.record((now - j.first_submit).as_secs_f64());
            }
        }
        change.ended = Some(EndedTask {
            framework,
            task,
            job: t.job,
            retry_of: t.retry_of,
            agent: t.agent,
            submitted: t.submitted,
            launched: t.launched,
            ended: Some(now),
            state,
            held: t.held,
            resources: t.resources,
        });
        Some(change)
    }

    /// What an open task asks for or holds.
    pub fn resources(&self, framework: FrameworkId, task: TaskId) -> Option<&Resources> {
        self.open.get(&(framework, task)).map(|t| &t.resources)
    }

    /// Open tasks launched on `agent` and holding resources there, by (framework, first
    /// attempt's id).
    pub fn on_agent(&self, agent: AgentId) -> Vec<(FrameworkId, TaskId)> {
        let mut tasks: Vec<(FrameworkId, TaskId)> = self
            .open
            .iter()
            .filter(|(_, t)| t.held && t.agent == Some(agent))
            .map(|(&(f, task), t)| (f, t.retry_of.unwrap_or(task)))
            .collect();
        tasks.sort_unstable();
        tasks
    }

    /// The launched tasks of `framework` not yet ended, by their first attempts' ids.
    pub fn launched_of(&self, framework: FrameworkId) -> Vec<(FrameworkId, TaskId)> {
        let mut tasks: Vec<(FrameworkId, TaskId)> = self
            .open
            .iter()
            .filter(|((f, _), t)| *f == framework && t.launched.is_some())
            .map(|(&(f, task), t)| (f, t.retry_of.unwrap_or(task)))
            .collect();
        tasks.sort_unstable();
        tasks
    }

    /// Makespan: first submission to the last task's end, if every task ended.
    pub fn makespan(&self) -> Option<f64> {
        if !self.open.is_empty() {
            return None;
        }
        match (self.first_submit, self.last_end) {
            (Some(a), Some(b)) => Some((b - a).as_secs_f64()),
            _ => None,
        }
    }

    /// Queue delays in seconds, ascending (after [`TaskTracker::sort_delays`]): the CDF
    /// the report draws.
    pub fn sorted_delays(&self) -> Vec<f64> {
        self.delays.iter().map(|&ns| ns as f64 / 1e9).collect()
    }

    /// Every task still open, in id order, as far as it got: taken out one by one as the
    /// iterator goes (a run can end with hundreds of thousands of tasks queued).
    pub fn drain_open(&mut self) -> impl Iterator<Item = EndedTask> + use<> {
        let mut open = std::mem::take(&mut self.open);
        let mut keys: Vec<(FrameworkId, TaskId)> = open.keys().copied().collect();
        keys.sort_unstable();
        keys.into_iter().map(move |(framework, task)| {
            let t = open.remove(&(framework, task)).expect("a key of the map");
            EndedTask {
                framework,
                task,
                job: t.job,
                retry_of: t.retry_of,
                agent: t.agent,
                submitted: t.submitted,
                launched: t.launched,
                ended: None,
                state: t.state,
                held: false,
                resources: t.resources,
            }
        })
    }

    /// Sorts the queue delays, once, when the run is over: [`TaskTracker::delay_stats`]
    /// and [`TaskTracker::sorted_delays`] read them sorted.
    pub fn sort_delays(&mut self) {
        self.delays.sort_unstable();
    }

    /// Exact nearest-rank percentiles of the queue delays (after
    /// [`TaskTracker::sort_delays`]), in seconds.
    pub fn delay_stats(&self) -> Quantiles {
        let sorted = &self.delays;
        let n = sorted.len();
        if n == 0 {
            return Quantiles::default();
        }
        let secs = |ns: u64| ns as f64 / 1e9;
        let rank = |p: f64| nearest_rank(sorted, p);
        let total: u128 = sorted.iter().map(|&d| u128::from(d)).sum();
        Quantiles {
            count: n as u64,
            mean: total as f64 / n as f64 / 1e9,
            p50: secs(rank(0.50)),
            p95: secs(rank(0.95)),
            p99: secs(rank(0.99)),
            max: secs(sorted[n - 1]),
        }
    }
}
