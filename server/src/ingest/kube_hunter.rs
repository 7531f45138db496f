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
mod tests {
    use super::*;
    use app::model::Severity;

    #[test]
    fn vulnerabilities_are_cluster_misconfigurations() {
        let parsed = parse(
            br#"{"nodes": [{"type": "Node/Master", "location": "10.0.0.1"}], "services": [],
                 "vulnerabilities": [
                   {"location": "10.0.0.1:10250", "vid": "KHV036", "category": "Remote Code Execution",
                    "severity": "high", "vulnerability": "Anonymous Authentication",
                    "description": "The kubelet is misconfigured,\n    potentially allowing anonymous access",
                    "evidence": "", "avd_reference": "https://avd.aquasec.com/kube-hunter/khv036/",
                    "hunter": "Kubelet Secure Ports Hunter"},
                   {"location": "Local to Pod (kube-hunter-abcde)", "vid": "None", "severity": "medium",
                    "vulnerability": "CAP_NET_RAW Enabled", "evidence": null},
                   {"location": "10.0.0.1:443", "vid": "KHV002", "severity": "urgent", "evidence": {"v": 1}},
                   {"location": "10.0.0.1:443", "vid": null},
                   ["junk"]]}"#,
        )
        .unwrap();
        assert_eq!(parsed.scanner, "kube-hunter");
        assert_eq!(parsed.scopes, vec!["kube-hunter"]);
        assert_eq!(parsed.record_count, 5);
        assert_eq!(parsed.findings.len(), 3);
        let first = &parsed.findings[0];
        assert_eq!(first.kind, FindingKind::Misconfiguration);
        assert!(first.in_cluster && first.workload.is_none() && first.image.is_none());
        assert_eq!(first.rule_id.as_deref(), Some("KHV036"));
        assert_eq!(first.severity, Severity::High);
        assert_eq!(first.title, "Anonymous Authentication");
        assert_eq!(first.resource.as_deref(), Some("10.0.0.1:10250"));
        assert_eq!(
            first.details.value()["description"],
            "The kubelet is misconfigured,\n    potentially allowing anonymous access"
        );
        assert!(first.details.value().get("evidence").is_none());
        // no vid: the name is the rule; kube-hunter's own pod name is not part of the identity
        let second = &parsed.findings[1];
        assert_eq!(second.rule_id.as_deref(), Some("CAP_NET_RAW Enabled"));
        assert_eq!(
            second.resource.as_deref(),
            Some("Local to Pod (kube-hunter-abcde)")
        );
        assert_eq!(
            second.fingerprint,
            Fingerprint::misconfiguration("CAP_NET_RAW Enabled", "Local to Pod", "cluster")
        );
        let third = &parsed.findings[2];
        assert_eq!(third.severity, Severity::Unknown);
        assert_eq!(third.title, "KHV002");
        assert_eq!(third.details.value()["evidence"], r#"{"v":1}"#);
        let pointers: Vec<&str> = parsed.warnings.iter().map(|w| w.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            vec![
                "/vulnerabilities/2",
                "/vulnerabilities/3",
                "/vulnerabilities/4"
            ]
        );
    }

    #[test]
    fn other_documents_are_refused() {
        let kind = |body: &[u8]| parse(body).unwrap_err().kind;
        assert_eq!(kind(b"{}"), "wrong-format");
        assert_eq!(
            kind(br#"{"bomFormat": "CycloneDX", "vulnerabilities": []}"#),
            "wrong-format"
        );
        assert_eq!(kind(b"[]"), "wrong-format");
        assert_eq!(kind(b""), "invalid-json");
        let empty = parse(br#"{"nodes": [], "services": [], "vulnerabilities": []}"#).unwrap();
        assert!(empty.findings.is_empty());
        assert_eq!(empty.scopes, vec!["kube-hunter"]);
    }

    fn fixture(name: &str) -> Vec<u8> {
        let base = std::env::var("BULWARK_SERVER")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")));
        std::fs::read(base.join("tests/fixtures/kube_hunter").join(name)).expect("fixture")
    }

    /// (file, records = findings, [critical, high, medium, low, unknown], distinct
    /// fingerprints), counted with a Python script over `vulnerabilities` (distinct by vid, or
    /// name when vid is "None", and location without the pod name).
    type Expected = (&'static str, usize, [usize; 5], usize);
    const SAMPLES: &[Expected] = &[
        ("defectdojo__dupe.json", 2, [0, 2, 0, 0, 0], 1),
        (
            "defectdojo__kubehunter_many_vul.json",
            8,
            [0, 2, 3, 3, 0],
            8,
        ),
        ("defectdojo__kubehunter_one_vul.json", 1, [0, 1, 0, 0, 0], 1),
        (
            "defectdojo__kubehunter_zero_vul.json",
            0,
            [0, 0, 0, 0, 0],
            0,
        ),
    ];

    #[test]
    fn every_vendored_sample_parses_to_the_expected_counts() {
        for (file, findings, severities, distinct) in SAMPLES {
            let parsed = parse(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(parsed.record_count, *findings, "{file} records");
            assert_eq!(parsed.findings.len(), *findings, "{file} findings");
            let severity = |s: Severity| parsed.findings.iter().filter(|f| f.severity == s).count();
            assert_eq!(
                &Severity::WORST_FIRST.map(severity),
                severities,
                "{file} severities"
            );
            let mut fingerprints: Vec<Fingerprint> =
                parsed.findings.iter().map(|f| f.fingerprint).collect();
            fingerprints.sort();
            fingerprints.dedup();
            assert_eq!(
                fingerprints.len(),
                *distinct,
                "{file} distinct fingerprints"
            );
            assert!(parsed.findings.iter().all(|f| f.in_cluster));
            assert_eq!(parsed.scopes, vec!["kube-hunter"], "{file} scopes");
            assert!(parsed.warnings.is_empty(), "{file}: {:?}", parsed.warnings);
        }
    }
}
