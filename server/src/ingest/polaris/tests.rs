use super::*;
use crate::ingest::model::testkit;

fn fixture(name: &str) -> Vec<u8> {
    crate::ingest::model::testkit::fixture("polaris", name)
}

fn severities(parsed: &ParsedReport) -> [usize; 5] {
    let mut counts = [0; 5];
    for f in &parsed.findings {
        if let Some(slot) = counts.get_mut(usize::try_from(f.severity.as_i16()).unwrap()) {
            *slot += 1;
        }
    }
    counts // unknown, low, medium, high, critical
}

const REPORT: &str = r#"{"PolarisOutputVersion": "1.0", "AuditTime": "2024-05-07T10:00:00Z",
      "SourceType": "Cluster", "SourceName": "in-cluster", "DisplayName": "prod-eu",
      "ClusterInfo": {"Version": "1.29", "Nodes": 3},
      "Results": [
        {"Name": "web", "Namespace": "shop", "Kind": "Deployment",
         "Results": {"deploymentMissingReplicas": {"ID": "deploymentMissingReplicas",
            "Message": "Only one replica is scheduled", "Success": false, "Severity": "warning",
            "Category": "Reliability"}},
         "PodResult": {"Name": "", "Results": {
            "hostNetworkSet": {"ID": "hostNetworkSet", "Message": "Host network is configured",
              "Success": false, "Severity": "danger", "Category": "Security"},
            "hostPIDSet": {"ID": "hostPIDSet", "Message": "Host PID is not configured",
              "Success": true, "Severity": "danger"}},
          "ContainerResults": [
            {"Name": "app", "Results": {
              "runAsRootAllowed": {"ID": "runAsRootAllowed", "Message": "Should not be allowed to run as root",
                "Details": ["securityContext.runAsNonRoot is not set"], "Success": false,
                "Severity": "danger", "Category": "Security"},
              "cpuLimitsMissing": {"ID": "cpuLimitsMissing", "Message": "CPU limits should be set",
                "Success": false, "Severity": "ignore"},
              "tagNotSpecified": {"ID": "tagNotSpecified", "Success": false, "Severity": "fatal"},
              "a/b": {"Success": "no"},
              "noSuccess": {"ID": "noSuccess", "Severity": "warning"}}},
            {"Name": "sidecar", "Results": {
              "runAsRootAllowed": {"ID": "runAsRootAllowed", "Message": "Should not be allowed to run as root",
                "Success": false, "Severity": "danger"}}},
            "junk"]}},
        {"Name": "", "Kind": "Deployment", "Results": {}},
        {"Name": "reader", "Kind": "ClusterRole", "Namespace": "",
         "Results": {"clusterrolePodExecAttach": {"ID": "clusterrolePodExecAttach",
            "Message": "ClusterRole allows exec", "Success": false, "Severity": "danger"}},
         "PodResult": null},
        42]}"#;

#[test]
fn failed_checks_become_misconfigurations_on_the_workload() {
    let parsed = parse(REPORT.as_bytes()).unwrap();
    assert_eq!(parsed.scanner, "polaris");
    assert_eq!(parsed.scopes, vec!["polaris:prod-eu"]);
    assert_eq!(parsed.cluster_name.as_deref(), Some("prod-eu"));
    assert_eq!(parsed.artifact.as_deref(), Some("prod-eu"));
    assert!(parsed.generated_at.is_some());
    // 1 + 2 + 5 + 1 + 1 checks read
    assert_eq!(parsed.record_count, 10);
    assert_eq!(
        parsed.workloads,
        vec![
            WorkloadAsset {
                namespace: "shop".into(),
                kind: "Deployment".into(),
                name: "web".into()
            },
            WorkloadAsset {
                namespace: String::new(),
                kind: "ClusterRole".into(),
                name: "reader".into()
            }
        ]
    );
    let rules: Vec<(&str, &str, Severity)> = parsed
        .findings
        .iter()
        .map(|f| {
            (
                f.rule_id.as_deref().unwrap(),
                f.resource.as_deref().unwrap(),
                f.severity,
            )
        })
        .collect();
    assert_eq!(
        rules,
        vec![
            (
                "deploymentMissingReplicas",
                "shop/Deployment/web",
                Severity::Medium
            ),
            ("hostNetworkSet", "shop/Deployment/web", Severity::High),
            (
                "runAsRootAllowed",
                "shop/Deployment/web/app",
                Severity::High
            ),
            (
                "tagNotSpecified",
                "shop/Deployment/web/app",
                Severity::Unknown
            ),
            (
                "runAsRootAllowed",
                "shop/Deployment/web/sidecar",
                Severity::High
            ),
            (
                "clusterrolePodExecAttach",
                "/ClusterRole/reader",
                Severity::High
            ),
        ]
    );
    let root = &parsed.findings[2];
    assert_eq!(root.kind, FindingKind::Misconfiguration);
    assert!(root.in_cluster);
    assert_eq!(root.workload, Some(0));
    assert_eq!(root.title, "Should not be allowed to run as root");
    assert_eq!(root.details.value()["container"], "app");
    assert_eq!(
        root.details.value()["details"][0],
        "securityContext.runAsNonRoot is not set"
    );
    assert_eq!(
        root.fingerprint,
        Fingerprint::misconfiguration("runAsRootAllowed", "shop/Deployment/web/app", "cluster")
    );
    assert_ne!(root.fingerprint, parsed.findings[4].fingerprint);
    assert_eq!(parsed.findings[3].title, "tagNotSpecified");
    let pointers: Vec<&str> = parsed.warnings.iter().map(|w| w.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        vec![
            "/Results/0/PodResult/ContainerResults/0/Results/a~1b",
            "/Results/0/PodResult/ContainerResults/0/Results/noSuccess",
            "/Results/0/PodResult/ContainerResults/0/Results/tagNotSpecified",
            "/Results/0/PodResult/ContainerResults/2",
            "/Results/1",
            "/Results/3",
        ]
    );
}

#[test]
fn scope_falls_back_to_the_source() {
    let parsed = parse(
        br#"{"AuditTime": "0001-01-01T00:00:00Z", "SourceType": "Path",
                 "SourceName": "./deploy", "DisplayName": "", "Results": null}"#,
    )
    .unwrap();
    assert_eq!(parsed.scopes, vec!["polaris:./deploy"]);
    assert_eq!(parsed.cluster_name, None);
    assert_eq!(parsed.generated_at, None);
    assert_eq!(parsed.record_count, 0);
}

#[test]
fn other_documents_are_refused() {
    for body in [&br#"{"SchemaVersion": 2, "Results": []}"#[..], b"{}", b"[]"] {
        let err = parse(body).unwrap_err();
        assert_eq!(err.kind, "wrong-format", "{}", err.detail);
    }
    assert!(parse(b"{}").unwrap_err().detail.contains("Polaris"));
    assert_eq!(parse(b"{\"Results\": [").unwrap_err().kind, "invalid-json");
}

// Expected counts from python3 over the JSON: one record per check of Results,
// PodResult.Results and every ContainerResults[].Results; findings = Success false
// (danger → high, warning → medium).
#[test]
fn sample_many_vuln() {
    let parsed = parse(&fixture("defectdojo__polaris_many_vuln.json")).unwrap();
    assert_eq!(parsed.record_count, 31);
    assert_eq!(parsed.findings.len(), 21);
    assert_eq!(severities(&parsed), [0, 0, 17, 4, 0]);
    assert!(
        parsed
            .findings
            .iter()
            .all(|f| f.kind == FindingKind::Misconfiguration)
    );
    let in_container = parsed
        .findings
        .iter()
        .filter(|f| f.details.value().get("container").is_some())
        .count();
    assert_eq!(in_container, 14);
    let mut high: Vec<&str> = parsed
        .findings
        .iter()
        .filter(|f| f.severity == Severity::High)
        .filter_map(|f| f.rule_id.as_deref())
        .collect();
    high.sort_unstable();
    assert_eq!(
        high,
        vec![
            "privilegeEscalationAllowed",
            "runAsPrivileged",
            "runAsRootAllowed",
            "tagNotSpecified"
        ]
    );
    assert_eq!(parsed.workloads.len(), 1);
    assert_eq!(parsed.workloads[0].key(), "/Deployment/generic-app");
    assert_eq!(parsed.scopes, vec!["polaris:/manifests/many.yaml"]);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
}

#[test]
fn sample_one_vuln() {
    let parsed = parse(&fixture("defectdojo__polaris_one_vuln.json")).unwrap();
    assert_eq!(parsed.record_count, 32);
    assert_eq!(parsed.findings.len(), 1);
    assert_eq!(severities(&parsed), [0, 0, 1, 0, 0]);
    let f = &parsed.findings[0];
    assert_eq!(f.rule_id.as_deref(), Some("notReadOnlyRootFilesystem"));
    assert_eq!(
        f.resource.as_deref(),
        Some("/Deployment/generic-app/server")
    );
    assert_eq!(parsed.workloads.len(), 3);
    assert_eq!(parsed.scopes, vec!["polaris:/manifests/single.yaml"]);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
}

#[test]
fn sample_no_vuln_still_declares_its_scope() {
    let parsed = parse(&fixture("defectdojo__polaris_no_vuln.json")).unwrap();
    assert_eq!(parsed.record_count, 32);
    assert!(parsed.findings.is_empty());
    assert_eq!(parsed.workloads.len(), 3);
    assert_eq!(parsed.scopes, vec!["polaris:/manifests/clean.yaml"]);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
}

/// Every vendored sample's parse, summarised and reviewed as a snapshot
/// (`snapshots/*.snap` beside this file).
#[test]
fn every_vendored_sample_matches_its_snapshot() {
    for (file, body) in testkit::fixtures("polaris") {
        insta::assert_json_snapshot!(file.clone(), testkit::outcome(&parse(&body)));
    }
}
