use super::*;
use crate::domain::fingerprint::Fingerprint;
use crate::ingest::model::testkit;
use crate::ingest::model::{ControlStatus, FindingKind, WorkloadAsset};
use app::model::Severity;

const DIGEST: &str = "sha256:f78909c2b360d866b3220655c0b079838258b8891a12ac25fc670f0cbb54229f";

fn vuln_report(vulns: &str) -> String {
    format!(
        r#"{{"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "VulnerabilityReport",
               "metadata": {{"name": "pod-ubuntu-ubuntu", "namespace": "lbc", "labels": {{
                  "trivy-operator.container.name": "ubuntu",
                  "trivy-operator.resource.kind": "Pod",
                  "trivy-operator.resource.name": "ubuntu",
                  "trivy-operator.resource.namespace": "lbc"}}}},
               "report": {{"updateTimestamp": "2024-01-23T13:43:55Z",
                  "scanner": {{"name": "Trivy", "version": "0.48.3"}},
                  "registry": {{"server": "index.docker.io"}},
                  "artifact": {{"repository": "library/ubuntu", "tag": "20.04", "digest": "{DIGEST}"}},
                  "os": {{"family": "ubuntu", "name": "20.04"}},
                  "vulnerabilities": [{vulns}]}}}}"#
    )
}

const VULN: &str = r#"{"vulnerabilityID": "CVE-2024-0553", "resource": "libgnutls30",
        "installedVersion": "3.6.13-2ubuntu1.9", "fixedVersion": "3.6.13-2ubuntu1.10",
        "severity": "MEDIUM", "title": "gnutls: incomplete fix", "score": 5.9,
        "primaryLink": "https://avd.aquasec.com/nvd/cve-2024-0553", "links": [],
        "target": "ubuntu:20.04 (ubuntu 20.04)", "class": "os-pkgs", "packageType": "ubuntu",
        "cvss": {"nvd": {"V3Vector": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", "V3Score": 5.9}}}"#;

#[test]
fn vulnerabilities_are_about_the_image_and_the_workload_is_linked() {
    let parsed = parse(vuln_report(VULN).as_bytes()).unwrap();
    assert_eq!(parsed.scanner, "trivy-operator");
    assert_eq!(parsed.scanner_version.as_deref(), Some("0.48.3"));
    assert_eq!(parsed.kind, ReportKind::Findings);
    assert!(parsed.generated_at.is_some());
    let image = &parsed.images[0];
    assert_eq!(image.key, DIGEST);
    assert_eq!(image.reference.registry, "docker.io");
    assert_eq!(image.reference.repository, "library/ubuntu");
    assert_eq!(image.os_family.as_deref(), Some("ubuntu"));
    assert_eq!(
        parsed.workloads,
        vec![WorkloadAsset {
            namespace: "lbc".into(),
            kind: "Pod".into(),
            name: "ubuntu".into()
        }]
    );
    assert_eq!(parsed.links.len(), 1);
    assert_eq!(parsed.links[0].container.as_deref(), Some("ubuntu"));
    assert_eq!(
        parsed.scopes,
        vec!["VulnerabilityReport:lbc/Pod/ubuntu/ubuntu"]
    );
    assert_eq!(
        parsed.components[0].key(),
        "deb/libgnutls30@3.6.13-2ubuntu1.9"
    );
    assert_eq!(
        parsed.vulnerabilities[0].cvss_vectors,
        vec![(
            "nvd".to_owned(),
            "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N".to_owned()
        )]
    );
    let f = &parsed.findings[0];
    assert_eq!(f.kind, FindingKind::Vulnerability);
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.vulnerability_id.as_deref(), Some("CVE-2024-0553"));
    assert_eq!(f.fixed_version.as_deref(), Some("3.6.13-2ubuntu1.10"));
    assert_eq!((f.image, f.workload, f.in_cluster), (Some(0), None, false));
    assert!(f.details.value().get("score").is_none());
    assert!(parsed.warnings.is_empty());
}

#[test]
fn fingerprints_agree_with_a_trivy_image_scan_of_the_same_image() {
    let trivy = format!(
        r#"{{"SchemaVersion": 2, "ArtifactName": "ubuntu:20.04", "ArtifactType": "container_image",
               "Metadata": {{"OS": {{"Family": "ubuntu", "Name": "20.04"}},
                            "RepoDigests": ["ubuntu@{DIGEST}"]}},
               "Results": [
                 {{"Target": "ubuntu:20.04 (ubuntu 20.04)", "Class": "os-pkgs", "Type": "ubuntu",
                   "Vulnerabilities": [{{"VulnerabilityID": "CVE-2024-0553", "PkgName": "libgnutls30",
                                        "InstalledVersion": "3.6.13-2ubuntu1.9"}}]}},
                 {{"Target": "app/package-lock.json", "Class": "lang-pkgs", "Type": "npm",
                   "Vulnerabilities": [{{"VulnerabilityID": "CVE-2022-24999", "PkgName": "qs",
                      "InstalledVersion": "6.9.6", "PkgIdentifier": {{"PURL": "pkg:npm/qs@6.9.6"}}}}]}}]}}"#
    );
    let operator = vuln_report(&format!(
        r#"{VULN}, {{"vulnerabilityID": "CVE-2022-24999", "resource": "qs", "installedVersion": "6.9.6",
                "severity": "HIGH", "target": "app/package-lock.json", "class": "lang-pkgs",
                "packageType": "npm", "packagePURL": "pkg:npm/qs@6.9.6"}}"#
    ));
    let trivy = crate::ingest::trivy::parse(trivy.as_bytes()).unwrap();
    let operator = parse(operator.as_bytes()).unwrap();
    let prints = |r: &ParsedReport| r.findings.iter().map(|f| f.fingerprint).collect::<Vec<_>>();
    assert_eq!(prints(&operator), prints(&trivy));
    assert_eq!(operator.images[0].key, trivy.images[0].key);
}

#[test]
fn an_os_package_without_package_type_takes_the_os_family() {
    let parsed = parse(
        vuln_report(
            r#"{"vulnerabilityID": "CVE-1", "resource": "curl", "installedVersion": "7.8",
                    "target": "ubuntu:20.04 (ubuntu 20.04)", "class": "os-pkgs"}"#,
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(parsed.components[0].key(), "deb/curl@7.8");
}

#[test]
fn a_malformed_record_is_a_warning_not_a_failure() {
    let body = vuln_report(&format!(
        r#"{VULN}, {{"vulnerabilityID": 42}}, {{"vulnerabilityID": "CVE-1"}}"#
    ));
    let parsed = parse(body.as_bytes()).unwrap();
    assert_eq!(parsed.record_count, 3);
    assert_eq!(parsed.findings.len(), 1);
    assert_eq!(parsed.warnings.len(), 2);
    assert_eq!(parsed.warnings[0].pointer, "/report/vulnerabilities/1");
    assert!(parsed.warnings[1].message.contains("no resource"));
}

#[test]
fn a_clean_report_still_declares_its_scope() {
    let parsed = parse(vuln_report("").as_bytes()).unwrap();
    assert!(parsed.findings.is_empty());
    assert_eq!(parsed.scopes.len(), 1);
    assert_eq!(parsed.images.len(), 1);
}

const CONFIG_AUDIT: &str = r#"{"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "ConfigAuditReport",
        "metadata": {"name": "replicaset-web", "namespace": "shop", "labels": {
            "trivy-operator.resource.kind": "ReplicaSet", "trivy-operator.resource.name": "web",
            "trivy-operator.resource.namespace": "shop"}},
        "report": {"scanner": {"name": "Trivy", "version": "dev"}, "checks": [
            {"checkID": "KSV014", "title": "Root file system is not read-only", "severity": "LOW",
             "category": "Kubernetes Security Check", "success": false,
             "messages": ["Container 'web' should set readOnlyRootFilesystem"], "remediation": "Set it"},
            {"checkID": "KSV001", "title": "Privilege escalation", "severity": "MEDIUM", "success": true}]}}"#;

#[test]
fn failed_checks_are_workload_misconfigurations_and_passing_ones_are_only_counted() {
    let parsed = parse(CONFIG_AUDIT.as_bytes()).unwrap();
    assert_eq!(parsed.record_count, 2);
    assert_eq!(parsed.findings.len(), 1);
    let f = &parsed.findings[0];
    assert_eq!(f.kind, FindingKind::Misconfiguration);
    assert_eq!(f.rule_id.as_deref(), Some("KSV014"));
    assert_eq!(f.severity, Severity::Low);
    assert_eq!((f.workload, f.in_cluster, f.image), (Some(0), true, None));
    assert_eq!(f.resource.as_deref(), Some("shop/ReplicaSet/web"));
    assert_eq!(
        f.fingerprint,
        Fingerprint::misconfiguration("KSV014", "shop/ReplicaSet/web", "cluster")
    );
    assert_eq!(f.details.value()["remediation"], "Set it");
    assert_eq!(parsed.scopes, vec!["ConfigAuditReport:shop/ReplicaSet/web"]);
    assert!(parsed.images.is_empty());
}

#[test]
fn rbac_reports_give_rbac_findings_on_cluster_scoped_roles() {
    let parsed = parse(
            br#"{"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "ClusterRbacAssessmentReport",
                 "metadata": {"name": "clusterrole-admin", "labels": {
                    "trivy-operator.resource.kind": "ClusterRole", "trivy-operator.resource.name": "admin"}},
                 "report": {"checks": [{"checkID": "KSV041", "title": "Manage secrets",
                    "severity": "CRITICAL", "success": false}]}}"#,
        )
        .unwrap();
    let f = &parsed.findings[0];
    assert_eq!(f.kind, FindingKind::Rbac);
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(parsed.workloads[0].namespace, "");
    assert_eq!(parsed.workloads[0].kind, "ClusterRole");
    assert_eq!(
        parsed.scopes,
        vec!["ClusterRbacAssessmentReport:/ClusterRole/admin"]
    );
}

#[test]
fn infra_reports_are_misconfigurations() {
    let parsed = parse(
            br#"{"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "ClusterInfraAssessmentReport",
                 "metadata": {"name": "node-worker-1", "labels": {
                    "trivy-operator.resource.kind": "Node", "trivy-operator.resource.name": "worker-1"}},
                 "report": {"checks": [{"checkID": "KCV0079", "title": "kubelet anonymous auth",
                    "severity": "CRITICAL", "success": false}]}}"#,
        )
        .unwrap();
    assert_eq!(parsed.findings[0].kind, FindingKind::Misconfiguration);
    assert_eq!(
        parsed.findings[0].resource.as_deref(),
        Some("/Node/worker-1")
    );
}

#[test]
fn one_workload_report_never_shares_a_scope_with_another() {
    let other = CONFIG_AUDIT.replace("\"web\"", "\"api\"");
    let body =
        format!(r#"{{"apiVersion": "v1", "kind": "List", "items": [{CONFIG_AUDIT}, {other}]}}"#);
    let parsed = parse(body.as_bytes()).unwrap();
    assert_eq!(
        parsed.scopes,
        vec![
            "ConfigAuditReport:shop/ReplicaSet/web",
            "ConfigAuditReport:shop/ReplicaSet/api"
        ]
    );
    assert_eq!(parsed.findings[1].scope, 1);
    assert_eq!(parsed.artifact.as_deref(), Some("2 trivy-operator reports"));
}

#[test]
fn secrets_keep_only_the_redacted_match() {
    let parsed = parse(
            br#"{"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "ExposedSecretReport",
                 "metadata": {"name": "x", "namespace": "default", "labels": {
                    "trivy-operator.container.name": "app", "trivy-operator.resource.kind": "ReplicaSet",
                    "trivy-operator.resource.name": "app-1", "trivy-operator.resource.namespace": "default"}},
                 "report": {"registry": {"server": "ghcr.io"}, "artifact": {"repository": "acme/app", "tag": "1.0"},
                    "secrets": [
                      {"ruleID": "aws-secret-access-key", "severity": "CRITICAL", "title": "AWS Secret Access Key",
                       "target": "root/aws.txt", "match": "KEY=\"****************\""},
                      {"ruleID": "github-pat", "severity": "HIGH", "target": "app/.env",
                       "match": "GITHUB_TOKEN=ghp_notmaskedatall0123456789"},
                      {"severity": "HIGH"}]}}"#,
        )
        .unwrap();
    assert_eq!(parsed.record_count, 3);
    assert_eq!(parsed.findings.len(), 2);
    assert_eq!(parsed.warnings.len(), 1);
    let f = &parsed.findings[0];
    assert_eq!(f.kind, FindingKind::Secret);
    assert_eq!((f.image, f.in_cluster), (Some(0), false));
    assert_eq!(f.details.value()["match"], "KEY=\"****************\"");
    assert_eq!(parsed.findings[1].details.value()["match"], "(redacted)");
    assert!(!parsed.findings[1].details.to_string().contains("ghp_"));
    assert_eq!(parsed.images[0].key, "ghcr.io/acme/app:1.0");
    assert_eq!(
        parsed.scopes,
        vec!["ExposedSecretReport:default/ReplicaSet/app-1/app"]
    );
}

const COMPLIANCE: &str = r#"{"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "ClusterComplianceReport",
        "metadata": {"name": "k8s-cis-1.23"},
        "spec": {"compliance": {"id": "k8s-cis-1.23", "title": "CIS Kubernetes Benchmarks v1.23", "version": "1.0",
            "controls": [{"id": "1.1.1", "name": "API server pod file permissions", "severity": "HIGH",
                          "checks": [{"id": "AVD-KCV-0048"}]},
                         {"id": "5.1.2", "name": "Minimize access to secrets", "severity": "HIGH",
                          "checks": [{"id": "AVD-KSV-0041"}]},
                         {"id": "5.7.1", "name": "Namespaces", "severity": "MEDIUM"}]}},
        "status": {"updateTimestamp": "2024-03-05T10:38:15Z", "detailReport": {"id": "k8s-cis-1.23", "results": [
            {"id": "1.1.1", "name": "API server pod file permissions", "severity": "HIGH",
             "checks": [{"checkID": "", "severity": "", "success": true}]},
            {"id": "5.1.2", "name": "Minimize access to secrets", "severity": "HIGH", "checks": [
                {"checkID": "AVD-KSV-0041", "target": "/clusterrole-admin", "success": false, "remediation": "Remove secrets"},
                {"checkID": "AVD-KSV-0041", "target": "/clusterrole-edit", "success": false}]}]}}}"#;

#[test]
fn compliance_reports_give_every_control_and_findings_for_failed_ones() {
    let parsed = parse(COMPLIANCE.as_bytes()).unwrap();
    assert_eq!(parsed.kind, ReportKind::Controls);
    assert_eq!(parsed.scopes, vec!["ClusterComplianceReport:k8s-cis-1.23"]);
    let statuses: Vec<(&str, ControlStatus)> = parsed
        .controls
        .iter()
        .map(|c| (c.control_id.as_str(), c.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("1.1.1", ControlStatus::Pass),
            ("5.1.2", ControlStatus::Fail),
            ("5.7.1", ControlStatus::Skip)
        ]
    );
    assert_eq!(parsed.controls[1].failed_checks, Some(2));
    assert_eq!(parsed.controls[1].framework_version.as_deref(), Some("1.0"));
    assert_eq!(parsed.record_count, 3);
    assert_eq!(parsed.findings.len(), 1);
    let f = &parsed.findings[0];
    assert_eq!(f.kind, FindingKind::Control);
    assert_eq!(f.rule_id.as_deref(), Some("k8s-cis-1.23:5.1.2"));
    assert_eq!(f.severity, Severity::High);
    assert!(f.in_cluster);
    assert_eq!(
        f.fingerprint,
        Fingerprint::of("control", &["k8s-cis-1.23", "5.1.2", "cluster"])
    );
    assert_eq!(f.details.value()["affected_targets"], 2);
    assert_eq!(f.details.value()["remediation"], "Remove secrets");
}

#[test]
fn a_compliance_summary_report_counts_failures_and_missing_counts_are_manual() {
    let parsed = parse(
            br#"{"kind": "ClusterComplianceReport", "apiVersion": "aquasecurity.github.io/v1alpha1",
                 "metadata": {"name": "nsa"}, "spec": {"compliance": {"id": "nsa", "title": "NSA"}},
                 "status": {"summaryReport": {"id": "nsa", "controlCheck": [
                    {"id": "1.0", "name": "Non-root containers", "severity": "MEDIUM", "totalFail": 3},
                    {"id": "1.1", "name": "Immutable fs", "severity": "LOW", "totalFail": 0},
                    {"id": "9.9", "name": "Manual", "severity": "LOW"}]}}}"#,
        )
        .unwrap();
    let statuses: Vec<ControlStatus> = parsed.controls.iter().map(|c| c.status).collect();
    assert_eq!(
        statuses,
        vec![
            ControlStatus::Fail,
            ControlStatus::Pass,
            ControlStatus::Manual
        ]
    );
    assert_eq!(parsed.controls[0].failed_checks, Some(3));
    assert_eq!(parsed.findings.len(), 1);
}

#[test]
fn a_compliance_report_without_status_fixes_nothing() {
    let parsed = parse(
            br#"{"kind": "ClusterComplianceReport", "apiVersion": "aquasecurity.github.io/v1alpha1",
                 "metadata": {"name": "cis"}, "spec": {"compliance": {"id": "cis", "controls": []}}}"#,
        )
        .unwrap();
    assert!(parsed.scopes.is_empty());
    assert_eq!(parsed.warnings.len(), 1);
}

#[test]
fn webhook_envelopes_are_unwrapped_and_deletions_ingest_nothing() {
    let update = format!(r#"{{"verb": "update", "operatorObject": {CONFIG_AUDIT}}}"#);
    let parsed = parse(update.as_bytes()).unwrap();
    assert_eq!(parsed.findings.len(), 1);
    assert_eq!(parsed.scopes.len(), 1);
    let delete = format!(r#"{{"verb": "delete", "operatorObject": {CONFIG_AUDIT}}}"#);
    let parsed = parse(delete.as_bytes()).unwrap();
    assert!(parsed.findings.is_empty());
    assert!(parsed.scopes.is_empty());
    assert_eq!(parsed.warnings.len(), 1);
}

#[test]
fn untyped_objects_are_recognised_by_their_content() {
    // The webhook may marshal typed objects without kind and apiVersion.
    let untyped = CONFIG_AUDIT.replace(
        r#""apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "ConfigAuditReport","#,
        "",
    );
    let parsed = parse(untyped.as_bytes()).unwrap();
    assert_eq!(parsed.findings.len(), 1);
    assert_eq!(parsed.scopes, vec!["ConfigAuditReport:shop/ReplicaSet/web"]);
    let vulns = vuln_report(VULN).replace(
        r#""apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "VulnerabilityReport","#,
        "",
    );
    let parsed = parse(vulns.as_bytes()).unwrap();
    assert_eq!(parsed.findings[0].kind, FindingKind::Vulnerability);
}

#[test]
fn arrays_lists_and_dicts_of_lists_are_accepted() {
    assert!(parse(b"[]").unwrap().findings.is_empty());
    let list = parse(br#"{"apiVersion": "v1", "kind": "List", "items": []}"#).unwrap();
    assert!(list.findings.is_empty() && list.warnings.is_empty());
    let dict = format!(
        r#"{{"configauditreports.aquasecurity.github.io": [{CONFIG_AUDIT}],
                "sbomreports.aquasecurity.github.io": [], "vulnerabilityreports.aquasecurity.github.io": null}}"#
    );
    let parsed = parse(dict.as_bytes()).unwrap();
    assert_eq!(parsed.findings.len(), 1);
    let mixed =
        format!(r#"[{CONFIG_AUDIT}, {{"apiVersion": "v1", "kind": "Pod", "spec": {{}}}}, 7]"#);
    let parsed = parse(mixed.as_bytes()).unwrap();
    assert_eq!(parsed.findings.len(), 1);
    assert_eq!(parsed.warnings.len(), 2);
    assert_eq!(parsed.warnings[0].pointer, "/1");
}

#[test]
fn other_documents_are_refused_with_a_reason() {
    assert_eq!(parse(b"{\"foo\": 1}").unwrap_err().kind, "wrong-format");
    assert_eq!(parse(b"{}").unwrap_err().kind, "wrong-format");
    assert_eq!(parse(b"42").unwrap_err().kind, "wrong-format");
    assert_eq!(parse(b"[1, 2]").unwrap_err().kind, "wrong-format");
    let pods =
        br#"{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod"}]}"#;
    assert_eq!(parse(pods).unwrap_err().kind, "wrong-format");
    assert_eq!(parse(b"{\"kind\": ").unwrap_err().kind, "invalid-json");
    // A Trivy JSON report is another format.
    let trivy = br#"{"SchemaVersion": 2, "ArtifactName": "x", "Results": []}"#;
    assert_eq!(parse(trivy).unwrap_err().kind, "wrong-format");
    assert_eq!(
        parse(br#"{"apiVersion": "v1", "kind": "Pod", "spec": {}, "status": {}}"#)
            .unwrap_err()
            .kind,
        "wrong-format"
    );
}

#[test]
fn nulls_and_missing_fields_are_fine() {
    let parsed = parse(
            br#"{"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "VulnerabilityReport",
                 "metadata": {"namespace": "a", "labels": {"trivy-operator.resource.kind": "Pod",
                    "trivy-operator.resource.name": "p", "trivy-operator.container.name": null}},
                 "report": {"artifact": null, "registry": null, "os": null, "vulnerabilities": null}}"#,
        )
        .unwrap();
    assert!(parsed.findings.is_empty());
    assert!(parsed.warnings.is_empty());
    assert_eq!(parsed.scopes, vec!["VulnerabilityReport:a/Pod/p"]);
}

fn fixture(path: &str) -> Vec<u8> {
    crate::ingest::model::testkit::fixture("trivy_operator", path)
}

#[test]
fn the_dict_sample_links_workloads_to_images() {
    let parsed = parse(&fixture("defectdojo__all_reports_in_dict.json")).unwrap();
    assert_eq!(parsed.images.len(), 2);
    assert_eq!(parsed.workloads.len(), 2);
    assert_eq!(parsed.links.len(), 2);
    assert_eq!(parsed.images[0].key, "docker.io/library/secret:latest");
    assert!(parsed.scopes.contains(
        &"VulnerabilityReport:default/ReplicaSet/nginx-deployment-965685897/nginx".to_owned()
    ));
    assert!(
        parsed
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::Vulnerability)
            .all(|f| !f.in_cluster && f.image.is_some())
    );
}

#[test]
fn the_cis_sample_keeps_failed_targets_short() {
    let parsed = parse(&fixture("defectdojo__cis_benchmark.json")).unwrap();
    assert_eq!(parsed.kind, ReportKind::Controls);
    assert_eq!(parsed.scopes, vec!["ClusterComplianceReport:cis"]);
    let worst = parsed
        .findings
        .iter()
        .find(|f| f.rule_id.as_deref() == Some("cis:5.7.3"))
        .unwrap();
    assert_eq!(worst.details.value()["affected_targets"], 89);
    assert_eq!(
        worst.details.value()["failed_targets"]
            .as_array()
            .map(Vec::len),
        Some(MAX_TARGETS)
    );
}

/// Every vendored sample's parse, summarised and reviewed as a snapshot
/// (`snapshots/*.snap` beside this file).
#[test]
fn every_vendored_sample_matches_its_snapshot() {
    for (file, body) in testkit::fixtures("trivy_operator") {
        insta::assert_json_snapshot!(file.clone(), testkit::outcome(&parse(&body)));
    }
}
