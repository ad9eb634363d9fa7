#![cfg(feature = "live")]
#![allow(clippy::disallowed_methods)] // tests of live processes wait on the wall clock, from threads of their own
//! The live commands as a user runs them: `mesosim live master`, two `mesosim live agent`s
//! and `mesosim live submit`, each its own OS process, on loopback TCP. Every wait is
//! bounded; every process started is killed when its test ends, however it ends.

use std::fs;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// One test at a time: each starts several OS processes, and on a 2-core machine running
/// them all at once makes their waits a matter of luck.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serialised() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The longest any test waits for anything.
const BOUND: Duration = Duration::from_secs(60);

fn mesosim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mesosim"))
}

/// A scratch folder of one test, empty at its start.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mesosim-live-{test}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// A long-running command whose stderr goes to a file; killed when dropped.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(cmd: &mut Command, log: PathBuf) -> Daemon {
        let file = fs::File::create(&log).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        Daemon { child, log }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log holds `text`; panics with the log after [`BOUND`].
    fn wait_for(&mut self, text: &str) {
        let start = Instant::now();
        while !self.log().contains(text) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("exited ({status}) before logging {text:?}:\n{}", self.log());
            }
            assert!(start.elapsed() < BOUND, "no {text:?} in:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops it as an operator does (SIGTERM) and returns its whole log.
    fn terminate(mut self) -> String {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let start = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                start.elapsed() < BOUND,
                "did not stop on SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.log()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A master and `agents` agents of `resources` each, all registered.
struct Cluster {
    master: Daemon,
    agents: Vec<Daemon>,
    addr: SocketAddr,
    dir: PathBuf,
    /// Held for the test's life (see [`ONE_AT_A_TIME`]); dropped last, after the processes.
    _guard: std::sync::MutexGuard<'static, ()>,
}

fn cluster(test: &str, agents: usize, resources: &str, isolation: &str) -> Cluster {
    cluster_with(test, agents, resources, isolation, &[])
}

/// [`cluster`], the master started with `master_args` too.
fn cluster_with(
    test: &str,
    agents: usize,
    resources: &str,
    isolation: &str,
    master_args: &[&str],
) -> Cluster {
    let guard = serialised();
    let dir = scratch(test);
    let addr = free_port();
    let mut master = Daemon::start(
        mesosim()
            .args(["live", "master", "--listen", &addr.to_string()])
            .args(master_args),
        dir.join("master.log"),
    );
    master.wait_for("listening on");
    let agents: Vec<Daemon> = (0..agents)
        .map(|i| {
            let work = dir.join(format!("agent{i}"));
            let mut cmd = mesosim();
            cmd.args([
                "live",
                "agent",
                "--master",
                &addr.to_string(),
                "--resources",
                resources,
            ]);
            cmd.args(["--name", &format!("{test}-a{i}"), "--isolation", isolation]);
            cmd.arg("--work-dir").arg(&work);
            Daemon::start(&mut cmd, dir.join(format!("agent{i}.log")))
        })
        .collect();
    for i in 0..agents.len() {
        master.wait_for(&format!("agent {i} ({test}-a"));
    }
    Cluster {
        master,
        _guard: guard,
        agents,
        addr,
        dir,
    }
}

impl Cluster {
    fn submit(&self, args: &[&str]) -> Output {
        let out = submit_in_background(self.addr, "45s", args).join().unwrap();
        eprintln!("submit {args:?}:\n{}", String::from_utf8_lossy(&out.stdout));
        out
    }
}

fn lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn count(lines: &[String], suffix: &str) -> usize {
    lines.iter().filter(|l| l.ends_with(suffix)).count()
}

#[test]
fn a_master_two_agents_and_a_framework_run_tasks_as_separate_processes() {
    let c = cluster("run", 2, "cpus:2;mem:1024;disk:4096", "posix");
    let out = c.submit(&[
        "--count",
        "6",
        "--task",
        "cpus:0.5;mem:64",
        "--command",
        "echo hello from task; sleep 0.3",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let updates = lines(&out);
    assert_eq!(count(&updates, " TASK_RUNNING -"), 6, "{updates:?}");
    assert_eq!(count(&updates, " TASK_FINISHED -"), 6, "{updates:?}");
    // Four tasks fit one agent: both ran some, each in a sandbox of its own.
    for (i, agent) in c.agents.iter().enumerate() {
        assert!(
            agent.log().contains("running task"),
            "agent {i}:\n{}",
            agent.log()
        );
    }
    let stdouts: Vec<String> = ["agent0", "agent1"]
        .iter()
        .flat_map(|a| sandbox_files(&c.dir.join(a).join("sandboxes"), "stdout"))
        .map(|f| fs::read_to_string(f).unwrap())
        .collect();
    assert_eq!(stdouts, vec!["hello from task\n"; 6]);
    let log = c.master.log();
    assert_eq!(log.matches(": TASK_FINISHED").count(), 6, "{log}");
}

fn sandbox_files(root: &Path, name: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path().join(name)).collect();
    files.sort();
    files
}

#[test]
fn a_failing_task_is_reported_failed_and_submit_exits_1() {
    let c = cluster("fail", 1, "cpus:2;mem:1024", "posix");
    let out = c.submit(&["--count", "2", "--task", "cpus:0.5;mem:32", "--command", "exit 3"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(count(&lines(&out), " TASK_FAILED -"), 2, "{:?}", lines(&out));
}

/// Frames that break the wire protocol, each on a connection of its own.
fn garbage() -> Vec<Vec<u8>> {
    let frame = |body: &[u8]| {
        let mut f = u32::try_from(body.len()).unwrap().to_be_bytes().to_vec();
        f.extend_from_slice(body);
        f
    };
    let hello = frame(br#"{"Hello":{"listen":"127.0.0.1:9","name":"garbage"}}"#);
    let after_hello = |body: &[u8]| [hello.clone(), frame(body)].concat();
    vec![
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        u32::MAX.to_be_bytes().to_vec(),
        frame(br#"{"Msg":"Ping"}"#),
        after_hello(b"{{{{ not json"),
        after_hello(br#"{"Msg":{"NoSuchMessage":{}}}"#),
        [hello.clone(), hello.clone()].concat(),
        [hello.clone(), vec![0, 0, 1, 0, b'{']].concat(),
        (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect(),
    ]
}

#[test]
fn garbage_thrown_at_a_live_master_closes_those_connections_and_loses_nothing() {
    let c = cluster("garbage", 2, "cpus:2;mem:1024", "posix");
    let addr = c.addr;
    let thrower = std::thread::spawn(move || {
        for _ in 0..5 {
            for bytes in garbage() {
                let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
                let _ = s.write_all(&bytes);
                // Closing cuts a frame short where the garbage left one open.
                drop(s);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let out = c.submit(&[
        "--count",
        "8",
        "--task",
        "cpus:0.25;mem:32",
        "--command",
        "sleep 1",
    ]);
    thrower.join().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(count(&lines(&out), " TASK_FINISHED -"), 8);
    let Cluster { master, .. } = c;
    let log = master.terminate();
    let closed: u64 = log
        .lines()
        .find_map(|l| l.strip_prefix("closed ")?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no count of closed connections in:\n{log}"));
    // Every one of the 40 garbage connections but the HTTP request cut short by close.
    assert!(closed >= 35, "{closed} closed:\n{log}");
}

impl Cluster {
    /// Starts agent `i` again (in the same work directory, so on the same address), after
    /// killing its process with SIGKILL: its tasks run on.
    fn restart_agent(&mut self, test: &str, i: usize, resources: &str, extra: &[&str]) {
        let _ = self.agents[i].child.kill();
        let _ = self.agents[i].child.wait();
        let work = self.dir.join(format!("agent{i}"));
        let mut cmd = mesosim();
        cmd.args([
            "live",
            "agent",
            "--master",
            &self.addr.to_string(),
            "--resources",
            resources,
        ]);
        cmd.args(["--name", &format!("{test}-a{i}")]).args(extra);
        cmd.arg("--work-dir").arg(&work);
        self.agents[i] = Daemon::start(&mut cmd, self.dir.join(format!("agent{i}-again.log")));
    }
}

/// Runs `submit` in a thread of its own, for the test to act while its tasks run.
fn submit_in_background(addr: SocketAddr, timeout: &str, args: &[&str]) -> std::thread::JoinHandle<Output> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let timeout = timeout.to_owned();
    std::thread::spawn(move || {
        let mut cmd = mesosim();
        cmd.args([
            "live",
            "submit",
            "--master",
            &addr.to_string(),
            "--timeout",
            &timeout,
        ]);
        cmd.args(&args).stdin(Stdio::null()).output().unwrap()
    })
}

/// Waits until `n` tasks of agent 0 have started (their wrappers wrote their pids).
fn wait_for_pids(c: &Cluster, n: usize) {
    let sandboxes = c.dir.join("agent0").join("sandboxes");
    let start = Instant::now();
    while sandbox_files(&sandboxes, "pid")
        .iter()
        .filter(|f| f.exists())
        .count()
        < n
    {
        assert!(
            start.elapsed() < BOUND,
            "the tasks did not start:\n{}",
            c.agents[0].log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_agent_killed_and_started_again_recovers_its_running_tasks() {
    let resources = "cpus:2;mem:1024";
    let mut c = cluster("recover", 1, resources, "posix");
    let task = [
        "--count",
        "3",
        "--task",
        "cpus:0.5;mem:32",
        "--command",
        "sleep 2; echo survived",
    ];
    let submit = submit_in_background(c.addr, "45s", &task);
    // Killed once all three have started (their wrappers wrote their pids).
    wait_for_pids(&c, 3);
    c.restart_agent("recover", 0, resources, &[]);
    c.agents[0].wait_for("registered as agent 0");
    let out = submit.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", c.agents[0].log());
    assert_eq!(count(&lines(&out), " TASK_FINISHED -"), 3, "{:?}", lines(&out));
    let stdouts: Vec<String> = sandbox_files(&c.dir.join("agent0").join("sandboxes"), "stdout")
        .into_iter()
        .map(|f| fs::read_to_string(f).unwrap())
        .collect();
    assert_eq!(stdouts, vec!["survived\n"; 3]);
    // The master saw one agent throughout, never unreachable.
    let log = c.master.log();
    assert!(
        !log.contains("agent 1 (") && !log.contains("unreachable"),
        "{log}"
    );
}

#[test]
fn an_agent_started_again_to_clean_up_kills_what_it_finds_and_registers_anew() {
    let resources = "cpus:2;mem:1024";
    let mut c = cluster("cleanup", 1, resources, "posix");
    let task = [
        "--count",
        "2",
        "--task",
        "cpus:0.5;mem:32",
        "--command",
        "sleep 30",
    ];
    // The master takes the killed tasks for running until it has missed the old agent's
    // pongs for 75 s: submit gives up well before.
    let submit = submit_in_background(c.addr, "8s", &task);
    wait_for_pids(&c, 2);
    c.restart_agent("cleanup", 0, resources, &["--recover", "cleanup"]);
    c.agents[0].wait_for("cleaned up an earlier run: 2 tasks killed");
    c.master.wait_for("agent 1 (cleanup-a0)");
    let pids: Vec<u32> = sandbox_files(&c.dir.join("agent0").join("sandboxes"), "pid")
        .iter()
        .filter_map(|f| fs::read_to_string(f).ok()?.trim().parse().ok())
        .collect();
    assert_eq!(pids, Vec::<u32>::new(), "killed tasks keep no pid file");
    assert_eq!(submit.join().unwrap().status.code(), Some(1));
}

/// Whether this machine lets us make cgroups (root with cgroup v1 or v2 mounted).
fn cgroups_writable() -> bool {
    let ok = mesosim::live::cgroups::Cgroups::open("mesosim-probe")
        .map(|c| c.close())
        .is_ok();
    if !ok {
        eprintln!("skipped: cgroups are not writable here");
    }
    ok
}

#[test]
fn with_cgroups_a_task_over_its_memory_fails_for_its_memory_and_others_finish() {
    if !cgroups_writable() {
        return;
    }
    let c = cluster("oom", 1, "cpus:2;mem:1024", "cgroups");
    let hog = "head -c 300000000 /dev/zero | tail > /dev/null";
    let out = c.submit(&["--task", "cpus:0.5;mem:32", "--command", hog]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        lines(&out).last().map(String::as_str),
        Some("0 TASK_FAILED REASON_CONTAINER_LIMITATION_MEMORY")
    );
    let out = c.submit(&[
        "--count",
        "2",
        "--task",
        "cpus:0.5;mem:64",
        "--command",
        "head -c 10000000 /dev/zero | tail > /dev/null",
    ]);
    assert_eq!(out.status.code(), Some(0), "{:?}", lines(&out));
}

/// A real ZooKeeper on a free loopback port, or `None` (with a message) where none can be
/// started, unless CI requires one (`MESOSIM_REQUIRE_ZK`).
fn zookeeper() -> Option<mesosim::live::zk::testserver::ZkTestServer> {
    match mesosim::live::zk::testserver::ZkTestServer::start() {
        Ok(zk) => Some(zk),
        Err(e) if std::env::var_os("MESOSIM_REQUIRE_ZK").is_none() => {
            eprintln!("skipped: no ZooKeeper here ({e})");
            None
        }
        Err(e) => panic!("MESOSIM_REQUIRE_ZK is set and ZooKeeper does not start: {e}"),
    }
}

/// The first of `candidates` whose log says it leads (and has not given up since).
fn leader(masters: &[Daemon], candidates: &[usize]) -> Option<usize> {
    candidates.iter().copied().find(|&i| {
        let log = masters[i].log();
        match (log.rfind("elected leader"), log.rfind("no longer leading")) {
            (Some(elected), Some(gave_up)) => elected > gave_up,
            (elected, _) => elected.is_some(),
        }
    })
}

#[test]
fn three_masters_elect_through_zookeeper_and_a_killed_leader_is_replaced() {
    let _guard = serialised();
    let Some(zk) = zookeeper() else {
        return;
    };
    let dir = scratch("zk");
    let url = format!("zk://{}/mesosim", zk.addr());
    let mut masters: Vec<Daemon> = (0..3)
        .map(|i| {
            let mut cmd = mesosim();
            cmd.args(["live", "master", "--listen", &free_port().to_string()]);
            cmd.args(["--zk", &url, "--zk-session-timeout", "3s"]);
            Daemon::start(&mut cmd, dir.join(format!("master{i}.log")))
        })
        .collect();
    let start = Instant::now();
    let first = loop {
        if let Some(i) = leader(&masters, &[0, 1, 2]) {
            break i;
        }
        assert!(start.elapsed() < BOUND, "no leader elected");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut agent = Daemon::start(
        mesosim().args([
            "live",
            "agent",
            "--zk",
            &url,
            "--resources",
            "cpus:2;mem:512",
            "--name",
            "zk-a0",
        ]),
        dir.join("agent.log"),
    );
    agent.wait_for("registered as agent");
    // A task that outlives the leader.
    let submit = std::thread::spawn({
        let url = url.clone();
        move || {
            mesosim()
                .args(["live", "submit", "--zk", &url, "--timeout", "50s"])
                .args(["--task", "cpus:0.5;mem:32", "--command", "sleep 6"])
                .stdin(Stdio::null())
                .output()
                .unwrap()
        }
    });
    masters[first].wait_for(": TASK_RUNNING");
    let killed = Instant::now();
    masters[first].child.kill().unwrap();
    let second = loop {
        let others: Vec<usize> = (0..3).filter(|&i| i != first).collect();
        if let Some(i) = leader(&masters, &others) {
            break i;
        }
        assert!(
            killed.elapsed() < BOUND,
            "no new leader after the first was killed"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!(
        "master {second} leads {:?} after master {first} was killed",
        killed.elapsed()
    );
    // The agent comes back to the new leader with its task, which finishes there.
    masters[second].wait_for("back with the new leader");
    let out = submit.join().unwrap();
    let updates = lines(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{updates:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(count(&updates, " TASK_FINISHED -"), 1, "{updates:?}");
    assert_eq!(
        count(&updates, " TASK_LOST -") + count(&updates, " TASK_FAILED -"),
        0,
        "{updates:?}"
    );
    assert!(
        masters[second].log().contains(": TASK_FINISHED"),
        "{}",
        masters[second].log()
    );
    drop(agent);
}

#[test]
fn an_agent_killed_with_sigkill_is_found_unreachable_and_its_task_runs_elsewhere() {
    let pings = ["--agent-ping-timeout", "500ms", "--max-agent-ping-timeouts", "3"];
    let mut c = cluster_with("kill", 2, "cpus:1;mem:256", "posix", &pings);
    let submit = submit_in_background(
        c.addr,
        "50s",
        &["--task", "cpus:1;mem:64", "--command", "sleep 2"],
    );
    let start = Instant::now();
    let victim = loop {
        if let Some(i) = (0..2).find(|&i| c.agents[i].log().contains("running task 0")) {
            break i;
        }
        assert!(start.elapsed() < BOUND, "task 0 never ran:\n{}", c.master.log());
        std::thread::sleep(Duration::from_millis(20));
    };
    let killed = Instant::now();
    c.agents[victim].child.kill().unwrap();
    let _ = c.agents[victim].child.wait();
    c.master.wait_for("unreachable");
    let detected = killed.elapsed();
    let out = submit.join().unwrap();
    let updates = lines(&out);
    eprintln!("unreachable after {detected:?}: {updates:?}");
    // Three missed pings of 500 ms: found out within a few seconds, not at once.
    assert!(detected >= Duration::from_millis(1000), "{detected:?}");
    assert_eq!(out.status.code(), Some(0), "{updates:?}\n{}", c.master.log());
    assert!(
        updates.iter().any(|l| l.starts_with("0 TASK_LOST")),
        "{updates:?}"
    );
    assert!(
        updates.iter().any(|l| l.starts_with("1 TASK_FINISHED")),
        "{updates:?}"
    );
    let survivor = 1 - victim;
    assert!(
        c.agents[survivor].log().contains("running task 1"),
        "{}",
        c.agents[survivor].log()
    );
    // The killed agent's task outlived it (tasks run in sessions of their own): end it.
    for pid in sandbox_files(&c.dir.join(format!("agent{victim}")).join("sandboxes"), "pid") {
        if let Ok(pid) = fs::read_to_string(pid) {
            let _ = Command::new("kill")
                .args(["-KILL", pid.trim()])
                .stderr(Stdio::null())
                .status();
        }
    }
}

#[test]
fn peers_without_the_shared_secret_are_refused_logged_once_and_never_run_a_task() {
    let _guard = serialised();
    let dir = scratch("secret");
    fs::write(dir.join("secret"), "correct horse battery staple\n").unwrap();
    fs::write(dir.join("wrong"), "incorrect\n").unwrap();
    let secret = dir.join("secret");
    let addr = free_port();
    let mut master = Daemon::start(
        mesosim()
            .args(["live", "master", "--listen", &addr.to_string(), "--secret"])
            .arg(&secret),
        dir.join("master.log"),
    );
    master.wait_for("listening on");
    let agent = |name: &str, file: &Path| {
        let mut cmd = mesosim();
        cmd.args([
            "live",
            "agent",
            "--master",
            &addr.to_string(),
            "--resources",
            "cpus:2;mem:256",
        ]);
        cmd.args(["--name", name, "--secret"]).arg(file);
        Daemon::start(&mut cmd, dir.join(format!("{name}.log")))
    };
    let _good = agent("trusted", &secret);
    let mut bad = agent("intruder", &dir.join("wrong"));
    master.wait_for("(trusted) added");
    master.wait_for("refused \"intruder\"");
    let submit = |file: Option<&Path>| {
        let mut cmd = mesosim();
        cmd.args(["live", "submit", "--master", &addr.to_string(), "--timeout", "8s"]);
        cmd.args(["--task", "cpus:0.5;mem:32", "--command", "true"]);
        if let Some(file) = file {
            cmd.arg("--secret").arg(file);
        }
        cmd.stdin(Stdio::null()).output().unwrap()
    };
    let refused = submit(None);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "a framework without the secret gets nowhere"
    );
    assert!(lines(&refused).is_empty(), "{:?}", lines(&refused));
    let ok = submit(Some(&secret));
    assert_eq!(ok.status.code(), Some(0), "{:?}\n{}", lines(&ok), master.log());
    let log = master.log();
    // The intruder retried its registration many times; the master said so once.
    assert_eq!(log.matches("refused \"intruder\"").count(), 1, "{log}");
    assert!(!log.contains("(intruder) added"), "{log}");
    assert!(!bad.log().contains("registered as agent"), "{}", bad.log());
    let text = master.terminate();
    assert!(
        text.contains("connections that did not prove the shared secret"),
        "{text}"
    );
    bad.child.kill().unwrap();
    assert!(!text.contains("correct horse"), "the secret never reaches a log");
}

#[test]
fn live_burn_uses_the_cpu_it_is_told_to_for_its_time() {
    let _guard = serialised();
    let exe = env!("CARGO_BIN_EXE_mesosim");
    let started = Instant::now();
    // `times` prints the shell's children's CPU time: the burn's alone.
    let out = Command::new("sh")
        .args([
            "-c",
            "\"$0\" live burn --cpus 0.5 --mem 16 --for 800ms && times",
            exe,
        ])
        .output()
        .unwrap();
    let wall = started.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let children = text.lines().nth(1).expect("times prints two lines");
    let seconds = |field: &str| {
        let (m, s) = field.trim_end_matches('s').split_once('m').unwrap();
        m.parse::<f64>().unwrap() * 60.0 + s.parse::<f64>().unwrap()
    };
    let cpu: f64 = children.split_whitespace().map(seconds).sum();
    assert!(wall >= Duration::from_millis(800), "{wall:?}");
    // Half a CPU for 0.8 s is 0.4 s (the kernel counts in 10 ms ticks; the machine is shared).
    assert!(
        (0.25..0.7).contains(&cpu),
        "the burn used {cpu} s of CPU: {children}"
    );
}
