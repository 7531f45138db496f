//! Stores one parsed report in one transaction: the report row, the assets, the catalogue,
//! the findings and their lifecycle. On any error nothing of the report remains. A transaction
//! that loses a deadlock against a concurrent report is retried from the start.

use chrono::Utc;
use serde::Serialize;
use serde_json::json;
use sqlx::PgPool;

use crate::db;
use crate::db::findings::StagedFinding;
use crate::db::reports::{NewReport, StoredReport};
use crate::db::tokens::IngestIdentity;
use crate::error::ApiError;
use crate::ingest::Format;
use crate::ingest::model::{ParsedReport, Warning};

/// How often a transaction that hit a deadlock is tried again.
const ATTEMPTS: usize = 3;

/// The answer to an ingest.
#[derive(Debug, Clone, Serialize)]
pub struct IngestOutcome {
    /// The report's id (the first report's, for a re-send).
    pub report_id: i64,
    /// The format it was read as.
    pub format: String,
    /// True when these exact bytes had been sent before and nothing changed.
    pub duplicate: bool,
    /// What the report did.
    pub counts: Counts,
    /// Records that could not be read.
    pub warnings: serde_json::Value,
}

/// What a report did to the findings.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Counts {
    /// Records read (findings, passing checks, skipped records).
    pub records: u64,
    /// Findings in the report (after merging duplicates within it).
    pub received: u64,
    /// Findings created.
    pub new: u64,
    /// Known findings confirmed.
    pub unchanged: u64,
    /// Findings no longer reported by this source and scope, now fixed.
    pub fixed: u64,
    /// Fixed findings reported again.
    pub reopened: u64,
    /// Findings suppressed by VEX statements.
    pub suppressed: u64,
}

impl IngestOutcome {
    /// The answer for a byte-identical re-send: the first report, unchanged.
    pub fn replay(report: StoredReport) -> IngestOutcome {
        IngestOutcome {
            report_id: report.id,
            format: report.format,
            duplicate: true,
            counts: serde_json::from_value(report.counts).unwrap_or_default(),
            warnings: report.warnings,
        }
    }
}

/// Stores `parsed` for `identity`.
#[tracing::instrument(skip_all, fields(findings = parsed.findings.len()), err)]
pub async fn store(
    pool: &PgPool,
    identity: &IngestIdentity,
    format: Format,
    digest: &[u8; 32],
    body_bytes: usize,
    parsed: ParsedReport,
) -> Result<IngestOutcome, ApiError> {
    let mut attempt = 1;
    loop {
        match try_store(pool, identity, format, digest, body_bytes, &parsed).await {
            Err(error) if attempt < ATTEMPTS && db::is_transient(&error) => {
                tracing::warn!(%error, attempt, "ingest transaction retried");
                attempt += 1;
            }
            other => return other.map_err(ApiError::from),
        }
    }
}

async fn try_store(
    pool: &PgPool,
    identity: &IngestIdentity,
    format: Format,
    digest: &[u8; 32],
    body_bytes: usize,
    parsed: &ParsedReport,
) -> Result<IngestOutcome, sqlx::Error> {
    let now = Utc::now();
    let mut tx = pool.begin().await?;

    let new_report = NewReport {
        source_id: identity.source_id,
        cluster_id: identity.cluster_id,
        token_id: Some(identity.token_id),
        format: format.as_str(),
        kind: "findings",
        scanner: Some(&parsed.scanner),
        scanner_version: parsed.scanner_version.as_deref(),
        artifact: parsed.artifact.as_deref(),
        digest,
        body_bytes: i64::try_from(body_bytes).unwrap_or(i64::MAX),
        generated_at: parsed.generated_at,
    };
    let Some(report_id) = db::reports::insert(&mut tx, &new_report).await? else {
        // The same bytes arrived concurrently and were stored first: answer with that report.
        tx.rollback().await?;
        let mut conn = pool.acquire().await?;
        let existing = db::reports::find_by_digest(&mut conn, identity.source_id, digest)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        return Ok(IngestOutcome::replay(existing));
    };

    let image_ids = db::estate::upsert_images(&mut tx, &parsed.images).await?;
    if let Some(cluster_id) = identity.cluster_id {
        db::estate::link_cluster_images(&mut tx, cluster_id, &image_ids).await?;
        db::estate::touch_cluster(&mut tx, cluster_id).await?;
    }
    db::catalogue::upsert_vulnerabilities(&mut tx, &parsed.vulnerabilities).await?;
    let component_ids = db::catalogue::upsert_components(&mut tx, &parsed.components).await?;

    let scope_id = db::reports::lock_scope(
        &mut tx,
        identity.source_id,
        &parsed.scope,
        identity.cluster_id,
    )
    .await?;
    let cluster_of_resources = identity.cluster_id.unwrap_or(0);
    let staged: Vec<StagedFinding<'_>> = parsed
        .findings
        .iter()
        .map(|f| StagedFinding {
            cluster_id: if f.in_cluster {
                cluster_of_resources
            } else {
                0
            },
            fingerprint: &f.fingerprint.0,
            kind: f.kind.as_str(),
            severity: f.severity.as_i16(),
            title: &f.title,
            vulnerability_id: f.vulnerability_id.as_deref(),
            component_id: f.component.and_then(|i| component_ids.get(i).copied()),
            rule_id: f.rule_id.as_deref(),
            image_id: f.image.and_then(|i| image_ids.get(i).copied()),
            resource: f.resource.as_deref(),
            fixed_version: f.fixed_version.as_deref(),
            details: f.details.to_string(),
        })
        .collect();
    let merged = db::findings::merge(&mut tx, scope_id, report_id, now, &staged).await?;

    let counts = Counts {
        records: parsed.record_count as u64,
        received: merged.distinct,
        new: merged.new,
        unchanged: merged.unchanged(),
        fixed: merged.fixed,
        reopened: merged.reopened,
        suppressed: 0,
    };
    let counts_json = serde_json::to_value(&counts).unwrap_or_else(|_| json!({}));
    let warnings = warnings_json(&parsed.warnings);
    let record_count = i32::try_from(parsed.record_count).unwrap_or(i32::MAX);
    db::reports::finish(
        &mut tx,
        report_id,
        scope_id,
        record_count,
        &counts_json,
        &warnings,
    )
    .await?;
    db::reports::advance_scope(&mut tx, scope_id, report_id, now).await?;
    tx.commit().await?;

    Ok(IngestOutcome {
        report_id,
        format: format.as_str().to_owned(),
        duplicate: false,
        counts,
        warnings,
    })
}

/// At most this many warnings are kept on a report; the rest are summarised.
const MAX_WARNINGS: usize = 1000;

fn warnings_json(warnings: &[Warning]) -> serde_json::Value {
    let mut list: Vec<serde_json::Value> = warnings
        .iter()
        .take(MAX_WARNINGS)
        .map(|w| json!({ "pointer": w.pointer, "message": w.message }))
        .collect();
    if warnings.len() > MAX_WARNINGS {
        list.push(json!({
            "pointer": "",
            "message": format!("{} more warnings not shown", warnings.len() - MAX_WARNINGS),
        }));
    }
    serde_json::Value::Array(list)
}
