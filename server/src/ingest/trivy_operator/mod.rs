//! Aqua trivy-operator custom resources (`aquasecurity.github.io/v1alpha1`), as `kubectl get
//! -o json` prints them or as the operator's webhook sends them:
//!
//! - `VulnerabilityReport` / `ClusterVulnerabilityReport`: vulnerabilities of the image one
//!   container runs. Findings are about the image (fleet-wide, like a `trivy image` scan, with
//!   the same fingerprints); the workload is linked to the image.
//! - `ExposedSecretReport`: secrets found in that image (about the image as well).
//! - `ConfigAuditReport`, `InfraAssessmentReport` (and their `Cluster…` variants): failed checks
//!   become misconfiguration findings about the workload; `RbacAssessmentReport` /
//!   `ClusterRbacAssessmentReport`: rbac findings about the role.
//! - `ClusterComplianceReport`: one control result per control (from the detail report, else
//!   the summary report); failed controls also become control findings.
//!
//! Accepted layouts: one resource; a Kubernetes `List` (`items`); a JSON array of resources; a
//! dict of lists keyed by kind or CRD name (`{"vulnerabilityreports.aquasecurity.github.io":
//! [...]}`); and the webhook envelope `{"verb": "update", "operatorObject": {...}}` sent when
//! `OPERATOR_SEND_DELETED_REPORTS` is on. A `delete` notification ingests nothing (a deleted
//! report says nothing about whether its findings were fixed). Resources may lack `kind` and
//! `apiVersion` (typed objects marshalled by the webhook): the kind is then inferred from the
//! report's content.
//!
//! Skipped: `SbomReport` / `ClusterSbomReport` (inventory; send the CycloneDX SBOM instead),
//! other kinds (warning), passing checks (counted, not findings), scanner scores (the pipeline
//! scores CVSS vectors itself), the full secret match (only Trivy's redacted line, truncated).
//!
//! Lifecycle scopes: one per report kind, resource and container
//! (`VulnerabilityReport:<ns>/<kind>/<name>/<container>`, `ConfigAuditReport:<ns>/<kind>/<name>`,
//! `ClusterComplianceReport:<framework>`), declared even when the report is clean, so a report
//! about one workload never fixes another's findings.
//!
//! Schema reference: trivy-operator `pkg/apis/aquasecurity/v1alpha1/*_types.go` and
//! `pkg/webhook/webhookreporter.go`.
//!
//! Layout: `schema` (the serde structs), `envelope` (finding the resources and their kinds),
//! `reader` (workload and image reports into findings) and `compliance` (compliance reports into
//! control results).

mod compliance;
mod envelope;
mod reader;
mod schema;

use serde_json::value::RawValue;

use crate::ingest::model::{ParseError, ParsedReport, ReportBuilder, ReportKind};
use envelope::{Collected, kind_of};
use reader::Reader;
use schema::Resource;

const SCANNER: &str = "trivy-operator";
const API_GROUP: &str = "aquasecurity.github.io/";
/// How deeply lists, envelopes and dicts of lists may nest.
const MAX_DEPTH: usize = 4;
/// Failed targets kept in a control's details.
const MAX_TARGETS: usize = 20;
/// Characters of a (redacted) secret match kept in details.
const MAX_MATCH: usize = 120;

/// The report kinds this parser knows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Vulnerability,
    Secret,
    ConfigAudit,
    Infra,
    Rbac,
    Compliance,
    Sbom,
}

impl Kind {
    /// From a Kubernetes kind (with or without the `Cluster` prefix).
    fn from_name(kind: &str) -> Option<Kind> {
        let base = kind.strip_prefix("Cluster").unwrap_or(kind);
        match base {
            "VulnerabilityReport" | "NodeVulnerabilityReport" | "ImageVulnerabilityReport" => {
                Some(Kind::Vulnerability)
            }
            "ExposedSecretReport" => Some(Kind::Secret),
            "ConfigAuditReport" => Some(Kind::ConfigAudit),
            "InfraAssessmentReport" => Some(Kind::Infra),
            "RbacAssessmentReport" => Some(Kind::Rbac),
            "ComplianceReport" => Some(Kind::Compliance),
            "SbomReport" => Some(Kind::Sbom),
            _ => None,
        }
    }
}

/// Parses trivy-operator custom resources.
pub fn parse(bytes: &[u8]) -> Result<ParsedReport, ParseError> {
    let top: &RawValue =
        serde_json::from_slice(bytes).map_err(|e| ParseError::from_json("trivy-operator", &e))?;
    let mut collected = Collected::default();
    collected.top(top)?;

    // Decode every resource first: the report kind depends on what they all are.
    let mut resources = Vec::new();
    for (pointer, raw) in collected.objects {
        match serde_json::from_str::<Resource<'_>>(raw.get()) {
            Ok(resource) => resources.push((pointer, resource)),
            Err(e) => collected
                .warnings
                .push((pointer, format!("resource skipped: {e}"))),
        }
    }
    let kinds: Vec<Option<(Kind, String)>> = resources.iter().map(|(_, r)| kind_of(r)).collect();
    let only_controls = !kinds.is_empty()
        && kinds
            .iter()
            .all(|k| matches!(k, Some((Kind::Compliance, _))));
    let mut b = ReportBuilder::new(
        SCANNER,
        if only_controls {
            ReportKind::Controls
        } else {
            ReportKind::Findings
        },
    );
    for (pointer, message) in collected.warnings {
        b.warn(pointer, message);
    }
    let mut reader = Reader {
        b,
        latest: None,
        version: None,
        artifacts: Vec::new(),
    };
    for ((pointer, resource), kind) in resources.into_iter().zip(kinds) {
        match kind {
            Some((kind, name)) => reader.resource(&pointer, kind, &name, resource),
            None => reader.b.warn(
                pointer,
                format!(
                    "resource skipped: kind '{}' is not a trivy-operator report",
                    resource.kind.as_deref().unwrap_or("(none)")
                ),
            ),
        }
    }
    let Reader {
        mut b,
        latest,
        version,
        artifacts,
    } = reader;
    b.scanner_version(version);
    b.generated_at(latest);
    b.artifact(match artifacts.as_slice() {
        [] => None,
        [one] => Some(one.clone()),
        many => Some(format!("{} trivy-operator reports", many.len())),
    });
    Ok(b.finish())
}

#[cfg(test)]
mod tests;
