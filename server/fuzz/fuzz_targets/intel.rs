//! Fuzzes the KEV (JSON and CSV) and EPSS (CSV) importers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::ingest::intel;

fuzz_target!(|data: &[u8]| {
    let _ = intel::parse_kev(data);
    let _ = intel::parse_epss(data);
});
