//! The Trivy JSON schema as serde structs: the documented fields this parser reads (Trivy's
//! `pkg/types/report.go` and `pkg/k8s/report`; JSON names are the Go field names), every one
//! optional. No reading logic lives here: what a field means for the report is decided in
//! [`super::envelope`] and [`super::reader`].

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;

/// A report; its results are read in the same pass (`R` = [`ResultEntry`]) or kept raw to be
/// read one by one (`R` = `&RawValue`), which turns a malformed result into a warning.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Report<'a, R> {
    pub(super) schema_version: Option<i64>,
    pub(super) artifact_name: Option<String>,
    pub(super) artifact_type: Option<String>,
    pub(super) created_at: Option<String>,
    pub(super) metadata: Option<Metadata>,
    pub(super) trivy: Option<TrivyInfo>,
    pub(super) results: Option<Vec<R>>,
    // `trivy k8s`
    pub(super) cluster_name: Option<String>,
    #[serde(borrow)]
    pub(super) resources: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    pub(super) vulnerabilities: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    pub(super) misconfigurations: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct TrivyInfo {
    pub(super) version: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Metadata {
    #[serde(rename = "OS")]
    pub(super) os: Option<Os>,
    #[serde(rename = "ImageID")]
    pub(super) image_id: Option<String>,
    pub(super) repo_tags: Option<Vec<String>>,
    pub(super) repo_digests: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Os {
    pub(super) family: Option<String>,
    pub(super) name: Option<String>,
}

/// Trivy writes a resource's `Metadata` as one object in some versions, a list in others.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<T> OneOrMany<T> {
    pub(super) fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::Many(items) => items,
            OneOrMany::One(item) => vec![item],
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Resource<'a> {
    pub(super) namespace: Option<String>,
    pub(super) kind: Option<String>,
    pub(super) name: Option<String>,
    pub(super) metadata: Option<OneOrMany<Metadata>>,
    #[serde(borrow)]
    pub(super) results: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ResultEntry<'a> {
    pub(super) target: Option<String>,
    pub(super) class: Option<String>,
    #[serde(rename = "Type")]
    pub(super) kind: Option<String>,
    #[serde(borrow)]
    pub(super) vulnerabilities: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    pub(super) misconfigurations: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    pub(super) secrets: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Vulnerability {
    #[serde(rename = "VulnerabilityID")]
    pub(super) vulnerability_id: String,
    pub(super) pkg_name: Option<String>,
    pub(super) pkg_path: Option<String>,
    pub(super) pkg_identifier: Option<PkgIdentifier>,
    pub(super) installed_version: Option<String>,
    pub(super) fixed_version: Option<String>,
    pub(super) status: Option<String>,
    pub(super) severity: Option<String>,
    #[serde(rename = "PrimaryURL")]
    pub(super) primary_url: Option<String>,
    pub(super) title: Option<String>,
    pub(super) layer: Option<Layer>,
}

/// The catalogue part of a vulnerability record: read once per vulnerability id (a report
/// repeats it for every package it affects), skipped for the repeats.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub(super) struct VulnerabilityCatalogue {
    pub(super) description: Option<String>,
    #[serde(rename = "CweIDs")]
    pub(super) cwe_ids: Option<Vec<String>>,
    #[serde(rename = "CVSS")]
    pub(super) cvss: Option<HashMap<String, Cvss>>,
    pub(super) references: Option<Vec<String>>,
    pub(super) published_date: Option<String>,
    pub(super) last_modified_date: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct PkgIdentifier {
    #[serde(rename = "PURL")]
    pub(super) purl: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Layer {
    pub(super) digest: Option<String>,
    #[serde(rename = "DiffID")]
    pub(super) diff_id: Option<String>,
}

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
#[serde(rename_all = "PascalCase")]
pub(super) struct Misconfiguration {
    #[serde(rename = "ID")]
    pub(super) id: Option<String>,
    #[serde(rename = "AVDID")]
    pub(super) avd_id: Option<String>,
    pub(super) title: Option<String>,
    pub(super) description: Option<String>,
    pub(super) message: Option<String>,
    pub(super) resolution: Option<String>,
    pub(super) severity: Option<String>,
    #[serde(rename = "PrimaryURL")]
    pub(super) primary_url: Option<String>,
    pub(super) status: Option<String>,
    pub(super) cause_metadata: Option<CauseMetadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct CauseMetadata {
    pub(super) resource: Option<String>,
    pub(super) start_line: Option<i64>,
    pub(super) end_line: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Secret {
    #[serde(rename = "RuleID")]
    pub(super) rule_id: String,
    pub(super) category: Option<String>,
    pub(super) severity: Option<String>,
    pub(super) title: Option<String>,
    pub(super) start_line: Option<i64>,
    pub(super) end_line: Option<i64>,
    #[serde(rename = "Match")]
    pub(super) matched: Option<String>,
}
