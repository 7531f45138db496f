use super::*;
use crate::ingest::model::testkit;
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

/// Every vendored sample's parse, summarised and reviewed as a snapshot
/// (`snapshots/*.snap` beside this file).
#[test]
fn every_vendored_sample_matches_its_snapshot() {
    for (file, body) in testkit::fixtures("kube_hunter") {
        insta::assert_json_snapshot!(file.clone(), testkit::outcome(&parse(&body)));
    }
}
