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
//! `<sandbox>/<task>/stdout` and `stderr`, as a Mesos sandbox holds them.
//!
//! Unix only (process groups, `sleep`, `sh`).
//!
//! Exits are found by polling (`try_wait`) from the process's own event loop, which keeps the
//! children owned by one thread and makes killing them direct. Dropping the table kills every
//! task still running, so no child outlives its process's loop, even one that panicked.

use std::collections::BTreeMap;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
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
}

struct Task {
    child: Child,
    /// Runs under `sh`, so the shell's own child must be killed with it.
    shell: bool,
    cgroup: Option<TaskCgroup>,
}

/// Why a launch did not start a task.
pub enum LaunchError {
    /// The key names a task that is still running: a bug in the launching process.
    Duplicate,
    /// The OS refused to start the child.
    Spawn(io::Error),
}

#[derive(Default)]
pub struct Tasks {
    config: BackendConfig,
    running: BTreeMap<TaskKey, Task>,
}

impl Tasks {
    pub fn new(config: BackendConfig) -> Tasks {
        Tasks {
            config,
            running: BTreeMap::new(),
        }
    }

    pub fn launch(&mut self, spec: &TaskSpec) -> Result<(), LaunchError> {
        if self.running.contains_key(&spec.key) {
            return Err(LaunchError::Duplicate);
        }
        let (mut cmd, shell) = command(spec);
        let name = container_name(spec);
        let cgroup = match &self.config.isolation {
            Isolation::Posix => None,
            Isolation::Cgroups { cgroups, cfs_quota } => {
                let limits = Limits {
                    cpus: spec.resources.cpus().as_f64(),
                    cfs_quota: *cfs_quota,
                    mem_bytes: mem_bytes(spec.resources.mem().as_f64()),
                };
                let cgroup = cgroups.create(&name, &limits).map_err(io::Error::other);
                let cgroup = cgroup.map_err(LaunchError::Spawn)?;
                cgroup.confine(&mut cmd).map_err(LaunchError::Spawn)?;
                Some(cgroup)
            }
        };
        let (stdout, stderr) = self.sandbox(&name).map_err(LaunchError::Spawn)?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0)
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(e) => {
                if let Some(cgroup) = cgroup {
                    cgroup.destroy();
                }
                return Err(LaunchError::Spawn(e));
            }
        };
        self.running.insert(spec.key, Task { child, shell, cgroup });
        Ok(())
    }

    /// Where a task's output goes: its sandbox's files, or nowhere.
    fn sandbox(&self, name: &str) -> io::Result<(Stdio, Stdio)> {
        let Some(root) = &self.config.sandboxes else {
            return Ok((Stdio::null(), Stdio::null()));
        };
        let dir = root.join(name);
        std::fs::create_dir_all(&dir)?;
        let stdout = std::fs::File::create(dir.join("stdout"))?;
        let stderr = std::fs::File::create(dir.join("stderr"))?;
        Ok((stdout.into(), stderr.into()))
    }
}

fn command(spec: &TaskSpec) -> (Command, bool) {
    if let Some(line) = &spec.command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", line]);
        return (cmd, true);
    }
    let Some(d) = spec.run.duration else {
        let mut cmd = Command::new("sleep");
        cmd.arg("infinity");
        return (cmd, false);
    };
    let secs = Instant::from_nanos(d.as_nanos()).secs_string();
    let script = match spec.run.outcome {
        TaskOutcome::Succeed => {
            let mut cmd = Command::new("sleep");
            cmd.arg(secs);
            return (cmd, false);
        }
        TaskOutcome::Fail => "sleep \"$1\"; exit 1",
        // Ends by a signal, as a killed task does.
        TaskOutcome::Killed => "sleep \"$1\"; kill -TERM $$",
    };
    let mut cmd = Command::new("sh");
    cmd.args(["-c", script, "sh", &secs]);
    (cmd, true)
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

/// A memory limit from a task's `mem` (MB, as Mesos counts it); none for a task that
/// holds no memory (it would be killed at once).
fn mem_bytes(mem_mb: f64) -> Option<u64> {
    (mem_mb > 0.0).then(|| (mem_mb * 1024.0 * 1024.0).round() as u64)
}

/// How a reaped task ended: a cgroup's OOM kill tells a memory limit from any other kill.
fn exit_of(key: TaskKey, status: std::process::ExitStatus, cgroup: Option<&TaskCgroup>) -> TaskExit {
    let reason = match reason_of(status) {
        ExitReason::Killed | ExitReason::Failed if cgroup.is_some_and(TaskCgroup::oom_killed) => {
            ExitReason::OutOfMemory
        }
        reason => reason,
    };
    TaskExit { key, reason }
}

impl Tasks {
    /// Kills a running task and reports how it ended: `Killed`, or its own exit if it had
    /// already ended unreported. `None` if no such task is running.
    pub fn kill(&mut self, key: TaskKey) -> Option<TaskExit> {
        let mut task = self.running.remove(&key)?;
        let exit = match task.child.try_wait() {
            Ok(Some(status)) => exit_of(key, status, task.cgroup.as_ref()),
            _ => TaskExit {
                key,
                reason: ExitReason::Killed,
            },
        };
        terminate(&mut task);
        Some(exit)
    }

    /// Tasks that have ended by themselves since the last poll, in key order.
    pub fn poll(&mut self) -> Vec<TaskExit> {
        let mut exits = Vec::new();
        for (&key, task) in &mut self.running {
            match task.child.try_wait() {
                Ok(None) => {}
                Ok(Some(status)) => exits.push(exit_of(key, status, task.cgroup.as_ref())),
                // The child can no longer be observed: as far as anyone can tell, it failed.
                Err(_) => exits.push(TaskExit {
                    key,
                    reason: ExitReason::Failed,
                }),
            }
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
        self.running.is_empty()
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
/// cgroup (killing anything its process group left behind there). Never blocks for long:
/// SIGKILL cannot be caught.
fn terminate(task: &mut Task) {
    kill_group(task);
    if let Some(cgroup) = task.cgroup.take() {
        cgroup.destroy();
    }
}

fn kill_group(task: &mut Task) {
    if matches!(task.child.try_wait(), Ok(Some(_))) {
        return;
    }
    if task.shell {
        // std has no killpg; the shell's builtin `kill` signals the whole group. The group
        // id is the child's pid (it leads its own group) and stays valid until it is reaped.
        let _ = Command::new("sh")
            .args([
                "-c",
                "kill -s KILL -- \"-$1\"",
                "sh",
                &task.child.id().to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = task.child.kill();
    let _ = task.child.wait();
}
