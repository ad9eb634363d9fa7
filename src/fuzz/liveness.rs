//! What a healed cluster must converge to, read off the processes of a world: one leader
//! that knows every agent and framework, agrees with the agents on every task, has nothing
//! left to kill, and whose frameworks have every update acknowledged and no work they
//! could run left waiting.

use std::collections::BTreeSet;

use crate::agent::{Agent, Registration};
use crate::frameworks::batch::Batch;
use crate::frameworks::scripted::Scripted;
use crate::ids::{AgentId, FrameworkId, NodeId};
use crate::master::{AgentState, Master};
use crate::proto::TaskId;
use crate::run::world::World;

/// The first few ways the world has not converged; empty when it has.
pub fn unconverged(world: &World) -> Vec<String> {
    let mut out = Vec::new();
    let sim = &world.sim;
    let leaders: Vec<NodeId> = world
        .masters()
        .iter()
        .copied()
        .filter(|&m| sim.is_up(m) && sim.process::<Master>(m).is_some_and(Master::is_leading))
        .collect();
    let [leader] = leaders[..] else {
        out.push(format!("{} masters lead", leaders.len()));
        return out;
    };
    let master = sim.process::<Master>(leader).expect("a master");
    let mut push = |s: String| {
        if out.len() < 8 {
            out.push(s);
        }
    };
    // Every agent up is registered with the leader, which has it active at its address;
    // each task it runs is the leader's, and each update it sent is acknowledged.
    let mut agent_of_node = Vec::new();
    for (name, node) in world.agent_nodes() {
        let Some(agent) = sim.process::<Agent>(node).filter(|_| sim.is_up(node)) else {
            push(format!("agent {name} is down"));
            continue;
        };
        let Registration::Registered { id } = agent.registration() else {
            push(format!("agent {name} is not registered"));
            continue;
        };
        if agent.master() != leader {
            push(format!(
                "agent {name} is registered with {} (the leader is {leader})",
                agent.master()
            ));
            continue;
        }
        let known = id.index() < master.agent_count()
            && master.agent_health(id).state == AgentState::Active
            && master.agent_health(id).node == node;
        if !known {
            push(format!("agent {name} ({id}) is not active with the leader"));
            continue;
        }
        agent_of_node.push((node, id));
        for (framework, task, running, pending) in agent.task_views() {
            if pending > 0 {
                push(format!(
                    "agent {name}: {pending} updates of {framework}/{task:?} unacknowledged"
                ));
            }
            if running {
                match master.task(framework, task) {
                    Some((a, state, _)) if a == id && !state.is_terminal() => {}
                    other => push(format!(
                        "agent {name} runs {framework}/{task:?}, which the leader has as {other:?}"
                    )),
                }
            }
        }
    }
    // Every task the leader has on an agent runs there.
    let running: BTreeSet<(AgentId, FrameworkId, TaskId)> = agent_of_node
        .iter()
        .flat_map(|&(node, id)| {
            let agent = sim.process::<Agent>(node).expect("checked above");
            agent
                .task_views()
                .filter(|t| t.2)
                .map(move |(f, t, _, _)| (id, f, t))
        })
        .collect();
    for a in 0..master.agent_count() {
        let id = AgentId(a as u32);
        if master.agent_health(id).state != AgentState::Active {
            continue;
        }
        for &(framework, task) in &master.agent_info(id).tasks {
            if !running.contains(&(id, framework, task)) {
                push(format!(
                    "the leader has {framework}/{task:?} on {}, which does not run it",
                    master.agent_info(id).name
                ));
            }
        }
    }
    if master.killing() > 0 {
        push(format!("the leader is still killing {} tasks", master.killing()));
    }
    // Every framework is registered with the leader, every task it launched is the
    // leader's, and none of its queued tasks fits in what the cluster has free.
    let free: Vec<crate::resources::Resources> = (0..master.agent_count())
        .map(|a| AgentId(a as u32))
        .filter(|&a| master.agent_health(a).state == AgentState::Active)
        .map(|a| {
            let info = master.agent_info(a);
            let mut free = info.total.clone();
            free -= &info.used;
            free -= &info.offered;
            free
        })
        .collect();
    for (name, node) in world.framework_nodes() {
        if !sim.is_up(node) {
            push(format!("framework {name}'s scheduler is down"));
            continue;
        }
        let registration = sim
            .process::<Batch>(node)
            .map(Batch::registration)
            .or_else(|| sim.process::<Scripted>(node).map(Scripted::registration));
        let Some((at, Some(framework), true)) = registration else {
            push(format!("framework {name} is not registered"));
            continue;
        };
        if at != leader || !master.framework(framework).connected {
            push(format!(
                "framework {name} ({framework}) is not connected to the leader"
            ));
            continue;
        }
        let Some(batch) = sim.process::<Batch>(node) else {
            continue;
        };
        for task in batch.in_flight() {
            match master.task(framework, task) {
                Some((_, state, false)) if !state.is_terminal() => {}
                other => push(format!(
                    "framework {name} waits on {framework}/{task:?}, which the leader has as {other:?}"
                )),
            }
        }
        let (unreachable, replaced) = batch.waiting_on();
        if !unreachable.is_empty() {
            push(format!(
                "framework {name} waits on unreachable tasks {unreachable:?}"
            ));
        }
        if let Some(&(task, agent)) = replaced.first() {
            let state = (agent.index() < master.agent_count()).then(|| master.agent_health(agent).state);
            push(format!(
                "framework {name} waits to hear the end of {} replaced tasks, the first {framework}/{task:?} on {agent} ({state:?} with the leader, which has the task as {:?})",
                replaced.len(),
                master.task(framework, task)
            ));
        }
        for demand in batch.queued_demands() {
            if free.iter().any(|f| f.contains(&demand)) {
                push(format!(
                    "framework {name} has {demand} queued, which fits in a free agent"
                ));
                break;
            }
        }
    }
    out
}
