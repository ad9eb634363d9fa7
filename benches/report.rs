//! Writing the report of a run with a million tasks: everything written after the
//! simulation ends (timeseries.csv, shares.csv, agents.csv, the five plots as PNG and SVG,
//! report.html), from a run simulated once before measuring. The target is at most 5 s.
//!
//! The run: 500 agents of 32 cpus, a batch framework per role in three roles, tasks
//! arriving 280 a second for an hour (about 1.01 million), each running about 10 s.

use criterion::{Criterion, criterion_group, criterion_main};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SCENARIO: &str = r#"
name: report-million
seed: 7
duration: 1h
roles: [ { name: a }, { name: b, weight: 2 }, { name: c } ]
cluster:
  - { class: node, count: 500, resources: "cpus:32;mem:131072;disk:1000000" }
report: { offers_csv: false }
frameworks:
  - { name: fa, role: a, type: batch, workload: { synthetic: { arrival_rate_per_s: 100, duration: { lognormal: { median: 8s, sigma: 0.6 } }, task: "cpus:1;mem:2048" } } }
  - { name: fb, role: b, type: batch, workload: { synthetic: { arrival_rate_per_s: 100, duration: { lognormal: { median: 8s, sigma: 0.6 } }, task: "cpus:1;mem:4096" } } }
  - { name: fc, role: c, type: batch, workload: { synthetic: { arrival_rate_per_s: 80, duration: { lognormal: { median: 8s, sigma: 0.6 } }, task: "cpus:2;mem:2048" } } }
"#;

fn report(c: &mut Criterion) {
    let loaded =
        mesosim::scenario::load_str(SCENARIO, "report-million.yaml", &[]).expect("the scenario loads");
    let dir = std::env::temp_dir().join(format!("mesosim-bench-report-{}", std::process::id()));
    let outcome = mesosim::run::run(&loaded.scenario, Some(&dir), |_| {}).expect("the run finishes");
    assert!(
        outcome.summary.tasks.submitted > 1_000_000,
        "{}",
        outcome.summary.tasks.submitted
    );
    let mut group = c.benchmark_group("report");
    group.sample_size(10);
    group.bench_function("million-tasks", |b| {
        b.iter(|| {
            mesosim::report::files::write_tables(&dir, outcome.collector()).expect("written");
            mesosim::report::page::write(&dir, &outcome.summary, outcome.collector(), &loaded.source_text)
                .expect("written");
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
    outcome.leak();
}

criterion_group!(benches, report);
criterion_main!(benches);
