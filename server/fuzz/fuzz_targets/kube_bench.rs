//! Fuzzes the `kube-bench` parser through the same path as `POST /api/v1/ingest/kube-bench`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::ingest::{Format, parse_body};

fuzz_target!(|data: &[u8]| {
    if let Some(format) = Format::from_name("kube-bench") {
        let _ = parse_body(Some(format), bytes::Bytes::copy_from_slice(data));
    }
});
