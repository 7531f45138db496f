//! The Kubescape JSON report (v2) as serde structs: the fields this parser reads, every one
//! optional. No reading logic lives here.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Report<'a> {
    pub(super) generation_time: Option<String>,
    pub(super) cluster_name: Option<String>,
    pub(super) metadata: Option<Metadata>,
    #[serde(borrow)]
    pub(super) summary_details: Option<SummaryDetails<'a>>,
    #[serde(borrow)]
    pub(super) resources: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    pub(super) results: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct Metadata {
    pub(super) target_metadata: Option<TargetMetadata>,
    pub(super) scan_metadata: Option<ScanMetadata>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct TargetMetadata {
    pub(super) git_repo_context_metadata: Option<GitRepoContext>,
    pub(super) file_context_metadata: Option<FileContext>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GitRepoContext {
    pub(super) repo: Option<String>,
    pub(super) local_root_path: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct FileContext {
    pub(super) file_path: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ScanMetadata {
    pub(super) kubescape_version: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct SummaryDetails<'a> {
    #[serde(borrow)]
    pub(super) controls: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(super) frameworks: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
pub(super) struct FrameworkSummary<'a> {
    pub(super) name: Option<String>,
    pub(super) version: Option<String>,
    #[serde(borrow)]
    pub(super) controls: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ControlSummary {
    #[serde(rename = "controlID")]
    pub(super) control_id: Option<String>,
    pub(super) name: Option<String>,
    pub(super) status: Option<Value>,
    pub(super) status_info: Option<StatusInfo>,
    pub(super) score_factor: Option<f64>,
    pub(super) base_score: Option<f64>,
    pub(super) score: Option<f64>,
    pub(super) compliance_score: Option<f64>,
    #[serde(rename = "ResourceCounters")]
    pub(super) resource_counters: Option<Counters>,
    pub(super) category: Option<Category>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StatusInfo {
    pub(super) status: Option<String>,
    pub(super) sub_status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Counters {
    pub(super) passed_resources: Option<i64>,
    pub(super) failed_resources: Option<i64>,
    pub(super) skipped_resources: Option<i64>,
    pub(super) excluded_resources: Option<i64>,
}

#[derive(Deserialize)]
pub(super) struct Category {
    pub(super) name: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ResourceEntry<'a> {
    #[serde(rename = "resourceID")]
    pub(super) resource_id: Option<String>,
    #[serde(borrow)]
    pub(super) object: Option<&'a RawValue>,
    pub(super) source: Option<Source>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Source {
    pub(super) relative_path: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Object {
    pub(super) kind: Option<String>,
    pub(super) metadata: Option<ObjectMeta>,
    pub(super) name: Option<String>,
    pub(super) namespace: Option<String>,
    pub(super) source_path: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ObjectMeta {
    pub(super) name: Option<String>,
    pub(super) namespace: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ResultEntry<'a> {
    #[serde(rename = "resourceID")]
    pub(super) resource_id: Option<String>,
    #[serde(borrow)]
    pub(super) controls: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
pub(super) struct ResourceControl {
    #[serde(rename = "controlID")]
    pub(super) control_id: Option<String>,
    pub(super) name: Option<String>,
    pub(super) status: Option<Value>,
    pub(super) rules: Option<Vec<Rule>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Rule {
    pub(super) name: Option<String>,
    pub(super) status: Option<String>,
    pub(super) paths: Option<Vec<Value>>,
    pub(super) failed_paths: Option<Vec<Value>>,
    pub(super) fix_paths: Option<Vec<Value>>,
}
