//! Framework registration with Mesos's scheduler backoff: the first attempt after a random
//! delay in `[0, factor]`, each later one after a random delay in `[0, b]`, `b` doubling up
//! to the cap (2 s and 1 min by default).
//!
//! With a coordinator, the registrar first learns the leading master from it, and registers
//! again (under the id it has) whenever another master comes to lead.

use rand::RngExt;

use crate::ids::{FrameworkId, NodeId};
use crate::process::Ctx;
use crate::proto::{Msg, RegisterFramework};
use crate::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub struct Registrar {
    /// The master registered with, or to register with.
    pub master: NodeId,
    pub request: RegisterFramework,
    /// The id the master gave; kept when registering again.
    pub framework: Option<FrameworkId>,
    /// Registered with `master` (false while registering again).
    pub connected: bool,
    /// A restarted scheduler that has not registered again yet: its registration takes the
    /// framework over from the process before it.
    failover: bool,
    /// Where to learn the leading master from, and the epoch of the last leader heard of
    /// (0: none yet).
    coordinator: Option<NodeId>,
    epoch: u32,
    backoff: Duration,
    factor: Duration,
    cap: Duration,
}

impl Registrar {
    pub fn new(master: NodeId, coordinator: Option<NodeId>, request: RegisterFramework) -> Registrar {
        let factor = Duration::from_secs(2);
        Registrar {
            master,
            request,
            framework: None,
            connected: false,
            failover: false,
            coordinator,
            epoch: 0,
            backoff: factor,
            factor,
            cap: Duration::from_mins(1),
        }
    }

    /// The scheduler was restarted from its checkpoint, in which it had `framework`: it
    /// registers again under that id (Mesos's scheduler failover), if it had one.
    pub fn recovered(&mut self, framework: Option<FrameworkId>) {
        self.framework = framework;
        self.failover = framework.is_some();
    }

    /// Whether a `FrameworkRemoved` for `framework` from `from` is this framework's news:
    /// from the master it registers with, about the id it asks for again.
    pub fn is_removal(&self, from: NodeId, framework: FrameworkId) -> bool {
        self.from_master(from) && self.framework == Some(framework) && !self.connected
    }

    /// The master removed the framework (its scheduler was away too long): registers
    /// afresh, as a new framework.
    pub fn removed<T>(&mut self, ctx: &mut Ctx<'_, Msg, T>, timer: T) {
        self.framework = None;
        self.connected = false;
        self.failover = false;
        self.start(ctx, timer);
    }

    /// The master, the framework id, and whether it is registered with that master.
    pub fn state(&self) -> (NodeId, Option<FrameworkId>, bool) {
        (self.master, self.framework, self.connected)
    }

    /// Arms the first attempt.
    pub fn start<T>(&mut self, ctx: &mut Ctx<'_, Msg, T>, timer: T) {
        self.backoff = self.factor;
        self.schedule(ctx, timer);
    }

    fn schedule<T>(&mut self, ctx: &mut Ctx<'_, Msg, T>, timer: T) {
        let delay = Duration::from_nanos(ctx.rng().random_range(0..=self.backoff.as_nanos()));
        ctx.set_timer_after(timer, delay);
    }

    /// The registration timer fired: try again unless registered (asking the coordinator
    /// who leads while no leader is known).
    pub fn attempt<T>(&mut self, ctx: &mut Ctx<'_, Msg, T>, timer: T) {
        if self.connected {
            return;
        }
        match self.coordinator {
            Some(coordinator) if self.epoch == 0 => ctx.send(coordinator, Msg::Watch),
            _ => {
                let mut request = self.request.clone();
                request.id = self.framework;
                request.failover = self.failover;
                ctx.send(self.master, Msg::RegisterFramework(Box::new(request)));
            }
        }
        self.backoff = self.backoff.saturating_mul(2).min(self.cap);
        self.schedule(ctx, timer);
    }

    /// Whether a message from `from` is the leading master's (or, before a leader is known,
    /// nobody's).
    pub fn from_master(&self, from: NodeId) -> bool {
        from == self.master && (self.coordinator.is_none() || self.epoch > 0)
    }

    /// Whether `from` is the coordinator.
    /// Whether a message from `from` is one to act on: from the master this framework is
    /// registered with. Mesos's scheduler driver drops offers and updates while it is not
    /// (a lost `FrameworkRegistered` must not leave tasks launched under an id the
    /// framework never learned).
    pub fn from_registered_master(&self, from: NodeId) -> bool {
        self.connected && self.from_master(from)
    }

    pub fn from_coordinator(&self, from: NodeId) -> bool {
        self.coordinator == Some(from)
    }

    /// The coordinator names the leader: true if it is news, and then registration starts
    /// over with the new leader.
    pub fn leader_is<T>(
        &mut self,
        ctx: &mut Ctx<'_, Msg, T>,
        timer: T,
        leader: Option<NodeId>,
        epoch: u32,
    ) -> bool {
        if let Some(coordinator) = self.coordinator {
            ctx.send(coordinator, Msg::LeaderAck { epoch });
        }
        if epoch <= self.epoch {
            return false;
        }
        self.epoch = epoch;
        let Some(leader) = leader else {
            return false;
        };
        self.master = leader;
        self.connected = false;
        self.start(ctx, timer);
        true
    }

    /// The master accepted us: for the first time, again (with a new leader), or once more
    /// (a duplicate answer).
    pub fn registered<T>(&mut self, ctx: &mut Ctx<'_, Msg, T>, timer: T, id: FrameworkId) -> Registered {
        let was = (self.framework.is_some(), self.connected, self.failover);
        self.framework = Some(id);
        self.connected = true;
        self.failover = false;
        ctx.cancel_timer(timer);
        match was {
            (false, _, _) => Registered::First,
            (true, false, true) => Registered::FailedOver,
            (true, false, false) => Registered::Again,
            (true, true, _) => Registered::Duplicate,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registered {
    First,
    /// Again, after the scheduler restarted from its checkpoint.
    FailedOver,
    Again,
    Duplicate,
}
