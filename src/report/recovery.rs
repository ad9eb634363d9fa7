//! Recovery over a run's faults: the durations each fault's recovery is measured by, and
//! summary.json's `recovery` built from the faults: totals, maxima and each duration's
//! distribution over the faults. `mesosim compare` and `mesosim sweep` pool the same
//! durations over seeds (`crate::sweep::recovery`).

use std::collections::BTreeMap;

use super::summary::{Distribution, FaultSummary, RecoverySummary};
use crate::metrics::Quantiles;

/// A duration of a fault's recovery, from the fault's start, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Until the master first marked an agent lost to it unreachable (or, for a master
    /// crash, a new master led).
    Detect,
    /// A master crash: until the next master led.
    Elect,
    /// Until every agent lost to it was registered again.
    Restored,
    /// A master crash: until the last agent the new leader expected registered with it.
    Reregistered,
    /// Until every task it hit ran again or ended for good.
    Recovered,
}

impl Phase {
    /// In the order a recovery goes through them.
    pub const ALL: [Phase; 5] = [
        Phase::Detect,
        Phase::Elect,
        Phase::Restored,
        Phase::Reregistered,
        Phase::Recovered,
    ];

    /// The field's name, per fault and for the distributions.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Detect => "detect_s",
            Phase::Elect => "elect_s",
            Phase::Restored => "restored_s",
            Phase::Reregistered => "reregistered_s",
            Phase::Recovered => "recovered_s",
        }
    }

    /// What it waits for, in words.
    pub fn until(self) -> &'static str {
        match self {
            Phase::Detect => "master noticed",
            Phase::Elect => "next master led",
            Phase::Restored => "lost agents all back",
            Phase::Reregistered => "agents all back with the new master",
            Phase::Recovered => "hit tasks all ran again",
        }
    }

    /// Its distribution over a run's faults, in the run's summary.
    pub fn spread(self, r: &RecoverySummary) -> Option<&Distribution> {
        match self {
            Phase::Detect => r.detect_s.as_ref(),
            Phase::Elect => r.elect_s.as_ref(),
            Phase::Restored => r.restored_s.as_ref(),
            Phase::Reregistered => r.reregistered_s.as_ref(),
            Phase::Recovered => r.recovered_s.as_ref(),
        }
    }

    /// Whether only a master crash has it.
    pub fn master_only(self) -> bool {
        matches!(self, Phase::Elect | Phase::Reregistered)
    }

    /// Fault `f`'s duration, if it has one. A fault that hit no task has none to recover
    /// (its `recovered_s` is 0), as one that lost no agent has no `restored_s`.
    pub fn of(self, f: &FaultSummary) -> Option<f64> {
        match self {
            Phase::Detect => f.detect_s,
            Phase::Elect => f.elect_s,
            Phase::Restored => f.restored_s,
            // A scheduler crash has its own reregistered_s (its framework back), not this.
            Phase::Reregistered => f.reregistered_s.flatten().filter(|_| f.kind == "crash_master"),
            Phase::Recovered => f.recovered_s.filter(|_| f.tasks_affected > 0),
        }
    }

    /// The same of a fault as summary.json writes it (an element of `recovery.events`).
    pub fn of_json(self, fault: &serde_json::Value) -> Option<f64> {
        let hit = fault.get("tasks_affected").and_then(serde_json::Value::as_u64) != Some(0);
        let master = fault.get("kind").and_then(serde_json::Value::as_str) == Some("crash_master");
        let value = fault.get(self.name()).and_then(serde_json::Value::as_f64);
        value
            .filter(|_| self != Phase::Recovered || hit)
            .filter(|_| self != Phase::Reregistered || master)
    }
}

/// The exact distribution of `values` (any order; non-finite ones left out).
pub fn distribution(values: impl IntoIterator<Item = f64>) -> Distribution {
    let mut sorted: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    Quantiles::exact(&sorted)
}

/// summary.json's `recovery` from the run's faults, in the order they began.
pub fn summarise(events: Vec<FaultSummary>) -> RecoverySummary {
    let mut lost: BTreeMap<String, f64> = BTreeMap::new();
    for e in &events {
        for (k, v) in &e.capacity_lost {
            *lost.entry(k.clone()).or_insert(0.0) += v;
        }
    }
    let master_crashed = events.iter().any(|e| e.kind == "crash_master");
    // Absent without faults (so that a run without any reads as before), and the master's
    // durations absent without a master crash.
    let spread = |phase: Phase| {
        (!events.is_empty() && (master_crashed || !phase.master_only()))
            .then(|| distribution(events.iter().filter_map(|e| phase.of(e))))
    };
    RecoverySummary {
        faults: events.len() as u64,
        tasks_affected: events.iter().map(|e| e.tasks_affected).sum(),
        tasks_unrecovered: events.iter().map(|e| e.tasks_unrecovered).sum(),
        // Faults the master never noticed (nothing lost) have no detection time to count.
        detect_s_max: events.iter().filter_map(|e| e.detect_s).reduce(f64::max),
        // Null as soon as one fault never recovered.
        recovered_s_max: events
            .iter()
            .map(|e| e.recovered_s)
            .try_fold(None::<f64>, |m, x| x.map(|x| Some(m.map_or(x, |m| m.max(x)))))
            .flatten(),
        capacity_lost: lost,
        detect_s: spread(Phase::Detect),
        elect_s: spread(Phase::Elect),
        restored_s: spread(Phase::Restored),
        reregistered_s: spread(Phase::Reregistered),
        recovered_s: spread(Phase::Recovered),
        events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(kind: &'static str, detect: Option<f64>, recovered: Option<f64>) -> FaultSummary {
        FaultSummary {
            kind,
            target: "node-1".into(),
            at_s: 60.0,
            healed_s: None,
            detect_s: detect,
            agents_lost: 1,
            restored_s: None,
            tasks_affected: 2,
            tasks_unrecovered: u64::from(recovered.is_none()),
            recovered_s: recovered,
            capacity_lost: BTreeMap::from([("cpus".to_owned(), 10.0)]),
            elect_s: None,
            agents_expected: None,
            reregistered_s: None,
            removed_s: None,
        }
    }

    #[test]
    fn distributions_take_the_faults_that_have_the_figure() {
        let mut untouched = fault("network", None, Some(0.0));
        untouched.tasks_affected = 0;
        let s = summarise(vec![
            fault("crash_agents", Some(80.0), Some(90.0)),
            fault("partition", Some(75.0), None),
            fault("restart_agents", None, Some(5.0)),
            untouched,
        ]);
        let detect = s.detect_s.unwrap();
        assert_eq!(
            (detect.count, detect.p50, detect.max, detect.mean),
            (2, 75.0, 80.0, 77.5)
        );
        // The burst hit no task: it has nothing to recover, and is left out.
        let recovered = s.recovered_s.unwrap();
        assert_eq!((recovered.count, recovered.p50, recovered.max), (2, 5.0, 90.0));
        // No agent came back: a distribution of nothing.
        assert_eq!(s.restored_s.unwrap().count, 0);
        // No master crashed: no master figures.
        assert!(s.elect_s.is_none() && s.reregistered_s.is_none());
        // The maxima as before: recovery's is null while one fault has not recovered.
        assert_eq!((s.detect_s_max, s.recovered_s_max), (Some(80.0), None));
        assert_eq!((s.faults, s.tasks_affected, s.tasks_unrecovered), (4, 6, 1));
        assert_eq!(s.capacity_lost["cpus"], 40.0);

        let mut crash = fault("crash_master", Some(11.0), Some(0.0));
        crash.elect_s = Some(11.0);
        crash.reregistered_s = Some(None);
        let s = summarise(vec![crash]);
        assert_eq!(s.elect_s.unwrap().max, 11.0);
        assert_eq!(s.reregistered_s.unwrap().count, 0);
    }

    #[test]
    fn no_faults_no_distributions() {
        let s = summarise(Vec::new());
        let json = serde_json::to_value(&s).unwrap();
        for phase in Phase::ALL {
            assert!(json.get(phase.name()).is_none(), "{json}");
        }
        assert_eq!((s.detect_s_max, s.recovered_s_max), (None, None));
    }

    #[test]
    fn json_faults_read_as_the_structs() {
        let mut untouched = fault("network", None, Some(0.0));
        untouched.tasks_affected = 0;
        let faults = [
            fault("crash_agents", Some(80.0), None),
            fault("partition", Some(75.0), Some(80.0)),
            untouched,
        ];
        for f in faults {
            let json = serde_json::to_value(&f).unwrap();
            for phase in Phase::ALL {
                assert_eq!(phase.of_json(&json), phase.of(&f), "{}", phase.name());
            }
        }
    }
}
