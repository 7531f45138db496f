//! Reports (one row per accepted ingest) and the lifecycle scopes they advance.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// A report as first stored, returned again when the same bytes are re-sent.
#[derive(Debug, Clone)]
pub struct StoredReport {
    /// Report id.
    pub id: i64,
    /// Input format.
    pub format: String,
    /// Counts as computed at first ingest.
    pub counts: serde_json::Value,
    /// Warnings as given at first ingest.
    pub warnings: serde_json::Value,
}

/// The report this source already sent with these exact bytes, if any.
#[tracing::instrument(skip_all, fields(source_id), err)]
pub async fn find_by_digest(
    conn: &mut PgConnection,
    source_id: i64,
    digest: &[u8],
) -> Result<Option<StoredReport>, sqlx::Error> {
    sqlx::query_as!(
        StoredReport,
        "select id, format, counts, warnings from report where source_id = $1 and digest = $2",
        source_id,
        digest
    )
    .fetch_optional(conn)
    .await
}

/// A report about to be stored.
#[derive(Debug)]
pub struct NewReport<'a> {
    /// Sending source.
    pub source_id: i64,
    /// The token's cluster.
    pub cluster_id: Option<i64>,
    /// The token used.
    pub token_id: Option<i64>,
    /// Input format.
    pub format: &'a str,
    /// Report kind (findings, runtime, ...).
    pub kind: &'a str,
    /// Scanner name.
    pub scanner: Option<&'a str>,
    /// Scanner version.
    pub scanner_version: Option<&'a str>,
    /// What was scanned.
    pub artifact: Option<&'a str>,
    /// SHA-256 of the decoded body.
    pub digest: &'a [u8],
    /// Size of the decoded body.
    pub body_bytes: i64,
    /// When the scanner ran.
    pub generated_at: Option<DateTime<Utc>>,
}

/// Inserts the report; `None` if this source already sent the same bytes (the caller then
/// answers with the earlier report).
#[tracing::instrument(skip_all, fields(source_id = report.source_id), err)]
pub async fn insert(
    conn: &mut PgConnection,
    report: &NewReport<'_>,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into report (source_id, cluster_id, token_id, format, kind, scanner, scanner_version,
                             artifact, digest, body_bytes, generated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         on conflict (source_id, digest) do nothing
         returning id",
        report.source_id,
        report.cluster_id,
        report.token_id,
        report.format,
        report.kind,
        report.scanner,
        report.scanner_version,
        report.artifact,
        report.digest,
        report.body_bytes,
        report.generated_at
    )
    .fetch_optional(conn)
    .await
}

/// Records the outcome of the ingest on the report.
#[tracing::instrument(skip_all, fields(report_id), err)]
pub async fn finish(
    conn: &mut PgConnection,
    report_id: i64,
    scope_id: Option<i64>,
    record_count: i32,
    counts: &serde_json::Value,
    warnings: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update report set scope_id = $2, record_count = $3, counts = $4, warnings = $5
         where id = $1",
        report_id,
        scope_id,
        record_count,
        counts,
        warnings
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A lifecycle scope as its last report left it.
#[derive(Debug, Clone)]
pub struct ScopeState {
    /// scan_scope.id
    pub id: i64,
    /// Hash of what the scope's newest report said (see the pipeline).
    pub content_hash: Option<Vec<u8>>,
    /// Hash of the catalogue entries the scope's newest report brought.
    pub catalogue_hash: Option<Vec<u8>>,
    /// When the newest applied report was generated, per the scanner.
    pub last_generated_at: Option<DateTime<Utc>>,
}

/// The lifecycle scope `(source, scope)`, created if new, and locked until the transaction ends:
/// reports of one scope are applied one after the other.
#[tracing::instrument(skip_all, fields(source_id), err)]
pub async fn lock_scope(
    conn: &mut PgConnection,
    source_id: i64,
    scope: &str,
    cluster_id: Option<i64>,
) -> Result<ScopeState, sqlx::Error> {
    sqlx::query!(
        "insert into scan_scope (source_id, scope, cluster_id) values ($1, $2, $3)
         on conflict (source_id, scope) do nothing",
        source_id,
        scope,
        cluster_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query_as!(
        ScopeState,
        "select id, content_hash, catalogue_hash, last_generated_at from scan_scope
         where source_id = $1 and scope = $2 for update",
        source_id,
        scope
    )
    .fetch_one(conn)
    .await
}

/// Makes `report_id` the newest report of the scope, with the hash of what it said.
#[tracing::instrument(skip_all, fields(scope_id), err)]
pub async fn advance_scope(
    conn: &mut PgConnection,
    scope_id: i64,
    report_id: i64,
    at: DateTime<Utc>,
    content_hash: &[u8],
    catalogue_hash: &[u8],
    generated_at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update scan_scope
         set last_report_id = $2, last_seen_at = $3, content_hash = $4, catalogue_hash = $5,
             last_generated_at = greatest(last_generated_at, $6)
         where id = $1",
        scope_id,
        report_id,
        at,
        content_hash,
        catalogue_hash,
        generated_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The clock of lifecycle writes (`bulwark_now()`: the transaction's `now()` unless the demo set
/// `bulwark.now`), which column defaults use too: rows written with it match rows that leave
/// the column out.
pub async fn transaction_time(conn: &mut PgConnection) -> Result<DateTime<Utc>, sqlx::Error> {
    sqlx::query_scalar!(r#"select bulwark_now() as "now!""#)
        .fetch_one(conn)
        .await
}

/// Sets the clock of lifecycle writes (`bulwark_now()`) to `at` until the transaction ends:
/// the demo fleet dates its history this way. Call it first in the transaction.
pub async fn set_clock(conn: &mut PgConnection, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!(
        r#"select set_config('bulwark.now', $1, true) as "set!""#,
        at.to_rfc3339()
    )
    .fetch_one(conn)
    .await?;
    Ok(())
}
