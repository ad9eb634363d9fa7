//! `mesosim validate SCENARIO.yaml`: parse and check only.

use std::path::PathBuf;

use clap::Args;

use super::Failure;
use crate::scenario;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The scenario file.
    scenario: PathBuf,
    /// Override a key by its dotted path, as `run` does (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
}

pub fn execute(args: &ValidateArgs) -> Result<(), Failure> {
    let loaded = scenario::load(&args.scenario, &args.sets).map_err(|e| Failure::input(e.0))?;
    let s = &loaded.scenario;
    let agents: u64 = s.cluster.iter().map(|c| u64::from(c.count)).sum();
    println!(
        "{}: ok ({} agents in {} classes, {} frameworks, {} events, duration {})",
        loaded.file,
        agents,
        s.cluster.len(),
        s.expanded_frameworks().len(),
        s.events.len(),
        s.duration
    );
    Ok(())
}
