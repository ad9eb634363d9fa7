//! The report folder of a bundled scenario: every file there, and the figures agreeing with
//! each other (the time series integrates to the summary's means, offers per interval sum
//! to the offers made, each removed agent is a fault with Mesos's detection time).

mod common;

use common::{mesosim, stderr, temp_dir};

fn column(csv: &str, name: &str) -> Vec<f64> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let k = header
        .iter()
        .position(|h| *h == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    lines
        .map(|l| l.split(',').nth(k).unwrap().parse::<f64>().unwrap_or(f64::NAN))
        .collect()
}

#[test]
fn the_quickstart_report_is_complete_and_consistent() {
    let dir = temp_dir("report");
    let out = dir.join("quickstart");
    let o = mesosim(&[
        "run",
        "scenarios/quickstart.yaml",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    let summary: serde_json::Value = serde_json::from_str(&read("summary.json")).unwrap();

    // report.html: every plot inline and linked, the key figures, the scenario; nothing
    // fetched from the network.
    let html = read("report.html");
    for stem in [
        "utilisation",
        "shares",
        "tasks",
        "queue-delay",
        "agents-heatmap",
        "recovery-timeline",
    ] {
        for ext in ["png", "svg"] {
            let f = out.join(format!("{stem}.{ext}"));
            assert!(
                std::fs::metadata(&f).map(|m| m.len() > 1000).unwrap_or(false),
                "{}",
                f.display()
            );
        }
        assert!(html.contains(&format!("{stem}.png")));
    }
    assert!(html.matches("<svg").count() >= 6);
    for text in [
        "Key figures",
        "Fairness",
        "Recovery",
        "standard-7",
        "arrival_rate_per_s",
    ] {
        assert!(html.contains(text), "{text}");
    }
    assert!(!html.contains("http://") && !html.contains("https://"));

    // The time series: an hour at the default 5 s interval; equal intervals, so the mean
    // of the rows is the run's time-weighted mean.
    let ts = read("timeseries.csv");
    let time = column(&ts, "time_s");
    assert_eq!(time.len(), 720);
    assert_eq!((time[0], time[719]), (5.0, 3600.0));
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    for (col, field) in [
        (
            "cpus_allocated_fraction",
            &summary["utilisation"]["cpus"]["allocated_mean"],
        ),
        ("mem_used_fraction", &summary["utilisation"]["mem"]["used_mean"]),
        (
            "share_batch",
            &summary["fairness"]["roles"]["batch"]["share_mean"],
        ),
        ("share_prod", &summary["fairness"]["roles"]["prod"]["share_mean"]),
    ] {
        let (got, want) = (mean(&column(&ts, col)), field.as_f64().unwrap());
        assert!(
            (got - want).abs() < 1e-5 * want.max(1e-3),
            "{col}: {got} vs {want}"
        );
    }
    let offers: f64 = column(&ts, "offers_made").iter().sum();
    assert_eq!(offers, summary["offers"]["made"].as_f64().unwrap());

    // Three agents removed at 10 min: each a fault the master detects after 5 missed
    // pings 15 s apart, and whose tasks run again soon after.
    let recovery = &summary["recovery"];
    assert_eq!(recovery["faults"], 3);
    for fault in recovery["events"].as_array().unwrap() {
        assert_eq!(fault["at_s"], 600.0);
        let detect = fault["detect_s"].as_f64().unwrap();
        assert!((75.0..=90.0).contains(&detect), "{fault}");
        let recovered = fault["recovered_s"].as_f64().unwrap();
        assert!(recovered >= detect && recovered < detect + 5.0, "{fault}");
        assert!(fault["tasks_affected"].as_u64().unwrap() > 0);
        // 16 cpus gone from 10 min to the end of the hour.
        assert_eq!(fault["capacity_lost"]["cpus"], 16.0 * 3000.0);
    }
    assert_eq!(
        recovery["tasks_affected"].as_u64(),
        summary["tasks"]["lost"].as_u64(),
        "every lost task was on a removed agent"
    );
    check_distributions(recovery);
    // Removed agents never come back; no master crashed.
    assert_eq!(recovery["restored_s"]["count"], 0);
    assert!(recovery.get("elect_s").is_none() && recovery.get("reregistered_s").is_none());

    // Per agent, per class, per framework.
    let agents = read("agents.csv");
    assert_eq!(agents.lines().count(), 1 + 202);
    let up = column(&agents, "up_s");
    assert_eq!(
        up.iter().filter(|&&u| u < 1000.0).count(),
        3,
        "the removed agents' time up"
    );
    let classes = summary["utilisation_by_class"].as_object().unwrap();
    assert_eq!(
        classes.keys().collect::<Vec<_>>(),
        ["highmem", "spare", "standard"]
    );
    assert!(read("shares.csv").lines().any(|l| l.contains(",analytics,prod,")));
    let tasks = read("tasks.csv");
    assert_eq!(
        tasks.lines().next().unwrap(),
        "task_id,framework,role,agent,submit_s,launch_s,end_s,state,resources,job,retry_of"
    );
    let retries = tasks.lines().filter(|l| !l.ends_with(',')).count() - 1;
    assert_eq!(
        retries as u64,
        recovery["tasks_affected"].as_u64().unwrap(),
        "each lost task resubmitted once"
    );
}

/// The nearest-rank value at `p` of `sorted`.
fn rank(sorted: &[f64], p: f64) -> f64 {
    sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Each duration's distribution in `recovery` is that of the per-fault figures: every
/// fault with the figure counted, exact nearest ranks.
fn check_distributions(recovery: &serde_json::Value) {
    let events = recovery["events"].as_array().unwrap();
    for name in [
        "detect_s",
        "elect_s",
        "restored_s",
        "reregistered_s",
        "recovered_s",
    ] {
        let Some(d) = recovery.get(name) else {
            assert!(
                ["elect_s", "reregistered_s"].contains(&name),
                "{name} missing: {recovery}"
            );
            assert!(events.iter().all(|e| e["kind"] != "crash_master"));
            continue;
        };
        // A fault that hit no task has nothing to recover.
        let counted = |e: &&serde_json::Value| name != "recovered_s" || e["tasks_affected"] != 0;
        let mut values: Vec<f64> = events
            .iter()
            .filter(counted)
            .filter_map(|e| e[name].as_f64())
            .collect();
        values.sort_by(f64::total_cmp);
        assert_eq!(d["count"].as_u64(), Some(values.len() as u64), "{name}");
        if values.is_empty() {
            assert_eq!(d["max"], 0.0, "{name}");
            continue;
        }
        for (p, field) in [(0.5, "p50"), (0.95, "p95"), (0.99, "p99"), (1.0, "max")] {
            assert_eq!(d[field].as_f64(), Some(rank(&values, p)), "{name}.{field}");
        }
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        assert!(
            (d["mean"].as_f64().unwrap() - mean).abs() <= 1e-9 * mean,
            "{name}.mean"
        );
    }
}

/// The recovery timeline in `out` has every text of `has` and none of `lacks`.
fn timeline_says(out: &std::path::Path, has: &[&str], lacks: &[&str]) {
    let svg = std::fs::read_to_string(out.join("recovery-timeline.svg")).unwrap();
    for text in has {
        assert!(svg.contains(text), "{text} missing");
    }
    for text in lacks {
        assert!(!svg.contains(text), "{text} present");
    }
}

/// Runs a scenario into a folder of its own; returns the folder and its summary.
fn run(scenario: &str, dir: &std::path::Path) -> (std::path::PathBuf, serde_json::Value) {
    let name = std::path::Path::new(scenario)
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap();
    let out = dir.join(name);
    let o = mesosim(&["run", scenario, "--out", out.to_str().unwrap(), "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(out.join("summary.json")).unwrap();
    (out, serde_json::from_str(&text).unwrap())
}

#[test]
fn a_master_crash_and_a_rack_crash_have_their_timeline_and_distributions() {
    let dir = temp_dir("recovery");
    // The leader crashes at 10 min; the next leads about 10 s later and every agent
    // registers with it again.
    let (out, summary) = run("tests/acceptance/fault-crash-master.yaml", &dir);
    let recovery = &summary["recovery"];
    check_distributions(recovery);
    let elect = &recovery["elect_s"];
    assert_eq!(elect["count"], 1);
    assert_eq!(elect["max"], recovery["events"][0]["elect_s"]);
    assert!((10.0..20.0).contains(&elect["p50"].as_f64().unwrap()), "{elect}");
    assert_eq!(recovery["reregistered_s"]["count"], 1);
    assert!(recovery["reregistered_s"]["max"].as_f64().unwrap() >= elect["max"].as_f64().unwrap());
    // Nothing lost, nothing hit: agents and tasks had nothing to recover.
    assert_eq!(recovery["restored_s"]["count"], 0);
    assert_eq!(recovery["tasks_affected"], 0);
    // The master noticed nothing of its own crash but through the election.
    timeline_says(
        &out,
        &[
            "Recovery from faults",
            "#1 master-1",
            "crash_master",
            "next master led",
        ],
        &["master noticed"],
    );
    let png = std::fs::read(out.join("recovery-timeline.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 20_000, "{}", png.len());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("recovery-timeline.png") && html.contains("next master led"));

    // Four machines of a rack crash at 5 min and boot at 15 min: the master notices after
    // five missed pings, the tasks run again elsewhere, the machines come back.
    let (out, summary) = run("tests/acceptance/fault-crash-rack.yaml", &dir);
    let recovery = &summary["recovery"];
    check_distributions(recovery);
    let fault = &recovery["events"][0];
    assert_eq!(recovery["detect_s"]["max"], fault["detect_s"]);
    assert_eq!(recovery["restored_s"]["max"], fault["restored_s"]);
    assert_eq!(recovery["recovered_s"]["p50"], fault["recovered_s"]);
    assert!(fault["restored_s"].as_f64().unwrap() >= 600.0, "{fault}");
    timeline_says(
        &out,
        &[
            "#1 rack-1: 4 agents",
            "cpus out",
            "tasks hit",
            "master noticed",
            "hit tasks all ran again",
        ],
        &["a hit task never did", "next master led"],
    );

    // Without faults, no timeline and no distributions: the summary reads as before.
    let (out, summary) = run("tests/acceptance/drf-paper.yaml", &dir);
    assert_eq!(summary["recovery"]["faults"], 0);
    let keys: Vec<&String> = summary["recovery"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "capacity_lost",
            "detect_s_max",
            "events",
            "faults",
            "recovered_s_max",
            "tasks_affected",
            "tasks_unrecovered"
        ]
    );
    assert!(!out.join("recovery-timeline.png").exists() && !out.join("recovery-timeline.svg").exists());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!html.contains("recovery-timeline"));
}
