//! `mesosim live run`: a scenario played by real processes. The master and every agent run
//! as OS processes of their own (`mesosim live master`, `mesosim live agent`, started from
//! this binary on 127.0.0.1 and configured from the same scenario file), the frameworks and
//! the users' submissions run here, in wall-clock time compressed by `time_scale`, and the
//! metrics collector that watches a simulation watches it: the report folder is the one
//! `mesosim run` writes, with `mode: live` in its summary.
//!
//! - **One clock.** Every OS process counts time from this run's epoch, passed to each as
//!   a Unix time, at the same scale ([`Clock`]): the master's allocation timer, the agents'
//!   stand-in tasks and the submissions agree on what "10 s in" means, as in the simulator.
//! - **What the collector sees.** The master publishes its operator events to an observer
//!   process here ([`LiveCluster::publish_to`]); the frameworks here publish theirs
//!   directly. Events are stamped when they reach the collector, never earlier than the
//!   last (the collector's integrals need time to run forward).
//! - **Everything is up before the scenario starts.** The epoch is set a little ahead, so
//!   that the master, the agents and the frameworks start and connect while their clocks
//!   still read zero. Agents and frameworks then register after the random backoff their
//!   streams draw, the same draws as in the simulation: agents get their ids (which
//!   allocators break ties by) in the simulation's order.
//!
//! Only what can happen to real processes on one machine is played: one master (several
//! need ZooKeeper), frameworks that start with the run, and no scenario events or faults
//! yet; anything else is refused before a process starts. The simulated network model does
//! not apply (loopback is the network).
//!
//! It belongs to the live driver rather than to `run/` because it waits on the wall clock
//! and drives OS processes; what it shares with a simulated run (the scenario's master,
//! agent and scheduler configurations, its workloads, the collector, the summary) it takes
//! from `run/`.

// A live run waits on the wall clock and drives OS processes.
#![allow(clippy::disallowed_methods)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration as WallDuration, Instant as WallInstant};

use crate::frameworks::batch::Batch;
use crate::frameworks::scripted::Scripted;
use crate::ids::NodeId;
use crate::live::{Clock, LiveCluster, RunningCluster};
use crate::metrics::{Collector, Sinks};
use crate::process::Observer;
use crate::proto::{Msg, TaskRequest};
use crate::run::faults::cluster_machines;
use crate::run::world::{self, Operator, SchedulerConfig, Source};
use crate::run::{Facts, Failure, Outcome, close, setup, summarise};
use crate::scenario::Scenario;
use crate::scenario::schema::{Start, WorkloadSpec};
use crate::sim::NetworkStats;
use crate::time::{Duration, Instant};

/// How long a master or agent may take to come up (or an agent to register).
const START_BOUND: WallDuration = WallDuration::from_secs(20);
/// The wall time allowed before the scenario's start for the master and the frameworks to
/// start, and for each agent to start and register.
const START_FIRST: WallDuration = WallDuration::from_millis(1500);
const START_PER_AGENT: WallDuration = WallDuration::from_millis(300);

/// How long a master or agent may take to stop once told to.
const STOP_BOUND: WallDuration = WallDuration::from_secs(10);

/// How a live run is carried out.
pub struct LiveOptions {
    /// The mesosim binary the master and agents are started from.
    pub exe: PathBuf,
    /// How they load the same scenario: its path, then any `--set KEY=VALUE`.
    pub scenario_args: Vec<OsString>,
    /// Scenario seconds per wall second.
    pub time_scale: f64,
    /// The agents' isolation (`posix` or `cgroups`).
    pub isolation: String,
    /// Set to end the run early (a signal): the report covers the time played.
    pub interrupt: Arc<AtomicBool>,
}

/// Why a scenario cannot be played live, if it cannot.
pub fn unsupported(s: &Scenario) -> Option<String> {
    if s.master.masters > 1 {
        return Some(
            "several masters elect a leader through ZooKeeper, which `live run` does not start yet".into(),
        );
    }
    if let Some(e) = s.events.first() {
        return Some(format!(
            "scenario events (the first at {}) are not played live yet",
            e.at
        ));
    }
    if !s.faults.list.is_empty() || s.faults.random.is_some() {
        return Some("faults are not played live yet".into());
    }
    for (_, f) in s.expanded_frameworks() {
        if f.start != Start::At(Duration::ZERO) {
            return Some(format!(
                "framework {}: live, every framework starts with the run",
                f.name
            ));
        }
        if let Some(WorkloadSpec::Trace(t)) = &f.workload
            && t.split_by != crate::scenario::schema::SplitBy::None
        {
            return Some(format!(
                "framework {}: a split trace starts frameworks as it goes, not live yet",
                f.name
            ));
        }
    }
    None
}

/// What the observers share: the collector, and the time it last heard (events are never
/// stamped before it), until the run is over.
struct Watched {
    collector: Collector,
    last: Instant,
    events: u64,
    open: bool,
}

#[derive(Clone)]
struct Watch(Arc<Mutex<Watched>>);

impl Watch {
    fn lock(&self) -> std::sync::MutexGuard<'_, Watched> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn event(&self, now: Instant, msg: &Msg) {
        let mut w = self.lock();
        if !w.open {
            return;
        }
        let now = now.max(w.last);
        w.last = now;
        w.events += 1;
        match msg {
            Msg::Event(event) => w.collector.on_event(now, event),
            _ => w.collector.messages_delivered += 1,
        }
    }
}

impl Observer<Msg> for Watch {
    /// A message to the observer process is an event the master published; any other is
    /// a framework's traffic.
    fn message(&mut self, now: Instant, _: NodeId, _: NodeId, msg: &Msg) {
        self.event(now, msg);
    }

    fn published(&mut self, now: Instant, _: NodeId, event: &Msg) {
        self.event(now, event);
    }
}

/// The master and agents this run started, stopped (and reaped) when dropped.
struct Children {
    dir: PathBuf,
    running: Vec<(String, Child)>,
}

impl Children {
    fn spawn(&mut self, name: &str, exe: &Path, args: &[OsString]) -> Result<(), String> {
        let log = self.dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = file.try_clone().map_err(|e| format!("{}: {e}", log.display()))?;
        let child = Command::new(exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        self.running.push((name.to_owned(), child));
        Ok(())
    }

    /// `Err` with its log's end if `name` has exited.
    fn check(&mut self, name: &str) -> Result<(), String> {
        let Some((_, child)) = self.running.iter_mut().find(|(n, _)| n == name) else {
            return Ok(());
        };
        match child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("{name} exited ({status}): {}", self.log_tail(name))),
            Err(e) => Err(format!("{name}: {e}")),
        }
    }

    fn log_tail(&self, name: &str) -> String {
        let text = std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join(" | ")
    }

    /// SIGTERM to each, agents before the master (they kill their tasks), then SIGKILL to
    /// any still there after [`STOP_BOUND`].
    fn stop(&mut self) {
        for (_, child) in self.running.iter().rev() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .stderr(Stdio::null())
                .status();
        }
        let deadline = WallInstant::now() + STOP_BOUND;
        for (_, child) in self.running.iter_mut().rev() {
            while matches!(child.try_wait(), Ok(None)) && WallInstant::now() < deadline {
                std::thread::sleep(WallDuration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        self.running.clear();
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `ready` every 10 ms until it gives a value, `what` has exited, or the bound.
fn wait_for<T>(
    children: &mut Children,
    what: &str,
    mut ready: impl FnMut() -> Option<T>,
) -> Result<T, String> {
    let deadline = WallInstant::now() + START_BOUND;
    loop {
        if let Some(value) = ready() {
            return Ok(value);
        }
        children.check(what)?;
        if WallInstant::now() >= deadline {
            return Err(format!(
                "{what} did not come up within {START_BOUND:?}: {}",
                children.log_tail(what)
            ));
        }
        std::thread::sleep(WallDuration::from_millis(10));
    }
}

/// The arguments every child shares: the scenario, the clock.
fn common_args(opts: &LiveOptions, epoch_unix_ns: u128) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--scenario".into()];
    args.extend(opts.scenario_args.iter().cloned());
    args.push("--epoch-unix-ns".into());
    args.push(epoch_unix_ns.to_string().into());
    args.push("--time-scale".into());
    args.push(opts.time_scale.to_string().into());
    args
}

/// Plays `s` live, writing the report's streamed files into `out`.
pub fn run_live(s: &Scenario, out: &Path, opts: &LiveOptions) -> Result<Outcome, Failure> {
    if let Some(why) = unsupported(s) {
        return Err(Failure::Setup(format!("{}: cannot run live: {why}", s.name)));
    }
    assert!(opts.time_scale > 0.0, "validated by the command line");
    let work = out.join("live");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| Failure::Setup(format!("{}: {e}", work.display())))?;
    let setup_err = |e: String| Failure::Setup(e);
    let io_err = |e: std::io::Error| Failure::Setup(format!("live run: {e}"));

    let offers = s.report.offers_csv.unwrap_or(true);
    let sinks = Sinks::create(out, offers).map_err(|e| Failure::Setup(format!("{}: {e}", out.display())))?;
    let watch = Watch(Arc::new(Mutex::new(Watched {
        collector: Collector::new(setup(s), Some(sinks)),
        last: Instant::ZERO,
        events: 0,
        open: true,
    })));
    // The scenario starts once every process had time to start and register: until then
    // their clocks read zero, as the simulator's do while they register.
    let agents = cluster_machines(s).len();
    let allowance = START_FIRST + START_PER_AGENT * u32::try_from(agents).unwrap_or(u32::MAX);
    let (clock, epoch_unix_ns) = Clock::ahead(allowance, opts.time_scale).map_err(io_err)?;

    // The observer process the master publishes to, started first.
    let mut observing = LiveCluster::<Msg>::new(s.seed);
    let observer = observing.add_process("observer", Operator).map_err(io_err)?;
    observing.set_clock(clock);
    observing.set_observer(watch.clone());
    let observing = observing.start().map_err(io_err)?;
    let observer_addr = observing.addr(observer).expect("local processes listen");

    let mut children = Children {
        dir: work.clone(),
        running: Vec::new(),
    };
    let common = common_args(opts, epoch_unix_ns);
    let master_addr = start_master(&mut children, opts, &common, &work, observer_addr).map_err(setup_err)?;
    start_agents(&mut children, s, opts, &common, &work, master_addr).map_err(setup_err)?;

    let (running, operator, feeds) = start_frameworks(s, clock, master_addr, &watch).map_err(setup_err)?;
    if clock.now() > Instant::ZERO {
        eprintln!(
            "warning: the master, agents and frameworks took longer than {allowance:?} to start: \
             the run began without them, and its first {} differ from the simulation",
            clock.now()
        );
    }
    let sent = play(&running, operator, feeds, s, clock, &opts.interrupt).map_err(setup_err)?;

    let end = clock.now().min(Instant::ZERO + s.duration);
    let (mut collector, events) = {
        let mut w = watch.lock();
        w.open = false;
        let placeholder = Collector::new(setup(s), None);
        (std::mem::replace(&mut w.collector, placeholder), w.events)
    };
    let frameworks = s.expanded_frameworks().len() as u64;
    let framework_report = running.stop();
    children.stop();
    let observer_report = observing.stop();
    for report in [&framework_report, &observer_report] {
        if let Some(v) = report.violations.first() {
            return Err(Failure::Violation(crate::sim::Violation {
                time: v.time,
                process: v.process.clone(),
                message: v.message.clone(),
            }));
        }
    }

    close(&mut collector, end)?;
    let facts = Facts {
        mode: Some("live"),
        digest: "live".into(),
        now: end,
        events,
        net: NetworkStats {
            sent: collector.messages_delivered + framework_report.dropped_messages,
            dropped: framework_report.dropped_messages,
            cut: 0,
            duplicated: 0,
        },
        frameworks,
        trace: sent.trace,
    };
    let summary = summarise(s, &facts, &mut collector);
    Ok(Outcome::new(summary, None, collector))
}

/// Starts the master; its address, once it listens.
fn start_master(
    children: &mut Children,
    opts: &LiveOptions,
    common: &[OsString],
    work: &Path,
    observer: std::net::SocketAddr,
) -> Result<std::net::SocketAddr, String> {
    let address_file = work.join("master.addr");
    let mut args: Vec<OsString> = vec![
        "live".into(),
        "master".into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
    ];
    args.extend(common.iter().cloned());
    args.extend([
        "--publish-to".into(),
        observer.to_string().into(),
        "--address-file".into(),
        address_file.clone().into_os_string(),
    ]);
    children.spawn("master", &opts.exe, &args)?;
    wait_for(children, "master", || {
        std::fs::read_to_string(&address_file)
            .ok()
            .and_then(|text| text.trim().parse().ok())
    })
}

/// Starts every agent. They register when their clocks say (after a random backoff drawn
/// from their streams, as in the simulation), so they register in the simulation's order.
fn start_agents(
    children: &mut Children,
    s: &Scenario,
    opts: &LiveOptions,
    common: &[OsString],
    work: &Path,
    master: std::net::SocketAddr,
) -> Result<(), String> {
    for name in cluster_machines(s).iter().map(|m| &m.name) {
        let mut args: Vec<OsString> = vec![
            "live".into(),
            "agent".into(),
            "--master".into(),
            master.to_string().into(),
        ];
        args.extend(common.iter().cloned());
        args.extend([
            "--machine".into(),
            name.into(),
            "--isolation".into(),
            opts.isolation.clone().into(),
            "--work-dir".into(),
            work.join("agents").join(name).into_os_string(),
        ]);
        children.spawn(&format!("agent-{name}"), &opts.exe, &args)?;
    }
    Ok(())
}

/// One framework's workload, as it is played.
struct LiveFeed {
    framework: NodeId,
    source: Source,
    next: Option<(Instant, Vec<TaskRequest>)>,
    sent: u64,
}

impl LiveFeed {
    fn pull(&mut self) -> Result<(), String> {
        self.next = self.source.next_submission()?.map(|(at, _, tasks)| (at, tasks));
        Ok(())
    }
}

/// Starts the operator and the frameworks, registered with the remote master.
fn start_frameworks(
    s: &Scenario,
    clock: Clock,
    master_addr: std::net::SocketAddr,
    watch: &Watch,
) -> Result<(RunningCluster<Msg>, NodeId, Vec<LiveFeed>), String> {
    let io = |e: std::io::Error| format!("live run: {e}");
    let mut cluster = LiveCluster::<Msg>::new(s.seed);
    let operator = cluster.add_process("operator", Operator).map_err(io)?;
    let master = cluster.add_remote("master", master_addr).map_err(io)?;
    let mut feeds = Vec::new();
    for (_, spec) in s.expanded_frameworks() {
        let name = format!("framework-{}", spec.name);
        let node = match SchedulerConfig::of(&spec, master, None) {
            SchedulerConfig::Scripted(config) => cluster.add_process(name, Scripted::new(config)),
            SchedulerConfig::Batch(config) => cluster.add_process(name, Batch::new(*config)),
        }
        .map_err(io)?;
        if let Some(source) = world::workload(&spec, s.seed)? {
            let mut feed = LiveFeed {
                framework: node,
                source,
                next: None,
                sent: 0,
            };
            feed.pull()?;
            feeds.push(feed);
        }
    }
    cluster.set_clock(clock);
    cluster.set_observer(watch.clone());
    Ok((cluster.start().map_err(io)?, operator, feeds))
}

/// What playing the workloads did.
struct Played {
    trace: Option<crate::workload::trace::TraceCounts>,
}

/// Sends each submission when the clock reads its time, until the scenario's end.
fn play(
    running: &RunningCluster<Msg>,
    operator: NodeId,
    mut feeds: Vec<LiveFeed>,
    s: &Scenario,
    clock: Clock,
    interrupt: &AtomicBool,
) -> Result<Played, String> {
    let end = Instant::ZERO + s.duration;
    loop {
        let next = feeds
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.next.as_ref().map(|(at, _)| (*at, i)))
            .filter(|&(at, _)| at < end)
            .min();
        let until = next.map_or(end, |(at, _)| at);
        if !sleep_until(clock, until, interrupt) {
            break;
        }
        let Some((_, i)) = next else {
            break;
        };
        let feed = &mut feeds[i];
        let (_, tasks) = feed.next.take().expect("chosen for it");
        feed.sent += tasks.len() as u64;
        running.send(operator, feed.framework, Msg::Submit(Box::new(tasks)));
        feed.pull()?;
    }
    let mut trace: Option<crate::workload::trace::TraceCounts> = None;
    for feed in &feeds {
        if let Some(mut c) = feed.source.trace_counts() {
            c.submitted = feed.sent;
            trace.get_or_insert_with(Default::default).absorb(c);
        }
    }
    Ok(Played { trace })
}

/// Sleeps until `clock` reads `at`; false if interrupted first.
fn sleep_until(clock: Clock, at: Instant, interrupt: &AtomicBool) -> bool {
    loop {
        if interrupt.load(Ordering::SeqCst) {
            return false;
        }
        let left = clock.wall_until(at);
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(WallDuration::from_millis(100)));
    }
}
