//! summary.json: the run's figures, byte-identical for the same binary, scenario and seed.
//!
//! Fields are added, never renamed or removed without bumping [`Summary::SCHEMA`]. Nothing
//! measured on the wall clock goes here (that is run.json).

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub schema: &'static str,
    pub scenario: String,
    pub seed: u64,
    pub allocator: &'static str,
    /// Hex of the event-stream digest: equal digests, equal runs.
    pub digest: String,
    pub simulated_s: f64,
    pub events: u64,
    pub agents: AgentsSummary,
    pub network: NetworkSummary,
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
pub struct NetworkSummary {
    pub messages_sent: u64,
    pub messages_delivered: u64,
    pub dropped: u64,
    pub duplicated: u64,
}
