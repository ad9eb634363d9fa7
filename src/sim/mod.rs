//! The simulator: one thread, a virtual clock, and the production processes run unchanged.
//!
//! Events (message deliveries, timers, task exits, process starts, and the world's own
//! scheduled actions) wait in one queue ordered by (time, insertion sequence). The loop pops
//! the earliest, hands it to its process, applies the effects the process asked for, checks
//! that process's invariants, and folds (time, process, event kind) into the run digest.
//!
//! Invariant: one seed and one scenario give one sequence of events. Nothing here reads a
//! clock, iterates a hash map, or draws from an unseeded source.

pub mod digest;
pub mod machine;
pub mod network;
pub mod processing;
pub mod queue;
mod timers;

use std::any::{Any, TypeId};

pub use crate::process::Observer;
pub use digest::Digest;
pub use machine::Machine;
use network::OutLinks;
pub use network::{Burst, Delivery, NetworkConfig, NetworkStats, Partition};
pub use processing::{Cost, CostModel};

use crate::ids::NodeId;
use crate::process::{Ctx, Effects, ExitReason, Message, Process, Store, TaskExit, TaskKey, TaskSpec};
use crate::rng;
use crate::time::Instant;
use network::Network;
use processing::{Arrival, Server};
use queue::EventQueue;
use timers::{Popped, TimerTable};

/// Digest codes of event kinds; a message's kind is `KIND_MESSAGE + tag`.
const KIND_START: u32 = 1;
const KIND_TIMER: u32 = 2;
const KIND_TASK_EXIT: u32 = 3;
const KIND_EXTERNAL: u32 = 4;
const KIND_EXITED: u32 = 5;
const KIND_MESSAGE: u32 = 0x100;

/// Why [`Sim::run`] returned.
#[derive(Debug, PartialEq)]
pub enum Stop {
    /// Nothing is left to do.
    Idle,
    /// The next event is after the time limit; the clock now reads the limit.
    TimeLimit,
    /// The event budget of this call is spent; call again to go on.
    Budget,
    /// A world action scheduled with [`Sim::schedule_external`] is due; the clock reads its time.
    External(u64),
    /// A process or machine broke an invariant: a bug.
    Violation(Violation),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    pub time: Instant,
    /// The process whose event broke it.
    pub process: String,
    pub message: String,
}

enum Payload<M> {
    Start {
        node: NodeId,
    },
    Deliver {
        from: NodeId,
        to: NodeId,
        msg: M,
    },
    Timer {
        node: NodeId,
        slot: u32,
    },
    /// A task's duration is up; valid only if the machine still holds it under this event's seq.
    TaskDone {
        node: NodeId,
        key: TaskKey,
        reason: ExitReason,
    },
    /// A task was killed; the machine already released it.
    TaskKilled {
        node: NodeId,
        key: TaskKey,
    },
    /// A task exit that happened while the process was down, told to its restarted process.
    ParkedExit {
        node: NodeId,
        exit: TaskExit,
    },
    External {
        id: u64,
    },
    /// `peer`, which `node` (in its incarnation `incarnation`) linked to, has ended.
    Exited {
        node: NodeId,
        peer: NodeId,
        incarnation: u32,
    },
    /// A process with a cost model is free: it takes up the oldest message waiting.
    Wake {
        node: NodeId,
    },
}

/// Everything an event handler may touch besides its own process.
struct Kernel<M> {
    now: Instant,
    queue: EventQueue<Payload<M>>,
    network: Network,
    machines: Vec<Machine>,
    /// The machine each process runs tasks on, by node index.
    machine_of: Vec<Option<usize>>,
    violation: Option<String>,
    observer: Option<Box<dyn Observer<M>>>,
    /// Links of messages injected from outside any process ([`Sim::send`]), by sender.
    injected_links: Vec<OutLinks>,
    /// Who watches each process's connection ([`Ctx::link`]), by the watched node's index:
    /// the watcher and its incarnation when it linked.
    watchers: Vec<Vec<(NodeId, u32)>>,
    /// How many times each process has been restarted, by node index.
    incarnations: Vec<u32>,
    /// Events published so far (what a cost model charges per event is counted by it).
    published: u32,
    /// Each process's durable storage, by node index: it outlives the process (a restart
    /// recovers from it), not its machine.
    stores: Vec<Store>,
    /// Whether processes keep records at all ([`Sim::set_keeps_records`]).
    keeps_records: bool,
}

impl<M: Message> Kernel<M> {
    fn send(&mut self, from: NodeId, to: NodeId, msg: M, links: &mut OutLinks) {
        match self.network.transmit(from, to, self.now, links) {
            Delivery::Dropped => {}
            Delivery::Once(at) => {
                self.queue.push(at, Payload::Deliver { from, to, msg });
            }
            Delivery::Twice(first, second) => {
                self.queue.push(
                    first,
                    Payload::Deliver {
                        from,
                        to,
                        msg: msg.clone(),
                    },
                );
                self.queue.push(second, Payload::Deliver { from, to, msg });
            }
        }
    }

    fn link(&mut self, me: NodeId, peer: NodeId) {
        if me == peer {
            return;
        }
        if self.watchers.len() <= peer.index() {
            self.watchers.resize_with(peer.index() + 1, Vec::new);
        }
        let incarnation = self.incarnations[me.index()];
        let list = &mut self.watchers[peer.index()];
        if !list.contains(&(me, incarnation)) {
            list.push((me, incarnation));
        }
    }

    /// The process at `peer` ended: those that linked to it hear so, after any message it
    /// sent them (the connection's close follows its data). A partition between them
    /// keeps the news from arriving, as it would a TCP close.
    fn ended(&mut self, peer: NodeId) {
        let Some(list) = self.watchers.get_mut(peer.index()) else {
            return;
        };
        let watchers = std::mem::take(list);
        let at = self.now + self.network.config().latency_max;
        for (node, incarnation) in watchers {
            if !self.network.is_cut(peer, node) {
                self.queue.push(
                    at,
                    Payload::Exited {
                        node,
                        peer,
                        incarnation,
                    },
                );
            }
        }
    }

    fn launch(&mut self, node: NodeId, task: TaskSpec) {
        let Some(m) = self.machine_of.get(node.index()).copied().flatten() else {
            self.violation = Some(format!(
                "{node} launched task {:?} but runs on no machine",
                task.key
            ));
            return;
        };
        if let Err(e) = self.machines[m].launch(&task) {
            self.violation = Some(e);
            return;
        }
        if let Some(observer) = &mut self.observer {
            observer.launch(self.now, node, &task);
        }
        if let Some(duration) = task.run.duration {
            let reason = ExitReason::from(task.run.outcome);
            let seq = self.queue.push(
                self.now + duration,
                Payload::TaskDone {
                    node,
                    key: task.key,
                    reason,
                },
            );
            self.machines[m].set_completion(task.key, seq);
        }
    }

    fn kill(&mut self, node: NodeId, key: TaskKey) {
        let Some(m) = self.machine_of.get(node.index()).copied().flatten() else {
            return;
        };
        if self.machines[m].kill(key) {
            self.queue.push(self.now, Payload::TaskKilled { node, key });
        }
    }
}

/// All processes of one type, stored contiguously in creation order, behind a type-erased
/// face: a `Vec<Cell<P>>`. Contiguity keeps thousands of agents cache- and TLB-friendly
/// whatever the allocator did before.
///
/// Each handler call checks that the process is up, handles the event and checks the
/// process's invariants, all in one virtual call.
trait Arena<M> {
    fn start(&mut self, i: u32, k: &mut Kernel<M>, me: NodeId) -> Handled;
    fn message(&mut self, i: u32, k: &mut Kernel<M>, me: NodeId, from: NodeId, msg: M) -> Handled;
    fn timer(&mut self, i: u32, k: &mut Kernel<M>, me: NodeId, slot: u32, seq: u64) -> Handled;
    fn task_exit(&mut self, i: u32, k: &mut Kernel<M>, me: NodeId, exit: TaskExit) -> Handled;
    fn exited(&mut self, i: u32, k: &mut Kernel<M>, me: NodeId, peer: NodeId) -> Handled;
    fn is_up(&self, i: u32) -> bool;
    /// Whether the process is up and acts as the leader of its group.
    fn claims_leadership(&self, i: u32) -> bool;
    fn crash(&mut self, i: u32);
    /// Puts `process` (a `P`) in place of a crashed process; returns the task exits that
    /// happened while it was down, for the new process to hear after it starts.
    fn restart(&mut self, i: u32, process: Box<dyn Any>) -> Result<Vec<TaskExit>, String>;
    /// Forgets the exits parked for a crashed process (its machine went with it).
    fn clear_parked_exits(&mut self, i: u32);
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// What became of an event handed to a process.
enum Handled {
    /// Not an event: the process is down, or the timer was stale or deferred.
    Skipped,
    Done,
    /// The process's invariants broke.
    Broken(String),
}

impl Handled {
    fn after_check(check: Result<(), String>) -> Handled {
        match check {
            Ok(()) => Handled::Done,
            Err(e) => Handled::Broken(e),
        }
    }
}

/// Field order is memory order, hot first. The random stream (a few hundred bytes of ChaCha
/// state) is made on first use and lives apart, so that cells stay small and cache-friendly.
#[repr(C)]
struct Cell<P: Process> {
    up: bool,
    timers: TimerTable<P::Timer>,
    links: OutLinks,
    process: P,
    rng: LazyRng,
    /// Tasks of its machine that exited while the process was down (a process restart
    /// keeps its machine's tasks running; their exits wait for the next process).
    parked_exits: Vec<TaskExit>,
}

/// A process's random stream, derived when first drawn from.
struct LazyRng {
    seed: u64,
    name_hash: u64,
    rng: Option<Box<rng::Rng>>,
}

impl LazyRng {
    fn get(&mut self) -> &mut rng::Rng {
        let (seed, name_hash) = (self.seed, self.name_hash);
        self.rng
            .get_or_insert_with(|| Box::new(rng::stream_by_hash(seed, name_hash)))
    }
}

/// Carries out a process's effects on the kernel as the process asks for them.
struct Applier<'a, M, T> {
    k: &'a mut Kernel<M>,
    timers: &'a mut TimerTable<T>,
    links: &'a mut OutLinks,
    rng: &'a mut LazyRng,
    me: NodeId,
    exit: bool,
}

impl<M: Message, T: Clone + Eq + std::hash::Hash> Effects<M, T> for Applier<'_, M, T> {
    fn rng(&mut self) -> &mut rng::Rng {
        self.rng.get()
    }

    fn send(&mut self, to: NodeId, msg: M) {
        self.k.send(self.me, to, msg, self.links);
    }

    fn set_timer(&mut self, timer: T, at: Instant) {
        let (queue, me) = (&mut self.k.queue, self.me);
        self.timers.set(timer, at.max(self.k.now), |at, slot| {
            queue.push(at, Payload::Timer { node: me, slot })
        });
    }

    fn cancel_timer(&mut self, timer: T) {
        self.timers.cancel(&timer);
    }

    fn launch(&mut self, task: TaskSpec) {
        self.k.launch(self.me, task);
    }

    fn kill(&mut self, key: TaskKey) {
        self.k.kill(self.me, key);
    }

    fn exit(&mut self) {
        self.exit = true;
    }

    fn link(&mut self, peer: NodeId) {
        self.k.link(self.me, peer);
    }

    fn publish(&mut self, event: M) {
        self.k.published = self.k.published.wrapping_add(1);
        if let Some(observer) = &mut self.k.observer {
            observer.published(self.k.now, self.me, &event);
        }
    }

    fn persist(&mut self, key: u64, record: Option<Box<dyn crate::process::Durable>>) {
        let i = self.me.index();
        if self.k.stores.len() <= i {
            self.k.stores.resize_with(i + 1, Store::default);
        }
        self.k.stores[i].put(key, record);
    }

    fn keeps_records(&self) -> bool {
        self.k.keeps_records
    }
}

impl<P: Process + 'static> Cell<P> {
    fn handle(
        &mut self,
        k: &mut Kernel<P::Msg>,
        me: NodeId,
        f: impl FnOnce(&mut P, &mut Ctx<'_, P::Msg, P::Timer>),
    ) {
        let now = k.now;
        let mut fx = Applier {
            k,
            timers: &mut self.timers,
            links: &mut self.links,
            rng: &mut self.rng,
            me,
            exit: false,
        };
        let mut ctx = Ctx::new(now, me, &mut fx);
        f(&mut self.process, &mut ctx);
        if fx.exit {
            self.crash();
            k.ended(me);
        }
    }

    fn crash(&mut self) {
        self.up = false;
        self.timers.clear();
    }
}

impl<P: Process + 'static> Arena<P::Msg> for Vec<Cell<P>> {
    fn start(&mut self, i: u32, k: &mut Kernel<P::Msg>, me: NodeId) -> Handled {
        let cell = &mut self[i as usize];
        if !cell.up {
            return Handled::Skipped;
        }
        cell.handle(k, me, |p, ctx| p.on_start(ctx));
        Handled::after_check(cell.process.check_invariants())
    }

    fn message(&mut self, i: u32, k: &mut Kernel<P::Msg>, me: NodeId, from: NodeId, msg: P::Msg) -> Handled {
        let cell = &mut self[i as usize];
        if !cell.up {
            return Handled::Skipped;
        }
        if let Some(observer) = &mut k.observer {
            observer.message(k.now, from, me, &msg);
        }
        cell.handle(k, me, |p, ctx| p.on_message(ctx, from, msg));
        Handled::after_check(cell.process.check_invariants())
    }

    fn timer(&mut self, i: u32, k: &mut Kernel<P::Msg>, me: NodeId, slot: u32, seq: u64) -> Handled {
        let cell = &mut self[i as usize];
        let now = k.now;
        let popped = cell.timers.pop(slot, seq, now, |at, slot| {
            k.queue.push(at, Payload::Timer { node: me, slot })
        });
        match popped {
            Popped::Fire(timer) => {
                cell.handle(k, me, |p, ctx| p.on_timer(ctx, timer));
                cell.timers.fired_done();
                Handled::after_check(cell.process.check_invariants())
            }
            Popped::Stale | Popped::Deferred => Handled::Skipped,
        }
    }

    fn task_exit(&mut self, i: u32, k: &mut Kernel<P::Msg>, me: NodeId, exit: TaskExit) -> Handled {
        let cell = &mut self[i as usize];
        if !cell.up {
            cell.parked_exits.push(exit);
            return Handled::Skipped;
        }
        cell.handle(k, me, |p, ctx| p.on_task_exit(ctx, exit));
        Handled::after_check(cell.process.check_invariants())
    }

    fn exited(&mut self, i: u32, k: &mut Kernel<P::Msg>, me: NodeId, peer: NodeId) -> Handled {
        let cell = &mut self[i as usize];
        if !cell.up {
            return Handled::Skipped;
        }
        cell.handle(k, me, |p, ctx| p.on_exited(ctx, peer));
        Handled::after_check(cell.process.check_invariants())
    }

    fn is_up(&self, i: u32) -> bool {
        self[i as usize].up
    }

    fn claims_leadership(&self, i: u32) -> bool {
        let cell = &self[i as usize];
        cell.up && cell.process.claims_leadership()
    }

    fn crash(&mut self, i: u32) {
        self[i as usize].crash();
    }

    fn clear_parked_exits(&mut self, i: u32) {
        self[i as usize].parked_exits.clear();
    }

    fn restart(&mut self, i: u32, process: Box<dyn Any>) -> Result<Vec<TaskExit>, String> {
        let cell = &mut self[i as usize];
        if cell.up {
            return Err("restarting a process that is up".to_owned());
        }
        let process = process
            .downcast::<P>()
            .map_err(|_| "restarting a process as another type".to_owned())?;
        cell.process = *process;
        cell.up = true;
        Ok(std::mem::take(&mut cell.parked_exits))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Where a process lives: its arena and its index there.
#[derive(Clone, Copy)]
struct Place {
    arena: u32,
    index: u32,
}

/// A discrete-event simulation of processes exchanging messages of type `M`.
pub struct Sim<M> {
    seed: u64,
    k: Kernel<M>,
    /// One arena per process type, in the order types first appear.
    arenas: Vec<Box<dyn Arena<M>>>,
    arena_types: Vec<TypeId>,
    /// (address of the first cell, size of a cell) per arena, for prefetching without a
    /// virtual call; refreshed whenever an arena grows.
    arena_layout: Vec<(usize, usize)>,
    /// Where each process lives, by node index.
    places: Vec<Place>,
    names: Vec<String>,
    digest: Digest,
    events: u64,
    /// Processes of which at most one may lead at a time (the masters).
    leader_group: Vec<NodeId>,
    /// Processes that take time to handle their messages (none unless asked for).
    servers: Vec<Server<M>>,
}

impl<M: Message> Sim<M> {
    pub fn new(seed: u64, network: NetworkConfig) -> Sim<M> {
        Sim {
            seed,
            k: Kernel {
                now: Instant::ZERO,
                queue: EventQueue::new(),
                network: Network::new(network, rng::stream(seed, "network")),
                machines: Vec::new(),
                machine_of: Vec::new(),
                violation: None,
                observer: None,
                injected_links: Vec::new(),
                watchers: Vec::new(),
                incarnations: Vec::new(),
                published: 0,
                stores: Vec::new(),
                keeps_records: true,
            },
            arenas: Vec::new(),
            arena_types: Vec::new(),
            arena_layout: Vec::new(),
            places: Vec::new(),
            names: Vec::new(),
            digest: Digest::default(),
            events: 0,
            leader_group: Vec::new(),
            servers: Vec::new(),
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn now(&self) -> Instant {
        self.k.now
    }

    /// Events handled so far (stale and deferred timers are not events).
    pub fn events(&self) -> u64 {
        self.events
    }

    pub fn digest(&self) -> Digest {
        self.digest
    }

    pub fn network_stats(&self) -> NetworkStats {
        self.k.network.stats
    }

    /// Events waiting in the queue, stale timer entries included.
    pub fn queued(&self) -> usize {
        self.k.queue.len()
    }

    pub fn set_observer(&mut self, observer: Box<dyn Observer<M>>) {
        self.k.observer = Some(observer);
    }

    /// Takes the observer back (to read what it collected).
    pub fn take_observer(&mut self) -> Option<Box<dyn Observer<M>>> {
        self.k.observer.take()
    }

    /// Adds a process named `name` (which also names its random stream); it starts now, after
    /// the events already due now.
    pub fn add_process<P: Process<Msg = M> + 'static>(
        &mut self,
        name: impl Into<String>,
        process: P,
    ) -> NodeId {
        let name = name.into();
        let id = NodeId(u32::try_from(self.places.len()).expect("fewer than 2^32 processes"));
        let cell = Cell {
            up: true,
            timers: TimerTable::default(),
            links: OutLinks::default(),
            process,
            rng: LazyRng {
                seed: self.seed,
                name_hash: rng::fnv1a64(name.as_bytes()),
                rng: None,
            },
            parked_exits: Vec::new(),
        };
        let arena = match self.arena_types.iter().position(|t| *t == TypeId::of::<P>()) {
            Some(a) => a,
            None => {
                self.arena_types.push(TypeId::of::<P>());
                self.arenas.push(Box::new(Vec::<Cell<P>>::new()));
                self.arena_layout.push((0, std::mem::size_of::<Cell<P>>()));
                self.arenas.len() - 1
            }
        };
        let cells: &mut Vec<Cell<P>> = self.arenas[arena]
            .as_any_mut()
            .downcast_mut()
            .expect("the arena of P holds cells of P");
        let index = u32::try_from(cells.len()).expect("fewer than 2^32 processes");
        cells.push(cell);
        self.places.push(Place {
            arena: arena as u32,
            index,
        });
        self.names.push(name);
        self.k.machine_of.push(None);
        self.k.incarnations.push(0);
        self.k.queue.push(self.k.now, Payload::Start { node: id });
        id
    }

    /// Gives `node` a machine to launch tasks on.
    pub fn add_machine(&mut self, node: NodeId, machine: Machine) -> usize {
        self.k.machines.push(machine);
        let m = self.k.machines.len() - 1;
        self.k.machine_of[node.index()] = Some(m);
        m
    }

    pub fn machines(&self) -> &[Machine] {
        &self.k.machines
    }

    pub fn machine_of(&self, node: NodeId) -> Option<&Machine> {
        self.k
            .machine_of
            .get(node.index())
            .copied()
            .flatten()
            .map(|m| &self.k.machines[m])
    }

    /// Returns [`Stop::External`]`(id)` from `run` when the clock reaches `at`.
    pub fn schedule_external(&mut self, at: Instant, id: u64) {
        self.k.queue.push(at.max(self.k.now), Payload::External { id });
    }

    /// Cuts the network as `p` says until [`Sim::heal`]`(id)`.
    pub fn partition(&mut self, id: u64, p: Partition) {
        self.k.network.partition(id, p);
    }

    pub fn heal(&mut self, id: u64) {
        self.k.network.heal(id);
    }

    /// Worsens the network as `b` says until [`Sim::end_burst`]`(id)`.
    pub fn burst(&mut self, id: u64, b: Burst) {
        self.k.network.burst(id, b);
    }

    pub fn end_burst(&mut self, id: u64) {
        self.k.network.end_burst(id);
    }

    /// Sends `msg` as if `from` had sent it now (an operator's request, a test's poke).
    pub fn send(&mut self, from: NodeId, to: NodeId, msg: M) {
        let k = &mut self.k;
        if k.injected_links.len() <= from.index() {
            k.injected_links.resize_with(from.index() + 1, OutLinks::default);
        }
        let mut links = std::mem::take(&mut k.injected_links[from.index()]);
        k.send(from, to, msg, &mut links);
        k.injected_links[from.index()] = links;
    }

    pub fn process_count(&self) -> usize {
        self.places.len()
    }

    pub fn name(&self, node: NodeId) -> &str {
        &self.names[node.index()]
    }

    pub fn is_up(&self, node: NodeId) -> bool {
        let place = self.places[node.index()];
        self.arenas[place.arena as usize].is_up(place.index)
    }

    /// A read-only look at a process, for tests and final reports.
    pub fn process<P: Process + 'static>(&self, node: NodeId) -> Option<&P> {
        let place = self.places.get(node.index())?;
        let cells: &Vec<Cell<P>> = self.arenas[place.arena as usize].as_any().downcast_ref()?;
        Some(&cells[place.index as usize].process)
    }

    /// Stops a process abruptly: its timers are dropped, messages to it are discarded
    /// (those waiting for it to be free too), and processes linked to it hear it ended.
    pub fn crash(&mut self, node: NodeId) {
        let place = self.places[node.index()];
        let arena = &mut self.arenas[place.arena as usize];
        if arena.is_up(place.index) {
            arena.crash(place.index);
            self.k.ended(node);
        }
        for server in &mut self.servers {
            if server.node == node {
                server.clear();
            }
        }
    }

    /// Gives `node` processing time ([`processing`]): from now on it handles its messages
    /// one at a time, each keeping it busy for what `model` charges, and messages arriving
    /// meanwhile wait their turn. Replaces any model it had.
    pub fn set_processing(&mut self, node: NodeId, model: CostModel<M>) {
        self.servers.retain(|s| s.node != node);
        self.servers.push(Server::new(node, model));
    }

    /// Messages waiting for `node` to be free (0 without a cost model).
    pub fn waiting(&self, node: NodeId) -> usize {
        self.servers
            .iter()
            .find(|s| s.node == node)
            .map_or(0, Server::waiting)
    }

    /// The machine of `node` crashes: the process stops, as [`Sim::crash`], and every task on
    /// its machine is gone without an exit. Returns how many tasks were lost.
    pub fn crash_machine(&mut self, node: NodeId) -> usize {
        self.crash(node);
        let place = self.places[node.index()];
        let arena = &mut self.arenas[place.arena as usize];
        // Exits parked for the old process died with the machine, and so did its storage.
        arena.clear_parked_exits(place.index);
        if let Some(store) = self.k.stores.get_mut(node.index()) {
            *store = Store::default();
        }
        if let Some(observer) = &mut self.k.observer {
            observer.machine_wiped(self.k.now, node);
        }
        match self.k.machine_of.get(node.index()).copied().flatten() {
            Some(m) => self.k.machines[m].wipe(),
            None => 0,
        }
    }

    /// Whether processes keep durable records (they do unless told otherwise). A world in
    /// which no process will be restarted from its records turns them off: building them
    /// costs copies of every task's request, and nothing would read them.
    pub fn set_keeps_records(&mut self, keep: bool) {
        self.k.keeps_records = keep;
    }

    /// The durable storage of the process at `node` ([`Store`]): what its process persisted,
    /// for a process restarted in its place to recover from.
    pub fn store(&self, node: NodeId) -> Option<&Store> {
        self.k.stores.get(node.index()).filter(|s| !s.is_empty())
    }

    /// Starts `process` in place of the crashed process at `node` (same name, address and
    /// machine): it starts now, then hears of its machine's tasks that exited while it was
    /// down. `Err` if the process is up or of another type.
    pub fn restart<P: Process<Msg = M> + 'static>(&mut self, node: NodeId, process: P) -> Result<(), String> {
        let place = self.places[node.index()];
        let exits = self.arenas[place.arena as usize].restart(place.index, Box::new(process))?;
        self.k.incarnations[node.index()] += 1;
        let now = self.k.now;
        self.k.queue.push(now, Payload::Start { node });
        for exit in exits {
            self.k.queue.push(now, Payload::ParkedExit { node, exit });
        }
        Ok(())
    }

    /// Runs events until the next one is after `limit`, `budget` events have been handled,
    /// a world action is due, or an invariant breaks.
    pub fn run(&mut self, limit: Instant, budget: u64) -> Stop {
        let mut handled = 0u64;
        loop {
            if handled >= budget {
                return Stop::Budget;
            }
            let Some((time, seq, payload)) = self.k.queue.pop_until(limit) else {
                if self.k.queue.is_empty() {
                    return Stop::Idle;
                }
                self.k.now = self.k.now.max(limit);
                return Stop::TimeLimit;
            };
            self.k.now = time;
            self.prefetch_next();
            let (node, kind, handled_by) = match payload {
                Payload::Start { node } => {
                    let Place { arena, index } = self.places[node.index()];
                    (
                        node,
                        KIND_START,
                        self.arenas[arena as usize].start(index, &mut self.k, node),
                    )
                }
                Payload::Deliver { from, to, msg } => {
                    if !self.servers.is_empty() {
                        // Out of line: a run without processing time pays one test.
                        match self.deliver_to_server(from, to, msg) {
                            Some(handled) => handled,
                            None => continue,
                        }
                    } else {
                        self.deliver(from, to, msg)
                    }
                }
                Payload::Wake { node } => match self.wake(node) {
                    Some(handled) => handled,
                    None => continue,
                },
                Payload::Timer { node, slot } => {
                    let Place { arena, index } = self.places[node.index()];
                    (
                        node,
                        KIND_TIMER,
                        self.arenas[arena as usize].timer(index, &mut self.k, node, slot, seq),
                    )
                }
                Payload::TaskDone { node, key, reason } => {
                    let m = self.k.machine_of[node.index()].expect("a completing task has a machine");
                    if !self.k.machines[m].complete(key, seq) {
                        continue;
                    }
                    (
                        node,
                        KIND_TASK_EXIT,
                        self.deliver_exit(node, TaskExit { key, reason }),
                    )
                }
                Payload::ParkedExit { node, exit } => (node, KIND_TASK_EXIT, self.deliver_exit(node, exit)),
                Payload::TaskKilled { node, key } => {
                    let exit = TaskExit {
                        key,
                        reason: ExitReason::Killed,
                    };
                    (node, KIND_TASK_EXIT, self.deliver_exit(node, exit))
                }
                Payload::Exited {
                    node,
                    peer,
                    incarnation,
                } => {
                    if self.k.incarnations[node.index()] != incarnation {
                        continue; // the watcher restarted since it linked
                    }
                    let Place { arena, index } = self.places[node.index()];
                    (
                        node,
                        KIND_EXITED,
                        self.arenas[arena as usize].exited(index, &mut self.k, node, peer),
                    )
                }
                Payload::External { id } => {
                    self.events += 1;
                    self.digest.fold(time, NodeId(u32::MAX), KIND_EXTERNAL);
                    return Stop::External(id);
                }
            };
            let broken = match handled_by {
                Handled::Skipped => {
                    if self.k.violation.is_none() {
                        continue;
                    }
                    None
                }
                Handled::Done => None,
                Handled::Broken(message) => Some(message),
            };
            self.events += 1;
            handled += 1;
            self.digest.fold(time, node, kind);
            let broken = self
                .k
                .violation
                .take()
                .or(broken)
                .or_else(|| self.second_leader(node));
            if let Some(message) = broken {
                let process = self.names[node.index()].clone();
                return Stop::Violation(Violation {
                    time,
                    process,
                    message,
                });
            }
        }
    }

    /// Hands a message to its process.
    #[inline(always)]
    fn deliver(&mut self, from: NodeId, to: NodeId, msg: M) -> (NodeId, u32, Handled) {
        let Place { arena, index } = self.places[to.index()];
        let kind = KIND_MESSAGE + u32::from(msg.tag());
        (
            to,
            kind,
            self.arenas[arena as usize].message(index, &mut self.k, to, from, msg),
        )
    }

    /// A message reaches `to`, which may have a cost model: handled now, or (`None`) kept
    /// until `to` is free.
    #[cold]
    #[inline(never)]
    fn deliver_to_server(&mut self, from: NodeId, to: NodeId, msg: M) -> Option<(NodeId, u32, Handled)> {
        let Some(i) = self.servers.iter().position(|s| s.node == to) else {
            return Some(self.deliver(from, to, msg));
        };
        match self.servers[i].arrive(self.k.now, from, msg) {
            Arrival::Free(msg) => Some(self.deliver(from, to, msg)),
            Arrival::Handle(msg) => Some(self.deliver_charged(i, from, msg)),
            Arrival::Queued(wake) => {
                if let Some(at) = wake {
                    self.k.queue.push(at, Payload::Wake { node: to });
                }
                None
            }
        }
    }

    /// `node` is free: it takes up the oldest message waiting, if one does.
    #[cold]
    #[inline(never)]
    fn wake(&mut self, node: NodeId) -> Option<(NodeId, u32, Handled)> {
        let now = self.k.now;
        let i = self.servers.iter().position(|s| s.node == node)?;
        let (from, msg) = self.servers[i].next(now)?;
        Some(self.deliver_charged(i, from, msg))
    }

    /// Hands a message to the process of server `i` and charges it for what it published.
    fn deliver_charged(&mut self, i: usize, from: NodeId, msg: M) -> (NodeId, u32, Handled) {
        let node = self.servers[i].node;
        let before = self.k.published;
        let handled = self.deliver(from, node, msg);
        let events = self.k.published.wrapping_sub(before);
        if let Some(at) = self.servers[i].charge(events) {
            self.k.queue.push(at, Payload::Wake { node });
        }
        handled
    }

    /// At most one process of the leader group leads at a time: a process starts to lead
    /// only in an event of its own, so checking after each of theirs is checking always.
    fn second_leader(&self, node: NodeId) -> Option<String> {
        if !self.leader_group.contains(&node) || !self.claims_leadership(node) {
            return None;
        }
        let other = self
            .leader_group
            .iter()
            .find(|&&n| n != node && self.claims_leadership(n))?;
        Some(format!(
            "{} and {} both act as the leader",
            self.names[node.index()],
            self.names[other.index()]
        ))
    }

    fn claims_leadership(&self, node: NodeId) -> bool {
        let Place { arena, index } = self.places[node.index()];
        self.arenas[arena as usize].claims_leadership(index)
    }

    /// Declares `nodes` a group of which at most one may lead at a time; checked after
    /// every event of theirs.
    pub fn set_leader_group(&mut self, nodes: Vec<NodeId>) {
        self.leader_group = nodes;
    }

    /// Starts loading the process of the next event into cache while this one is handled:
    /// with thousands of agents, their state lives in L3 or memory, and a miss per event
    /// would otherwise cost as much as the event itself.
    #[inline]
    fn prefetch_next(&self) {
        let node = match self.k.queue.peek_near() {
            Some(Payload::Deliver { to, .. }) => *to,
            Some(
                Payload::Timer { node, .. }
                | Payload::TaskDone { node, .. }
                | Payload::TaskKilled { node, .. }
                | Payload::ParkedExit { node, .. }
                | Payload::Exited { node, .. }
                | Payload::Wake { node },
            ) => *node,
            _ => return,
        };
        if let Some(place) = self.places.get(node.index()) {
            let (base, stride) = self.arena_layout[place.arena as usize];
            let cell = base.wrapping_add(place.index as usize * stride) as *const u8;
            let mut offset = 0;
            while offset < stride.min(512) {
                prefetch(cell.wrapping_add(offset));
                offset += 64;
            }
        }
    }

    fn deliver_exit(&mut self, node: NodeId, exit: TaskExit) -> Handled {
        if let Some(observer) = &mut self.k.observer {
            observer.task_exit(self.k.now, node, &exit);
        }
        let Place { arena, index } = self.places[node.index()];
        self.arenas[arena as usize].task_exit(index, &mut self.k, node, exit)
    }
}

/// A hint to the CPU to load the cache line at `p`; never faults, never changes behaviour.
#[inline(always)]
pub(crate) fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetch is a hint: it does not dereference `p` architecturally and cannot
    // fault, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[cfg(test)]
mod tests;
