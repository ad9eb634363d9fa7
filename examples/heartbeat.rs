use mesosim::agent::{Agent, AgentConfig};
use mesosim::master::{Master, MasterConfig};
use mesosim::proto::Msg;
use mesosim::resources::Resources;
use mesosim::sim::{NetworkConfig, Sim};
use mesosim::time::{Duration, Instant};
fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(10_000);
    let fixed = std::env::var("FIXED").is_ok();
    let net = if fixed {
        NetworkConfig {
            latency_min: Duration::from_millis(1),
            latency_max: Duration::from_millis(1),
            ..Default::default()
        }
    } else {
        NetworkConfig::default()
    };
    let mut sim: Sim<Msg> = Sim::new(1, net);
    let master = sim.add_process("master", Master::new(MasterConfig::default()));
    let r = Resources::parse("cpus:16;mem:65536").unwrap();
    for i in 0..n {
        sim.add_process(
            format!("agent-{i}"),
            Agent::new(AgentConfig::new(format!("agent-{i}"), r.clone(), master)),
        );
    }
    #[allow(clippy::disallowed_methods)]
    let t = std::time::Instant::now();
    let stop = sim.run(Instant::ZERO + Duration::from_hours(1), u64::MAX);
    let el = t.elapsed().as_secs_f64();
    println!(
        "{stop:?} events={} wall={el:.3}s rate={:.2}M/s digest={}",
        sim.events(),
        sim.events() as f64 / el / 1e6,
        sim.digest()
    );
}
