//! The coordinator driven directly through the seam.

use super::*;
use crate::ids::AgentId;
use crate::process::{Effect, Recorder};
use crate::proto::{RegisteredAgent, RegistryOp};
use crate::resources::Resources;

type Effects = Vec<Effect<Msg, CoordinatorTimer>>;

const M1: NodeId = NodeId(1);
const M2: NodeId = NodeId(2);
const AGENT: NodeId = NodeId(7);

fn at(millis: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(millis)
}

fn call(c: &mut Coordinator, now: Instant, f: impl FnOnce(&mut Coordinator, &mut CoordCtx<'_>)) -> Effects {
    let mut rec = Recorder::new(1, "coordinator");
    f(c, &mut Ctx::new(now, NodeId(0), &mut rec));
    c.check_invariants().expect("invariants hold");
    rec.effects
}

fn leader_news(effects: &Effects, to: NodeId) -> Option<(Option<NodeId>, u32)> {
    effects.iter().rev().find_map(|e| match e {
        Effect::Send {
            to: t,
            msg: Msg::LeaderIs { leader, epoch },
        } if *t == to => Some((*leader, *epoch)),
        _ => None,
    })
}

fn beat(session: u64, sent: Instant) -> Msg {
    Msg::Heartbeat(Box::new(crate::proto::Beat { session, sent }))
}

fn admit(id: u32, name: &str) -> RegistryOp {
    RegistryOp::AdmitAgent {
        id: AgentId(id),
        agent: RegisteredAgent {
            name: name.to_owned(),
            node: NodeId(10 + id),
            resources: Resources::parse("cpus:1").unwrap(),
            boot: 0,
            unreachable: false,
        },
    }
}

#[test]
fn the_first_contender_leads_and_the_next_takes_over_when_its_session_expires() {
    let mut c = Coordinator::new(CoordinatorConfig::default());
    let e = call(&mut c, at(0), |c, ctx| {
        c.on_message(ctx, M1, Msg::Contend { session: 1 })
    });
    assert_eq!(leader_news(&e, M1), Some((Some(M1), 1)));
    call(&mut c, at(10), |c, ctx| {
        c.on_message(ctx, M2, Msg::Contend { session: 1 })
    });
    let e = call(&mut c, at(20), |c, ctx| c.on_message(ctx, AGENT, Msg::Watch));
    assert_eq!(leader_news(&e, AGENT), Some((Some(M1), 1)));
    // M2 keeps its session alive; M1 falls silent.
    for t in [3_000, 6_000, 9_000, 12_000] {
        call(&mut c, at(t), |c, ctx| c.on_message(ctx, M2, beat(1, at(t))));
    }
    // Before the timeout M1 still leads; at it, M2 does, and everyone hears so.
    let e = call(&mut c, at(9_999), |c, ctx| {
        c.on_timer(ctx, CoordinatorTimer::Expire(M1))
    });
    assert_eq!(leader_news(&e, AGENT), None);
    assert_eq!(c.leader(), Some(M1));
    let e = call(&mut c, at(10_000), |c, ctx| {
        c.on_timer(ctx, CoordinatorTimer::Expire(M1))
    });
    assert_eq!(c.leader(), Some(M2));
    assert_eq!(leader_news(&e, AGENT), Some((Some(M2), 2)));
    assert_eq!(leader_news(&e, M2), Some((Some(M2), 2)));
    // A watcher that did not acknowledge hears it again; one that did does not.
    call(&mut c, at(10_100), |c, ctx| {
        c.on_message(ctx, M2, Msg::LeaderAck { epoch: 2 })
    });
    let e = call(&mut c, at(15_000), |c, ctx| {
        c.on_timer(ctx, CoordinatorTimer::Resend)
    });
    assert_eq!(leader_news(&e, AGENT), Some((Some(M2), 2)));
    assert_eq!(leader_news(&e, M2), None);
    // The expired master's heartbeat is refused.
    let e = call(&mut c, at(16_000), |c, ctx| {
        c.on_message(ctx, M1, beat(1, at(16_000)))
    });
    assert!(matches!(
        &e[..],
        [Effect::Send {
            to: M1,
            msg: Msg::SessionExpired { session: 1 }
        }]
    ));
}

#[test]
fn registry_writes_apply_once_in_order_and_only_from_the_leader() {
    let mut c = Coordinator::new(CoordinatorConfig::default());
    call(&mut c, at(0), |c, ctx| {
        c.on_message(ctx, M1, Msg::Contend { session: 1 })
    });
    call(&mut c, at(0), |c, ctx| {
        c.on_message(ctx, M2, Msg::Contend { session: 1 })
    });
    let write = |epoch, first, ops: Vec<RegistryOp>| {
        Msg::RegistryWrite(Box::new(RegistryWrite { epoch, first, ops }))
    };
    // A gap is not applied; a resend overlapping what is applied adds only what is new.
    call(&mut c, at(1), |c, ctx| {
        c.on_message(ctx, M1, write(1, 1, vec![admit(1, "b")]))
    });
    assert!(c.registry().agents.is_empty());
    call(&mut c, at(2), |c, ctx| {
        c.on_message(ctx, M1, write(1, 0, vec![admit(0, "a")]))
    });
    let e = call(&mut c, at(3), |c, ctx| {
        c.on_message(ctx, M1, write(1, 0, vec![admit(0, "a"), admit(1, "b")]))
    });
    assert!(matches!(
        &e[..],
        [Effect::Send {
            msg: Msg::RegistryAck { epoch: 1, upto: 2 },
            ..
        }]
    ));
    let names: Vec<&str> = c.registry().agents.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    // A standby cannot write.
    call(&mut c, at(4), |c, ctx| {
        c.on_message(ctx, M2, write(1, 2, vec![admit(2, "c")]))
    });
    assert_eq!(c.registry().agents.len(), 2);
    // Nor can the old leader once deposed, even with its old epoch.
    call(&mut c, at(10_000), |c, ctx| {
        c.on_timer(ctx, CoordinatorTimer::Expire(M1))
    });
    call(&mut c, at(10_001), |c, ctx| {
        c.on_message(ctx, M1, write(1, 2, vec![admit(2, "c")]))
    });
    assert_eq!(c.registry().agents.len(), 2);
    let e = call(&mut c, at(10_002), |c, ctx| {
        c.on_message(ctx, M2, Msg::RegistryRead { session: 1 })
    });
    assert!(
        matches!(&e[..], [Effect::Send { to: M2, msg: Msg::RegistrySnapshot { epoch: 2, registry } }] if registry.agents.len() == 2)
    );
}

#[test]
fn sessions_are_told_apart_by_number() {
    let mut c = Coordinator::new(CoordinatorConfig::default());
    call(&mut c, at(0), |c, ctx| {
        c.on_message(ctx, M1, Msg::Contend { session: 5 })
    });
    call(&mut c, at(0), |c, ctx| {
        c.on_message(ctx, M2, Msg::Contend { session: 1 })
    });
    assert_eq!(c.leader(), Some(M1));
    // A copy of the request that opened M1's session changes nothing.
    let e = call(&mut c, at(1), |c, ctx| {
        c.on_message(ctx, M1, Msg::Contend { session: 5 })
    });
    assert_eq!(leader_news(&e, M2), None);
    assert_eq!(c.leader(), Some(M1));
    // M1 gave its session up and opened another: it stands in line behind M2, and a late
    // copy of the old request does not bring the old session back.
    let e = call(&mut c, at(2), |c, ctx| {
        c.on_message(ctx, M1, Msg::Contend { session: 9 })
    });
    assert_eq!(leader_news(&e, M2), Some((Some(M2), 2)));
    call(&mut c, at(3), |c, ctx| {
        c.on_message(ctx, M1, Msg::Contend { session: 5 })
    });
    assert_eq!(c.leader(), Some(M2));
    // Heartbeats keep alive only the session they name.
    let e = call(&mut c, at(4), |c, ctx| c.on_message(ctx, M1, beat(5, at(4))));
    assert!(matches!(
        &e[..],
        [Effect::Send {
            to: M1,
            msg: Msg::SessionExpired { session: 5 }
        }]
    ));
    let e = call(&mut c, at(5), |c, ctx| c.on_message(ctx, M1, beat(9, at(5))));
    assert!(
        e.iter()
            .any(|e| matches!(e, Effect::Send { to: M1, msg: Msg::HeartbeatAck(b) } if b.session == 9))
    );
    // The registry is read in the epoch of the one leading, only by it, and only in the
    // session elected: M2 asking from a session it has not opened gets nothing.
    let e = call(&mut c, at(6), |c, ctx| {
        c.on_message(ctx, M1, Msg::RegistryRead { session: 9 })
    });
    assert!(e.is_empty());
    let e = call(&mut c, at(6), |c, ctx| {
        c.on_message(ctx, M2, Msg::RegistryRead { session: 2 })
    });
    assert!(e.is_empty());
    let e = call(&mut c, at(6), |c, ctx| {
        c.on_message(ctx, M2, Msg::RegistryRead { session: 1 })
    });
    assert!(matches!(
        &e[..],
        [Effect::Send {
            to: M2,
            msg: Msg::RegistrySnapshot { epoch: 2, .. }
        }]
    ));
}
