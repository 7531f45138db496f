//! The normalized report every parser produces: assets, catalogue entries, finding records,
//! runtime events, control results and VEX statements, plus per-record warnings. The pipeline
//! stores this and the database layer writes it; neither ever sees a scanner's own schema.
//!
//! Pure data: parsers build it with `ingest::model::ReportBuilder`, which deduplicates and
//! keeps the bookkeeping; nothing here reads bytes or touches the database.

use app::model::Severity;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::component::Component;
use crate::domain::fingerprint::Fingerprint;
use crate::domain::image_ref::ImageRef;

/// What a report mainly carries (stored on the report row).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Vulnerabilities, misconfigurations, secrets.
    #[default]
    Findings,
    /// Runtime detections.
    Runtime,
    /// Audit and compliance control results.
    Controls,
    /// A software bill of materials.
    Inventory,
    /// Exploitability statements.
    Vex,
}

impl ReportKind {
    /// The value stored in `report.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Findings => "findings",
            ReportKind::Runtime => "runtime",
            ReportKind::Controls => "controls",
            ReportKind::Inventory => "inventory",
            ReportKind::Vex => "vex",
        }
    }
}

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
    /// What the report mainly carries.
    pub kind: ReportKind,
    /// Lifecycle scopes the report covers, e.g. `image:<key>` or
    /// `workload:<namespace>/<kind>/<name>/<container>`. A finding of this source missing from
    /// the newest report of the same scope is fixed. A scope may have no findings (a clean
    /// scan fixes everything it had).
    pub scopes: Vec<String>,
    /// Images the report is about.
    pub images: Vec<ImageAsset>,
    /// Kubernetes workloads (and other resources) the report is about.
    pub workloads: Vec<WorkloadAsset>,
    /// Which workload runs which image (in which container), as far as the report says.
    pub links: Vec<WorkloadImage>,
    /// The cluster the report says it describes (`trivy k8s` ClusterName, ...). Used when the
    /// sending token is not bound to a cluster.
    pub cluster_name: Option<String>,
    /// Distinct packages referenced by findings.
    pub components: Vec<Component>,
    /// Catalogue entries for the vulnerabilities referenced by findings (one per id).
    pub vulnerabilities: Vec<VulnerabilityInfo>,
    /// The findings.
    pub findings: Vec<FindingRecord>,
    /// Runtime detections (Falco and friends). They never fix anything.
    pub events: Vec<RuntimeEventRecord>,
    /// Results of compliance controls.
    pub controls: Vec<ControlResultRecord>,
    /// VEX statements.
    pub vex: Vec<VexStatement>,
    /// Records read, including those skipped with a warning and passing checks.
    pub record_count: usize,
    /// What could not be read, per record.
    pub warnings: Vec<Warning>,
}

/// An image named by a report.
#[derive(Debug, Clone, PartialEq)]
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

/// A Kubernetes resource a report is about (Deployment, DaemonSet, Pod, Role, Node, ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorkloadAsset {
    /// Namespace; empty for cluster-scoped resources.
    pub namespace: String,
    /// Kind as Kubernetes spells it.
    pub kind: String,
    /// Name.
    pub name: String,
}

impl WorkloadAsset {
    /// `namespace/kind/name`, the resource's identity within its cluster.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.namespace, self.kind, self.name)
    }
}

/// A workload runs an image.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorkloadImage {
    /// Index into [`ParsedReport::workloads`].
    pub workload: usize,
    /// Index into [`ParsedReport::images`].
    pub image: usize,
    /// Container name, when the report gives it.
    pub container: Option<String>,
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
    /// Every CVSS vector the report gives, with its source ("nvd", "ghsa", "redhat", ...).
    pub cvss_vectors: Vec<(String, String)>,
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

    /// The kind stored as `value` in `finding.kind`.
    pub fn parse(value: &str) -> Option<FindingKind> {
        [
            FindingKind::Vulnerability,
            FindingKind::Misconfiguration,
            FindingKind::Secret,
            FindingKind::Rbac,
            FindingKind::Control,
            FindingKind::Runtime,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == value)
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
    /// Index into [`ParsedReport::workloads`].
    pub workload: Option<usize>,
    /// True when the asset lives in the sending token's cluster (a Kubernetes resource, a
    /// node, the cluster itself); false for fleet-wide assets such as images.
    pub in_cluster: bool,
    /// File, resource or target the finding points at.
    pub resource: Option<String>,
    /// Version that fixes it, if any.
    pub fixed_version: Option<String>,
    /// Index into [`ParsedReport::scopes`].
    pub scope: usize,
    /// Scanner-specific evidence kept with the observation.
    pub details: Details,
}

/// A finding's evidence as compact JSON text: a report holds one per finding, and as a tree
/// each would cost several times its text (a map node and an allocation per key and value).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details(String);

impl Details {
    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The evidence as a JSON tree again.
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or_default()
    }
}

impl Details {
    /// The JSON text of `value` (a struct of the evidence, say: no tree in between).
    pub fn of(value: &impl serde::Serialize) -> Details {
        Details(serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned()))
    }
}

impl From<serde_json::Value> for Details {
    fn from(value: serde_json::Value) -> Self {
        Details(value.to_string())
    }
}

impl std::fmt::Display for Details {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A runtime detection (one Falco alert, say).
#[derive(Debug, Clone, Default)]
pub struct RuntimeEventRecord {
    /// When it happened.
    pub time: DateTime<Utc>,
    /// Rule that fired.
    pub rule: String,
    /// Syslog priority: 0 emergency … 7 debug.
    pub priority: i16,
    /// Event source (syscall, k8s_audit, ...).
    pub source: Option<String>,
    /// Host that saw it.
    pub hostname: Option<String>,
    /// Kubernetes namespace.
    pub namespace: Option<String>,
    /// Pod name.
    pub pod: Option<String>,
    /// Container id.
    pub container_id: Option<String>,
    /// Container name.
    pub container_name: Option<String>,
    /// Image reference as the agent saw it.
    pub image: Option<String>,
    /// Process name or command line.
    pub process: Option<String>,
    /// The human-readable alert line.
    pub output: Option<String>,
    /// Rule tags (MITRE ids, ...).
    pub tags: Vec<String>,
    /// Every other field the agent sent.
    pub fields: serde_json::Value,
}

/// Status of a compliance control.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlStatus {
    /// Passed.
    Pass,
    /// Failed.
    Fail,
    /// Needs attention (kube-bench WARN).
    Warn,
    /// Informational.
    Info,
    /// Needs a manual check.
    Manual,
    /// Not evaluated.
    Skip,
}

impl ControlStatus {
    /// The value stored in `control_result.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            ControlStatus::Pass => "pass",
            ControlStatus::Fail => "fail",
            ControlStatus::Warn => "warn",
            ControlStatus::Info => "info",
            ControlStatus::Manual => "manual",
            ControlStatus::Skip => "skip",
        }
    }
}

/// One evaluation of one control.
#[derive(Debug, Clone)]
pub struct ControlResultRecord {
    /// Framework id (`cis-kubernetes`, `nsa-cisa`, `k8s-pss-baseline`, ...).
    pub framework_id: String,
    /// Framework display name.
    pub framework_name: String,
    /// Framework version, when known.
    pub framework_version: Option<String>,
    /// Control id within the framework ("1.2.1", "C-0013").
    pub control_id: String,
    /// Control title.
    pub title: String,
    /// Section or group the control belongs to.
    pub section: Option<String>,
    /// Severity of the control.
    pub severity: Severity,
    /// Outcome.
    pub status: ControlStatus,
    /// Checks evaluated for the control, when counted.
    pub total_checks: Option<i32>,
    /// Checks that failed.
    pub failed_checks: Option<i32>,
    /// Evidence: remediation, node, resources, ...
    pub details: serde_json::Value,
}

/// What a VEX statement says about a vulnerability in a product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VexStatus {
    /// The product is not affected: matching findings are suppressed.
    NotAffected,
    /// The product is affected.
    Affected,
    /// The product contains a fix: matching findings are suppressed.
    Fixed,
    /// Not yet known.
    UnderInvestigation,
}

impl VexStatus {
    /// The value stored in `vex_statement.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            VexStatus::NotAffected => "not_affected",
            VexStatus::Affected => "affected",
            VexStatus::Fixed => "fixed",
            VexStatus::UnderInvestigation => "under_investigation",
        }
    }
}

/// One VEX statement: a vulnerability, the products it is about, and the verdict.
#[derive(Debug, Clone)]
pub struct VexStatement {
    /// The vulnerability (CVE, GHSA, ...).
    pub vulnerability_id: String,
    /// Component the statement is about, when it names a package (its [`Component::key`]).
    pub component_key: Option<String>,
    /// Image the statement is about, when it names one (its [`ImageAsset::key`]).
    pub image_key: Option<String>,
    /// The verdict.
    pub status: VexStatus,
    /// Why (e.g. `vulnerable_code_not_in_execute_path`).
    pub justification: Option<String>,
    /// Free text.
    pub statement: Option<String>,
    /// When the statement was made.
    pub issued_at: Option<DateTime<Utc>>,
}

/// Something in the report that could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// JSON pointer (RFC 6901) to the record, e.g. `/Results/0/Vulnerabilities/3`, or
    /// `line 12` for line-oriented formats.
    pub pointer: String,
    /// What was wrong and what was done about it.
    pub message: String,
}
