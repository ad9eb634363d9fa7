//! Allocators: who is offered what, and when.
//!
//! The master owns the offer protocol; an allocator only decides. It hears about agents,
//! frameworks, roles and resources coming back ([`Allocator::recover`]), and when the master
//! runs an allocation cycle it returns allocations: (framework, agent, resources). Offered
//! resources count as allocated to their framework until they come back.
//!
//! Adding an allocator: implement [`policy::Policy`] (just the decisions; the books are kept
//! for you) or, for full control, [`Allocator`] itself, in one file of this folder, and name
//! it in [`NAMES`] and [`build`]; scenarios then select it with
//! `master: { allocator: <name> }`. docs/allocators.md walks through an example.

pub mod binpack;
pub mod drf;
pub mod filters;
pub mod ledger;
pub mod policy;
pub mod quantities;
pub mod random;

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, FrameworkId};
use crate::resources::{MinAllocatable, Resources};
use crate::rng::Rng;
use crate::time::{Duration, Instant};

/// Every allocator a scenario can name.
pub const NAMES: [&str; 3] = ["drf", "binpack", "random"];

/// What an allocator is configured with, from the scenario's `master` section.
#[derive(Clone, Debug, PartialEq)]
pub struct AllocatorConfig {
    pub allocation_interval: Duration,
    pub min_allocatable: MinAllocatable,
    /// Resource names left out of fair-share computations.
    pub fair_sharing_excluded: Vec<String>,
}

impl Default for AllocatorConfig {
    fn default() -> Self {
        AllocatorConfig {
            allocation_interval: Duration::from_secs(1),
            min_allocatable: MinAllocatable::parse("cpus:0.01|mem:32").expect("a valid constant"),
            fair_sharing_excluded: Vec::new(),
        }
    }
}

/// Builds the allocator named `name`, if there is one.
pub fn build(name: &str, config: AllocatorConfig) -> Option<Box<dyn Allocator + Send>> {
    Some(match name {
        "drf" => Box::new(drf::Drf::new(config)),
        "binpack" => Box::new(policy::Booked::new(config, binpack::Binpack::default())),
        "random" => Box::new(policy::Booked::new(config, random::Random)),
        _ => return None,
    })
}

/// A role's quota: a guarantee held back for it, and a limit it is never offered beyond.
/// Scalars only.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    pub guarantee: Resources,
    pub limit: Option<Limits>,
}

/// Per-resource caps, in Mesos's text syntax (`cpus:10;mem:4096`). Unlike [`Resources`], a
/// zero is kept (`cpus:0` forbids cpus); a resource not named is unlimited.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Limits(pub Vec<(smol_str::SmolStr, crate::resources::Scalar)>);

impl Limits {
    pub fn parse(text: &str) -> Result<Limits, String> {
        let mut entries: Vec<(smol_str::SmolStr, crate::resources::Scalar)> = Vec::new();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once(':')
                .ok_or_else(|| format!("invalid limits \"{text}\": expected name:value, found \"{part}\""))?;
            let name = name.trim();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            {
                return Err(format!(
                    "invalid limits \"{text}\": \"{name}\" is not a plain resource name (limits take no roles or ranges)"
                ));
            }
            let v = crate::resources::Scalar::parse(value.trim())
                .map_err(|e| format!("invalid limits \"{text}\": {e}"))?;
            match entries.iter_mut().find(|(n, _)| n == name) {
                Some(_) => return Err(format!("invalid limits \"{text}\": {name} is limited twice")),
                None => entries.push((smol_str::SmolStr::new(name), v)),
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Limits(entries))
    }

    pub fn get(&self, name: &str) -> Option<crate::resources::Scalar> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
}

impl std::fmt::Display for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (name, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{name}:{v}")?;
        }
        Ok(())
    }
}

impl Serialize for Limits {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Limits {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Limits, D::Error> {
        let text = String::deserialize(d)?;
        Limits::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Which agents an allocation cycle considers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Candidates {
    All,
    /// These agents, in ascending id order.
    Some(Vec<AgentId>),
}

/// One decision: offer `resources` on `agent` to `framework`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allocation {
    pub framework: FrameworkId,
    pub agent: AgentId,
    pub resources: Resources,
}

pub trait Allocator {
    /// The name scenarios use.
    fn name(&self) -> &'static str;

    /// An agent joins with `total` resources, of which `used` are already held by tasks of
    /// the given frameworks (empty for a new agent).
    fn add_agent(&mut self, agent: AgentId, total: &Resources, used: &[(FrameworkId, Resources)]);
    /// An agent leaves (removed, or unreachable): its resources are no longer offered and its
    /// allocations are forgotten.
    fn remove_agent(&mut self, agent: AgentId);

    /// A framework joins `role`; `name` breaks ties between equal frameworks.
    fn add_framework(&mut self, framework: FrameworkId, name: &str, role: &str);
    /// The framework is gone: its allocations are forgotten.
    fn remove_framework(&mut self, framework: FrameworkId);
    /// A deactivated framework is offered nothing and loses its filters, but keeps what it
    /// holds.
    fn set_framework_active(&mut self, framework: FrameworkId, active: bool);
    /// No more offers for the framework until it revives.
    fn suppress(&mut self, framework: FrameworkId);
    /// Offers again for the framework, and its decline filters are forgotten.
    fn revive(&mut self, framework: FrameworkId);
    /// The framework's offer filters (Mesos's `OfferFilters`): it is offered only resources
    /// that contain one of these alternatives, in place of the master's `min_allocatable`;
    /// `None` goes back to the master's.
    fn set_offer_filters(&mut self, framework: FrameworkId, filters: Option<MinAllocatable>);

    fn set_weight(&mut self, role: &str, weight: f64);
    fn set_quota(&mut self, role: &str, quota: Quota);

    /// Resources `framework` held on `agent` come back (an offer declined or rescinded, the
    /// unused part of an accepted offer, a finished task). With `refuse`, the framework is
    /// not offered these resources (or less) on that agent for that long.
    fn recover(
        &mut self,
        framework: FrameworkId,
        agent: AgentId,
        resources: &Resources,
        refuse: Option<Duration>,
        now: Instant,
    );

    /// One allocation cycle over `candidates`; appends its decisions to `out`.
    fn allocate(&mut self, now: Instant, candidates: &Candidates, rng: &mut Rng, out: &mut Vec<Allocation>);

    /// Cheap self-checks the master runs after every event (e.g. no role above its limit).
    fn check_invariants(&self) -> Result<(), String> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
