//! `runs/<run>.json`: what one run of a sweep gave, enough to rebuild results.csv from.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Finished; its summary is in the record.
    Ok,
    /// Could not run: the world could not be built or its report not written (exit 2).
    Error,
    /// An invariant broke: a bug in mesosim (exit 3).
    Violation,
    /// The run panicked: a bug in mesosim (exit 3).
    Panic,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Error => "error",
            Status::Violation => "violation",
            Status::Panic => "panic",
        }
    }

    /// The exit status a sweep with a run ending so gets: 0, 2 (bad input) or 3 (a bug).
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Error => 2,
            Status::Violation | Status::Panic => 3,
        }
    }
}

/// One run of a sweep. Nothing in it depends on the wall clock or on which thread, shard or
/// machine ran it, except `replay`, which names the scenario from where the sweep ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub schema: String,
    /// The run's number in the sweep.
    pub run: usize,
    /// Its grid point's overrides, `KEY=VALUE`, in grid order.
    pub sets: Vec<String>,
    pub seed: u64,
    /// A digest of the scenario file's text: runs of one sweep ran the same scenario.
    pub scenario_digest: String,
    pub status: Status,
    /// What went wrong, when the status is not `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The command that runs it again on its own.
    pub replay: String,
    /// The run's summary.json, when it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<serde_json::Value>,
    /// What `compare.html` draws of the run, when the sweep keeps it (compare does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curves: Option<Curves>,
}

/// A run's curves for overlaying runs in one chart: a few hundred points each.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Curves {
    /// Sample times (s), and at each the mean allocated fraction of cpus and of mem over
    /// the interval, tasks waiting, and Jain's index over dominant shares (absent when no
    /// two roles competed).
    pub time_s: Vec<f64>,
    pub cpus_allocated: Vec<f64>,
    pub mem_allocated: Vec<f64>,
    pub queued: Vec<f64>,
    pub jain: Vec<Option<f64>>,
    /// Queue delay (s) at each of 200 evenly spaced ranks, lowest to highest.
    pub delay_quantiles: Vec<f64>,
}

/// Points a curve keeps at most: longer time series are thinned to every k-th sample.
const CURVE_POINTS: usize = 500;
/// Ranks of the queue-delay distribution kept.
const DELAY_RANKS: usize = 200;

impl Curves {
    /// The curves of a finished run.
    pub fn of(c: &crate::metrics::Collector) -> Curves {
        let samples = c.samples();
        let step = samples.len().div_ceil(CURVE_POINTS).max(1);
        let resources = c.resources();
        let index = |name: &str| resources.iter().find(|(_, n)| n == name).map(|(i, _)| *i);
        let (cpus, mem) = (index("cpus"), index("mem"));
        let fraction = |s: &crate::metrics::Sample, i: Option<usize>| {
            i.and_then(|i| s.cluster.get(i)).map_or(0.0, |v| v[3])
        };
        let kept: Vec<&crate::metrics::Sample> = samples.iter().step_by(step).collect();
        let delays = c.sorted_delays();
        let delay_quantiles = if delays.is_empty() {
            Vec::new()
        } else {
            (1..=DELAY_RANKS)
                .map(|k| delays[(k * delays.len()).div_ceil(DELAY_RANKS).clamp(1, delays.len()) - 1])
                .collect()
        };
        Curves {
            time_s: kept.iter().map(|s| s.at.as_secs_f64()).collect(),
            cpus_allocated: kept.iter().map(|s| fraction(s, cpus)).collect(),
            mem_allocated: kept.iter().map(|s| fraction(s, mem)).collect(),
            queued: kept.iter().map(|s| s.queued as f64).collect(),
            jain: kept.iter().map(|s| s.jain).collect(),
            delay_quantiles,
        }
    }
}

impl RunRecord {
    pub const SCHEMA: &'static str = "mesosim.sweep-run/1";

    /// The canonical bytes of `runs/<run>.json`.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a run record always serializes");
        bytes.push(b'\n');
        bytes
    }

    /// Reads a record back; `file` names it in messages.
    pub fn from_json(bytes: &[u8], file: &str) -> Result<RunRecord, String> {
        let record: RunRecord = serde_json::from_slice(bytes).map_err(|e| {
            format!(
                "error: {file}:{}:{}: expected a sweep run record: {e}",
                e.line(),
                e.column()
            )
        })?;
        if record.schema != RunRecord::SCHEMA {
            return Err(format!(
                "error: {file}: schema {:?}, expected {:?}",
                record.schema,
                RunRecord::SCHEMA
            ));
        }
        Ok(record)
    }

    /// The numeric leaves of the summary by dotted path (empty for a failed run).
    pub fn metrics(&self) -> BTreeMap<String, f64> {
        self.summary
            .as_ref()
            .map(crate::gate::flatten)
            .unwrap_or_default()
    }

    /// Whether two records of the same run say the same: everything but how to replay it.
    pub fn same_result(&self, other: &RunRecord) -> bool {
        self.run == other.run
            && self.sets == other.sets
            && self.seed == other.seed
            && self.scenario_digest == other.scenario_digest
            && self.status == other.status
            && self.summary == other.summary
            && self.curves == other.curves
    }
}

/// A digest of a scenario file's text (64-bit FNV-1a, in hex): a divergence detector, not
/// a cryptographic hash.
pub fn text_digest(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}
