//! `mesosim compare SCENARIO.yaml --allocators drf,binpack`: the scenario under each
//! allocator × seeds, side by side. It runs as a sweep whose one grid key is
//! `master.allocator` (see [`crate::sweep::compare`]), and writes what a sweep writes plus
//! compare.csv.

use std::path::{Path, PathBuf};

use clap::Args;

use super::Failure;
use super::sweep::{Options, failures, plural, print_recovery, run_sweep};
use crate::scenario::{self, de};
use crate::sweep::compare::{ALLOCATOR_KEY, Comparison};
use crate::sweep::folder;
use crate::sweep::{Prepared, Sweep};

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The scenario file.
    scenario: PathBuf,
    /// The allocators to compare, comma-separated (drf, binpack, random).
    #[arg(long, value_delimiter = ',', required = true, value_name = "A,B,...")]
    allocators: Vec<String>,
    /// Seeds per allocator: the scenario's seed and the next N - 1.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    seeds: u64,
    /// Runs at once (default: the number of cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
    /// Where to write the results (default: reports/compare/<scenario name>/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Override a scenario key by its dotted path for every run, e.g. duration=20m
    /// (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Also write each run's whole report folder to runs/<run>/.
    #[arg(long)]
    keep_runs: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

pub fn execute(args: &CompareArgs) -> Result<(), Failure> {
    let allocators = check_allocators(&args.allocators)?;
    if let Some(set) = args
        .sets
        .iter()
        .find(|s| s.split_once('=').is_some_and(|(k, _)| k.trim() == ALLOCATOR_KEY))
    {
        return Err(Failure::input(format!(
            "error: --set {set}: compare chooses the allocator itself: name them in --allocators"
        )));
    }
    // The scenario and overrides as `mesosim run` checks them, messages pointing into the
    // file or the --set.
    let loaded = scenario::load(&args.scenario, &args.sets).map_err(|e| Failure::input(e.0))?;
    let name = loaded.scenario.name.clone();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join("compare").join(&name));

    let text = sweep_text(args, &name, &allocators);
    let sweep_file = out.join(folder::SWEEP_FILE).display().to_string();
    let mut sweep = Sweep::parse(&text, &sweep_file, Path::new("")).map_err(Failure::input)?;
    // sweep.yaml names the scenario by its absolute path, to stand on its own; runs and
    // replay commands use it as given.
    sweep.scenario = args.scenario.clone();
    let mut prepared = Prepared::load(sweep).map_err(Failure::input)?;
    prepared.curves = true;
    let runs: Vec<usize> = (0..prepared.sweep.runs()).collect();
    let options = Options {
        jobs: args.jobs,
        keep_runs: args.keep_runs,
        quiet: args.quiet,
    };
    let ran = run_sweep(&prepared, &runs, &out, &options)?;
    // The per-run records and the comparison are all a later report (compare.html with
    // plots) needs.
    let comparison = Comparison::new(&prepared.sweep, &ran.records);
    folder::write(&out.join("compare.csv"), &comparison.csv()).map_err(Failure::input)?;
    crate::report::compare_page::write(&out, &name, &comparison, &ran.records)
        .map_err(|e| Failure::input(format!("error: {}: cannot write: {e}", out.display())))?;
    if !args.quiet {
        print!("{}", comparison.table(&name));
        println!(
            "{} in {:.1} s on {}",
            plural(ran.records.len(), "run"),
            ran.wall_s,
            plural(ran.threads, "thread")
        );
        println!(
            "  results: {}, {}, {}",
            out.join("compare.html").display(),
            out.join("compare.csv").display(),
            out.join(folder::RESULTS_FILE).display()
        );
        print_recovery(&out);
    }
    failures(&ran.records, &out)
}

/// The allocator names, each known and given once.
fn check_allocators(given: &[String]) -> Result<Vec<String>, Failure> {
    let names = crate::allocator::NAMES;
    let mut out: Vec<String> = Vec::new();
    for a in given {
        let a = a.trim();
        if a.is_empty() {
            return Err(Failure::input(
                "error: --allocators: expected allocator names separated by commas, like drf,binpack",
            ));
        }
        if !names.contains(&a) {
            let hint = match de::suggest(a, &names) {
                Some(s) => format!("did you mean {s:?}?"),
                None => format!("expected one of: {}", names.join(", ")),
            };
            return Err(Failure::input(format!(
                "error: --allocators: unknown allocator {a:?} ({hint})"
            )));
        }
        if out.iter().any(|o| o == a) {
            return Err(Failure::input(format!("error: --allocators: {a} is named twice")));
        }
        out.push(a.to_owned());
    }
    Ok(out)
}

/// The comparison as a sweep file: `mesosim sweep` on it runs the same runs.
fn sweep_text(args: &CompareArgs, name: &str, allocators: &[String]) -> String {
    let quote = |s: &str| serde_json::to_string(s).expect("a string serializes");
    let scenario = std::path::absolute(&args.scenario).unwrap_or_else(|_| args.scenario.clone());
    let mut text =
        String::from("# mesosim compare, as a sweep file: `mesosim sweep` on it runs the same runs.\n");
    text.push_str(&format!("name: {name}\n"));
    text.push_str(&format!("scenario: {}\n", quote(&scenario.display().to_string())));
    // A key given twice takes its last value, as with `mesosim run`.
    let key = |s: &str| s.split_once('=').map_or(s, |(k, _)| k).trim().to_owned();
    let last: Vec<&String> = args
        .sets
        .iter()
        .enumerate()
        .filter(|(i, s)| !args.sets[i + 1..].iter().any(|later| key(later) == key(s)))
        .map(|(_, s)| s)
        .collect();
    if !last.is_empty() {
        let sets: Vec<String> = last.iter().map(|s| quote(s)).collect();
        text.push_str(&format!("set: [{}]\n", sets.join(", ")));
    }
    text.push_str(&format!(
        "grid:\n  {ALLOCATOR_KEY}: [{}]\nseeds: {}\n",
        allocators.join(", "),
        args.seeds
    ));
    text
}
