//! The masters' processing time, from `master.processing`: what a message costs the master
//! that handles it (see `sim::processing` for how the simulator spends it).

use crate::ids::NodeId;
use crate::process::Message;
use crate::proto::Msg;
use crate::scenario::schema::ProcessingSpec;
use crate::sim::{Cost, CostModel};
use crate::time::Duration;

fn micros(us: f64) -> Duration {
    // Validation keeps `us` within 0 to 10^9, so this neither saturates nor goes negative.
    Duration::from_nanos((us * 1_000.0).round() as u64)
}

/// The cost model of a master: what `spec` charges for each message, except those from
/// the coordinator, which are handled at once (Mesos's master talks to ZooKeeper through a
/// client of its own, so that its session lives however busy it is).
pub fn cost_model(spec: &ProcessingSpec, coordinator: Option<NodeId>) -> CostModel<Msg> {
    let default = Cost {
        message: micros(spec.message_us),
        per_event: micros(spec.event_us),
    };
    let kinds: Vec<(String, Cost)> = spec
        .kinds
        .iter()
        .map(|(kind, c)| {
            let cost = Cost {
                message: micros(c.message_us),
                per_event: micros(c.event_us),
            };
            (kind.clone(), cost)
        })
        .collect();
    // Each message kind's cost, by its tag, found by name the first time the kind comes.
    let by_tag: std::cell::RefCell<Vec<Option<Cost>>> = std::cell::RefCell::default();
    Box::new(move |from, msg| {
        if Some(from) == coordinator {
            return None;
        }
        let tag = usize::from(msg.tag());
        let mut by_tag = by_tag.borrow_mut();
        if by_tag.len() <= tag {
            by_tag.resize(tag + 1, None);
        }
        let cost = by_tag[tag].get_or_insert_with(|| {
            let kind = msg.kind();
            kinds.iter().find(|(k, _)| k == kind).map_or(default, |&(_, c)| c)
        });
        Some(*cost)
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::scenario::schema::{KindCost, PROCESSING_KINDS};

    #[test]
    fn a_kind_listed_costs_its_own_figures_others_the_default_and_the_coordinator_nothing() {
        let spec = ProcessingSpec {
            message_us: 2.0,
            event_us: 0.5,
            kinds: BTreeMap::from([(
                "pong".to_owned(),
                KindCost {
                    message_us: 145.0,
                    event_us: 30.0,
                },
            )]),
        };
        let coordinator = NodeId(7);
        let model = cost_model(&spec, Some(coordinator));
        let agent = NodeId(9);
        let cost = |message, per_event| {
            Some(Cost {
                message: Duration::from_nanos(message),
                per_event: Duration::from_nanos(per_event),
            })
        };
        assert_eq!(model(agent, &Msg::Pong), cost(145_000, 30_000));
        assert_eq!(model(agent, &Msg::Suppress { call: 1 }), cost(2_000, 500));
        assert_eq!(model(coordinator, &Msg::Pong), None);
    }

    #[test]
    fn the_kinds_a_scenario_may_name_are_message_kinds() {
        // The names are Msg::kind()'s: a kind renamed there would cost the default here.
        for msg in [
            Msg::Pong,
            Msg::Suppress { call: 0 },
            Msg::Reconcile(Box::default()),
        ] {
            assert!(PROCESSING_KINDS.contains(&msg.kind()), "{}", msg.kind());
        }
    }
}
