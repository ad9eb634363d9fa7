//! `mesosim trace stats|convert`: inspect a workload trace, or convert it to mesosim's
//! native csv.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Failure;
use crate::report;
use crate::resources::Resources;
use crate::trace::{self, Format, ReadOptions};

#[derive(Debug, Args)]
pub struct TraceArgs {
    #[command(subcommand)]
    command: TraceCommand,
}

#[derive(Debug, Subcommand)]
enum TraceCommand {
    /// Rows, span, tasks, jobs, machines, and demand and duration percentiles.
    Stats(StatsArgs),
    /// Rewrite a trace as mesosim's native csv (docs/traces.md), in submit order.
    Convert(ConvertArgs),
    /// Fit a workload model to a trace (arrivals, job sizes, shapes, run times) and write it
    /// as a spec that the `fitted` format generates from, at any length and scale.
    Fit(FitArgs),
}

/// What every trace command reads.
#[derive(Debug, Args)]
struct Input {
    /// The trace file (.gz read transparently).
    file: PathBuf,
    /// Its format: google2011, alibaba2017, alibaba2018, openb2023, swf, swim, csv, fitted
    /// (guessed from the file name when left out).
    #[arg(long)]
    format: Option<String>,
    /// What 1.0 of a normalized request is, e.g. "cpus:32;mem:131072;disk:4194304".
    #[arg(long)]
    capacity: Option<String>,
    /// alibaba2018: the batch_instance file to join.
    #[arg(long)]
    instances: Option<PathBuf>,
    /// Skip and count malformed rows instead of stopping at the first.
    #[arg(long)]
    skip_bad_rows: bool,
    /// fitted: generate tasks submitted before this time (default: one pass of its arrival
    /// profile), e.g. 6h.
    #[arg(long)]
    until: Option<String>,
    /// fitted: the seed to generate with.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Debug, Args)]
struct StatsArgs {
    #[command(flatten)]
    input: Input,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct FitArgs {
    #[command(flatten)]
    input: Input,
    /// Where to write the spec (YAML, written whole or not at all).
    #[arg(long, short)]
    output: PathBuf,
}

#[derive(Debug, Args)]
struct ConvertArgs {
    #[command(flatten)]
    input: Input,
    /// Where to write the native csv (written whole or not at all).
    #[arg(long, short)]
    output: PathBuf,
}

pub fn execute(args: &TraceArgs) -> Result<(), Failure> {
    match &args.command {
        TraceCommand::Stats(a) => stats(a),
        TraceCommand::Convert(a) => convert(a),
        TraceCommand::Fit(a) => fit(a),
    }
}

/// The format a file name suggests.
fn guess(file: &str) -> Option<Format> {
    let name = file.rsplit('/').next().unwrap_or(file);
    if file.contains("task_events") {
        Some(Format::Google2011)
    } else if name.ends_with(".swf") || name.ends_with(".swf.gz") {
        Some(Format::Swf)
    } else if name.ends_with(".tsv") && file.to_ascii_lowercase().contains("swim") || name.starts_with("FB-")
    {
        Some(Format::Swim)
    } else if name.starts_with("openb_pod") {
        Some(Format::Openb2023)
    } else if name.ends_with(".fit.yaml") {
        Some(Format::Fitted)
    } else {
        None
    }
}

fn open(input: &Input) -> Result<(Box<dyn trace::TaskReader>, Format, String), Failure> {
    let file = input.file.display().to_string();
    let format = match &input.format {
        Some(name) => Format::parse(name).ok_or_else(|| {
            Failure::input(format!(
                "error: unknown trace format \"{name}\": expected one of {}",
                Format::names()
            ))
        })?,
        None => guess(&file).ok_or_else(|| {
            Failure::input(format!(
                "error: {file}: cannot tell its format from its name: give --format (one of {})",
                Format::names()
            ))
        })?,
    };
    let mut options = ReadOptions::new(format);
    if let Some(text) = &input.capacity {
        let r = Resources::parse(text)
            .map_err(|e| Failure::input(format!("error: --capacity \"{text}\": {e}")))?;
        options.capacity = options.capacity.overridden_by(&r);
    }
    options.skip_bad_rows = input.skip_bad_rows;
    options.companion = input.instances.as_ref().map(|p| p.display().to_string());
    options.seed = input.seed;
    if format == Format::Fitted {
        options.until = Some(match &input.until {
            Some(text) => crate::time::Duration::parse(text)
                .map_err(|e| Failure::input(format!("error: --until \"{text}\": {e}")))?,
            None => {
                let spec =
                    trace::fit::FitSpec::load(&file).map_err(|e| Failure::input(format!("error: {e}")))?;
                spec.one_pass()
            }
        });
    } else if input.until.is_some() {
        return Err(Failure::input(
            "error: --until applies to fitted workloads only".to_owned(),
        ));
    }
    let reader = trace::tasks(format, &file, &options).map_err(|e| Failure::input(format!("error: {e}")))?;
    Ok((reader, format, file))
}

fn stats(args: &StatsArgs) -> Result<(), Failure> {
    let (mut reader, format, file) = open(&args.input)?;
    let stats = trace::stats::stats(reader.as_mut(), &file, format.name())
        .map_err(|e| Failure::input(format!("error: {e}")))?;
    if args.json {
        let mut text = serde_json::to_string_pretty(&stats).expect("stats serialize");
        text.push('\n');
        print!("{text}");
    } else {
        print!("{}", stats.render());
    }
    Ok(())
}

fn fit(args: &FitArgs) -> Result<(), Failure> {
    let (mut reader, format, file) = open(&args.input)?;
    let spec = trace::fit::fit(reader.as_mut(), &file, format.name())
        .map_err(|e| Failure::input(format!("error: {e}")))?;
    let out = args.output.display().to_string();
    report::write_atomic(&args.output, spec.to_yaml().as_bytes())
        .map_err(|e| Failure::input(format!("error: {out}: cannot write: {e}")))?;
    let jobs = spec.initial.as_ref().map_or(0, |i| i.jobs);
    let a = &spec.arrivals;
    let rate = a.jobs_per_s.iter().sum::<f64>() / a.jobs_per_s.len() as f64;
    let _ = writeln!(
        std::io::stderr(),
        "{file}: fitted {jobs} jobs at time 0 and {:.3} jobs/s from {} s in {} buckets of {} s; written to {out}\n  \
         compare: mesosim trace stats {out}  (and the source with the same window)",
        rate,
        a.start_s,
        a.jobs_per_s.len(),
        a.bucket_s
    );
    Ok(())
}

fn convert(args: &ConvertArgs) -> Result<(), Failure> {
    let (mut reader, _, file) = open(&args.input)?;
    let out = args.output.display().to_string();
    let cannot = |e: std::io::Error| Failure::input(format!("error: {out}: cannot write: {e}"));
    let mut writer = trace::native::Writer::new(Vec::new()).map_err(cannot)?;
    let mut n = 0u64;
    while let Some(t) = reader
        .next_task()
        .map_err(|e| Failure::input(format!("error: {e}")))?
    {
        let user = reader.user_name(t.user).to_owned();
        let machine = t
            .machine
            .map(|m| reader.machine_name(m).to_owned())
            .unwrap_or_default();
        writer.write(&t, &user, &machine).map_err(cannot)?;
        n += 1;
    }
    let bytes = writer.finish().map_err(cannot)?;
    report::write_atomic(&args.output, &bytes).map_err(cannot)?;
    let mut stderr = std::io::stderr();
    let _ = writeln!(
        stderr,
        "{file}: {n} tasks written to {out} ({} bad rows skipped)",
        reader.skipped()
    );
    Ok(())
}
