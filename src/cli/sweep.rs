//! `mesosim sweep SWEEP.yaml`: a scenario over a grid of overrides × seeds, in parallel;
//! `mesosim merge DIR...`: the folders of a sweep's shards as one. See [`crate::sweep`].

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::Failure;
use super::run::wall_now;
use crate::sweep::folder::{self, Folder};
use crate::sweep::recovery::RECOVERY_FILE;
use crate::sweep::{Prepared, RunRecord, Shard, Status, Sweep, results};

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The sweep file (see docs/sweep.md).
    sweep: PathBuf,
    /// Runs at once (default: the number of cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
    /// Run only the runs whose number modulo N is I (0 <= I < N), for one task of a batch
    /// job; `mesosim merge` puts the shards' folders together.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Where to write the results (default: reports/sweeps/<name>/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Also write each run's whole report folder (summary.json, tasks.csv, offers.csv) to
    /// runs/<run>/.
    #[arg(long)]
    keep_runs: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' folders (each written by `mesosim sweep --shard I/N --out DIR`).
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Where to write the merged folder (default: reports/sweeps/<name>/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

/// How to run a sweep's runs.
pub(super) struct Options {
    /// Threads; `None` for one per core.
    pub jobs: Option<u32>,
    pub keep_runs: bool,
    pub quiet: bool,
}

/// What running a sweep's runs gave.
pub(super) struct Ran {
    /// The records, in run order.
    pub records: Vec<RunRecord>,
    pub wall_s: f64,
    pub threads: usize,
}

pub fn execute(args: &SweepArgs) -> Result<(), Failure> {
    let shard = args
        .shard
        .as_deref()
        .map(Shard::parse)
        .transpose()
        .map_err(|e| Failure::input(format!("error: {e}")))?;
    let sweep = Sweep::load(&args.sweep).map_err(Failure::input)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join("sweeps").join(&sweep.name));
    let prepared = Prepared::load(sweep).map_err(Failure::input)?;
    let total = prepared.sweep.runs();
    let runs: Vec<usize> = (0..total).filter(|&r| shard.is_none_or(|s| s.has(r))).collect();
    let options = Options {
        jobs: args.jobs,
        keep_runs: args.keep_runs,
        quiet: args.quiet,
    };
    let ran = run_sweep(&prepared, &runs, &out, &options)?;
    if !args.quiet {
        let s = &prepared.sweep;
        let which = match shard {
            Some(shard) => format!("shard {shard}: {} of {total} runs", runs.len()),
            None => plural(total, "run"),
        };
        println!(
            "{}: {which} ({} × {}) in {:.1} s on {}",
            s.name,
            plural(s.points(), "grid point"),
            plural(s.seeds.len(), "seed"),
            ran.wall_s,
            plural(ran.threads, "thread")
        );
        println!("  results: {}", out.join(folder::RESULTS_FILE).display());
        print_recovery(&out);
    }
    failures(&ran.records, &out)
}

/// Runs `runs` of a prepared sweep into `out`: sweep.yaml first, each run's record as it
/// ends, then results.csv (and errors.txt). A progress bar follows the runs on a terminal.
pub(super) fn run_sweep(
    prepared: &Prepared,
    runs: &[usize],
    out: &Path,
    options: &Options,
) -> Result<Ran, Failure> {
    folder::prepare(out, true).map_err(Failure::input)?;
    folder::write(&out.join(folder::SWEEP_FILE), prepared.sweep.text.as_bytes()).map_err(Failure::input)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = options.jobs.map_or(cores, |j| j as usize);
    let threads = jobs.min(runs.len()).max(1);
    let bar = (!options.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(runs.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:40}] {pos}/{len} runs  {elapsed} elapsed, eta {eta}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(prepared.sweep.name.clone());
        bar
    });
    let started = wall_now();
    let keep = options.keep_runs.then_some(out);
    let records = prepared
        .run_many(runs, threads, keep, |record| {
            folder::write(&folder::record_path(out, record.run), &record.to_json())?;
            if let Some(bar) = &bar {
                bar.inc(1);
            }
            Ok(())
        })
        .map_err(Failure::input)?;
    let wall_s = started.elapsed().as_secs_f64();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    folder::write_results(out, &prepared.sweep, &records).map_err(Failure::input)?;
    Ok(Ran {
        records,
        wall_s,
        threads,
    })
}

/// Success when every run finished; else every failed run with its replay command, and
/// exit 3 if one found a bug, 2 if one could not run.
pub(super) fn failures(records: &[RunRecord], out: &Path) -> Result<(), Failure> {
    let failed: Vec<&RunRecord> = records.iter().filter(|r| r.status != Status::Ok).collect();
    if failed.is_empty() {
        return Ok(());
    }
    const SHOWN: usize = 10;
    let mut message = String::new();
    for r in failed.iter().take(SHOWN) {
        message.push_str("error: ");
        message.push_str(&results::describe_failure(r));
    }
    if failed.len() > SHOWN {
        message.push_str(&format!("... and {} more\n", failed.len() - SHOWN));
    }
    message.push_str(&format!(
        "error: {} of {} failed; all are listed in {}",
        failed.len(),
        plural(records.len(), "run"),
        out.join(folder::ERRORS_FILE).display()
    ));
    Err(Failure {
        code: results::exit_code(records),
        message,
    })
}

pub fn merge(args: &MergeArgs) -> Result<(), Failure> {
    let folders: Vec<Folder> = args
        .dirs
        .iter()
        .map(|d| Folder::read(d))
        .collect::<Result<_, _>>()
        .map_err(Failure::input)?;
    let (sweep, records) = folder::merge(&folders).map_err(Failure::input)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join("sweeps").join(&sweep.name));
    // Everything is read: `out` may be one of the folders merged. Report folders kept with
    // --keep-runs stay where they are.
    folder::prepare(&out, false).map_err(Failure::input)?;
    folder::write(&out.join(folder::SWEEP_FILE), sweep.text.as_bytes()).map_err(Failure::input)?;
    for r in &records {
        folder::write(&folder::record_path(&out, r.run), &r.to_json()).map_err(Failure::input)?;
    }
    folder::write_results(&out, &sweep, &records).map_err(Failure::input)?;
    if !args.quiet {
        println!(
            "{}: merged {} from {}",
            sweep.name,
            plural(records.len(), "run"),
            plural(folders.len(), "folder")
        );
        println!("  results: {}", out.join(folder::RESULTS_FILE).display());
        print_recovery(&out);
    }
    failures(&records, &out)
}

/// Where recovery.csv is, when the runs had faults.
pub(super) fn print_recovery(out: &Path) {
    let file = out.join(RECOVERY_FILE);
    if file.is_file() {
        println!("  recovery over seeds: {}", file.display());
    }
}

/// `1 run`, `3 runs`.
pub(super) fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
