//! The live driver: the same [`Process`] implementations as the simulator, run as real threads
//! that talk real TCP on 127.0.0.1 and arm wall-clock timers.
//!
//! Build a world with [`LiveCluster`] exactly as with the simulator: processes get [`NodeId`]s
//! 0, 1, 2, ... in the order they are added, and each process's random stream is
//! [`rng::stream`]`(seed, name)`, so the same world-building code gives the same addresses and
//! the same draws. Every process binds its listener on `127.0.0.1:0` when it is added, so all
//! addresses are known before any process starts. [`LiveCluster::start`] then gives each
//! process:
//!
//! - an **event loop** thread owning the process, its timers and its tasks. It waits on one
//!   channel of inputs (messages from reader threads, task exits, the stop signal) with a
//!   timeout that ends at the next timer deadline, fires due timers in (deadline, arming)
//!   order, and runs each handler with [`Ctx::now`] = wall time since the cluster started.
//! - an **accept** thread, and one **reader** thread per accepted connection, which split the
//!   byte stream into frames (see [`wire`]) and put the messages on the event loop's channel.
//!
//! Sending opens one TCP connection per destination on first use and keeps it; its first
//! frame is a hello naming the sender's listen address (see [`wire`]). A message that cannot
//! be written (no listener, broken connection) is dropped and counted, and the next send
//! reconnects, as a real network loses a message. A send to oneself skips the socket.
//!
//! Processes may live in other OS processes ([`LiveCluster::add_remote`]): each OS process
//! knows its peers by listen address and numbers them itself, in a [`Directory`]. A peer
//! that says hello from an address not known yet (an agent registering with a master
//! started on its own) gets the next [`NodeId`], so the production code, which addresses
//! peers by `NodeId`, never learns that the numbering is local. A connection that breaks
//! the protocol (see [`wire`]) is closed and counted; everyone else is served on.
//!
//! Messages between two processes arrive in the order sent (one TCP connection per pair), as
//! in the simulator. After every handler the process's [`Process::check_invariants`] runs; a
//! broken invariant is recorded in the [`Report`] and ends that process.
//!
//! Tasks run as real child processes (see [`backend`]); resources are not enforced yet.
//!
//! Masters in several OS processes elect their leader through a real ZooKeeper: each OS
//! process runs a [`zk::ZkCoordinator`] as the coordinator its processes name.
//!
//! Shutdown ([`RunningCluster::stop`], or dropping the [`RunningCluster`]): a stop flag is set,
//! every event loop gets a stop input, and every accept thread is woken by a connection to its
//! own listener. Each event loop ends, which kills its tasks' child processes and closes its
//! outgoing connections; each accept thread shuts down the connections it accepted, which
//! unblocks their readers, and joins them. Every thread is joined before `stop` returns.

// The live driver is the wall-clock, threaded world by design: it is the one place that reads
// the OS clock and starts threads (clippy.toml bans both everywhere else).
#![allow(clippy::disallowed_methods)]

pub mod auth;
pub mod backend;
pub mod burn;
pub mod cgroups;
pub mod run;
pub mod storage;
mod timers;
pub mod wire;
pub mod zk;

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration as WallDuration, Instant as WallInstant};

use crate::ids::NodeId;
use crate::process::{Ctx, Effects, ExitReason, Message, Observer, Process, TaskExit, TaskKey, TaskSpec};
use crate::rng::{self, Rng};
use crate::time::Instant;
use backend::{BackendConfig, LaunchError, Tasks};
use timers::Timers;

/// What watches a live world: the [`Observer`] the simulator calls, shared by every event
/// loop of this OS process (each call holds a lock).
pub type LiveObserver<M> = Box<dyn Observer<M> + Send>;

/// How an OS process's processes read time: wall time since `epoch`, times `scale`.
/// Processes of several OS processes that share an epoch share a clock (`mesosim live run`
/// starts its master and agents with its own), and a scale above 1 compresses a
/// scenario's time: timers fire and stand-in tasks end that many times sooner.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    pub epoch: WallInstant,
    pub scale: f64,
}

impl Clock {
    /// Counting from now, at wall speed.
    pub fn starting_now() -> Clock {
        Clock {
            epoch: WallInstant::now(),
            scale: 1.0,
        }
    }

    /// A clock whose epoch is `ahead` of now, with that epoch as a Unix time in
    /// nanoseconds, to hand to other OS processes ([`Clock::at_unix_ns`]).
    pub fn ahead(ahead: WallDuration, scale: f64) -> io::Result<(Clock, u128)> {
        let unix = (std::time::SystemTime::now() + ahead)
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| io::Error::other(format!("the system clock is before 1970: {e}")))?;
        let clock = Clock {
            epoch: WallInstant::now() + ahead,
            scale,
        };
        Ok((clock, unix.as_nanos()))
    }

    /// The clock whose epoch is the Unix time `epoch_ns` (past or ahead), at `scale`.
    pub fn at_unix_ns(epoch_ns: u128, scale: f64) -> Clock {
        let now_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let gap = |ns: u128| WallDuration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX));
        let now = WallInstant::now();
        let epoch = if epoch_ns >= now_ns {
            now + gap(epoch_ns - now_ns)
        } else {
            now.checked_sub(gap(now_ns - epoch_ns)).unwrap_or(now)
        };
        Clock { epoch, scale }
    }

    /// The time: zero until the epoch (which may be ahead, to give OS processes time to
    /// start and connect before the scenario's first second).
    pub fn now(&self) -> Instant {
        let wall = WallInstant::now()
            .saturating_duration_since(self.epoch)
            .as_secs_f64()
            * self.scale;
        Instant::from_nanos((wall * 1e9) as u64)
    }

    /// The wall time until the clock reads `at` (zero if it has).
    pub fn wall_until(&self, at: Instant) -> WallDuration {
        let due = self.epoch + WallDuration::from_secs_f64(at.as_nanos() as f64 / 1e9 / self.scale);
        due.saturating_duration_since(WallInstant::now())
    }
}

/// How often an event loop with running tasks looks for their exits.
const TASK_POLL: WallDuration = WallDuration::from_millis(1);
/// The longest an idle event loop sleeps before looking at the stop flag on its own.
const IDLE_WAKE: WallDuration = WallDuration::from_millis(500);
/// Bounds on connecting and writing, so a stuck peer cannot stall a sender for long.
const CONNECT_TIMEOUT: WallDuration = WallDuration::from_secs(1);
const WRITE_TIMEOUT: WallDuration = WallDuration::from_secs(1);
/// How long an accept thread backs off after an accept error (e.g. out of descriptors).
const ACCEPT_BACKOFF: WallDuration = WallDuration::from_millis(10);

/// A process broke one of its invariants ([`Process::check_invariants`], or launched a task
/// under a key still running). Its event loop ends there.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    pub time: Instant,
    pub process: String,
    pub message: String,
}

/// What happened during a live run, returned by [`RunningCluster::stop`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Messages lost: unwritable, or for a process that had ended.
    pub dropped_messages: u64,
    /// Connections closed for breaking the wire protocol (oversized, malformed, truncated
    /// or out-of-order frames).
    pub bad_connections: u64,
    /// Connections refused for not proving the shared secret.
    pub refused_connections: u64,
    pub violations: Vec<Violation>,
    /// Threads that panicked, with the panic message (a handler panicking ends its process).
    pub panics: Vec<String>,
}

impl Report {
    /// No violation and no panic (dropped messages are the network's business).
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty() && self.panics.is_empty()
    }
}

enum Input<M> {
    Deliver {
        from: NodeId,
        msg: M,
    },
    /// A connection that carried messages from `from` ended (its process closed it).
    Closed {
        from: NodeId,
    },
    TaskExit(TaskExit),
    Stop,
}

/// The processes one OS process knows, by the [`NodeId`] it gives each and the address each
/// listens on: its own processes, the remote ones it was told of, and those that said hello
/// since.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    addrs: Vec<SocketAddr>,
    by_addr: BTreeMap<SocketAddr, NodeId>,
}

impl Directory {
    /// The id of the process listening at `addr`: the one it has, or the next one.
    pub fn resolve(&mut self, addr: SocketAddr) -> NodeId {
        if let Some(&node) = self.by_addr.get(&addr) {
            return node;
        }
        let node = NodeId(u32::try_from(self.addrs.len()).expect("fewer than 2^32 peers"));
        self.addrs.push(addr);
        self.by_addr.insert(addr, node);
        node
    }

    pub fn addr(&self, node: NodeId) -> Option<SocketAddr> {
        self.addrs.get(node.index()).copied()
    }

    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }
}

/// The [`Directory`] of one OS process, shared by its threads and by live-only processes
/// that must name peers by address (the ZooKeeper bridge learns a leader's address).
pub type SharedDirectory = Arc<Mutex<Directory>>;

/// Locks a shared directory; a panic elsewhere while it was held leaves it usable.
pub fn lock_directory(directory: &SharedDirectory) -> std::sync::MutexGuard<'_, Directory> {
    directory.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What every thread of a running cluster shares.
struct Shared<M> {
    clock: Clock,
    stop: AtomicBool,
    observer: Mutex<Option<LiveObserver<M>>>,
    /// Where published events are also sent, as messages (to a remote observer).
    publish_to: Option<NodeId>,
    directory: SharedDirectory,
    /// The listen addresses of this OS process's own processes (their accept threads are
    /// woken there at shutdown).
    listeners: Vec<SocketAddr>,
    /// Whether each process's event loop is still running (remote ones never are here).
    up: Vec<AtomicBool>,
    dropped: AtomicU64,
    bad_connections: AtomicU64,
    /// The secret peers must prove (`--secret`), if any.
    secret: Option<auth::Secret>,
    /// Connections refused for not proving it, and each refused peer once, for the log:
    /// (the address it connected from, the name its hello gave).
    refused: AtomicU64,
    refused_peers: Mutex<Vec<(std::net::IpAddr, String)>>,
    violations: Mutex<Vec<Violation>>,
}

impl<M> Shared<M> {
    fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Runs `f` on the observer, if there is one.
    fn observe(&self, f: impl FnOnce(&mut dyn Observer<M>)) {
        let mut observer = self.observer.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(observer) = observer.as_mut() {
            f(observer.as_mut());
        }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn drop_message(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    fn directory(&self) -> std::sync::MutexGuard<'_, Directory> {
        lock_directory(&self.directory)
    }

    fn addr(&self, node: NodeId) -> Option<SocketAddr> {
        self.directory().addr(node)
    }
}

/// What an event loop starts with.
struct Env<M> {
    me: NodeId,
    name: String,
    addr: SocketAddr,
    backend: BackendConfig,
    rng: Rng,
    shared: Arc<Shared<M>>,
    rx: Receiver<Input<M>>,
    tx: Sender<Input<M>>,
}

type RunLoop<M> = Box<dyn FnOnce(Env<M>) + Send>;

struct PendingNode<M> {
    name: String,
    addr: SocketAddr,
    /// `None` for a process in another OS process.
    local: Option<LocalNode<M>>,
}

struct LocalNode<M> {
    listener: TcpListener,
    rng: Rng,
    backend: BackendConfig,
    run: RunLoop<M>,
}

/// A live world being built: add processes, then [`start`](LiveCluster::start) it.
pub struct LiveCluster<M: Message> {
    seed: u64,
    nodes: Vec<PendingNode<M>>,
    observer: Option<LiveObserver<M>>,
    publish_to: Option<NodeId>,
    clock: Option<Clock>,
    secret: Option<auth::Secret>,
    directory: SharedDirectory,
}

impl<M: Message> LiveCluster<M> {
    pub fn new(seed: u64) -> LiveCluster<M> {
        LiveCluster {
            seed,
            nodes: Vec::new(),
            observer: None,
            publish_to: None,
            clock: None,
            secret: None,
            directory: SharedDirectory::default(),
        }
    }

    /// The directory this OS process will number its peers in, filled at
    /// [`start`](LiveCluster::start) with the processes added by then, and by hellos after.
    pub fn directory(&self) -> SharedDirectory {
        Arc::clone(&self.directory)
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Adds a process named `name` (which also names its random stream) and binds its
    /// listener on a free loopback port. Ids are assigned in add order, as the simulator
    /// assigns them.
    pub fn add_process<P: Process<Msg = M> + Send + 'static>(
        &mut self,
        name: impl Into<String>,
        process: P,
    ) -> io::Result<NodeId> {
        self.add_process_at(name, process, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Adds a process as [`add_process`](Self::add_process) does, listening on `listen`.
    pub fn add_process_at<P: Process<Msg = M> + Send + 'static>(
        &mut self,
        name: impl Into<String>,
        process: P,
        listen: SocketAddr,
    ) -> io::Result<NodeId> {
        self.add_process_with(name, process, listen, BackendConfig::default())
    }

    /// Adds a process listening on `listen` whose tasks run as `backend` says (isolation,
    /// sandboxes).
    pub fn add_process_with<P: Process<Msg = M> + Send + 'static>(
        &mut self,
        name: impl Into<String>,
        process: P,
        listen: SocketAddr,
        backend: BackendConfig,
    ) -> io::Result<NodeId> {
        let name = name.into();
        let id = self.next_id()?;
        let listener = TcpListener::bind(listen)?;
        let addr = advertised(listener.local_addr()?);
        self.nodes.push(PendingNode {
            local: Some(LocalNode {
                listener,
                rng: rng::stream(self.seed, &name),
                backend,
                run: Box::new(move |env| run_loop(process, env)),
            }),
            name,
            addr,
        });
        Ok(id)
    }

    /// A process that runs in another OS process and listens at `addr`: local processes
    /// address it by the id returned.
    pub fn add_remote(&mut self, name: impl Into<String>, addr: SocketAddr) -> io::Result<NodeId> {
        let id = self.next_id()?;
        self.nodes.push(PendingNode {
            name: name.into(),
            addr,
            local: None,
        });
        Ok(id)
    }

    fn next_id(&self) -> io::Result<NodeId> {
        u32::try_from(self.nodes.len())
            .map(NodeId)
            .map_err(|_| io::Error::other("too many processes"))
    }

    pub fn process_count(&self) -> usize {
        self.nodes.len()
    }

    /// The TCP address `node` listens on.
    pub fn addr(&self, node: NodeId) -> Option<SocketAddr> {
        self.nodes.get(node.index()).map(|n| n.addr)
    }

    /// Watches every process of this OS process: messages delivered, tasks launched and
    /// ended, events published.
    pub fn set_observer(&mut self, observer: impl Observer<M> + Send + 'static) {
        self.observer = Some(Box::new(observer));
    }

    /// Sends every event a process here publishes to `node` as well, as a message from
    /// that process: how a remote observer (`mesosim live run`) watches a master that runs
    /// in an OS process of its own.
    pub fn publish_to(&mut self, node: NodeId) {
        self.publish_to = Some(node);
    }

    /// Peers must prove `secret` when they connect, and this OS process proves it to
    /// theirs (see [`auth`]).
    pub fn set_secret(&mut self, secret: auth::Secret) {
        self.secret = Some(secret);
    }

    /// The clock to run on, instead of wall time from [`start`](LiveCluster::start).
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = Some(clock);
    }

    /// Starts the clock and every process: one event loop and one accept thread each. On an
    /// error, whatever had started is stopped again before the error is returned.
    pub fn start(self) -> io::Result<RunningCluster<M>> {
        let n = self.nodes.len();
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..n).map(|_| mpsc::channel()).unzip();
        {
            let mut directory = lock_directory(&self.directory);
            assert!(directory.is_empty(), "a cluster starts once");
            for node in &self.nodes {
                directory.resolve(node.addr);
            }
            if directory.len() != n {
                return Err(io::Error::other("two processes share one address"));
            }
        }
        let shared = Arc::new(Shared {
            clock: self.clock.unwrap_or_else(Clock::starting_now),
            stop: AtomicBool::new(false),
            observer: Mutex::new(self.observer),
            publish_to: self.publish_to,
            directory: self.directory,
            listeners: self
                .nodes
                .iter()
                .filter(|node| node.local.is_some())
                .map(|node| node.addr)
                .collect(),
            up: (0..n).map(|_| AtomicBool::new(false)).collect(),
            dropped: AtomicU64::new(0),
            bad_connections: AtomicU64::new(0),
            secret: self.secret,
            refused: AtomicU64::new(0),
            refused_peers: Mutex::new(Vec::new()),
            violations: Mutex::new(Vec::new()),
        });
        let mut cluster = RunningCluster {
            shared: Arc::clone(&shared),
            names: self.nodes.iter().map(|node| node.name.clone()).collect(),
            senders,
            threads: Vec::new(),
            stopped: false,
        };
        for ((i, node), rx) in self.nodes.into_iter().enumerate().zip(receivers) {
            let me = NodeId(u32::try_from(i).expect("ids were checked when added"));
            let tx = cluster.senders[i].clone();
            let Some(local) = node.local else {
                continue;
            };

            let accept = {
                let (shared, tx) = (Arc::clone(&shared), tx.clone());
                let listener = local.listener;
                thread::Builder::new()
                    .name(format!("{}-accept", node.name))
                    .spawn(move || accept_loop(listener, shared, tx))?
            };
            cluster.threads.push((format!("{} (accept)", node.name), accept));

            shared.up[i].store(true, Ordering::SeqCst);
            let env = Env {
                me,
                name: node.name.clone(),
                addr: node.addr,
                rng: local.rng,
                backend: local.backend,
                shared: Arc::clone(&shared),
                rx,
                tx,
            };
            let run = local.run;
            let event_loop = thread::Builder::new()
                .name(node.name.clone())
                .spawn(move || run(env));
            match event_loop {
                Ok(handle) => cluster.threads.push((node.name, handle)),
                Err(e) => {
                    shared.up[i].store(false, Ordering::SeqCst);
                    return Err(e);
                }
            }
        }
        Ok(cluster)
    }
}

/// A started live world. Dropping it stops it, as [`stop`](RunningCluster::stop) does.
pub struct RunningCluster<M: Message> {
    shared: Arc<Shared<M>>,
    names: Vec<String>,
    senders: Vec<Sender<Input<M>>>,
    threads: Vec<(String, JoinHandle<()>)>,
    stopped: bool,
}

impl<M: Message> RunningCluster<M> {
    /// Wall time since the cluster started, on the processes' clock.
    pub fn now(&self) -> Instant {
        self.shared.now()
    }

    pub fn process_count(&self) -> usize {
        self.names.len()
    }

    pub fn name(&self, node: NodeId) -> &str {
        &self.names[node.index()]
    }

    pub fn addr(&self, node: NodeId) -> Option<SocketAddr> {
        self.shared.addr(node)
    }

    /// Connections closed so far for breaking the wire protocol.
    pub fn bad_connections(&self) -> u64 {
        self.shared.bad_connections.load(Ordering::Relaxed)
    }

    /// Connections refused so far for not proving the shared secret.
    pub fn refused_connections(&self) -> u64 {
        self.shared.refused.load(Ordering::Relaxed)
    }

    /// Each peer refused so far, once: the address it connected from and the name it gave.
    pub fn refused_peers(&self) -> Vec<(std::net::IpAddr, String)> {
        self.shared
            .refused_peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether `node`'s event loop is still running (not exited, broken or panicked).
    pub fn is_up(&self, node: NodeId) -> bool {
        self.shared
            .up
            .get(node.index())
            .is_some_and(|up| up.load(Ordering::SeqCst))
    }

    pub fn dropped_messages(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    pub fn violations(&self) -> Vec<Violation> {
        self.shared
            .violations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Hands `msg` to `to` as if `from` had sent it (an operator's request, a test's poke),
    /// straight onto its event loop's channel. False if `to` is unknown or has ended.
    pub fn send(&self, from: NodeId, to: NodeId, msg: M) -> bool {
        let Some(tx) = self.senders.get(to.index()) else {
            return false;
        };
        self.is_up(to) && tx.send(Input::Deliver { from, msg }).is_ok()
    }

    /// Polls `pred` every millisecond until it holds (true) or `timeout` passes (false).
    pub fn wait_until(&self, timeout: WallDuration, mut pred: impl FnMut() -> bool) -> bool {
        let start = WallInstant::now();
        loop {
            if pred() {
                return true;
            }
            if start.elapsed() >= timeout {
                return false;
            }
            thread::sleep(WallDuration::from_millis(1));
        }
    }

    /// Stops every process, kills every task, joins every thread and closes every socket.
    pub fn stop(mut self) -> Report {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Report {
        if !self.stopped {
            self.stopped = true;
            self.shared.stop.store(true, Ordering::SeqCst);
            for tx in &self.senders {
                let _ = tx.send(Input::Stop);
            }
            // Wake each accept thread; it sees the flag and ends. The wake connection itself
            // is closed as soon as it is accepted.
            for addr in &self.shared.listeners {
                let _ = TcpStream::connect_timeout(addr, CONNECT_TIMEOUT);
            }
        }
        let mut panics = Vec::new();
        for (name, handle) in self.threads.drain(..) {
            if let Err(payload) = handle.join() {
                let what = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a non-string panic".to_string());
                panics.push(format!("{name}: {what}"));
            }
        }
        for up in &self.shared.up {
            up.store(false, Ordering::SeqCst);
        }
        Report {
            dropped_messages: self.dropped_messages(),
            bad_connections: self.bad_connections(),
            refused_connections: self.refused_connections(),
            violations: self.violations(),
            panics,
        }
    }
}

impl<M: Message> Drop for RunningCluster<M> {
    fn drop(&mut self) {
        if !self.stopped {
            self.shutdown();
        }
    }
}

/// Accepts connections to one process until the cluster stops, with a reader per connection.
fn accept_loop<M: Message>(listener: TcpListener, shared: Arc<Shared<M>>, tx: Sender<Input<M>>) {
    let mut readers: Vec<(TcpStream, JoinHandle<()>)> = Vec::new();
    while !shared.stopping() {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(_) => {
                thread::sleep(ACCEPT_BACKOFF);
                continue;
            }
        };
        if shared.stopping() {
            break;
        }
        readers.retain(|(_, handle)| !handle.is_finished());
        let Ok(handle_side) = stream.try_clone() else {
            continue;
        };
        let (shared, tx) = (Arc::clone(&shared), tx.clone());
        let spawned = thread::Builder::new()
            .name("live-reader".into())
            .spawn(move || read_loop(stream, shared, tx));
        // A connection without a reader is simply closed; its sender will see it break.
        if let Ok(handle) = spawned {
            readers.push((handle_side, handle));
        }
    }
    for (stream, _) in &readers {
        let _ = stream.shutdown(Shutdown::Both);
    }
    for (_, handle) in readers {
        let _ = handle.join();
    }
}

/// Reads frames off one connection onto the event loop's channel, until the connection ends
/// or breaks the wire protocol.
fn read_loop<M: Message>(mut stream: TcpStream, shared: Arc<Shared<M>>, tx: Sender<Input<M>>) {
    let _ = stream.set_nodelay(true);
    let challenge = auth::challenge();
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    if stream.write_all(&wire::encode_challenge(&challenge)).is_err() {
        return;
    }
    let mut decoder = wire::Decoder::<M>::default();
    let mut buf = vec![0u8; 64 * 1024];
    // The process sending on this connection, once its hello names it.
    let mut peer = None;
    let ended = 'read: loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => break decoder.finish(),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break decoder.finish(),
        };
        if shared.stopping() {
            break Ok(());
        }
        decoder.push(&buf[..n]);
        loop {
            match decoder.next_decoded() {
                Ok(Some(wire::Decoded::Hello(hello))) => {
                    if let Some(secret) = &shared.secret
                        && !secret.verify(&challenge.challenge, &hello)
                    {
                        refuse(&shared, &stream, &hello);
                        return;
                    }
                    peer = Some(shared.directory().resolve(hello.listen));
                }
                Ok(Some(wire::Decoded::Msg(msg))) => {
                    let from = peer.expect("the decoder yields messages only after a hello");
                    if tx.send(Input::Deliver { from, msg }).is_err() {
                        shared.drop_message();
                    }
                }
                Ok(None) => break,
                Err(bad) => break 'read Err(bad),
            }
        }
    };
    if ended.is_err() {
        // Nothing after a broken frame can be trusted: the connection is closed.
        shared.bad_connections.fetch_add(1, Ordering::Relaxed);
        let _ = stream.shutdown(Shutdown::Both);
    }
    if let Some(from) = peer
        && !shared.stopping()
    {
        let _ = tx.send(Input::Closed { from });
    }
}

/// Closes a connection whose hello did not prove the secret: counted, and its peer noted
/// once. Nothing it sent is delivered.
fn refuse<M>(shared: &Shared<M>, stream: &TcpStream, hello: &wire::Hello) {
    shared.refused.fetch_add(1, Ordering::Relaxed);
    if let Ok(from) = stream.peer_addr() {
        let mut peers = shared
            .refused_peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let peer = (from.ip(), hello.name.clone());
        if !peers.contains(&peer) {
            peers.push(peer);
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// Outgoing connections of one process, one per destination, opened on first use.
struct Outbox<M> {
    me: NodeId,
    shared: Arc<Shared<M>>,
    own: Sender<Input<M>>,
    /// Who this process is: the opening frame of each connection, with a proof of the
    /// secret when there is one.
    hello: wire::Hello,
    conns: Vec<Option<TcpStream>>,
}

impl<M: Message> Outbox<M> {
    fn send(&mut self, to: NodeId, msg: M) {
        if to == self.me {
            if self.own.send(Input::Deliver { from: self.me, msg }).is_err() {
                self.shared.drop_message();
            }
            return;
        }
        let Some(addr) = self.shared.addr(to) else {
            self.shared.drop_message();
            return;
        };
        let Ok(frame) = wire::encode(&msg) else {
            self.shared.drop_message();
            return;
        };
        if self.conns.len() <= to.index() {
            self.conns.resize_with(to.index() + 1, || None);
        }
        let slot = &mut self.conns[to.index()];
        if slot.is_none() {
            *slot = connect(addr, &self.hello, self.shared.secret.as_ref()).ok();
        }
        let Some(stream) = slot else {
            self.shared.drop_message();
            return;
        };
        if stream.write_all(&frame).is_err() {
            // Possibly half written: the reader discards the partial frame when we close.
            *slot = None;
            self.shared.drop_message();
        }
    }
}

/// Opens a connection to `addr`, reads its challenge, and says who is speaking (proving
/// `secret` in answer to the challenge, if there is one).
fn connect(addr: SocketAddr, hello: &wire::Hello, secret: Option<&auth::Secret>) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    stream.set_read_timeout(Some(CONNECT_TIMEOUT))?;
    let challenge = wire::read_challenge(&mut stream)?;
    let mut hello = hello.clone();
    hello.proof = secret.map(|s| s.prove(&challenge.challenge, &hello));
    stream.write_all(&wire::encode_hello(&hello).map_err(io::Error::other)?)?;
    Ok(stream)
}

/// The address peers can reach a listener at: a listener on every interface is reached
/// on loopback.
fn advertised(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    }
}

/// Carries out one handler's effects as the process asks for them.
struct LiveEffects<'a, M, T> {
    now: Instant,
    me: NodeId,
    shared: &'a Shared<M>,
    rng: &'a mut Rng,
    out: &'a mut Outbox<M>,
    timers: &'a mut Timers<T>,
    tasks: &'a mut Tasks,
    store: &'a mut storage::LiveStore,
    own: &'a Sender<Input<M>>,
    linked: &'a mut std::collections::BTreeSet<NodeId>,
    exit: bool,
    violation: Option<String>,
}

impl<M: Message, T: Clone + Eq + std::hash::Hash> Effects<M, T> for LiveEffects<'_, M, T> {
    fn rng(&mut self) -> &mut Rng {
        self.rng
    }

    fn send(&mut self, to: NodeId, msg: M) {
        self.out.send(to, msg);
    }

    fn set_timer(&mut self, timer: T, at: Instant) {
        self.timers.set(timer, at.max(self.now));
    }

    fn cancel_timer(&mut self, timer: T) {
        self.timers.cancel(&timer);
    }

    fn launch(&mut self, task: TaskSpec) {
        let (now, me) = (self.now, self.me);
        self.shared.observe(|o| o.launch(now, me, &task));
        match self.tasks.launch(&task) {
            Ok(()) => {}
            Err(LaunchError::Duplicate) => {
                self.violation = Some(format!("task {:?} launched twice", task.key));
            }
            // The task could not start: to its process, it failed at once.
            Err(LaunchError::Spawn(_)) => {
                let exit = TaskExit {
                    key: task.key,
                    reason: ExitReason::Failed,
                };
                let _ = self.own.send(Input::TaskExit(exit));
            }
        }
    }

    fn kill(&mut self, key: TaskKey) {
        // Reported after this handler, as the simulator reports a kill.
        if let Some(exit) = self.tasks.kill(key) {
            let _ = self.own.send(Input::TaskExit(exit));
        }
    }

    fn exit(&mut self) {
        self.exit = true;
    }

    fn link(&mut self, peer: NodeId) {
        if peer != self.me {
            self.linked.insert(peer);
        }
    }

    fn persist(&mut self, key: u64, record: Option<Box<dyn crate::process::Durable>>) {
        // A checkpoint that cannot be written ends the process, as it ends a Mesos agent:
        // going on would promise a recovery that cannot happen.
        if let Err(e) = self.store.put(key, record) {
            self.violation = Some(format!("cannot write record {key} of its durable storage: {e}"));
        }
    }

    fn publish(&mut self, event: M) {
        let (now, me) = (self.now, self.me);
        self.shared.observe(|o| o.published(now, me, &event));
        if let Some(to) = self.shared.publish_to {
            self.out.send(to, event);
        }
    }
}

/// Marks a process down when its event loop ends, however it ends.
struct UpGuard<M> {
    shared: Arc<Shared<M>>,
    me: NodeId,
}

impl<M> Drop for UpGuard<M> {
    fn drop(&mut self) {
        self.shared.up[self.me.index()].store(false, Ordering::SeqCst);
    }
}

/// One process's event loop and everything it owns besides the process.
struct Core<M, T> {
    me: NodeId,
    name: String,
    rng: Rng,
    shared: Arc<Shared<M>>,
    own: Sender<Input<M>>,
    out: Outbox<M>,
    timers: Timers<T>,
    tasks: Tasks,
    store: storage::LiveStore,
    /// Peers whose end this process watches.
    linked: std::collections::BTreeSet<NodeId>,
    /// The time of the last handler run (the process never sees time go back).
    last: Instant,
}

impl<M: Message, T: Clone + Eq + std::hash::Hash> Core<M, T> {
    /// The time to run the next handler at: `at` (the clock, or a timer's deadline), unless
    /// the process already saw a later time. A timer's handler runs at its deadline, as in
    /// the simulator, not at the moment the event loop woke for it: a timer re-armed from
    /// its handler (an allocation interval) then does not drift by the wake-up latency.
    fn time(&mut self, at: Instant) -> Instant {
        self.last = self.last.max(at);
        self.last
    }

    /// Runs one handler at `now`; false if the process has ended (exit or broken invariant).
    fn handle<P: Process<Msg = M, Timer = T>>(
        &mut self,
        process: &mut P,
        now: Instant,
        f: impl FnOnce(&mut P, &mut Ctx<'_, M, T>),
    ) -> bool {
        let mut fx = LiveEffects {
            now,
            me: self.me,
            shared: &self.shared,
            rng: &mut self.rng,
            out: &mut self.out,
            timers: &mut self.timers,
            tasks: &mut self.tasks,
            store: &mut self.store,
            own: &self.own,
            linked: &mut self.linked,
            exit: false,
            violation: None,
        };
        let mut ctx = Ctx::new(now, self.me, &mut fx);
        f(process, &mut ctx);
        let (exit, violation) = (fx.exit, fx.violation);
        if exit {
            return false;
        }
        match violation.map_or_else(|| process.check_invariants(), Err) {
            Ok(()) => true,
            Err(message) => {
                self.violate(now, message);
                false
            }
        }
    }

    /// Records a broken invariant of this process (its event loop then ends).
    fn violate(&self, time: Instant, message: String) {
        self.shared
            .violations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Violation {
                time,
                process: self.name.clone(),
                message,
            });
    }

    /// How long to wait for input before something else is due.
    fn wait_time(&self) -> WallDuration {
        let mut wait = IDLE_WAKE;
        if !self.tasks.is_empty() {
            wait = wait.min(TASK_POLL);
        }
        if let Some(at) = self.timers.next_deadline() {
            wait = wait.min(self.shared.clock.wall_until(at));
        }
        wait
    }
}

/// The event loop of one process: start it, then handle timers, task exits and messages until
/// it exits or the cluster stops. Dropping the core on the way out kills its tasks and closes
/// its connections.
fn run_loop<P: Process>(mut process: P, env: Env<P::Msg>) {
    let Env {
        me,
        name,
        addr,
        backend,
        rng,
        shared,
        rx,
        tx,
    } = env;
    let hello = wire::Hello {
        listen: addr,
        name: name.clone(),
        proof: None,
    };
    let recover = backend.recover;
    let scale = shared.clock.scale;
    let _up = UpGuard {
        shared: Arc::clone(&shared),
        me,
    };
    let mut core: Core<P::Msg, P::Timer> = Core {
        me,
        name,
        rng,
        out: Outbox {
            me,
            shared: Arc::clone(&shared),
            own: tx.clone(),
            hello,
            conns: Vec::new(),
        },
        shared,
        own: tx,
        timers: Timers::default(),
        store: storage::LiveStore::new(backend.meta.clone()),
        tasks: Tasks::new(backend).with_time_scale(scale),
        linked: std::collections::BTreeSet::new(),
        last: Instant::ZERO,
    };
    if recover {
        match core.tasks.recover() {
            Ok(_) => core.tasks.expect(&process.running_tasks()),
            Err(e) => {
                core.violate(core.shared.now(), format!("cannot recover its tasks: {e}"));
                return;
            }
        }
    }
    let now = core.time(core.shared.now());
    if !core.handle(&mut process, now, |p, ctx| p.on_start(ctx)) {
        return;
    }
    while !core.shared.stopping() {
        // Timers due now, in deadline order; ones armed meanwhile wait for the next round.
        let mark = core.timers.seq_mark();
        loop {
            let Some((due, timer)) = core.timers.pop_due(core.shared.now(), mark) else {
                break;
            };
            let now = core.time(due);
            if !core.handle(&mut process, now, |p, ctx| p.on_timer(ctx, timer)) {
                return;
            }
        }
        for exit in core.tasks.poll() {
            let now = core.time(core.shared.now());
            core.shared.observe(|o| o.task_exit(now, me, &exit));
            if !core.handle(&mut process, now, |p, ctx| p.on_task_exit(ctx, exit)) {
                return;
            }
        }
        let input = match rx.recv_timeout(core.wait_time()) {
            Ok(input) => input,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let now = core.time(core.shared.now());
        let alive = match input {
            Input::Deliver { from, msg } => {
                core.shared.observe(|o| o.message(now, from, me, &msg));
                core.handle(&mut process, now, |p, ctx| p.on_message(ctx, from, msg))
            }
            Input::TaskExit(exit) => {
                core.shared.observe(|o| o.task_exit(now, me, &exit));
                core.handle(&mut process, now, |p, ctx| p.on_task_exit(ctx, exit))
            }
            // A link is told once: the peer's next process is watched only if linked again.
            Input::Closed { from } if core.linked.remove(&from) => {
                core.handle(&mut process, now, |p, ctx| p.on_exited(ctx, from))
            }
            Input::Closed { .. } => true,
            Input::Stop => return,
        };
        if !alive {
            return;
        }
    }
}
