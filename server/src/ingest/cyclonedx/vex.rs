//! The VEX side of a CycloneDX vulnerability: its `analysis.state` as a VEX status and the
//! statement that declares it about a component (or the subject image). The finding itself is
//! recorded in [`super::vulnerabilities`] whatever the state; the pipeline suppresses it.

use chrono::{DateTime, Utc};

use super::schema::Analysis;
use crate::ingest::model::{ReportBuilder, VexStatement, VexStatus, parse_timestamp};

/// The status `analysis.state` declares: not_affected/false_positive → not_affected,
/// resolved → fixed, exploitable → affected, in_triage → under_investigation. A state that is
/// none of these is a warning and declares nothing.
pub(super) fn status_of(
    b: &mut ReportBuilder,
    at: &str,
    analysis: Option<&Analysis>,
) -> Option<VexStatus> {
    let state = analysis.and_then(|a| a.state.as_deref())?;
    let status = vex_status(state);
    if status.is_none() {
        b.warn(
            at,
            format!("analysis state '{state}' is not recognised; no VEX statement"),
        );
    }
    status
}

/// When the analysis was issued: its last update, else its first issue, else the
/// vulnerability's `updated`, else its `published`.
pub(super) fn issued_at(
    analysis: Option<&Analysis>,
    updated: Option<&str>,
    published: Option<&str>,
) -> Option<DateTime<Utc>> {
    analysis
        .and_then(|a| a.last_updated.as_deref().or(a.first_issued.as_deref()))
        .or(updated)
        .or(published)
        .and_then(parse_timestamp)
}

/// What a statement says besides its subject: the vulnerability, status and analysis.
pub(super) struct Declaration<'a> {
    pub(super) vulnerability_id: &'a str,
    pub(super) image_key: Option<&'a str>,
    pub(super) status: VexStatus,
    pub(super) analysis: Option<&'a Analysis>,
    pub(super) issued_at: Option<DateTime<Utc>>,
}

impl Declaration<'_> {
    /// The statement about `component_key` (`None`: about the subject image itself).
    pub(super) fn about(&self, component_key: Option<String>) -> VexStatement {
        VexStatement {
            vulnerability_id: self.vulnerability_id.to_owned(),
            component_key,
            image_key: self.image_key.map(str::to_owned),
            status: self.status,
            justification: self.analysis.and_then(|a| a.justification.clone()),
            statement: self.analysis.and_then(|a| a.detail.clone()),
            issued_at: self.issued_at,
        }
    }
}

fn vex_status(state: &str) -> Option<VexStatus> {
    match state.trim().to_ascii_lowercase().as_str() {
        "not_affected" | "false_positive" => Some(VexStatus::NotAffected),
        "resolved" | "resolved_with_pedigree" => Some(VexStatus::Fixed),
        "exploitable" => Some(VexStatus::Affected),
        "in_triage" => Some(VexStatus::UnderInvestigation),
        _ => None,
    }
}
