//! Fuzzes format detection and whichever parser it picks, as `POST /api/v1/ingest` does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::ingest::parse_body;

fuzz_target!(|data: &[u8]| {
    let _ = parse_body(None, bytes::Bytes::copy_from_slice(data));
});
