//! The normalized form every parser produces: assets, catalogue entries and finding records,
//! plus per-record warnings. The pipeline stores this; it never sees a scanner's own schema.

use app::model::Severity;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::component::Component;
use crate::domain::fingerprint::Fingerprint;
use crate::domain::image_ref::ImageRef;

/// A parsed report, ready to be stored.
#[derive(Debug, Default)]
pub struct ParsedReport {
    /// Scanner name (trivy, grype, ...).
    pub scanner: String,
    /// Scanner version, when the report says.
    pub scanner_version: Option<String>,
    /// What was scanned, as the report names it.
    pub artifact: Option<String>,
    /// When the scanner ran, when the report says.
    pub generated_at: Option<DateTime<Utc>>,
    /// Lifecycle scope: findings of this source missing from its newest report with the same
    /// scope are fixed. E.g. `image:<image key>`.
    pub scope: String,
    /// Images the report is about.
    pub images: Vec<ImageAsset>,
    /// Distinct packages referenced by findings.
    pub components: Vec<Component>,
    /// Catalogue entries for the vulnerabilities referenced by findings (one per id).
    pub vulnerabilities: Vec<VulnerabilityInfo>,
    /// The findings.
    pub findings: Vec<FindingRecord>,
    /// Records read, including those skipped with a warning and passing checks.
    pub record_count: usize,
    /// What could not be read, per record.
    pub warnings: Vec<Warning>,
}

/// An image named by a report.
#[derive(Debug, Clone)]
pub struct ImageAsset {
    /// Identity: manifest digest, else config digest, else "registry/repository:tag".
    pub key: String,
    /// Parsed reference.
    pub reference: ImageRef,
    /// Config digest (what `docker images` calls the image id).
    pub image_id: Option<String>,
    /// OS family (debian, alpine, ...).
    pub os_family: Option<String>,
    /// OS name/version ("12.4").
    pub os_name: Option<String>,
}

impl ImageAsset {
    /// Builds the asset, choosing its key.
    pub fn new(reference: ImageRef, image_id: Option<String>) -> ImageAsset {
        let key = reference
            .digest
            .clone()
            .or_else(|| image_id.clone())
            .unwrap_or_else(|| reference.name_with_tag());
        ImageAsset {
            key,
            reference,
            image_id,
            os_family: None,
            os_name: None,
        }
    }
}

/// A vulnerability as described by the report (merged into the catalogue).
#[derive(Debug, Clone, Default)]
pub struct VulnerabilityInfo {
    /// CVE-…, GHSA-…, …
    pub id: String,
    /// Other ids of the same vulnerability.
    pub aliases: Vec<String>,
    /// One-line title.
    pub title: Option<String>,
    /// Longer description.
    pub description: Option<String>,
    /// The scanner's severity.
    pub severity: Severity,
    /// The vector chosen for ranking.
    pub cvss_vector: Option<String>,
    /// Its base score.
    pub cvss_score: Option<f32>,
    /// Every vector by source, as JSON.
    pub cvss: serde_json::Value,
    /// CWE ids.
    pub cwe: Vec<String>,
    /// Publication date.
    pub published_at: Option<DateTime<Utc>>,
    /// Last modification date.
    pub modified_at: Option<DateTime<Utc>>,
    /// Reference URLs.
    pub references: Vec<String>,
}

/// Kinds of finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A vulnerable package.
    Vulnerability,
    /// A failed configuration check.
    Misconfiguration,
    /// An exposed secret.
    Secret,
    /// A risky RBAC permission.
    Rbac,
    /// A failed compliance control.
    Control,
    /// A runtime detection.
    Runtime,
}

impl FindingKind {
    /// The value stored in `finding.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Vulnerability => "vulnerability",
            FindingKind::Misconfiguration => "misconfiguration",
            FindingKind::Secret => "secret",
            FindingKind::Rbac => "rbac",
            FindingKind::Control => "control",
            FindingKind::Runtime => "runtime",
        }
    }
}

/// One finding as reported.
#[derive(Debug, Clone)]
pub struct FindingRecord {
    /// Identity of the problem on its asset.
    pub fingerprint: Fingerprint,
    /// Kind.
    pub kind: FindingKind,
    /// Severity as the scanner rates it.
    pub severity: Severity,
    /// One line for people.
    pub title: String,
    /// For vulnerabilities: the catalogue id.
    pub vulnerability_id: Option<String>,
    /// Index into [`ParsedReport::components`].
    pub component: Option<usize>,
    /// Rule, check or control id for the other kinds.
    pub rule_id: Option<String>,
    /// Index into [`ParsedReport::images`].
    pub image: Option<usize>,
    /// True when the asset lives in the sending token's cluster (a Kubernetes resource);
    /// false for fleet-wide assets such as images.
    pub in_cluster: bool,
    /// File, resource or target the finding points at.
    pub resource: Option<String>,
    /// Version that fixes it, if any.
    pub fixed_version: Option<String>,
    /// Scanner-specific evidence kept with the observation.
    pub details: serde_json::Value,
}

/// Something in the report that could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// JSON pointer (RFC 6901) to the record, e.g. `/Results/0/Vulnerabilities/3`.
    pub pointer: String,
    /// What was wrong and what was done about it.
    pub message: String,
}

/// Why a whole report was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct ParseError {
    /// Stable problem slug: `invalid-json`, `wrong-format`, `unsupported-version`, ...
    pub kind: &'static str,
    /// What is wrong, in words a person can act on.
    pub detail: String,
}

impl ParseError {
    /// A new error.
    pub fn new(kind: &'static str, detail: impl Into<String>) -> Self {
        ParseError {
            kind,
            detail: detail.into(),
        }
    }
}

/// Parses RFC 3339 timestamps as scanners write them; `None` for anything else.
pub fn parse_timestamp(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
