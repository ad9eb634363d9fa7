//! `mesosim sweep`, `merge` and `compare`: results.csv is the same bytes whatever the
//! threads and shards; bad sweep files, shards and merges are bad input (exit 2) that says
//! where; a failed run loses no other; compare shows its table and writes its csv files;
//! recovery.csv pools every seed's faults, the same bytes however the sweep ran.

mod common;

use std::path::{Path, PathBuf};

use common::{mesosim, stderr, stdout, temp_dir};

/// Twenty machines, two roles, five minutes: a run takes a few tens of milliseconds.
const TINY: &str = r#"name: tiny
seed: 7
duration: 5m
master: { allocator: drf, allocation_interval: 1s }
roles: [ { name: prod, weight: 2 }, { name: batch } ]
cluster:
  - { class: standard, count: 20, resources: "cpus:16;mem:65536;disk:512000", racks: 2 }
frameworks:
  - name: etl
    role: batch
    type: batch
    workload:
      synthetic: { arrival_rate_per_s: 2, duration: { lognormal: { median: 60s, sigma: 1.0 } }, task: "cpus:1;mem:2048" }
  - name: analytics
    role: prod
    type: batch
    workload:
      synthetic: { arrival_rate_per_s: 0.5, duration: { exponential: { mean: 1m } }, task: "cpus:4;mem:16384" }
"#;

/// 2 × 2 grid points × 3 seeds = 12 runs.
const GRID: &str = "name: tiny-grid
scenario: tiny.yaml
set: [\"duration=4m\"]
grid:
  master.allocation_interval: [1s, 3s]
  master.allocator: [drf, binpack]
seeds: 3
";

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// A folder with the tiny scenario and a sweep file over it.
fn setup(name: &str, sweep: &str) -> (PathBuf, String) {
    let dir = temp_dir(name);
    write(&dir, "tiny.yaml", TINY);
    let file = write(&dir, "sweep.yaml", sweep);
    (dir, file)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs a command expected to succeed.
fn ok(args: &[&str]) -> String {
    let o = mesosim(args);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}{}", stdout(&o), stderr(&o));
    stdout(&o)
}

/// Runs a command expected to be refused as bad input, its error containing `says`.
fn rejects(args: &[&str], says: &str) {
    let o = mesosim(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
}

fn results(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("results.csv")).unwrap()
}

#[test]
fn results_are_byte_identical_whatever_the_jobs_and_shards() {
    let (dir, sweep) = setup("identical", GRID);
    let one = dir.join("jobs1");
    let two = dir.join("jobs2");
    let printed = ok(&["sweep", &sweep, "--jobs", "1", "--out", s(&one)]);
    assert!(printed.contains("12 runs (4 grid points × 3 seeds)"), "{printed}");
    ok(&["sweep", &sweep, "--jobs", "2", "--out", s(&two), "--quiet"]);
    let reference = results(&one);
    assert_eq!(reference, results(&two), "--jobs 1 and --jobs 2 differ");
    // No faults, no recovery.csv.
    assert!(!one.join("recovery.csv").exists() && !printed.contains("recovery"));

    let text = String::from_utf8(reference.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 13, "{text}");
    assert!(
        lines[0].starts_with("run,master.allocation_interval,master.allocator,seed,status,"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(",queue_delay_s.p99,") && !lines[0].contains(",seed,seed"));
    // Grid points in order, the last key fastest, seeds innermost from the scenario's.
    assert!(lines[1].starts_with("0,1s,drf,7,ok,"), "{}", lines[1]);
    assert!(lines[3].starts_with("2,1s,drf,9,ok,"), "{}", lines[3]);
    assert!(lines[4].starts_with("3,1s,binpack,7,ok,"), "{}", lines[4]);
    assert!(lines[12].starts_with("11,3s,binpack,9,ok,"), "{}", lines[12]);

    // Three shards, each with its own folder and rows, merged in any order.
    let shards: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("shard{i}"))).collect();
    for (i, shard) in shards.iter().enumerate() {
        let printed = ok(&["sweep", &sweep, "--shard", &format!("{i}/3"), "--out", s(shard)]);
        assert!(
            printed.contains(&format!("shard {i}/3: 4 of 12 runs")),
            "{printed}"
        );
        let rows = String::from_utf8(results(shard)).unwrap();
        let runs: Vec<&str> = rows
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap())
            .collect();
        let expected: Vec<String> = (0..12).filter(|r| r % 3 == i).map(|r| r.to_string()).collect();
        assert_eq!(runs, expected);
    }
    let merged = dir.join("merged");
    let printed = ok(&[
        "merge",
        s(&shards[2]),
        s(&shards[0]),
        s(&shards[1]),
        "--out",
        s(&merged),
    ]);
    assert!(printed.contains("merged 12 runs from 3 folders"), "{printed}");
    assert_eq!(reference, results(&merged), "sharded and merged differs");
    // A folder merged with an overlapping one (the same runs twice) gives the same again.
    let again = dir.join("again");
    ok(&["merge", s(&one), s(&shards[1]), "--out", s(&again)]);
    assert_eq!(reference, results(&again));
    // The run records are the same files too.
    for run in 0..12 {
        let name = format!("runs/{run}.json");
        assert_eq!(
            std::fs::read(one.join(&name)).unwrap(),
            std::fs::read(merged.join(&name)).unwrap(),
            "{name}"
        );
    }
    assert_eq!(std::fs::read_to_string(merged.join("sweep.yaml")).unwrap(), GRID);
}

/// The tiny scenario with four random faults in each run: 2 grid points × 3 seeds.
const FAULTY: &str = "name: tiny-faults
scenario: tiny.yaml
set: [\"duration=4m\", \"master.offer_timeout=1m\", \"faults={ random: { count: 4, from: 20s, to: 3m, max_down: 1m } }\"]
grid:
  master.allocator: [drf, binpack]
seeds: 3
";

/// The summary of run `run` in a sweep's folder.
fn summary(dir: &Path, run: usize) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join(format!("runs/{run}.json"))).unwrap();
    let record: serde_json::Value = serde_json::from_str(&text).unwrap();
    record["summary"].clone()
}

/// A folder's recovery.csv as rows of named cells.
fn recovery_rows(dir: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let text = std::fs::read_to_string(dir.join("recovery.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|l| {
            header
                .iter()
                .zip(l.split(','))
                .map(|(h, v)| ((*h).to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

#[test]
fn recovery_pools_every_seeds_faults_and_is_byte_identical_whatever_the_jobs_and_shards() {
    let (dir, sweep) = setup("recovery", FAULTY);
    let one = dir.join("jobs1");
    let printed = ok(&["sweep", &sweep, "--jobs", "1", "--out", s(&one)]);
    assert!(printed.contains("recovery.csv"), "{printed}");
    ok(&[
        "sweep",
        &sweep,
        "--jobs",
        "2",
        "--out",
        s(&dir.join("jobs2")),
        "-q",
    ]);
    let shards: Vec<PathBuf> = (0..2).map(|i| dir.join(format!("shard{i}"))).collect();
    for (i, shard) in shards.iter().enumerate() {
        ok(&[
            "sweep",
            &sweep,
            "--shard",
            &format!("{i}/2"),
            "--out",
            s(shard),
            "-q",
        ]);
    }
    let merged = dir.join("merged");
    ok(&["merge", s(&shards[1]), s(&shards[0]), "--out", s(&merged), "-q"]);
    let reference = std::fs::read(one.join("recovery.csv")).unwrap();
    for other in [dir.join("jobs2"), merged] {
        assert_eq!(
            reference,
            std::fs::read(other.join("recovery.csv")).unwrap(),
            "{}",
            other.display()
        );
    }

    // Each grid point's row pools its three runs' faults, as their summaries give them.
    let rows = recovery_rows(&one);
    assert_eq!(rows.len(), 2);
    for (point, row) in rows.iter().enumerate() {
        assert_eq!(row["master.allocator"], ["drf", "binpack"][point]);
        assert_eq!(row["runs"], "3");
        let summaries: Vec<serde_json::Value> =
            (point * 3..point * 3 + 3).map(|run| summary(&one, run)).collect();
        let sum = |key: &str| -> u64 {
            summaries
                .iter()
                .map(|s| s["recovery"][key].as_u64().unwrap())
                .sum()
        };
        assert_eq!(row["faults"], sum("faults").to_string());
        assert_eq!(sum("faults"), 12, "four faults a run");
        assert_eq!(row["tasks_affected"], sum("tasks_affected").to_string());
        assert_eq!(row["tasks_unrecovered"], sum("tasks_unrecovered").to_string());
        let mut detect: Vec<f64> = summaries
            .iter()
            .flat_map(|s| s["recovery"]["events"].as_array().unwrap().clone())
            .filter_map(|e| e["detect_s"].as_f64())
            .collect();
        detect.sort_by(f64::total_cmp);
        // Pooled counts are the sum of the runs' own.
        let counts: u64 = summaries
            .iter()
            .map(|s| s["recovery"]["detect_s"]["count"].as_u64().unwrap())
            .sum();
        assert_eq!(row["detect_s.count"], counts.to_string());
        assert_eq!(row["detect_s.count"], detect.len().to_string());
        if let Some(max) = detect.last() {
            assert_eq!(row["detect_s.max"].parse::<f64>().unwrap(), *max);
            let p50 = detect[detect.len().div_ceil(2) - 1];
            assert_eq!(row["detect_s.p50"].parse::<f64>().unwrap(), p50);
        } else {
            assert_eq!(row["detect_s.max"], "");
        }
    }
    // A second sweep into the folder without faults leaves no stale recovery.csv.
    let (_, plain) = setup("recovery-plain", GRID);
    ok(&["sweep", &plain, "--out", s(&one), "-q"]);
    assert!(!one.join("recovery.csv").exists());
}

#[test]
fn compare_pools_recovery_over_seeds() {
    let dir = temp_dir("compare-recovery");
    let out = dir.join("out");
    let table = ok(&[
        "compare",
        "tests/acceptance/fault-crash-rack.yaml",
        "--allocators",
        "drf,binpack",
        "--seeds",
        "3",
        "--out",
        s(&out),
    ]);
    // One rack crash a run: three faults per allocator, each detected, restored and
    // recovered.
    let recovery = &table[table
        .find("recovery over the faults of all 3 seeds")
        .expect(&table)..];
    let row = |name: &str| {
        recovery
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name}: {table}"))
            .to_owned()
    };
    assert!(row("faults (unrecovered)").ends_with("3 (0)"), "{table}");
    for duration in ["detect_s", "restored_s", "recovered_s"] {
        let line = row(duration);
        let cells: Vec<&str> = line
            .split("  ")
            .filter(|c| !c.trim().is_empty())
            .skip(1)
            .collect();
        assert_eq!(cells.len(), 2, "{table}");
        assert!(
            cells.iter().all(|c| c.trim().starts_with("3 · ")),
            "{duration}: {table}"
        );
    }
    assert!(!recovery.contains("elect_s"), "no master crashed: {table}");
    let rows = recovery_rows(&out);
    let faults: u64 = (0..6)
        .map(|run| summary(&out, run)["recovery"]["faults"].as_u64().unwrap())
        .sum();
    assert_eq!(faults, 6);
    assert_eq!(
        rows.iter()
            .map(|r| r["faults"].parse::<u64>().unwrap())
            .sum::<u64>(),
        faults
    );
    assert_eq!(rows[0]["master.allocator"], "drf");
    assert_eq!(rows[0]["recovered_s.count"], "3");
    // The rack's four machines boot ten minutes after the crash.
    assert!(rows[0]["restored_s.p50"].parse::<f64>().unwrap() >= 600.0);
    let html = std::fs::read_to_string(out.join("compare.html")).unwrap();
    assert!(html.contains("compare-recovery.png") && html.contains("tasks hit (unrecovered)"));
    assert!(out.join("compare-recovery.svg").is_file());
}

#[test]
fn a_run_replays_with_its_command_and_keep_runs_keeps_its_report() {
    let (dir, sweep) = setup("replay", GRID);
    let out = dir.join("out");
    ok(&["sweep", &sweep, "--out", s(&out), "--keep-runs", "--quiet"]);
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("runs/10.json")).unwrap()).unwrap();
    assert_eq!(record["status"], "ok");
    assert_eq!(record["seed"], 8);
    assert_eq!(record["sets"][1], "master.allocator=binpack");
    let replay = record["replay"].as_str().unwrap();
    // mesosim run DIR/tiny.yaml --seed 8 --set duration=4m --set ... (no quoting needed here)
    let mut args: Vec<&str> = replay.split(' ').skip(1).collect();
    let again = dir.join("again");
    args.extend(["--out", s(&again), "--quiet"]);
    ok(&args);
    let kept = std::fs::read(out.join("runs/10/summary.json")).unwrap();
    assert_eq!(kept, std::fs::read(again.join("summary.json")).unwrap());
    assert!(out.join("runs/10/tasks.csv").is_file() && out.join("runs/10/offers.csv").is_file());
    let summary: serde_json::Value = serde_json::from_slice(&kept).unwrap();
    assert_eq!(summary, record["summary"]);

    // Running again into the folder with fewer runs leaves no stale run behind.
    let fewer = GRID.replace("seeds: 3", "seeds: 1");
    let sweep = write(&dir, "fewer.yaml", &fewer);
    ok(&["sweep", &sweep, "--out", s(&out), "--quiet"]);
    let mut left: Vec<String> = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["0.json", "1.json", "2.json", "3.json"]);
}

#[test]
fn bad_sweep_files_and_shards_are_bad_input_before_any_run() {
    let (dir, sweep) = setup("bad", GRID);
    let out = dir.join("never");
    let bad = |name: &str, text: &str, says: &str| {
        let file = write(&dir, name, text);
        rejects(&["sweep", &file, "--out", s(&out)], says);
        assert!(!out.exists(), "{name}: a folder was written");
        file
    };
    let f = bad(
        "unknown-key.yaml",
        "name: x\nscenario: tiny.yaml\ngird:\n  master.allocator: [drf]\n",
        "unknown-key.yaml:3:1: unknown key \"gird\" (did you mean \"grid\"?)",
    );
    assert!(f.ends_with("unknown-key.yaml"));
    bad(
        "grid-key.yaml",
        "name: x\nscenario: tiny.yaml\ngrid:\n  master.alocator: [drf, binpack]\n",
        "grid-key.yaml:4:10: unknown key \"alocator\" (did you mean \"allocator\"?)",
    );
    bad(
        "grid-value.yaml",
        "name: x\nscenario: tiny.yaml\ngrid:\n  master.allocation_interval: [1s, 5x]\n",
        "grid-value.yaml:4:36: invalid duration \"5x\"",
    );
    bad(
        "allocator.yaml",
        "name: x\nscenario: tiny.yaml\ngrid:\n  master.allocator: [drf, binpak]\n",
        "allocator.yaml:4:27: unknown allocator \"binpak\" (did you mean \"binpack\"?)",
    );
    bad(
        "set.yaml",
        "name: x\nscenario: tiny.yaml\nset: [durration=5m]\n",
        "set.yaml:3:7: set \"durration=5m\": unknown key \"durration\" (did you mean \"duration\"?)",
    );
    bad(
        "no-scenario.yaml",
        "name: x\nscenario: nope.yaml\n",
        "no-scenario.yaml:2:11: cannot read the scenario",
    );
    bad(
        "seeds.yaml",
        "name: x\nscenario: tiny.yaml\nseeds: [1, 1]\n",
        "seeds.yaml:3:8: seed 1 is listed twice",
    );
    bad(
        "empty-values.yaml",
        "name: x\nscenario: tiny.yaml\ngrid:\n  master.allocator: []\n",
        "empty-values.yaml:4:21: grid key master.allocator needs at least one value",
    );
    rejects(
        &["sweep", &sweep, "--shard", "3/3"],
        "--shard 3/3: shards are numbered from 0",
    );
    rejects(
        &["sweep", &sweep, "--shard", "one/3"],
        "--shard one/3: expected I/N",
    );
    rejects(&["sweep", &sweep, "--shard", "0/0"], "--shard 0/0");
    rejects(
        &["sweep", s(&dir.join("missing.yaml"))],
        "missing.yaml: cannot read: no such file",
    );
}

#[test]
fn merge_refuses_shards_of_other_sweeps_missing_runs_and_conflicts() {
    let (dir, sweep) = setup("merge", GRID);
    let a0 = dir.join("a0");
    let a1 = dir.join("a1");
    ok(&["sweep", &sweep, "--shard", "0/2", "--out", s(&a0), "--quiet"]);
    ok(&["sweep", &sweep, "--shard", "1/2", "--out", s(&a1), "--quiet"]);

    // Missing runs are named.
    rejects(
        &["merge", s(&a0), "--out", s(&dir.join("m"))],
        "6 of the sweep's 12 runs are missing: 1, 3, 5, 7, 9, 11",
    );
    // Another sweep file's shard.
    let other = write(&dir, "other.yaml", &GRID.replace("[1s, 3s]", "[1s, 2s]"));
    let b1 = dir.join("b1");
    ok(&["sweep", &other, "--shard", "1/2", "--out", s(&b1), "--quiet"]);
    rejects(
        &["merge", s(&a0), s(&b1), "--out", s(&dir.join("m"))],
        "b1/sweep.yaml:5: differs from",
    );
    // The same run with other results.
    let c1 = dir.join("c1");
    std::fs::create_dir_all(c1.join("runs")).unwrap();
    std::fs::copy(a1.join("sweep.yaml"), c1.join("sweep.yaml")).unwrap();
    let record = std::fs::read_to_string(a1.join("runs/3.json")).unwrap();
    let tampered = record.replacen("\"launched\": ", "\"launched\": 1", 1);
    assert_ne!(record, tampered);
    std::fs::write(c1.join("runs/3.json"), tampered).unwrap();
    rejects(
        &["merge", s(&a0), s(&a1), s(&c1), "--out", s(&dir.join("m"))],
        "run 3 is in",
    );
    // Not a sweep folder; a broken record.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    rejects(&["merge", s(&empty)], "not a sweep folder");
    std::fs::write(c1.join("runs/3.json"), "{ \"schema\": ").unwrap();
    rejects(&["merge", s(&c1)], "expected a sweep run record");
    // Both shards: fine.
    ok(&["merge", s(&a0), s(&a1), "--out", s(&dir.join("m")), "--quiet"]);
}

#[test]
fn a_run_that_cannot_run_loses_no_other_and_says_how_to_replay_it() {
    let dir = temp_dir("failed");
    let trace =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/traces/native.csv"))
            .unwrap();
    let good: Vec<&str> = trace.lines().take(20).collect();
    write(&dir, "good.csv", &(good.join("\n") + "\n"));
    let mut bad = good.clone();
    bad.insert(10, "700.5,1,0,u,1,1,zzz,1,1,0,5,finish,1");
    write(&dir, "bad.csv", &(bad.join("\n") + "\n"));
    write(
        &dir,
        "replay.yaml",
        "name: replay\nduration: 30m\nroles: [ { name: batch } ]\ncluster:\n  - { class: standard, count: 10, resources: \"cpus:16;mem:65536\" }\nframeworks:\n  - { name: r, role: batch, type: batch, workload: { trace: { format: csv, path: good.csv } } }\n",
    );
    let sweep = write(
        &dir,
        "sweep.yaml",
        "name: traces\nscenario: replay.yaml\ngrid:\n  frameworks.0.workload.trace.path: [good.csv, bad.csv]\nseeds: 2\n",
    );
    let out = dir.join("out");
    let o = mesosim(&["sweep", &sweep, "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("run 2 (frameworks.0.workload.trace.path=bad.csv, seed 0) could not run: "),
        "{err}"
    );
    assert!(err.contains("bad.csv:11: field 7 (cpus)"), "{err}");
    assert!(
        err.contains("replay: mesosim run ")
            && err.contains("--seed 1 --set frameworks.0.workload.trace.path=bad.csv"),
        "{err}"
    );
    assert!(err.contains("2 of 4 runs failed"), "{err}");
    let rows = String::from_utf8(results(&out)).unwrap();
    let status: Vec<&str> = rows
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap())
        .collect();
    assert_eq!(status, ["ok", "ok", "error", "error"]);
    assert!(
        std::fs::read_to_string(out.join("errors.txt"))
            .unwrap()
            .contains("run 3 (")
    );
    // Merging the folder says the same.
    let o = mesosim(&["merge", s(&out), "--out", s(&dir.join("merged"))]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(results(&dir.join("merged")), results(&out));
}

#[test]
fn compare_shows_allocators_side_by_side_and_writes_its_csvs() {
    let dir = temp_dir("compare");
    let scenario = write(&dir, "tiny.yaml", TINY);
    let out = dir.join("out");
    let table = ok(&[
        "compare",
        &scenario,
        "--allocators",
        "drf,binpack,random",
        "--seeds",
        "2",
        // A key given twice takes its last value, as with `mesosim run`.
        "--set",
        "duration=2m",
        "--set",
        "duration=3m",
        "--out",
        s(&out),
    ]);
    let sweep = std::fs::read_to_string(out.join("sweep.yaml")).unwrap();
    assert!(sweep.contains("set: [\"duration=3m\"]"), "{sweep}");
    let header = table.lines().nth(1).unwrap();
    assert!(
        header.starts_with("metric") && header.contains("drf") && header.contains("random"),
        "{table}"
    );
    for metric in [
        "utilisation.cpus.allocated_mean",
        "queue_delay_s.p99",
        "tasks.launched",
        "offers.made",
    ] {
        let row = table
            .lines()
            .find(|l| l.starts_with(metric))
            .unwrap_or_else(|| panic!("{metric}: {table}"));
        assert_eq!(row.matches(" ± ").count(), 3, "{row}");
    }
    assert!(table.contains("6 runs"), "{table}");

    let csv = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "allocator,metric,n,mean,ci95_low,ci95_high,stddev,min,max"
    );
    let metrics = rows.iter().filter(|r| r.starts_with("drf,")).count();
    assert!(metrics > 20, "{csv}");
    assert_eq!(rows.len(), 1 + 3 * metrics);
    assert!(rows[1].starts_with("drf,") && rows.last().unwrap().starts_with("random,"));
    let p99 = rows
        .iter()
        .find(|r| r.starts_with("binpack,queue_delay_s.p99,"))
        .unwrap();
    assert!(p99.starts_with("binpack,queue_delay_s.p99,2,"), "{p99}");
    let results = String::from_utf8(results(&out)).unwrap();
    assert_eq!(results.lines().count(), 1 + 6);
    assert!(results.starts_with("run,master.allocator,seed,status,"));
    assert!(out.join("runs/5.json").is_file() && out.join("sweep.yaml").is_file());
    // compare.html shows the table and the overlaid curves, one line per allocator.
    let html = std::fs::read_to_string(out.join("compare.html")).unwrap();
    for stem in [
        "compare-cpus",
        "compare-mem",
        "compare-waiting",
        "compare-queue-delay",
        "compare-jain",
    ] {
        assert!(out.join(format!("{stem}.png")).is_file(), "{stem}.png");
        assert!(html.contains(&format!("{stem}.png")), "{stem} linked");
    }
    assert!(html.contains("utilisation.cpus.allocated_mean") && html.matches("<svg").count() >= 5);
    assert!(!html.contains("http://") && !html.contains("https://"));
    let svg = std::fs::read_to_string(out.join("compare-cpus.svg")).unwrap();
    for allocator in ["drf", "binpack", "random"] {
        assert!(svg.contains(allocator), "{allocator} in the legend");
    }

    rejects(
        &["compare", &scenario, "--allocators", "drf,binpak"],
        "unknown allocator \"binpak\" (did you mean \"binpack\"?)",
    );
    rejects(
        &["compare", &scenario, "--allocators", "drf,drf"],
        "drf is named twice",
    );
    rejects(
        &[
            "compare",
            &scenario,
            "--allocators",
            "drf",
            "--set",
            "master.allocator=random",
        ],
        "compare chooses the allocator itself",
    );
    rejects(
        &["compare", &scenario, "--allocators", "drf", "--seeds", "0"],
        "--seeds",
    );
}
