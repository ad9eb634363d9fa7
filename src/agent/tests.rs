//! The agent driven directly through the seam.

use super::*;
use crate::process::{Effect, Recorder, TaskOutcome, TaskRun};
use crate::proto::TaskInfo;
use crate::time::Instant;

const MASTER: NodeId = NodeId(0);
type Effects = Vec<Effect<Msg, AgentTimer>>;

fn at(secs: u64) -> Instant {
    Instant::ZERO + Duration::from_secs(secs)
}

fn call(
    agent: &mut Agent,
    now: Instant,
    f: impl FnOnce(&mut Agent, &mut Ctx<'_, Msg, AgentTimer>),
) -> Effects {
    let mut rec = Recorder::new(1, "agent");
    f(agent, &mut Ctx::new(now, NodeId(5), &mut rec));
    agent.check_invariants().expect("invariants hold");
    rec.effects
}

fn registered() -> Agent {
    let mut a = Agent::new(AgentConfig::new(
        "a",
        Resources::parse("cpus:4;mem:4096").unwrap(),
        MASTER,
    ));
    call(&mut a, at(0), |a, ctx| a.on_start(ctx));
    call(&mut a, at(0), |a, ctx| {
        a.on_message(ctx, MASTER, Msg::AgentRegistered { agent: AgentId(3) })
    });
    a
}

fn run(id: u32, resources: &str) -> Msg {
    Msg::RunTask(Box::new(RunTask {
        framework: FrameworkId(1),
        role: "*".to_owned(),
        partition_aware: false,
        failover_timeout: Duration::ZERO,
        task: TaskInfo {
            command: None,
            id: TaskId(id),
            resources: Resources::parse(resources).unwrap(),
            run: TaskRun {
                duration: Some(Duration::from_secs(60)),
                outcome: TaskOutcome::Succeed,
            },
        },
    }))
}

fn sent_updates(effects: &Effects) -> Vec<(TaskState, u32)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send {
                msg: Msg::AgentUpdate(u),
                ..
            } => Some((u.state, u.uuid.unwrap())),
            _ => None,
        })
        .collect()
}

#[test]
fn updates_are_retried_with_doubling_backoff_until_acknowledged() {
    let mut a = registered();
    let effects = call(&mut a, at(1), |a, ctx| {
        a.on_message(ctx, MASTER, run(7, "cpus:1;mem:1024"))
    });
    assert!(effects.iter().any(|e| matches!(e, Effect::Launch(spec) if spec.resources == Resources::parse("cpus:1;mem:1024").unwrap())));
    let (state, uuid) = sent_updates(&effects)[0];
    assert_eq!(state, TaskState::Running);
    let retry = AgentTimer::StatusRetry(FrameworkId(1), TaskId(7));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::SetTimer { timer, at: t } if *timer == retry && *t == at(11)))
    );
    // Unacknowledged: re-sent after 10 s, then 20 s, 40 s ...
    let mut now = 11;
    for wait in [20u64, 40, 80] {
        let effects = call(&mut a, at(now), |a, ctx| a.on_timer(ctx, retry.clone()));
        assert_eq!(sent_updates(&effects), vec![(TaskState::Running, uuid)]);
        assert!(
            effects
                .iter()
                .any(|e| matches!(e, Effect::SetTimer { at: t, .. } if *t == at(now + wait)))
        );
        now += wait;
    }
    // Acknowledged: the retry stops.
    let effects = call(&mut a, at(now), |a, ctx| {
        a.on_message(
            ctx,
            MASTER,
            Msg::AgentAck {
                framework: FrameworkId(1),
                task: TaskId(7),
                uuid,
            },
        )
    });
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::CancelTimer { timer } if *timer == retry))
    );
    assert_eq!(a.running_tasks(), 1);
}

#[test]
fn the_retry_backoff_is_capped_at_ten_minutes() {
    let mut a = registered();
    call(&mut a, at(1), |a, ctx| {
        a.on_message(ctx, MASTER, run(7, "cpus:1"))
    });
    let retry = AgentTimer::StatusRetry(FrameworkId(1), TaskId(7));
    let mut last = Duration::ZERO;
    for _ in 0..12 {
        let effects = call(&mut a, at(1000), |a, ctx| a.on_timer(ctx, retry.clone()));
        last = effects
            .iter()
            .find_map(|e| match e {
                Effect::SetTimer { at: t, .. } => Some(*t - at(1000)),
                _ => None,
            })
            .unwrap();
    }
    assert_eq!(last, Duration::from_mins(10));
}

#[test]
fn an_ended_task_reports_in_order_and_is_forgotten_once_acknowledged() {
    let mut a = registered();
    let effects = call(&mut a, at(1), |a, ctx| {
        a.on_message(ctx, MASTER, run(7, "cpus:1"))
    });
    let (_, running) = sent_updates(&effects)[0];
    let key = effects
        .iter()
        .find_map(|e| {
            if let Effect::Launch(s) = e {
                Some(s.key)
            } else {
                None
            }
        })
        .unwrap();
    // The task finishes before RUNNING is acknowledged: FINISHED waits its turn.
    let effects = call(&mut a, at(61), |a, ctx| {
        a.on_task_exit(
            ctx,
            TaskExit {
                key,
                reason: ExitReason::Finished,
            },
        )
    });
    assert!(
        sent_updates(&effects).is_empty(),
        "one update in flight at a time"
    );
    let effects = call(&mut a, at(62), |a, ctx| {
        a.on_message(
            ctx,
            MASTER,
            Msg::AgentAck {
                framework: FrameworkId(1),
                task: TaskId(7),
                uuid: running,
            },
        )
    });
    let (state, finished) = sent_updates(&effects)[0];
    assert_eq!(state, TaskState::Finished);
    call(&mut a, at(63), |a, ctx| {
        a.on_message(
            ctx,
            MASTER,
            Msg::AgentAck {
                framework: FrameworkId(1),
                task: TaskId(7),
                uuid: finished,
            },
        )
    });
    assert!(a.work.tasks.is_empty());
}

#[test]
fn a_task_that_does_not_fit_is_refused_not_run() {
    let mut a = registered();
    call(&mut a, at(1), |a, ctx| {
        a.on_message(ctx, MASTER, run(1, "cpus:3"))
    });
    let effects = call(&mut a, at(1), |a, ctx| {
        a.on_message(ctx, MASTER, run(2, "cpus:3"))
    });
    assert!(!effects.iter().any(|e| matches!(e, Effect::Launch(_))));
    assert_eq!(sent_updates(&effects)[0].0, TaskState::Error);
}

#[test]
fn asked_about_tasks_it_did_not_report_it_ends_only_those_it_never_received() {
    let mut a = registered();
    // Task 1 arrived after the registration that did not list it; task 2 never arrived.
    call(&mut a, at(1), |a, ctx| {
        a.on_message(ctx, MASTER, run(1, "cpus:1;mem:1024"))
    });
    let ask = Msg::ReconcileTasks(Box::new(vec![
        (FrameworkId(1), TaskId(1), TaskState::Lost),
        (FrameworkId(1), TaskId(2), TaskState::Dropped),
    ]));
    let effects = call(&mut a, at(2), |a, ctx| a.on_message(ctx, MASTER, ask));
    let ended: Vec<(TaskId, TaskState, Option<Reason>)> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send {
                msg: Msg::AgentUpdate(u),
                ..
            } => Some((u.task, u.state, u.reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        ended,
        vec![(TaskId(2), TaskState::Dropped, Some(Reason::NeverLaunched))]
    );
    // Reliably: the update waits for its acknowledgement like any other.
    assert!(effects.iter().any(|e| matches!(e, Effect::SetTimer { .. })));
}

#[test]
fn a_restarted_agent_recovers_from_its_records_alone() {
    let mut store = Store::default();
    let mut a = Agent::new(AgentConfig::new(
        "a",
        Resources::parse("cpus:4;mem:4096").unwrap(),
        MASTER,
    ));
    store.apply(&call(&mut a, at(0), |a, ctx| a.on_start(ctx)));
    let registered = Msg::AgentRegistered { agent: AgentId(3) };
    store.apply(&call(&mut a, at(0), |a, ctx| {
        a.on_message(ctx, MASTER, registered)
    }));
    for (id, at_s) in [(7, 1), (8, 2), (9, 3)] {
        let effects = call(&mut a, at(at_s), |a, ctx| {
            a.on_message(ctx, MASTER, run(id, "cpus:1;mem:512"))
        });
        // The task's record is written before the task is launched.
        let persisted = effects
            .iter()
            .position(|e| matches!(e, Effect::Persist { key, .. } if *key > 0));
        let launched = effects.iter().position(|e| matches!(e, Effect::Launch(_)));
        assert!(persisted < launched, "{effects:?}");
        store.apply(&effects);
    }
    // Task 7 runs and is acknowledged; task 8 finishes, its update still unacknowledged;
    // task 9 finishes and both its updates are acknowledged: it is forgotten.
    let ack = |task, uuid| Msg::AgentAck {
        framework: FrameworkId(1),
        task: TaskId(task),
        uuid,
    };
    store.apply(&call(&mut a, at(4), |a, ctx| {
        a.on_message(ctx, MASTER, ack(7, 1))
    }));
    store.apply(&call(&mut a, at(4), |a, ctx| {
        a.on_message(ctx, MASTER, ack(9, 3))
    }));
    for key in [1, 2] {
        let exit = TaskExit {
            key: TaskKey(key),
            reason: ExitReason::Finished,
        };
        store.apply(&call(&mut a, at(5), |a, ctx| a.on_task_exit(ctx, exit)));
    }
    store.apply(&call(&mut a, at(6), |a, ctx| {
        a.on_message(ctx, MASTER, ack(8, 2))
    }));
    store.apply(&call(&mut a, at(6), |a, ctx| {
        a.on_message(ctx, MASTER, ack(9, 5))
    }));
    assert_eq!(
        store.keys().collect::<Vec<_>>(),
        vec![0, 1, 2],
        "meta, task 7, task 8"
    );

    let config = AgentConfig::new("a", Resources::parse("cpus:4;mem:4096").unwrap(), MASTER);
    let mut b = Agent::recover(config, &store).unwrap();
    call(&mut b, at(10), |b, ctx| b.on_start(ctx));
    let effects = call(&mut b, at(12), |b, ctx| b.on_timer(ctx, AgentTimer::Register));
    let reregister = effects.iter().find_map(|e| match e {
        Effect::Send {
            msg: Msg::ReregisterAgent(r),
            ..
        } => Some(r),
        _ => None,
    });
    let r = reregister.expect("registers again under its old id");
    assert_eq!(r.agent, AgentId(3));
    let tasks: Vec<(u32, TaskState)> = r.tasks.iter().map(|t| (t.task.0, t.state)).collect();
    assert_eq!(tasks, vec![(7, TaskState::Running), (8, TaskState::Finished)]);
    // Its books agree: task 7 still holds its resources, and its exit is heard.
    assert_eq!(b.running_tasks(), 1);
    let exit = TaskExit {
        key: TaskKey(0),
        reason: ExitReason::Finished,
    };
    let effects = call(&mut b, at(13), |b, ctx| b.on_task_exit(ctx, exit));
    // Numbered on from where its predecessor stopped.
    assert_eq!(sent_updates(&effects), vec![(TaskState::Finished, 6)]);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Persist {
            key: 1,
            json: Some(_)
        }
    )));
    assert_eq!(b.running_tasks(), 0);
}
