//! Sweeps: one scenario over a grid of `--set` overrides × seeds, run in parallel (one whole
//! simulation per rayon task, never parallel inside one), sharded for batch engines and
//! merged back.
//!
//! ```text
//! def.rs      the sweep file (name, scenario, set, grid, seeds), run numbering, --shard
//! exec.rs     every grid point loaded up front, then the runs on a thread pool
//! record.rs   runs/<run>.json: one run's status and summary
//! results.rs  results.csv and errors.txt, functions of the sweep and its records only
//! recovery.rs recovery.csv: each grid point's faults, every seed's pooled
//! folder.rs   the output folder, and merging shards' folders
//! stats.rs    mean and Student's t confidence interval over seeds
//! compare.rs  mesosim compare: allocators side by side
//! ```
//!
//! **Invariant:** results.csv is the same bytes whatever the number of threads and however
//! the runs were sharded and merged: it is built by one function from the sweep and the run
//! records, the records hold nothing that depends on the wall clock or the thread, and the
//! records in memory are the ones read back from their files.

pub mod compare;
pub mod def;
pub mod exec;
pub mod folder;
pub mod record;
pub mod recovery;
pub mod results;
pub mod stats;

pub use def::{Seeds, Shard, Sweep};
pub use exec::Prepared;
pub use record::{RunRecord, Status};
