//! Findings, observations and decisions: the set-based merge of one report into the finding
//! model, and triage decisions.
//!
//! A report's findings are staged with `COPY` into a temporary table, then merged with a handful
//! of statements, never a round-trip per finding. The lifecycle is per scope (source + what a
//! report covers): an observation missing from the scope's newest report goes inactive, and a
//! finding with no active observation left is `fixed`. A fixed finding seen again is `reopened`,
//! unless a decision in force (an acceptance that has not expired, a false positive, a VEX
//! statement) applies again. Decisions live in `finding_decision`; `finding.status` reflects the
//! one in force.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::db::copy::CopyIn;

/// One finding of a report, resolved to database ids.
#[derive(Debug)]
pub struct StagedFinding<'a> {
    /// Lifecycle scope (scan_scope.id).
    pub scope_id: i64,
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
    /// Component key (for VEX matching).
    pub component_key: Option<&'a str>,
    /// Rule id.
    pub rule_id: Option<&'a str>,
    /// Image id.
    pub image_id: Option<i64>,
    /// Image key (for VEX matching).
    pub image_key: Option<&'a str>,
    /// Namespace id (cluster-bound findings).
    pub namespace_id: Option<i64>,
    /// Workload id (cluster-bound findings).
    pub workload_id: Option<i64>,
    /// Resource.
    pub resource: Option<&'a str>,
    /// Fixed version.
    pub fixed_version: Option<&'a str>,
    /// Risk score 0–100.
    pub risk_score: i16,
    /// The points per factor behind it, as JSON text.
    pub risk_factors: &'a str,
    /// Evidence for the observation, as JSON text.
    pub details: &'a str,
}

/// What a merge did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MergeCounts {
    /// Distinct findings merged (per scope).
    pub distinct: u64,
    /// Findings created.
    pub new: u64,
    /// Findings created already suppressed by a VEX statement.
    pub suppressed: u64,
    /// Fixed findings seen again (including those whose decision applied again).
    pub reopened: u64,
    /// Findings no longer reported by any scope, now fixed.
    pub fixed: u64,
}

impl MergeCounts {
    /// Findings already known that this report confirms.
    pub fn unchanged(&self) -> u64 {
        self.distinct.saturating_sub(self.new + self.reopened)
    }
}

/// Merges staged findings into the scopes `scope_ids` (every scope of the report being merged,
/// including those with no finding left: a clean scan fixes what the scope had).
///
/// `staged` must hold each (scope, cluster, fingerprint) once, sorted by cluster and
/// fingerprint: new findings are then inserted in key order, so concurrent reports touching the
/// same findings take their locks in the same order, and no sort runs in the database.
#[tracing::instrument(skip_all, fields(scopes = scope_ids.len(), staged = staged.len()), err)]
pub async fn merge(
    conn: &mut PgConnection,
    scope_ids: &[i64],
    report_id: i64,
    at: DateTime<Utc>,
    staged: &[StagedFinding<'_>],
    vex_possible: bool,
) -> Result<MergeCounts, sqlx::Error> {
    let mut clock = crate::telemetry::Phases::start();
    // Sorts and hashes of a whole report stay in memory.
    sqlx::query("set local work_mem = '128MB'")
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "create temp table stage_finding (
             ord integer not null, scope_id bigint not null, cluster_id bigint not null,
             fingerprint bytea not null, kind text not null, severity smallint not null,
             title text not null, vulnerability_id text, component_id bigint, component_key text,
             rule_id text, image_id bigint, image_key text, namespace_id bigint,
             workload_id bigint, resource text, fixed_version text, risk_score smallint not null,
             risk_factors jsonb not null, details jsonb not null
         ) on commit drop",
    )
    .execute(&mut *conn)
    .await?;

    let mut copy = CopyIn::start(
        conn,
        "copy stage_finding (ord, scope_id, cluster_id, fingerprint, kind, severity, title,
                             vulnerability_id, component_id, component_key, rule_id, image_id,
                             image_key, namespace_id, workload_id, resource, fixed_version,
                             risk_score, risk_factors, details)
         from stdin",
    )
    .await?;
    for (ord, f) in staged.iter().enumerate() {
        copy.int(Some(ord as i64))
            .int(Some(f.scope_id))
            .int(Some(f.cluster_id))
            .bytes(f.fingerprint)
            .text(Some(f.kind))
            .int(Some(i64::from(f.severity)))
            .text(Some(f.title))
            .text(f.vulnerability_id)
            .int(f.component_id)
            .text(f.component_key)
            .text(f.rule_id)
            .int(f.image_id)
            .text(f.image_key)
            .int(f.namespace_id)
            .int(f.workload_id)
            .text(f.resource)
            .text(f.fixed_version)
            .int(Some(i64::from(f.risk_score)))
            .text(Some(f.risk_factors))
            .text(Some(f.details));
        copy.end_row().await?;
    }
    copy.finish().await?;
    clock.lap("copy");

    // New findings, in the staged (key) order. A finding staged for two scopes conflicts with
    // itself and is inserted once. A VEX statement already on file decides the status.
    let inserted: Vec<(i64, i64, String)> = sqlx::query_as(
        "insert into finding (cluster_id, fingerprint, kind, status, severity, title,
                              vulnerability_id, component_id, rule_id, image_id, namespace_id,
                              workload_id, resource, fixed_version, first_seen,
                              status_changed_at, risk_score, risk_factors)
         select s.cluster_id, s.fingerprint, s.kind,
                case when vex.status in ('not_affected', 'fixed') then 'suppressed_by_vex'
                     else 'open' end,
                s.severity, s.title, s.vulnerability_id, s.component_id, s.rule_id, s.image_id,
                s.namespace_id, s.workload_id, s.resource, s.fixed_version, $1, $1,
                s.risk_score, s.risk_factors
         from stage_finding s
         left join lateral (
             select v.status from vex_statement v
             where $2 and v.vulnerability_id = s.vulnerability_id
               and (v.component_key is null or v.component_key = s.component_key)
               and (v.image_key is null or v.image_key = s.image_key)
             order by v.issued_at desc nulls last, v.id desc
             limit 1
         ) vex on true
         order by s.ord
         on conflict (cluster_id, fingerprint) do nothing
         returning cluster_id, id, status",
    )
    .bind(at)
    .bind(vex_possible)
    .fetch_all(&mut *conn)
    .await?;
    let new = inserted.len() as u64;
    clock.lap("insert_findings");
    let suppressed = inserted
        .iter()
        .filter(|(_, _, status)| status == "suppressed_by_vex")
        .count() as u64;
    if suppressed > 0 {
        sqlx::query(
            "insert into finding_decision (cluster_id, finding_id, decision, justification)
             select f.cluster_id, f.id, 'suppressed_by_vex', 'VEX statement on file at first sight'
             from unnest($1::bigint[], $2::bigint[], $3::text[]) as f(cluster_id, id, status)
             where f.status = 'suppressed_by_vex'",
        )
        .bind(inserted.iter().map(|r| r.0).collect::<Vec<_>>())
        .bind(inserted.iter().map(|r| r.1).collect::<Vec<_>>())
        .bind(inserted.iter().map(|r| r.2.clone()).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }

    // The report's findings by id, one row per scope, with their state before this report.
    let distinct = sqlx::query(
        "create temp table stage_matched on commit drop as
         select s.scope_id, f.cluster_id, f.id as finding_id, f.status, f.risk_score as old_risk,
                s.severity, s.details, s.risk_score, s.risk_factors, s.fixed_version,
                f.fixed_version as old_fixed_version
         from stage_finding s
         join finding f on f.cluster_id = s.cluster_id and f.fingerprint = s.fingerprint",
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query("analyze stage_matched")
        .execute(&mut *conn)
        .await?;
    clock.lap("matched");

    // First sighting by a scope.
    sqlx::query(
        "insert into observation (cluster_id, finding_id, scope_id, first_report_id,
                                  changed_report_id, first_seen, severity, details)
         select cluster_id, finding_id, scope_id, $1, $1, $2, severity, details
         from stage_matched
         on conflict (cluster_id, finding_id, scope_id) do nothing",
    )
    .bind(report_id)
    .bind(at)
    .execute(&mut *conn)
    .await?;

    clock.lap("insert_observations");
    // Seen again by a scope after having gone.
    sqlx::query(
        "update observation o
         set active = true, gone_at = null, changed_report_id = $1, severity = m.severity,
             details = m.details
         from stage_matched m
         where not o.active and o.scope_id = m.scope_id
           and o.cluster_id = m.cluster_id and o.finding_id = m.finding_id",
    )
    .bind(report_id)
    .execute(&mut *conn)
    .await?;

    clock.lap("reactivate");
    // Gone from its scope; fixed where no other scope still sees it. (The outer statement sees
    // the table as before the CTE, hence the explicit exclusion of the merged scopes.)
    let fixed = sqlx::query(
        "with gone as (
             update observation o
             set active = false, gone_at = $3, changed_report_id = $2
             where o.scope_id = any($1) and o.active
               and not exists (select 1 from stage_matched m
                               where m.scope_id = o.scope_id and m.cluster_id = o.cluster_id
                                 and m.finding_id = o.finding_id)
             returning o.cluster_id, o.finding_id
         )
         update finding f
         set status = 'fixed', fixed_at = $3, status_changed_at = $3
         from (select distinct cluster_id, finding_id from gone) g
         where f.cluster_id = g.cluster_id and f.id = g.finding_id
           and f.status <> 'fixed'
           and not exists (select 1 from observation o2
                           where o2.cluster_id = f.cluster_id and o2.finding_id = f.id
                             and o2.active and o2.scope_id <> all($1))
           and not exists (select 1 from stage_matched m
                           where m.cluster_id = f.cluster_id and m.finding_id = f.id)",
    )
    .bind(scope_ids)
    .bind(report_id)
    .bind(at)
    .execute(&mut *conn)
    .await?
    .rows_affected();

    clock.lap("gone");
    // Fixed findings that are back: the decision in force applies again, else reopened.
    // Accepted findings whose acceptance expired are reopened too.
    let reopened = sqlx::query(
        "update finding f
         set status = coalesce(d.decision, 'reopened'), fixed_at = null, status_changed_at = $1
         from (select distinct cluster_id, finding_id, status from stage_matched
               where status in ('fixed', 'accepted')) m
         left join lateral (
             select fd.decision from finding_decision fd
             where fd.cluster_id = m.cluster_id and fd.finding_id = m.finding_id
               and fd.revoked_at is null
               and fd.decision in ('accepted', 'false_positive', 'suppressed_by_vex')
               and (fd.expires_at is null or fd.expires_at > $1)
             order by fd.created_at desc, fd.id desc
             limit 1
         ) d on true
         where f.cluster_id = m.cluster_id and f.id = m.finding_id
           and (m.status = 'fixed' or d.decision is null)",
    )
    .bind(at)
    .execute(&mut *conn)
    .await?
    .rows_affected();

    clock.lap("reopen");
    // Risk and fix information that changed; untouched rows stay untouched.
    sqlx::query(
        "update finding f
         set risk_score = m.risk_score, risk_factors = m.risk_factors,
             fixed_version = coalesce(m.fixed_version, f.fixed_version)
         from (select distinct on (cluster_id, finding_id) * from stage_matched
               order by cluster_id, finding_id, risk_score desc) m
         where f.cluster_id = m.cluster_id and f.id = m.finding_id
           and (m.old_risk is distinct from m.risk_score
                or (m.fixed_version is not null
                    and m.old_fixed_version is distinct from m.fixed_version))",
    )
    .execute(&mut *conn)
    .await?;

    clock.lap("update_risk");
    tracing::debug!(timings = %clock, "findings merged");
    Ok(MergeCounts {
        distinct,
        new,
        suppressed,
        reopened,
        fixed,
    })
}

/// A triage decision about one finding.
#[derive(Debug, Clone)]
pub struct Decision<'a> {
    /// accepted, false_positive or reopened.
    pub decision: &'a str,
    /// Why.
    pub justification: &'a str,
    /// Who decided.
    pub decided_by: Option<i64>,
    /// When an acceptance ends.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Records a decision (`accepted`, `false_positive` or `reopened`) and applies it to the
/// finding's status (a fixed finding stays fixed; the decision applies when it returns).
#[tracing::instrument(skip_all, fields(cluster_id, finding_id), err)]
pub async fn decide(
    conn: &mut PgConnection,
    cluster_id: i64,
    finding_id: i64,
    decision: &Decision<'_>,
) -> Result<(), sqlx::Error> {
    if !matches!(
        decision.decision,
        "accepted" | "false_positive" | "reopened"
    ) {
        return Err(sqlx::Error::Protocol(format!(
            "'{}' is not a decision that changes a finding's status",
            decision.decision
        )));
    }
    sqlx::query!(
        "insert into finding_decision (cluster_id, finding_id, decision, justification,
                                       decided_by, expires_at)
         values ($1, $2, $3, $4, $5, $6)",
        cluster_id,
        finding_id,
        decision.decision,
        decision.justification,
        decision.decided_by,
        decision.expires_at
    )
    .execute(&mut *conn)
    .await?;
    if decision.decision == "reopened" {
        sqlx::query!(
            "update finding_decision set revoked_at = now()
             where cluster_id = $1 and finding_id = $2 and revoked_at is null
               and decision in ('accepted', 'false_positive', 'suppressed_by_vex')",
            cluster_id,
            finding_id
        )
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query!(
        "update finding set status = $3, status_changed_at = now()
         where cluster_id = $1 and id = $2 and status <> 'fixed' and status <> $3",
        cluster_id,
        finding_id,
        decision.decision
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Reopens accepted findings whose acceptance has expired; returns how many.
#[tracing::instrument(skip_all, err)]
pub async fn expire_acceptances(conn: &mut PgConnection) -> Result<u64, sqlx::Error> {
    let reopened = sqlx::query!(
        "update finding f set status = 'reopened', status_changed_at = now()
         where f.status = 'accepted'
           and not exists (
               select 1 from finding_decision d
               where d.cluster_id = f.cluster_id and d.finding_id = f.id
                 and d.decision = 'accepted' and d.revoked_at is null
                 and (d.expires_at is null or d.expires_at > now()))"
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(reopened)
}
