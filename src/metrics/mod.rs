//! Metrics, collected by observing what happens (the master's and frameworks' operator
//! streams, message deliveries), never by reaching into a process.
//!
//! - tasks: counts by outcome, queue delay (submission to `TASK_RUNNING`), and one
//!   `tasks.csv` row per task, written when it ends (or when the run does);
//! - offers: one `offers.csv` row per offer, counts by how they ended;
//! - utilisation per scalar resource: the time-weighted mean of offered-or-used ÷ total
//!   (`allocated_mean`) and of used ÷ total (`used_mean`), total being what active agents
//!   have.

mod tasks;
mod utilisation;

use std::cell::RefCell;
use std::rc::Rc;

use crate::ids::{AgentId, FrameworkId, NodeId};
use crate::proto::{Event, Msg, OfferEnd};
use crate::report::AtomicFile;
use crate::sim::Observer;
use crate::time::Instant;

pub use tasks::{DelayStats, TaskCounts};
pub use utilisation::ResourceUtilisation;

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

#[derive(Clone, Debug)]
pub(crate) struct AgentMeta {
    pub name: String,
    pub resources: crate::resources::Resources,
    pub active: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct FrameworkMeta {
    pub name: String,
    pub role: String,
}

/// Offer counts by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OfferCounts {
    pub made: u64,
    pub accepted: u64,
    pub declined: u64,
    pub rescinded: u64,
}

/// Everything collected during one run.
pub struct Collector {
    pub agents_added: u64,
    pub agents_unreachable: u64,
    pub messages_delivered: u64,
    pub offers: OfferCounts,
    agents: Vec<Option<AgentMeta>>,
    frameworks: Vec<Option<FrameworkMeta>>,
    tasks: tasks::TaskTracker,
    util: utilisation::Utilisation,
    sinks: Option<Sinks>,
    /// The first write error; the run reports it at the end.
    pub write_error: Option<std::io::Error>,
}

impl Collector {
    pub fn new(sinks: Option<Sinks>) -> Collector {
        Collector {
            agents_added: 0,
            agents_unreachable: 0,
            messages_delivered: 0,
            offers: OfferCounts::default(),
            agents: Vec::new(),
            frameworks: Vec::new(),
            tasks: tasks::TaskTracker::default(),
            util: utilisation::Utilisation::default(),
            sinks,
            write_error: None,
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
            .map_or(("", ""), |f| (f.name.as_str(), f.role.as_str()))
    }

    fn keep<T>(&mut self, result: Result<T, csv::Error>) {
        if let Err(e) = result
            && self.write_error.is_none()
        {
            self.write_error = Some(std::io::Error::other(e.to_string()));
        }
    }

    fn on_event(&mut self, now: Instant, event: &Event) {
        match event {
            Event::AgentAdded {
                agent,
                name,
                resources,
            } => {
                self.agents_added += 1;
                let i = agent.index();
                if self.agents.len() <= i {
                    self.agents.resize(i + 1, None);
                }
                self.agents[i] = Some(AgentMeta {
                    name: name.clone(),
                    resources: resources.clone(),
                    active: true,
                });
                self.util.add_total(now, resources);
            }
            Event::AgentUnreachable { agent } => {
                self.agents_unreachable += 1;
                if let Some(Some(meta)) = self.agents.get_mut(agent.index())
                    && meta.active
                {
                    meta.active = false;
                    let resources = meta.resources.clone();
                    self.util.remove_total(now, &resources);
                }
            }
            Event::FrameworkAdded {
                framework,
                name,
                role,
            } => {
                let i = framework.index();
                if self.frameworks.len() <= i {
                    self.frameworks.resize(i + 1, None);
                }
                self.frameworks[i] = Some(FrameworkMeta {
                    name: name.clone(),
                    role: role.clone(),
                });
            }
            Event::OfferMade {
                offer,
                framework,
                agent,
                resources,
            } => {
                self.offers.made += 1;
                self.util.offer(now, resources);
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
            Event::OfferEnded { resources, how, .. } => {
                match how {
                    OfferEnd::Accepted => self.offers.accepted += 1,
                    OfferEnd::Declined => self.offers.declined += 1,
                    OfferEnd::Rescinded => self.offers.rescinded += 1,
                }
                self.util.unoffer(now, resources);
            }
            Event::TaskSubmitted {
                framework,
                task,
                at,
                resources,
            } => {
                self.tasks.submitted(*framework, *task, *at, resources.clone());
            }
            Event::TaskAdded {
                framework,
                task,
                agent,
                resources,
            } => {
                self.util.use_(now, resources);
                self.tasks.added(*framework, *task, *agent, resources.clone());
            }
            Event::TaskUpdated {
                framework,
                task,
                state,
            } => {
                if let Some(ended) = self.tasks.updated(now, *framework, *task, *state) {
                    if let Some(resources) = &ended.held {
                        self.util.unuse(now, resources);
                    }
                    self.write_task(&ended);
                }
            }
            Event::TaskRefused {
                framework,
                task,
                state,
                ..
            } => {
                if let Some(ended) = self.tasks.updated(now, *framework, *task, *state) {
                    self.write_task(&ended);
                }
            }
        }
    }

    fn write_task(&mut self, t: &tasks::EndedTask) {
        if self.sinks.is_none() {
            return;
        }
        let (name, role) = self.framework(t.framework);
        let record = [
            t.task.0.to_string(),
            name.to_owned(),
            role.to_owned(),
            t.agent.map(|a| self.agent_name(a).to_owned()).unwrap_or_default(),
            t.submitted.map(|s| s.secs_string()).unwrap_or_default(),
            t.launched.map(|s| s.secs_string()).unwrap_or_default(),
            t.ended.map(|s| s.secs_string()).unwrap_or_default(),
            // A task never launched and still waiting has no Mesos state yet.
            if t.launched.is_none() && t.ended.is_none() {
                "QUEUED"
            } else {
                t.state.name()
            }
            .to_owned(),
            t.resources.to_string(),
        ];
        let result = self.sinks.as_mut().expect("checked").tasks.write_record(&record);
        self.keep(result);
    }

    /// Closes the books at the end of the run: integrates utilisation to `end` and writes
    /// the rows of tasks still running or queued.
    pub fn finish(&mut self, end: Instant) {
        self.util.finish(end);
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

    pub fn queue_delay(&mut self) -> DelayStats {
        self.tasks.delay_stats()
    }

    /// Per scalar resource name, in name order.
    pub fn utilisation(&self) -> Vec<(String, ResourceUtilisation)> {
        self.util.means()
    }

    pub fn take_sinks(&mut self) -> Option<Sinks> {
        self.sinks.take()
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
