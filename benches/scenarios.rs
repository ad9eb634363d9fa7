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

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};

/// The binary's allocator, so that the figures are the command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn scenarios(c: &mut Criterion) {
    let mut group = c.benchmark_group("scenarios");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(45));
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
    let mut group = c.benchmark_group("collection");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(30));
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

fn faults(c: &mut Criterion) {
    let mut group = c.benchmark_group("faults");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(20));
    let path = Path::new("scenarios/quickstart.yaml");
    for (name, faults, masters) in [
        ("none", "[]", 1),
        (
            "random-20",
            "{random: {count: 20, kinds: [crash_agents, restart_agents, partition, network], max_fraction: 0.05}}",
            1,
        ),
        ("failover", "[{at: 30m, crash_master: {back_after: 1m}}]", 3),
    ] {
        let sets = [
            format!("faults={faults}"),
            "master.offer_timeout=1m".to_owned(),
            format!("master.masters={masters}"),
        ];
        let loaded = mesosim::scenario::load(path, &sets).expect("the quickstart loads");
        let s = &loaded.scenario;
        group.bench_function(format!("quickstart/{name}"), |b| {
            b.iter_with_large_drop(|| mesosim::run::run(s, None, |_| {}).expect("the run finishes"))
        });
    }
    group.finish();
}

criterion_group!(benches, scenarios, collection, faults);
criterion_main!(benches);
