//! Arbitrary bytes as an alibaba2017 trace: an error is fine, a panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mesosim::trace::{Format, fuzzing};

fuzz_target!(|data: &[u8]| {
    fuzzing::read_bytes(Format::Alibaba2017, data);
});
