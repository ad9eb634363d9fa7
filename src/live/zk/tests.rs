//! The client and the bridge against a real ZooKeeper (see `testserver`), one server per
//! test, loopback only, every wait bounded. Tests skip (saying so) where java or the
//! ZooKeeper jars are missing, unless `MESOSIM_REQUIRE_ZK` is set, as CI sets it.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::testserver::ZkTestServer;
use super::*;
use crate::ids::NodeId;
use crate::live::{LiveCluster, RunningCluster, SharedDirectory, lock_directory};
use crate::master::{Master, MasterConfig};
use crate::process::{Ctx, Process};
use crate::proto::{Event, Msg, OperatorCall, RegistryState};

/// One ZooKeeper test at a time: each starts a JVM, and the election tests time failovers
/// that a 2-core machine running several at once would make a matter of luck.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The longest any test waits for anything.
const BOUND: Duration = Duration::from_secs(20);

/// A fresh server, or `None` (the test then returns) where none can run here.
fn server() -> Option<(MutexGuard<'static, ()>, ZkTestServer)> {
    let guard = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    match ZkTestServer::start() {
        Ok(server) => Some((guard, server)),
        Err(why) if std::env::var_os("MESOSIM_REQUIRE_ZK").is_some() => {
            panic!("MESOSIM_REQUIRE_ZK is set, but no ZooKeeper can run: {why}")
        }
        Err(why) => {
            eprintln!("skipping a ZooKeeper test: {why}");
            None
        }
    }
}

/// Polls `pred` every 10 ms until it holds (true) or `bound` passes (false).
fn wait_for(bound: Duration, mut pred: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !pred() {
        if start.elapsed() > bound {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
    true
}

/// The next event that is not a connection change, within `bound`.
fn next_watch(client: &ZkClient, bound: Duration) -> Option<ZkEvent> {
    let start = Instant::now();
    while start.elapsed() < bound {
        match client.next_event(Duration::from_millis(50)) {
            Some(event @ ZkEvent::Watch { .. }) => return Some(event),
            _ => continue,
        }
    }
    None
}

#[test]
fn zk_client_creates_reads_writes_and_deletes_under_its_chroot() {
    let Some((_guard, zk)) = server() else { return };
    let client = ZkClient::connect(&zk.url("/t"), Duration::from_secs(4)).unwrap();
    assert!(client.session_timeout() <= Duration::from_secs(30));
    client.create_all("/a/b").unwrap();
    client.create_all("/a/b").unwrap(); // there already: fine
    assert_eq!(
        client.create("/a/b/c", b"one", CreateMode::Persistent).unwrap(),
        "/a/b/c"
    );
    assert_eq!(
        client.create("/a/b/c", b"", CreateMode::Persistent),
        Err(ZkError::NodeExists)
    );
    assert_eq!(
        client.create("/x/y", b"", CreateMode::Persistent),
        Err(ZkError::NoNode)
    );

    let (data, stat) = client.get_data("/a/b/c", false).unwrap();
    assert_eq!((data.as_slice(), stat.version), (&b"one"[..], 0));
    let stat = client.set_data("/a/b/c", b"two", Some(0)).unwrap();
    assert_eq!(stat.version, 1);
    assert_eq!(
        client.set_data("/a/b/c", b"three", Some(0)),
        Err(ZkError::BadVersion)
    );
    assert_eq!(client.get_data("/a/b/c", false).unwrap().0, b"two");
    assert_eq!(client.set_data("/a/b/c", b"any", None).unwrap().version, 2);

    let (children, parent) = client.get_children("/a/b", false).unwrap();
    assert_eq!((children, parent.num_children), (vec!["c".to_owned()], 1));
    assert_eq!(client.delete("/a/b", None), Err(ZkError::NotEmpty));
    assert_eq!(client.delete("/a/b/c", Some(0)), Err(ZkError::BadVersion));
    client.delete("/a/b/c", Some(2)).unwrap();
    assert_eq!(client.exists("/a/b/c", false), Ok(None));
    assert_eq!(client.get_data("/a/b/c", false), Err(ZkError::NoNode));
    assert!(matches!(client.get_data("a/b", false), Err(ZkError::Path(_))));

    // The chroot is the server's /t.
    let plain = ZkClient::connect(&zk.url(""), Duration::from_secs(4)).unwrap();
    assert!(plain.exists("/t/a/b", false).unwrap().is_some());
    // A data watch fires once, on the next change.
    client.get_data("/a/b", true).unwrap();
    plain.set_data("/t/a/b", b"new", None).unwrap();
    let event = next_watch(&client, BOUND).expect("the data watch fires");
    assert_eq!(
        event,
        ZkEvent::Watch {
            kind: WatchKind::DataChanged,
            path: "/a/b".into()
        }
    );
    plain.close();
    client.close();
}

#[test]
fn zk_sequential_nodes_count_children_and_ephemerals_go_with_their_session() {
    let Some((_guard, zk)) = server() else { return };
    let url = zk.url("");
    let owner = ZkClient::connect(&url, Duration::from_secs(4)).unwrap();
    let watcher = ZkClient::connect(&url, Duration::from_secs(4)).unwrap();
    owner.create_all("/e").unwrap();
    let mut names = Vec::new();
    for _ in 0..3 {
        let before = owner.exists("/e", false).unwrap().unwrap().cversion;
        let path = owner
            .create("/e/m_", b"", CreateMode::EphemeralSequential)
            .unwrap();
        // Numbered with the parent's child counter, ten digits.
        assert_eq!(path, format!("/e/m_{before:010}"));
        names.push(path);
    }
    let (children, _) = watcher.get_children("/e", true).unwrap();
    assert_eq!(children.len(), 3);
    assert_eq!(
        owner.create("/e/m_0000000000/child", b"", CreateMode::Persistent),
        Err(ZkError::NoChildrenForEphemerals)
    );

    owner.close();
    let event = next_watch(&watcher, BOUND).expect("the children watch fires");
    assert_eq!(
        event,
        ZkEvent::Watch {
            kind: WatchKind::ChildrenChanged,
            path: "/e".into()
        }
    );
    assert!(wait_for(BOUND, || watcher
        .get_children("/e", false)
        .unwrap()
        .0
        .is_empty()));
    watcher.close();
}

#[test]
fn zk_an_abandoned_session_expires_and_its_ephemeral_node_with_it() {
    let Some((_guard, zk)) = server() else { return };
    let url = zk.url("");
    let crashed = ZkClient::connect(&url, Duration::from_secs(1)).unwrap();
    let watcher = ZkClient::connect(&url, Duration::from_secs(4)).unwrap();
    crashed.create("/gone", b"", CreateMode::Ephemeral).unwrap();
    assert!(watcher.exists("/gone", true).unwrap().is_some());
    let start = Instant::now();
    crashed.abandon();
    let event = next_watch(&watcher, BOUND).expect("the node is deleted");
    assert_eq!(
        event,
        ZkEvent::Watch {
            kind: WatchKind::Deleted,
            path: "/gone".into()
        }
    );
    // Not at once: only when the session timed out.
    assert!(
        start.elapsed() >= Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    watcher.close();
}

#[test]
fn zk_pings_keep_an_idle_session_and_a_short_break_keeps_it_too() {
    let Some((_guard, zk)) = server() else { return };
    let relay = Relay::start(zk.addr());
    let url = ZkUrl::parse(&format!("zk://{}", relay.addr)).unwrap();
    let client = ZkClient::connect(&url, Duration::from_secs(1)).unwrap();
    let session = client.session_id();
    client.create("/kept", b"", CreateMode::Ephemeral).unwrap();
    // Idle for twice the timeout: only pings speak for the session.
    thread::sleep(client.session_timeout() * 2);
    assert!(client.exists("/kept", false).unwrap().is_some());

    relay.cut();
    assert_eq!(client.next_event(BOUND), Some(ZkEvent::Disconnected));
    assert_eq!(client.exists("/kept", false), Err(ZkError::ConnectionLoss));
    thread::sleep(Duration::from_millis(200));
    relay.heal();
    assert_eq!(client.next_event(BOUND), Some(ZkEvent::Connected));
    assert_eq!(client.session_id(), session);
    let owner = client
        .exists("/kept", false)
        .unwrap()
        .map(|stat| stat.ephemeral_owner);
    assert_eq!(owner, Some(session));
    client.close();
}

#[test]
fn zk_a_client_whose_server_dies_is_disconnected_then_expired() {
    let Some((_guard, mut zk)) = server() else { return };
    let client = ZkClient::connect(&zk.url(""), Duration::from_secs(1)).unwrap();
    let timeout = client.session_timeout();
    zk.kill();
    let start = Instant::now();
    let mut seen = Vec::new();
    while start.elapsed() < BOUND && !seen.contains(&ZkEvent::Expired) {
        seen.extend(client.next_event(Duration::from_millis(50)));
    }
    assert_eq!(seen, vec![ZkEvent::Disconnected, ZkEvent::Expired]);
    assert!(
        start.elapsed() < timeout + Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(client.state(), SessionState::Expired);
    assert_eq!(client.exists("/", false), Err(ZkError::SessionExpired));
}

/// The `LeaderIs` news a watcher heard: (leader, epoch), in order.
type Heard = Arc<Mutex<Vec<(Option<NodeId>, u32)>>>;

/// A process that only watches who leads, as agents and frameworks do.
struct Watcher {
    coordinator: NodeId,
    heard: Heard,
}

impl Process for Watcher {
    type Msg = Msg;
    type Timer = ();

    fn on_start(&mut self, ctx: &mut Ctx<'_, Msg, ()>) {
        ctx.send(self.coordinator, Msg::Watch);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Msg, ()>, _: NodeId, msg: Msg) {
        if let Msg::LeaderIs { leader, epoch } = msg {
            ctx.send(self.coordinator, Msg::LeaderAck { epoch });
            self.heard.lock().unwrap().push((leader, epoch));
        }
    }

    fn on_timer(&mut self, _: &mut Ctx<'_, Msg, ()>, _: ()) {}
}

/// What one test OS process (a `LiveCluster`) observed, with wall-clock times so that
/// different clusters' observations compare.
#[derive(Default)]
struct Seen {
    /// (when, epoch) of each `MasterElected`, and when each `MasterAbdicated`.
    elected: Vec<(Instant, u32)>,
    abdicated: Vec<Instant>,
    /// Registries handed to the master.
    snapshots: Vec<RegistryState>,
}

/// One OS process of the test: a bridge and either a master or a watcher.
struct Site {
    running: RunningCluster<Msg>,
    directory: SharedDirectory,
    status: ZkStatusHandle,
    /// The master's id and address, if a master runs here.
    master: Option<(NodeId, SocketAddr)>,
    seen: Arc<Mutex<Seen>>,
    heard: Heard,
}

fn site(seed: u64, url: &ZkUrl, with_master: bool) -> Site {
    let mut cluster = LiveCluster::<Msg>::new(seed);
    let directory = cluster.directory();
    let bridge = ZkCoordinator::new(url, directory.clone(), Duration::from_secs(2)).unwrap();
    let status = bridge.status();
    let timeout = crate::time::Duration::from_nanos(bridge.session_timeout().as_nanos() as u64);
    let zk = cluster.add_process("zk", bridge).unwrap();
    let heard = Arc::new(Mutex::new(Vec::new()));
    let master = if with_master {
        let config = MasterConfig {
            coordinator: Some(zk),
            session_timeout: timeout,
            ..MasterConfig::default()
        };
        let node = cluster
            .add_process("master", Master::new(config).unwrap())
            .unwrap();
        Some((node, cluster.addr(node).unwrap()))
    } else {
        let watcher = Watcher {
            coordinator: zk,
            heard: Arc::clone(&heard),
        };
        cluster.add_process("watcher", watcher).unwrap();
        None
    };
    let seen = Arc::new(Mutex::new(Seen::default()));
    observe(&mut cluster, &seen);
    let running = cluster.start().unwrap();
    Site {
        running,
        directory,
        status,
        master,
        seen,
        heard,
    }
}

fn observe(cluster: &mut LiveCluster<Msg>, seen: &Arc<Mutex<Seen>>) {
    cluster.set_observer(Watch(Arc::clone(seen)));
}

/// Notes elections, abdications and registry snapshots as they happen.
struct Watch(Arc<Mutex<Seen>>);

impl crate::process::Observer<Msg> for Watch {
    fn published(&mut self, _: crate::time::Instant, _: NodeId, msg: &Msg) {
        let Msg::Event(event) = msg else { return };
        let mut seen = self.0.lock().unwrap();
        match **event {
            Event::MasterElected { epoch, .. } => seen.elected.push((Instant::now(), epoch)),
            Event::MasterAbdicated => seen.abdicated.push(Instant::now()),
            _ => {}
        }
    }

    fn message(&mut self, _: crate::time::Instant, _: NodeId, _: NodeId, msg: &Msg) {
        if let Msg::RegistrySnapshot { registry, .. } = msg {
            self.0.lock().unwrap().snapshots.push((**registry).clone());
        }
    }
}

impl Site {
    fn leader(&self) -> Option<SocketAddr> {
        self.status.get().leader
    }

    fn epoch(&self) -> u32 {
        self.status.get().epoch
    }

    /// Whether this site's master leads (elected, and not abdicated since).
    fn leads(&self) -> bool {
        let seen = self.seen.lock().unwrap();
        match (seen.elected.last(), seen.abdicated.last()) {
            (Some(_), None) => true,
            (Some((elected, _)), Some(abdicated)) => elected > abdicated,
            _ => false,
        }
    }

    /// The leader the watcher heard of last, as an address.
    fn heard_leader(&self) -> Option<(SocketAddr, u32)> {
        let (node, epoch) = *self.heard.lock().unwrap().last()?;
        Some((lock_directory(&self.directory).addr(node?)?, epoch))
    }

    fn addr(&self) -> SocketAddr {
        self.master.expect("a master runs here").1
    }
}

/// The one master that leads, once exactly one does and every site agrees on it (at an
/// epoch above `after`).
fn agreed_leader(sites: &[&Site], watcher: &Site, after: u32) -> Option<SocketAddr> {
    let leading: Vec<_> = sites.iter().filter(|s| s.leads()).collect();
    let [leader] = leading.as_slice() else {
        return None;
    };
    let addr = leader.addr();
    let epoch = leader.epoch();
    let agreed = sites
        .iter()
        .copied()
        .chain(std::iter::once(watcher))
        .all(|s| s.leader() == Some(addr) && s.epoch() == epoch);
    (epoch > after && agreed && watcher.heard_leader() == Some((addr, epoch))).then_some(addr)
}

#[test]
fn zk_three_bridges_elect_one_master_and_the_next_reads_what_it_wrote() {
    let Some((_guard, zk)) = server() else { return };
    let url = zk.url("/mesosim");
    let mut sites: Vec<Site> = (0..3).map(|i| site(i, &url, true)).collect();
    let watcher = site(9, &url, false);

    let mut first = None;
    assert!(
        wait_for(BOUND, || {
            first = agreed_leader(&sites.iter().collect::<Vec<_>>(), &watcher, 0);
            first.is_some()
        }),
        "no agreed leader: {:?}",
        sites.iter().map(|s| s.status.get()).collect::<Vec<_>>()
    );
    let i = sites.iter().position(|s| Some(s.addr()) == first).unwrap();
    let epoch = sites[i].epoch();

    // The leader writes the registry, through ZooKeeper.
    let (master, _) = sites[i].master.unwrap();
    let weight = OperatorCall::SetWeight {
        role: "ops".into(),
        weight: 3.0,
    };
    assert!(
        sites[i]
            .running
            .send(master, master, Msg::Operator(Box::new(weight)))
    );
    let reader = ZkClient::connect(&url, Duration::from_secs(4)).unwrap();
    let stored = || -> Option<RegistryState> {
        let (data, _) = reader.get_data(REGISTRY, false).ok()?;
        serde_json::from_slice(&data).ok()
    };
    assert!(wait_for(BOUND, || stored().is_some_and(|r| !r.weights.is_empty())));

    // Its OS process stops: its session closes, and another master leads.
    let start = Instant::now();
    let old = sites.remove(i);
    assert!(old.running.stop().is_clean());
    let rest: Vec<&Site> = sites.iter().collect();
    let mut next = None;
    assert!(
        wait_for(Duration::from_secs(2) + Duration::from_secs(5), || {
            next = agreed_leader(&rest, &watcher, epoch);
            next.is_some()
        }),
        "no new leader: {:?}",
        rest.iter().map(|s| s.status.get()).collect::<Vec<_>>()
    );
    eprintln!("failover took {:?}", start.elapsed());
    let new = rest.iter().find(|s| Some(s.addr()) == next).unwrap();
    let snapshot = new.seen.lock().unwrap().snapshots.last().cloned().unwrap();
    assert_eq!(snapshot.weights, vec![("ops".to_owned(), 3.0)]);
    reader.close();
    for site in sites {
        assert!(site.running.stop().is_clean());
    }
    assert!(watcher.running.stop().is_clean());
}

/// A loopback TCP relay to ZooKeeper that a test can cut, as a network partition would.
struct Relay {
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<JoinHandle<()>>,
}

impl Relay {
    fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let accept = {
            let (open, stop, conns) = (Arc::clone(&open), Arc::clone(&stop), Arc::clone(&conns));
            thread::spawn(move || {
                for client in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let (Ok(client), true) = (client, open.load(Ordering::SeqCst)) else {
                        continue; // cut: the connection is closed at once
                    };
                    if let Ok(server) = TcpStream::connect(target) {
                        relay(client, server, &conns);
                    }
                }
            })
        };
        Relay {
            addr,
            open,
            stop,
            conns,
            accept: Some(accept),
        }
    }

    /// Breaks every connection, and refuses new ones until [`heal`](Relay::heal).
    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for conn in self.conns.lock().unwrap().drain(..) {
            let _ = conn.shutdown(Shutdown::Both);
        }
    }

    fn heal(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

/// Copies bytes both ways between `a` and `b` until either closes.
fn relay(a: TcpStream, b: TcpStream, conns: &Mutex<Vec<TcpStream>>) {
    let pipe = |mut from: TcpStream, mut to: TcpStream| {
        thread::spawn(move || {
            let _ = io::copy(&mut from, &mut to);
            let _ = to.shutdown(Shutdown::Both);
        });
    };
    let (Ok(a2), Ok(b2), Ok(a3), Ok(b3)) = (a.try_clone(), b.try_clone(), a.try_clone(), b.try_clone())
    else {
        return;
    };
    conns.lock().unwrap().extend([a3, b3]);
    pipe(a, b2);
    pipe(b, a2);
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cut();
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

#[test]
fn zk_a_leader_cut_off_from_zookeeper_abdicates_before_another_is_elected() {
    let Some((_guard, zk)) = server() else { return };
    let relay = Relay::start(zk.addr());
    let url = zk.url("/mesosim");
    let cut_url = ZkUrl::parse(&format!("zk://{}/mesosim", relay.addr)).unwrap();
    // The first master leads: it contends alone.
    let first = site(0, &cut_url, true);
    assert!(wait_for(BOUND, || first.leads()));
    let epoch = first.epoch();
    let others = [site(1, &url, true), site(2, &url, true)];
    let watcher = site(9, &url, false);
    let everyone: Vec<&Site> = [&first].into_iter().chain(&others).collect();
    assert_eq!(
        wait_for(BOUND, || agreed_leader(&everyone, &watcher, 0).is_some()).then(|| first.addr()),
        Some(first.addr())
    );

    relay.cut();
    let start = Instant::now();
    let rest: Vec<&Site> = others.iter().collect();
    let mut next = None;
    assert!(
        wait_for(BOUND, || {
            next = agreed_leader(&rest, &watcher, epoch);
            next.is_some()
        }),
        "no new leader: {:?}",
        rest.iter().map(|s| s.status.get()).collect::<Vec<_>>()
    );
    eprintln!("failover after the cut took {:?}", start.elapsed());
    // The cut-off leader gave up before the new one took over.
    let abdicated = *first
        .seen
        .lock()
        .unwrap()
        .abdicated
        .first()
        .expect("the old leader abdicated");
    let new = rest.iter().find(|s| Some(s.addr()) == next).unwrap();
    let (elected, _) = *new.seen.lock().unwrap().elected.last().unwrap();
    assert!(
        abdicated < elected,
        "abdicated {:?} after the election",
        abdicated - elected
    );
    eprintln!(
        "the old leader abdicated {:?} before the election",
        elected - abdicated
    );
    assert!(!first.leads());

    // Back in touch, it opens a new session and stands by under the new leader.
    relay.heal();
    assert!(wait_for(BOUND, || {
        let status = first.status.get();
        status.expirations >= 1 && status.connected && status.leader == next
    }));
    assert!(!first.leads());
    for site in [first, watcher].into_iter().chain(others) {
        assert!(site.running.stop().is_clean());
    }
}
