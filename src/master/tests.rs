//! The master driven directly through the seam: no simulator, just a recorder of effects.

use super::*;
use crate::process::{Effect, Recorder};
use crate::proto::{Event as OperatorEvent, RegisterAgent, ReportedTask, ReregisterAgent};
use crate::resources::Resources;
use crate::time::Instant;

type Rec = Recorder<Msg, MasterTimer>;

fn at(secs: u64) -> Instant {
    Instant::ZERO + Duration::from_secs(secs)
}

fn deliver(m: &mut Master, now: Instant, from: NodeId, msg: Msg) -> Vec<Effect<Msg, MasterTimer>> {
    let mut rec = Rec::new(1, "master");
    m.on_message(&mut Ctx::new(now, NodeId(0), &mut rec), from, msg);
    m.check_invariants().expect("invariants hold");
    rec.effects
}

fn fire(m: &mut Master, now: Instant, timer: MasterTimer) -> Vec<Effect<Msg, MasterTimer>> {
    let mut rec = Rec::new(1, "master");
    m.on_timer(&mut Ctx::new(now, NodeId(0), &mut rec), timer);
    m.check_invariants().expect("invariants hold");
    rec.effects
}

fn register(m: &mut Master, node: NodeId) -> Vec<Effect<Msg, MasterTimer>> {
    let msg = Msg::RegisterAgent(Box::new(RegisterAgent {
        name: format!("agent-{}", node.0),
        resources: Resources::parse("cpus:4;mem:4096").unwrap(),
        boot: 1,
    }));
    deliver(m, at(0), node, msg)
}

#[test]
fn a_new_agent_is_acknowledged_announced_and_pinged() {
    let mut m = Master::new(MasterConfig::default()).unwrap();
    let effects = register(&mut m, NodeId(7));
    let agent = AgentId(0);
    assert!(
        matches!(&effects[0], Effect::Send { to: NodeId(7), msg: Msg::AgentRegistered { agent: a } } if *a == agent)
    );
    assert!(
        matches!(&effects[1], Effect::Publish(Msg::Event(e)) if matches!(**e, OperatorEvent::AgentAdded { agent: a, .. } if a == agent))
    );
    assert!(matches!(
        &effects[2],
        Effect::Send {
            to: NodeId(7),
            msg: Msg::Ping
        }
    ));
    assert!(
        matches!(&effects[3], Effect::SetTimer { timer: MasterTimer::Ping(a), at: t } if *a == agent && *t == at(15))
    );
    // Registering again keeps the id and is not announced twice.
    let again = register(&mut m, NodeId(7));
    assert_eq!(again.len(), 1);
    assert_eq!(m.agent_count(), 1);
}

#[test]
fn five_missed_pings_make_an_agent_unreachable_and_a_pong_resets_the_count() {
    let mut m = Master::new(MasterConfig::default()).unwrap();
    register(&mut m, NodeId(3));
    let agent = AgentId(0);
    // Four silent rounds: pinged again each time.
    for round in 1..=4 {
        let effects = fire(&mut m, at(15 * round), MasterTimer::Ping(agent));
        assert!(
            effects
                .iter()
                .any(|e| matches!(e, Effect::Send { msg: Msg::Ping, .. })),
            "round {round}"
        );
        assert_eq!(m.agent_health(agent).missed_pings, round as u32);
    }
    // A pong clears the count; the round it answered counts no miss.
    deliver(&mut m, at(61), NodeId(3), Msg::Pong);
    assert_eq!(m.agent_health(agent).missed_pings, 0);
    for round in 5..=9 {
        fire(&mut m, at(15 * round), MasterTimer::Ping(agent));
    }
    assert_eq!(m.agent_health(agent).missed_pings, 4);
    assert_eq!(m.agent_health(agent).state, AgentState::Active);
    // The fifth silent round in a row: unreachable, announced, and no longer pinged.
    let effects = fire(&mut m, at(150), MasterTimer::Ping(agent));
    assert_eq!(
        m.agent_health(agent).state,
        AgentState::Unreachable { since: at(150) }
    );
    assert_eq!(effects.len(), 1);
    assert!(
        matches!(&effects[0], Effect::Publish(Msg::Event(e)) if matches!(**e, OperatorEvent::AgentUnreachable { .. }))
    );
}

#[test]
fn the_invariant_catches_an_agent_that_should_have_been_marked_unreachable() {
    let mut m = Master::new(MasterConfig::default()).unwrap();
    register(&mut m, NodeId(3));
    m.agents.health_mut(AgentId(0)).missed_pings = 5;
    let err = m.check_invariants().unwrap_err();
    assert!(err.contains("missed 5 pings"), "{err}");
}

#[test]
fn the_invariant_catches_books_that_do_not_balance_on_a_touched_agent_only() {
    let mut m = Master::new(MasterConfig::default()).unwrap();
    register(&mut m, NodeId(3));
    register(&mut m, NodeId(4));
    // A later event touches only agent 1: agent 0 is not re-checked.
    deliver(&mut m, at(1), NodeId(4), Msg::Pong);
    m.check_invariants().unwrap();
    m.agents.info_mut(AgentId(1)).used += &Resources::parse("cpus:64").unwrap();
    let err = m.check_invariants().unwrap_err();
    assert!(err.contains("over-committed"), "{err}");
    // The next event starts a fresh list of touched agents.
    deliver(&mut m, at(2), NodeId(3), Msg::Pong);
    m.check_invariants().unwrap();
    m.agents.info_mut(AgentId(0)).offered += &Resources::parse("cpus:1").unwrap();
    let err = m.check_invariants().unwrap_err();
    assert!(err.contains("offers adding up to"), "{err}");
}

// --- The scheduler API ----------------------------------------------------------------

use crate::process::{TaskOutcome, TaskRun};
use crate::proto::{Accept, OfferId, Reason, Refuse, StatusUpdate, TaskId, TaskInfo, TaskState};

const AGENT: NodeId = NodeId(10);
const FRAMEWORK: NodeId = NodeId(20);

fn fw_register_as(m: &mut Master, partition_aware: bool) -> Vec<Effect<Msg, MasterTimer>> {
    let msg = Msg::RegisterFramework(Box::new(crate::proto::RegisterFramework {
        id: None,
        name: "f".into(),
        role: "*".into(),
        failover_timeout: Duration::ZERO,
        partition_aware,
        failover: false,
    }));
    deliver(m, at(1), FRAMEWORK, msg)
}

/// A master with one agent (cpus:4;mem:4096) and one framework that holds an offer of it.
fn offered() -> (Master, OfferId) {
    offered_to_framework(false)
}

fn offered_to_framework(partition_aware: bool) -> (Master, OfferId) {
    let mut m = Master::new(MasterConfig::default()).unwrap();
    let msg = Msg::RegisterAgent(Box::new(RegisterAgent {
        name: "a".into(),
        resources: Resources::parse("cpus:4;mem:4096").unwrap(),
        boot: 1,
    }));
    deliver(&mut m, at(0), AGENT, msg);
    fw_register_as(&mut m, partition_aware);
    let effects = fire(&mut m, at(1), MasterTimer::Allocate);
    let offer = effects
        .iter()
        .find_map(|e| match e {
            Effect::Send {
                to,
                msg: Msg::Offers(offers),
            } if *to == FRAMEWORK => Some(offers[0].id),
            _ => None,
        })
        .expect("the framework is offered the agent");
    (m, offer)
}

fn task(id: u32, resources: &str) -> TaskInfo {
    TaskInfo {
        command: None,
        id: TaskId(id),
        resources: Resources::parse(resources).unwrap(),
        run: TaskRun {
            duration: None,
            outcome: TaskOutcome::Succeed,
        },
    }
}

/// Updates sent to the framework, one by one or as a reconciliation's answer.
fn updates_to_framework(effects: &[Effect<Msg, MasterTimer>]) -> Vec<(TaskId, TaskState, Option<Reason>)> {
    effects
        .iter()
        .flat_map(|e| match e {
            Effect::Send {
                to,
                msg: Msg::Update(u),
            } if *to == FRAMEWORK => vec![(u.task, u.state, u.reason)],
            Effect::Send {
                to,
                msg: Msg::Reconciled(all),
            } if *to == FRAMEWORK => all.iter().map(|u| (u.task, u.state, u.reason)).collect(),
            _ => Vec::new(),
        })
        .collect()
}

#[test]
fn accept_launches_what_fits_and_refuses_the_rest_without_crashing() {
    let (mut m, offer) = offered();
    let accept = Accept {
        offer,
        tasks: vec![
            task(1, "cpus:1;mem:1024"),
            task(2, "cpus:8;mem:1024"),
            task(1, "cpus:1;mem:1024"),
            task(3, ""),
        ],
        refuse_seconds: None,
    };
    let effects = deliver(&mut m, at(2), FRAMEWORK, Msg::Accept(Box::new(accept)));
    let launched: Vec<TaskId> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send {
                to: AGENT,
                msg: Msg::RunTask(run),
            } => Some(run.task.id),
            _ => None,
        })
        .collect();
    assert_eq!(launched, vec![TaskId(1)]);
    assert_eq!(
        updates_to_framework(&effects),
        vec![
            (TaskId(2), TaskState::Error, Some(Reason::TaskInvalid)),
            (TaskId(1), TaskState::Error, Some(Reason::TaskInvalid)),
            (TaskId(3), TaskState::Error, Some(Reason::TaskInvalid)),
        ]
    );
    assert_eq!(m.known_tasks(), 1);
    assert_eq!(m.outstanding_offers(), 0);
}

#[test]
fn tasks_on_a_gone_offer_are_dropped() {
    let (mut m, offer) = offered();
    deliver(
        &mut m,
        at(2),
        FRAMEWORK,
        Msg::Decline {
            offer,
            refuse_seconds: Refuse::DEFAULT,
        },
    );
    let accept = Accept {
        offer,
        tasks: vec![task(1, "cpus:1")],
        refuse_seconds: None,
    };
    let effects = deliver(&mut m, at(3), FRAMEWORK, Msg::Accept(Box::new(accept)));
    assert_eq!(
        updates_to_framework(&effects),
        vec![(TaskId(1), TaskState::Dropped, Some(Reason::InvalidOffers))]
    );
    assert_eq!(m.known_tasks(), 0);
}

fn agent_update(task: u32, state: TaskState, uuid: u32) -> Msg {
    Msg::AgentUpdate(Box::new(StatusUpdate {
        framework: crate::ids::FrameworkId(0),
        task: TaskId(task),
        agent: Some(AgentId(0)),
        state,
        reason: None,
        message: String::new(),
        uuid: Some(uuid),
    }))
}

#[test]
fn updates_are_forwarded_acknowledgements_relayed_and_ended_tasks_forgotten() {
    let (mut m, offer) = offered();
    let accept = Accept {
        offer,
        tasks: vec![task(1, "cpus:1;mem:1024")],
        refuse_seconds: None,
    };
    deliver(&mut m, at(2), FRAMEWORK, Msg::Accept(Box::new(accept)));
    let effects = deliver(&mut m, at(3), AGENT, agent_update(1, TaskState::Running, 7));
    assert_eq!(
        updates_to_framework(&effects),
        vec![(TaskId(1), TaskState::Running, None)]
    );
    let effects = deliver(
        &mut m,
        at(3),
        FRAMEWORK,
        Msg::Acknowledge {
            agent: AgentId(0),
            task: TaskId(1),
            uuid: 7,
        },
    );
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Send {
            to: AGENT,
            msg: Msg::AgentAck { uuid: 7, .. }
        }
    )));
    deliver(&mut m, at(4), AGENT, agent_update(1, TaskState::Finished, 8));
    assert_eq!(
        m.known_tasks(),
        1,
        "kept until the terminal update is acknowledged"
    );
    deliver(
        &mut m,
        at(4),
        FRAMEWORK,
        Msg::Acknowledge {
            agent: AgentId(0),
            task: TaskId(1),
            uuid: 8,
        },
    );
    assert_eq!(m.known_tasks(), 0);
    assert!(m.agent_info(AgentId(0)).used.is_empty(), "its resources are back");
}

#[test]
fn kill_and_reconciliation_answer_from_the_masters_view() {
    let (mut m, offer) = offered();
    let accept = Accept {
        offer,
        tasks: vec![task(1, "cpus:1;mem:1024")],
        refuse_seconds: None,
    };
    deliver(&mut m, at(2), FRAMEWORK, Msg::Accept(Box::new(accept)));
    deliver(&mut m, at(3), AGENT, agent_update(1, TaskState::Running, 1));
    let effects = deliver(&mut m, at(4), FRAMEWORK, Msg::Kill { task: TaskId(1) });
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Send {
            to: AGENT,
            msg: Msg::KillTask { task: TaskId(1), .. }
        }
    )));
    let effects = deliver(&mut m, at(4), FRAMEWORK, Msg::Kill { task: TaskId(9) });
    assert_eq!(
        updates_to_framework(&effects),
        vec![(TaskId(9), TaskState::Lost, Some(Reason::Reconciliation))]
    );
    let effects = deliver(
        &mut m,
        at(5),
        FRAMEWORK,
        Msg::Reconcile(Box::new(vec![(TaskId(1), None), (TaskId(9), None)])),
    );
    assert_eq!(
        updates_to_framework(&effects),
        vec![
            (TaskId(1), TaskState::Running, Some(Reason::Reconciliation)),
            (TaskId(9), TaskState::Lost, Some(Reason::Reconciliation))
        ]
    );
    let implicit = deliver(&mut m, at(5), FRAMEWORK, Msg::Reconcile(Box::default()));
    assert_eq!(
        updates_to_framework(&implicit),
        vec![(TaskId(1), TaskState::Running, Some(Reason::Reconciliation))]
    );
}

#[test]
fn a_lost_agent_takes_its_offers_and_tasks_with_it() {
    let (mut m, offer) = offered();
    let accept = Accept {
        offer,
        tasks: vec![task(1, "cpus:1;mem:1024")],
        refuse_seconds: Some(Duration::ZERO),
    };
    deliver(&mut m, at(2), FRAMEWORK, Msg::Accept(Box::new(accept)));
    fire(&mut m, at(3), MasterTimer::BatchAllocation);
    assert_eq!(m.outstanding_offers(), 1, "the unused part is offered again");
    let mut effects = Vec::new();
    for round in 1..=5 {
        effects = fire(&mut m, at(15 * round), MasterTimer::Ping(AgentId(0)));
    }
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Send {
            to: FRAMEWORK,
            msg: Msg::Rescind { .. }
        }
    )));
    assert_eq!(
        updates_to_framework(&effects),
        vec![(TaskId(1), TaskState::Lost, Some(Reason::AgentUnreachable))]
    );
    assert_eq!((m.outstanding_offers(), m.known_tasks()), (0, 0));
}

#[test]
fn an_illegal_task_transition_breaks_an_invariant() {
    let (mut m, offer) = offered();
    let accept = Accept {
        offer,
        tasks: vec![task(1, "cpus:1;mem:1024")],
        refuse_seconds: None,
    };
    deliver(&mut m, at(2), FRAMEWORK, Msg::Accept(Box::new(accept)));
    deliver(&mut m, at(3), AGENT, agent_update(1, TaskState::Finished, 1));
    let mut rec = Rec::new(1, "master");
    m.on_message(
        &mut Ctx::new(at(4), NodeId(0), &mut rec),
        AGENT,
        agent_update(1, TaskState::Running, 2),
    );
    let err = m.check_invariants().unwrap_err();
    assert!(err.contains("went from TASK_FINISHED to TASK_RUNNING"), "{err}");
}

#[test]
fn a_partition_aware_frameworks_tasks_are_unreachable_and_come_back_with_their_agent() {
    let (mut m, offer) = offered_to_framework(true);
    let accept = Accept {
        offer,
        tasks: vec![task(1, "cpus:1;mem:1024"), task(2, "cpus:1;mem:1024")],
        refuse_seconds: None,
    };
    deliver(&mut m, at(2), FRAMEWORK, Msg::Accept(Box::new(accept)));
    deliver(&mut m, at(3), AGENT, agent_update(1, TaskState::Running, 1));
    deliver(&mut m, at(3), AGENT, agent_update(2, TaskState::Running, 2));
    let mut effects = Vec::new();
    for round in 1..=5 {
        effects = fire(&mut m, at(15 * round), MasterTimer::Ping(AgentId(0)));
    }
    assert_eq!(
        updates_to_framework(&effects),
        vec![
            (TaskId(1), TaskState::Unreachable, Some(Reason::AgentUnreachable)),
            (TaskId(2), TaskState::Unreachable, Some(Reason::AgentUnreachable)),
        ]
    );
    assert_eq!(m.known_tasks(), 0);
    let answer = deliver(
        &mut m,
        at(80),
        FRAMEWORK,
        Msg::Reconcile(Box::new(vec![(TaskId(1), None), (TaskId(9), None)])),
    );
    assert_eq!(
        updates_to_framework(&answer),
        vec![
            (TaskId(1), TaskState::Unreachable, Some(Reason::Reconciliation)),
            (TaskId(9), TaskState::Unknown, Some(Reason::Reconciliation)),
        ]
    );
    // The agent comes back with task 1 only: 1 is the framework's again, 2 is gone.
    let back = Msg::ReregisterAgent(Box::new(ReregisterAgent {
        agent: AgentId(0),
        name: "a".into(),
        resources: Resources::parse("cpus:4;mem:4096").unwrap(),
        tasks: vec![ReportedTask {
            role: "*".to_owned(),
            partition_aware: true,
            failover_timeout: Duration::ZERO,
            framework: FrameworkId(0),
            task: TaskId(1),
            resources: Resources::parse("cpus:1;mem:1024").unwrap(),
            state: TaskState::Running,
        }],
    }));
    let effects = deliver(&mut m, at(100), AGENT, back);
    assert_eq!(
        updates_to_framework(&effects),
        vec![
            (TaskId(1), TaskState::Running, Some(Reason::AgentReregistered)),
            (TaskId(2), TaskState::Gone, Some(Reason::AgentRestarted)),
        ]
    );
    assert_eq!(m.known_tasks(), 1);
    assert!(
        !effects.iter().any(|e| matches!(
            e,
            Effect::Send {
                msg: Msg::KillTask { .. },
                ..
            }
        )),
        "a partition-aware framework's task runs on"
    );
}

#[test]
fn a_copy_of_an_accept_already_carried_out_changes_nothing() {
    let (mut m, offer) = offered();
    let accept = Accept {
        offer,
        tasks: vec![task(1, "cpus:1;mem:1024")],
        refuse_seconds: None,
    };
    deliver(&mut m, at(2), FRAMEWORK, Msg::Accept(Box::new(accept.clone())));
    // The network delivers the accept twice: the task it launched is not reported dropped.
    let effects = deliver(&mut m, at(2), FRAMEWORK, Msg::Accept(Box::new(accept)));
    assert_eq!(updates_to_framework(&effects), vec![]);
    assert!(effects.iter().all(|e| !matches!(e, Effect::Publish(_))));
}

// --- Failover ---------------------------------------------------------------------------

const COORDINATOR: NodeId = NodeId(99);

/// A master started with a coordinator: contending, standing by.
fn contending() -> Master {
    let config = MasterConfig {
        coordinator: Some(COORDINATOR),
        ..MasterConfig::default()
    };
    let mut m = Master::new(config).unwrap();
    let mut rec = Rec::new(1, "master");
    m.on_start(&mut Ctx::new(at(0), NodeId(0), &mut rec));
    m
}

/// A master leading in epoch 1 through a coordinator, with one agent admitted (the
/// registry change acknowledged).
fn leading() -> Master {
    let mut m = contending();
    let news = Msg::LeaderIs {
        leader: Some(NodeId(0)),
        epoch: 1,
    };
    let effects = deliver(&mut m, at(0), COORDINATOR, news);
    assert!(
        effects.iter().any(|e| matches!(
            e,
            Effect::Send {
                msg: Msg::RegistryRead { .. },
                ..
            }
        )),
        "the elected master reads the registry"
    );
    assert_eq!(m.leadership(), Leadership::Elected { epoch: 1 });
    let snapshot = Msg::RegistrySnapshot {
        epoch: 1,
        registry: Box::default(),
    };
    deliver(&mut m, at(0), COORDINATOR, snapshot);
    assert_eq!(m.leadership(), Leadership::Leading { epoch: 1 });
    register(&mut m, AGENT);
    deliver(&mut m, at(0), COORDINATOR, Msg::RegistryAck { epoch: 1, upto: 1 });
    m
}

#[test]
fn an_agent_is_unreachable_only_once_the_registry_says_so() {
    let mut m = leading();
    let agent = AgentId(0);
    for round in 1..=4 {
        fire(&mut m, at(15 * round), MasterTimer::Ping(agent));
    }
    // The fifth silent round writes the change; nobody hears of it yet, and the agent's
    // attempts to register again are ignored meanwhile.
    let effects = fire(&mut m, at(75), MasterTimer::Ping(agent));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Send { to: COORDINATOR, msg: Msg::RegistryWrite(w) } if w.first == 1
    )));
    assert!(effects.iter().all(|e| !matches!(e, Effect::Publish(_))));
    assert_eq!(m.agent_health(agent).state, AgentState::Active);
    let again = Msg::ReregisterAgent(Box::new(ReregisterAgent {
        agent,
        name: "agent-10".into(),
        resources: Resources::parse("cpus:4;mem:4096").unwrap(),
        tasks: vec![],
    }));
    assert!(deliver(&mut m, at(76), AGENT, again).is_empty());
    // Applied: now the agent is unreachable, and observers hear so.
    let effects = deliver(
        &mut m,
        at(77),
        COORDINATOR,
        Msg::RegistryAck { epoch: 1, upto: 2 },
    );
    assert_eq!(
        m.agent_health(agent).state,
        AgentState::Unreachable { since: at(77) }
    );
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Publish(Msg::Event(ev)) if matches!(**ev, OperatorEvent::AgentUnreachable { .. })
    )));
}

#[test]
fn news_of_an_election_gone_by_does_not_make_a_master_lead_again() {
    let mut m = leading();
    // The session lapses: the master gives leadership up and opens another session.
    fire(&mut m, at(30), MasterTimer::Session);
    assert_eq!(m.leadership(), Leadership::Standby);
    // A late copy of the news that elected it changes nothing.
    let news = Msg::LeaderIs {
        leader: Some(NodeId(0)),
        epoch: 1,
    };
    let effects = deliver(&mut m, at(31), COORDINATOR, news);
    assert_eq!(m.leadership(), Leadership::Standby);
    assert!(effects.iter().all(|e| !matches!(
        e,
        Effect::Send {
            msg: Msg::RegistryRead { .. },
            ..
        }
    )));
    // Nor does a snapshot read in that epoch.
    let snapshot = Msg::RegistrySnapshot {
        epoch: 1,
        registry: Box::default(),
    };
    deliver(&mut m, at(31), COORDINATOR, snapshot);
    assert_eq!(m.leadership(), Leadership::Standby);
    assert!(!m.is_leading());
}

#[test]
fn a_new_agent_and_a_new_framework_are_answered_once_the_registry_has_them() {
    let mut m = leading();
    // A second agent: its admission is written first, and its retry meanwhile ignored.
    let effects = register(&mut m, NodeId(11));
    let agent = AgentId(1);
    assert!(effects.iter().all(|e| !matches!(
        e,
        Effect::Send {
            msg: Msg::AgentRegistered { .. },
            ..
        }
    )));
    assert!(effects.iter().all(|e| !matches!(e, Effect::Publish(_))));
    assert!(register(&mut m, NodeId(11)).is_empty());
    let effects = deliver(&mut m, at(1), COORDINATOR, Msg::RegistryAck { epoch: 1, upto: 2 });
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Send { to: NodeId(11), msg: Msg::AgentRegistered { agent: a } } if *a == agent
    )));
    assert_eq!(m.agent_health(agent).state, AgentState::Active);
    // A framework likewise hears its id only once the registry reserves it.
    let effects = fw_register_as(&mut m, false);
    assert!(
        effects
            .iter()
            .all(|e| !matches!(e, Effect::Send { to: FRAMEWORK, .. }))
    );
    assert!(
        fw_register_as(&mut m, false)
            .iter()
            .all(|e| !matches!(e, Effect::Send { to: FRAMEWORK, .. }))
    );
    let effects = deliver(&mut m, at(2), COORDINATOR, Msg::RegistryAck { epoch: 1, upto: 3 });
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Send {
            to: FRAMEWORK,
            msg: Msg::FrameworkRegistered { .. }
        }
    )));
}

/// The calls of each offer the framework is sent.
fn offer_calls(effects: &[Effect<Msg, MasterTimer>]) -> Vec<u32> {
    effects
        .iter()
        .flat_map(|e| match e {
            Effect::Send {
                to,
                msg: Msg::Offers(offers),
            } if *to == FRAMEWORK => offers.iter().map(|o| o.call).collect(),
            _ => Vec::new(),
        })
        .collect()
}

#[test]
fn a_suppress_older_than_the_last_revive_is_ignored_and_offers_name_the_revive() {
    let (mut m, offer) = offered();
    let decline = Msg::Decline {
        offer,
        refuse_seconds: crate::proto::Refuse::new(Some(Duration::ZERO)),
    };
    deliver(&mut m, at(2), FRAMEWORK, decline);
    // The framework suppressed (call 1), then revived (call 2); the revive arrives first.
    let effects = deliver(&mut m, at(3), FRAMEWORK, Msg::Revive { call: 2 });
    assert_eq!(offer_calls(&effects), Vec::<u32>::new(), "allocation is batched");
    deliver(&mut m, at(3), FRAMEWORK, Msg::Suppress { call: 1 });
    let effects = fire(&mut m, at(4), MasterTimer::Allocate);
    assert_eq!(
        offer_calls(&effects),
        vec![2],
        "the late suppress changed nothing"
    );
    // A newer suppress does stop offers.
    let offer = match &effects[..] {
        [
            ..,
            Effect::Send {
                msg: Msg::Offers(o), ..
            },
        ] => o[0].id,
        _ => unreachable!("offered just above"),
    };
    let decline = Msg::Decline {
        offer,
        refuse_seconds: crate::proto::Refuse::new(Some(Duration::ZERO)),
    };
    deliver(&mut m, at(5), FRAMEWORK, decline);
    deliver(&mut m, at(5), FRAMEWORK, Msg::Suppress { call: 3 });
    let effects = fire(&mut m, at(6), MasterTimer::Allocate);
    assert_eq!(offer_calls(&effects), Vec::<u32>::new());
}

// --- Framework failover ----------------------------------------------------------------

/// A framework's registration, as `f` in the default role.
fn framework_registration(
    id: Option<u32>,
    failover_timeout: Duration,
    partition_aware: bool,
    failover: bool,
) -> Msg {
    Msg::RegisterFramework(Box::new(crate::proto::RegisterFramework {
        id: id.map(crate::ids::FrameworkId),
        name: "f".into(),
        role: "*".into(),
        failover_timeout,
        partition_aware,
        failover,
    }))
}

fn exited(m: &mut Master, now: Instant, peer: NodeId) -> Vec<Effect<Msg, MasterTimer>> {
    let mut rec = Rec::new(1, "master");
    m.on_exited(&mut Ctx::new(now, NodeId(0), &mut rec), peer);
    m.check_invariants().expect("invariants hold");
    rec.effects
}

fn reregister_framework(m: &mut Master, now: Instant, from: NodeId) -> Vec<Effect<Msg, MasterTimer>> {
    let msg = framework_registration(Some(0), Duration::from_secs(60), false, false);
    deliver(m, now, from, msg)
}

/// A master with one agent, and a framework (failover timeout 60 s) running task 1 on it
/// and holding an offer of the rest.
fn running_with_failover_timeout() -> (Master, OfferId) {
    let mut m = Master::new(MasterConfig::default()).unwrap();
    let agent = Msg::RegisterAgent(Box::new(RegisterAgent {
        name: "a".into(),
        resources: Resources::parse("cpus:4;mem:4096").unwrap(),
        boot: 1,
    }));
    deliver(&mut m, at(0), AGENT, agent);
    let fw = framework_registration(None, Duration::from_secs(60), false, false);
    let effects = deliver(&mut m, at(1), FRAMEWORK, fw);
    assert!(
        effects.contains(&Effect::Link(FRAMEWORK)),
        "the master watches the scheduler"
    );
    let offer_of = |effects: &[Effect<Msg, MasterTimer>]| {
        effects.iter().find_map(|e| match e {
            Effect::Send {
                to: FRAMEWORK,
                msg: Msg::Offers(offers),
            } => Some(offers[0].id),
            _ => None,
        })
    };
    let offer = offer_of(&fire(&mut m, at(1), MasterTimer::Allocate)).expect("offered");
    let accept = Accept {
        offer,
        tasks: vec![task(1, "cpus:1;mem:1024")],
        refuse_seconds: Some(Duration::ZERO),
    };
    deliver(&mut m, at(2), FRAMEWORK, Msg::Accept(Box::new(accept)));
    deliver(&mut m, at(2), AGENT, agent_update(1, TaskState::Running, 1));
    let offer = offer_of(&fire(&mut m, at(3), MasterTimer::BatchAllocation)).expect("offered the rest");
    (m, offer)
}

#[test]
fn a_scheduler_back_within_its_failover_timeout_keeps_its_tasks() {
    let (mut m, _offer) = running_with_failover_timeout();
    let framework = crate::ids::FrameworkId(0);
    let effects = exited(&mut m, at(10), FRAMEWORK);
    assert!(!m.framework(framework).connected);
    assert_eq!(m.outstanding_offers(), 0, "its offer is rescinded");
    assert!(effects.contains(&Effect::SetTimer {
        timer: MasterTimer::FrameworkFailover(framework),
        at: at(70),
    }));
    // Offered nothing while it is away.
    let effects = fire(&mut m, at(11), MasterTimer::BatchAllocation);
    assert!(!effects.iter().any(|e| matches!(
        e,
        Effect::Send {
            msg: Msg::Offers(_),
            ..
        }
    )));
    // Back at 50 s from the same address: the framework, and its task, are its own again.
    let effects = reregister_framework(&mut m, at(50), FRAMEWORK);
    assert!(effects.contains(&Effect::Send {
        to: FRAMEWORK,
        msg: Msg::FrameworkRegistered { framework },
    }));
    assert!(effects.contains(&Effect::CancelTimer {
        timer: MasterTimer::FrameworkFailover(framework),
    }));
    assert!(m.framework(framework).connected);
    // A timer that fired anyway finds nothing to do.
    let effects = fire(&mut m, at(70), MasterTimer::FrameworkFailover(framework));
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(m.known_tasks(), 1);
    assert!(!m.framework(framework).removed);
}

#[test]
fn after_its_failover_timeout_a_framework_is_removed_and_its_tasks_killed_for_good() {
    let (mut m, _offer) = running_with_failover_timeout();
    let framework = crate::ids::FrameworkId(0);
    exited(&mut m, at(10), FRAMEWORK);
    let effects = fire(&mut m, at(70), MasterTimer::FrameworkFailover(framework));
    assert!(m.framework(framework).removed);
    assert!(effects.contains(&Effect::Send {
        to: AGENT,
        msg: Msg::KillTask {
            framework,
            task: TaskId(1)
        },
    }));
    assert!(effects.iter().any(|e| matches!(e,
        Effect::Publish(Msg::Event(ev)) if matches!(**ev,
            OperatorEvent::TaskUpdated { task: TaskId(1), state: TaskState::Killed, .. }))));
    // The task holds its resources until the agent reports it ended...
    assert!(!m.agent_info(AgentId(0)).used.is_empty());
    // ...and the kill is sent again at the agent's next ping round if the first was lost.
    let effects = fire(&mut m, at(75), MasterTimer::Ping(AgentId(0)));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Send {
            to: AGENT,
            msg: Msg::KillTask { .. }
        }
    )));
    // The agent's update is acknowledged by the master itself, and the resources are free.
    let effects = deliver(&mut m, at(76), AGENT, agent_update(1, TaskState::Killed, 2));
    assert!(effects.contains(&Effect::Send {
        to: AGENT,
        msg: Msg::AgentAck {
            framework,
            task: TaskId(1),
            uuid: 2
        },
    }));
    assert!(m.agent_info(AgentId(0)).used.is_empty());
    assert_eq!(m.known_tasks(), 0);
    // No more kills once it ended.
    let effects = fire(&mut m, at(90), MasterTimer::Ping(AgentId(0)));
    assert!(!effects.iter().any(|e| matches!(
        e,
        Effect::Send {
            msg: Msg::KillTask { .. },
            ..
        }
    )));
    // A late update of the removed framework's task is acknowledged too.
    let effects = deliver(&mut m, at(91), AGENT, agent_update(1, TaskState::Killed, 2));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Send {
            to: AGENT,
            msg: Msg::AgentAck { .. }
        }
    )));
    // The scheduler back too late hears the framework is gone; registering afresh from the
    // same address makes a new framework.
    let effects = reregister_framework(&mut m, at(100), FRAMEWORK);
    assert!(effects.contains(&Effect::Send {
        to: FRAMEWORK,
        msg: Msg::FrameworkRemoved { framework },
    }));
    let fresh = framework_registration(None, Duration::from_secs(60), false, false);
    let effects = deliver(&mut m, at(101), FRAMEWORK, fresh);
    let new = crate::ids::FrameworkId(1);
    assert!(effects.contains(&Effect::Send {
        to: FRAMEWORK,
        msg: Msg::FrameworkRegistered { framework: new },
    }));
}

#[test]
fn a_disconnected_framework_is_not_acted_for() {
    let (mut m, offer) = running_with_failover_timeout();
    exited(&mut m, at(10), FRAMEWORK);
    // A late copy of an accept from the ended scheduler launches nothing.
    let accept = Accept {
        offer,
        tasks: vec![task(2, "cpus:1;mem:1024")],
        refuse_seconds: None,
    };
    let effects = deliver(&mut m, at(11), FRAMEWORK, Msg::Accept(Box::new(accept)));
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(m.known_tasks(), 1);
    // Only a process it linked to counts: another's end changes nothing.
    let (mut m, _) = running_with_failover_timeout();
    let effects = exited(&mut m, at(10), NodeId(99));
    assert!(effects.is_empty());
    assert!(m.framework(crate::ids::FrameworkId(0)).connected);
}

#[test]
fn a_restarted_scheduler_takes_its_framework_over_even_if_the_master_missed_its_end() {
    // The scheduler died behind a partition: the master never heard its connection close.
    let (mut m, _offer) = running_with_failover_timeout();
    let framework = crate::ids::FrameworkId(0);
    assert_eq!(m.outstanding_offers(), 1);
    let msg = framework_registration(Some(0), Duration::from_secs(60), false, true);
    let effects = deliver(&mut m, at(20), FRAMEWORK, msg);
    // The offer the dead process held is rescinded; the framework and its task are kept.
    assert_eq!(m.outstanding_offers(), 0);
    assert!(effects.contains(&Effect::Send {
        to: FRAMEWORK,
        msg: Msg::FrameworkRegistered { framework },
    }));
    assert!(effects.iter().any(|e| matches!(e,
        Effect::Publish(Msg::Event(ev)) if matches!(**ev, OperatorEvent::FrameworkReregistered { .. }))));
    assert_eq!(m.known_tasks(), 1);
    // A plain copy of a registration from a scheduler that is registered changes nothing.
    let copy = framework_registration(Some(0), Duration::from_secs(60), false, false);
    let effects = deliver(&mut m, at(21), FRAMEWORK, copy);
    assert_eq!(
        effects,
        vec![
            Effect::Link(FRAMEWORK),
            Effect::Send {
                to: FRAMEWORK,
                msg: Msg::FrameworkRegistered { framework },
            }
        ]
    );
}

#[test]
fn a_new_leader_answers_gone_for_tasks_on_an_agent_whose_machine_came_back_as_another() {
    use crate::proto::{RegisteredAgent, RegistryState};
    let mut m = contending();
    let news = Msg::LeaderIs {
        leader: Some(NodeId(0)),
        epoch: 2,
    };
    deliver(&mut m, at(0), COORDINATOR, news);
    // The registry lists the agent at AGENT as unreachable: this leader never learns which
    // tasks ran there.
    let registry = RegistryState {
        agents: vec![RegisteredAgent {
            name: "a".into(),
            node: AGENT,
            resources: Resources::parse("cpus:4;mem:4096").unwrap(),
            boot: 1,
            unreachable: true,
        }],
        frameworks: 1,
        ..RegistryState::default()
    };
    let snapshot = Msg::RegistrySnapshot {
        epoch: 2,
        registry: Box::new(registry),
    };
    deliver(&mut m, at(0), COORDINATOR, snapshot);
    // The framework, registered before under id 0, registers again: a new leader that does
    // not know the id takes it.
    let again = framework_registration(Some(0), Duration::ZERO, true, false);
    deliver(&mut m, at(1), FRAMEWORK, again);
    let reconcile = |m: &mut Master, t: u64| {
        let ask = Msg::Reconcile(Box::new(vec![(TaskId(7), Some(AgentId(0)))]));
        updates_to_framework(&deliver(m, at(t), FRAMEWORK, ask))
    };
    // Unreachable since before this leader: the task may still run there.
    assert_eq!(
        reconcile(&mut m, 2),
        vec![(TaskId(7), TaskState::Unreachable, Some(Reason::Reconciliation))]
    );
    // The machine boots and registers as a new agent: whatever ran there is gone.
    let rebooted = Msg::RegisterAgent(Box::new(RegisterAgent {
        name: "a".into(),
        resources: Resources::parse("cpus:4;mem:4096").unwrap(),
        boot: 2,
    }));
    deliver(&mut m, at(3), AGENT, rebooted);
    assert_eq!(
        reconcile(&mut m, 4),
        vec![(TaskId(7), TaskState::Gone, Some(Reason::Reconciliation))]
    );
}
