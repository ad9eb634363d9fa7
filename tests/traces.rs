//! Traces as users meet them: `mesosim trace stats|convert`, and replays that stop at a
//! corrupted row with a one-line error naming the file and row (exit 2), or skip it and
//! report it under `skip_bad_rows`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{mesosim, stderr, temp_dir};

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn stats_count_what_the_source_holds() {
    // Counts checked with zcat | awk: 201,491 SUBMIT rows, 12,492 machines scheduled on.
    let s = json(&mesosim(&[
        "trace",
        "stats",
        "traces/google-2011/task_events/part-00000-of-00500.csv.gz",
        "--json",
    ]));
    assert_eq!(s["rows"], 450_146);
    assert_eq!(s["tasks"], 201_491);
    assert_eq!(s["machines"], 12_492);
    assert_eq!(s["ends"]["finish"], 43_237);
    let s = json(&mesosim(&[
        "trace",
        "stats",
        "traces/swf/NASA-iPSC-1993-3.1-cln.swf.gz",
        "--json",
    ]));
    assert_eq!(
        (s["jobs"].as_u64(), s["tasks"].as_u64()),
        (Some(18_239), Some(309_953))
    );
    let s = json(&mesosim(&[
        "trace",
        "stats",
        "traces/alibaba-gpu-v2023/openb_pod_list_default.csv",
        "--json",
    ]));
    assert_eq!(s["tasks"], 8_152);
    let s = json(&mesosim(&[
        "trace",
        "stats",
        "traces/facebook-swim/FB-2009_samples_24_times_1hr_0.tsv",
        "--json",
    ]));
    assert_eq!(s["jobs"], 5_894);
}

#[test]
fn convert_writes_native_csv_that_reads_back_the_same() {
    let dir = temp_dir("convert");
    let out = dir.join("openb.csv");
    let o = mesosim(&[
        "trace",
        "convert",
        "traces/alibaba-gpu-v2023/openb_pod_list_default.csv",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let original = json(&mesosim(&[
        "trace",
        "stats",
        "traces/alibaba-gpu-v2023/openb_pod_list_default.csv",
        "--json",
    ]));
    let converted = json(&mesosim(&[
        "trace",
        "stats",
        out.to_str().unwrap(),
        "--format",
        "csv",
        "--json",
    ]));
    for key in ["tasks", "jobs", "ends", "cpus", "mem", "runtime_s", "span_s"] {
        assert_eq!(original[key], converted[key], "{key}");
    }
}

#[test]
fn an_unknown_format_is_bad_input() {
    let o = mesosim(&["trace", "stats", "traces/alibaba-v2017/batch_task.csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("error: traces/alibaba-v2017/batch_task.csv: cannot tell its format"));
}

/// A copy of the first `keep` lines of `source` with line `bad` cut short by one field.
fn corrupt(dir: &Path, source: &str, keep: usize, bad: usize, sep: char) -> PathBuf {
    let text = if source.ends_with(".gz") {
        let mut s = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(source).unwrap()),
            &mut s,
        )
        .unwrap();
        s
    } else {
        std::fs::read_to_string(source).unwrap()
    };
    let mut out = String::new();
    for (i, line) in text.lines().take(keep).enumerate() {
        if i + 1 == bad {
            let cut = line.trim_end().rfind(sep).unwrap();
            out.push_str(&line[..cut]);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    let name = Path::new(source)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .trim_end_matches(".gz");
    let path = dir.join(format!("bad-{name}"));
    std::fs::File::create(&path)
        .unwrap()
        .write_all(out.as_bytes())
        .unwrap();
    path
}

fn scenario(dir: &Path, format: &str, path: &Path, skip: bool) -> PathBuf {
    let file = dir.join(format!("{format}.yaml"));
    let text = format!(
        "name: bad-{format}\nseed: 1\nduration: 30d\ncluster:\n  - {{ class: m, count: 4, resources: \"cpus:64;mem:1048576;disk:10000000;gpus:8\" }}\nframeworks:\n  - name: f\n    type: batch\n    workload:\n      trace: {{ format: {format}, path: {}, skip_bad_rows: {skip} }}\n",
        path.display()
    );
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn a_corrupted_row_stops_every_format_with_its_file_and_row() {
    let dir = temp_dir("corrupt");
    let cases: [(&str, &str, usize, usize, char, &str); 7] = [
        (
            "google2011",
            "traces/google-2011/task_events/part-00000-of-00500.csv.gz",
            60,
            43,
            ',',
            "expected 13 fields, found 12",
        ),
        (
            "alibaba2017",
            "traces/alibaba-v2017/batch_task.csv",
            60,
            43,
            ',',
            "expected 8 fields, found 7",
        ),
        (
            "alibaba2018",
            "traces/alibaba-v2018/batch_task.sample.csv",
            30,
            17,
            ',',
            "expected 9 fields, found 8",
        ),
        (
            "openb2023",
            "traces/alibaba-gpu-v2023/openb_pod_list_default.csv",
            60,
            43,
            ',',
            "expected 11 fields, found 10",
        ),
        (
            "swf",
            "traces/swf/NASA-iPSC-1993-3.1-cln.swf.gz",
            80,
            43,
            ' ',
            "expected 18 fields, found 17",
        ),
        (
            "swim",
            "traces/facebook-swim/FB-2009_samples_24_times_1hr_0.tsv",
            60,
            43,
            '\t',
            "expected 6 fields, found 5",
        ),
        (
            "csv",
            "tests/traces/native.csv",
            20,
            7,
            ',',
            "expected 13 fields, found 12",
        ),
    ];
    for (format, source, keep, bad, sep, expected) in cases {
        let path = corrupt(&dir, source, keep, bad, sep);
        let out = dir.join(format!("out-{format}"));
        let o = mesosim(&[
            "run",
            scenario(&dir, format, &path, false).to_str().unwrap(),
            "-q",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{format}: {}", stderr(&o));
        assert_eq!(
            stderr(&o),
            format!("error: {}:{bad}: {expected}\n", path.display()),
            "{format}"
        );
        assert!(
            !out.join("summary.json").exists(),
            "{format}: no report from a failed run"
        );
        // Skipped, counted and named instead.
        let o = mesosim(&[
            "run",
            scenario(&dir, format, &path, true).to_str().unwrap(),
            "-q",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{format}: {}", stderr(&o));
        let s: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        assert_eq!(s["trace"]["skipped_rows"], 1, "{format}");
        assert_eq!(
            s["trace"]["first_skipped_row"].as_str().unwrap(),
            format!("{}:{bad}: {expected}", path.display()),
            "{format}"
        );
        assert!(s["trace"]["tasks_read"].as_u64().unwrap() > 0, "{format}");
    }
}

/// Every reader's groups, expanded, are exactly its tasks one by one, and the two calls mix.
#[test]
fn groups_expand_to_the_tasks_read_one_by_one() {
    use mesosim::trace::{self, Format, ReadOptions, TaskReader};
    let samples: [(Format, &str, Option<&str>); 6] = [
        (Format::Alibaba2017, "traces/alibaba-v2017/batch_task.csv", None),
        (
            Format::Alibaba2018,
            "traces/alibaba-v2018/batch_task.sample.csv",
            Some("traces/alibaba-v2018/batch_instance.sample.csv"),
        ),
        (Format::Swf, "traces/swf/NASA-iPSC-1993-3.1-cln.swf.gz", None),
        (
            Format::Swim,
            "traces/facebook-swim/FB-2009_samples_24_times_1hr_0.tsv",
            None,
        ),
        (
            Format::Openb2023,
            "traces/alibaba-gpu-v2023/openb_pod_list_default.csv",
            None,
        ),
        (Format::Csv, "tests/traces/native.csv", None),
    ];
    for (format, path, companion) in samples {
        let open = || -> Box<dyn TaskReader> {
            let mut options = ReadOptions::new(format);
            options.skip_bad_rows = true;
            options.companion = companion.map(str::to_owned);
            trace::tasks(format, path, &options).expect("the sample opens")
        };
        let mut one = open();
        let mut singly = Vec::new();
        while let Some(t) = one.next_task().unwrap() {
            singly.push(t);
        }
        let (mut grouped, mut mixed) = (Vec::new(), Vec::new());
        let (mut groups, mut reader, mut mixer) = (0, open(), open());
        while let Some(g) = reader.next_group().unwrap() {
            assert!(g.count >= 1, "{path}: an empty group");
            groups += 1;
            grouped.extend(g.tasks());
        }
        // Alternate: one task, then the rest of its group, and so on.
        while let Some(t) = mixer.next_task().unwrap() {
            mixed.push(t);
            let Some(g) = mixer.next_group().unwrap() else {
                break;
            };
            mixed.extend(g.tasks());
        }
        assert_eq!(grouped.len(), singly.len(), "{path}");
        assert!(grouped == singly, "{path}: groups differ from tasks");
        assert!(mixed == singly, "{path}: mixing calls changes the tasks");
        assert_eq!(reader.rows(), one.rows(), "{path}");
        if matches!(format, Format::Alibaba2017 | Format::Swf | Format::Swim) {
            assert!(
                groups < singly.len(),
                "{path}: {groups} groups for {} tasks",
                singly.len()
            );
        }
    }
}
