//! `mesosim fuzz --seeds N [--from S]`: random scenarios under random fault schedules,
//! checked for safety as they run and for convergence once healed (see [`crate::fuzz`]).

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use super::Failure;
use super::run::wall_now;
use crate::fuzz::{self, Failed, Passed};
use crate::time::Duration;

#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// How many seeds to run.
    #[arg(long, value_name = "N", default_value_t = 100)]
    seeds: u64,
    /// The first seed.
    #[arg(long, value_name = "S", default_value_t = 1)]
    from: u64,
    /// How long a healed cluster has to converge (simulated time, e.g. 30m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    bound: Option<Duration>,
    /// Seeds at once (default: the number of cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
    /// Write the scenario of every failing seed (every seed, with --seeds 1) to
    /// DIR/fuzz-<seed>.yaml, to run, read or edit as an ordinary scenario.
    #[arg(long, value_name = "DIR")]
    emit: Option<PathBuf>,
    /// Check this scenario file instead of random seeds: run it through its faults, heal
    /// everything once the last has healed, and require convergence by its end.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["seeds", "from", "bound", "emit"])]
    scenario: Option<PathBuf>,
    /// Print nothing but failures.
    #[arg(long, short)]
    quiet: bool,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    Duration::parse(s).map_err(|e| e.to_string())
}

pub fn execute(args: &FuzzArgs) -> Result<(), Failure> {
    if let Some(path) = &args.scenario {
        return check_file(path, args.quiet);
    }
    let bound = args.bound.unwrap_or(fuzz::DEFAULT_BOUND);
    let last = args
        .from
        .checked_add(args.seeds)
        .ok_or_else(|| Failure::input("error: --from + --seeds is past the last seed"))?;
    let seeds: Vec<u64> = (args.from..last).collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = args.jobs.map_or(cores, |j| j as usize).min(seeds.len()).max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("fuzz-{i}"))
        .stack_size(8 << 20)
        .build()
        .map_err(|e| Failure::input(format!("error: cannot start {threads} threads: {e}")))?;
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(seeds.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("fuzz [{bar:40}] {pos}/{len} seeds  {elapsed} elapsed, eta {eta}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar
    });
    fuzz::catch_panics();
    let started = wall_now();
    let results: Vec<Result<Passed, Failed>> = pool.install(|| {
        seeds
            .par_iter()
            .with_max_len(1)
            .map(|&seed| {
                let result = fuzz::run_seed_guarded(seed, bound);
                if let Some(bar) = &bar {
                    bar.inc(1);
                    if let Err(f) = &result {
                        bar.println(failure_line(f, bound));
                    }
                }
                result
            })
            .collect()
    });
    let wall_s = started.elapsed().as_secs_f64();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let failed: Vec<&Failed> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    if let Some(dir) = &args.emit {
        let emitted: Vec<u64> = if seeds.len() == 1 {
            seeds.clone()
        } else {
            failed.iter().map(|f| f.seed).collect()
        };
        emit(dir, &emitted, bound)?;
    }
    if !args.quiet {
        summary(&results, wall_s, threads, args.from);
    }
    if failed.is_empty() {
        return Ok(());
    }
    let mut message = String::new();
    for f in &failed {
        message.push_str(&failure_line(f, bound));
        message.push('\n');
    }
    message.push_str(&format!(
        "error: {} of {} seeds failed",
        failed.len(),
        seeds.len()
    ));
    Err(Failure::bug(message))
}

/// `--scenario FILE`: one scenario, healed after its last fault.
fn check_file(path: &std::path::Path, quiet: bool) -> Result<(), Failure> {
    let loaded = crate::scenario::load(path, &[]).map_err(|e| Failure::input(e.0))?;
    let heal = fuzz::heal_time(&loaded.scenario);
    fuzz::catch_panics();
    match fuzz::run_scenario_guarded(&loaded.scenario, heal) {
        Ok(p) => {
            if !quiet {
                println!(
                    "{}: converged {:.0} s after every fault healed (at {heal})",
                    path.display(),
                    p.converged_s
                );
            }
            Ok(())
        }
        Err(f) => Err(Failure::bug(format!(
            "error: {} failed{}: {}",
            path.display(),
            if f.at_s.is_nan() {
                String::new()
            } else {
                format!(" at {:.3} s", f.at_s)
            },
            f.what
        ))),
    }
}

fn failure_line(f: &Failed, bound: Duration) -> String {
    let at = if f.at_s.is_nan() {
        String::new()
    } else {
        format!(" at {:.3} s", f.at_s)
    };
    format!(
        "error: seed {} failed{at}: {}\n  replay: {}",
        f.seed,
        f.what,
        fuzz::replay_command(f.seed, bound)
    )
}

fn emit(dir: &std::path::Path, seeds: &[u64], bound: Duration) -> Result<(), Failure> {
    std::fs::create_dir_all(dir).map_err(|e| Failure::input(format!("error: {}: {e}", dir.display())))?;
    for &seed in seeds {
        let path = dir.join(format!("fuzz-{seed}.yaml"));
        let yaml = fuzz::generate::scenario(seed, bound).yaml;
        crate::report::write_atomic(&path, yaml.as_bytes())
            .map_err(|e| Failure::input(format!("error: {}: {e}", path.display())))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// One line of totals: seeds passed, faults injected, convergence times.
fn summary(results: &[Result<Passed, Failed>], wall_s: f64, threads: usize, from: u64) {
    let passed: Vec<&Passed> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let converged = crate::report::recovery::distribution(passed.iter().map(|p| p.converged_s));
    let faults: u64 = passed.iter().map(|p| u64::from(p.faults)).sum();
    let events: u64 = passed.iter().map(|p| p.events).sum();
    let failover = passed.iter().filter(|p| p.masters > 1).count();
    println!(
        "fuzz: {} seeds from {from}: {} passed, {} failed in {wall_s:.1} s on {threads} threads",
        results.len(),
        passed.len(),
        results.len() - passed.len()
    );
    println!(
        "  {faults} faults, {events} events; {failover} seeds with three masters; converged after healing in p50 {:.0} s, p99 {:.0} s, max {:.0} s",
        converged.p50, converged.p99, converged.max
    );
}
