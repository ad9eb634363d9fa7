//! [`ZkCoordinator`]: the coordinator's part (`src/coordinator`) played for the processes
//! of one OS process, backed by a real ZooKeeper. See the module doc of `live::zk` for the
//! mapping.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration as WallDuration;

use super::client::{CreateMode, ZkClient, ZkEvent};
use super::error::ZkError;
use super::url::ZkUrl;
use crate::ids::NodeId;
use crate::live::{SharedDirectory, lock_directory};
use crate::process::{Ctx, Process};
use crate::proto::{Beat, Msg, RegistryState, RegistryWrite};
use crate::time::{Duration, Instant};

/// Where the masters contend: one ephemeral sequential child each.
pub const ELECTION: &str = "/election";
/// The prefix of election nodes (`member_0000000007`).
pub const MEMBER_PREFIX: &str = "member_";
/// The masters' registry, as JSON of [`RegistryState`].
pub const REGISTRY: &str = "/registry";

/// How often the client's events are looked at (watch notifications, session changes).
const POLL: Duration = Duration::from_millis(50);
/// Unacknowledged leader news is sent again this often.
const RESEND: Duration = Duration::from_secs(1);
/// After failing to open a new session, wait this long before trying again.
const RECONNECT_BACKOFF: Duration = Duration::from_secs(1);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ZkTimer {
    /// Time to look at the client's events.
    Poll,
    /// Time to resend leader news not yet acknowledged.
    Resend,
}

/// What the bridge knows of itself, readable from outside the process (by an operator's
/// log, or a test) through [`ZkCoordinator::status`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ZkStatus {
    /// The ZooKeeper session in use, if one is open.
    pub session: Option<i64>,
    pub connected: bool,
    /// The leading master's address and the epoch announced for it (or for no leader).
    pub leader: Option<SocketAddr>,
    pub epoch: u32,
    /// Sessions that expired so far.
    pub expirations: u64,
    /// The latest ZooKeeper error met, for diagnosis.
    pub last_error: Option<String>,
}

/// A shared view of a bridge's [`ZkStatus`].
#[derive(Clone, Debug, Default)]
pub struct ZkStatusHandle(Arc<Mutex<ZkStatus>>);

impl ZkStatusHandle {
    pub fn get(&self) -> ZkStatus {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn update(&self, f: impl FnOnce(&mut ZkStatus)) {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

/// A master's session, as the bridge keeps it.
struct Member {
    /// The master's number for it.
    session: u64,
    /// Its election node's name, if the node was created.
    node: Option<String>,
}

/// The leader as last read: the election node with the lowest sequence number (whose data
/// names an address).
#[derive(Clone, Debug, PartialEq)]
struct Leader {
    seq: u32,
    name: String,
    addr: SocketAddr,
    node: NodeId,
    /// The ZooKeeper session owning its node.
    owner: i64,
}

/// The registry as the leader of `epoch` has it, and the znode version it was stored at.
struct Held {
    epoch: u32,
    registry: RegistryState,
    version: i32,
    /// Changes of this epoch applied so far.
    applied: u64,
    /// A write whose answer was lost: (bytes, state, changes up to), which may have landed.
    in_doubt: Option<(Vec<u8>, RegistryState, u64)>,
}

/// What an election node says: the address in its data (`None`: not an address), and
/// the session owning it.
#[derive(Clone, Copy, Debug)]
struct NodeData {
    addr: Option<SocketAddr>,
    owner: i64,
}

/// What one reading of the election found.
enum View {
    Leader(Leader),
    /// Nobody leads; `cversion` is the election node's child counter at that reading.
    Nobody {
        cversion: i32,
    },
}

/// The coordinator of one OS process's masters, agents and frameworks, backed by a real
/// ZooKeeper. Add it to the [`LiveCluster`](crate::live::LiveCluster) whose processes name
/// it as their coordinator; it answers the same messages with the same meanings as
/// [`Coordinator`](crate::coordinator::Coordinator).
pub struct ZkCoordinator {
    url: ZkUrl,
    asked_timeout: WallDuration,
    directory: SharedDirectory,
    status: ZkStatusHandle,
    /// `None` after the session expired, until a new one opens.
    client: Option<ZkClient>,
    /// The latest transaction seen, carried to the next session.
    last_zxid: i64,
    reconnect_at: Instant,
    members: BTreeMap<NodeId, Member>,
    /// The latest session each master opened (kept after it ends).
    latest: BTreeMap<NodeId, u64>,
    /// Election nodes of ended sessions whose deletion must be tried again.
    doomed: BTreeSet<String>,
    /// What each election node read so far says, by node name (their data never changes).
    known: BTreeMap<String, NodeData>,
    /// The election must be read again (a watch fired, or a reading failed).
    stale: bool,
    leader: Option<Leader>,
    /// The epoch of the latest announcement (of a leader, or of none).
    announced: u32,
    /// Everyone who asked to hear of the leader, with the last epoch they acknowledged.
    watchers: BTreeMap<NodeId, u32>,
    lagging: BTreeSet<NodeId>,
    resend_armed: bool,
    held: Option<Held>,
}

type ZkCtx<'a> = Ctx<'a, Msg, ZkTimer>;

/// The epoch of a reading: `2s + 2` for the leader with sequence number `s`, `2c + 1` for
/// nobody when the election's child counter is `c`. Leaders' sequence numbers only grow
/// (a node created later has a larger one, and only the lowest leads), and a reading with
/// nobody lies between the last leader's node (`s < c`) and the next (`c <= s'`), so
/// epochs grow with every change; a leader's epoch is the same in every OS process.
fn epoch_of(view: &View) -> u32 {
    let n = match view {
        View::Leader(l) => 2 * u64::from(l.seq) + 2,
        View::Nobody { cversion } => 2 * u64::try_from(*cversion).unwrap_or(0) + 1,
    };
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The sequence number of an election node's name, if it is one.
fn member_seq(name: &str) -> Option<u32> {
    let digits = name.strip_prefix(MEMBER_PREFIX)?;
    (digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

fn member_path(name: &str) -> String {
    format!("{ELECTION}/{name}")
}

impl ZkCoordinator {
    /// Opens a session with the ZooKeeper at `url` (asking for `session_timeout`) and
    /// makes sure the election node exists. `directory` is the cluster's
    /// ([`LiveCluster::directory`](crate::live::LiveCluster::directory)): masters are
    /// named in ZooKeeper by their listen address, and leaders elsewhere are given local
    /// ids from it.
    ///
    /// Masters must give up leadership no later than ZooKeeper ends their session: set
    /// their `session_timeout` to at most [`session_timeout`](Self::session_timeout).
    pub fn new(
        url: &ZkUrl,
        directory: SharedDirectory,
        session_timeout: WallDuration,
    ) -> Result<ZkCoordinator, ZkError> {
        let client = ZkClient::connect(url, session_timeout)?;
        client.create_all(ELECTION)?;
        let status = ZkStatusHandle::default();
        status.update(|s| {
            s.session = Some(client.session_id());
            s.connected = true;
        });
        Ok(ZkCoordinator {
            url: url.clone(),
            asked_timeout: session_timeout,
            directory,
            status,
            last_zxid: client.last_zxid(),
            client: Some(client),
            reconnect_at: Instant::ZERO,
            members: BTreeMap::new(),
            latest: BTreeMap::new(),
            doomed: BTreeSet::new(),
            known: BTreeMap::new(),
            stale: true,
            leader: None,
            announced: 0,
            watchers: BTreeMap::new(),
            lagging: BTreeSet::new(),
            resend_armed: false,
            held: None,
        })
    }

    /// The session timeout ZooKeeper granted (it bounds what was asked).
    pub fn session_timeout(&self) -> WallDuration {
        self.client
            .as_ref()
            .map_or(self.asked_timeout, ZkClient::session_timeout)
    }

    /// A handle on what the bridge knows, to read while it runs in its cluster.
    pub fn status(&self) -> ZkStatusHandle {
        self.status.clone()
    }

    fn note(&self, error: &ZkError) {
        self.status.update(|s| s.last_error = Some(error.to_string()));
    }

    fn leader_is(&self) -> Msg {
        Msg::LeaderIs {
            leader: self.leader.as_ref().map(|l| l.node),
            epoch: self.announced,
        }
    }

    fn watch(&mut self, ctx: &mut ZkCtx<'_>, from: NodeId) {
        self.watchers.entry(from).or_insert(0);
        self.lagging.insert(from);
        ctx.send(from, self.leader_is());
        self.arm_resend(ctx);
    }

    fn arm_resend(&mut self, ctx: &mut ZkCtx<'_>) {
        if !self.resend_armed && !self.lagging.is_empty() {
            self.resend_armed = true;
            ctx.set_timer_after(ZkTimer::Resend, RESEND);
        }
    }

    /// Announces `leader` under `epoch` to every watcher, unless it is no news.
    fn announce(&mut self, ctx: &mut ZkCtx<'_>, leader: Option<Leader>, epoch: u32) {
        if epoch <= self.announced {
            return; // never back in time
        }
        self.announced = epoch;
        self.leader = leader;
        self.held = None;
        let addr = self.leader.as_ref().map(|l| l.addr);
        self.status.update(|s| {
            s.leader = addr;
            s.epoch = epoch;
        });
        let msg = self.leader_is();
        self.lagging = self.watchers.keys().copied().collect();
        for &node in &self.lagging {
            ctx.send(node, msg.clone());
        }
        self.arm_resend(ctx);
    }

    /// Reads the election (setting a watch on it) and announces a change of leader.
    fn refresh(&mut self, ctx: &mut ZkCtx<'_>) {
        let Some(client) = self.client.as_ref() else {
            return;
        };
        let session = client.session_id();
        match read_election(client, &mut self.known, &self.directory) {
            Ok(View::Leader(l)) if l.owner == session && !self.owns(&l.name) => {
                // A node of this session that no master's session has: its creation was
                // answered by a broken connection. It must not lead: it goes.
                self.doomed.insert(l.name);
                self.stale = true;
                self.bury();
            }
            Ok(view) => {
                self.stale = false;
                let same = match (&self.leader, &view) {
                    (Some(old), View::Leader(new)) => old.seq == new.seq,
                    (None, View::Nobody { .. }) => true,
                    _ => false,
                };
                if !same {
                    let epoch = epoch_of(&view);
                    let leader = match view {
                        View::Leader(l) => Some(l),
                        View::Nobody { .. } => None,
                    };
                    self.announce(ctx, leader, epoch);
                }
            }
            Err(e) => {
                self.stale = true;
                self.note(&e);
            }
        }
    }

    /// Whether election node `name` is a local master's.
    fn owns(&self, name: &str) -> bool {
        self.members.values().any(|m| m.node.as_deref() == Some(name))
    }

    /// Looks at the client's events: watches and reconnections make the election stale;
    /// an expired session ends every master's session here.
    fn poll(&mut self, ctx: &mut ZkCtx<'_>) {
        let Some(client) = self.client.as_ref() else {
            if ctx.now() >= self.reconnect_at {
                self.reconnect(ctx);
            }
            return;
        };
        let mut expired = false;
        while let Some(event) = client.try_event() {
            match event {
                ZkEvent::Watch { .. } => self.stale = true,
                ZkEvent::Connected => {
                    self.stale = true;
                    self.status.update(|s| s.connected = true);
                }
                ZkEvent::Disconnected => self.status.update(|s| s.connected = false),
                ZkEvent::Expired => expired = true,
            }
        }
        if expired {
            return self.expired(ctx);
        }
        self.bury();
        if self.stale {
            self.refresh(ctx);
        }
    }

    /// Tries again to delete election nodes of ended sessions.
    fn bury(&mut self) {
        let Some(client) = self.client.as_ref() else {
            return;
        };
        let doomed = std::mem::take(&mut self.doomed);
        for name in doomed {
            match client.delete(&member_path(&name), None) {
                Ok(()) | Err(ZkError::NoNode) => self.stale = true,
                Err(_) => {
                    self.doomed.insert(name);
                }
            }
        }
    }

    /// The ZooKeeper session expired: every election node of it is gone, so every master's
    /// session here ends, and a new session is opened.
    fn expired(&mut self, ctx: &mut ZkCtx<'_>) {
        for (node, member) in std::mem::take(&mut self.members) {
            ctx.send(
                node,
                Msg::SessionExpired {
                    session: member.session,
                },
            );
        }
        if let Some(client) = self.client.take() {
            self.last_zxid = self.last_zxid.max(client.last_zxid());
        }
        self.doomed.clear();
        self.known.clear();
        self.reconnect_at = ctx.now();
        self.status.update(|s| {
            s.session = None;
            s.connected = false;
            s.expirations += 1;
        });
        // Who leads is left as last read: a leader elsewhere may well lead on, and the new
        // session's first reading announces any change.
        self.reconnect(ctx);
    }

    /// Opens a new session (not going back before the transactions seen).
    fn reconnect(&mut self, ctx: &mut ZkCtx<'_>) {
        let opened = ZkClient::connect_after(&self.url, self.asked_timeout, self.last_zxid).and_then(|c| {
            c.create_all(ELECTION)?;
            Ok(c)
        });
        match opened {
            Ok(client) => {
                let session = client.session_id();
                self.status.update(|s| {
                    s.session = Some(session);
                    s.connected = true;
                });
                self.client = Some(client);
                self.refresh(ctx);
            }
            Err(e) => {
                self.note(&e);
                self.reconnect_at = ctx.now() + RECONNECT_BACKOFF;
            }
        }
    }

    fn contend(&mut self, ctx: &mut ZkCtx<'_>, from: NodeId, session: u64) {
        let latest = self.latest.get(&from).copied();
        if latest.is_some_and(|l| session < l) {
            return; // a late copy of an older request
        }
        if latest == Some(session) {
            // A copy: the session opened already (or ended since).
            if self.members.get(&from).is_some_and(|m| m.node.is_some()) {
                self.watch(ctx, from);
            }
            return;
        }
        self.latest.insert(from, session);
        // A new session replaces any the master had.
        if let Some(old) = self.members.remove(&from).and_then(|m| m.node) {
            self.doomed.insert(old);
            self.bury();
        }
        let node = self.join(from);
        self.members.insert(from, Member { session, node });
        self.refresh(ctx);
        self.watch(ctx, from);
    }

    /// Creates `master`'s election node, its listen address as data; its name if created.
    fn join(&self, master: NodeId) -> Option<String> {
        let addr = lock_directory(&self.directory).addr(master)?;
        let client = self.client.as_ref()?;
        let prefix = format!("{ELECTION}/{MEMBER_PREFIX}");
        match client.create(
            &prefix,
            addr.to_string().as_bytes(),
            CreateMode::EphemeralSequential,
        ) {
            Ok(path) => path.rsplit('/').next().map(str::to_owned),
            Err(e) => {
                self.note(&e);
                None
            }
        }
    }

    /// Answers a heartbeat if the master's session is the one open and its election node
    /// is still this ZooKeeper session's: the round trip proves the session alive after
    /// the heartbeat was sent. A transient failure gets no answer at all.
    fn heartbeat(&mut self, ctx: &mut ZkCtx<'_>, from: NodeId, beat: Box<Beat>) {
        let node = match self.members.get(&from) {
            Some(m) if m.session == beat.session => m.node.clone(),
            _ => None,
        };
        let (Some(name), Some(client)) = (node, self.client.as_ref()) else {
            let session = beat.session;
            return ctx.send(from, Msg::SessionExpired { session });
        };
        match client.exists(&member_path(&name), false) {
            Ok(Some(stat)) if stat.ephemeral_owner == client.session_id() => {
                ctx.send(from, Msg::HeartbeatAck(beat));
            }
            Ok(_) => {
                self.members.remove(&from);
                self.stale = true;
                let session = beat.session;
                ctx.send(from, Msg::SessionExpired { session });
            }
            Err(e) => self.note(&e),
        }
    }

    fn leader_ack(&mut self, from: NodeId, epoch: u32) {
        if let Some(acked) = self.watchers.get_mut(&from) {
            *acked = (*acked).max(epoch);
            if *acked >= self.announced {
                self.lagging.remove(&from);
            }
        }
    }

    /// Whether `from`'s open session `session` is the one whose node leads.
    fn elected(&self, from: NodeId, session: Option<u64>) -> bool {
        let Some(leader) = &self.leader else {
            return false;
        };
        leader.node == from
            && self.members.get(&from).is_some_and(|m| {
                session.is_none_or(|s| s == m.session) && m.node.as_deref() == Some(leader.name.as_str())
            })
    }

    /// Hands the elected master the registry, after fencing off earlier leaders: the
    /// registry is written back once unchanged, so that its version moves past any a
    /// deposed leader's bridge may still hold.
    fn registry_read(&mut self, ctx: &mut ZkCtx<'_>, from: NodeId, session: u64) {
        if !self.elected(from, Some(session)) {
            return;
        }
        let epoch = self.announced;
        if self.held.as_ref().is_none_or(|h| h.epoch != epoch) {
            let Some(client) = self.client.as_ref() else {
                return;
            };
            match claim_registry(client, &self.directory) {
                Ok((registry, version)) => {
                    self.held = Some(Held {
                        epoch,
                        registry,
                        version,
                        applied: 0,
                        in_doubt: None,
                    });
                }
                Err(e) => return self.note(&e),
            }
        }
        if let Some(held) = &self.held {
            let registry = Box::new(held.registry.clone());
            ctx.send(from, Msg::RegistrySnapshot { epoch, registry });
        }
    }

    /// Applies the leader's changes in order, once each, and stores the result with a
    /// write conditional on the version last stored: a write that finds another version
    /// was fenced off (another leader claimed the registry) and is never acknowledged.
    fn registry_write(&mut self, ctx: &mut ZkCtx<'_>, from: NodeId, write: &RegistryWrite) {
        if !self.elected(from, None) {
            return;
        }
        let epoch = self.announced;
        let directory = &self.directory;
        let (Some(client), Some(held)) = (self.client.as_ref(), self.held.as_mut()) else {
            return;
        };
        if held.epoch != epoch || write.epoch != epoch {
            return;
        }
        let end = write.first + write.ops.len() as u64;
        if write.first <= held.applied && held.applied < end {
            let skip = usize::try_from(held.applied - write.first).unwrap_or(usize::MAX);
            let mut next = held.registry.clone();
            for op in write.ops.iter().skip(skip) {
                next.apply(op);
            }
            match store(client, directory, held, next, end) {
                Ok(()) => {}
                Err(e @ ZkError::BadVersion) => {
                    self.held = None;
                    return self.note(&e);
                }
                Err(e) => return self.note(&e),
            }
        }
        let upto = held.applied;
        ctx.send(from, Msg::RegistryAck { epoch, upto });
    }
}

/// Reads the election's children (watching them) and the data of the lowest that names
/// an address. Data read once is kept in `known` (election nodes are never rewritten).
fn read_election(
    client: &ZkClient,
    known: &mut BTreeMap<String, NodeData>,
    directory: &SharedDirectory,
) -> Result<View, ZkError> {
    let (children, stat) = client.get_children(ELECTION, true)?;
    let mut members: Vec<(u32, &String)> = children
        .iter()
        .filter_map(|name| member_seq(name).map(|seq| (seq, name)))
        .collect();
    members.sort();
    known.retain(|name, _| children.contains(name));
    for (seq, name) in members {
        let data = match known.get(name) {
            Some(data) => *data,
            None => match client.get_data(&member_path(name), false) {
                Ok((data, stat)) => {
                    let addr = std::str::from_utf8(&data).ok().and_then(|t| t.parse().ok());
                    let data = NodeData {
                        addr,
                        owner: stat.ephemeral_owner,
                    };
                    known.insert(name.clone(), data);
                    data
                }
                // Gone since: its watch event follows.
                Err(ZkError::NoNode) => continue,
                Err(e) => return Err(e),
            },
        };
        if let Some(addr) = data.addr {
            let node = lock_directory(directory).resolve(addr);
            let name = name.clone();
            let owner = data.owner;
            return Ok(View::Leader(Leader {
                seq,
                name,
                addr,
                node,
                owner,
            }));
        }
    }
    Ok(View::Nobody {
        cversion: stat.cversion,
    })
}

/// Reads the registry (creating it empty if missing) and writes it back unchanged, so
/// that its version is this leader's: (registry, version).
fn claim_registry(client: &ZkClient, directory: &SharedDirectory) -> Result<(RegistryState, i32), ZkError> {
    for _ in 0..3 {
        let (data, stat) = match client.get_data(REGISTRY, false) {
            Ok(found) => found,
            Err(ZkError::NoNode) => {
                let empty = encode(&RegistryState::default(), directory)?;
                match client.create(REGISTRY, &empty, CreateMode::Persistent) {
                    Ok(_) | Err(ZkError::NodeExists) => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        let registry = if data.is_empty() {
            RegistryState::default()
        } else {
            decode(&data, directory)?
        };
        match client.set_data(REGISTRY, &data, Some(stat.version)) {
            Ok(stored) => return Ok((registry, stored.version)),
            Err(ZkError::BadVersion) => continue, // written meanwhile: read again
            Err(e) => return Err(e),
        }
    }
    Err(ZkError::BadVersion)
}

/// The registry as stored in ZooKeeper: each agent named by its listen address, since a
/// [`NodeId`] means something only in the OS process that numbered it (the next leader
/// numbers its peers itself).
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    agents: Vec<StoredAgent>,
    frameworks: u32,
    weights: Vec<(String, f64)>,
    quotas: Vec<(String, crate::allocator::Quota)>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredAgent {
    name: String,
    addr: SocketAddr,
    resources: crate::resources::Resources,
    boot: u64,
    unreachable: bool,
}

fn encode(registry: &RegistryState, directory: &SharedDirectory) -> Result<Vec<u8>, ZkError> {
    let known = lock_directory(directory);
    let agents = registry
        .agents
        .iter()
        .map(|a| {
            let addr = known.addr(a.node).ok_or_else(|| {
                ZkError::Malformed(format!("registry: agent {} has no known address", a.name))
            })?;
            Ok(StoredAgent {
                name: a.name.clone(),
                addr,
                resources: a.resources.clone(),
                boot: a.boot,
                unreachable: a.unreachable,
            })
        })
        .collect::<Result<Vec<_>, ZkError>>()?;
    drop(known);
    let stored = Stored {
        agents,
        frameworks: registry.frameworks,
        weights: registry.weights.clone(),
        quotas: registry.quotas.clone(),
    };
    serde_json::to_vec(&stored).map_err(|e| ZkError::Malformed(format!("registry: {e}")))
}

/// The stored registry, its agents numbered in this OS process's directory.
fn decode(data: &[u8], directory: &SharedDirectory) -> Result<RegistryState, ZkError> {
    let stored: Stored =
        serde_json::from_slice(data).map_err(|e| ZkError::Malformed(format!("{REGISTRY}: {e}")))?;
    let mut known = lock_directory(directory);
    let agents = stored
        .agents
        .into_iter()
        .map(|a| crate::proto::RegisteredAgent {
            node: known.resolve(a.addr),
            name: a.name,
            resources: a.resources,
            boot: a.boot,
            unreachable: a.unreachable,
        })
        .collect();
    Ok(RegistryState {
        agents,
        frameworks: stored.frameworks,
        weights: stored.weights,
        quotas: stored.quotas,
    })
}

/// Stores `next` (the registry with changes up to `end`) over the version `held` has. A
/// write whose answer was lost is remembered: if the next write finds the version moved by
/// exactly that write, it is adopted instead of taken for a fence.
fn store(
    client: &ZkClient,
    directory: &SharedDirectory,
    held: &mut Held,
    next: RegistryState,
    end: u64,
) -> Result<(), ZkError> {
    let bytes = encode(&next, directory)?;
    match client.set_data(REGISTRY, &bytes, Some(held.version)) {
        Ok(stat) => {
            (held.registry, held.version, held.applied) = (next, stat.version, end);
            held.in_doubt = None;
            Ok(())
        }
        Err(ZkError::BadVersion) => {
            let (doubt, state, upto) = held.in_doubt.take().ok_or(ZkError::BadVersion)?;
            let (data, stat) = client.get_data(REGISTRY, false)?;
            if data != doubt || stat.version != held.version.wrapping_add(1) {
                return Err(ZkError::BadVersion);
            }
            (held.registry, held.version, held.applied) = (state, stat.version, upto);
            Ok(())
        }
        Err(e) => {
            if e.is_transient() {
                held.in_doubt = Some((bytes, next, end));
            }
            Err(e)
        }
    }
}

impl Process for ZkCoordinator {
    type Msg = Msg;
    type Timer = ZkTimer;

    fn on_start(&mut self, ctx: &mut ZkCtx<'_>) {
        self.refresh(ctx);
        ctx.set_timer_after(ZkTimer::Poll, POLL);
    }

    fn on_message(&mut self, ctx: &mut ZkCtx<'_>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Contend { session } => self.contend(ctx, from, session),
            Msg::Heartbeat(beat) => self.heartbeat(ctx, from, beat),
            Msg::Watch => self.watch(ctx, from),
            Msg::LeaderAck { epoch } => self.leader_ack(from, epoch),
            Msg::RegistryRead { session } => self.registry_read(ctx, from, session),
            Msg::RegistryWrite(write) => self.registry_write(ctx, from, &write),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut ZkCtx<'_>, timer: ZkTimer) {
        match timer {
            ZkTimer::Poll => {
                self.poll(ctx);
                ctx.set_timer_after(ZkTimer::Poll, POLL);
            }
            ZkTimer::Resend => {
                self.resend_armed = false;
                let msg = self.leader_is();
                for &node in &self.lagging {
                    ctx.send(node, msg.clone());
                }
                self.arm_resend(ctx);
            }
        }
    }

    fn check_invariants(&self) -> Result<(), String> {
        match (&self.held, &self.leader) {
            (Some(held), Some(_)) if held.epoch != self.announced => Err(format!(
                "registry held for epoch {} while epoch {} is announced",
                held.epoch, self.announced
            )),
            (Some(_), None) => Err("registry held while nobody leads".into()),
            _ => Ok(()),
        }
    }
}
