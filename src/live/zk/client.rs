//! A minimal ZooKeeper client over std TCP: one session, blocking calls, and a channel of
//! watch and session events.
//!
//! One background thread per client owns the socket's reading side. It splits the stream
//! into packets, hands each reply to the call waiting for its `xid`, puts watch
//! notifications (`xid` −1) on the event channel, and sends a ping (`xid` −2, type 11)
//! whenever nothing was sent for a third of the negotiated session timeout, so that an
//! idle session stays alive. A server silent for two thirds of the timeout (it answers
//! pings) is taken as a broken connection, as ZooKeeper's own client does.
//!
//! When the connection breaks, every call in flight fails with
//! [`ZkError::ConnectionLoss`], [`ZkEvent::Disconnected`] is sent, and the thread tries the
//! servers again with the same session id and password until the session timeout has
//! passed since the server was last heard: a server that takes the session back gives
//! [`ZkEvent::Connected`] (the session and its ephemeral nodes survive, but watches do not:
//! the owner sets them again); a server that says the session expired, or no server in
//! time, gives [`ZkEvent::Expired`], after which every call fails with
//! [`ZkError::SessionExpired`] and the owner opens a new client.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::error::ZkError;
use super::jute::{Framer, Reader, Stat, Writer};
use super::url::{ZkUrl, validate_path};

/// Operation codes (`ZooDefs.OpCode`).
mod op {
    pub const CREATE: i32 = 1;
    pub const DELETE: i32 = 2;
    pub const EXISTS: i32 = 3;
    pub const GET_DATA: i32 = 4;
    pub const SET_DATA: i32 = 5;
    pub const PING: i32 = 11;
    pub const GET_CHILDREN2: i32 = 12;
    pub const CLOSE_SESSION: i32 = -11;
}

/// Reserved `xid`s of packets that answer no call.
const XID_NOTIFICATION: i32 = -1;
const XID_PING: i32 = -2;
const XID_AUTH: i32 = -4;

/// `world:anyone` may do everything (`Perms.ALL`): the open ACL, as Mesos uses.
const PERMS_ALL: i32 = 31;
/// The longest one connection attempt to one server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a server taking a session back may take to answer (it answers at once).
const HANDSHAKE_WAIT: Duration = Duration::from_secs(2);
/// How often the reading thread looks up from the socket (to ping, or to see a close).
const READ_TICK: Duration = Duration::from_millis(20);
/// A fresh session's password: sixteen zero bytes, as ZooKeeper's clients send.
const NO_PASSWORD: [u8; 16] = [0; 16];

/// What kind of node [`ZkClient::create`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateMode {
    Persistent,
    /// Deleted by the server when the creating session ends.
    Ephemeral,
    /// The server appends the parent's child counter, ten digits (`member_0000000007`).
    PersistentSequential,
    EphemeralSequential,
}

impl CreateMode {
    fn flags(self) -> i32 {
        match self {
            CreateMode::Persistent => 0,
            CreateMode::Ephemeral => 1,
            CreateMode::PersistentSequential => 2,
            CreateMode::EphemeralSequential => 3,
        }
    }
}

/// The client's view of its session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    Connected,
    /// The connection broke; the session may still be taken back.
    Disconnected,
    /// The session is gone, and with it its ephemeral nodes.
    Expired,
    Closed,
}

/// What a watch reported (`Watcher.Event.EventType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchKind {
    Created,
    Deleted,
    DataChanged,
    ChildrenChanged,
    Other(i32),
}

impl WatchKind {
    fn from_code(code: i32) -> WatchKind {
        match code {
            1 => WatchKind::Created,
            2 => WatchKind::Deleted,
            3 => WatchKind::DataChanged,
            4 => WatchKind::ChildrenChanged,
            other => WatchKind::Other(other),
        }
    }
}

/// Delivered on the client's event channel, in the order they happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZkEvent {
    /// Connected again after [`ZkEvent::Disconnected`], in the same session. Watches set
    /// before the disconnection are gone: set them again.
    Connected,
    Disconnected,
    Expired,
    /// A watch fired (watches fire once) on `path`, relative to the chroot.
    Watch {
        kind: WatchKind,
        path: String,
    },
}

/// A reply to one call: its error code and the bytes after the reply header.
struct Reply {
    err: i32,
    body: Vec<u8>,
}

type ReplySender = Sender<Result<Reply, ZkError>>;

/// The writing side of the connection and the calls waiting for their replies.
struct Conn {
    writer: Option<TcpStream>,
    state: SessionState,
    next_xid: i32,
    pending: std::collections::BTreeMap<i32, ReplySender>,
    last_sent: Instant,
}

/// What the client and its reading thread share.
struct Shared {
    url: ZkUrl,
    addrs: Vec<SocketAddr>,
    session_id: i64,
    passwd: Vec<u8>,
    timeout: Duration,
    conn: Mutex<Conn>,
    last_zxid: AtomicI64,
    /// The client is closing: the reading thread stops at once.
    closing: AtomicBool,
    /// The session is being ended: the server will close the connection after answering,
    /// and the reading thread must not take that for a break to recover from.
    ending: AtomicBool,
}

impl Shared {
    fn conn(&self) -> MutexGuard<'_, Conn> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }
}

/// One ZooKeeper session. Calls block until their reply (at most the session timeout);
/// events arrive on a channel read with [`try_event`](ZkClient::try_event).
pub struct ZkClient {
    shared: Arc<Shared>,
    events: Receiver<ZkEvent>,
    io: Option<JoinHandle<()>>,
}

/// The server's answer to a handshake.
struct Handshake {
    timeout_ms: i32,
    session_id: i64,
    passwd: Vec<u8>,
}

impl ZkClient {
    /// Opens a new session with the first server of `url` that answers, asking for
    /// `session_timeout` (the server bounds it: see [`session_timeout`](Self::session_timeout)).
    pub fn connect(url: &ZkUrl, session_timeout: Duration) -> Result<ZkClient, ZkError> {
        ZkClient::connect_after(url, session_timeout, 0)
    }

    /// As [`connect`](Self::connect), refusing servers that have not seen transaction
    /// `last_zxid` yet: a client that opens a new session after an old one expired does
    /// not go back in time by reaching a lagging server.
    pub fn connect_after(
        url: &ZkUrl,
        session_timeout: Duration,
        last_zxid: i64,
    ) -> Result<ZkClient, ZkError> {
        let addrs = resolve(url)?;
        let asked = i32::try_from(session_timeout.as_millis()).map_err(|_| ZkError::BadArguments)?;
        let mut failures = Vec::new();
        for &addr in &addrs {
            let request = (asked, 0, &NO_PASSWORD[..], last_zxid);
            match handshake(addr, request, CONNECT_TIMEOUT.max(session_timeout)) {
                Ok((stream, answer)) if answer.timeout_ms > 0 => {
                    return ZkClient::start(url, addrs, stream, answer, last_zxid);
                }
                Ok(_) => failures.push(format!("{addr}: refused the session")),
                Err(e) => failures.push(format!("{addr}: {e}")),
            }
        }
        Err(ZkError::Connect(failures.join("; ")))
    }

    fn start(
        url: &ZkUrl,
        addrs: Vec<SocketAddr>,
        stream: TcpStream,
        answer: Handshake,
        last_zxid: i64,
    ) -> Result<ZkClient, ZkError> {
        let writer = stream.try_clone().map_err(|e| ZkError::Connect(e.to_string()))?;
        let timeout_ms = u64::try_from(answer.timeout_ms).unwrap_or(1);
        let shared = Arc::new(Shared {
            url: url.clone(),
            addrs,
            session_id: answer.session_id,
            passwd: answer.passwd,
            timeout: Duration::from_millis(timeout_ms),
            conn: Mutex::new(Conn {
                writer: Some(writer),
                state: SessionState::Connected,
                next_xid: 1,
                pending: std::collections::BTreeMap::new(),
                last_sent: Instant::now(),
            }),
            last_zxid: AtomicI64::new(last_zxid),
            closing: AtomicBool::new(false),
            ending: AtomicBool::new(false),
        });
        let (tx, events) = mpsc::channel();
        let io = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("zk-io".into())
                .spawn(move || io_loop(&shared, stream, &tx))
                .map_err(|e| ZkError::Connect(format!("cannot start its thread: {e}")))?
        };
        Ok(ZkClient {
            shared,
            events,
            io: Some(io),
        })
    }

    /// The session timeout the server granted: ephemeral nodes of a session not heard from
    /// this long are deleted.
    pub fn session_timeout(&self) -> Duration {
        self.shared.timeout
    }

    pub fn session_id(&self) -> i64 {
        self.shared.session_id
    }

    /// The latest transaction this client has seen (pass it to
    /// [`connect_after`](Self::connect_after) when opening the next session).
    pub fn last_zxid(&self) -> i64 {
        self.shared.last_zxid.load(Ordering::SeqCst)
    }

    pub fn state(&self) -> SessionState {
        self.shared.conn().state
    }

    pub fn url(&self) -> &ZkUrl {
        &self.shared.url
    }

    /// The next event, if one has arrived.
    pub fn try_event(&self) -> Option<ZkEvent> {
        self.events.try_recv().ok()
    }

    /// The next event, waiting up to `timeout` for it.
    pub fn next_event(&self, timeout: Duration) -> Option<ZkEvent> {
        self.events.recv_timeout(timeout).ok()
    }

    /// Sends one request and waits for its reply's body.
    fn call(
        &self,
        op: i32,
        fill: impl FnOnce(&mut Writer) -> Result<(), ZkError>,
    ) -> Result<Vec<u8>, ZkError> {
        let (tx, rx) = mpsc::channel();
        let xid = {
            let mut conn = self.shared.conn();
            match conn.state {
                SessionState::Connected => {}
                SessionState::Disconnected => return Err(ZkError::ConnectionLoss),
                SessionState::Expired => return Err(ZkError::SessionExpired),
                SessionState::Closed => return Err(ZkError::Closed),
            }
            let xid = conn.next_xid;
            conn.next_xid = if xid == i32::MAX { 1 } else { xid + 1 };
            let mut w = Writer::new();
            w.int(xid).int(op);
            fill(&mut w)?;
            send(&mut conn, &w.finish()?)?;
            conn.pending.insert(xid, tx);
            xid
        };
        match rx.recv_timeout(self.shared.timeout) {
            Ok(Ok(reply)) => ZkError::from_code(reply.err).map_or(Ok(reply.body), Err),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                self.shared.conn().pending.remove(&xid);
                Err(ZkError::ConnectionLoss)
            }
        }
    }

    /// The server path for `path`, which must be valid.
    fn full(&self, path: &str) -> Result<String, ZkError> {
        validate_path(path)?;
        Ok(self.shared.url.server_path(path))
    }

    /// Creates `path` with `data`, open to everyone (`world:anyone`, all permissions), and
    /// returns the path created (with its sequence number, for a sequential mode).
    pub fn create(&self, path: &str, data: &[u8], mode: CreateMode) -> Result<String, ZkError> {
        let full = self.full(path)?;
        let created = self.create_at(&full, data, mode)?;
        Ok(self.shared.url.client_path(&created))
    }

    fn create_at(&self, full: &str, data: &[u8], mode: CreateMode) -> Result<String, ZkError> {
        let body = self.call(op::CREATE, |w| {
            w.string(full)?.buffer(data)?;
            w.int(1).int(PERMS_ALL).string("world")?.string("anyone")?;
            w.int(mode.flags());
            Ok(())
        })?;
        Reader::new(&body).string("created path")
    }

    /// Creates `path` and every missing ancestor (the chroot too) as empty persistent
    /// nodes; nodes already there are left as they are.
    pub fn create_all(&self, path: &str) -> Result<(), ZkError> {
        let full = self.full(path)?;
        let mut prefix = String::new();
        for part in full.split('/').skip(1).filter(|p| !p.is_empty()) {
            prefix.push('/');
            prefix.push_str(part);
            match self.create_at(&prefix, &[], CreateMode::Persistent) {
                Ok(_) | Err(ZkError::NodeExists) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Deletes `path`, if its version is `version` (any version with `None`).
    pub fn delete(&self, path: &str, version: Option<i32>) -> Result<(), ZkError> {
        let full = self.full(path)?;
        self.call(op::DELETE, |w| {
            w.string(&full)?.int(version.unwrap_or(-1));
            Ok(())
        })?;
        Ok(())
    }

    /// The node's metadata, `None` if there is no node; with `watch`, the next creation,
    /// deletion or change of data of `path` is reported as a [`ZkEvent::Watch`].
    pub fn exists(&self, path: &str, watch: bool) -> Result<Option<Stat>, ZkError> {
        let full = self.full(path)?;
        let answer = self.call(op::EXISTS, |w| {
            w.string(&full)?.boolean(watch);
            Ok(())
        });
        match answer {
            Ok(body) => Reader::new(&body).stat().map(Some),
            Err(ZkError::NoNode) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The node's data and metadata; with `watch`, its next change or deletion is reported.
    pub fn get_data(&self, path: &str, watch: bool) -> Result<(Vec<u8>, Stat), ZkError> {
        let full = self.full(path)?;
        let body = self.call(op::GET_DATA, |w| {
            w.string(&full)?.boolean(watch);
            Ok(())
        })?;
        let mut r = Reader::new(&body);
        Ok((r.buffer("data")?, r.stat()?))
    }

    /// Replaces the node's data if its version is `version` (any with `None`): a stale
    /// version fails with [`ZkError::BadVersion`], which is what makes it a fence.
    pub fn set_data(&self, path: &str, data: &[u8], version: Option<i32>) -> Result<Stat, ZkError> {
        let full = self.full(path)?;
        let body = self.call(op::SET_DATA, |w| {
            w.string(&full)?.buffer(data)?.int(version.unwrap_or(-1));
            Ok(())
        })?;
        Reader::new(&body).stat()
    }

    /// The names of the node's children and the node's metadata (whose `cversion` counts
    /// the changes to its children), read at one moment; with `watch`, the next change to
    /// the children is reported.
    pub fn get_children(&self, path: &str, watch: bool) -> Result<(Vec<String>, Stat), ZkError> {
        let full = self.full(path)?;
        let body = self.call(op::GET_CHILDREN2, |w| {
            w.string(&full)?.boolean(watch);
            Ok(())
        })?;
        let mut r = Reader::new(&body);
        Ok((r.strings("children")?, r.stat()?))
    }

    /// Ends the session: the server deletes its ephemeral nodes at once.
    pub fn close(mut self) {
        self.shutdown(true);
    }

    /// Drops the connection without ending the session, as a crashed process would: its
    /// ephemeral nodes stay until the session times out. For failure tests.
    #[doc(hidden)]
    pub fn abandon(mut self) {
        self.shutdown(false);
    }

    fn shutdown(&mut self, end_session: bool) {
        let Some(io) = self.io.take() else {
            return;
        };
        if end_session && self.state() == SessionState::Connected {
            self.shared.ending.store(true, Ordering::SeqCst);
            let _ = self.call(op::CLOSE_SESSION, |_| Ok(()));
        }
        self.shared.closing.store(true, Ordering::SeqCst);
        {
            let mut conn = self.shared.conn();
            if let Some(writer) = conn.writer.take() {
                let _ = writer.shutdown(Shutdown::Both);
            }
            conn.state = SessionState::Closed;
            fail_pending(&mut conn, &ZkError::Closed);
        }
        let _ = io.join();
    }
}

impl Drop for ZkClient {
    fn drop(&mut self) {
        self.shutdown(true);
    }
}

/// Every address of every host of `url`, in order.
fn resolve(url: &ZkUrl) -> Result<Vec<SocketAddr>, ZkError> {
    let mut addrs = Vec::new();
    let mut failures = Vec::new();
    for (host, port) in &url.hosts {
        match (host.as_str(), *port).to_socket_addrs() {
            Ok(found) => addrs.extend(found),
            Err(e) => failures.push(format!("{host}: {e}")),
        }
    }
    if addrs.is_empty() {
        return Err(ZkError::Connect(format!(
            "no address for any host ({})",
            failures.join("; ")
        )));
    }
    Ok(addrs)
}

/// Writes one packet; a failed write breaks the connection (the stream may hold half a
/// packet), which the reading thread then sees.
fn send(conn: &mut Conn, packet: &[u8]) -> Result<(), ZkError> {
    let Some(writer) = conn.writer.as_mut() else {
        return Err(ZkError::ConnectionLoss);
    };
    if writer.write_all(packet).is_err() {
        let _ = writer.shutdown(Shutdown::Both);
        conn.writer = None;
        return Err(ZkError::ConnectionLoss);
    }
    conn.last_sent = Instant::now();
    Ok(())
}

fn fail_pending(conn: &mut Conn, why: &ZkError) {
    for (_, tx) in std::mem::take(&mut conn.pending) {
        let _ = tx.send(Err(why.clone()));
    }
}

/// Connects to `addr` and opens (session 0) or takes back a session: `request` is
/// (timeout asked in ms, session id, password, last zxid seen).
fn handshake(
    addr: SocketAddr,
    request: (i32, i64, &[u8], i64),
    wait: Duration,
) -> Result<(TcpStream, Handshake), ZkError> {
    let (timeout_ms, session_id, passwd, last_zxid) = request;
    let io = |e: io::Error| ZkError::Connect(e.to_string());
    let mut stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT.min(wait)).map_err(io)?;
    stream.set_nodelay(true).map_err(io)?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT)).map_err(io)?;
    let mut w = Writer::new();
    w.int(0)
        .long(last_zxid)
        .int(timeout_ms)
        .long(session_id)
        .buffer(passwd)?;
    w.boolean(false); // not a read-only client
    stream.write_all(&w.finish()?).map_err(io)?;
    let body = read_packet(&mut stream, wait)?;
    let mut r = Reader::new(&body);
    let _protocol = r.int("protocol version")?;
    let answer = Handshake {
        timeout_ms: r.int("session timeout")?,
        session_id: r.long("session id")?,
        passwd: r.buffer("password")?,
    };
    // Servers since 3.4 add whether they are read-only; older ones stop here.
    if r.remaining() > 0 {
        let _read_only = r.boolean("read-only")?;
    }
    Ok((stream, answer))
}

/// Reads exactly one packet, waiting up to `wait` for it.
fn read_packet(stream: &mut TcpStream, wait: Duration) -> Result<Vec<u8>, ZkError> {
    let deadline = Instant::now() + wait;
    let mut framer = Framer::default();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(packet) = framer.next_packet()? {
            return Ok(packet);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ZkError::Connect("no answer to the handshake".into()));
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| ZkError::Connect(e.to_string()))?;
        match stream.read(&mut buf) {
            Ok(0) => return Err(ZkError::Connect("closed during the handshake".into())),
            Ok(n) => framer.push(&buf[..n]),
            Err(e) if is_wait(&e) => {}
            Err(e) => return Err(ZkError::Connect(e.to_string())),
        }
    }
}

fn is_wait(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// The reading thread: serves the connection; when it breaks, takes the session back on
/// another connection, until the client closes or the session expires.
fn io_loop(shared: &Shared, mut stream: TcpStream, events: &Sender<ZkEvent>) {
    let mut last_heard = Instant::now();
    loop {
        serve(shared, &mut stream, events, &mut last_heard);
        if shared.closing() || shared.ending.load(Ordering::SeqCst) {
            fail_pending(&mut shared.conn(), &ZkError::Closed);
            return;
        }
        {
            let mut conn = shared.conn();
            if let Some(writer) = conn.writer.take() {
                let _ = writer.shutdown(Shutdown::Both);
            }
            conn.state = SessionState::Disconnected;
            fail_pending(&mut conn, &ZkError::ConnectionLoss);
        }
        let _ = events.send(ZkEvent::Disconnected);
        match reconnect(shared, last_heard) {
            Some(next) => stream = next,
            None => {
                let mut conn = shared.conn();
                if conn.state != SessionState::Closed {
                    conn.state = SessionState::Expired;
                    fail_pending(&mut conn, &ZkError::SessionExpired);
                    let _ = events.send(ZkEvent::Expired);
                }
                return;
            }
        }
        last_heard = Instant::now();
        let _ = events.send(ZkEvent::Connected);
    }
}

/// Reads and dispatches packets, and pings, until the connection breaks, the server falls
/// silent, or the client closes.
fn serve(shared: &Shared, stream: &mut TcpStream, events: &Sender<ZkEvent>, last_heard: &mut Instant) {
    let silence = shared.timeout * 2 / 3;
    let ping_every = shared.timeout / 3;
    if stream.set_read_timeout(Some(READ_TICK)).is_err() {
        return;
    }
    let mut framer = Framer::default();
    let mut buf = vec![0u8; 64 * 1024];
    while !shared.closing() {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                *last_heard = Instant::now();
                framer.push(&buf[..n]);
                loop {
                    match framer.next_packet() {
                        Ok(Some(packet)) => {
                            if dispatch(shared, &packet, events).is_err() {
                                return;
                            }
                        }
                        Ok(None) => break,
                        Err(_) => return,
                    }
                }
            }
            Err(e) if is_wait(&e) => {}
            Err(_) => return,
        }
        if last_heard.elapsed() > silence || ping(shared, ping_every).is_err() {
            return;
        }
    }
}

/// Sends a ping if nothing was sent for `every`.
fn ping(shared: &Shared, every: Duration) -> Result<(), ZkError> {
    let mut conn = shared.conn();
    if conn.writer.is_none() {
        return Err(ZkError::ConnectionLoss);
    }
    if conn.last_sent.elapsed() < every {
        return Ok(());
    }
    let mut w = Writer::new();
    w.int(XID_PING).int(op::PING);
    send(&mut conn, &w.finish()?)
}

/// Handles one packet from the server. A packet that does not parse is an error: the
/// connection can no longer be trusted.
fn dispatch(shared: &Shared, packet: &[u8], events: &Sender<ZkEvent>) -> Result<(), ZkError> {
    let mut r = Reader::new(packet);
    let xid = r.int("reply xid")?;
    let zxid = r.long("reply zxid")?;
    let err = r.int("reply err")?;
    if zxid > 0 {
        shared.last_zxid.fetch_max(zxid, Ordering::SeqCst);
    }
    match xid {
        XID_NOTIFICATION => {
            let kind = WatchKind::from_code(r.int("event type")?);
            let _state = r.int("event state")?;
            let path = shared.url.client_path(&r.string("event path")?);
            let _ = events.send(ZkEvent::Watch { kind, path });
        }
        XID_PING | XID_AUTH => {}
        _ => {
            let body = packet[packet.len() - r.remaining()..].to_vec();
            if let Some(tx) = shared.conn().pending.remove(&xid) {
                let _ = tx.send(Ok(Reply { err, body }));
            }
        }
    }
    Ok(())
}

/// Tries the servers in turn with the session's id and password until one takes it back,
/// or the session timeout has passed since the server was last heard from (`None`: the
/// session expired, or the client closed meanwhile).
fn reconnect(shared: &Shared, last_heard: Instant) -> Option<TcpStream> {
    let deadline = last_heard + shared.timeout;
    let timeout_ms = i32::try_from(shared.timeout.as_millis()).unwrap_or(i32::MAX);
    for addr in shared.addrs.iter().cycle() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || shared.closing() {
            return None;
        }
        let last_zxid = shared.last_zxid.load(Ordering::SeqCst);
        let request = (timeout_ms, shared.session_id, &shared.passwd[..], last_zxid);
        match handshake(*addr, request, left.min(HANDSHAKE_WAIT)) {
            Ok((stream, answer)) if answer.timeout_ms > 0 && answer.session_id == shared.session_id => {
                let writer = stream.try_clone().ok()?;
                let mut conn = shared.conn();
                if conn.state == SessionState::Closed {
                    return None;
                }
                conn.writer = Some(writer);
                conn.state = SessionState::Connected;
                conn.last_sent = Instant::now();
                return Some(stream);
            }
            // The server says the session is gone.
            Ok(_) => return None,
            Err(_) => thread::sleep(Duration::from_millis(100).min(left)),
        }
    }
    None
}
