//! Arbitrary bytes read as a trace of one format: what the `fuzz/` targets call, and what a
//! test replays their seeds through.
//!
//! The readers promise that bad input is a [`TraceError`] naming file and row, never a
//! panic, a hang or unbounded memory. [`read_bytes`] puts the bytes in a temporary file and
//! reads it the ways mesosim does: as a task file, stopping at the first bad row and
//! skipping bad rows; as a machine file where the format has one; through
//! [`stats`](super::stats::stats); and through the native csv [`Writer`] that
//! `mesosim trace convert` uses. Errors are fine. It panics only when a reader breaks a
//! promise it makes of what it yields:
//!
//! * tasks come in non-decreasing submit time, machine events in non-decreasing time;
//! * resources are finite and non-negative;
//! * what the native csv writer writes of a task, the csv reader reads back as the same task;
//! * groups ([`TaskReader::next_group`]), expanded, are the tasks `next_task` gives.
//!
//! Sorting goes through a buffer of [`SORT_BUFFER`] records, so a few rows already spill to
//! temporary files; the look-ahead is [`LOOKAHEAD`]. Each read stops after [`MAX_TASKS`]
//! tasks: a few bytes can validly stand for 2^32 tasks (an Alibaba row's instance count, an
//! SWF job's processors), and reading them all would prove nothing more.

use std::sync::atomic::{AtomicU64, Ordering};

use super::native::Writer;
use super::{Format, MachineReader, ReadOptions, TaskReader, TraceError, TraceMachine, TraceTask};
use crate::time::Duration;

/// For a format with a companion file (Alibaba 2018's `batch_instance.csv`), the bytes
/// before the first of these are the task file and the bytes after it the companion.
pub const COMPANION_SEPARATOR: u8 = 0;

/// Tasks taken from one reader at most.
pub const MAX_TASKS: u64 = 10_000;

/// The sort buffer, in records: small, so that sorting spills to temporary files.
pub const SORT_BUFFER: usize = 8;

/// The look-ahead for a task's end: short, so that tasks are given up as still running.
pub const LOOKAHEAD: Duration = Duration::from_secs(60);

/// What the strict reads (stopping at the first bad row) found.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Tasks read before the end, the first error or [`MAX_TASKS`].
    pub tasks: u64,
    pub task_error: Option<TraceError>,
    /// Machine events read; 0 when the format has no machine file.
    pub machines: u64,
    pub machine_error: Option<TraceError>,
}

/// Reads `data` as a trace of `format` in every way described above.
///
/// # Panics
///
/// When a reader breaks a promise (see the module documentation), never for bad input.
pub fn read_bytes(format: Format, data: &[u8]) -> Outcome {
    let (main, companion) = match data.iter().position(|&b| b == COMPANION_SEPARATOR) {
        Some(i) if takes_companion(format) => (&data[..i], Some(&data[i + 1..])),
        _ => (data, None),
    };
    let main_file = Scratch::new(main);
    let companion_file = companion.map(Scratch::new);
    let whole_file = companion_file.as_ref().map(|_| Scratch::new(data));
    let options = |skip: bool| {
        let mut o = ReadOptions::new(format);
        o.skip_bad_rows = skip;
        o.sort_buffer = SORT_BUFFER;
        o.lookahead = LOOKAHEAD;
        o.companion = companion_file.as_ref().map(|f| f.path.clone());
        o
    };
    let mut outcome = Outcome::default();

    // Tasks, stopping at the first bad row.
    match super::tasks(format, &main_file.path, &options(false)) {
        Ok(mut reader) => {
            let (n, e) = read_tasks(format, reader.as_mut(), |_, _| {});
            (outcome.tasks, outcome.task_error) = (n, e);
        }
        Err(e) => outcome.task_error = Some(e),
    }

    // Tasks, skipping bad rows, written as native csv on the way.
    if let Ok(mut reader) = super::tasks(format, &main_file.path, &options(true)) {
        let mut copy = CsvCopy::new();
        read_tasks(format, reader.as_mut(), |t, r| copy.write(t, r));
        let _ = reader.first_skipped();
        let _ = reader.machine_hint();
        copy.check(format);
    }

    // Groups, expanded, are the tasks one by one.
    if let (Ok(mut grouped), Ok(mut single)) = (
        super::tasks(format, &main_file.path, &options(true)),
        super::tasks(format, &main_file.path, &options(true)),
    ) {
        compare_groups(format, grouped.as_mut(), single.as_mut());
    }

    // Stats, as `mesosim trace stats` computes and prints them.
    if let Ok(mut reader) = super::tasks(format, &main_file.path, &options(true)) {
        let mut capped = Capped {
            inner: reader.as_mut(),
            left: MAX_TASKS,
        };
        if let Ok(stats) = super::stats::stats(&mut capped, &main_file.path, format.name()) {
            let _ = stats.render();
            let _ = serde_json::to_string(&stats);
        }
    }

    // Machines, from the whole input.
    let machine_path = whole_file.as_ref().unwrap_or(&main_file).path.clone();
    for skip in [false, true] {
        let Some(opened) = super::machines(format, &machine_path, &options(skip)) else {
            break;
        };
        let (n, e) = match opened {
            Ok(mut reader) => read_machines(format, reader.as_mut()),
            Err(e) => (0, Some(e)),
        };
        if !skip {
            (outcome.machines, outcome.machine_error) = (n, e);
        }
    }
    outcome
}

/// Whether a format reads `ReadOptions::companion`.
fn takes_companion(format: Format) -> bool {
    format == Format::Alibaba2018
}

/// Reads up to [`MAX_TASKS`] tasks, checking each; how many, and the error that stopped it.
fn read_tasks(
    format: Format,
    reader: &mut dyn TaskReader,
    mut each: impl FnMut(&TraceTask, &dyn TaskReader),
) -> (u64, Option<TraceError>) {
    let mut n = 0;
    let mut last = Duration::ZERO;
    while n < MAX_TASKS {
        match reader.next_task() {
            Ok(Some(t)) => {
                assert!(
                    t.submit >= last,
                    "{}: task {n} is submitted at {:?}, before the task before it ({last:?})",
                    format.name(),
                    t.submit
                );
                last = t.submit;
                check_amounts(format, "task", [t.cpus, t.mem, t.disk, t.gpus]);
                let _ = reader.user_name(t.user);
                if let Some(m) = t.machine {
                    let _ = reader.machine_name(m);
                }
                each(&t, reader);
                n += 1;
            }
            Ok(None) => break,
            Err(e) => {
                let _ = e.to_string();
                return (n, Some(e));
            }
        }
    }
    let _ = (reader.rows(), reader.skipped());
    (n, None)
}

/// Reads `grouped` by groups and `single` task by task, up to [`MAX_TASKS`] tasks: the same
/// tasks, the same end, an error at the same place.
fn compare_groups(format: Format, grouped: &mut dyn TaskReader, single: &mut dyn TaskReader) {
    let mut n = 0;
    while n < MAX_TASKS {
        let group = grouped.next_group();
        let Ok(Some(g)) = group else {
            let rest = single.next_task();
            assert!(
                matches!((&group, &rest), (Ok(None), Ok(None)) | (Err(_), Err(_))),
                "{}: after {n} tasks, groups end in {group:?} and tasks in {rest:?}",
                format.name()
            );
            return;
        };
        assert!(g.count >= 1, "{}: an empty group", format.name());
        let take = g.count.min(u32::try_from(MAX_TASKS - n).unwrap_or(u32::MAX));
        for t in g.tasks().take(take as usize) {
            let one = single.next_task();
            assert!(
                matches!(&one, Ok(Some(x)) if format!("{x:?}") == format!("{t:?}")),
                "{}: task {n} of a group is {t:?}, read alone {one:?}",
                format.name()
            );
            n += 1;
        }
    }
}

/// Reads machine events to the end, checking each.
fn read_machines(format: Format, reader: &mut dyn MachineReader) -> (u64, Option<TraceError>) {
    let mut n = 0;
    let mut last = Duration::ZERO;
    loop {
        match reader.next_machine() {
            Ok(Some(TraceMachine {
                at,
                cpus,
                mem,
                disk,
                gpus,
                ..
            })) => {
                assert!(
                    at >= last,
                    "{}: machine event {n} is at {at:?}, before the one before it ({last:?})",
                    format.name()
                );
                last = at;
                check_amounts(format, "machine", [cpus, mem, disk, gpus]);
                n += 1;
            }
            Ok(None) => return (n, None),
            Err(e) => return (n, Some(e)),
        }
    }
}

fn check_amounts(format: Format, what: &str, amounts: [f64; 4]) {
    assert!(
        amounts.iter().all(|v| v.is_finite() && *v >= 0.0),
        "{}: a {what} with cpus, mem, disk, gpus {amounts:?}: expected finite, non-negative amounts",
        format.name()
    );
}

/// Tasks as `mesosim trace convert` writes them, and what they were.
struct CsvCopy {
    writer: Option<Writer<Vec<u8>>>,
    /// Each task written, with its user's and machine's names.
    tasks: Vec<(TraceTask, String, Option<String>)>,
}

impl CsvCopy {
    fn new() -> CsvCopy {
        CsvCopy {
            writer: Writer::new(Vec::new()).ok(),
            tasks: Vec::new(),
        }
    }

    fn write(&mut self, t: &TraceTask, reader: &dyn TaskReader) {
        let user = reader.user_name(t.user).to_owned();
        let machine = t.machine.map(|m| reader.machine_name(m).to_owned());
        let Some(writer) = &mut self.writer else {
            return;
        };
        // A name with a line break cannot be written: convert says so, and so stops here.
        if writer.write(t, &user, machine.as_deref().unwrap_or("")).is_err() {
            self.writer = None;
            return;
        }
        self.tasks.push((t.clone(), user, machine));
    }

    /// Reads the copy back and compares.
    fn check(self, format: Format) {
        let Some(bytes) = self.writer.and_then(|w| w.finish().ok()) else {
            return;
        };
        let file = Scratch::new(&bytes);
        let mut reader = super::native::Tasks::open(&file.path, &ReadOptions::new(Format::Csv))
            .unwrap_or_else(|e| panic!("{}: the csv copy cannot be read: {e}", format.name()));
        for (i, (task, user, machine)) in self.tasks.iter().enumerate() {
            let back = match reader.next_task() {
                Ok(Some(t)) => t,
                other => panic!(
                    "{}: task {i} of the csv copy reads as {other:?}, not as {task:?}",
                    format.name()
                ),
            };
            let back_user = reader.user_name(back.user);
            let back_machine = back.machine.map(|m| reader.machine_name(m));
            let same = TraceTask {
                user: task.user,
                machine: task.machine,
                ..back.clone()
            } == *task
                && back_user == user
                && back_machine == machine.as_deref();
            assert!(
                same,
                "{}: task {i} of the csv copy reads back as {back:?} (user {back_user:?}, machine \
                 {back_machine:?}), not as {task:?} (user {user:?}, machine {machine:?})",
                format.name()
            );
        }
        let rest = reader.next_task();
        assert!(
            matches!(rest, Ok(None)),
            "{}: the csv copy has more than its {} tasks: {rest:?}",
            format.name(),
            self.tasks.len()
        );
    }
}

/// A reader that ends after `left` more tasks.
struct Capped<'a> {
    inner: &'a mut dyn TaskReader,
    left: u64,
}

impl TaskReader for Capped<'_> {
    fn next_task(&mut self) -> Result<Option<TraceTask>, TraceError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        self.inner.next_task()
    }

    fn skipped(&self) -> u64 {
        self.inner.skipped()
    }

    fn rows(&self) -> u64 {
        self.inner.rows()
    }
}

/// A file under the temporary directory, named uniquely for this process and call, removed
/// when dropped.
struct Scratch {
    path: String,
}

impl Scratch {
    fn new(bytes: &[u8]) -> Scratch {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("mesosim-fuzz-{}-{n}", std::process::id()));
        let path = path.to_string_lossy().into_owned();
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
        Scratch { path }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEEDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds");
    /// Fuzz targets of other inputs than traces, whose seeds their own modules test.
    const NOT_TRACES: [&str; 1] = ["frame"];

    /// The seeds of every fuzz target: each is a good file of its format, read without
    /// error as tasks or machines, and the harness holds on each.
    #[test]
    fn every_seed_reads_as_its_format() {
        let mut seen = Vec::new();
        for dir in std::fs::read_dir(SEEDS).unwrap() {
            let dir = dir.unwrap().path();
            let name = dir.file_name().unwrap().to_str().unwrap().to_owned();
            if NOT_TRACES.contains(&name.as_str()) {
                continue;
            }
            let format = Format::parse(&name).unwrap_or_else(|| panic!("{name}: not a format"));
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|f| f.unwrap().path())
                .collect();
            files.sort();
            assert!(!files.is_empty(), "{name} has no seeds");
            for file in files {
                let outcome = read_bytes(format, &std::fs::read(&file).unwrap());
                let tasks = outcome.tasks > 0 && outcome.task_error.is_none();
                let machines = outcome.machines > 0 && outcome.machine_error.is_none();
                assert!(tasks || machines, "{}: {outcome:?}", file.display());
            }
            seen.push(format);
        }
        for format in Format::ALL {
            assert!(seen.contains(&format), "no seeds for {}", format.name());
        }
    }

    #[test]
    fn bad_bytes_are_errors() {
        for format in Format::ALL {
            let outcome = read_bytes(format, b"\x1f\x8b\x08\0garbage\n\xff\xfe,,,\n");
            assert_eq!(outcome.tasks, 0, "{}", format.name());
            assert!(outcome.task_error.is_some(), "{}", format.name());
        }
    }

    #[test]
    fn the_companion_follows_the_separator() {
        let tasks = "M1,2,j_5,1,Terminated,10,20,100,1\n";
        let instances = "ins_1,M1,j_5,1,Terminated,10,20,m_1,1,1,,,,\n";
        let with = read_bytes(Format::Alibaba2018, format!("{tasks}\0{instances}").as_bytes());
        assert_eq!((with.tasks, with.task_error), (1, None));
        let without = read_bytes(Format::Alibaba2018, tasks.as_bytes());
        assert_eq!((without.tasks, without.task_error), (2, None));
    }

    #[test]
    fn reads_stop_at_the_cap() {
        let outcome = read_bytes(Format::Alibaba2017, b"1,2,3,4,4000000000,Terminated,50,0.1\n");
        assert_eq!((outcome.tasks, outcome.task_error), (MAX_TASKS, None));
    }
}
