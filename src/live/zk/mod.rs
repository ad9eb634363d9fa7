//! Leader election and the registry through a real ZooKeeper, as Mesos does them, for live
//! clusters spread over several OS processes.
//!
//! In the simulator the masters elect a leader through [`Coordinator`], a process that
//! models ZooKeeper. Live, each OS process runs a [`ZkCoordinator`] in its place: a
//! driver-side process that answers the very same messages (`Contend`, `Heartbeat`,
//! `Watch`, `LeaderAck`, `RegistryRead`, `RegistryWrite`) with the same meanings, and does
//! so by talking to ZooKeeper through [`ZkClient`], our own client of its wire protocol.
//! The masters, agents and frameworks are unchanged: they name the bridge as their
//! coordinator, and never learn that the coordinator is a cluster of its own.
//!
//! # The znodes (under the URL's chroot, e.g. `zk://127.0.0.1:2181/mesosim`)
//!
//! - `/election`: persistent, created with its parents. Each master session is one
//!   ephemeral sequential child `member_NNNNNNNNNN` whose data is the master's listen
//!   address (`127.0.0.1:5050`), created by the master's bridge on `Contend`. The child
//!   with the lowest sequence number (among those whose data is an address) leads. A newer
//!   `Contend` deletes the master's older node; an older one is ignored. A node of the
//!   bridge's own session that no master's session has (its creation was answered by a
//!   broken connection) is deleted when it would lead.
//! - `/registry`: persistent, JSON of [`RegistryState`], created empty when first read.
//!
//! # Watching, and the epoch
//!
//! Each bridge reads `/election`'s children with a watch, and again whenever the watch
//! fires. A change of the lowest node is announced to every local watcher as
//! `LeaderIs { leader, epoch }` (resent until `LeaderAck`), where `leader` is the local
//! [`NodeId`](crate::ids::NodeId) of the leading address (`Directory::resolve` numbers an
//! address not yet known) and
//!
//! - `epoch = 2s + 2` for the leader whose node has sequence number `s`,
//! - `epoch = 2c + 1` for "nobody leads", `c` being `/election`'s child counter
//!   (`cversion`) at that reading.
//!
//! ZooKeeper numbers a sequential child with its parent's `cversion`, which every child
//! created or deleted increments, and only the lowest live node leads, so leaders'
//! numbers only grow and each "nobody" lies strictly between the leaders around it:
//! epochs grow with every change, as the production code requires, and the epoch of a
//! leader is the same in every OS process (that of "nobody" may differ, harmlessly).
//! The epoch is a `u32`: it saturates after about two billion elections under one
//! election node.
//!
//! # Sessions
//!
//! One ZooKeeper session serves all the masters of an OS process. A master's heartbeat is
//! answered (`HeartbeatAck`, echoing the beat) after an `exists` of its node comes back
//! owned by the live session: that round trip proves ZooKeeper heard from the session
//! after the beat was sent, so a master that gives up `session_timeout` after its last
//! answered beat gives up before ZooKeeper could expire the session and elect another,
//! provided its `session_timeout` is at most the session timeout ZooKeeper granted
//! ([`ZkCoordinator::session_timeout`]). While ZooKeeper cannot be reached, heartbeats get
//! no answer at all, and the masters' own timeouts decide. A node found missing, or a
//! heartbeat for a session not open, gets `SessionExpired`.
//!
//! When the ZooKeeper session expires (the server says so, or no server took it back
//! within the timeout), every election node of it is gone: each local master is told
//! `SessionExpired` (and contends again), and the bridge opens a new session (retrying
//! every second), then reads the election afresh and announces any change. Until then
//! watchers keep the leader they last heard of, as Mesos's agents keep theirs while
//! ZooKeeper is out of reach.
//!
//! # The registry
//!
//! `RegistryRead` from the elected master (in the session whose node leads) reads
//! `/registry` and writes it back unchanged with a write conditional on its version: the
//! version moves past any a deposed leader's bridge holds. `RegistryWrite` applies the
//! changes in order, once each, exactly as [`Coordinator`] does (with
//! [`RegistryState::apply`]), and stores the result with a `set_data` conditional on the
//! version last stored, then answers `RegistryAck`. A conditional write that fails was
//! fenced off by another leader: that epoch's writes are never acknowledged again.
//!
//! # Why the bridge polls
//!
//! Production handlers are sans-IO, but the bridge is driver-side: its handlers make
//! blocking ZooKeeper calls (each bounded by the session timeout, and failing at once
//! while disconnected). What ZooKeeper says unasked (watch notifications, lost and
//! regained connections, expiry) arrives on the client's background thread, which hands
//! it over an `mpsc` channel; a process can only be woken by messages and timers, so the
//! bridge looks at that channel on a 50 ms timer.
//!
//! # Use
//!
//! ```no_run
//! # use std::time::Duration;
//! # use mesosim::live::LiveCluster;
//! # use mesosim::live::zk::{ZkCoordinator, ZkUrl};
//! # use mesosim::master::{Master, MasterConfig};
//! # use mesosim::proto::Msg;
//! let url = ZkUrl::parse("zk://127.0.0.1:2181/mesosim")?;
//! let mut cluster = LiveCluster::<Msg>::new(1);
//! let bridge = ZkCoordinator::new(&url, cluster.directory(), Duration::from_secs(10))?;
//! let timeout = mesosim::time::Duration::from_nanos(bridge.session_timeout().as_nanos() as u64);
//! let zk = cluster.add_process("zk", bridge)?;
//! let config = MasterConfig { coordinator: Some(zk), session_timeout: timeout, ..MasterConfig::default() };
//! cluster.add_process("master", Master::new(config)?)?;
//! let running = cluster.start()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Coordinator`]: crate::coordinator::Coordinator
//! [`RegistryState`]: crate::proto::RegistryState
//! [`RegistryState::apply`]: crate::proto::RegistryState::apply

mod bridge;
mod client;
mod error;
mod jute;
#[doc(hidden)]
pub mod testserver;
mod url;

pub use bridge::{ELECTION, MEMBER_PREFIX, REGISTRY, ZkCoordinator, ZkStatus, ZkStatusHandle, ZkTimer};
pub use client::{CreateMode, SessionState, WatchKind, ZkClient, ZkEvent};
pub use error::ZkError;
pub use jute::Stat;
pub use url::{DEFAULT_PORT, ZkUrl};

#[cfg(test)]
mod tests;
