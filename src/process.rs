//! The seam between production code and its drivers.
//!
//! A [`Process`] is a state machine. It never performs I/O, never reads a clock, never draws
//! OS randomness and never starts a thread: time comes from [`Ctx::now`], randomness from
//! [`Ctx::rng`] (a stream derived from the run seed and the process's name), and everything it
//! wants done in the world it asks for through the context — send a message, arm or cancel a
//! named timer, launch or kill a task on its machine. A driver (the simulator, or the live
//! driver over TCP) delivers messages, timers and task exits, and carries out the effects.
//!
//! Architecture invariant: nothing under this module, or any production module, imports a
//! driver (`sim`, `live`). `tests/seam.rs` enforces it.

use std::any::Any;
use std::fmt::Debug;
use std::hash::Hash;

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::ids::NodeId;
use crate::resources::Resources;
use crate::rng::Rng;
use crate::time::{Duration, Instant};

/// What travels between processes: plain serde data, so the live driver can put it on a wire
/// unchanged. `Clone` lets a network model duplicate a message.
pub trait Message: Clone + Debug + Serialize + DeserializeOwned + Send + 'static {
    /// A small stable number per message kind, folded into the run digest.
    fn tag(&self) -> u16;
    /// The message kind's name, for logs and traces.
    fn kind(&self) -> &'static str;
}

/// A sans-IO process: master, agent, framework scheduler, coordinator, or a test actor.
pub trait Process {
    type Msg: Message;
    /// The process's named timers. Arming a timer that is already armed moves its deadline.
    type Timer: Clone + Eq + Hash + Debug;

    /// Called once, when the driver starts the process.
    fn on_start(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Timer>);

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Timer>, from: NodeId, msg: Self::Msg);

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Timer>, timer: Self::Timer);

    /// A task this process launched on its machine has ended (finished, failed or killed).
    fn on_task_exit(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Timer>, exit: TaskExit) {
        let _ = (ctx, exit);
    }

    /// Cheap self-checks, run after every event in the simulator. An `Err` is a bug: the run
    /// stops with exit status 3, naming the invariant, the simulated time and the seed.
    fn check_invariants(&self) -> Result<(), String> {
        Ok(())
    }

    /// The process at `peer`, which this one linked to ([`Ctx::link`]), has ended: its
    /// connection closed (libprocess's `exited`). Told once per link.
    fn on_exited(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Timer>, peer: NodeId) {
        let _ = (ctx, peer);
    }

    /// Whether this process acts as its group's leader (a leading master among standbys):
    /// a driver may check that at most one does at a time.
    fn claims_leadership(&self) -> bool {
        false
    }

    /// The tasks this process believes run on its machine (a recovered agent's): a driver
    /// that takes a machine's tasks back after the process restarts reports those it cannot
    /// find as ended, as Mesos's containerizer recovery does.
    fn running_tasks(&self) -> Vec<TaskKey> {
        Vec::new()
    }
}

/// The driver's side of a context: carries out what a process asks, in the order asked.
pub trait Effects<M, T> {
    /// The process's random stream, derived from the run seed and the process's name.
    fn rng(&mut self) -> &mut Rng;
    fn send(&mut self, to: NodeId, msg: M);
    fn set_timer(&mut self, timer: T, at: Instant);
    fn cancel_timer(&mut self, timer: T);
    fn launch(&mut self, task: TaskSpec);
    fn kill(&mut self, key: TaskKey);
    fn exit(&mut self);
    /// Watches the connection to `peer`: when the process there ends, this one hears of
    /// it through [`Process::on_exited`] (once; link again to watch its successor).
    fn link(&mut self, peer: NodeId);
    /// Publishes an event on the process's operator stream (as Mesos's operator API does):
    /// it reaches observers (metrics, logs), no process, and takes no simulated time.
    fn publish(&mut self, event: M);
    /// Writes record `key` of the process's durable storage (`None`: removes it), before
    /// anything the handler does after it: see [`Store`].
    fn persist(&mut self, key: u64, record: Option<Box<dyn Durable>>);
    /// Whether anything will ever read this process's records back. A driver that knows
    /// no restart of the process can come (a simulation with no fault that restarts it)
    /// says no, and the process does not build records only to have them thrown away.
    fn keeps_records(&self) -> bool {
        true
    }
}

/// A record of durable storage: serde data, kept as it is by a driver that holds storage in
/// memory (the simulator) and written as JSON by one that holds it on disk (the live
/// driver, in a process's work directory).
pub trait Durable: Any + Send + Debug {
    fn to_json(&self) -> Result<Vec<u8>, serde_json::Error>;
    fn as_any(&self) -> &dyn Any;
}

impl<T: Serialize + Any + Send + Debug> Durable for T {
    fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// One stored record: as the process wrote it, or as bytes read back from disk.
#[derive(Debug)]
enum Stored {
    Record(Box<dyn Durable>),
    Json(Vec<u8>),
}

/// A process's durable storage: records by key, as Mesos's agent keeps its meta directory
/// (a file per task) and a scheduler its state in ZooKeeper. A process writes a record
/// ([`Ctx::persist`]) whenever what it must not forget changes, and only a process
/// restarted after a crash reads it, through the constructor it is recovered with: what
/// was not persisted is lost with the process, as it would be on a real machine.
///
/// The simulator keeps each process's store in memory (it survives the process, not its
/// machine); the live driver writes each record to a file of the process's work directory
/// and loads them back when the process starts again.
#[derive(Debug, Default)]
pub struct Store {
    records: std::collections::BTreeMap<u64, Stored>,
}

impl Store {
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Writes (or with `None` removes) record `key`.
    pub fn put(&mut self, key: u64, record: Option<Box<dyn Durable>>) {
        match record {
            Some(r) => self.records.insert(key, Stored::Record(r)),
            None => self.records.remove(&key),
        };
    }

    /// Puts record `key` as read from disk.
    pub fn put_json(&mut self, key: u64, json: Vec<u8>) {
        self.records.insert(key, Stored::Json(json));
    }

    /// Applies in order what recorded `effects` wrote to durable storage: a store as a
    /// process driven through a [`Recorder`] left it.
    pub fn apply<M, T>(&mut self, effects: &[Effect<M, T>]) {
        for effect in effects {
            if let Effect::Persist { key, json } = effect {
                match json {
                    Some(json) => self.put_json(*key, json.clone().into_bytes()),
                    None => self.put(*key, None),
                }
            }
        }
    }

    /// The keys of every record, in order.
    pub fn keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.records.keys().copied()
    }

    /// Record `key` as a `T`: `Ok(None)` if there is none, `Err` if it is not a `T` (a
    /// record of another kind, or a file that does not parse).
    pub fn get<T: DeserializeOwned + Clone + 'static>(&self, key: u64) -> Result<Option<T>, String> {
        match self.records.get(&key) {
            None => Ok(None),
            Some(Stored::Record(r)) => r
                .as_any()
                .downcast_ref::<T>()
                .cloned()
                .map(Some)
                .ok_or_else(|| format!("record {key} is not a {}", std::any::type_name::<T>())),
            Some(Stored::Json(bytes)) => serde_json::from_slice(bytes)
                .map(Some)
                .map_err(|e| format!("record {key}: {e}")),
        }
    }
}

/// A handler's view of the world: the time, its own address, and the driver's side (random
/// stream and effect sink).
pub struct Ctx<'a, M, T> {
    now: Instant,
    me: NodeId,
    effects: &'a mut dyn Effects<M, T>,
}

impl<'a, M, T> Ctx<'a, M, T> {
    /// For drivers: a context for one handler call.
    pub fn new(now: Instant, me: NodeId, effects: &'a mut dyn Effects<M, T>) -> Self {
        Ctx { now, me, effects }
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    /// This process's own address.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// This process's random stream, derived from the run seed and the process's name.
    pub fn rng(&mut self) -> &mut Rng {
        self.effects.rng()
    }

    pub fn send(&mut self, to: NodeId, msg: M) {
        self.effects.send(to, msg);
    }

    /// Arms `timer` to fire at `at` (or now, if `at` is past). Re-arming moves the deadline.
    pub fn set_timer(&mut self, timer: T, at: Instant) {
        self.effects.set_timer(timer, at);
    }

    /// Arms `timer` to fire `after` from now.
    pub fn set_timer_after(&mut self, timer: T, after: Duration) {
        let at = self.now + after;
        self.effects.set_timer(timer, at);
    }

    /// Disarms `timer`; a no-op if it is not armed.
    pub fn cancel_timer(&mut self, timer: T) {
        self.effects.cancel_timer(timer);
    }

    /// Starts a task on this process's machine.
    pub fn launch(&mut self, task: TaskSpec) {
        self.effects.launch(task);
    }

    /// Kills a task on this process's machine; its exit is reported through `on_task_exit`.
    pub fn kill(&mut self, key: TaskKey) {
        self.effects.kill(key);
    }

    /// Ends this process after the current handler.
    pub fn exit(&mut self) {
        self.effects.exit();
    }

    /// Watches the connection to `peer`: this process hears through
    /// [`Process::on_exited`] when the process there ends (crashes or exits). A partition
    /// does not end a connection; a process that ends does. Linking twice is linking once.
    pub fn link(&mut self, peer: NodeId) {
        self.effects.link(peer);
    }

    /// Publishes `event` to observers (metrics, logs); no process receives it.
    pub fn publish(&mut self, event: M) {
        self.effects.publish(event);
    }

    /// Writes the record `record` makes as record `key` of this process's durable storage
    /// ([`Store`]), replacing what was there: a restarted process recovers from these
    /// records alone. `record` runs only if the driver keeps records (see
    /// [`Effects::keeps_records`]): building one often means copying a task's request.
    pub fn persist<R: Durable>(&mut self, key: u64, record: impl FnOnce() -> R) {
        if self.effects.keeps_records() {
            self.effects.persist(key, Some(Box::new(record())));
        }
    }

    /// Whether the driver keeps this process's records ([`Effects::keeps_records`]): a
    /// process need not even work out what changed when nothing is kept.
    pub fn keeps_records(&self) -> bool {
        self.effects.keeps_records()
    }

    /// Removes record `key` from this process's durable storage.
    pub fn forget(&mut self, key: u64) {
        if self.effects.keeps_records() {
            self.effects.persist(key, None);
        }
    }
}

/// One effect, as recorded by [`Recorder`].
#[derive(Clone, Debug, PartialEq)]
pub enum Effect<M, T> {
    Send {
        to: NodeId,
        msg: M,
    },
    SetTimer {
        timer: T,
        at: Instant,
    },
    CancelTimer {
        timer: T,
    },
    Launch(TaskSpec),
    Kill(TaskKey),
    Exit,
    Link(NodeId),
    Publish(M),
    /// A record written (its JSON) or, with `None`, removed.
    Persist {
        key: u64,
        json: Option<String>,
    },
}

/// An effect sink that only records: for testing a process by itself, with no driver.
pub struct Recorder<M, T> {
    pub effects: Vec<Effect<M, T>>,
    pub rng: Rng,
}

impl<M, T> Recorder<M, T> {
    /// A recorder whose random stream is `rng::stream(seed, name)`, as a driver would give.
    pub fn new(seed: u64, name: &str) -> Self {
        Recorder {
            effects: Vec::new(),
            rng: crate::rng::stream(seed, name),
        }
    }
}

impl<M, T> Effects<M, T> for Recorder<M, T> {
    fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }
    fn send(&mut self, to: NodeId, msg: M) {
        self.effects.push(Effect::Send { to, msg });
    }
    fn set_timer(&mut self, timer: T, at: Instant) {
        self.effects.push(Effect::SetTimer { timer, at });
    }
    fn cancel_timer(&mut self, timer: T) {
        self.effects.push(Effect::CancelTimer { timer });
    }
    fn launch(&mut self, task: TaskSpec) {
        self.effects.push(Effect::Launch(task));
    }
    fn kill(&mut self, key: TaskKey) {
        self.effects.push(Effect::Kill(key));
    }
    fn exit(&mut self) {
        self.effects.push(Effect::Exit);
    }
    fn link(&mut self, peer: NodeId) {
        self.effects.push(Effect::Link(peer));
    }
    fn publish(&mut self, event: M) {
        self.effects.push(Effect::Publish(event));
    }
    fn persist(&mut self, key: u64, record: Option<Box<dyn Durable>>) {
        let json =
            record.map(|r| String::from_utf8(r.to_json().expect("records encode")).expect("JSON is UTF-8"));
        self.effects.push(Effect::Persist { key, json });
    }
}

/// Names a task on one machine; chosen by the process that launches it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct TaskKey(pub u64);

/// A backend command: run this on the machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSpec {
    pub key: TaskKey,
    /// Whose task it is, as the launching process names it (an agent: the framework id
    /// in the high 32 bits, the task id in the low): for observers, and for a driver to
    /// name the task's container after.
    #[serde(default)]
    pub owner: u64,
    /// What the task holds while it runs (and, on a real machine, its cgroup limits).
    pub resources: Resources,
    pub run: TaskRun,
    /// The shell command a real machine runs; `None` runs a stand-in that lasts and ends
    /// as `run` says. A simulated machine follows `run` either way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Box<str>>,
}

/// How a task behaves once started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRun {
    /// How long it runs; `None` runs until killed.
    pub duration: Option<Duration>,
    /// How it ends when its duration is up.
    pub outcome: TaskOutcome,
}

/// How a task ends by itself: the trace says whether it finished or failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskOutcome {
    Succeed,
    Fail,
    /// Killed when its time is up (a trace's kills and evictions end tasks this way).
    Killed,
}

/// A backend report: a task is no longer running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskExit {
    pub key: TaskKey,
    pub reason: ExitReason,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitReason {
    /// Ran its course and succeeded.
    Finished,
    /// Ran its course and failed.
    Failed,
    /// Killed on request.
    Killed,
    /// Killed by its machine for using more memory than it holds (a cgroup's OOM kill).
    OutOfMemory,
}

impl From<TaskOutcome> for ExitReason {
    fn from(outcome: TaskOutcome) -> ExitReason {
        match outcome {
            TaskOutcome::Succeed => ExitReason::Finished,
            TaskOutcome::Fail => ExitReason::Failed,
            TaskOutcome::Killed => ExitReason::Killed,
        }
    }
}

/// Sees what happens, without reaching into any process: the basis of every metric. Both
/// drivers call it, the simulator in event order and the live driver from each process's
/// event loop as it handles its inputs (a live observer is shared by those threads, so it
/// must be `Send`; the live driver serialises the calls).
pub trait Observer<M> {
    fn message(&mut self, now: Instant, from: NodeId, to: NodeId, msg: &M) {
        let _ = (now, from, to, msg);
    }
    fn launch(&mut self, now: Instant, node: NodeId, task: &TaskSpec) {
        let _ = (now, node, task);
    }
    fn task_exit(&mut self, now: Instant, node: NodeId, exit: &TaskExit) {
        let _ = (now, node, exit);
    }
    /// A process published `event` on its operator stream.
    fn published(&mut self, now: Instant, node: NodeId, event: &M) {
        let _ = (now, node, event);
    }
    /// The machine of `node` crashed: every task on it is gone, with no exit.
    fn machine_wiped(&mut self, now: Instant, node: NodeId) {
        let _ = (now, node);
    }
}
