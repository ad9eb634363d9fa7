//! The live backend: every task is a real child process of the driver.
//!
//! A task with a [`TaskSpec::command`] runs it under `sh -c` (Mesos's command executor). One
//! without is a stand-in for a trace's or a model's task: one that succeeds after `d` runs
//! `sleep d`; one that fails runs `sh -c 'sleep d; exit 1'`; one with no duration runs
//! `sleep infinity`. Its exit status decides how it is reported (0 is
//! [`ExitReason::Finished`], anything else [`ExitReason::Failed`]); a task killed on request
//! is [`ExitReason::Killed`]. Each task leads its own process group, so killing a task also
//! kills whatever its shell started.
//!
//! Isolation ([`Isolation`]): `Posix` runs the child unconfined, as Mesos's posix isolator
//! does; `Cgroups` puts it in a cgroup of its own before it execs (see [`super::cgroups`]),
//! with cpu shares and a memory limit from its resources: a task the kernel kills for its
//! memory is reported [`ExitReason::OutOfMemory`].
//!
//! With a sandbox folder, each task's standard output and error go to
//! `<sandbox>/<task>/stdout` and `stderr`, as a Mesos sandbox holds them, and the task runs
//! in that folder under a small wrapper shell that writes its pid and, when it ends, its
//! exit status there. A task leads its own process group, so it outlives an agent process
//! killed abruptly; the next agent process on the machine takes such tasks back from their
//! sandboxes ([`Tasks::recover`], Mesos's agent recovery) and learns how they end from the
//! status their wrapper writes.
//!
//! Unix only (process groups, `sleep`, `sh`).
//!
//! Exits are found by polling (`try_wait`) from the process's own event loop, which keeps the
//! children owned by one thread and makes killing them direct. Dropping the table kills every
//! task still running, so no child outlives its process's loop, even one that panicked.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use super::cgroups::{Cgroups, Limits, TaskCgroup};
use crate::process::{ExitReason, TaskExit, TaskKey, TaskOutcome, TaskSpec};
use crate::time::Instant;

/// How a machine confines its tasks.
#[derive(Clone, Default)]
pub enum Isolation {
    /// Unconfined child processes (Mesos's posix isolator).
    #[default]
    Posix,
    /// A cgroup per task, with cpu shares (and, with `cfs_quota`, a hard cpu limit) and a
    /// memory limit from its resources.
    Cgroups { cgroups: Arc<Cgroups>, cfs_quota: bool },
}

/// How a process's machine runs tasks.
#[derive(Clone, Default)]
pub struct BackendConfig {
    pub isolation: Isolation,
    /// Where each task's stdout and stderr go (`<sandboxes>/<task>/`); `None`: nowhere.
    pub sandboxes: Option<PathBuf>,
    /// Where the process's durable records go (`<meta>/<key>.json`, see
    /// [`super::storage`]); `None`: in memory, lost with the OS process.
    pub meta: Option<PathBuf>,
    /// Take back, before the process starts, the tasks an earlier process left running in
    /// the sandboxes ([`Tasks::recover`]).
    pub recover: bool,
}

struct Task {
    proc: Proc,
    /// Runs under `sh`, so the shell's own children must be killed with it.
    shell: bool,
    cgroup: Option<TaskCgroup>,
    /// Its sandbox, where a task wrapped for recovery keeps its pid and exit status.
    sandbox: Option<PathBuf>,
}

/// A task's process: a child of this driver, or one adopted from an agent process that
/// ran before (a recovered agent's task, no longer anyone's child here).
enum Proc {
    Child(Child),
    Adopted { pid: u32 },
}

/// Wraps a task in a sandbox so that it can be recovered by an agent process started
/// after this one ends: it writes its pid, runs the task, writes the task's exit status,
/// and ends as the task did (a signal that killed the task kills the wrapper too).
/// Written to temporary names and renamed, so each file is whole when it exists.
const WRAPPER: &str = r#"echo $$ > pid.tmp && mv pid.tmp pid
"$@"; s=$?
echo $s > status.tmp && mv status.tmp status
if [ $s -gt 128 ]; then kill -$((s - 128)) $$; fi
exit $s"#;

/// Why a launch did not start a task.
pub enum LaunchError {
    /// The key names a task that is still running: a bug in the launching process.
    Duplicate,
    /// The OS refused to start the child.
    Spawn(io::Error),
}

pub struct Tasks {
    config: BackendConfig,
    /// Stand-in tasks run `duration / time_scale` of wall time (see [`super::Clock`]).
    time_scale: f64,
    running: BTreeMap<TaskKey, Task>,
    /// Exits of tasks a recovered process expected and recovery did not find (killed with
    /// the agent before they started): reported at the first poll.
    missing: Vec<TaskExit>,
}

impl Tasks {
    pub fn new(config: BackendConfig) -> Tasks {
        Tasks {
            config,
            time_scale: 1.0,
            running: BTreeMap::new(),
            missing: Vec::new(),
        }
    }

    /// Stand-in tasks end `scale` times sooner, for a clock running that much faster.
    pub fn with_time_scale(mut self, scale: f64) -> Tasks {
        assert!(scale > 0.0, "time runs forward");
        self.time_scale = scale;
        self
    }

    /// After [`recover`](Self::recover): the tasks the recovered process believes run
    /// here; those not found are reported failed at the next poll.
    pub fn expect(&mut self, keys: &[TaskKey]) {
        for &key in keys {
            if !self.running.contains_key(&key) {
                self.missing.push(TaskExit {
                    key,
                    reason: ExitReason::Failed,
                });
            }
        }
    }

    pub fn launch(&mut self, spec: &TaskSpec) -> Result<(), LaunchError> {
        if self.running.contains_key(&spec.key) {
            return Err(LaunchError::Duplicate);
        }
        let name = container_name(spec);
        let sandbox = self.sandbox(&name).map_err(LaunchError::Spawn)?;
        let (argv, shell) = argv(spec, self.time_scale);
        let mut cmd = match &sandbox {
            Some(dir) => {
                let mut cmd = Command::new("sh");
                cmd.args(["-c", WRAPPER, "mesosim-task"])
                    .args(&argv)
                    .current_dir(dir);
                cmd
            }
            None => {
                let mut cmd = Command::new(&argv[0]);
                cmd.args(&argv[1..]);
                cmd
            }
        };
        let cgroup = self.cgroup(spec, &name, &mut cmd).map_err(LaunchError::Spawn)?;
        let (stdout, stderr) = output(sandbox.as_deref()).map_err(LaunchError::Spawn)?;
        let spawned = cmd
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0)
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) => {
                if let Some(cgroup) = cgroup {
                    cgroup.destroy();
                }
                return Err(LaunchError::Spawn(e));
            }
        };
        let task = Task {
            proc: Proc::Child(child),
            shell: shell || sandbox.is_some(),
            cgroup,
            sandbox,
        };
        self.running.insert(spec.key, task);
        Ok(())
    }

    /// With cgroups, the task's own cgroup, which `cmd` joins before it runs.
    fn cgroup(&self, spec: &TaskSpec, name: &str, cmd: &mut Command) -> io::Result<Option<TaskCgroup>> {
        let Isolation::Cgroups { cgroups, cfs_quota } = &self.config.isolation else {
            return Ok(None);
        };
        let limits = Limits {
            cpus: spec.resources.cpus().as_f64(),
            cfs_quota: *cfs_quota,
            mem_bytes: mem_bytes(spec.resources.mem().as_f64()),
        };
        let cgroup = cgroups.create(name, &limits).map_err(io::Error::other)?;
        cgroup.confine(cmd)?;
        Ok(Some(cgroup))
    }

    /// The task's sandbox folder, made afresh, if tasks have sandboxes.
    fn sandbox(&self, name: &str) -> io::Result<Option<PathBuf>> {
        let Some(root) = &self.config.sandboxes else {
            return Ok(None);
        };
        let dir = root.join(name);
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir)?;
        Ok(Some(dir))
    }

    /// Takes back the tasks an earlier agent process on this machine left running (or
    /// that ended since, unreported), from their sandboxes: their keys, in order. Their
    /// exits are then reported as those of tasks launched here.
    pub fn recover(&mut self) -> io::Result<Vec<TaskKey>> {
        let Some(root) = self.config.sandboxes.clone() else {
            return Ok(Vec::new());
        };
        let entries = match fs::read_dir(&root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut keys = Vec::new();
        for entry in entries {
            let dir = entry?.path();
            let Some(key) = key_of(&dir) else { continue };
            let Some(pid) = read_number(&dir.join("pid")).and_then(|p| u32::try_from(p).ok()) else {
                continue;
            };
            let cgroup = match &self.config.isolation {
                Isolation::Cgroups { cgroups, .. } => dir
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| cgroups.adopt(n)),
                Isolation::Posix => None,
            };
            let task = Task {
                proc: Proc::Adopted { pid },
                shell: true,
                cgroup,
                sandbox: Some(dir),
            };
            self.running.insert(key, task);
            keys.push(key);
        }
        keys.sort_unstable();
        Ok(keys)
    }

    /// Kills a running task and reports how it ended: `Killed`, or its own exit if it had
    /// already ended unreported. `None` if no such task is running.
    pub fn kill(&mut self, key: TaskKey) -> Option<TaskExit> {
        let mut task = self.running.remove(&key)?;
        let exit = ended(key, &mut task).unwrap_or(TaskExit {
            key,
            reason: ExitReason::Killed,
        });
        terminate(&mut task);
        Some(exit)
    }

    /// Tasks that have ended by themselves since the last poll, in key order.
    pub fn poll(&mut self) -> Vec<TaskExit> {
        let mut exits = std::mem::take(&mut self.missing);
        for (&key, task) in &mut self.running {
            exits.extend(ended(key, task));
        }
        for exit in &exits {
            if let Some(mut task) = self.running.remove(&exit.key) {
                // Reaped already unless `try_wait` failed; make sure nothing is left behind.
                terminate(&mut task);
            }
        }
        exits
    }

    pub fn is_empty(&self) -> bool {
        self.running.is_empty() && self.missing.is_empty()
    }

    /// Kills every running task, without reporting.
    pub fn kill_all(&mut self) {
        while let Some((_, mut task)) = self.running.pop_first() {
            terminate(&mut task);
        }
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// The command line a task runs, and whether it runs under a shell.
fn argv(spec: &TaskSpec, time_scale: f64) -> (Vec<String>, bool) {
    if let Some(line) = &spec.command {
        return (vec!["sh".into(), "-c".into(), line.to_string()], true);
    }
    let Some(d) = spec.run.duration else {
        return (vec!["sleep".into(), "infinity".into()], false);
    };
    let wall_ns = (d.as_nanos() as f64 / time_scale) as u64;
    let secs = Instant::from_nanos(wall_ns).secs_string();
    let script = match spec.run.outcome {
        TaskOutcome::Succeed => return (vec!["sleep".into(), secs], false),
        TaskOutcome::Fail => "sleep \"$1\"; exit 1",
        // Ends by a signal, as a killed task does.
        TaskOutcome::Killed => "sleep \"$1\"; kill -TERM $$",
    };
    let argv = ["sh", "-c", script, "sh", &secs].map(str::to_owned).to_vec();
    (argv, true)
}

/// Where a task's standard output and error go: its sandbox's files, or nowhere.
fn output(sandbox: Option<&Path>) -> io::Result<(Stdio, Stdio)> {
    let Some(dir) = sandbox else {
        return Ok((Stdio::null(), Stdio::null()));
    };
    let stdout = fs::File::create(dir.join("stdout"))?;
    let stderr = fs::File::create(dir.join("stderr"))?;
    Ok((stdout.into(), stderr.into()))
}

/// A task's container name: its owner (framework and task ids, as the agent names them)
/// and its key, unique on the machine and safe as a file name.
fn container_name(spec: &TaskSpec) -> String {
    format!(
        "task-{}-{}-{}",
        spec.owner >> 32,
        spec.owner & 0xffff_ffff,
        spec.key.0
    )
}

/// The key a sandbox's name ends with.
fn key_of(dir: &Path) -> Option<TaskKey> {
    let name = dir.file_name()?.to_str()?;
    let key = name.strip_prefix("task-")?.rsplit('-').next()?;
    key.parse().ok().map(TaskKey)
}

fn read_number(path: &Path) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// A memory limit from a task's `mem` (MB, as Mesos counts it); none for a task that
/// holds no memory (it would be killed at once).
fn mem_bytes(mem_mb: f64) -> Option<u64> {
    (mem_mb > 0.0).then(|| (mem_mb * 1024.0 * 1024.0).round() as u64)
}

/// How `task` ended, if it has: a cgroup's OOM kill tells a memory limit from any other
/// kill. An adopted task is known by the status its wrapper left, or by its process
/// being gone (killed, with its wrapper, before it could write one).
fn ended(key: TaskKey, task: &mut Task) -> Option<TaskExit> {
    let reason = match &mut task.proc {
        Proc::Child(child) => match child.try_wait() {
            Ok(None) => return None,
            Ok(Some(status)) => reason_of(status),
            // The child can no longer be observed: as far as anyone can tell, it failed.
            Err(_) => ExitReason::Failed,
        },
        Proc::Adopted { pid } => {
            let sandbox = task.sandbox.as_deref().expect("adopted tasks have sandboxes");
            match read_number(&sandbox.join("status")) {
                Some(0) => ExitReason::Finished,
                Some(code) if code > 128 => ExitReason::Killed,
                Some(_) => ExitReason::Failed,
                None if alive(*pid) => return None,
                None => ExitReason::Killed,
            }
        }
    };
    let oom = || task.cgroup.as_ref().is_some_and(TaskCgroup::oom_killed);
    let reason = match reason {
        ExitReason::Killed | ExitReason::Failed if oom() => ExitReason::OutOfMemory,
        reason => reason,
    };
    Some(TaskExit { key, reason })
}

/// Whether process `pid` runs (a zombie that nobody reaps does not).
fn alive(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the parenthesised command name, which may itself hold spaces.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, Some("Z" | "X") | None)
}

fn reason_of(status: std::process::ExitStatus) -> ExitReason {
    use std::os::unix::process::ExitStatusExt;
    if status.success() {
        ExitReason::Finished
    } else if status.signal().is_some() {
        ExitReason::Killed
    } else {
        ExitReason::Failed
    }
}

/// Kills a task's process group (or just its process) and reaps it, then removes its
/// cgroup (killing anything its process group left behind there). Its sandbox loses its
/// pid file: the task is reported, and no later agent process takes it back. Never blocks
/// for long: SIGKILL cannot be caught.
fn terminate(task: &mut Task) {
    kill_group(task);
    if let Some(cgroup) = task.cgroup.take() {
        cgroup.destroy();
    }
    if let Some(dir) = &task.sandbox {
        let _ = fs::remove_file(dir.join("pid"));
    }
}

fn kill_group(task: &mut Task) {
    let pid = match &mut task.proc {
        Proc::Child(child) => match child.try_wait() {
            Ok(Some(_)) => return,
            _ => child.id(),
        },
        Proc::Adopted { pid } if !alive(*pid) => return,
        Proc::Adopted { pid } => *pid,
    };
    if task.shell {
        // std has no killpg; the shell's builtin `kill` signals the whole group. The group
        // id is the task's pid (it leads its own group) and stays valid until it is reaped.
        let _ = Command::new("sh")
            .args(["-c", "kill -s KILL -- \"-$1\"", "sh", &pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    match &mut task.proc {
        Proc::Child(child) => {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Not our child: its parent reaps it; wait, bounded, until it is gone.
        Proc::Adopted { pid } => {
            for _ in 0..200 {
                if !alive(*pid) {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_the_recovered_process_expects_and_recovery_did_not_find_is_reported_failed() {
        let mut tasks = Tasks::new(BackendConfig::default());
        assert_eq!(tasks.recover().unwrap(), vec![]);
        tasks.expect(&[TaskKey(4)]);
        assert!(!tasks.is_empty());
        let failed = TaskExit {
            key: TaskKey(4),
            reason: ExitReason::Failed,
        };
        assert_eq!(tasks.poll(), vec![failed]);
        assert_eq!(tasks.poll(), vec![]);
        assert!(tasks.is_empty());
    }
}
