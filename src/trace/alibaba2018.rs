//! Alibaba cluster-trace-v2018: batch tasks (`batch_task.csv`), optionally joined with
//! their instances (`batch_instance.csv`), and machines (`machine_meta.csv`).
//!
//! # The source
//!
//! Alibaba published this trace in the `alibaba/clusterdata` repository
//! (`cluster-trace-v2018`). It covers 8 days of a production cluster of about 4,000
//! machines, where online services and batch jobs share every machine. The repository's
//! README allows use for research or study purposes; there is no open-source licence.
//! `traces/alibaba-v2018/` holds the official `schema.txt` and `trace_2018.md` and the
//! complete, checksum-verified `machine_meta.csv`. No public sample of `batch_task.csv` or
//! `batch_instance.csv` exists. The `*.sample.csv` files next to them are hand-made to the
//! official schema and are not trace data (see `SAMPLES.md` there).
//!
//! Times are whole seconds from the start of the trace. None of the files has a header,
//! but if the first line's time or count column is not a number, that line is read as a
//! header and passed over. On any other line, the same thing is a bad row. A negative time
//! means "before the trace" and gives a submit time of 0.
//!
//! # `batch_task.csv`: one row per task
//!
//! | # | column | mesosim |
//! |---|---|---|
//! | 1 | task_name (unique within a job; `M1`, `R2_1`, `task_…`) | must not be empty; used to join instances |
//! | 2 | instance_num | one [`TraceTask`] per instance |
//! | 3 | job_name (`j_123`) | `job = 123` |
//! | 4 | task_type (1–12) | `class`, when it is a number 0–255 (else 0) |
//! | 5 | status | `end`, see below |
//! | 6 | start_time (s) | `submit` |
//! | 7 | end_time (s) | `runtime = end − start`, for tasks that ended |
//! | 8 | plan_cpu, 100 = 1 core | `cpus = plan_cpu / 100`; empty is 0 |
//! | 9 | plan_mem, normalized to [0, 100] | `mem = plan_mem / 100 × capacity.mem`; empty is 0 |
//!
//! **Jobs.** The job number is the number in the job name: `j_4201014` → job 4,201,014.
//! mesosim needs no table of names for this. A job name of any other form is a bad row.
//!
//! **Demand.** An empty plan_cpu or plan_mem counts as 0. The trace documentation says
//! invalid normalized values are written as −1 or 101, so a plan_mem of exactly −1 or 101
//! also counts as 0. Any other plan_mem outside [0, 100], any negative plan_cpu, and any
//! value that is not a number make the row bad. `disk` is 0, because the trace has no disk
//! demand.
//!
//! **Status**, for tasks and instances alike:
//!
//! | status | `end` | `runtime` |
//! |---|---|---|
//! | Terminated | `Finish` | end − start. An end before start, or no end, makes the row bad |
//! | Failed | `Fail` | end − start. None if the end is empty, or is 0 after a later start |
//! | Cancelled, Interrupted (a stopped backup instance) | `Kill` | the same as Failed |
//! | Running | `Running` | None (the end time is ignored) |
//! | Waiting, Ready | `Pending` | None (the end time is ignored) |
//!
//! For Failed, Cancelled and Interrupted, an end before start is a bad row. One exception:
//! an end of 0 with a later start is read as "no end recorded". Runtimes use the raw times.
//!
//! **Instances, without `batch_instance.csv`.** A row of `n` instances yields `n` tasks
//! with the same demand, submit time, runtime and status. `index` numbers instances across
//! the whole job, and each row takes the next `n` numbers in file order. So `(job, index)`
//! names one instance, and each task is a contiguous block of indexes. A row of 0 instances
//! yields nothing.
//!
//! **Order and memory.** The file is not in time order. mesosim sorts rows, not instances,
//! by start time. It keeps rows with equal times in file order, and holds at most
//! `sort_buffer` rows in memory. Beyond that, sorted runs spill to temporary files.
//! Instances are made only as they are read out. The only other memory that grows with
//! the trace is one instance counter per distinct job. The full trace has about 4 million
//! jobs, so that is some tens of MB.
//!
//! # With `batch_instance.csv` (`ReadOptions::companion`)
//!
//! The columns are: instance_name, task_name, job_name, task_type, status, start_time,
//! end_time, machine_id, seq_no, total_seq_no, cpu_avg, cpu_max, mem_avg, mem_max.
//!
//! Each row is one try of one instance, and it yields one task. Its submit time, status,
//! runtime and `class` come from its own start_time, end_time, status and task_type, under
//! the rules above. Waiting and Ready instances have start 0, so they are submitted at 0.
//! `machine` is the interned machine_id, or `None` when that is empty; see
//! [`TaskReader::machine_name`]. `cpus` and `mem` are the plan_cpu and plan_mem of the
//! `batch_task.csv` row with the same job_name and task_name. `index` numbers a job's
//! instance rows in `batch_instance.csv` file order. instance_name, seq_no, total_seq_no and
//! the usage columns are not read.
//!
//! An instance whose task has no `batch_task.csv` row is a bad row of `batch_instance.csv`,
//! and so is a task listed twice in `batch_task.csv`. The whole task table is kept in
//! memory, so in this mode memory grows with the number of task rows (the full trace has
//! about 14 million). Instance rows are sorted in `sort_buffer` like task rows.
//! [`TaskReader::rows`] and [`TaskReader::skipped`] count both files.
//!
//! # `machine_meta.csv`: machine events
//!
//! The columns are: machine_id (`m_1`, used as the machine's name), time_stamp (s),
//! failure_domain_1, failure_domain_2, cpu_num, mem_size (normalized to [0, 100]) and
//! status. The failure domains are not read.
//!
//! mesosim reads each machine's rows in time order. A machine is in service while its
//! status is `USING`. The schema does not list the other statuses, and mesosim treats any
//! of them (the sample has `IMPORT_INSTALLING`) as out of service. So:
//!
//! * A `USING` row for a machine that is not in service → [`MachineChange::Add`]. This is
//!   its first row, or a row after it was out of service.
//! * A `USING` row for a machine in service → [`MachineChange::Update`] if cpu_num or mem_size
//!   changed, and passed over if neither did.
//! * Any other status for a machine in service → [`MachineChange::Remove`]. For a machine
//!   not in service, the row is passed over. A machine whose rows never say `USING` is never
//!   added. In the sample, `m_2739` has 5 `IMPORT_INSTALLING` rows and nothing else.
//!
//! `cpus = cpu_num`, `mem = mem_size / 100 × capacity.mem`, and `disk` is 0. A mem_size
//! outside [0, 100] (including the −1 and 101 markers) makes the row bad. The file is
//! grouped by machine, not sorted by time. mesosim reads it all and sorts it by time in
//! memory, keeping ties in file order, because machine files are small (17,592 rows).

use hashbrown::{Equivalent, HashMap};
use rustc_hash::FxBuildHasher;

use super::alibaba2017::{
    Expander, JobIndex, instance_count, is_header, load_sorted, opt_i64, outcome, row_record, trace_time,
};
use super::sort::Sorter;
use super::{
    Capacity, Fields, Interner, MachineChange, MachineReader, ReadOptions, Rows, TaskGroup, TaskReader,
    TraceError, TraceMachine, TraceTask,
};

const TASK_FIELDS: &[&str] = &[
    "task_name",
    "instance_num",
    "job_name",
    "task_type",
    "status",
    "start_time",
    "end_time",
    "plan_cpu",
    "plan_mem",
];

const INSTANCE_FIELDS: &[&str] = &[
    "instance_name",
    "task_name",
    "job_name",
    "task_type",
    "status",
    "start_time",
    "end_time",
    "machine_id",
    "seq_no",
    "total_seq_no",
    "cpu_avg",
    "cpu_max",
    "mem_avg",
    "mem_max",
];

const MACHINE_FIELDS: &[&str] = &[
    "machine_id",
    "time_stamp",
    "failure_domain_1",
    "failure_domain_2",
    "cpu_num",
    "mem_size",
    "status",
];

/// Reads `batch_task.csv` (and `batch_instance.csv` when given as the companion): one
/// [`TraceTask`] per instance, in start-time order.
pub struct Tasks {
    tasks: Rows,
    instances: Option<Rows>,
    mem: f64,
    machines: Interner,
    state: State,
}

enum State {
    /// Rows go into the sorter (and the task table, with instances); a row error leaves
    /// this state as it is, so the next call goes on from the row after it.
    Loading {
        sorter: Sorter,
        jobs: JobIndex,
        /// With instances: each task's demand.
        table: Option<TaskTable>,
        first_task: bool,
        first_instance: bool,
    },
    Yielding(Expander),
    Done,
}

impl Tasks {
    pub fn open(path: &str, options: &ReadOptions) -> Result<Tasks, TraceError> {
        let tasks = Rows::open(path, options.skip_bad_rows)?;
        let instances = match &options.companion {
            Some(companion) => Some(Rows::open(companion, options.skip_bad_rows)?),
            None => None,
        };
        let table = instances.as_ref().map(|_| TaskTable::default());
        Ok(Tasks {
            tasks,
            instances,
            mem: options.capacity.mem,
            machines: Interner::with_unknown(),
            state: State::Loading {
                sorter: Sorter::new(options.sort_buffer, path),
                jobs: JobIndex::default(),
                table,
                first_task: true,
                first_instance: true,
            },
        })
    }

    /// Reads the whole input into the sorter, then starts yielding.
    fn load(&mut self) -> Result<(), TraceError> {
        let State::Loading {
            sorter,
            jobs,
            table,
            first_task,
            first_instance,
        } = &mut self.state
        else {
            return Ok(());
        };
        let mem = self.mem;
        match (table, &mut self.instances) {
            (None, _) => loop {
                let record = self.tasks.next(|_, line| {
                    if std::mem::take(first_task) && is_header(line, 1) {
                        return Ok(None);
                    }
                    let task = parse_task(line, mem)?;
                    if task.count == 0 {
                        return Ok(None);
                    }
                    let first = jobs.take(task.job, task.count)?;
                    Ok(Some(row_record(task.record(first), task.count)))
                })?;
                match record {
                    Some(r) => sorter.push(r)?,
                    None => break,
                }
            },
            (Some(table), Some(instances)) => {
                while self
                    .tasks
                    .next(|_, line| {
                        if std::mem::take(first_task) && is_header(line, 1) {
                            return Ok(None);
                        }
                        let task = parse_task(line, mem)?;
                        let demand = Demand {
                            cpus: task.cpus,
                            mem: task.mem,
                        };
                        if !table.insert(task.job, task.name, demand) {
                            return Err(format!(
                                "task {} of job j_{} is listed twice",
                                task.name, task.job
                            ));
                        }
                        Ok(Some(()))
                    })?
                    .is_some()
                {}
                let task_file = self.tasks.file();
                let machines = &mut self.machines;
                loop {
                    let record = instances.next(|_, line| {
                        if std::mem::take(first_instance) && is_header(line, 5) {
                            return Ok(None);
                        }
                        parse_instance(line, table, jobs, machines, task_file).map(Some)
                    })?;
                    match record {
                        Some(r) => sorter.push(r)?,
                        None => break,
                    }
                }
            }
            (Some(_), None) => unreachable!("a task table is made only with an instance file"),
        }
        let State::Loading { sorter, .. } = std::mem::replace(&mut self.state, State::Done) else {
            unreachable!("matched above")
        };
        self.state = State::Yielding(Expander::new(sorter.finish()?));
        Ok(())
    }
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

    fn skipped(&self) -> u64 {
        self.tasks.bad.skipped + self.instances.as_ref().map_or(0, |r| r.bad.skipped)
    }

    fn first_skipped(&self) -> Option<&TraceError> {
        self.tasks
            .bad
            .first
            .as_ref()
            .or(self.instances.as_ref().and_then(|r| r.bad.first.as_ref()))
    }

    fn rows(&self) -> u64 {
        self.tasks.row() + self.instances.as_ref().map_or(0, Rows::row)
    }

    fn machine_name(&self, machine: u32) -> &str {
        self.machines.name(machine)
    }
}

/// One `batch_task.csv` row, checked.
struct TaskRow<'a> {
    name: &'a str,
    job: u64,
    count: u32,
    task: TraceTask,
    cpus: f64,
    mem: f64,
}

impl TaskRow<'_> {
    /// The row as a task whose first instance is `first`.
    fn record(&self, first: u32) -> TraceTask {
        let mut t = self.task.clone();
        t.index = first;
        t
    }
}

fn parse_task(line: &str, mem_capacity: f64) -> Result<TaskRow<'_>, String> {
    let f = Fields::split(line, ',', TASK_FIELDS)?;
    let name = required(&f, 0, "a task name")?;
    let count = instance_count(&f, 1)?;
    let job = job_number(&f, 2)?;
    let class = task_type(&f, 3);
    let start = f.i64(5)?;
    let end = opt_i64(&f, 6)?;
    let (state, runtime) = outcome(&f, 4, start, end, "start time")?;
    let cpus = f.opt_nonneg(7)?.unwrap_or(0.0) / 100.0;
    let mem = plan_mem(&f, 8)? * mem_capacity;
    let mut task = TraceTask::new(trace_time(start), job, 0);
    task.class = class;
    task.cpus = cpus;
    task.mem = mem;
    task.end = state;
    task.runtime = runtime;
    Ok(TaskRow {
        name,
        job,
        count,
        task,
        cpus,
        mem,
    })
}

/// One `batch_instance.csv` row as a sort record of one instance.
fn parse_instance(
    line: &str,
    table: &TaskTable,
    jobs: &mut JobIndex,
    machines: &mut Interner,
    task_file: &str,
) -> Result<TraceTask, String> {
    let f = Fields::split(line, ',', INSTANCE_FIELDS)?;
    required(&f, 0, "an instance name")?;
    let task = required(&f, 1, "a task name")?;
    let job = job_number(&f, 2)?;
    let class = task_type(&f, 3);
    let start = f.i64(5)?;
    let end = opt_i64(&f, 6)?;
    let (state, runtime) = outcome(&f, 4, start, end, "start time")?;
    let demand = table
        .get(job, task)
        .ok_or_else(|| format!("task {task} of job {} has no row in {task_file}", f.str(2)))?;
    let index = jobs.take(job, 1)?;
    let mut t = TraceTask::new(trace_time(start), job, index);
    t.class = class;
    t.cpus = demand.cpus;
    t.mem = demand.mem;
    t.end = state;
    t.runtime = runtime;
    let machine = f.str(7);
    t.machine = (!machine.is_empty()).then(|| machines.intern(machine));
    Ok(row_record(t, 1))
}

/// A text field that must not be empty.
fn required<'a>(f: &Fields<'a>, i: usize, expected: &str) -> Result<&'a str, String> {
    match f.str(i) {
        "" => Err(f.invalid(i, expected)),
        s => Ok(s),
    }
}

/// `j_123` → 123.
fn job_number(f: &Fields, i: usize) -> Result<u64, String> {
    f.str(i)
        .strip_prefix("j_")
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| f.invalid(i, "a job name like j_123"))
}

/// The task type as a class when it is a small number, else 0.
fn task_type(f: &Fields, i: usize) -> u8 {
    f.str(i).parse().unwrap_or(0)
}

/// plan_mem as a fraction of a machine: empty and the trace's invalid markers (−1, 101)
/// are 0.
fn plan_mem(f: &Fields, i: usize) -> Result<f64, String> {
    match f.opt_f64(i)? {
        None => Ok(0.0),
        Some(v) if v == -1.0 || v == 101.0 => Ok(0.0),
        Some(v) if (0.0..=100.0).contains(&v) => Ok(v / 100.0),
        Some(_) => Err(f.invalid(i, "a normalized memory in [0, 100]")),
    }
}

/// A task's demand per instance, in Mesos units.
#[derive(Clone, Copy)]
struct Demand {
    cpus: f64,
    mem: f64,
}

#[derive(Hash, PartialEq, Eq)]
struct TaskKey {
    job: u64,
    name: Box<str>,
}

/// A [`TaskKey`] looked up without allocating; hashes the same way.
#[derive(Hash)]
struct TaskRef<'a> {
    job: u64,
    name: &'a str,
}

impl Equivalent<TaskKey> for TaskRef<'_> {
    fn equivalent(&self, key: &TaskKey) -> bool {
        self.job == key.job && self.name == &*key.name
    }
}

/// Every task's demand, by job and task name.
#[derive(Default)]
struct TaskTable(HashMap<TaskKey, Demand, FxBuildHasher>);

impl TaskTable {
    /// Adds a task; `false` if it is already there.
    fn insert(&mut self, job: u64, name: &str, demand: Demand) -> bool {
        if self.0.contains_key(&TaskRef { job, name }) {
            return false;
        }
        self.0.insert(
            TaskKey {
                job,
                name: name.into(),
            },
            demand,
        );
        true
    }

    fn get(&self, job: u64, name: &str) -> Option<Demand> {
        self.0.get(&TaskRef { job, name }).copied()
    }
}

/// Reads `machine_meta.csv`: machine events in time order.
pub struct Machines {
    rows: Rows,
    capacity: Capacity,
    events: Option<std::vec::IntoIter<TraceMachine>>,
}

struct MachineRow {
    at: i64,
    name: String,
    using: bool,
    cpus: f64,
    mem: f64,
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
        let loaded = load_sorted(&mut self.rows, 1, parse_machine, |m| m.at)?;
        let mem_capacity = self.capacity.mem;
        // Machines in service and their capacity in Mesos units.
        let mut present: HashMap<String, (f64, f64), FxBuildHasher> = HashMap::default();
        let mut out = Vec::new();
        for m in loaded {
            let event = |change, (cpus, mem): (f64, f64)| TraceMachine {
                at: trace_time(m.at),
                name: m.name.clone(),
                change,
                cpus,
                mem,
                disk: 0.0,
                gpus: 0.0,
            };
            if m.using {
                let now = (m.cpus, m.mem * mem_capacity);
                match present.insert(m.name.clone(), now) {
                    None => out.push(event(MachineChange::Add, now)),
                    Some(before) if before != now => out.push(event(MachineChange::Update, now)),
                    Some(_) => {}
                }
            } else if let Some(before) = present.remove(&m.name) {
                out.push(event(MachineChange::Remove, before));
            }
        }
        self.events = Some(out.into_iter());
        Ok(())
    }
}

fn parse_machine(line: &str) -> Result<MachineRow, String> {
    let f = Fields::split(line, ',', MACHINE_FIELDS)?;
    let name = required(&f, 0, "a machine id")?;
    let at = f.i64(1)?;
    let cpus = f
        .opt_nonneg(4)?
        .ok_or_else(|| f.invalid(4, "a non-negative number"))?;
    let mem = match f.opt_f64(5)? {
        Some(v) if (0.0..=100.0).contains(&v) => v / 100.0,
        _ => return Err(f.invalid(5, "a normalized memory in [0, 100]")),
    };
    let status = required(&f, 6, "a status")?;
    Ok(MachineRow {
        at,
        name: name.to_owned(),
        using: status == "USING",
        cpus,
        mem,
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;
    use crate::trace::{EndState, Format, read_all};
    use proptest::prelude::*;

    const BATCH_TASK: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/traces/alibaba-v2018/batch_task.sample.csv"
    );
    const BATCH_INSTANCE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/traces/alibaba-v2018/batch_instance.sample.csv"
    );
    const MACHINE_META: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/traces/alibaba-v2018/machine_meta.csv"
    );

    use crate::trace::testing::TempFile as Temp;

    fn options(skip: bool, companion: Option<&str>) -> ReadOptions {
        let mut o = ReadOptions::new(Format::Alibaba2018);
        o.skip_bad_rows = skip;
        o.companion = companion.map(str::to_owned);
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

    fn count(tasks: &[TraceTask], end: EndState) -> usize {
        tasks.iter().filter(|t| t.end == end).count()
    }

    fn secs(d: Duration) -> u64 {
        d.as_nanos() / 1_000_000_000
    }

    /// `awk -F, '{n[$5]+=$2} END {for (s in n) print s, n[s]}' batch_task.sample.csv`:
    /// 108 instances in 40 rows; Terminated 85, Running 6, Waiting 4, Failed 7, Cancelled 4,
    /// Interrupted 2.
    #[test]
    fn batch_task_sample_yields_every_instance_in_order() {
        let mut reader = Tasks::open(BATCH_TASK, &options(false, None)).unwrap();
        let tasks = read_all(&mut reader).unwrap();
        assert_eq!(tasks.len(), 108);
        assert!(tasks.windows(2).all(|w| w[0].submit <= w[1].submit));
        assert_eq!(count(&tasks, EndState::Finish), 85);
        assert_eq!(count(&tasks, EndState::Running), 6);
        assert_eq!(count(&tasks, EndState::Pending), 4);
        assert_eq!(count(&tasks, EndState::Fail), 7);
        assert_eq!(count(&tasks, EndState::Kill), 6);
        assert_eq!((reader.rows(), reader.skipped()), (40, 0));
        let mut seen = std::collections::BTreeSet::new();
        assert!(tasks.iter().all(|t| seen.insert((t.job, t.index))));
        // The earliest row: M1,2,j_58840,1,Terminated,0,1210,100,0.3.
        let t = &tasks[0];
        assert_eq!((secs(t.submit), t.job, t.index, t.class), (0, 58_840, 0, 1));
        assert_eq!((t.cpus, t.mem, t.end), (1.0, 0.003 * 524_288.0, EndState::Finish));
        assert_eq!(t.runtime, Some(Duration::from_secs(1210)));
        // M4,2,j_2950012,1,Terminated,28800,28918,, (no plan) comes after the job's rows of
        // 5, 3 and 1 instances in the file, though it starts first.
        let m4: Vec<&TraceTask> = tasks
            .iter()
            .filter(|t| t.job == 2_950_012 && t.cpus == 0.0)
            .collect();
        assert_eq!(m4.iter().map(|t| t.index).collect::<Vec<_>>(), [9, 10]);
        assert!(
            m4.iter()
                .all(|t| t.mem == 0.0 && t.runtime == Some(Duration::from_secs(118)))
        );
        // Running and Waiting have no runtime; a Cancelled task with end 0 neither.
        assert!(
            tasks
                .iter()
                .filter(|t| t.job == 102_934)
                .all(|t| t.runtime.is_none())
        );
        assert!(
            tasks
                .iter()
                .filter(|t| t.job == 4_102_088)
                .all(|t| t.end == EndState::Kill && t.runtime.is_none())
        );
    }

    /// 123 instance rows: `awk -F, '{print $5}' batch_instance.sample.csv | sort | uniq -c`
    /// gives Terminated 93, Failed 16, Running 4, Cancelled 4, Interrupted 2, Ready 2,
    /// Waiting 2; 117 rows name a machine (`awk -F, '$8!=""' | wc -l`), 117 distinct.
    #[test]
    fn instances_join_their_task_and_keep_their_machine() {
        let mut reader = Tasks::open(BATCH_TASK, &options(false, Some(BATCH_INSTANCE))).unwrap();
        let tasks = read_all(&mut reader).unwrap();
        assert_eq!(tasks.len(), 123);
        assert!(tasks.windows(2).all(|w| w[0].submit <= w[1].submit));
        assert_eq!(count(&tasks, EndState::Finish), 93);
        assert_eq!(count(&tasks, EndState::Fail), 16);
        assert_eq!(count(&tasks, EndState::Running), 4);
        assert_eq!(count(&tasks, EndState::Kill), 6);
        assert_eq!(count(&tasks, EndState::Pending), 4);
        assert_eq!((reader.rows(), reader.skipped()), (163, 0));
        assert_eq!(tasks.iter().filter(|t| t.machine.is_some()).count(), 117);
        let names: std::collections::BTreeSet<&str> = tasks
            .iter()
            .filter_map(|t| t.machine)
            .map(|m| reader.machine_name(m))
            .collect();
        assert_eq!(names.len(), 117);
        assert!(names.iter().all(|n| n.starts_with("m_")));
        let mut seen = std::collections::BTreeSet::new();
        assert!(tasks.iter().all(|t| seen.insert((t.job, t.index))));
        // ins_74969885 of j_217's task: Failed 673795–673796 on m_494, then Terminated.
        let j217: Vec<&TraceTask> = tasks.iter().filter(|t| t.job == 217).collect();
        assert_eq!(j217.len(), 2);
        assert_eq!(
            (j217[0].end, j217[0].runtime),
            (EndState::Fail, Some(Duration::from_secs(1)))
        );
        assert_eq!(reader.machine_name(j217[0].machine.unwrap()), "m_494");
        assert_eq!((j217[0].cpus, j217[0].mem), (1.0, 0.0059 * 524_288.0));
    }

    #[test]
    fn an_instance_without_its_task_is_a_bad_row() {
        let instances = std::fs::read_to_string(BATCH_INSTANCE).unwrap();
        let mut lines: Vec<&str> = instances.lines().collect();
        lines.insert(3, "ins_1,M9,j_217,1,Terminated,10,20,m_1,1,1,,,,");
        let file = Temp::new("instances.csv", (lines.join("\n") + "\n").as_bytes());
        let e = read(BATCH_TASK, &options(false, Some(file.path()))).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}:4: task M9 of job j_217 has no row in {BATCH_TASK}",
                file.path()
            )
        );
        let mut reader = Tasks::open(BATCH_TASK, &options(true, Some(file.path()))).unwrap();
        assert_eq!(read_all(&mut reader).unwrap().len(), 123);
        assert_eq!(reader.skipped(), 1);
    }

    #[test]
    fn a_task_listed_twice_is_a_bad_row_with_instances() {
        let text = "M1,1,j_5,1,Terminated,10,20,100,1\nM1,1,j_5,1,Terminated,10,20,100,1\n";
        let file = Temp::new("twice.csv", text.as_bytes());
        let e = read(file.path(), &options(false, Some(BATCH_INSTANCE))).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}:2: task M1 of job j_5 is listed twice", file.path())
        );
        // Without instances, the two rows are two tasks.
        assert_eq!(read(file.path(), &options(false, None)).unwrap().len(), 2);
    }

    #[test]
    fn a_short_row_is_a_one_line_error_or_a_counted_skip() {
        let rows = std::fs::read_to_string(BATCH_TASK).unwrap();
        let text = format!("{rows}M1,4,j_1024,1,Terminated,86550,86670,100\n{rows}");
        let file = Temp::new("short.csv", text.as_bytes());
        let e = read(file.path(), &options(false, None)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}:41: expected 9 fields, found 8", file.path())
        );
        let mut reader = Tasks::open(file.path(), &options(true, None)).unwrap();
        assert_eq!(read_all(&mut reader).unwrap().len(), 216);
        assert_eq!((reader.skipped(), reader.rows()), (1, 81));
    }

    #[test]
    fn bad_values_name_their_field() {
        let cases = [
            (
                "M1,1,job5,1,Terminated,10,20,100,1",
                "field 3 (job_name): expected a job name like j_123, found \"job5\"",
            ),
            (
                "M1,1,j_5,1,Done,10,20,100,1",
                "field 5 (status): expected a status: Terminated, Failed, Cancelled, Interrupted, Running, Waiting or Ready, found \"Done\"",
            ),
            (
                "M1,1,j_5,1,Terminated,10,20,100,102",
                "field 9 (plan_mem): expected a normalized memory in [0, 100], found \"102\"",
            ),
            (
                "M1,1,j_5,1,Terminated,10,20,-100,1",
                "field 8 (plan_cpu): expected a non-negative number, found \"-100\"",
            ),
            (
                "M1,1,j_5,1,Terminated,30,20,100,1",
                "end time 20 is before start time 30",
            ),
            (
                "M1,1,j_5,1,Terminated,30,,100,1",
                "status Terminated needs an end time",
            ),
            (
                ",1,j_5,1,Terminated,10,20,100,1",
                "field 1 (task_name): expected a task name, found \"\"",
            ),
        ];
        for (line, message) in cases {
            let file = Temp::new("bad.csv", format!("{line}\n").as_bytes());
            let e = read(file.path(), &options(false, None)).unwrap_err();
            assert_eq!(e.to_string(), format!("{}:1: {message}", file.path()));
        }
    }

    #[test]
    fn invalid_markers_and_negative_times() {
        let text = "M1,2,j_5,1,Terminated,-30,20,100,-1\nM2,1,j_5,3,Failed,40,0,50,101\n";
        let file = Temp::new("markers.csv", text.as_bytes());
        let tasks = read(file.path(), &options(false, None)).unwrap();
        let got: Vec<_> = tasks
            .iter()
            .map(|t| (secs(t.submit), t.index, t.mem, t.runtime, t.class))
            .collect();
        assert_eq!(
            got,
            [
                (0, 0, 0.0, Some(Duration::from_secs(50)), 1),
                (0, 1, 0.0, Some(Duration::from_secs(50)), 1),
                (40, 2, 0.0, None, 3),
            ]
        );
    }

    #[test]
    fn a_header_is_read_only_on_the_first_line() {
        let rows = std::fs::read_to_string(BATCH_TASK).unwrap();
        let header = TASK_FIELDS.join(",");
        let headed = Temp::new("headed.csv", format!("{header}\n{rows}").as_bytes());
        assert_eq!(
            read(headed.path(), &options(false, None)).unwrap(),
            read(BATCH_TASK, &options(false, None)).unwrap()
        );
        let late = Temp::new("late.csv", format!("{rows}{header}\n").as_bytes());
        assert_eq!(
            read(late.path(), &options(false, None)).unwrap_err().to_string(),
            format!(
                "{}:41: field 2 (instance_num): expected a non-negative integer, found \"instance_num\"",
                late.path()
            )
        );
    }

    #[test]
    fn gzip_reads_the_same_as_plain_text() {
        let tasks = Temp::gz("tasks.gz", &std::fs::read(BATCH_TASK).unwrap());
        let instances = Temp::gz("instances.gz", &std::fs::read(BATCH_INSTANCE).unwrap());
        assert_eq!(
            read(tasks.path(), &options(false, Some(instances.path()))).unwrap(),
            read(BATCH_TASK, &options(false, Some(BATCH_INSTANCE))).unwrap()
        );
        let meta = Temp::gz("meta.gz", &std::fs::read(MACHINE_META).unwrap());
        assert_eq!(
            machines(meta.path(), &options(false, None)).unwrap(),
            machines(MACHINE_META, &options(false, None)).unwrap()
        );
    }

    #[test]
    fn a_tiny_sort_buffer_spills_and_gives_the_same_order() {
        for companion in [None, Some(BATCH_INSTANCE)] {
            let whole = read(BATCH_TASK, &options(false, companion)).unwrap();
            let mut tiny = options(false, companion);
            tiny.sort_buffer = 3;
            assert_eq!(read(BATCH_TASK, &tiny).unwrap(), whole);
        }
    }

    /// `awk -F, '{print $1}' machine_meta.csv | sort -u | wc -l`: 4,034 machines; every row
    /// has 96 cpus and mem_size 100; m_2739's 5 rows are all IMPORT_INSTALLING.
    #[test]
    fn machine_meta_adds_every_machine_in_service_once() {
        let events = machines(MACHINE_META, &options(false, None)).unwrap();
        assert_eq!(events.len(), 4_033);
        assert!(events.iter().all(|e| e.change == MachineChange::Add));
        assert!(
            events
                .iter()
                .all(|e| (e.cpus, e.mem, e.disk) == (96.0, 524_288.0, 0.0))
        );
        assert!(events.windows(2).all(|w| w[0].at <= w[1].at));
        let names: std::collections::BTreeSet<&str> = events.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names.len(), 4_033);
        assert!(!names.contains("m_2739"));
        // Machines whose earliest USING row is at 0:
        // awk -F, '$7=="USING" && (!($1 in f) || $2<f[$1]) {f[$1]=$2} END {for (m in f) z+=f[m]==0; print z}'
        assert_eq!(events.iter().filter(|e| e.at == Duration::ZERO).count(), 3_887);
    }

    #[test]
    fn machines_follow_their_status_in_time_order() {
        let text = "m_1,0,1,1,96,100,USING\n\
                    m_1,50,1,1,96,100,USING\n\
                    m_1,60,1,1,96,50,USING\n\
                    m_1,70,1,1,96,50,IMPORT_INSTALLING\n\
                    m_1,80,1,1,96,50,IMPORT_INSTALLING\n\
                    m_1,90,1,1,96,50,USING\n\
                    m_2,-5,1,1,64,100,IMPORT_INSTALLING\n\
                    m_2,65,1,1,64,100,USING\n";
        let file = Temp::new("meta.csv", text.as_bytes());
        let got: Vec<(u64, String, MachineChange, f64)> = machines(file.path(), &options(false, None))
            .unwrap()
            .into_iter()
            .map(|e| (secs(e.at), e.name, e.change, e.mem))
            .collect();
        let m = |s: u64, n: &str, c, mem| (s, n.to_owned(), c, mem);
        assert_eq!(
            got,
            [
                m(0, "m_1", MachineChange::Add, 524_288.0),
                m(60, "m_1", MachineChange::Update, 262_144.0),
                m(65, "m_2", MachineChange::Add, 524_288.0),
                m(70, "m_1", MachineChange::Remove, 262_144.0),
                m(90, "m_1", MachineChange::Add, 262_144.0),
            ]
        );
    }

    #[test]
    fn bad_machine_rows_are_errors_or_counted_skips() {
        let text = "m_1,0,1,1,96,100,USING\nm_2,0,1,1,96,100\nm_3,0,1,1,96,101,USING\nm_4,x,1,1,96,100,USING\nm_5,0,1,1,96,100,USING\n";
        let file = Temp::new("badmeta.csv", text.as_bytes());
        let e = machines(file.path(), &options(false, None)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}:2: expected 7 fields, found 6", file.path())
        );
        let mut m = Machines::open(file.path(), &options(true, None)).unwrap();
        let mut names = Vec::new();
        while let Some(e) = m.next_machine().unwrap() {
            names.push(e.name);
        }
        assert_eq!(names, ["m_1", "m_5"]);
        assert_eq!(m.skipped(), 3);
    }

    /// Reads `bytes` as every file, with and without skipping: any answer but a panic.
    fn read_anything(bytes: &[u8]) {
        let file = Temp::new("garbage.csv", bytes);
        for skip in [false, true] {
            let mut o = options(skip, None);
            o.sort_buffer = 3;
            let _ = read(file.path(), &o);
            let _ = machines(file.path(), &o);
            o.companion = Some(file.path().to_owned());
            let _ = read(BATCH_TASK, &o);
            let _ = read(file.path(), &o);
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
            cut in 0usize..1500,
            noise in prop::collection::vec((0usize..1500, prop::sample::select(vec![b',', b'-', b'9', b'\n', b'j', b'_', 0xff])), 0..8),
        ) {
            let tasks = std::fs::read_to_string(BATCH_TASK).unwrap();
            let instances = std::fs::read_to_string(BATCH_INSTANCE).unwrap();
            let mut bytes: Vec<u8> = tasks.lines().take(5).chain(instances.lines().take(5)).flat_map(|l| format!("{l}\n").into_bytes()).collect();
            bytes.extend_from_slice(b"m_1,0,219,17,96,100,USING\nm_2739,569729,6,6,96,100,IMPORT_INSTALLING\n");
            for (at, b) in noise {
                let at = at % bytes.len();
                bytes[at] = b;
            }
            bytes.truncate(cut.min(bytes.len()));
            read_anything(&bytes);
        }
    }
}
