//! `mesosim trace stats`: what a trace holds, in one streaming pass and bounded memory.
//!
//! Percentiles come from log-spaced histograms with 1% wide buckets, so they are within 1%
//! of the exact order statistic whatever the trace's length.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{EndState, TaskReader, TraceError};
use crate::time::Duration;

/// A histogram of positive values in buckets 1% wide (zeros counted apart).
#[derive(Clone, Debug, Default)]
pub struct LogHistogram {
    buckets: BTreeMap<i32, u64>,
    zeros: u64,
    count: u64,
    sum: f64,
    max: f64,
}

const GROWTH: f64 = 1.01;

impl LogHistogram {
    pub fn add(&mut self, v: f64) {
        self.count += 1;
        self.sum += v;
        if v > self.max {
            self.max = v;
        }
        if v <= 0.0 || !v.is_finite() {
            self.zeros += 1;
            return;
        }
        let b = (v.ln() / GROWTH.ln()).floor() as i32;
        *self.buckets.entry(b).or_default() += 1;
    }

    /// Adds `n` copies of `v`.
    pub fn add_n(&mut self, v: f64, n: u64) {
        if n == 0 {
            return;
        }
        self.count += n;
        self.sum += v * n as f64;
        if v > self.max {
            self.max = v;
        }
        if v <= 0.0 || !v.is_finite() {
            self.zeros += n;
            return;
        }
        let b = (v.ln() / GROWTH.ln()).floor() as i32;
        *self.buckets.entry(b).or_default() += n;
    }

    /// Each non-empty bucket as (its geometric middle, capped at the maximum; its count),
    /// zeros first.
    pub fn table(&self) -> Vec<(f64, u64)> {
        let mut out = Vec::with_capacity(self.buckets.len() + 1);
        if self.zeros > 0 {
            out.push((0.0, self.zeros));
        }
        for (&b, &n) in &self.buckets {
            out.push(((GROWTH.powi(b) * GROWTH.sqrt()).min(self.max), n));
        }
        out
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    /// The `q` quantile (0..=1): the geometric middle of its bucket.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        if rank <= self.zeros {
            return 0.0;
        }
        let mut seen = self.zeros;
        for (&b, &n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return (GROWTH.powi(b) * GROWTH.sqrt()).min(self.max);
            }
        }
        self.max
    }

    fn summary(&self) -> Percentiles {
        Percentiles {
            count: self.count,
            mean: round(self.mean()),
            p10: round(self.quantile(0.10)),
            p50: round(self.quantile(0.50)),
            p90: round(self.quantile(0.90)),
            p99: round(self.quantile(0.99)),
            max: round(self.max),
        }
    }
}

/// Four significant figures: the histograms are 1% exact, more digits would be noise.
fn round(v: f64) -> f64 {
    round_significant(v, 4)
}

/// `v` rounded to `figures` significant figures (0 for zero and non-finite values).
pub(crate) fn round_significant(v: f64, figures: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return 0.0;
    }
    let digits = figures - v.abs().log10().ceil() as i32;
    let scale = 10f64.powi(digits);
    (v * scale).round() / scale
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub mean: f64,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// The figures `trace stats` prints.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceStats {
    pub file: String,
    pub format: String,
    pub rows: u64,
    pub skipped_rows: u64,
    pub tasks: u64,
    pub jobs: u64,
    pub users: u64,
    pub machines: u64,
    pub first_submit_s: f64,
    pub last_submit_s: f64,
    pub span_s: f64,
    /// Tasks by how they ended in the trace.
    pub ends: BTreeMap<String, u64>,
    pub cpus: Percentiles,
    /// MB.
    pub mem: Percentiles,
    /// Seconds, over tasks with a known run time.
    pub runtime_s: Percentiles,
    pub tasks_per_job: Percentiles,
    /// Seconds between consecutive job arrivals.
    pub job_interarrival_s: Percentiles,
}

/// Reads `reader` to its end and describes it.
pub fn stats(reader: &mut dyn TaskReader, file: &str, format: &str) -> Result<TraceStats, TraceError> {
    let mut cpus = LogHistogram::default();
    let mut mem = LogHistogram::default();
    let mut runtime = LogHistogram::default();
    let mut interarrival = LogHistogram::default();
    let mut ends: BTreeMap<EndState, u64> = BTreeMap::new();
    let mut jobs: BTreeMap<u64, u64> = BTreeMap::new();
    let mut users = BTreeSet::new();
    let mut machines = BTreeSet::new();
    let mut tasks = 0u64;
    let mut first: Option<Duration> = None;
    let mut last = Duration::ZERO;
    let mut last_job_arrival: Option<Duration> = None;
    // Groups of identical tasks are counted at once: rows of thousands of instances cost
    // one step, not thousands.
    while let Some(g) = reader.next_group()? {
        let (t, copies) = (&g.task, u64::from(g.count));
        tasks += copies;
        first.get_or_insert(t.submit);
        last = t.submit;
        cpus.add_n(t.cpus, copies);
        mem.add_n(t.mem, copies);
        if let Some(r) = t.runtime {
            runtime.add_n(r.as_secs_f64(), copies);
        }
        *ends.entry(t.end).or_default() += copies;
        let n = jobs.entry(t.job).or_default();
        if *n == 0 {
            if let Some(prev) = last_job_arrival {
                interarrival.add(t.submit.saturating_sub(prev).as_secs_f64());
            }
            last_job_arrival = Some(t.submit);
        }
        *n += copies;
        if t.user != 0 {
            users.insert(t.user);
        }
        if let Some(m) = t.machine {
            machines.insert(m);
        }
    }
    let mut per_job = LogHistogram::default();
    for &n in jobs.values() {
        per_job.add(n as f64);
    }
    let first = first.unwrap_or_default();
    Ok(TraceStats {
        file: file.to_owned(),
        format: format.to_owned(),
        rows: reader.rows(),
        skipped_rows: reader.skipped(),
        tasks,
        jobs: jobs.len() as u64,
        users: users.len() as u64,
        machines: machines.len() as u64,
        first_submit_s: first.as_secs_f64(),
        last_submit_s: last.as_secs_f64(),
        span_s: last.saturating_sub(first).as_secs_f64(),
        ends: ends.into_iter().map(|(e, n)| (e.name().to_owned(), n)).collect(),
        cpus: cpus.summary(),
        mem: mem.summary(),
        runtime_s: runtime.summary(),
        tasks_per_job: per_job.summary(),
        job_interarrival_s: interarrival.summary(),
    })
}

impl TraceStats {
    /// A plain-text table for a terminal.
    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!("{} ({})\n", self.file, self.format));
        s.push_str(&format!(
            "  rows {}  (skipped {})\n  tasks {}  jobs {}  users {}  machines {}\n",
            self.rows, self.skipped_rows, self.tasks, self.jobs, self.users, self.machines
        ));
        s.push_str(&format!(
            "  submitted from {} s to {} s  (span {:.2} h)\n",
            self.first_submit_s,
            self.last_submit_s,
            self.span_s / 3600.0
        ));
        let ends: Vec<String> = self.ends.iter().map(|(e, n)| format!("{e} {n}")).collect();
        s.push_str(&format!("  ends: {}\n", ends.join(", ")));
        s.push_str(&format!(
            "  {:<20} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}\n",
            "", "count", "mean", "p10", "p50", "p90", "p99", "max"
        ));
        for (name, p) in [
            ("cpus", &self.cpus),
            ("mem (MB)", &self.mem),
            ("runtime (s)", &self.runtime_s),
            ("tasks per job", &self.tasks_per_job),
            ("job gap (s)", &self.job_interarrival_s),
        ] {
            s.push_str(&format!(
                "  {:<20} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}\n",
                name, p.count, p.mean, p.p10, p.p50, p.p90, p.p99, p.max
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_one_percent() {
        let mut h = LogHistogram::default();
        for i in 1..=100_000u64 {
            h.add(i as f64);
        }
        for (q, exact) in [
            (0.1, 10_000.0),
            (0.5, 50_000.0),
            (0.9, 90_000.0),
            (0.99, 99_000.0),
        ] {
            let got = h.quantile(q);
            assert!((got - exact).abs() / exact < 0.01, "q{q}: {got} vs {exact}");
        }
        assert_eq!(h.quantile(1.0), 100_000.0);
        let mut z = LogHistogram::default();
        z.add(0.0);
        z.add(0.0);
        z.add(5.0);
        assert_eq!(z.quantile(0.5), 0.0);
        assert!((z.quantile(1.0) - 5.0).abs() < 0.05);
    }
}
