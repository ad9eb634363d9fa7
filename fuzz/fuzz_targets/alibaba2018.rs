//! Arbitrary bytes as an alibaba2018 trace (batch_task.csv, or batch_task.csv, a NUL byte
//! and batch_instance.csv): an error is fine, a panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mesosim::trace::{Format, fuzzing};

fuzz_target!(|data: &[u8]| {
    fuzzing::read_bytes(Format::Alibaba2018, data);
});
