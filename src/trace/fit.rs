//! `mesosim trace fit`: a workload model fitted to a trace, and the generator that replays
//! it at any length and scale as the `fitted` trace format.
//!
//! The model, per population of jobs (those present when the trace begins, at time 0, and
//! those arriving after):
//!
//! - **arrivals**: jobs as a Poisson process whose rate is piecewise constant over
//!   `bucket_s` buckets, the source's rate in each; the profile repeats for as long as the
//!   run asks;
//! - **shape and size**: the most common job shapes (cpus, mem, disk), each with its
//!   frequency and its own distribution of tasks per job (big jobs are not shaped like
//!   small ones); the other jobs' sizes and resources drawn from their own distributions;
//! - **run time**: the Kaplan–Meier estimate of the run-time distribution, which counts
//!   tasks still running when the trace ends (right-censored) instead of dropping them;
//!   the share that runs longer than anything observed draws from a log-uniform tail up to
//!   `tail_max_s`;
//! - **how tasks end**: finish, fail or kill in the source's proportions.
//!
//! Tasks the trace never started are left out, as a replay leaves them out by default.
//! Distributions are tables of `[value, weight]` pairs, one per 1%-wide log bucket the
//! source fills (values within 1% of the source's, heavy tails kept), so fitting runs in
//! one streaming pass and bounded memory apart from one counter per job and job shape.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;

use super::stats::{LogHistogram, round_significant};
use super::{EndState, ReadOptions, TaskReader, TraceError, TraceTask};
use crate::rng::Rng;
use crate::time::Duration;

/// Job shapes kept by name; the rest are drawn per resource.
pub const SHAPES: usize = 64;
/// Where the run-time tail ends when nothing says otherwise: 30 days.
pub const TAIL_MAX_S: f64 = 30.0 * 86_400.0;
/// Buckets of the arrival profile at most (a day of minutes).
const MAX_BUCKETS: f64 = 1440.0;

/// A fitted workload, as `mesosim trace fit` writes it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitSpec {
    /// The trace it was fitted to, and its format (for the record).
    pub source: String,
    pub format: String,
    /// Jobs present when the trace begins (submitted at time 0).
    #[serde(default)]
    pub initial: Option<Initial>,
    pub arrivals: Arrivals,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Initial {
    pub jobs: u64,
    pub mix: Mix,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arrivals {
    /// When the first job arrived in the source, seconds; the profile starts there.
    pub start_s: f64,
    /// The width of each bucket of the profile.
    pub bucket_s: f64,
    /// Mean job arrivals per second in each bucket.
    pub jobs_per_s: Vec<f64>,
    pub mix: Mix,
}

/// What a population's jobs look like.
/// A distribution: `[value, weight]` pairs (weights need not sum to one).
pub type Table = Vec<Vec<f64>>;

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mix {
    /// The most common job shapes.
    pub shapes: Vec<Shape>,
    /// Jobs of none of the shapes above: sizes and per-resource distributions.
    pub other: Other,
    /// Run times, seconds, up to the longest observed; the weights are shares of all
    /// tasks and sum to `1 - beyond`.
    pub runtime_s: Table,
    /// The share of tasks running longer than the longest run time observed.
    pub beyond: f64,
    pub tail_max_s: f64,
    pub ends: Ends,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shape {
    /// The share of jobs with this shape.
    pub weight: f64,
    pub cpus: f64,
    /// MB.
    pub mem: f64,
    /// MB.
    pub disk: f64,
    /// How many tasks jobs of this shape have.
    pub tasks_per_job: Table,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Other {
    pub tasks_per_job: Table,
    pub cpus: Table,
    pub mem: Table,
    pub disk: Table,
}

/// How tasks end, as shares.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ends {
    pub finish: f64,
    pub fail: f64,
    pub kill: f64,
}

// -------------------------------------------------------------------------------------------
// Fitting
// -------------------------------------------------------------------------------------------

/// Run times and censoring times in 1%-wide log buckets, for the Kaplan–Meier estimate.
#[derive(Default)]
struct Survival {
    /// Bucket → (ended there, censored there); bucket `i32::MIN` holds zeros.
    buckets: BTreeMap<i32, (u64, u64)>,
    longest: f64,
}

const GROWTH: f64 = 1.01;

impl Survival {
    fn bucket(v: f64) -> i32 {
        if v <= 0.0 {
            i32::MIN
        } else {
            (v.ln() / GROWTH.ln()).floor() as i32
        }
    }

    fn ended(&mut self, v: f64) {
        self.buckets.entry(Self::bucket(v)).or_default().0 += 1;
        self.longest = self.longest.max(v);
    }

    fn censored(&mut self, v: f64, n: u64) {
        self.buckets.entry(Self::bucket(v)).or_default().1 += n;
    }

    /// The run-time distribution up to the longest run observed, as the share of tasks
    /// ending in each bucket, and the share beyond it. Within a bucket, ends count before
    /// censorings.
    fn fit(&self) -> (Table, f64) {
        let total: u64 = self.buckets.values().map(|(e, c)| e + c).sum();
        if total == 0 {
            return (vec![vec![0.0, 1.0]], 0.0);
        }
        let mut at_risk = total as f64;
        let mut survival = 1.0;
        let mut table = Table::new();
        for (&b, &(ended, censored)) in &self.buckets {
            if ended > 0 {
                let before = survival;
                survival *= 1.0 - ended as f64 / at_risk;
                let v = if b == i32::MIN {
                    0.0
                } else {
                    (GROWTH.powi(b) * GROWTH.sqrt()).min(self.longest)
                };
                table.push(vec![round(v), round(before - survival)]);
            }
            at_risk -= (ended + censored) as f64;
        }
        if table.is_empty() {
            // Nothing ended: every task outlived the trace.
            table.push(vec![0.0, 0.0]);
        }
        (table, round(survival.clamp(0.0, 1.0)))
    }
}

/// A histogram as a table.
fn table(h: &LogHistogram) -> Table {
    let t: Table = h
        .table()
        .into_iter()
        .map(|(v, n)| vec![round(v), n as f64])
        .collect();
    if t.is_empty() { vec![vec![0.0, 1.0]] } else { t }
}

/// Six significant figures: enough for 1%-exact percentiles, short in the file.
fn round(v: f64) -> f64 {
    round_significant(v, 6)
}

type ShapeKey = (u64, u64, u64);

/// What fitting gathers for one population.
#[derive(Default)]
struct MixFit {
    jobs: BTreeMap<u64, JobFit>,
    runtime: Survival,
    /// Tasks still running at the end, by submission (whole seconds): they ran at least
    /// until the trace's horizon, known only at its end ([`MixFit::censor`]).
    running: BTreeMap<u64, u64>,
    ends: [u64; 3],
}

struct JobFit {
    /// Thousandths of cpus, mem and disk, of its first task.
    shape: ShapeKey,
    tasks: u64,
    /// Its first task's submission.
    arrived: Duration,
}

impl MixFit {
    /// Counts a task for its job, its job's shape (the first task's), and its run time
    /// and end, or its submission if it is still running.
    fn add(&mut self, t: &TraceTask) {
        let k = |v: f64| (v.max(0.0) * 1000.0).round() as u64;
        self.jobs
            .entry(t.job)
            .or_insert(JobFit {
                shape: (k(t.cpus), k(t.mem), k(t.disk)),
                tasks: 0,
                arrived: t.submit,
            })
            .tasks += 1;
        if t.runtime.is_none() {
            *self
                .running
                .entry(t.submit.as_nanos() / 1_000_000_000)
                .or_default() += 1;
        }
        if let Some(r) = t.runtime {
            self.runtime.ended(r.as_secs_f64());
            let i = match t.end {
                EndState::Fail => 1,
                EndState::Kill | EndState::Evict | EndState::Lost => 2,
                _ => 0,
            };
            self.ends[i] += 1;
        }
    }

    /// Counts the tasks still running as having run until `horizon`.
    fn censor(&mut self, horizon: Duration) {
        for (&at, &n) in &self.running {
            self.runtime.censored(horizon.as_secs_f64() - at as f64, n);
        }
    }

    fn finish(self) -> Mix {
        // Per shape: its jobs' sizes.
        let mut by_shape: BTreeMap<ShapeKey, LogHistogram> = BTreeMap::new();
        for job in self.jobs.values() {
            by_shape.entry(job.shape).or_default().add(job.tasks as f64);
        }
        let total_jobs = self.jobs.len().max(1) as f64;
        let mut by_count: Vec<(&ShapeKey, &LogHistogram)> = by_shape.iter().collect();
        by_count.sort_by(|a, b| b.1.count().cmp(&a.1.count()).then(a.0.cmp(b.0)));
        let shapes = by_count
            .iter()
            .take(SHAPES)
            .map(|&(&(c, m, d), sizes)| Shape {
                weight: round(sizes.count() as f64 / total_jobs),
                cpus: c as f64 / 1000.0,
                mem: m as f64 / 1000.0,
                disk: d as f64 / 1000.0,
                tasks_per_job: table(sizes),
            })
            .collect();
        let (mut cpus, mut mem, mut disk) = (
            LogHistogram::default(),
            LogHistogram::default(),
            LogHistogram::default(),
        );
        let mut per_job = LogHistogram::default();
        let rest = &by_count[by_count.len().min(SHAPES)..];
        let source: &[(&ShapeKey, &LogHistogram)] = if rest.is_empty() { &by_count } else { rest };
        for &(&(c, m, d), sizes) in source {
            let n = sizes.count();
            cpus.add_n(c as f64 / 1000.0, n);
            mem.add_n(m as f64 / 1000.0, n);
            disk.add_n(d as f64 / 1000.0, n);
            for (v, k) in sizes.table() {
                per_job.add_n(v, k);
            }
        }
        let (runtime_s, beyond) = self.runtime.fit();
        let ended = self.ends.iter().sum::<u64>().max(1) as f64;
        Mix {
            shapes,
            other: Other {
                tasks_per_job: table(&per_job),
                cpus: table(&cpus),
                mem: table(&mem),
                disk: table(&disk),
            },
            runtime_s,
            beyond,
            tail_max_s: TAIL_MAX_S,
            ends: Ends {
                finish: round(self.ends[0] as f64 / ended),
                fail: round(self.ends[1] as f64 / ended),
                kill: round(self.ends[2] as f64 / ended),
            },
        }
    }
}

/// Fits a model to the tasks `reader` yields (reading it to its end).
pub fn fit(reader: &mut dyn TaskReader, source: &str, format: &str) -> Result<FitSpec, TraceError> {
    let mut initial = MixFit::default();
    let mut arrivals = MixFit::default();
    let mut horizon = Duration::ZERO;
    while let Some(t) = reader.next_task()? {
        if t.end == EndState::Pending {
            continue;
        }
        horizon = horizon.max(t.submit + t.runtime.unwrap_or_default());
        // A job belongs where its first task does: later tasks of a job present at time 0
        // (resubmissions) count toward that job.
        let at_start = if initial.jobs.contains_key(&t.job) {
            true
        } else if arrivals.jobs.contains_key(&t.job) {
            false
        } else {
            t.submit.is_zero()
        };
        if at_start { &mut initial } else { &mut arrivals }.add(&t);
    }
    initial.censor(horizon);
    arrivals.censor(horizon);
    let arrived = || arrivals.jobs.values().map(|j| j.arrived);
    let start = arrived().min().unwrap_or_default();
    let last = arrived().max().unwrap_or(start);
    let span = last.saturating_sub(start).as_secs_f64().max(1.0);
    let bucket_s = (span / MAX_BUCKETS / 60.0).ceil().max(1.0) * 60.0;
    let buckets = (span / bucket_s).ceil().max(1.0) as usize;
    let mut counts = vec![0u64; buckets];
    for at in arrived() {
        let i = ((at.saturating_sub(start).as_secs_f64() / bucket_s) as usize).min(buckets - 1);
        counts[i] += 1;
    }
    // The last bucket may be cut short by the end of the trace.
    let jobs_per_s = counts
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let width = if i + 1 == buckets {
                (span - bucket_s * i as f64).max(1.0)
            } else {
                bucket_s
            };
            round(n as f64 / width)
        })
        .collect();
    let initial_jobs = initial.jobs.len() as u64;
    Ok(FitSpec {
        source: source.to_owned(),
        format: format.to_owned(),
        initial: (initial_jobs > 0).then(|| Initial {
            jobs: initial_jobs,
            mix: initial.finish(),
        }),
        arrivals: Arrivals {
            start_s: start.as_secs_f64(),
            bucket_s,
            jobs_per_s,
            mix: arrivals.finish(),
        },
    })
}

// -------------------------------------------------------------------------------------------
// The spec file
// -------------------------------------------------------------------------------------------

fn list(v: &[f64]) -> String {
    let items: Vec<String> = v.iter().map(|x| format!("{x}")).collect();
    format!("[{}]", items.join(", "))
}

fn pairs(t: &Table) -> String {
    let items: Vec<String> = t.iter().map(|p| list(p)).collect();
    format!("[{}]", items.join(", "))
}

fn write_mix(out: &mut String, mix: &Mix, indent: &str) {
    let _ = writeln!(out, "{indent}shapes:");
    for s in &mix.shapes {
        let _ = writeln!(
            out,
            "{indent}  - {{ weight: {}, cpus: {}, mem: {}, disk: {}, tasks_per_job: {} }}",
            s.weight,
            s.cpus,
            s.mem,
            s.disk,
            pairs(&s.tasks_per_job)
        );
    }
    if mix.shapes.is_empty() {
        let _ = writeln!(out, "{indent}  []");
    }
    let _ = writeln!(out, "{indent}other:");
    let _ = writeln!(
        out,
        "{indent}  tasks_per_job: {}",
        pairs(&mix.other.tasks_per_job)
    );
    let _ = writeln!(out, "{indent}  cpus: {}", pairs(&mix.other.cpus));
    let _ = writeln!(out, "{indent}  mem: {}", pairs(&mix.other.mem));
    let _ = writeln!(out, "{indent}  disk: {}", pairs(&mix.other.disk));
    let _ = writeln!(out, "{indent}runtime_s: {}", pairs(&mix.runtime_s));
    let _ = writeln!(out, "{indent}beyond: {}", mix.beyond);
    let _ = writeln!(out, "{indent}tail_max_s: {}", mix.tail_max_s);
    let _ = writeln!(
        out,
        "{indent}ends: {{ finish: {}, fail: {}, kill: {} }}",
        mix.ends.finish, mix.ends.fail, mix.ends.kill
    );
}

impl FitSpec {
    /// The spec as YAML, with comments saying what each part is.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# A workload fitted to {} by `mesosim trace fit`.",
            self.source
        );
        let _ = writeln!(
            out,
            "# Replay it with `workload: {{ trace: {{ format: fitted, path: <this file> }} }}`;"
        );
        let _ = writeln!(
            out,
            "# docs/traces.md describes the model. Distributions are [value, weight] pairs."
        );
        let _ = writeln!(out, "source: {}", yaml_string(&self.source));
        let _ = writeln!(out, "format: {}", self.format);
        if let Some(i) = &self.initial {
            let _ = writeln!(out, "# Jobs present when the trace begins, submitted at time 0.");
            let _ = writeln!(out, "initial:");
            let _ = writeln!(out, "  jobs: {}", i.jobs);
            let _ = writeln!(out, "  mix:");
            write_mix(&mut out, &i.mix, "    ");
        }
        let a = &self.arrivals;
        let _ = writeln!(
            out,
            "# Jobs arriving from start_s on: Poisson, at each bucket's rate; the profile repeats."
        );
        let _ = writeln!(out, "arrivals:");
        let _ = writeln!(out, "  start_s: {}", a.start_s);
        let _ = writeln!(out, "  bucket_s: {}", a.bucket_s);
        let _ = writeln!(out, "  jobs_per_s: {}", list(&a.jobs_per_s));
        let _ = writeln!(out, "  mix:");
        write_mix(&mut out, &a.mix, "    ");
        out
    }

    /// Reads a spec file, with `FILE:LINE:COL` errors.
    pub fn load(path: &str) -> Result<FitSpec, TraceError> {
        let bytes = std::fs::read(path)
            .map_err(|e| TraceError::file(path, format!("cannot read: {}", super::io_reason(&e))))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            TraceError::file(
                path,
                format!(
                    "not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            )
        })?;
        let located = |e: crate::scenario::de::Error| {
            let rendered = e.render(path, &[]);
            TraceError::file(
                path,
                rendered
                    .trim_start_matches("error: ")
                    .trim_start_matches(path)
                    .trim_start_matches(": ")
                    .to_owned(),
            )
        };
        let doc = crate::scenario::yaml::parse(&text, 0).map_err(located)?;
        let spec: FitSpec = crate::scenario::de::from_node(&doc).map_err(located)?;
        spec.check().map_err(|e| TraceError::file(path, e))?;
        Ok(spec)
    }

    /// The end of one pass of the arrival profile: where the source's arrivals ended.
    pub fn one_pass(&self) -> Duration {
        let a = &self.arrivals;
        Duration::from_secs_f64(a.start_s + a.bucket_s * a.jobs_per_s.len() as f64)
    }

    fn check(&self) -> Result<(), String> {
        let a = &self.arrivals;
        if a.bucket_s.is_nan() || a.bucket_s <= 0.0 || a.jobs_per_s.is_empty() {
            return Err("arrivals: bucket_s must be positive and jobs_per_s not empty".to_owned());
        }
        if a.jobs_per_s.iter().any(|r| !non_negative(*r)) {
            return Err("arrivals: jobs_per_s must be non-negative numbers".to_owned());
        }
        let mixes =
            std::iter::once(("arrivals", &a.mix)).chain(self.initial.iter().map(|i| ("initial", &i.mix)));
        for (name, m) in mixes {
            for (what, v) in [
                ("other.tasks_per_job", &m.other.tasks_per_job),
                ("runtime_s", &m.runtime_s),
                ("other.cpus", &m.other.cpus),
                ("other.mem", &m.other.mem),
                ("other.disk", &m.other.disk),
            ] {
                if !valid_table(v) {
                    return Err(format!(
                        "{name}: {what} must be [value, weight] pairs of non-negative numbers"
                    ));
                }
            }
            if !(0.0..=1.0).contains(&m.beyond) {
                return Err(format!("{name}: beyond must be a share between 0 and 1"));
            }
            if m.shapes.iter().any(|s| {
                ![s.weight, s.cpus, s.mem, s.disk].into_iter().all(non_negative)
                    || !valid_table(&s.tasks_per_job)
            }) {
                return Err(format!(
                    "{name}: shapes need non-negative weights and amounts, and tasks_per_job pairs"
                ));
            }
        }
        Ok(())
    }
}

/// A finite number, zero or more.
fn non_negative(x: f64) -> bool {
    x.is_finite() && x >= 0.0
}

fn valid_table(t: &Table) -> bool {
    !t.is_empty()
        && t.iter()
            .all(|p| p.len() == 2 && p.iter().all(|x| non_negative(*x)))
}

fn yaml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

// -------------------------------------------------------------------------------------------
// Generating
// -------------------------------------------------------------------------------------------

/// The `fitted` format: tasks generated from a spec, in submit order, for as long as
/// `ReadOptions::until` allows (forever without it).
pub struct Generated {
    arrivals: Arrivals,
    mixes: [Sampler; 2],
    rng: Rng,
    until: Option<Duration>,
    initial_left: u64,
    /// When the next arriving job comes; `None` once arrivals are over.
    next_arrival: Option<f64>,
    job: u64,
    /// Tasks of the current job still to hand out.
    pending: std::collections::VecDeque<TraceTask>,
    emitted: u64,
}

/// A table ready for drawing: values and their cumulative weights.
struct Draw {
    values: Vec<f64>,
    cumulative: Vec<f64>,
}

impl Draw {
    fn new(t: &Table) -> Draw {
        let mut sum = 0.0;
        let mut values = Vec::with_capacity(t.len());
        let mut cumulative = Vec::with_capacity(t.len());
        for p in t {
            sum += p[1];
            values.push(p[0]);
            cumulative.push(sum);
        }
        Draw { values, cumulative }
    }

    /// The value at share `x` (0..1) of the total weight.
    fn at(&self, x: f64) -> f64 {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let want = x.clamp(0.0, 1.0) * total;
        let i = self.cumulative.partition_point(|&c| c <= want);
        self.values[i.min(self.values.len() - 1)]
    }

    fn largest(&self) -> f64 {
        self.values.iter().copied().fold(0.0, f64::max)
    }
}

/// One population's mix, ready for drawing.
struct Sampler {
    shapes: Vec<(f64, f64, f64, f64, Draw)>,
    other_sizes: Draw,
    other: [Draw; 3],
    runtime: Draw,
    beyond: f64,
    tail: (f64, f64),
    ends: Ends,
}

impl Sampler {
    fn new(m: &Mix) -> Sampler {
        let runtime = Draw::new(&m.runtime_s);
        let low = runtime.largest().max(1.0);
        Sampler {
            shapes: m
                .shapes
                .iter()
                .map(|s| (s.weight, s.cpus, s.mem, s.disk, Draw::new(&s.tasks_per_job)))
                .collect(),
            other_sizes: Draw::new(&m.other.tasks_per_job),
            other: [
                Draw::new(&m.other.cpus),
                Draw::new(&m.other.mem),
                Draw::new(&m.other.disk),
            ],
            runtime,
            beyond: m.beyond,
            tail: (low, m.tail_max_s.max(low)),
            ends: m.ends.clone(),
        }
    }

    /// A job: its shape and its number of tasks.
    fn job(&self, rng: &mut Rng) -> ((f64, f64, f64), u64) {
        let mut u = unit(rng);
        let size = |d: &Draw, rng: &mut Rng| (d.at(unit(rng)).round() as u64).max(1);
        for (weight, cpus, mem, disk, sizes) in &self.shapes {
            if u < *weight {
                return ((*cpus, *mem, *disk), size(sizes, rng));
            }
            u -= weight;
        }
        let [c, m, d] = &self.other;
        let shape = (c.at(unit(rng)), m.at(unit(rng)), d.at(unit(rng)));
        (shape, size(&self.other_sizes, rng))
    }

    fn runtime(&self, rng: &mut Rng) -> f64 {
        let u = unit(rng);
        let within = 1.0 - self.beyond;
        if u < within {
            return self.runtime.at(u / within);
        }
        let (low, high) = self.tail;
        low * (high / low).powf(unit(rng))
    }

    fn end(&self, rng: &mut Rng) -> EndState {
        let e = &self.ends;
        let u = unit(rng) * (e.finish + e.fail + e.kill);
        if u < e.finish || e.finish + e.fail + e.kill <= 0.0 {
            EndState::Finish
        } else if u < e.finish + e.fail {
            EndState::Fail
        } else {
            EndState::Kill
        }
    }
}

impl Generated {
    pub fn open(path: &str, options: &ReadOptions) -> Result<Generated, TraceError> {
        Ok(Generated::new(FitSpec::load(path)?, options))
    }

    pub fn new(spec: FitSpec, options: &ReadOptions) -> Generated {
        let mut rng = crate::rng::stream(options.seed, "fitted-workload");
        let next_arrival = next_arrival(&spec.arrivals, spec.arrivals.start_s, &mut rng);
        let initial = spec.initial.as_ref();
        Generated {
            initial_left: initial.map_or(0, |i| i.jobs),
            mixes: [
                Sampler::new(initial.map_or(&spec.arrivals.mix, |i| &i.mix)),
                Sampler::new(&spec.arrivals.mix),
            ],
            arrivals: spec.arrivals,
            rng,
            until: options.until,
            next_arrival,
            job: 0,
            pending: std::collections::VecDeque::new(),
            emitted: 0,
        }
    }

    fn make_job(&mut self, at: Duration, initial: bool) {
        let mix = &self.mixes[usize::from(!initial)];
        let rng = &mut self.rng;
        let ((cpus, mem, disk), size) = mix.job(rng);
        self.job += 1;
        for index in 0..size {
            let mut t = TraceTask::new(at, self.job, u32::try_from(index).unwrap_or(u32::MAX));
            t.cpus = cpus;
            t.mem = mem;
            t.disk = disk;
            t.runtime = Some(Duration::from_secs_f64(mix.runtime(rng)));
            t.end = mix.end(rng);
            self.pending.push_back(t);
        }
    }
}

/// A uniform draw in [0, 1).
fn unit(rng: &mut Rng) -> f64 {
    use rand::Rng as _;
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// The first arrival after `t` (seconds): exponential time against the periodic rate
/// profile, restarted at each bucket boundary (the process is memoryless).
fn next_arrival(a: &Arrivals, t: f64, rng: &mut Rng) -> Option<f64> {
    let cycle: f64 = a.jobs_per_s.iter().sum::<f64>() * a.bucket_s;
    if cycle <= 0.0 {
        return None;
    }
    let mut need = -(1.0 - unit(rng)).ln();
    let mut now = t;
    // Whole cycles at once when the need exceeds one.
    if need > cycle {
        let whole = (need / cycle).floor();
        need -= whole * cycle;
        now += whole * a.bucket_s * a.jobs_per_s.len() as f64;
    }
    let mut i = ((now - a.start_s).max(0.0) / a.bucket_s).floor() as u64;
    loop {
        let rate = a.jobs_per_s[(i % a.jobs_per_s.len() as u64) as usize];
        let end = a.start_s + (i + 1) as f64 * a.bucket_s;
        let room = rate * (end - now).max(0.0);
        if room >= need && rate > 0.0 {
            return Some((now + need / rate).max(t));
        }
        need -= room;
        now = end;
        // Step by index, not by `now`: rounding at a boundary must not revisit a bucket.
        i += 1;
    }
}

impl TaskReader for Generated {
    fn next_task(&mut self) -> Result<Option<TraceTask>, TraceError> {
        if self.pending.is_empty() {
            if self.initial_left > 0 {
                self.initial_left -= 1;
                self.make_job(Duration::ZERO, true);
            } else if let Some(at) = self.next_arrival {
                let when = Duration::from_secs_f64(at);
                if self.until.is_some_and(|u| when >= u) {
                    self.next_arrival = None;
                    return Ok(None);
                }
                self.next_arrival = next_arrival(&self.arrivals, at, &mut self.rng);
                self.make_job(when, false);
            } else {
                return Ok(None);
            }
        }
        let t = self.pending.pop_front();
        if t.is_some() {
            self.emitted += 1;
        }
        Ok(t)
    }

    /// Tasks generated so far (a generated trace has no rows).
    fn rows(&self) -> u64 {
        self.emitted
    }
}

/// Hands on only the tasks a trace started (those a replay submits by default).
pub struct Started<'a>(pub &'a mut dyn TaskReader);

impl TaskReader for Started<'_> {
    fn next_task(&mut self) -> Result<Option<TraceTask>, TraceError> {
        while let Some(t) = self.0.next_task()? {
            if t.end != EndState::Pending {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    fn skipped(&self) -> u64 {
        self.0.skipped()
    }

    fn rows(&self) -> u64 {
        self.0.rows()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kaplan_meier_counts_censored_runs() {
        let mut s = Survival::default();
        // Four ended at 10 s, four still running at 5 s (left the risk set before 10 s),
        // two still running at 100 s.
        for _ in 0..4 {
            s.ended(10.0);
            s.censored(5.0, 1);
        }
        s.censored(100.0, 2);
        let (table, beyond) = s.fit();
        // At 10 s: 6 at risk, 4 end: survival 1/3.
        assert!((beyond - 1.0 / 3.0).abs() < 1e-5, "{beyond}");
        assert_eq!(table.len(), 1);
        assert!(
            (table[0][0] - 10.0).abs() < 0.1 && (table[0][1] - 2.0 / 3.0).abs() < 1e-5,
            "{table:?}"
        );
    }

    #[test]
    fn draws_follow_the_table_and_arrivals_the_profile() {
        let d = Draw::new(&vec![vec![1.0, 1.0], vec![5.0, 2.0], vec![9.0, 1.0]]);
        assert_eq!(
            [0.0, 0.24, 0.25, 0.74, 0.75, 1.0].map(|x| d.at(x)),
            [1.0, 1.0, 5.0, 5.0, 9.0, 9.0]
        );
        // One job a second for 10 s, none for 10 s, repeating: arrivals only in the busy
        // halves, about 10 per cycle.
        let a = Arrivals {
            start_s: 100.0,
            bucket_s: 10.0,
            jobs_per_s: vec![1.0, 0.0],
            mix: test_mix(),
        };
        let mut rng = crate::rng::stream(7, "t");
        let mut t = 100.0;
        let mut n = 0;
        while let Some(next) = next_arrival(&a, t, &mut rng) {
            if next >= 100.0 + 2000.0 {
                break;
            }
            assert!(
                (((next - 100.0) / 10.0).floor() as u64).is_multiple_of(2),
                "{next} in an idle bucket"
            );
            assert!(next > t);
            t = next;
            n += 1;
        }
        assert!((900..1100).contains(&n), "{n} arrivals in 100 busy buckets");
    }

    fn test_mix() -> Mix {
        let flat = |v: f64| vec![vec![v, 1.0]];
        Mix {
            shapes: vec![],
            other: Other {
                tasks_per_job: flat(1.0),
                cpus: flat(1.0),
                mem: flat(1.0),
                disk: flat(0.0),
            },
            runtime_s: flat(1.0),
            beyond: 0.0,
            tail_max_s: TAIL_MAX_S,
            ends: Ends {
                finish: 1.0,
                fail: 0.0,
                kill: 0.0,
            },
        }
    }
}
