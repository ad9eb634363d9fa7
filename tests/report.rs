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
    for stem in ["utilisation", "shares", "tasks", "queue-delay", "agents-heatmap"] {
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
    assert!(html.matches("<svg").count() >= 5);
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
