//! The coordination service the masters elect a leader through and keep their registry in:
//! the part ZooKeeper plays for Mesos, reduced to what Mesos uses of it.
//!
//! - **Sessions.** A master opens one with `Contend` and keeps it alive with heartbeats;
//!   a session not heard from for `session_timeout` (10 s) expires. Sessions are numbered
//!   by their master, in increasing order: heartbeats keep alive only the session they
//!   name, and a late copy of an older `Contend` opens nothing (a master that gave up its
//!   session must not find the coordinator still counting it as leader).
//! - **Election.** Contending creates an ephemeral sequential node: the live session with
//!   the lowest sequence number leads. When the leader's session ends, the next in line
//!   leads. Every change of leader (to none, too) has a new, larger epoch.
//! - **Watches.** Masters, agents and frameworks hear who leads (`LeaderIs`) at once and on
//!   every change. ZooKeeper delivers watch events over a reliable session; here they are
//!   acknowledged, and those not acknowledged are sent again every `resend_interval`.
//! - **Registry.** The leader's changes are applied in order, once each, and only from the
//!   leader of the current epoch (a deposed master cannot write); a new leader reads the
//!   whole registry before it acts.
//!
//! Heartbeat answers echo the time the heartbeat was sent, so a master knows its session is
//! alive until that time plus `session_timeout` by its own clock, which is no later than the
//! coordinator would expire it: a master that stops hearing back gives up leadership before
//! another can be elected.

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::NodeId;
use crate::process::{Ctx, Process};
use crate::proto::{Msg, RegistryState, RegistryWrite};
use crate::time::{Duration, Instant};

#[derive(Clone, Debug, PartialEq)]
pub struct CoordinatorConfig {
    pub session_timeout: Duration,
    /// Unacknowledged leader news is sent again this often.
    pub resend_interval: Duration,
}

impl Default for CoordinatorConfig {
    fn default() -> Self {
        CoordinatorConfig {
            session_timeout: Duration::from_secs(10),
            resend_interval: Duration::from_secs(5),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CoordinatorTimer {
    /// The session of this master may have expired.
    Expire(NodeId),
    /// Time to resend leader news not yet acknowledged.
    Resend,
}

struct Session {
    /// The master's number for it.
    id: u64,
    /// The sequence number of its election node.
    seq: u32,
    last_heard: Instant,
}

pub struct Coordinator {
    config: CoordinatorConfig,
    sessions: BTreeMap<NodeId, Session>,
    /// The latest session each master opened (kept after it ends).
    latest: BTreeMap<NodeId, u64>,
    next_seq: u32,
    /// The leader and its epoch.
    leader: Option<(NodeId, u32)>,
    /// Changes of leader announced so far (including to none): the epoch of the latest.
    announced: u32,
    /// Everyone who asked to hear of the leader, with the last announcement they
    /// acknowledged.
    watchers: BTreeMap<NodeId, u32>,
    /// Watchers behind the latest announcement.
    lagging: BTreeSet<NodeId>,
    resend_armed: bool,
    registry: RegistryState,
    /// Registry changes of the current epoch applied so far.
    applied: u64,
}

type CoordCtx<'a> = Ctx<'a, Msg, CoordinatorTimer>;

impl Coordinator {
    pub fn new(config: CoordinatorConfig) -> Coordinator {
        Coordinator {
            config,
            sessions: BTreeMap::new(),
            latest: BTreeMap::new(),
            next_seq: 1,
            leader: None,
            announced: 0,
            watchers: BTreeMap::new(),
            lagging: BTreeSet::new(),
            resend_armed: false,
            registry: RegistryState::default(),
            applied: 0,
        }
    }

    /// The leading master, if one leads.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader.map(|(n, _)| n)
    }

    pub fn registry(&self) -> &RegistryState {
        &self.registry
    }

    fn leader_is(&self) -> Msg {
        Msg::LeaderIs {
            leader: self.leader(),
            epoch: self.announced,
        }
    }

    /// Re-runs the election: the live session with the lowest sequence number leads. If the
    /// leader changed, everyone watching hears so.
    fn elect(&mut self, ctx: &mut CoordCtx<'_>) {
        let next = self
            .sessions
            .iter()
            .min_by_key(|(_, s)| s.seq)
            .map(|(&node, _)| node);
        if next == self.leader() {
            return;
        }
        self.announced += 1;
        self.leader = next.map(|node| (node, self.announced));
        self.applied = 0;
        let msg = self.leader_is();
        self.lagging = self.watchers.keys().copied().collect();
        for &node in &self.lagging {
            ctx.send(node, msg.clone());
        }
        self.arm_resend(ctx);
    }

    fn arm_resend(&mut self, ctx: &mut CoordCtx<'_>) {
        if !self.resend_armed && !self.lagging.is_empty() {
            self.resend_armed = true;
            ctx.set_timer_after(CoordinatorTimer::Resend, self.config.resend_interval);
        }
    }

    fn watch(&mut self, ctx: &mut CoordCtx<'_>, from: NodeId) {
        self.watchers.entry(from).or_insert(0);
        self.lagging.insert(from);
        ctx.send(from, self.leader_is());
        self.arm_resend(ctx);
    }

    fn end_session(&mut self, ctx: &mut CoordCtx<'_>, node: NodeId) {
        if self.sessions.remove(&node).is_some() {
            ctx.cancel_timer(CoordinatorTimer::Expire(node));
            self.elect(ctx);
        }
    }

    fn write(&mut self, ctx: &mut CoordCtx<'_>, from: NodeId, write: &RegistryWrite) {
        let Some((leader, epoch)) = self.leader else {
            return;
        };
        if leader != from || write.epoch != epoch {
            return; // fenced: only the current leader writes
        }
        let end = write.first + write.ops.len() as u64;
        if write.first <= self.applied && self.applied < end {
            let skip = (self.applied - write.first) as usize;
            for op in &write.ops[skip..] {
                self.registry.apply(op);
            }
            self.applied = end;
        }
        ctx.send(
            from,
            Msg::RegistryAck {
                epoch,
                upto: self.applied,
            },
        );
    }
}

impl Process for Coordinator {
    type Msg = Msg;
    type Timer = CoordinatorTimer;

    fn on_start(&mut self, _: &mut CoordCtx<'_>) {}

    fn on_message(&mut self, ctx: &mut CoordCtx<'_>, from: NodeId, msg: Msg) {
        let now = ctx.now();
        match msg {
            Msg::Contend { session } => {
                let latest = self.latest.get(&from).copied();
                if latest.is_some_and(|l| session < l) {
                    return; // a late copy of an older request
                }
                if latest == Some(session) {
                    // A copy: the session opened already (or expired since).
                    if self.sessions.contains_key(&from) {
                        self.watch(ctx, from);
                    }
                    return;
                }
                self.latest.insert(from, session);
                // A new session replaces any the master had (it restarted or gave up).
                if self.sessions.remove(&from).is_some() {
                    self.elect(ctx);
                }
                let seq = self.next_seq;
                self.next_seq += 1;
                self.sessions.insert(
                    from,
                    Session {
                        id: session,
                        seq,
                        last_heard: now,
                    },
                );
                ctx.set_timer_after(CoordinatorTimer::Expire(from), self.config.session_timeout);
                self.watch(ctx, from);
                self.elect(ctx);
            }
            Msg::Heartbeat(beat) => match self.sessions.get_mut(&from) {
                Some(s) if s.id == beat.session => {
                    s.last_heard = now;
                    ctx.set_timer_after(CoordinatorTimer::Expire(from), self.config.session_timeout);
                    ctx.send(from, Msg::HeartbeatAck(beat));
                }
                _ => ctx.send(
                    from,
                    Msg::SessionExpired {
                        session: beat.session,
                    },
                ),
            },
            Msg::Watch => self.watch(ctx, from),
            Msg::LeaderAck { epoch } => {
                if let Some(acked) = self.watchers.get_mut(&from) {
                    *acked = (*acked).max(epoch);
                    if *acked >= self.announced {
                        self.lagging.remove(&from);
                    }
                }
            }
            Msg::RegistryRead { session } => {
                if let Some((leader, epoch)) = self.leader
                    && leader == from
                    && self.sessions.get(&from).is_some_and(|s| s.id == session)
                {
                    let registry = Box::new(self.registry.clone());
                    ctx.send(from, Msg::RegistrySnapshot { epoch, registry });
                }
            }
            Msg::RegistryWrite(write) => self.write(ctx, from, &write),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut CoordCtx<'_>, timer: CoordinatorTimer) {
        match timer {
            CoordinatorTimer::Expire(node) => {
                let expired = self
                    .sessions
                    .get(&node)
                    .is_some_and(|s| ctx.now() >= s.last_heard + self.config.session_timeout);
                if expired {
                    self.end_session(ctx, node);
                }
            }
            CoordinatorTimer::Resend => {
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
        if let Some((node, _)) = self.leader
            && !self.sessions.contains_key(&node)
        {
            return Err(format!("{node} leads without its session"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
