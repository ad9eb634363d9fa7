//! The trace readers end to end: open a bundled sample through `mesosim::trace::tasks` and
//! drain every task, gzip decoding, parsing, assembly and sorting included.
//!
//! `readers/<format>/<sample>`: throughput is in the reader's rows (lines read, headers and
//! comments included) per second; the target is at least 2 million for every reader.
//! `google2011/part-00000.csv.gz` is the official part as published (gzip, 450,146 rows).
//! The SWF sample is published gzipped; a plain copy is made once at setup, and a gzipped
//! copy of the Alibaba 2017 sample, so both formats are measured both ways. Tasks are drained
//! with `next_group`, as `trace stats` reads them: formats that make several identical tasks
//! of one row (Alibaba 2017 instances, SWF processors, SWIM maps and reduces) hand each
//! row's tasks out as one group.

use std::hint::black_box;
use std::io::{Read, Write};
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mesosim::trace::{self, Format, ReadOptions};

const DIR: &str = env!("CARGO_MANIFEST_DIR");

/// One bundled sample as a reader opens it.
struct Sample {
    label: &'static str,
    format: Format,
    path: String,
    options: ReadOptions,
}

impl Sample {
    fn new(format: Format, label: &'static str, path: &str) -> Sample {
        Sample {
            label,
            format,
            path: path.to_owned(),
            options: ReadOptions::new(format),
        }
    }

    /// Reads the whole sample: (rows, tasks).
    fn drain(&self) -> (u64, u64) {
        let mut reader = trace::tasks(self.format, &self.path, &self.options).expect("the sample opens");
        let mut tasks = 0u64;
        while let Some(g) = reader.next_group().expect("the sample reads") {
            black_box(&g);
            tasks += u64::from(g.count);
        }
        (reader.rows(), tasks)
    }
}

/// A copy of a bundled file under the temporary directory, removed when dropped.
struct Copy(PathBuf);

impl Copy {
    fn new(name: &str, bytes: &[u8]) -> Copy {
        let path = std::env::temp_dir().join(format!("mesosim-bench-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).expect("the temporary directory is writable");
        Copy(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temporary directory")
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn bundled(path: &str) -> String {
    format!("{DIR}/{path}")
}

fn read(c: &mut Criterion) {
    let alibaba = std::fs::read(bundled("traces/alibaba-v2017/batch_task.csv")).expect("bundled");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&alibaba).expect("in memory");
    let alibaba_gz = Copy::new("batch_task.csv.gz", &gz.finish().expect("in memory"));
    let swf_gz = bundled("traces/swf/NASA-iPSC-1993-3.1-cln.swf.gz");
    let mut swf = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(&swf_gz).expect("bundled"))
        .read_to_end(&mut swf)
        .expect("a gzip file");
    let swf_plain = Copy::new("NASA-iPSC-1993-3.1-cln.swf", &swf);

    let mut samples = vec![
        Sample::new(
            Format::Google2011,
            "part-00000.csv.gz",
            &bundled("traces/google-2011/task_events/part-00000-of-00500.csv.gz"),
        ),
        Sample::new(
            Format::Google2011,
            "slice-600s-900s.csv",
            &bundled("traces/google-2011/slices/task_events.jobs-submitted-600s-900s.csv"),
        ),
        Sample::new(
            Format::Alibaba2017,
            "batch_task.csv",
            &bundled("traces/alibaba-v2017/batch_task.csv"),
        ),
        Sample::new(Format::Alibaba2017, "batch_task.csv.gz", alibaba_gz.path()),
        Sample::new(
            Format::Alibaba2018,
            "batch_task+instance.sample.csv",
            &bundled("traces/alibaba-v2018/batch_task.sample.csv"),
        ),
        Sample::new(
            Format::Openb2023,
            "openb_pod_list_default.csv",
            &bundled("traces/alibaba-gpu-v2023/openb_pod_list_default.csv"),
        ),
        Sample::new(Format::Swf, "nasa-ipsc-1993.swf", swf_plain.path()),
        Sample::new(Format::Swf, "nasa-ipsc-1993.swf.gz", &swf_gz),
        Sample::new(
            Format::Swim,
            "fb-2009-24x1h.tsv",
            &bundled("traces/facebook-swim/FB-2009_samples_24_times_1hr_0.tsv"),
        ),
        Sample::new(Format::Csv, "native.csv", &bundled("tests/traces/native.csv")),
    ];
    for s in &mut samples {
        match s.format {
            // One row of the sample ends before it was created.
            Format::Alibaba2017 => s.options.skip_bad_rows = true,
            Format::Alibaba2018 => {
                s.options.companion = Some(bundled("traces/alibaba-v2018/batch_instance.sample.csv"));
            }
            _ => {}
        }
    }

    let mut group = c.benchmark_group("readers");
    group.sample_size(10);
    group.warm_up_time(std::time::Duration::from_secs(1));
    group.measurement_time(std::time::Duration::from_secs(4));
    for s in &samples {
        let (rows, tasks) = s.drain();
        assert!(rows > 0 && tasks > 0, "{}: {rows} rows, {tasks} tasks", s.path);
        group.throughput(Throughput::Elements(rows));
        group.bench_function(format!("{}/{}", s.format.name(), s.label), |b| {
            b.iter(|| black_box(s.drain()))
        });
    }
    group.finish();
}

criterion_group!(benches, read);
criterion_main!(benches);
