//! The Standard Workload Format (SWF) of the Parallel Workloads Archive: logs of parallel
//! supercomputers and clusters (NASA Ames iPSC/860, CTC SP2, SDSC, KTH, HPC2N, ...).
//!
//! Origin: the Parallel Workloads Archive (Feitelson et al.,
//! <https://www.cs.huji.ac.il/labs/parallel/workload/>); the logs may be used freely with
//! acknowledgement and a citation of the archive.
//!
//! A file is one job a line, 18 fields separated by whitespace, `-1` meaning unknown, and
//! lines starting with `;` are comments. The fields: 1 job number, 2 submit time (s),
//! 3 wait time (s), 4 run time (s), 5 allocated processors, 6 average CPU time used,
//! 7 used memory (KB per processor), 8 requested processors, 9 requested time,
//! 10 requested memory (KB per processor), 11 status, 12 user, 13 group, 14 executable,
//! 15 queue, 16 partition, 17 preceding job, 18 think time. Times may carry decimals.
//!
//! # Header
//!
//! The comments before the first job are read as `; Key: value` pairs. `MaxNodes` and
//! `MaxProcs` give the cluster the log ran on ([`TaskReader::machine_hint`]): `MaxNodes`
//! machines with `MaxProcs / MaxNodes` processors each, rounded up to a whole processor so
//! the machines hold at least `MaxProcs` (NASA's iPSC/860: 128 and 128, so 128 machines of
//! 1 cpu). With only one of the two, each node or processor is a machine of 1 cpu; with
//! neither there is no hint. The header says nothing of memory, so the hint's is 0.
//! `MaxJobs`, `MaxRecords` and `MaxQueues` are kept too ([`Tasks::header`]).
//!
//! # Jobs to tasks
//!
//! A job of `n` processors becomes `n` tasks of 1 cpu each, indexes `0..n`, all with the
//! job's submit time, run time and end: a parallel job is a gang of single-processor
//! tasks, so a simulated cluster packs it onto its machines the way the original machine
//! spread it over its processors. `n` is the allocated processors, or the requested ones
//! when the allocation is unknown (or 0), or 1 when neither is known. The tasks of a job are
//! produced one at a time, so a job of a million processors costs no memory.
//!
//! * `job` is the job number, `submit` the submit time, `runtime` the run time (unknown
//!   when `-1`).
//! * `mem` is the requested memory per processor (what a scheduler reserves), else the
//!   used memory, converted from KB to MB (÷ 1024); 0 when both are unknown. `disk` and
//!   `gpus` are 0.
//! * `user` is the user number, interned (its name is the number as written); `-1` is
//!   unknown (0). `class` is the queue number, clamped to 0–255, `-1` being 0. `priority`
//!   is 0.
//! * The end state comes from the status: 1 (completed) → `finish`, 0 (failed) → `fail`,
//!   5 (cancelled) → `kill`, or `pending` when the job never ran (an unknown run time or no
//!   allocated processors); the partial executions of logs that record checkpointing or
//!   swapping map 2 (to be continued) → `evict`, 3 (last part completed) → `finish`,
//!   4 (last part failed) → `fail`; `-1` (a log or model that does not say, NASA's among
//!   them) → `finish`. Another status is a bad row.
//!
//! SWF logs are sorted by submit time by definition, so the reader streams them in memory
//! independent of the log's length, and a row whose submit time goes backwards is a bad
//! row.

use super::rows::secs;
use super::{
    EndState, Fields, Interner, MachineHint, ReadOptions, Rows, TaskGroup, TaskReader, TraceError, TraceTask,
};
use crate::time::Duration;

/// The 18 SWF fields, for error messages.
pub const FIELDS: &[&str] = &[
    "job_number",
    "submit_time",
    "wait_time",
    "run_time",
    "allocated_processors",
    "average_cpu_time",
    "used_memory",
    "requested_processors",
    "requested_time",
    "requested_memory",
    "status",
    "user_id",
    "group_id",
    "executable_number",
    "queue_number",
    "partition_number",
    "preceding_job",
    "think_time",
];

const JOB: usize = 0;
const SUBMIT: usize = 1;
const RUN_TIME: usize = 3;
const ALLOCATED: usize = 4;
const USED_MEMORY: usize = 6;
const REQUESTED: usize = 7;
const REQUESTED_MEMORY: usize = 9;
const STATUS: usize = 10;
const USER: usize = 11;
const QUEUE: usize = 14;

/// KB in an MB.
const KB_PER_MB: f64 = 1024.0;

/// What the header comments say (`None` when absent or not a number).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    pub max_jobs: Option<u64>,
    pub max_records: Option<u64>,
    pub max_nodes: Option<u64>,
    pub max_procs: Option<u64>,
    pub max_queues: Option<u64>,
}

impl Header {
    /// Takes in one comment line (without its `;`).
    fn read(&mut self, comment: &str) {
        let Some((key, value)) = comment.split_once(':') else {
            return;
        };
        let slot = match key.trim() {
            "MaxJobs" => &mut self.max_jobs,
            "MaxRecords" => &mut self.max_records,
            "MaxNodes" => &mut self.max_nodes,
            "MaxProcs" => &mut self.max_procs,
            "MaxQueues" => &mut self.max_queues,
            _ => return,
        };
        if let Some(v) = value.split_ascii_whitespace().next().and_then(|v| v.parse().ok()) {
            *slot = Some(v);
        }
    }

    /// The cluster the header describes: see the module documentation.
    pub fn machine_hint(&self) -> Option<MachineHint> {
        let positive = |v: Option<u64>| v.filter(|&v| v > 0);
        let to_u32 = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        let (count, cpus) = match (positive(self.max_nodes), positive(self.max_procs)) {
            (Some(nodes), Some(procs)) => (nodes, procs.div_ceil(nodes).max(1)),
            (Some(nodes), None) => (nodes, 1),
            (None, Some(procs)) => (procs, 1),
            (None, None) => return None,
        };
        Some(MachineHint {
            count: to_u32(count),
            cpus: cpus as f64,
            mem: 0.0,
        })
    }
}

/// One job, waiting to be yielded as its tasks.
struct Job {
    task: TraceTask,
    processors: u32,
}

/// Parses lines: the header before the first job, then jobs in submit order.
struct Parser {
    header: Header,
    seen_job: bool,
    last_submit: Option<(Duration, f64)>,
    users: Interner,
}

/// A number that may be `-1` (any negative is unknown).
fn known(f: &Fields, i: usize) -> Result<Option<f64>, String> {
    let v = f.f64(i)?;
    Ok((v >= 0.0).then_some(v))
}

/// A count of processors: a whole number, negative when unknown.
fn processors(f: &Fields, i: usize) -> Result<Option<u32>, String> {
    match known(f, i)? {
        None => Ok(None),
        Some(v) if v.fract() == 0.0 && v <= f64::from(u32::MAX) => Ok(Some(v as u32)),
        Some(_) => Err(f.invalid(i, "a whole number of processors below 2^32")),
    }
}

impl Parser {
    fn line(&mut self, line: &str) -> Result<Option<Job>, String> {
        let trimmed = line.trim_start();
        if let Some(comment) = trimmed.strip_prefix(';') {
            if !self.seen_job {
                self.header.read(comment);
            }
            return Ok(None);
        }
        let f = Fields::split_whitespace(line, FIELDS)?;
        let job = f.u64(JOB)?;
        let submit_s = f.f64(SUBMIT)?;
        if submit_s < 0.0 {
            return Err(f.invalid(SUBMIT, "a non-negative number"));
        }
        let submit = secs(submit_s);
        if let Some((last, last_s)) = self.last_submit
            && submit < last
        {
            return Err(format!(
                "submit time {submit_s} is before the previous row's {last_s}: SWF rows must be in submit order"
            ));
        }
        let runtime = known(&f, RUN_TIME)?;
        let allocated = processors(&f, ALLOCATED)?.filter(|&n| n > 0);
        let requested = processors(&f, REQUESTED)?.filter(|&n| n > 0);
        let memory_kb = match known(&f, REQUESTED_MEMORY)? {
            Some(kb) => Some(kb),
            None => known(&f, USED_MEMORY)?,
        };
        let status = f
            .i64(STATUS)
            .map_err(|_| f.invalid(STATUS, "a status: -1 or 0 to 5"))?;
        let end = match status {
            1 | 3 | -1 => EndState::Finish,
            0 | 4 => EndState::Fail,
            2 => EndState::Evict,
            5 if runtime.is_none() || allocated.is_none() => EndState::Pending,
            5 => EndState::Kill,
            _ => return Err(f.invalid(STATUS, "a status: -1 or 0 to 5")),
        };
        let user = f.i64(USER)?;
        let queue = f.i64(QUEUE)?;

        let mut task = TraceTask::new(submit, job, 0);
        task.user = if user < 0 {
            0
        } else {
            self.users.intern(f.str(USER))
        };
        task.class = queue.clamp(0, 255) as u8;
        task.cpus = 1.0;
        task.mem = memory_kb.map_or(0.0, |kb| kb / KB_PER_MB);
        task.end = end;
        task.runtime = match end {
            EndState::Pending => None,
            _ => runtime.map(secs),
        };
        self.seen_job = true;
        self.last_submit = Some((submit, submit_s));
        Ok(Some(Job {
            task,
            processors: allocated.or(requested).unwrap_or(1),
        }))
    }
}

/// The tasks of an SWF log, streamed.
pub struct Tasks {
    rows: Rows,
    parser: Parser,
    /// The job whose tasks are being yielded, and the next index.
    current: Option<(Job, u32)>,
    /// An error met while reading the header at open, reported by the first `next_task`.
    deferred: Option<TraceError>,
}

impl Tasks {
    /// Opens a log and reads its header (up to the first job).
    pub fn open(path: &str, options: &ReadOptions) -> Result<Tasks, TraceError> {
        let mut rows = Rows::open(path, options.skip_bad_rows)?;
        let mut parser = Parser {
            header: Header::default(),
            seen_job: false,
            last_submit: None,
            users: Interner::with_unknown(),
        };
        let (current, deferred) = match rows.next(|_, line| parser.line(line)) {
            Ok(job) => (job.map(|j| (j, 0)), None),
            Err(e) => (None, Some(e)),
        };
        Ok(Tasks {
            rows,
            parser,
            current,
            deferred,
        })
    }

    /// The header comments read before the first job.
    pub fn header(&self) -> &Header {
        &self.parser.header
    }

    /// The job being yielded, with processors left (the next job's once it has none);
    /// `None` at the end of the log.
    fn current(&mut self) -> Result<Option<&mut (Job, u32)>, TraceError> {
        while self
            .current
            .as_ref()
            .is_none_or(|(job, next)| *next >= job.processors)
        {
            // Only set (with no current job) when the header could not be read.
            if let Some(e) = self.deferred.take() {
                return Err(e);
            }
            let parser = &mut self.parser;
            self.current = self.rows.next(|_, line| parser.line(line))?.map(|job| (job, 0));
            if self.current.is_none() {
                return Ok(None);
            }
        }
        Ok(self.current.as_mut())
    }
}

impl TaskReader for Tasks {
    fn next_task(&mut self) -> Result<Option<TraceTask>, TraceError> {
        Ok(self.current()?.map(|(job, next)| {
            let mut task = job.task.clone();
            task.index = *next;
            *next += 1;
            task
        }))
    }

    fn next_group(&mut self) -> Result<Option<TaskGroup>, TraceError> {
        Ok(self.current()?.map(|(job, next)| {
            let mut task = job.task.clone();
            task.index = *next;
            let count = job.processors - *next;
            *next = job.processors;
            TaskGroup { task, count }
        }))
    }

    fn text(&self) -> Option<&Rows> {
        Some(&self.rows)
    }

    fn user_name(&self, user: u32) -> &str {
        self.parser.users.name(user)
    }

    fn machine_hint(&self) -> Option<MachineHint> {
        self.parser.header.machine_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Format, read_all};
    use proptest::prelude::*;
    use std::io::Read;

    const NASA: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/traces/swf/NASA-iPSC-1993-3.1-cln.swf.gz"
    );
    const CTC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/traces/swf/trace.swf");

    use crate::trace::testing::TempFile as Temp;

    fn options() -> ReadOptions {
        ReadOptions::new(Format::Swf)
    }

    fn nasa_text() -> String {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(NASA).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    #[test]
    fn nasa_jobs_become_a_task_per_processor() {
        let mut reader = Tasks::open(NASA, &options()).unwrap();
        assert_eq!(
            reader.machine_hint(),
            Some(MachineHint {
                count: 128,
                cpus: 1.0,
                mem: 0.0
            })
        );
        assert_eq!(reader.header().max_jobs, Some(42_264));
        assert_eq!(reader.header().max_records, Some(42_264));
        assert_eq!(reader.header().max_queues, Some(2));
        let mut tasks = 0u64;
        let mut jobs = 0u64;
        let mut last = Duration::ZERO;
        let mut users = std::collections::BTreeSet::new();
        while let Some(t) = reader.next_task().unwrap() {
            assert!(t.submit >= last, "out of order at job {}", t.job);
            last = t.submit;
            jobs += u64::from(t.index == 0);
            tasks += 1;
            assert_eq!((t.cpus, t.mem, t.class, t.end), (1.0, 0.0, 0, EndState::Finish));
            assert!(t.runtime.is_some());
            users.insert(t.user);
        }
        // awk: 18,239 job rows, allocated processors summing to 309,953, all 18 fields.
        assert_eq!(jobs, 18_239);
        assert_eq!(tasks, 309_953);
        assert_eq!(reader.rows(), 18_271);
        assert_eq!(reader.skipped(), 0);
        assert!(!users.contains(&0));
    }

    #[test]
    fn the_ctc_excerpt_reads_field_by_field() {
        let mut reader = Tasks::open(CTC, &options()).unwrap();
        assert_eq!(reader.machine_hint(), None);
        let tasks = read_all(&mut reader).unwrap();
        // awk: 5 jobs of 306 + 17 + 306 + 64 + 64 allocated processors.
        assert_eq!(tasks.len(), 757);
        let jobs: Vec<u64> = tasks.iter().filter(|t| t.index == 0).map(|t| t.job).collect();
        assert_eq!(jobs, [1, 2, 3, 4, 5]);
        // 3   197154 459987  35268  306  32792 -1 -1 35100 -1  0  97  -1 307  3 -1 -1 -1
        let third: Vec<&TraceTask> = tasks.iter().filter(|t| t.job == 3).collect();
        assert_eq!(third.len(), 306);
        assert_eq!(third[305].index, 305);
        let t = third[0];
        assert_eq!(t.submit, Duration::from_secs(197_154));
        assert_eq!(t.runtime, Some(Duration::from_secs(35_268)));
        assert_eq!(
            (t.end, t.class, reader.user_name(t.user)),
            (EndState::Fail, 3, "97")
        );
        let fourth = tasks.iter().find(|t| t.job == 4).unwrap();
        assert_eq!(
            (fourth.end, fourth.class, reader.user_name(fourth.user)),
            (EndState::Finish, 1, "38")
        );
        assert_eq!(tasks.iter().find(|t| t.job == 5).unwrap().user, fourth.user);
    }

    #[test]
    fn statuses_memory_and_processors_follow_the_rules() {
        let text = "\
; MaxProcs: 430
; MaxNodes: 100
1 0 -1 -1 -1 -1 -1 4 -1 -1 5 1 1 -1 -1 -1 -1 -1
2 10 5 0 2 -1 -1 4 -1 -1 5 1 1 -1 300 -1 -1 -1
3 10 5 7 2 -1 2048 -1 -1 -1 2 2 1 -1 -1 -1 -1 -1
4 11.5 5 7 0 -1 2048 -1 -1 512 4 -1 1 -1 -1 -1 -1 -1
; a comment between jobs
5 12 5 7 -1 -1 -1 -1 -1 -1 3 2 1 -1 1 -1 -1 -1
";
        let file = Temp::new("rules.swf", text.as_bytes());
        let mut reader = Tasks::open(file.path(), &options()).unwrap();
        assert_eq!(
            reader.machine_hint(),
            Some(MachineHint {
                count: 100,
                cpus: 5.0,
                mem: 0.0
            })
        );
        let tasks = read_all(&mut reader).unwrap();
        let summary: Vec<(u64, u32, EndState, Option<Duration>, f64, u8)> = tasks
            .iter()
            .map(|t| (t.job, t.index, t.end, t.runtime, t.mem, t.class))
            .collect();
        let s = Some(Duration::from_secs(7));
        assert_eq!(
            summary,
            [
                (1, 0, EndState::Pending, None, 0.0, 0),
                (1, 1, EndState::Pending, None, 0.0, 0),
                (1, 2, EndState::Pending, None, 0.0, 0),
                (1, 3, EndState::Pending, None, 0.0, 0),
                (2, 0, EndState::Kill, Some(Duration::ZERO), 0.0, 255),
                (2, 1, EndState::Kill, Some(Duration::ZERO), 0.0, 255),
                (3, 0, EndState::Evict, s, 2.0, 0),
                (3, 1, EndState::Evict, s, 2.0, 0),
                (4, 0, EndState::Fail, s, 0.5, 0),
                (5, 0, EndState::Finish, s, 0.0, 1),
            ]
        );
        assert_eq!(tasks[8].submit, Duration::from_millis(11_500));
        assert_eq!(tasks[8].user, 0);
    }

    #[test]
    fn a_corrupted_row_is_one_line_error_or_a_counted_skip() {
        let good = std::fs::read_to_string(CTC).unwrap();
        let lines: Vec<&str> = good.lines().collect();
        // Row 4 loses its last field; row 6 goes back in time.
        let text = format!(
            "{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
            lines[0],
            lines[1],
            lines[2],
            "    9   164480 356587     75   17   2.00    -1   -1    300    -1  1  81  -1 195  3 -1 -1",
            lines[3],
            "    8        5      1      1    1      1    -1   -1      1    -1  1  81  -1 195  3 -1 -1 -1",
            lines[4],
        );
        let file = Temp::new("bad.swf", text.as_bytes());
        let mut reader = Tasks::open(file.path(), &options()).unwrap();
        let e = read_all(&mut reader).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}:4: expected 18 fields, found 17", file.path())
        );

        let mut skip = options();
        skip.skip_bad_rows = true;
        let mut reader = Tasks::open(file.path(), &skip).unwrap();
        let tasks = read_all(&mut reader).unwrap();
        assert_eq!(tasks.len(), 306 + 17 + 306 + 64);
        assert_eq!(reader.skipped(), 2);
        assert_eq!(reader.rows(), 7);

        let backwards = format!("{}\n{}\n", lines[3], lines[2]);
        let file = Temp::new("backwards.swf", backwards.as_bytes());
        let e = read_all(&mut Tasks::open(file.path(), &options()).unwrap()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}:2: submit time 164472 is before the previous row's 197154: SWF rows must be in submit order",
                file.path()
            )
        );
        // A bad first job is reported by the first next_task, not by open.
        let file = Temp::new("first.swf", b"; MaxProcs: 8\n1 2 3\n");
        let mut reader = Tasks::open(file.path(), &options()).unwrap();
        assert_eq!(reader.machine_hint().map(|h| h.count), Some(8));
        let e = reader.next_task().unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}:2: expected 18 fields, found 3", file.path())
        );
        assert_eq!(reader.next_task().unwrap(), None);
    }

    #[test]
    fn gzip_reads_like_the_plain_file() {
        let plain = Temp::new("nasa.swf", nasa_text().as_bytes());
        let a = read_all(&mut Tasks::open(plain.path(), &options()).unwrap()).unwrap();
        let b = read_all(&mut Tasks::open(NASA, &options()).unwrap()).unwrap();
        assert_eq!(a.len(), 309_953);
        assert!(a == b);

        let file = Temp::gz("ctc.swf.gz", &std::fs::read(CTC).unwrap());
        assert_eq!(
            read_all(&mut Tasks::open(file.path(), &options()).unwrap()).unwrap(),
            read_all(&mut Tasks::open(CTC, &options()).unwrap()).unwrap()
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn garbage_never_panics(
            bytes in prop::collection::vec(any::<u8>(), 0..400),
            words in prop::collection::vec(prop::sample::select(vec!["-1", "0", "1", "1e300", "nan", "-7", "2.5", "18446744073709551616", ";", "x", "\n"]), 0..60),
            cut in 0usize..600,
            skip in any::<bool>(),
        ) {
            let mut o = options();
            o.skip_bad_rows = skip;
            let words = words.join(" ");
            let sample = std::fs::read(CTC).unwrap();
            for input in [&bytes[..], words.as_bytes(), &sample[..cut.min(sample.len())]] {
                let file = Temp::new("garbage.swf", input);
                if let Ok(mut reader) = Tasks::open(file.path(), &o) {
                    let _ = reader.machine_hint();
                    // A garbage job may claim billions of processors: look at the first few.
                    for _ in 0..2_000 {
                        match reader.next_task() {
                            Ok(Some(_)) => {}
                            _ => break,
                        }
                    }
                }
            }
        }
    }
}
