//! The CI quality gate: a run's `summary.json` against a baseline's, metric by metric.
//!
//! Every numeric leaf of the two summaries is a metric named by its dotted path
//! (`queue_delay_s.p99`, `utilisation.cpus.allocated_mean`). A [`Rule`] says which way is
//! better and how far a metric may move the wrong way before it counts as a regression: the
//! larger of a relative and an absolute slack, so that a metric near zero does not trip on
//! noise. Metrics without a rule (event counts, digests, network counts) are shown when they
//! move but never fail the gate. Defaults are in [`default_rules`]; a gate file or
//! `--tolerance` overrides them per metric or per pattern (`*` matches one path segment).

use std::collections::BTreeMap;
use std::fmt;

/// Which way a metric should move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
}

/// How far a metric may move the wrong way: the larger of `relative × |baseline|` and
/// `absolute`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    pub relative: f64,
    pub absolute: f64,
}

impl Tolerance {
    fn slack(&self, baseline: f64) -> f64 {
        (self.relative * baseline.abs()).max(self.absolute)
    }

    /// Parses `5%` (relative), `0.25` (absolute), or both as `5%+0.25`.
    pub fn parse(text: &str) -> Result<Tolerance, String> {
        let mut t = Tolerance {
            relative: 0.0,
            absolute: 0.0,
        };
        for part in text.split('+') {
            let part = part.trim();
            let bad = || format!("expected a tolerance like 5%, 0.25 or 5%+0.25, found {text:?}");
            if let Some(pct) = part.strip_suffix('%') {
                let v: f64 = pct.trim().parse().map_err(|_| bad())?;
                if !(v.is_finite() && v >= 0.0) {
                    return Err(bad());
                }
                t.relative = v / 100.0;
            } else {
                let v: f64 = part.parse().map_err(|_| bad())?;
                if !(v.is_finite() && v >= 0.0) {
                    return Err(bad());
                }
                t.absolute = v;
            }
        }
        Ok(t)
    }
}

impl fmt::Display for Tolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.relative > 0.0, self.absolute > 0.0) {
            (true, true) => write!(f, "{}%+{}", self.relative * 100.0, self.absolute),
            (true, false) => write!(f, "{}%", self.relative * 100.0),
            (false, _) => write!(f, "{}", self.absolute),
        }
    }
}

/// What the gate does with a metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rule {
    /// Fails the gate if it moves the wrong way by more than the tolerance.
    Gated(Direction, Tolerance),
    /// Shown when it moves; never fails the gate.
    Ignored,
}

/// Rules by pattern, the most specific (fewest `*`) winning, then the latest added.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    patterns: Vec<(String, Rule)>,
}

impl Rules {
    pub fn set(&mut self, pattern: &str, rule: Rule) {
        self.patterns.retain(|(p, _)| p != pattern);
        self.patterns.push((pattern.to_owned(), rule));
    }

    /// Replaces the tolerance of the rules `pattern` selects (keeping their direction), or
    /// of the metric `pattern` names.
    pub fn set_tolerance(&mut self, pattern: &str, tolerance: Tolerance) -> Result<(), String> {
        let direction = match self.rule(pattern) {
            Some(Rule::Gated(d, _)) => d,
            _ => {
                return Err(format!(
                    "{pattern:?} is not a gated metric: give its direction in a gate file"
                ));
            }
        };
        self.set(pattern, Rule::Gated(direction, tolerance));
        Ok(())
    }

    /// The rule for metric `path`, if any.
    pub fn rule(&self, path: &str) -> Option<Rule> {
        self.patterns
            .iter()
            .enumerate()
            .filter(|(_, (p, _))| matches(p, path))
            .min_by_key(|(i, (p, _))| (p.matches('*').count(), std::cmp::Reverse(*i)))
            .map(|(_, (_, r))| *r)
    }
}

/// Whether `pattern` (segments separated by `.`, `*` matching any one segment) matches
/// `path`.
fn matches(pattern: &str, path: &str) -> bool {
    let mut p = pattern.split('.');
    let mut s = path.split('.');
    loop {
        match (p.next(), s.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == "*" || a == b => {}
            _ => return false,
        }
    }
}

/// The defaults: scheduling quality as a planner reads it.
pub fn default_rules() -> Rules {
    use Direction::{HigherIsBetter, LowerIsBetter};
    let t = |relative: f64, absolute: f64| Tolerance { relative, absolute };
    let mut r = Rules::default();
    // More of the cluster put to use is better; a point of utilisation is a real change.
    r.set(
        "utilisation.*.allocated_mean",
        Rule::Gated(HigherIsBetter, t(0.02, 0.005)),
    );
    r.set(
        "utilisation.*.used_mean",
        Rule::Gated(HigherIsBetter, t(0.02, 0.005)),
    );
    // Tasks waiting longer is worse; delays under 10 ms are noise.
    r.set("queue_delay_s.*", Rule::Gated(LowerIsBetter, t(0.10, 0.01)));
    r.set("queue_delay_s.count", Rule::Gated(HigherIsBetter, t(0.01, 0.0)));
    r.set("tasks.launched", Rule::Gated(HigherIsBetter, t(0.01, 0.0)));
    r.set("tasks.finished", Rule::Gated(HigherIsBetter, t(0.01, 0.0)));
    // Tasks ending badly: a handful more is noise between seeds.
    for bad in ["failed", "lost", "error", "dropped"] {
        r.set(&format!("tasks.{bad}"), Rule::Gated(LowerIsBetter, t(0.10, 5.0)));
    }
    r.set("tasks.all_launched_s", Rule::Gated(LowerIsBetter, t(0.05, 1.0)));
    r.set("offers.rescinded", Rule::Gated(LowerIsBetter, t(0.05, 0.0)));
    // Finished tasks slowed down more, jobs taking longer, the whole workload taking longer.
    r.set("tasks.slowdown.*", Rule::Gated(LowerIsBetter, t(0.10, 0.01)));
    r.set("tasks.slowdown.count", Rule::Ignored);
    r.set("tasks.makespan_s", Rule::Gated(LowerIsBetter, t(0.05, 1.0)));
    r.set("jobs.completed", Rule::Gated(HigherIsBetter, t(0.01, 0.0)));
    r.set("jobs.completion_s.*", Rule::Gated(LowerIsBetter, t(0.10, 0.01)));
    r.set("jobs.completion_s.count", Rule::Ignored);
    // Frameworks waiting longer for an offer once they have work.
    r.set(
        "offers.demand_to_offer_s.*",
        Rule::Gated(LowerIsBetter, t(0.10, 0.01)),
    );
    r.set("offers.demand_to_offer_s.count", Rule::Ignored);
    // Fairness: roles kept further from what they are entitled to.
    r.set(
        "fairness.jain_dominant_share",
        Rule::Gated(HigherIsBetter, t(0.02, 0.01)),
    );
    r.set(
        "fairness.jain_entitled",
        Rule::Gated(HigherIsBetter, t(0.01, 0.005)),
    );
    r.set(
        "fairness.below_fair_share_s",
        Rule::Gated(LowerIsBetter, t(0.10, 5.0)),
    );
    r
}

/// Every numeric leaf of `v` by its dotted path, in path order. Array elements are named
/// by index.
pub fn flatten(v: &serde_json::Value) -> BTreeMap<String, f64> {
    fn walk(v: &serde_json::Value, path: &mut String, out: &mut BTreeMap<String, f64>) {
        match v {
            serde_json::Value::Number(n) => {
                if let Some(x) = n.as_f64() {
                    out.insert(path.clone(), x);
                }
            }
            serde_json::Value::Object(map) => {
                for (k, child) in map {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                    walk(child, path, out);
                    path.truncate(len);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(&i.to_string());
                    walk(child, path, out);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    walk(v, &mut String::new(), &mut out);
    out
}

/// An ungated metric counts as moved when it changes by more than this fraction.
const MOVED: f64 = 0.005;

/// How one metric compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within its tolerance (or unchanged).
    Same,
    /// Beyond its tolerance, the good way.
    Better,
    /// Beyond its tolerance, the bad way: fails the gate.
    Worse,
    /// Gated in the baseline, absent from the run: fails the gate.
    Missing,
    /// Not gated, and changed by more than half a percent (or appeared, or vanished).
    Moved,
}

impl Verdict {
    /// Whether this verdict fails the gate.
    pub fn fails(self) -> bool {
        matches!(self, Verdict::Worse | Verdict::Missing)
    }
}

#[derive(Clone, Debug)]
pub struct Row {
    pub metric: String,
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    pub rule: Rule,
    pub verdict: Verdict,
}

/// Compares every metric of `current` with `baseline`.
pub fn compare(baseline: &BTreeMap<String, f64>, current: &BTreeMap<String, f64>, rules: &Rules) -> Vec<Row> {
    let mut names: Vec<&String> = baseline.keys().chain(current.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let (b, c) = (baseline.get(name).copied(), current.get(name).copied());
            let rule = rules.rule(name).unwrap_or(Rule::Ignored);
            let verdict = match (rule, b, c) {
                (Rule::Gated(..), Some(_), None) => Verdict::Missing,
                (Rule::Gated(direction, tolerance), Some(b), Some(c)) => {
                    let slack = tolerance.slack(b);
                    let gain = match direction {
                        Direction::HigherIsBetter => c - b,
                        Direction::LowerIsBetter => b - c,
                    };
                    if gain < -slack {
                        Verdict::Worse
                    } else if gain > slack {
                        Verdict::Better
                    } else {
                        Verdict::Same
                    }
                }
                (_, Some(b), Some(c)) if (c - b).abs() <= MOVED * b.abs() => Verdict::Same,
                _ if b == c => Verdict::Same,
                _ => Verdict::Moved,
            };
            Row {
                metric: name.clone(),
                baseline: b,
                current: c,
                rule,
                verdict,
            }
        })
        .collect()
}

/// True if any row fails the gate.
pub fn failed(rows: &[Row]) -> bool {
    rows.iter().any(|r| r.verdict.fails())
}

/// A value as a reader wants it: up to six decimals, trailing zeros dropped; tiny values in
/// scientific notation rather than as 0.
fn number(x: f64) -> String {
    if x != 0.0 && x.abs() < 1e-3 {
        return format!("{x:.3e}");
    }
    let s = format!("{x:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A plain-text table of the rows worth reading: every gated metric that moved beyond its
/// tolerance, every ungated metric that moved (with `all`, every row).
pub fn render(rows: &[Row], all: bool) -> String {
    let shown: Vec<&Row> = rows
        .iter()
        .filter(|r| all || r.verdict != Verdict::Same)
        .collect();
    let num = |v: Option<f64>| v.map_or("-".to_owned(), number);
    let mut lines = vec![[
        "metric".to_owned(),
        "baseline".to_owned(),
        "current".to_owned(),
        "change".to_owned(),
        "better if".to_owned(),
        "tolerance".to_owned(),
        "verdict".to_owned(),
    ]];
    for r in &shown {
        let change = match (r.baseline, r.current) {
            (Some(b), Some(c)) if b != 0.0 => format!("{:+.1}%", (c - b) / b.abs() * 100.0),
            (Some(b), Some(c)) => format!("{:+}", c - b),
            _ => "-".to_owned(),
        };
        let (better, tolerance) = match r.rule {
            Rule::Gated(Direction::HigherIsBetter, t) => ("higher".to_owned(), t.to_string()),
            Rule::Gated(Direction::LowerIsBetter, t) => ("lower".to_owned(), t.to_string()),
            Rule::Ignored => ("-".to_owned(), "not gated".to_owned()),
        };
        let verdict = match r.verdict {
            Verdict::Same => "ok",
            Verdict::Better => "better",
            Verdict::Worse => "WORSE",
            Verdict::Missing => "MISSING",
            Verdict::Moved => "moved",
        };
        lines.push([
            r.metric.clone(),
            num(r.baseline),
            num(r.current),
            change,
            better,
            tolerance,
            verdict.to_owned(),
        ]);
    }
    let mut widths = [0usize; 7];
    for line in &lines {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    if shown.is_empty() {
        out.push_str("every metric within its tolerance\n");
    } else {
        for line in &lines {
            let cells: Vec<String> = line
                .iter()
                .zip(widths)
                .enumerate()
                .map(|(i, (cell, w))| {
                    if i == 0 {
                        format!("{cell:<w$}")
                    } else {
                        format!("{cell:>w$}")
                    }
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
    }
    let gated = rows.iter().filter(|r| matches!(r.rule, Rule::Gated(..))).count();
    let worse = rows.iter().filter(|r| r.verdict.fails()).count();
    let better = rows.iter().filter(|r| r.verdict == Verdict::Better).count();
    out.push_str(&format!(
        "{gated} gated metrics: {worse} worse, {better} better, {} within tolerance\n",
        gated - worse - better
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    #[test]
    fn flatten_names_numeric_leaves_by_path() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{"seed": 7, "name": "x", "tasks": {"launched": 10, "all_launched_s": null},
                "utilisation": {"cpus": {"allocated_mean": 0.5}}, "list": [1, {"a": 2}]}"#,
        )
        .unwrap();
        let f = flatten(&v);
        assert_eq!(
            f,
            metrics(&[
                ("list.0", 1.0),
                ("list.1.a", 2.0),
                ("seed", 7.0),
                ("tasks.launched", 10.0),
                ("utilisation.cpus.allocated_mean", 0.5),
            ])
        );
    }

    #[test]
    fn patterns_match_whole_segments_and_the_most_specific_wins() {
        assert!(matches("queue_delay_s.*", "queue_delay_s.p99"));
        assert!(!matches("queue_delay_s.*", "queue_delay_s.p99.x"));
        assert!(!matches("queue_delay_s", "queue_delay_s.p99"));
        let r = default_rules();
        assert_eq!(
            r.rule("queue_delay_s.count"),
            Some(Rule::Gated(
                Direction::HigherIsBetter,
                Tolerance {
                    relative: 0.01,
                    absolute: 0.0
                }
            ))
        );
        assert!(matches!(
            r.rule("queue_delay_s.p99"),
            Some(Rule::Gated(Direction::LowerIsBetter, _))
        ));
        assert_eq!(r.rule("events"), None);
    }

    #[test]
    fn verdicts_follow_direction_and_slack() {
        let rules = default_rules();
        let base = metrics(&[
            ("queue_delay_s.p99", 10.0),
            ("utilisation.cpus.allocated_mean", 0.50),
            ("tasks.launched", 1000.0),
            ("events", 5.0),
        ]);
        // p99 +5% is within 10%; utilisation -0.004 is within the 0.005 floor.
        let same = metrics(&[
            ("queue_delay_s.p99", 10.5),
            ("utilisation.cpus.allocated_mean", 0.496),
            ("tasks.launched", 1000.0),
            ("events", 5.0),
        ]);
        let rows = compare(&base, &same, &rules);
        assert!(rows.iter().all(|r| r.verdict == Verdict::Same), "{rows:?}");
        assert!(!failed(&rows));
        // p99 +20%: worse; utilisation +0.1: better; events moved but not gated.
        let moved = metrics(&[
            ("queue_delay_s.p99", 12.0),
            ("utilisation.cpus.allocated_mean", 0.60),
            ("events", 9.0),
        ]);
        let rows = compare(&base, &moved, &rules);
        let verdict = |m: &str| rows.iter().find(|r| r.metric == m).unwrap().verdict;
        assert_eq!(verdict("queue_delay_s.p99"), Verdict::Worse);
        assert_eq!(verdict("utilisation.cpus.allocated_mean"), Verdict::Better);
        assert_eq!(verdict("tasks.launched"), Verdict::Missing);
        assert_eq!(verdict("events"), Verdict::Moved);
        assert!(failed(&rows));
        let table = render(&rows, false);
        assert!(table.contains("WORSE") && table.contains("+20.0%"), "{table}");
        assert!(table.contains("2 worse, 1 better"), "{table}");
    }

    #[test]
    fn numbers_print_short_and_never_hide_a_tiny_value() {
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(1_841_783_095.0), "1841783095");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(0.000_012_5), "1.250e-5");
    }

    #[test]
    fn tolerances_parse_and_override() {
        assert_eq!(
            Tolerance::parse("5%+0.25"),
            Ok(Tolerance {
                relative: 0.05,
                absolute: 0.25
            })
        );
        assert!(Tolerance::parse("five").is_err());
        assert!(Tolerance::parse("-1%").is_err());
        let mut rules = default_rules();
        rules
            .set_tolerance("queue_delay_s.p99", Tolerance::parse("50%").unwrap())
            .unwrap();
        let rows = compare(
            &metrics(&[("queue_delay_s.p99", 10.0)]),
            &metrics(&[("queue_delay_s.p99", 14.0)]),
            &rules,
        );
        assert_eq!(rows[0].verdict, Verdict::Same);
        assert!(
            rules
                .set_tolerance("events", Tolerance::parse("1%").unwrap())
                .is_err()
        );
    }
}
