//! The production agent: registers its machine, runs tasks on it, and reports their states
//! until they are acknowledged.
//!
//! Registration is retried as Mesos's agent does: the first attempt after a random delay in
//! `[0, registration_backoff_factor]`, each later one after a random delay in `[0, b]` where
//! `b` doubles from the factor up to one minute. Once registered, the agent answers the
//! master's pings; if none arrives for `master_ping_timeout` (15 s × 5 by default) it takes
//! the master for lost and registers again.
//!
//! Agents checkpoint what they run, as Mesos's do, into their durable storage
//! ([`Ctx::persist`]): record 0 says who the agent is, and each task has a record of its
//! own, written whenever the task or its stream of updates changes and before the agent
//! acts on it (a task is recorded before it is launched). A restarted agent process recovers
//! from those records alone ([`Agent::recover`]) and registers again under its old id,
//! listing its tasks; a machine that crashed starts an agent with nothing.
//!
//! Status updates follow Mesos's status update manager: each task has an ordered stream of
//! updates; the head is sent and re-sent (after 10 s, doubling up to 10 min) until the
//! framework's acknowledgement comes back through the master, then the next one goes.

use std::collections::{BTreeMap, VecDeque};

use rand::RngExt;

use crate::ids::{AgentId, FrameworkId, NodeId};
use crate::lookup::LookupMap;
use serde::{Deserialize, Serialize};

use crate::process::{Ctx, ExitReason, Process, Store, TaskExit, TaskKey, TaskSpec};
use crate::proto::{
    Msg, Reason, RegisterAgent, ReportedTask, ReregisterAgent, RunTask, StatusUpdate, TaskId, TaskState,
};
use crate::resources::Resources;
use crate::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub struct AgentConfig {
    pub name: String,
    pub resources: Resources,
    pub master: NodeId,
    pub registration_backoff_factor: Duration,
    pub registration_backoff_max: Duration,
    pub master_ping_timeout: Duration,
    pub status_update_retry_min: Duration,
    pub status_update_retry_max: Duration,
    /// The coordinator to learn the leading master from, when masters fail over; `master`
    /// is then only the first guess.
    pub coordinator: Option<NodeId>,
}

impl AgentConfig {
    pub fn new(name: impl Into<String>, resources: Resources, master: NodeId) -> AgentConfig {
        AgentConfig {
            name: name.into(),
            resources,
            master,
            registration_backoff_factor: Duration::from_secs(1),
            registration_backoff_max: Duration::from_mins(1),
            master_ping_timeout: Duration::from_secs(75),
            status_update_retry_min: Duration::from_secs(10),
            status_update_retry_max: Duration::from_mins(10),
            coordinator: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AgentTimer {
    /// Time for the next registration attempt.
    Register,
    /// No ping from the master for `master_ping_timeout`.
    MasterPingTimeout,
    /// The head update of a task's stream is still unacknowledged.
    StatusRetry(FrameworkId, TaskId),
    /// No word from the coordinator yet: ask again who leads.
    Detect,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registration {
    /// Not registered; the next attempt waits up to this long.
    Pending {
        backoff: Duration,
    },
    Registered {
        id: AgentId,
    },
}

/// A task this agent runs or still reports on.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct AgentTask {
    key: TaskKey,
    /// Its framework's role, partition-awareness and failover timeout.
    role: String,
    partition_aware: bool,
    failover_timeout: Duration,
    resources: Resources,
    /// Still holding resources on the machine.
    running: bool,
    /// Updates not yet acknowledged, oldest first; the head is in flight.
    pending: VecDeque<StatusUpdate>,
    /// The wait before the head is sent again.
    retry: Duration,
}

/// Record 0 of an agent's storage: its id, and the numbers it hands out next.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct AgentMeta {
    id: Option<AgentId>,
    next_key: u64,
    next_uuid: u32,
}

/// Record `1 + key` of an agent's storage: one of its tasks (Mesos's per-task checkpoint).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct TaskRecord {
    framework: FrameworkId,
    task: TaskId,
    state: AgentTask,
}

const META: u64 = 0;

fn record_key(key: TaskKey) -> u64 {
    key.0 + 1
}

pub struct Agent {
    // What a ping touches stays inline; the rest is boxed, so that ten thousand agents'
    // hot state fits in fewer cache lines (pings are most of a quiet cluster's events).
    master: NodeId,
    registration: Registration,
    /// How many times this agent has (re-)registered.
    registrations: u32,
    /// The id the master gave it, kept while it registers again.
    known_id: Option<AgentId>,
    /// When the process started, in nanoseconds (see [`RegisterAgent::boot`]).
    boot: u64,
    master_ping_timeout: Duration,
    /// The epoch of the leader the coordinator last named (0: none heard yet).
    epoch: u32,
    /// The last event changed the resources in use: the invariants check them.
    used_changed: bool,
    config: Box<AgentConfig>,
    work: Box<Work>,
}

/// The agent's tasks and its bookkeeping for them.
#[derive(Clone, Default)]
struct Work {
    /// Tasks running here or with unacknowledged updates, in id order.
    tasks: BTreeMap<(FrameworkId, TaskId), AgentTask>,
    by_key: LookupMap<TaskKey, (FrameworkId, TaskId)>,
    /// Resources held by running tasks.
    used: Resources,
    next_key: u64,
    next_uuid: u32,
}

type AgentCtx<'a> = Ctx<'a, Msg, AgentTimer>;

impl Agent {
    pub fn new(config: AgentConfig) -> Agent {
        let backoff = config.registration_backoff_factor;
        Agent {
            master: config.master,
            registration: Registration::Pending { backoff },
            registrations: 0,
            known_id: None,
            boot: 0,
            master_ping_timeout: config.master_ping_timeout,
            epoch: 0,
            used_changed: false,
            config: Box::new(config),
            work: Box::default(),
        }
    }

    /// A restarted agent process that read the records its predecessor persisted: it
    /// registers again under its old id with the tasks it recovered (still running on the
    /// machine, or still reporting). `Err` names a record that is not an agent's.
    pub fn recover(config: AgentConfig, store: &Store) -> Result<Agent, String> {
        let mut agent = Agent::new(config);
        if let Some(meta) = store.get::<AgentMeta>(META)? {
            agent.known_id = meta.id;
            agent.work.next_key = meta.next_key;
            agent.work.next_uuid = meta.next_uuid;
        }
        for key in store.keys().filter(|&k| k != META) {
            let Some(TaskRecord {
                framework,
                task,
                state,
            }) = store.get::<TaskRecord>(key)?
            else {
                continue;
            };
            if state.running {
                agent.work.used += &state.resources;
                agent.work.by_key.insert(state.key, (framework, task));
            }
            agent.work.tasks.insert((framework, task), state);
        }
        Ok(agent)
    }

    /// Writes record 0: the agent's id and the numbers it hands out next.
    fn persist_meta(&self, ctx: &mut AgentCtx<'_>) {
        let meta = AgentMeta {
            id: self.known_id,
            next_key: self.work.next_key,
            next_uuid: self.work.next_uuid,
        };
        ctx.persist(META, || meta);
    }

    /// Writes task `id`'s record as it stands.
    fn persist_task(&self, ctx: &mut AgentCtx<'_>, id: (FrameworkId, TaskId)) {
        if let Some(state) = self.work.tasks.get(&id) {
            let record = || TaskRecord {
                framework: id.0,
                task: id.1,
                state: state.clone(),
            };
            ctx.persist(record_key(state.key), record);
        }
    }

    /// The tasks it would report when registering again.
    fn report(&self) -> Vec<ReportedTask> {
        self.work
            .tasks
            .iter()
            .map(|(&(framework, task), t)| ReportedTask {
                framework,
                role: t.role.clone(),
                partition_aware: t.partition_aware,
                failover_timeout: t.failover_timeout,
                task,
                resources: t.resources.clone(),
                state: t.pending.back().map_or(TaskState::Running, |u| u.state),
            })
            .collect()
    }

    pub fn registration(&self) -> Registration {
        self.registration
    }

    pub fn registrations(&self) -> u32 {
        self.registrations
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The master it registers (or registered) with.
    pub fn master(&self) -> NodeId {
        self.master
    }

    /// The tasks it runs or still reports on: framework, task, whether it holds resources
    /// on the machine, and how many of its updates wait for acknowledgement.
    pub fn task_views(&self) -> impl Iterator<Item = (FrameworkId, TaskId, bool, usize)> + '_ {
        self.work
            .tasks
            .iter()
            .map(|(&(f, t), task)| (f, t, task.running, task.pending.len()))
    }

    /// Tasks holding resources on this agent's machine.
    pub fn running_tasks(&self) -> usize {
        self.work.tasks.values().filter(|t| t.running).count()
    }

    /// Waits a random delay in `[0, backoff]`, then tries to register.
    fn schedule_registration(&mut self, ctx: &mut AgentCtx<'_>, backoff: Duration) {
        let delay = Duration::from_nanos(ctx.rng().random_range(0..=backoff.as_nanos()));
        self.registration = Registration::Pending { backoff };
        ctx.set_timer_after(AgentTimer::Register, delay);
    }

    /// Asks the coordinator who leads, and again after a while if no answer comes.
    fn detect(&mut self, ctx: &mut AgentCtx<'_>, coordinator: NodeId) {
        ctx.send(coordinator, Msg::Watch);
        ctx.set_timer_after(AgentTimer::Detect, self.config.registration_backoff_max);
    }

    /// The coordinator names the leading master: a new one is registered with again (with
    /// backoff, as after losing the master), under the id the agent has if it has one.
    fn leader_is(&mut self, ctx: &mut AgentCtx<'_>, from: NodeId, leader: Option<NodeId>, epoch: u32) {
        ctx.send(from, Msg::LeaderAck { epoch });
        if epoch <= self.epoch {
            return;
        }
        self.epoch = epoch;
        ctx.cancel_timer(AgentTimer::Detect);
        let Some(leader) = leader else {
            return;
        };
        self.master = leader;
        ctx.cancel_timer(AgentTimer::MasterPingTimeout);
        self.schedule_registration(ctx, self.config.registration_backoff_factor);
    }

    fn agent_id(&self) -> Option<AgentId> {
        match self.registration {
            Registration::Registered { id } => Some(id),
            Registration::Pending { .. } => None,
        }
    }

    fn run_task(&mut self, ctx: &mut AgentCtx<'_>, run: RunTask) {
        let RunTask {
            framework,
            role,
            partition_aware,
            failover_timeout,
            task,
        } = run;
        let id = (framework, task.id);
        if self.work.tasks.contains_key(&id) {
            return; // a duplicate delivery of a task already here
        }
        let key = TaskKey(self.work.next_key);
        self.work.next_key += 1;
        let fits = self
            .config
            .resources
            .contains(&(self.work.used.clone() + &task.resources));
        let mut entry = AgentTask {
            key,
            role,
            partition_aware,
            failover_timeout,
            resources: task.resources.clone(),
            running: fits,
            pending: VecDeque::new(),
            retry: self.config.status_update_retry_min,
        };
        let (state, reason, message) = if fits {
            self.work.used += &task.resources;
            self.used_changed = true;
            self.work.by_key.insert(key, id);
            (TaskState::Running, None, String::new())
        } else {
            // The master never over-commits an agent; this guards against a view that
            // diverged, and is reported rather than run.
            let message = format!("agent has {} of {} in use", self.work.used, self.config.resources);
            (TaskState::Error, Some(Reason::ExecutorFailed), message)
        };
        let update = self.new_update(framework, task.id, state, reason, message);
        entry.pending.push_back(update);
        self.work.tasks.insert(id, entry);
        // Recorded before it runs: a restarted agent never has a task it does not know of.
        self.persist_meta(ctx);
        self.persist_task(ctx, id);
        if fits {
            ctx.launch(TaskSpec {
                key,
                owner: (u64::from(framework.0) << 32) | u64::from(task.id.0),
                resources: task.resources,
                run: task.run,
                command: task.command,
            });
        }
        self.send_head(ctx, id);
    }

    /// Asked to kill a task that never arrived (its launch was lost): reports it lost,
    /// reliably, and remembers it until that is acknowledged, so that a launch arriving late
    /// is taken for a duplicate rather than run.
    fn never_received(
        &mut self,
        ctx: &mut AgentCtx<'_>,
        framework: FrameworkId,
        task: TaskId,
        state: TaskState,
    ) {
        let id = (framework, task);
        let key = TaskKey(self.work.next_key);
        self.work.next_key += 1;
        let update = self.new_update(
            framework,
            task,
            state,
            Some(Reason::NeverLaunched),
            "the agent never received the task".to_owned(),
        );
        let entry = AgentTask {
            key,
            role: String::new(),
            partition_aware: false,
            failover_timeout: Duration::ZERO,
            resources: Resources::default(),
            running: false,
            pending: VecDeque::from([update]),
            retry: self.config.status_update_retry_min,
        };
        self.work.tasks.insert(id, entry);
        self.persist_meta(ctx);
        self.persist_task(ctx, id);
        self.send_head(ctx, id);
    }

    fn new_update(
        &mut self,
        framework: FrameworkId,
        task: TaskId,
        state: TaskState,
        reason: Option<Reason>,
        message: String,
    ) -> StatusUpdate {
        self.work.next_uuid = self.work.next_uuid.wrapping_add(1);
        StatusUpdate {
            framework,
            task,
            agent: self.agent_id(),
            state,
            reason,
            message,
            uuid: Some(self.work.next_uuid),
        }
    }

    /// Sends the head update of a task's stream and arms its retry.
    fn send_head(&mut self, ctx: &mut AgentCtx<'_>, id: (FrameworkId, TaskId)) {
        let Some(task) = self.work.tasks.get(&id) else {
            return;
        };
        let Some(head) = task.pending.front() else { return };
        let mut head = head.clone();
        head.agent = self.agent_id();
        ctx.send(self.master, Msg::AgentUpdate(Box::new(head)));
        ctx.set_timer_after(AgentTimer::StatusRetry(id.0, id.1), task.retry);
    }

    fn enqueue(&mut self, ctx: &mut AgentCtx<'_>, id: (FrameworkId, TaskId), update: StatusUpdate) {
        let Some(task) = self.work.tasks.get_mut(&id) else {
            return;
        };
        task.pending.push_back(update);
        let first = task.pending.len() == 1;
        self.persist_meta(ctx);
        self.persist_task(ctx, id);
        if first {
            self.send_head(ctx, id);
        }
    }

    fn acknowledged(&mut self, ctx: &mut AgentCtx<'_>, id: (FrameworkId, TaskId), uuid: u32) {
        let Some(task) = self.work.tasks.get_mut(&id) else {
            return;
        };
        if task.pending.front().and_then(|u| u.uuid) != Some(uuid) {
            return; // a late acknowledgement of an update already retired
        }
        let done = task.pending.pop_front().expect("checked");
        task.retry = self.config.status_update_retry_min;
        if !task.pending.is_empty() {
            self.persist_task(ctx, id);
            self.send_head(ctx, id);
        } else {
            ctx.cancel_timer(AgentTimer::StatusRetry(id.0, id.1));
            if done.state.is_terminal() {
                let gone = self.work.tasks.remove(&id).expect("checked");
                ctx.forget(record_key(gone.key));
            } else {
                self.persist_task(ctx, id);
            }
        }
    }
}

impl Process for Agent {
    type Msg = Msg;
    type Timer = AgentTimer;

    fn on_start(&mut self, ctx: &mut AgentCtx<'_>) {
        // The start time tells one process on the machine from the next, as a boot id does.
        self.boot = ctx.now().as_nanos();
        match self.config.coordinator {
            // Registration waits for the coordinator to name the leader.
            Some(coordinator) => self.detect(ctx, coordinator),
            None => self.schedule_registration(ctx, self.config.registration_backoff_factor),
        }
    }

    fn on_message(&mut self, ctx: &mut AgentCtx<'_>, from: NodeId, msg: Msg) {
        self.used_changed = false;
        if Some(from) == self.config.coordinator {
            if let Msg::LeaderIs { leader, epoch } = msg {
                self.leader_is(ctx, from, leader, epoch);
            }
            return;
        }
        if from != self.master || (self.config.coordinator.is_some() && self.epoch == 0) {
            return;
        }
        match msg {
            Msg::AgentRegistered { agent } => {
                if let Registration::Pending { .. } = self.registration {
                    self.registration = Registration::Registered { id: agent };
                    if self.known_id != Some(agent) {
                        self.known_id = Some(agent);
                        self.persist_meta(ctx);
                    }
                    self.registrations += 1;
                    ctx.cancel_timer(AgentTimer::Register);
                    ctx.set_timer_after(AgentTimer::MasterPingTimeout, self.master_ping_timeout);
                    // Updates not yet acknowledged go again at once (a recovered agent has
                    // no retry timers), now carrying the agent's id.
                    let waiting: Vec<(FrameworkId, TaskId)> = self
                        .work
                        .tasks
                        .iter()
                        .filter(|(_, t)| !t.pending.is_empty())
                        .map(|(id, _)| *id)
                        .collect();
                    for id in waiting {
                        self.send_head(ctx, id);
                    }
                }
            }
            Msg::Ping => {
                ctx.send(from, Msg::Pong);
                if let Registration::Registered { .. } = self.registration {
                    ctx.set_timer_after(AgentTimer::MasterPingTimeout, self.master_ping_timeout);
                }
            }
            Msg::RunTask(run) if self.agent_id().is_some() => self.run_task(ctx, *run),
            Msg::KillTask { framework, task } => match self.work.tasks.get(&(framework, task)) {
                Some(t) if t.running => ctx.kill(t.key),
                Some(_) => {}
                None if self.agent_id().is_some() => {
                    self.never_received(ctx, framework, task, TaskState::Lost);
                }
                None => {}
            },
            // Tasks the master launched here and this agent did not report: those that never
            // arrived are reported ended, reliably; those that did arrive since run on.
            Msg::ReconcileTasks(tasks) if self.agent_id().is_some() => {
                for (framework, task, state) in *tasks {
                    if !self.work.tasks.contains_key(&(framework, task)) {
                        self.never_received(ctx, framework, task, state);
                    }
                }
            }
            Msg::AgentAck {
                framework,
                task,
                uuid,
            } => self.acknowledged(ctx, (framework, task), uuid),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut AgentCtx<'_>, timer: AgentTimer) {
        self.used_changed = false;
        match timer {
            AgentTimer::Register => {
                let Registration::Pending { backoff } = self.registration else {
                    return;
                };
                let msg = match self.known_id {
                    Some(agent) => Msg::ReregisterAgent(Box::new(ReregisterAgent {
                        agent,
                        name: self.config.name.clone(),
                        resources: self.config.resources.clone(),
                        tasks: self.report(),
                    })),
                    None => Msg::RegisterAgent(Box::new(RegisterAgent {
                        name: self.config.name.clone(),
                        resources: self.config.resources.clone(),
                        boot: self.boot,
                    })),
                };
                ctx.send(self.master, msg);
                let next = (backoff.saturating_mul(2)).min(self.config.registration_backoff_max);
                self.schedule_registration(ctx, next);
            }
            AgentTimer::Detect => {
                if let Some(coordinator) = self.config.coordinator
                    && self.epoch == 0
                {
                    self.detect(ctx, coordinator);
                }
            }
            AgentTimer::MasterPingTimeout => {
                self.schedule_registration(ctx, self.config.registration_backoff_factor);
            }
            AgentTimer::StatusRetry(framework, task) => {
                let max = self.config.status_update_retry_max;
                if let Some(t) = self.work.tasks.get_mut(&(framework, task)) {
                    t.retry = t.retry.saturating_mul(2).min(max);
                    self.persist_task(ctx, (framework, task));
                }
                self.send_head(ctx, (framework, task));
            }
        }
    }

    fn on_task_exit(&mut self, ctx: &mut AgentCtx<'_>, exit: TaskExit) {
        self.used_changed = false;
        let Some(id) = self.work.by_key.remove(&exit.key) else {
            return;
        };
        let Some(task) = self.work.tasks.get_mut(&id) else {
            return;
        };
        task.running = false;
        let resources = task.resources.clone();
        self.work.used -= &resources;
        self.used_changed = true;
        let (state, reason) = match exit.reason {
            ExitReason::Finished => (TaskState::Finished, None),
            ExitReason::Failed => (TaskState::Failed, None),
            ExitReason::Killed => (TaskState::Killed, Some(Reason::TaskKilled)),
            ExitReason::OutOfMemory => (TaskState::Failed, Some(Reason::ContainerLimitationMemory)),
        };
        let update = self.new_update(id.0, id.1, state, reason, String::new());
        self.enqueue(ctx, id, update);
    }

    fn running_tasks(&self) -> Vec<TaskKey> {
        self.work
            .tasks
            .values()
            .filter(|t| t.running)
            .map(|t| t.key)
            .collect()
    }

    fn check_invariants(&self) -> Result<(), String> {
        if self.used_changed && !self.config.resources.contains(&self.work.used) {
            return Err(format!(
                "agent {} uses {} of {}",
                self.config.name, self.work.used, self.config.resources
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
