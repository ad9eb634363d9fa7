//! How far a simulation predicts a live run of the same scenario (`mesosim live compare`):
//! task by task, from the two runs' `tasks.csv`, and summary figure by summary figure.
//!
//! Tasks are matched by framework and task id: both runs number each framework's tasks in
//! submission order, and the submissions are the same draws from the same seed.
//!
//! - **Placement**: a task launched in both runs agrees if it ran on the same agent
//!   (agents are named by machine, and registered in the same order in both runs).
//! - **End time**: a task that ended in both agrees if the live end is within
//!   [`END_TOLERANCE`] of the task's simulated time in the system (submission to end), or
//!   within [`END_FLOOR_WALL_S`] of wall time (scaled to scenario time), whichever is
//!   larger: a process takes milliseconds to start and to be seen exiting, which no
//!   fraction of a short task's time covers.
//!
//! The target ([`PLACEMENT_TARGET`], [`END_TARGET`]) is met when that many of the tasks
//! agree. Where they differ, [`Fidelity::reasons`] says by how much and what the
//! differences look like: launches later or earlier (offers came at another time), or runs
//! longer (the cost of real processes).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

/// A task's end agrees within this fraction of its simulated time in the system.
pub const END_TOLERANCE: f64 = 0.10;
/// ... or within this much wall time, whichever is larger.
pub const END_FLOOR_WALL_S: f64 = 0.25;
/// The share of tasks launched in both runs that must run on the same agent.
pub const PLACEMENT_TARGET: f64 = 0.95;
/// The share of tasks ended in both runs whose end must agree.
pub const END_TARGET: f64 = 0.95;

/// One row of a `tasks.csv`, as fidelity needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskRow {
    pub agent: String,
    pub submit_s: f64,
    pub launch_s: Option<f64>,
    pub end_s: Option<f64>,
    pub state: String,
}

/// The tasks of a `tasks.csv` by (framework, task id).
pub type Tasks = BTreeMap<(String, u64), TaskRow>;

/// Reads a report's `tasks.csv`.
pub fn read_tasks(path: &Path) -> Result<Tasks, String> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let headers = reader
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("{}: no column {name}", path.display()))
    };
    let [id, framework, agent, submit, launch, end, state] = [
        "task_id",
        "framework",
        "agent",
        "submit_s",
        "launch_s",
        "end_s",
        "state",
    ]
    .map(column);
    let (id, framework, agent, submit, launch, end, state) =
        (id?, framework?, agent?, submit?, launch?, end?, state?);
    let mut tasks = Tasks::new();
    for (row, record) in reader.records().enumerate() {
        let at = |e: String| format!("{}: row {}: {e}", path.display(), row + 2);
        let record = record.map_err(|e| at(e.to_string()))?;
        let field = |i: usize| record.get(i).unwrap_or("");
        let time = |i: usize| -> Result<Option<f64>, String> {
            match field(i) {
                "" => Ok(None),
                text => text
                    .parse()
                    .map(Some)
                    .map_err(|_| at(format!("{text:?} is not a time"))),
            }
        };
        let task_id: u64 = field(id)
            .parse()
            .map_err(|_| at(format!("{:?} is not a task id", field(id))))?;
        let task = TaskRow {
            agent: field(agent).to_owned(),
            submit_s: time(submit)?.unwrap_or(0.0),
            launch_s: time(launch)?,
            end_s: time(end)?,
            state: field(state).to_owned(),
        };
        tasks.insert((field(framework).to_owned(), task_id), task);
    }
    Ok(tasks)
}

/// Quantiles of absolute differences, in scenario seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Spread {
    pub count: u64,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    /// Mean of the signed differences (live minus simulated): positive, live is later.
    pub mean_signed: f64,
}

impl Spread {
    fn of(signed: &[f64]) -> Spread {
        if signed.is_empty() {
            return Spread::default();
        }
        let mut abs: Vec<f64> = signed.iter().map(|d| d.abs()).collect();
        abs.sort_by(f64::total_cmp);
        let q = |p: f64| abs[((abs.len() - 1) as f64 * p).round() as usize];
        Spread {
            count: abs.len() as u64,
            p50: q(0.5),
            p99: q(0.99),
            max: abs[abs.len() - 1],
            mean_signed: signed.iter().sum::<f64>() / signed.len() as f64,
        }
    }
}

/// One summary figure of both runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Figure {
    pub name: String,
    pub simulated: Option<f64>,
    pub live: Option<f64>,
}

/// `fidelity.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fidelity {
    pub schema: &'static str,
    pub scenario: String,
    pub time_scale: f64,
    pub tasks_simulated: u64,
    pub tasks_live: u64,
    /// Tasks launched in both runs, and the share of them on the same agent.
    pub launched_both: u64,
    pub placement_agreement: f64,
    /// Tasks ended in both runs, and the share whose ends agree.
    pub ended_both: u64,
    pub end_agreement: f64,
    pub launch_diff_s: Spread,
    pub end_diff_s: Spread,
    /// Run time (launch to end) live minus simulated.
    pub run_time_diff_s: Spread,
    /// Tasks launched in one run only.
    pub launched_simulated_only: u64,
    pub launched_live_only: u64,
    pub placement_target: f64,
    pub end_target: f64,
    pub passed: bool,
    pub reasons: Vec<String>,
    pub figures: Vec<Figure>,
}

impl Fidelity {
    pub fn to_json(&self) -> Vec<u8> {
        let mut json = serde_json::to_vec_pretty(self).expect("fidelity serializes");
        json.push(b'\n');
        json
    }
}

/// Compares the live run's tasks (and summary) with the simulation's.
pub fn compare(scenario: &str, time_scale: f64, sim: &Tasks, live: &Tasks, figures: Vec<Figure>) -> Fidelity {
    let floor_s = END_FLOOR_WALL_S * time_scale;
    let (mut launched_both, mut same_agent, mut ended_both, mut ends_agree) = (0u64, 0u64, 0u64, 0u64);
    let (mut launch_d, mut end_d, mut run_d) = (Vec::new(), Vec::new(), Vec::new());
    let (mut sim_only, mut live_only) = (0u64, 0u64);
    let mut moved: Vec<(String, u64)> = Vec::new();
    for (key, s) in sim {
        let l = live.get(key);
        match (s.launch_s, l.and_then(|l| l.launch_s)) {
            (Some(sl), Some(ll)) => {
                let l = l.expect("launched live");
                launched_both += 1;
                if s.agent == l.agent {
                    same_agent += 1;
                } else {
                    moved.push(key.clone());
                }
                launch_d.push(ll - sl);
                if let (Some(se), Some(le)) = (s.end_s, l.end_s) {
                    ended_both += 1;
                    let tolerance = (END_TOLERANCE * (se - s.submit_s)).max(floor_s);
                    if (le - se).abs() <= tolerance {
                        ends_agree += 1;
                    }
                    end_d.push(le - se);
                    run_d.push((le - ll) - (se - sl));
                }
            }
            (Some(_), None) => sim_only += 1,
            (None, Some(_)) => live_only += 1,
            (None, None) => {}
        }
    }
    live_only += live
        .iter()
        .filter(|(k, l)| l.launch_s.is_some() && !sim.contains_key(*k))
        .count() as u64;
    let share = |n: u64, of: u64| if of == 0 { 1.0 } else { n as f64 / of as f64 };
    let placement_agreement = share(same_agent, launched_both);
    let end_agreement = share(ends_agree, ended_both);
    let mut f = Fidelity {
        schema: "mesosim.fidelity/1",
        scenario: scenario.to_owned(),
        time_scale,
        tasks_simulated: sim.len() as u64,
        tasks_live: live.len() as u64,
        launched_both,
        placement_agreement,
        ended_both,
        end_agreement,
        launch_diff_s: Spread::of(&launch_d),
        end_diff_s: Spread::of(&end_d),
        run_time_diff_s: Spread::of(&run_d),
        launched_simulated_only: sim_only,
        launched_live_only: live_only,
        placement_target: PLACEMENT_TARGET,
        end_target: END_TARGET,
        passed: launched_both > 0 && placement_agreement >= PLACEMENT_TARGET && end_agreement >= END_TARGET,
        reasons: Vec::new(),
        figures,
    };
    f.reasons = reasons(&f, &moved, floor_s);
    f
}

/// What the differences look like, in words.
fn reasons(f: &Fidelity, moved: &[(String, u64)], floor_s: f64) -> Vec<String> {
    let mut out = Vec::new();
    if f.launched_both == 0 {
        out.push("no task launched in both runs: nothing to compare".into());
        return out;
    }
    if !moved.is_empty() {
        let first: Vec<String> = moved
            .iter()
            .take(5)
            .map(|(fw, id)| format!("{fw}/{id}"))
            .collect();
        out.push(format!(
            "{} of {} tasks ran on another agent (first: {}): a launch or an offer came at another time, \
             so another agent had room first",
            moved.len(),
            f.launched_both,
            first.join(", ")
        ));
    }
    let l = f.launch_diff_s;
    if l.p99 > floor_s {
        out.push(format!(
            "launches differ by {:.3} s at the median and {:.3} s at p99 (live {} on average): \
             offers follow the allocation timer, and a task that misses one waits for the next",
            l.p50,
            l.p99,
            if l.mean_signed >= 0.0 { "later" } else { "earlier" }
        ));
    }
    let r = f.run_time_diff_s;
    if r.count > 0 {
        out.push(format!(
            "tasks ran {:+.3} s longer live on average (p99 {:.3} s): starting a process, and \
             seeing it exit (the agent polls every millisecond), cost what the simulation does not model",
            r.mean_signed, r.p99
        ));
    }
    if f.launched_simulated_only + f.launched_live_only > 0 {
        out.push(format!(
            "{} tasks launched only in the simulation and {} only live, by the scenario's end",
            f.launched_simulated_only, f.launched_live_only
        ));
    }
    out
}

/// The summary figures compared side by side, by their path in `summary.json`.
pub const FIGURES: &[&str] = &[
    "tasks.submitted",
    "tasks.launched",
    "tasks.finished",
    "tasks.failed",
    "tasks.lost",
    "tasks.makespan_s",
    "queue_delay_s.p50",
    "queue_delay_s.p99",
    "utilisation.cpus.allocated_mean",
    "utilisation.mem.allocated_mean",
    "fairness.jain_dominant_share",
    "offers.made",
];

/// The [`FIGURES`] of two summaries.
pub fn figures(sim: &serde_json::Value, live: &serde_json::Value) -> Vec<Figure> {
    let get = |v: &serde_json::Value, path: &str| {
        path.split('.')
            .try_fold(v, |v, key| v.get(key))
            .and_then(serde_json::Value::as_f64)
    };
    FIGURES
        .iter()
        .map(|&name| Figure {
            name: name.to_owned(),
            simulated: get(sim, name),
            live: get(live, name),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(agent: &str, submit: f64, launch: f64, end: f64) -> TaskRow {
        TaskRow {
            agent: agent.into(),
            submit_s: submit,
            launch_s: Some(launch),
            end_s: Some(end),
            state: "TASK_FINISHED".into(),
        }
    }

    fn tasks(rows: Vec<(u64, TaskRow)>) -> Tasks {
        rows.into_iter()
            .map(|(id, r)| (("f".to_owned(), id), r))
            .collect()
    }

    #[test]
    fn identical_runs_agree_entirely() {
        let t = tasks(vec![(0, row("a", 0.0, 1.0, 11.0)), (1, row("b", 0.0, 1.0, 5.0))]);
        let f = compare("s", 1.0, &t, &t, vec![]);
        assert_eq!((f.placement_agreement, f.end_agreement), (1.0, 1.0));
        assert!(f.passed);
        assert_eq!(f.end_diff_s.max, 0.0);
    }

    #[test]
    fn moved_tasks_and_late_ends_count_against_the_target() {
        let sim = tasks(vec![
            (0, row("a", 0.0, 1.0, 11.0)),
            (1, row("a", 0.0, 1.0, 11.0)),
            (2, row("b", 0.0, 1.0, 3.0)),
        ]);
        let live = tasks(vec![
            // Within 10 % of 11 s.
            (0, row("a", 0.0, 1.05, 12.0)),
            // On another agent.
            (1, row("b", 0.0, 1.0, 11.0)),
            // 3 s in the system: 10 % is 0.3 s; 0.5 s late is beyond it.
            (2, row("b", 0.0, 1.0, 3.5)),
        ]);
        let f = compare("s", 1.0, &sim, &live, vec![]);
        assert_eq!(f.launched_both, 3);
        assert!((f.placement_agreement - 2.0 / 3.0).abs() < 1e-12);
        assert!((f.end_agreement - 2.0 / 3.0).abs() < 1e-12);
        assert!(!f.passed);
        assert!(
            f.reasons
                .iter()
                .any(|r| r.contains("another agent") && r.contains("f/1"))
        );
        assert_eq!(f.end_diff_s.max, 1.0);
    }

    #[test]
    fn the_wall_floor_scales_with_time() {
        let sim = tasks(vec![(0, row("a", 0.0, 0.0, 1.0))]);
        let live = tasks(vec![(0, row("a", 0.0, 0.0, 1.8))]);
        // 0.8 s late: beyond 0.25 s at wall speed, within 0.25 s × 4 at four times.
        assert!(!compare("s", 1.0, &sim, &live, vec![]).passed);
        assert!(compare("s", 4.0, &sim, &live, vec![]).passed);
    }

    #[test]
    fn figures_are_read_by_path() {
        let sim = serde_json::json!({"tasks": {"launched": 3}, "queue_delay_s": {"p50": 0.5}});
        let live = serde_json::json!({"tasks": {"launched": 2}});
        let f = figures(&sim, &live);
        let launched = f.iter().find(|f| f.name == "tasks.launched").unwrap();
        assert_eq!((launched.simulated, launched.live), (Some(3.0), Some(2.0)));
        let p50 = f.iter().find(|f| f.name == "queue_delay_s.p50").unwrap();
        assert_eq!((p50.simulated, p50.live), (Some(0.5), None));
    }
}
