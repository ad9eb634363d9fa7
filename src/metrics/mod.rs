//! Metrics, collected by observing what happens (messages, task exits, the master's operator
//! stream), never by reaching into a process.

use std::cell::RefCell;
use std::rc::Rc;

use crate::ids::NodeId;
use crate::proto::{Msg, OperatorEvent};
use crate::sim::Observer;
use crate::time::Instant;

/// Everything collected during one run.
#[derive(Clone, Debug, Default)]
pub struct Collector {
    pub agents_added: u64,
    pub agents_unreachable: u64,
    pub messages_delivered: u64,
}

impl Collector {
    fn on_event(&mut self, _now: Instant, event: &OperatorEvent) {
        match event {
            OperatorEvent::AgentAdded { .. } => self.agents_added += 1,
            OperatorEvent::AgentUnreachable { .. } => self.agents_unreachable += 1,
        }
    }
}

/// The simulator's handle on a collector the run keeps reading.
pub struct Shared(pub Rc<RefCell<Collector>>);

impl Observer<Msg> for Shared {
    fn message(&mut self, _now: Instant, _from: NodeId, _to: NodeId, _msg: &Msg) {
        self.0.borrow_mut().messages_delivered += 1;
    }

    fn published(&mut self, now: Instant, _node: NodeId, event: &Msg) {
        if let Msg::Event(event) = event {
            self.0.borrow_mut().on_event(now, event);
        }
    }
}
