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
