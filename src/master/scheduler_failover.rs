//! What the master does when a framework's scheduler goes away (Mesos's framework failover).
//!
//! - The master links to every framework that registers. When the scheduler's process ends
//!   (its connection closes), the framework is disconnected: it is offered nothing, its
//!   outstanding offers are rescinded, and its tasks run on.
//! - A scheduler that registers again under the framework's id within `failover_timeout`
//!   takes the framework back, tasks and all (then reconciles them). After the timeout the
//!   framework is removed: its tasks are killed (`TASK_KILLED`), the master kills them on
//!   their agents and holds their resources until each agent reports the end, and a
//!   scheduler registering under that id later hears the framework was removed.
//! - A framework a new leading master knows only from the tasks its agents report was
//!   disconnected when the old master failed: it has until `agent_reregister_timeout` to
//!   register again, then its own `failover_timeout` more.
//! - A partition does not end a connection: a scheduler cut off from the master keeps its
//!   framework (Mesos's master learns of a scheduler's end from its TCP connection).

use super::{Master, MasterCtx, MasterTimer};
use crate::ids::{AgentId, FrameworkId, NodeId};
use crate::proto::{Event, Msg, OfferEnd, TaskId, TaskState};
use crate::time::Duration;

impl Master {
    /// The process at `node` ended: if it is a connected framework's scheduler, the
    /// framework is disconnected, and removed after its failover timeout.
    pub(super) fn framework_exited(&mut self, ctx: &mut MasterCtx<'_>, node: NodeId) {
        let Some(framework) = self.frameworks.by_node(node) else {
            return;
        };
        let entry = self.frameworks.get_mut(framework);
        if !entry.connected || entry.removed {
            return;
        }
        entry.connected = false;
        let timeout = entry.failover_timeout;
        self.rescind_all_offers(ctx, framework);
        if self.frameworks.get(framework).allocated {
            self.allocator.set_framework_active(framework, false);
        }
        Self::publish(ctx, Event::FrameworkDisconnected { framework });
        self.arm_failover(ctx, framework, timeout);
    }

    /// The framework's outstanding offers end, rescinded (its scheduler is gone with
    /// them); their resources go back to the allocator.
    pub(super) fn rescind_all_offers(&mut self, ctx: &mut MasterCtx<'_>, framework: FrameworkId) {
        if framework.index() >= self.frameworks.len() {
            return;
        }
        let offers: Vec<_> = self.frameworks.get(framework).offers.iter().copied().collect();
        for offer in offers {
            let taken = self
                .take_offer(framework, offer)
                .expect("listed as the framework's");
            self.give_back(ctx, offer, framework, &taken, OfferEnd::Rescinded, None);
        }
    }

    /// Removes the disconnected `framework` after `timeout`.
    pub(super) fn arm_failover(
        &mut self,
        ctx: &mut MasterCtx<'_>,
        framework: FrameworkId,
        timeout: Duration,
    ) {
        let deadline = ctx.now() + timeout;
        self.frameworks.get_mut(framework).failover_deadline = Some(deadline);
        ctx.set_timer(MasterTimer::FrameworkFailover(framework), deadline);
    }

    /// Frameworks this leader knows only from their agents' reports, which have not
    /// registered again by the end of the re-registration period, get their failover
    /// timeout from now.
    pub(super) fn arm_failover_of_absent(&mut self, ctx: &mut MasterCtx<'_>) {
        for i in 0..self.frameworks.len() {
            let framework = FrameworkId(i as u32);
            let entry = self.frameworks.get(framework);
            if entry.allocated && !entry.connected && !entry.removed && entry.failover_deadline.is_none() {
                let timeout = entry.failover_timeout;
                self.arm_failover(ctx, framework, timeout);
            }
        }
    }

    /// A framework's failover timeout is over: removed, unless it registered again.
    pub(super) fn failover_timed_out(&mut self, ctx: &mut MasterCtx<'_>, framework: FrameworkId) {
        if framework.index() >= self.frameworks.len() {
            return; // armed before this master gave leadership up
        }
        let entry = self.frameworks.get(framework);
        let due = entry.failover_deadline.is_some_and(|d| d <= ctx.now());
        if entry.connected || entry.removed || !due {
            return;
        }
        self.remove_framework(ctx, framework);
    }

    /// Removes a framework for good: its tasks are killed (observers hear `TASK_KILLED`
    /// now; the master holds their resources until their agents report the end), and its
    /// id is not given back.
    fn remove_framework(&mut self, ctx: &mut MasterCtx<'_>, framework: FrameworkId) {
        let entry = self.frameworks.get_mut(framework);
        entry.removed = true;
        entry.failover_deadline = None;
        let tasks = std::mem::take(&mut entry.tasks);
        self.frameworks.detach(framework);
        Self::publish(ctx, Event::FrameworkRemoved { framework });
        for task in tasks {
            let Some(t) = self.tasks.get_mut(framework, task) else {
                continue;
            };
            if t.state.is_terminal() {
                // Ended, its update not acknowledged: the master acknowledges it now.
                self.tasks.remove(framework, task);
                continue;
            }
            t.state = TaskState::Killing;
            t.adopted = true;
            let agent = t.agent;
            Self::publish_killed(ctx, framework, task);
            self.kill_adopted(ctx, agent, framework, task);
        }
        for (_, task) in self.unreachable.take_framework(framework) {
            // Whatever still runs of it is killed if its agent comes back.
            Self::publish_killed(ctx, framework, task);
        }
    }

    fn publish_killed(ctx: &mut MasterCtx<'_>, framework: FrameworkId, task: TaskId) {
        Self::publish(
            ctx,
            Event::TaskUpdated {
                framework,
                task,
                state: TaskState::Killed,
            },
        );
    }

    /// Kills a task the master itself took on, now and at each of its agent's ping rounds
    /// until it ends.
    pub(super) fn kill_adopted(
        &mut self,
        ctx: &mut MasterCtx<'_>,
        agent: AgentId,
        framework: FrameworkId,
        task: TaskId,
    ) {
        self.killing.insert((agent, framework, task));
        if self.agents.is_active(agent) {
            let node = self.agents.health(agent).node;
            ctx.send(node, Msg::KillTask { framework, task });
        }
    }

    /// Sends again the kills of tasks the master is killing on `agent` that have not ended
    /// (and forgets those that have).
    pub(super) fn kill_again(&mut self, ctx: &mut MasterCtx<'_>, agent: AgentId) {
        let first = (agent, FrameworkId(0), TaskId(0));
        let last = (agent, FrameworkId(u32::MAX), TaskId(u32::MAX));
        if self.killing.range(first..=last).next().is_none() {
            return;
        }
        let node = self.agents.health(agent).node;
        let keys: Vec<_> = self.killing.range(first..=last).copied().collect();
        for key @ (_, framework, task) in keys {
            let alive = self
                .tasks
                .get(framework, task)
                .is_some_and(|t| t.adopted && t.agent == agent && !t.state.is_terminal());
            if alive {
                ctx.send(node, Msg::KillTask { framework, task });
            } else {
                self.killing.remove(&key);
            }
        }
    }
}
