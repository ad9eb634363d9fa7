//! The event engine: the whole loop under a real control-plane load, and the queue alone.
//!
//! `engine/heartbeat/agents=10000/sim=1h`: 10,000 production agents register with the
//! production master and answer its pings every 15 s for a simulated hour (about 7.2 million
//! events: ping timers, pings, pongs), with the default network (latency drawn from
//! 200 us–2 ms per message, FIFO links). Throughput is in events per second; the target is
//! at least 10 million.
//!
//! `engine/queue/hold/...`: the classic hold model on the event queue alone: pop the
//! earliest event, push one a random delay later, with the queue holding `n` events.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mesosim::agent::{Agent, AgentConfig};
use mesosim::master::{Master, MasterConfig};
use mesosim::proto::Msg;
use mesosim::resources::Resources;
use mesosim::sim::queue::EventQueue;
use mesosim::sim::{NetworkConfig, Sim, Stop};
use mesosim::time::{Duration, Instant};
use rand::{RngExt, SeedableRng};

/// The binary's allocator, so that the figures are the command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn heartbeat_world(agents: u32, network: NetworkConfig) -> Sim<Msg> {
    let mut sim = Sim::new(1, network);
    let master = sim.add_process(
        "master",
        Master::new(MasterConfig::default()).expect("drf exists"),
    );
    let resources = Resources::parse("cpus:16;mem:65536;disk:512000").unwrap();
    for i in 1..=agents {
        let name = format!("agent-{i}");
        sim.add_process(
            name.clone(),
            Agent::new(AgentConfig::new(name, resources.clone(), master)),
        );
    }
    sim
}

fn heartbeat(c: &mut Criterion) {
    let hour = Instant::ZERO + Duration::from_hours(1);
    let fixed = NetworkConfig {
        latency_min: Duration::from_millis(1),
        latency_max: Duration::from_millis(1),
        ..NetworkConfig::default()
    };
    let mut group = c.benchmark_group("engine/heartbeat");
    group.sample_size(10);
    for (label, network) in [
        ("latency=200us-2ms", NetworkConfig::default()),
        ("latency=1ms", fixed),
    ] {
        let mut probe = heartbeat_world(10_000, network.clone());
        assert_eq!(probe.run(hour, u64::MAX), Stop::TimeLimit);
        group.throughput(Throughput::Elements(probe.events()));
        group.bench_function(format!("agents=10000/sim=1h/{label}"), |b| {
            b.iter_batched(
                || heartbeat_world(10_000, network.clone()),
                |mut sim| {
                    sim.run(hour, u64::MAX);
                    black_box(sim.events())
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn queue_hold(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine/queue/hold");
    const STEPS: u64 = 1_000_000;
    group.throughput(Throughput::Elements(STEPS));
    for n in [1_000usize, 30_000, 300_000] {
        group.bench_function(format!("n={n}/delays=1ms+15s"), |b| {
            b.iter_batched(
                || {
                    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
                    let mut q = EventQueue::new();
                    for i in 0..n {
                        q.push(
                            Instant::from_nanos(rng.random_range(0..15_000_000_000u64)),
                            i as u64,
                        );
                    }
                    (q, rng)
                },
                |(mut q, mut rng)| {
                    for _ in 0..STEPS {
                        let (t, _, payload) = q.pop().unwrap();
                        // A third of events are 15 s timers, the rest messages 0.2-2 ms away.
                        let delay = if rng.random_bool(1.0 / 3.0) {
                            15_000_000_000
                        } else {
                            rng.random_range(200_000..2_000_000u64)
                        };
                        q.push(Instant::from_nanos(t.as_nanos() + delay), payload);
                    }
                    black_box(q.len())
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, heartbeat, queue_hold);
criterion_main!(benches);
