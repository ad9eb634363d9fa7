//! Workloads: where a batch framework's tasks come from, and when they arrive.
//!
//! A workload is a stream of submissions in time order. The world pulls the next one when
//! its time comes and hands it to the framework as a user would (a `Submit` message), so a
//! workload of any length costs memory only for what has arrived and not yet finished.

pub mod synthetic;

use crate::proto::TaskRequest;
use crate::time::Instant;

/// One user submission: tasks that arrive together.
#[derive(Clone, Debug, PartialEq)]
pub struct Arrival {
    pub at: Instant,
    pub tasks: Vec<TaskRequest>,
}

/// A source of arrivals in non-decreasing time order.
pub trait Workload {
    fn next_arrival(&mut self) -> Option<Arrival>;
}
pub mod trace;
