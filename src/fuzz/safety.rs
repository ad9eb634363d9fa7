//! Safety the processes cannot check alone: a task id runs at most once at a time, across
//! every machine. Checked as each task starts, from what the machines are asked to run.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::ids::{FrameworkId, NodeId};
use crate::metrics::Shared;
use crate::process::{TaskExit, TaskKey, TaskSpec};
use crate::proto::{Msg, TaskId};
use crate::sim::Observer;
use crate::time::Instant;

/// What the watch found broken: when, and what.
pub type Broken = Rc<RefCell<Option<(Instant, String)>>>;

/// Passes everything on to the metrics, and watches tasks start and end on each machine.
pub struct Watch {
    metrics: Shared,
    /// Running tasks by owner (framework and task id), with where they run.
    running: BTreeMap<u64, (NodeId, TaskKey)>,
    /// The owner of each task running, by machine and key.
    owners: BTreeMap<(NodeId, TaskKey), u64>,
    broken: Broken,
}

impl Watch {
    pub fn new(metrics: Shared, broken: Broken) -> Watch {
        Watch {
            metrics,
            running: BTreeMap::new(),
            owners: BTreeMap::new(),
            broken,
        }
    }

    fn ended(&mut self, node: NodeId, key: TaskKey) {
        if let Some(owner) = self.owners.remove(&(node, key)) {
            self.running.remove(&owner);
        }
    }
}

fn describe(owner: u64) -> String {
    format!("{}/{:?}", FrameworkId((owner >> 32) as u32), TaskId(owner as u32))
}

impl Observer<Msg> for Watch {
    fn message(&mut self, now: Instant, from: NodeId, to: NodeId, msg: &Msg) {
        self.metrics.message(now, from, to, msg);
    }

    fn published(&mut self, now: Instant, node: NodeId, event: &Msg) {
        self.metrics.published(now, node, event);
    }

    fn launch(&mut self, now: Instant, node: NodeId, task: &TaskSpec) {
        if let Some(&(other, _)) = self.running.get(&task.owner) {
            let mut broken = self.broken.borrow_mut();
            if broken.is_none() {
                *broken = Some((
                    now,
                    format!(
                        "task {} started on {node} while it runs on {other}",
                        describe(task.owner)
                    ),
                ));
            }
            return;
        }
        self.running.insert(task.owner, (node, task.key));
        self.owners.insert((node, task.key), task.owner);
    }

    fn task_exit(&mut self, _now: Instant, node: NodeId, exit: &TaskExit) {
        self.ended(node, exit.key);
    }

    fn machine_wiped(&mut self, _now: Instant, node: NodeId) {
        let gone: Vec<TaskKey> = self
            .owners
            .range((node, TaskKey(0))..=(node, TaskKey(u64::MAX)))
            .map(|(&(_, key), _)| key)
            .collect();
        for key in gone {
            self.ended(node, key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Collector, Setup};
    use crate::process::{ExitReason, TaskOutcome, TaskRun};
    use crate::resources::Resources;
    use crate::time::Duration;

    fn watch() -> (Watch, Broken) {
        let setup = Setup {
            sample_interval: Duration::from_secs(10),
            duration: Duration::from_secs(100),
            weights: vec![],
            greedy: vec![],
            classes: vec![],
        };
        let metrics = Shared(Rc::new(RefCell::new(Collector::new(setup, None))));
        let broken = Broken::default();
        (Watch::new(metrics, Rc::clone(&broken)), broken)
    }

    fn task(key: u64, framework: u32, id: u32) -> TaskSpec {
        TaskSpec {
            command: None,
            key: TaskKey(key),
            owner: (u64::from(framework) << 32) | u64::from(id),
            resources: Resources::parse("cpus:1").unwrap(),
            run: TaskRun {
                duration: None,
                outcome: TaskOutcome::Succeed,
            },
        }
    }

    #[test]
    fn a_task_id_started_where_it_already_runs_is_caught_and_one_that_ended_is_not() {
        let (mut w, broken) = watch();
        let t = |s| Instant::ZERO + Duration::from_secs(s);
        w.launch(t(1), NodeId(1), &task(1, 0, 7));
        w.launch(t(1), NodeId(2), &task(1, 0, 8));
        // Task 7 ends on node 1, then runs again on node 2: once at a time.
        let exit = TaskExit {
            key: TaskKey(1),
            reason: ExitReason::Killed,
        };
        w.task_exit(t(2), NodeId(1), &exit);
        w.launch(t(3), NodeId(2), &task(2, 0, 7));
        // Node 2's machine crashes: its tasks are gone, and may run elsewhere.
        w.machine_wiped(t(4), NodeId(2));
        w.launch(t(5), NodeId(3), &task(1, 0, 8));
        assert!(broken.borrow().is_none());
        // Another framework's task 8 is another task; the same framework's is not.
        w.launch(t(6), NodeId(1), &task(3, 1, 8));
        assert!(broken.borrow().is_none());
        w.launch(t(7), NodeId(4), &task(1, 0, 8));
        let (at, what) = broken.borrow_mut().take().expect("caught");
        assert_eq!(at, t(7));
        assert!(
            what.contains("f0/TaskId(8)") && what.contains("while it runs on"),
            "{what}"
        );
    }
}
