//! kube-hunter JSON (`kube-hunter --report json`): `{nodes, services, vulnerabilities}`.
//!
//! Pure: bytes in, [`ParsedReport`] out. Each vulnerability is decoded on its own; a malformed
//! one becomes a warning naming its JSON pointer (`/vulnerabilities/3`).
//!
//! Mapping: every vulnerability is a record and a misconfiguration finding about the cluster
//! (`in_cluster`, no workload): rule id `vid` (kube-hunter writes `"None"` for hunters without
//! one; the vulnerability's name is used instead), resource = `location`, severity from the
//! low/medium/high word, fingerprint `misconfiguration(rule, location, "cluster")`. For the
//! fingerprint only, the pod name in `Local to Pod (<pod>)` is dropped: it is kube-hunter's own
//! pod, which changes on every run. One run covers the cluster: the lifecycle scope is
//! `kube-hunter`, so a later run fixes what it no longer finds.
//!
//! Duplicates: kube-hunter can report the same vulnerability twice (same id and location);
//! both are kept as records and findings here, and collapse into one finding by fingerprint in
//! the pipeline.
//!
//! Skipped: `nodes` and `services` (discovery results, not findings).

use crate::ingest::model::insert_some;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::domain::fingerprint::Fingerprint;
use crate::ingest::model::{
    FindingKind, FindingRecord, ParseError, ParsedReport, ReportBuilder, ReportKind,
};

#[derive(Deserialize)]
struct Report<'a> {
    nodes: Option<Vec<Value>>,
    services: Option<Vec<Value>>,
    #[serde(borrow)]
    vulnerabilities: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct Vulnerability {
    location: Option<String>,
    vid: Option<String>,
    category: Option<String>,
    severity: Option<String>,
    vulnerability: Option<String>,
    description: Option<String>,
    evidence: Option<Value>,
    hunter: Option<String>,
    avd_reference: Option<String>,
}

/// Evidence is kept up to this many characters.
const MAX_EVIDENCE: usize = 2000;

/// Parses a kube-hunter JSON report.
pub fn parse(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    let report: Report<'_> =
        serde_json::from_slice(bytes).map_err(|e| ParseError::from_json("kube-hunter JSON", &e))?;
    let (Some(vulnerabilities), true) = (
        report.vulnerabilities,
        report.nodes.is_some() || report.services.is_some(),
    ) else {
        return Err(ParseError::new(
            "wrong-format",
            "this is not a kube-hunter JSON report: it needs 'nodes' or 'services' and a 'vulnerabilities' list (produce \
             it with `kube-hunter --report json`)",
        ));
    };
    let mut b = ReportBuilder::new("kube-hunter", ReportKind::Findings);
    let nodes = report.nodes.unwrap_or_default();
    let services = report.services.unwrap_or_default();
    b.artifact(Some(format!(
        "kubernetes cluster ({} nodes, {} services)",
        nodes.len(),
        services.len()
    )));
    let scope = b.scope("kube-hunter");
    for (i, raw) in vulnerabilities.into_iter().enumerate() {
        let at = format!("/vulnerabilities/{i}");
        b.record();
        match serde_json::from_str::<Vulnerability>(raw.get()) {
            Ok(v) => vulnerability(&mut b, &at, v, scope),
            Err(e) => b.warn(at, format!("vulnerability skipped: {e}")),
        }
    }
    Ok(b.finish())
}

fn vulnerability(b: &mut ReportBuilder, at: &str, v: Vulnerability, scope: usize) {
    let name = v
        .vulnerability
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    let vid = v
        .vid
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty() && !id.eq_ignore_ascii_case("none"));
    let Some(rule_id) = vid.clone().or_else(|| name.clone()) else {
        return b.warn(at, "vulnerability skipped: no vid and no name");
    };
    let location = v.location.map(|l| l.trim().to_owned()).unwrap_or_default();
    let severity = b.severity(at, v.severity.as_deref());
    let fingerprint =
        Fingerprint::misconfiguration(&rule_id, stable_location(&location), "cluster");
    let evidence = match v.evidence {
        Some(Value::String(text)) => Some(text),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    }
    .filter(|e| !e.trim().is_empty())
    .map(|e| match e.char_indices().nth(MAX_EVIDENCE) {
        Some((cut, _)) => format!("{}…", e.get(..cut).unwrap_or_default()),
        None => e,
    });
    let mut details = json!({ "scanner": "kube-hunter", "location": location });
    insert_some(&mut details, "vid", vid);
    insert_some(&mut details, "category", v.category);
    insert_some(
        &mut details,
        "description",
        v.description
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty()),
    );
    insert_some(&mut details, "evidence", evidence);
    insert_some(&mut details, "hunter", v.hunter);
    insert_some(&mut details, "avd_reference", v.avd_reference);
    b.finding(FindingRecord {
        fingerprint,
        kind: FindingKind::Misconfiguration,
        severity,
        title: name.unwrap_or_else(|| rule_id.clone()),
        vulnerability_id: None,
        component: None,
        rule_id: Some(rule_id),
        image: None,
        workload: None,
        in_cluster: true,
        resource: (!location.is_empty()).then_some(location),
        fixed_version: None,
        scope,
        details: details.into(),
    });
}

/// The location without the name of kube-hunter's own pod (`Local to Pod (kube-hunter-x)`).
fn stable_location(location: &str) -> &str {
    match location.split_once(" (") {
        Some((head, _)) if head.eq_ignore_ascii_case("local to pod") => head,
        _ => location,
    }
}

#[cfg(test)]
mod tests;
