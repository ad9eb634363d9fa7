//! Metrics, collected by observing what happens (the master's and frameworks' operator
//! streams, message deliveries, the scenario's own actions), never by reaching into a
//! process.
//!
//! - utilisation per scalar resource, allocated (offered or used) and used ÷ total,
//!   cluster-wide, per machine class and per agent ([`pools`]);
//! - dominant shares per role and per framework, and fairness among roles with demand
//!   ([`fairness`]);
//! - tasks: counts by outcome, queue delay, run time, slowdown, job completion, makespan
//!   ([`tasks`]), one `tasks.csv` row per task, written when it ends (or when the run does);
//! - offers: counts by how they ended, one `offers.csv` row per offer, and the time from a
//!   framework's demand to its next offer;
//! - recovery from faults ([`recovery`]);
//! - a time series sampled at a fixed interval (interval means of the integrals above), and
//!   a per-agent utilisation grid for the heatmap.

pub mod fairness;
pub mod histogram;
pub mod pools;
pub mod recovery;
mod tasks;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use smallvec::SmallVec;

use crate::ids::{AgentId, FrameworkId, NodeId};
use crate::proto::{Event, Msg, OfferEnd, TaskState};
use crate::report::AtomicFile;
use crate::resources::Resources;
use crate::sim::Observer;
use crate::time::{Duration, Instant};

pub use histogram::{Histogram, Quantiles};
pub use recovery::{Fault, FaultKind, FaultNotice};
pub use tasks::{JobStats, SLOWDOWN_BOUND_S, TaskCounts};

use fairness::Fairness;
use pools::{ALLOCATED, ALLOCATED_FRAC, Amounts, Delta, Holder, Pool, ResNames, TOTAL, USED, USED_FRAC};

/// Where rows go while the run streams them.
pub struct Sinks {
    pub tasks: csv::Writer<AtomicFile>,
    pub offers: Option<csv::Writer<AtomicFile>>,
}

impl Sinks {
    /// Opens `tasks.csv` (and `offers.csv` when `offers`) in `dir`, with their headers.
    pub fn create(dir: &std::path::Path, offers: bool) -> std::io::Result<Sinks> {
        let mut tasks = csv::Writer::from_writer(AtomicFile::create(&dir.join("tasks.csv"))?);
        tasks.write_record([
            "task_id",
            "framework",
            "role",
            "agent",
            "submit_s",
            "launch_s",
            "end_s",
            "state",
            "resources",
            "job",
            "retry_of",
        ])?;
        let offers = if offers {
            let mut w = csv::Writer::from_writer(AtomicFile::create(&dir.join("offers.csv"))?);
            w.write_record(["time_s", "offer_id", "framework", "role", "agent", "resources"])?;
            Some(w)
        } else {
            None
        };
        Ok(Sinks { tasks, offers })
    }

    /// Flushes and moves every file into place.
    pub fn commit(self) -> std::io::Result<()> {
        let unwrap =
            |w: csv::Writer<AtomicFile>| w.into_inner().map_err(|e| std::io::Error::other(e.to_string()));
        unwrap(self.tasks)?.commit()?;
        if let Some(offers) = self.offers {
            unwrap(offers)?.commit()?;
        }
        Ok(())
    }
}

/// What the collector knows of the scenario before the run: configuration, not state.
#[derive(Clone, Debug)]
pub struct Setup {
    /// Time series sampling interval.
    pub sample_interval: Duration,
    /// The scenario's time limit (the heatmap's columns cover it).
    pub duration: Duration,
    /// Role weights as declared (others weigh 1).
    pub weights: Vec<(String, f64)>,
    /// Frameworks that take every offer rather than queueing tasks: they have demand from
    /// registration on.
    pub greedy: Vec<String>,
    /// Machine classes declared in the cluster, with their counts: agent `<class>-<n>`.
    pub classes: Vec<(String, u32)>,
}

impl Setup {
    /// A sampling interval giving at most about a thousand samples: the first of 1 s, 2 s,
    /// 5 s, 10 s, 15 s, 30 s, 1 m, ..., 1 d that is at least a thousandth of `duration`.
    pub fn default_interval(duration: Duration) -> Duration {
        const STEPS: [u64; 18] = [
            1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
        ];
        let want = duration.as_secs_f64() / 1000.0;
        let s = STEPS
            .iter()
            .copied()
            .find(|&s| s as f64 >= want)
            .unwrap_or(86_400);
        Duration::from_secs(s)
    }
}

/// Something the run loop did that the collector cannot see in the event streams.
#[derive(Clone, Debug)]
pub enum Notice {
    /// An agent's machine was removed for good.
    AgentRemoved(String),
    /// A fault began.
    Fault(FaultNotice),
    /// An operator set a role's weight.
    WeightSet { role: String, weight: f64 },
}

/// The heatmap grid has at most this many columns.
const HEAT_COLUMNS: u64 = 240;

#[derive(Clone, Debug)]
struct AgentState {
    name: String,
    class: usize,
    resources: Resources,
    active: bool,
    pool: Pool,
    /// Per resource ∫ allocated ÷ total and ∫ time with capacity at the last heatmap
    /// column boundary.
    heat_prev: (SmallVec<[f64; 4]>, f64),
}

struct FrameworkState {
    name: String,
    role: usize,
    holder: Holder,
    greedy: bool,
    /// Its allocation changed at the collector's current instant and its share has not
    /// been recomputed yet.
    dirty: bool,
    queued: u64,
    offers_out: u64,
    /// Demand began at this time with no offer in hand: waiting for the next.
    waiting_since: Option<Instant>,
    /// Share at each sample.
    samples: Vec<f32>,
}

struct RoleState {
    name: String,
    holder: Holder,
    /// What its frameworks have waiting.
    queued: Amounts,
    /// Has a framework that takes every offer.
    greedy: bool,
    /// As [`FrameworkState::dirty`], for its share and what it wants.
    dirty: bool,
}

impl RoleState {
    /// The dominant share it would hold with everything it has waiting, given the
    /// cluster's inverse totals.
    fn wants(&self, inverse: &[f64]) -> f64 {
        if self.greedy {
            return f64::INFINITY;
        }
        let (held, queued) = (&self.holder.allocated, &self.queued);
        inverse
            .iter()
            .enumerate()
            .map(|(i, inv)| (held.get(i) + queued.get(i)) as f64 * inv)
            .fold(0.0, f64::max)
    }
}

struct ClassState {
    name: String,
    pool: Pool,
    /// Areas at the last sample: ∫ allocated fraction, per resource.
    prev: SmallVec<[f64; 4]>,
}

/// Offer counts by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OfferCounts {
    pub made: u64,
    pub accepted: u64,
    pub declined: u64,
    pub rescinded: u64,
}

/// One row of the time series: interval means over (previous sample, `at`], counts at `at`.
#[derive(Clone, Debug)]
pub struct Sample {
    pub at: Instant,
    /// Per resource index: mean total, allocated and used (units), mean allocated and used
    /// fraction.
    pub cluster: Vec<[f64; 5]>,
    /// Per class, per resource index: mean allocated fraction.
    pub classes: Vec<Vec<f64>>,
    /// Per role: mean dominant share.
    pub roles: Vec<f64>,
    pub queued: u64,
    pub running: u64,
    pub offers_made: u64,
    pub offers_declined: u64,
    /// Mean Jain's index over the interval, when defined.
    pub jain: Option<f64>,
}

/// Everything collected during one run.
pub struct Collector {
    setup: Setup,
    pub agents_added: u64,
    pub agents_unreachable: u64,
    pub messages_delivered: u64,
    pub offers: OfferCounts,
    names: ResNames,
    cluster: Pool,
    /// 1 ÷ the cluster's total per resource (in thousandths), for shares.
    inverse: SmallVec<[f64; 4]>,
    classes: Vec<ClassState>,
    agents: Vec<Option<AgentState>>,
    agent_ids: BTreeMap<String, AgentId>,
    frameworks: Vec<Option<FrameworkState>>,
    /// Each framework's id by name (its first, if it registered again as a new framework).
    framework_ids: BTreeMap<String, FrameworkId>,
    /// A framework registered anew after the master removed it is the same framework to
    /// the reports: its new id, by index, names the id it first had.
    aliases: Vec<Option<FrameworkId>>,
    roles: Vec<RoleState>,
    role_ids: BTreeMap<String, usize>,
    fairness: Fairness,
    /// Shares and fairness change many times at one instant (an allocation round makes
    /// many offers): allocations at `instant` go into the holders at once, while their
    /// shares and the fairness terms are recomputed once, when time moves on.
    instant: Instant,
    dirty_frameworks: Vec<usize>,
    dirty_roles: Vec<usize>,
    tasks: tasks::TaskTracker,
    demand_to_offer: Histogram,
    pub recovery: recovery::Recovery,
    samples: Vec<Sample>,
    next_sample: Instant,
    /// Cluster areas at the last sample.
    prev_cluster: pools::Areas,
    prev_jain: (f64, f64),
    prev_offers: OfferCounts,
    heat_width: Duration,
    next_heat: Instant,
    /// Per heatmap column, per agent index, the allocated fraction over the column of the
    /// agent's resource busiest in it (NaN: not there). Column by column, so that closing
    /// one writes memory in order.
    heat: Vec<Vec<f32>>,
    end: Option<Instant>,
    makespan: Option<f64>,
    sinks: Option<Sinks>,
    /// tasks.csv's row, reused; the last resources written there, and as written.
    task_row: csv::ByteRecord,
    last_resources: (Resources, String),
    /// The first write error; the run reports it at the end.
    pub write_error: Option<std::io::Error>,
}

impl Collector {
    pub fn new(setup: Setup, sinks: Option<Sinks>) -> Collector {
        let interval = if setup.sample_interval.is_zero() {
            Duration::from_secs(1)
        } else {
            setup.sample_interval
        };
        // Heatmap columns: a whole number of samples, at most HEAT_COLUMNS over the run.
        let samples = setup.duration.as_nanos().div_ceil(interval.as_nanos()).max(1);
        let per_column = samples.div_ceil(HEAT_COLUMNS).max(1);
        let heat_width = interval.saturating_mul(per_column);
        let mut c = Collector {
            agents_added: 0,
            agents_unreachable: 0,
            messages_delivered: 0,
            offers: OfferCounts::default(),
            names: ResNames::default(),
            cluster: Pool::starting(Instant::ZERO),
            inverse: SmallVec::new(),
            classes: Vec::new(),
            agents: Vec::new(),
            agent_ids: BTreeMap::new(),
            frameworks: Vec::new(),
            framework_ids: BTreeMap::new(),
            aliases: Vec::new(),
            roles: Vec::new(),
            role_ids: BTreeMap::new(),
            fairness: Fairness::default(),
            instant: Instant::ZERO,
            dirty_frameworks: Vec::new(),
            dirty_roles: Vec::new(),
            tasks: tasks::TaskTracker::default(),
            demand_to_offer: Histogram::default(),
            recovery: recovery::Recovery::default(),
            samples: Vec::new(),
            next_sample: Instant::ZERO + interval,
            prev_cluster: pools::Areas::default(),
            prev_jain: (0.0, 0.0),
            prev_offers: OfferCounts::default(),
            heat_width,
            next_heat: Instant::ZERO + heat_width,
            heat: Vec::new(),
            end: None,
            makespan: None,
            sinks,
            task_row: csv::ByteRecord::new(),
            last_resources: (Resources::new(), Resources::new().to_string()),
            write_error: None,
            setup: Setup {
                sample_interval: interval,
                ..setup
            },
        };
        let weights = c.setup.weights.clone();
        for (name, weight) in weights {
            c.role(&name, weight);
        }
        c
    }

    fn role(&mut self, name: &str, weight: f64) -> usize {
        if let Some(&r) = self.role_ids.get(name) {
            return r;
        }
        let r = self.roles.len();
        self.roles.push(RoleState {
            name: name.to_owned(),
            holder: Holder::default(),
            queued: Amounts::default(),
            greedy: false,
            dirty: false,
        });
        self.fairness.add_role(weight);
        self.role_ids.insert(name.to_owned(), r);
        r
    }

    /// An agent's machine class: its declared cluster class, or else its name without a
    /// trailing number and the `-` or `_` before it (`spare-2` is of class `spare`,
    /// `nasa-node17` of `nasa-node`).
    fn class_of(&mut self, name: &str) -> usize {
        let declared = name.rsplit_once('-').and_then(|(class, n)| {
            let n: u32 = n.parse().ok()?;
            self.setup
                .classes
                .iter()
                .any(|(c, count)| c == class && (1..=*count).contains(&n))
                .then_some(class)
        });
        let class = declared.unwrap_or_else(|| {
            let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
            let stem = if stem.len() < name.len() {
                stem.trim_end_matches(['-', '_'])
            } else {
                stem
            };
            if stem.is_empty() { name } else { stem }
        });
        let class = class.to_owned();
        match self.classes.iter().position(|c| c.name == class) {
            Some(i) => i,
            None => {
                self.classes.push(ClassState {
                    name: class,
                    pool: Pool::starting(Instant::ZERO),
                    prev: SmallVec::new(),
                });
                self.classes.len() - 1
            }
        }
    }

    fn agent_name(&self, agent: AgentId) -> &str {
        self.agents
            .get(agent.index())
            .and_then(|a| a.as_ref())
            .map_or("", |a| a.name.as_str())
    }

    fn framework(&self, framework: FrameworkId) -> (&str, &str) {
        self.frameworks
            .get(framework.index())
            .and_then(|f| f.as_ref())
            .map_or(("", ""), |f| (f.name.as_str(), self.roles[f.role].name.as_str()))
    }

    /// `event` with an aliased framework id replaced by the id it stands for; `None` if it
    /// names no aliased framework (a registration names its own new id: never rewritten).
    fn unaliased(&self, event: &Event) -> Option<Event> {
        if matches!(event, Event::FrameworkAdded { .. }) {
            return None;
        }
        let first = self.aliases.get(event.framework()?.index()).copied().flatten()?;
        let mut e = event.clone();
        *e.framework_mut().expect("it names a framework") = first;
        Some(e)
    }

    fn keep<T>(&mut self, result: Result<T, csv::Error>) {
        if let Err(e) = result
            && self.write_error.is_none()
        {
            self.write_error = Some(std::io::Error::other(e.to_string()));
        }
    }

    /// Adds (`up`) or removes an agent's capacity from the cluster and its class.
    fn capacity(&mut self, now: Instant, agent: AgentId, up: bool) {
        let Some(Some(a)) = self.agents.get_mut(agent.index()) else {
            return;
        };
        let d = self.names.delta(&a.resources);
        d.each(|i, _| self.names.mark_present(i));
        self.cluster.resize(now, &d, up);
        self.classes[a.class].pool.resize(now, &d, up);
        a.pool.resize(now, &d, up);
        // Every share is relative to the cluster's total.
        self.inverse = self
            .cluster
            .total()
            .values()
            .map(|t| if t > 0 { 1.0 / t as f64 } else { 0.0 })
            .collect();
        for f in self.frameworks.iter_mut().flatten() {
            f.holder.advance(now);
            f.holder.reshare(&self.inverse);
        }
        for (r, role) in self.roles.iter_mut().enumerate() {
            role.holder.advance(now);
            role.holder.reshare(&self.inverse);
            self.fairness
                .set_share(now, r, role.holder.share, role.wants(&self.inverse));
        }
    }

    /// Resources offered to (`used`: used by) `framework` on `agent` appear (`up`) or go.
    fn allocation(
        &mut self,
        now: Instant,
        agent: AgentId,
        framework: FrameworkId,
        r: &Resources,
        used: bool,
        up: bool,
    ) {
        let d = self.names.delta(r);
        self.cluster.allocate(now, &d, used, up);
        if let Some(Some(a)) = self.agents.get_mut(agent.index()) {
            self.classes[a.class].pool.allocate(now, &d, used, up);
            a.pool.allocate(now, &d, used, up);
        }
        let i = framework.index();
        if let Some(Some(f)) = self.frameworks.get_mut(i) {
            if !f.dirty {
                f.dirty = true;
                f.holder.advance(now);
                self.dirty_frameworks.push(i);
            }
            let r = f.role;
            let role = &mut self.roles[r];
            if !role.dirty {
                role.dirty = true;
                role.holder.advance(now);
                self.dirty_roles.push(r);
            }
            f.holder.allocated.apply(&d, up);
            role.holder.allocated.apply(&d, up);
        }
    }

    /// Recomputes the shares of the frameworks and roles whose allocation changed at the
    /// current instant, and their fairness terms.
    fn flush(&mut self) {
        let now = self.instant;
        for i in self.dirty_frameworks.drain(..) {
            let f = self.frameworks[i].as_mut().expect("marked while present");
            f.dirty = false;
            f.holder.reshare(&self.inverse);
        }
        for r in self.dirty_roles.drain(..) {
            let role = &mut self.roles[r];
            role.dirty = false;
            role.holder.reshare(&self.inverse);
            let wants = role.wants(&self.inverse);
            self.fairness.set_share(now, r, role.holder.share, wants);
        }
    }

    /// Moves the collector's current instant to `now`, first settling the last one's
    /// changes.
    fn move_to(&mut self, now: Instant) {
        if now > self.instant {
            self.flush();
            self.instant = now;
        }
    }

    /// Framework `framework`'s queue gained (`up`) or lost a task asking for `d`.
    fn queue_change(&mut self, now: Instant, framework: FrameworkId, d: &Delta, up: bool) {
        let Some(Some(f)) = self.frameworks.get_mut(framework.index()) else {
            return;
        };
        let role = &mut self.roles[f.role];
        role.queued.apply(d, up);
        if !role.dirty {
            role.dirty = true;
            role.holder.advance(now);
            self.dirty_roles.push(f.role);
        }
        let before = f.queued;
        f.queued = if up { before + 1 } else { before.saturating_sub(1) };
        if f.greedy || (before > 0) == (f.queued > 0) {
            return;
        }
        if f.queued > 0 {
            if f.offers_out > 0 {
                self.demand_to_offer.record(0.0);
            } else {
                f.waiting_since = Some(now);
            }
        } else {
            f.waiting_since = None;
        }
        let role = f.role;
        self.fairness.set_demand(now, role, up);
    }

    /// Records every sample due before `now`.
    fn sample_until(&mut self, now: Instant) {
        while self.next_sample < now {
            let at = self.next_sample;
            self.take_sample(at, self.setup.sample_interval);
            self.next_sample = at + self.setup.sample_interval;
        }
    }

    /// Records the sample closing at `at` an interval `span` long (the last one of a run
    /// may be shorter than the rest).
    fn take_sample(&mut self, at: Instant, span: Duration) {
        let dt = span.as_secs_f64().max(1e-12);
        self.cluster.settle(at);
        let n = self.names.len();
        let a = &self.cluster.areas;
        let p = &self.prev_cluster;
        let cluster = (0..n)
            .map(|i| {
                [TOTAL, ALLOCATED, USED, ALLOCATED_FRAC, USED_FRAC].map(|k| (a.get(i, k) - p.get(i, k)) / dt)
            })
            .collect();
        self.prev_cluster = self.cluster.areas.clone();
        let classes = self
            .classes
            .iter_mut()
            .map(|c| {
                c.pool.settle(at);
                let a = &c.pool.areas;
                let row = (0..n)
                    .map(|i| (a.get(i, ALLOCATED_FRAC) - c.prev.get(i).copied().unwrap_or(0.0)) / dt)
                    .collect();
                c.prev = (0..n).map(|i| a.get(i, ALLOCATED_FRAC)).collect();
                row
            })
            .collect();
        let roles = self.roles.iter_mut().map(|r| r.holder.sample(at, dt)).collect();
        for f in self.frameworks.iter_mut().flatten() {
            // Frameworks registered mid-interval count from the interval's start.
            f.samples.resize(self.samples.len(), 0.0);
            f.samples.push(f.holder.sample(at, dt) as f32);
        }
        self.fairness.settle(at);
        let (area, secs) = (self.fairness.jain_area, self.fairness.jain_s);
        let jain =
            (secs - self.prev_jain.1 > 0.0).then(|| (area - self.prev_jain.0) / (secs - self.prev_jain.1));
        self.prev_jain = (area, secs);
        let sample = Sample {
            at,
            cluster,
            classes,
            roles,
            queued: self.tasks.queued,
            running: self.tasks.running,
            offers_made: self.offers.made - self.prev_offers.made,
            offers_declined: self.offers.declined - self.prev_offers.declined,
            jain,
        };
        self.prev_offers = self.offers;
        self.samples.push(sample);
        while self.next_heat <= at {
            let column = self.next_heat;
            self.heat_column(column);
            self.next_heat = column + self.heat_width;
        }
    }

    /// Closes a heatmap column at `at` for every agent.
    fn heat_column(&mut self, at: Instant) {
        let mut column = Vec::with_capacity(self.agents.len());
        for slot in &mut self.agents {
            let Some(a) = slot else {
                column.push(f32::NAN);
                continue;
            };
            a.pool.settle(at);
            let areas = &a.pool.areas;
            let (prev, c0) = &mut a.heat_prev;
            let span = areas.covered - *c0;
            let mut busiest = 0.0f64;
            prev.resize(areas.per.len(), 0.0);
            for (p, area) in prev.iter_mut().zip(&areas.per) {
                busiest = busiest.max(area[ALLOCATED_FRAC] - *p);
                *p = area[ALLOCATED_FRAC];
            }
            *c0 = areas.covered;
            column.push(if span > 0.0 {
                (busiest / span) as f32
            } else {
                f32::NAN
            });
        }
        self.heat.push(column);
    }

    /// Takes in one operator event, at `now` (never before the last event taken in).
    pub fn on_event(&mut self, now: Instant, event: &Event) {
        if !self.aliases.is_empty()
            && let Some(renamed) = self.unaliased(event)
        {
            return self.on_event(now, &renamed);
        }
        self.move_to(now);
        if now > self.next_sample {
            self.sample_until(now);
        }
        match event {
            Event::AgentAdded {
                agent,
                name,
                resources,
            } => {
                self.agents_added += 1;
                self.recovery.agent_added(now, name);
                let i = agent.index();
                if self.agents.len() <= i {
                    self.agents.resize(i + 1, None);
                }
                if let Some(a) = &self.agents[i]
                    && a.active
                {
                    return;
                }
                let class = self.class_of(name);
                let slot = &mut self.agents[i];
                match slot {
                    Some(a) => a.active = true,
                    None => {
                        *slot = Some(AgentState {
                            name: name.clone(),
                            class,
                            resources: resources.clone(),
                            active: true,
                            pool: Pool::starting(now),
                            heat_prev: (SmallVec::new(), 0.0),
                        });
                    }
                }
                self.agent_ids.insert(name.clone(), *agent);
                self.capacity(now, *agent, true);
            }
            Event::AgentUnreachable { agent } => {
                self.agents_unreachable += 1;
                if let Some(Some(a)) = self.agents.get(agent.index()) {
                    let name = a.name.clone();
                    if let Some(f) = self.recovery.agent_unreachable(now, &name) {
                        self.lose_agent(f, now, *agent);
                    }
                }
                if let Some(Some(a)) = self.agents.get_mut(agent.index())
                    && a.active
                {
                    a.active = false;
                    self.capacity(now, *agent, false);
                }
            }
            Event::MasterElected { agents, .. } => self.recovery.master_elected(now, *agents),
            Event::AgentRecovered { .. } => self.recovery.agent_recovered(now),
            Event::MasterAbdicated => {}
            Event::FrameworkDisconnected { framework } => {
                let name = self.framework(*framework).0.to_owned();
                self.recovery.scheduler_disconnected(now, &name);
            }
            Event::FrameworkReregistered { framework } => {
                let name = self.framework(*framework).0.to_owned();
                self.recovery.scheduler_back(now, &name);
            }
            Event::FrameworkRemoved { framework } => {
                let name = self.framework(*framework).0.to_owned();
                let tasks = self.tasks.launched_of(*framework);
                self.recovery.framework_removed(now, &name, tasks);
            }
            Event::FrameworkAdded {
                framework,
                name,
                role,
            } => {
                let i = framework.index();
                if self.frameworks.len() <= i {
                    self.frameworks.resize_with(i + 1, || None);
                }
                if self.frameworks[i].is_some() {
                    return;
                }
                // The same framework under a new id, after the master removed it.
                if let Some(&first) = self.framework_ids.get(name) {
                    if self.aliases.len() <= i {
                        self.aliases.resize(i + 1, None);
                    }
                    self.aliases[i] = Some(first);
                    self.recovery.scheduler_back(now, name);
                    return;
                }
                let r = self.role(role, 1.0);
                let greedy = self.setup.greedy.iter().any(|g| g == name);
                self.framework_ids.insert(name.clone(), *framework);
                self.frameworks[i] = Some(FrameworkState {
                    name: name.clone(),
                    role: r,
                    holder: Holder {
                        last: now,
                        ..Holder::default()
                    },
                    greedy,
                    dirty: false,
                    queued: 0,
                    offers_out: 0,
                    waiting_since: None,
                    samples: Vec::new(),
                });
                if greedy {
                    self.roles[r].greedy = true;
                    let wants = self.roles[r].wants(&self.inverse);
                    self.fairness.set_share(now, r, self.roles[r].holder.share, wants);
                    self.fairness.set_demand(now, r, true);
                }
            }
            Event::OfferMade {
                offer,
                framework,
                agent,
                resources,
            } => {
                self.offers.made += 1;
                if let Some(Some(f)) = self.frameworks.get_mut(framework.index()) {
                    f.offers_out += 1;
                    if let Some(since) = f.waiting_since.take() {
                        self.demand_to_offer.record((now - since).as_secs_f64());
                    }
                }
                self.allocation(now, *agent, *framework, resources, false, true);
                if self.sinks.as_ref().is_some_and(|s| s.offers.is_some()) {
                    let (name, role) = self.framework(*framework);
                    let record = [
                        now.secs_string(),
                        offer.0.to_string(),
                        name.to_owned(),
                        role.to_owned(),
                        self.agent_name(*agent).to_owned(),
                        resources.to_string(),
                    ];
                    let result = self
                        .sinks
                        .as_mut()
                        .and_then(|s| s.offers.as_mut())
                        .expect("checked")
                        .write_record(&record);
                    self.keep(result);
                }
            }
            Event::OfferEnded {
                framework,
                agent,
                resources,
                how,
                ..
            } => {
                match how {
                    OfferEnd::Accepted => self.offers.accepted += 1,
                    OfferEnd::Declined => self.offers.declined += 1,
                    OfferEnd::Rescinded => self.offers.rescinded += 1,
                }
                if let Some(Some(f)) = self.frameworks.get_mut(framework.index()) {
                    f.offers_out = f.offers_out.saturating_sub(1);
                }
                self.allocation(now, *agent, *framework, resources, false, false);
            }
            Event::TaskSubmitted {
                framework,
                task,
                at,
                resources,
                job,
                retry_of,
            } => {
                self.tasks
                    .submitted(*framework, *task, *at, resources.clone(), *job, *retry_of);
                if let Some(first) = retry_of {
                    self.recovery.resubmitted((*framework, *first));
                }
                let d = self.names.delta(resources);
                self.queue_change(now, *framework, &d, true);
            }
            Event::TaskAdded {
                framework,
                task,
                agent,
                resources,
            } => {
                self.allocation(now, *agent, *framework, resources, true, true);
                let first = self.tasks.added(*framework, *task, *agent, resources);
                if self.recovery.any_out()
                    && let Some(Some(a)) = self.agents.get(agent.index())
                {
                    self.recovery.task_added(now, &a.name, (*framework, first));
                }
            }
            // Ends a task no master published an end for.
            Event::TaskUnknown {
                framework,
                task,
                state,
            } => {
                if self.tasks.is_open(*framework, *task) {
                    let refused = Event::TaskRefused {
                        framework: *framework,
                        task: *task,
                        state: *state,
                        reason: crate::proto::Reason::Reconciliation,
                    };
                    self.on_event(now, &refused);
                }
            }
            Event::TaskUpdated {
                framework,
                task,
                state,
            }
            | Event::TaskRefused {
                framework,
                task,
                state,
                ..
            } => {
                // None: news of a task already ended (a master after a failover, which knew
                // the end from its agent's report, hearing the agent's update of it too).
                let Some(change) = self.tasks.updated(now, *framework, *task, *state) else {
                    return;
                };
                if change.dequeued {
                    let asked = match &change.ended {
                        Some(ended) => Some(&ended.resources),
                        None => self.tasks.resources(*framework, *task),
                    };
                    let d = asked.map(|r| self.names.delta(r)).unwrap_or_default();
                    self.queue_change(now, *framework, &d, false);
                }
                let key = (*framework, change.first);
                if change.launched {
                    self.recovery.running(now, key);
                }
                if let Some((agent, up)) = change.hold {
                    if let Some(r) = self.tasks.resources(*framework, *task).cloned() {
                        self.allocation(now, agent, *framework, &r, true, up);
                    }
                    // Back with its agent, running: recovered.
                    if up && *state == TaskState::Running {
                        self.recovery.running(now, key);
                    }
                }
                if let Some(ended) = change.ended {
                    let retried = matches!(state, TaskState::Lost | TaskState::Gone | TaskState::Dropped);
                    self.recovery.ended(now, key, retried);
                    if let (true, Some(agent)) = (ended.held, ended.agent) {
                        self.allocation(now, agent, *framework, &ended.resources, true, false);
                    }
                    self.write_task(&ended);
                }
            }
        }
    }

    /// Applies something the run loop did.
    pub fn notice(&mut self, now: Instant, notice: Notice) {
        self.move_to(now);
        if now > self.next_sample {
            self.sample_until(now);
        }
        match notice {
            Notice::AgentRemoved(name) => {
                let notice = FaultNotice {
                    kind: FaultKind::AgentRemoved,
                    target: name.clone(),
                    crashed: vec![name],
                    watched: Some(Vec::new()),
                    watch_until: None,
                    healed: None,
                    ended_offers: Vec::new(),
                };
                self.fault(now, &notice);
            }
            Notice::Fault(notice) => self.fault(now, &notice),
            Notice::WeightSet { role, weight } => {
                let r = self.role(&role, weight);
                self.fairness.set_weight(now, r, weight);
            }
        }
    }

    /// Opens a fault; its crashed machines are lost now, with their tasks.
    fn fault(&mut self, now: Instant, notice: &FaultNotice) {
        for ended in &notice.ended_offers {
            self.on_event(now, ended);
        }
        let f = self.recovery.open(now, notice);
        for name in &notice.crashed {
            if let Some(agent) = self.agent_ids.get(name).copied() {
                self.lose_agent(f, now, agent);
            }
        }
    }

    /// Fault `f` loses `agent` (if the master had it up) and the tasks on it.
    fn lose_agent(&mut self, f: usize, now: Instant, agent: AgentId) {
        let Some(Some(state)) = self.agents.get(agent.index()) else {
            return;
        };
        if !state.active {
            return;
        }
        let mut capacity = Amounts::default();
        capacity.apply(&self.names.delta(&state.resources), true);
        let name = state.name.clone();
        let tasks = self.tasks.on_agent(agent);
        self.recovery.lose(f, &name, now, capacity, tasks);
    }

    fn write_task(&mut self, t: &tasks::EndedTask) {
        use std::fmt::Write as _;
        if self.sinks.is_none() {
            return;
        }
        // One row per task, hundreds of thousands in a large run: the cells are written
        // into one reused record, and a task's resources, which most tasks share with the
        // task before, are formatted again only when they differ.
        let mut row = std::mem::take(&mut self.task_row);
        row.clear();
        let mut cell = String::new();
        let _ = write!(cell, "{}", t.task.0);
        row.push_field(cell.as_bytes());
        let (name, role) = self.framework(t.framework);
        row.push_field(name.as_bytes());
        row.push_field(role.as_bytes());
        row.push_field(t.agent.map_or("", |a| self.agent_name(a)).as_bytes());
        for at in [t.submitted, t.launched, t.ended] {
            cell.clear();
            if let Some(at) = at {
                let _ = crate::time::write_exact_secs(&mut cell, at.as_nanos());
            }
            row.push_field(cell.as_bytes());
        }
        // A task never launched and still waiting has no Mesos state yet.
        let state = if t.launched.is_none() && t.ended.is_none() {
            "QUEUED"
        } else {
            t.state.name()
        };
        row.push_field(state.as_bytes());
        if self.last_resources.0 != t.resources {
            self.last_resources = (t.resources.clone(), t.resources.to_string());
        }
        row.push_field(self.last_resources.1.as_bytes());
        cell.clear();
        if let Some(j) = t.job {
            let _ = write!(cell, "{j}");
        }
        row.push_field(cell.as_bytes());
        cell.clear();
        if let Some(r) = t.retry_of {
            let _ = write!(cell, "{}", r.0);
        }
        row.push_field(cell.as_bytes());
        let result = self
            .sinks
            .as_mut()
            .expect("checked")
            .tasks
            .write_byte_record(&row);
        self.task_row = row;
        self.keep(result);
    }

    /// Closes the books at the end of the run: takes the last samples, integrates
    /// everything to `end` and writes the rows of tasks still running or queued.
    pub fn finish(&mut self, end: Instant) {
        self.move_to(end);
        self.flush();
        self.sample_until(end);
        // The last sample closes at the end of the run, however far into its interval,
        // and so does the last heatmap column.
        let opened = self.next_sample.saturating_sub(self.setup.sample_interval);
        if end > opened {
            self.take_sample(end, end - opened);
        }
        if end > self.next_heat.saturating_sub(self.heat_width) {
            self.heat_column(end);
        }
        self.end = Some(end);
        self.cluster.settle(end);
        for c in &mut self.classes {
            c.pool.settle(end);
        }
        for a in self.agents.iter_mut().flatten() {
            a.pool.settle(end);
        }
        for f in self.frameworks.iter_mut().flatten() {
            f.holder.advance(end);
        }
        for r in &mut self.roles {
            r.holder.advance(end);
        }
        self.fairness.settle(end);
        self.recovery.finish(end);
        self.makespan = self.tasks.makespan();
        self.tasks.sort_delays();
        for t in self.tasks.drain_open() {
            self.write_task(&t);
        }
        if let Some(sinks) = &mut self.sinks {
            let result = sinks.tasks.flush();
            if let Err(e) = result
                && self.write_error.is_none()
            {
                self.write_error = Some(e);
            }
        }
    }

    pub fn take_sinks(&mut self) -> Option<Sinks> {
        self.sinks.take()
    }
}

/// One resource's utilisation over a span, as fractions of what was there (summary.json's
/// `utilisation.<resource>`).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct ResourceUtilisation {
    /// Mean over time of (offered + used) ÷ total.
    pub allocated_mean: f64,
    /// Mean over time of used ÷ total.
    pub used_mean: f64,
    /// Mean over time of the total itself (in the resource's unit).
    pub total_mean: f64,
}

/// One agent's figures over the run.
#[derive(Clone, Debug)]
pub struct AgentRow {
    pub name: String,
    pub class: String,
    pub resources: String,
    /// Seconds it had capacity (registered and reachable).
    pub up_s: f64,
    /// Per reported resource, over `up_s`.
    pub utilisation: Vec<ResourceUtilisation>,
    /// Mean allocated fraction of its busiest resource, over `up_s`.
    pub busiest_mean: f64,
}

/// A role's or framework's dominant share and (roles) fairness figures.
#[derive(Clone, Debug)]
pub struct ShareRow {
    pub name: String,
    /// The role (for a framework) or the role itself.
    pub role: String,
    pub weight: f64,
    pub share_mean: f64,
    pub share_max: f64,
    /// Roles only: seconds with demand, mean share while it had demand, seconds below its
    /// fair share while it had demand.
    pub demand_s: f64,
    pub share_mean_with_demand: Option<f64>,
    pub below_fair_share_s: f64,
}

/// The per-agent utilisation grid: rows are agents in name order, columns equal spans of
/// `column_s` seconds from zero.
#[derive(Clone, Debug, Default)]
pub struct HeatGrid {
    pub column_s: f64,
    pub end_s: f64,
    pub agents: Vec<String>,
    pub rows: Vec<Vec<f32>>,
}

impl Collector {
    /// The span the run covered.
    fn span(&self) -> f64 {
        self.end.unwrap_or(self.cluster.last).as_secs_f64()
    }

    /// Names of the resources agents had, in name order, with their indices.
    pub fn resources(&self) -> Vec<(usize, String)> {
        self.names
            .reported()
            .into_iter()
            .map(|i| (i, self.names.name(i).to_owned()))
            .collect()
    }

    fn pool_utilisation(&self, pool: &Pool, span: f64) -> Vec<(String, ResourceUtilisation)> {
        let a = &pool.areas;
        let mean = |area: f64| if span > 0.0 { area / span } else { 0.0 };
        self.resources()
            .into_iter()
            .map(|(i, name)| {
                (
                    name,
                    ResourceUtilisation {
                        allocated_mean: mean(a.get(i, ALLOCATED_FRAC)),
                        used_mean: mean(a.get(i, USED_FRAC)),
                        total_mean: mean(a.get(i, TOTAL)),
                    },
                )
            })
            .collect()
    }

    /// Cluster-wide, per resource in name order, over the whole run.
    pub fn utilisation(&self) -> Vec<(String, ResourceUtilisation)> {
        self.pool_utilisation(&self.cluster, self.span())
    }

    /// Per machine class (in order of first registration), over the time it had capacity.
    pub fn utilisation_by_class(&self) -> Vec<(String, Vec<(String, ResourceUtilisation)>)> {
        self.classes
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    self.pool_utilisation(&c.pool, c.pool.areas.covered),
                )
            })
            .collect()
    }

    /// Per agent, in name order.
    pub fn agent_rows(&self) -> Vec<AgentRow> {
        let mut rows: Vec<AgentRow> = self
            .agents
            .iter()
            .flatten()
            .map(|a| {
                let up = a.pool.areas.covered;
                AgentRow {
                    name: a.name.clone(),
                    class: self.classes[a.class].name.clone(),
                    resources: a.resources.to_string(),
                    up_s: up,
                    utilisation: self
                        .pool_utilisation(&a.pool, up)
                        .into_iter()
                        .map(|(_, u)| u)
                        .collect(),
                    busiest_mean: if up > 0.0 {
                        a.pool.areas.busiest() / up
                    } else {
                        0.0
                    },
                }
            })
            .collect();
        rows.sort_by(|a, b| natural_cmp(&a.name, &b.name));
        rows
    }

    /// Per role, in name order.
    pub fn role_rows(&self) -> Vec<ShareRow> {
        let span = self.span();
        let mut rows: Vec<ShareRow> = self
            .roles
            .iter()
            .zip(&self.fairness.roles)
            .map(|(r, f)| ShareRow {
                name: r.name.clone(),
                role: r.name.clone(),
                weight: f.weight,
                share_mean: r.holder.mean(span),
                share_max: r.holder.max_share,
                demand_s: f.demand_s,
                share_mean_with_demand: (f.demand_s > 0.0).then(|| f.share_area_with_demand / f.demand_s),
                below_fair_share_s: f.below_s,
            })
            .collect();
        rows.sort_by(|a, b| a.name.cmp(&b.name));
        rows
    }

    /// Per framework, in name order.
    pub fn framework_rows(&self) -> Vec<ShareRow> {
        let span = self.span();
        let mut rows: Vec<ShareRow> = self
            .frameworks
            .iter()
            .flatten()
            .map(|f| ShareRow {
                name: f.name.clone(),
                role: self.roles[f.role].name.clone(),
                weight: self.fairness.roles[f.role].weight,
                share_mean: f.holder.mean(span),
                share_max: f.holder.max_share,
                demand_s: 0.0,
                share_mean_with_demand: None,
                below_fair_share_s: 0.0,
            })
            .collect();
        rows.sort_by(|a, b| natural_cmp(&a.name, &b.name));
        rows
    }

    pub fn jain(&self) -> f64 {
        self.fairness.jain_mean()
    }

    pub fn jain_entitled(&self) -> f64 {
        self.fairness.jain_entitled_mean()
    }

    pub fn max_min_share_ratio(&self) -> Option<f64> {
        self.fairness.max_min_ratio()
    }

    pub fn task_counts(&self) -> TaskCounts {
        self.tasks.counts
    }

    /// When the last submitted task was launched, if every submitted task was.
    pub fn all_launched_at(&self) -> Option<Instant> {
        let c = self.tasks.counts;
        if c.submitted > 0 && c.launched >= c.submitted {
            self.tasks.last_launch
        } else {
            None
        }
    }

    /// Queue delay over launched tasks: exact nearest-rank percentiles.
    pub fn queue_delay(&self) -> Quantiles {
        self.tasks.delay_stats()
    }

    /// Queue delays of launched tasks in seconds, ascending.
    pub fn sorted_delays(&self) -> Vec<f64> {
        self.tasks.sorted_delays()
    }

    pub fn run_time(&self) -> Quantiles {
        self.tasks.run_time.quantiles()
    }

    pub fn slowdown(&self) -> Quantiles {
        self.tasks.slowdown.quantiles()
    }

    /// First submission to the last task's end, if every submitted task ended by the end
    /// of the run.
    pub fn makespan(&self) -> Option<f64> {
        self.makespan
    }

    pub fn jobs(&self) -> &JobStats {
        &self.tasks.job_stats
    }

    pub fn demand_to_offer(&self) -> Quantiles {
        self.demand_to_offer.quantiles()
    }

    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Class names, in the order samples list them.
    pub fn class_names(&self) -> Vec<String> {
        self.classes.iter().map(|c| c.name.clone()).collect()
    }

    /// Role names, in the order samples list them.
    pub fn role_names(&self) -> Vec<String> {
        self.roles.iter().map(|r| r.name.clone()).collect()
    }

    /// Each framework's (name, role, share at each sample).
    pub fn framework_samples(&self) -> Vec<(String, String, Vec<f32>)> {
        let n = self.samples.len();
        let mut out: Vec<(String, String, Vec<f32>)> = self
            .frameworks
            .iter()
            .flatten()
            .map(|f| {
                let mut v = f.samples.clone();
                v.resize(n, 0.0);
                (f.name.clone(), self.roles[f.role].name.clone(), v)
            })
            .collect();
        out.sort_by(|a, b| natural_cmp(&a.0, &b.0));
        out
    }

    pub fn heat_grid(&self) -> HeatGrid {
        let mut agents: Vec<(usize, &AgentState)> = self
            .agents
            .iter()
            .enumerate()
            .filter_map(|(i, a)| Some((i, a.as_ref()?)))
            .collect();
        agents.sort_by(|a, b| natural_cmp(&a.1.name, &b.1.name));
        let row = |i: usize| -> Vec<f32> {
            self.heat
                .iter()
                .map(|column| column.get(i).copied().unwrap_or(f32::NAN))
                .collect()
        };
        HeatGrid {
            column_s: self.heat_width.as_secs_f64(),
            end_s: self.span(),
            agents: agents.iter().map(|(_, a)| a.name.clone()).collect(),
            rows: agents.iter().map(|&(i, _)| row(i)).collect(),
        }
    }
}

/// Orders names with numbers by the numbers' values: `agent-2` before `agent-10`.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, _) => return std::cmp::Ordering::Less,
            (_, None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (&a[..da], &b[..db]);
                let strip = |n: &[u8]| -> usize { n.iter().take_while(|&&c| c == b'0').count() };
                let (ta, tb) = (&na[strip(na)..], &nb[strip(nb)..]);
                let ord = ta
                    .len()
                    .cmp(&tb.len())
                    .then_with(|| ta.cmp(tb))
                    .then_with(|| da.cmp(&db));
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
                (a, b) = (&a[da..], &b[db..]);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                (a, b) = (&a[1..], &b[1..]);
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::OfferId;

    fn at(s: u64) -> Instant {
        Instant::ZERO + Duration::from_secs(s)
    }

    fn res(s: &str) -> Resources {
        Resources::parse(s).unwrap()
    }

    fn collector() -> Collector {
        let setup = Setup {
            sample_interval: Duration::from_secs(10),
            duration: Duration::from_secs(100),
            weights: vec![],
            greedy: vec![],
            classes: vec![("node".into(), 2)],
        };
        let mut c = Collector::new(setup, None);
        for (i, name) in ["node-1", "node-2"].into_iter().enumerate() {
            let added = Event::AgentAdded {
                agent: AgentId(i as u32),
                name: name.into(),
                resources: res("cpus:10;mem:1000"),
            };
            c.on_event(Instant::ZERO, &added);
        }
        let fw = Event::FrameworkAdded {
            framework: FrameworkId(0),
            name: "f".into(),
            role: "r".into(),
        };
        c.on_event(Instant::ZERO, &fw);
        c
    }

    fn offer(c: &mut Collector, now: Instant, id: u64, agent: u32, r: &str, how: Option<OfferEnd>) {
        let (offer, framework, agent, resources) = (OfferId(id), FrameworkId(0), AgentId(agent), res(r));
        let event = match how {
            None => Event::OfferMade {
                offer,
                framework,
                agent,
                resources,
            },
            Some(how) => Event::OfferEnded {
                offer,
                framework,
                agent,
                resources,
                how,
            },
        };
        c.on_event(now, &event);
    }

    #[test]
    fn changes_at_one_instant_count_only_as_they_stand_when_time_moves_on() {
        let mut c = collector();
        // At 10 s: node-1 offered whole, then half of it taken back, node-2's cpus offered
        // and rescinded, all at the same instant. What stands: 5 cpus of 20.
        offer(&mut c, at(10), 1, 0, "cpus:10;mem:1000", None);
        offer(&mut c, at(10), 1, 0, "cpus:5;mem:500", Some(OfferEnd::Declined));
        offer(&mut c, at(10), 2, 1, "cpus:10", None);
        offer(&mut c, at(10), 2, 1, "cpus:10", Some(OfferEnd::Rescinded));
        // At 30 s everything goes.
        offer(&mut c, at(30), 1, 0, "cpus:5;mem:500", Some(OfferEnd::Declined));
        c.finish(at(40));
        // The role held a quarter of the cluster (its dominant share) for 20 s of 40.
        let role = &c.role_rows()[0];
        assert!((role.share_mean - 0.125).abs() < 1e-12, "{}", role.share_mean);
        assert!((role.share_max - 0.25).abs() < 1e-12);
        let u = c.utilisation();
        assert_eq!(u[0].0, "cpus");
        assert!((u[0].1.allocated_mean - 0.125).abs() < 1e-12);
        // node-1 had half its cpus for 20 s of 40; node-2 never held anything for a
        // moment that counts.
        let rows = c.agent_rows();
        assert!(
            (rows[0].busiest_mean - 0.25).abs() < 1e-12,
            "{}",
            rows[0].busiest_mean
        );
        assert_eq!(rows[1].busiest_mean, 0.0);
        // Heatmap columns of 10 s: node-1 is half busy in the 2nd and 3rd.
        let grid = c.heat_grid();
        assert_eq!(grid.agents, ["node-1", "node-2"]);
        assert_eq!(grid.rows[0], [0.0, 0.5, 0.5, 0.0]);
        assert_eq!(grid.rows[1], [0.0; 4]);
    }

    #[test]
    fn an_agent_joining_late_has_no_heat_before_it() {
        let mut c = collector();
        let added = Event::AgentAdded {
            agent: AgentId(2),
            name: "node-3".into(),
            resources: res("cpus:10;mem:1000"),
        };
        c.on_event(at(25), &added);
        offer(&mut c, at(25), 1, 2, "cpus:10", None);
        c.finish(at(40));
        let grid = c.heat_grid();
        let row = &grid.rows[2];
        assert!(row[0].is_nan() && row[1].is_nan());
        // Half of the 3rd column (from 25 s), fully offered; all of the 4th.
        assert_eq!(&row[2..], [1.0, 1.0]);
        assert_eq!(c.agent_rows()[2].up_s, 15.0);
    }
}
