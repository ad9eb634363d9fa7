//! The production agent: registers its machine with the master and proves it is alive.
//!
//! Registration is retried as Mesos's agent does: the first attempt after a random delay in
//! `[0, registration_backoff_factor]`, each later one after a random delay in `[0, b]` where
//! `b` doubles from the factor up to one minute. Once registered, the agent answers the
//! master's pings; if none arrives for `master_ping_timeout` (15 s × 5 by default) it takes
//! the master for lost and registers again.

use rand::RngExt;

use crate::ids::{AgentId, NodeId};
use crate::process::{Ctx, Process};
use crate::proto::{Msg, RegisterAgent};
use crate::resources::Resources;
use crate::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub struct AgentConfig {
    pub name: String,
    pub resources: Resources,
    pub master: NodeId,
    pub registration_backoff_factor: Duration,
    pub registration_backoff_max: Duration,
    pub master_ping_timeout: Duration,
}

impl AgentConfig {
    pub fn new(name: impl Into<String>, resources: Resources, master: NodeId) -> AgentConfig {
        AgentConfig {
            name: name.into(),
            resources,
            master,
            registration_backoff_factor: Duration::from_secs(1),
            registration_backoff_max: Duration::from_mins(1),
            master_ping_timeout: Duration::from_secs(75),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AgentTimer {
    /// Time for the next registration attempt.
    Register,
    /// No ping from the master for `master_ping_timeout`.
    MasterPingTimeout,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registration {
    /// Not registered; the next attempt waits up to this long.
    Pending {
        backoff: Duration,
    },
    Registered {
        id: AgentId,
    },
}

pub struct Agent {
    config: AgentConfig,
    registration: Registration,
    /// How many times this agent has (re-)registered.
    registrations: u32,
}

type AgentCtx<'a> = Ctx<'a, Msg, AgentTimer>;

impl Agent {
    pub fn new(config: AgentConfig) -> Agent {
        let backoff = config.registration_backoff_factor;
        Agent {
            config,
            registration: Registration::Pending { backoff },
            registrations: 0,
        }
    }

    pub fn registration(&self) -> Registration {
        self.registration
    }

    pub fn registrations(&self) -> u32 {
        self.registrations
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Waits a random delay in `[0, backoff]`, then tries to register.
    fn schedule_registration(&mut self, ctx: &mut AgentCtx<'_>, backoff: Duration) {
        let delay = Duration::from_nanos(ctx.rng().random_range(0..=backoff.as_nanos()));
        self.registration = Registration::Pending { backoff };
        ctx.set_timer_after(AgentTimer::Register, delay);
    }
}

impl Process for Agent {
    type Msg = Msg;
    type Timer = AgentTimer;

    fn on_start(&mut self, ctx: &mut AgentCtx<'_>) {
        self.schedule_registration(ctx, self.config.registration_backoff_factor);
    }

    fn on_message(&mut self, ctx: &mut AgentCtx<'_>, from: NodeId, msg: Msg) {
        if from != self.config.master {
            return;
        }
        match msg {
            Msg::AgentRegistered { agent } => {
                if let Registration::Pending { .. } = self.registration {
                    self.registration = Registration::Registered { id: agent };
                    self.registrations += 1;
                    ctx.cancel_timer(AgentTimer::Register);
                    ctx.set_timer_after(AgentTimer::MasterPingTimeout, self.config.master_ping_timeout);
                }
            }
            Msg::Ping => {
                ctx.send(from, Msg::Pong);
                if let Registration::Registered { .. } = self.registration {
                    ctx.set_timer_after(AgentTimer::MasterPingTimeout, self.config.master_ping_timeout);
                }
            }
            Msg::RegisterAgent(_) | Msg::Pong | Msg::Event(_) => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut AgentCtx<'_>, timer: AgentTimer) {
        match timer {
            AgentTimer::Register => {
                let Registration::Pending { backoff } = self.registration else {
                    return;
                };
                let msg = Msg::RegisterAgent(Box::new(RegisterAgent {
                    name: self.config.name.clone(),
                    resources: self.config.resources.clone(),
                }));
                ctx.send(self.config.master, msg);
                let next = (backoff.saturating_mul(2)).min(self.config.registration_backoff_max);
                self.schedule_registration(ctx, next);
            }
            AgentTimer::MasterPingTimeout => {
                self.schedule_registration(ctx, self.config.registration_backoff_factor);
            }
        }
    }
}
