//! The trivy-operator custom resources as serde structs: the fields of
//! `pkg/apis/aquasecurity/v1alpha1/*_types.go` this parser reads, every one optional. No
//! reading logic lives here.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;

/// A custom resource, with the parts every kind shares.
#[derive(Deserialize)]
pub(super) struct Resource<'a> {
    #[serde(rename = "apiVersion")]
    pub(super) api_version: Option<String>,
    pub(super) kind: Option<String>,
    pub(super) metadata: Option<ObjectMeta>,
    #[serde(borrow)]
    pub(super) report: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(super) spec: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(super) status: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
pub(super) struct ObjectMeta {
    pub(super) name: Option<String>,
    pub(super) namespace: Option<String>,
    pub(super) labels: Option<HashMap<String, Option<String>>>,
    pub(super) annotations: Option<HashMap<String, Option<String>>>,
    #[serde(rename = "ownerReferences")]
    pub(super) owner_references: Option<Vec<OwnerReference>>,
}

#[derive(Deserialize)]
pub(super) struct OwnerReference {
    pub(super) kind: Option<String>,
    pub(super) name: Option<String>,
    pub(super) controller: Option<bool>,
}

/// `report` of the workload-level kinds (vulnerability, secret, config/infra/rbac reports).
#[derive(Deserialize)]
pub(super) struct ReportData<'a> {
    #[serde(rename = "updateTimestamp")]
    pub(super) update_timestamp: Option<String>,
    pub(super) scanner: Option<Scanner>,
    pub(super) registry: Option<Registry>,
    pub(super) artifact: Option<Artifact>,
    pub(super) os: Option<Os>,
    #[serde(borrow)]
    pub(super) vulnerabilities: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    pub(super) secrets: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    pub(super) checks: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    pub(super) components: Option<&'a RawValue>,
}

#[derive(Deserialize)]
pub(super) struct Scanner {
    pub(super) version: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Registry {
    pub(super) server: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Artifact {
    pub(super) repository: Option<String>,
    pub(super) tag: Option<String>,
    pub(super) digest: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Os {
    pub(super) family: Option<String>,
    pub(super) name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Vulnerability {
    #[serde(rename = "vulnerabilityID")]
    pub(super) vulnerability_id: Option<String>,
    pub(super) resource: Option<String>,
    pub(super) installed_version: Option<String>,
    pub(super) fixed_version: Option<String>,
    pub(super) published_date: Option<String>,
    pub(super) last_modified_date: Option<String>,
    pub(super) severity: Option<String>,
    pub(super) title: Option<String>,
    pub(super) description: Option<String>,
    pub(super) primary_link: Option<String>,
    pub(super) links: Option<Vec<String>>,
    pub(super) target: Option<String>,
    pub(super) cvss: Option<HashMap<String, Cvss>>,
    pub(super) class: Option<String>,
    pub(super) package_type: Option<String>,
    #[serde(alias = "pkgPath")]
    pub(super) package_path: Option<String>,
    #[serde(rename = "packagePURL", alias = "purl", alias = "pkgPURL")]
    pub(super) package_purl: Option<String>,
}

/// trivy-db's `types.CVSS`, per source.
#[derive(Deserialize)]
pub(super) struct Cvss {
    #[serde(rename = "V2Vector")]
    pub(super) v2_vector: Option<String>,
    #[serde(rename = "V3Vector")]
    pub(super) v3_vector: Option<String>,
    #[serde(rename = "V40Vector")]
    pub(super) v40_vector: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Secret {
    #[serde(rename = "ruleID")]
    pub(super) rule_id: Option<String>,
    pub(super) category: Option<String>,
    pub(super) severity: Option<String>,
    pub(super) title: Option<String>,
    pub(super) target: Option<String>,
    #[serde(rename = "match")]
    pub(super) matched: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Check {
    #[serde(rename = "checkID")]
    pub(super) check_id: Option<String>,
    pub(super) title: Option<String>,
    pub(super) description: Option<String>,
    pub(super) severity: Option<String>,
    pub(super) category: Option<String>,
    pub(super) messages: Option<Vec<String>>,
    pub(super) remediation: Option<String>,
    pub(super) target: Option<String>,
    /// Absent means failed, as Go's zero value.
    pub(super) success: Option<bool>,
}

#[derive(Deserialize, Default)]
pub(super) struct ComplianceSpecWrapper {
    pub(super) compliance: Option<ComplianceSpec>,
}

#[derive(Deserialize, Default)]
pub(super) struct ComplianceSpec {
    pub(super) id: Option<String>,
    pub(super) title: Option<String>,
    pub(super) version: Option<String>,
    pub(super) controls: Option<Vec<SpecControl>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SpecControl {
    pub(super) id: Option<String>,
    pub(super) name: Option<String>,
    pub(super) description: Option<String>,
    pub(super) severity: Option<String>,
    pub(super) checks: Option<Vec<SpecCheck>>,
    pub(super) default_status: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct SpecCheck {
    pub(super) id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct ComplianceStatus<'a> {
    pub(super) update_timestamp: Option<String>,
    #[serde(borrow)]
    pub(super) detail_report: Option<DetailReport<'a>>,
    #[serde(borrow)]
    pub(super) summary_report: Option<SummaryReport<'a>>,
}

#[derive(Deserialize)]
pub(super) struct DetailReport<'a> {
    pub(super) id: Option<String>,
    pub(super) title: Option<String>,
    pub(super) version: Option<String>,
    #[serde(borrow)]
    pub(super) results: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
pub(super) struct ControlCheckResult {
    pub(super) id: Option<String>,
    pub(super) name: Option<String>,
    pub(super) description: Option<String>,
    pub(super) severity: Option<String>,
    /// The control's default status (PASS, FAIL, WARN, MANUAL).
    pub(super) status: Option<String>,
    pub(super) checks: Option<Vec<Check>>,
}

#[derive(Deserialize)]
pub(super) struct SummaryReport<'a> {
    pub(super) id: Option<String>,
    pub(super) title: Option<String>,
    #[serde(rename = "controlCheck", borrow)]
    pub(super) control_check: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ControlCheckSummary {
    pub(super) id: Option<String>,
    pub(super) name: Option<String>,
    pub(super) severity: Option<String>,
    pub(super) total_fail: Option<i64>,
}
