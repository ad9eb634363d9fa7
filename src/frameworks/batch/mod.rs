//! A batch framework: users submit tasks; the framework queues them and packs them into the
//! offers it receives.
//!
//! - Packing is first fit in queue order: each offer takes the earliest queued tasks that fit
//!   in what is left of it, up to `max_tasks_per_offer`. To keep a long queue of large tasks
//!   from making every offer cost O(queue), a scan gives up after [`SCAN_LIMIT`] distinct
//!   demands that do not fit ([`queue`]).
//! - What an accept leaves unused, and every offer it cannot use, is declined with
//!   `refuse_seconds`.
//! - It suppresses offers once its queue has been empty for `suppress_after`, and revives
//!   when work arrives, at most once per `min_revive_interval` (a revive clears the
//!   framework's decline filters and makes the master offer every agent, so a framework that
//!   revived on every arrival would flood itself with offers; Marathon limits revives the
//!   same way).
//! - Tasks lost to infrastructure (agent lost, offer gone) are queued again under a new id,
//!   and so are tasks killed that their user did not mean to kill (a trace's kills end a
//!   task's run as killed): the framework kills a task in flight only to run it again (one
//!   overdue to start), and the master kills one when the agent it was lost on comes back
//!   (the framework may have missed its `TASK_LOST`). Tasks that fail or are malformed are
//!   not retried.
//! - The master tells of lost tasks at most once, and such a message can be lost too. So
//!   every `reconcile_interval` the framework asks the master for the state of the tasks it
//!   launched and has not seen end (Mesos's explicit reconciliation), and retries those the
//!   master no longer knows.
//! - Partition-aware (`partition_aware`), it hears `TASK_UNREACHABLE` rather than
//!   `TASK_LOST` for tasks on agents the master lost touch with; it waits
//!   `replace_unreachable_after` for them to come back (Marathon's `inactiveAfterSeconds`),
//!   then runs a replacement, and kills the original if it turns up later.
//! - A launch can be lost between the master and the agent, leaving the task staging for
//!   good (Mesos does not retry it). A task not running `launch_timeout` after its launch
//!   is killed (Marathon's `task_launch_timeout`): an agent that never received it answers
//!   `TASK_LOST`, and it is queued again. The check runs every `launch_timeout`, so such a
//!   task waits between one and two of them.
//! - A revive can be lost as well: one not answered by an offer within [`REVIVE_RETRY`] is
//!   sent again while tasks wait. Offers name the last suppress or revive call the master
//!   had applied when it made them, so an offer made before the framework suppressed,
//!   arriving after a revive that was lost, is not taken for its answer.
//! - With `offer_filters`, it tells the master the least it can use (Mesos's per-framework
//!   `OfferFilters`): the minimal shapes of its queued tasks ([`shapes`]), updated as the
//!   queue changes, so that agents with too little free for any queued task are not offered
//!   to it at all, instead of being offered and declined.

use serde::{Deserialize, Serialize};

use super::durable::{META_KEY, Numbers};
use super::registration::{Registered, Registrar};
use crate::ids::{AgentId, FrameworkId, NodeId};
use crate::process::{Ctx, Process, Store};
use crate::proto::{
    Accept, Event, Msg, Offer, OperatorCall, Reason, RegisterFramework, StatusUpdate, TaskId, TaskInfo,
    TaskRequest, TaskState, UpdateFramework,
};
use crate::resources::MinAllocatable;
use crate::time::{Duration, Instant};
use queue::{Queue, Queued};
use shapes::Shapes;

/// Offer filters are made stricter at most this often.
pub const TIGHTEN_EVERY: Duration = Duration::from_mins(1);

/// A revive with no offer after it this long is sent again while tasks wait.
pub const REVIVE_RETRY: Duration = Duration::from_secs(30);

/// After registering with a new leader, the framework reconciles at once and again this
/// much later (the answers for tasks on agents not yet back with the leader wait for it).
pub const RECONCILE_AFTER_FAILOVER: Duration = Duration::from_secs(30);

/// Distinct demands that do not fit an offer before the scan of the queue stops.
pub const SCAN_LIMIT: usize = 1024;

#[derive(Clone, Debug, PartialEq)]
pub struct BatchConfig {
    pub name: String,
    pub role: String,
    pub master: NodeId,
    /// Where to learn the leading master from, when masters fail over.
    pub coordinator: Option<NodeId>,
    /// At most this many tasks per offer; `None`: as many as fit.
    pub max_tasks_per_offer: Option<u32>,
    /// The decline filter to ask for; `None`: the master's default.
    pub refuse_seconds: Option<Duration>,
    pub failover_timeout: Duration,
    /// Suppress offers once the queue has been empty this long (zero: at once).
    pub suppress_after: Duration,
    /// Revive at most this often.
    pub min_revive_interval: Duration,
    /// Keep the master's offer filters for this framework set to what its queue can use.
    pub offer_filters: bool,
    /// Reconcile launched tasks this often (zero: never).
    pub reconcile_interval: Duration,
    /// Register `PARTITION_AWARE`: tasks on lost agents become unreachable, and are
    /// replaced only if still unreachable after `replace_unreachable_after`.
    pub partition_aware: bool,
    pub replace_unreachable_after: Duration,
    /// Kill a launched task not running after this long (zero: never).
    pub launch_timeout: Duration,
}

impl BatchConfig {
    /// A batch framework with the defaults: suppress after 10 s idle, revive at most every 5 s.
    pub fn new(name: impl Into<String>, role: impl Into<String>, master: NodeId) -> BatchConfig {
        BatchConfig {
            name: name.into(),
            role: role.into(),
            master,
            coordinator: None,
            max_tasks_per_offer: None,
            refuse_seconds: None,
            failover_timeout: Duration::ZERO,
            suppress_after: Duration::from_secs(10),
            min_revive_interval: Duration::from_secs(5),
            offer_filters: false,
            reconcile_interval: Duration::from_mins(10),
            partition_aware: false,
            replace_unreachable_after: Duration::from_mins(5),
            launch_timeout: Duration::from_mins(5),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BatchTimer {
    Register,
    /// The queue has been empty since this timer was armed: time to suppress.
    Idle,
    /// A revive held back by `min_revive_interval` is due.
    Revive,
    /// Offer filters held back from tightening are due.
    Tighten,
    /// Time to reconcile the tasks in flight.
    Reconcile,
    /// A revive was sent this long ago: send it again if no offer came.
    ReviveCheck,
    /// A task unreachable this long is replaced.
    Replace(TaskId),
    /// Time to kill launched tasks that never started.
    LaunchCheck,
}

/// What a batch framework has done, for tests and summaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchStats {
    pub submitted: u64,
    pub launched: u64,
    pub finished: u64,
    pub failed: u64,
    pub retried: u64,
}

/// A launched task: what it asked for (to run it again if lost), and where it went.
#[derive(Clone)]
struct InFlight {
    request: TaskRequest,
    agent: AgentId,
}

pub struct Batch {
    config: BatchConfig,
    registrar: Registrar,
    queue: Queue,
    /// Submissions made before registration, published once the framework has an id.
    unannounced: Vec<(TaskId, Instant, TaskRequest)>,
    /// Launched tasks not yet ended, with what they asked for (to retry them if lost).
    in_flight: std::collections::BTreeMap<TaskId, InFlight>,
    suppressed: bool,
    /// The idle countdown is running (armed once when the queue empties, never pushed
    /// back by later offers).
    idle_armed: bool,
    last_revive: Option<Instant>,
    /// The queue's task shapes, with `offer_filters`.
    shapes: Option<Shapes>,
    /// The offer filters the master has from us, and when we sent them.
    sent_filters: Option<MinAllocatable>,
    filters_sent_at: Instant,
    /// A tightening of the offer filters is due.
    tighten_armed: bool,
    /// An offer answering the last revive arrived.
    offered_since_revive: bool,
    /// Task ids and suppress/revive call numbers (see [`Msg::Suppress`]).
    numbers: Numbers,
    /// The number of the last revive call.
    revive_call: u32,
    /// Launched tasks the master says are unreachable.
    unreachable: std::collections::BTreeSet<TaskId>,
    /// Unreachable tasks replaced by a new copy: killed if they turn up again.
    replaced: std::collections::BTreeMap<TaskId, AgentId>,
    /// Launched tasks not yet heard running, with when they are due to (a kill was sent
    /// for those past it; each kill pushes it one `launch_timeout` on).
    unstarted: std::collections::BTreeMap<TaskId, Instant>,
    launch_check_armed: bool,
    /// What it did since it started (a restarted scheduler counts afresh).
    stats: BatchStats,
}

/// What a batch scheduler keeps in durable storage of each task it has not seen end
/// (Marathon and Aurora keep theirs in ZooKeeper or a replicated log), at key
/// `1 + task id`; its framework id and number bounds are at [`META_KEY`]. Each is
/// written when the task's state changes, before the scheduler acts on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum TaskRecord {
    /// In the queue; submitted at `unannounced_at` before the framework had an id to
    /// announce it under.
    Queued {
        request: TaskRequest,
        unannounced_at: Option<Instant>,
    },
    /// Launched on `agent`, not yet seen end.
    Launched {
        request: TaskRequest,
        agent: AgentId,
        /// Not yet heard running; killed if still not by then.
        start_due: Option<Instant>,
        /// The master said it is unreachable.
        unreachable: bool,
    },
    /// Unreachable on `agent` and replaced by a copy: killed if it turns up.
    Replaced { agent: AgentId },
}

fn task_key(task: TaskId) -> u64 {
    1 + u64::from(task.0)
}

/// What the store says of a task, to tell whether a handler changed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kept {
    Absent,
    Launched {
        start_due: Option<Instant>,
        unreachable: bool,
    },
    Replaced,
}

type BatchCtx<'a> = Ctx<'a, Msg, BatchTimer>;

impl Batch {
    pub fn new(config: BatchConfig) -> Batch {
        let request = RegisterFramework {
            id: None,
            name: config.name.clone(),
            role: config.role.clone(),
            failover_timeout: config.failover_timeout,
            partition_aware: config.partition_aware,
            failover: false,
        };
        Batch {
            registrar: Registrar::new(config.master, config.coordinator, request),
            queue: Queue::default(),
            unannounced: Vec::new(),
            in_flight: std::collections::BTreeMap::new(),
            suppressed: false,
            idle_armed: false,
            last_revive: None,
            shapes: config.offer_filters.then(Shapes::default),
            sent_filters: None,
            filters_sent_at: Instant::ZERO,
            tighten_armed: false,
            offered_since_revive: true,
            numbers: Numbers::new(),
            revive_call: 0,
            unreachable: std::collections::BTreeSet::new(),
            replaced: std::collections::BTreeMap::new(),
            unstarted: std::collections::BTreeMap::new(),
            launch_check_armed: false,
            stats: BatchStats::default(),
            config,
        }
    }

    /// A scheduler restarted from what it persisted: it registers again under its
    /// framework's id (a failover: the master kept its tasks if it is back within its
    /// `failover_timeout`), reconciles the tasks it launched, and goes on with its queue, in
    /// the order the tasks were submitted.
    pub fn recover(config: BatchConfig, store: &Store) -> Result<Batch, String> {
        let mut batch = Batch::new(config);
        let (numbers, framework) = Numbers::recover(store)?;
        batch.numbers = numbers;
        batch.registrar.recovered(framework);
        for key in store.keys().filter(|&k| k != META_KEY) {
            let task = u32::try_from(key - 1)
                .map(TaskId)
                .map_err(|_| format!("batch scheduler record {key} is not a task's"))?;
            let record = store.get::<TaskRecord>(key)?.expect("keys are of records");
            batch.recover_task(task, record);
        }
        Ok(batch)
    }

    fn recover_task(&mut self, id: TaskId, record: TaskRecord) {
        match record {
            TaskRecord::Queued {
                request,
                unannounced_at,
            } => {
                if let Some(at) = unannounced_at {
                    self.unannounced.push((id, at, request.clone()));
                }
                if let Some(shapes) = &mut self.shapes {
                    shapes.add(&request.resources);
                }
                self.queue.push(Queued { id, request });
            }
            TaskRecord::Launched {
                request,
                agent,
                start_due,
                unreachable,
            } => {
                self.in_flight.insert(id, InFlight { request, agent });
                if let Some(due) = start_due {
                    self.unstarted.insert(id, due);
                }
                if unreachable {
                    self.unreachable.insert(id);
                }
            }
            TaskRecord::Replaced { agent } => {
                self.replaced.insert(id, agent);
            }
        }
    }

    /// What the store holds of `task`, by the scheduler's state.
    fn kept(&self, task: TaskId) -> Kept {
        if self.in_flight.contains_key(&task) {
            Kept::Launched {
                start_due: self.unstarted.get(&task).copied(),
                unreachable: self.unreachable.contains(&task),
            }
        } else if self.replaced.contains_key(&task) {
            Kept::Replaced
        } else {
            Kept::Absent
        }
    }

    /// Writes the record of a launched or replaced `task` as the scheduler has it now, or
    /// removes it if the task is neither (queued tasks are written as they enter the queue).
    fn persist_task(&self, ctx: &mut BatchCtx<'_>, task: TaskId) {
        let key = task_key(task);
        if let Some(f) = self.in_flight.get(&task) {
            let record = || TaskRecord::Launched {
                request: f.request.clone(),
                agent: f.agent,
                start_due: self.unstarted.get(&task).copied(),
                unreachable: self.unreachable.contains(&task),
            };
            ctx.persist(key, record);
        } else if let Some(&agent) = self.replaced.get(&task) {
            ctx.persist(key, || TaskRecord::Replaced { agent });
        } else {
            ctx.forget(key);
        }
    }

    /// Runs `handle` on what concerns `task`, then persists the task if that changed it.
    fn changing(
        &mut self,
        ctx: &mut BatchCtx<'_>,
        task: TaskId,
        handle: impl FnOnce(&mut Self, &mut BatchCtx<'_>),
    ) {
        if !ctx.keeps_records() {
            return handle(self, ctx);
        }
        let before = self.kept(task);
        handle(self, ctx);
        if self.kept(task) != before {
            self.persist_task(ctx, task);
        }
    }

    /// The master removed the framework while the scheduler was away: every task it had
    /// launched was killed with it, and runs again under the new framework it registers as.
    fn on_removed(&mut self, ctx: &mut BatchCtx<'_>) {
        for task in std::mem::take(&mut self.unreachable) {
            ctx.cancel_timer(BatchTimer::Replace(task));
        }
        for &task in self.in_flight.keys().chain(self.replaced.keys()) {
            ctx.forget(task_key(task));
        }
        self.replaced.clear();
        self.unstarted.clear();
        self.suppressed = false;
        self.idle_armed = false;
        self.sent_filters = None;
        ctx.cancel_timer(BatchTimer::Idle);
        self.registrar.removed(ctx, BatchTimer::Register);
        self.numbers.persist(ctx, None);
        for (task, InFlight { mut request, .. }) in std::mem::take(&mut self.in_flight) {
            self.stats.retried += 1;
            request.retry_of.get_or_insert(task);
            self.enqueue(ctx, request);
        }
    }

    /// Arms again what a restarted scheduler's recovered tasks wait on: the launch check,
    /// and the replacement of those unreachable.
    fn rearm_recovered(&mut self, ctx: &mut BatchCtx<'_>) {
        if !self.unstarted.is_empty() && !self.config.launch_timeout.is_zero() {
            self.launch_check_armed = true;
            ctx.set_timer_after(BatchTimer::LaunchCheck, self.config.launch_timeout);
        }
        for &task in &self.unreachable {
            ctx.set_timer_after(BatchTimer::Replace(task), self.config.replace_unreachable_after);
        }
        if !self.config.reconcile_interval.is_zero() {
            ctx.set_timer_after(BatchTimer::Reconcile, self.config.reconcile_interval);
        }
    }

    pub fn stats(&self) -> BatchStats {
        self.stats
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// The master it registers with, its framework id, and whether it is registered.
    pub fn registration(&self) -> (NodeId, Option<FrameworkId>, bool) {
        self.registrar.state()
    }

    /// The tasks it launched and has not seen end.
    pub fn in_flight(&self) -> impl Iterator<Item = TaskId> + '_ {
        self.in_flight.keys().copied()
    }

    /// Tasks it waits on: launched tasks the master says are unreachable, and replaced
    /// ones it has not heard end (with the agent each ran on).
    pub fn waiting_on(&self) -> (Vec<TaskId>, Vec<(TaskId, AgentId)>) {
        (
            self.unreachable.iter().copied().collect(),
            self.replaced.iter().map(|(&t, &a)| (t, a)).collect(),
        )
    }

    /// The distinct demands of its queued tasks.
    pub fn queued_demands(&self) -> Vec<crate::resources::Resources> {
        self.queue.demands()
    }

    fn framework(&self) -> Option<FrameworkId> {
        self.registrar.framework
    }

    fn enqueue(&mut self, ctx: &mut BatchCtx<'_>, request: TaskRequest) {
        let id = self.numbers.task(ctx, self.framework());
        let now = ctx.now();
        let unannounced_at = match self.framework() {
            Some(framework) => {
                ctx.publish(submitted(framework, id, now, &request));
                None
            }
            None => {
                self.unannounced.push((id, now, request.clone()));
                Some(now)
            }
        };
        let record = || TaskRecord::Queued {
            request: request.clone(),
            unannounced_at,
        };
        ctx.persist(task_key(id), record);
        if let Some(shapes) = &mut self.shapes {
            shapes.add(&request.resources);
        }
        self.queue.push(Queued { id, request });
    }

    /// Sends the master our offer filters if the queue's minimal shapes changed: at once
    /// when they let more through, at most once per [`TIGHTEN_EVERY`] when they only let
    /// less through (a filter looser than the queue needs costs some declined offers; one
    /// that flaps costs the master a look at every agent each time it loosens). An empty
    /// queue leaves them as they were: the framework suppresses offers soon anyway.
    fn update_offer_filters(&mut self, ctx: &mut BatchCtx<'_>) {
        let Some(shapes) = &mut self.shapes else {
            return;
        };
        if self.registrar.framework.is_none() {
            return;
        }
        let Some(filters) = shapes.filters() else {
            return;
        };
        let now = ctx.now();
        if let Some(sent) = &self.sent_filters {
            if sent == filters {
                return;
            }
            if filters.is_stricter_than(sent) {
                let due = self.filters_sent_at + TIGHTEN_EVERY;
                if now < due {
                    if !self.tighten_armed {
                        self.tighten_armed = true;
                        ctx.set_timer(BatchTimer::Tighten, due);
                    }
                    return;
                }
            }
        }
        self.sent_filters = Some(filters.clone());
        self.filters_sent_at = now;
        ctx.send(
            self.registrar.master,
            Msg::UpdateFramework(Box::new(UpdateFramework {
                offer_filters: Some(filters.clone()),
            })),
        );
    }

    /// Asks for offers again if there is work and we had stopped asking, no sooner than
    /// `min_revive_interval` after the last revive.
    fn revive_if_needed(&mut self, ctx: &mut BatchCtx<'_>) {
        if self.queue.is_empty() || self.framework().is_none() {
            return;
        }
        ctx.cancel_timer(BatchTimer::Idle);
        self.idle_armed = false;
        if !self.suppressed {
            return;
        }
        let now = ctx.now();
        match self.last_revive {
            Some(last) if now < last + self.config.min_revive_interval => {
                ctx.set_timer(BatchTimer::Revive, last + self.config.min_revive_interval);
            }
            _ => {
                self.suppressed = false;
                self.revive(ctx);
            }
        }
    }

    fn revive(&mut self, ctx: &mut BatchCtx<'_>) {
        self.last_revive = Some(ctx.now());
        self.offered_since_revive = false;
        self.send_revive(ctx);
        ctx.set_timer_after(BatchTimer::ReviveCheck, REVIVE_RETRY);
    }

    fn send_revive(&mut self, ctx: &mut BatchCtx<'_>) {
        let call = self.numbers.call(ctx, self.framework());
        self.revive_call = call;
        ctx.send(self.registrar.master, Msg::Revive { call });
    }

    fn send_suppress(&mut self, ctx: &mut BatchCtx<'_>) {
        let call = self.numbers.call(ctx, self.framework());
        ctx.send(self.registrar.master, Msg::Suppress { call });
    }

    /// Starts the idle countdown once the queue is empty; suppresses at its end. Offers
    /// arriving meanwhile do not restart it.
    fn suppress_if_idle(&mut self, ctx: &mut BatchCtx<'_>) {
        if !self.suppressed && !self.idle_armed && self.queue.is_empty() && self.framework().is_some() {
            if self.config.suppress_after.is_zero() {
                self.suppress(ctx);
            } else {
                self.idle_armed = true;
                ctx.set_timer_after(BatchTimer::Idle, self.config.suppress_after);
            }
        }
    }

    fn suppress(&mut self, ctx: &mut BatchCtx<'_>) {
        self.suppressed = true;
        self.send_suppress(ctx);
    }

    /// First fit of queued tasks into one offer.
    fn pack(&mut self, ctx: &mut BatchCtx<'_>, offer: &Offer) -> Vec<TaskInfo> {
        let max = self.config.max_tasks_per_offer.map_or(usize::MAX, |m| m as usize);
        let taken = self.queue.pack(&offer.resources, max, SCAN_LIMIT);
        let mut tasks = Vec::with_capacity(taken.len());
        for q in taken {
            if let Some(shapes) = &mut self.shapes {
                shapes.remove(&q.request.resources);
            }
            self.in_flight.insert(
                q.id,
                InFlight {
                    request: q.request.clone(),
                    agent: offer.agent,
                },
            );
            self.started_by(ctx, q.id);
            self.persist_task(ctx, q.id);
            tasks.push(TaskInfo {
                id: q.id,
                resources: q.request.resources,
                run: q.request.run,
                command: q.request.command,
            });
        }
        tasks
    }

    /// Expects launched `task` to be running within `launch_timeout`.
    fn started_by(&mut self, ctx: &mut BatchCtx<'_>, task: TaskId) {
        let timeout = self.config.launch_timeout;
        if timeout.is_zero() {
            return;
        }
        self.unstarted.insert(task, ctx.now() + timeout);
        if !self.launch_check_armed {
            self.launch_check_armed = true;
            ctx.set_timer_after(BatchTimer::LaunchCheck, timeout);
        }
    }

    /// Kills the launched tasks overdue to start; checks again later while any are waiting.
    fn check_launches(&mut self, ctx: &mut BatchCtx<'_>) {
        self.launch_check_armed = false;
        let now = ctx.now();
        let timeout = self.config.launch_timeout;
        let overdue: Vec<TaskId> = self
            .unstarted
            .iter()
            .filter(|&(_, &due)| due <= now)
            .map(|(&t, _)| t)
            .collect();
        for task in overdue {
            self.unstarted.insert(task, now + timeout);
            self.persist_task(ctx, task);
            ctx.send(self.registrar.master, Msg::Kill { task });
        }
        if !self.unstarted.is_empty() {
            self.launch_check_armed = true;
            ctx.set_timer_after(BatchTimer::LaunchCheck, timeout);
        }
    }

    /// Registration accepted: announce what was submitted before it, stop offers if idle.
    fn on_registered(&mut self, ctx: &mut BatchCtx<'_>, framework: FrameworkId) {
        match self.registrar.registered(ctx, BatchTimer::Register, framework) {
            Registered::First => self.numbers.persist(ctx, Some(framework)),
            Registered::FailedOver => {
                self.rearm_recovered(ctx);
                return self.on_reregistered(ctx);
            }
            Registered::Again => return self.on_reregistered(ctx),
            Registered::Duplicate => return,
        }
        for (task, at, request) in std::mem::take(&mut self.unannounced) {
            ctx.publish(submitted(framework, task, at, &request));
            let record = || TaskRecord::Queued {
                request,
                unannounced_at: None,
            };
            ctx.persist(task_key(task), record);
        }
        self.update_offer_filters(ctx);
        self.suppress_if_idle(ctx);
        if !self.config.reconcile_interval.is_zero() {
            ctx.set_timer_after(BatchTimer::Reconcile, self.config.reconcile_interval);
        }
    }

    /// Registered with a new leading master, which knows only what the agents told it:
    /// it hears again what the framework asked of offers, and is asked at once for the
    /// state of every task in flight (Mesos frameworks reconcile after a failover).
    fn on_reregistered(&mut self, ctx: &mut BatchCtx<'_>) {
        if self.suppressed {
            self.send_suppress(ctx);
        }
        self.sent_filters = None;
        self.update_offer_filters(ctx);
        self.reconcile(ctx);
        // Tasks on agents not yet back with the new leader get no answer: ask again soon.
        ctx.set_timer_after(BatchTimer::Reconcile, RECONCILE_AFTER_FAILOVER);
        self.revive_if_needed(ctx);
    }

    /// Asks the master for the state of the tasks in flight, and of replaced ones (one that
    /// turned up running, the update saying so or the kill having been lost, is killed when
    /// the answer comes).
    fn reconcile(&mut self, ctx: &mut BatchCtx<'_>) {
        if !self.in_flight.is_empty() || !self.replaced.is_empty() {
            let mut tasks: Vec<(TaskId, Option<AgentId>)> =
                self.in_flight.iter().map(|(&t, f)| (t, Some(f.agent))).collect();
            tasks.extend(self.replaced.iter().map(|(&t, &a)| (t, Some(a))));
            ctx.send(self.registrar.master, Msg::Reconcile(Box::new(tasks)));
        }
    }

    /// What the master says of a task: one that ended is retried or counted.
    fn on_update(&mut self, ctx: &mut BatchCtx<'_>, update: &StatusUpdate) {
        self.changing(ctx, update.task, |batch, ctx| batch.apply_update(ctx, update));
    }

    fn apply_update(&mut self, ctx: &mut BatchCtx<'_>, update: &StatusUpdate) {
        let task = update.task;
        if self.replaced.contains_key(&task) {
            if update.state.is_terminal() || update.state == TaskState::Unknown {
                // Gone for good (a partition-aware framework hears UNKNOWN of a task the
                // master forgot).
                self.replaced.remove(&task);
            } else if update.state != TaskState::Unreachable && update.state != TaskState::Killing {
                // Replaced while unreachable, and running after all: one copy is enough.
                ctx.send(self.registrar.master, Msg::Kill { task });
            }
            return;
        }
        match update.state {
            TaskState::Running => {
                self.unstarted.remove(&task);
                self.forget_unreachable(ctx, task);
            }
            TaskState::Unreachable => {
                self.unstarted.remove(&task);
                if self.in_flight.contains_key(&task) && self.unreachable.insert(task) {
                    ctx.set_timer_after(BatchTimer::Replace(task), self.config.replace_unreachable_after);
                }
            }
            // The master does not know it: its launch never arrived, or the master forgot
            // it after it was lost (partition-aware frameworks hear UNKNOWN, others LOST).
            TaskState::Unknown | TaskState::Lost
                if update.agent.is_none() && update.reason == Some(Reason::Reconciliation) =>
            {
                self.forget_unreachable(ctx, task);
                self.publish_unknown(ctx, task, TaskState::Dropped);
                self.task_ended(ctx, task, TaskState::Dropped);
            }
            // Lost on an agent a new master found unreachable, or gone with a machine that
            // rebooted while the master did not know its tasks: no master published its end.
            state @ (TaskState::Lost | TaskState::Gone) if update.reason == Some(Reason::Reconciliation) => {
                self.publish_unknown(ctx, task, state);
                self.task_ended(ctx, task, state);
            }
            TaskState::Unknown => {
                self.forget_unreachable(ctx, task);
                self.task_ended(ctx, task, TaskState::Gone);
            }
            state if state.is_terminal() => {
                self.forget_unreachable(ctx, task);
                self.task_ended(ctx, task, state);
            }
            _ => self.forget_unreachable(ctx, task),
        }
    }

    /// Tells observers that reconciliation ended a task in flight as `state`.
    fn publish_unknown(&self, ctx: &mut BatchCtx<'_>, task: TaskId, state: TaskState) {
        if self.in_flight.contains_key(&task)
            && let Some(framework) = self.framework()
        {
            let event = Event::TaskUnknown {
                framework,
                task,
                state,
            };
            ctx.publish(Msg::Event(Box::new(event)));
        }
    }

    fn forget_unreachable(&mut self, ctx: &mut BatchCtx<'_>, task: TaskId) {
        if self.unreachable.remove(&task) {
            ctx.cancel_timer(BatchTimer::Replace(task));
        }
    }

    /// A task unreachable for `replace_unreachable_after`: a new copy runs in its place.
    fn replace(&mut self, ctx: &mut BatchCtx<'_>, task: TaskId) {
        if !self.unreachable.remove(&task) {
            return;
        }
        let Some(InFlight { mut request, agent }) = self.in_flight.remove(&task) else {
            return;
        };
        self.unstarted.remove(&task);
        self.replaced.insert(task, agent);
        self.stats.retried += 1;
        request.retry_of.get_or_insert(task);
        self.enqueue(ctx, request);
        self.update_offer_filters(ctx);
        self.revive_if_needed(ctx);
    }

    fn task_ended(&mut self, ctx: &mut BatchCtx<'_>, task: TaskId, state: TaskState) {
        let Some(InFlight { mut request, .. }) = self.in_flight.remove(&task) else {
            return;
        };
        self.unstarted.remove(&task);
        match state {
            TaskState::Finished => self.stats.finished += 1,
            TaskState::Killed if request.run.outcome == crate::process::TaskOutcome::Killed => {
                self.stats.failed += 1;
            }
            TaskState::Lost | TaskState::Dropped | TaskState::Gone | TaskState::Killed => {
                self.stats.retried += 1;
                request.retry_of.get_or_insert(task);
                self.enqueue(ctx, request);
                self.update_offer_filters(ctx);
                self.revive_if_needed(ctx);
            }
            _ => self.stats.failed += 1,
        }
    }
}

/// The framework-stream event announcing a task entered the queue.
fn submitted(framework: FrameworkId, task: TaskId, at: Instant, request: &TaskRequest) -> Msg {
    Msg::Event(Box::new(Event::TaskSubmitted {
        framework,
        task,
        at,
        resources: request.resources.clone(),
        job: request.job,
        retry_of: request.retry_of,
    }))
}

impl Process for Batch {
    type Msg = Msg;
    type Timer = BatchTimer;

    fn on_start(&mut self, ctx: &mut BatchCtx<'_>) {
        self.registrar.start(ctx, BatchTimer::Register);
    }

    fn on_message(&mut self, ctx: &mut BatchCtx<'_>, from: NodeId, msg: Msg) {
        if self.registrar.from_coordinator(from) {
            if let Msg::LeaderIs { leader, epoch } = msg {
                self.registrar.leader_is(ctx, BatchTimer::Register, leader, epoch);
            }
            return;
        }
        let master = self.registrar.master;
        let from_master = self.registrar.from_master(from);
        let registered = self.registrar.from_registered_master(from);
        match msg {
            Msg::FrameworkRegistered { framework } if from_master => self.on_registered(ctx, framework),
            Msg::FrameworkRemoved { framework } if self.registrar.is_removal(from, framework) => {
                self.on_removed(ctx);
            }
            Msg::Submit(requests) => {
                for request in *requests {
                    self.stats.submitted += 1;
                    self.enqueue(ctx, request);
                }
                self.update_offer_filters(ctx);
                self.revive_if_needed(ctx);
            }
            Msg::Offers(offers) if registered => {
                if offers.iter().any(|o| o.call >= self.revive_call) {
                    self.offered_since_revive = true;
                }
                let refuse_seconds = self.config.refuse_seconds;
                for offer in offers.iter() {
                    let tasks = self.pack(ctx, offer);
                    let reply = if tasks.is_empty() {
                        Msg::Decline {
                            offer: offer.id,
                            refuse_seconds: crate::proto::Refuse::new(refuse_seconds),
                        }
                    } else {
                        self.stats.launched += tasks.len() as u64;
                        Msg::Accept(Box::new(Accept {
                            offer: offer.id,
                            tasks,
                            refuse_seconds,
                        }))
                    };
                    ctx.send(master, reply);
                }
                self.update_offer_filters(ctx);
                self.suppress_if_idle(ctx);
            }
            Msg::Update(update) if registered => {
                if let (Some(uuid), Some(agent)) = (update.uuid, update.agent) {
                    ctx.send(
                        master,
                        Msg::Acknowledge {
                            agent,
                            task: update.task,
                            uuid,
                        },
                    );
                }
                self.on_update(ctx, &update);
            }
            Msg::Reconciled(updates) if registered => {
                for update in updates.iter() {
                    self.on_update(ctx, update);
                }
            }
            Msg::Operator(call) => match *call {
                OperatorCall::Suppress => self.suppress(ctx),
                OperatorCall::Revive => {
                    self.suppressed = false;
                    self.send_revive(ctx);
                }
                OperatorCall::SetWeight { .. } | OperatorCall::SetQuota { .. } => {}
            },
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut BatchCtx<'_>, timer: BatchTimer) {
        match timer {
            BatchTimer::Register => self.registrar.attempt(ctx, BatchTimer::Register),
            BatchTimer::Idle => {
                self.idle_armed = false;
                if !self.suppressed && self.queue.is_empty() {
                    self.suppress(ctx);
                }
            }
            BatchTimer::Revive => self.revive_if_needed(ctx),
            BatchTimer::Tighten => {
                self.tighten_armed = false;
                self.update_offer_filters(ctx);
            }
            BatchTimer::Reconcile => {
                self.reconcile(ctx);
                if self.config.reconcile_interval.is_zero() {
                    return;
                }
                ctx.set_timer_after(BatchTimer::Reconcile, self.config.reconcile_interval);
            }
            BatchTimer::Replace(task) => self.changing(ctx, task, |batch, ctx| batch.replace(ctx, task)),
            BatchTimer::LaunchCheck => self.check_launches(ctx),
            BatchTimer::ReviveCheck => {
                if !self.offered_since_revive && !self.suppressed && !self.queue.is_empty() {
                    self.revive(ctx);
                }
            }
        }
    }
}

pub mod queue;
pub mod shapes;
#[cfg(test)]
mod tests;
