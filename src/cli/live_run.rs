//! `mesosim live run SCENARIO` and `mesosim live compare SCENARIO`: a scenario played by
//! real processes, and checked against its simulation (see `live::run` and
//! `report::fidelity`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Args, ValueEnum};

use super::Failure;
use crate::live::run::{self as live_run, LiveOptions};
use crate::report::{self, fidelity, summary::Summary};
use crate::run;
use crate::scenario::{self, Loaded};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum IsolationArg {
    Posix,
    Cgroups,
}

/// What `live run` and `live compare` share.
#[derive(Debug, Args)]
struct Common {
    /// The scenario file.
    scenario: PathBuf,
    /// Override a scenario key by its dotted path, as `mesosim run --set` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Scenario seconds per wall second: 4 plays ten scenario minutes in two and a half.
    #[arg(long, default_value_t = 1.0, value_name = "X")]
    time_scale: f64,
    /// How the agents confine tasks.
    #[arg(long, value_enum, default_value = "posix")]
    isolation: IsolationArg,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
pub struct LiveRunArgs {
    #[command(flatten)]
    common: Common,
    /// Where to write the report (default: reports/<scenario name>-live/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LiveCompareArgs {
    #[command(flatten)]
    common: Common,
    /// Where to write fidelity.json, fidelity.html and the two runs' reports (`sim/`,
    /// `live/`) (default: reports/<scenario name>-fidelity/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

impl Common {
    fn load(&self) -> Result<Loaded, Failure> {
        if !(self.time_scale > 0.0 && self.time_scale.is_finite()) {
            return Err(Failure::input(format!(
                "error: --time-scale {}: expected a positive number",
                self.time_scale
            )));
        }
        let loaded = scenario::load(&self.scenario, &self.sets).map_err(|e| Failure::input(e.0))?;
        if let Some(why) = live_run::unsupported(&loaded.scenario) {
            return Err(Failure::input(format!(
                "error: {}: cannot run live: {why}",
                self.scenario.display()
            )));
        }
        Ok(loaded)
    }

    fn options(&self) -> Result<LiveOptions, Failure> {
        let exe = std::env::current_exe()
            .map_err(|e| Failure::input(format!("error: cannot find the mesosim binary: {e}")))?;
        let mut scenario_args: Vec<OsString> = vec![self.scenario.clone().into_os_string()];
        for set in &self.sets {
            scenario_args.push("--set".into());
            scenario_args.push(set.into());
        }
        let interrupt = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&interrupt);
        ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
            .map_err(|e| Failure::input(format!("error: cannot handle signals: {e}")))?;
        Ok(LiveOptions {
            exe,
            scenario_args,
            time_scale: self.time_scale,
            isolation: match self.isolation {
                IsolationArg::Posix => "posix".into(),
                IsolationArg::Cgroups => "cgroups".into(),
            },
            interrupt,
        })
    }
}

fn create(dir: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir).map_err(|e| Failure::input(format!("error: {}: {e}", dir.display())))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), Failure> {
    let path = dir.join(name);
    report::write_atomic(&path, bytes)
        .map_err(|e| Failure::input(format!("error: {}: cannot write: {e}", path.display())))
}

fn failed(e: run::Failure) -> Failure {
    match e {
        run::Failure::Setup(e) => Failure::input(format!("error: {e}")),
        run::Failure::Violation(v) => Failure::bug(format!(
            "error: invariant broken at {}s in {}: {}\n  this is a bug in mesosim",
            v.time, v.process, v.message
        )),
    }
}

/// Writes a finished run's report folder, as `mesosim run` does; its summary.
fn report(
    loaded: &Loaded,
    out: &Path,
    outcome: Result<run::Outcome, run::Failure>,
) -> Result<Summary, Failure> {
    let outcome = outcome.map_err(failed)?;
    super::run::write_report_files(out, &loaded.scenario, &outcome, &loaded.source_text)?;
    write(out, "summary.json", &outcome.summary.to_json())?;
    write(out, "scenario.yaml", loaded.source_text.as_bytes())?;
    Ok(outcome.summary)
}

/// Plays the scenario live into `out`; its summary.
fn play(loaded: &Loaded, out: &Path, opts: &LiveOptions) -> Result<Summary, Failure> {
    create(out)?;
    report(loaded, out, live_run::run_live(&loaded.scenario, out, opts))
}

pub fn run(args: &LiveRunArgs) -> Result<(), Failure> {
    let loaded = args.common.load()?;
    let s = &loaded.scenario;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join(format!("{}-live", s.name)));
    let opts = args.common.options()?;
    let summary = play(&loaded, &out, &opts)?;
    if !args.common.quiet {
        println!(
            "{}: played live for {:.1} scenario s: {} tasks launched, {} finished",
            s.name, summary.simulated_s, summary.tasks.launched, summary.tasks.finished
        );
        println!("  report: {}", out.join("summary.json").display());
    }
    Ok(())
}

/// The simulated run, its report in `out`; its summary.
fn simulate(loaded: &Loaded, out: &Path) -> Result<Summary, Failure> {
    create(out)?;
    report(loaded, out, run::run(&loaded.scenario, Some(out), |_| {}))
}

/// A summary as `summary.json` has it, for reading figures by path.
fn as_json(summary: &Summary) -> serde_json::Value {
    serde_json::from_slice(&summary.to_json()).expect("a summary reads back")
}

pub fn compare(args: &LiveCompareArgs) -> Result<(), Failure> {
    let loaded = args.common.load()?;
    let s = &loaded.scenario;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join(format!("{}-fidelity", s.name)));
    let sim_summary = as_json(&simulate(&loaded, &out.join("sim"))?);
    let opts = args.common.options()?;
    let live_summary = as_json(&play(&loaded, &out.join("live"), &opts)?);
    let tasks = |dir: &str| {
        fidelity::read_tasks(&out.join(dir).join("tasks.csv"))
            .map_err(|e| Failure::input(format!("error: {e}")))
    };
    let f = fidelity::compare(
        &s.name,
        args.common.time_scale,
        &tasks("sim")?,
        &tasks("live")?,
        fidelity::figures(&sim_summary, &live_summary),
    );
    write(&out, "fidelity.json", &f.to_json())?;
    write(
        &out,
        "fidelity.html",
        report::fidelity_page::render(&f).as_bytes(),
    )?;
    if !args.common.quiet {
        println!(
            "{}: placements {:.1} % identical (target {:.0} %), ends {:.1} % within tolerance (target {:.0} %): {}",
            s.name,
            100.0 * f.placement_agreement,
            100.0 * f.placement_target,
            100.0 * f.end_agreement,
            100.0 * f.end_target,
            if f.passed { "passed" } else { "BELOW TARGET" }
        );
        for reason in &f.reasons {
            println!("  - {reason}");
        }
        println!("  report: {}", out.join("fidelity.html").display());
    }
    if f.passed {
        Ok(())
    } else {
        Err(Failure {
            code: 1,
            message: String::new(),
        })
    }
}
