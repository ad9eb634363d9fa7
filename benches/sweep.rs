//! A small sweep on 1 thread and on 2: the ratio of the two medians is the speed-up that
//! parallel runs give (the target is at least 1.8 on 2 cores; read it only with both cores
//! idle: on a machine where another program keeps one core busy, 2 threads gain nothing).
//!
//! `sweep/runs=8/jobs=N`: the quickstart scenario's first 30 minutes (200 machines, about
//! 0.28 s a run) under drf and binpack × 4 seeds, as `mesosim sweep` runs it (no report
//! folders, every simulation freed on its worker thread).

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use mesosim::sweep::{Prepared, Sweep};

/// The binary's allocator, so that the figures are the command's: with the system
/// allocator, threads allocating at the simulator's rate contend for it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SWEEP: &str = "name: bench
scenario: quickstart.yaml
set: [\"duration=30m\"]
grid:
  master.allocator: [drf, binpack]
seeds: 4
";

fn sweep(c: &mut Criterion) {
    let sweep = Sweep::parse(SWEEP, "benches/sweep.rs", Path::new("scenarios")).expect("the sweep parses");
    let prepared = Prepared::load(sweep).expect("the sweep loads");
    let runs: Vec<usize> = (0..prepared.sweep.runs()).collect();
    let mut group = c.benchmark_group("sweep");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(20));
    group.warm_up_time(std::time::Duration::from_secs(2));
    for jobs in [1, 2] {
        group.bench_function(format!("runs={}/jobs={jobs}", runs.len()), |b| {
            b.iter(|| {
                let records = prepared
                    .run_many(&runs, jobs, None, |_| Ok(()))
                    .expect("the runs finish");
                assert!(records.iter().all(|r| r.status == mesosim::sweep::Status::Ok));
                records
            })
        });
    }
    group.finish();
}

criterion_group!(benches, sweep);
criterion_main!(benches);
