//! The master driven directly through the seam: no simulator, just a recorder of effects.

use super::*;
use crate::process::{Effect, Recorder};
use crate::proto::{Event as OperatorEvent, RegisterAgent};
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
    m.touched = Some(AgentId(0));
    let err = m.check_invariants().unwrap_err();
    assert!(err.contains("missed 5 pings"), "{err}");
}
