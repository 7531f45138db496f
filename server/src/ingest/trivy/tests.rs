use app::model::Severity;
use serde_json::json;

use super::decoder::DECODE_WINDOW;
use super::*;
use crate::domain::component::Component;
use crate::ingest::model::FindingKind;
use crate::ingest::model::testkit;

fn image_report(vulns: &str) -> String {
    format!(
        r#"{{"SchemaVersion": 2, "ArtifactName": "alpine:3.19", "ArtifactType": "container_image",
               "Metadata": {{"OS": {{"Family": "alpine", "Name": "3.19.1"}},
                            "RepoDigests": ["alpine@sha256:{d}"]}},
               "Results": [{{"Target": "alpine:3.19 (alpine 3.19.1)", "Class": "os-pkgs", "Type": "alpine",
                            "Vulnerabilities": [{vulns}]}}]}}"#,
        d = "ab".repeat(32)
    )
}

const VULN: &str = r#"{"VulnerabilityID": "CVE-2024-0001", "PkgName": "openssl", "InstalledVersion": "3.1.4-r0",
        "FixedVersion": "3.1.4-r1", "Severity": "HIGH", "Title": "openssl: bad thing",
        "CVSS": {"nvd": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "V3Score": 7.5}}}"#;

#[test]
fn image_report_yields_image_component_vulnerability_and_finding() {
    let parsed = parse(image_report(VULN).as_bytes()).unwrap();
    assert_eq!(parsed.images.len(), 1);
    let image = &parsed.images[0];
    assert_eq!(image.reference.repository, "library/alpine");
    assert_eq!(image.key, format!("sha256:{}", "ab".repeat(32)));
    assert_eq!(image.os_family.as_deref(), Some("alpine"));
    assert_eq!(parsed.scopes, vec![format!("image:{}", image.key)]);
    assert_eq!(parsed.components[0].key(), "apk/openssl@3.1.4-r0");
    assert_eq!(
        parsed.vulnerabilities[0].cvss_vectors,
        vec![(
            "nvd".to_owned(),
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N".to_owned()
        )]
    );
    let finding = &parsed.findings[0];
    assert_eq!(finding.severity, Severity::High);
    assert_eq!(finding.fixed_version.as_deref(), Some("3.1.4-r1"));
    assert_eq!(finding.image, Some(0));
    assert!(!finding.in_cluster);
    assert!(parsed.warnings.is_empty());
}

#[test]
fn a_malformed_record_is_a_warning_not_a_failure() {
    let body = image_report(&format!(
        r#"{VULN}, {{"VulnerabilityID": 42}}, {{"VulnerabilityID": "CVE-1"}}"#
    ));
    let parsed = parse(body.as_bytes()).unwrap();
    assert_eq!(parsed.findings.len(), 1);
    assert_eq!(parsed.record_count, 3);
    assert_eq!(parsed.warnings.len(), 2);
    assert_eq!(parsed.warnings[0].pointer, "/Results/0/Vulnerabilities/1");
    assert!(parsed.warnings[1].message.contains("no PkgName"));
}

#[test]
fn a_long_list_is_read_in_report_order_with_each_catalogue_from_its_first_record() {
    // Enough records for every decoder to take several windows.
    let total = DECODE_WINDOW * 5 + 7;
    let bad = DECODE_WINDOW * 3 + 11;
    let records: Vec<String> = (0..total)
        .map(|i| {
            if i == bad {
                return r#"{"VulnerabilityID": ["not", "a", "string"]}"#.to_owned();
            }
            // 97 ids, each first listed with its own description and later with another.
            let id = i % 97;
            let description = if i < 97 {
                format!("first {id}")
            } else {
                "repeat".to_owned()
            };
            let severity = if i == bad + 1 { "SEVERE" } else { "LOW" };
            format!(
                r#"{{"VulnerabilityID": "CVE-2024-{id:04}", "PkgName": "pkg{p}",
                        "InstalledVersion": "1.{p}", "FixedVersion": "fix-{i}",
                        "PkgIdentifier": {{"PURL": "pkg:apk/alpine/pkg{p}@1.{p}"}},
                        "Severity": "{severity}", "Description": "{description}"}}"#,
                p = i % 1_009
            )
        })
        .collect();
    let parsed = parse(image_report(&records.join(",")).as_bytes()).unwrap();

    assert_eq!(parsed.record_count, total);
    assert_eq!(parsed.findings.len(), total - 1);
    let fixes: Vec<usize> = parsed
        .findings
        .iter()
        .map(|f| f.fixed_version.as_deref().unwrap()[4..].parse().unwrap())
        .collect();
    let expected: Vec<usize> = (0..total).filter(|&i| i != bad).collect();
    assert_eq!(fixes, expected, "findings keep report order");
    assert_eq!(parsed.vulnerabilities.len(), 97);
    for v in &parsed.vulnerabilities {
        let id: usize = v.id[9..].parse().unwrap();
        assert_eq!(
            v.description.as_deref(),
            Some(format!("first {id}").as_str())
        );
    }
    assert_eq!(parsed.components.len(), 1_009);
    let pointers: Vec<&str> = parsed.warnings.iter().map(|w| w.pointer.as_str()).collect();
    let bad_at = format!("/Results/0/Vulnerabilities/{bad}");
    let severe_at = format!("/Results/0/Vulnerabilities/{}", bad + 1);
    assert_eq!(pointers, vec![bad_at.as_str(), severe_at.as_str()]);
    assert_eq!(parsed.findings[bad].severity, Severity::Unknown);
    assert_eq!(
        parsed.findings[0].details.value(),
        json!({"scanner": "trivy", "target": "alpine:3.19 (alpine 3.19.1)"})
    );
}

#[test]
fn a_purl_that_does_not_read_leaves_each_record_its_own_package() {
    let body = image_report(
        r#"{"VulnerabilityID": "CVE-1", "PkgName": "zlib", "InstalledVersion": "1",
                "PkgIdentifier": {"PURL": "not a purl"}},
               {"VulnerabilityID": "CVE-2", "PkgName": "curl", "InstalledVersion": "2",
                "PkgIdentifier": {"PURL": "not a purl"}}"#,
    );
    let parsed = parse(body.as_bytes()).unwrap();
    let keys: Vec<String> = parsed.components.iter().map(Component::key).collect();
    assert_eq!(keys, ["apk/zlib@1", "apk/curl@2"]);
}

#[test]
fn evidence_text_is_the_compact_json_of_its_fields() {
    let body = image_report(
        r#"{"VulnerabilityID": "CVE-2024-0001", "PkgName": "openssl", "PkgPath": "usr/lib/x \"q\"",
                "Status": "fixed", "PrimaryURL": "https://avd.aquasec.com/nvd/cve-2024-0001",
                "Layer": {"DiffID": "sha256:dd"}}"#,
    );
    let parsed = parse(body.as_bytes()).unwrap();
    let expected = json!({
        "scanner": "trivy", "target": "alpine:3.19 (alpine 3.19.1)",
        "pkg_path": "usr/lib/x \"q\"", "status": "fixed",
        "primary_url": "https://avd.aquasec.com/nvd/cve-2024-0001", "layer": "sha256:dd",
    });
    assert_eq!(parsed.findings[0].details.as_str(), expected.to_string());
}

#[test]
fn a_malformed_result_is_a_warning_and_the_others_are_read() {
    let good = format!(
        r#"{{"Target": "app (debian 12)", "Type": "debian", "Vulnerabilities": [{VULN}]}}"#
    );
    let body = format!(
        r#"{{"SchemaVersion": 2, "ArtifactName": "registry.example.com/app:1",
                 "ArtifactType": "container_image",
                 "Results": [{{"Target": 7, "Vulnerabilities": "none"}}, {good}]}}"#
    );
    let parsed = parse(body.as_bytes()).unwrap();
    assert_eq!(parsed.findings.len(), 1);
    assert_eq!(parsed.warnings.len(), 1);
    assert_eq!(parsed.warnings[0].pointer, "/Results/0");
    assert!(parsed.warnings[0].message.starts_with("result skipped"));
}

#[test]
fn not_a_trivy_report_is_refused_with_a_reason() {
    assert_eq!(parse(b"{\"foo\": 1}").unwrap_err().kind, "wrong-format");
    assert_eq!(parse(b"[1, 2]").unwrap_err().kind, "wrong-format");
    assert!(parse(b"[]").unwrap().findings.is_empty());
    assert_eq!(
        parse(b"{\"SchemaVersion\": 2,").unwrap_err().kind,
        "invalid-json"
    );
    assert_eq!(
        parse(b"{\"SchemaVersion\": 1}").unwrap_err().kind,
        "unsupported-version"
    );
    assert_eq!(parse(b"42").unwrap_err().kind, "wrong-format");
}

#[test]
fn nulls_and_missing_fields_are_fine() {
    let parsed = parse(
        br#"{"SchemaVersion": 2, "ArtifactName": "x:1", "ArtifactType": "container_image",
                 "Metadata": null, "Results": [{"Target": null, "Vulnerabilities": null}]}"#,
    )
    .unwrap();
    assert!(parsed.findings.is_empty());
    assert!(parsed.warnings.is_empty());
    assert!(parse(b"null").unwrap().scopes.is_empty());
}

#[test]
fn only_failed_checks_are_findings() {
    let parsed = parse(
            br#"{"SchemaVersion": 2, "ArtifactName": "repo", "ArtifactType": "filesystem",
                 "Results": [{"Target": "Dockerfile", "Class": "config", "Misconfigurations": [
                   {"ID": "DS002", "AVDID": "AVD-DS-0002", "Title": "root user", "Severity": "HIGH", "Status": "FAIL"},
                   {"ID": "DS001", "AVDID": "AVD-DS-0001", "Title": "latest tag", "Severity": "MEDIUM", "Status": "PASS"}]}]}"#,
        )
        .unwrap();
    assert_eq!(parsed.record_count, 2);
    assert_eq!(parsed.findings.len(), 1);
    assert_eq!(parsed.findings[0].rule_id.as_deref(), Some("AVD-DS-0002"));
    assert_eq!(parsed.scopes, vec!["filesystem:repo"]);
}

#[test]
fn k8s_reports_link_workloads_to_images_and_keep_checks_in_the_cluster() {
    let parsed = parse(
            br#"{"ClusterName": "minikube", "Resources": [
                 {"Namespace": "web", "Kind": "Deployment", "Name": "shop", "Results": [
                   {"Target": "docker.io/library/nginx:1.25 (debian 12.4)", "Class": "os-pkgs", "Type": "debian",
                    "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PkgName": "libc6", "InstalledVersion": "2.36"}]},
                   {"Target": "app/package-lock.json", "Class": "lang-pkgs", "Type": "npm",
                    "Vulnerabilities": [{"VulnerabilityID": "CVE-2", "PkgName": "qs", "InstalledVersion": "6.9.6"}]}]},
                 {"Namespace": "web", "Kind": "Deployment", "Name": "shop", "Results": [
                   {"Target": "Deployment/shop", "Class": "config", "Type": "kubernetes",
                    "Misconfigurations": [{"ID": "KSV001", "AVDID": "AVD-KSV-0001", "Severity": "MEDIUM", "Status": "FAIL"}]}]}]}"#,
        )
        .unwrap();
    assert_eq!(parsed.cluster_name.as_deref(), Some("minikube"));
    assert_eq!(parsed.scopes, vec!["k8s:minikube"]);
    assert_eq!(parsed.workloads.len(), 1);
    assert_eq!(parsed.images.len(), 1);
    assert_eq!(parsed.images[0].os_family.as_deref(), Some("debian"));
    assert_eq!(parsed.links.len(), 1);
    let kinds: Vec<(FindingKind, Option<usize>, bool)> = parsed
        .findings
        .iter()
        .map(|f| (f.kind, f.image, f.in_cluster))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (FindingKind::Vulnerability, Some(0), false),
            (FindingKind::Vulnerability, Some(0), false),
            (FindingKind::Misconfiguration, None, true),
        ]
    );
    assert_eq!(parsed.findings[2].workload, Some(0));
}

#[test]
fn legacy_list_names_the_image_from_its_os_target() {
    let parsed = parse(
            br#"[{"Target": "trivy-ci-test (alpine 3.7.1)", "Type": "alpine",
                  "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PkgName": "musl", "InstalledVersion": "1.1"}]},
                 {"Target": "node-app/package-lock.json", "Type": "npm",
                  "Vulnerabilities": [{"PkgName": "elliptic"}]}]"#,
        )
        .unwrap();
    assert_eq!(
        parsed.images[0].reference.repository,
        "library/trivy-ci-test"
    );
    assert_eq!(parsed.findings.len(), 1);
    assert_eq!(parsed.warnings.len(), 1);
}

fn fixture(name: &str) -> Vec<u8> {
    crate::ingest::model::testkit::fixture("trivy", name)
}

#[test]
fn k8s_sample_names_its_cluster_resources_and_images() {
    let parsed = parse(&fixture("defectdojo__kubernetes.json")).unwrap();
    assert!(
        parsed
            .cluster_name
            .as_deref()
            .unwrap()
            .contains("monitoring-test-cluster")
    );
    assert_eq!(parsed.images.len(), 2);
    assert_eq!(parsed.links.len(), 2);
    assert!(parsed.workloads.iter().any(|w| w.kind == "Service"));
    assert!(
        parsed
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::Misconfiguration)
            .all(|f| f.in_cluster && f.workload.is_some())
    );
}

/// Every vendored sample's parse, summarised and reviewed as a snapshot
/// (`snapshots/*.snap` beside this file).
#[test]
fn every_vendored_sample_matches_its_snapshot() {
    for (file, body) in testkit::fixtures("trivy") {
        insta::assert_json_snapshot!(file.clone(), testkit::outcome(&parse(&body)));
    }
}
