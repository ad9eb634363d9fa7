//! A random scenario from a seed: a small cluster (one master or three), a few frameworks
//! and a random fault schedule of every kind, all drawn from the seed's own `fuzz` stream.
//! Written as scenario YAML, so that a failing seed can also be run, read and edited as an
//! ordinary scenario.

use std::fmt::Write;

use rand::RngExt;

use crate::rng::{self, Rng};
use crate::time::Duration;

/// What the generator drew, besides the YAML.
#[derive(Clone, Debug)]
pub struct Drawn {
    pub yaml: String,
    /// Every fault has healed by then (crashed machines that never come back aside).
    pub heal_at: Duration,
}

fn pick<'a, T>(rng: &mut Rng, from: &'a [T]) -> &'a T {
    &from[rng.random_range(0..from.len())]
}

/// The scenario of fuzz seed `seed`, to run for `bound` after every fault has healed.
pub fn scenario(seed: u64, bound: Duration) -> Drawn {
    let mut rng = rng::stream(seed, "fuzz");
    let masters = if rng.random_bool(0.5) { 3 } else { 1 };
    let window = Duration::from_mins(rng.random_range(20..=90));
    let max_down = Duration::from_secs(rng.random_range(30..=300));
    let heal_at = window + max_down;
    let faults = rng.random_range(3..=25u32);
    let max_fraction = rng.random_range(0.05..0.3f64);
    let mut y = String::new();
    let w = &mut y;
    let _ = writeln!(
        w,
        "# Fuzz seed {seed}: random cluster, frameworks and faults (mesosim fuzz)."
    );
    let _ = writeln!(w, "name: fuzz-{seed}");
    let _ = writeln!(w, "seed: {seed}");
    let _ = writeln!(w, "duration: {}", heal_at + bound);
    let _ = writeln!(w, "master:");
    let _ = writeln!(w, "  masters: {masters}");
    let _ = writeln!(w, "  offer_timeout: 1m");
    let _ = writeln!(
        w,
        "  agent_reregister_timeout: {}",
        pick(&mut rng, &["2m", "10m"])
    );
    let _ = writeln!(w, "roles:\n  - {{ name: batch }}\n  - {{ name: service }}");
    let _ = writeln!(w, "cluster:");
    // Every machine (4+ cpus, 8+ GB) fits any task drawn below.
    for class in 0..rng.random_range(1..=2u32) {
        let count = rng.random_range(3..=16u32);
        let cpus = *pick(&mut rng, &[4u32, 8, 16]);
        let mem = *pick(&mut rng, &[8192u64, 16384, 32768]);
        let racks = rng.random_range(1..=4u32).min(count);
        let _ = writeln!(
            w,
            "  - {{ class: c{class}, count: {count}, resources: \"cpus:{cpus};mem:{mem}\", racks: {racks} }}"
        );
    }
    let _ = writeln!(w, "frameworks:");
    for k in 0..rng.random_range(1..=2u32) {
        let count = rng.random_range(3..=24u32);
        let cpus = *pick(&mut rng, &[0.5f64, 1.0, 2.0]);
        let mem = *pick(&mut rng, &[512u64, 1024, 2048]);
        let _ = writeln!(w, "  - name: services-{k}");
        let _ = writeln!(w, "    role: service");
        let _ = writeln!(w, "    type: batch");
        let _ = writeln!(w, "    partition_aware: {}", rng.random_bool(0.5));
        let _ = writeln!(
            w,
            "    failover_timeout: {}",
            pick(&mut rng, &["0s", "30s", "2m", "10m", "7d"])
        );
        let _ = writeln!(w, "    reconcile_interval: {}", pick(&mut rng, &["2m", "10m"]));
        let _ = writeln!(
            w,
            "    replace_unreachable_after: {}",
            pick(&mut rng, &["1m", "5m"])
        );
        let _ = writeln!(
            w,
            "    workload: {{ synthetic: {{ count: {count}, task: \"cpus:{cpus};mem:{mem}\", duration: endless }} }}"
        );
    }
    for k in 0..rng.random_range(0..=2u32) {
        let rate = rng.random_range(0.02..0.3f64);
        // Arrivals end around the end of the fault window: the cluster then drains.
        let count = ((rate * window.as_secs_f64()) as u64).max(1);
        let mean = rng.random_range(30..=300u64);
        let cpus = *pick(&mut rng, &[0.5f64, 1.0, 2.0]);
        let mem = *pick(&mut rng, &[256u64, 1024, 4096]);
        let _ = writeln!(w, "  - name: jobs-{k}");
        let _ = writeln!(w, "    role: batch");
        let _ = writeln!(w, "    type: batch");
        let _ = writeln!(w, "    failover_timeout: {}", pick(&mut rng, &["0s", "1m", "7d"]));
        let _ = writeln!(w, "    reconcile_interval: {}", pick(&mut rng, &["2m", "10m"]));
        let _ = writeln!(
            w,
            "    workload: {{ synthetic: {{ arrival_rate_per_s: {rate:.4}, count: {count}, task: \"cpus:{cpus};mem:{mem}\", duration: {{ exponential: {{ mean: {mean}s }} }} }} }}"
        );
    }
    if rng.random_bool(0.3) {
        let _ = writeln!(
            w,
            "  - {{ name: decliner, role: batch, type: scripted, on_offer: decline, refuse_seconds: 1s, failover_timeout: 1m }}"
        );
    }
    let _ = writeln!(w, "faults:");
    let _ = writeln!(
        w,
        "  random: {{ count: {faults}, to: {window}, max_down: {max_down}, max_fraction: {max_fraction:.3} }}"
    );
    Drawn { yaml: y, heal_at }
}
