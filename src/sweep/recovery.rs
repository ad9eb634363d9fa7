//! Recovery over seeds: per grid point, every finished run's faults pooled, so that a
//! researcher sees how recovery varies from seed to seed and between points. Each of the
//! faults' durations ([`Phase`]) over the pooled faults that have it (exact nearest-rank
//! percentiles), with the faults' and tasks' totals. A sweep writes them as recovery.csv;
//! `mesosim compare` prints them as a second table and shows them in compare.html.

use super::def::Sweep;
use super::record::RunRecord;
use super::results::number;
use crate::metrics::Quantiles;
use crate::report::recovery::{Phase, distribution};

/// recovery.csv, beside results.csv.
pub const RECOVERY_FILE: &str = "recovery.csv";

/// One grid point's faults, over the runs that finished.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pool {
    /// Runs that finished.
    pub runs: usize,
    pub faults: u64,
    /// Faults that left a task they hit neither running again nor ended for good.
    pub faults_unrecovered: u64,
    pub tasks_affected: u64,
    pub tasks_unrecovered: u64,
    /// Per [`Phase::ALL`], over the pooled faults that have the duration.
    pub phases: [Quantiles; 5],
}

impl Pool {
    /// The pool of the runs' summaries (summary.json as written).
    pub fn of<'a>(summaries: impl IntoIterator<Item = &'a serde_json::Value>) -> Pool {
        let mut pool = Pool::default();
        let mut values: [Vec<f64>; 5] = Default::default();
        let count =
            |v: &serde_json::Value, key: &str| v.get(key).and_then(serde_json::Value::as_u64).unwrap_or(0);
        for summary in summaries {
            pool.runs += 1;
            let Some(recovery) = summary.get("recovery") else {
                continue;
            };
            pool.tasks_affected += count(recovery, "tasks_affected");
            pool.tasks_unrecovered += count(recovery, "tasks_unrecovered");
            let events = recovery.get("events").and_then(serde_json::Value::as_array);
            for fault in events.into_iter().flatten() {
                pool.faults += 1;
                if count(fault, "tasks_unrecovered") > 0 {
                    pool.faults_unrecovered += 1;
                }
                for (phase, v) in Phase::ALL.iter().zip(&mut values) {
                    v.extend(phase.of_json(fault));
                }
            }
        }
        pool.phases = values.map(distribution);
        pool
    }

    /// Its figures for `phase`.
    pub fn phase(&self, phase: Phase) -> &Quantiles {
        let i = Phase::ALL
            .iter()
            .position(|&p| p == phase)
            .expect("every phase is in ALL");
        &self.phases[i]
    }
}

/// Each grid point's pool, in point order (records in any order).
pub fn pools(sweep: &Sweep, records: &[RunRecord]) -> Vec<Pool> {
    let mut sorted: Vec<&RunRecord> = records.iter().collect();
    sorted.sort_by_key(|r| r.run);
    (0..sweep.points())
        .map(|point| {
            Pool::of(
                sorted
                    .iter()
                    .filter(|r| sweep.split(r.run).0 == point)
                    .filter_map(|r| r.summary.as_ref()),
            )
        })
        .collect()
}

/// recovery.csv: a row per grid point, in point order: the grid keys' values, `runs` (that
/// finished), `faults`, `faults_unrecovered`, `tasks_affected`, `tasks_unrecovered`, then
/// per duration `<name>.count`, `.mean`, `.p50`, `.p95`, `.p99`, `.max` (empty when no
/// fault had it). `None` when no run had a fault: a sweep without faults writes no such
/// file.
pub fn recovery_csv(sweep: &Sweep, records: &[RunRecord]) -> Option<Vec<u8>> {
    let pools = pools(sweep, records);
    if pools.iter().all(|p| p.faults == 0) {
        return None;
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = sweep.grid.iter().map(|g| g.key.clone()).collect();
    header.extend(
        [
            "runs",
            "faults",
            "faults_unrecovered",
            "tasks_affected",
            "tasks_unrecovered",
        ]
        .map(String::from),
    );
    for phase in Phase::ALL {
        for stat in ["count", "mean", "p50", "p95", "p99", "max"] {
            header.push(format!("{}.{stat}", phase.name()));
        }
    }
    w.write_record(&header).expect("writing to memory");
    for (point, pool) in pools.iter().enumerate() {
        let mut row: Vec<String> = sweep.values(point).iter().map(|v| v.text.clone()).collect();
        row.extend(
            [
                pool.runs as u64,
                pool.faults,
                pool.faults_unrecovered,
                pool.tasks_affected,
                pool.tasks_unrecovered,
            ]
            .map(|n| n.to_string()),
        );
        for q in &pool.phases {
            row.push(q.count.to_string());
            let stats = [q.mean, q.p50, q.p95, q.p99, q.max];
            row.extend(stats.map(|x| if q.count > 0 { number(x) } else { String::new() }));
        }
        w.write_record(&row).expect("writing to memory");
    }
    Some(w.into_inner().expect("writing to memory"))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn record(run: usize, summary: Option<serde_json::Value>) -> RunRecord {
        crate::sweep::results::tests::record(run, 1, summary)
    }

    fn fault(detect: Option<f64>, recovered: Option<f64>) -> serde_json::Value {
        serde_json::json!({
            "kind": "crash_agents", "detect_s": detect, "recovered_s": recovered,
            "tasks_unrecovered": u64::from(recovered.is_none()),
        })
    }

    fn summary(faults: Vec<serde_json::Value>) -> serde_json::Value {
        let unrecovered: u64 = faults
            .iter()
            .map(|f| f["tasks_unrecovered"].as_u64().unwrap())
            .sum();
        serde_json::json!({ "recovery": {
            "faults": faults.len(), "tasks_affected": 2 * faults.len(), "tasks_unrecovered": unrecovered,
            "events": faults,
        }})
    }

    #[test]
    fn faults_of_every_seed_pool_per_grid_point() {
        let sweep = Sweep::parse(
            "name: x\nscenario: a.yaml\ngrid: { master.allocator: [drf, binpack] }\nseeds: 3\n",
            "s.yaml",
            Path::new(""),
        )
        .unwrap();
        // drf: three seeds with 2, 1 and 0 faults; binpack: one run failed, one without
        // faults, one whose fault never recovered.
        let records = vec![
            record(5, Some(summary(vec![fault(Some(80.0), None)]))),
            record(
                0,
                Some(summary(vec![
                    fault(Some(75.0), Some(90.0)),
                    fault(None, Some(0.0)),
                ])),
            ),
            record(1, Some(summary(vec![fault(Some(90.0), Some(100.0))]))),
            record(2, Some(summary(vec![]))),
            record(3, None),
            record(4, Some(summary(vec![]))),
        ];
        let pools = pools(&sweep, &records);
        let drf = &pools[0];
        assert_eq!((drf.runs, drf.faults, drf.faults_unrecovered), (3, 3, 0));
        assert_eq!((drf.tasks_affected, drf.tasks_unrecovered), (6, 0));
        let detect = drf.phase(Phase::Detect);
        assert_eq!((detect.count, detect.p50, detect.max), (2, 75.0, 90.0));
        let recovered = drf.phase(Phase::Recovered);
        assert_eq!((recovered.count, recovered.p50, recovered.p95), (3, 90.0, 100.0));
        let binpack = &pools[1];
        assert_eq!(
            (binpack.runs, binpack.faults, binpack.faults_unrecovered),
            (2, 1, 1)
        );
        assert_eq!(binpack.phase(Phase::Recovered).count, 0);

        let csv = String::from_utf8(recovery_csv(&sweep, &records).unwrap()).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert!(
            lines[0].starts_with("master.allocator,runs,faults,faults_unrecovered,tasks_affected,tasks_unrecovered,detect_s.count,detect_s.mean,"),
            "{csv}"
        );
        assert!(
            lines[1].starts_with("drf,3,3,0,6,0,2,82.5,75,90,90,90,0,,,,,,"),
            "{csv}"
        );
        assert!(
            lines[2].starts_with("binpack,2,1,1,2,1,1,80,80,80,80,80,"),
            "{csv}"
        );
        assert!(lines[2].ends_with(",0,,,,,"), "{csv}");
        // The same records in another order give the same bytes; no faults, no file.
        let mut shuffled = records.clone();
        shuffled.reverse();
        assert_eq!(recovery_csv(&sweep, &shuffled).unwrap(), csv.as_bytes());
        assert!(recovery_csv(&sweep, &[record(2, Some(summary(vec![])))]).is_none());
    }
}
