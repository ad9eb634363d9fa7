//! summary.json: the run's figures, byte-identical for the same binary, scenario and seed.
//!
//! Fields are added, never renamed or removed without bumping [`Summary::SCHEMA`]. Nothing
//! measured on the wall clock goes here (that is run.json).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::metrics::ResourceUtilisation;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub schema: &'static str,
    /// `live` for a run of real processes (`mesosim live run`); absent for a simulation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<&'static str>,
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
    pub utilisation: BTreeMap<String, ResourceUtilisation>,
    pub queue_delay_s: Distribution,
    pub network: NetworkSummary,
    /// What a trace replay read and submitted; absent when no framework replays a trace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<crate::workload::trace::TraceCounts>,
    /// Per machine class, per scalar resource: over the time the class had machines.
    pub utilisation_by_class: BTreeMap<String, BTreeMap<String, ResourceUtilisation>>,
    pub jobs: JobsSummary,
    pub fairness: FairnessSummary,
    pub recovery: RecoverySummary,
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
    /// TASK_RUNNING to TASK_FINISHED, over tasks that finished.
    pub run_time_s: Distribution,
    /// Bounded slowdown of tasks that finished: (queue delay + run time) ÷ max(run time,
    /// 10 s), at least 1.
    pub slowdown: Distribution,
    /// First submission to the last task's end, if every submitted task ended; else null.
    pub makespan_s: Option<f64>,
}

/// Tasks grouped by their workload's job id (traces); synthetic workloads have no jobs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobsSummary {
    /// Jobs none of whose tasks is left waiting or running.
    pub completed: u64,
    /// Of those, jobs with a task that failed, was killed or refused.
    pub failed: u64,
    /// First submission to the last task's end.
    pub completion_s: Distribution,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FairnessSummary {
    /// Jain's index over the weighted dominant shares of the roles with demand,
    /// time-weighted (1: equal; 1/n: one role holds everything).
    pub jain_dominant_share: f64,
    /// Jain's index over min(1, share ÷ entitlement) of the roles with demand, where a
    /// role is entitled to the smaller of its fair share and what it wants (held plus
    /// waiting); 1 when every role with demand has what it is entitled to.
    pub jain_entitled: f64,
    /// Largest ÷ smallest weighted mean dominant share of the roles while they had demand;
    /// null when fewer than two roles had demand or one got nothing.
    pub max_min_share_ratio: Option<f64>,
    /// Seconds roles with demand spent below 95% of their entitlement, summed over roles.
    pub below_fair_share_s: f64,
    pub roles: BTreeMap<String, RoleSummary>,
    pub frameworks: BTreeMap<String, FrameworkShareSummary>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RoleSummary {
    pub weight: f64,
    /// Time-weighted mean dominant share over the run, and its largest value.
    pub share_mean: f64,
    pub share_max: f64,
    /// Seconds with tasks waiting (or, for frameworks taking every offer, registered).
    pub demand_s: f64,
    pub share_mean_with_demand: Option<f64>,
    /// Seconds below 95% of its entitlement (the smaller of its fair share, weight ÷ the
    /// weights of the roles with demand, and what it wants) while it had demand.
    pub below_fair_share_s: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FrameworkShareSummary {
    pub role: String,
    pub share_mean: f64,
    pub share_max: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecoverySummary {
    pub faults: u64,
    pub tasks_affected: u64,
    /// Affected tasks neither running again nor ended for good by the end of the run.
    pub tasks_unrecovered: u64,
    /// The slowest detection among the faults the master noticed (null: it noticed none),
    /// and the slowest recovery (null: no faults, or one never recovered).
    pub detect_s_max: Option<f64>,
    pub recovered_s_max: Option<f64>,
    /// Capacity lost × time, summed over faults, per resource (units × s).
    pub capacity_lost: BTreeMap<String, f64>,
    /// Each per-fault duration's distribution over the faults that have it (see
    /// [`super::recovery`]): absent without faults; `elect_s` and `reregistered_s` absent
    /// without a master crash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detect_s: Option<Distribution>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elect_s: Option<Distribution>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored_s: Option<Distribution>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reregistered_s: Option<Distribution>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered_s: Option<Distribution>,
    pub events: Vec<FaultSummary>,
}

/// One fault, and how the cluster recovered from it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaultSummary {
    pub kind: &'static str,
    pub target: String,
    pub at_s: f64,
    /// Until the fault itself ended (process up, machine booted, partition healed, burst
    /// over); null: it never did.
    pub healed_s: Option<f64>,
    /// Until the master first marked an agent lost to it unreachable.
    pub detect_s: Option<f64>,
    /// Agents the master lost to it (crashed, or marked unreachable while cut off).
    pub agents_lost: u64,
    /// Until every lost agent was registered again (null: one never was, or none was lost).
    pub restored_s: Option<f64>,
    pub tasks_affected: u64,
    pub tasks_unrecovered: u64,
    /// Until every affected task ran again or ended for good.
    pub recovered_s: Option<f64>,
    /// Capacity lost × time, per resource (units × s).
    pub capacity_lost: BTreeMap<String, f64>,
    /// A master crash: until the next leader took over (it then expected `agents_expected`
    /// agents back), and until the last of them registered with it (null: one never did).
    /// A scheduler crash: until the framework registered again (null: it never did).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elect_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agents_expected: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reregistered_s: Option<Option<f64>>,
    /// A scheduler crash: until the master removed the framework, its failover timeout
    /// over, and killed its tasks (absent: it did not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_s: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OffersSummary {
    pub made: u64,
    pub accepted: u64,
    pub declined: u64,
    pub rescinded: u64,
    /// Offers made per simulated second.
    pub per_s: f64,
    /// Declined ÷ made.
    pub decline_ratio: f64,
    /// From a framework's queue becoming non-empty to its next offer (zero if it held one).
    pub demand_to_offer_s: Distribution,
}

/// A distribution's count, mean, percentiles and maximum (queue delay, run time, ...).
pub type Distribution = crate::metrics::Quantiles;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NetworkSummary {
    pub messages_sent: u64,
    pub messages_delivered: u64,
    pub dropped: u64,
    pub duplicated: u64,
}
