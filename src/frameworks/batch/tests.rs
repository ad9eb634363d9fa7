//! The batch framework driven directly through the seam.

use super::*;
use crate::frameworks::durable::TASK_BLOCK;
use crate::ids::AgentId;
use crate::process::{Effect, Recorder, TaskOutcome, TaskRun};
use crate::proto::OfferId;
use crate::resources::Resources;

const MASTER: NodeId = NodeId(0);
type Effects = Vec<Effect<Msg, BatchTimer>>;

fn at(ms: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(ms)
}

thread_local! {
    /// What the framework under test (one per test thread) persisted so far.
    static STORE: std::cell::RefCell<Store> = std::cell::RefCell::new(Store::default());
}

fn call(b: &mut Batch, now: Instant, f: impl FnOnce(&mut Batch, &mut Ctx<'_, Msg, BatchTimer>)) -> Effects {
    let mut rec = Recorder::new(1, "framework");
    f(b, &mut Ctx::new(now, NodeId(9), &mut rec));
    STORE.with(|store| store.borrow_mut().apply(&rec.effects));
    rec.effects
}

/// The scheduler restarted from what it persisted, as after a crash.
fn restarted() -> Batch {
    STORE.with(|store| Batch::recover(BatchConfig::new("b", "r", MASTER), &store.borrow()).unwrap())
}

fn framework(max: Option<u32>) -> Batch {
    let mut config = BatchConfig::new("b", "r", MASTER);
    config.max_tasks_per_offer = max;
    let mut b = Batch::new(config);
    STORE.with(|store| *store.borrow_mut() = Store::default());
    call(&mut b, at(0), |b, ctx| b.on_start(ctx));
    call(&mut b, at(0), |b, ctx| {
        b.on_message(
            ctx,
            MASTER,
            Msg::FrameworkRegistered {
                framework: FrameworkId(0),
            },
        )
    });
    b
}

fn submit(b: &mut Batch, now: Instant, shapes: &[&str]) -> Effects {
    let tasks = shapes
        .iter()
        .map(|r| TaskRequest {
            command: None,
            resources: Resources::parse(r).unwrap(),
            run: TaskRun {
                duration: None,
                outcome: TaskOutcome::Succeed,
            },
            job: None,
            retry_of: None,
        })
        .collect();
    call(b, now, |b, ctx| {
        b.on_message(ctx, NodeId(7), Msg::Submit(Box::new(tasks)))
    })
}

/// The master's update of `task` on agent 0, to be acknowledged.
fn update(task: u32, state: TaskState) -> Msg {
    Msg::Update(Box::new(crate::proto::StatusUpdate {
        framework: FrameworkId(0),
        task: TaskId(task),
        agent: Some(AgentId(0)),
        state,
        reason: None,
        message: String::new(),
        uuid: Some(1),
    }))
}

/// An offer made once the master had every suppress and revive call sent so far.
fn offer(b: &mut Batch, now: Instant, resources: &str) -> Effects {
    let applied = b.numbers.last_call();
    offer_after_call(b, now, resources, applied)
}

/// An offer made when the master had applied the framework's calls up to `applied`.
fn offer_after_call(b: &mut Batch, now: Instant, resources: &str, applied: u32) -> Effects {
    let o = Offer {
        id: OfferId(1),
        agent: AgentId(0),
        resources: Resources::parse(resources).unwrap(),
        call: applied,
    };
    call(b, now, |b, ctx| {
        b.on_message(ctx, MASTER, Msg::Offers(Box::new(vec![o])))
    })
}

fn launched(effects: &Effects) -> Vec<u32> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send {
                msg: Msg::Accept(a), ..
            } => Some(a.tasks.iter().map(|t| t.id.0).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn packs_queued_tasks_first_fit_into_an_offer() {
    let mut b = framework(None);
    submit(&mut b, at(1), &["cpus:2", "cpus:8", "cpus:1", "cpus:1"]);
    // 4 cpus: task 0 (2) fits, task 1 (8) does not, tasks 2 and 3 (1 each) fill the rest.
    assert_eq!(launched(&offer(&mut b, at(2), "cpus:4")), vec![0, 2, 3]);
    assert_eq!(b.queued(), 1);
}

#[test]
fn max_tasks_per_offer_caps_each_accept_and_unusable_offers_are_declined() {
    let mut b = framework(Some(1));
    submit(&mut b, at(1), &["cpus:1", "cpus:1"]);
    assert_eq!(launched(&offer(&mut b, at(2), "cpus:4")), vec![0]);
    let effects = offer(&mut b, at(3), "mem:10");
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Send {
            msg: Msg::Decline { .. },
            ..
        }
    )));
}

fn arms_idle(effects: &Effects) -> bool {
    effects.iter().any(|e| {
        matches!(
            e,
            Effect::SetTimer {
                timer: BatchTimer::Idle,
                ..
            }
        )
    })
}

#[test]
fn offers_to_an_idle_framework_do_not_restart_its_countdown() {
    let mut b = framework(None);
    submit(&mut b, at(1_000), &["cpus:1"]);
    // The offer empties the queue: the countdown starts (10 s, to 12 s).
    let effects = offer(&mut b, at(2_000), "cpus:4");
    assert!(arms_idle(&effects));
    // Offers keep coming every second and are declined; the countdown stands.
    for t in 3..12 {
        let effects = offer(&mut b, at(t * 1_000), "cpus:4");
        assert!(!arms_idle(&effects), "re-armed at {t} s");
    }
    let effects = call(&mut b, at(12_000), |b, ctx| b.on_timer(ctx, BatchTimer::Idle));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Send {
            msg: Msg::Suppress { .. },
            ..
        }
    )));
    // New work cancels a countdown; the next idle spell starts a fresh one.
    submit(&mut b, at(13_000), &["cpus:1"]);
    let effects = offer(&mut b, at(18_000), "cpus:4");
    assert!(arms_idle(&effects));
}

#[test]
fn suppresses_once_idle_and_revives_at_most_every_interval() {
    let mut b = framework(None);
    // Registered with nothing queued: the idle countdown starts, then it suppresses.
    let effects = call(&mut b, at(10_000), |b, ctx| b.on_timer(ctx, BatchTimer::Idle));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Send {
            msg: Msg::Suppress { .. },
            ..
        }
    )));
    // Work arrives: revive at once.
    let effects = submit(&mut b, at(11_000), &["cpus:1"]);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Send {
            msg: Msg::Revive { .. },
            ..
        }
    )));
    offer(&mut b, at(11_100), "cpus:4");
    call(&mut b, at(21_200), |b, ctx| b.on_timer(ctx, BatchTimer::Idle));
    // More work 1 s after: within the 5 s interval, the revive is held back to 16 s.
    let effects = submit(&mut b, at(12_000), &["cpus:1"]);
    assert!(!effects.iter().any(|e| matches!(
        e,
        Effect::Send {
            msg: Msg::Revive { .. },
            ..
        }
    )));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::SetTimer { timer: BatchTimer::Revive, at: t } if *t == at(16_000)))
    );
    let effects = call(&mut b, at(16_000), |b, ctx| b.on_timer(ctx, BatchTimer::Revive));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Send {
            msg: Msg::Revive { .. },
            ..
        }
    )));
}

#[test]
fn lost_tasks_are_queued_again_and_failed_ones_are_not() {
    let mut b = framework(None);
    submit(&mut b, at(1), &["cpus:1", "cpus:1"]);
    offer(&mut b, at(2), "cpus:2");
    let effects = call(&mut b, at(3), |b, ctx| {
        b.on_message(ctx, MASTER, update(0, TaskState::Lost))
    });
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Send {
            msg: Msg::Acknowledge { .. },
            ..
        }
    )));
    call(&mut b, at(3), |b, ctx| {
        b.on_message(ctx, MASTER, update(1, TaskState::Failed))
    });
    assert_eq!(b.queued(), 1, "the lost task is back in the queue");
    assert_eq!((b.stats().retried, b.stats().failed), (1, 1));
}

fn filters_sent(effects: &Effects) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send {
                msg: Msg::UpdateFramework(u),
                ..
            } => Some(
                u.offer_filters
                    .as_ref()
                    .map_or("none".to_owned(), |f| f.to_string()),
            ),
            _ => None,
        })
        .collect()
}

#[test]
fn offer_filters_follow_the_queue_loosening_at_once_and_tightening_at_most_every_minute() {
    let mut config = BatchConfig::new("b", "r", MASTER);
    config.offer_filters = true;
    let mut b = Batch::new(config);
    call(&mut b, at(0), |b, ctx| b.on_start(ctx));
    let registered = Msg::FrameworkRegistered {
        framework: FrameworkId(0),
    };
    // Nothing queued at registration: no filters yet.
    let effects = call(&mut b, at(0), |b, ctx| b.on_message(ctx, MASTER, registered));
    assert!(filters_sent(&effects).is_empty());
    // The queue's minimal shapes (rounded down: 4096 MB to 4000), each sent once.
    let effects = submit(
        &mut b,
        at(1_000),
        &["cpus:4;mem:1024", "cpus:2;mem:4096", "cpus:8;mem:8192"],
    );
    assert_eq!(filters_sent(&effects), ["cpus:2;mem:4000|cpus:4;mem:1000"]);
    assert!(filters_sent(&submit(&mut b, at(1_500), &["cpus:8;mem:8192"])).is_empty());
    // A smaller task loosens them at once.
    let effects = submit(&mut b, at(2_000), &["cpus:1;mem:500"]);
    assert_eq!(filters_sent(&effects), ["cpus:1;mem:500"]);
    // It launches: the filters could tighten, but not before a minute since the last change.
    let effects = offer(&mut b, at(3_000), "cpus:1;mem:512");
    assert_eq!(launched(&effects), [4]);
    assert!(filters_sent(&effects).is_empty());
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::SetTimer { timer: BatchTimer::Tighten, at: t } if *t == at(62_000)
    )));
    let effects = call(&mut b, at(62_000), |b, ctx| b.on_timer(ctx, BatchTimer::Tighten));
    assert_eq!(filters_sent(&effects), ["cpus:2;mem:4000|cpus:4;mem:1000"]);
}

fn sends_revive(effects: &Effects) -> bool {
    effects.iter().any(|e| {
        matches!(
            e,
            Effect::Send {
                msg: Msg::Revive { .. },
                ..
            }
        )
    })
}

#[test]
fn an_offer_made_before_a_revive_does_not_answer_it() {
    let mut b = framework(None);
    // Idle: suppress (call 1). Work: revive (call 2), which is lost on the way.
    call(&mut b, at(10_000), |b, ctx| b.on_timer(ctx, BatchTimer::Idle));
    assert!(sends_revive(&submit(&mut b, at(11_000), &["cpus:4"])));
    // An offer the master made before it heard the suppress arrives now: too small, and
    // not an answer to the revive.
    offer_after_call(&mut b, at(11_100), "cpus:1", 0);
    let effects = call(&mut b, at(41_000), |b, ctx| {
        b.on_timer(ctx, BatchTimer::ReviveCheck)
    });
    assert!(
        sends_revive(&effects),
        "no answer to the revive: it is sent again"
    );
    // This time an offer made after the revive comes (too small again): no third revive.
    offer(&mut b, at(41_100), "cpus:1");
    let effects = call(&mut b, at(71_000), |b, ctx| {
        b.on_timer(ctx, BatchTimer::ReviveCheck)
    });
    assert!(!sends_revive(&effects));
}

#[test]
fn a_task_killed_that_its_user_did_not_mean_to_kill_is_queued_again() {
    let mut b = framework(None);
    let request = |outcome| TaskRequest {
        command: None,
        resources: Resources::parse("cpus:1").unwrap(),
        run: TaskRun {
            duration: Some(Duration::from_secs(60)),
            outcome,
        },
        job: None,
        retry_of: None,
    };
    // Task 0's user kills it after a minute (a trace's kill); task 1 was meant to finish.
    let tasks = vec![request(TaskOutcome::Killed), request(TaskOutcome::Succeed)];
    call(&mut b, at(1), |b, ctx| {
        b.on_message(ctx, NodeId(7), Msg::Submit(Box::new(tasks)))
    });
    assert_eq!(launched(&offer(&mut b, at(2), "cpus:2")), vec![0, 1]);
    for task in [0, 1] {
        let update = Msg::Update(Box::new(crate::proto::StatusUpdate {
            framework: FrameworkId(0),
            task: TaskId(task),
            agent: Some(AgentId(0)),
            state: TaskState::Killed,
            reason: Some(Reason::TaskKilled),
            message: String::new(),
            uuid: Some(1),
        }));
        call(&mut b, at(61), |b, ctx| b.on_message(ctx, MASTER, update));
    }
    // Task 1 was killed by the master (its agent came back after the framework missed its
    // TASK_LOST): it runs again.
    assert_eq!(b.queued(), 1);
    assert_eq!((b.stats().retried, b.stats().failed), (1, 1));
}

/// The registrations a framework sends: the id it asks for, for each.
fn registrations(effects: &Effects) -> Vec<Option<FrameworkId>> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send {
                msg: Msg::RegisterFramework(r),
                ..
            } => Some(r.id),
            _ => None,
        })
        .collect()
}

#[test]
fn a_restarted_scheduler_registers_again_under_its_id_and_reconciles_what_it_launched() {
    let mut b = framework(None);
    submit(&mut b, at(1), &["cpus:1", "cpus:1", "cpus:8"]);
    assert_eq!(launched(&offer(&mut b, at(2), "cpus:2")), vec![0, 1]);
    let mut b = restarted();
    call(&mut b, at(10), |b, ctx| b.on_start(ctx));
    let effects = call(&mut b, at(20), |b, ctx| b.on_timer(ctx, BatchTimer::Register));
    assert_eq!(registrations(&effects), vec![Some(FrameworkId(0))]);
    let effects = call(&mut b, at(21), |b, ctx| {
        b.on_message(
            ctx,
            MASTER,
            Msg::FrameworkRegistered {
                framework: FrameworkId(0),
            },
        )
    });
    let asked: Vec<u32> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send {
                msg: Msg::Reconcile(tasks),
                ..
            } => Some(tasks.iter().map(|(t, _)| t.0).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(asked, vec![0, 1], "the tasks it launched before it crashed");
    // Its queue survived: the big task still waits, and new ids do not reuse old ones
    // (they start at the bound it had persisted).
    assert_eq!(b.queued(), 1);
    submit(&mut b, at(22), &["cpus:1"]);
    assert_eq!(launched(&offer(&mut b, at(23), "cpus:1")), vec![TASK_BLOCK]);
}

#[test]
fn a_scheduler_back_after_its_framework_was_removed_runs_its_killed_tasks_again() {
    let mut b = framework(None);
    submit(&mut b, at(1), &["cpus:1", "cpus:1"]);
    assert_eq!(launched(&offer(&mut b, at(2), "cpus:2")), vec![0, 1]);
    let mut b = restarted();
    call(&mut b, at(10), |b, ctx| b.on_start(ctx));
    call(&mut b, at(20), |b, ctx| b.on_timer(ctx, BatchTimer::Register));
    let effects = call(&mut b, at(21), |b, ctx| {
        b.on_message(
            ctx,
            MASTER,
            Msg::FrameworkRemoved {
                framework: FrameworkId(0),
            },
        )
    });
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::SetTimer {
            timer: BatchTimer::Register,
            ..
        }
    )));
    let effects = call(&mut b, at(30), |b, ctx| b.on_timer(ctx, BatchTimer::Register));
    assert_eq!(registrations(&effects), vec![None], "a new framework");
    assert_eq!(b.queued(), 2, "both killed tasks wait to run again");
    assert_eq!(b.stats().retried, 2);
    let effects = call(&mut b, at(31), |b, ctx| {
        b.on_message(
            ctx,
            MASTER,
            Msg::FrameworkRegistered {
                framework: FrameworkId(1),
            },
        )
    });
    // Announced under the new id as runs of the tasks they replace.
    let retries: Vec<(FrameworkId, Option<TaskId>)> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Publish(Msg::Event(ev)) => match &**ev {
                Event::TaskSubmitted {
                    framework, retry_of, ..
                } => Some((*framework, *retry_of)),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(
        retries,
        vec![
            (FrameworkId(1), Some(TaskId(0))),
            (FrameworkId(1), Some(TaskId(1)))
        ]
    );
    assert_eq!(
        launched(&offer(&mut b, at(32), "cpus:2")),
        vec![TASK_BLOCK, TASK_BLOCK + 1]
    );
}

#[test]
fn a_scheduler_removed_while_away_arms_its_old_tasks_timers_no_more() {
    let mut b = framework(None);
    submit(&mut b, at(1), &["cpus:1"]);
    assert_eq!(launched(&offer(&mut b, at(2), "cpus:1")), vec![0]);
    let mut b = restarted();
    call(&mut b, at(10), |b, ctx| b.on_start(ctx));
    call(&mut b, at(20), |b, ctx| b.on_timer(ctx, BatchTimer::Register));
    let removed = Msg::FrameworkRemoved {
        framework: FrameworkId(0),
    };
    call(&mut b, at(21), |b, ctx| b.on_message(ctx, MASTER, removed));
    let registered = |id| Msg::FrameworkRegistered {
        framework: FrameworkId(id),
    };
    call(&mut b, at(22), |b, ctx| b.on_message(ctx, MASTER, registered(1)));
    // The killed task runs again under the new framework, and waits to be seen running.
    assert_eq!(launched(&offer(&mut b, at(23), "cpus:1")), vec![TASK_BLOCK]);
    // Registered again later (with another master): nothing of the recovery is armed again.
    call(&mut b, at(30), |b, ctx| {
        b.registrar.leader_is(ctx, BatchTimer::Register, Some(MASTER), 5);
    });
    let effects = call(&mut b, at(31), |b, ctx| b.on_message(ctx, MASTER, registered(1)));
    assert!(
        !effects.iter().any(|e| matches!(
            e,
            Effect::SetTimer {
                timer: BatchTimer::LaunchCheck,
                ..
            }
        )),
        "{effects:?}"
    );
}

#[test]
fn a_restarted_scheduler_keeps_what_it_knew_of_unreachable_and_replaced_tasks() {
    let mut config = BatchConfig::new("b", "r", MASTER);
    config.partition_aware = true;
    let mut b = Batch::new(config);
    STORE.with(|store| *store.borrow_mut() = Store::default());
    call(&mut b, at(0), |b, ctx| b.on_start(ctx));
    let registered = Msg::FrameworkRegistered {
        framework: FrameworkId(0),
    };
    call(&mut b, at(0), |b, ctx| b.on_message(ctx, MASTER, registered));
    submit(&mut b, at(1), &["cpus:1", "cpus:1", "cpus:1", "cpus:4"]);
    assert_eq!(launched(&offer(&mut b, at(2), "cpus:3")), vec![0, 1, 2]);
    // Task 0 runs; task 1 is unreachable and replaced by task 4; task 2 finishes.
    call(&mut b, at(3), |b, ctx| {
        b.on_message(ctx, MASTER, update(0, TaskState::Running))
    });
    call(&mut b, at(3), |b, ctx| {
        b.on_message(ctx, MASTER, update(1, TaskState::Unreachable))
    });
    call(&mut b, at(3), |b, ctx| {
        b.on_message(ctx, MASTER, update(2, TaskState::Finished))
    });
    call(&mut b, at(400_000), |b, ctx| {
        b.on_timer(ctx, BatchTimer::Replace(TaskId(1)))
    });
    let before = (b.in_flight().collect::<Vec<_>>(), b.waiting_on(), b.queued());
    assert_eq!(before.1, (vec![], vec![(TaskId(1), AgentId(0))]));

    let b = restarted();
    let after = (b.in_flight().collect::<Vec<_>>(), b.waiting_on(), b.queued());
    assert_eq!(after, before);
    assert_eq!(after.0, vec![TaskId(0)], "the finished task is forgotten");
    assert_eq!(after.2, 2, "the big task and the replacement of task 1");
    let keys: Vec<u64> = STORE.with(|store| store.borrow().keys().collect());
    assert_eq!(keys, vec![0, 1, 2, 4, 5], "meta, tasks 0, 1, 3 and 4");
}
