//! The batch framework's queue: tasks in arrival order, grouped by demand, so that packing
//! an offer passes over every queued task of a demand that does not fit with one check.
//!
//! Packing is first fit in arrival order: the earliest queued task that fits in what is left
//! of the offer goes first, then the earliest that fits in what is left after it, and so on.
//! A demand that did not fit never fits later in the same offer (what is left only shrinks),
//! so the scan walks demands by their earliest task and gives up after `scan_limit` demands
//! that do not fit. When every task asks for something different this is a plain scan of
//! the queue; when many ask for the same (a trace's jobs, a generator's few shapes), a long
//! queue of tasks too big for the offer costs one check per distinct demand, not per task.

use std::collections::{BTreeSet, VecDeque};
use std::ops::Bound;

use crate::proto::{TaskId, TaskRequest};
use crate::resources::{Resources, Totals};

#[derive(Clone)]
pub struct Queued {
    pub id: TaskId,
    pub request: TaskRequest,
}

/// The queued tasks of one demand, in arrival order.
#[derive(Clone)]
struct Class {
    demand: Resources,
    /// The demand's totals, for a quick first check: an offer whose totals do not cover
    /// them cannot contain the demand.
    quick: Totals,
    tasks: VecDeque<(u64, Queued)>,
}

#[derive(Clone, Default)]
pub struct Queue {
    /// Indexed by class id; an emptied class is forgotten and its slot reused.
    classes: Vec<Class>,
    by_demand: hashbrown::HashMap<Resources, u32, rustc_hash::FxBuildHasher>,
    unused: Vec<u32>,
    /// Each non-empty class by the arrival of its first task.
    heads: BTreeSet<(u64, u32)>,
    next_arrival: u64,
    len: usize,
}

impl Queue {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The distinct demands of the queued tasks, in class order.
    pub fn demands(&self) -> Vec<Resources> {
        self.heads
            .iter()
            .map(|&(_, c)| self.classes[c as usize].demand.clone())
            .collect()
    }

    pub fn push(&mut self, task: Queued) {
        let arrival = self.next_arrival;
        self.next_arrival += 1;
        self.len += 1;
        let class = match self.by_demand.get(&task.request.resources) {
            Some(&c) => c,
            None => {
                let demand = task.request.resources.clone();
                let quick = demand.totals();
                let c = match self.unused.pop() {
                    Some(c) => {
                        let class = &mut self.classes[c as usize];
                        class.demand = demand.clone();
                        class.quick = quick;
                        c
                    }
                    None => {
                        self.classes.push(Class {
                            demand: demand.clone(),
                            quick,
                            tasks: VecDeque::new(),
                        });
                        u32::try_from(self.classes.len() - 1).expect("fewer than 2^32 distinct demands")
                    }
                };
                self.by_demand.insert(demand, c);
                c
            }
        };
        let tasks = &mut self.classes[class as usize].tasks;
        if tasks.is_empty() {
            self.heads.insert((arrival, class));
        }
        tasks.push_back((arrival, task));
    }

    /// Takes, first fit in arrival order, the queued tasks that fit together in `offer`: at
    /// most `max`, giving up after `scan_limit` demands that do not fit.
    pub fn pack(&mut self, offer: &Resources, max: usize, scan_limit: usize) -> Vec<Queued> {
        let mut left = offer.clone();
        let mut quick = left.totals();
        let mut taken = Vec::new();
        let mut misses = 0;
        let mut after: Option<(u64, u32)> = None;
        while taken.len() < max && misses < scan_limit {
            let next = match after {
                None => self.heads.first(),
                Some(at) => self.heads.range((Bound::Excluded(at), Bound::Unbounded)).next(),
            };
            let Some(&(arrival, class)) = next else {
                break;
            };
            after = Some((arrival, class));
            let c = &self.classes[class as usize];
            if !quick.covers(&c.quick) || !left.contains(&c.demand) {
                misses += 1;
                continue;
            }
            let task = self.pop_head(arrival, class);
            left -= &task.request.resources;
            quick = left.totals();
            taken.push(task);
        }
        taken
    }

    /// Removes the first task of `class` (whose arrival is `arrival`).
    fn pop_head(&mut self, arrival: u64, class: u32) -> Queued {
        self.heads.remove(&(arrival, class));
        self.len -= 1;
        let c = &mut self.classes[class as usize];
        let (_, task) = c.tasks.pop_front().expect("a head has a task");
        match c.tasks.front() {
            // The class's next task is later than any position the scan has passed.
            Some(&(next, _)) => {
                self.heads.insert((next, class));
            }
            None => {
                let demand = std::mem::take(&mut c.demand);
                self.by_demand.remove(&demand);
                self.unused.push(class);
            }
        }
        task
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::{TaskOutcome, TaskRun};
    use crate::time::Duration;

    fn task(id: u32, demand: &str) -> Queued {
        Queued {
            id: TaskId(id),
            request: TaskRequest {
                command: None,
                resources: Resources::parse(demand).unwrap(),
                run: TaskRun {
                    duration: Some(Duration::from_secs(1)),
                    outcome: TaskOutcome::Succeed,
                },
                job: None,
                retry_of: None,
            },
        }
    }

    fn ids(tasks: &[Queued]) -> Vec<u32> {
        tasks.iter().map(|t| t.id.0).collect()
    }

    /// The packing this queue must match: a scan of the queue in arrival order, first fit,
    /// giving up after `scan_limit` distinct demands that did not fit.
    fn plain_scan(queue: &mut Vec<Queued>, offer: &Resources, max: usize, scan_limit: usize) -> Vec<Queued> {
        let mut left = offer.clone();
        let mut taken = Vec::new();
        let mut missed: Vec<Resources> = Vec::new();
        let mut i = 0;
        while i < queue.len() && taken.len() < max {
            let demand = &queue[i].request.resources;
            if left.contains(demand) {
                let t = queue.remove(i);
                left -= &t.request.resources;
                taken.push(t);
            } else {
                if !missed.contains(demand) {
                    missed.push(demand.clone());
                    if missed.len() == scan_limit {
                        break;
                    }
                }
                i += 1;
            }
        }
        taken
    }

    #[test]
    fn first_fit_in_arrival_order_skipping_demands_that_do_not_fit() {
        let mut q = Queue::default();
        for (id, demand) in [
            (0, "cpus:4"),
            (1, "cpus:1"),
            (2, "cpus:4"),
            (3, "cpus:2"),
            (4, "cpus:1"),
            (5, "cpus:1"),
        ] {
            q.push(task(id, demand));
        }
        assert_eq!(
            ids(&q.pack(&Resources::parse("cpus:3").unwrap(), usize::MAX, 64)),
            [1, 3]
        );
        assert_eq!(q.len(), 4);
        assert_eq!(ids(&q.pack(&Resources::parse("cpus:2").unwrap(), 1, 64)), [4]);
        // One demand that does not fit is one miss, however many tasks share it.
        assert!(
            q.pack(&Resources::parse("cpus:1").unwrap(), usize::MAX, 1)
                .is_empty()
        );
        assert_eq!(
            ids(&q.pack(&Resources::parse("cpus:1").unwrap(), usize::MAX, 2)),
            [5]
        );
        assert_eq!(
            ids(&q.pack(&Resources::parse("cpus:9").unwrap(), usize::MAX, 2)),
            [0, 2]
        );
        assert!(q.is_empty());
        // Emptied demands are forgotten and their slots reused.
        q.push(task(6, "mem:1"));
        assert_eq!(q.classes.len(), 3);
        assert_eq!(q.by_demand.len(), 1);
    }

    proptest::proptest! {
        #[test]
        fn packs_as_a_plain_scan_of_the_queue(
            steps in proptest::collection::vec((proptest::collection::vec((1u64..5, 0u64..3), 0..6), 0u64..8, 1usize..4, 1usize..4), 1..30)
        ) {
            let mut q = Queue::default();
            let mut plain: Vec<Queued> = Vec::new();
            let mut id = 0;
            for (arrivals, cpus, max, scan_limit) in steps {
                for (c, m) in arrivals {
                    let demand = format!("cpus:{c};mem:{}", m * 10);
                    q.push(task(id, &demand));
                    plain.push(task(id, &demand));
                    id += 1;
                }
                let offer = Resources::parse(&format!("cpus:{cpus};mem:15")).unwrap();
                let got = ids(&q.pack(&offer, max, scan_limit));
                let want = ids(&plain_scan(&mut plain, &offer, max, scan_limit));
                proptest::prop_assert_eq!(got, want);
                proptest::prop_assert_eq!(q.len(), plain.len());
            }
        }
    }
}
