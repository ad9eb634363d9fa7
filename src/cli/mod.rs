//! The command line: `mesosim run`, `validate`, `trace`, `compare`, `sweep`, `merge`, `gate`,
//! `fuzz`, and with the `live` feature `live`.
//!
//! Exit status (INTERFACE.md): 0 success; 1 a gate found a regression; 2 bad input;
//! 3 a broken invariant (a bug), reported with the seed and the command that replays it.

mod compare;
mod fuzz;
mod gate;
#[cfg(feature = "live")]
mod live;
#[cfg(feature = "live")]
mod live_run;
mod run;
mod sweep;
mod trace;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A deterministic discrete-event simulator of an Apache-Mesos-style cluster.
#[derive(Debug, Parser)]
#[command(name = "mesosim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one simulation and write its report folder.
    Run(run::RunArgs),
    /// Parse and check a scenario without running it.
    Validate(validate::ValidateArgs),
    /// Inspect a workload trace, or convert it to mesosim's native csv.
    Trace(trace::TraceArgs),
    /// Run the same scenario under several allocators × seeds and show them side by side.
    Compare(compare::CompareArgs),
    /// Run a scenario over a grid of overrides × seeds, in parallel (or one shard of it).
    Sweep(sweep::SweepArgs),
    /// Put the folders of a sweep's shards together into one results.csv.
    Merge(sweep::MergeArgs),
    /// Compare a run's summary.json with a baseline's; exit 1 if scheduling quality regressed.
    Gate(gate::GateArgs),
    /// Run random scenarios under random fault schedules; check safety, then convergence.
    Fuzz(fuzz::FuzzArgs),
    /// Run the production master, agents and frameworks as OS processes on real TCP.
    #[cfg(feature = "live")]
    Live(live::LiveArgs),
}

/// A failure, with the exit status it maps to.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    /// Bad input: exit 2.
    pub fn input(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
        }
    }

    /// A broken invariant: exit 3.
    pub fn bug(message: impl Into<String>) -> Failure {
        Failure {
            code: 3,
            message: message.into(),
        }
    }
}

unsafe extern "C" {
    /// mimalloc's `mi_option_set(mi_option_t, long)` (mimalloc.h).
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_t`.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// Has mimalloc (the binary's allocator) keep the memory a run frees for the run's later
/// allocations rather than hand it back to the system (by default a second later) and
/// fault it in again, zeroed page by page: a run builds and drops large tables as it goes
/// (400,000 tasks in failover-40k), and giving that memory back cost it a fifth of its
/// time. The peak is what a run needs anyway. Benches call it too, to measure the command.
pub fn keep_freed_memory() {
    // SAFETY: setting an option is what mimalloc's API is for, at any time; -1 is a value
    // it documents for this one (never purge).
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

/// Parses the process's arguments and runs the command.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version are successes; every other parse failure is bad input.
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(2),
            };
        }
    };
    let result = match cli.command {
        Command::Run(args) => run::execute(&args),
        Command::Validate(args) => validate::execute(&args),
        Command::Trace(args) => trace::execute(&args),
        Command::Compare(args) => compare::execute(&args),
        Command::Sweep(args) => sweep::execute(&args),
        Command::Merge(args) => sweep::merge(&args),
        Command::Gate(args) => gate::execute(&args),
        Command::Fuzz(args) => fuzz::execute(&args),
        #[cfg(feature = "live")]
        Command::Live(args) => live::execute(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
