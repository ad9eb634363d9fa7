//! `mesosim live master|agent|submit`: the production master, an agent and a one-shot
//! framework, each as an OS process of its own on real TCP (cargo feature `live`).
//!
//! Each command hosts one process in a [`LiveCluster`] whose peers are remote: an agent and
//! a framework are told the master's address, and the master learns theirs from the hello
//! that opens each of their connections (see `live::wire`). Operators read what happens on
//! standard error (the master's operator events, an agent's launches and kills) and, for
//! `submit`, one line per status update on standard output.

// Serving live is waiting on the wall clock: for the end of `submit --timeout`, for
// `submit`'s updates to settle, for a signal.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration as WallDuration;

use clap::{Args, Subcommand, ValueEnum};

use super::Failure;
use crate::agent::{Agent, AgentConfig};
use crate::frameworks::batch::{Batch, BatchConfig};
use crate::ids::NodeId;
use crate::live::backend::{BackendConfig, Isolation, Tasks};
use crate::live::cgroups::Cgroups;
use crate::live::{LiveCluster, Report, RunningCluster};
use crate::master::{Master, MasterConfig};
use crate::process::{Observer, Store, TaskOutcome, TaskRun};
use crate::proto::{Event, Msg, TaskId, TaskRequest, TaskState};
use crate::resources::Resources;
use crate::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct LiveArgs {
    #[command(subcommand)]
    command: LiveCommand,
}

#[derive(Debug, Subcommand)]
enum LiveCommand {
    /// Run a master: agents register with it, frameworks are offered their resources.
    Master(MasterArgs),
    /// Run an agent: it registers its machine's resources and runs the tasks launched there.
    Agent(AgentArgs),
    /// Run tasks through a one-shot framework, printing each status update.
    Submit(SubmitArgs),
    /// Use CPU and memory for a while: the load a live task without a command runs.
    Burn(BurnArgs),
    /// Play a scenario with its master and agents as OS processes; write its report.
    Run(super::live_run::LiveRunArgs),
    /// Play a scenario simulated and live; report how far the simulation predicts the run.
    Compare(super::live_run::LiveCompareArgs),
}

#[derive(Debug, Args)]
struct BurnArgs {
    /// CPUs to keep busy (fractions too: 0.5 is half of one).
    #[arg(long, default_value_t = 1.0)]
    cpus: f64,
    /// Memory to allocate and touch, in MB.
    #[arg(long, default_value_t = 0)]
    mem: u64,
    /// How long.
    #[arg(long = "for", value_name = "DURATION")]
    duration: Duration,
}

fn burn(args: &BurnArgs) -> Result<(), Failure> {
    let burn = crate::live::burn::Burn {
        cpus: args.cpus,
        mem_mb: args.mem,
        wall: WallDuration::from_nanos(args.duration.as_nanos()),
    };
    burn.run().map_err(|e| Failure::input(format!("error: {e}")))
}

/// `--secret FILE`: peers prove a shared secret when they connect.
#[derive(Debug, Args)]
struct SecretArg {
    /// Refuse peers that do not prove the secret in this file, and prove it to them
    /// (an HMAC of a challenge; the secret never crosses the wire).
    #[arg(long, value_name = "FILE")]
    secret: Option<PathBuf>,
}

impl SecretArg {
    fn apply(&self, cluster: &mut LiveCluster<Msg>) -> Result<(), Failure> {
        if let Some(file) = &self.secret {
            let secret = crate::live::auth::Secret::from_file(file)
                .map_err(|e| Failure::input(format!("error: --secret {e}")))?;
            cluster.set_secret(secret);
        }
        Ok(())
    }
}

/// How a master or agent started by `mesosim live run` is configured: from the run's
/// scenario, on the run's clock.
#[derive(Debug, Args)]
struct FromScenario {
    /// Take the configuration from this scenario (the master's or the `--machine`'s).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Override a scenario key, as `mesosim run --set` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", requires = "scenario")]
    sets: Vec<String>,
    /// Count time from this Unix time (ns), to share a clock with other OS processes.
    #[arg(long, hide = true)]
    epoch_unix_ns: Option<u128>,
    /// Scenario seconds per wall second.
    #[arg(long, default_value_t = 1.0, hide = true)]
    time_scale: f64,
}

impl FromScenario {
    fn load(&self) -> Result<Option<crate::scenario::Scenario>, Failure> {
        let Some(path) = &self.scenario else {
            return Ok(None);
        };
        let loaded = crate::scenario::load(path, &self.sets).map_err(|e| Failure::input(e.0))?;
        Ok(Some(loaded.scenario))
    }

    /// The clock: from the given epoch (or now), at the given scale.
    fn clock(&self) -> Result<crate::live::Clock, Failure> {
        if !(self.time_scale > 0.0 && self.time_scale.is_finite()) {
            return Err(Failure::input(format!(
                "error: --time-scale {}: expected a positive number",
                self.time_scale
            )));
        }
        Ok(match self.epoch_unix_ns {
            Some(ns) => crate::live::Clock::at_unix_ns(ns, self.time_scale),
            None => crate::live::Clock {
                scale: self.time_scale,
                ..crate::live::Clock::starting_now()
            },
        })
    }
}

#[derive(Debug, Args)]
struct MasterArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:5050")]
    listen: SocketAddr,
    /// The allocator (drf, binpack, random).
    #[arg(long, default_value = "drf")]
    allocator: String,
    /// Seeds the master's random stream (the random allocator draws from it).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also log every offer made and ended.
    #[arg(long)]
    verbose: bool,
    #[command(flatten)]
    from: FromScenario,
    #[command(flatten)]
    auth: SecretArg,
    /// Also send every operator event to the observer at this address (`live run`).
    #[arg(long, hide = true)]
    publish_to: Option<SocketAddr>,
    /// Write the address the master listens on to this file once it does.
    #[arg(long, value_name = "FILE")]
    address_file: Option<PathBuf>,
    /// Contend for leadership through this ZooKeeper (zk://HOST:PORT/PATH); the leader
    /// serves, the others stand by.
    #[arg(long, value_name = "URL")]
    zk: Option<String>,
    /// How long the master waits for an agent's answer to a ping (Mesos's
    /// `--agent_ping_timeout`).
    #[arg(long, default_value = "15s")]
    agent_ping_timeout: Duration,
    /// Unanswered pings in a row after which an agent is unreachable and its tasks lost
    /// (Mesos's `--max_agent_ping_timeouts`).
    #[arg(long, default_value_t = 5)]
    max_agent_ping_timeouts: u32,
    /// The ZooKeeper session timeout to ask for (Mesos's `--zk_session_timeout`): a
    /// leader that dies is replaced about this long after.
    #[arg(long, default_value = "10s", requires = "zk")]
    zk_session_timeout: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum IsolationArg {
    /// Tasks run unconfined (Mesos's posix isolator).
    Posix,
    /// A cgroup per task: cpu shares and a memory limit from its resources.
    Cgroups,
}

/// Where an agent or framework finds the master: at an address, or as the leader elected
/// through ZooKeeper.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct MasterLocation {
    /// The master's address.
    #[arg(long)]
    master: Option<SocketAddr>,
    /// Follow the leading master elected through this ZooKeeper (zk://HOST:PORT/PATH).
    #[arg(long, value_name = "URL")]
    zk: Option<String>,
}

impl MasterLocation {
    /// Adds the master (remote) or the ZooKeeper bridge to `cluster`: the node to register
    /// with first, and the coordinator to learn the leader from.
    fn add_to(&self, cluster: &mut LiveCluster<Msg>) -> Result<(NodeId, Option<NodeId>), Failure> {
        match (&self.master, &self.zk) {
            (Some(addr), _) => Ok((remote_master(cluster, *addr)?, None)),
            (None, Some(url)) => {
                let (zk, _) = zk_bridge(cluster, url, Duration::from_secs(10))?;
                Ok((zk, Some(zk)))
            }
            (None, None) => unreachable!("clap requires one"),
        }
    }

    fn describe(&self) -> String {
        match (&self.master, &self.zk) {
            (Some(addr), _) => addr.to_string(),
            (_, Some(url)) => format!("the leader at {url}"),
            _ => String::new(),
        }
    }
}

/// Adds a ZooKeeper bridge for `url` to `cluster`: its node, and the session timeout
/// ZooKeeper granted (a master must give up leadership within it).
fn zk_bridge(
    cluster: &mut LiveCluster<Msg>,
    url: &str,
    timeout: Duration,
) -> Result<(NodeId, Duration), Failure> {
    let bad = |e: crate::live::zk::ZkError| Failure::input(format!("error: --zk {url}: {e}"));
    let parsed = crate::live::zk::ZkUrl::parse(url).map_err(bad)?;
    let bridge = crate::live::zk::ZkCoordinator::new(
        &parsed,
        cluster.directory(),
        WallDuration::from_nanos(timeout.as_nanos()),
    )
    .map_err(bad)?;
    let granted =
        Duration::from_nanos(u64::try_from(bridge.session_timeout().as_nanos()).unwrap_or(u64::MAX));
    let node = cluster
        .add_process("zookeeper", bridge)
        .map_err(|e| Failure::input(format!("error: cannot listen: {e}")))?;
    Ok((node, granted))
}

#[derive(Debug, Args)]
struct AgentArgs {
    #[command(flatten)]
    at: MasterLocation,
    /// What the agent offers, in Mesos's syntax.
    #[arg(long, required_unless_present = "machine")]
    resources: Option<Resources>,
    /// Be this machine of the `--scenario`: its name, its resources, the scenario's agent
    /// settings.
    #[arg(long, requires = "scenario", conflicts_with_all = ["resources", "name"])]
    machine: Option<String>,
    #[command(flatten)]
    from: FromScenario,
    #[command(flatten)]
    auth: SecretArg,
    /// The address to listen on (a free port by default).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The agent's name (`agent-<port>` by default).
    #[arg(long)]
    name: Option<String>,
    /// How tasks are confined.
    #[arg(long, value_enum, default_value = "posix")]
    isolation: IsolationArg,
    /// With cgroups, also cap each task's cpu at its share (CFS quota, Mesos's
    /// `--cgroups_enable_cfs`).
    #[arg(long)]
    cgroups_enable_cfs: bool,
    /// Where the agent keeps its checkpoint (`meta/`) and its tasks' sandboxes
    /// (`sandboxes/`, each task's stdout and stderr): an agent started again in it recovers
    /// the tasks its predecessor left running.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// What an agent started in a work directory with a checkpoint does with the tasks
    /// found there: take them back and register again under its old id, or kill them and
    /// register as a new agent (Mesos's `--recover`).
    #[arg(long, value_enum, default_value = "reconnect")]
    recover: RecoverArg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum RecoverArg {
    Reconnect,
    Cleanup,
}

#[derive(Debug, Args)]
struct SubmitArgs {
    #[command(flatten)]
    at: MasterLocation,
    #[command(flatten)]
    auth: SecretArg,
    /// What each task holds, in Mesos's syntax.
    #[arg(long)]
    task: Resources,
    /// The shell command each task runs.
    #[arg(long)]
    command: String,
    /// How many tasks.
    #[arg(long, default_value_t = 1)]
    count: u32,
    /// The framework's role.
    #[arg(long, default_value = "*")]
    role: String,
    /// The framework's name.
    #[arg(long, default_value = "mesosim-submit")]
    name: String,
    /// Give up (exit 1) if the tasks have not all ended by then.
    #[arg(long)]
    timeout: Option<Duration>,
}

pub fn execute(args: &LiveArgs) -> Result<(), Failure> {
    match &args.command {
        LiveCommand::Master(a) => master(a),
        LiveCommand::Agent(a) => agent(a),
        LiveCommand::Submit(a) => submit(a),
        LiveCommand::Burn(a) => burn(a),
        LiveCommand::Run(a) => super::live_run::run(a),
        LiveCommand::Compare(a) => super::live_run::compare(a),
    }
}

/// Set by SIGINT or SIGTERM: the command stops its cluster (killing its tasks and removing
/// their cgroups) and exits.
fn interrupted() -> Result<Arc<AtomicBool>, Failure> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = Arc::clone(&flag);
    ctrlc::set_handler(move || set.store(true, Ordering::SeqCst))
        .map_err(|e| Failure::input(format!("error: cannot handle signals: {e}")))?;
    Ok(flag)
}

fn started<M: crate::process::Message>(cluster: LiveCluster<M>) -> Result<RunningCluster<M>, Failure> {
    cluster
        .start()
        .map_err(|e| Failure::input(format!("error: cannot start: {e}")))
}

fn bind_error(what: &str, addr: SocketAddr, e: std::io::Error) -> Failure {
    Failure::input(format!(
        "error: --listen {addr}: cannot listen for the {what}: {e}"
    ))
}

/// Waits until interrupted or `done` says so (polled every 50 ms), then stops the cluster.
fn serve<M: crate::process::Message>(
    running: RunningCluster<M>,
    stop: &AtomicBool,
    mut done: impl FnMut(&RunningCluster<M>) -> bool,
) -> Report {
    let mut logged = 0;
    while !stop.load(Ordering::SeqCst) && !done(&running) {
        std::thread::sleep(WallDuration::from_millis(50));
        let refused = running.refused_peers();
        for (from, name) in &refused[logged..] {
            log(
                running.now(),
                format!("refused {name:?} from {from}: it did not prove the shared secret"),
            );
        }
        logged = refused.len();
    }
    running.stop()
}

fn log(at: Instant, line: impl std::fmt::Display) {
    eprintln!("[{:>10.3}s] {line}", at.as_secs_f64());
}

fn master(args: &MasterArgs) -> Result<(), Failure> {
    if !crate::allocator::NAMES.contains(&args.allocator.as_str()) {
        return Err(Failure::input(format!(
            "error: --allocator {}: expected one of {}",
            args.allocator,
            crate::allocator::NAMES.join(", ")
        )));
    }
    let scenario = args.from.load()?;
    let (config, seed) = match &scenario {
        Some(s) => (crate::run::world::master_config(s), s.seed),
        None => (
            MasterConfig {
                allocator: args.allocator.clone(),
                ..MasterConfig::default()
            },
            args.seed,
        ),
    };
    if args.max_agent_ping_timeouts == 0 {
        return Err(Failure::input(
            "error: --max-agent-ping-timeouts 0: expected at least 1",
        ));
    }
    let mut config = config;
    if scenario.is_none() {
        config.agent_ping_timeout = args.agent_ping_timeout;
        config.max_agent_ping_timeouts = args.max_agent_ping_timeouts;
    }
    let allocator = config.allocator.clone();
    let stop = interrupted()?;
    let mut cluster = LiveCluster::new(seed);
    args.auth.apply(&mut cluster)?;
    cluster.set_clock(args.from.clock()?);
    if let Some(url) = &args.zk {
        let (zk, granted) = zk_bridge(&mut cluster, url, args.zk_session_timeout)?;
        config.coordinator = Some(zk);
        config.session_timeout = config.session_timeout.min(granted);
    }
    let process = Master::new(config).map_err(Failure::input)?;
    let me = cluster
        .add_process_at("master", process, args.listen)
        .map_err(|e| bind_error("master", args.listen, e))?;
    if let Some(observer) = args.publish_to {
        let node = cluster
            .add_remote("observer", observer)
            .map_err(|e| Failure::input(format!("error: --publish-to {observer}: {e}")))?;
        cluster.publish_to(node);
    }
    cluster.set_observer(MasterLog {
        verbose: args.verbose,
    });
    let running = started(cluster)?;
    let addr = running.addr(me).expect("the master listens");
    if let Some(file) = &args.address_file {
        crate::report::write_atomic(file, format!("{addr}\n").as_bytes())
            .map_err(|e| Failure::input(format!("error: --address-file {}: {e}", file.display())))?;
    }
    eprintln!("mesosim master listening on {addr} (allocator {allocator})");
    let report = serve(running, &stop, |r| !r.is_up(me));
    finish(&report)
}

/// Logs the master's operator events.
struct MasterLog {
    verbose: bool,
}

impl Observer<Msg> for MasterLog {
    fn published(&mut self, at: Instant, _: NodeId, msg: &Msg) {
        if let Msg::Event(event) = msg
            && let Some(line) = describe(event, self.verbose)
        {
            log(at, line);
        }
    }
}

/// The master's operator events an operator wants to read, one line each.
fn describe(event: &Event, verbose: bool) -> Option<String> {
    Some(match event {
        Event::AgentAdded {
            agent,
            name,
            resources,
        } => format!("agent {} ({name}) added: {resources}", agent.0),
        Event::AgentUnreachable { agent } => format!("agent {} unreachable", agent.0),
        Event::MasterElected { epoch, agents } => {
            format!("elected leader (epoch {epoch}), expecting {agents} agents back")
        }
        Event::MasterAbdicated => "no longer leading".to_owned(),
        Event::AgentRecovered { agent } => format!("agent {} back with the new leader", agent.0),
        Event::FrameworkAdded {
            framework,
            name,
            role,
        } => {
            format!("framework {} ({name}, role {role}) added", framework.0)
        }
        Event::FrameworkDisconnected { framework } => format!("framework {} disconnected", framework.0),
        Event::FrameworkRemoved { framework } => format!("framework {} removed", framework.0),
        Event::TaskAdded {
            framework,
            task,
            agent,
            resources,
        } => format!(
            "task {} of framework {} to agent {}: {resources}",
            task.0, framework.0, agent.0
        ),
        Event::TaskUpdated {
            framework,
            task,
            state,
        } => {
            format!("task {} of framework {}: {}", task.0, framework.0, state.name())
        }
        Event::OfferMade { .. } | Event::OfferEnded { .. } if verbose => format!("{event:?}"),
        _ => return None,
    })
}

/// A clean stop is a success; a broken invariant or a panic is a bug (exit 3).
fn finish(report: &Report) -> Result<(), Failure> {
    if report.refused_connections > 0 {
        eprintln!(
            "refused {} connections that did not prove the shared secret",
            report.refused_connections
        );
    }
    if report.bad_connections > 0 {
        eprintln!(
            "closed {} connections that broke the wire protocol",
            report.bad_connections
        );
    }
    if report.is_clean() {
        return Ok(());
    }
    let mut lines: Vec<String> = report
        .violations
        .iter()
        .map(|v| {
            format!(
                "error: invariant broken at {} in {}: {}",
                v.time, v.process, v.message
            )
        })
        .collect();
    lines.extend(report.panics.iter().map(|p| format!("error: panicked: {p}")));
    Err(Failure::bug(lines.join("\n")))
}

fn agent(args: &AgentArgs) -> Result<(), Failure> {
    let stop = interrupted()?;
    let listen = agent_address(args)?;
    let (name, resources, template) = agent_identity(args, listen)?;
    let work = args.work_dir.as_deref();
    let store = match work {
        Some(dir) => crate::live::storage::load(&dir.join("meta"))
            .map_err(|e| Failure::input(format!("error: --work-dir {}: {e}", dir.display())))?,
        None => Store::default(),
    };
    let recovering = !store.is_empty() && args.recover == RecoverArg::Reconnect;
    let (isolation, cgroups) = isolation(args, &name, recovering)?;
    let backend = BackendConfig {
        isolation,
        sandboxes: work.map(|d| d.join("sandboxes")),
        meta: work.map(|d| d.join("meta")),
        recover: recovering,
    };
    if !store.is_empty() && !recovering {
        clean_up(&backend)?;
    }
    let mut cluster = LiveCluster::new(template.seed);
    args.auth.apply(&mut cluster)?;
    cluster.set_clock(args.from.clock()?);
    let (master, coordinator) = args.at.add_to(&mut cluster)?;
    let mut config = template.config;
    config.name = name.clone();
    config.resources = resources.clone();
    config.master = master;
    config.coordinator = coordinator;
    let process = if recovering {
        let agent = Agent::recover(config, &store).map_err(|e| Failure::input(format!("error: {e}")))?;
        eprintln!(
            "recovering agent {name} from {}",
            work.expect("a store").display()
        );
        agent
    } else {
        Agent::new(config)
    };
    let me = cluster
        .add_process_with(name.clone(), process, listen, backend)
        .map_err(|e| bind_error("agent", listen, e))?;
    cluster.set_observer(AgentLog);
    let running = started(cluster)?;
    eprintln!(
        "mesosim agent {name} listening on {}, registering with {} ({}; isolation {:?})",
        running.addr(me).expect("the agent listens"),
        args.at.describe(),
        resources,
        args.isolation
    );
    let report = serve(running, &stop, |r| !r.is_up(me));
    if let Some(cgroups) = cgroups
        && let Ok(cgroups) = Arc::try_unwrap(cgroups)
    {
        // Every task's cgroup went with the cluster's stop; the agent's own goes now.
        cgroups.close();
    }
    finish(&report)
}

/// Logs an agent's registration, launches and kills.
struct AgentLog;

impl Observer<Msg> for AgentLog {
    fn message(&mut self, at: Instant, _: NodeId, _: NodeId, msg: &Msg) {
        log_agent_message(at, msg);
    }
}

fn log_agent_message(at: Instant, msg: &Msg) {
    match msg {
        Msg::AgentRegistered { agent } => log(at, format!("registered as agent {}", agent.0)),
        Msg::RunTask(run) => log(
            at,
            format!(
                "running task {} of framework {}: {}",
                run.task.id.0, run.framework.0, run.task.resources
            ),
        ),
        Msg::KillTask { framework, task } => log(
            at,
            format!("killing task {} of framework {}", task.0, framework.0),
        ),
        _ => {}
    }
}

/// An agent's settings but its name, resources and master, and the seed of its stream.
struct AgentTemplate {
    config: AgentConfig,
    seed: u64,
}

/// The agent's name and resources, and the rest of its configuration: from the command
/// line, or from `--machine` of the `--scenario`.
fn agent_identity(
    args: &AgentArgs,
    listen: SocketAddr,
) -> Result<(String, Resources, AgentTemplate), Failure> {
    let Some(s) = args.from.load()? else {
        let name = args
            .name
            .clone()
            .unwrap_or_else(|| format!("agent-{}", listen.port()));
        let resources = args.resources.clone().expect("required without --machine");
        let config = AgentConfig::new(name.clone(), resources.clone(), NodeId(0));
        return Ok((name, resources, AgentTemplate { config, seed: 1 }));
    };
    let machine = args
        .machine
        .clone()
        .expect("clap: --scenario comes with --machine for agents");
    let resources = crate::run::faults::cluster_machines(&s)
        .into_iter()
        .zip(s.cluster.iter().flat_map(|c| (0..c.count).map(move |_| c)))
        .find(|(m, _)| m.name == machine)
        .map(|(_, class)| class.resources.clone())
        .ok_or_else(|| {
            Failure::input(format!(
                "error: --machine {machine}: the scenario {} has no such machine",
                s.name
            ))
        })?;
    let config = crate::run::world::agent_template(&s, NodeId(0), None);
    Ok((machine, resources, AgentTemplate { config, seed: s.seed }))
}

/// Where the agent listens: as `--listen` says, or, for a free port in a work directory
/// an agent ran in before, the address it had (the master knows an agent by its address,
/// as Mesos's agents keep port 5051 across restarts). Written to `<work-dir>/listen`.
fn agent_address(args: &AgentArgs) -> Result<SocketAddr, Failure> {
    let file = args.work_dir.as_ref().map(|d| d.join("listen"));
    let earlier = file
        .as_ref()
        .and_then(|f| std::fs::read_to_string(f).ok())
        .and_then(|text| text.trim().parse::<SocketAddr>().ok());
    let wanted = match earlier {
        Some(addr) if args.listen.port() == 0 => addr,
        _ => args.listen,
    };
    let probe = std::net::TcpListener::bind(wanted).map_err(|e| bind_error("agent", wanted, e))?;
    let listen = probe.local_addr().map_err(|e| bind_error("agent", wanted, e))?;
    if let (Some(file), Some(dir)) = (&file, &args.work_dir) {
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(file, format!("{listen}\n")))
            .map_err(|e| Failure::input(format!("error: --work-dir {}: {e}", dir.display())))?;
    }
    Ok(listen)
}

/// `--recover cleanup`: the tasks an earlier agent process left are killed and its
/// records removed; the agent registers as a new one.
fn clean_up(backend: &BackendConfig) -> Result<(), Failure> {
    let mut tasks = Tasks::new(BackendConfig {
        recover: true,
        ..backend.clone()
    });
    let found = tasks
        .recover()
        .map_err(|e| Failure::input(format!("error: cannot clean up: {e}")))?;
    tasks.kill_all();
    if let Some(meta) = &backend.meta {
        std::fs::remove_dir_all(meta).map_err(|e| Failure::input(format!("error: cannot clean up: {e}")))?;
    }
    eprintln!("cleaned up an earlier run: {} tasks killed", found.len());
    Ok(())
}

/// The isolation an agent's arguments ask for; with cgroups, the orphans of a crashed run
/// are removed first, unless the agent recovers that run's tasks (and their cgroups).
fn isolation(
    args: &AgentArgs,
    name: &str,
    recovering: bool,
) -> Result<(Isolation, Option<Arc<Cgroups>>), Failure> {
    match args.isolation {
        IsolationArg::Posix => Ok((Isolation::Posix, None)),
        IsolationArg::Cgroups => {
            let cgroups = Cgroups::open(name).map_err(|e| Failure::input(format!("error: {e}")))?;
            let orphans = if recovering { 0 } else { cgroups.remove_orphans() };
            if orphans > 0 {
                eprintln!("removed {orphans} cgroups left by an earlier run of agent {name}");
            }
            let cgroups = Arc::new(cgroups);
            let isolation = Isolation::Cgroups {
                cgroups: Arc::clone(&cgroups),
                cfs_quota: args.cgroups_enable_cfs,
            };
            Ok((isolation, Some(cgroups)))
        }
    }
}

fn remote_master(cluster: &mut LiveCluster<Msg>, addr: SocketAddr) -> Result<NodeId, Failure> {
    cluster
        .add_remote("master", addr)
        .map_err(|e| Failure::input(format!("error: --master {addr}: {e}")))
}

/// What `submit` has seen of its tasks.
#[derive(Default)]
struct Progress {
    /// Each task's latest state; a task resubmitted after it was lost is replaced by its
    /// retry.
    tasks: BTreeMap<TaskId, Option<TaskState>>,
    /// The latest attempt of each task that was resubmitted, by its first attempt's id.
    latest: BTreeMap<TaskId, TaskId>,
    /// Updates printed, so that a retried delivery is printed once.
    printed: std::collections::BTreeSet<(TaskId, TaskState, Option<u32>)>,
    /// When anything last changed.
    changed: Option<std::time::Instant>,
}

impl Progress {
    /// `Some(all finished)` once every task has ended and nothing changed for `settle`
    /// (a lost task's retry is submitted just after its loss is heard).
    fn outcome(&self, expected: usize, settle: WallDuration) -> Option<bool> {
        let ended = self.tasks.values().all(|s| s.is_some_and(TaskState::is_terminal));
        let quiet = self.changed.is_some_and(|at| at.elapsed() >= settle);
        (self.tasks.len() >= expected && ended && quiet)
            .then(|| self.tasks.values().all(|s| *s == Some(TaskState::Finished)))
    }
}

fn submit(args: &SubmitArgs) -> Result<(), Failure> {
    if args.count == 0 {
        return Err(Failure::input("error: --count 0: expected at least one task"));
    }
    let stop = interrupted()?;
    let mut cluster = LiveCluster::new(1);
    args.auth.apply(&mut cluster)?;
    let (master, coordinator) = args.at.add_to(&mut cluster)?;
    let mut config = BatchConfig::new(args.name.clone(), args.role.clone(), master);
    config.coordinator = coordinator;
    let me = cluster
        .add_process(args.name.clone(), Batch::new(config))
        .map_err(|e| Failure::input(format!("error: cannot listen: {e}")))?;
    let progress = Arc::new(Mutex::new(Progress::default()));
    watch_progress(&mut cluster, &progress);
    let running = started(cluster)?;
    let request = TaskRequest {
        resources: args.task.clone(),
        run: TaskRun {
            duration: None,
            outcome: TaskOutcome::Succeed,
        },
        command: Some(args.command.clone().into_boxed_str()),
        job: None,
        retry_of: None,
    };
    let requests = vec![request; args.count as usize];
    running.send(me, me, Msg::Submit(Box::new(requests)));
    let deadline = args
        .timeout
        .map(|t| std::time::Instant::now() + WallDuration::from_nanos(t.as_nanos()));
    let mut outcome = None;
    let report = serve(running, &stop, |_| {
        let p = progress.lock().unwrap_or_else(PoisonError::into_inner);
        outcome = p.outcome(args.count as usize, WallDuration::from_millis(200));
        outcome.is_some() || deadline.is_some_and(|d| std::time::Instant::now() >= d)
    });
    finish(&report)?;
    match outcome {
        Some(true) => Ok(()),
        Some(false) => Err(Failure {
            code: 1,
            message: String::new(),
        }),
        None => Err(Failure {
            code: 1,
            message: "error: the tasks did not all end in time".into(),
        }),
    }
}

/// Prints each status update the framework hears, once, and keeps the progress current.
struct ProgressWatch(Arc<Mutex<Progress>>);

impl Observer<Msg> for ProgressWatch {
    fn message(&mut self, _: Instant, _: NodeId, _: NodeId, msg: &Msg) {
        let Msg::Update(update) = msg else {
            return;
        };
        let mut p = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !p.printed.insert((update.task, update.state, update.uuid)) {
            return;
        }
        let reason = update.reason.map_or("-", |r| r.name());
        println!("{} {} {reason}", update.task.0, update.state.name());
        if let Some(state) = p.tasks.get_mut(&update.task) {
            *state = Some(update.state);
        }
        p.changed = Some(std::time::Instant::now());
    }

    fn published(&mut self, _: Instant, _: NodeId, msg: &Msg) {
        if let Msg::Event(event) = msg
            && let Event::TaskSubmitted { task, retry_of, .. } = **event
        {
            let mut p = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            p.tasks.entry(task).or_insert(None);
            if let Some(first) = retry_of {
                let replaced = p.latest.insert(first, task).unwrap_or(first);
                p.tasks.remove(&replaced);
            }
            p.changed = Some(std::time::Instant::now());
        }
    }
}

fn watch_progress(cluster: &mut LiveCluster<Msg>, progress: &Arc<Mutex<Progress>>) {
    cluster.set_observer(ProgressWatch(Arc::clone(progress)));
}
