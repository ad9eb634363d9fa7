//! The scenario file's schema: what users write, exactly as they write it.
//!
//! Every key is documented in docs/scenario.md. Types here only describe the syntax;
//! [`super::validate`] checks what a type cannot (references between sections, ranges,
//! combinations), pointing at the offending value.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::resources::{MinAllocatable, Resources};
use crate::time::Duration;

/// A whole scenario file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Names the report folder: `reports/<name>/`.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub seed: u64,
    /// Simulated time limit.
    pub duration: Duration,
    #[serde(default)]
    pub master: MasterSpec,
    #[serde(default)]
    pub roles: Vec<RoleSpec>,
    #[serde(default)]
    pub network: NetworkSpec,
    #[serde(default)]
    pub cluster: Vec<MachineClass>,
    #[serde(default)]
    pub frameworks: Vec<FrameworkSpec>,
    #[serde(default)]
    pub events: Vec<EventSpec>,
    #[serde(default)]
    pub report: ReportSpec,
    /// Timed failures: a list, or `{ random: ... }` drawn from the seed.
    #[serde(default)]
    pub faults: Faults,
}

/// The master's settings; every default is Mesos's.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MasterSpec {
    /// The allocator's name: one of [`crate::allocator::NAMES`].
    pub allocator: String,
    pub allocation_interval: Duration,
    pub min_allocatable: MinAllocatable,
    /// The decline filter a framework gets when it does not name one.
    pub refuse_seconds: Duration,
    pub agent_ping_timeout: Duration,
    pub max_agent_ping_timeouts: u32,
    pub agent_reregister_timeout: Duration,
    /// Resource names left out of DRF shares (e.g. `gpus`).
    pub fair_sharing_excluded_resources: Vec<String>,
    /// Offers outstanding this long are rescinded (absent: never, as Mesos).
    pub offer_timeout: Option<Duration>,
    /// Masters running: one leads, the others stand by. More than one adds a coordinator
    /// (ZooKeeper's part) they elect the leader through.
    pub masters: u32,
    /// The coordinator's session timeout (ZooKeeper's, as Mesos sets it).
    pub session_timeout: Duration,
    /// The masters' processing time per message (absent: none, every message is handled
    /// at once).
    pub processing: Option<ProcessingSpec>,
}

impl Default for MasterSpec {
    fn default() -> Self {
        MasterSpec {
            allocator: "drf".to_owned(),
            allocation_interval: Duration::from_secs(1),
            min_allocatable: MinAllocatable::parse("cpus:0.01|mem:32").expect("a valid constant"),
            refuse_seconds: Duration::from_secs(5),
            agent_ping_timeout: Duration::from_secs(15),
            max_agent_ping_timeouts: 5,
            agent_reregister_timeout: Duration::from_mins(10),
            fair_sharing_excluded_resources: Vec::new(),
            offer_timeout: None,
            masters: 1,
            session_timeout: Duration::from_secs(10),
            processing: None,
        }
    }
}

/// How long a master takes to handle a message: it handles them one at a time, and those
/// arriving meanwhile wait their turn (see `sim::processing`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessingSpec {
    /// Microseconds per message of a kind not listed in `kinds`.
    #[serde(default)]
    pub message_us: f64,
    /// ... and per event the master publishes while handling it.
    #[serde(default)]
    pub event_us: f64,
    /// Per kind of message (one of [`PROCESSING_KINDS`]).
    #[serde(default)]
    pub kinds: BTreeMap<String, KindCost>,
}

/// What one kind of message costs a master.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindCost {
    /// Microseconds per message.
    #[serde(default)]
    pub message_us: f64,
    /// Microseconds more per event the master publishes while handling it (a task it
    /// learns of or launches, an agent back, an offer ended).
    #[serde(default)]
    pub event_us: f64,
}

/// The kinds of message a master handles from agents, frameworks and operators, as
/// `processing.kinds` names them.
pub const PROCESSING_KINDS: [&str; 14] = [
    "register_agent",
    "reregister_agent",
    "pong",
    "agent_update",
    "register_framework",
    "accept",
    "decline",
    "suppress",
    "revive",
    "update_framework",
    "kill",
    "acknowledge",
    "reconcile",
    "operator",
];

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    /// Hierarchical with `/`: `eng/web`. With `instances`, `{i}` in it becomes 1, 2, ...
    pub name: String,
    /// Declares this many roles at once (`name` must hold `{i}`).
    #[serde(default)]
    pub instances: Option<u32>,
    #[serde(default = "one")]
    pub weight: f64,
    #[serde(default)]
    pub quota: Option<QuotaSpec>,
}

fn one() -> f64 {
    1.0
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaSpec {
    /// Held back for the role even when it does not use it.
    #[serde(default)]
    pub guarantee: Option<Resources>,
    /// Never offered beyond; `cpus:0` forbids cpus, an unnamed resource is unlimited.
    #[serde(default)]
    pub limit: Option<crate::allocator::Limits>,
}

/// What the report folder holds beyond summary.json.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportSpec {
    /// The time series' sampling interval; absent: about a thousand samples over `duration`.
    pub sample_interval: Option<Duration>,
    /// Write offers.csv (one row per offer); on unless set to false.
    pub offers_csv: Option<bool>,
    /// Draw plots and write report.html; on unless set to false.
    pub plots: Option<bool>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSpec {
    pub latency: LatencySpec,
    pub drop_probability: f64,
    pub duplicate_probability: f64,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        NetworkSpec {
            latency: LatencySpec::default(),
            drop_probability: 0.0,
            duplicate_probability: 0.0,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencySpec {
    pub min: Duration,
    pub max: Duration,
}

impl Default for LatencySpec {
    fn default() -> Self {
        LatencySpec {
            min: Duration::from_micros(200),
            max: Duration::from_millis(2),
        }
    }
}

/// A class of identical machines; its agents are named `<class>-<n>`, n from 1.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineClass {
    pub class: String,
    pub count: u32,
    pub resources: Resources,
    /// Machines are spread round-robin over this many racks (`rack-1` ...).
    #[serde(default = "one_rack")]
    pub racks: u32,
}

fn one_rack() -> u32 {
    1
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameworkKind {
    /// A queue of tasks fed by a workload.
    Batch,
    /// Answers every offer the same way (allocator experiments).
    Scripted,
}

impl FrameworkKind {
    pub fn name(self) -> &'static str {
        match self {
            FrameworkKind::Batch => "batch",
            FrameworkKind::Scripted => "scripted",
        }
    }
}

/// When a framework registers: at a time, or only through an `add_framework` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    At(Duration),
    Never,
}

impl<'de> Deserialize<'de> for Start {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Start, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Start;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a time like 0s or 5m, or never")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Start, E> {
                if v == "never" {
                    return Ok(Start::Never);
                }
                Duration::parse(v)
                    .map(Start::At)
                    .map_err(|e| E::custom(format!("{e}, or never")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Start, E> {
                match v {
                    0 => Ok(Start::At(Duration::ZERO)),
                    _ => Err(E::custom(format!(
                        "invalid start {v}: a unit is missing (write {v}s), or never"
                    ))),
                }
            }
        }
        d.deserialize_str(Visitor)
    }
}

/// How a scripted framework answers offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnOffer {
    /// Accept the whole offer and keep it with one task that never ends.
    Hold,
    /// Decline it with `refuse_seconds`.
    Decline,
}

/// One framework. The keys that apply depend on `type`; the validator says which.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameworkSpec {
    /// With `instances`, each copy is named `<name>-<i>` (or `name` with `{i}` replaced).
    pub name: String,
    /// With `instances`, `{i}` in it becomes the copy's number.
    #[serde(default = "default_role")]
    pub role: String,
    /// Runs this many identical frameworks (a fleet), numbered from 1.
    #[serde(default)]
    pub instances: Option<u32>,
    #[serde(rename = "type")]
    pub kind: FrameworkKind,
    #[serde(default = "start_now")]
    pub start: Start,
    /// How long the master keeps a disconnected framework's tasks.
    #[serde(default)]
    pub failover_timeout: Duration,
    /// The decline filter this framework asks for; absent: the master's default.
    #[serde(default)]
    pub refuse_seconds: Option<Duration>,
    /// `scripted` only.
    #[serde(default)]
    pub on_offer: Option<OnOffer>,
    /// `batch` only.
    #[serde(default)]
    pub workload: Option<WorkloadSpec>,
    /// `batch` only: at most this many tasks launched per offer (absent: unlimited).
    #[serde(default)]
    pub max_tasks_per_offer: Option<u32>,
    /// `batch` only: suppress offers once the queue has been empty this long (default 10s).
    #[serde(default)]
    pub suppress_after: Option<Duration>,
    /// `batch` only: revive at most this often (default 5s).
    #[serde(default)]
    pub min_revive_interval: Option<Duration>,
    /// `batch` only: keep the master's offer filters for it set to the least its queued
    /// tasks need (default false).
    #[serde(default)]
    pub offer_filters: Option<bool>,
    /// `batch` only: ask the master for the state of launched tasks this often (default
    /// 10m; 0s: never).
    #[serde(default)]
    pub reconcile_interval: Option<Duration>,
    /// `batch` only: register partition-aware (default false).
    #[serde(default)]
    pub partition_aware: Option<bool>,
    /// `batch` only, partition-aware: replace a task unreachable this long (default 5m).
    #[serde(default)]
    pub replace_unreachable_after: Option<Duration>,
    /// `batch` only: kill a launched task not running after this long, and run it again
    /// (default 5m; 0s: never).
    #[serde(default)]
    pub launch_timeout: Option<Duration>,
}

fn default_role() -> String {
    "*".to_owned()
}

fn start_now() -> Start {
    Start::At(Duration::ZERO)
}

/// Where a batch framework's tasks come from.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadSpec {
    Synthetic(SyntheticSpec),
    Trace(TraceSpec),
}

/// Generated load: Poisson arrivals, a count, or a fixed list.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticSpec {
    /// Poisson arrivals at this mean rate; absent: every task arrives at once.
    #[serde(default)]
    pub arrival_rate_per_s: Option<f64>,
    /// Stop after this many tasks; absent: until the scenario ends (needs a rate).
    #[serde(default)]
    pub count: Option<u64>,
    /// How long each task runs.
    #[serde(default)]
    pub duration: Option<DurationDist>,
    /// What each task needs.
    #[serde(default)]
    pub task: Option<Resources>,
    /// An explicit list instead of a generator.
    #[serde(default)]
    pub tasks: Option<Vec<TaskItem>>,
}

/// One entry of an explicit task list.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskItem {
    #[serde(default)]
    pub at: Duration,
    pub resources: Resources,
    pub duration: DurationDist,
    #[serde(default = "one_task")]
    pub count: u32,
}

fn one_task() -> u32 {
    1
}

/// A distribution of task run times.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DurationDist {
    Fixed(Duration),
    Exponential {
        mean: Duration,
    },
    Lognormal {
        median: Duration,
        sigma: f64,
    },
    Uniform {
        min: Duration,
        max: Duration,
    },
    /// Runs until killed.
    Endless,
}

/// A recorded workload trace replayed through a batch framework (docs/traces.md).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceSpec {
    /// The reader: google2011, alibaba2017, alibaba2018, openb2023, swf, swim, csv, or fitted (a `mesosim trace fit` model).
    pub format: String,
    /// The task file (`.gz` read transparently); relative paths are tried against the
    /// working directory, then the scenario file's folder and its parent.
    pub path: String,
    /// alibaba2018: batch_instance.csv, one task per instance row.
    #[serde(default)]
    pub instances: Option<String>,
    /// The machines to add to the cluster: `inferred` (every machine the tasks name, or an
    /// SWF header's nodes), or a machine file (Alibaba server_event / machine_meta, openb
    /// node list). Absent: the scenario's `cluster` alone.
    #[serde(default)]
    pub machines: Option<String>,
    /// Each inferred machine's resources (default: half the capacity in cpus and memory,
    /// the most common Google 2011 machine).
    #[serde(default)]
    pub machine: Option<Resources>,
    /// What 1.0 of a normalized request is, for traces that normalize (default per format).
    #[serde(default)]
    pub capacity: Option<Resources>,
    /// One framework (and role) per group of tasks.
    #[serde(default)]
    pub split_by: SplitBy,
    /// Replay only tasks submitted in [from, to) on the trace's clock.
    #[serde(default)]
    pub from: Option<Duration>,
    #[serde(default)]
    pub to: Option<Duration>,
    /// Keep this fraction of jobs (chosen by a hash of the job and the seed).
    #[serde(default = "one")]
    pub sample: f64,
    /// Multiplies submission times: 0.5 submits twice as densely. Run times are kept.
    #[serde(default = "one")]
    pub time_scale: f64,
    /// Multiplies the number of tasks: 2 submits every task twice, 1.5 half of them twice.
    #[serde(default = "one")]
    pub load_scale: f64,
    /// How far ahead a reader looks for a task's end (default 24h).
    #[serde(default)]
    pub lookahead: Option<Duration>,
    /// Skip and count malformed rows instead of stopping at the first.
    #[serde(default)]
    pub skip_bad_rows: bool,
    /// Tasks the trace never started: skipped, or submitted to run until the end.
    #[serde(default)]
    pub unstarted: Unstarted,
}

/// How a trace's tasks are split into frameworks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitBy {
    /// One framework for the whole trace.
    #[default]
    None,
    /// One per user.
    User,
    /// One per priority value.
    Priority,
    /// Google's bands: free (0–1), batch (2–8), production (9–11).
    PriorityBand,
    /// One per class (Google scheduling class, openb QoS, SWF queue).
    Class,
}

/// What to do with tasks the trace never started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unstarted {
    #[default]
    Skip,
    /// Submit them; they run until the end of the run.
    Endless,
}

/// A timed operator action: `at` plus exactly one action key.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    pub at: Duration,
    #[serde(default)]
    pub add_agent: Option<AddAgent>,
    #[serde(default)]
    pub remove_agent: Option<String>,
    #[serde(default)]
    pub add_framework: Option<String>,
    #[serde(default)]
    pub set_weight: Option<SetWeight>,
    #[serde(default)]
    pub set_quota: Option<SetQuota>,
    #[serde(default)]
    pub suppress: Option<String>,
    #[serde(default)]
    pub revive: Option<String>,
}

/// The action keys of an event, in documentation order.
pub const EVENT_ACTIONS: [&str; 7] = [
    "add_agent",
    "remove_agent",
    "add_framework",
    "set_weight",
    "set_quota",
    "suppress",
    "revive",
];

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddAgent {
    pub name: String,
    pub resources: Resources,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetWeight {
    pub role: String,
    pub weight: f64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetQuota {
    pub role: String,
    #[serde(default)]
    pub guarantee: Option<Resources>,
    #[serde(default)]
    pub limit: Option<crate::allocator::Limits>,
}

/// What an event does, once validated.
#[derive(Clone, Debug)]
pub enum Action {
    AddAgent(AddAgent),
    RemoveAgent(String),
    AddFramework(String),
    SetWeight(SetWeight),
    SetQuota(SetQuota),
    Suppress(String),
    Revive(String),
}

impl Scenario {
    /// Roles with `instances` expanded, each with the index of the entry it came from.
    pub fn expanded_roles(&self) -> Vec<(usize, RoleSpec)> {
        let mut out = Vec::new();
        for (k, r) in self.roles.iter().enumerate() {
            match r.instances {
                None => out.push((k, r.clone())),
                Some(n) => {
                    for i in 1..=n {
                        let mut copy = r.clone();
                        copy.name = r.name.replace("{i}", &i.to_string());
                        copy.instances = None;
                        out.push((k, copy));
                    }
                }
            }
        }
        out
    }

    /// Frameworks with `instances` expanded, each with the index of the entry it came from.
    pub fn expanded_frameworks(&self) -> Vec<(usize, FrameworkSpec)> {
        let mut out = Vec::new();
        for (k, f) in self.frameworks.iter().enumerate() {
            match f.instances {
                None => out.push((k, f.clone())),
                Some(n) => {
                    for i in 1..=n {
                        let mut copy = f.clone();
                        let i = i.to_string();
                        copy.name = if f.name.contains("{i}") {
                            f.name.replace("{i}", &i)
                        } else {
                            format!("{}-{i}", f.name)
                        };
                        copy.role = f.role.replace("{i}", &i);
                        copy.instances = None;
                        out.push((k, copy));
                    }
                }
            }
        }
        out
    }
}

impl EventSpec {
    /// The action keys present, in documentation order.
    pub fn present(&self) -> Vec<&'static str> {
        let flags = [
            self.add_agent.is_some(),
            self.remove_agent.is_some(),
            self.add_framework.is_some(),
            self.set_weight.is_some(),
            self.set_quota.is_some(),
            self.suppress.is_some(),
            self.revive.is_some(),
        ];
        EVENT_ACTIONS
            .iter()
            .zip(flags)
            .filter(|(_, on)| *on)
            .map(|(name, _)| *name)
            .collect()
    }

    /// The one action; call after validation.
    pub fn action(&self) -> Action {
        if let Some(a) = &self.add_agent {
            return Action::AddAgent(a.clone());
        }
        if let Some(a) = &self.remove_agent {
            return Action::RemoveAgent(a.clone());
        }
        if let Some(a) = &self.add_framework {
            return Action::AddFramework(a.clone());
        }
        if let Some(a) = &self.set_weight {
            return Action::SetWeight(a.clone());
        }
        if let Some(a) = &self.set_quota {
            return Action::SetQuota(a.clone());
        }
        if let Some(a) = &self.suppress {
            return Action::Suppress(a.clone());
        }
        if let Some(a) = &self.revive {
            return Action::Revive(a.clone());
        }
        unreachable!("validation requires exactly one action")
    }
}

/// The scenario's failures: a timed list, or a random schedule drawn from the seed.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    pub list: Vec<FaultSpec>,
    pub random: Option<RandomFaults>,
}

/// The map form of `faults`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsMap {
    random: RandomFaults,
}

impl<'de> Deserialize<'de> for Faults {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Faults, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Faults;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of faults, or { random: ... }")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Faults, E> {
                Ok(Faults::default())
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Faults, A::Error> {
                let list = Vec::<FaultSpec>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
                Ok(Faults { list, random: None })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Faults, A::Error> {
                let m = FaultsMap::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(Faults {
                    list: Vec::new(),
                    random: Some(m.random),
                })
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// One timed failure: `at` plus exactly one fault key.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub at: Duration,
    /// Machines crash: their agents and every task on them are gone.
    #[serde(default)]
    pub crash_agents: Option<AgentFault>,
    /// Agent processes stop and start again; their tasks run on.
    #[serde(default)]
    pub restart_agents: Option<AgentFault>,
    /// Messages between groups of nodes are lost.
    #[serde(default)]
    pub partition: Option<PartitionSpec>,
    /// Every message may be dropped, duplicated or delayed for a while.
    #[serde(default)]
    pub network: Option<BurstSpec>,
    /// The leading master's process crashes.
    #[serde(default)]
    pub crash_master: Option<MasterFault>,
    /// A framework's scheduler process crashes; its tasks run on.
    #[serde(default)]
    pub crash_scheduler: Option<SchedulerFault>,
}

/// The fault keys, in documentation order.
pub const FAULT_KINDS: [&str; 6] = [
    "crash_agents",
    "restart_agents",
    "partition",
    "network",
    "crash_master",
    "crash_scheduler",
];

/// A crash of a framework's scheduler process (of each of its instances or trace groups,
/// for a name that has them); it starts again from its checkpoint after `back_after`, or
/// never.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerFault {
    pub framework: String,
    #[serde(default)]
    pub back_after: Option<Duration>,
}

/// A crash of the leading master's process; it starts again (as a standby) after
/// `back_after`, or never.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MasterFault {
    #[serde(default)]
    pub back_after: Option<Duration>,
}

/// Which agents a fault hits, and for how long. `names`, or a filter (`class`, `rack`)
/// narrowed by `count` or `fraction` drawn from the seed; nothing: every agent.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentFault {
    #[serde(default)]
    pub names: Option<Vec<String>>,
    #[serde(default)]
    pub class: Option<String>,
    #[serde(default)]
    pub rack: Option<String>,
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub fraction: Option<f64>,
    /// How long the machine or process stays down. Crashed machines without it never
    /// come back; restarted processes default to 10 s.
    #[serde(default)]
    pub back_after: Option<Duration>,
}

/// A network partition.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionSpec {
    /// Each group lists agents, classes, racks, frameworks, `master`, `agents` or
    /// `frameworks`. One group is cut off from everything else; several are cut off from
    /// each other, and nodes in none keep talking to all.
    pub groups: Vec<Vec<String>>,
    /// Only messages from the first group to the others are lost.
    #[serde(default)]
    pub one_way: bool,
    /// How long until it heals; absent: never.
    #[serde(default)]
    pub duration: Option<Duration>,
}

/// A burst of message loss, duplication and delay over the whole network.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurstSpec {
    #[serde(default)]
    pub drop: f64,
    #[serde(default)]
    pub duplicate: f64,
    /// Extra latency drawn uniformly from this range.
    #[serde(default)]
    pub delay: Option<LatencySpec>,
    pub duration: Duration,
}

/// A random fault schedule: `count` faults of the listed kinds, at times drawn uniformly
/// from `[from, to)`, each down for at most `max_down`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomFaults {
    pub count: u32,
    #[serde(default = "all_fault_kinds")]
    pub kinds: Vec<String>,
    #[serde(default)]
    pub from: Option<Duration>,
    #[serde(default)]
    pub to: Option<Duration>,
    #[serde(default = "five_minutes")]
    pub max_down: Duration,
    /// The largest fraction of the agents one fault may hit.
    #[serde(default = "a_tenth")]
    pub max_fraction: f64,
}

fn all_fault_kinds() -> Vec<String> {
    FAULT_KINDS.iter().map(|k| (*k).to_owned()).collect()
}

fn five_minutes() -> Duration {
    Duration::from_secs(300)
}

fn a_tenth() -> f64 {
    0.1
}

/// What a fault does, once validated.
#[derive(Clone, Debug)]
pub enum FaultAction {
    CrashAgents(AgentFault),
    RestartAgents(AgentFault),
    Partition(PartitionSpec),
    Network(BurstSpec),
    CrashMaster(MasterFault),
    CrashScheduler(SchedulerFault),
}

/// How long restarted agent processes stay down when a fault does not say.
pub const RESTART_DOWN: Duration = Duration::from_secs(10);

impl FaultAction {
    /// How long the fault lasts: until its processes or machines are up again, its
    /// partition heals or its burst ends; `None`: for good.
    pub fn lasts(&self) -> Option<Duration> {
        match self {
            FaultAction::CrashAgents(a) => a.back_after,
            FaultAction::RestartAgents(a) => Some(a.back_after.unwrap_or(RESTART_DOWN)),
            FaultAction::Partition(p) => p.duration,
            FaultAction::Network(b) => Some(b.duration),
            FaultAction::CrashMaster(m) => m.back_after,
            FaultAction::CrashScheduler(c) => c.back_after,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            FaultAction::CrashAgents(_) => "crash_agents",
            FaultAction::RestartAgents(_) => "restart_agents",
            FaultAction::Partition(_) => "partition",
            FaultAction::Network(_) => "network",
            FaultAction::CrashMaster(_) => "crash_master",
            FaultAction::CrashScheduler(_) => "crash_scheduler",
        }
    }
}

impl FaultSpec {
    /// The fault keys present, in documentation order.
    pub fn present(&self) -> Vec<&'static str> {
        let flags = [
            self.crash_agents.is_some(),
            self.restart_agents.is_some(),
            self.partition.is_some(),
            self.network.is_some(),
            self.crash_master.is_some(),
            self.crash_scheduler.is_some(),
        ];
        FAULT_KINDS
            .iter()
            .zip(flags)
            .filter(|(_, on)| *on)
            .map(|(name, _)| *name)
            .collect()
    }

    /// The one fault; call after validation.
    pub fn action(&self) -> FaultAction {
        if let Some(a) = &self.crash_agents {
            return FaultAction::CrashAgents(a.clone());
        }
        if let Some(a) = &self.restart_agents {
            return FaultAction::RestartAgents(a.clone());
        }
        if let Some(p) = &self.partition {
            return FaultAction::Partition(p.clone());
        }
        if let Some(b) = &self.network {
            return FaultAction::Network(b.clone());
        }
        if let Some(m) = &self.crash_master {
            return FaultAction::CrashMaster(m.clone());
        }
        if let Some(f) = &self.crash_scheduler {
            return FaultAction::CrashScheduler(f.clone());
        }
        unreachable!("validation requires exactly one fault")
    }
}
