use super::*;
use crate::ingest::model::testkit;
use app::model::Severity;

const REPORT: &str = r#"{"check_type": "kubernetes",
        "results": {
          "passed_checks": [{"check_id": "CKV_K8S_1", "file_path": "/deploy/web.yaml",
                             "file_abs_path": "/builds/acme/shop/deploy/web.yaml", "resource": "Deployment.default.web"}],
          "failed_checks": [
            {"check_id": "CKV_K8S_16", "bc_check_id": "BC_K8S_15", "check_name": "Container should not be privileged",
             "check_result": {"result": "FAILED"}, "file_path": "/deploy/web.yaml",
             "file_abs_path": "/builds/acme/shop/deploy/web.yaml", "file_line_range": [1, 30],
             "resource": "Deployment.default.web", "severity": null,
             "guideline": "https://docs.prismacloud.io/en/enterprise-edition/policy-reference/kubernetes-policies/kubernetes-policy-index/bc-k8s-15"},
            {"check_id": "CKV_K8S_20", "check_name": "Containers should not run with allowPrivilegeEscalation",
             "file_path": "/deploy/web.yaml", "resource": "Deployment.default.web", "severity": "HIGH"},
            {"check_id": null, "file_path": "/deploy/web.yaml"},
            "garbage"],
          "skipped_checks": [{"check_id": "CKV_K8S_43", "file_path": "/deploy/web.yaml"}],
          "parsing_errors": ["/deploy/broken.yaml"]},
        "summary": {"passed": 1, "failed": 4, "skipped": 1, "parsing_errors": 1, "resource_count": 1,
                    "checkov_version": "3.2.0"}}"#;

#[test]
fn failed_checks_are_misconfigurations_of_the_scanned_directory() {
    let parsed = parse(REPORT.as_bytes()).unwrap();
    assert_eq!(parsed.scanner_version.as_deref(), Some("3.2.0"));
    assert_eq!(parsed.record_count, 6);
    assert_eq!(parsed.findings.len(), 2);
    assert_eq!(parsed.scopes, vec!["checkov:kubernetes@/builds/acme/shop"]);
    let first = &parsed.findings[0];
    assert_eq!(first.kind, FindingKind::Misconfiguration);
    assert_eq!(first.rule_id.as_deref(), Some("CKV_K8S_16"));
    assert_eq!(first.severity, Severity::Unknown);
    assert_eq!(first.title, "Container should not be privileged");
    assert_eq!(
        first.resource.as_deref(),
        Some("/deploy/web.yaml#Deployment.default.web")
    );
    assert!(!first.in_cluster && first.workload.is_none() && first.image.is_none());
    assert_eq!(
        first.fingerprint,
        Fingerprint::misconfiguration(
            "CKV_K8S_16",
            "/deploy/web.yaml#Deployment.default.web",
            "repo:/builds/acme/shop"
        )
    );
    assert_eq!(first.details.value()["bc_check_id"], "BC_K8S_15");
    assert_eq!(first.details.value()["start_line"], 1);
    assert_eq!(parsed.findings[1].severity, Severity::High);
    let pointers: Vec<&str> = parsed.warnings.iter().map(|w| w.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        vec![
            "/results/failed_checks/2",
            "/results/failed_checks/3",
            "/results/parsing_errors/0"
        ]
    );
}

#[test]
fn one_scope_per_framework_and_repo_id_wins() {
    let list = format!(
        r#"[{REPORT}, {{"check_type": "dockerfile", "repo_id": "acme/shop",
                 "results": {{"failed_checks": [{{"check_id": "CKV_DOCKER_2", "file_path": "/Dockerfile",
                   "resource": "/Dockerfile.", "severity": "LOW"}}]}}}},
                 {{"passed": 0, "failed": 0, "checkov_version": "3.2.0"}}]"#
    );
    let parsed = parse(list.as_bytes()).unwrap();
    assert_eq!(
        parsed.scopes,
        vec![
            "checkov:kubernetes@/builds/acme/shop",
            "checkov:dockerfile@acme/shop"
        ]
    );
    assert_eq!(parsed.findings.len(), 3);
    assert_eq!(parsed.findings[2].scope, 1);
}

#[test]
fn empty_outputs_succeed_and_other_documents_are_refused() {
    for body in [
            &br#"{"passed": 0, "failed": 0, "skipped": 0, "parsingerrors": 0, "resourcecount": 0, "checkov_version": "2.1.269"}"#[..],
            b"{}",
            b"[]",
            br#"{"check_type": "terraform", "results": {"passed_checks": [], "failed_checks": []}}"#,
        ] {
            let parsed = parse(body).unwrap();
            assert!(parsed.findings.is_empty() && parsed.warnings.is_empty());
        }
    let kind = |body: &[u8]| parse(body).unwrap_err().kind;
    assert_eq!(kind(br#"{"SchemaVersion": 2}"#), "wrong-format");
    assert_eq!(kind(br#"[{"check_type": "x"}, 3]"#), "wrong-format");
    assert_eq!(kind(b"{\"check_type\": "), "invalid-json");
    assert_eq!(kind(br#"{"results": []}"#), "wrong-format");
}

/// Every vendored sample's parse, summarised and reviewed as a snapshot
/// (`snapshots/*.snap` beside this file).
#[test]
fn every_vendored_sample_matches_its_snapshot() {
    for (file, body) in testkit::fixtures("checkov") {
        insta::assert_json_snapshot!(file.clone(), testkit::outcome(&parse(&body)));
    }
}
