//! Running a sweep: every grid point's scenario loaded up front, then the runs in parallel,
//! one whole single-threaded simulation per rayon task.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::def::Sweep;
use super::record::{Curves, RunRecord, Status, text_digest};
use crate::report;
use crate::run;
use crate::scenario::{self, Loaded};

/// A sweep whose every grid point loads: ready to run.
pub struct Prepared {
    pub sweep: Sweep,
    /// Each grid point's scenario, loaded with its overrides.
    pub points: Vec<Loaded>,
    /// [`text_digest`] of the scenario file.
    pub scenario_digest: String,
    /// Keep each run's [`Curves`] in its record (for compare.html).
    pub curves: bool,
}

impl Prepared {
    /// Reads the scenario once and loads it with every grid point's overrides, so that a bad
    /// key or value stops the sweep before any run starts; the message points into the
    /// sweep file where the override was written.
    pub fn load(sweep: Sweep) -> Result<Prepared, String> {
        let file = sweep.scenario.display().to_string();
        let text = std::fs::read(&sweep.scenario).map_err(|e| {
            sweep.scenario_error(&match e.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_owned(),
                std::io::ErrorKind::IsADirectory => "it is a directory".to_owned(),
                _ => e.to_string(),
            })
        })?;
        let text = String::from_utf8(text).map_err(|_| sweep.scenario_error("not UTF-8 text"))?;
        let mut points = Vec::with_capacity(sweep.points());
        for point in 0..sweep.points() {
            let loaded = scenario::load_str_spanned(&text, &file, &sweep.sets(point))
                .map_err(|e| sweep.locate(&e, point, &file))?;
            for k in 0..sweep.seeds.len() {
                if sweep.seeds.get(loaded.scenario.seed, k).is_none() {
                    return Err(format!(
                        "error: {}: seed {} + {k} is beyond the largest seed",
                        sweep.file, loaded.scenario.seed
                    ));
                }
            }
            points.push(loaded);
        }
        Ok(Prepared {
            curves: false,
            scenario_digest: text_digest(&text),
            sweep,
            points,
        })
    }

    /// The seed of run `run`.
    pub fn seed(&self, run: usize) -> u64 {
        let (point, k) = self.sweep.split(run);
        self.sweep
            .seeds
            .get(self.points[point].scenario.seed, k)
            .expect("checked by Prepared::load")
    }

    /// Runs run `run` on this thread. With `keep`, its whole report folder goes to
    /// `keep/runs/<run>/`.
    pub fn run_one(&self, run: usize, keep: Option<&Path>) -> RunRecord {
        let (point, _) = self.sweep.split(run);
        let seed = self.seed(run);
        let loaded = &self.points[point];
        let mut s = loaded.scenario.clone();
        s.seed = seed;
        let dir: Option<PathBuf> = keep.map(|k| k.join("runs").join(run.to_string()));
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            // The simulation is freed here, on the worker (no `Outcome::leak`): a sweep runs
            // many in one process.
            run::run(&s, dir.as_deref(), |_| {}).map(|outcome| {
                let curves = self.curves.then(|| Curves::of(outcome.collector()));
                (outcome.summary.clone(), curves)
            })
        }));
        let mut curves = None;
        let (status, error, summary) = match outcome {
            Ok(Ok((summary, kept))) => match keep_files(dir.as_deref(), &summary, loaded, seed) {
                Ok(()) => {
                    curves = kept;
                    (
                        Status::Ok,
                        None,
                        Some(serde_json::to_value(&summary).expect("a summary always serializes")),
                    )
                }
                Err(e) => (Status::Error, Some(e), None),
            },
            Ok(Err(run::Failure::Setup(e))) => (Status::Error, Some(e), None),
            Ok(Err(run::Failure::Violation(v))) => (
                Status::Violation,
                Some(format!(
                    "invariant broken at {}s in {}: {} (a bug in mesosim)",
                    v.time, v.process, v.message
                )),
                None,
            ),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".to_owned());
                (
                    Status::Panic,
                    Some(format!("panicked: {what} (a bug in mesosim)")),
                    None,
                )
            }
        };
        let record = RunRecord {
            schema: RunRecord::SCHEMA.to_owned(),
            run,
            sets: self.sweep.grid_sets(point),
            seed,
            scenario_digest: self.scenario_digest.clone(),
            status,
            error,
            replay: self.sweep.replay_command(point, seed),
            summary,
            curves,
        };
        // What results.csv is built from is what runs/<run>.json holds, read back.
        RunRecord::from_json(&record.to_json(), "a run record").expect("a record reads back")
    }

    /// Runs `runs` on `threads` threads, calling `done` with each record as its run ends
    /// (in whatever order they end); returns the records in the order of `runs`. The first
    /// error `done` returns is returned once every run has ended.
    pub fn run_many(
        &self,
        runs: &[usize],
        threads: usize,
        keep: Option<&Path>,
        done: impl Fn(&RunRecord) -> Result<(), String> + Sync,
    ) -> Result<Vec<RunRecord>, String> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|i| format!("sweep-{i}"))
            // As much stack as a main thread has: a run is what `mesosim run` runs.
            .stack_size(8 << 20)
            .build()
            .map_err(|e| format!("error: cannot start {threads} threads: {e}"))?;
        let results: Vec<(RunRecord, Result<(), String>)> = pool.install(|| {
            runs.par_iter()
                // One run per task, so that a long run never holds shorter ones back.
                .with_max_len(1)
                .map(|&run| {
                    let record = self.run_one(run, keep);
                    let written = done(&record);
                    (record, written)
                })
                .collect()
        });
        let mut records = Vec::with_capacity(results.len());
        let mut first_error = None;
        for (record, written) in results {
            if let Err(e) = written {
                first_error.get_or_insert(e);
            }
            records.push(record);
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(records),
        }
    }
}

/// With `--keep-runs`, the rest of the run's report folder: summary.json and scenario.yaml.
fn keep_files(
    dir: Option<&Path>,
    summary: &crate::report::summary::Summary,
    loaded: &Loaded,
    seed: u64,
) -> Result<(), String> {
    let Some(dir) = dir else {
        return Ok(());
    };
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        report::write_atomic(&path, bytes).map_err(|e| format!("{}: cannot write: {e}", path.display()))
    };
    write("summary.json", &summary.to_json())?;
    let mut text = loaded.source_text.clone();
    if !text.contains("\n# with overrides:\n") {
        text.push_str("\n# with overrides:\n");
    }
    text.push_str(&format!("#   --seed {seed}\n"));
    write("scenario.yaml", text.as_bytes())
}
