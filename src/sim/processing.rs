//! Processing time, for the processes given a cost model (opt-in; none by default).
//!
//! The simulator otherwise handles every event in zero simulated time. A process with a
//! cost model handles its messages one at a time, as an actor works through its mailbox:
//! each message keeps it busy for what the model charges, and messages arriving while it
//! is busy wait, first in first out. A message is handled (its effects take place) when
//! the process takes it up; the process is busy for its cost afterwards.
//!
//! A message costs a fixed part, known from the message, and a part per event the process
//! publishes while handling it (each change it reports on its operator stream: a task it
//! learns of, an agent back): the work of building state, which a message that changes
//! nothing (a repeated registration) does not cost.
//!
//! The model may let a message through at once and at no cost (`None`): it stands for work
//! another actor does in the real system (Mesos's ZooKeeper client, its agent observers).
//! Timers and task exits are never held: Mesos's allocator and ping timers run in actors
//! of their own.

use std::collections::VecDeque;

use crate::ids::NodeId;
use crate::time::{Duration, Instant};

/// What a message costs the process that handles it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    pub message: Duration,
    /// More per event the process publishes while handling it.
    pub per_event: Duration,
}

/// What handling a message from a sender costs the process; `None`: handled on arrival,
/// at no cost, whatever the process is doing.
pub type CostModel<M> = Box<dyn Fn(NodeId, &M) -> Option<Cost>>;

/// A process with a cost model: when it is free again, and what waits for it.
pub(super) struct Server<M> {
    pub node: NodeId,
    model: CostModel<M>,
    busy_until: Instant,
    /// What the message being handled costs per event published.
    per_event: Duration,
    /// Messages waiting, oldest first, each with its cost.
    backlog: VecDeque<(NodeId, M, Cost)>,
    /// An event to take up the next message is queued.
    waking: bool,
}

/// What to do with a message that reached a process with a cost model.
pub(super) enum Arrival<M> {
    /// Handle it now, then [`Server::charge`] what it published.
    Handle(M),
    /// Handle it now, at no cost.
    Free(M),
    /// It waits: a wake-up must be queued at this time (none if one is already).
    Queued(Option<Instant>),
}

impl<M> Server<M> {
    pub fn new(node: NodeId, model: CostModel<M>) -> Server<M> {
        Server {
            node,
            model,
            busy_until: Instant::ZERO,
            per_event: Duration::ZERO,
            backlog: VecDeque::new(),
            waking: false,
        }
    }

    /// A message arrives at `now`.
    pub fn arrive(&mut self, now: Instant, from: NodeId, msg: M) -> Arrival<M> {
        let Some(cost) = (self.model)(from, &msg) else {
            return Arrival::Free(msg);
        };
        if self.busy_until <= now && self.backlog.is_empty() {
            self.start(now, cost);
            return Arrival::Handle(msg);
        }
        self.backlog.push_back((from, msg, cost));
        if self.waking {
            return Arrival::Queued(None);
        }
        self.waking = true;
        Arrival::Queued(Some(self.busy_until.max(now)))
    }

    fn start(&mut self, now: Instant, cost: Cost) {
        self.busy_until = now + cost.message;
        self.per_event = cost.per_event;
    }

    /// Its wake-up is due at `now`: the oldest waiting message, to handle now and then
    /// [`Server::charge`].
    pub fn next(&mut self, now: Instant) -> Option<(NodeId, M)> {
        self.waking = false;
        let (from, msg, cost) = self.backlog.pop_front()?;
        self.start(now, cost);
        Some((from, msg))
    }

    /// The message just handled published `events`: the process is busy for them too.
    /// Returns when to wake it for the next waiting message, if one waits and no wake-up
    /// is queued.
    pub fn charge(&mut self, events: u32) -> Option<Instant> {
        self.busy_until += self.per_event.saturating_mul(u64::from(events));
        if self.waking || self.backlog.is_empty() {
            return None;
        }
        self.waking = true;
        Some(self.busy_until)
    }

    /// The process crashed: what waited for it is lost. The wake-up already queued, if
    /// any, stays (and finds nothing to do), so that it still marks when the process is
    /// free.
    pub fn clear(&mut self) {
        self.backlog.clear();
    }

    /// Messages waiting.
    pub fn waiting(&self) -> usize {
        self.backlog.len()
    }
}
