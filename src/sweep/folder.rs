//! A sweep's output folder: `sweep.yaml`, `runs/<run>.json`, `results.csv`,
//! `recovery.csv`, `errors.txt`; and merging the folders of a sweep's shards into one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::def::{Seeds, Sweep};
use super::record::RunRecord;
use super::{recovery, results};
use crate::report;

/// The sweep file as run.
pub const SWEEP_FILE: &str = "sweep.yaml";
pub const RESULTS_FILE: &str = "results.csv";
pub const ERRORS_FILE: &str = "errors.txt";
/// The folder of run records (and, with `--keep-runs`, of report folders).
pub const RUNS_DIR: &str = "runs";

/// Writes a file atomically, with a message naming it on failure.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    report::write_atomic(path, bytes).map_err(|e| format!("error: {}: cannot write: {e}", path.display()))
}

/// `runs/<run>.json` under `out`.
pub fn record_path(out: &Path, run: usize) -> PathBuf {
    out.join(RUNS_DIR).join(format!("{run}.json"))
}

/// The run number of a `runs/` entry named `<run>.json` (`json`) or `<run>` (a report
/// folder).
fn run_number(name: &str, json: bool) -> Option<usize> {
    let digits = if json { name.strip_suffix(".json")? } else { name };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Makes `out` ready for a sweep: creates it and removes what an earlier sweep wrote there
/// (`runs/<run>.json`, errors.txt, recovery.csv, and with `reports` the report folders
/// `runs/<run>/`), so that it ends up holding this sweep's runs only. Nothing else in it is
/// touched.
pub fn prepare(out: &Path, reports: bool) -> Result<(), String> {
    let runs = out.join(RUNS_DIR);
    std::fs::create_dir_all(&runs).map_err(|e| format!("error: {}: cannot create: {e}", runs.display()))?;
    let entries =
        std::fs::read_dir(&runs).map_err(|e| format!("error: {}: cannot read: {e}", runs.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let removed = if run_number(&name, true).is_some() && path.is_file() {
            std::fs::remove_file(&path)
        } else if reports && run_number(&name, false).is_some() && path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            continue;
        };
        removed.map_err(|e| format!("error: {}: cannot remove: {e}", path.display()))?;
    }
    for file in [ERRORS_FILE, recovery::RECOVERY_FILE] {
        let path = out.join(file);
        if path.exists() {
            std::fs::remove_file(&path)
                .map_err(|e| format!("error: {}: cannot remove: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// Writes results.csv, recovery.csv when a run had faults, and errors.txt when a run
/// failed.
pub fn write_results(out: &Path, sweep: &Sweep, records: &[RunRecord]) -> Result<(), String> {
    write(&out.join(RESULTS_FILE), &results::results_csv(sweep, records))?;
    if let Some(bytes) = recovery::recovery_csv(sweep, records) {
        write(&out.join(recovery::RECOVERY_FILE), &bytes)?;
    }
    if let Some(text) = results::errors_txt(records) {
        write(&out.join(ERRORS_FILE), text.as_bytes())?;
    }
    Ok(())
}

/// What a sweep (or shard) folder holds.
pub struct Folder {
    pub dir: PathBuf,
    /// sweep.yaml's text.
    pub text: String,
    /// Its run records, by run number.
    pub records: Vec<RunRecord>,
}

impl Folder {
    pub fn read(dir: &Path) -> Result<Folder, String> {
        let sweep_file = dir.join(SWEEP_FILE);
        let text = std::fs::read_to_string(&sweep_file).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!(
                "error: {}: not a sweep folder (it has no {SWEEP_FILE})",
                dir.display()
            ),
            _ => format!("error: {}: cannot read: {e}", sweep_file.display()),
        })?;
        let runs = dir.join(RUNS_DIR);
        let mut numbered: Vec<(usize, PathBuf)> = Vec::new();
        if runs.is_dir() {
            let entries = std::fs::read_dir(&runs)
                .map_err(|e| format!("error: {}: cannot read: {e}", runs.display()))?;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if let Some(run) = run_number(&name, true) {
                    numbered.push((run, entry.path()));
                }
            }
        }
        numbered.sort();
        let mut records = Vec::with_capacity(numbered.len());
        for (run, path) in numbered {
            let file = path.display().to_string();
            let bytes = std::fs::read(&path).map_err(|e| format!("error: {file}: cannot read: {e}"))?;
            let record = RunRecord::from_json(&bytes, &file)?;
            if record.run != run {
                return Err(format!("error: {file}: holds run {}, not run {run}", record.run));
            }
            records.push(record);
        }
        Ok(Folder {
            dir: dir.to_path_buf(),
            text,
            records,
        })
    }
}

/// Merges the folders of one sweep's shards: all from the same sweep file text, every run
/// present, and a run found in two folders the same in both. Returns the sweep and every
/// run's record in run order.
pub fn merge(folders: &[Folder]) -> Result<(Sweep, Vec<RunRecord>), String> {
    let first = folders.first().ok_or("error: nothing to merge")?;
    let first_file = first.dir.join(SWEEP_FILE).display().to_string();
    for f in &folders[1..] {
        if f.text != first.text {
            let line = first
                .text
                .lines()
                .zip(f.text.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| first.text.lines().count().min(f.text.lines().count()))
                + 1;
            return Err(format!(
                "error: {}:{line}: differs from {first_file}: the folders to merge must come from the same sweep file",
                f.dir.join(SWEEP_FILE).display()
            ));
        }
    }
    let sweep = Sweep::parse(&first.text, &first_file, &first.dir)?;
    let total = sweep.runs();

    // run -> (record, the folder it came from)
    let mut merged: BTreeMap<usize, (&RunRecord, &Path)> = BTreeMap::new();
    let mut base_seed: Option<(u64, usize, &Path)> = None;
    let mut digest: Option<(&str, usize, &Path)> = None;
    for f in folders {
        for r in &f.records {
            let file = record_path(&f.dir, r.run).display().to_string();
            if r.run >= total {
                return Err(format!(
                    "error: {file}: run {} is not in the sweep, which has {total} runs (0 to {})",
                    r.run,
                    total.saturating_sub(1)
                ));
            }
            let (point, k) = sweep.split(r.run);
            let expected = sweep.grid_sets(point);
            if r.sets != expected {
                return Err(format!(
                    "error: {file}: run {} ran with {} but the sweep's run {} is {}",
                    r.run,
                    describe_sets(&r.sets),
                    r.run,
                    describe_sets(&expected)
                ));
            }
            match &sweep.seeds {
                Seeds::List(list) if list[k] != r.seed => {
                    return Err(format!(
                        "error: {file}: run {} ran seed {} but the sweep's run {} has seed {}",
                        r.run, r.seed, r.run, list[k]
                    ));
                }
                Seeds::List(_) => {}
                Seeds::Count(_) => {
                    // Seeds are the scenario's seed + k: every run agrees on that seed.
                    let base = r.seed.wrapping_sub(k as u64);
                    match base_seed {
                        None => base_seed = Some((base, r.run, &f.dir)),
                        Some((b, run, dir)) if b != base => {
                            return Err(format!(
                                "error: {file}: run {} ran seed {}, which does not follow from run {run} in {} (seed {} + {})",
                                r.run,
                                r.seed,
                                dir.display(),
                                b,
                                k
                            ));
                        }
                        Some(_) => {}
                    }
                }
            }
            match digest {
                None => digest = Some((&r.scenario_digest, r.run, &f.dir)),
                Some((d, run, dir)) if d != r.scenario_digest => {
                    return Err(format!(
                        "error: {file}: run {} ran another scenario file than run {run} in {} (scenario digest {} vs {d}): the folders to merge must run the same scenario",
                        r.run,
                        dir.display(),
                        r.scenario_digest
                    ));
                }
                Some(_) => {}
            }
            match merged.get(&r.run) {
                Some((other, dir)) if !other.same_result(r) => {
                    return Err(format!(
                        "error: run {} is in {} and in {} with different results",
                        r.run,
                        dir.display(),
                        f.dir.display()
                    ));
                }
                Some(_) => {}
                None => {
                    merged.insert(r.run, (r, &f.dir));
                }
            }
        }
    }
    let missing: Vec<usize> = (0..total).filter(|run| !merged.contains_key(run)).collect();
    if !missing.is_empty() {
        return Err(format!(
            "error: {} of the sweep's {total} runs are missing: {} (is a shard's folder left out, or did a shard not finish?)",
            missing.len(),
            ranges(&missing)
        ));
    }
    let records = merged.into_values().map(|(r, _)| r.clone()).collect();
    Ok((sweep, records))
}

fn describe_sets(sets: &[String]) -> String {
    if sets.is_empty() {
        "no grid overrides".to_owned()
    } else {
        sets.join(", ")
    }
}

/// `3, 7-9, 12`, at most a dozen ranges.
fn ranges(sorted: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            sorted[i].to_string()
        } else {
            format!("{}-{}", sorted[i], sorted[j])
        });
        i = j + 1;
    }
    if parts.len() > 12 {
        let more = parts.len() - 12;
        parts.truncate(12);
        parts.push(format!("and {more} more ranges"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_runs_read_as_ranges() {
        assert_eq!(ranges(&[3, 7, 8, 9, 12]), "3, 7-9, 12");
        assert_eq!(ranges(&[0]), "0");
    }
}
