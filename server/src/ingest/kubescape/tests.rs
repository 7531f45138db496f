use app::model::Severity;
use serde_json::json;

use super::reader::{severity_of, slug, workload_from_id};
use super::*;
use crate::domain::fingerprint::Fingerprint;
use crate::ingest::model::testkit;
use crate::ingest::model::{ControlStatus, FindingKind, FindingRecord};

fn fixture(name: &str) -> Vec<u8> {
    crate::ingest::model::testkit::fixture("kubescape", name)
}

/// Findings of `kind` per severity: [unknown, low, medium, high, critical].
fn severities(parsed: &ParsedReport, kind: FindingKind) -> [usize; 5] {
    let mut counts = [0; 5];
    for f in parsed.findings.iter().filter(|f| f.kind == kind) {
        if let Some(slot) = counts.get_mut(usize::try_from(f.severity.as_i16()).unwrap()) {
            *slot += 1;
        }
    }
    counts
}

fn count(parsed: &ParsedReport, status: ControlStatus) -> usize {
    parsed
        .controls
        .iter()
        .filter(|c| c.status == status)
        .count()
}

const REPORT: &str = r#"{
      "generationTime": "2024-05-07T10:00:00Z", "clusterName": "prod-eu",
      "metadata": {"scanMetadata": {"kubescapeVersion": "v3.0.8"}},
      "summaryDetails": {
        "controls": {
          "C-0016": {"controlID": "C-0016", "name": "Allow privilege escalation", "status": "failed", "scoreFactor": 6},
          "C-0057": {"controlID": "C-0057", "name": "Privileged container", "status": "failed", "scoreFactor": 8},
          "C-0099": {"controlID": "C-0099", "name": "Loose control", "status": "passed", "scoreFactor": 2}
        },
        "frameworks": [{"name": "NSA", "version": "", "controls": {
          "C-0016": {"statusInfo": {"status": "failed"}, "controlID": "C-0016", "name": "Allow privilege escalation",
                     "status": "failed", "scoreFactor": 6, "category": {"name": "Workload"},
                     "ResourceCounters": {"passedResources": 3, "failedResources": 1, "skippedResources": 0}},
          "C-0057": {"statusInfo": {"status": "failed"}, "controlID": "C-0057", "name": "Privileged container",
                     "status": "failed", "baseScore": 9, "scoreFactor": 8},
          "C-0002": {"statusInfo": {"status": "passed", "subStatus": "irrelevant"}, "controlID": "C-0002",
                     "status": "passed", "scoreFactor": 5},
          "C-0035": {"statusInfo": {"status": "skipped", "subStatus": "manual review"}, "controlID": "C-0035",
                     "status": "skipped", "scoreFactor": 3},
          "C-0070": {"status": "weird"},
          "C-0071": "nope"}},
          {"name": "cis-v1.23-t1.0.1", "controls": {"C-0016": {"controlID": "C-0016", "status": "irrelevant"}}},
          {"version": "1"}]
      },
      "resources": [
        {"resourceID": "apps/v1/shop/Deployment/web", "object": {"apiVersion": "apps/v1", "kind": "Deployment",
          "metadata": {"name": "web", "namespace": "shop"}, "spec": {}}},
        {"resourceID": "/ns/ServiceAccount/sa/path=1/api=rbac.authorization.k8s.io/v1//ClusterRoleBinding/b",
         "object": {"kind": "ServiceAccount", "name": "sa", "namespace": "ns", "relatedObjects": []}}
      ],
      "results": [
        {"resourceID": "apps/v1/shop/Deployment/web", "controls": [
          {"controlID": "C-0016", "name": "Allow privilege escalation", "status": {"status": "failed"},
           "rules": [{"name": "rule-allow-privilege-escalation", "status": "failed",
             "paths": [{"fixPath": {"path": "spec.containers[0].securityContext.allowPrivilegeEscalation", "value": "false"}},
                       {"failedPath": "spec.containers[0].securityContext"}]}]},
          {"controlID": "C-0057", "name": "Privileged container", "rules": [{"name": "r", "status": "failed"}]},
          {"controlID": "C-0002", "status": {"status": "passed"}},
          {"controlID": "C-0099", "rules": [{"status": "passed"}]},
          {"status": {"status": "failed"}},
          7]},
        {"resourceID": "/ns/ServiceAccount/sa/path=1/api=rbac.authorization.k8s.io/v1//ClusterRoleBinding/b",
         "controls": [{"controlID": "C-0016", "status": {"status": "failed"}}]},
        {"resourceID": "path=42/api=/v1/default/Service/front", "controls": [{"controlID": "C-0057", "status": {"status": "failed"}}]},
        {"resourceID": "garbage", "controls": [{"controlID": "C-0057", "status": {"status": "failed"}}]},
        "junk"]}"#;

#[test]
fn failed_controls_on_resources_become_misconfigurations() {
    let parsed = parse(REPORT.as_bytes()).unwrap();
    assert_eq!(parsed.scanner, "kubescape");
    assert_eq!(parsed.scanner_version.as_deref(), Some("v3.0.8"));
    assert_eq!(parsed.cluster_name.as_deref(), Some("prod-eu"));
    assert_eq!(parsed.scopes, vec!["kubescape:prod-eu"]);
    assert!(parsed.generated_at.is_some());
    let misconfigs: Vec<(&str, &str, Severity)> = parsed
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Misconfiguration)
        .map(|f| {
            (
                f.rule_id.as_deref().unwrap(),
                f.resource.as_deref().unwrap(),
                f.severity,
            )
        })
        .collect();
    assert_eq!(
        misconfigs,
        vec![
            ("C-0016", "shop/Deployment/web", Severity::Medium),
            // no status object: failed through its rules; baseScore 9 wins over scoreFactor
            ("C-0057", "shop/Deployment/web", Severity::Critical),
            ("C-0016", "ns/ServiceAccount/sa", Severity::Medium),
            ("C-0057", "default/Service/front", Severity::Critical),
            ("C-0057", "garbage", Severity::Critical),
        ]
    );
    let first = &parsed.findings[parsed
        .findings
        .iter()
        .position(|f| f.kind == FindingKind::Misconfiguration)
        .unwrap()];
    assert!(first.in_cluster);
    assert_eq!(first.title, "Allow privilege escalation");
    assert_eq!(
        first.fingerprint,
        Fingerprint::misconfiguration("C-0016", "shop/Deployment/web", "cluster")
    );
    assert_eq!(
        first.details.value()["paths"],
        json!([
            "spec.containers[0].securityContext.allowPrivilegeEscalation=false",
            "spec.containers[0].securityContext"
        ])
    );
    assert_eq!(
        first.details.value()["rules"],
        json!(["rule-allow-privilege-escalation"])
    );
    let workload = first.workload.map(|w| parsed.workloads[w].key());
    assert_eq!(workload.as_deref(), Some("shop/Deployment/web"));
    assert_eq!(parsed.workloads.len(), 3);
    assert!(parsed.findings.last().unwrap().workload.is_none());
}

#[test]
fn framework_controls_become_control_results() {
    let parsed = parse(REPORT.as_bytes()).unwrap();
    let controls: Vec<(&str, &str, ControlStatus, Severity)> = parsed
        .controls
        .iter()
        .map(|c| {
            (
                c.framework_id.as_str(),
                c.control_id.as_str(),
                c.status,
                c.severity,
            )
        })
        .collect();
    assert_eq!(
        controls,
        vec![
            (
                "kubescape-nsa",
                "C-0002",
                ControlStatus::Pass,
                Severity::Medium
            ),
            (
                "kubescape-nsa",
                "C-0016",
                ControlStatus::Fail,
                Severity::Medium
            ),
            (
                "kubescape-nsa",
                "C-0035",
                ControlStatus::Manual,
                Severity::Low
            ),
            (
                "kubescape-nsa",
                "C-0057",
                ControlStatus::Fail,
                Severity::Critical
            ),
            (
                "kubescape-nsa",
                "C-0070",
                ControlStatus::Skip,
                Severity::Unknown
            ),
            (
                "kubescape-cis-v1.23-t1.0.1",
                "C-0016",
                ControlStatus::Pass,
                Severity::Unknown
            ),
            // in no framework
            ("kubescape", "C-0099", ControlStatus::Pass, Severity::Low),
        ]
    );
    let c0016 = &parsed.controls[1];
    assert_eq!(c0016.section.as_deref(), Some("Workload"));
    assert_eq!(c0016.total_checks, Some(4));
    assert_eq!(c0016.failed_checks, Some(1));
    let control_findings: Vec<&FindingRecord> = parsed
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Control)
        .collect();
    assert_eq!(control_findings.len(), 2);
    assert_eq!(
        control_findings[0].rule_id.as_deref(),
        Some("kubescape-nsa:C-0016")
    );
    assert_eq!(
        control_findings[0].fingerprint,
        Fingerprint::of("control", &["kubescape-nsa", "C-0016", "prod-eu"])
    );
    // records: 8 framework entries (6 NSA, 1 CIS, C-0099) + 6 + 1 + 1 + 1 resource controls
    assert_eq!(parsed.record_count, 8 + 9);
    let pointers: Vec<&str> = parsed.warnings.iter().map(|w| w.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        vec![
            "/summaryDetails/frameworks/0/controls/C-0070",
            "/summaryDetails/frameworks/0/controls/C-0071",
            "/summaryDetails/frameworks/2",
            "/results/0/controls/4",
            "/results/0/controls/5",
            "/results/3",
            "/results/4",
        ]
    );
}

#[test]
fn resource_ids_name_resources() {
    let named = |id: &str| workload_from_id(id).map(|w| w.key());
    assert_eq!(
        named("path=1881121400/api=apps/v1//Deployment/paymentservice").as_deref(),
        Some("/Deployment/paymentservice")
    );
    assert_eq!(
        named("path=3591976602/api=/v1/kubescape/Service/kubescape").as_deref(),
        Some("kubescape/Service/kubescape")
    );
    assert_eq!(
        named(
            "/kubescape/ServiceAccount/sa/path=1/api=rbac.authorization.k8s.io/v1//ClusterRole/r"
        )
        .as_deref(),
        Some("kubescape/ServiceAccount/sa")
    );
    assert_eq!(
        named("apps/v1/shop/Deployment/web").as_deref(),
        Some("shop/Deployment/web")
    );
    assert_eq!(named("Deployment/web"), None);
    assert_eq!(named(""), None);
    assert_eq!(named("a/b/c/"), None);
}

#[test]
fn severity_scale_and_slugs() {
    assert_eq!(severity_of(Some(10.0)), Severity::Critical);
    assert_eq!(severity_of(Some(9.0)), Severity::Critical);
    assert_eq!(severity_of(Some(7.0)), Severity::High);
    assert_eq!(severity_of(Some(6.9)), Severity::Medium);
    assert_eq!(severity_of(Some(4.0)), Severity::Medium);
    assert_eq!(severity_of(Some(1.0)), Severity::Low);
    assert_eq!(severity_of(Some(0.5)), Severity::Unknown);
    assert_eq!(severity_of(None), Severity::Unknown);
    assert_eq!(slug(" NSA "), "nsa");
    assert_eq!(slug("cis-v1.23-t1.0.1"), "cis-v1.23-t1.0.1");
    assert_eq!(slug("My  Framework!"), "my-framework");
}

#[test]
fn other_documents_are_refused() {
    let err = parse(br#"{"SchemaVersion": 2, "Results": []}"#).unwrap_err();
    assert_eq!(err.kind, "wrong-format");
    assert!(err.detail.contains("Kubescape"));
    let err = parse(br#"[{"name": "NSA", "controlReports": []}]"#).unwrap_err();
    assert_eq!(err.kind, "unsupported-version");
    assert_eq!(parse(b"[]").unwrap_err().kind, "wrong-format");
    assert_eq!(parse(b"{\"results\": [").unwrap_err().kind, "invalid-json");
    assert_eq!(parse(b"\"x\"").unwrap_err().kind, "wrong-format");
}

#[test]
fn a_clean_scan_of_nothing_declares_its_scope() {
    let parsed = parse(br#"{"summaryDetails": {}, "results": null, "resources": null}"#).unwrap();
    assert_eq!(parsed.scopes, vec!["kubescape:unnamed"]);
    assert_eq!(parsed.record_count, 0);
    assert!(parsed.warnings.is_empty());
}

// Expected counts from python3 over the JSON: records = controls of every
// summaryDetails.frameworks[] + every results[].controls[]; control status from statusInfo
// (passed/irrelevant → pass); misconfigurations = resource controls whose status.status
// (else any rule) is failed, severity by scoreFactor (≥9 critical, ≥7 high, ≥4 medium,
// ≥1 low); control findings = failed framework controls.
#[test]
fn sample_with_a_failure() {
    let parsed = parse(&fixture("defectdojo__with_a_failure.json")).unwrap();
    assert_eq!(parsed.record_count, 68);
    assert_eq!(parsed.controls.len(), 50);
    assert_eq!(count(&parsed, ControlStatus::Pass), 47);
    assert_eq!(count(&parsed, ControlStatus::Fail), 3);
    assert_eq!(parsed.findings.len(), 6);
    assert_eq!(
        severities(&parsed, FindingKind::Misconfiguration),
        [0, 0, 3, 0, 0]
    );
    assert_eq!(severities(&parsed, FindingKind::Control), [0, 0, 3, 0, 0]);
    let mut rules: Vec<&str> = parsed
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Misconfiguration)
        .filter_map(|f| f.rule_id.as_deref())
        .collect();
    rules.sort_unstable();
    assert_eq!(rules, vec!["C-0030", "C-0055", "C-0260"]);
    assert_eq!(parsed.workloads.len(), 1);
    assert_eq!(parsed.workloads[0].key(), "/Deployment/nginx-deployment");
    let misconfig = parsed
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::Misconfiguration)
        .unwrap();
    assert_eq!(
        misconfig.resource.as_deref(),
        Some("nginx.yaml#/Deployment/nginx-deployment")
    );
    assert_eq!(misconfig.details.value()["source_path"], "nginx.yaml");
    assert_eq!(
        parsed.scopes,
        vec!["kubescape:/home/administrator/k8s-kubescape-test/nginx.yaml"]
    );
    assert_eq!(parsed.scanner_version.as_deref(), Some("v3.0.3"));
    assert_eq!(parsed.generated_at, None); // Go's zero time
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
}

#[test]
fn sample_results_all_passed() {
    let parsed = parse(&fixture("defectdojo__results.json")).unwrap();
    assert_eq!(parsed.record_count, 70);
    assert_eq!(parsed.controls.len(), 50);
    assert_eq!(count(&parsed, ControlStatus::Pass), 50);
    assert!(parsed.findings.is_empty());
    assert!(parsed.workloads.is_empty());
    assert_eq!(
        parsed.scopes,
        vec!["kubescape:/home/administrator/k8s-kubescape-test/nginx.yaml"]
    );
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
}

/// Every vendored sample's parse, summarised and reviewed as a snapshot
/// (`snapshots/*.snap` beside this file).
#[test]
fn every_vendored_sample_matches_its_snapshot() {
    for (file, body) in testkit::fixtures("kubescape") {
        insta::assert_json_snapshot!(file.clone(), testkit::outcome(&parse(&body)));
    }
}

/// The Kubescape sample over 1 MB, from the team's shared samples.
/// Not vendored; a missing shared sample fails the test.
#[test]
fn shared_samples_match_their_snapshots() {
    for relative in ["kubescape/defectdojo__many_findings.json"] {
        let body = testkit::shared_sample(relative);
        let name = format!("shared__{}", relative.replace('/', "__"));
        insta::assert_json_snapshot!(name, testkit::outcome(&parse(&body)));
    }
}
