//! `mesosim gate --baseline BASELINE.json SUMMARY.json`: fail (exit 1) when a run's
//! scheduling quality regressed against a baseline; see [`crate::gate`].

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

use super::Failure;
use crate::gate::{self, Direction, Rule, Rules, Tolerance};
use crate::scenario::{de, yaml};

#[derive(Debug, Args)]
pub struct GateArgs {
    /// The baseline's summary.json.
    #[arg(long, value_name = "BASELINE.json")]
    baseline: PathBuf,
    /// The run's summary.json.
    summary: PathBuf,
    /// A gate file (YAML) overriding the default rules per metric or pattern.
    #[arg(long = "gate", value_name = "GATE.yaml")]
    gate_file: Option<PathBuf>,
    /// Override one metric's (or pattern's) tolerance, e.g. queue_delay_s.p99=20% or
    /// utilisation.*.allocated_mean=1%+0.002 (repeatable).
    #[arg(long = "tolerance", value_name = "METRIC=TOLERANCE")]
    tolerances: Vec<String>,
    /// Show every metric, not only those that moved.
    #[arg(long)]
    all: bool,
}

/// A gate file: `metrics: { PATTERN: { better: higher|lower, tolerance: 5%, ignore: false } }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GateFile {
    #[serde(default)]
    metrics: std::collections::BTreeMap<String, MetricSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricSpec {
    better: Option<Better>,
    tolerance: Option<String>,
    #[serde(default)]
    ignore: bool,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Better {
    Higher,
    Lower,
}

pub fn execute(args: &GateArgs) -> Result<(), Failure> {
    let baseline = read_summary(&args.baseline)?;
    let current = read_summary(&args.summary)?;
    for key in ["schema", "scenario"] {
        if baseline.get(key) != current.get(key) {
            return Err(Failure::input(format!(
                "error: {} is {key} {} but {} is {key} {}: a gate compares runs of the same scenario",
                args.baseline.display(),
                baseline.get(key).unwrap_or(&serde_json::Value::Null),
                args.summary.display(),
                current.get(key).unwrap_or(&serde_json::Value::Null),
            )));
        }
    }
    let mut rules = gate::default_rules();
    if let Some(path) = &args.gate_file {
        apply_gate_file(&mut rules, path)?;
    }
    for t in &args.tolerances {
        let (metric, tolerance) = t
            .split_once('=')
            .ok_or_else(|| Failure::input(format!("error: --tolerance {t}: expected METRIC=TOLERANCE")))?;
        let tolerance = Tolerance::parse(tolerance)
            .map_err(|e| Failure::input(format!("error: --tolerance {t}: {e}")))?;
        rules
            .set_tolerance(metric.trim(), tolerance)
            .map_err(|e| Failure::input(format!("error: --tolerance {t}: {e}")))?;
    }
    let rows = gate::compare(&gate::flatten(&baseline), &gate::flatten(&current), &rules);
    print!("{}", gate::render(&rows, args.all));
    if gate::failed(&rows) {
        return Err(Failure {
            code: 1,
            message: format!(
                "gate: {} regressed against {}",
                args.summary.display(),
                args.baseline.display()
            ),
        });
    }
    Ok(())
}

fn read_summary(path: &Path) -> Result<serde_json::Value, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::input(format!("error: {}: cannot read: {e}", path.display())))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Failure::input(format!(
            "error: {}:{}:{}: expected a summary.json: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    if !v.is_object() {
        return Err(Failure::input(format!(
            "error: {}: expected a summary.json (a JSON object)",
            path.display()
        )));
    }
    Ok(v)
}

fn apply_gate_file(rules: &mut Rules, path: &Path) -> Result<(), Failure> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::input(format!("error: {file}: cannot read: {e}")))?;
    let node = yaml::parse(&text, 0).map_err(|e| Failure::input(e.render(&file, &[])))?;
    let gate: GateFile = de::from_node(&node).map_err(|e| Failure::input(e.render(&file, &[])))?;
    for (pattern, spec) in gate.metrics {
        let bad = |why: String| Failure::input(format!("error: {file}: metric {pattern:?}: {why}"));
        if spec.ignore {
            rules.set(&pattern, Rule::Ignored);
            continue;
        }
        let existing = match rules.rule(&pattern) {
            Some(Rule::Gated(d, t)) => Some((d, t)),
            _ => None,
        };
        let direction = match (spec.better, existing) {
            (Some(Better::Higher), _) => Direction::HigherIsBetter,
            (Some(Better::Lower), _) => Direction::LowerIsBetter,
            (None, Some((d, _))) => d,
            (None, None) => {
                return Err(bad(
                    "not gated by default: say `better: higher` or `better: lower`".into(),
                ));
            }
        };
        let tolerance = match (&spec.tolerance, existing) {
            (Some(t), _) => Tolerance::parse(t).map_err(bad)?,
            (None, Some((_, t))) => t,
            (None, None) => return Err(bad("not gated by default: give its `tolerance`".into())),
        };
        rules.set(&pattern, Rule::Gated(direction, tolerance));
    }
    Ok(())
}
