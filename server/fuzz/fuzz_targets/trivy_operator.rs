//! Fuzzes the `trivy-operator` parser through the same path as `POST /api/v1/ingest/trivy-operator`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::ingest::{Format, parse_body};

fuzz_target!(|data: &[u8]| {
    if let Some(format) = Format::from_name("trivy-operator") {
        let _ = parse_body(Some(format), bytes::Bytes::copy_from_slice(data));
    }
});
