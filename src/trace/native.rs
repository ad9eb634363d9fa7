//! mesosim's own trace format: one task a row in a CSV file, for users' own data and for
//! what `mesosim trace convert` writes from any other format.
//!
//! Origin and license: defined by mesosim; files are whatever their authors make them.
//!
//! The file starts with exactly this header row:
//!
//! ```text
//! submit_s,job,index,user,priority,class,cpus,mem,disk,gpus,runtime_s,end,machine
//! ```
//!
//! and then has one task a row with these 13 fields:
//!
//! | column | meaning | empty |
//! |---|---|---|
//! | `submit_s` | submit time, decimal seconds (`12`, `0.25`, `1.000000001`) | not allowed |
//! | `job` | job number, a non-negative integer | not allowed |
//! | `index` | index within the job, 0 to 2^32 − 1 | 0 |
//! | `user` | user name, free text | unknown user |
//! | `priority` | 0–255 | 0 |
//! | `class` | 0–255 | 0 |
//! | `cpus` | cores | not allowed |
//! | `mem` | MB | not allowed |
//! | `disk` | MB | 0 |
//! | `gpus` | GPUs, fractions allowed | 0 |
//! | `runtime_s` | how long it ran, decimal seconds | unknown |
//! | `end` | `finish`, `fail`, `kill`, `lost`, `evict`, `running` or `pending` | not allowed |
//! | `machine` | where it ran, free text | unknown |
//!
//! Times are read exactly to the nanosecond when written as plain decimals with up to 9
//! decimals (other number forms, `1e3` say, are read as floating point). Resources must
//! be non-negative. Spaces around a field are ignored; a field that holds a comma or a
//! quote, or whose own text starts or ends with spaces, is quoted as in RFC 4180 (`"a,b"`,
//! `"say ""hi"""`, `" x "`) and taken as it is. A quoted field cannot span lines. Users and machines
//! are interned in order of first appearance.
//!
//! Rows must be in non-decreasing submit order (the [`Writer`] behind `mesosim trace
//! convert` writes them so): the reader streams the file in memory independent of its
//! length, and a row whose submit time goes backwards is a bad row. A row with the wrong
//! number of fields or a bad value is a bad row naming its line and field; a missing or
//! different header always stops the read.

use std::borrow::Cow;
use std::io::{self, Write};

use smallvec::SmallVec;

use super::rows::{parse_f64, parse_u64, trim};
use super::{EndState, Interner, ReadOptions, Rows, TaskReader, TraceError, TraceTask};
use crate::time::{Duration, write_exact_secs};

/// The columns, in order.
pub const COLUMNS: &[&str] = &[
    "submit_s",
    "job",
    "index",
    "user",
    "priority",
    "class",
    "cpus",
    "mem",
    "disk",
    "gpus",
    "runtime_s",
    "end",
    "machine",
];

/// The header row.
pub const HEADER: &str = "submit_s,job,index,user,priority,class,cpus,mem,disk,gpus,runtime_s,end,machine";

const SUBMIT: usize = 0;
const JOB: usize = 1;
const INDEX: usize = 2;
const USER: usize = 3;
const PRIORITY: usize = 4;
const CLASS: usize = 5;
const CPUS: usize = 6;
const MEM: usize = 7;
const DISK: usize = 8;
const GPUS: usize = 9;
const RUNTIME: usize = 10;
const END: usize = 11;
const MACHINE: usize = 12;

/// Splits one line on commas. An unquoted field is trimmed of surrounding whitespace; a
/// quoted one (whitespace may surround its quotes) is taken as it is, doubled quotes
/// standing for one.
fn split(line: &str) -> Result<Parts<'_>, String> {
    let mut parts = Parts::new();
    split_into(line, &mut parts)?;
    Ok(parts)
}

/// A line's fields.
type Parts<'a> = SmallVec<[Cow<'a, str>; 16]>;

/// [`split`] into `parts` (empty), which stays where the caller keeps it: a row's fields
/// are not moved about.
fn split_into<'a>(line: &'a str, parts: &mut Parts<'a>) -> Result<(), String> {
    let mut rest = line;
    loop {
        let n = parts.len() + 1;
        if let Some(quoted) = rest.trim_start().strip_prefix('"') {
            // A quoted field: runs to a quote that is not doubled.
            let mut text = String::new();
            let mut tail = quoted;
            loop {
                let Some(q) = memchr::memchr(b'"', tail.as_bytes()) else {
                    return Err(format!(
                        "field {n}: the quote is not closed (a quoted field cannot span lines)"
                    ));
                };
                text.push_str(&tail[..q]);
                tail = &tail[q + 1..];
                match tail.strip_prefix('"') {
                    Some(after) => {
                        text.push('"');
                        tail = after;
                    }
                    None => break,
                }
            }
            parts.push(Cow::Owned(text));
            let tail = tail.trim_start();
            if tail.is_empty() {
                return Ok(());
            }
            match tail.strip_prefix(',') {
                Some(after) => rest = after,
                None => return Err(format!("field {n}: text after the closing quote")),
            }
        } else {
            match memchr::memchr(b',', rest.as_bytes()) {
                Some(c) => {
                    parts.push(Cow::Borrowed(trim(&rest[..c])));
                    rest = &rest[c + 1..];
                }
                None => {
                    parts.push(Cow::Borrowed(trim(rest)));
                    return Ok(());
                }
            }
        }
    }
}

/// Decimal seconds: exact to the nanosecond for plain decimals of up to 9 decimals, else
/// read as floating point; `None` for what is not a non-negative time that fits.
fn parse_secs(s: &str) -> Option<Duration> {
    let (whole, frac) = match memchr::memchr(b'.', s.as_bytes()) {
        Some(dot) => (&s[..dot], &s[dot + 1..]),
        None => (s, ""),
    };
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if digits(whole) && digits(frac) && frac.len() <= 9 && !(whole.is_empty() && frac.is_empty()) {
        let secs: u64 = if whole.is_empty() { 0 } else { parse_u64(whole)? };
        let mut nanos: u64 = if frac.is_empty() { 0 } else { parse_u64(frac)? };
        for _ in frac.len()..9 {
            nanos *= 10;
        }
        return secs
            .checked_mul(1_000_000_000)?
            .checked_add(nanos)
            .map(Duration::from_nanos);
    }
    match parse_f64(s) {
        Some(v) if v.is_finite() && v >= 0.0 && v * 1e9 < u64::MAX as f64 => Some(Duration::from_secs_f64(v)),
        _ => None,
    }
}

/// One row's fields, with typed access whose errors name the field.
struct Row<'r, 'a> {
    parts: &'r [Cow<'a, str>],
}

impl<'r, 'a> Row<'r, 'a> {
    /// The fields of `line`, split into `parts`.
    fn new(line: &'a str, parts: &'r mut Parts<'a>) -> Result<Row<'r, 'a>, String> {
        split_into(line, parts)?;
        if parts.len() != COLUMNS.len() {
            return Err(format!(
                "expected {} fields, found {}",
                COLUMNS.len(),
                parts.len()
            ));
        }
        Ok(Row { parts })
    }

    fn text(&self, i: usize) -> &str {
        &self.parts[i]
    }

    /// Field `i` trimmed, for numbers and names of states.
    fn str(&self, i: usize) -> &str {
        trim(&self.parts[i])
    }

    fn bad(&self, i: usize, expected: &str) -> String {
        let shown: String = self.str(i).chars().take(40).collect();
        format!(
            "field {} ({}): expected {expected}, found \"{shown}\"",
            i + 1,
            COLUMNS[i]
        )
    }

    fn missing(&self, i: usize) -> String {
        format!("field {} ({}): a value is required", i + 1, COLUMNS[i])
    }

    fn required(&self, i: usize) -> Result<&str, String> {
        let s = self.str(i);
        if s.is_empty() {
            return Err(self.missing(i));
        }
        Ok(s)
    }

    /// An integer of type `T`; empty is `default` when there is one.
    fn int<T: std::str::FromStr>(&self, i: usize, default: Option<T>, what: &str) -> Result<T, String> {
        match (self.str(i), default) {
            ("", Some(d)) => Ok(d),
            (s, _) => s.parse().map_err(|_| self.bad(i, what)),
        }
    }

    /// A non-negative finite number; empty is `default` when there is one.
    fn amount(&self, i: usize, default: Option<f64>) -> Result<f64, String> {
        match (self.str(i), default) {
            ("", Some(d)) => Ok(d),
            (s, _) => match parse_f64(s) {
                Some(v) if v.is_finite() && v >= 0.0 => Ok(v),
                _ => Err(self.bad(i, "a non-negative number")),
            },
        }
    }

    fn secs(&self, i: usize) -> Result<Option<Duration>, String> {
        let s = self.str(i);
        if s.is_empty() {
            return Ok(None);
        }
        parse_secs(s)
            .map(Some)
            .ok_or_else(|| self.bad(i, "seconds (a non-negative number)"))
    }
}

/// Parses lines into tasks, checking submit order.
struct Parser {
    users: Interner,
    machines: Interner,
    /// The previous row's submit time, and as written (kept, not reallocated, row to row).
    last: Option<Duration>,
    last_text: String,
}

impl Parser {
    fn line(&mut self, line: &str) -> Result<TraceTask, String> {
        let mut parts = Parts::new();
        let row = Row::new(line, &mut parts)?;
        let submit = row.secs(SUBMIT)?.ok_or_else(|| row.missing(SUBMIT))?;
        let job = row.int::<u64>(JOB, None, "a non-negative integer")?;
        let index = row.int::<u32>(INDEX, Some(0), "an integer from 0 to 4294967295")?;
        let priority = row.int::<u8>(PRIORITY, Some(0), "an integer from 0 to 255")?;
        let class = row.int::<u8>(CLASS, Some(0), "an integer from 0 to 255")?;
        let cpus = row.amount(CPUS, None)?;
        let mem = row.amount(MEM, None)?;
        let disk = row.amount(DISK, Some(0.0))?;
        let gpus = row.amount(GPUS, Some(0.0))?;
        let runtime = row.secs(RUNTIME)?;
        let end = EndState::parse(row.required(END)?).ok_or_else(|| {
            let names: Vec<&str> = EndState::ALL.iter().map(|e| e.name()).collect();
            row.bad(END, &format!("one of {}", names.join(", ")))
        })?;
        if let Some(last) = self.last
            && submit < last
        {
            return Err(format!(
                "submit time {} is before the previous row's {}: native csv must be in submit order \
                 (`mesosim trace convert` writes it sorted)",
                row.str(SUBMIT),
                self.last_text
            ));
        }
        self.last = Some(submit);
        self.last_text.clear();
        self.last_text.push_str(row.str(SUBMIT));

        let mut t = TraceTask::new(submit, job, index);
        t.user = self.users.intern(row.text(USER));
        t.priority = priority;
        t.class = class;
        (t.cpus, t.mem, t.disk, t.gpus) = (cpus, mem, disk, gpus);
        t.runtime = runtime;
        t.end = end;
        let machine = row.text(MACHINE);
        t.machine = (!machine.is_empty()).then(|| self.machines.intern(machine));
        Ok(t)
    }
}

/// The tasks of a native CSV trace, streamed.
pub struct Tasks {
    rows: Rows,
    parser: Parser,
}

impl Tasks {
    /// Opens a trace and checks its header.
    pub fn open(path: &str, options: &ReadOptions) -> Result<Tasks, TraceError> {
        let mut rows = Rows::open(path, options.skip_bad_rows)?;
        let header = rows.next(|row, line| Ok(Some((row, line.to_owned()))))?;
        let Some((row, line)) = header else {
            return Err(rows.file_error(format!("the file is empty: expected the header `{HEADER}`")));
        };
        let columns = split(line.trim_start_matches('\u{feff}')).unwrap_or_default();
        if !columns.iter().map(|c| c.trim()).eq(COLUMNS.iter().copied()) {
            let shown: String = line.chars().take(200).collect();
            return Err(rows.error_at(row, format!("expected the header `{HEADER}`, found `{shown}`")));
        }
        Ok(Tasks {
            rows,
            parser: Parser {
                users: Interner::with_unknown(),
                machines: Interner::default(),
                last: None,
                last_text: String::new(),
            },
        })
    }
}

impl TaskReader for Tasks {
    fn next_task(&mut self) -> Result<Option<TraceTask>, TraceError> {
        let parser = &mut self.parser;
        self.rows.next(|_, line| parser.line(line).map(Some))
    }

    fn text(&self) -> Option<&Rows> {
        Some(&self.rows)
    }

    fn user_name(&self, user: u32) -> &str {
        self.parser.users.name(user)
    }

    fn machine_name(&self, machine: u32) -> &str {
        self.parser.machines.name(machine)
    }
}

/// Writes tasks as a native CSV trace; the caller gives them in submit order.
pub struct Writer<W: Write> {
    out: W,
    line: String,
}

/// Appends `v` as a decimal that reads back as the same `f64`: at most 6 decimals with
/// trailing zeros trimmed when that is exact (`3.152`, `2048`), else the shortest exact
/// decimal.
fn push_amount(line: &mut String, v: f64) {
    use std::fmt::Write as _;
    let start = line.len();
    let _ = write!(line, "{v:.6}");
    if line[start..].contains('.') {
        let kept = line[start..].trim_end_matches('0').trim_end_matches('.').len();
        line.truncate(start + kept);
    }
    if line[start..].parse::<f64>().ok() != Some(v) {
        line.truncate(start);
        let _ = write!(line, "{v}");
    }
}

/// Appends free text, quoted when it holds a comma or a quote or starts or ends with
/// whitespace.
fn push_text(line: &mut String, text: &str) -> io::Result<()> {
    if text.contains(['\n', '\r']) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("cannot write the name {text:?}: it holds a line break"),
        ));
    }
    if text.contains([',', '"']) || text.trim() != text {
        line.push('"');
        line.push_str(&text.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(text);
    }
    Ok(())
}

impl<W: Write> Writer<W> {
    /// Starts a trace: writes the header row.
    pub fn new(mut out: W) -> io::Result<Writer<W>> {
        out.write_all(HEADER.as_bytes())?;
        out.write_all(b"\n")?;
        Ok(Writer {
            out,
            line: String::with_capacity(128),
        })
    }

    /// Writes one task; `user` and `machine` are the names behind its ids (the machine is
    /// left empty when the task has none). Times are exact to the nanosecond and resources
    /// read back as the same numbers.
    pub fn write(&mut self, task: &TraceTask, user: &str, machine: &str) -> io::Result<()> {
        use std::fmt::Write as _;
        let line = &mut self.line;
        line.clear();
        let _ = write_exact_secs(line, task.submit.as_nanos());
        let _ = write!(line, ",{},{},", task.job, task.index);
        push_text(line, user)?;
        let _ = write!(line, ",{},{}", task.priority, task.class);
        for v in [task.cpus, task.mem, task.disk, task.gpus] {
            line.push(',');
            push_amount(line, v);
        }
        line.push(',');
        if let Some(r) = task.runtime {
            let _ = write_exact_secs(line, r.as_nanos());
        }
        line.push(',');
        line.push_str(task.end.name());
        line.push(',');
        if task.machine.is_some() {
            push_text(line, machine)?;
        }
        line.push('\n');
        self.out.write_all(line.as_bytes())
    }

    /// Flushes and hands back the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Format, openb2023, read_all};
    use proptest::prelude::*;

    const PODS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/traces/alibaba-gpu-v2023/openb_pod_list_default.csv"
    );

    use crate::trace::testing::TempFile as Temp;

    fn options() -> ReadOptions {
        ReadOptions::new(Format::Csv)
    }

    /// Tasks with their user and machine names in place of the ids.
    type Named = (TraceTask, String, Option<String>);

    fn read_named(path: &str) -> Result<Vec<Named>, TraceError> {
        let mut reader = Tasks::open(path, &options())?;
        let mut out = Vec::new();
        while let Some(mut t) = reader.next_task()? {
            let user = reader.user_name(t.user).to_owned();
            let machine = t.machine.map(|m| reader.machine_name(m).to_owned());
            (t.user, t.machine) = (0, None);
            out.push((t, user, machine));
        }
        Ok(out)
    }

    fn write_named(tasks: &[Named]) -> Vec<u8> {
        let mut w = Writer::new(Vec::new()).unwrap();
        for (t, user, machine) in tasks {
            let mut t = t.clone();
            t.machine = machine.as_ref().map(|_| 0);
            w.write(&t, user, machine.as_deref().unwrap_or("")).unwrap();
        }
        w.finish().unwrap()
    }

    const SAMPLE: &str = "\
submit_s,job,index,user,priority,class,cpus,mem,disk,gpus,runtime_s,end,machine
0,1,0,alice,9,2,0.5,1024,10,0,12.5,finish,m1
0.000000001,1,1,\"smith, bob\",0,0,1,2048.25,0,0.46,,running,
 3 , 7 , , , , ,4,8,,,,pending,\"rack \"\"a\"\", m2\"
3,8,0,alice,11,3,0.1,0.000001,0,8,1e3,kill,m1
";

    #[test]
    fn reads_every_column() {
        let file = Temp::new("sample.csv", SAMPLE.as_bytes());
        let mut reader = Tasks::open(file.path(), &options()).unwrap();
        let tasks = read_all(&mut reader).unwrap();
        assert_eq!(tasks.len(), 4);
        assert_eq!(reader.rows(), 5);
        let t = &tasks[0];
        assert_eq!(
            (t.submit, t.job, t.index, t.priority, t.class),
            (Duration::ZERO, 1, 0, 9, 2)
        );
        assert_eq!((t.cpus, t.mem, t.disk, t.gpus), (0.5, 1024.0, 10.0, 0.0));
        assert_eq!(
            (t.runtime, t.end),
            (Some(Duration::from_millis(12_500)), EndState::Finish)
        );
        assert_eq!(
            (
                reader.user_name(t.user),
                t.machine.map(|m| reader.machine_name(m))
            ),
            ("alice", Some("m1"))
        );
        let t = &tasks[1];
        assert_eq!(t.submit, Duration::from_nanos(1));
        assert_eq!(
            (reader.user_name(t.user), t.machine, t.runtime),
            ("smith, bob", None, None)
        );
        assert_eq!((t.gpus, t.mem, t.end), (0.46, 2048.25, EndState::Running));
        let t = &tasks[2];
        assert_eq!(
            (t.submit, t.job, t.index, t.user, t.priority, t.class),
            (Duration::from_secs(3), 7, 0, 0, 0, 0)
        );
        assert_eq!(reader.machine_name(t.machine.unwrap()), "rack \"a\", m2");
        let t = &tasks[3];
        assert_eq!((t.user, t.machine), (tasks[0].user, tasks[0].machine));
        assert_eq!(
            (t.runtime, t.end),
            (Some(Duration::from_secs(1000)), EndState::Kill)
        );
    }

    #[test]
    fn read_write_read_gives_the_same_tasks() {
        let file = Temp::new("sample.csv", SAMPLE.as_bytes());
        let first = read_named(file.path()).unwrap();
        let written = write_named(&first);
        let again = Temp::new("again.csv", &written);
        assert_eq!(read_named(again.path()).unwrap(), first);
        // Writing what was read back is byte for byte the same.
        assert_eq!(write_named(&read_named(again.path()).unwrap()), written);
        let text = String::from_utf8(written).unwrap();
        assert_eq!(
            text.lines().nth(2).unwrap(),
            "0.000000001,1,1,\"smith, bob\",0,0,1,2048.25,0,0.46,,running,"
        );

        // The openb sample, through the writer, reads back as it was.
        let pods = read_all(&mut openb2023::Tasks::open(PODS, &ReadOptions::new(Format::Openb2023)).unwrap())
            .unwrap();
        let named: Vec<Named> = pods.iter().map(|t| (t.clone(), String::new(), None)).collect();
        let file = Temp::new("pods.csv", &write_named(&named));
        let back: Vec<TraceTask> = read_all(&mut Tasks::open(file.path(), &options()).unwrap()).unwrap();
        assert_eq!(back.len(), 8_152);
        assert!(back == pods);
    }

    #[test]
    fn numbers_are_written_short_and_exact() {
        let mut s = String::new();
        for (v, text) in [
            (3.152, "3.152"),
            (2048.0, "2048"),
            (0.0, "0"),
            (0.000001, "0.000001"),
            (1000.0 / 1024.0, "0.9765625"),
            (0.1 + 0.2, "0.30000000000000004"),
        ] {
            s.clear();
            push_amount(&mut s, v);
            assert_eq!(s, text);
        }
        assert_eq!(parse_secs("12.5"), Some(Duration::from_millis(12_500)));
        assert_eq!(
            parse_secs("12902960.123456789"),
            Some(Duration::from_nanos(12_902_960_123_456_789))
        );
        assert_eq!(parse_secs(".5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_secs("1e3"), Some(Duration::from_secs(1000)));
        for bad in [".", "", "-1", "1e30", "x", "nan", "inf", "99999999999999999999"] {
            assert_eq!(parse_secs(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_corrupted_row_is_one_line_error_or_a_counted_skip() {
        let mut text = SAMPLE.lines().take(3).collect::<Vec<_>>().join("\n");
        text.push_str("\n\n1,2,0,u,0,0,1,1,0,0,5,finish\n");
        text.push_str("2,3,0,u,0,0,1,1,0,0,5,done,\n");
        text.push_str("0,4,0,u,0,0,1,1,0,0,5,finish,\n");
        text.push_str("5,5,0,\"u,0,0,1,1,0,0,5,finish,\n");
        text.push_str("6,5,0,u,0,0,-1,1,0,0,5,finish,\n");
        text.push_str("7,6,0,u,0,0,1,1,0,0,5,finish,\n");
        let file = Temp::new("bad.csv", text.as_bytes());
        let e = read_all(&mut Tasks::open(file.path(), &options()).unwrap()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}:5: expected 13 fields, found 12", file.path())
        );

        let mut skip = options();
        skip.skip_bad_rows = true;
        let mut reader = Tasks::open(file.path(), &skip).unwrap();
        let tasks = read_all(&mut reader).unwrap();
        assert_eq!(tasks.iter().map(|t| t.job).collect::<Vec<_>>(), [1, 1, 6]);
        assert_eq!(reader.skipped(), 5);

        let messages = [
            (
                6,
                "field 12 (end): expected one of finish, fail, kill, lost, evict, running, pending, found \"done\"",
            ),
            (
                7,
                "submit time 0 is before the previous row's 2: native csv must be in submit order (`mesosim trace convert` writes it sorted)",
            ),
            (
                8,
                "field 4: the quote is not closed (a quoted field cannot span lines)",
            ),
            (9, "field 7 (cpus): expected a non-negative number, found \"-1\""),
        ];
        let lines: Vec<&str> = text.lines().collect();
        for (row, message) in messages {
            // Each bad row after the good ones (the order check needs the row before).
            let one = format!("{HEADER}\n2,1,0,,0,0,1,1,0,0,,finish,\n{}\n", lines[row - 1]);
            let file = Temp::new("one.csv", one.as_bytes());
            let e = read_all(&mut Tasks::open(file.path(), &options()).unwrap()).unwrap_err();
            assert_eq!(e.to_string(), format!("{}:3: {message}", file.path()));
        }
    }

    #[test]
    fn a_missing_or_wrong_header_stops_the_read() {
        let file = Temp::new("noheader.csv", b"0,1,0,alice,9,2,0.5,1024,10,0,12.5,finish,m1\n");
        let mut skip = options();
        skip.skip_bad_rows = true;
        let e = Tasks::open(file.path(), &skip).err().unwrap();
        assert_eq!(
            e.to_string(),
            format!(
                "{}:1: expected the header `{HEADER}`, found `0,1,0,alice,9,2,0.5,1024,10,0,12.5,finish,m1`",
                file.path()
            )
        );
        let empty = Temp::new("empty.csv", b"\n\n");
        let e = Tasks::open(empty.path(), &options()).err().unwrap();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: the file is empty: expected the header `{HEADER}`",
                empty.path()
            )
        );
        let bom = Temp::new(
            "bom.csv",
            format!("\u{feff}{HEADER}\r\n0,1,,,,,1,1,,,,finish,\r\n").as_bytes(),
        );
        assert_eq!(
            read_all(&mut Tasks::open(bom.path(), &options()).unwrap())
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn gzip_reads_like_the_plain_file() {
        let packed = Temp::gz("sample.csv.gz", SAMPLE.as_bytes());
        let plain = Temp::new("sample.csv", SAMPLE.as_bytes());
        assert_eq!(
            read_named(packed.path()).unwrap(),
            read_named(plain.path()).unwrap()
        );
    }

    fn task_strategy() -> impl Strategy<Value = Named> {
        let amount = prop_oneof![
            0.0..1e7f64,
            (0u32..100_000).prop_map(|m| f64::from(m) / 1000.0),
            Just(0.0)
        ];
        (
            (
                0u64..u64::MAX / 4,
                any::<u64>(),
                any::<u32>(),
                any::<u8>(),
                any::<u8>(),
            ),
            (amount.clone(), amount.clone(), amount.clone(), amount),
            (
                prop::option::of(any::<u64>()),
                prop::sample::select(EndState::ALL.to_vec()),
            ),
            ("[a-z ,\"]{0,8}", prop::option::of("[a-z0-9 ,\"]{1,8}")),
        )
            .prop_map(
                |(
                    (submit, job, index, priority, class),
                    (cpus, mem, disk, gpus),
                    (runtime, end),
                    (user, machine),
                )| {
                    let mut t = TraceTask::new(Duration::from_nanos(submit), job, index);
                    (t.priority, t.class, t.cpus, t.mem, t.disk, t.gpus) =
                        (priority, class, cpus, mem, disk, gpus);
                    t.runtime = runtime.map(Duration::from_nanos);
                    t.end = end;
                    (t, user, machine)
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_tasks_round_trip(mut tasks in prop::collection::vec(task_strategy(), 0..20)) {
            tasks.sort_by_key(|(t, _, _)| t.submit);
            let file = Temp::new("prop.csv", &write_named(&tasks));
            prop_assert_eq!(read_named(file.path()).unwrap(), tasks);
        }

        #[test]
        fn garbage_never_panics(
            bytes in prop::collection::vec(any::<u8>(), 0..400),
            cells in prop::collection::vec(prop::sample::select(vec!["0", "1.5", "-1", "\"", "\"\"", "\"a,b\"", "finish", "1e400", ".", ",", "\n", "99999999999999999999"]), 0..60),
            cut in 0usize..400,
            skip in any::<bool>(),
        ) {
            let mut o = options();
            o.skip_bad_rows = skip;
            let mut garbage = format!("{HEADER}\n").into_bytes();
            garbage.extend_from_slice(&bytes);
            let cells = format!("{HEADER}\n{}", cells.join(","));
            for input in [&garbage[..], cells.as_bytes(), &SAMPLE.as_bytes()[..cut.min(SAMPLE.len())]] {
                let file = Temp::new("garbage.csv", input);
                if let Ok(mut reader) = Tasks::open(file.path(), &o) {
                    let _ = read_all(&mut reader);
                }
            }
        }
    }
}
