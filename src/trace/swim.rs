//! Facebook's Hadoop workloads as published by SWIM, the Statistical Workload Injector for
//! MapReduce (for example `FB-2009_samples_24_times_1hr_0.tsv`: a day of a 600-machine
//! Hadoop cluster made of 24 one-hour samples of Facebook's 2009 trace).
//!
//! Origin: `SWIMProjectUCB/SWIM`, folder `workloadSuite/`; BSD-style license, Copyright (c)
//! 2011 Regents of the University of California.
//!
//! A file is one job a line, no header, 6 fields separated by tabs (any whitespace is
//! accepted): 1 job id (`job123`), 2 submit time in seconds from the workload's start,
//! 3 gap since the previous submission (s, not used), 4 map input bytes, 5 shuffle bytes,
//! 6 reduce output bytes.
//!
//! # The Hadoop model
//!
//! The data has neither task counts nor durations, so mesosim derives them with a fixed
//! model of a Hadoop 0.20-era cluster; the constants are public below.
//!
//! * Map tasks: one per [`MAP_SPLIT_BYTES`] (128 MiB, an HDFS block) of input, rounded up,
//!   at least one. Each reads an equal share of the input at [`MAP_BYTES_PER_SEC`]
//!   (64 MiB/s); in a job without shuffle (map-only) the maps also write the output, so
//!   their share of it counts too.
//! * Reduce tasks: one per [`REDUCE_BYTES`] (1 GiB) of shuffle, rounded up; none when the
//!   shuffle is empty. Each fetches, merges and writes an equal share of the shuffle and
//!   output bytes at [`REDUCE_BYTES_PER_SEC`] (32 MiB/s).
//! * No task runs shorter than [`MIN_TASK_RUNTIME`] (1 s, the order of a JVM start).
//! * Maps take [`MAP_CPUS`] cpu and [`MAP_MEM_MB`] MB (a 2 GiB container), reduces
//!   [`REDUCE_CPUS`] cpu and [`REDUCE_MEM_MB`] MB; no disk or GPUs.
//!
//! A job's tasks all have the job's submit time (the reduces are not held back until the
//! maps end: mesosim replays tasks, not a DAG). `job` is the number in the job id; the maps
//! are indexes `0..maps` with `class` 0, the reduces follow with `class` 1. Every task
//! finishes (`finish`) after its modelled run time; `user`, `priority` and `machine` are
//! unknown.
//!
//! The files are in submit order, so the reader streams them in memory independent of
//! the file's length and produces a job's tasks one at a time (a job of a million maps
//! costs no memory); a row whose submit time goes backwards is a bad row, as is a job with
//! more than 2^32 tasks.

use super::rows::secs;
use super::{EndState, Fields, ReadOptions, Rows, TaskGroup, TaskReader, TraceError, TraceTask};
use crate::time::Duration;

/// Input bytes per map task (an HDFS block).
pub const MAP_SPLIT_BYTES: u64 = 128 << 20;
/// Shuffle bytes per reduce task.
pub const REDUCE_BYTES: u64 = 1 << 30;
/// How fast a map task gets through its bytes.
pub const MAP_BYTES_PER_SEC: u64 = 64 << 20;
/// How fast a reduce task gets through its bytes.
pub const REDUCE_BYTES_PER_SEC: u64 = 32 << 20;
/// The shortest task.
pub const MIN_TASK_RUNTIME: Duration = Duration::from_secs(1);
pub const MAP_CPUS: f64 = 1.0;
pub const MAP_MEM_MB: f64 = 2048.0;
pub const REDUCE_CPUS: f64 = 1.0;
pub const REDUCE_MEM_MB: f64 = 4096.0;

/// The 6 fields, for error messages.
pub const FIELDS: &[&str] = &[
    "job_id",
    "submit_time_seconds",
    "inter_job_submit_gap_seconds",
    "map_input_bytes",
    "shuffle_bytes",
    "reduce_output_bytes",
];

const JOB: usize = 0;
const SUBMIT: usize = 1;
const GAP: usize = 2;
const INPUT: usize = 3;
const SHUFFLE: usize = 4;
const OUTPUT: usize = 5;

/// A job's tasks under the model: how many maps and reduces, and how long each runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub maps: u64,
    pub reduces: u64,
    pub map_runtime: Duration,
    pub reduce_runtime: Duration,
}

/// `bytes / (tasks * rate)` seconds, at least [`MIN_TASK_RUNTIME`].
fn runtime(bytes: u64, tasks: u64, rate: u64) -> Duration {
    if tasks == 0 {
        return MIN_TASK_RUNTIME;
    }
    let ns = u128::from(bytes) * 1_000_000_000 / (u128::from(tasks) * u128::from(rate));
    Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX)).max(MIN_TASK_RUNTIME)
}

impl Shape {
    /// The model applied to one job's byte counts.
    pub fn of(input: u64, shuffle: u64, output: u64) -> Shape {
        let maps = input.div_ceil(MAP_SPLIT_BYTES).max(1);
        let reduces = shuffle.div_ceil(REDUCE_BYTES);
        let map_bytes = if reduces == 0 {
            input.saturating_add(output)
        } else {
            input
        };
        Shape {
            maps,
            reduces,
            map_runtime: runtime(map_bytes, maps, MAP_BYTES_PER_SEC),
            reduce_runtime: runtime(shuffle.saturating_add(output), reduces, REDUCE_BYTES_PER_SEC),
        }
    }
}

/// A job whose tasks are being yielded.
struct Job {
    submit: Duration,
    number: u64,
    shape: Shape,
    next: u64,
}

impl Job {
    fn has_tasks(&self) -> bool {
        self.next < self.shape.maps + self.shape.reduces
    }

    fn next_task(&mut self) -> Option<TraceTask> {
        let Shape {
            maps,
            reduces,
            map_runtime,
            reduce_runtime,
        } = self.shape;
        if self.next >= maps + reduces {
            return None;
        }
        // Parsing checked that the job's tasks fit a u32 index.
        let mut t = TraceTask::new(self.submit, self.number, self.next as u32);
        if self.next < maps {
            (t.cpus, t.mem, t.runtime) = (MAP_CPUS, MAP_MEM_MB, Some(map_runtime));
        } else {
            (t.cpus, t.mem, t.runtime, t.class) = (REDUCE_CPUS, REDUCE_MEM_MB, Some(reduce_runtime), 1);
        }
        t.end = EndState::Finish;
        self.next += 1;
        Some(t)
    }

    /// The job's remaining maps, or its remaining reduces, as one group.
    fn next_group(&mut self) -> Option<TaskGroup> {
        let Shape { maps, reduces, .. } = self.shape;
        let end = if self.next < maps { maps } else { maps + reduces };
        let first = self.next;
        let task = self.next_task()?;
        self.next = end;
        // Parsing checked that the job's tasks fit a u32 index.
        Some(TaskGroup {
            task,
            count: (end - first) as u32,
        })
    }
}

/// Parses one row into a job, checking submit order against `last`.
fn parse(line: &str, last: &mut Option<(Duration, f64)>) -> Result<Job, String> {
    let f = Fields::split_whitespace(line, FIELDS)?;
    let number = f
        .str(JOB)
        .strip_prefix("job")
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| f.invalid(JOB, "a job id like job42"))?;
    let submit_s = f
        .opt_nonneg(SUBMIT)?
        .ok_or_else(|| f.invalid(SUBMIT, "a non-negative number"))?;
    f.f64(GAP)?;
    let shape = Shape::of(f.u64(INPUT)?, f.u64(SHUFFLE)?, f.u64(OUTPUT)?);
    if shape.maps + shape.reduces > u64::from(u32::MAX) {
        return Err(format!(
            "the model gives this job {} maps and {} reduces: more than 2^32 tasks",
            shape.maps, shape.reduces
        ));
    }
    let submit = secs(submit_s);
    if let Some((last, last_s)) = *last
        && submit < last
    {
        return Err(format!(
            "submit time {submit_s} is before the previous row's {last_s}: SWIM rows must be in submit order"
        ));
    }
    *last = Some((submit, submit_s));
    Ok(Job {
        submit,
        number,
        shape,
        next: 0,
    })
}

/// The modelled tasks of a SWIM workload, streamed.
pub struct Tasks {
    rows: Rows,
    last: Option<(Duration, f64)>,
    current: Option<Job>,
}

impl Tasks {
    pub fn open(path: &str, options: &ReadOptions) -> Result<Tasks, TraceError> {
        Ok(Tasks {
            rows: Rows::open(path, options.skip_bad_rows)?,
            last: None,
            current: None,
        })
    }
}

impl Tasks {
    /// The job being yielded, with tasks left (the next job's once it has none); `None` at
    /// the end of the file.
    fn current(&mut self) -> Result<Option<&mut Job>, TraceError> {
        while !self.current.as_ref().is_some_and(Job::has_tasks) {
            let last = &mut self.last;
            self.current = self.rows.next(|_, line| parse(line, last).map(Some))?;
            if self.current.is_none() {
                return Ok(None);
            }
        }
        Ok(self.current.as_mut())
    }
}

impl TaskReader for Tasks {
    fn next_task(&mut self) -> Result<Option<TraceTask>, TraceError> {
        Ok(self.current()?.and_then(Job::next_task))
    }

    fn next_group(&mut self) -> Result<Option<TaskGroup>, TraceError> {
        Ok(self.current()?.and_then(Job::next_group))
    }

    fn text(&self) -> Option<&Rows> {
        Some(&self.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Format, read_all};
    use proptest::prelude::*;

    const FB2009: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/traces/facebook-swim/FB-2009_samples_24_times_1hr_0.tsv"
    );

    use crate::trace::testing::TempFile as Temp;

    fn options() -> ReadOptions {
        ReadOptions::new(Format::Swim)
    }

    #[test]
    fn the_fb2009_day_under_the_model() {
        let mut reader = Tasks::open(FB2009, &options()).unwrap();
        let tasks = read_all(&mut reader).unwrap();
        // awk with the same model: 5,894 jobs, 205,713 maps, 21,895 reduces (1,446 jobs
        // have a shuffle), the largest job 56,262 maps.
        assert_eq!(reader.rows(), 5_894);
        assert_eq!(tasks.iter().filter(|t| t.index == 0).count(), 5_894);
        assert_eq!(tasks.iter().filter(|t| t.class == 0).count(), 205_713);
        assert_eq!(tasks.iter().filter(|t| t.class == 1).count(), 21_895);
        assert_eq!(tasks.len(), 227_608);
        assert!(tasks.windows(2).all(|w| w[0].submit <= w[1].submit));
        assert!(
            tasks
                .iter()
                .all(|t| t.end == EndState::Finish && t.runtime >= Some(MIN_TASK_RUNTIME))
        );

        // job0  49  49  740773  2339561  627471: one map and one reduce, both at the floor.
        assert_eq!(
            (tasks[0].job, tasks[0].submit, tasks[0].mem, tasks[0].runtime),
            (0, Duration::from_secs(49), MAP_MEM_MB, Some(MIN_TASK_RUNTIME))
        );
        assert_eq!(
            (tasks[1].job, tasks[1].index, tasks[1].class, tasks[1].mem),
            (0, 1, 1, REDUCE_MEM_MB)
        );
        // job5891  86394  1  26696479780  78256050458  24810560
        let big: Vec<&TraceTask> = tasks.iter().filter(|t| t.job == 5891).collect();
        assert_eq!(big.len(), 199 + 73);
        assert_eq!(big[0].runtime, Some(Duration::from_nanos(1_999_037_932)));
        assert_eq!(big[199].runtime, Some(Duration::from_nanos(31_958_239_134)));
        assert_eq!(big[271].index, 271);
    }

    #[test]
    fn the_model_by_hand() {
        let block = MAP_SPLIT_BYTES;
        assert_eq!(Shape::of(0, 0, 0).maps, 1);
        assert_eq!(Shape::of(block, 0, 0).maps, 1);
        assert_eq!(Shape::of(block + 1, 0, 0).maps, 2);
        assert_eq!(Shape::of(0, 1, 0).reduces, 1);
        assert_eq!(Shape::of(0, REDUCE_BYTES * 3, 0).reduces, 3);
        // A map-only job's maps write its output: 2 blocks in, 2 blocks out, 2 maps of 4 s.
        let s = Shape::of(2 * block, 0, 2 * block);
        assert_eq!((s.maps, s.reduces, s.map_runtime), (2, 0, Duration::from_secs(4)));
        // With a shuffle the reduces write it: 1 GiB + 1 GiB over 2 reduces at 32 MiB/s.
        let s = Shape::of(block, REDUCE_BYTES * 2, REDUCE_BYTES * 2);
        assert_eq!(
            (s.map_runtime, s.reduce_runtime),
            (Duration::from_secs(2), Duration::from_secs(64))
        );
    }

    #[test]
    fn a_million_maps_stream_one_at_a_time() {
        let text = format!(
            "job7\t5\t5\t{}\t0\t0\njob8\t6\t1\t1\t0\t0\n",
            MAP_SPLIT_BYTES * 1_000_000
        );
        let file = Temp::new("million.tsv", text.as_bytes());
        let mut reader = Tasks::open(file.path(), &options()).unwrap();
        let mut n = 0u64;
        let mut last = None;
        while let Some(t) = reader.next_task().unwrap() {
            n += 1;
            last = Some((t.job, t.index));
        }
        assert_eq!(n, 1_000_001);
        assert_eq!(last, Some((8, 0)));
    }

    #[test]
    fn a_corrupted_row_is_one_line_error_or_a_counted_skip() {
        let good = std::fs::read_to_string(FB2009).unwrap();
        let lines: Vec<&str> = good.lines().take(4).collect();
        let text = format!(
            "{}\n{}\njob99\t101\t52\t736346\t1700537\n{}\njob100\t1\t0\t1\t1\t1\n{}\nJob9\t200\t1\t1\t1\t1\n",
            lines[0], lines[1], lines[2], lines[3]
        );
        let file = Temp::new("bad.tsv", text.as_bytes());
        let e = read_all(&mut Tasks::open(file.path(), &options()).unwrap()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}:3: expected 6 fields, found 5", file.path())
        );

        let mut skip = options();
        skip.skip_bad_rows = true;
        let mut reader = Tasks::open(file.path(), &skip).unwrap();
        let tasks = read_all(&mut reader).unwrap();
        assert_eq!(tasks.iter().filter(|t| t.index == 0).count(), 4);
        assert_eq!(reader.skipped(), 3);

        let file = Temp::new(
            "backwards.tsv",
            format!("{}\n{}\n", lines[1], lines[0]).as_bytes(),
        );
        let e = read_all(&mut Tasks::open(file.path(), &options()).unwrap()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}:2: submit time 49 is before the previous row's 101: SWIM rows must be in submit order",
                file.path()
            )
        );
        let file = Temp::new("id.tsv", b"Job9\t200\t1\t1\t1\t1\n");
        let e = read_all(&mut Tasks::open(file.path(), &options()).unwrap()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}:1: field 1 (job_id): expected a job id like job42, found \"Job9\"",
                file.path()
            )
        );
    }

    #[test]
    fn gzip_reads_like_the_plain_file() {
        let file = Temp::gz("fb.tsv.gz", &std::fs::read(FB2009).unwrap());
        let a = read_all(&mut Tasks::open(file.path(), &options()).unwrap()).unwrap();
        let b = read_all(&mut Tasks::open(FB2009, &options()).unwrap()).unwrap();
        assert_eq!(a.len(), 227_608);
        assert!(a == b);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn garbage_never_panics(
            bytes in prop::collection::vec(any::<u8>(), 0..400),
            words in prop::collection::vec(prop::sample::select(vec!["job1", "job", "0", "-1", "1e300", "nan", "18446744073709551615", "\t", "\n"]), 0..40),
            cut in 0usize..600,
            skip in any::<bool>(),
        ) {
            let mut o = options();
            o.skip_bad_rows = skip;
            let words = words.join("\t");
            let sample = std::fs::read(FB2009).unwrap();
            for input in [&bytes[..], words.as_bytes(), &sample[..cut.min(sample.len())]] {
                let file = Temp::new("garbage.tsv", input);
                let mut reader = Tasks::open(file.path(), &o).unwrap();
                // A garbage job may model billions of maps: look at the first few.
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
