//! The findings export's SQL: every finding a checked explorer filter ([`Criteria`]) selects,
//! with the columns of the CSV export ([`crate::export`]), in the explorer's order, as a stream.
//!
//! The conditions are the explorer's own ([`explorer::push_conditions`]), so the export holds
//! exactly the rows the explorer counts. The order is written here for the three sorts (the
//! explorer's `push_order` is private and also places keyset pages, which an export has none
//! of); it is the explorer's order, so the file reads top to bottom as the page does.
//!
//! What does not belong here: CSV formatting and HTTP (in [`crate::export`]); checking the
//! filter (in [`explorer::check`]).

use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Row, Transaction};

use super::explorer::{self, Criteria};

/// One exported finding, as read from the database.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportRow {
    /// The cluster's name (`None` for a fleet-level finding).
    pub cluster: Option<String>,
    /// The cluster's id (0 for a fleet-level finding).
    pub cluster_id: i64,
    /// The finding's id within its cluster.
    pub id: i64,
    /// Risk score 0–100, when scored.
    pub risk: Option<i16>,
    /// Severity 0 (unknown) – 4 (critical).
    pub severity: i16,
    /// Status as stored (`open`, `reopened`, `accepted`, …).
    pub status: String,
    /// Kind as stored (`vulnerability`, `misconfiguration`, …).
    pub kind: String,
    /// The vulnerability id, for a vulnerability.
    pub vulnerability: Option<String>,
    /// The finding's title.
    pub title: String,
    /// The affected package's name.
    pub package: Option<String>,
    /// The installed version of that package.
    pub installed: Option<String>,
    /// The version that fixes it.
    pub fixed: Option<String>,
    /// `repository:tag` of the image.
    pub image: Option<String>,
    /// The namespace's name.
    pub namespace: Option<String>,
    /// `Kind/name` of the workload.
    pub workload: Option<String>,
    /// The resource or file the finding points at.
    pub resource: Option<String>,
    /// When the finding was first seen.
    pub first_seen: DateTime<Utc>,
    /// Whether the vulnerability is in CISA KEV.
    pub kev: bool,
    /// The vulnerability's EPSS score (0–1), when known.
    pub epss: Option<f32>,
}

const COLUMNS: &str = "select c.name as cluster, f.cluster_id, f.id, f.risk_score, f.severity,
           f.status, f.kind, f.vulnerability_id, f.title,
           co.name as package, co.version as installed, f.fixed_version,
           i.repository || coalesce(':' || i.tag, '') as image,
           n.name as namespace, w.kind || '/' || w.name as workload, f.resource, f.first_seen,
           k.cve_id is not null as kev, e.score as epss
    from finding f
    left join cluster c on c.id = f.cluster_id
    left join component co on co.id = f.component_id
    left join image i on i.id = f.image_id
    left join namespace n on n.cluster_id = f.cluster_id and n.id = f.namespace_id
    left join workload w on w.cluster_id = f.cluster_id and w.id = f.workload_id
    left join intel_kev k on k.cve_id = f.vulnerability_id
    left join intel_epss e on e.cve_id = f.vulnerability_id
    where true";

/// A pooled connection in a repeatable-read, read-only transaction: the export and the check
/// of its filter read one snapshot, however long the client takes to download.
pub async fn snapshot(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    pool.begin_with("begin isolation level repeatable read, read only")
        .await
}

/// The statement that selects every finding of `criteria`, in its order. Keyset positions and
/// groupings in the criteria are not applied: an export is the whole selection.
pub fn query(criteria: &Criteria) -> QueryBuilder<'static, Postgres> {
    let mut qb = QueryBuilder::new(COLUMNS);
    explorer::push_conditions(&mut qb, criteria);
    qb.push(explorer::order_by(criteria.sort));
    qb
}

fn row_of(r: &sqlx::postgres::PgRow) -> Result<ExportRow, sqlx::Error> {
    Ok(ExportRow {
        cluster: r.try_get("cluster")?,
        cluster_id: r.try_get("cluster_id")?,
        id: r.try_get("id")?,
        risk: r.try_get("risk_score")?,
        severity: r.try_get("severity")?,
        status: r.try_get("status")?,
        kind: r.try_get("kind")?,
        vulnerability: r.try_get("vulnerability_id")?,
        title: r.try_get("title")?,
        package: r.try_get("package")?,
        installed: r.try_get("installed")?,
        fixed: r.try_get("fixed_version")?,
        image: r.try_get("image")?,
        namespace: r.try_get("namespace")?,
        workload: r.try_get("workload")?,
        resource: r.try_get("resource")?,
        first_seen: r.try_get("first_seen")?,
        kev: r.try_get("kev")?,
        epss: r.try_get("epss")?,
    })
}

/// The rows of `query` (from [`query`]) one by one as the database sends them; nothing is
/// collected. The connection is busy until the stream ends or is dropped.
pub fn rows<'a>(
    conn: &'a mut PgConnection,
    query: &'a mut QueryBuilder<'static, Postgres>,
) -> impl Stream<Item = Result<ExportRow, sqlx::Error>> + Send + 'a {
    query
        .build()
        .fetch(conn)
        .map(|row| row.and_then(|r| row_of(&r)))
}
