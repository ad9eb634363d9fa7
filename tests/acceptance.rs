//! Acceptance scenarios: each `tests/acceptance/<name>.yaml` runs end to end (master,
//! agents, frameworks, network) and `<name>.expect.yaml` says what its report must show.
//!
//! Checks an expectation file may hold:
//!
//! ```yaml
//! offers_start: [framework1@agent1, framework2@agent2]   # the first offers, in order
//! offer_counts:                                           # offers per framework in [from, to) s
//!   - { from: 30, to: 31, counts: { framework1: 3, framework2: 3 } }
//! offer_gaps:                                             # seconds between one framework's offers
//!   - { framework: f, from: 0, to: 20, min: 2, max: 3 }
//! held:                                                   # tasks still running at the end
//!   A: { count: 3, resources: "cpus:3;mem:12288" }
//! never_offered: [agent3]                                 # agents no offer ever named
//! task_states:                                            # tasks.csv rows per state, exact
//!   A: { TASK_RUNNING: 3, QUEUED: 17 }
//! summary:                                                # a subset of summary.json, exact
//!   tasks: { launched: 5 }
//! summary_min: { utilisation: { cpus: { allocated_mean: 0.7 } } }   # lower bounds
//! summary_max: { queue_delay_s: { p99: 5 } }                        # upper bounds
//! # Lists match element by element: `summary` needs the same length, bounds cover the
//! # first elements (`null` skips one).
//! summary_max: { recovery: { events: [null, { detect_s: 76 }] } }
//! sets: ["duration=10m"]                                  # --set overrides for the check
//! ```
//!
//! Bundled scenarios (`scenarios/<name>.yaml`) are checked the same way against
//! `tests/acceptance/bundled/<name>.expect.yaml`; every bundled scenario must have one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mesosim::resources::Resources;
use mesosim::scenario::{self, de, yaml};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[serde(default)]
    offers_start: Vec<String>,
    #[serde(default)]
    offer_counts: Vec<OfferCount>,
    #[serde(default)]
    offer_gaps: Vec<OfferGap>,
    #[serde(default)]
    held: BTreeMap<String, Held>,
    #[serde(default)]
    never_offered: Vec<String>,
    #[serde(default)]
    task_states: BTreeMap<String, BTreeMap<String, usize>>,
    #[serde(default)]
    summary: Option<serde_json::Value>,
    #[serde(default)]
    summary_min: Option<serde_json::Value>,
    #[serde(default)]
    summary_max: Option<serde_json::Value>,
    /// Overrides applied to the scenario for the check (a long bundled scenario is checked
    /// over a prefix).
    #[serde(default)]
    sets: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OfferCount {
    from: f64,
    to: f64,
    counts: BTreeMap<String, u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OfferGap {
    framework: String,
    from: f64,
    to: f64,
    min: f64,
    max: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Held {
    count: usize,
    #[serde(default)]
    resources: Option<String>,
}

struct OfferRow {
    time: f64,
    framework: String,
    agent: String,
}

fn read_offers(dir: &Path) -> Vec<OfferRow> {
    let mut reader = csv::Reader::from_path(dir.join("offers.csv")).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            OfferRow {
                time: r[0].parse().unwrap(),
                framework: r[2].to_owned(),
                agent: r[4].to_owned(),
            }
        })
        .collect()
}

/// Tasks still running at the end: (framework → (count, resources)).
fn read_held(dir: &Path) -> BTreeMap<String, (usize, Resources)> {
    let mut reader = csv::Reader::from_path(dir.join("tasks.csv")).unwrap();
    let mut held: BTreeMap<String, (usize, Resources)> = BTreeMap::new();
    for r in reader.records() {
        let r = r.unwrap();
        if matches!(&r[7], "TASK_RUNNING" | "TASK_STAGING" | "TASK_STARTING") && !r[5].is_empty() {
            let entry = held.entry(r[1].to_owned()).or_default();
            entry.0 += 1;
            entry.1 += &Resources::parse(&r[8]).unwrap();
        }
    }
    held
}

/// Rows of tasks.csv per framework and state.
fn read_states(dir: &Path) -> BTreeMap<String, BTreeMap<String, usize>> {
    let mut reader = csv::Reader::from_path(dir.join("tasks.csv")).unwrap();
    let mut states: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for r in reader.records() {
        let r = r.unwrap();
        *states
            .entry(r[1].to_owned())
            .or_default()
            .entry(r[7].to_owned())
            .or_default() += 1;
    }
    states
}

/// Every number in `bounds` bounds the number at the same path of `actual`: from below
/// (`min`) or above.
fn bounded(
    bounds: &serde_json::Value,
    actual: &serde_json::Value,
    path: &str,
    min: bool,
    errors: &mut Vec<String>,
) {
    match bounds {
        serde_json::Value::Object(b) => {
            for (k, v) in b {
                match actual.get(k) {
                    Some(av) => bounded(v, av, &format!("{path}.{k}"), min, errors),
                    None => errors.push(format!("summary{path}.{k} is missing")),
                }
            }
        }
        // A list bounds the first elements of the actual list, one by one.
        serde_json::Value::Array(b) => {
            let Some(a) = actual.as_array().filter(|a| a.len() >= b.len()) else {
                errors.push(format!(
                    "summary{path} is {actual}, expected a list of at least {}",
                    b.len()
                ));
                return;
            };
            for (i, (bv, av)) in b.iter().zip(a).enumerate() {
                bounded(bv, av, &format!("{path}[{i}]"), min, errors);
            }
        }
        serde_json::Value::Null => {}
        b => {
            let (Some(bound), Some(value)) = (b.as_f64(), actual.as_f64()) else {
                errors.push(format!(
                    "summary{path} is {actual}, expected a number to compare with {b}"
                ));
                return;
            };
            if (min && value < bound) || (!min && value > bound) {
                let word = if min { "at least" } else { "at most" };
                errors.push(format!("summary{path} is {value}, expected {word} {bound}"));
            }
        }
    }
}

/// `expected` must be a subset of `actual` (objects key by key, everything else exactly).
fn subset(expected: &serde_json::Value, actual: &serde_json::Value, path: &str, errors: &mut Vec<String>) {
    match (expected, actual) {
        (serde_json::Value::Object(e), serde_json::Value::Object(a)) => {
            for (k, v) in e {
                match a.get(k) {
                    Some(av) => subset(v, av, &format!("{path}.{k}"), errors),
                    None => errors.push(format!("summary{path}.{k} is missing")),
                }
            }
        }
        // A list must have as many elements, each a subset of its counterpart.
        (serde_json::Value::Array(e), serde_json::Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                subset(ev, av, &format!("{path}[{i}]"), errors);
            }
        }
        (e, a) if e.is_number() && a.is_number() => {
            if (e.as_f64().unwrap() - a.as_f64().unwrap()).abs() > 1e-9 {
                errors.push(format!("summary{path} is {a}, expected {e}"));
            }
        }
        (e, a) => {
            if e != a {
                errors.push(format!("summary{path} is {a}, expected {e}"));
            }
        }
    }
}

fn check(name: &str, scenario_path: &Path, expect_path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(expect_path).unwrap();
    let node = yaml::parse(&text, 0)
        .unwrap_or_else(|e| panic!("{}", e.render(&expect_path.display().to_string(), &[])));
    let expect: Expect = de::from_node(&node)
        .unwrap_or_else(|e| panic!("{}", e.render(&expect_path.display().to_string(), &[])));
    let loaded = scenario::load(scenario_path, &expect.sets).unwrap_or_else(|e| panic!("{name}: {e}"));
    let out = std::env::temp_dir().join(format!("mesosim-acceptance-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let outcome = mesosim::run::run(&loaded.scenario, Some(&out), |_| {})
        .unwrap_or_else(|e| panic!("{name}: the run failed: {e:?}"));
    let offers = read_offers(&out);
    let mut errors = Vec::new();

    let start: Vec<String> = offers
        .iter()
        .take(expect.offers_start.len())
        .map(|o| format!("{}@{}", o.framework, o.agent))
        .collect();
    if start != expect.offers_start {
        errors.push(format!(
            "the first offers are {start:?}, expected {:?}",
            expect.offers_start
        ));
    }
    for c in &expect.offer_counts {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for o in offers.iter().filter(|o| o.time >= c.from && o.time < c.to) {
            *counts.entry(o.framework.clone()).or_default() += 1;
        }
        if counts != c.counts {
            errors.push(format!(
                "offers in [{}, {}) s are {counts:?}, expected {:?}",
                c.from, c.to, c.counts
            ));
        }
    }
    for g in &expect.offer_gaps {
        let times: Vec<f64> = offers
            .iter()
            .filter(|o| o.framework == g.framework && o.time >= g.from && o.time < g.to)
            .map(|o| o.time)
            .collect();
        if times.len() < 2 {
            errors.push(format!(
                "{} got {} offers in [{}, {}) s: too few to measure gaps",
                g.framework,
                times.len(),
                g.from,
                g.to
            ));
        }
        for w in times.windows(2) {
            let gap = w[1] - w[0];
            if gap < g.min || gap > g.max {
                errors.push(format!(
                    "{} was offered at {} s and then {} s: a gap of {gap:.3} s, expected [{}, {}]",
                    g.framework, w[0], w[1], g.min, g.max
                ));
            }
        }
    }
    let held = read_held(&out);
    for (framework, h) in &expect.held {
        let (count, resources) = held.get(framework).cloned().unwrap_or_default();
        if count != h.count {
            errors.push(format!(
                "{framework} ends with {count} running tasks, expected {}",
                h.count
            ));
        }
        if let Some(r) = &h.resources {
            let expected = Resources::parse(r).unwrap();
            if resources != expected {
                errors.push(format!(
                    "{framework} ends holding {resources}, expected {expected}"
                ));
            }
        }
    }
    let states = read_states(&out);
    for (framework, expected) in &expect.task_states {
        let actual = states.get(framework).cloned().unwrap_or_default();
        if &actual != expected {
            errors.push(format!(
                "{framework}'s tasks end as {actual:?}, expected {expected:?}"
            ));
        }
    }
    for agent in &expect.never_offered {
        if offers.iter().any(|o| &o.agent == agent) {
            errors.push(format!("{agent} was offered, expected never"));
        }
    }
    let actual: serde_json::Value = serde_json::from_slice(&outcome.summary.to_json()).unwrap();
    if let Some(expected) = &expect.summary {
        subset(expected, &actual, "", &mut errors);
    }
    if let Some(bounds) = &expect.summary_min {
        bounded(bounds, &actual, "", true, &mut errors);
    }
    if let Some(bounds) = &expect.summary_max {
        bounded(bounds, &actual, "", false, &mut errors);
    }
    let _ = std::fs::remove_dir_all(&out);
    errors
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.to_str()
                .is_some_and(|s| s.ends_with(".yaml") && !s.ends_with(".expect.yaml"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn acceptance_scenarios_produce_their_expected_outcomes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/acceptance");
    let scenarios = yaml_files(&dir);
    assert!(
        scenarios.len() >= 12,
        "acceptance scenarios went missing: {scenarios:?}"
    );
    let mut failures = Vec::new();
    for path in &scenarios {
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let expect = dir.join(format!("{name}.expect.yaml"));
        assert!(expect.exists(), "{name} has no {name}.expect.yaml");
        for e in check(&name, path, &expect) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn bundled_scenarios_produce_their_expected_figures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let expectations = root.join("tests/acceptance/bundled");
    let mut failures = Vec::new();
    for path in yaml_files(&root.join("scenarios")) {
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let expect = expectations.join(format!("{name}.expect.yaml"));
        assert!(
            expect.exists(),
            "the bundled scenario {name} has no tests/acceptance/bundled/{name}.expect.yaml"
        );
        for e in check(&name, &path, &expect) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
