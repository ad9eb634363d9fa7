//! A framework that answers every offer the same way, so that allocator behaviour can be
//! written down and checked exactly.

use super::durable::Numbers;
use super::registration::Registrar;
use crate::ids::{FrameworkId, NodeId};
use crate::process::{Ctx, Process, Store, TaskOutcome, TaskRun};
use crate::proto::{Accept, Msg, OperatorCall, RegisterFramework, TaskInfo};
use crate::time::Duration;

/// How a scripted framework answers offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnOffer {
    /// Accept the whole offer and keep it with one task that never ends.
    Hold,
    /// Decline it with `refuse_seconds`.
    Decline,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ScriptedConfig {
    pub name: String,
    pub role: String,
    pub master: NodeId,
    /// Where to learn the leading master from, when masters fail over.
    pub coordinator: Option<NodeId>,
    pub on_offer: OnOffer,
    /// The decline filter to ask for; `None`: the master's default.
    pub refuse_seconds: Option<Duration>,
    pub failover_timeout: Duration,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ScriptedTimer {
    Register,
}

pub struct Scripted {
    config: ScriptedConfig,
    registrar: Registrar,
    /// Task ids and suppress/revive call numbers.
    numbers: Numbers,
    offers_seen: u64,
}

impl Scripted {
    pub fn new(config: ScriptedConfig) -> Scripted {
        let request = RegisterFramework {
            id: None,
            name: config.name.clone(),
            role: config.role.clone(),
            failover_timeout: config.failover_timeout,
            partition_aware: false,
            failover: false,
        };
        Scripted {
            registrar: Registrar::new(config.master, config.coordinator, request),
            config,
            numbers: Numbers::new(),
            offers_seen: 0,
        }
    }

    pub fn offers_seen(&self) -> u64 {
        self.offers_seen
    }

    /// The master it registers with, its framework id, and whether it is registered.
    pub fn registration(&self) -> (NodeId, Option<FrameworkId>, bool) {
        self.registrar.state()
    }

    /// A scheduler restarted from what it persisted (its framework id and number bounds):
    /// it registers again under its framework's id; the tasks it holds are its own again if
    /// it is back within its failover timeout.
    pub fn recover(config: ScriptedConfig, store: &Store) -> Result<Scripted, String> {
        let mut scripted = Scripted::new(config);
        let (numbers, framework) = Numbers::recover(store)?;
        scripted.numbers = numbers;
        scripted.registrar.recovered(framework);
        Ok(scripted)
    }
}

type ScriptedCtx<'a> = Ctx<'a, Msg, ScriptedTimer>;

impl Process for Scripted {
    type Msg = Msg;
    type Timer = ScriptedTimer;

    fn on_start(&mut self, ctx: &mut ScriptedCtx<'_>) {
        self.registrar.start(ctx, ScriptedTimer::Register);
    }

    fn on_message(&mut self, ctx: &mut ScriptedCtx<'_>, from: NodeId, msg: Msg) {
        if self.registrar.from_coordinator(from) {
            if let Msg::LeaderIs { leader, epoch } = msg {
                self.registrar
                    .leader_is(ctx, ScriptedTimer::Register, leader, epoch);
            }
            return;
        }
        let master = self.registrar.master;
        let from_master = self.registrar.from_master(from);
        let registered = self.registrar.from_registered_master(from);
        match msg {
            Msg::FrameworkRegistered { framework } if from_master => {
                let registered = self.registrar.registered(ctx, ScriptedTimer::Register, framework);
                if registered == super::registration::Registered::First {
                    self.numbers.persist(ctx, Some(framework));
                }
            }
            // Removed while away: its tasks were killed; it starts over as a new framework.
            Msg::FrameworkRemoved { framework } if self.registrar.is_removal(from, framework) => {
                self.registrar.removed(ctx, ScriptedTimer::Register);
                self.numbers.persist(ctx, None);
            }
            Msg::Offers(offers) if registered => {
                for offer in *offers {
                    self.offers_seen += 1;
                    let refuse_seconds = self.config.refuse_seconds;
                    let reply = match self.config.on_offer {
                        OnOffer::Hold => {
                            let task = TaskInfo {
                                command: None,
                                id: self.numbers.task(ctx, self.registrar.framework),
                                resources: offer.resources,
                                run: TaskRun {
                                    duration: None,
                                    outcome: TaskOutcome::Succeed,
                                },
                            };
                            Msg::Accept(Box::new(Accept {
                                offer: offer.id,
                                tasks: vec![task],
                                refuse_seconds,
                            }))
                        }
                        OnOffer::Decline => Msg::Decline {
                            offer: offer.id,
                            refuse_seconds: crate::proto::Refuse::new(refuse_seconds),
                        },
                    };
                    ctx.send(master, reply);
                }
            }
            Msg::Update(update) if registered => {
                if let (Some(uuid), Some(agent)) = (update.uuid, update.agent) {
                    ctx.send(
                        master,
                        Msg::Acknowledge {
                            agent,
                            task: update.task,
                            uuid,
                        },
                    );
                }
            }
            Msg::Operator(call) => match *call {
                OperatorCall::Suppress => {
                    let call = self.numbers.call(ctx, self.registrar.framework);
                    ctx.send(master, Msg::Suppress { call });
                }
                OperatorCall::Revive => {
                    let call = self.numbers.call(ctx, self.registrar.framework);
                    ctx.send(master, Msg::Revive { call });
                }
                OperatorCall::SetWeight { .. } | OperatorCall::SetQuota { .. } => {}
            },
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut ScriptedCtx<'_>, timer: ScriptedTimer) {
        match timer {
            ScriptedTimer::Register => self.registrar.attempt(ctx, ScriptedTimer::Register),
        }
    }
}
