#![cfg(feature = "live")]
//! The seam holds: the same processes, built by the same code, run under the simulator and
//! under the live driver (threads, TCP on 127.0.0.1, wall-clock timers, real child processes)
//! and do the same thing.

use std::sync::{Arc, Mutex};
use std::time::Duration as WallDuration;

use serde::{Deserialize, Serialize};

use mesosim::ids::NodeId;
use mesosim::live::LiveCluster;
use mesosim::process::{
    Ctx, ExitReason, Message, Process, TaskExit, TaskKey, TaskOutcome, TaskRun, TaskSpec,
};
use mesosim::resources::Resources;
use mesosim::sim::{NetworkConfig, Observer, Sim, Stop};
use mesosim::time::{Duration, Instant};

/// Every wait in these tests gives up after this long: a bug fails, it never hangs.
const BOUND: WallDuration = WallDuration::from_secs(10);
const ROUNDS: u32 = 5;
const TICK: Duration = Duration::from_millis(10);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct Tick;

/// Pings its peer `TICK` after start and `TICK` after each pong, for `ROUNDS` rounds, then exits.
struct Pinger {
    peer: NodeId,
    sent: u32,
}

impl Process for Pinger {
    type Msg = Msg;
    type Timer = Tick;
    fn on_start(&mut self, ctx: &mut Ctx<'_, Msg, Tick>) {
        ctx.set_timer_after(Tick, TICK);
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, Msg, Tick>, _from: NodeId, msg: Msg) {
        if let Msg::Pong(_) = msg {
            if self.sent < ROUNDS {
                ctx.set_timer_after(Tick, TICK);
            } else {
                ctx.exit();
            }
        }
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Msg, Tick>, _: Tick) {
        ctx.send(self.peer, Msg::Ping(self.sent));
        self.sent += 1;
    }
}

/// Answers every ping.
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

/// What both drivers offer for building a world, so one function builds it for either.
trait World {
    fn add<P: Process<Msg = Msg> + Send + 'static>(&mut self, name: &str, p: P) -> NodeId;
}

impl World for Sim<Msg> {
    fn add<P: Process<Msg = Msg> + Send + 'static>(&mut self, name: &str, p: P) -> NodeId {
        self.add_process(name, p)
    }
}

impl World for LiveCluster<Msg> {
    fn add<P: Process<Msg = Msg> + Send + 'static>(&mut self, name: &str, p: P) -> NodeId {
        self.add_process(name, p).expect("bind a listener on 127.0.0.1")
    }
}

/// The echo first, then the pinger that needs its address: (echo, pinger).
fn build_ping_pair(world: &mut impl World) -> (NodeId, NodeId) {
    let echo = world.add("echo", Echo);
    let pinger = world.add("pinger", Pinger { peer: echo, sent: 0 });
    (echo, pinger)
}

type Log = Arc<Mutex<Vec<(Instant, NodeId, NodeId, Msg)>>>;

struct SimRecorder(Log);

impl Observer<Msg> for SimRecorder {
    fn message(&mut self, now: Instant, from: NodeId, to: NodeId, msg: &Msg) {
        self.0.lock().unwrap().push((now, from, to, msg.clone()));
    }
}

fn without_times(log: &Log) -> Vec<(NodeId, NodeId, Msg)> {
    log.lock()
        .unwrap()
        .iter()
        .map(|(_, from, to, msg)| (*from, *to, msg.clone()))
        .collect()
}

#[test]
fn ping_pong_is_the_same_under_the_simulator_and_live() {
    // Under the simulator.
    let sim_log = Log::default();
    let mut sim = Sim::new(1, NetworkConfig::default());
    sim.set_observer(Box::new(SimRecorder(Arc::clone(&sim_log))));
    let (echo, pinger) = build_ping_pair(&mut sim);
    assert_eq!(sim.run(Instant::MAX, u64::MAX), Stop::Idle);
    assert!(!sim.is_up(pinger), "the pinger exits after its last round");

    // Live.
    let live_log = Log::default();
    let mut cluster = LiveCluster::new(1);
    // The very observer the simulator ran with.
    cluster.set_observer(SimRecorder(Arc::clone(&live_log)));
    let ids = build_ping_pair(&mut cluster);
    assert_eq!(ids, (echo, pinger), "the same code gives the same addresses");
    let running = cluster.start().expect("start the live cluster");
    let finished = running.wait_until(BOUND, || !running.is_up(pinger));
    let report = running.stop();
    assert!(finished, "the pinger finished its rounds within {BOUND:?}");
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.dropped_messages, 0);

    // The same deliveries, complete and in the same order.
    let mut expected = Vec::new();
    for n in 0..ROUNDS {
        expected.push((pinger, echo, Msg::Ping(n)));
        expected.push((echo, pinger, Msg::Pong(n)));
    }
    assert_eq!(without_times(&sim_log), expected);
    assert_eq!(without_times(&live_log), expected);

    // Wall-clock timers really fired: each ping went out at least TICK after the start or the
    // pong before it, so it arrived at least that late.
    let live = live_log.lock().unwrap();
    let mut previous = Instant::ZERO;
    for (i, (at, _, _, msg)) in live.iter().enumerate() {
        if let Msg::Ping(_) = msg {
            assert!(
                *at - previous >= TICK,
                "delivery {i} ({msg:?}) at {at} came less than {TICK} after {previous}"
            );
        }
        previous = *at;
    }
}

/// Answers every ping, links to whoever pings it, and records the ends it hears of.
struct LinkingEcho {
    exited: Arc<Mutex<Vec<NodeId>>>,
}

impl Process for LinkingEcho {
    type Msg = Msg;
    type Timer = Tick;
    fn on_start(&mut self, _: &mut Ctx<'_, Msg, Tick>) {}
    fn on_message(&mut self, ctx: &mut Ctx<'_, Msg, Tick>, from: NodeId, msg: Msg) {
        if let Msg::Ping(n) = msg {
            ctx.link(from);
            ctx.send(from, Msg::Pong(n));
        }
    }
    fn on_timer(&mut self, _: &mut Ctx<'_, Msg, Tick>, _: Tick) {}
    fn on_exited(&mut self, _: &mut Ctx<'_, Msg, Tick>, peer: NodeId) {
        self.exited.lock().unwrap().push(peer);
    }
}

fn build_linked_pair(world: &mut impl World, exited: &Arc<Mutex<Vec<NodeId>>>) -> (NodeId, NodeId) {
    let echo = world.add(
        "echo",
        LinkingEcho {
            exited: Arc::clone(exited),
        },
    );
    let pinger = world.add("pinger", Pinger { peer: echo, sent: 0 });
    (echo, pinger)
}

#[test]
fn a_linked_process_hears_its_peer_end_under_the_simulator_and_live() {
    let sim_exited = Arc::new(Mutex::new(Vec::new()));
    let mut sim = Sim::new(1, NetworkConfig::default());
    let (_, pinger) = build_linked_pair(&mut sim, &sim_exited);
    assert_eq!(sim.run(Instant::MAX, u64::MAX), Stop::Idle);
    assert_eq!(*sim_exited.lock().unwrap(), vec![pinger]);

    let live_exited = Arc::new(Mutex::new(Vec::new()));
    let mut cluster = LiveCluster::new(1);
    let ids = build_linked_pair(&mut cluster, &live_exited);
    assert_eq!(ids.1, pinger);
    let running = cluster.start().expect("start the live cluster");
    let heard = running.wait_until(BOUND, || !live_exited.lock().unwrap().is_empty());
    let report = running.stop();
    assert!(
        heard,
        "the echo heard the pinger's connection close within {BOUND:?}"
    );
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(*live_exited.lock().unwrap(), vec![pinger]);
}

/// Launches its tasks on start, kills one after a while, and records every exit.
struct Launcher {
    tasks: Vec<TaskSpec>,
    kill: Option<(TaskKey, Duration)>,
    exits: Arc<Mutex<Vec<(Instant, TaskExit)>>>,
}

impl Process for Launcher {
    type Msg = Msg;
    type Timer = Tick;
    fn on_start(&mut self, ctx: &mut Ctx<'_, Msg, Tick>) {
        for task in &self.tasks {
            ctx.launch(task.clone());
        }
        if let Some((_, after)) = self.kill {
            ctx.set_timer_after(Tick, after);
        }
    }
    fn on_message(&mut self, _: &mut Ctx<'_, Msg, Tick>, _: NodeId, _: Msg) {}
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Msg, Tick>, _: Tick) {
        if let Some((key, _)) = self.kill {
            ctx.kill(key);
        }
    }
    fn on_task_exit(&mut self, ctx: &mut Ctx<'_, Msg, Tick>, exit: TaskExit) {
        self.exits.lock().unwrap().push((ctx.now(), exit));
    }
}

fn task(key: u64, duration: Option<Duration>, outcome: TaskOutcome) -> TaskSpec {
    TaskSpec {
        key: TaskKey(key),
        owner: key,
        resources: Resources::parse("cpus:0.1;mem:16").unwrap(),
        run: TaskRun { duration, outcome },
        command: None,
    }
}

#[test]
fn live_tasks_finish_fail_and_are_killed_as_real_processes() {
    let exits = Arc::new(Mutex::new(Vec::new()));
    let hundred_ms = Duration::from_millis(100);
    let kill_after = Duration::from_millis(50);
    let mut cluster: LiveCluster<Msg> = LiveCluster::new(1);
    cluster
        .add_process(
            "agent",
            Launcher {
                tasks: vec![
                    task(1, Some(hundred_ms), TaskOutcome::Succeed),
                    task(2, Some(hundred_ms), TaskOutcome::Fail),
                    task(3, None, TaskOutcome::Succeed),
                ],
                kill: Some((TaskKey(3), kill_after)),
                exits: Arc::clone(&exits),
            },
        )
        .unwrap();
    let running = cluster.start().unwrap();
    let all_ended = running.wait_until(BOUND, || exits.lock().unwrap().len() == 3);
    let report = running.stop();
    assert!(
        all_ended,
        "three exits within {BOUND:?}: {:?}",
        exits.lock().unwrap()
    );
    assert!(report.is_clean(), "{report:?}");

    let mut exits = exits.lock().unwrap().clone();
    exits.sort_by_key(|(_, exit)| exit.key);
    let reasons: Vec<(TaskKey, ExitReason)> = exits.iter().map(|(_, e)| (e.key, e.reason)).collect();
    assert_eq!(
        reasons,
        vec![
            (TaskKey(1), ExitReason::Finished),
            (TaskKey(2), ExitReason::Failed),
            (TaskKey(3), ExitReason::Killed),
        ]
    );
    // The sleeps really ran their course, and the kill came when it was asked for.
    assert!(exits[0].0 >= Instant::ZERO + hundred_ms, "{exits:?}");
    assert!(exits[1].0 >= Instant::ZERO + hundred_ms, "{exits:?}");
    assert!(exits[2].0 >= Instant::ZERO + kill_after, "{exits:?}");
}

#[test]
fn stop_ends_a_busy_cluster_promptly_and_kills_its_tasks() {
    // An echo pair that never stops, each with a task that would outlive the test: one plain
    // `sleep`, one under `sh`. Their durations are unique to this test run, to find them in /proc.
    let long = Duration::from_nanos(3_600_000_000_000 + u64::from(std::process::id()) * 1000 + 1);
    let secs = (Instant::ZERO + long).secs_string();
    struct Forever {
        peer: Option<NodeId>,
        long: Duration,
    }
    impl Process for Forever {
        type Msg = Msg;
        type Timer = Tick;
        fn on_start(&mut self, ctx: &mut Ctx<'_, Msg, Tick>) {
            let outcome = if self.peer.is_some() {
                TaskOutcome::Fail
            } else {
                TaskOutcome::Succeed
            };
            ctx.launch(task(1, Some(self.long), outcome));
            if let Some(peer) = self.peer {
                ctx.send(peer, Msg::Ping(0));
            }
        }
        fn on_message(&mut self, ctx: &mut Ctx<'_, Msg, Tick>, from: NodeId, msg: Msg) {
            let n = match msg {
                Msg::Ping(n) | Msg::Pong(n) => n,
            };
            ctx.send(from, Msg::Pong(n + 1));
        }
        fn on_timer(&mut self, _: &mut Ctx<'_, Msg, Tick>, _: Tick) {}
    }

    let delivered = Arc::new(Mutex::new(0u64));
    let mut cluster = LiveCluster::new(7);
    struct Count(Arc<Mutex<u64>>);
    impl Observer<Msg> for Count {
        fn message(&mut self, _: Instant, _: NodeId, _: NodeId, _: &Msg) {
            *self.0.lock().unwrap() += 1;
        }
    }
    cluster.set_observer(Count(Arc::clone(&delivered)));
    let a = cluster.add_process("a", Forever { peer: None, long }).unwrap();
    cluster.add_process("b", Forever { peer: Some(a), long }).unwrap();
    let running = cluster.start().unwrap();
    assert!(running.wait_until(BOUND, || *delivered.lock().unwrap() >= 100));
    // `sleep` twice (one directly, one under the shell) and the shell.
    assert!(
        running.wait_until(BOUND, || processes_mentioning(&secs) == 3),
        "{} processes run {secs}",
        processes_mentioning(&secs)
    );

    #[allow(clippy::disallowed_methods)] // measuring the driver's own shutdown
    let started = std::time::Instant::now();
    let report = running.stop();
    assert!(
        started.elapsed() < WallDuration::from_secs(5),
        "stop took {:?}",
        started.elapsed()
    );
    assert!(report.is_clean(), "{report:?}");
    // Killed and reaped (the shell's `sleep` is reaped by whoever adopted it, hence the wait).
    let mut gone = false;
    for _ in 0..1000 {
        gone = processes_mentioning(&secs) == 0;
        if gone {
            break;
        }
        std::thread::sleep(WallDuration::from_millis(10));
    }
    assert!(
        gone,
        "{} task processes outlived stop()",
        processes_mentioning(&secs)
    );
}

/// Live processes whose command line has `arg` as one of its arguments (Linux /proc).
fn processes_mentioning(arg: &str) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .filter(|cmdline| cmdline.split(|&b| b == 0).any(|a| a == arg.as_bytes()))
        .count()
}
