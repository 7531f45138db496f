//! Findings and observations: the set-based merge of one report into the finding model.
//!
//! A report's findings are staged with `COPY` into a temporary table, then merged with a handful
//! of statements, never a round-trip per finding. The lifecycle is per scope (source + what the
//! report covers): an observation missing from the scope's newest report goes inactive, and a
//! finding with no active observation left is `fixed`; a fixed finding seen again is `reopened`.
//! An unchanged re-scan inserts nothing and updates no finding or observation row.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::db::copy::CopyIn;

/// One finding of a report, resolved to database ids.
#[derive(Debug)]
pub struct StagedFinding<'a> {
    /// 0 for fleet-wide assets, else the cluster.
    pub cluster_id: i64,
    /// Fingerprint bytes.
    pub fingerprint: &'a [u8; 32],
    /// Kind (`finding.kind`).
    pub kind: &'a str,
    /// Severity 0–4.
    pub severity: i16,
    /// Title.
    pub title: &'a str,
    /// Catalogue id.
    pub vulnerability_id: Option<&'a str>,
    /// Component id.
    pub component_id: Option<i64>,
    /// Rule id.
    pub rule_id: Option<&'a str>,
    /// Image id.
    pub image_id: Option<i64>,
    /// Resource.
    pub resource: Option<&'a str>,
    /// Fixed version.
    pub fixed_version: Option<&'a str>,
    /// Evidence for the observation, as JSON text.
    pub details: String,
}

/// What a merge did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MergeCounts {
    /// Distinct findings in the report.
    pub distinct: u64,
    /// Findings created.
    pub new: u64,
    /// Fixed findings seen again.
    pub reopened: u64,
    /// Findings of this scope no longer reported, now fixed.
    pub fixed: u64,
}

impl MergeCounts {
    /// Findings already known and still open (or decided) that this report confirms.
    pub fn unchanged(&self) -> u64 {
        self.distinct.saturating_sub(self.new + self.reopened)
    }
}

/// Merges the staged findings of `report_id` into scope `scope_id`.
#[tracing::instrument(skip_all, fields(scope_id, report_id, staged = staged.len()), err)]
pub async fn merge(
    conn: &mut PgConnection,
    scope_id: i64,
    report_id: i64,
    at: DateTime<Utc>,
    staged: &[StagedFinding<'_>],
) -> Result<MergeCounts, sqlx::Error> {
    sqlx::query(
        "create temp table stage_finding (
             ord integer not null, cluster_id bigint not null, fingerprint bytea not null,
             kind text not null, severity smallint not null, title text not null,
             vulnerability_id text, component_id bigint, rule_id text, image_id bigint,
             resource text, fixed_version text, details jsonb not null
         ) on commit drop",
    )
    .execute(&mut *conn)
    .await?;

    let mut copy = CopyIn::start(
        conn,
        "copy stage_finding (ord, cluster_id, fingerprint, kind, severity, title, vulnerability_id,
                             component_id, rule_id, image_id, resource, fixed_version, details)
         from stdin",
    )
    .await?;
    for (ord, f) in staged.iter().enumerate() {
        copy.int(Some(ord as i64))
            .int(Some(f.cluster_id))
            .bytes(f.fingerprint)
            .text(Some(f.kind))
            .int(Some(i64::from(f.severity)))
            .text(Some(f.title))
            .text(f.vulnerability_id)
            .int(f.component_id)
            .text(f.rule_id)
            .int(f.image_id)
            .text(f.resource)
            .text(f.fixed_version)
            .text(Some(&f.details));
        copy.end_row().await?;
    }
    copy.finish().await?;

    // New findings, inserted in fingerprint order so that concurrent reports touching the same
    // findings take their locks in the same order.
    let new = sqlx::query(
        "insert into finding (cluster_id, fingerprint, kind, severity, title, vulnerability_id,
                              component_id, rule_id, image_id, resource, fixed_version,
                              first_seen, status_changed_at)
         select distinct on (cluster_id, fingerprint)
                cluster_id, fingerprint, kind, severity, title, vulnerability_id, component_id,
                rule_id, image_id, resource, fixed_version, $1, $1
         from stage_finding
         order by cluster_id, fingerprint, ord
         on conflict (cluster_id, fingerprint) do nothing",
    )
    .bind(at)
    .execute(&mut *conn)
    .await?
    .rows_affected();

    // The report's findings by id, one row each, with their status before this report.
    let distinct = sqlx::query(
        "create temp table stage_matched on commit drop as
         select distinct on (f.cluster_id, f.id)
                f.cluster_id, f.id as finding_id, f.status, s.severity, s.details
         from stage_finding s
         join finding f on f.cluster_id = s.cluster_id and f.fingerprint = s.fingerprint
         order by f.cluster_id, f.id, s.ord",
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query("analyze stage_matched")
        .execute(&mut *conn)
        .await?;

    // First sighting by this scope.
    sqlx::query(
        "insert into observation (cluster_id, finding_id, scope_id, first_report_id,
                                  changed_report_id, first_seen, severity, details)
         select cluster_id, finding_id, $1, $2, $2, $3, severity, details
         from stage_matched
         order by cluster_id, finding_id
         on conflict (cluster_id, finding_id, scope_id) do nothing",
    )
    .bind(scope_id)
    .bind(report_id)
    .bind(at)
    .execute(&mut *conn)
    .await?;

    // Seen again by this scope after having gone.
    sqlx::query(
        "update observation o
         set active = true, gone_at = null, changed_report_id = $2, severity = m.severity,
             details = m.details
         from stage_matched m
         where o.scope_id = $1 and not o.active
           and o.cluster_id = m.cluster_id and o.finding_id = m.finding_id",
    )
    .bind(scope_id)
    .bind(report_id)
    .execute(&mut *conn)
    .await?;

    // Gone from this scope; fixed where no other scope still sees it. (The outer statement sees
    // the table as before the CTE, hence the explicit exclusion of this scope.)
    let fixed = sqlx::query(
        "with gone as (
             update observation o
             set active = false, gone_at = $3, changed_report_id = $2
             where o.scope_id = $1 and o.active
               and not exists (select 1 from stage_matched m
                               where m.cluster_id = o.cluster_id and m.finding_id = o.finding_id)
             returning o.cluster_id, o.finding_id
         )
         update finding f
         set status = 'fixed', fixed_at = $3, status_changed_at = $3
         from gone g
         where f.cluster_id = g.cluster_id and f.id = g.finding_id
           and f.status in ('open', 'reopened')
           and not exists (select 1 from observation o2
                           where o2.cluster_id = f.cluster_id and o2.finding_id = f.id
                             and o2.active and o2.scope_id <> $1)",
    )
    .bind(scope_id)
    .bind(report_id)
    .bind(at)
    .execute(&mut *conn)
    .await?
    .rows_affected();

    // Fixed findings that are back.
    let reopened = sqlx::query(
        "update finding f
         set status = 'reopened', fixed_at = null, status_changed_at = $1
         from stage_matched m
         where m.status = 'fixed' and f.cluster_id = m.cluster_id and f.id = m.finding_id",
    )
    .bind(at)
    .execute(&mut *conn)
    .await?
    .rows_affected();

    Ok(MergeCounts {
        distinct,
        new,
        reopened,
        fixed,
    })
}
