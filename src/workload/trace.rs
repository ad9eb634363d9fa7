//! Replaying a trace: the mapping from a trace's tasks to submissions in a simulated run.
//!
//! A trace task becomes a simulated task that asks for the trace's request and, once
//! launched, runs for the trace's run time and ends the way the trace says (finished,
//! failed, or killed: kills and evictions end it as killed). The mapping applies, in order:
//!
//! 1. the window: only tasks submitted in `[from, to)` on the trace's clock;
//! 2. sampling: a job is kept with probability `sample`, decided by a hash of the job and
//!    the run seed, so every task of a job goes together and every allocator sees the same
//!    jobs;
//! 3. what the trace never ran: a task withdrawn before it started is dropped; a task still
//!    pending when the trace ends is dropped or, with `unstarted: endless`, submitted to run
//!    until the end; a task still running when the trace ends runs until the end;
//! 4. time: simulated submission = (trace submission − from) × `time_scale`;
//! 5. load: each task is submitted ⌊`load_scale`⌋ times, plus once more with the
//!    fractional part's probability (again a hash, not a stream);
//! 6. groups: `split_by` names the framework each task goes to.
//!
//! Consecutive tasks of one group submitted at the same instant go as one submission, as a
//! job's tasks do.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::process::{TaskOutcome, TaskRun};
use crate::proto::TaskRequest;
use crate::resources::Scalar;
use crate::scenario::schema::{SplitBy, Unstarted};
use crate::time::{Duration, Instant};
use crate::trace::{self, EndState, TaskReader, TraceError, TraceTask};

/// How trace tasks map to submissions.
#[derive(Clone, Debug)]
pub struct Mapping {
    pub from: Duration,
    pub to: Option<Duration>,
    pub sample: f64,
    pub time_scale: f64,
    pub load_scale: f64,
    pub split_by: SplitBy,
    pub unstarted: Unstarted,
    pub seed: u64,
}

impl Mapping {
    /// Every task, as the trace has it.
    pub fn identity(seed: u64) -> Mapping {
        Mapping {
            from: Duration::ZERO,
            to: None,
            sample: 1.0,
            time_scale: 1.0,
            load_scale: 1.0,
            split_by: SplitBy::None,
            unstarted: Unstarted::Skip,
            seed,
        }
    }

    /// Where a trace time lands in the run (`None` before the window).
    pub fn time(&self, trace: Duration) -> Option<Instant> {
        let since = trace.checked_sub(self.from)?;
        let scaled = if self.time_scale == 1.0 {
            since
        } else {
            Duration::from_secs_f64(since.as_secs_f64() * self.time_scale)
        };
        Some(Instant::ZERO + scaled)
    }
}

/// What a replay did with its trace: summary.json's `trace` section. Every task read is
/// submitted or counted under one reason.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TraceCounts {
    /// Lines read, comments and headers included.
    pub rows: u64,
    pub tasks_read: u64,
    /// Simulated tasks submitted (copies under `load_scale` included).
    pub submitted: u64,
    pub outside_window: u64,
    pub sampled_out: u64,
    /// Ended in the trace before they ever started.
    pub withdrawn: u64,
    /// Never started in the trace and dropped (`unstarted: skip`).
    pub never_started: u64,
    /// Submitted with no end: still running (or, with `unstarted: endless`, still
    /// pending) when the trace or its look-ahead ends.
    pub endless: u64,
    /// Submitted with no request at all, given one millicore.
    pub empty_requests: u64,
    /// Malformed rows skipped (`skip_bad_rows`), and the first of them.
    pub skipped_rows: u64,
    pub first_skipped_row: Option<String>,
}

impl TraceCounts {
    /// Adds `other`'s counts (the first skipped row stays the first one seen).
    pub fn absorb(&mut self, other: TraceCounts) {
        self.rows += other.rows;
        self.tasks_read += other.tasks_read;
        self.submitted += other.submitted;
        self.outside_window += other.outside_window;
        self.sampled_out += other.sampled_out;
        self.withdrawn += other.withdrawn;
        self.never_started += other.never_started;
        self.endless += other.endless;
        self.empty_requests += other.empty_requests;
        self.skipped_rows += other.skipped_rows;
        if self.first_skipped_row.is_none() {
            self.first_skipped_row = other.first_skipped_row;
        }
    }
}

/// One submission: tasks of one group at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub at: Instant,
    /// Index into [`TraceWorkload::group_name`].
    pub group: u32,
    pub tasks: Vec<TaskRequest>,
}

/// A trace reader seen through a mapping.
pub struct TraceWorkload {
    reader: Box<dyn TaskReader>,
    mapping: Mapping,
    /// Group key (see `group_of`) → group id, ids dense in order of first appearance.
    group_ids: BTreeMap<u32, u32>,
    group_names: Vec<String>,
    /// The next mapped task, read ahead to find where a batch ends.
    peeked: Option<(Instant, u32, TaskRequest, u64)>,
    done: bool,
    counts: TraceCounts,
}

/// A 64-bit mix (SplitMix64's finalizer): a hash that is the same on every platform.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform draw in [0, 1) determined by its inputs.
fn unit_hash(seed: u64, salt: u64, a: u64, b: u64) -> f64 {
    let h = mix(mix(mix(seed ^ salt).wrapping_add(a)).wrapping_add(b));
    (h >> 11) as f64 / (1u64 << 53) as f64
}

const SAMPLE_SALT: u64 = 0x5a4d_504c_4500_0001;
const COPY_SALT: u64 = 0x434f_5059_0000_0002;

impl TraceWorkload {
    pub fn new(reader: Box<dyn TaskReader>, mapping: Mapping) -> TraceWorkload {
        TraceWorkload {
            reader,
            mapping,
            group_ids: BTreeMap::new(),
            group_names: Vec::new(),
            peeked: None,
            done: false,
            counts: TraceCounts::default(),
        }
    }

    pub fn group_name(&self, group: u32) -> &str {
        &self.group_names[group as usize]
    }

    pub fn counts(&self) -> TraceCounts {
        let mut c = self.counts.clone();
        c.rows = self.reader.rows();
        c.skipped_rows = self.reader.skipped();
        c.first_skipped_row = self.reader.first_skipped().map(|e| e.to_string());
        c
    }

    /// The task's group id; a group's name is made once, when it first appears.
    fn group_of(&mut self, t: &TraceTask) -> u32 {
        const BANDS: [&str; 3] = ["free", "batch", "production"];
        let split = self.mapping.split_by;
        let key = match split {
            SplitBy::None => 0,
            SplitBy::User => t.user,
            SplitBy::Priority => u32::from(t.priority),
            SplitBy::PriorityBand => match t.priority {
                0..=1 => 0,
                2..=8 => 1,
                _ => 2,
            },
            SplitBy::Class => u32::from(t.class),
        };
        let names = &mut self.group_names;
        *self.group_ids.entry(key).or_insert_with(|| {
            names.push(match split {
                SplitBy::None => String::new(),
                SplitBy::User => format!("u{key}"),
                SplitBy::Priority => format!("p{key}"),
                SplitBy::PriorityBand => BANDS[key as usize].to_owned(),
                SplitBy::Class => format!("c{key}"),
            });
            names.len() as u32 - 1
        })
    }

    /// The next trace task that survives the mapping, as (time, group, request, copies).
    fn next_mapped(&mut self) -> Result<Option<(Instant, u32, TaskRequest, u64)>, TraceError> {
        if self.done {
            return Ok(None);
        }
        while let Some(t) = self.reader.next_task()? {
            self.counts.tasks_read += 1;
            let m = &self.mapping;
            if m.to.is_some_and(|to| t.submit >= to) {
                // Tasks come in submit order: nothing later is in the window.
                self.counts.outside_window += 1;
                self.done = true;
                return Ok(None);
            }
            let Some(at) = m.time(t.submit) else {
                self.counts.outside_window += 1;
                continue;
            };
            if m.sample < 1.0 && unit_hash(m.seed, SAMPLE_SALT, t.job, 0) >= m.sample {
                self.counts.sampled_out += 1;
                continue;
            }
            let duration = match (t.end, t.runtime) {
                (EndState::Running, _) => None,
                (EndState::Pending, _) => match m.unstarted {
                    Unstarted::Skip => {
                        self.counts.never_started += 1;
                        continue;
                    }
                    Unstarted::Endless => None,
                },
                (_, None) => {
                    self.counts.withdrawn += 1;
                    continue;
                }
                (_, Some(d)) => Some(d),
            };
            let outcome = match t.end {
                EndState::Fail | EndState::Lost => TaskOutcome::Fail,
                EndState::Kill | EndState::Evict => TaskOutcome::Killed,
                _ => TaskOutcome::Succeed,
            };
            let copies = if m.load_scale == 1.0 {
                1
            } else {
                let whole = m.load_scale.floor();
                let extra = unit_hash(m.seed, COPY_SALT, t.job, u64::from(t.index)) < m.load_scale - whole;
                whole as u64 + u64::from(extra)
            };
            if copies == 0 {
                self.counts.sampled_out += 1;
                continue;
            }
            if duration.is_none() {
                self.counts.endless += copies;
            }
            let mut resources = trace::resources(t.cpus, t.mem, t.disk, t.gpus);
            if resources.scalar("cpus").is_zero() && resources.scalar("mem").is_zero() {
                self.counts.empty_requests += copies;
                resources.set_scalar("cpus", None, Scalar::from_millis(1));
            }
            let group = self.group_of(&t);
            let request = TaskRequest {
                command: None,
                resources,
                run: TaskRun { duration, outcome },
                job: Some(t.job),
                retry_of: None,
            };
            return Ok(Some((at, group, request, copies)));
        }
        self.done = true;
        Ok(None)
    }

    /// The next submission, or `None` when the trace (or its window) is over.
    pub fn next_batch(&mut self) -> Result<Option<Batch>, TraceError> {
        let first = match self.peeked.take() {
            Some(p) => p,
            None => match self.next_mapped()? {
                Some(p) => p,
                None => return Ok(None),
            },
        };
        let (at, group, request, copies) = first;
        let mut tasks = Vec::new();
        push_copies(&mut tasks, request, copies);
        while let Some(next) = self.next_mapped()? {
            if next.0 == at && next.1 == group {
                push_copies(&mut tasks, next.2, next.3);
            } else {
                self.peeked = Some(next);
                break;
            }
        }
        self.counts.submitted += tasks.len() as u64;
        Ok(Some(Batch { at, group, tasks }))
    }
}

fn push_copies(tasks: &mut Vec<TaskRequest>, request: TaskRequest, copies: u64) {
    for _ in 1..copies {
        tasks.push(request.clone());
    }
    tasks.push(request);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Format, ReadOptions, tasks};

    const SLICE: &str = "traces/google-2011/slices/task_events.jobs-submitted-600s-900s.csv";

    fn replay(mapping: Mapping) -> (Vec<Batch>, TraceCounts) {
        let reader = tasks(Format::Google2011, SLICE, &ReadOptions::new(Format::Google2011)).unwrap();
        let mut w = TraceWorkload::new(reader, mapping);
        let mut out = Vec::new();
        while let Some(b) = w.next_batch().unwrap() {
            out.push(b);
        }
        (out, w.counts())
    }

    #[test]
    fn every_task_of_the_slice_is_submitted_with_its_run_time() {
        let (batches, counts) = replay(Mapping::identity(1));
        let n: usize = batches.iter().map(|b| b.tasks.len()).sum();
        assert_eq!(n, 3_478);
        assert_eq!(counts.submitted, 3_478);
        assert_eq!(counts.tasks_read, 3_478);
        assert!(batches.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(
            batches
                .iter()
                .flat_map(|b| &b.tasks)
                .all(|t| t.run.duration.is_some())
        );
        let killed = batches
            .iter()
            .flat_map(|b| &b.tasks)
            .filter(|t| t.run.outcome == TaskOutcome::Killed)
            .count();
        assert_eq!(killed, 268 + 2, "kills and evictions");
        // The slice's jobs were submitted from 600 s on.
        assert!(batches[0].at >= Instant::ZERO + Duration::from_secs(600));
    }

    #[test]
    fn window_sampling_and_scaling_compose() {
        let mut m = Mapping::identity(7);
        m.from = Duration::from_secs(600);
        m.to = Some(Duration::from_secs(750));
        let (all, _) = replay(m.clone());
        let n_all: usize = all.iter().map(|b| b.tasks.len()).sum();
        assert!(
            all.iter()
                .all(|b| b.at < Instant::ZERO + Duration::from_secs(150))
        );
        m.sample = 0.5;
        let (half, c) = replay(m.clone());
        let n_half: usize = half.iter().map(|b| b.tasks.len()).sum();
        assert!(n_half < n_all && n_half > 0, "{n_half} of {n_all}");
        assert_eq!(c.sampled_out as usize, n_all - n_half);
        // Same seed, same jobs.
        assert_eq!(replay(m.clone()).0, half);
        m.sample = 1.0;
        m.load_scale = 2.0;
        m.time_scale = 0.5;
        let (double, _) = replay(m);
        assert_eq!(double.iter().map(|b| b.tasks.len()).sum::<usize>(), 2 * n_all);
        assert!(
            double
                .iter()
                .all(|b| b.at < Instant::ZERO + Duration::from_secs(75))
        );
    }

    #[test]
    fn priority_bands_name_groups() {
        let mut m = Mapping::identity(1);
        m.split_by = SplitBy::PriorityBand;
        let reader = tasks(Format::Google2011, SLICE, &ReadOptions::new(Format::Google2011)).unwrap();
        let mut w = TraceWorkload::new(reader, m);
        let mut names = std::collections::BTreeSet::new();
        while let Some(b) = w.next_batch().unwrap() {
            names.insert(w.group_name(b.group).to_owned());
        }
        assert!(
            names
                .iter()
                .all(|n| ["free", "batch", "production"].contains(&n.as_str()))
        );
        assert!(names.len() >= 2, "{names:?}");
    }
}
