//! Arbitrary bytes as what a connection brings to a live process: closing it is fine, a
//! panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mesosim::live::wire;

fuzz_target!(|data: &[u8]| {
    wire::fuzz_bytes(data);
});
