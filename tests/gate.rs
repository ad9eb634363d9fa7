//! `mesosim gate`: exit 0 within tolerance, 1 on a regression, 2 on bad input.

mod common;

use std::path::Path;

use common::{mesosim, stderr, stdout, temp_dir};

/// A summary with the fields the gate reads, `p99` and `allocated` varied.
fn summary(p99: f64, allocated: f64) -> String {
    format!(
        r#"{{
  "schema": "mesosim.summary/1",
  "scenario": "gated",
  "seed": 1,
  "events": 1000,
  "tasks": {{ "submitted": 100, "launched": 100, "finished": 90, "failed": 0, "lost": 0 }},
  "utilisation": {{ "cpus": {{ "allocated_mean": {allocated}, "used_mean": {allocated} }} }},
  "queue_delay_s": {{ "count": 100, "mean": 1.0, "p50": 0.5, "p99": {p99}, "max": 9.0 }}
}}
"#
    )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Runs `mesosim gate ARGS` and expects bad input: exit 2, an error containing `says`.
fn rejects(args: &[&str], says: &str) {
    let mut all = vec!["gate"];
    all.extend_from_slice(args);
    let o = mesosim(&all);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
}

#[test]
fn within_tolerance_passes_and_a_regression_fails_with_a_table() {
    let dir = temp_dir("gate");
    let base = write(&dir, "base.json", &summary(5.0, 0.60));
    // p99 +4% (tolerance 10%), utilisation better by 5 points.
    let fine = write(&dir, "fine.json", &summary(5.2, 0.65));
    let o = mesosim(&["gate", "--baseline", &base, &fine]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("0 worse, 2 better"), "{}", stdout(&o));

    // p99 +40% and utilisation down 10 points: both worse, in the table, exit 1.
    let worse = write(&dir, "worse.json", &summary(7.0, 0.50));
    let o = mesosim(&["gate", "--baseline", &base, &worse]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let table = stdout(&o);
    assert!(
        table.contains("queue_delay_s.p99") && table.contains("+40.0%"),
        "{table}"
    );
    assert!(table.contains("utilisation.cpus.allocated_mean"), "{table}");
    assert!(table.contains("WORSE") && table.contains("3 worse"), "{table}");
    assert!(stderr(&o).contains("regressed"), "{}", stderr(&o));

    // A looser tolerance on the command line, and a gate file ignoring utilisation.
    let gate = write(
        &dir,
        "gate.yaml",
        "metrics:\n  utilisation.*.allocated_mean: { ignore: true }\n  utilisation.*.used_mean: { tolerance: 20% }\n",
    );
    let o = mesosim(&[
        "gate",
        "--baseline",
        &base,
        &worse,
        "--gate",
        &gate,
        "--tolerance",
        "queue_delay_s.p99=50%",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn bad_input_exits_2_and_says_where() {
    let dir = temp_dir("gate-bad");
    let base = write(&dir, "base.json", &summary(5.0, 0.6));
    let broken = write(
        &dir,
        "broken.json",
        "{\n  \"scenario\": \"gated\",\n  \"tasks\": [1,\n",
    );
    rejects(&["--baseline", &base, &broken], "broken.json:4:");
    let other = write(
        &dir,
        "other.json",
        &summary(5.0, 0.6).replace("\"gated\"", "\"other\""),
    );
    rejects(&["--baseline", &base, &other], "same scenario");
    let gate = write(
        &dir,
        "gate.yaml",
        "metrics:\n  queue_delay_s.p99: { tolerence: 5% }\n",
    );
    rejects(&["--baseline", &base, &base, "--gate", &gate], "gate.yaml:2:");
    rejects(
        &["--baseline", &base, &base, "--tolerance", "events=5%"],
        "not a gated metric",
    );
    rejects(
        &["--baseline", &base, "missing.json"],
        "missing.json: cannot read",
    );
}

/// A scheduler made deliberately worse (allocating every 20 s instead of every second) fails
/// the gate against the committed quickstart baseline, on queue delay.
#[test]
fn a_deliberately_worse_scheduler_fails_against_the_quickstart_baseline() {
    let dir = temp_dir("gate-worse");
    let out = dir.join("report");
    let o = mesosim(&[
        "run",
        "scenarios/quickstart.yaml",
        "--set",
        "master.allocation_interval=20s",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let summary = out.join("summary.json");
    let o = mesosim(&[
        "gate",
        "--baseline",
        "reports/baselines/quickstart.json",
        summary.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let table = stdout(&o);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("queue_delay_s.mean") && l.ends_with("WORSE")),
        "{table}"
    );
}

/// An allocator that ignores shares (`random`) fails the gate against weighted DRF on a
/// contended cluster, on fairness: the weight-2 role gets about a third of the cluster
/// instead of half, and the roles spend far longer below their entitlement.
#[test]
fn an_allocator_ignoring_shares_fails_against_drf_on_fairness() {
    let dir = temp_dir("gate-random");
    let run = |allocator: &str| {
        let out = dir.join(allocator);
        let o = mesosim(&[
            "run",
            "tests/gate/contended.yaml",
            "--set",
            &format!("master.allocator={allocator}"),
            "--out",
            out.to_str().unwrap(),
            "-q",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        out.join("summary.json").to_str().unwrap().to_owned()
    };
    let (drf, random) = (run("drf"), run("random"));
    // DRF against itself passes.
    let o = mesosim(&["gate", "--baseline", &drf, &drf]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = mesosim(&["gate", "--baseline", &drf, &random]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let table = stdout(&o);
    for metric in [
        "fairness.jain_dominant_share",
        "fairness.jain_entitled",
        "fairness.below_fair_share_s",
    ] {
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(metric) && l.ends_with("WORSE")),
            "{metric} should be worse:\n{table}"
        );
    }
    let share = |path: &str, role: &str| -> f64 {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        v["fairness"]["roles"][role]["share_mean"].as_f64().unwrap()
    };
    assert!(share(&drf, "gold") > 0.45, "DRF gives gold about half");
    assert!(share(&random, "gold") < 0.35, "random gives gold about a third");
}
