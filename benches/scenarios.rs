//! Whole bundled scenarios, run as `mesosim run` runs them (same allocator, no report
//! folder).
//!
//! `scenarios/google-2011-part0`: the Google 2011 part 00000 replay, 94 simulated minutes on
//! 12,492 agents (about 4.6 million events, from reading the gzip trace to the summary).
//! The target is at most 3 s.
//!
//! `collection/*`: the cost of collecting metrics, as a ratio within one run of the bench:
//! each scenario with nothing observing it (`off`), with the full collector (`on`), and
//! with the collector plus every report file but the plots (`files`: tasks.csv, offers.csv,
//! timeseries.csv, shares.csv, agents.csv, into a temporary folder). The target is `on` at
//! most 15% over `off`.
//!
//! `faults/*`: the quickstart with no faults and with 20 random faults (crashed and
//! restarted agents, partitions, bursts of message loss), both with `offer_timeout: 1m`:
//! the ratio is what injecting faults, recovering from them and counting the recovery cost.
//! `faults/quickstart/failover` runs three masters and a coordinator, and crashes the
//! leader at 30 minutes: its ratio to `none` is what standby masters, sessions and a
//! failover cost.
//!
//! `failover/agents=40000/tasks=400000`: the bundled `failover-40k` (the leading master of
//! 40,000 agents running 400,000 tasks crashes; the next works through their registrations
//! at Mesos's measured cost), to the summary; the target is at most 30 s. Its parts, as
//! ratios: `failover/.../startup` runs only up to the crash (placing the 400,000 tasks),
//! and `failover/agents=4000/tasks=40000` is the same at a tenth of the scale (the ratio
//! to the whole says whether the cost grows faster than the cluster).
//! `cargo bench --bench scenarios -- failover` runs these alone.

use std::path::Path;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};

/// The binary's allocator, so that the figures are the command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A group of whole runs: ten samples, each of one run, within `secs` seconds or so. The
/// allocator keeps freed memory, as the command has it do.
fn group<'a>(c: &'a mut Criterion, name: &str, secs: u64) -> BenchmarkGroup<'a, WallTime> {
    mesosim::cli::keep_freed_memory();
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(secs));
    group
}

fn scenarios(c: &mut Criterion) {
    let mut group = group(c, "scenarios", 45);
    let name = "google-2011-part0";
    let path = Path::new("scenarios").join(format!("{name}.yaml"));
    let loaded = mesosim::scenario::load(&path, &[]).expect("a bundled scenario loads");
    group.bench_function(name, |b| {
        // The command exits without freeing the simulation (`Outcome::leak`): free it
        // outside the measurement.
        b.iter_with_large_drop(|| {
            let outcome = mesosim::run::run(&loaded.scenario, None, |_| {}).expect("the run finishes");
            assert!(outcome.summary.tasks.launched > 0);
            outcome
        })
    });
    group.finish();
}

fn collection(c: &mut Criterion) {
    let mut group = group(c, "collection", 30);
    let dir = std::env::temp_dir().join(format!("mesosim-bench-collection-{}", std::process::id()));
    for name in ["quickstart", "google-2011-part0"] {
        let path = Path::new("scenarios").join(format!("{name}.yaml"));
        let loaded = mesosim::scenario::load(&path, &[]).expect("a bundled scenario loads");
        let s = &loaded.scenario;
        group.bench_function(format!("{name}/off"), |b| {
            b.iter_with_large_drop(|| mesosim::run::run_unobserved(s).expect("the run finishes"))
        });
        group.bench_function(format!("{name}/on"), |b| {
            b.iter_with_large_drop(|| mesosim::run::run(s, None, |_| {}).expect("the run finishes"))
        });
        group.bench_function(format!("{name}/files"), |b| {
            b.iter_with_large_drop(|| {
                let outcome = mesosim::run::run(s, Some(&dir), |_| {}).expect("the run finishes");
                mesosim::report::files::write_tables(&dir, outcome.collector()).expect("written");
                outcome
            })
        });
    }
    let _ = std::fs::remove_dir_all(&dir);
    group.finish();
}

/// Benches whole runs of the scenario at `path`, once per variant: a name and its `--set`
/// overrides.
fn bench_runs(group: &mut BenchmarkGroup<'_, WallTime>, path: &Path, variants: Vec<(String, Vec<String>)>) {
    for (name, sets) in variants {
        let loaded = mesosim::scenario::load(path, &sets).expect("the scenario loads");
        let s = &loaded.scenario;
        group.bench_function(name, |b| {
            b.iter_with_large_drop(|| mesosim::run::run(s, None, |_| {}).expect("the run finishes"))
        });
    }
}

fn faults(c: &mut Criterion) {
    let mut group = group(c, "faults", 20);
    let variants = [
        ("none", "[]", 1),
        (
            "random-20",
            "{random: {count: 20, kinds: [crash_agents, restart_agents, partition, network], max_fraction: 0.05}}",
            1,
        ),
        ("failover", "[{at: 30m, crash_master: {back_after: 1m}}]", 3),
    ]
    .into_iter()
    .map(|(name, faults, masters)| {
        let sets = vec![
            format!("faults={faults}"),
            "master.offer_timeout=1m".to_owned(),
            format!("master.masters={masters}"),
        ];
        (format!("quickstart/{name}"), sets)
    })
    .collect();
    bench_runs(&mut group, Path::new("scenarios/quickstart.yaml"), variants);
    group.finish();
}

fn failover(c: &mut Criterion) {
    let mut group = group(c, "failover", 60);
    let variants = [
        (
            "agents=4000/tasks=40000",
            &[
                "cluster.0.count=4000",
                "frameworks.0.workload.synthetic.count=8000",
            ][..],
        ),
        (
            "agents=40000/tasks=400000/startup",
            &["duration=20s", "faults=[]"][..],
        ),
        ("agents=40000/tasks=400000", &[][..]),
    ]
    .into_iter()
    .map(|(name, sets)| (name.to_owned(), sets.iter().map(|s| (*s).to_owned()).collect()))
    .collect();
    bench_runs(&mut group, Path::new("scenarios/failover-40k.yaml"), variants);
    group.finish();
}

criterion_group!(benches, scenarios, collection, faults, failover);
criterion_main!(benches);
