//! Kubescape JSON (`kubescape scan --format json`, format version v2, kubescape 2.x and 3.x):
//! `summaryDetails` (per framework, per control: status, `scoreFactor`, resource counters),
//! `resources[]` (`resourceID` and the scanned `object`) and `results[]` (per resource, the
//! controls evaluated on it with their `status` and `rules[]`).
//!
//! Pure: bytes in, [`ParsedReport`] out. Each framework control, resource and resource result
//! is decoded on its own; a malformed one becomes a warning naming its JSON pointer
//! (`/results/3/controls/7`).
//!
//! Mapping:
//! - every control of every framework in `summaryDetails.frameworks` (and any control of
//!   `summaryDetails.controls` no framework lists, under framework `kubescape`) is a record and
//!   a control result: framework id `kubescape-<framework name>` (lowercase, e.g.
//!   `kubescape-nsa`, `kubescape-mitre`), control id `C-0013`, section = category. Status:
//!   passed (also with sub-status irrelevant / w/exceptions, and the older `irrelevant` and
//!   `excluded`) → pass, failed → fail, skipped → skip (manual when the sub-status asks for a
//!   manual review), `warning` → warn. A failed framework control is also a finding of kind
//!   `control` (rule id `<framework>:<control>`, fingerprint `control(framework, control,
//!   target)`);
//! - every control evaluated on a resource (`results[].controls[]`) is a record; a failed one
//!   (its `status.status`, or, in older reports without it, any failed rule) is a
//!   misconfiguration finding about that resource (`in_cluster`, rule id = control id, title =
//!   control name). The resource is named by the `resources[]` object (`kind`,
//!   `metadata.name`/`namespace`, or the top-level `name`/`namespace` of RBAC subject objects),
//!   else by its `resourceID` (`path=<n>/api=<group>/<version>/<namespace>/<kind>/<name>`, the
//!   first of a `/path=`-joined RBAC chain). Resource = `namespace/kind/name`, prefixed by
//!   `<file>#` for resources read from files; fingerprint `misconfiguration(control,
//!   resource, "cluster")`.
//! - Severity follows kubescape's own scale on the control's `baseScore` (else `scoreFactor`):
//!   ≥ 9 critical, ≥ 7 high, ≥ 4 medium, ≥ 1 low, else unknown.
//!
//! Lifecycle scope: `kubescape:<clusterName>`, else the scanned file or repository, else
//! `kubescape:unnamed`; declared even when everything passes.
//!
//! Skipped: scores, severity counters, `prioritizedResource` (attack-track ranking), the
//! resource objects beyond their identity, `attributes`, `paginationInfo`. The kubescape v1 JSON
//! layout (a list of framework reports with `controlReports`) is refused as unsupported.
//!
//! Layout: `schema` (the serde structs), `reader` (frameworks, controls and resources into the
//! report); telling the report apart and its target are here.

mod reader;
mod schema;

use std::collections::HashMap;

use serde_json::Value;

use crate::ingest::model::{
    ParseError, ParsedReport, ReportBuilder, ReportKind, nonempty, parse_timestamp,
};
use reader::Reader;
use schema::{Report, ResultEntry, TargetMetadata};

const SCANNER: &str = "kubescape";

/// Rule paths kept per finding.
const MAX_PATHS: usize = 20;

/// Parses a Kubescape JSON report.
pub fn parse(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    if bytes.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'[') {
        let list: Vec<Value> =
            serde_json::from_slice(bytes).map_err(|e| ParseError::from_json("Kubescape", &e))?;
        if list.iter().any(|v| v.get("controlReports").is_some()) {
            return Err(ParseError::new(
                "unsupported-version",
                "this is a kubescape v1 JSON report (a list of framework reports); it is not \
                 supported: produce it with kubescape 2.0 or later (`kubescape scan --format \
                 json`, format version v2)",
            ));
        }
        return Err(wrong_format());
    }
    let report: Report<'_> =
        serde_json::from_slice(bytes).map_err(|e| ParseError::from_json("Kubescape JSON", &e))?;
    if report.summary_details.is_none() && report.results.is_none() {
        return Err(wrong_format());
    }
    let mut b = ReportBuilder::new(SCANNER, ReportKind::Findings);
    b.generated_at(
        report
            .generation_time
            .as_deref()
            .and_then(parse_timestamp)
            .filter(|t| t.timestamp() > 0),
    );
    let metadata = report.metadata.unwrap_or_default();
    b.scanner_version(metadata.scan_metadata.and_then(|s| s.kubescape_version));
    let cluster = nonempty(report.cluster_name.as_deref()).map(str::to_owned);
    let target = cluster
        .clone()
        .or_else(|| scanned_path(metadata.target_metadata.unwrap_or_default()))
        .unwrap_or_else(|| "unnamed".to_owned());
    b.cluster_name(cluster);
    b.artifact(Some(target.clone()));
    let scope = b.scope(format!("kubescape:{target}"));
    let mut reader = Reader {
        b: &mut b,
        scope,
        target: &target,
        scores: HashMap::new(),
    };
    if let Some(summary) = report.summary_details {
        reader.summary(summary);
    }
    let resources = reader.resources(report.resources.unwrap_or_default());
    for (i, raw) in report.results.unwrap_or_default().into_iter().enumerate() {
        let at = format!("/results/{i}");
        match serde_json::from_str::<ResultEntry<'_>>(raw.get()) {
            Ok(entry) => reader.result(&at, entry, &resources),
            Err(e) => reader.b.warn(at, format!("resource result skipped: {e}")),
        }
    }
    Ok(b.finish())
}

fn wrong_format() -> ParseError {
    ParseError::new(
        "wrong-format",
        "this is not a Kubescape JSON report: it has no 'summaryDetails' or 'results' (produce \
         it with `kubescape scan --format json`)",
    )
}

/// The file or repository a non-cluster scan looked at.
fn scanned_path(target: TargetMetadata) -> Option<String> {
    let file = target.file_context_metadata.and_then(|f| f.file_path);
    let repo = target
        .git_repo_context_metadata
        .map(|g| (g.local_root_path, g.repo));
    let (root, repo) = repo.unwrap_or_default();
    [file, root, repo]
        .into_iter()
        .flatten()
        .map(|p| p.trim().to_owned())
        .find(|p| !p.is_empty())
}

#[cfg(test)]
mod tests;
