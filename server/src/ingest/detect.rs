//! Format detection for `POST /api/v1/ingest`: looks at the first kilobytes and the top-level
//! shape of the document, in an order that resolves the overlaps between formats (SARIF and
//! CycloneDX both carry `$schema`, Trivy Operator reports are Kubernetes objects, ...).

use crate::ingest::Format;
use crate::ingest::model::ParseError;

/// The format of `body`, or a 400-worthy explanation.
pub fn detect(body: &[u8]) -> Result<Format, ParseError> {
    let first = body.iter().copied().find(|c| !c.is_ascii_whitespace());
    if first.is_none() {
        return Err(ParseError::new("empty-body", "the body is empty"));
    }
    let head = String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]);
    let has = |needle: &str| head.contains(needle);
    if has("\"SchemaVersion\"") || has("\"ClusterName\"") || has("\"ArtifactName\"") {
        return Ok(Format::Trivy);
    }
    Err(ParseError::new(
        "unknown-format",
        "the format could not be recognised from the content; send it to \
         /api/v1/ingest/{format} instead (formats: trivy)",
    ))
}
