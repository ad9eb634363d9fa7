//! The live backend: every task is a real child process of the driver.
//!
//! A task that succeeds after `d` runs `sleep d`; one that fails runs `sh -c 'sleep d; exit 1'`;
//! one with no duration runs `sleep infinity`. Its exit status decides how it is reported
//! (0 is [`ExitReason::Finished`], anything else [`ExitReason::Failed`]); a task killed on
//! request is [`ExitReason::Killed`]. Each task leads its own process group, so killing a
//! failing task also kills the `sleep` its shell is waiting on.
//!
//! Resources are **not enforced** here: a task's [`TaskSpec::resources`] are ignored and the
//! child runs unconfined. Confining tasks to their resources (cgroups) comes later.
//!
//! Unix only (process groups, `sleep`, `sh`).
//!
//! Exits are found by polling (`try_wait`) from the process's own event loop, which keeps the
//! children owned by one thread and makes killing them direct. Dropping the table kills every
//! task still running, so no child outlives its process's loop, even one that panicked.

use std::collections::BTreeMap;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use crate::process::{ExitReason, TaskExit, TaskKey, TaskOutcome, TaskSpec};
use crate::time::Instant;

struct Task {
    child: Child,
    /// Runs under `sh`, so the shell's own child must be killed with it.
    shell: bool,
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
    running: BTreeMap<TaskKey, Task>,
}

impl Tasks {
    pub fn launch(&mut self, spec: &TaskSpec) -> Result<(), LaunchError> {
        if self.running.contains_key(&spec.key) {
            return Err(LaunchError::Duplicate);
        }
        let (mut cmd, shell) = match spec.run.duration {
            None => {
                let mut cmd = Command::new("sleep");
                cmd.arg("infinity");
                (cmd, false)
            }
            Some(d) => {
                let secs = Instant::from_nanos(d.as_nanos()).secs_string();
                match spec.run.outcome {
                    TaskOutcome::Succeed => {
                        let mut cmd = Command::new("sleep");
                        cmd.arg(secs);
                        (cmd, false)
                    }
                    TaskOutcome::Fail => {
                        let mut cmd = Command::new("sh");
                        cmd.args(["-c", "sleep \"$1\"; exit 1", "sh", &secs]);
                        (cmd, true)
                    }
                    // Ends by a signal, as a killed task does.
                    TaskOutcome::Killed => {
                        let mut cmd = Command::new("sh");
                        cmd.args(["-c", "sleep \"$1\"; kill -TERM $$", "sh", &secs]);
                        (cmd, true)
                    }
                }
            }
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(LaunchError::Spawn)?;
        self.running.insert(spec.key, Task { child, shell });
        Ok(())
    }

    /// Kills a running task and reports how it ended: `Killed`, or its own exit if it had
    /// already ended unreported. `None` if no such task is running.
    pub fn kill(&mut self, key: TaskKey) -> Option<TaskExit> {
        let mut task = self.running.remove(&key)?;
        if let Ok(Some(status)) = task.child.try_wait() {
            return Some(TaskExit {
                key,
                reason: reason_of(status),
            });
        }
        terminate(&mut task);
        Some(TaskExit {
            key,
            reason: ExitReason::Killed,
        })
    }

    /// Tasks that have ended by themselves since the last poll, in key order.
    pub fn poll(&mut self) -> Vec<TaskExit> {
        let mut exits = Vec::new();
        for (&key, task) in &mut self.running {
            match task.child.try_wait() {
                Ok(None) => {}
                Ok(Some(status)) => exits.push(TaskExit {
                    key,
                    reason: reason_of(status),
                }),
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

/// Kills a task's process group (or just its process) and reaps it. Never blocks for long:
/// SIGKILL cannot be caught.
fn terminate(task: &mut Task) {
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
