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

use crate::ingest::model::{escape_pointer, insert_some, nonempty};
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
        let check_at = format!("{at}/{}", escape_pointer(&name));
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
mod tests;
