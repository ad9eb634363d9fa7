//! The simulator's own tests, with small test processes.

use serde::{Deserialize, Serialize};

use super::*;
use crate::process::{TaskOutcome, TaskRun};
use crate::resources::Resources;
use crate::time::Duration;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
enum Msg {
    Ping(u32),
    Pong(u32),
}

impl Message for Msg {
    fn tag(&self) -> u16 {
        match self {
            Msg::Ping(_) => 0,
            Msg::Pong(_) => 1,
        }
    }
    fn kind(&self) -> &'static str {
        match self {
            Msg::Ping(_) => "ping",
            Msg::Pong(_) => "pong",
        }
    }
}

/// Pings its peer every 10 ms, five times, and records the round-trip times.
struct Pinger {
    peer: NodeId,
    sent: u32,
    rtts: Vec<Duration>,
    sent_at: Instant,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct Tick;

impl Process for Pinger {
    type Msg = Msg;
    type Timer = Tick;
    fn on_start(&mut self, ctx: &mut Ctx<'_, Msg, Tick>) {
        ctx.set_timer_after(Tick, Duration::from_millis(10));
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, Msg, Tick>, _from: NodeId, msg: Msg) {
        if let Msg::Pong(_) = msg {
            self.rtts.push(ctx.now() - self.sent_at);
            if self.sent < 5 {
                ctx.set_timer_after(Tick, Duration::from_millis(10));
            }
        }
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Msg, Tick>, _: Tick) {
        self.sent_at = ctx.now();
        ctx.send(self.peer, Msg::Ping(self.sent));
        self.sent += 1;
    }
}

struct Echo;

impl Process for Echo {
    type Msg = Msg;
    type Timer = Tick;
    fn on_start(&mut self, _: &mut Ctx<'_, Msg, Tick>) {}
    fn on_message(&mut self, ctx: &mut Ctx<'_, Msg, Tick>, from: NodeId, msg: Msg) {
        if let Msg::Ping(n) = msg {
            ctx.send(from, Msg::Pong(n));
        }
    }
    fn on_timer(&mut self, _: &mut Ctx<'_, Msg, Tick>, _: Tick) {}
}

fn ping_pair(seed: u64, network: NetworkConfig) -> (Sim<Msg>, NodeId) {
    let mut sim = Sim::new(seed, network);
    let pinger = sim.add_process(
        "pinger",
        Pinger {
            peer: NodeId(1),
            sent: 0,
            rtts: vec![],
            sent_at: Instant::ZERO,
        },
    );
    sim.add_process("echo", Echo);
    (sim, pinger)
}

#[test]
fn ping_pong_runs_to_idle_with_constant_latency() {
    let net = NetworkConfig {
        latency_min: Duration::from_millis(1),
        latency_max: Duration::from_millis(1),
        ..Default::default()
    };
    let (mut sim, pinger) = ping_pair(1, net);
    assert_eq!(sim.run(Instant::MAX, u64::MAX), Stop::Idle);
    let p: &Pinger = sim.process(pinger).unwrap();
    assert_eq!(p.rtts, vec![Duration::from_millis(2); 5]);
    // 2 starts + 5 ticks + 5 pings + 5 pongs.
    assert_eq!(sim.events(), 17);
    // Five rounds of 10 ms wait + 2 ms round trip.
    assert_eq!(sim.now(), Instant::from_nanos(60_000_000));
}

#[test]
fn digest_depends_on_the_seed_only_when_latency_varies() {
    let digest = |seed, net: NetworkConfig| {
        let (mut sim, _) = ping_pair(seed, net);
        sim.run(Instant::MAX, u64::MAX);
        sim.digest()
    };
    let fixed = NetworkConfig {
        latency_min: Duration::from_millis(1),
        latency_max: Duration::from_millis(1),
        ..Default::default()
    };
    let varied = NetworkConfig::default();
    assert_eq!(digest(1, fixed.clone()), digest(2, fixed));
    assert_eq!(digest(1, varied.clone()), digest(1, varied.clone()));
    assert_ne!(digest(1, varied.clone()), digest(2, varied));
}

#[test]
fn time_limit_and_budget_stop_the_loop() {
    let (mut sim, _) = ping_pair(1, NetworkConfig::default());
    assert_eq!(
        sim.run(Instant::from_nanos(15_000_000), u64::MAX),
        Stop::TimeLimit
    );
    assert_eq!(sim.now(), Instant::from_nanos(15_000_000));
    assert_eq!(sim.run(Instant::MAX, 3), Stop::Budget);
    assert_eq!(sim.run(Instant::MAX, u64::MAX), Stop::Idle);
}

#[test]
fn external_actions_come_back_at_their_time() {
    let (mut sim, _) = ping_pair(1, NetworkConfig::default());
    sim.schedule_external(Instant::from_nanos(25_000_000), 7);
    assert_eq!(sim.run(Instant::MAX, u64::MAX), Stop::External(7));
    assert_eq!(sim.now(), Instant::from_nanos(25_000_000));
}

/// Launches one task on start and records how it ended.
struct Launcher {
    spec: TaskSpec,
    kill_after: Option<Duration>,
    exits: Vec<(Instant, ExitReason)>,
}

impl Process for Launcher {
    type Msg = Msg;
    type Timer = Tick;
    fn on_start(&mut self, ctx: &mut Ctx<'_, Msg, Tick>) {
        ctx.launch(self.spec.clone());
        if let Some(after) = self.kill_after {
            ctx.set_timer_after(Tick, after);
        }
    }
    fn on_message(&mut self, _: &mut Ctx<'_, Msg, Tick>, _: NodeId, _: Msg) {}
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Msg, Tick>, _: Tick) {
        ctx.kill(self.spec.key);
    }
    fn on_task_exit(&mut self, ctx: &mut Ctx<'_, Msg, Tick>, exit: TaskExit) {
        self.exits.push((ctx.now(), exit.reason));
    }
}

fn task(cpus: &str, secs: Option<u64>, outcome: TaskOutcome) -> TaskSpec {
    TaskSpec {
        command: None,
        key: TaskKey(1),
        owner: 0,
        resources: Resources::parse(cpus).unwrap(),
        run: TaskRun {
            duration: secs.map(Duration::from_secs),
            outcome,
        },
    }
}

fn run_launcher(spec: TaskSpec, kill_after: Option<Duration>) -> (Sim<Msg>, NodeId, Stop) {
    let mut sim = Sim::new(1, NetworkConfig::default());
    let node = sim.add_process(
        "agent",
        Launcher {
            spec,
            kill_after,
            exits: vec![],
        },
    );
    sim.add_machine(
        node,
        Machine::new("m1", Resources::parse("cpus:4;mem:1024").unwrap()),
    );
    let stop = sim.run(Instant::MAX, u64::MAX);
    (sim, node, stop)
}

#[test]
fn a_task_holds_its_resources_for_its_duration() {
    let (sim, node, stop) = run_launcher(task("cpus:2", Some(30), TaskOutcome::Fail), None);
    assert_eq!(stop, Stop::Idle);
    let p: &Launcher = sim.process(node).unwrap();
    assert_eq!(
        p.exits,
        vec![(Instant::from_nanos(30_000_000_000), ExitReason::Failed)]
    );
    assert!(
        sim.machine_of(node)
            .unwrap()
            .used()
            .contains(&Resources::default())
    );
    assert_eq!(sim.machine_of(node).unwrap().running(), 0);
}

#[test]
fn a_killed_task_exits_at_once_and_its_completion_is_void() {
    let (sim, node, _) = run_launcher(
        task("cpus:2", Some(30), TaskOutcome::Succeed),
        Some(Duration::from_secs(5)),
    );
    let p: &Launcher = sim.process(node).unwrap();
    assert_eq!(
        p.exits,
        vec![(Instant::from_nanos(5_000_000_000), ExitReason::Killed)]
    );
}

#[test]
fn over_committing_a_machine_is_a_violation() {
    let (_, _, stop) = run_launcher(task("cpus:8", None, TaskOutcome::Succeed), None);
    let Stop::Violation(v) = stop else {
        panic!("expected a violation, got {stop:?}")
    };
    assert_eq!(v.process, "agent");
    assert!(v.message.contains("over-committed"), "{}", v.message);
}

/// Links to its peer at start and records the ends it hears of.
struct Watcher {
    peer: NodeId,
    heard: Vec<(Instant, NodeId)>,
}

impl Process for Watcher {
    type Msg = Msg;
    type Timer = Tick;
    fn on_start(&mut self, ctx: &mut Ctx<'_, Msg, Tick>) {
        ctx.link(self.peer);
        ctx.link(self.peer);
    }
    fn on_message(&mut self, _: &mut Ctx<'_, Msg, Tick>, _: NodeId, _: Msg) {}
    fn on_timer(&mut self, _: &mut Ctx<'_, Msg, Tick>, _: Tick) {}
    fn on_exited(&mut self, ctx: &mut Ctx<'_, Msg, Tick>, peer: NodeId) {
        self.heard.push((ctx.now(), peer));
    }
}

fn watching(peer: NodeId) -> Watcher {
    Watcher {
        peer,
        heard: Vec::new(),
    }
}

fn run_to(sim: &mut Sim<Msg>, t: Instant) {
    let stop = sim.run(t, u64::MAX);
    assert!(matches!(stop, Stop::TimeLimit | Stop::Idle), "{stop:?}");
}

#[test]
fn a_linked_process_hears_once_that_its_peer_ended_and_not_of_its_successor() {
    let network = NetworkConfig {
        latency_min: Duration::from_millis(1),
        latency_max: Duration::from_millis(3),
        ..NetworkConfig::default()
    };
    let mut sim: Sim<Msg> = Sim::new(1, network);
    let peer = sim.add_process("echo", Echo);
    let watcher = sim.add_process("watcher", watching(peer));
    let t = |ms: u64| Instant::ZERO + Duration::from_millis(ms);
    run_to(&mut sim, t(10));
    let crashed_at = sim.now();
    sim.crash(peer);
    sim.crash(peer); // crashing what is down tells no one again
    run_to(&mut sim, t(20));
    let heard = &sim.process::<Watcher>(watcher).unwrap().heard;
    // After the longest latency: behind anything the peer sent before it ended.
    assert_eq!(heard, &[(crashed_at + Duration::from_millis(3), peer)]);
    // Its successor is not watched until linked again.
    sim.restart(peer, Echo).unwrap();
    run_to(&mut sim, t(30));
    sim.crash(peer);
    run_to(&mut sim, t(40));
    assert_eq!(sim.process::<Watcher>(watcher).unwrap().heard.len(), 1);
}

#[test]
fn a_watcher_that_restarted_or_is_cut_off_hears_nothing() {
    let mut sim: Sim<Msg> = Sim::new(1, NetworkConfig::default());
    let peer = sim.add_process("echo", Echo);
    let watcher = sim.add_process("watcher", watching(peer));
    let t = |ms: u64| Instant::ZERO + Duration::from_millis(ms);
    run_to(&mut sim, t(10));
    // The watcher restarts (and links again): the old incarnation's link is void, the new
    // one's holds.
    sim.crash(watcher);
    sim.restart(watcher, watching(peer)).unwrap();
    run_to(&mut sim, t(20));
    sim.crash(peer);
    run_to(&mut sim, t(30));
    assert_eq!(sim.process::<Watcher>(watcher).unwrap().heard.len(), 1);
    // A partition keeps the news from arriving.
    sim.restart(peer, Echo).unwrap();
    sim.crash(watcher);
    sim.restart(watcher, watching(peer)).unwrap();
    run_to(&mut sim, t(40));
    sim.partition(
        1,
        Partition {
            sides: vec![1, 0],
            sides_count: 1,
            one_way: false,
            exempt: Vec::new(),
        },
    );
    sim.crash(peer);
    run_to(&mut sim, t(50));
    assert!(sim.process::<Watcher>(watcher).unwrap().heard.is_empty());
}

/// Records the messages it handles; a `Ping(n)` publishes `n` events.
#[derive(Default)]
struct Recorder {
    handled: Vec<(Instant, Msg)>,
}

impl Process for Recorder {
    type Msg = Msg;
    type Timer = Tick;
    fn on_start(&mut self, _: &mut Ctx<'_, Msg, Tick>) {}
    fn on_message(&mut self, ctx: &mut Ctx<'_, Msg, Tick>, _: NodeId, msg: Msg) {
        if let Msg::Ping(n) = msg {
            for _ in 0..n {
                ctx.publish(Msg::Pong(n));
            }
        }
        self.handled.push((ctx.now(), msg));
    }
    fn on_timer(&mut self, _: &mut Ctx<'_, Msg, Tick>, _: Tick) {}
}

/// A recorder whose pings cost 10 ms plus 1 ms per event published, pongs nothing and
/// never waiting; messages take 1 ms to arrive. `pings` are sent to it at once.
fn busy_recorder(pings: &[u32]) -> (Sim<Msg>, NodeId) {
    let net = NetworkConfig {
        latency_min: Duration::from_millis(1),
        latency_max: Duration::from_millis(1),
        ..Default::default()
    };
    let mut sim = Sim::new(1, net);
    let node = sim.add_process("recorder", Recorder::default());
    sim.set_processing(
        node,
        Box::new(|_, msg: &Msg| match msg {
            Msg::Ping(_) => Some(processing::Cost {
                message: Duration::from_millis(10),
                per_event: Duration::from_millis(1),
            }),
            Msg::Pong(_) => None,
        }),
    );
    for &n in pings {
        sim.send(SENDER, node, Msg::Ping(n));
    }
    (sim, node)
}

const SENDER: NodeId = NodeId(99);

fn ms(n: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(n)
}

#[test]
fn a_busy_process_takes_its_messages_in_turn_and_is_charged_per_event() {
    let (mut sim, node) = busy_recorder(&[2, 0, 1]);
    assert_eq!(sim.run(ms(5), u64::MAX), Stop::TimeLimit);
    assert_eq!(sim.waiting(node), 2);
    // A message the model lets through is handled at once, however busy the process is.
    sim.send(SENDER, node, Msg::Pong(7));
    assert_eq!(sim.run(Instant::MAX, u64::MAX), Stop::Idle);
    let r: &Recorder = sim.process(node).unwrap();
    assert_eq!(
        r.handled,
        vec![
            // 10 ms + 2 events: busy until 13 ms.
            (ms(1), Msg::Ping(2)),
            (ms(6), Msg::Pong(7)),
            (ms(13), Msg::Ping(0)),
            (ms(23), Msg::Ping(1)),
        ]
    );
    // Waiting is not an event: 1 start and 4 messages.
    assert_eq!(sim.events(), 5);
}

#[test]
fn messages_waiting_for_a_process_that_crashes_are_lost() {
    let (mut sim, node) = busy_recorder(&[0, 0, 0]);
    sim.run(ms(5), u64::MAX);
    sim.crash(node);
    assert_eq!(sim.waiting(node), 0);
    sim.restart(node, Recorder::default()).unwrap();
    sim.send(SENDER, node, Msg::Ping(0));
    assert_eq!(sim.run(Instant::MAX, u64::MAX), Stop::Idle);
    let r: &Recorder = sim.process(node).unwrap();
    // The restarted process hears only the message sent to it, once the crashed one's
    // last message would have been handled.
    assert_eq!(r.handled, vec![(ms(11), Msg::Ping(0))]);
}
