//! `mesosim run SCENARIO.yaml`: one simulation, one report folder.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::Failure;
use crate::report::{self, summary::Summary};
use crate::run;
use crate::scenario::{self, Scenario};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file.
    scenario: PathBuf,
    /// Replace the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Where to write the report (default: reports/<scenario name>/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Override a scenario key by its dotted path, e.g. master.allocator=binpack (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Run twice and fail (exit 3) unless both runs give byte-identical reports.
    #[arg(long)]
    check_determinism: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

/// Wall-clock facts about a run: run.json, never summary.json.
#[derive(Serialize)]
struct RunFacts<'a> {
    schema: &'static str,
    scenario: &'a str,
    seed: u64,
    mesosim_version: &'static str,
    wall_s: f64,
    events: u64,
    events_per_s: f64,
    simulated_s: f64,
    /// Simulated seconds per wall second.
    speedup: f64,
}

/// The wall clock, for run.json and the progress bar only: it never touches a simulation.
#[allow(clippy::disallowed_methods)]
pub(super) fn wall_now() -> std::time::Instant {
    std::time::Instant::now()
}

pub fn execute(args: &RunArgs) -> Result<(), Failure> {
    let mut loaded = scenario::load(&args.scenario, &args.sets).map_err(|e| Failure::input(e.0))?;
    if let Some(seed) = args.seed {
        loaded.scenario.seed = seed;
    }
    let s = &loaded.scenario;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join(&s.name));
    let show_progress = !args.quiet && std::io::stderr().is_terminal();

    let started = wall_now();
    let summary = simulate(s, &loaded.source_text, &out, show_progress, args)?;
    let wall_s = started.elapsed().as_secs_f64();
    if args.check_determinism {
        let scratch = out.join(".determinism-check");
        let again = simulate(s, &loaded.source_text, &scratch, show_progress, args)?;
        let mut differs: Vec<String> = Vec::new();
        if again.to_json() != summary.to_json() {
            differs.push(format!(
                "summary.json (digest {} then {})",
                summary.digest, again.digest
            ));
        }
        for file in [
            "tasks.csv",
            "offers.csv",
            "timeseries.csv",
            "shares.csv",
            "agents.csv",
        ] {
            if std::fs::read(out.join(file)).ok() != std::fs::read(scratch.join(file)).ok() {
                differs.push(file.to_owned());
            }
        }
        let _ = std::fs::remove_dir_all(&scratch);
        if !differs.is_empty() {
            return Err(Failure::bug(format!(
                "error: determinism check failed: two runs of the same scenario and seed differ in {}\n  seed {}; {}",
                differs.join(", "),
                s.seed,
                replay_command(args, s.seed)
            )));
        }
    }

    let facts = RunFacts {
        schema: "mesosim.run/1",
        scenario: &s.name,
        seed: s.seed,
        mesosim_version: env!("CARGO_PKG_VERSION"),
        wall_s,
        events: summary.events,
        events_per_s: summary.events as f64 / wall_s.max(1e-9),
        simulated_s: summary.simulated_s,
        speedup: summary.simulated_s / wall_s.max(1e-9),
    };
    let write = |name: &str, bytes: &[u8]| {
        let path = out.join(name);
        report::write_atomic(&path, bytes)
            .map_err(|e| Failure::input(format!("error: {}: cannot write: {e}", path.display())))
    };
    write("summary.json", &summary.to_json())?;
    let mut facts_json = serde_json::to_vec_pretty(&facts).expect("run facts serialize");
    facts_json.push(b'\n');
    write("run.json", &facts_json)?;
    write("scenario.yaml", loaded.source_text.as_bytes())?;

    if !args.quiet {
        println!(
            "{}: simulated {} in {:.2} s ({:.0}x real time), {} events ({:.2} M/s)",
            s.name,
            crate::time::Duration::from_secs_f64(summary.simulated_s),
            wall_s,
            facts.speedup,
            summary.events,
            facts.events_per_s / 1e6
        );
        if args.check_determinism {
            println!(
                "  determinism: two runs gave byte-identical reports (digest {})",
                summary.digest
            );
        }
        println!("  report: {}", out.join("summary.json").display());
        if s.report.plots.unwrap_or(true) {
            println!("  read: {}", out.join("report.html").display());
        }
    }
    Ok(())
}

fn simulate(
    s: &Scenario,
    source: &str,
    out: &Path,
    show_progress: bool,
    args: &RunArgs,
) -> Result<Summary, Failure> {
    let bar = if show_progress {
        let bar = ProgressBar::new(s.duration.as_secs_f64().ceil() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:40}] {pos}/{len} simulated s  {elapsed} elapsed, eta {eta}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(s.name.clone());
        Some(bar)
    } else {
        None
    };
    let outcome = run::run(s, Some(out), |now| {
        if let Some(bar) = &bar {
            bar.set_position(now.as_secs_f64() as u64);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    match outcome {
        Ok(outcome) => {
            write_report_files(out, s, &outcome, source)?;
            Ok(outcome.leak())
        }
        Err(run::Failure::Setup(e)) => Err(Failure::input(format!("error: {e}"))),
        Err(run::Failure::Violation(v)) => Err(Failure::bug(format!(
            "error: invariant broken at {}s in {}: {}\n  this is a bug in mesosim; seed {}; replay: {}",
            v.time,
            v.process,
            v.message,
            s.seed,
            replay_command(args, s.seed)
        ))),
    }
}

/// The report files drawn from a finished run's metrics: the tables, and with plots the
/// page and its charts.
pub(super) fn write_report_files(
    out: &Path,
    s: &Scenario,
    outcome: &run::Outcome,
    source: &str,
) -> Result<(), Failure> {
    let cannot = |e: std::io::Error| Failure::input(format!("error: {}: cannot write: {e}", out.display()));
    report::files::write_tables(out, outcome.collector()).map_err(cannot)?;
    if s.report.plots.unwrap_or(true) {
        report::page::write(out, &outcome.summary, outcome.collector(), source).map_err(cannot)?;
    }
    Ok(())
}

/// The one command that replays a run.
fn replay_command(args: &RunArgs, seed: u64) -> String {
    let mut cmd = format!("mesosim run {} --seed {seed}", args.scenario.display());
    for set in &args.sets {
        cmd.push_str(&format!(" --set '{set}'"));
    }
    cmd
}
