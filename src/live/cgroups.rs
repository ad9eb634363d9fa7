//! Task isolation by Linux cgroups (`--isolation cgroups`), as Mesos's cgroups isolator does it:
//! each task runs in a cgroup of its own, so the kernel, not the agent, holds it to the `cpus`
//! and `mem` it was given.
//!
//! Layout. A task's cgroup is `mesosim/<agent>/<task>` at the **root** of each hierarchy: on
//! cgroup v1 under the mount of each of the cpu, cpuacct and memory controllers (one directory
//! per mount, so two when cpu and cpuacct share one), on cgroup v2 under the unified mount.
//! Never under the agent's own cgroup: the agent may itself sit in a nested, limited memory
//! cgroup (see /proc/self/cgroup), whose limit would then be shared with its tasks, and whose
//! path differs from run to run, which would keep the agent from finding its orphans.
//!
//! Limits. CPU is shared by weight (v1 `cpu.shares` = 1024 per cpu, v2 `cpu.weight` mapped
//! from those shares), so an idle machine lends spare CPU to busy tasks; with `cfs_quota` (like
//! Mesos `--cgroups_enable_cfs`) the task is also capped at `cpus` CPUs per 100 ms period. The
//! memory limit is hard, and swap is capped with it where the kernel offers that
//! (`memory.memsw.limit_in_bytes`, `memory.swap.max`), so a task cannot dodge its limit by
//! swapping. A task over its limit is killed by the kernel's OOM killer (SIGKILL), which
//! [`TaskCgroup::oom_killed`] tells apart from other kills.
//!
//! Joining. A child joins its cgroup between fork and exec ([`TaskCgroup::confine`]), so no
//! instruction of the task ever runs unconfined and every page it touches is charged to it.
//!
//! Cleanup. An agent that crashed leaves its task cgroups, and the processes in them, behind;
//! [`Cgroups::remove_orphans`] kills and removes them when the agent starts again under the same
//! name. Killing reads pids from `cgroup.procs` and signals them, except on v2 with `cgroup.kill`,
//! which kills the whole cgroup at once: a pid read can in principle be reused by an unrelated
//! process before it is signalled, a window of microseconds that Mesos's isolator has too.
//!
//! Linux only. The shared `mesosim` directory is created on first use and never removed, since
//! other agents (of this process or another) may be creating their own directories in it.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::Duration;

/// Which cgroup interface the machine offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// One hierarchy per controller (or per group of controllers), each its own mount.
    V1,
    /// The unified hierarchy: one mount, controllers enabled per subtree.
    V2,
}

/// Limits of one task's cgroup.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// CPUs the task was given: its share of the CPU, and its cap with `cfs_quota`.
    pub cpus: f64,
    /// Caps the task at `cpus` CPUs even when the machine is otherwise idle.
    pub cfs_quota: bool,
    /// Hard memory limit (swap included where the kernel can cap swap); `None` is unlimited.
    pub mem_bytes: Option<u64>,
}

/// What a task's cgroup has used so far.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// CPU time consumed by all its processes, dead ones included.
    pub cpu_ns: u64,
    /// Memory charged to it now (page cache included, as the kernel counts it against the limit).
    pub mem_bytes: u64,
}

/// The directories of one cgroup (the agent's or a task's), one per controller. On v2 all
/// three are the same directory; on v1 cpu and cpuacct are the same when they share a mount.
#[derive(Clone, Debug, PartialEq)]
struct Dirs {
    version: Version,
    cpu: PathBuf,
    cpuacct: PathBuf,
    memory: PathBuf,
}

impl Dirs {
    fn join(&self, name: impl AsRef<Path>) -> Dirs {
        let name = name.as_ref();
        Dirs {
            version: self.version,
            cpu: self.cpu.join(name),
            cpuacct: self.cpuacct.join(name),
            memory: self.memory.join(name),
        }
    }

    /// Each directory once, in the order cpu, cpuacct, memory.
    fn distinct(&self) -> Vec<&Path> {
        let mut dirs: Vec<&Path> = Vec::with_capacity(3);
        for dir in [&self.cpu, &self.cpuacct, &self.memory] {
            if !dirs.contains(&dir.as_path()) {
                dirs.push(dir);
            }
        }
        dirs
    }
}

/// The cgroups of one agent: its directory `mesosim/<agent>` in each hierarchy.
pub struct Cgroups {
    agent: Dirs,
}

/// CFS period on both versions; quotas are given per this period.
const CFS_PERIOD_US: u64 = 100_000;
/// The smallest quota the kernel accepts.
const MIN_CFS_QUOTA_US: u64 = 1_000;
/// v1's bounds on cpu.shares.
const MIN_SHARES: u64 = 2;
const MAX_SHARES: u64 = 262_144;
/// Destroying a cgroup waits up to KILL_ROUNDS * KILL_PAUSE for its processes to die.
const KILL_ROUNDS: u32 = 100;
const KILL_PAUSE: Duration = Duration::from_millis(10);

impl Cgroups {
    /// Finds a writable hierarchy and creates the agent's directory (mesosim/<agent>). Err is
    /// one clear line for the user: no cpu/memory controller is mounted, or a directory cannot
    /// be written (not root).
    pub fn open(agent: &str) -> Result<Cgroups, String> {
        check_name(agent).map_err(|e| format!("--isolation cgroups: agent {e}"))?;
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").map_err(|e| {
            format!(
                "--isolation cgroups: cannot read /proc/self/mountinfo ({})",
                os_message(&e)
            )
        })?;
        let root = find_root(&parse_mountinfo(&mountinfo), |dir| {
            // An unreadable list is an empty one: that hierarchy is then not used.
            fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default()
        })?;
        let mesosim = root.join("mesosim");
        let agent = mesosim.join(agent);
        for dir in mesosim.distinct() {
            make_dir(dir)?;
        }
        if root.version == Version::V2 {
            let offered = fs::read_to_string(mesosim.memory.join("cgroup.controllers")).unwrap_or_default();
            if !has_words(&offered, &["cpu", "memory"]) {
                enable_controllers(&root.memory)?;
            }
            enable_controllers(&mesosim.memory)?;
        }
        for dir in agent.distinct() {
            make_dir(dir)?;
        }
        if root.version == Version::V2 {
            enable_controllers(&agent.memory)?;
        }
        Ok(Cgroups { agent })
    }

    pub fn version(&self) -> Version {
        self.agent.version
    }

    /// Kills every process left in task cgroups of this agent (a crashed earlier run) and
    /// removes those cgroups; returns how many cgroups were removed. Call it before creating
    /// any task: it cannot tell an orphan from a task of this run.
    pub fn remove_orphans(&self) -> usize {
        self.task_names()
            .into_iter()
            .filter(|name| kill_and_remove(&self.agent.join(name)))
            .count()
    }

    /// Creates the cgroup for task `name` (a plain file-name-safe string) with `limits`
    /// applied. On v1, cpu.shares = max(2, round(cpus*1024)); with `cfs_quota`,
    /// cpu.cfs_quota_us = round(cpus*100000) (at least 1000) per 100000 us; memory.limit_in_bytes
    /// and memory.memsw.limit_in_bytes (where it exists). On v2 the same as cpu.weight (mapped
    /// from those shares), cpu.max, memory.max and memory.swap.max = 0 (where it exists).
    pub fn create(&self, name: &str, limits: &Limits) -> Result<TaskCgroup, String> {
        check_name(name).map_err(|e| format!("task {e}"))?;
        if !(limits.cpus.is_finite() && limits.cpus > 0.0) {
            return Err(format!(
                "task {name}: cpus {} is not a positive number",
                limits.cpus
            ));
        }
        let task = TaskCgroup {
            dirs: self.agent.join(name),
        };
        let mut made: Vec<PathBuf> = Vec::new();
        let mut result = Ok(());
        for dir in task.dirs.distinct() {
            if let Err(e) = fs::create_dir(dir) {
                result = Err(format!(
                    "task {name}: cannot create cgroup {} ({})",
                    dir.display(),
                    os_message(&e)
                ));
                break;
            }
            made.push(dir.to_path_buf());
        }
        if result.is_ok() {
            result = match task.dirs.version {
                Version::V1 => apply_v1(&task.dirs, limits),
                Version::V2 => apply_v2(&task.dirs, limits),
            }
            .map_err(|e| format!("task {name}: {e}"));
        }
        if let Err(e) = result {
            for dir in made {
                // Nothing has joined it yet, so this succeeds; if not, remove_orphans will.
                let _ = fs::remove_dir(dir);
            }
            return Err(e);
        }
        Ok(task)
    }

    /// The cgroup an earlier agent process of this name made for task `name`, if it is
    /// still there: a recovered agent takes its task back with it.
    pub fn adopt(&self, name: &str) -> Option<TaskCgroup> {
        check_name(name).ok()?;
        let task = TaskCgroup {
            dirs: self.agent.join(name),
        };
        task.dirs
            .distinct()
            .into_iter()
            .all(|d| d.is_dir())
            .then_some(task)
    }

    /// Removes the agent's directory after its tasks' cgroups (an agent at exit), killing any
    /// process still in them.
    pub fn close(self) {
        self.remove_orphans();
        for dir in self.agent.distinct() {
            // Fails only if a task's cgroup could not be removed; nothing more can be done here.
            let _ = fs::remove_dir(dir);
        }
    }

    /// The names of the task cgroups in the agent's directories, each once.
    fn task_names(&self) -> BTreeSet<OsString> {
        let mut names = BTreeSet::new();
        for dir in self.agent.distinct() {
            names.extend(
                subdirs(dir)
                    .into_iter()
                    .filter_map(|sub| sub.file_name().map(|n| n.to_owned())),
            );
        }
        names
    }
}

/// One task's cgroup.
#[derive(Debug)]
pub struct TaskCgroup {
    dirs: Dirs,
}

impl TaskCgroup {
    /// Makes `cmd`'s child join this cgroup before it execs, so that it never runs unconfined.
    /// The cgroup.procs files (one per v1 directory, or the v2 one) are opened here, in the
    /// parent, and the child writes "0" (itself) to each between fork and exec. The files stay
    /// open as long as `cmd` lives, and close in the child at exec (std opens them O_CLOEXEC).
    pub fn confine(&self, cmd: &mut Command) -> io::Result<()> {
        let mut procs: Vec<File> = Vec::with_capacity(3);
        for dir in self.dirs.distinct() {
            let path = dir.join("cgroup.procs");
            let file = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot open {} ({})", path.display(), e)))?;
            procs.push(file);
        }
        // SAFETY: the closure runs in the forked child, where only async-signal-safe calls are
        // allowed. It only calls write(2) through `&File` (no allocation: a short write's error
        // is a constant, an OS error is its errno) and never drops the files.
        unsafe {
            cmd.pre_exec(move || {
                for mut file in procs.iter() {
                    file.write_all(b"0")?;
                }
                Ok(())
            });
        }
        Ok(())
    }

    /// What the cgroup has used so far. A value that cannot be read (the cgroup is gone) is 0.
    pub fn usage(&self) -> Usage {
        let d = &self.dirs;
        match d.version {
            Version::V1 => Usage {
                cpu_ns: read_u64(&d.cpuacct, "cpuacct.usage").unwrap_or(0),
                mem_bytes: read_u64(&d.memory, "memory.usage_in_bytes").unwrap_or(0),
            },
            Version::V2 => Usage {
                cpu_ns: read(&d.cpu, "cpu.stat")
                    .and_then(|text| keyed_value(&text, "usage_usec"))
                    .map_or(0, |us| us.saturating_mul(1000)),
                mem_bytes: read_u64(&d.memory, "memory.current").unwrap_or(0),
            },
        }
    }

    /// Whether the kernel's OOM killer has killed a process of this cgroup: the `oom_kill`
    /// count of memory.oom_control (v1) or memory.events (v2). A v1 kernel older than 4.13 has
    /// no such count; then this says whether the limit was ever hit (memory.failcnt or
    /// memory.memsw.failcnt), and only together with the task having died of SIGKILL, which is
    /// the caller's to check, does that mean an OOM kill.
    pub fn oom_killed(&self) -> bool {
        let memory = &self.dirs.memory;
        match self.dirs.version {
            Version::V1 => match read(memory, "memory.oom_control").and_then(|t| keyed_value(&t, "oom_kill"))
            {
                Some(kills) => kills > 0,
                None => ["memory.failcnt", "memory.memsw.failcnt"]
                    .iter()
                    .any(|file| read_u64(memory, file).is_some_and(|n| n > 0)),
            },
            Version::V2 => read(memory, "memory.events")
                .and_then(|t| keyed_value(&t, "oom_kill"))
                .is_some_and(|n| n > 0),
        }
    }

    /// Kills every process still in the cgroup (SIGKILL), waits up to about a second for it to
    /// empty, and removes its directories. Never panics; a cgroup that cannot be removed is
    /// left for [`Cgroups::remove_orphans`].
    pub fn destroy(self) {
        kill_and_remove(&self.dirs);
    }
}

/// A name that is one plain path component (no '/', not "." or ".."), or why not.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        Err(format!("name {name:?} is not a plain file name"))
    } else {
        Ok(())
    }
}

/// v1: cpu.shares, the CFS quota and the memory limits, each in its controller's directory.
fn apply_v1(d: &Dirs, limits: &Limits) -> Result<(), String> {
    write(&d.cpu, "cpu.shares", &cpu_shares(limits.cpus).to_string())?;
    if limits.cfs_quota {
        write(&d.cpu, "cpu.cfs_period_us", &CFS_PERIOD_US.to_string())?;
        write(&d.cpu, "cpu.cfs_quota_us", &cfs_quota_us(limits.cpus).to_string())?;
    }
    if let Some(bytes) = limits.mem_bytes {
        // Memory first: the kernel refuses a memory+swap limit below the memory limit.
        write(&d.memory, "memory.limit_in_bytes", &bytes.to_string())?;
        if d.memory.join("memory.memsw.limit_in_bytes").exists() {
            write(&d.memory, "memory.memsw.limit_in_bytes", &bytes.to_string())?;
        }
    }
    Ok(())
}

/// v2: the same limits in the one directory.
fn apply_v2(d: &Dirs, limits: &Limits) -> Result<(), String> {
    write(
        &d.cpu,
        "cpu.weight",
        &cpu_weight(cpu_shares(limits.cpus)).to_string(),
    )?;
    let max = if limits.cfs_quota {
        format!("{} {CFS_PERIOD_US}", cfs_quota_us(limits.cpus))
    } else {
        format!("max {CFS_PERIOD_US}")
    };
    write(&d.cpu, "cpu.max", &max)?;
    if let Some(bytes) = limits.mem_bytes {
        write(&d.memory, "memory.max", &bytes.to_string())?;
        if d.memory.join("memory.swap.max").exists() {
            write(&d.memory, "memory.swap.max", "0")?;
        }
    }
    Ok(())
}

/// v1 cpu.shares for `cpus`: 1024 per CPU, within the kernel's bounds.
fn cpu_shares(cpus: f64) -> u64 {
    ((cpus * 1024.0).round() as u64).clamp(MIN_SHARES, MAX_SHARES)
}

/// The CFS quota per [`CFS_PERIOD_US`] that caps a task at `cpus` CPUs.
fn cfs_quota_us(cpus: f64) -> u64 {
    ((cpus * CFS_PERIOD_US as f64).round() as u64).max(MIN_CFS_QUOTA_US)
}

/// v2 cpu.weight for v1 `shares`: [2, 262144] mapped linearly onto [1, 10000].
fn cpu_weight(shares: u64) -> u64 {
    let weight = 1.0 + shares.saturating_sub(MIN_SHARES) as f64 * 9999.0 / 262_142.0;
    (weight.round() as u64).clamp(1, 10_000)
}

/// v2: lets the children of `dir` use the cpu and memory controllers.
fn enable_controllers(dir: &Path) -> Result<(), String> {
    write(dir, "cgroup.subtree_control", "+cpu +memory").map_err(|e| format!("--isolation cgroups: {e}"))
}

/// Creates a directory of the hierarchy unless it exists.
fn make_dir(dir: &Path) -> Result<(), String> {
    match fs::create_dir(dir) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(format!(
            "--isolation cgroups: cannot write {} ({}): run as root or use --isolation posix",
            dir.display(),
            os_message(&e)
        )),
        _ => Ok(()),
    }
}

/// Kills the processes of a cgroup and removes its directories, retrying for up to
/// KILL_ROUNDS * KILL_PAUSE while the dying processes leave it. True if all are gone.
fn kill_and_remove(dirs: &Dirs) -> bool {
    for _ in 0..KILL_ROUNDS {
        let mut left = false;
        for dir in dirs.distinct() {
            if !dir.exists() {
                continue;
            }
            kill_tree(dir, dirs.version);
            left |= remove_tree(dir).is_err();
        }
        if !left {
            return true;
        }
        thread::sleep(KILL_PAUSE);
    }
    false
}

/// SIGKILLs every process in `dir` and in the cgroups below it (a task may have made some).
fn kill_tree(dir: &Path, version: Version) {
    // v2's cgroup.kill kills the whole subtree at once, forks in flight included.
    if version == Version::V2 && write(dir, "cgroup.kill", "1").is_ok() {
        return;
    }
    for pid in read(dir, "cgroup.procs")
        .as_deref()
        .map(parse_pids)
        .unwrap_or_default()
    {
        sigkill(pid);
    }
    for sub in subdirs(dir) {
        kill_tree(&sub, version);
    }
}

/// Removes `dir` and the cgroups below it, deepest first. A directory already gone is removed.
fn remove_tree(dir: &Path) -> io::Result<()> {
    for sub in subdirs(dir) {
        remove_tree(&sub)?;
    }
    match fs::remove_dir(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The subdirectories of `dir` (child cgroups); none if it cannot be listed.
fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .map(|entry| entry.path())
        .collect()
}

unsafe extern "C" {
    /// kill(2) from the C library std already links (signal.h); pid_t is i32 on Linux.
    fn kill(pid: i32, sig: i32) -> i32;
}

/// SIGKILL on every Linux architecture.
const SIGKILL: i32 = 9;

/// Sends SIGKILL to one process. Never to pid 0 or below (a process group, or every process)
/// nor to this process, whatever a cgroup.procs file says.
fn sigkill(pid: i32) {
    if pid <= 0 || pid as u32 == std::process::id() {
        return;
    }
    // SAFETY: kill(2) has no memory-safety preconditions; a pid that has already exited
    // gives ESRCH, which is what we want anyway.
    unsafe {
        kill(pid, SIGKILL);
    }
}

/// The pids of a cgroup.procs file, one per line.
fn parse_pids(text: &str) -> Vec<i32> {
    text.lines().filter_map(|line| line.trim().parse().ok()).collect()
}

/// The value of `key` in a flat keyed file ("key value" lines: cpu.stat, memory.events,
/// memory.oom_control).
fn keyed_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.trim().split_once(' ')?;
        if k == key { v.trim().parse().ok() } else { None }
    })
}

/// Whether the whitespace-separated `text` holds every one of `words`.
fn has_words(text: &str, words: &[&str]) -> bool {
    words.iter().all(|w| text.split_whitespace().any(|t| t == *w))
}

fn read(dir: &Path, file: &str) -> Option<String> {
    fs::read_to_string(dir.join(file)).ok()
}

fn read_u64(dir: &Path, file: &str) -> Option<u64> {
    read(dir, file)?.trim().parse().ok()
}

/// Writes `value` to a control file in one write(2), as the kernel wants. Never creates it.
fn write(dir: &Path, file: &str, value: &str) -> Result<(), String> {
    let path = dir.join(file);
    OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(|e| {
            format!(
                "cannot write {value:?} to {} ({})",
                path.display(),
                os_message(&e)
            )
        })
}

/// An I/O error as the OS says it, without std's " (os error N)": "Permission denied".
fn os_message(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// One line of /proc/self/mountinfo, as far as finding cgroups needs.
#[derive(Debug, PartialEq)]
struct Mount {
    point: PathBuf,
    fstype: String,
    /// The super options: for a v1 cgroup mount, its controllers ("rw,cpu,cpuacct").
    options: String,
}

/// The mounts of a mountinfo text: "id parent dev root point opts [optional...] - fstype source
/// superopts". Malformed lines are skipped.
fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let point = left.split(' ').nth(4)?;
            let mut right = right.split(' ');
            let fstype = right.next()?.to_owned();
            let options = right.nth(1)?.to_owned();
            Some(Mount {
                point: unescape(point),
                fstype,
                options,
            })
        })
        .collect()
}

/// Undoes mountinfo's octal escapes ("\040" for a space).
fn unescape(field: &str) -> PathBuf {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| std::str::from_utf8(d).ok());
        match octal.and_then(|d| u8::from_str_radix(d, 8).ok()) {
            Some(byte) if bytes[i] == b'\\' => {
                out.push(byte);
                i += 4;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    PathBuf::from(OsString::from_vec(out))
}

/// The root directories to use: a cgroup2 mount whose cgroup.controllers (read by
/// `controllers_of`) offers cpu and memory, else the v1 mounts of cpu, cpuacct and memory.
fn find_root(mounts: &[Mount], controllers_of: impl Fn(&Path) -> String) -> Result<Dirs, String> {
    let unified = mounts
        .iter()
        .find(|m| m.fstype == "cgroup2" && has_words(&controllers_of(&m.point), &["cpu", "memory"]));
    if let Some(m) = unified {
        return Ok(Dirs {
            version: Version::V2,
            cpu: m.point.clone(),
            cpuacct: m.point.clone(),
            memory: m.point.clone(),
        });
    }
    let v1 = |controller: &str| {
        mounts
            .iter()
            .find(|m| m.fstype == "cgroup" && m.options.split(',').any(|o| o == controller))
            .map(|m| m.point.clone())
            .ok_or_else(|| {
                format!(
                    "--isolation cgroups: no cgroup {controller} controller is mounted (neither v1 nor v2 \
                     with cpu and memory): use --isolation posix"
                )
            })
    };
    Ok(Dirs {
        version: Version::V1,
        cpu: v1("cpu")?,
        cpuacct: v1("cpuacct")?,
        memory: v1("memory")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Child, Stdio};

    /// An agent's cgroups, closed (every task cgroup killed and removed) however the test ends.
    struct Agent(Option<Cgroups>);

    impl std::ops::Deref for Agent {
        type Target = Cgroups;
        fn deref(&self) -> &Cgroups {
            self.0.as_ref().expect("open until dropped")
        }
    }

    impl Drop for Agent {
        fn drop(&mut self) {
            if let Some(cgroups) = self.0.take() {
                cgroups.close();
            }
        }
    }

    fn agent_name(test: &str) -> String {
        format!("test-{test}-{}", std::process::id())
    }

    /// The test's agent, or None (with a note) where cgroups cannot be written.
    fn open(test: &str) -> Option<Agent> {
        match Cgroups::open(&agent_name(test)) {
            Ok(cgroups) => Some(Agent(Some(cgroups))),
            Err(e) => {
                eprintln!("skipping {test}: {e}");
                None
            }
        }
    }

    fn limits(cpus: f64, cfs_quota: bool, mem_bytes: Option<u64>) -> Limits {
        Limits {
            cpus,
            cfs_quota,
            mem_bytes,
        }
    }

    fn spawn_in(task: &TaskCgroup, program: &str, args: &[&str]) -> Child {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        task.confine(&mut cmd).expect("confine");
        cmd.spawn().expect("spawn")
    }

    fn file(dir: &Path, name: &str) -> String {
        fs::read_to_string(dir.join(name))
            .expect("readable control file")
            .trim()
            .to_owned()
    }

    #[test]
    fn create_applies_limits_and_destroy_removes_the_cgroup() {
        let Some(agent) = open("limits") else { return };
        let task = agent
            .create("t", &limits(0.5, true, Some(64 << 20)))
            .expect("create");
        let d = task.dirs.clone();
        match agent.version() {
            Version::V1 => {
                assert_eq!(file(&d.cpu, "cpu.shares"), "512");
                assert_eq!(file(&d.cpu, "cpu.cfs_period_us"), "100000");
                assert_eq!(file(&d.cpu, "cpu.cfs_quota_us"), "50000");
                assert_eq!(file(&d.memory, "memory.limit_in_bytes"), "67108864");
                if d.memory.join("memory.memsw.limit_in_bytes").exists() {
                    assert_eq!(file(&d.memory, "memory.memsw.limit_in_bytes"), "67108864");
                }
            }
            Version::V2 => {
                assert_eq!(file(&d.cpu, "cpu.weight"), cpu_weight(512).to_string());
                assert_eq!(file(&d.cpu, "cpu.max"), "50000 100000");
                assert_eq!(file(&d.memory, "memory.max"), "67108864");
            }
        }
        let dirs: Vec<PathBuf> = d.distinct().into_iter().map(Path::to_path_buf).collect();
        assert!(dirs.iter().all(|dir| dir.is_dir()));
        task.destroy();
        assert!(dirs.iter().all(|dir| !dir.exists()), "left behind: {dirs:?}");

        // Without a quota or a memory limit, the kernel's defaults stay.
        let task = agent.create("u", &limits(2.0, false, None)).expect("create");
        let d = task.dirs.clone();
        match agent.version() {
            Version::V1 => {
                assert_eq!(file(&d.cpu, "cpu.shares"), "2048");
                assert_eq!(file(&d.cpu, "cpu.cfs_quota_us"), "-1");
            }
            Version::V2 => assert_eq!(file(&d.cpu, "cpu.max"), "max 100000"),
        }
        // The same name twice is refused, and the first is kept.
        assert!(agent.create("u", &limits(1.0, false, None)).is_err());
        assert!(d.cpu.is_dir());
        assert!(agent.create("../escape", &limits(1.0, false, None)).is_err());
        assert!(agent.create("v", &limits(f64::NAN, false, None)).is_err());
        assert!(
            !agent.agent.cpu.join("v").exists(),
            "a refused cgroup is not left behind"
        );
        task.destroy();
    }

    #[test]
    fn a_confined_child_runs_in_the_task_cgroup_from_its_start() {
        let Some(agent) = open("confine") else { return };
        let task = agent
            .create("t", &limits(1.0, false, Some(64 << 20)))
            .expect("create");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "cat /proc/self/cgroup; sleep 0.2"])
            .stdin(Stdio::null());
        task.confine(&mut cmd).expect("confine");
        let out = cmd.output().expect("run sh");
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        let suffix = format!(":/mesosim/{}/t", agent_name("confine"));
        let controllers: &[&str] = match agent.version() {
            Version::V1 => &["cpu", "cpuacct", "memory"],
            Version::V2 => &[""],
        };
        for controller in controllers {
            let found = text.lines().any(|line| {
                let mut fields = line.splitn(3, ':').skip(1);
                let names = fields.next().unwrap_or("");
                line.ends_with(&suffix) && names.split(',').any(|n| n == *controller)
            });
            assert!(
                found,
                "child not in the {controller:?} cgroup; /proc/self/cgroup:\n{text}"
            );
        }
        // The parent stays where it was.
        let own = fs::read_to_string("/proc/self/cgroup").expect("own cgroups");
        assert!(!own.contains("/mesosim/"), "the parent moved:\n{own}");

        // And the task's cgroup.procs lists the child while it runs.
        let mut child = spawn_in(&task, "sleep", &["5"]);
        let pid = child.id().to_string();
        for dir in task.dirs.distinct() {
            let procs = file(dir, "cgroup.procs");
            assert!(
                procs.lines().any(|p| p == pid),
                "{pid} not in {}: {procs:?}",
                dir.display()
            );
        }
        task.destroy();
        let status = child.wait().expect("wait");
        assert_eq!(status.signal(), Some(SIGKILL), "destroy kills what is left");
    }

    #[test]
    fn a_child_over_its_memory_limit_is_oom_killed() {
        let Some(agent) = open("oom") else { return };
        if agent.version() == Version::V1 {
            let memsw = agent.agent.memory.join("memory.memsw.limit_in_bytes").exists();
            let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
            let swap_kb = keyed_value(&meminfo.replace(':', ""), "SwapTotal").unwrap_or(0);
            if !memsw && swap_kb > 0 {
                eprintln!("note: {swap_kb} kB of swap and no memory.memsw: a task may swap past its limit");
            }
        }
        let limit = limits(0.5, false, Some(32 << 20));
        // dd fills one 200 MB buffer: far over the limit, and it exits at once if unconfined.
        let big = agent.create("big", &limit).expect("create");
        let status = spawn_in(
            &big,
            "dd",
            &["if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"],
        )
        .wait()
        .expect("wait");
        assert_eq!(
            status.signal(),
            Some(SIGKILL),
            "dd should be OOM-killed, ended {status:?}"
        );
        assert!(big.oom_killed());
        big.destroy();

        let small = agent.create("small", &limit).expect("create");
        let status = spawn_in(
            &small,
            "dd",
            &["if=/dev/zero", "of=/dev/null", "bs=1M", "count=8"],
        )
        .wait()
        .expect("wait");
        assert!(status.success(), "dd under the limit ended {status:?}");
        assert!(!small.oom_killed());
        small.destroy();
    }

    #[test]
    fn usage_counts_cpu_time_and_memory() {
        let Some(agent) = open("usage") else { return };
        let task = agent.create("t", &limits(1.0, false, None)).expect("create");
        assert_eq!(task.usage().cpu_ns, 0);
        let mut child = spawn_in(&task, "sh", &["-c", "while :; do :; done"]);
        // Sample while it burns CPU, until it has had 100 ms (at most 5 s on a busy machine).
        let mut usage = Usage::default();
        let mut mem_bytes = 0;
        for _ in 0..250 {
            thread::sleep(Duration::from_millis(20));
            usage = task.usage();
            mem_bytes = mem_bytes.max(usage.mem_bytes);
            if usage.cpu_ns > 100_000_000 && mem_bytes > 0 {
                break;
            }
        }
        task.destroy();
        // Should be dead already; killed here too so that a failure cannot hang the test.
        let _ = child.kill();
        let _ = child.wait();
        assert!(usage.cpu_ns > 100_000_000, "{usage:?}");
        assert!(mem_bytes > 0, "{usage:?}");
    }

    #[test]
    fn orphans_of_a_crashed_run_are_killed_and_removed() {
        let Some(agent) = open("orphans") else { return };
        let task = agent
            .create("t", &limits(0.5, false, Some(64 << 20)))
            .expect("create");
        let dirs: Vec<PathBuf> = task.dirs.distinct().into_iter().map(Path::to_path_buf).collect();
        let mut child = spawn_in(&task, "sleep", &["30"]);
        // The crash: neither the task's cgroup nor the agent's is cleaned up.
        std::mem::forget(task);
        let mut agent = agent;
        std::mem::forget(agent.0.take());

        let Some(again) = open("orphans") else {
            panic!("reopening failed")
        };
        // A recovered agent could take it back instead; a name never made, or not plain, is not there.
        assert_eq!(
            again.adopt("t").map(|t| t.dirs.memory),
            Some(again.agent.memory.join("t"))
        );
        assert!(again.adopt("never-made").is_none());
        assert!(again.adopt("..").is_none());
        assert_eq!(again.remove_orphans(), 1);
        assert!(dirs.iter().all(|dir| !dir.exists()), "left behind: {dirs:?}");
        let mut ended = None;
        for _ in 0..100 {
            ended = child.try_wait().expect("try_wait");
            if ended.is_some() {
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        assert_eq!(
            ended.and_then(|s| s.signal()),
            Some(SIGKILL),
            "sleep still running"
        );
        assert_eq!(again.remove_orphans(), 0);
    }

    #[test]
    fn close_removes_the_agent_directory() {
        let Some(mut agent) = open("close") else {
            return;
        };
        let cgroups = agent.0.take().expect("open");
        let task = cgroups.create("t", &limits(1.0, false, None)).expect("create");
        let mut child = spawn_in(&task, "sleep", &["30"]);
        let dirs: Vec<PathBuf> = cgroups
            .agent
            .distinct()
            .into_iter()
            .map(Path::to_path_buf)
            .collect();
        cgroups.close();
        let _ = child.kill();
        let _ = child.wait();
        assert!(dirs.iter().all(|dir| !dir.exists()), "left behind: {dirs:?}");
    }

    #[test]
    fn conversions_follow_the_kernel_ranges() {
        assert_eq!(cpu_shares(0.5), 512);
        assert_eq!(cpu_shares(1.0), 1024);
        assert_eq!(cpu_shares(0.001), 2);
        assert_eq!(cpu_shares(1e9), 262_144);
        assert_eq!(cfs_quota_us(0.5), 50_000);
        assert_eq!(cfs_quota_us(2.25), 225_000);
        assert_eq!(cfs_quota_us(0.001), 1_000);
        assert_eq!(cpu_weight(2), 1);
        assert_eq!(cpu_weight(262_144), 10_000);
        assert_eq!(cpu_weight(1024), 40); // 1 + 1022 * 9999 / 262142 = 39.98
        assert_eq!(cpu_weight(512), 20); // 19.45
    }

    #[test]
    fn keyed_files_are_parsed() {
        let cpu_stat = "usage_usec 2503316\nuser_usec 1520000\nsystem_usec 983316\nnr_periods 0\n\
                        nr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n";
        assert_eq!(keyed_value(cpu_stat, "usage_usec"), Some(2_503_316));
        assert_eq!(keyed_value(cpu_stat, "user_usec"), Some(1_520_000));
        let events = "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n";
        assert_eq!(keyed_value(events, "oom_kill"), Some(1));
        assert_eq!(keyed_value(events, "oom"), Some(2));
        assert_eq!(
            keyed_value("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n", "oom_kill"),
            Some(0)
        );
        let oom_control = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        assert_eq!(keyed_value(oom_control, "oom_kill"), Some(3));
        assert_eq!(keyed_value("oom_kill_disable 0\nunder_oom 0\n", "oom_kill"), None);
        assert_eq!(keyed_value("", "usage_usec"), None);
        assert_eq!(parse_pids("12\n345\n\n"), vec![12, 345]);
    }

    #[test]
    fn names_must_be_plain() {
        assert!(check_name("task-1.a_b").is_ok());
        for bad in ["", ".", "..", "a/b", "/x", "a\0b"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn os_errors_read_plainly() {
        let e = io::Error::from_raw_os_error(13);
        assert_eq!(os_message(&e), "Permission denied");
    }

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn v1_mounts_are_found_and_an_empty_unified_mount_is_skipped() {
        let mounts = parse_mountinfo(HYBRID);
        assert_eq!(mounts.len(), 7);
        let root = find_root(&mounts, |_| String::new()).expect("v1");
        assert_eq!(root.version, Version::V1);
        assert_eq!(root.cpu, Path::new("/sys/fs/cgroup/cpu"));
        assert_eq!(root.cpuacct, Path::new("/sys/fs/cgroup/cpuacct"));
        assert_eq!(root.memory, Path::new("/sys/fs/cgroup/memory"));
        assert_eq!(root.join("mesosim").distinct().len(), 3);
    }

    #[test]
    fn combined_cpu_cpuacct_mount_is_one_directory() {
        let text = "25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct\n\
                    26 24 0:23 / /sys/fs/cgroup/cpuset rw shared:10 - cgroup cgroup rw,cpuset\n\
                    27 24 0:24 / /sys/fs/cgroup/memory rw shared:11 - cgroup cgroup rw,memory\n";
        let root = find_root(&parse_mountinfo(text), |_| String::new()).expect("v1");
        assert_eq!(root.cpu, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(root.cpuacct, root.cpu);
        assert_eq!(root.join("t").distinct().len(), 2);
    }

    #[test]
    fn a_unified_mount_with_cpu_and_memory_is_v2() {
        let text = "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev shared:9 - cgroup2 cgroup2 rw,nsdelegate\n";
        let controllers = |dir: &Path| {
            assert_eq!(dir, Path::new("/sys/fs/cgroup"));
            "cpuset cpu io memory hugetlb pids rdma misc\n".to_owned()
        };
        let root = find_root(&parse_mountinfo(text), controllers).expect("v2");
        assert_eq!(root.version, Version::V2);
        assert_eq!(
            root.join("mesosim").distinct(),
            vec![Path::new("/sys/fs/cgroup/mesosim")]
        );
        // Without the memory controller it is of no use, and nothing else is mounted.
        let err = find_root(&parse_mountinfo(text), |_| "cpu io pids".to_owned()).unwrap_err();
        assert!(err.contains("no cgroup cpu controller"), "{err}");
    }

    #[test]
    fn mount_points_are_unescaped() {
        let text = "1 0 0:1 / /mnt/my\\040cgroups rw - cgroup cgroup rw,memory\n";
        assert_eq!(parse_mountinfo(text)[0].point, Path::new("/mnt/my cgroups"));
        assert_eq!(unescape("a\\\\b"), Path::new("a\\\\b"), "not octal: kept");
    }
}
