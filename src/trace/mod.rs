//! Workload traces: readers for the well-known public formats, all yielding one record type.
//!
//! Every reader streams: it holds what is live in the trace (tasks submitted and not yet
//! ended, within a bounded look-ahead), never the whole file. `.gz` files are read
//! transparently (recognised by their magic bytes, not their name). A malformed row is an
//! error naming the file and row and what was expected; with `skip_bad_rows` it is counted
//! and skipped instead ([`BadRows`]).
//!
//! Readers yield [`TraceTask`]s in non-decreasing submit time, with resources already in
//! Mesos units (cpus in cores, mem and disk in MB) through the [`Capacity`] a normalized
//! trace is scaled by. Machine files yield [`TraceMachine`] events. What a simulated run
//! makes of them (windows, sampling, scaling, frameworks and roles) is [`mapping`]'s job.

pub mod alibaba2017;
pub mod alibaba2018;
pub mod fit;
pub mod fuzzing;
pub mod google2011;
pub mod native;
pub mod openb2023;
pub mod rows;
pub mod sort;
pub mod stats;
pub mod swf;
pub mod swim;
#[cfg(test)]
pub(crate) mod testing;

use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::resources::{Resources, Scalar};
use crate::time::Duration;

pub use rows::{BadRows, Fields, Rows};

/// A problem with a trace file: where it is and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceError {
    pub file: String,
    /// 1-based line number; 0 when the problem is with the file as a whole.
    pub row: u64,
    pub message: String,
}

impl TraceError {
    pub fn file(file: &str, message: impl Into<String>) -> TraceError {
        TraceError {
            file: file.to_owned(),
            row: 0,
            message: message.into(),
        }
    }
}

impl fmt::Display for TraceError {
    /// `traces/x.csv.gz:1043: expected 13 fields, found 12` (no row: `traces/x.csv: ...`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.row == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.row, self.message)
        }
    }
}

impl std::error::Error for TraceError {}

/// How a task ended in the trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EndState {
    /// Completed normally.
    Finish,
    /// Failed (a task or machine failure the trace blames on the task).
    Fail,
    /// Killed by its user or scheduler.
    Kill,
    /// Its machine was lost.
    Lost,
    /// Evicted to make room for other work (it may come back as a new submission).
    Evict,
    /// Still running when the trace (or its look-ahead) ends: the run time is unknown.
    Running,
    /// Never scheduled in the trace (still pending at its end, or withdrawn while pending).
    Pending,
}

impl EndState {
    pub const ALL: [EndState; 7] = [
        EndState::Finish,
        EndState::Fail,
        EndState::Kill,
        EndState::Lost,
        EndState::Evict,
        EndState::Running,
        EndState::Pending,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EndState::Finish => "finish",
            EndState::Fail => "fail",
            EndState::Kill => "kill",
            EndState::Lost => "lost",
            EndState::Evict => "evict",
            EndState::Running => "running",
            EndState::Pending => "pending",
        }
    }

    pub fn parse(s: &str) -> Option<EndState> {
        EndState::ALL.into_iter().find(|e| e.name() == s)
    }
}

/// One task as a trace records it, resources in Mesos units.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceTask {
    /// When it was submitted, on the trace's clock.
    pub submit: Duration,
    /// Its job (numeric in every format; formats with string ids intern them).
    pub job: u64,
    /// Its index within the job (Google's task index, an Alibaba instance number).
    pub index: u32,
    /// Who submitted it: an interned id, see [`TaskReader::user_name`]; 0 means unknown.
    pub user: u32,
    /// The trace's priority (Google 0–11); 0 when the format has none.
    pub priority: u8,
    /// The trace's class: Google scheduling class 0–3, openb QoS, SWF queue; 0 if none.
    pub class: u8,
    pub cpus: f64,
    /// MB.
    pub mem: f64,
    /// MB.
    pub disk: f64,
    pub gpus: f64,
    /// How long it ran in the trace (scheduled to end); `None` when unknown.
    pub runtime: Option<Duration>,
    pub end: EndState,
    /// Where it ran in the trace: an interned machine id, see [`TaskReader::machine_name`].
    pub machine: Option<u32>,
}

impl TraceTask {
    pub fn new(submit: Duration, job: u64, index: u32) -> TraceTask {
        TraceTask {
            submit,
            job,
            index,
            user: 0,
            priority: 0,
            class: 0,
            cpus: 0.0,
            mem: 0.0,
            disk: 0.0,
            gpus: 0.0,
            runtime: None,
            end: EndState::Pending,
            machine: None,
        }
    }
}

/// A source of trace tasks in non-decreasing submit time.
pub trait TaskReader {
    /// The next task; `Ok(None)` at the end of the trace.
    fn next_task(&mut self) -> Result<Option<TraceTask>, TraceError>;
    /// The next tasks as a group of identical copies (the tasks `next_task` would give one
    /// by one, in the same order), for consumers that can take them together: formats that
    /// make many tasks of one row (Alibaba 2017 instances, SWF processors, SWIM maps and
    /// reduces) hand out a row's tasks without copying each. `next_task` and `next_group`
    /// may be mixed.
    fn next_group(&mut self) -> Result<Option<TaskGroup>, TraceError> {
        Ok(self.next_task()?.map(|task| TaskGroup { task, count: 1 }))
    }
    /// The text file a reader reads, if it reads one: the bad-row tally and the row count
    /// below come from it.
    fn text(&self) -> Option<&Rows> {
        None
    }
    /// Bad rows skipped so far (with `skip_bad_rows`).
    fn skipped(&self) -> u64 {
        self.text().map_or(0, |r| r.bad.skipped)
    }
    /// The first bad row skipped, if any.
    fn first_skipped(&self) -> Option<&TraceError> {
        self.text().and_then(|r| r.bad.first.as_ref())
    }
    /// Rows read so far, comments and headers included.
    fn rows(&self) -> u64 {
        self.text().map_or(0, Rows::row)
    }
    /// The name behind an interned user id (`""` for 0).
    fn user_name(&self, _user: u32) -> &str {
        ""
    }
    /// The name behind an interned machine id.
    fn machine_name(&self, _machine: u32) -> &str {
        ""
    }
    /// Machines the trace implies without a machine file (an SWF header's MaxNodes and
    /// MaxProcs, say).
    fn machine_hint(&self) -> Option<MachineHint> {
        None
    }
}

/// `count` tasks identical but for their index: `task.index`, `task.index + 1`, and so on.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskGroup {
    pub task: TraceTask,
    /// At least 1.
    pub count: u32,
}

impl TaskGroup {
    /// The tasks one by one.
    pub fn tasks(&self) -> impl Iterator<Item = TraceTask> + '_ {
        (0..self.count).map(|k| TraceTask {
            index: self.task.index + k,
            ..self.task.clone()
        })
    }
}

/// A homogeneous cluster a task trace describes in its header.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MachineHint {
    pub count: u32,
    pub cpus: f64,
    /// MB; 0 when the trace does not say.
    pub mem: f64,
}

/// What happened to a machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MachineChange {
    Add,
    Remove,
    /// Its capacity changed.
    Update,
}

/// A machine event from a machine file, resources in Mesos units.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceMachine {
    pub at: Duration,
    pub name: String,
    pub change: MachineChange,
    pub cpus: f64,
    pub mem: f64,
    pub disk: f64,
    pub gpus: f64,
}

/// A source of machine events in non-decreasing time.
pub trait MachineReader {
    fn next_machine(&mut self) -> Result<Option<TraceMachine>, TraceError>;
    fn skipped(&self) -> u64;
}

/// What 1.0 of a normalized resource is in Mesos units: a trace that normalizes to its
/// largest machine (Google 2011) is scaled back by the capacity the scenario gives that
/// machine.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Capacity {
    pub cpus: f64,
    /// MB.
    pub mem: f64,
    /// MB.
    pub disk: f64,
}

impl Capacity {
    /// The largest machine of Google's 2011 cell is commonly taken to be 32 cores and
    /// 128 GiB, disk unknown: a 4 TB disk here.
    pub const GOOGLE_2011: Capacity = Capacity {
        cpus: 32.0,
        mem: 131_072.0,
        disk: 4_194_304.0,
    };
    /// Alibaba's 2017 and 2018 machines: 64 and 96 cores; memory normalized, taken as
    /// 512 GiB; disk unknown.
    pub const ALIBABA: Capacity = Capacity {
        cpus: 96.0,
        mem: 524_288.0,
        disk: 4_194_304.0,
    };
}

impl Capacity {
    /// This capacity with the scalars `r` names replaced (`cpus`, `mem`, `disk`).
    pub fn overridden_by(self, r: &Resources) -> Capacity {
        let get = |name: &str, default: f64| {
            let v = r.scalar(name);
            if v.is_zero() { default } else { v.as_f64() }
        };
        Capacity {
            cpus: get("cpus", self.cpus),
            mem: get("mem", self.mem),
            disk: get("disk", self.disk),
        }
    }
}

/// Mesos resources from a trace's amounts (rounded to thousandths; zeros left out).
pub fn resources(cpus: f64, mem: f64, disk: f64, gpus: f64) -> Resources {
    let mut r = Resources::new();
    for (name, v) in [("cpus", cpus), ("mem", mem), ("disk", disk), ("gpus", gpus)] {
        r.set_scalar(name, None, Scalar::from_f64(v));
    }
    r
}

/// The trace formats, by the name a scenario gives them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Google2011,
    Alibaba2017,
    Alibaba2018,
    Openb2023,
    Swf,
    Swim,
    Csv,
    /// A workload model written by `mesosim trace fit`, generated on the fly.
    Fitted,
}

impl Format {
    pub const ALL: [Format; 8] = [
        Format::Google2011,
        Format::Alibaba2017,
        Format::Alibaba2018,
        Format::Openb2023,
        Format::Swf,
        Format::Swim,
        Format::Csv,
        Format::Fitted,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Google2011 => "google2011",
            Format::Alibaba2017 => "alibaba2017",
            Format::Alibaba2018 => "alibaba2018",
            Format::Openb2023 => "openb2023",
            Format::Swf => "swf",
            Format::Swim => "swim",
            Format::Csv => "csv",
            Format::Fitted => "fitted",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == s)
    }

    /// The names, for error messages: `google2011, alibaba2017, ...`.
    pub fn names() -> String {
        Format::ALL.map(Format::name).join(", ")
    }

    /// The capacity normalized resources are scaled by when a scenario gives none.
    pub fn default_capacity(self) -> Capacity {
        match self {
            Format::Alibaba2017 | Format::Alibaba2018 => Capacity::ALIBABA,
            _ => Capacity::GOOGLE_2011,
        }
    }
}

/// How to read a trace: the options every reader shares.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    pub capacity: Capacity,
    /// Skip and count malformed rows instead of stopping at the first.
    pub skip_bad_rows: bool,
    /// How far ahead of a task's submission a reader looks for its end before giving it
    /// up as still running (formats that record starts and ends as separate events).
    pub lookahead: Duration,
    /// Memory for sorting a trace that is not in time order, in records; beyond it sorted
    /// runs spill to temporary files.
    pub sort_buffer: usize,
    /// A second file some formats take: Google's job_events, Alibaba 2018's batch_instance.
    pub companion: Option<String>,
    /// The seed of generated traces (`fitted`).
    pub seed: u64,
    /// Generated traces stop before this submit time (`None`: they never end).
    pub until: Option<Duration>,
}

impl ReadOptions {
    pub fn new(format: Format) -> ReadOptions {
        ReadOptions {
            capacity: format.default_capacity(),
            skip_bad_rows: false,
            lookahead: Duration::from_hours(24),
            sort_buffer: 1 << 20,
            companion: None,
            seed: 0,
            until: None,
        }
    }
}

/// Opens a trace file, decompressing gzip (any number of members) when its first bytes say
/// it is gzip.
pub fn open(path: &str) -> Result<Box<dyn BufRead>, TraceError> {
    let file = std::fs::File::open(Path::new(path))
        .map_err(|e| TraceError::file(path, format!("cannot read: {}", io_reason(&e))))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let head = reader
        .fill_buf()
        .map_err(|e| TraceError::file(path, format!("cannot read: {}", io_reason(&e))))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let gz = flate2::bufread::MultiGzDecoder::new(reader);
        Ok(Box::new(BufReader::with_capacity(1 << 16, gz)))
    } else {
        Ok(Box::new(reader))
    }
}

/// Opens a task trace in `format`.
pub fn tasks(format: Format, path: &str, options: &ReadOptions) -> Result<Box<dyn TaskReader>, TraceError> {
    Ok(match format {
        Format::Google2011 => Box::new(google2011::Tasks::open(path, options)?),
        Format::Alibaba2017 => Box::new(alibaba2017::Tasks::open(path, options)?),
        Format::Alibaba2018 => Box::new(alibaba2018::Tasks::open(path, options)?),
        Format::Openb2023 => Box::new(openb2023::Tasks::open(path, options)?),
        Format::Swf => Box::new(swf::Tasks::open(path, options)?),
        Format::Swim => Box::new(swim::Tasks::open(path, options)?),
        Format::Csv => Box::new(native::Tasks::open(path, options)?),
        Format::Fitted => Box::new(fit::Generated::open(path, options)?),
    })
}

/// Opens a machine file in `format`; `None` when the format has no machine file (its
/// machines are inferred from the tasks, or come from the scenario's cluster).
pub fn machines(
    format: Format,
    path: &str,
    options: &ReadOptions,
) -> Option<Result<Box<dyn MachineReader>, TraceError>> {
    let open = || -> Result<Box<dyn MachineReader>, TraceError> {
        Ok(match format {
            Format::Alibaba2017 => Box::new(alibaba2017::Machines::open(path, options)?),
            Format::Alibaba2018 => Box::new(alibaba2018::Machines::open(path, options)?),
            Format::Openb2023 => Box::new(openb2023::Machines::open(path, options)?),
            _ => unreachable!("checked below"),
        })
    };
    match format {
        Format::Alibaba2017 | Format::Alibaba2018 | Format::Openb2023 => Some(open()),
        _ => None,
    }
}

pub(crate) fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::IsADirectory => "it is a directory".to_owned(),
        std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput => {
            format!("corrupt data ({e})")
        }
        std::io::ErrorKind::UnexpectedEof => "the file ends in the middle of a gzip stream".to_owned(),
        _ => e.to_string(),
    }
}

/// Interns strings (user names, machine ids, job names) as dense ids in order of first
/// appearance, so ids are the same on every run.
#[derive(Default)]
pub struct Interner {
    /// Ids, found by the hash of their name (each name is stored once, in `names`).
    ids: hashbrown::HashTable<u32>,
    names: Vec<Box<str>>,
    hasher: rustc_hash::FxBuildHasher,
    /// The id last asked for: rows of one job mostly repeat their user, and comparing
    /// with it is cheaper than hashing.
    last: u32,
}

impl Interner {
    /// An interner whose id 0 is `""` (unknown), so real names start at 1.
    pub fn with_unknown() -> Interner {
        let mut i = Interner::default();
        i.intern("");
        i
    }

    pub fn intern(&mut self, name: &str) -> u32 {
        use std::hash::BuildHasher;
        if self
            .names
            .get(self.last as usize)
            .is_some_and(|last| **last == *name)
        {
            return self.last;
        }
        let (names, hasher) = (&mut self.names, &self.hasher);
        let hash = hasher.hash_one(name);
        let id = match self.ids.find(hash, |&id| *names[id as usize] == *name) {
            Some(&id) => id,
            None => {
                let id = names.len() as u32;
                names.push(name.into());
                self.ids
                    .insert_unique(hash, id, |&id| hasher.hash_one(&*names[id as usize]));
                id
            }
        };
        self.last = id;
        id
    }

    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |n| n)
    }
}

/// Reads a whole reader into a vector; for tests and small files.
pub fn read_all(reader: &mut dyn TaskReader) -> Result<Vec<TraceTask>, TraceError> {
    let mut out = Vec::new();
    while let Some(t) = reader.next_task()? {
        out.push(t);
    }
    Ok(out)
}
