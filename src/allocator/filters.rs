//! Decline filters, as Mesos keeps them.
//!
//! A decline (or the unused part of an accept) with `refuse_seconds > 0` installs a filter
//! for (framework, agent) lasting `max(allocation_interval, refuse_seconds)`. It blocks an
//! offer only if the refused resources *contain* it: more or other free resources get
//! through. Mesos removes a filter with a timer; an allocation at the removal instant still
//! sees it exactly when its duration equals the allocation interval (the periodic timer
//! predates the filter). Revive clears a framework's filters; a removed agent clears its own.

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::{AgentId, FrameworkId};
use crate::lookup::LookupMap;
use smallvec::SmallVec;

use crate::resources::{Resources, Totals};
use crate::time::{Duration, Instant};

#[derive(Clone, Debug)]
struct Filter {
    refused: Resources,
    expires: Instant,
    /// The filter lasts exactly one allocation interval.
    one_interval: bool,
}

impl Filter {
    fn active(&self, now: Instant) -> bool {
        now < self.expires || (now == self.expires && self.one_interval)
    }

    /// Whether `refused` contains an offer, given the offer's plain totals if it has them.
    fn contains(&self, offer: &Resources, offer_plain: Option<&Totals>) -> bool {
        match (self.refused.plain_totals(), offer_plain) {
            (Some(refused), Some(offer)) => refused.covers(offer),
            // Plain refused resources hold none of what makes an offer not plain.
            (Some(_), None) => false,
            (None, _) => self.refused.contains(offer),
        }
    }
}

#[derive(Clone, Default)]
pub struct Filters {
    table: LookupMap<(FrameworkId, AgentId), SmallVec<[Filter; 1]>>,
    /// Agents each framework has filters on (possibly expired), for clearing by framework.
    by_framework: BTreeMap<FrameworkId, BTreeSet<AgentId>>,
    /// Frameworks with filters on each agent (possibly expired), for clearing by agent.
    by_agent: BTreeMap<AgentId, BTreeSet<FrameworkId>>,
}

impl Filters {
    /// Installs a filter for `refuse` (non-zero), lasting at least one `interval`.
    pub fn add(
        &mut self,
        framework: FrameworkId,
        agent: AgentId,
        refused: Resources,
        now: Instant,
        refuse: Duration,
        interval: Duration,
    ) {
        let d = refuse.max(interval);
        let filter = Filter {
            refused,
            expires: now + d,
            one_interval: d == interval,
        };
        let list = self.table.get_or_insert_with((framework, agent), SmallVec::new);
        // A filter ending sooner on resources the new one contains blocks nothing more.
        list.retain(|f| {
            f.active(now) && !(f.expires < filter.expires && filter.refused.contains(&f.refused))
        });
        list.push(filter);
        self.by_framework.entry(framework).or_default().insert(agent);
        self.by_agent.entry(agent).or_default().insert(framework);
    }

    /// True if an active filter of `framework` on `agent` contains `offer`.
    pub fn blocks(
        &mut self,
        framework: FrameworkId,
        agent: AgentId,
        offer: &Resources,
        now: Instant,
    ) -> bool {
        self.blocks_plain(framework, agent, offer, offer.plain_totals().as_ref(), now)
    }

    /// [`Filters::blocks`], given `offer.plain_totals()`: `offer` itself is looked at only
    /// by filters on resources that are not plain.
    pub fn blocks_plain(
        &mut self,
        framework: FrameworkId,
        agent: AgentId,
        offer: &Resources,
        plain: Option<&Totals>,
        now: Instant,
    ) -> bool {
        let Some(list) = self.table.get_mut(&(framework, agent)) else {
            return false;
        };
        list.retain(|f| f.active(now));
        if list.is_empty() {
            self.table.remove(&(framework, agent));
            return false;
        }
        list.iter().any(|f| f.contains(offer, plain))
    }

    pub fn clear_framework(&mut self, framework: FrameworkId) {
        for agent in self.by_framework.remove(&framework).unwrap_or_default() {
            self.table.remove(&(framework, agent));
        }
    }

    pub fn clear_agent(&mut self, agent: AgentId) {
        for framework in self.by_agent.remove(&agent).unwrap_or_default() {
            self.table.remove(&(framework, agent));
        }
    }

    /// (framework, agent) pairs with filters stored (some may have expired).
    pub fn stored(&self) -> usize {
        self.table.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    #[test]
    fn a_filter_blocks_what_it_contains_until_it_expires() {
        let mut f = Filters::default();
        let (fw, agent) = (FrameworkId(0), AgentId(0));
        let r = |t: &str| Resources::parse(t).unwrap();
        f.add(
            fw,
            agent,
            r("cpus:2;mem:1024"),
            at(0),
            Duration::from_secs(2),
            Duration::from_secs(1),
        );
        assert!(f.blocks(fw, agent, &r("cpus:2;mem:1024"), at(1000)));
        assert!(f.blocks(fw, agent, &r("cpus:1;mem:512"), at(1000)));
        assert!(
            !f.blocks(fw, agent, &r("cpus:3;mem:1024"), at(1000)),
            "more resources get through"
        );
        assert!(
            !f.blocks(fw, agent, &r("cpus:2;mem:1024"), at(2000)),
            "gone at its expiry"
        );
        assert!(!f.blocks(FrameworkId(1), agent, &r("cpus:1"), at(1000)));
    }

    #[test]
    fn a_one_interval_filter_still_holds_at_its_expiry_instant() {
        let mut f = Filters::default();
        let r = Resources::parse("cpus:1").unwrap();
        // refuse 1 s with a 60 s interval: lasts 60 s, and the tick at 60 s still sees it.
        f.add(
            FrameworkId(0),
            AgentId(0),
            r.clone(),
            at(0),
            Duration::from_secs(1),
            Duration::from_secs(60),
        );
        assert!(f.blocks(FrameworkId(0), AgentId(0), &r, at(60_000)));
        assert!(!f.blocks(FrameworkId(0), AgentId(0), &r, at(60_001)));
    }

    #[test]
    fn revive_and_agent_removal_clear_filters() {
        let mut f = Filters::default();
        let r = Resources::parse("cpus:1").unwrap();
        let day = Duration::from_days(1);
        f.add(
            FrameworkId(0),
            AgentId(0),
            r.clone(),
            at(0),
            day,
            Duration::from_secs(1),
        );
        f.add(
            FrameworkId(0),
            AgentId(1),
            r.clone(),
            at(0),
            day,
            Duration::from_secs(1),
        );
        f.add(
            FrameworkId(1),
            AgentId(1),
            r.clone(),
            at(0),
            day,
            Duration::from_secs(1),
        );
        f.clear_framework(FrameworkId(0));
        assert!(!f.blocks(FrameworkId(0), AgentId(0), &r, at(1)));
        assert!(f.blocks(FrameworkId(1), AgentId(1), &r, at(1)));
        f.clear_agent(AgentId(1));
        assert!(!f.blocks(FrameworkId(1), AgentId(1), &r, at(1)));
    }
}
