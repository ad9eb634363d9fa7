//! Every message between frameworks, master, agents and the people who use them.
//!
//! Plain serde data (architecture invariant): the simulator moves these values, the live
//! driver serialises them onto TCP unchanged. Large or rare messages travel boxed so that
//! [`Msg`] stays small for the frequent ones (pings, acknowledgements).

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, FrameworkId, NodeId};
use crate::process::{Message, TaskRun};
use crate::resources::{MinAllocatable, Resources};
use crate::time::{Duration, Instant};

/// A framework's name for one of its tasks; unique within the framework.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub u32);

/// The master's name for an offer; unique for the life of a master.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OfferId(pub u64);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Msg {
    // --- agent ↔ master -------------------------------------------------------------
    /// Agent → master: first registration, retried with backoff until acknowledged.
    RegisterAgent(Box<RegisterAgent>),
    /// Agent → master: an agent that registered before (and kept its id) registers again,
    /// listing the tasks it still runs or reports on: after its process restarted, or after
    /// it lost touch with the master.
    ReregisterAgent(Box<ReregisterAgent>),
    /// Master → agent: registration accepted.
    AgentRegistered { agent: AgentId },
    /// Master → agent: are you alive? (Mesos's PingSlaveMessage.)
    Ping,
    /// Agent → master: alive. (Mesos's PongSlaveMessage.)
    Pong,
    /// Master → agent: start this task.
    RunTask(Box<RunTask>),
    /// Master → agent: kill this task.
    KillTask { framework: FrameworkId, task: TaskId },
    /// Agent → master: a task changed state; retried until acknowledged.
    AgentUpdate(Box<StatusUpdate>),
    /// Master → agent: the framework acknowledged this update.
    AgentAck {
        framework: FrameworkId,
        task: TaskId,
        uuid: u32,
    },

    // --- framework ↔ master (the scheduler API) -------------------------------------------
    /// Framework → master: registration, retried with backoff until acknowledged.
    RegisterFramework(Box<RegisterFramework>),
    /// Master → framework: registration accepted.
    FrameworkRegistered { framework: FrameworkId },
    /// Master → framework: the framework registering again under this id was removed (its
    /// scheduler was away longer than its `failover_timeout`, and its tasks were killed);
    /// it may register as a new framework (Mesos's FrameworkErrorMessage).
    FrameworkRemoved { framework: FrameworkId },
    /// Master → framework: resources it may use.
    Offers(Box<Vec<Offer>>),
    /// Master → framework: an offer is no longer valid.
    Rescind { offer: OfferId },
    /// Framework → master: launch tasks on (part of) an offer; the rest is declined with
    /// `refuse_seconds` (the master's default if absent).
    Accept(Box<Accept>),
    /// Framework → master: none of this offer, and no offer containing it for
    /// `refuse_seconds` (the master's default if absent; zero: no filter).
    Decline { offer: OfferId, refuse_seconds: Refuse },
    /// Framework → master: send me no offers until I revive. A framework numbers its
    /// suppress and revive calls (`call`, growing): the master applies one only if it is
    /// newer than the last it applied, so that a delayed suppress cannot undo a later
    /// revive.
    Suppress { call: u32 },
    /// Framework → master: send me offers again, and forget my decline filters. Numbered
    /// as [`Msg::Suppress`].
    Revive { call: u32 },
    /// Framework → master: the part of Mesos's UPDATE_FRAMEWORK call that changes how it is
    /// offered (its offer filters).
    UpdateFramework(Box<UpdateFramework>),
    /// Framework → master: kill a task.
    Kill { task: TaskId },
    /// Master → framework: a task changed state. `uuid` is set when the update must be
    /// acknowledged (it came from an agent); reconciliation answers carry none.
    Update(Box<StatusUpdate>),
    /// Framework → master: I have this update (from this agent). The master relays it to
    /// the agent, even for a task it no longer knows, so that the agent stops retrying.
    Acknowledge { agent: AgentId, task: TaskId, uuid: u32 },
    /// Framework → master: tell me the state of these tasks, on these agents as far as the
    /// framework knows (all of mine if empty).
    Reconcile(Box<Vec<(TaskId, Option<AgentId>)>>),
    /// Master → framework: the answer to a reconciliation, one update per task named (or
    /// known), none to acknowledge. Mesos sends them one by one; one message carries them
    /// all here, at the same moment.
    Reconciled(Box<Vec<StatusUpdate>>),

    // --- users and operators ------------------------------------------------------------
    /// User → framework: run these tasks.
    Submit(Box<Vec<TaskRequest>>),
    /// Operator → master or framework: an administrative call.
    Operator(Box<OperatorCall>),

    // --- observation ---------------------------------------------------------------------
    /// Published on an operator stream, never sent (Mesos's operator API events).
    Event(Box<Event>),

    // --- coordination (ZooKeeper's part in Mesos) --------------------------------------------
    /// Master → coordinator: open session `session` and contend for leadership (an
    /// ephemeral sequential node). Ends any older session the master had; a master numbers
    /// its sessions in increasing order, so a late copy of an older `Contend` is ignored.
    Contend { session: u64 },
    /// Master → coordinator: keep my session alive. It comes back as the answer.
    Heartbeat(Box<Beat>),
    /// Coordinator → master: the session is alive as of the heartbeat sent then.
    HeartbeatAck(Box<Beat>),
    /// Coordinator → master: `session` is not (or no longer) open; contend again.
    SessionExpired { session: u64 },
    /// Agent or framework → coordinator: tell me who leads, now and whenever it changes.
    Watch,
    /// Master → agent: tasks the master launched there that the agent's registration did
    /// not report; any it never received it reports ended in the state given (Mesos's
    /// `ReconcileTasksMessage`: the registration may have left before the launch arrived).
    ReconcileTasks(Box<Vec<(FrameworkId, TaskId, TaskState)>>),
    /// Coordinator → watchers and contenders: the leading master (none while nobody leads)
    /// and its epoch, which grows with every election. Acknowledged with `LeaderAck`.
    LeaderIs { leader: Option<NodeId>, epoch: u32 },
    /// Watcher → coordinator: I heard of leader `epoch`.
    LeaderAck { epoch: u32 },
    /// Elected master → coordinator: the registry, please. Answered only if `session` is
    /// the session elected: a master whose request to open a newer session was lost while
    /// its older one was elected must not lead (nothing keeps that session alive).
    RegistryRead { session: u64 },
    /// Coordinator → leading master: the registry as it stands, read in leader `epoch`.
    RegistrySnapshot {
        epoch: u32,
        registry: Box<RegistryState>,
    },
    /// Leading master → coordinator: registry changes `first..first + ops.len()` of `epoch`
    /// (resent until acknowledged; the coordinator applies each once, in order, and only
    /// from the leader of `epoch`).
    RegistryWrite(Box<RegistryWrite>),
    /// Coordinator → leading master: changes up to `upto` (exclusive) of `epoch` applied.
    RegistryAck { epoch: u32, upto: u64 },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegistryWrite {
    pub epoch: u32,
    pub first: u64,
    pub ops: Vec<RegistryOp>,
}

/// What the masters keep in the coordinator: enough for a new leader to know which agents
/// to expect back, which ids it may not hand out again, and the operators' weights and
/// quotas. Tasks and frameworks are not in it: the new leader learns them from the agents
/// and frameworks that register again.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RegistryState {
    /// Admitted agents, by id.
    pub agents: Vec<RegisteredAgent>,
    /// Framework ids handed out so far.
    pub frameworks: u32,
    pub weights: Vec<(String, f64)>,
    pub quotas: Vec<(String, crate::allocator::Quota)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegisteredAgent {
    pub name: String,
    pub node: NodeId,
    pub resources: Resources,
    pub boot: u64,
    pub unreachable: bool,
}

/// One change to the registry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RegistryOp {
    /// Agent `id` (the next id) was admitted.
    AdmitAgent {
        id: AgentId,
        agent: RegisteredAgent,
    },
    /// Agent `id` was marked unreachable, or came back.
    AgentReachable {
        id: AgentId,
        reachable: bool,
    },
    /// Framework ids up to `upto` (exclusive) are handed out.
    FrameworksUpTo {
        upto: u32,
    },
    SetWeight {
        role: String,
        weight: f64,
    },
    SetQuota {
        role: String,
        quota: crate::allocator::Quota,
    },
}

impl RegistryState {
    /// Applies `op`.
    pub fn apply(&mut self, op: &RegistryOp) {
        match op {
            RegistryOp::AdmitAgent { id, agent } => {
                if id.index() == self.agents.len() {
                    self.agents.push(agent.clone());
                }
            }
            RegistryOp::AgentReachable { id, reachable } => {
                if let Some(a) = self.agents.get_mut(id.index()) {
                    a.unreachable = !reachable;
                }
            }
            RegistryOp::FrameworksUpTo { upto } => self.frameworks = self.frameworks.max(*upto),
            RegistryOp::SetWeight { role, weight } => {
                match self.weights.iter_mut().find(|(r, _)| r == role) {
                    Some(w) => w.1 = *weight,
                    None => self.weights.push((role.clone(), *weight)),
                }
            }
            RegistryOp::SetQuota { role, quota } => match self.quotas.iter_mut().find(|(r, _)| r == role) {
                Some(q) => q.1 = quota.clone(),
                None => self.quotas.push((role.clone(), quota.clone())),
            },
        }
    }
}

/// Rare and large messages travel boxed, so that [`Msg`] stays small for the hot ones.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegisterAgent {
    pub name: String,
    pub resources: Resources,
    /// Set by the agent process when it starts (its start time): a registration retried by
    /// the same process carries the same value, one from a process started afresh on the
    /// machine (after a reboot) another.
    pub boot: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReregisterAgent {
    pub agent: AgentId,
    pub name: String,
    pub resources: Resources,
    pub tasks: Vec<ReportedTask>,
}

/// A task as an agent knows it: the state of its latest update.
/// A master's heartbeat: its session, and when it was sent (by the master's clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beat {
    pub session: u64,
    pub sent: Instant,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportedTask {
    pub framework: FrameworkId,
    /// The framework's role, as the launch gave it.
    #[serde(default)]
    pub role: String,
    /// Whether the framework is partition-aware, as the launch gave it.
    #[serde(default)]
    pub partition_aware: bool,
    /// The framework's failover timeout, as the launch gave it.
    #[serde(default)]
    pub failover_timeout: Duration,
    pub task: TaskId,
    pub resources: Resources,
    pub state: TaskState,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegisterFramework {
    /// The id it had, when it registers again (after a master or scheduler failover).
    #[serde(default)]
    pub id: Option<FrameworkId>,
    pub name: String,
    pub role: String,
    /// How long the master keeps this framework's tasks after it disconnects.
    pub failover_timeout: Duration,
    /// Mesos's `PARTITION_AWARE` capability: tasks on an agent the master loses touch with
    /// become `TASK_UNREACHABLE` (not `TASK_LOST`) and run on if the agent comes back.
    #[serde(default)]
    pub partition_aware: bool,
    /// Sent by a scheduler restarted under the id: it takes the framework over from its
    /// previous process, whether or not the master saw that one end (Mesos's
    /// `ReregisterFrameworkMessage.failover`).
    #[serde(default)]
    pub failover: bool,
}

/// What a framework changes about itself after registering.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateFramework {
    /// Mesos's `FrameworkInfo.offer_filters` (`min_allocatable_resources`): offer me only
    /// resources that contain one of these alternatives, in place of the master's
    /// `min_allocatable`; `None`: the master's.
    pub offer_filters: Option<MinAllocatable>,
}

/// A decline's `refuse_seconds` packed in 32 bits (so that the frequent `Decline` keeps
/// [`Msg`] at 16 bytes): a duration kept to the millisecond below 2^31 ms (24.8 days) and to
/// the second above, or "the master's default".
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Refuse(u32);

const REFUSE_SECONDS: u32 = 1 << 31;

impl Refuse {
    /// The master's `refuse_seconds`.
    pub const DEFAULT: Refuse = Refuse(u32::MAX);

    pub const fn new(refuse: Option<Duration>) -> Refuse {
        let Some(d) = refuse else {
            return Refuse::DEFAULT;
        };
        let ms = d.as_nanos() / 1_000_000;
        if ms < REFUSE_SECONDS as u64 {
            return Refuse(ms as u32);
        }
        let s = d.as_nanos() / 1_000_000_000;
        // The largest second count below the DEFAULT pattern: 68 years.
        let max = (u32::MAX - 1 - REFUSE_SECONDS) as u64;
        Refuse(REFUSE_SECONDS | if s < max { s as u32 } else { max as u32 })
    }

    pub const fn get(self) -> Option<Duration> {
        match self.0 {
            u32::MAX => None,
            v if v & REFUSE_SECONDS != 0 => Some(Duration::from_secs((v & !REFUSE_SECONDS) as u64)),
            ms => Some(Duration::from_millis(ms as u64)),
        }
    }
}

impl std::fmt::Debug for Refuse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.get() {
            Some(d) => write!(f, "{d}"),
            None => f.write_str("default"),
        }
    }
}

/// What a framework may use on one agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    pub id: OfferId,
    pub agent: AgentId,
    pub resources: Resources,
    /// The framework's last suppress or revive call the master had applied when it made
    /// the offer: a framework tells offers answering its revive from ones made before
    /// (a revive lost on the way is sent again).
    pub call: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Accept {
    pub offer: OfferId,
    pub tasks: Vec<TaskInfo>,
    pub refuse_seconds: Option<Duration>,
}

/// A task as a framework launches it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    pub id: TaskId,
    pub resources: Resources,
    /// What it does once started (in simulation: how long it runs and how it ends).
    pub run: TaskRun,
    /// The shell command a live agent runs for it (Mesos's `CommandInfo.value`); without
    /// one, a live agent runs a stand-in that lasts and ends as `run` says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Box<str>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunTask {
    pub framework: FrameworkId,
    /// The framework's role (Mesos sends its whole `FrameworkInfo`): the agent reports it
    /// with the task, so that a new leading master can account the task to its role before
    /// the framework registers again.
    pub role: String,
    /// Whether the framework is partition-aware (from the same `FrameworkInfo`): a new
    /// leading master takes its tasks back from an agent that was unreachable.
    #[serde(default)]
    pub partition_aware: bool,
    /// The framework's failover timeout (from the same `FrameworkInfo`): a new leading
    /// master that learns of the framework only from its agents removes it if it does not
    /// register again in time.
    #[serde(default)]
    pub failover_timeout: Duration,
    pub task: TaskInfo,
}

/// Mesos's task states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TaskState {
    Staging,
    Starting,
    Running,
    Killing,
    Finished,
    Failed,
    Killed,
    Error,
    Dropped,
    Lost,
    Unreachable,
    Gone,
    Unknown,
}

impl TaskState {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Finished
                | TaskState::Failed
                | TaskState::Killed
                | TaskState::Error
                | TaskState::Dropped
                | TaskState::Lost
                | TaskState::Gone
        )
    }

    /// Mesos's name, as in `TASK_RUNNING`.
    pub fn name(self) -> &'static str {
        match self {
            TaskState::Staging => "TASK_STAGING",
            TaskState::Starting => "TASK_STARTING",
            TaskState::Running => "TASK_RUNNING",
            TaskState::Killing => "TASK_KILLING",
            TaskState::Finished => "TASK_FINISHED",
            TaskState::Failed => "TASK_FAILED",
            TaskState::Killed => "TASK_KILLED",
            TaskState::Error => "TASK_ERROR",
            TaskState::Dropped => "TASK_DROPPED",
            TaskState::Lost => "TASK_LOST",
            TaskState::Unreachable => "TASK_UNREACHABLE",
            TaskState::Gone => "TASK_GONE",
            TaskState::Unknown => "TASK_UNKNOWN",
        }
    }

    /// Whether a task may go from `self` to `next`. A terminal state is final; a task
    /// reported unreachable may come back when its agent does.
    pub fn may_become(self, next: TaskState) -> bool {
        if self.is_terminal() {
            return false;
        }
        match (self, next) {
            (TaskState::Staging, _) => true,
            (TaskState::Starting, TaskState::Staging) => false,
            (TaskState::Running, TaskState::Staging | TaskState::Starting) => false,
            (TaskState::Killing, TaskState::Staging | TaskState::Starting | TaskState::Running) => false,
            _ => true,
        }
    }
}

/// Why a task is in its state (Mesos's reasons, the ones this cluster can produce).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reason {
    /// Launched with an offer that no longer exists.
    InvalidOffers,
    /// The task itself is malformed (duplicate id, no resources, too big for its offer).
    TaskInvalid,
    /// The framework asked to kill it.
    TaskKilled,
    /// Its agent stopped answering.
    AgentUnreachable,
    /// Its agent was removed.
    AgentRemoved,
    /// The agent came back without the task (it never reached it).
    AgentRestarted,
    /// The agent could not start it.
    ExecutorFailed,
    /// Answer to an explicit reconciliation for a task the master does not know.
    Reconciliation,
    /// Its agent, unreachable for a while, registered again with the task still running.
    AgentReregistered,
    /// Its agent was asked to kill it and never received it (the launch was lost).
    NeverLaunched,
    /// It used more memory than it holds, and its container was killed (Mesos's
    /// `REASON_CONTAINER_LIMITATION_MEMORY`).
    ContainerLimitationMemory,
}

impl Reason {
    /// Mesos's name for the reason (`TaskStatus.Reason`).
    pub fn name(self) -> &'static str {
        match self {
            Reason::InvalidOffers => "REASON_INVALID_OFFERS",
            Reason::TaskInvalid => "REASON_TASK_INVALID",
            Reason::TaskKilled => "REASON_TASK_KILLED_DURING_LAUNCH",
            Reason::AgentUnreachable => "REASON_SLAVE_DISCONNECTED",
            Reason::AgentRemoved => "REASON_SLAVE_REMOVED",
            Reason::AgentRestarted => "REASON_SLAVE_RESTARTED",
            Reason::ExecutorFailed => "REASON_EXECUTOR_TERMINATED",
            Reason::Reconciliation => "REASON_RECONCILIATION",
            Reason::AgentReregistered => "REASON_SLAVE_REREGISTERED",
            Reason::NeverLaunched => "REASON_TASK_UNKNOWN",
            Reason::ContainerLimitationMemory => "REASON_CONTAINER_LIMITATION_MEMORY",
        }
    }
}

/// A task's new state, from the agent that runs it (or the master, on the agent's behalf).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusUpdate {
    pub framework: FrameworkId,
    pub task: TaskId,
    pub agent: Option<AgentId>,
    pub state: TaskState,
    pub reason: Option<Reason>,
    pub message: String,
    /// Identifies an update that must be acknowledged; `None` for reconciliation answers.
    pub uuid: Option<u32>,
}

/// A unit of work a user hands to a framework.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskRequest {
    pub resources: Resources,
    pub run: TaskRun,
    /// The shell command to run live ([`TaskInfo::command`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Box<str>>,
    /// The job it belongs to, where the workload has jobs (a trace's job id); reports
    /// measure job completion over the tasks that share one.
    pub job: Option<u64>,
    /// For a task resubmitted after its first attempt was lost: that attempt's id.
    pub retry_of: Option<TaskId>,
}

/// An operator's call (Mesos's operator API, the parts a scenario uses).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OperatorCall {
    /// To the master.
    SetWeight { role: String, weight: f64 },
    /// To the master.
    SetQuota {
        role: String,
        guarantee: Option<Resources>,
        limit: Option<crate::allocator::Limits>,
    },
    /// To a framework: stop asking for offers.
    Suppress,
    /// To a framework: ask for offers again.
    Revive,
}

/// How an offer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OfferEnd {
    Accepted,
    Declined,
    Rescinded,
}

/// What processes tell observers: the basis of every report, so that metrics never reach
/// into a process's state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Event {
    // The master's operator stream.
    AgentAdded {
        agent: AgentId,
        name: String,
        resources: Resources,
    },
    /// Missed too many pings.
    AgentUnreachable { agent: AgentId },
    /// This master leads, as of `epoch`, having read the registry: it expects `agents`
    /// agents back.
    MasterElected { epoch: u32, agents: u32 },
    /// An agent the registry listed registered again with the new leader.
    AgentRecovered { agent: AgentId },
    /// The master stopped leading (it lost its coordinator session).
    MasterAbdicated,
    FrameworkAdded {
        framework: FrameworkId,
        name: String,
        role: String,
    },
    /// The framework's scheduler ended (its connection closed): it is offered nothing, and
    /// its tasks run on for its `failover_timeout`.
    FrameworkDisconnected { framework: FrameworkId },
    /// A framework registered again under its id: after its scheduler failed over, or with
    /// a new leading master.
    FrameworkReregistered { framework: FrameworkId },
    /// A framework away longer than its `failover_timeout` was removed: its tasks are
    /// killed (each also told as a `TaskUpdated`).
    FrameworkRemoved { framework: FrameworkId },
    OfferMade {
        offer: OfferId,
        framework: FrameworkId,
        agent: AgentId,
        resources: Resources,
    },
    /// An offer ended: accepted (the part used is in `TaskAdded`s), declined, or rescinded.
    OfferEnded {
        offer: OfferId,
        framework: FrameworkId,
        agent: AgentId,
        resources: Resources,
        how: OfferEnd,
    },
    /// A task was accepted by the master and sent to its agent.
    TaskAdded {
        framework: FrameworkId,
        task: TaskId,
        agent: AgentId,
        resources: Resources,
    },
    /// A task the master knows changed state.
    TaskUpdated {
        framework: FrameworkId,
        task: TaskId,
        state: TaskState,
    },
    /// A task the master refused before it reached an agent.
    TaskRefused {
        framework: FrameworkId,
        task: TaskId,
        state: TaskState,
        reason: Reason,
    },
    // A framework's own stream.
    /// Reconciliation ended a task whose end no master published: the master never heard
    /// of it (its launch was lost), or took over while its agent was unreachable. The
    /// framework counts it `state` and runs it again.
    TaskUnknown {
        framework: FrameworkId,
        task: TaskId,
        state: TaskState,
    },
    /// A user's request entered the framework's queue under this id.
    TaskSubmitted {
        framework: FrameworkId,
        task: TaskId,
        at: Instant,
        resources: Resources,
        /// The request's job, if its workload has jobs.
        job: Option<u64>,
        /// The first attempt's id, for a task resubmitted after it was lost.
        retry_of: Option<TaskId>,
    },
}

impl Event {
    /// The framework the event is about, if it is about one.
    pub fn framework(&self) -> Option<FrameworkId> {
        match self {
            Event::FrameworkAdded { framework, .. }
            | Event::FrameworkDisconnected { framework }
            | Event::FrameworkReregistered { framework }
            | Event::FrameworkRemoved { framework }
            | Event::OfferMade { framework, .. }
            | Event::OfferEnded { framework, .. }
            | Event::TaskAdded { framework, .. }
            | Event::TaskUpdated { framework, .. }
            | Event::TaskRefused { framework, .. }
            | Event::TaskUnknown { framework, .. }
            | Event::TaskSubmitted { framework, .. } => Some(*framework),
            Event::AgentAdded { .. }
            | Event::AgentUnreachable { .. }
            | Event::MasterElected { .. }
            | Event::AgentRecovered { .. }
            | Event::MasterAbdicated => None,
        }
    }

    /// The same, to change.
    pub fn framework_mut(&mut self) -> Option<&mut FrameworkId> {
        match self {
            Event::FrameworkAdded { framework, .. }
            | Event::FrameworkDisconnected { framework }
            | Event::FrameworkReregistered { framework }
            | Event::FrameworkRemoved { framework }
            | Event::OfferMade { framework, .. }
            | Event::OfferEnded { framework, .. }
            | Event::TaskAdded { framework, .. }
            | Event::TaskUpdated { framework, .. }
            | Event::TaskRefused { framework, .. }
            | Event::TaskUnknown { framework, .. }
            | Event::TaskSubmitted { framework, .. } => Some(framework),
            Event::AgentAdded { .. }
            | Event::AgentUnreachable { .. }
            | Event::MasterElected { .. }
            | Event::AgentRecovered { .. }
            | Event::MasterAbdicated => None,
        }
    }
}

impl Message for Msg {
    fn tag(&self) -> u16 {
        match self {
            Msg::RegisterAgent(_) => 0,
            Msg::AgentRegistered { .. } => 1,
            Msg::Ping => 2,
            Msg::Pong => 3,
            Msg::RunTask(_) => 4,
            Msg::KillTask { .. } => 5,
            Msg::AgentUpdate(_) => 6,
            Msg::AgentAck { .. } => 7,
            Msg::RegisterFramework(_) => 8,
            Msg::FrameworkRegistered { .. } => 9,
            Msg::Offers(_) => 10,
            Msg::Rescind { .. } => 11,
            Msg::Accept(_) => 12,
            Msg::Decline { .. } => 13,
            Msg::Suppress { .. } => 14,
            Msg::Revive { .. } => 15,
            Msg::Kill { .. } => 16,
            Msg::Update(_) => 17,
            Msg::Acknowledge { .. } => 18,
            Msg::Reconcile(_) => 19,
            Msg::Submit(_) => 20,
            Msg::Operator(_) => 21,
            Msg::Event(_) => 22,
            Msg::UpdateFramework(_) => 23,
            Msg::ReregisterAgent(_) => 24,
            Msg::Reconciled(_) => 25,
            Msg::Contend { .. } => 26,
            Msg::Heartbeat { .. } => 27,
            Msg::HeartbeatAck { .. } => 28,
            Msg::SessionExpired { .. } => 29,
            Msg::Watch => 30,
            Msg::LeaderIs { .. } => 31,
            Msg::LeaderAck { .. } => 32,
            Msg::RegistryRead { .. } => 33,
            Msg::RegistrySnapshot { .. } => 34,
            Msg::RegistryWrite(_) => 35,
            Msg::RegistryAck { .. } => 36,
            Msg::ReconcileTasks(_) => 37,
            Msg::FrameworkRemoved { .. } => 38,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Msg::RegisterAgent(_) => "register_agent",
            Msg::AgentRegistered { .. } => "agent_registered",
            Msg::Ping => "ping",
            Msg::Pong => "pong",
            Msg::RunTask(_) => "run_task",
            Msg::KillTask { .. } => "kill_task",
            Msg::AgentUpdate(_) => "agent_update",
            Msg::AgentAck { .. } => "agent_ack",
            Msg::RegisterFramework(_) => "register_framework",
            Msg::FrameworkRegistered { .. } => "framework_registered",
            Msg::Offers(_) => "offers",
            Msg::Rescind { .. } => "rescind",
            Msg::Accept(_) => "accept",
            Msg::Decline { .. } => "decline",
            Msg::Suppress { .. } => "suppress",
            Msg::Revive { .. } => "revive",
            Msg::Kill { .. } => "kill",
            Msg::Update(_) => "update",
            Msg::Acknowledge { .. } => "acknowledge",
            Msg::Reconcile(_) => "reconcile",
            Msg::Submit(_) => "submit",
            Msg::Operator(_) => "operator",
            Msg::Event(_) => "event",
            Msg::UpdateFramework(_) => "update_framework",
            Msg::ReregisterAgent(_) => "reregister_agent",
            Msg::Reconciled(_) => "reconciled",
            Msg::Contend { .. } => "contend",
            Msg::Heartbeat { .. } => "heartbeat",
            Msg::HeartbeatAck { .. } => "heartbeat_ack",
            Msg::SessionExpired { .. } => "session_expired",
            Msg::Watch => "watch",
            Msg::LeaderIs { .. } => "leader_is",
            Msg::LeaderAck { .. } => "leader_ack",
            Msg::RegistryRead { .. } => "registry_read",
            Msg::RegistrySnapshot { .. } => "registry_snapshot",
            Msg::RegistryWrite(_) => "registry_write",
            Msg::RegistryAck { .. } => "registry_ack",
            Msg::ReconcileTasks(_) => "reconcile_tasks",
            Msg::FrameworkRemoved { .. } => "framework_removed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuse_keeps_milliseconds_below_24_days_and_seconds_above() {
        let d = |s: &str| Duration::parse(s).unwrap();
        assert_eq!(Refuse::DEFAULT.get(), None);
        assert_eq!(Refuse::new(None), Refuse::DEFAULT);
        for exact in ["0s", "1ms", "250ms", "5s", "1.5s", "10m", "24d", "29d", "365d"] {
            assert_eq!(Refuse::new(Some(d(exact))).get(), Some(d(exact)), "{exact}");
        }
        assert_eq!(Refuse::new(Some(d("1.0004s"))).get(), Some(d("1s")));
        assert_eq!(Refuse::new(Some(d("30d") + d("250ms"))).get(), Some(d("30d")));
        // Beyond 68 years: held at the largest value, never confused with the default.
        let huge = Refuse::new(Some(Duration::from_nanos(u64::MAX)));
        assert_ne!(huge, Refuse::DEFAULT);
        assert!(huge.get().unwrap() > d("365d"));
    }

    #[test]
    fn messages_stay_small() {
        assert!(std::mem::size_of::<Msg>() <= 16, "{}", std::mem::size_of::<Msg>());
    }

    #[test]
    fn terminal_states_are_final_and_running_never_goes_back() {
        use TaskState::*;
        for terminal in [Finished, Failed, Killed, Error, Dropped, Lost, Gone] {
            assert!(terminal.is_terminal());
            assert!(!terminal.may_become(Running));
        }
        assert!(Staging.may_become(Running));
        assert!(Running.may_become(Finished));
        assert!(!Running.may_become(Staging));
        assert!(Unreachable.may_become(Running));
    }
}
