//! A workload fitted to a trace generates load whose statistics match the source's, within
//! the tolerances docs/traces.md states; and `mesosim trace fit` writes a spec that reads
//! back and replays.

use mesosim::time::Duration;
use mesosim::trace::fit::{self, FitSpec, Generated, Started};
use mesosim::trace::stats::{TraceStats, stats};
use mesosim::trace::{self, EndState, Format, ReadOptions, TaskReader, TraceError, TraceTask};

const GOOGLE: &str = "traces/google-2011/task_events/part-00000-of-00500.csv.gz";

fn path(p: &str) -> String {
    format!("{}/{p}", env!("CARGO_MANIFEST_DIR"))
}

/// Hides run times that end after `horizon`, as a trace that ends then would.
struct Censored<'a> {
    inner: &'a mut dyn TaskReader,
    horizon: Duration,
}

impl TaskReader for Censored<'_> {
    fn next_task(&mut self) -> Result<Option<TraceTask>, TraceError> {
        let Some(mut t) = self.inner.next_task()? else {
            return Ok(None);
        };
        if t.runtime.is_some_and(|r| t.submit + r > self.horizon) {
            t.runtime = None;
            t.end = EndState::Running;
        }
        Ok(Some(t))
    }
    fn rows(&self) -> u64 {
        self.inner.rows()
    }
}

/// Checks `got` against `want` within a relative `tolerance`, noting a miss in `misses`.
fn within(misses: &mut Vec<String>, what: &str, got: f64, want: f64, tolerance: f64) {
    let off = (got - want).abs() / want.abs().max(f64::MIN_POSITIVE);
    let line = format!(
        "{what}: generated {got}, source {want} ({:.1}% off, tolerance {:.0}%)",
        off * 100.0,
        tolerance * 100.0
    );
    eprintln!("{line}");
    if off > tolerance {
        misses.push(line);
    }
}

fn source_stats() -> (TraceStats, FitSpec) {
    let options = ReadOptions::new(Format::Google2011);
    let mut reader = trace::tasks(Format::Google2011, &path(GOOGLE), &options).unwrap();
    let source = stats(&mut Started(reader.as_mut()), GOOGLE, "google2011").unwrap();
    let mut reader = trace::tasks(Format::Google2011, &path(GOOGLE), &options).unwrap();
    let spec = fit::fit(reader.as_mut(), GOOGLE, "google2011").unwrap();
    (source, spec)
}

/// Several generated runs one after the other, for statistics pooled over seeds.
struct Pooled {
    runs: Vec<Generated>,
    horizon: Duration,
    rows: u64,
}

impl TaskReader for Pooled {
    fn next_task(&mut self) -> Result<Option<TraceTask>, TraceError> {
        while let Some(run) = self.runs.last_mut() {
            let mut censored = Censored {
                inner: run,
                horizon: self.horizon,
            };
            if let Some(mut t) = censored.next_task()? {
                self.rows += 1;
                // Each run numbers its jobs from 1: keep them apart.
                t.job += (self.runs.len() as u64) << 40;
                return Ok(Some(t));
            }
            self.runs.pop();
        }
        Ok(None)
    }
    fn rows(&self) -> u64 {
        self.rows
    }
}

#[test]
fn a_fitted_google_workload_matches_its_source() {
    let (source, spec) = source_stats();
    // Over the source's own window, the trace ending where the source ends.
    let horizon = Duration::from_secs_f64(source.last_submit_s);
    let seeds = 8;
    let runs = (1..=seeds)
        .map(|seed| {
            let mut options = ReadOptions::new(Format::Fitted);
            options.seed = seed;
            options.until = Some(spec.one_pass());
            Generated::new(spec.clone(), &options)
        })
        .collect();
    let g = stats(
        &mut Pooled {
            runs,
            horizon,
            rows: 0,
        },
        "fitted",
        "fitted",
    )
    .unwrap();
    let per_run = |v: u64| v as f64 / seeds as f64;
    let mut misses = Vec::new();
    // Arrivals. Task counts swing with the few jobs of thousands of tasks (the largest has
    // 22,020): eight runs of the source's 94 minutes are 9% short of it.
    within(
        &mut misses,
        "jobs per run",
        per_run(g.jobs),
        source.jobs as f64,
        0.03,
    );
    within(
        &mut misses,
        "tasks per run",
        per_run(g.tasks),
        source.tasks as f64,
        0.15,
    );
    // The rate, not the burstiness: Poisson arrivals within a minute's bucket spread jobs
    // the source submits in bursts (their gaps' p90 is 1.7 times the source's).
    within(
        &mut misses,
        "job gap mean",
        g.job_interarrival_s.mean,
        source.job_interarrival_s.mean,
        0.10,
    );
    // Jobs.
    within(
        &mut misses,
        "tasks per job mean",
        g.tasks_per_job.mean,
        source.tasks_per_job.mean,
        0.15,
    );
    within(
        &mut misses,
        "tasks per job p90",
        g.tasks_per_job.p90,
        source.tasks_per_job.p90,
        0.15,
    );
    within(
        &mut misses,
        "tasks per job p99",
        g.tasks_per_job.p99,
        source.tasks_per_job.p99,
        0.25,
    );
    // Demands, per task.
    for (what, got, want) in [("cpus", &g.cpus, &source.cpus), ("mem", &g.mem, &source.mem)] {
        within(&mut misses, &format!("{what} mean"), got.mean, want.mean, 0.15);
        within(&mut misses, &format!("{what} p50"), got.p50, want.p50, 0.15);
        within(&mut misses, &format!("{what} p90"), got.p90, want.p90, 0.20);
    }
    // Run times, of tasks that end within the window.
    within(
        &mut misses,
        "runtime p50",
        g.runtime_s.p50,
        source.runtime_s.p50,
        0.15,
    );
    within(
        &mut misses,
        "runtime p90",
        g.runtime_s.p90,
        source.runtime_s.p90,
        0.15,
    );
    within(
        &mut misses,
        "share of tasks ending within the window",
        g.runtime_s.count as f64 / g.tasks as f64,
        source.runtime_s.count as f64 / source.tasks as f64,
        0.15,
    );
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

#[test]
fn the_spec_file_reads_back_and_generates_the_same_tasks() {
    let (_, spec) = source_stats();
    let dir = std::env::temp_dir().join(format!("mesosim-fit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("google.fit.yaml");
    std::fs::write(&file, spec.to_yaml()).unwrap();
    let read = FitSpec::load(file.to_str().unwrap()).unwrap();
    assert_eq!(read, spec);
    let mut options = ReadOptions::new(Format::Fitted);
    options.until = Some(Duration::from_secs(900));
    let a = trace::read_all(&mut Generated::new(spec.clone(), &options)).unwrap();
    let mut reader = trace::tasks(Format::Fitted, file.to_str().unwrap(), &options).unwrap();
    let b = trace::read_all(reader.as_mut()).unwrap();
    assert_eq!(a, b);
    assert!(a.len() > 100_000, "{} tasks", a.len());
    assert!(a.windows(2).all(|w| w[0].submit <= w[1].submit));
    // A damaged spec is an error naming the file and what is wrong.
    let bad = dir.join("bad.fit.yaml");
    std::fs::write(&bad, spec.to_yaml().replace("bucket_s: 60", "bucket_s: 0")).unwrap();
    let e = FitSpec::load(bad.to_str().unwrap()).unwrap_err().to_string();
    assert!(
        e.contains("bad.fit.yaml") && e.contains("bucket_s must be positive"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
