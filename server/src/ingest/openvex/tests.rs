use super::*;
use crate::ingest::model::testkit;

fn document(statements: &str) -> String {
    format!(
        r#"{{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex-1",
               "author": "Acme", "timestamp": "2024-05-01T10:00:00Z", "version": 1,
               "statements": [{statements}]}}"#
    )
}

#[test]
fn products_become_image_and_component_keys() {
    let hex = "ab".repeat(32);
    let parsed = parse(
            document(&format!(
                r#"{{"vulnerability": {{"name": "CVE-2024-1", "aliases": ["GHSA-aaaa", "CVE-2024-1"]}},
                    "products": [{{"@id": "pkg:oci/app@sha256%3A{hex}?repository_url=ghcr.io/acme/app",
                                  "subcomponents": [{{"@id": "pkg:npm/lodash@4.17.20"}}]}},
                                 "pkg:deb/debian/openssl@3.0.11-1?arch=amd64",
                                 {{"@id": "https://example.com/p", "identifiers": {{"purl": "pkg:pypi/requests@2.31.0"}}}},
                                 "ghcr.io/acme/other@sha256:{hex}"],
                    "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path",
                    "impact_statement": "not reachable", "timestamp": "2024-06-01T00:00:00Z"}}"#
            ))
            .as_bytes(),
        )
        .unwrap();
    assert_eq!(parsed.kind, ReportKind::Vex);
    assert_eq!(parsed.record_count, 1);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert!(parsed.findings.is_empty() && parsed.scopes.is_empty());
    let digest = format!("sha256:{hex}");
    let got: Vec<(&str, Option<&str>, Option<&str>)> = parsed
        .vex
        .iter()
        .map(|v| {
            (
                v.vulnerability_id.as_str(),
                v.component_key.as_deref(),
                v.image_key.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "CVE-2024-1",
                Some("npm/lodash@4.17.20"),
                Some(digest.as_str())
            ),
            (
                "GHSA-aaaa",
                Some("npm/lodash@4.17.20"),
                Some(digest.as_str())
            ),
            ("CVE-2024-1", Some("deb/openssl@3.0.11-1"), None),
            ("GHSA-aaaa", Some("deb/openssl@3.0.11-1"), None),
            ("CVE-2024-1", Some("pypi/requests@2.31.0"), None),
            ("GHSA-aaaa", Some("pypi/requests@2.31.0"), None),
            ("CVE-2024-1", None, Some(digest.as_str())),
            ("GHSA-aaaa", None, Some(digest.as_str())),
        ]
    );
    let first = &parsed.vex[0];
    assert_eq!(first.status, VexStatus::NotAffected);
    assert_eq!(
        first.justification.as_deref(),
        Some("vulnerable_code_not_in_execute_path")
    );
    assert_eq!(first.statement.as_deref(), Some("not reachable"));
    assert_eq!(first.issued_at, parse_timestamp("2024-06-01T00:00:00Z"));
}

#[test]
fn statuses_texts_and_timestamps() {
    let parsed = parse(
            document(
                r#"{"vulnerability": "CVE-1", "products": ["pkg:npm/a@1.0.0"], "status": "affected",
                    "action_statement": "upgrade to 1.0.1"},
                   {"vulnerability": {"@id": "https://nvd.nist.gov/vuln/detail/CVE-2"}, "products": ["pkg:npm/a@1.0.0"],
                    "status": "fixed"},
                   {"vulnerability": {"name": "CVE-3"}, "products": ["pkg:npm/a@1.0.0"],
                    "status": "under_investigation", "status_notes": "looking"}"#,
            )
            .as_bytes(),
        )
        .unwrap();
    let statuses: Vec<VexStatus> = parsed.vex.iter().map(|v| v.status).collect();
    assert_eq!(
        statuses,
        vec![
            VexStatus::Affected,
            VexStatus::Fixed,
            VexStatus::UnderInvestigation
        ]
    );
    assert_eq!(parsed.vex[0].statement.as_deref(), Some("upgrade to 1.0.1"));
    assert_eq!(
        parsed.vex[1].vulnerability_id,
        "https://nvd.nist.gov/vuln/detail/CVE-2"
    );
    assert_eq!(parsed.vex[2].statement.as_deref(), Some("looking"));
    // no statement timestamp: the document's
    assert_eq!(
        parsed.vex[0].issued_at,
        parse_timestamp("2024-05-01T10:00:00Z")
    );
    assert_eq!(parsed.generated_at, parse_timestamp("2024-05-01T10:00:00Z"));
}

#[test]
fn unusable_statements_and_products_are_warnings() {
    let parsed = parse(
            document(
                r#"{"vulnerability": "CVE-1", "products": ["pkg:npm/a@1.0.0"], "status": "wontfix"},
                   {"products": ["pkg:npm/a@1.0.0"], "status": "fixed"},
                   {"vulnerability": "CVE-2", "products": ["pkg:npm/a", "pkg:oci/app", 7], "status": "fixed"},
                   {"vulnerability": "CVE-3", "products": ["pkg:npm/a", "pkg:npm/b@2.0.0"], "status": "fixed"},
                   {"vulnerability": "CVE-4", "status": "fixed"},
                   "nonsense""#,
            )
            .as_bytes(),
        )
        .unwrap();
    assert_eq!(parsed.record_count, 6);
    assert_eq!(parsed.vex.len(), 1);
    assert_eq!(parsed.vex[0].component_key.as_deref(), Some("npm/b@2.0.0"));
    let pointers: Vec<&str> = parsed.warnings.iter().map(|w| w.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        vec![
            "/statements/0",
            "/statements/1",
            "/statements/2",
            "/statements/3/products/0",
            "/statements/4",
            "/statements/5"
        ]
    );
}

#[test]
fn other_documents_are_refused_and_empty_ones_accepted() {
    let kind = |body: &[u8]| parse(body).unwrap_err().kind;
    assert_eq!(
        kind(br#"{"bomFormat": "CycloneDX", "specVersion": "1.4"}"#),
        "wrong-format"
    );
    assert_eq!(kind(b"[]"), "wrong-format");
    assert_eq!(kind(b"{\"statements\": ["), "invalid-json");
    let empty =
        parse(br#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": null}"#).unwrap();
    assert_eq!(empty.kind, ReportKind::Vex);
    assert!(empty.vex.is_empty() && empty.warnings.is_empty());
}

/// Every vendored sample's parse, summarised and reviewed as a snapshot
/// (`snapshots/*.snap` beside this file).
#[test]
fn every_vendored_sample_matches_its_snapshot() {
    for (file, body) in testkit::fixtures("openvex") {
        insta::assert_json_snapshot!(file.clone(), testkit::outcome(&parse(&body)));
    }
}
