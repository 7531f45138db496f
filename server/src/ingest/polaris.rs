//! Polaris audit JSON (`polaris audit --format json`): `PolarisOutputVersion`, `AuditTime`,
//! `SourceType`, `SourceName`, `DisplayName`, `ClusterInfo`, `Score` and `Results[]`, one per
//! audited resource (`Name`, `Namespace`, `Kind`), each with its own check results
//! (`Results`: check → `{ID, Message, Details, Success, Severity, Category}`), the pod-level
//! ones (`PodResult.Results`) and the container-level ones
//! (`PodResult.ContainerResults[].{Name, Results}`).
//!
//! Pure: bytes in, [`ParsedReport`] out. Each resource and each check result is decoded on its
//! own; a malformed one becomes a warning naming its JSON pointer
//! (`/Results/0/PodResult/ContainerResults/1/Results/runAsRootAllowed`).
//!
//! Mapping: every check result is a record. A failed one (`Success: false`) is a
//! misconfiguration finding about the resource (`in_cluster`, workload = namespace/kind/name,
//! `""` namespace when Polaris gives none): rule id = the check `ID`, title = its message,
//! resource = `namespace/kind/name`, plus `/<container>` for container checks, so the same
//! check failing in two containers is two findings; fingerprint
//! `misconfiguration(ID, resource, "cluster")`. Polaris severities map explicitly:
//! `danger` → high, `warning` → medium; a failed check with severity `ignore` was switched off
//! in the Polaris configuration and is not a finding. Passing checks are records only.
//! One audit covers one cluster or one set of manifests: the lifecycle scope is
//! `polaris:<DisplayName>` (else `SourceName`, else `SourceType`), declared even when
//! everything passes.
//!
//! Skipped: `Score` and `ClusterInfo` (summaries), `Mutations` (suggested patches),
//! `CreatedTime`.

use crate::ingest::model::{insert_some, nonempty, pointer_token};
use std::collections::BTreeMap;

use app::model::Severity;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::domain::fingerprint::Fingerprint;
use crate::ingest::model::{
    FindingKind, FindingRecord, ParseError, ParsedReport, ReportBuilder, ReportKind, WorkloadAsset,
    parse_timestamp,
};

const SCANNER: &str = "polaris";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Report<'a> {
    polaris_output_version: Option<String>,
    audit_time: Option<String>,
    source_type: Option<String>,
    source_name: Option<String>,
    display_name: Option<String>,
    cluster_info: Option<Value>,
    #[serde(borrow)]
    results: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Resource<'a> {
    name: Option<String>,
    namespace: Option<String>,
    kind: Option<String>,
    #[serde(borrow)]
    results: Option<BTreeMap<String, &'a RawValue>>,
    #[serde(borrow)]
    pod_result: Option<PodResult<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PodResult<'a> {
    #[serde(borrow)]
    results: Option<BTreeMap<String, &'a RawValue>>,
    #[serde(borrow)]
    container_results: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerResult<'a> {
    name: Option<String>,
    #[serde(borrow)]
    results: Option<BTreeMap<String, &'a RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Check {
    #[serde(rename = "ID")]
    id: Option<String>,
    message: Option<String>,
    details: Option<Value>,
    success: Option<bool>,
    severity: Option<String>,
    category: Option<String>,
}

/// Parses a Polaris audit JSON report.
pub fn parse(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    let report: Report<'_> = serde_json::from_slice(bytes)
        .map_err(|e| ParseError::from_json("Polaris audit JSON", &e))?;
    let is_polaris = report.polaris_output_version.is_some()
        || report.cluster_info.is_some()
        || (report.audit_time.is_some() && report.source_type.is_some());
    if !is_polaris {
        return Err(ParseError::new(
            "wrong-format",
            "this is not a Polaris audit JSON report: it has no PolarisOutputVersion, AuditTime \
             or ClusterInfo (produce it with `polaris audit --format json`)",
        ));
    }
    let mut b = ReportBuilder::new(SCANNER, ReportKind::Findings);
    // Go prints its zero time (year 1) when the audit time is unset.
    b.generated_at(
        report
            .audit_time
            .as_deref()
            .and_then(parse_timestamp)
            .filter(|t| t.timestamp() > 0),
    );
    let display = nonempty(report.display_name.as_deref());
    let source = nonempty(report.source_name.as_deref());
    let source_type = nonempty(report.source_type.as_deref());
    let target = display.or(source).or(source_type).unwrap_or("cluster");
    b.artifact(Some(target.to_owned()));
    if source_type.is_some_and(|t| t.eq_ignore_ascii_case("cluster")) {
        b.cluster_name(display.map(str::to_owned));
    }
    let scope = b.scope(format!("polaris:{target}"));
    for (i, raw) in report.results.unwrap_or_default().into_iter().enumerate() {
        let at = format!("/Results/{i}");
        match serde_json::from_str::<Resource<'_>>(raw.get()) {
            Ok(resource) => read_resource(&mut b, &at, resource, scope),
            Err(e) => b.warn(at, format!("resource skipped: {e}")),
        }
    }
    Ok(b.finish())
}

fn read_resource(b: &mut ReportBuilder, at: &str, r: Resource<'_>, scope: usize) {
    let (Some(kind), Some(name)) = (nonempty(r.kind.as_deref()), nonempty(r.name.as_deref()))
    else {
        return b.warn(at, "resource skipped: no Kind or Name");
    };
    let workload = WorkloadAsset {
        namespace: nonempty(r.namespace.as_deref())
            .unwrap_or_default()
            .to_owned(),
        kind: kind.to_owned(),
        name: name.to_owned(),
    };
    let key = workload.key();
    let workload = b.workload(workload);
    let target = Target {
        workload,
        key: &key,
        container: None,
        scope,
    };
    read_checks(
        b,
        &format!("{at}/Results"),
        r.results,
        &target,
        "controller",
    );
    let Some(pod) = r.pod_result else {
        return;
    };
    read_checks(
        b,
        &format!("{at}/PodResult/Results"),
        pod.results,
        &target,
        "pod",
    );
    for (j, raw) in pod
        .container_results
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let container_at = format!("{at}/PodResult/ContainerResults/{j}");
        match serde_json::from_str::<ContainerResult<'_>>(raw.get()) {
            Ok(c) => {
                let container = nonempty(c.name.as_deref());
                let target = Target {
                    container,
                    ..target
                };
                read_checks(
                    b,
                    &format!("{container_at}/Results"),
                    c.results,
                    &target,
                    "container",
                );
            }
            Err(e) => b.warn(container_at, format!("container results skipped: {e}")),
        }
    }
}

/// What the checks of one result set are about.
#[derive(Clone, Copy)]
struct Target<'a> {
    workload: usize,
    key: &'a str,
    container: Option<&'a str>,
    scope: usize,
}

fn read_checks(
    b: &mut ReportBuilder,
    at: &str,
    checks: Option<BTreeMap<String, &RawValue>>,
    target: &Target<'_>,
    level: &str,
) {
    for (name, raw) in checks.unwrap_or_default() {
        let check_at = format!("{at}/{}", pointer_token(&name));
        b.record();
        match serde_json::from_str::<Check>(raw.get()) {
            Ok(check) => read_check(b, &check_at, &name, check, target, level),
            Err(e) => b.warn(check_at, format!("check skipped: {e}")),
        }
    }
}

fn read_check(
    b: &mut ReportBuilder,
    at: &str,
    name: &str,
    check: Check,
    target: &Target<'_>,
    level: &str,
) {
    match check.success {
        Some(true) => return, // passing checks are records, not findings
        Some(false) => {}
        None => return b.warn(at, "check skipped: no Success"),
    }
    let rule_id = nonempty(check.id.as_deref())
        .or(nonempty(Some(name)))
        .unwrap_or("unnamed-check")
        .to_owned();
    let word = nonempty(check.severity.as_deref());
    // Polaris has three levels: danger (failing should block), warning, ignore (switched off).
    let severity = match word.map(str::to_ascii_lowercase).as_deref() {
        Some("danger") => Severity::High,
        Some("warning") => Severity::Medium,
        Some("ignore") => return,
        _ => b.severity(at, word),
    };
    let resource = match target.container {
        Some(container) => format!("{}/{container}", target.key),
        None => target.key.to_owned(),
    };
    let message = nonempty(check.message.as_deref()).map(str::to_owned);
    let mut details = json!({ "scanner": SCANNER, "check": rule_id, "level": level });
    insert_some(&mut details, "container", target.container);
    insert_some(&mut details, "message", message.clone());
    insert_some(
        &mut details,
        "category",
        nonempty(check.category.as_deref()),
    );
    insert_some(&mut details, "severity", word);
    match check.details {
        Some(Value::Array(items)) if !items.is_empty() => {
            insert_some(&mut details, "details", Some(Value::Array(items)));
        }
        Some(Value::String(text)) if !text.trim().is_empty() => {
            insert_some(&mut details, "details", Some(text));
        }
        _ => {}
    }
    b.finding(FindingRecord {
        fingerprint: Fingerprint::misconfiguration(&rule_id, &resource, "cluster"),
        kind: FindingKind::Misconfiguration,
        severity,
        title: message.unwrap_or_else(|| rule_id.clone()),
        vulnerability_id: None,
        component: None,
        rule_id: Some(rule_id),
        image: None,
        workload: Some(target.workload),
        in_cluster: true,
        resource: Some(resource),
        fixed_version: None,
        scope: target.scope,
        details: details.into(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        // the server crate, or the parser kit (which points at the server crate via BULWARK_SERVER)
        let dir = std::env::var("BULWARK_SERVER")
            .map(std::path::PathBuf::from)
            .unwrap_or(base.to_path_buf());
        std::fs::read(dir.join("tests/fixtures/polaris").join(name)).expect("fixture")
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
}
