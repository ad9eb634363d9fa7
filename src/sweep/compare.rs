//! `mesosim compare`: one scenario under several allocators × seeds, as a sweep whose one grid
//! key is `master.allocator`; per allocator and metric, the mean over seeds with its 95%
//! confidence interval.

use std::collections::BTreeSet;

use super::def::Sweep;
use super::record::RunRecord;
use super::recovery::{self, Pool};
use super::results::number;
use super::stats::Stats;
use crate::gate::{self, Direction, Rule};
use crate::report::recovery::Phase;

/// The grid key a comparison varies.
pub const ALLOCATOR_KEY: &str = "master.allocator";

/// The metrics the table shows, in this order, those present in some run's summary. A
/// pattern's `*` matches one path segment and a final `**` one or more; a metric shows once,
/// under the first pattern that matches it.
pub const KEY_METRICS: &[&str] = &[
    "utilisation.cpus.allocated_mean",
    "utilisation.mem.allocated_mean",
    "utilisation.cpus.used_mean",
    "queue_delay_s.mean",
    "queue_delay_s.p50",
    "queue_delay_s.p95",
    "queue_delay_s.p99",
    "tasks.launched",
    "tasks.finished",
    "tasks.all_launched_s",
    "tasks.makespan_s",
    "tasks.slowdown.mean",
    "tasks.slowdown.p95",
    "jobs.completion_s.mean",
    "jobs.completion_s.p95",
    "offers.made",
    "offers.declined",
    "offers.per_s",
    "offers.decline_ratio",
    "offers.demand_to_offer_s.mean",
    "fairness.jain_dominant_share",
    "fairness.*",
    "recovery.detect_s_max",
    "recovery.recovered_s_max",
];

/// Whether `pattern` matches the dotted `path`.
fn matches(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let s: Vec<&str> = path.split('.').collect();
    if p.last() == Some(&"**") {
        let head = &p[..p.len() - 1];
        return s.len() > head.len() && head.iter().zip(&s).all(|(a, b)| *a == "*" || a == b);
    }
    p.len() == s.len() && p.iter().zip(&s).all(|(a, b)| *a == "*" || a == b)
}

/// The per-allocator figures of a comparison.
pub struct Comparison {
    /// In the order they were given.
    pub allocators: Vec<String>,
    /// Every metric of any run, sorted (the summary's `seed` left out).
    pub metrics: Vec<String>,
    /// `stats[a][m]`: allocator `a`'s metric `m` over the runs that finished and have it.
    pub stats: Vec<Vec<Option<Stats>>>,
    /// Seeds per allocator.
    pub seeds: usize,
    /// Per allocator, every seed's faults pooled.
    pub recovery: Vec<Pool>,
}

impl Comparison {
    /// The figures of a comparison's runs; `sweep` has the one grid key
    /// [`ALLOCATOR_KEY`]. Runs are taken in run order, so the sums are too.
    pub fn new(sweep: &Sweep, records: &[RunRecord]) -> Comparison {
        let allocators: Vec<String> = sweep
            .grid
            .first()
            .map(|g| g.values.iter().map(|v| v.text.clone()).collect())
            .unwrap_or_default();
        let mut sorted: Vec<&RunRecord> = records.iter().collect();
        sorted.sort_by_key(|r| r.run);
        let flat: Vec<(usize, std::collections::BTreeMap<String, f64>)> = sorted
            .iter()
            .map(|r| (sweep.split(r.run).0, r.metrics()))
            .collect();
        let metrics: Vec<String> = flat
            .iter()
            .flat_map(|(_, m)| m.keys().cloned())
            .filter(|k| k != "seed")
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect();
        let stats = (0..allocators.len())
            .map(|a| {
                metrics
                    .iter()
                    .map(|m| {
                        let values: Vec<f64> = flat
                            .iter()
                            .filter(|(point, _)| *point == a)
                            .filter_map(|(_, fm)| fm.get(m).copied())
                            .collect();
                        Stats::of(&values)
                    })
                    .collect()
            })
            .collect();
        Comparison {
            allocators,
            metrics,
            stats,
            seeds: sweep.seeds.len(),
            recovery: recovery::pools(sweep, records),
        }
    }

    /// compare.csv: `allocator,metric,n,mean,ci95_low,ci95_high,stddev,min,max`, allocators
    /// in the order given, metrics sorted; the interval and deviation are empty for one
    /// value, everything but `n` for none.
    pub fn csv(&self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "allocator",
            "metric",
            "n",
            "mean",
            "ci95_low",
            "ci95_high",
            "stddev",
            "min",
            "max",
        ])
        .expect("writing to memory");
        let opt = |x: Option<f64>| x.map_or(String::new(), number);
        for (a, allocator) in self.allocators.iter().enumerate() {
            for (m, metric) in self.metrics.iter().enumerate() {
                let s = self.stats[a][m];
                let ci = s.and_then(|s| s.ci95());
                w.write_record([
                    allocator.clone(),
                    metric.clone(),
                    s.map_or(0, |s| s.n).to_string(),
                    opt(s.map(|s| s.mean)),
                    opt(ci.map(|c| c.0)),
                    opt(ci.map(|c| c.1)),
                    opt(s.and_then(|s| s.stddev)),
                    opt(s.map(|s| s.min)),
                    opt(s.map(|s| s.max)),
                ])
                .expect("writing to memory");
            }
        }
        w.into_inner().expect("writing to memory")
    }

    /// The table's rows: indexes into `metrics` of the key metrics present, in
    /// [`KEY_METRICS`] order, leaving out those zero in every run (job figures of a
    /// workload without jobs, recovery without faults).
    pub fn key_rows(&self) -> Vec<usize> {
        let mut rows: Vec<usize> = Vec::new();
        let all_zero = |i: usize| {
            self.stats
                .iter()
                .all(|per| per[i].is_none_or(|s| s.min == 0.0 && s.max == 0.0))
        };
        for pattern in KEY_METRICS {
            for (i, m) in self.metrics.iter().enumerate() {
                if matches(pattern, m) && !rows.contains(&i) && !all_zero(i) {
                    rows.push(i);
                }
            }
        }
        rows
    }

    /// For metric `m`, the allocators whose mean is best, when the gate's default rules
    /// say which way is better and not every allocator is as good.
    pub fn best(&self, m: usize) -> Vec<usize> {
        let Some(Rule::Gated(direction, _)) = gate::default_rules().rule(&self.metrics[m]) else {
            return Vec::new();
        };
        let means: Vec<(usize, f64)> = (0..self.allocators.len())
            .filter_map(|a| self.stats[a][m].map(|s| (a, s.mean)))
            .collect();
        let best = means.iter().map(|(_, x)| *x).fold(None, |acc: Option<f64>, x| {
            Some(match (acc, direction) {
                (None, _) => x,
                (Some(b), Direction::HigherIsBetter) => b.max(x),
                (Some(b), Direction::LowerIsBetter) => b.min(x),
            })
        });
        let Some(best) = best else {
            return Vec::new();
        };
        let winners: Vec<usize> = means
            .iter()
            .filter(|(_, x)| *x == best)
            .map(|(a, _)| *a)
            .collect();
        if winners.len() == self.allocators.len() {
            Vec::new()
        } else {
            winners
        }
    }

    /// The key metrics as rows: the metric, then per allocator its mean ± 95% half-width
    /// (`-` where no run has it) ending in a two-character mark, ` *` on the best.
    pub fn key_table(&self) -> Vec<Vec<String>> {
        self.key_rows()
            .into_iter()
            .map(|m| {
                let best = self.best(m);
                let mut row = vec![self.metrics[m].clone()];
                for a in 0..self.allocators.len() {
                    let mark = if best.contains(&a) { " *" } else { "  " };
                    row.push(match self.stats[a][m] {
                        Some(s) => format!("{}{mark}", cell(&s)),
                        None => format!("-{mark}"),
                    });
                }
                row
            })
            .collect()
    }

    /// The recovery table, when some run had faults: per allocator, every seed's faults
    /// pooled. Rows: the faults (how many left a task unrecovered), the tasks they hit (how
    /// many never recovered), then each duration some fault had, as `count · p50 · p95 ·
    /// max` in seconds.
    pub fn recovery_table(&self) -> Option<Vec<Vec<String>>> {
        if self.recovery.iter().all(|p| p.faults == 0) {
            return None;
        }
        let mut rows = vec![
            self.recovery_row("faults (unrecovered)", |p| {
                format!("{} ({})", p.faults, p.faults_unrecovered)
            }),
            self.recovery_row("tasks hit (unrecovered)", |p| {
                format!("{} ({})", p.tasks_affected, p.tasks_unrecovered)
            }),
        ];
        for phase in Phase::ALL {
            if self.recovery.iter().all(|p| p.phase(phase).count == 0) {
                continue;
            }
            rows.push(self.recovery_row(phase.name(), |p| {
                let q = p.phase(phase);
                if q.count == 0 {
                    return "0".to_owned();
                }
                format!(
                    "{} · {} · {} · {}",
                    q.count,
                    short(q.p50),
                    short(q.p95),
                    short(q.max)
                )
            }));
        }
        Some(rows)
    }

    fn recovery_row(&self, name: &str, cell: impl Fn(&Pool) -> String) -> Vec<String> {
        let mut row = vec![name.to_owned()];
        row.extend(self.recovery.iter().map(cell));
        row
    }

    /// The side-by-side table: a row per key metric, a column per allocator, each cell the
    /// mean ± the half-width of its 95% confidence interval, `*` on the best; then, when
    /// some run had faults, the recovery table.
    pub fn table(&self, scenario: &str) -> String {
        let mut header = vec!["metric".to_owned()];
        // Allocator names over the figures, which end in a two-character mark.
        header.extend(self.allocators.iter().map(|a| format!("{a}  ")));
        let seeds = if self.seeds == 1 { "seed" } else { "seeds" };
        let mut out = format!(
            "{scenario}: {} allocators × {} {seeds}; mean ± 95% confidence half-width over seeds (Student's t), * best\n",
            self.allocators.len(),
            self.seeds
        );
        out.push_str(&align(header, self.key_table()));
        if let Some(rows) = self.recovery_table() {
            out.push_str(&format!(
                "recovery over the faults of all {} {seeds}, pooled; durations (s) as count · p50 · p95 · max\n",
                self.seeds
            ));
            let mut header = vec!["".to_owned()];
            header.extend(self.allocators.iter().cloned());
            out.push_str(&align(header, rows));
        }
        out
    }
}

/// `header` and `rows` as aligned text: the first column left-aligned, the others right.
fn align(header: Vec<String>, rows: Vec<Vec<String>>) -> String {
    let mut lines = vec![header];
    lines.extend(rows);
    let columns = lines[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| lines.iter().map(|l| l[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for line in &lines {
        let mut text = String::new();
        for (c, field) in line.iter().enumerate() {
            let pad = " ".repeat(widths[c] - field.chars().count());
            if c == 0 {
                text.push_str(field);
                text.push_str(&pad);
            } else {
                text.push_str("  ");
                text.push_str(&pad);
                text.push_str(field);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

/// `mean ± half-width`, both to the decimals that give the half-width two significant
/// digits; a lone value (one seed) as it is.
fn cell(s: &Stats) -> String {
    match s.half_width {
        None => short(s.mean),
        Some(h) if h == 0.0 || !h.is_finite() => format!("{} ± 0", short(s.mean)),
        Some(h) => {
            let decimals = (1 - h.log10().floor() as i32).clamp(0, 9) as usize;
            format!("{:.*} ± {:.*}", decimals, s.mean, decimals, h)
        }
    }
}

/// A value to four significant digits after the point at most, trailing zeros dropped; tiny
/// values in scientific notation.
fn short(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return if x == 0.0 { "0".to_owned() } else { x.to_string() };
    }
    if x.abs() < 1e-3 {
        return format!("{x:.2e}");
    }
    let decimals = if x.abs() >= 1000.0 {
        0
    } else {
        (3 - x.abs().log10().floor() as i32).clamp(0, 6) as usize
    };
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_segments() {
        assert!(matches("fairness.**", "fairness.jain_dominant_share"));
        assert!(matches("fairness.**", "fairness.share.prod"));
        assert!(!matches("fairness.**", "fairness"));
        assert!(matches("utilisation.*.used_mean", "utilisation.mem.used_mean"));
        assert!(!matches("tasks.launched", "tasks.launched.x"));
    }

    #[test]
    fn cells_round_to_the_interval() {
        let s = Stats::of(&[0.66, 0.67, 0.668]).unwrap();
        assert_eq!(cell(&s), "0.666 ± 0.013");
        let s = Stats::of(&[91000.0, 92000.0, 93000.0]).unwrap();
        assert_eq!(cell(&s), "92000 ± 2484");
        assert_eq!(cell(&Stats::of(&[0.545158778]).unwrap()), "0.5452");
        assert_eq!(cell(&Stats::of(&[15068.0]).unwrap()), "15068");
        assert_eq!(cell(&Stats::of(&[3.0, 3.0]).unwrap()), "3 ± 0");
    }
}
