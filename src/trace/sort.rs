//! Puts a trace that is not in time order into submit order in bounded memory: records
//! collect in a buffer; a full buffer is sorted and spilled to a temporary file as a run;
//! at the end the runs and the buffer are merged. Ties keep file order, so the result is
//! the same on every run.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{EndState, TraceError, TraceTask};
use crate::time::Duration;

/// Bytes of one spilled record.
const RECORD: usize = 8 + 8 + 8 + 4 + 4 + 1 + 1 + 8 * 4 + 8 + 1 + 4;

/// Sorts tasks by submit time, stable, within `budget` records of memory.
pub struct Sorter {
    budget: usize,
    buffer: Vec<(u64, TraceTask)>,
    runs: Vec<Run>,
    seq: u64,
    /// Names the spill files in error messages.
    what: String,
}

struct Run {
    path: PathBuf,
    len: u64,
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn spill_path() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("mesosim-sort-{}-{n}.bin", std::process::id()))
}

impl Sorter {
    pub fn new(budget: usize, what: &str) -> Sorter {
        Sorter {
            budget: budget.max(1),
            buffer: Vec::new(),
            runs: Vec::new(),
            seq: 0,
            what: what.to_owned(),
        }
    }

    pub fn push(&mut self, task: TraceTask) -> Result<(), TraceError> {
        self.buffer.push((self.seq, task));
        self.seq += 1;
        if self.buffer.len() >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn io(&self, e: std::io::Error) -> TraceError {
        TraceError::file(&self.what, format!("cannot sort through a temporary file: {e}"))
    }

    fn spill(&mut self) -> Result<(), TraceError> {
        sort(&mut self.buffer);
        let path = spill_path();
        let file = File::create(&path).map_err(|e| self.io(e))?;
        let run = Run {
            path,
            len: self.buffer.len() as u64,
        };
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let mut bytes = [0u8; RECORD];
        for (seq, t) in self.buffer.drain(..) {
            encode(seq, &t, &mut bytes);
            out.write_all(&bytes)
                .map_err(|e| TraceError::file(&self.what, e.to_string()))?;
        }
        out.flush().map_err(|e| self.io(e))?;
        self.runs.push(run);
        Ok(())
    }

    /// Everything pushed, in submit order.
    pub fn finish(mut self) -> Result<SortedTasks, TraceError> {
        sort(&mut self.buffer);
        if self.runs.is_empty() {
            // Nothing spilled: the buffer is the whole trace, in order.
            return Ok(SortedTasks {
                sources: Vec::new(),
                heads: BinaryHeap::new(),
                memory: Some(std::mem::take(&mut self.buffer).into_iter()),
                what: self.what,
            });
        }
        let mut sources = Vec::with_capacity(self.runs.len() + 1);
        for run in std::mem::take(&mut self.runs) {
            let file = File::open(&run.path).map_err(|e| self.io(e))?;
            sources.push(Source::Run {
                input: BufReader::with_capacity(1 << 16, file),
                left: run.len,
                _run: run,
            });
        }
        sources.push(Source::Memory(std::mem::take(&mut self.buffer).into_iter()));
        let mut merged = SortedTasks {
            sources,
            heads: BinaryHeap::new(),
            memory: None,
            what: self.what,
        };
        for i in 0..merged.sources.len() {
            merged.refill(i)?;
        }
        Ok(merged)
    }
}

fn sort(buffer: &mut [(u64, TraceTask)]) {
    buffer.sort_unstable_by_key(|(seq, t)| (t.submit, *seq));
}

enum Source {
    Run {
        input: BufReader<File>,
        left: u64,
        _run: Run,
    },
    Memory(std::vec::IntoIter<(u64, TraceTask)>),
}

/// The merge of the sorted runs.
pub struct SortedTasks {
    sources: Vec<Source>,
    /// (submit, seq, source) of each source's head; the task itself waits in `pending`.
    heads: BinaryHeap<Reverse<(Duration, u64, usize, HeadTask)>>,
    /// Instead of the merge, when nothing was spilled: the sorted buffer.
    memory: Option<std::vec::IntoIter<(u64, TraceTask)>>,
    what: String,
}

/// A task ordered only by its key (the heap never compares tasks).
struct HeadTask(TraceTask);

impl PartialEq for HeadTask {
    fn eq(&self, _: &HeadTask) -> bool {
        true
    }
}
impl Eq for HeadTask {}
impl PartialOrd for HeadTask {
    fn partial_cmp(&self, other: &HeadTask) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for HeadTask {
    fn cmp(&self, _: &HeadTask) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl SortedTasks {
    fn refill(&mut self, i: usize) -> Result<(), TraceError> {
        let next = match &mut self.sources[i] {
            Source::Memory(it) => it.next(),
            Source::Run { input, left, .. } => {
                if *left == 0 {
                    None
                } else {
                    *left -= 1;
                    let mut bytes = [0u8; RECORD];
                    input.read_exact(&mut bytes).map_err(|e| {
                        TraceError::file(&self.what, format!("cannot read back a sorted run: {e}"))
                    })?;
                    Some(decode(&bytes))
                }
            }
        };
        if let Some((seq, t)) = next {
            self.heads.push(Reverse((t.submit, seq, i, HeadTask(t))));
        }
        Ok(())
    }

    pub fn next_task(&mut self) -> Result<Option<TraceTask>, TraceError> {
        if let Some(memory) = &mut self.memory {
            return Ok(memory.next().map(|(_, t)| t));
        }
        let Some(Reverse((_, _, i, HeadTask(t)))) = self.heads.pop() else {
            return Ok(None);
        };
        self.refill(i)?;
        Ok(Some(t))
    }
}

fn end_code(e: EndState) -> u8 {
    EndState::ALL.iter().position(|&x| x == e).expect("listed") as u8
}

fn encode(seq: u64, t: &TraceTask, out: &mut [u8; RECORD]) {
    let mut w = 0;
    let mut put = |bytes: &[u8]| {
        out[w..w + bytes.len()].copy_from_slice(bytes);
        w += bytes.len();
    };
    put(&seq.to_le_bytes());
    put(&t.submit.as_nanos().to_le_bytes());
    put(&t.job.to_le_bytes());
    put(&t.index.to_le_bytes());
    put(&t.user.to_le_bytes());
    put(&[t.priority, t.class]);
    for v in [t.cpus, t.mem, t.disk, t.gpus] {
        put(&v.to_le_bytes());
    }
    put(&t.runtime.map_or(u64::MAX, |d| d.as_nanos()).to_le_bytes());
    put(&[end_code(t.end)]);
    put(&t.machine.unwrap_or(u32::MAX).to_le_bytes());
}

fn decode(b: &[u8; RECORD]) -> (u64, TraceTask) {
    let mut r = 0;
    let mut take = |n: usize| {
        let s = &b[r..r + n];
        r += n;
        s
    };
    let u64_ = |s: &[u8]| u64::from_le_bytes(s.try_into().expect("8 bytes"));
    let u32_ = |s: &[u8]| u32::from_le_bytes(s.try_into().expect("4 bytes"));
    let f64_ = |s: &[u8]| f64::from_le_bytes(s.try_into().expect("8 bytes"));
    let seq = u64_(take(8));
    let submit = Duration::from_nanos(u64_(take(8)));
    let job = u64_(take(8));
    let index = u32_(take(4));
    let mut t = TraceTask::new(submit, job, index);
    t.user = u32_(take(4));
    let pc = take(2);
    (t.priority, t.class) = (pc[0], pc[1]);
    t.cpus = f64_(take(8));
    t.mem = f64_(take(8));
    t.disk = f64_(take(8));
    t.gpus = f64_(take(8));
    let runtime = u64_(take(8));
    t.runtime = (runtime != u64::MAX).then(|| Duration::from_nanos(runtime));
    t.end = EndState::ALL[usize::from(take(1)[0]).min(EndState::ALL.len() - 1)];
    let machine = u32_(take(4));
    t.machine = (machine != u32::MAX).then_some(machine);
    (seq, t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn task(submit_s: u64, job: u64) -> TraceTask {
        let mut t = TraceTask::new(Duration::from_secs(submit_s), job, 7);
        t.cpus = 0.5;
        t.mem = 1024.25;
        t.runtime = Some(Duration::from_millis(1500));
        t.end = EndState::Kill;
        t.machine = Some(3);
        t.user = 9;
        t.priority = 11;
        t.class = 2;
        t
    }

    #[test]
    fn spilled_records_come_back_whole() {
        let t = task(5, 77);
        let mut b = [0u8; RECORD];
        encode(42, &t, &mut b);
        assert_eq!(decode(&b), (42, t));
    }

    proptest! {
        #[test]
        fn sorted_stably_whatever_the_budget(times in prop::collection::vec(0u64..50, 0..300), budget in 1usize..40) {
            let mut s = Sorter::new(budget, "test");
            for (job, &t) in times.iter().enumerate() {
                s.push(task(t, job as u64)).unwrap();
            }
            let mut merged = s.finish().unwrap();
            let mut out = Vec::new();
            while let Some(t) = merged.next_task().unwrap() {
                out.push((t.submit.as_nanos() / 1_000_000_000, t.job));
            }
            let mut expected: Vec<(u64, u64)> = times.iter().enumerate().map(|(j, &t)| (t, j as u64)).collect();
            expected.sort_by_key(|&(t, _)| t);
            prop_assert_eq!(out, expected);
        }
    }
}
