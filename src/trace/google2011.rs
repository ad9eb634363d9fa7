//! Google cluster-usage trace 2011 (clusterdata-2011-2, format v2.1): `task_events`.
//!
//! Source: Google's `gs://clusterdata-2011-2` bucket, released under CC-BY 4.0; the bundled
//! part `traces/google-2011/task_events/part-00000-of-00500.csv.gz` is the official object
//! (see traces/SOURCES.md). Files have no header; 13 comma-separated fields:
//!
//! | # | field | used as |
//! |---|---|---|
//! | 1 | time (µs; 0 = before the window, 2^63−1 = after it) | event time |
//! | 2 | missing info | ignored |
//! | 3 | job ID | `job` |
//! | 4 | task index | `index` |
//! | 5 | machine ID | `machine` (interned; the cluster's machines can be inferred from it) |
//! | 6 | event type: 0 SUBMIT, 1 SCHEDULE, 2 EVICT, 3 FAIL, 4 FINISH, 5 KILL, 6 LOST, 7 UPDATE_PENDING, 8 UPDATE_RUNNING | lifecycle |
//! | 7 | user (hashed) | `user` (interned) |
//! | 8 | scheduling class 0–3 | `class` |
//! | 9 | priority 0–11 | `priority` |
//! | 10–12 | CPU, memory, disk requests, normalized to the largest machine | × the [`Capacity`](super::Capacity) |
//! | 13 | different-machines restriction | ignored |
//!
//! A task is one SUBMIT of a (job, task index): it is yielded at its SUBMIT time with its
//! run time (SCHEDULE to its ending event) and how it ended (EVICT, FAIL, FINISH, KILL or
//! LOST). A task evicted or failed and submitted again is a new task. UPDATE events change
//! the request of a task not yet yielded. An ending event of a task that never started
//! leaves its run time unknown (it was withdrawn while pending).
//!
//! The reader looks ahead in the file for each task's end: a task whose end is more than
//! `lookahead` after its submission (or beyond the end of the file) is yielded as still
//! running (`EndState::Running`, run time unknown), or still pending if it never started.
//! Memory is bounded by the tasks submitted within the look-ahead plus the tasks open in
//! the trace, whatever the length of the file. Events of tasks submitted before the file
//! begins (reading a later part alone) are counted as unmatched and otherwise ignored.

use std::collections::VecDeque;

use super::rows::Rows;
use super::{Capacity, EndState, Fields, Interner, ReadOptions, TaskReader, TraceError, TraceTask};
use crate::time::Duration;

const FIELDS: &[&str] = &[
    "time",
    "missing info",
    "job ID",
    "task index",
    "machine ID",
    "event type",
    "user",
    "scheduling class",
    "priority",
    "CPU request",
    "memory request",
    "disk space request",
    "different machines restriction",
];

/// Marks an event after the end of the trace window.
const AFTER_WINDOW: u64 = i64::MAX as u64;

struct Slot {
    task: TraceTask,
    started: Option<Duration>,
    done: bool,
}

/// One parsed row.
struct Event {
    time: Duration,
    job: u64,
    index: u32,
    machine: Option<u64>,
    kind: u8,
    /// Interned; 0 unless a SUBMIT names one.
    user: u32,
    class: Option<u8>,
    priority: u8,
    /// Requests in Mesos units (already scaled by the capacity).
    cpus: Option<f64>,
    mem: Option<f64>,
    disk: Option<f64>,
}

/// Google 2011 task events, assembled into tasks in submit order.
pub struct Tasks {
    rows: Rows,
    capacity: Capacity,
    lookahead: Duration,
    users: Interner,
    machines: Interner,
    /// Machine ID → its interned id, so that a known machine is not written out as text.
    machine_ids: hashbrown::HashMap<u64, u32, rustc_hash::FxBuildHasher>,
    /// (job, index) → sequence number of its open task.
    open: OpenTasks,
    /// Tasks not yet yielded; the front has sequence number `base`.
    queue: VecDeque<Slot>,
    base: u64,
    /// Time of the last row read.
    cursor: Duration,
    eof: bool,
    /// Events naming no open task.
    pub unmatched: u64,
}

impl Tasks {
    pub fn open(path: &str, options: &ReadOptions) -> Result<Tasks, TraceError> {
        Ok(Tasks::from_rows(
            Rows::open(path, options.skip_bad_rows)?,
            options,
        ))
    }

    pub fn from_rows(rows: Rows, options: &ReadOptions) -> Tasks {
        Tasks {
            rows,
            capacity: options.capacity,
            lookahead: options.lookahead,
            users: Interner::with_unknown(),
            machines: Interner::default(),
            machine_ids: hashbrown::HashMap::default(),
            open: OpenTasks::default(),
            queue: VecDeque::new(),
            base: 0,
            cursor: Duration::ZERO,
            eof: false,
            unmatched: 0,
        }
    }

    /// Reads one row and applies it; `false` at the end of the file.
    fn advance(&mut self) -> Result<bool, TraceError> {
        let cursor = self.cursor;
        let capacity = self.capacity;
        let users = &mut self.users;
        let event = self.rows.next(|_, line| {
            let f = Fields::split(line, ',', FIELDS)?;
            let micros = f.u64(0)?;
            if micros >= AFTER_WINDOW {
                return Ok(None); // after the window: never happened as far as a replay goes
            }
            let time = Duration::from_micros(micros);
            if time < cursor {
                return Err(format!(
                    "time {} s is before the previous row's {} s: task_events rows must be in time order",
                    time.as_secs_f64(),
                    cursor.as_secs_f64()
                ));
            }
            let kind = f.u64(5)?;
            if kind > 8 {
                return Err(f.invalid(5, "an event type 0 to 8"));
            }
            let index = u32::try_from(f.u64(3)?).map_err(|_| f.invalid(3, "a task index below 2^32"))?;
            let class = match f.opt_u64(7)? {
                Some(c) if c > 3 => return Err(f.invalid(7, "a scheduling class 0 to 3")),
                c => c.map(|c| c as u8),
            };
            let priority = f.u64(8)?;
            if priority > 11 {
                return Err(f.invalid(8, "a priority 0 to 11"));
            }
            // Only a submission names the task's user.
            let user = match f.str(6) {
                user if kind == 0 && !user.is_empty() => users.intern(user),
                _ => 0,
            };
            Ok(Some(Event {
                time,
                job: f.u64(2)?,
                index,
                machine: f.opt_u64(4)?,
                kind: kind as u8,
                user,
                class,
                priority: priority as u8,
                cpus: request(&f, 9, capacity.cpus)?,
                mem: request(&f, 10, capacity.mem)?,
                disk: request(&f, 11, capacity.disk)?,
            }))
        });
        let Some(e) = event? else {
            self.eof = true;
            return Ok(false);
        };
        self.cursor = e.time;
        let key = (e.job, e.index);
        match e.kind {
            0 => {
                if let Some(seq) = self.open.remove(key) {
                    // Submitted again with no ending event in between (the trace's missing
                    // records): the earlier task ends here.
                    if let Some(slot) = self.slot(seq) {
                        finish(slot, e.time, EndState::Lost);
                    }
                }
                let mut task = TraceTask::new(e.time, e.job, e.index);
                task.user = e.user;
                task.priority = e.priority;
                task.class = e.class.unwrap_or(0);
                task.cpus = e.cpus.unwrap_or(0.0);
                task.mem = e.mem.unwrap_or(0.0);
                task.disk = e.disk.unwrap_or(0.0);
                let seq = self.base + self.queue.len() as u64;
                self.queue.push_back(Slot {
                    task,
                    started: None,
                    done: false,
                });
                self.open.insert(key, seq);
            }
            1 => match self.open.get(key) {
                Some(seq) => {
                    let machines = &mut self.machines;
                    let machine = e.machine.map(|m| {
                        *self
                            .machine_ids
                            .entry(m)
                            .or_insert_with(|| machines.intern(itoa(m, &mut [0u8; 20])))
                    });
                    match self.slot(seq) {
                        Some(slot) => {
                            if slot.started.is_none() {
                                slot.started = Some(e.time);
                                slot.task.machine = machine;
                            }
                        }
                        None => self.unmatched += 1,
                    }
                }
                None => self.unmatched += 1,
            },
            2..=6 => {
                let state = match e.kind {
                    2 => EndState::Evict,
                    3 => EndState::Fail,
                    4 => EndState::Finish,
                    5 => EndState::Kill,
                    _ => EndState::Lost,
                };
                let lookahead = self.lookahead;
                match self.open.remove(key).and_then(|seq| self.slot(seq)) {
                    // Within the look-ahead: the task ends here.
                    Some(slot) if e.time.saturating_sub(slot.task.submit) <= lookahead => {
                        finish(slot, e.time, state);
                    }
                    // Beyond it the task counts as still running, however long the
                    // reader happened to keep it.
                    _ => self.unmatched += 1,
                }
            }
            _ => match self.open.get(key).and_then(|seq| self.slot(seq)) {
                Some(slot) => {
                    if let Some(c) = e.cpus {
                        slot.task.cpus = c;
                    }
                    if let Some(m) = e.mem {
                        slot.task.mem = m;
                    }
                    if let Some(d) = e.disk {
                        slot.task.disk = d;
                    }
                }
                None => self.unmatched += 1,
            },
        }
        Ok(true)
    }

    /// The queued task with sequence number `seq`, if not yet yielded.
    fn slot(&mut self, seq: u64) -> Option<&mut Slot> {
        let i = seq.checked_sub(self.base)?;
        self.queue.get_mut(usize::try_from(i).ok()?)
    }
}

/// An optional normalized request (field `i`) in Mesos units: the value times `scale`, the
/// capacity of the largest machine. A value too large for that to be a finite amount is bad.
fn request(f: &Fields, i: usize, scale: f64) -> Result<Option<f64>, String> {
    match f.opt_nonneg(i)? {
        Some(v) if !(v * scale).is_finite() => Err(f.invalid(
            i,
            &format!("a normalized request that scaled by {scale} stays finite"),
        )),
        v => Ok(v.map(|v| v * scale)),
    }
}

/// The open task of each (job, task index), as its sequence number. A job's tasks are
/// listed together and numbered from 0, so each job keeps a vector by task index: the
/// lookups of one job's rows fall close together in memory, where one table of all the
/// open tasks would scatter them. Indexes far beyond a job's open tasks go to a table, so
/// memory stays proportional to the tasks held.
#[derive(Default)]
struct OpenTasks {
    jobs: hashbrown::HashMap<u64, OpenJob, rustc_hash::FxBuildHasher>,
}

#[derive(Default)]
struct OpenJob {
    /// By task index: the open task's sequence number, or [`OpenJob::NONE`].
    dense: Vec<u64>,
    /// Open tasks whose index was beyond `dense` when they were submitted.
    sparse: hashbrown::HashMap<u32, u64, rustc_hash::FxBuildHasher>,
    /// Open tasks in `dense` and `sparse`.
    open: usize,
}

impl OpenJob {
    const NONE: u64 = u64::MAX;
    /// How far past twice its open tasks a job's vector may grow.
    const SLACK: usize = 64;

    fn get(&self, index: u32) -> Option<u64> {
        match self.dense.get(index as usize) {
            Some(&seq) if seq != OpenJob::NONE => Some(seq),
            _ if self.sparse.is_empty() => None,
            _ => self.sparse.get(&index).copied(),
        }
    }
}

impl OpenTasks {
    fn get(&self, (job, index): (u64, u32)) -> Option<u64> {
        self.jobs.get(&job)?.get(index)
    }

    /// Records `seq` as the open task of `(job, index)`, which has none.
    fn insert(&mut self, (job, index): (u64, u32), seq: u64) {
        let j = self.jobs.entry(job).or_default();
        let i = index as usize;
        if i < j.dense.len() {
            debug_assert_eq!(j.dense[i], OpenJob::NONE);
            j.dense[i] = seq;
        } else if i <= 2 * j.open + OpenJob::SLACK {
            j.dense.resize(i + 1, OpenJob::NONE);
            j.dense[i] = seq;
        } else {
            j.sparse.insert(index, seq);
        }
        j.open += 1;
    }

    fn remove(&mut self, (job, index): (u64, u32)) -> Option<u64> {
        let j = self.jobs.get_mut(&job)?;
        let seq = match j.dense.get_mut(index as usize) {
            Some(seq) if *seq != OpenJob::NONE => std::mem::replace(seq, OpenJob::NONE),
            _ => j.sparse.remove(&index)?,
        };
        j.open -= 1;
        if j.open == 0 {
            self.jobs.remove(&job);
        }
        Some(seq)
    }
}

fn finish(slot: &mut Slot, at: Duration, state: EndState) {
    if slot.done {
        return;
    }
    slot.done = true;
    slot.task.end = state;
    slot.task.runtime = slot.started.map(|s| at.saturating_sub(s));
}

/// `n` in decimal without allocating.
fn itoa(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).expect("digits")
}

impl TaskReader for Tasks {
    fn next_task(&mut self) -> Result<Option<TraceTask>, TraceError> {
        loop {
            if let Some(front) = self.queue.front() {
                let due =
                    front.done || self.eof || self.cursor.saturating_sub(front.task.submit) > self.lookahead;
                if due {
                    let mut slot = self.queue.pop_front().expect("a front");
                    let seq = self.base;
                    self.base += 1;
                    if !slot.done {
                        let key = (slot.task.job, slot.task.index);
                        if self.open.get(key) == Some(seq) {
                            self.open.remove(key);
                        }
                        slot.task.end = if slot.started.is_some() {
                            EndState::Running
                        } else {
                            EndState::Pending
                        };
                    }
                    return Ok(Some(slot.task));
                }
            } else if self.eof {
                return Ok(None);
            }
            self.advance()?;
        }
    }

    fn text(&self) -> Option<&Rows> {
        Some(&self.rows)
    }

    fn user_name(&self, user: u32) -> &str {
        self.users.name(user)
    }

    fn machine_name(&self, machine: u32) -> &str {
        self.machines.name(machine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Format, read_all};

    const PART0: &str = "traces/google-2011/task_events/part-00000-of-00500.csv.gz";
    const SLICE: &str = "traces/google-2011/slices/task_events.jobs-submitted-600s-900s.csv";

    fn reader(text: &str, options: &ReadOptions) -> Tasks {
        let rows = Rows::new(
            "t.csv",
            Box::new(std::io::Cursor::new(text.to_owned())),
            options.skip_bad_rows,
        );
        Tasks::from_rows(rows, options)
    }

    fn options() -> ReadOptions {
        ReadOptions::new(Format::Google2011)
    }

    #[test]
    fn a_lifecycle_becomes_one_task_with_its_run_time() {
        let text = "\
1000000,,7,0,,0,alice,2,9,0.5,0.25,0.001,0
2000000,,7,0,42,1,alice,2,9,0.5,0.25,0.001,0
2000000,,8,0,,0,bob,0,0,0.1,0.1,,0
62000000,,7,0,42,4,alice,2,9,,,,
";
        let tasks = read_all(&mut reader(text, &options())).unwrap();
        assert_eq!(tasks.len(), 2);
        let t = &tasks[0];
        assert_eq!((t.job, t.index, t.priority, t.class), (7, 0, 9, 2));
        assert_eq!(t.submit, Duration::from_secs(1));
        assert_eq!(t.runtime, Some(Duration::from_secs(60)));
        assert_eq!(t.end, EndState::Finish);
        assert_eq!((t.cpus, t.mem), (16.0, 32_768.0));
        assert_eq!(tasks[1].end, EndState::Pending);
        assert_eq!(tasks[1].runtime, None);
    }

    #[test]
    fn resubmission_after_eviction_is_a_new_task_and_updates_apply() {
        let text = "\
0,,1,3,,0,u,0,2,0.1,0.1,0,0
0,,1,3,5,1,u,0,2,0.1,0.1,0,0
10000000,,1,3,5,2,u,0,2,,,,
11000000,,1,3,,0,u,0,2,0.1,0.1,0,0
12000000,,1,3,,7,u,0,2,0.2,,,
13000000,,1,3,6,1,u,0,2,,,,
14000000,,1,3,6,3,u,0,2,,,,
";
        let tasks = read_all(&mut reader(text, &options())).unwrap();
        assert_eq!(tasks.len(), 2);
        assert_eq!(
            (tasks[0].end, tasks[0].runtime),
            (EndState::Evict, Some(Duration::from_secs(10)))
        );
        assert_eq!(
            (tasks[1].end, tasks[1].runtime),
            (EndState::Fail, Some(Duration::from_secs(1)))
        );
        assert_eq!(tasks[1].cpus, 0.2 * 32.0);
    }

    #[test]
    fn an_end_beyond_the_lookahead_leaves_the_task_running() {
        let text = "\
0,,1,0,,0,u,0,2,0.1,0.1,0,0
0,,1,0,9,1,u,0,2,0.1,0.1,0,0
5000000,,2,0,,0,u,0,2,0.1,0.1,0,0
7200000000,,1,0,9,4,u,0,2,,,,
";
        let mut o = options();
        o.lookahead = Duration::from_hours(1);
        let mut r = reader(text, &o);
        let tasks = read_all(&mut r).unwrap();
        assert_eq!(tasks[0].end, EndState::Running);
        assert_eq!(tasks[0].runtime, None);
        assert_eq!(tasks[1].end, EndState::Pending);
        assert_eq!(r.unmatched, 1, "the late FINISH");
        // With the default look-ahead the end is found.
        let tasks = read_all(&mut reader(text, &options())).unwrap();
        assert_eq!(tasks[0].runtime, Some(Duration::from_secs(7200)));
    }

    #[test]
    fn bad_rows_say_where_and_what() {
        let cases = [
            (
                "0,,1,0,,0,u,0,2,0.1,0.1,0",
                "t.csv:2: expected 13 fields, found 12",
            ),
            (
                "0,,x,0,,0,u,0,2,0.1,0.1,0,0",
                "t.csv:2: field 3 (job ID): expected a non-negative integer, found \"x\"",
            ),
            (
                "0,,1,0,,9,u,0,2,0.1,0.1,0,0",
                "t.csv:2: field 6 (event type): expected an event type 0 to 8, found \"9\"",
            ),
            (
                "0,,1,0,,0,u,0,12,0.1,0.1,0,0",
                "t.csv:2: field 9 (priority): expected a priority 0 to 11, found \"12\"",
            ),
            (
                "0,,1,0,,0,u,0,2,-0.1,0.1,0,0",
                "t.csv:2: field 10 (CPU request): expected a non-negative number, found \"-0.1\"",
            ),
            (
                "0,,1,0,,0,u,0,2,0.1,0.1,3.815e305,0",
                "t.csv:2: field 12 (disk space request): expected a normalized request that scaled by \
                 4194304 stays finite, found \"3.815e305\"",
            ),
        ];
        for (row, message) in cases {
            let text = format!("0,,1,0,,0,u,0,2,0.1,0.1,0,0\n{row}\n");
            let mut o = options();
            let e = read_all(&mut reader(&text, &o)).unwrap_err();
            assert_eq!(e.to_string(), message);
            o.skip_bad_rows = true;
            let mut r = reader(&text, &o);
            assert_eq!(read_all(&mut r).unwrap().len(), 1);
            assert_eq!(r.skipped(), 1);
        }
        let e = read_all(&mut reader(
            "9,,1,0,,0,u,0,2,0,0,0,0\n5,,1,1,,0,u,0,2,0,0,0,0\n",
            &options(),
        ))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv:2: time 0.000005 s is before the previous row's 0.000009 s: task_events rows must be in time order"
        );
    }

    /// Counts checked with `zcat | awk` on the bundled part: 201,491 SUBMIT rows, each a task.
    #[test]
    fn part_zero_yields_every_submission_in_order() {
        let mut r = Tasks::open(PART0, &options()).unwrap();
        let mut n = 0u64;
        let mut last = Duration::ZERO;
        let mut by_end = std::collections::BTreeMap::new();
        let mut machines = std::collections::BTreeSet::new();
        while let Some(t) = r.next_task().unwrap() {
            assert!(t.submit >= last);
            last = t.submit;
            n += 1;
            *by_end.entry(t.end).or_insert(0u64) += 1;
            if let Some(m) = t.machine {
                machines.insert(m);
            }
        }
        assert_eq!(n, 201_491);
        assert_eq!(r.rows(), 450_146);
        assert_eq!(r.skipped(), 0);
        // Counted independently with awk over the same rules.
        let count = |e| by_end.get(&e).copied().unwrap_or(0);
        assert_eq!(
            EndState::ALL.map(count),
            [43_237, 581, 10_505, 0, 4_338, 131_409, 11_421]
        );
        assert_eq!(r.unmatched, 0);
        assert_eq!(machines.len(), 12_492, "machines scheduled on (zcat | awk)");
    }

    proptest::proptest! {
        /// The open-task index answers as one map of (job, index) would, whatever the
        /// indexes (dense, sparse, beyond the dense part and back).
        #[test]
        fn open_tasks_act_as_a_map(
            ops in proptest::collection::vec((0u8..3, 0u64..4, proptest::sample::select(vec![0u32, 1, 2, 3, 5, 63, 64, 65, 200, 1000, 70_000, u32::MAX])), 0..400)
        ) {
            let mut open = OpenTasks::default();
            let mut model = std::collections::BTreeMap::new();
            for (seq, (op, job, index)) in ops.into_iter().enumerate() {
                let key = (job, index);
                match op {
                    0 => {
                        // As a SUBMIT: the earlier task of the key goes first.
                        proptest::prop_assert_eq!(open.remove(key), model.remove(&key));
                        open.insert(key, seq as u64);
                        model.insert(key, seq as u64);
                    }
                    1 => proptest::prop_assert_eq!(open.remove(key), model.remove(&key)),
                    _ => proptest::prop_assert_eq!(open.get(key), model.get(&key).copied()),
                }
                let held: usize = open.jobs.values().map(|j| j.open).sum();
                proptest::prop_assert_eq!(held, model.len());
            }
        }
    }

    #[test]
    fn the_slice_has_its_documented_lifecycles() {
        // 3,478 SUBMIT, 3,478 SCHEDULE, 2 EVICT, 25 FAIL, 3,183 FINISH, 268 KILL.
        let tasks = read_all(&mut Tasks::open(SLICE, &options()).unwrap()).unwrap();
        assert_eq!(tasks.len(), 3_478);
        let count = |e| tasks.iter().filter(|t| t.end == e).count();
        assert_eq!(
            (
                count(EndState::Evict),
                count(EndState::Fail),
                count(EndState::Finish),
                count(EndState::Kill)
            ),
            (2, 25, 3_183, 268)
        );
        assert!(tasks.iter().all(|t| t.runtime.is_some()));
        let machines: std::collections::BTreeSet<_> = tasks.iter().filter_map(|t| t.machine).collect();
        assert_eq!(machines.len(), 3_149);
    }
}
