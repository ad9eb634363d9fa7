//! Agent failures as Mesos survives them: an agent process that restarts keeps its tasks; a
//! machine that crashes loses them, and comes back as a new agent.

use mesosim::agent::Agent;
use mesosim::master::{AgentState, Master};
use mesosim::run::world::World;
use mesosim::sim::Stop;
use mesosim::time::{Duration, Instant};

/// Four 4-cpu machines, 16 one-cpu tasks that run for the whole hour: every cpu is busy.
const SCENARIO: &str = r#"
name: faults
seed: 3
duration: 1h
roles:
  - { name: batch }
cluster:
  - { class: node, count: 4, resources: "cpus:4;mem:4096" }
frameworks:
  - name: work
    role: batch
    type: batch
    workload:
      synthetic:
        count: 16
        task: "cpus:1;mem:256"
        duration: endless
"#;

fn world() -> World {
    let loaded = mesosim::scenario::load_str(SCENARIO, "faults.yaml", &[]).expect("a valid scenario");
    World::build(&loaded.scenario).expect("built")
}

/// Runs until `t` seconds, applying the world's own timed actions.
fn run_until(w: &mut World, t: u64) {
    let end = Instant::ZERO + Duration::from_secs(t);
    loop {
        match w.sim.run(end, u64::MAX) {
            Stop::External(id) => {
                w.apply(id).expect("applied");
            }
            Stop::TimeLimit | Stop::Idle => return,
            Stop::Budget => {}
            Stop::Violation(v) => panic!("{v:?}"),
        }
    }
}

fn master(w: &World) -> &Master {
    w.sim.process::<Master>(w.master).expect("the master")
}

/// The states of every agent the master has had on machine `name`, oldest first.
fn states(w: &World, name: &str) -> Vec<AgentState> {
    let m = master(w);
    (0..m.agent_count() as u32)
        .map(mesosim::ids::AgentId)
        .filter(|&a| m.agent_info(a).name == name)
        .map(|a| m.agent_health(a).state)
        .collect()
}

fn unreachable(s: &AgentState) -> bool {
    matches!(s, AgentState::Unreachable { .. })
}

fn running_on_machines(w: &World) -> Vec<usize> {
    w.sim.machines().iter().map(|m| m.running()).collect()
}

#[test]
fn an_agent_process_that_restarts_keeps_its_tasks() {
    let mut w = world();
    run_until(&mut w, 60);
    assert_eq!(running_on_machines(&w), [4, 4, 4, 4]);
    assert_eq!(master(&w).known_tasks(), 16);

    // Down for 30 s: less than the 75 s the master waits before calling it unreachable.
    assert!(w.restart_agent("node-1", Duration::from_secs(30)));
    run_until(&mut w, 200);
    let m = master(&w);
    assert_eq!(m.agent_count(), 4, "it registered again under its old id");
    for i in 1..=4 {
        assert_eq!(states(&w, &format!("node-{i}")), [AgentState::Active]);
    }
    assert_eq!(m.known_tasks(), 16, "no task was lost");
    assert_eq!(running_on_machines(&w), [4, 4, 4, 4]);
    let node = w.sim.process::<Agent>(w.agent_node("node-1").unwrap()).unwrap();
    assert_eq!(
        node.running_tasks(),
        4,
        "it recovered its tasks from its checkpoint"
    );
    assert_eq!(node.registrations(), 1, "the recovered process registered once");
}

#[test]
fn an_agent_back_after_it_was_marked_unreachable_has_its_lost_tasks_killed() {
    let mut w = world();
    run_until(&mut w, 60);
    // Down for 3 minutes: unreachable after 75 s, its 4 tasks lost and run elsewhere... but
    // the cluster is full, so they wait in the queue.
    assert!(w.restart_agent("node-2", Duration::from_secs(180)));
    run_until(&mut w, 200);
    assert!(unreachable(&states(&w, "node-2")[0]));
    assert_eq!(master(&w).known_tasks(), 12);
    run_until(&mut w, 400);
    // Back: admitted again, the old tasks (whose framework was told they were lost) were
    // killed, and the resubmitted ones run there now.
    assert_eq!(states(&w, "node-2"), [AgentState::Active]);
    let m = master(&w);
    assert_eq!(m.agent_count(), 4);
    assert_eq!(m.known_tasks(), 16);
    // All 16 are the framework's own (the adopted old ones ended when killed).
    assert_eq!(m.framework(mesosim::ids::FrameworkId(0)).tasks.len(), 16);
    assert_eq!(running_on_machines(&w), [4, 4, 4, 4]);
}

#[test]
fn a_crashed_machine_loses_its_tasks_and_returns_as_a_new_agent() {
    let mut w = world();
    run_until(&mut w, 60);
    assert_eq!(w.crash_agent("node-3", Some(Duration::from_secs(120))), Some(4));
    run_until(&mut w, 170);
    // Unreachable after 75 s of silence; its tasks were lost and wait for room.
    assert_eq!(master(&w).known_tasks(), 12);
    assert_eq!(running_on_machines(&w), [4, 4, 0, 4]);
    run_until(&mut w, 400);
    let m = master(&w);
    assert_eq!(m.agent_count(), 5, "the rebooted machine's agent has a new id");
    let node = states(&w, "node-3");
    assert!(unreachable(&node[0]) && node[1] == AgentState::Active, "{node:?}");
    assert_eq!(m.known_tasks(), 16, "the lost tasks run again on the new agent");
    assert_eq!(running_on_machines(&w), [4, 4, 4, 4]);
}

#[test]
fn a_machine_that_reboots_before_it_is_missed_replaces_its_old_agent() {
    let mut w = world();
    run_until(&mut w, 60);
    // Back within 10 s: the master still counts the old agent active when the new one
    // registers from the same address, and must give up the old one there and then.
    assert_eq!(w.crash_agent("node-4", Some(Duration::from_secs(10))), Some(4));
    run_until(&mut w, 200);
    let m = master(&w);
    assert_eq!(m.agent_count(), 5);
    let node = states(&w, "node-4");
    assert!(unreachable(&node[0]) && node[1] == AgentState::Active, "{node:?}");
    assert_eq!(m.known_tasks(), 16);
    assert_eq!(running_on_machines(&w), [4, 4, 4, 4]);
}
