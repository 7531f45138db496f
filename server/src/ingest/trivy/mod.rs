//! Trivy JSON (`--format json`): SchemaVersion 2 reports of image, filesystem, rootfs and
//! repository scans; both `trivy k8s` layouts (`Resources`, and the older `Vulnerabilities` /
//! `Misconfigurations` resource lists); and the pre-SchemaVersion list of results (including
//! the bare `null` old versions printed for a clean scan).
//!
//! Pure: bytes in, [`ParsedReport`] out. Lenient the way the schema needs: every field may be
//! missing or null. Each record is decoded on its own, so one malformed record becomes a
//! warning naming its JSON pointer instead of sinking the report. Licenses are not findings.
//!
//! Schema reference: Trivy's `pkg/types/report.go` and `pkg/k8s/report` (JSON field names are
//! the Go field names).
//!
//! Layout: `schema` (the serde structs), `envelope` (report layouts, assets, scopes),
//! `decoder` (one vulnerability record on its own, in parallel) and `reader` (a result's
//! records into the report).

mod decoder;
mod envelope;
mod reader;
mod schema;

use serde_json::value::RawValue;

use crate::ingest::model::{ParseError, ParsedReport, ReportBuilder, ReportKind};
use envelope::{read_legacy_list, read_report};
use schema::{Report, ResultEntry};

/// Parses a Trivy JSON report.
pub fn parse(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    let mut b = ReportBuilder::new("trivy", ReportKind::Findings);
    match bytes.iter().find(|c| !c.is_ascii_whitespace()) {
        // Trivy before 0.20 printed `null` for a scan that found nothing.
        Some(b'n') => {
            serde_json::from_slice::<()>(bytes).map_err(|e| ParseError::from_json("Trivy", &e))?;
            return Ok(b.finish());
        }
        // ... and a bare list of results otherwise.
        Some(b'[') => {
            let results: Vec<&RawValue> =
                serde_json::from_slice(bytes).map_err(|e| ParseError::from_json("Trivy", &e))?;
            read_legacy_list(&mut b, results)?;
            return Ok(b.finish());
        }
        _ => {}
    }
    // One pass when every result is well-formed (the usual case); otherwise the results are
    // read one by one, and a malformed one becomes a warning.
    match serde_json::from_slice::<Report<'_, ResultEntry<'_>>>(bytes) {
        Ok(report) => read_report(b, report, |reader, pointer, entry, asset| {
            reader.entry(pointer, entry, asset);
        }),
        Err(_) => {
            let report: Report<'_, &RawValue> = serde_json::from_slice(bytes)
                .map_err(|e| ParseError::from_json("Trivy JSON", &e))?;
            read_report(b, report, |reader, pointer, raw, asset| {
                reader.result(pointer, raw, asset);
            })
        }
    }
}

#[cfg(test)]
mod tests;
