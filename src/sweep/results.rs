//! results.csv and errors.txt, each one function of the sweep and its run records: the same
//! records give the same bytes, however many threads, shards or merges produced them.

use std::collections::{BTreeMap, BTreeSet};

use super::def::Sweep;
use super::record::{RunRecord, Status};

/// Columns every row starts with, around the grid keys: `run`, the grid keys, `seed`,
/// `status`.
const FIXED: [&str; 3] = ["run", "seed", "status"];

/// results.csv: one row per run in run order, `run,<grid keys>,seed,status,<metrics>`. The
/// metrics are every numeric leaf of any run's summary by dotted path, in sorted order,
/// except those named like a column before them (the summary's `seed` is the `seed`
/// column); a run without the metric (or a failed run) has an empty cell. Numbers are
/// written in their shortest form that reads back to the same value.
pub fn results_csv(sweep: &Sweep, records: &[RunRecord]) -> Vec<u8> {
    let mut rows: Vec<&RunRecord> = records.iter().collect();
    rows.sort_by_key(|r| r.run);
    let metrics: Vec<BTreeMap<String, f64>> = rows.iter().map(|r| r.metrics()).collect();
    let taken: BTreeSet<&str> = FIXED
        .iter()
        .copied()
        .chain(sweep.grid.iter().map(|g| g.key.as_str()))
        .collect();
    let columns: BTreeSet<&str> = metrics
        .iter()
        .flat_map(|m| m.keys().map(String::as_str))
        .filter(|k| !taken.contains(k))
        .collect();

    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<&str> = vec!["run"];
    header.extend(sweep.grid.iter().map(|g| g.key.as_str()));
    header.extend(["seed", "status"]);
    header.extend(columns.iter().copied());
    w.write_record(&header).expect("writing to memory");
    for (r, m) in rows.iter().zip(&metrics) {
        let (point, _) = sweep.split(r.run);
        let mut row: Vec<String> = vec![r.run.to_string()];
        row.extend(sweep.values(point).iter().map(|v| v.text.clone()));
        row.push(r.seed.to_string());
        row.push(r.status.as_str().to_owned());
        row.extend(
            columns
                .iter()
                .map(|c| m.get(*c).map_or(String::new(), |x| number(*x))),
        );
        w.write_record(&row).expect("writing to memory");
    }
    w.into_inner().expect("writing to memory")
}

/// A number as results.csv and compare.csv write it: the shortest decimal that reads back
/// as the same f64 (integers without a point).
pub fn number(x: f64) -> String {
    format!("{x}")
}

/// errors.txt: every run that did not finish, in run order, with its error and the command
/// that replays it; `None` when every run finished.
pub fn errors_txt(records: &[RunRecord]) -> Option<String> {
    let mut failed: Vec<&RunRecord> = records.iter().filter(|r| r.status != Status::Ok).collect();
    if failed.is_empty() {
        return None;
    }
    failed.sort_by_key(|r| r.run);
    let mut out = String::new();
    for r in failed {
        out.push_str(&describe_failure(r));
        out.push('\n');
    }
    Some(out)
}

/// `run 5 (master.allocator=binpack, seed 43) failed: invariant broken ...` and the command
/// that replays it.
pub fn describe_failure(r: &RunRecord) -> String {
    let mut what: Vec<String> = r.sets.clone();
    what.push(format!("seed {}", r.seed));
    let how = match r.status {
        Status::Error => "could not run",
        _ => "failed",
    };
    format!(
        "run {} ({}) {how}: {}\n  replay: {}\n",
        r.run,
        what.join(", "),
        r.error.as_deref().unwrap_or("no message"),
        r.replay
    )
}

/// The exit status of a sweep whose runs ended as `records` did: 3 if any found a bug, 2 if
/// any could not run, else 0.
pub fn exit_code(records: &[RunRecord]) -> u8 {
    records.iter().map(|r| r.status.exit_code()).max().unwrap_or(0)
}

#[cfg(test)]
pub(super) mod tests {
    use std::path::Path;

    use super::*;

    /// A finished run with `summary`, or with `None` one that broke an invariant.
    pub(in crate::sweep) fn record(run: usize, seed: u64, summary: Option<serde_json::Value>) -> RunRecord {
        RunRecord {
            schema: RunRecord::SCHEMA.to_owned(),
            run,
            sets: vec![],
            seed,
            scenario_digest: "0".into(),
            status: if summary.is_some() {
                Status::Ok
            } else {
                Status::Violation
            },
            error: summary.is_none().then(|| "broke".to_owned()),
            replay: "mesosim run a.yaml".into(),
            summary,
            curves: None,
        }
    }

    #[test]
    fn rows_are_in_run_order_with_the_union_of_metrics() {
        let sweep = Sweep::parse(
            "name: x\nscenario: a.yaml\ngrid: { k: [a, \"b,c\"] }\nseeds: [7]\n",
            "s.yaml",
            Path::new(""),
        )
        .unwrap();
        let records = vec![
            record(
                1,
                7,
                Some(serde_json::json!({"seed": 7, "t": {"x": 0.1, "y": 3}})),
            ),
            record(
                0,
                7,
                Some(serde_json::json!({"seed": 7, "t": {"x": 2.5e-7}, "z": "s"})),
            ),
        ];
        let csv = String::from_utf8(results_csv(&sweep, &records)).unwrap();
        assert_eq!(
            csv,
            "run,k,seed,status,t.x,t.y\n0,a,7,ok,0.00000025,\n1,\"b,c\",7,ok,0.1,3\n"
        );
        let failed = vec![record(0, 7, None)];
        let csv = String::from_utf8(results_csv(&sweep, &failed)).unwrap();
        assert_eq!(csv, "run,k,seed,status\n0,a,7,violation\n");
        assert_eq!(exit_code(&failed), 3);
        assert!(
            errors_txt(&failed)
                .unwrap()
                .starts_with("run 0 (seed 7) failed: broke\n")
        );
        assert_eq!(errors_txt(&records), None);
    }
}
