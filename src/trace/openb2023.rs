//! Alibaba's GPU cluster trace of 2023 ("openb", from the USENIX ATC '23 paper on
//! fragmentation-gradient-descent scheduling): pods with creation, scheduling and deletion
//! times, and the nodes they ran on.
//!
//! Origin: `alibaba/clusterdata`, folder `cluster-trace-gpu-v2023/csv/` (for example
//! `openb_pod_list_default.csv` and `openb_node_list_all_node.csv`). The data is published
//! for research and study purposes (the repository's README); it has no OSI license.
//!
//! Both files are comma-separated with a header row, which must be exactly as below (a
//! different header stops the read and names the columns expected). Times are seconds.
//!
//! # Pods (`Tasks`)
//!
//! Columns: `name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,
//! creation_time,deletion_time,scheduled_time`. Each pod is one task:
//!
//! * `job` is the number at the end of the pod's name (`openb-pod-0042` is job 42), `index`
//!   is 0. A name that does not end in `-<number>` is a bad row.
//! * `submit` is `creation_time`.
//! * `cpus` is `cpu_milli / 1000`; `mem` is `memory_mib`, taken as MB (Mesos' MB are MiB).
//! * `gpus` is `num_gpu`, except for a pod sharing one GPU (`num_gpu` 1 and `gpu_milli`
//!   between 1 and 999), which asks for `gpu_milli / 1000` of it.
//! * `gpu_spec` (a constraint on the GPU model) is ignored: mesosim's GPUs are a plain
//!   quantity without a model.
//! * `class` comes from `qos`: `BE` 0, `Burstable` 1, `LS` 2, `Guaranteed` 3 (from best
//!   effort to the most protected). Another value is a bad row. `priority` is 0, `user` and
//!   `machine` are unknown (the pod list names neither).
//! * The end state and run time come from `pod_phase`; the run time is
//!   `deletion_time - scheduled_time`:
//!   * `Succeeded` → `finish`, `Failed` → `fail`.
//!   * `Running` → `kill`. The phase is the one the pod had when it was deleted: it was
//!     still running (these are mostly long-lived services) until its owner deleted it,
//!     which ends a task like a kill. Pods alive when the collection stopped carry its last
//!     timestamp as their deletion time and are read the same way. A `Running` pod without
//!     a deletion time is `running`, its run time unknown.
//!   * `Pending` → `pending` with no run time: it was never scheduled (it may have been
//!     withdrawn at its deletion time).
//!   * A pod without a scheduled time (other than `Pending`) has no run time; a deletion
//!     before the scheduling is a bad row.
//!
//! The pods are yielded in creation order whatever the file's order: they go through an
//! external sort bounded by `sort_buffer` records, which runs on the first `next_task`.
//!
//! # Nodes (`Machines`)
//!
//! Columns: `sn,cpu_milli,memory_mib,gpu,model`. Each node is one machine added at time 0,
//! named by `sn`, with `cpu_milli / 1000` cpus, `memory_mib` MB of memory, `gpu` GPUs and no
//! disk. `model` (the GPU model) is ignored like `gpu_spec`.

use super::rows::secs;
use super::sort::{SortedTasks, Sorter};
use super::{
    EndState, Fields, MachineChange, MachineReader, ReadOptions, Rows, TaskReader, TraceError, TraceMachine,
    TraceTask,
};
use crate::time::Duration;

/// The pod list's columns, in order.
pub const POD_COLUMNS: &[&str] = &[
    "name",
    "cpu_milli",
    "memory_mib",
    "num_gpu",
    "gpu_milli",
    "gpu_spec",
    "qos",
    "pod_phase",
    "creation_time",
    "deletion_time",
    "scheduled_time",
];

/// The node list's columns, in order.
pub const NODE_COLUMNS: &[&str] = &["sn", "cpu_milli", "memory_mib", "gpu", "model"];

/// QoS classes in the order of the `class` they become.
pub const QOS_CLASSES: [&str; 4] = ["BE", "Burstable", "LS", "Guaranteed"];

const NAME: usize = 0;
const CPU_MILLI: usize = 1;
const MEMORY_MIB: usize = 2;
const NUM_GPU: usize = 3;
const GPU_MILLI: usize = 4;
const QOS: usize = 6;
const PHASE: usize = 7;
const CREATION: usize = 8;
const DELETION: usize = 9;
const SCHEDULED: usize = 10;

const NODE_SN: usize = 0;
const NODE_CPU_MILLI: usize = 1;
const NODE_MEMORY_MIB: usize = 2;
const NODE_GPU: usize = 3;

/// Reads the header row and checks it is `columns`; a wrong or missing header is always an
/// error, skip_bad_rows or not.
fn check_header(rows: &mut Rows, columns: &[&str]) -> Result<(), TraceError> {
    let expected = columns.join(",");
    let header = rows.next(|row, line| Ok(Some((row, line.to_owned()))))?;
    let Some((row, line)) = header else {
        return Err(rows.file_error(format!("the file is empty: expected the header `{expected}`")));
    };
    let found: Vec<&str> = line
        .trim_start_matches('\u{feff}')
        .split(',')
        .map(str::trim)
        .collect();
    if found != columns {
        let shown: String = line.chars().take(200).collect();
        return Err(rows.error_at(row, format!("expected the header `{expected}`, found `{shown}`")));
    }
    Ok(())
}

/// A required non-negative number.
fn nonneg(f: &Fields, i: usize) -> Result<f64, String> {
    f.opt_nonneg(i)?
        .ok_or_else(|| f.invalid(i, "a non-negative number"))
}

/// One pod row as a task.
fn parse_pod(line: &str) -> Result<TraceTask, String> {
    let f = Fields::split(line, ',', POD_COLUMNS)?;
    let name = f.str(NAME);
    let job = name
        .rsplit_once('-')
        .and_then(|(_, n)| n.parse::<u64>().ok())
        .ok_or_else(|| f.invalid(NAME, "a pod name ending in -<number>, like openb-pod-0042"))?;
    let cpu_milli = nonneg(&f, CPU_MILLI)?;
    let memory_mib = nonneg(&f, MEMORY_MIB)?;
    let num_gpu = nonneg(&f, NUM_GPU)?;
    let gpu_milli = f.opt_nonneg(GPU_MILLI)?.unwrap_or(0.0);
    let class = QOS_CLASSES
        .iter()
        .position(|&q| q == f.str(QOS))
        .ok_or_else(|| f.invalid(QOS, "one of BE, Burstable, LS, Guaranteed"))?;
    let created = nonneg(&f, CREATION)?;
    let deleted = f.opt_nonneg(DELETION)?;
    let scheduled = f.opt_nonneg(SCHEDULED)?;

    let mut t = TraceTask::new(secs(created), job, 0);
    t.class = class as u8;
    t.cpus = cpu_milli / 1000.0;
    t.mem = memory_mib;
    t.gpus = if num_gpu == 1.0 && gpu_milli > 0.0 && gpu_milli < 1000.0 {
        gpu_milli / 1000.0
    } else {
        num_gpu
    };
    let ran = match (scheduled, deleted) {
        (Some(s), Some(d)) => {
            if d < s {
                return Err(format!(
                    "field {} (deletion_time): {d} is before the scheduled time {s}",
                    DELETION + 1
                ));
            }
            Some(secs(d).saturating_sub(secs(s)))
        }
        _ => None,
    };
    (t.end, t.runtime) = match f.str(PHASE) {
        "Succeeded" => (EndState::Finish, ran),
        "Failed" => (EndState::Fail, ran),
        "Running" if deleted.is_none() => (EndState::Running, None),
        "Running" => (EndState::Kill, ran),
        "Pending" => (EndState::Pending, None),
        _ => return Err(f.invalid(PHASE, "one of Succeeded, Failed, Running, Pending")),
    };
    Ok(t)
}

/// One node row as a machine added at time 0.
fn parse_node(line: &str) -> Result<TraceMachine, String> {
    let f = Fields::split(line, ',', NODE_COLUMNS)?;
    let name = f.str(NODE_SN);
    if name.is_empty() {
        return Err(f.invalid(NODE_SN, "a node name"));
    }
    Ok(TraceMachine {
        at: Duration::ZERO,
        name: name.to_owned(),
        change: MachineChange::Add,
        cpus: nonneg(&f, NODE_CPU_MILLI)? / 1000.0,
        mem: nonneg(&f, NODE_MEMORY_MIB)?,
        disk: 0.0,
        gpus: nonneg(&f, NODE_GPU)?,
    })
}

/// The pods of an openb pod list, in creation order.
pub struct Tasks {
    rows: Rows,
    sort_buffer: usize,
    sorted: Option<SortedTasks>,
    /// A read error ended the trace.
    failed: bool,
}

impl Tasks {
    /// Opens a pod list and checks its header; the pods are read on the first `next_task`.
    pub fn open(path: &str, options: &ReadOptions) -> Result<Tasks, TraceError> {
        let mut rows = Rows::open(path, options.skip_bad_rows)?;
        check_header(&mut rows, POD_COLUMNS)?;
        Ok(Tasks {
            rows,
            sort_buffer: options.sort_buffer,
            sorted: None,
            failed: false,
        })
    }

    fn sort(&mut self) -> Result<SortedTasks, TraceError> {
        let mut sorter = Sorter::new(self.sort_buffer, self.rows.file());
        while let Some(t) = self.rows.next(|_, line| parse_pod(line).map(Some))? {
            sorter.push(t)?;
        }
        sorter.finish()
    }
}

impl TaskReader for Tasks {
    fn next_task(&mut self) -> Result<Option<TraceTask>, TraceError> {
        if self.failed {
            return Ok(None);
        }
        if self.sorted.is_none() {
            match self.sort() {
                Ok(s) => self.sorted = Some(s),
                Err(e) => {
                    self.failed = true;
                    return Err(e);
                }
            }
        }
        let sorted = self.sorted.as_mut().expect("sorted above");
        sorted.next_task().inspect_err(|_| self.failed = true)
    }

    fn text(&self) -> Option<&Rows> {
        Some(&self.rows)
    }
}

/// The nodes of an openb node list, all added at time 0.
pub struct Machines {
    rows: Rows,
}

impl Machines {
    /// Opens a node list and checks its header.
    pub fn open(path: &str, options: &ReadOptions) -> Result<Machines, TraceError> {
        let mut rows = Rows::open(path, options.skip_bad_rows)?;
        check_header(&mut rows, NODE_COLUMNS)?;
        Ok(Machines { rows })
    }
}

impl MachineReader for Machines {
    fn next_machine(&mut self) -> Result<Option<TraceMachine>, TraceError> {
        self.rows.next(|_, line| parse_node(line).map(Some))
    }

    fn skipped(&self) -> u64 {
        self.rows.bad.skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Format, read_all};
    use proptest::prelude::*;

    const PODS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/traces/alibaba-gpu-v2023/openb_pod_list_default.csv"
    );
    const NODES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/traces/alibaba-gpu-v2023/openb_node_list_all_node.csv"
    );

    use crate::trace::testing::TempFile as Temp;

    fn options() -> ReadOptions {
        ReadOptions::new(Format::Openb2023)
    }

    fn pods(path: &str, options: &ReadOptions) -> Result<Vec<TraceTask>, TraceError> {
        read_all(&mut Tasks::open(path, options)?)
    }

    fn sample_lines() -> Vec<String> {
        std::fs::read_to_string(PODS)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn pods_match_the_sample() {
        let mut reader = Tasks::open(PODS, &options()).unwrap();
        let tasks = read_all(&mut reader).unwrap();
        assert_eq!(tasks.len(), 8_152);
        assert_eq!(reader.rows(), 8_153);
        assert_eq!(reader.skipped(), 0);
        let count = |e: EndState| tasks.iter().filter(|t| t.end == e).count();
        // awk: Succeeded 192, Failed 1,870, Running 5,193 (all deleted), Pending 897.
        assert_eq!(count(EndState::Finish), 192);
        assert_eq!(count(EndState::Fail), 1_870);
        assert_eq!(count(EndState::Kill), 5_193);
        assert_eq!(count(EndState::Pending), 897);
        assert!(
            tasks
                .iter()
                .all(|t| (t.end == EndState::Pending) == t.runtime.is_none())
        );
        // awk: BE 3,398, Burstable 100, LS 4,647, Guaranteed 7.
        let class = |c: u8| tasks.iter().filter(|t| t.class == c).count();
        assert_eq!([class(0), class(1), class(2), class(3)], [3_398, 100, 4_647, 7]);
        // awk: 3,078 pods share a GPU (num_gpu 1, gpu_milli < 1000), 1,088 have none.
        assert_eq!(
            tasks.iter().filter(|t| t.gpus > 0.0 && t.gpus < 1.0).count(),
            3_078
        );
        assert_eq!(tasks.iter().filter(|t| t.gpus == 0.0).count(), 1_088);
        assert!(tasks.windows(2).all(|w| w[0].submit <= w[1].submit));

        let first = &tasks[0];
        assert_eq!(
            (first.job, first.index, first.cpus, first.mem, first.gpus),
            (0, 0, 12.0, 16384.0, 1.0)
        );
        assert_eq!(first.runtime, Some(Duration::from_secs(12_537_496)));
        // openb-pod-0001,6000,12288,1,460,,LS,Running,427061,12902960,427061
        let second = &tasks[1];
        assert_eq!(
            (second.job, second.cpus, second.gpus, second.class),
            (1, 6.0, 0.46, 2)
        );
        assert_eq!(second.submit, Duration::from_secs(427_061));
        assert_eq!(second.runtime, Some(Duration::from_secs(12_902_960 - 427_061)));
        // openb-pod-8151,3152,5600,1,590,,BE,Failed,12901761,12901792,12901762
        let last = tasks.last().unwrap();
        assert_eq!(
            (last.job, last.cpus, last.gpus, last.end),
            (8151, 3.152, 0.59, EndState::Fail)
        );
        assert_eq!(last.runtime, Some(Duration::from_secs(30)));
    }

    #[test]
    fn nodes_match_the_sample() {
        let mut reader = Machines::open(NODES, &options()).unwrap();
        let mut machines = Vec::new();
        while let Some(m) = reader.next_machine().unwrap() {
            machines.push(m);
        }
        // awk: 1,523 nodes, cpu_milli 125,514,000, memory_mib 612,028,416, gpu 6,212.
        assert_eq!(machines.len(), 1_523);
        assert_eq!(machines.iter().map(|m| m.cpus).sum::<f64>(), 125_514.0);
        assert_eq!(machines.iter().map(|m| m.mem).sum::<f64>(), 612_028_416.0);
        assert_eq!(machines.iter().map(|m| m.gpus).sum::<f64>(), 6_212.0);
        assert!(
            machines
                .iter()
                .all(|m| m.at == Duration::ZERO && m.change == MachineChange::Add && m.disk == 0.0)
        );
        assert_eq!(machines[0].name, "openb-node-0000");
        assert_eq!((machines[0].cpus, machines[0].mem), (32.0, 262_144.0));
    }

    #[test]
    fn a_wrong_header_names_the_columns() {
        let file = Temp::new("header.csv", b"name,cpu,mem\nx,1,2\n");
        let e = Tasks::open(file.path(), &options()).err().unwrap();
        assert_eq!(
            e.to_string(),
            format!(
                "{}:1: expected the header `{}`, found `name,cpu,mem`",
                file.path(),
                POD_COLUMNS.join(",")
            )
        );
        let e = Machines::open(PODS, &options()).err().unwrap();
        assert!(e.to_string().starts_with(&format!(
            "{PODS}:1: expected the header `sn,cpu_milli,memory_mib,gpu,model`"
        )));
        let empty = Temp::new("empty.csv", b"");
        let e = Tasks::open(empty.path(), &options()).err().unwrap();
        assert!(e.to_string().contains("the file is empty"), "{e}");
    }

    #[test]
    fn a_corrupted_row_is_one_line_error_or_a_counted_skip() {
        let lines = sample_lines();
        let mut text = lines[..4].join("\n");
        text.push('\n');
        // Row 5: one field short.
        text.push_str("openb-pod-0099,6000,12288,1,460,,LS,Running,427061,12902960\n");
        text.push_str(&lines[4]);
        text.push('\n');
        // Row 7: an unknown phase.
        text.push_str("openb-pod-0100,6000,12288,1,460,,LS,Exploded,427061,12902960,427061\n");
        let file = Temp::new("bad.csv", text.as_bytes());
        let e = pods(file.path(), &options()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}:5: expected 11 fields, found 10", file.path())
        );

        let mut skip = options();
        skip.skip_bad_rows = true;
        let mut reader = Tasks::open(file.path(), &skip).unwrap();
        let tasks = read_all(&mut reader).unwrap();
        assert_eq!(tasks.len(), 4);
        assert_eq!(reader.skipped(), 2);
    }

    #[test]
    fn bad_values_name_their_field() {
        let header = POD_COLUMNS.join(",");
        let cases = [
            (
                "pod-x,1,1,0,0,,BE,Failed,1,2,1",
                "field 1 (name): expected a pod name ending in -<number>",
            ),
            (
                "p-1,1,1,0,0,,Best,Failed,1,2,1",
                "field 7 (qos): expected one of BE, Burstable, LS, Guaranteed",
            ),
            (
                "p-1,-5,1,0,0,,BE,Failed,1,2,1",
                "field 2 (cpu_milli): expected a non-negative number",
            ),
            (
                "p-1,1,1,0,0,,BE,Failed,1,2,3",
                "field 10 (deletion_time): 2 is before the scheduled time 3",
            ),
        ];
        for (row, message) in cases {
            let file = Temp::new("value.csv", format!("{header}\n{row}\n").as_bytes());
            let e = pods(file.path(), &options()).unwrap_err();
            assert!(
                e.to_string()
                    .starts_with(&format!("{}:2: {message}", file.path())),
                "{e}"
            );
        }
    }

    #[test]
    fn out_of_order_pods_come_out_sorted() {
        let lines = sample_lines();
        let mut text = lines[0].clone();
        for line in lines[1..].iter().rev().take(500) {
            text.push('\n');
            text.push_str(line);
        }
        let file = Temp::new("reversed.csv", text.as_bytes());
        let mut small = options();
        small.sort_buffer = 64;
        let tasks = pods(file.path(), &small).unwrap();
        assert_eq!(tasks.len(), 500);
        assert!(tasks.windows(2).all(|w| w[0].submit <= w[1].submit));
        assert_eq!(tasks.last().unwrap().job, 8151);
    }

    #[test]
    fn gzip_reads_like_the_plain_file() {
        let file = Temp::gz("pods.csv.gz", &std::fs::read(PODS).unwrap());
        assert_eq!(
            pods(file.path(), &options()).unwrap(),
            pods(PODS, &options()).unwrap()
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn garbage_never_panics(
            bytes in prop::collection::vec(any::<u8>(), 0..400),
            cut in 0usize..2000,
            skip in any::<bool>(),
        ) {
            let mut o = options();
            o.skip_bad_rows = skip;
            o.sort_buffer = 16;
            // Random bytes after a good header, and a good file cut anywhere.
            let mut text = format!("{}\n", POD_COLUMNS.join(",")).into_bytes();
            text.extend_from_slice(&bytes);
            let random = Temp::new("garbage.csv", &text);
            let _ = pods(random.path(), &o);
            let _ = Machines::open(random.path(), &o).map(|mut m| while let Ok(Some(_)) = m.next_machine() {});
            let sample = std::fs::read(PODS).unwrap();
            let cut_file = Temp::new("cut.csv", &sample[..cut.min(sample.len())]);
            let _ = pods(cut_file.path(), &o);
        }
    }
}
