//! What frameworks ask of the master (Mesos's scheduler API): register, accept, decline,
//! suppress, revive, kill, acknowledge, reconcile.

use super::offers::OfferEntry;
use super::tasks::TaskEntry;
use super::{Master, MasterCtx};
use crate::allocator::Candidates;
use crate::ids::{AgentId, FrameworkId, NodeId};
use crate::proto::{
    Accept, Event, Msg, OfferEnd, OfferId, Reason, RegisterFramework, StatusUpdate, TaskId, TaskState,
    UpdateFramework,
};
use crate::resources::Resources;
use crate::time::Duration;

/// Decline filters longer than a year are clamped, as Mesos does.
const MAX_REFUSE: Duration = Duration::from_days(365);

impl Master {
    pub(super) fn register_framework(
        &mut self,
        ctx: &mut MasterCtx<'_>,
        from: NodeId,
        register: RegisterFramework,
    ) {
        let RegisterFramework {
            id,
            name,
            role,
            failover_timeout,
            partition_aware,
            failover,
        } = register;
        ctx.link(from);
        if let Some(id) = id {
            if id.index() < self.frameworks.len() && self.frameworks.get(id).removed {
                ctx.send(from, Msg::FrameworkRemoved { framework: id });
                return;
            }
            // Under its id from elsewhere, from where it was after its scheduler ended, or
            // from a restarted scheduler whose predecessor's end the master missed.
            let connected_here =
                self.frameworks.by_node(from) == Some(id) && self.frameworks.get(id).connected;
            if !connected_here || failover {
                return self.reregister_framework(
                    ctx,
                    from,
                    id,
                    name,
                    role,
                    failover_timeout,
                    partition_aware,
                );
            }
        }
        let (framework, is_new) = self.frameworks.register(
            from,
            name.clone(),
            role.clone(),
            failover_timeout,
            partition_aware,
            ctx.now(),
        );
        if is_new {
            self.welcome_when_written(ctx, framework);
        } else if !self.welcoming(framework) {
            ctx.send(from, Msg::FrameworkRegistered { framework });
        }
    }

    /// A new framework the registry has the id of: it hears its id, and offers begin.
    pub(super) fn welcome(&mut self, ctx: &mut MasterCtx<'_>, framework: FrameworkId) {
        let entry = self.frameworks.get_mut(framework);
        entry.allocated = true;
        let (node, name, role) = (entry.node, entry.name.clone(), entry.role.clone());
        ctx.send(node, Msg::FrameworkRegistered { framework });
        self.allocator.add_framework(framework, &name, &role);
        Self::publish(
            ctx,
            Event::FrameworkAdded {
                framework,
                name,
                role,
            },
        );
        self.trigger_allocation(ctx, Candidates::All);
    }

    /// A framework registers again under the id it had: with a new leading master (which
    /// may know it only from tasks agents reported), or from a restarted scheduler.
    #[allow(clippy::too_many_arguments)]
    fn reregister_framework(
        &mut self,
        ctx: &mut MasterCtx<'_>,
        from: NodeId,
        framework: FrameworkId,
        name: String,
        role: String,
        failover_timeout: Duration,
        partition_aware: bool,
    ) {
        // Offers made to the scheduler before it died with it.
        self.rescind_all_offers(ctx, framework);
        let entry = self.frameworks.reregister(framework, from);
        entry.failover_deadline = None;
        let in_allocator = entry.allocated;
        entry.name = name.clone();
        entry.role = role.clone();
        entry.failover_timeout = failover_timeout;
        entry.partition_aware = partition_aware;
        entry.allocated = true;
        entry.suppressed = false;
        ctx.send(from, Msg::FrameworkRegistered { framework });
        ctx.cancel_timer(super::MasterTimer::FrameworkFailover(framework));
        Self::publish(ctx, Event::FrameworkReregistered { framework });
        if in_allocator {
            self.allocator.set_framework_active(framework, true);
            self.allocator.revive(framework);
        } else {
            self.allocator.add_framework(framework, &name, &role);
        }
        let upto = self.frameworks.handed_out();
        self.persist(ctx, crate::proto::RegistryOp::FrameworksUpTo { upto });
        self.trigger_allocation(ctx, Candidates::All);
    }

    /// The framework at `from`, if it is registered (and connected).
    fn caller(&self, from: NodeId) -> Option<FrameworkId> {
        self.frameworks
            .by_node(from)
            .filter(|&f| self.frameworks.get(f).connected)
    }

    /// Takes an outstanding offer out of every table; `None` if it is not `framework`'s.
    pub(super) fn take_offer(&mut self, framework: FrameworkId, id: OfferId) -> Option<OfferEntry> {
        if self.offers.get(id)?.framework != framework {
            return None;
        }
        let offer = self.offers.remove(id).expect("checked");
        self.frameworks.get_mut(framework).offers.remove(&id);
        let info = self.agents.info_mut(offer.agent);
        info.offers.retain(|o| *o != id);
        info.offered -= &offer.resources;
        Some(offer)
    }

    fn refuse_filter(&self, refuse_seconds: Option<Duration>) -> Option<Duration> {
        let d = refuse_seconds
            .unwrap_or(self.config.refuse_seconds)
            .min(MAX_REFUSE);
        (!d.is_zero()).then_some(d)
    }

    /// Tells a framework that a task never reached an agent.
    fn refuse_task(
        ctx: &mut MasterCtx<'_>,
        node: NodeId,
        framework: FrameworkId,
        task: TaskId,
        state: TaskState,
        reason: Reason,
        message: String,
    ) {
        Self::publish(
            ctx,
            Event::TaskRefused {
                framework,
                task,
                state,
                reason,
            },
        );
        let update = StatusUpdate {
            framework,
            task,
            agent: None,
            state,
            reason: Some(reason),
            message,
            uuid: None,
        };
        ctx.send(node, Msg::Update(Box::new(update)));
    }

    pub(super) fn accept(&mut self, ctx: &mut MasterCtx<'_>, from: NodeId, accept: Accept) {
        let Some(framework) = self.caller(from) else {
            return;
        };
        let Accept {
            offer: offer_id,
            tasks,
            refuse_seconds,
        } = accept;
        let Some(offer) = self.take_offer(framework, offer_id) else {
            for task in tasks {
                if self.tasks.get(framework, task.id).is_some() {
                    // A copy of an accept already carried out (the network duplicated it):
                    // the task it launched runs on.
                    continue;
                }
                let message = "the offer is no longer valid".to_owned();
                Self::refuse_task(
                    ctx,
                    from,
                    framework,
                    task.id,
                    TaskState::Dropped,
                    Reason::InvalidOffers,
                    message,
                );
            }
            return;
        };
        let agent = offer.agent;
        Self::publish(
            ctx,
            Event::OfferEnded {
                offer: offer_id,
                framework,
                agent,
                resources: offer.resources.clone(),
                how: OfferEnd::Accepted,
            },
        );
        let agent_node = self.agents.health(agent).node;
        let mut left = offer.resources;
        for task in tasks {
            let invalid = if self.tasks.get(framework, task.id).is_some() {
                Some(format!("task id {:?} is already in use", task.id))
            } else if task.resources.is_empty() {
                Some("a task needs some resources".to_owned())
            } else if !left.contains(&task.resources) {
                Some(format!(
                    "the task needs {}, but only {left} is left of the offer",
                    task.resources
                ))
            } else {
                None
            };
            if let Some(message) = invalid {
                Self::refuse_task(
                    ctx,
                    from,
                    framework,
                    task.id,
                    TaskState::Error,
                    Reason::TaskInvalid,
                    message,
                );
                continue;
            }
            left -= &task.resources;
            let resources = task.resources.clone();
            self.tasks.insert(
                framework,
                task.id,
                TaskEntry {
                    agent,
                    resources: resources.clone(),
                    state: TaskState::Staging,
                    last_uuid: None,
                    adopted: false,
                },
            );
            self.frameworks.get_mut(framework).tasks.insert(task.id);
            let info = self.agents.info_mut(agent);
            info.used += &resources;
            info.tasks.insert((framework, task.id));
            Self::publish(
                ctx,
                Event::TaskAdded {
                    framework,
                    task: task.id,
                    agent,
                    resources,
                },
            );
            ctx.send(
                agent_node,
                Msg::RunTask(Box::new(crate::proto::RunTask {
                    framework,
                    role: self.frameworks.get(framework).role.clone(),
                    partition_aware: self.frameworks.get(framework).partition_aware,
                    failover_timeout: self.frameworks.get(framework).failover_timeout,
                    task,
                })),
            );
        }
        if !left.is_empty() {
            let filter = self.refuse_filter(refuse_seconds);
            self.allocator.recover(framework, agent, &left, filter, ctx.now());
        }
    }

    pub(super) fn decline(
        &mut self,
        ctx: &mut MasterCtx<'_>,
        from: NodeId,
        offer: OfferId,
        refuse_seconds: Option<Duration>,
    ) {
        let Some(framework) = self.caller(from) else {
            return;
        };
        let Some(entry) = self.take_offer(framework, offer) else {
            return;
        };
        let filter = self.refuse_filter(refuse_seconds);
        self.give_back(ctx, offer, framework, &entry, OfferEnd::Declined, filter);
    }

    /// An offer taken out of the tables ended (`how`): observers hear of it and its
    /// resources go back to the allocator, filtered from the framework for `filter`.
    pub(super) fn give_back(
        &mut self,
        ctx: &mut MasterCtx<'_>,
        offer: OfferId,
        framework: FrameworkId,
        entry: &OfferEntry,
        how: OfferEnd,
        filter: Option<Duration>,
    ) {
        Self::publish(
            ctx,
            Event::OfferEnded {
                offer,
                framework,
                agent: entry.agent,
                resources: entry.resources.clone(),
                how,
            },
        );
        self.allocator
            .recover(framework, entry.agent, &entry.resources, filter, ctx.now());
    }

    /// An offer outstanding for `offer_timeout` is rescinded and its resources go back.
    pub(super) fn offer_timed_out(&mut self, ctx: &mut MasterCtx<'_>, offer: OfferId) {
        let Some(framework) = self.offers.get(offer).map(|o| o.framework) else {
            return;
        };
        let entry = self.take_offer(framework, offer).expect("outstanding");
        ctx.send(self.frameworks.get(framework).node, Msg::Rescind { offer });
        self.give_back(ctx, offer, framework, &entry, OfferEnd::Rescinded, None);
    }

    /// The framework calling, if `call` is newer than the last suppress or revive it made
    /// (which it then becomes).
    fn newer_call(&mut self, from: NodeId, call: u32) -> Option<FrameworkId> {
        let framework = self.caller(from)?;
        let entry = self.frameworks.get_mut(framework);
        if call <= entry.last_call {
            return None;
        }
        entry.last_call = call;
        Some(framework)
    }

    pub(super) fn suppress(&mut self, from: NodeId, call: u32) {
        if let Some(framework) = self.newer_call(from, call) {
            self.frameworks.get_mut(framework).suppressed = true;
            self.allocator.suppress(framework);
        }
    }

    pub(super) fn revive(&mut self, ctx: &mut MasterCtx<'_>, from: NodeId, call: u32) {
        if let Some(framework) = self.newer_call(from, call) {
            self.frameworks.get_mut(framework).suppressed = false;
            self.allocator.revive(framework);
            self.trigger_allocation(ctx, Candidates::All);
        }
    }

    pub(super) fn update_framework(&mut self, from: NodeId, update: UpdateFramework) {
        if let Some(framework) = self.caller(from) {
            self.allocator.set_offer_filters(framework, update.offer_filters);
        }
    }

    pub(super) fn kill(&mut self, ctx: &mut MasterCtx<'_>, from: NodeId, task: TaskId) {
        let Some(framework) = self.caller(from) else {
            return;
        };
        match self.tasks.get(framework, task) {
            Some(entry) if !entry.state.is_terminal() => {
                let node = self.agents.health(entry.agent).node;
                ctx.send(node, Msg::KillTask { framework, task });
            }
            Some(_) => {}
            None => {
                let update = StatusUpdate {
                    framework,
                    task,
                    agent: None,
                    state: TaskState::Lost,
                    reason: Some(Reason::Reconciliation),
                    message: "the master does not know this task".to_owned(),
                    uuid: None,
                };
                ctx.send(from, Msg::Update(Box::new(update)));
            }
        }
    }

    /// Relays an acknowledgement to the agent, and forgets a task whose terminal update is
    /// now acknowledged.
    pub(super) fn acknowledge(
        &mut self,
        ctx: &mut MasterCtx<'_>,
        from: NodeId,
        agent: AgentId,
        task: TaskId,
        uuid: u32,
    ) {
        let Some(framework) = self.caller(from) else {
            return;
        };
        if agent.index() < self.agents.len() && self.agents.is_active(agent) {
            ctx.send(
                self.agents.health(agent).node,
                Msg::AgentAck {
                    framework,
                    task,
                    uuid,
                },
            );
        }
        if let Some(entry) = self.tasks.get(framework, task)
            && entry.state.is_terminal()
            && entry.last_uuid == Some(uuid)
        {
            self.tasks.remove(framework, task);
            self.frameworks.get_mut(framework).tasks.remove(&task);
        }
    }

    /// Answers with the master's latest view: of the named tasks (unknown ones are lost), or
    /// of all the framework's tasks if none is named.
    ///
    /// A task the master does not know on an agent it expects back after a failover gets no
    /// answer (Mesos's rule): the agent may yet report it; the framework asks again later.
    pub(super) fn reconcile(
        &mut self,
        ctx: &mut MasterCtx<'_>,
        from: NodeId,
        tasks: &[(TaskId, Option<AgentId>)],
    ) {
        let Some(framework) = self.caller(from) else {
            return;
        };
        let named: Vec<(TaskId, Option<AgentId>)> = if tasks.is_empty() {
            self.frameworks
                .get(framework)
                .tasks
                .iter()
                .map(|&t| (t, None))
                .collect()
        } else {
            tasks.to_vec()
        };
        let mut updates = Vec::with_capacity(named.len());
        let partition_aware = self.frameworks.get(framework).partition_aware;
        for (task, on) in named {
            let recovering = on.is_some_and(|a| {
                a.index() < self.agents.len() && self.agents.health(a).state == super::AgentState::Recovered
            });
            if recovering && self.tasks.get(framework, task).is_none() {
                continue;
            }
            let known = self
                .tasks
                .get(framework, task)
                .map(|entry| (entry.agent, entry.state))
                .or_else(|| {
                    self.unreachable
                        .agent_of((framework, task))
                        .map(|agent| (agent, TaskState::Unreachable))
                })
                .or_else(|| {
                    // On an agent whose machine rebooted since (as another agent), and
                    // whose tasks this master never learned: gone with it.
                    let agent = on.filter(|&a| self.rebooted(a))?;
                    Some((agent, TaskState::Gone))
                })
                .or_else(|| {
                    // On an agent unreachable since before this master led, a task may run
                    // on: Mesos answers so.
                    let agent = on.filter(|&a| self.unreachable_before(a))?;
                    let state = if partition_aware {
                        TaskState::Unreachable
                    } else {
                        TaskState::Lost
                    };
                    Some((agent, state))
                });
            let update = match known {
                Some((agent, state)) => StatusUpdate {
                    framework,
                    task,
                    agent: Some(agent),
                    state,
                    reason: Some(Reason::Reconciliation),
                    message: String::new(),
                    uuid: None,
                },
                None => StatusUpdate {
                    framework,
                    task,
                    agent: None,
                    // Mesos tells partition-aware frameworks it does not know, others that
                    // the task is lost.
                    state: if partition_aware {
                        TaskState::Unknown
                    } else {
                        TaskState::Lost
                    },
                    reason: Some(Reason::Reconciliation),
                    message: "the master does not know this task".to_owned(),
                    uuid: None,
                },
            };
            updates.push(update);
        }
        ctx.send(from, Msg::Reconciled(Box::new(updates)));
    }

    /// Resources a framework holds, by agent: for tests and reports.
    pub fn offered_to(&self, framework: FrameworkId) -> Vec<(AgentId, Resources)> {
        self.frameworks
            .get(framework)
            .offers
            .iter()
            .filter_map(|id| self.offers.get(*id))
            .map(|o| (o.agent, o.resources.clone()))
            .collect()
    }
}
