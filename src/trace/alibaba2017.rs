//! Alibaba cluster-trace-v2017: batch tasks (`batch_task.csv`) and machine events
//! (`server_event.csv`).
//!
//! # The source
//!
//! Alibaba published this trace in the `alibaba/clusterdata` repository
//! (`cluster-trace-v2017`). It covers 24 hours of a production cluster of about 1,300
//! machines, where online services and batch jobs share every machine. The repository's
//! README allows use for research or study purposes; there is no open-source licence.
//! `traces/alibaba-v2017/` holds the official `schema.csv` and `trace_201708.md`, the
//! complete `server_event.csv`, and the complete `batch_task.csv` (80,553 tasks; that copy
//! has a header line added and memory rounded to 9 decimals). `traces/SOURCES.md` says
//! where each file came from.
//!
//! Times are whole seconds from the start of the trace. A time of 0 means "before the
//! trace began", and a few rows have negative times, which mean the same.
//!
//! # `batch_task.csv`: one row per task
//!
//! | # | column | mesosim |
//! |---|---|---|
//! | 1 | task create time (s) | `submit`; a negative time counts as 0 |
//! | 2 | task end time (s) (the last change of state) | `runtime = end − create`, for tasks that ended |
//! | 3 | job id | `job` |
//! | 4 | task id | checked to be an integer, otherwise not used |
//! | 5 | number of instances | one [`TraceTask`] per instance |
//! | 6 | status | `end`, see below |
//! | 7 | cpus per instance, 100 = 1 core | `cpus = value / 100`; empty is 0 |
//! | 8 | memory per instance, normalized to [0, 1] | `mem = value × capacity.mem`; empty is 0 |
//!
//! A row with no cpus or no memory gets 0 of it. The trace leaves both empty for tasks that
//! never got resources, such as most Waiting tasks. A value that is not a number is a bad
//! row, and so is a negative value or a memory above 1. `disk` is always 0, because the
//! trace has no disk demand.
//!
//! **Instances.** A row of `n` instances yields `n` tasks with the same demand, submit time,
//! runtime and status. `job` is the job id. `index` numbers instances across the whole job,
//! and each row takes the next `n` numbers in file order. If job 3's first row has 2
//! instances and its second row has 3, they get indexes 0–1 and 2–4. So `(job, index)`
//! names one instance, and each task is a contiguous block of indexes. A row of 0 instances
//! yields nothing.
//!
//! **Status.** The official description lists Ready, Waiting, Running, Terminated, Failed
//! and Cancelled; the sample file has Terminated, Waiting, Running and Failed. mesosim also
//! accepts Interrupted, which the instance table uses.
//!
//! | status | `end` | `runtime` |
//! |---|---|---|
//! | Terminated | `Finish` | end − create. An end before create, or no end, makes the row bad |
//! | Failed | `Fail` | end − create. None if the end is empty, or is 0 after a later create |
//! | Cancelled, Interrupted | `Kill` | the same as Failed |
//! | Running | `Running` | None (the end time is ignored) |
//! | Waiting, Ready | `Pending` | None (the end time is ignored) |
//!
//! For Failed, Cancelled and Interrupted, an end before create is a bad row. One exception:
//! an end of 0 with a later create is read as "no end recorded". The runtime uses the raw
//! times, so a task created at −60 that ended at −55 ran for 5 s. Its submit time is still 0.
//!
//! **Order.** The file is not in time order. mesosim sorts rows by create time. It keeps
//! rows with equal times in file order, and holds at most `sort_buffer` rows in memory.
//! Beyond that, sorted runs spill to temporary files. The sort works on rows, not
//! instances: a row's instances are only made as they are read out, so the full file's
//! 11.9 million instances are never in memory at once. The only other memory that grows
//! with the trace is one instance counter per distinct job id (12,951 in the full file).
//!
//! **Header.** The file officially has no header. Some copies, including the sample here,
//! add one. If the first line's first field is not a number, that line is read as a header
//! and passed over. On any other line, the same thing is a bad row.
//!
//! # `server_event.csv`: machine events
//!
//! The columns are: timestamp (s), machine id, event type, event detail, cpus (cores, not
//! normalized), memory and disk (both normalized to [0, 1]). There is no header, though a
//! first line whose timestamp is not a number is passed over as one.
//!
//! * `add` → [`MachineChange::Add`], with `cpus` as given, `mem = memory × capacity.mem` and
//!   `disk = disk × capacity.disk`. An `add` must give cpus and memory. An empty disk is
//!   0. Another `add` for a machine that is already present is an `Update` if the capacity
//!   changed, and is passed over if it did not.
//! * `harderror` and `remove` → [`MachineChange::Remove`], with the capacity the machine
//!   had. If the machine is not present, the event is passed over. A later `add` brings it
//!   back.
//! * `softerror` is passed over. The machine stays in service with the same capacity. (The
//!   trace says new work should avoid such a machine for a while, but it records no event
//!   for when that ends. These rows carry zero capacity.)
//!
//! A machine's name is its id written as a decimal number (`"1148"`). The file is not
//! quite in time order: mesosim reads it all and sorts it by timestamp in memory, keeping
//! ties in file order, because machine files are small (1,352 rows). A negative timestamp
//! counts as 0.

use hashbrown::HashMap;
use rustc_hash::FxBuildHasher;

use super::sort::{SortedTasks, Sorter};
use super::{
    Capacity, EndState, Fields, MachineChange, MachineReader, ReadOptions, Rows, TaskGroup, TaskReader,
    TraceError, TraceMachine, TraceTask,
};
use crate::time::Duration;

const TASK_FIELDS: &[&str] = &[
    "create time",
    "end time",
    "job id",
    "task id",
    "instances",
    "status",
    "cpus",
    "memory",
];

const EVENT_FIELDS: &[&str] = &[
    "timestamp",
    "machine id",
    "event type",
    "event detail",
    "cpus",
    "memory",
    "disk",
];

/// Reads `batch_task.csv`: one [`TraceTask`] per instance, in create-time order.
pub struct Tasks {
    rows: Rows,
    mem: f64,
    state: State,
}

enum State {
    /// Rows go into the sorter; a row error leaves this state as it is, so the next call
    /// goes on from the row after it.
    Loading {
        sorter: Sorter,
        jobs: JobIndex,
        first: bool,
    },
    Yielding(Expander),
    Done,
}

impl Tasks {
    pub fn open(path: &str, options: &ReadOptions) -> Result<Tasks, TraceError> {
        Ok(Tasks {
            rows: Rows::open(path, options.skip_bad_rows)?,
            mem: options.capacity.mem,
            state: State::Loading {
                sorter: Sorter::new(options.sort_buffer, path),
                jobs: JobIndex::default(),
                first: true,
            },
        })
    }

    /// Reads the whole file into the sorter, then starts yielding.
    fn load(&mut self) -> Result<(), TraceError> {
        let State::Loading { sorter, jobs, first } = &mut self.state else {
            return Ok(());
        };
        let mem = self.mem;
        loop {
            let record = self.rows.next(|_, line| {
                let header = std::mem::take(first) && is_header(line, 0);
                if header {
                    return Ok(None);
                }
                parse_task(line, mem, jobs)
            })?;
            match record {
                Some(r) => sorter.push(r)?,
                None => break,
            }
        }
        let State::Loading { sorter, .. } = std::mem::replace(&mut self.state, State::Done) else {
            unreachable!("matched above")
        };
        self.state = State::Yielding(Expander::new(sorter.finish()?));
        Ok(())
    }
}

/// One `batch_task.csv` row as a sort record (see [`row_record`]).
fn parse_task(line: &str, mem_capacity: f64, jobs: &mut JobIndex) -> Result<Option<TraceTask>, String> {
    let f = Fields::split(line, ',', TASK_FIELDS)?;
    let create = f.i64(0)?;
    let end = opt_i64(&f, 1)?;
    let job = f.u64(2)?;
    f.u64(3)?;
    let count = instance_count(&f, 4)?;
    let (state, runtime) = outcome(&f, 5, create, end, "create time")?;
    let cpus = f.opt_nonneg(6)?.unwrap_or(0.0) / 100.0;
    let mem = match f.opt_nonneg(7)? {
        Some(v) if v > 1.0 => return Err(f.invalid(7, "a normalized memory in [0, 1]")),
        v => v.unwrap_or(0.0),
    };
    if count == 0 {
        return Ok(None);
    }
    let first = jobs.take(job, count)?;
    let mut t = TraceTask::new(trace_time(create), job, first);
    t.cpus = cpus;
    t.mem = mem * mem_capacity;
    t.end = state;
    t.runtime = runtime;
    Ok(Some(row_record(t, count)))
}

impl Tasks {
    /// The sorted rows being handed out, once every row is loaded (`None` if loading
    /// failed for good).
    fn expander(&mut self) -> Result<Option<&mut Expander>, TraceError> {
        if let State::Loading { .. } = self.state {
            self.load()?;
        }
        Ok(match &mut self.state {
            State::Yielding(e) => Some(e),
            _ => None,
        })
    }
}

impl TaskReader for Tasks {
    fn next_task(&mut self) -> Result<Option<TraceTask>, TraceError> {
        self.expander()?.map_or(Ok(None), Expander::next_task)
    }

    fn next_group(&mut self) -> Result<Option<TaskGroup>, TraceError> {
        self.expander()?.map_or(Ok(None), Expander::next_group)
    }

    fn text(&self) -> Option<&Rows> {
        Some(&self.rows)
    }
}

/// Reads `server_event.csv`: machine events in time order.
pub struct Machines {
    rows: Rows,
    capacity: Capacity,
    events: Option<std::vec::IntoIter<TraceMachine>>,
}

enum EventKind {
    Add,
    Gone,
    Soft,
}

struct MachineEvent {
    at: i64,
    name: String,
    kind: EventKind,
    cpus: f64,
    mem: f64,
    disk: f64,
}

impl Machines {
    pub fn open(path: &str, options: &ReadOptions) -> Result<Machines, TraceError> {
        Ok(Machines {
            rows: Rows::open(path, options.skip_bad_rows)?,
            capacity: options.capacity,
            events: None,
        })
    }

    fn load(&mut self) -> Result<(), TraceError> {
        let loaded = load_sorted(&mut self.rows, 0, parse_event, |e| e.at)?;
        let cap = self.capacity;
        // Present machines and their capacity in Mesos units.
        let mut present: HashMap<String, (f64, f64, f64), FxBuildHasher> = HashMap::default();
        let mut out = Vec::with_capacity(loaded.len());
        for e in loaded {
            let at = trace_time(e.at);
            let event = |change, (cpus, mem, disk): (f64, f64, f64)| TraceMachine {
                at,
                name: e.name.clone(),
                change,
                cpus,
                mem,
                disk,
                gpus: 0.0,
            };
            match e.kind {
                EventKind::Add => {
                    let now = (e.cpus, e.mem * cap.mem, e.disk * cap.disk);
                    match present.insert(e.name.clone(), now) {
                        None => out.push(event(MachineChange::Add, now)),
                        Some(before) if before != now => out.push(event(MachineChange::Update, now)),
                        Some(_) => {}
                    }
                }
                EventKind::Gone => {
                    if let Some(before) = present.remove(&e.name) {
                        out.push(event(MachineChange::Remove, before));
                    }
                }
                EventKind::Soft => {}
            }
        }
        self.events = Some(out.into_iter());
        Ok(())
    }
}

fn parse_event(line: &str) -> Result<MachineEvent, String> {
    let f = Fields::split(line, ',', EVENT_FIELDS)?;
    let at = f.i64(0)?;
    let id = f.u64(1)?;
    let kind = match f.str(2) {
        "add" => EventKind::Add,
        "harderror" | "remove" => EventKind::Gone,
        "softerror" => EventKind::Soft,
        _ => return Err(f.invalid(2, "add, softerror, harderror or remove")),
    };
    let cpus = f.opt_nonneg(4)?;
    let mem = unit_fraction(&f, 5)?;
    let disk = unit_fraction(&f, 6)?;
    if let EventKind::Add = kind {
        if cpus.is_none() {
            return Err(f.invalid(4, "a number of cpus for an add"));
        }
        if mem.is_none() {
            return Err(f.invalid(5, "a normalized memory for an add"));
        }
    }
    Ok(MachineEvent {
        at,
        name: id.to_string(),
        kind,
        cpus: cpus.unwrap_or(0.0),
        mem: mem.unwrap_or(0.0),
        disk: disk.unwrap_or(0.0),
    })
}

/// An optional value normalized to [0, 1].
fn unit_fraction(f: &Fields, i: usize) -> Result<Option<f64>, String> {
    match f.opt_nonneg(i)? {
        Some(v) if v > 1.0 => Err(f.invalid(i, "a normalized value in [0, 1]")),
        v => Ok(v),
    }
}

impl MachineReader for Machines {
    fn next_machine(&mut self) -> Result<Option<TraceMachine>, TraceError> {
        if self.events.is_none() {
            self.load()?;
        }
        Ok(self.events.as_mut().and_then(Iterator::next))
    }

    fn skipped(&self) -> u64 {
        self.rows.bad.skipped
    }
}

// ---- Shared with the 2018 reader ----------------------------------------------------------

/// Every row of a machine file, parsed, in time order (`at`); a header on the first row
/// (one whose field `key` is not a number) is passed over.
pub(crate) fn load_sorted<T>(
    rows: &mut Rows,
    key: usize,
    parse: impl Fn(&str) -> Result<T, String>,
    at: impl Fn(&T) -> i64,
) -> Result<Vec<T>, TraceError> {
    let mut first = true;
    let mut loaded = Vec::new();
    while let Some(e) = rows.next(|_, line| {
        if std::mem::take(&mut first) && is_header(line, key) {
            return Ok(None);
        }
        parse(line).map(Some)
    })? {
        loaded.push(e);
    }
    loaded.sort_by_key(at);
    Ok(loaded)
}

/// A trace time in seconds as a submit time: times before the trace (negative) are 0.
pub(crate) fn trace_time(secs: i64) -> Duration {
    Duration::from_secs(secs.max(0) as u64)
}

/// An optional integer field; empty is `None`.
pub(crate) fn opt_i64(f: &Fields, i: usize) -> Result<Option<i64>, String> {
    let s = f.str(i);
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<i64>().map(Some).map_err(|_| f.invalid(i, "an integer"))
}

/// A required instance count that fits the 32-bit instance index.
pub(crate) fn instance_count(f: &Fields, i: usize) -> Result<u32, String> {
    u32::try_from(f.u64(i)?).map_err(|_| f.invalid(i, "at most 4294967295 instances"))
}

/// Whether the first line of a file is a header: its field `key` (a number in every data
/// row) is there, is not empty and is not a number.
pub(crate) fn is_header(line: &str, key: usize) -> bool {
    line.split(',')
        .nth(key)
        .map(str::trim)
        .is_some_and(|s| !s.is_empty() && s.parse::<f64>().is_err())
}

pub(crate) const STATUSES: &str = "Terminated, Failed, Cancelled, Interrupted, Running, Waiting or Ready";

/// The end state and run time of a batch task or instance from its status (field
/// `status`), its start and its end (raw seconds; `None` when empty). Terminated needs an
/// end no earlier than the start. Failed, Cancelled and Interrupted have a run time when the
/// end is recorded (an end of 0 after a later start is "not recorded"). Running, Waiting
/// and Ready have none.
pub(crate) fn outcome(
    f: &Fields,
    status: usize,
    start: i64,
    end: Option<i64>,
    start_name: &str,
) -> Result<(EndState, Option<Duration>), String> {
    let state = match f.str(status) {
        "Terminated" => EndState::Finish,
        "Failed" => EndState::Fail,
        "Cancelled" | "Interrupted" => EndState::Kill,
        "Running" => return Ok((EndState::Running, None)),
        "Waiting" | "Ready" => return Ok((EndState::Pending, None)),
        _ => return Err(f.invalid(status, &format!("a status: {STATUSES}"))),
    };
    let end = match end {
        None if state == EndState::Finish => return Err("status Terminated needs an end time".to_owned()),
        Some(0) if start > 0 && state != EndState::Finish => None,
        e => e,
    };
    match end {
        None => Ok((state, None)),
        Some(e) if e < start => Err(format!("end time {e} is before {start_name} {start}")),
        Some(e) => {
            let secs = (i128::from(e) - i128::from(start)) as u64;
            Ok((state, Some(Duration::from_secs(secs))))
        }
    }
}

/// Instance numbers: each job's next free index, so that `(job, index)` names one instance.
#[derive(Default)]
pub(crate) struct JobIndex(HashMap<u64, u32, FxBuildHasher>);

impl JobIndex {
    /// Takes `count` indexes of `job`; the first of them.
    pub(crate) fn take(&mut self, job: u64, count: u32) -> Result<u32, String> {
        let next = self.0.entry(job).or_insert(0);
        let first = *next;
        *next = first
            .checked_add(count)
            .ok_or_else(|| format!("job {job} has more than 4294967295 instances"))?;
        Ok(first)
    }
}

/// A sort record standing for `count` instances of one row: the traces have no users, so
/// the record carries the count in `user`, and the first instance's number in `index`.
pub(crate) fn row_record(mut t: TraceTask, count: u32) -> TraceTask {
    t.user = count;
    t
}

/// Turns sorted row records back into one task per instance, as they are read out.
pub(crate) struct Expander {
    sorted: SortedTasks,
    /// The row being expanded, the next instance of it and how many it has.
    current: Option<(TraceTask, u32, u32)>,
}

impl Expander {
    pub(crate) fn new(sorted: SortedTasks) -> Expander {
        Expander {
            sorted,
            current: None,
        }
    }

    /// The row being expanded, with instances left (the next row's once it has none);
    /// `None` at the end.
    fn current(&mut self) -> Result<Option<&mut (TraceTask, u32, u32)>, TraceError> {
        while self.current.as_ref().is_none_or(|(_, next, count)| next >= count) {
            let Some(mut record) = self.sorted.next_task()? else {
                self.current = None;
                return Ok(None);
            };
            let count = std::mem::take(&mut record.user);
            self.current = Some((record, 0, count));
        }
        Ok(self.current.as_mut())
    }

    #[inline]
    pub(crate) fn next_task(&mut self) -> Result<Option<TraceTask>, TraceError> {
        Ok(self.current()?.map(|(record, next, _)| {
            let mut t = record.clone();
            t.index = record.index + *next;
            *next += 1;
            t
        }))
    }

    /// The rest of the current row's instances, or the next row's, as one group.
    pub(crate) fn next_group(&mut self) -> Result<Option<TaskGroup>, TraceError> {
        Ok(self.current()?.map(|(record, next, count)| {
            let mut task = record.clone();
            task.index = record.index + *next;
            let group = TaskGroup {
                task,
                count: *count - *next,
            };
            *next = *count;
            group
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Format, read_all};
    use proptest::prelude::*;

    const BATCH_TASK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/traces/alibaba-v2017/batch_task.csv");
    const SERVER_EVENT: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/traces/alibaba-v2017/server_event.csv"
    );

    use crate::trace::testing::TempFile as Temp;

    fn options(skip: bool) -> ReadOptions {
        let mut o = ReadOptions::new(Format::Alibaba2017);
        o.skip_bad_rows = skip;
        o
    }

    fn read(path: &str, options: &ReadOptions) -> Result<Vec<TraceTask>, TraceError> {
        read_all(&mut Tasks::open(path, options)?)
    }

    fn machines(path: &str, options: &ReadOptions) -> Result<Vec<TraceMachine>, TraceError> {
        let mut m = Machines::open(path, options)?;
        let mut out = Vec::new();
        while let Some(e) = m.next_machine()? {
            out.push(e);
        }
        Ok(out)
    }

    /// The sample's first `n` data lines (after its header), newline-terminated.
    fn sample_prefix(n: usize) -> String {
        let text = std::fs::read_to_string(BATCH_TASK).unwrap();
        text.lines().skip(1).take(n).map(|l| format!("{l}\n")).collect()
    }

    /// Counted with awk over the sample (header excluded; one Terminated row, 54,988,
    /// ends before it was created and is skipped):
    /// `awk -F, 'NR>1 {n[$6]+=$5} END {for (s in n) print s, n[s]}'`.
    #[test]
    fn batch_task_sample_yields_every_instance_in_order() {
        let mut reader = Tasks::open(BATCH_TASK, &options(true)).unwrap();
        let mut counts = [0u64; EndState::ALL.len()];
        let mut last = Duration::ZERO;
        let mut total = 0u64;
        let mut finished_runtime = 0u64;
        while let Some(t) = reader.next_task().unwrap() {
            assert!(t.submit >= last, "out of order at {t:?}");
            last = t.submit;
            counts[EndState::ALL.iter().position(|&e| e == t.end).unwrap()] += 1;
            total += 1;
            if t.end == EndState::Finish {
                finished_runtime += t.runtime.unwrap().as_nanos() / 1_000_000_000;
            }
        }
        assert_eq!(total, 11_909_320);
        let count = |e: EndState| counts[EndState::ALL.iter().position(|&x| x == e).unwrap()];
        assert_eq!(count(EndState::Finish), 10_214_274);
        assert_eq!(count(EndState::Fail), 395_468);
        assert_eq!(count(EndState::Running), 489_093);
        assert_eq!(count(EndState::Pending), 810_485);
        assert_eq!(count(EndState::Kill), 0);
        // awk -F, 'NR>1 && $6=="Terminated" && $2>=$1 {s+=$5*($2-$1)} END {printf "%.0f", s}'
        assert_eq!(finished_runtime, 7_822_815_623);
        assert_eq!(reader.skipped(), 1);
        assert_eq!(reader.rows(), 80_554);
        assert_eq!(last, Duration::from_secs(60_181));
    }

    #[test]
    fn a_task_ending_before_it_was_created_stops_the_read() {
        let e = read(BATCH_TASK, &options(false)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{BATCH_TASK}:54988: end time 53175 is before create time 53176")
        );
    }

    #[test]
    fn rows_map_to_instances_with_job_wide_indexes() {
        let text = "6459,6524,3,4,2,Terminated,50,0.5\n\
                    -60,-55,6168,37197,1,Failed,100,0.25\n\
                    6036,6046,3,7,3,Waiting,,\n\
                    100,0,9,1,1,Running,200,\n\
                    100,150,9,2,0,Terminated,200,0.1\n";
        let file = Temp::new("map.csv", text.as_bytes());
        let tasks = read(file.path(), &options(false)).unwrap();
        let got: Vec<(u64, u64, u32, EndState, Option<u64>)> = tasks
            .iter()
            .map(|t| {
                let secs = t.submit.as_nanos() / 1_000_000_000;
                (
                    secs,
                    t.job,
                    t.index,
                    t.end,
                    t.runtime.map(|r| r.as_nanos() / 1_000_000_000),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (0, 6168, 0, EndState::Fail, Some(5)),
                (100, 9, 0, EndState::Running, None),
                (6036, 3, 2, EndState::Pending, None),
                (6036, 3, 3, EndState::Pending, None),
                (6036, 3, 4, EndState::Pending, None),
                (6459, 3, 0, EndState::Finish, Some(65)),
                (6459, 3, 1, EndState::Finish, Some(65)),
            ]
        );
        let first = &tasks[5];
        assert_eq!(
            (first.cpus, first.mem, first.disk, first.user),
            (0.5, 262_144.0, 0.0, 0)
        );
        assert_eq!((tasks[2].cpus, tasks[2].mem), (0.0, 0.0));
        assert_eq!((tasks[1].cpus, tasks[1].mem), (2.0, 0.0));
    }

    #[test]
    fn instance_indexes_are_unique_within_a_job() {
        let file = Temp::new("unique.csv", sample_prefix(3_000).as_bytes());
        let tasks = read(file.path(), &options(false)).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for t in &tasks {
            assert!(seen.insert((t.job, t.index)), "{} {} twice", t.job, t.index);
        }
        let expected: u64 = sample_prefix(3_000)
            .lines()
            .map(|l| l.split(',').nth(4).unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(tasks.len() as u64, expected);
    }

    #[test]
    fn a_header_is_read_only_on_the_first_line() {
        let rows = sample_prefix(500);
        let header = std::fs::read_to_string(BATCH_TASK)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_owned();
        let bare = Temp::new("bare.csv", rows.as_bytes());
        let headed = Temp::new("headed.csv", format!("{header}\n{rows}").as_bytes());
        assert_eq!(
            read(bare.path(), &options(false)).unwrap(),
            read(headed.path(), &options(false)).unwrap()
        );
        let late = Temp::new("late.csv", format!("{rows}{header}\n").as_bytes());
        assert_eq!(
            read(late.path(), &options(false)).unwrap_err().to_string(),
            format!(
                "{}:501: field 1 (create time): expected an integer, found \"task_create_time\"",
                late.path()
            )
        );
    }

    #[test]
    fn a_short_row_is_a_one_line_error_or_a_counted_skip() {
        let rows = sample_prefix(4);
        let text = format!("{rows}6457,6533,3,5,1,Terminated,50\n{rows}");
        let file = Temp::new("short.csv", text.as_bytes());
        let e = read(file.path(), &options(false)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}:5: expected 8 fields, found 7", file.path())
        );
        let mut reader = Tasks::open(file.path(), &options(true)).unwrap();
        let tasks = read_all(&mut reader).unwrap();
        let once: u64 = rows
            .lines()
            .map(|l| l.split(',').nth(4).unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(tasks.len() as u64, 2 * once);
        assert_eq!(reader.skipped(), 1);
        assert_eq!(reader.rows(), 9);
    }

    #[test]
    fn bad_values_name_their_field() {
        let cases = [
            (
                "1,2,3,4,5,Done,50,0.1",
                "field 6 (status): expected a status: Terminated, Failed, Cancelled, Interrupted, Running, Waiting or Ready, found \"Done\"",
            ),
            (
                "1,2,3,4,5,Terminated,x,0.1",
                "field 7 (cpus): expected a number, found \"x\"",
            ),
            (
                "1,2,3,4,5,Terminated,50,1.5",
                "field 8 (memory): expected a normalized memory in [0, 1], found \"1.5\"",
            ),
            (
                "1,,3,4,5,Terminated,50,0.1",
                "status Terminated needs an end time",
            ),
            (
                "1,2,3,4,-5,Terminated,50,0.1",
                "field 5 (instances): expected a non-negative integer, found \"-5\"",
            ),
            ("9,5,3,4,5,Failed,50,0.1", "end time 5 is before create time 9"),
        ];
        for (line, message) in cases {
            let file = Temp::new("bad.csv", format!("{line}\n").as_bytes());
            let e = read(file.path(), &options(false)).unwrap_err();
            assert_eq!(e.to_string(), format!("{}:1: {message}", file.path()));
        }
    }

    #[test]
    fn gzip_reads_the_same_as_plain_text() {
        let rows = sample_prefix(2_000);
        let plain = Temp::new("plain.csv", rows.as_bytes());
        let gz = Temp::gz("packed.csv.gz", rows.as_bytes());
        assert_eq!(
            read(plain.path(), &options(false)).unwrap(),
            read(gz.path(), &options(false)).unwrap()
        );
        let events = std::fs::read(SERVER_EVENT).unwrap();
        let gz = Temp::gz("events.gz", &events);
        assert_eq!(
            machines(SERVER_EVENT, &options(false)).unwrap(),
            machines(gz.path(), &options(false)).unwrap()
        );
    }

    #[test]
    fn a_tiny_sort_buffer_spills_and_gives_the_same_order() {
        let file = Temp::new("spill.csv", sample_prefix(2_000).as_bytes());
        let whole = read(file.path(), &options(false)).unwrap();
        let mut tiny = options(false);
        tiny.sort_buffer = 7;
        assert_eq!(read(file.path(), &tiny).unwrap(), whole);
        assert!(whole.windows(2).all(|w| w[0].submit <= w[1].submit));
    }

    /// awk -F, '{print $3}' server_event.csv | sort | uniq -c: 1,313 add, 39 softerror.
    #[test]
    fn server_events_add_every_machine_once() {
        let events = machines(SERVER_EVENT, &options(false)).unwrap();
        assert_eq!(events.len(), 1_313);
        assert!(
            events
                .iter()
                .all(|e| e.change == MachineChange::Add && e.at == Duration::ZERO)
        );
        let names: std::collections::BTreeSet<&str> = events.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names.len(), 1_313);
        let m = events.iter().find(|e| e.name == "1148").unwrap();
        assert_eq!(m.cpus, 64.0);
        assert!((m.mem - 0.6900059534594777 * 524_288.0).abs() < 1e-6);
        assert_eq!(m.disk, 4_194_304.0);
    }

    #[test]
    fn machine_events_are_sorted_and_followed_per_machine() {
        let text = "50,7,harderror,disk,0,0,0\n\
                    0,7,add,,64,0.5,1\n\
                    0,8,add,,32,0.25,0.5\n\
                    20,8,softerror,agent_check,0,0,0\n\
                    30,8,add,,32,0.5,0.5\n\
                    40,8,add,,32,0.5,0.5\n\
                    60,9,remove,,,,\n\
                    70,7,add,,64,0.5,1\n";
        let file = Temp::new("events.csv", text.as_bytes());
        let got: Vec<(u64, String, MachineChange, f64)> = machines(file.path(), &options(false))
            .unwrap()
            .into_iter()
            .map(|e| (e.at.as_nanos() / 1_000_000_000, e.name, e.change, e.mem))
            .collect();
        let m = |s: u64, n: &str, c, mem| (s, n.to_owned(), c, mem);
        assert_eq!(
            got,
            [
                m(0, "7", MachineChange::Add, 262_144.0),
                m(0, "8", MachineChange::Add, 131_072.0),
                m(30, "8", MachineChange::Update, 262_144.0),
                m(50, "7", MachineChange::Remove, 262_144.0),
                m(70, "7", MachineChange::Add, 262_144.0),
            ]
        );
    }

    #[test]
    fn bad_machine_rows_are_errors_or_counted_skips() {
        let text =
            "0,1,add,,64,0.5,1\n0,2,add,,64,0.5\n0,3,boot,,64,0.5,1\n0,4,add,,,0.5,1\n0,5,add,,64,0.5,1\n";
        let file = Temp::new("badevents.csv", text.as_bytes());
        let e = machines(file.path(), &options(false)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}:2: expected 7 fields, found 6", file.path())
        );
        let mut m = Machines::open(file.path(), &options(true)).unwrap();
        let mut names = Vec::new();
        while let Some(e) = m.next_machine().unwrap() {
            names.push(e.name);
        }
        assert_eq!(names, ["1", "5"]);
        assert_eq!(m.skipped(), 3);
    }

    /// Reads `bytes` as both files, with and without skipping: any answer but a panic.
    fn read_anything(bytes: &[u8]) {
        let file = Temp::new("garbage.csv", bytes);
        for skip in [false, true] {
            let mut o = options(skip);
            o.sort_buffer = 3;
            let _ = read(file.path(), &o);
            let _ = machines(file.path(), &o);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            read_anything(&bytes);
        }

        #[test]
        fn mangled_rows_never_panic(
            cut in 0usize..400,
            noise in prop::collection::vec((0usize..400, prop::sample::select(vec![b',', b'-', b'9', b'\n', b'x', b'.', 0xff])), 0..6),
        ) {
            let mut bytes = sample_prefix(8).into_bytes();
            bytes.extend_from_slice(b"0,1,add,,64,0.5,1\n1351,1075,softerror,agent_check,0,0,0\n");
            for (at, b) in noise {
                let at = at % bytes.len();
                bytes[at] = b;
            }
            bytes.truncate(cut.min(bytes.len()));
            read_anything(&bytes);
        }
    }
}
