//! summary.json: the run's figures, byte-identical for the same binary, scenario and seed.
//!
//! Fields are added, never renamed or removed without bumping [`Summary::SCHEMA`]. Nothing
//! measured on the wall clock goes here (that is run.json).

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub schema: &'static str,
    pub scenario: String,
    pub seed: u64,
    pub allocator: String,
    /// Hex of the event-stream digest: equal digests, equal runs.
    pub digest: String,
    pub simulated_s: f64,
    pub events: u64,
    pub agents: AgentsSummary,
    pub frameworks: u64,
    pub tasks: TasksSummary,
    pub offers: OffersSummary,
    /// Per scalar resource, in name order.
    pub utilisation: BTreeMap<String, UtilisationSummary>,
    pub queue_delay_s: DelaySummary,
    pub network: NetworkSummary,
    /// What a trace replay read and submitted; absent when no framework replays a trace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<crate::workload::trace::TraceCounts>,
}

impl Summary {
    pub const SCHEMA: &'static str = "mesosim.summary/1";

    /// The canonical bytes of summary.json.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a summary always serializes");
        bytes.push(b'\n');
        bytes
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentsSummary {
    /// Agents the master admitted.
    pub registered: u64,
    /// Times an agent was marked unreachable after missing its pings.
    pub unreachable: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TasksSummary {
    pub submitted: u64,
    /// Reached TASK_RUNNING.
    pub launched: u64,
    pub finished: u64,
    pub failed: u64,
    pub killed: u64,
    pub lost: u64,
    pub error: u64,
    pub dropped: u64,
    /// When the last submitted task reached TASK_RUNNING, if every one did; else null.
    pub all_launched_s: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OffersSummary {
    pub made: u64,
    pub accepted: u64,
    pub declined: u64,
    pub rescinded: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UtilisationSummary {
    /// Time-weighted mean of (offered + used) ÷ total.
    pub allocated_mean: f64,
    /// Time-weighted mean of used ÷ total.
    pub used_mean: f64,
    /// Time-weighted mean of the total, in the resource's unit.
    pub total_mean: f64,
}

/// Submission to TASK_RUNNING, over launched tasks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DelaySummary {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NetworkSummary {
    pub messages_sent: u64,
    pub messages_delivered: u64,
    pub dropped: u64,
    pub duplicated: u64,
}
