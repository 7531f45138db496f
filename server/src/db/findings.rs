//! Findings, observations and decisions: the set-based merge of one report into the finding
//! model, and triage decisions.
//!
//! A report's findings are merged with a handful of statements, never a round-trip per finding:
//! one lookup of what is known, `COPY` for new findings and first observations, and updates of
//! only what changed, with the rows passed as arrays. The lifecycle is per scope (source + what a
//! report covers): an observation missing from the scope's newest report goes inactive, and a
//! finding with no active observation left is `fixed`. A fixed finding seen again is `reopened`,
//! unless a decision in force (an acceptance that has not expired, a false positive, a VEX
//! statement) applies again. Decisions live in `finding_decision`; `finding.status` reflects the
//! one in force. An acceptance pending a manager's approval (or rejected, or void) is never in
//! force. Decisions taken in the UI, over sets of findings, are [`crate::db::decisions`].

use std::collections::HashMap;

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
    /// Rule id.
    pub rule_id: Option<&'a str>,
    /// Image id.
    pub image_id: Option<i64>,
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

/// What the database knows of a staged finding before the merge.
struct Known {
    finding_id: i64,
    status: String,
    risk_score: Option<i16>,
    /// The stored breakdown, as the text it was written as.
    risk_factors: Option<String>,
    fixed_version: Option<String>,
    /// The scope's observation: `None` when the scope never saw the finding.
    observed: Option<bool>,
}

/// Merges staged findings into the scopes `scope_ids` (every scope of the report being merged,
/// including those with no finding left: a clean scan fixes what the scope had). `at` is the
/// clock of lifecycle writes (`bulwark_now()`, see [`crate::db::reports::transaction_time`]),
/// which new rows take from their column defaults.
///
/// `staged` must hold each (scope, cluster, fingerprint) once, sorted by cluster and
/// fingerprint. The merge is worked out here from one lookup of what is known; new findings and
/// first observations then go in with `COPY`, in key order, and only what changed is updated.
/// A report racing another one to create the same finding fails on the unique fingerprint and
/// is retried whole ([`crate::db::is_transient`]).
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
    let known = lookup(conn, staged).await?;
    // Active observations of the scopes before this report: when this report confirms them
    // all, nothing is gone.
    let active: i64 = sqlx::query_scalar!(
        r#"select count(*) as "count!" from observation where scope_id = any($1) and active"#,
        scope_ids
    )
    .fetch_one(&mut *conn)
    .await?;
    clock.lap("lookup");

    // New findings: one id per distinct (cluster, fingerprint), reserved from the sequence.
    let mut new_rows: Vec<usize> = Vec::new();
    for (i, row) in staged.iter().enumerate() {
        let first_of_key = new_rows.last().is_none_or(|&j: &usize| {
            (staged[j].cluster_id, staged[j].fingerprint) != (row.cluster_id, row.fingerprint)
        });
        if known[i].is_none() && first_of_key {
            new_rows.push(i);
        }
    }
    let ids: Vec<i64> = if new_rows.is_empty() {
        Vec::new()
    } else {
        // The sequence is looked up once: called per row, `pg_get_serial_sequence` costs more
        // than the `nextval` (0.6 s against 0.09 s for 100,000 ids).
        sqlx::query_scalar!(
            r#"with s as materialized (
                   select pg_get_serial_sequence('finding', 'id')::regclass as seq
               )
               select nextval(s.seq) as "id!" from s, generate_series(1, $1::bigint)"#,
            new_rows.len() as i64
        )
        .fetch_all(&mut *conn)
        .await?
    };
    // `first_seen` and `status_changed_at` are left to their default, bulwark_now(): `at`.
    let mut copy = CopyIn::start(
        conn,
        "copy finding (cluster_id, id, fingerprint, kind, status, severity, title,
                       vulnerability_id, component_id, rule_id, image_id, namespace_id,
                       workload_id, resource, fixed_version, risk_score, risk_factors)
         from stdin",
    )
    .await?;
    // The id of every staged row: known, or just created.
    let mut finding_ids: Vec<i64> = known
        .iter()
        .map(|k| k.as_ref().map_or(0, |k| k.finding_id))
        .collect();
    let mut next_new = 0;
    for i in 0..staged.len() {
        if known[i].is_some() {
            continue;
        }
        if new_rows.get(next_new) == Some(&i) {
            let f = &staged[i];
            copy.int(Some(f.cluster_id))
                .int(Some(ids[next_new]))
                .bytes(f.fingerprint)
                .text(Some(f.kind))
                .text(Some("open"))
                .int(Some(i64::from(f.severity)))
                .text(Some(f.title))
                .text(f.vulnerability_id)
                .int(f.component_id)
                .text(f.rule_id)
                .int(f.image_id)
                .int(f.namespace_id)
                .int(f.workload_id)
                .text(f.resource)
                .text(f.fixed_version)
                .int(Some(i64::from(f.risk_score)))
                .text(Some(f.risk_factors));
            copy.end_row().await?;
            finding_ids[i] = ids[next_new];
            next_new += 1;
        } else {
            // The same finding staged for another scope of this report.
            finding_ids[i] = finding_ids[i - 1];
        }
    }
    copy.finish().await?;
    let new = ids.len() as u64;
    clock.lap("insert_findings");

    // A VEX statement already on file decides the status of a new finding.
    let mut suppressed = 0;
    if vex_possible && !ids.is_empty() {
        let clusters: Vec<i64> = new_rows.iter().map(|&i| staged[i].cluster_id).collect();
        suppressed = sqlx::query!(
            "with suppressed as (
                 update finding f set status = 'suppressed_by_vex'
                 from unnest($1::bigint[], $2::bigint[]) as n(cluster_id, id)
                 where f.cluster_id = n.cluster_id and f.id = n.id
                   and (select v.status from vex_statement v
                        where v.vulnerability_id = f.vulnerability_id
                          and (v.cluster_id is null or v.cluster_id = f.cluster_id)
                          and (v.component_key is null or v.component_key =
                               (select c.key from component c where c.id = f.component_id))
                          and (v.image_key is null or v.image_key =
                               (select i.key from image i where i.id = f.image_id))
                        order by v.issued_at desc nulls last, v.id desc
                        limit 1) in ('not_affected', 'fixed')
                 returning f.cluster_id, f.id
             ), history as (
                 insert into finding_event (cluster_id, finding_id, at, status)
                 select cluster_id, id, $3, 'suppressed_by_vex' from suppressed
             )
             insert into finding_decision (cluster_id, finding_id, decision, justification)
             select cluster_id, id, 'suppressed_by_vex', 'VEX statement on file at first sight'
             from suppressed",
            &clusters,
            &ids,
            at
        )
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    clock.lap("vex");

    // First sighting by a scope: new findings, and known ones this scope had not seen.
    let mut copy = CopyIn::start(
        conn,
        "copy observation (cluster_id, finding_id, scope_id, first_report_id, changed_report_id,
                           severity, details)
         from stdin",
    )
    .await?;
    for (i, f) in staged.iter().enumerate() {
        if known[i].as_ref().is_some_and(|k| k.observed.is_some()) {
            continue;
        }
        copy.int(Some(f.cluster_id))
            .int(Some(finding_ids[i]))
            .int(Some(f.scope_id))
            .int(Some(report_id))
            .int(Some(report_id))
            .int(Some(i64::from(f.severity)))
            .text(Some(f.details));
        copy.end_row().await?;
    }
    copy.finish().await?;
    clock.lap("insert_observations");

    // Seen again by a scope after having gone.
    let back: Vec<usize> = (0..staged.len())
        .filter(|&i| known[i].as_ref().is_some_and(|k| k.observed == Some(false)))
        .collect();
    if !back.is_empty() {
        let details: Vec<&str> = back.iter().map(|&i| staged[i].details).collect();
        sqlx::query!(
            "update observation o
             set active = true, gone_at = null, changed_report_id = $1, severity = m.severity,
                 details = m.details::json
             from unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::smallint[], $6::text[])
                  as m(scope_id, cluster_id, finding_id, severity, details)
             where o.scope_id = m.scope_id and o.cluster_id = m.cluster_id
               and o.finding_id = m.finding_id",
            report_id,
            &back.iter().map(|&i| staged[i].scope_id).collect::<Vec<_>>(),
            &back
                .iter()
                .map(|&i| staged[i].cluster_id)
                .collect::<Vec<_>>(),
            &back.iter().map(|&i| finding_ids[i]).collect::<Vec<_>>(),
            &back.iter().map(|&i| staged[i].severity).collect::<Vec<_>>(),
            &details as &[&str]
        )
        .execute(&mut *conn)
        .await?;
    }
    clock.lap("reactivate");

    // Gone from its scope; fixed where no other scope still sees it. Skipped when every active
    // observation the scopes had is one this report confirms (a first report, a re-send).
    let confirmed: Vec<usize> = (0..staged.len())
        .filter(|&i| known[i].as_ref().is_some_and(|k| k.observed == Some(true)))
        .collect();
    let mut fixed = 0;
    if active > confirmed.len() as i64 {
        // The scopes' active observations this report does not see. The lookup below runs
        // after the inserts and reactivations above, so every staged row counts as seen, not
        // only those `confirmed` (active before): a first or returning observation is not gone.
        let seen_in_scope: std::collections::HashSet<(i64, i64, i64)> = staged
            .iter()
            .zip(&finding_ids)
            .map(|(f, id)| (f.scope_id, f.cluster_id, *id))
            .collect();
        let active: Vec<(i64, i64, i64)> = sqlx::query!(
            "select scope_id, cluster_id, finding_id from observation
             where scope_id = any($1) and active",
            scope_ids
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.scope_id, r.cluster_id, r.finding_id))
        .collect();
        let gone: Vec<&(i64, i64, i64)> = active
            .iter()
            .filter(|key| !seen_in_scope.contains(key))
            .collect();
        // Findings this report sees (in any scope) are not fixed, whatever else went.
        let seen: std::collections::HashSet<(i64, i64)> = staged
            .iter()
            .zip(&finding_ids)
            .map(|(f, id)| (f.cluster_id, *id))
            .collect();
        let mut candidates: Vec<(i64, i64)> = gone
            .iter()
            .map(|&&(_, cluster_id, finding_id)| (cluster_id, finding_id))
            .filter(|key| !seen.contains(key))
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        sqlx::query!(
            "update observation o
             set active = false, gone_at = $3, changed_report_id = $2
             from unnest($4::bigint[], $5::bigint[], $6::bigint[]) as g(scope_id, cluster_id, finding_id)
             where o.scope_id = g.scope_id and o.cluster_id = g.cluster_id
               and o.finding_id = g.finding_id and o.scope_id = any($1)",
            scope_ids,
            report_id,
            at,
            &gone.iter().map(|g| g.0).collect::<Vec<_>>(),
            &gone.iter().map(|g| g.1).collect::<Vec<_>>(),
            &gone.iter().map(|g| g.2).collect::<Vec<_>>()
        )
        .execute(&mut *conn)
        .await?;
        // Fixed where no scope still sees the finding (the update above already ran).
        fixed = sqlx::query!(
            "with fixed as (
                 update finding f
                 set status = 'fixed', fixed_at = $1, status_changed_at = $1
                 from unnest($2::bigint[], $3::bigint[]) as g(cluster_id, finding_id)
                 where f.cluster_id = g.cluster_id and f.id = g.finding_id
                   and f.status <> 'fixed'
                   and not exists (select 1 from observation o
                                   where o.cluster_id = f.cluster_id and o.finding_id = f.id
                                     and o.active)
                 returning f.cluster_id, f.id
             )
             insert into finding_event (cluster_id, finding_id, at, status)
             select cluster_id, id, $1, 'fixed' from fixed",
            at,
            &candidates.iter().map(|c| c.0).collect::<Vec<_>>(),
            &candidates.iter().map(|c| c.1).collect::<Vec<_>>()
        )
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    clock.lap("gone");

    // Fixed findings that are back: the decision in force applies again, else reopened.
    // Accepted findings whose acceptance expired are reopened too.
    let mut returning: Vec<(i64, i64, &str)> = (0..staged.len())
        .filter_map(|i| {
            let k = known[i].as_ref()?;
            matches!(k.status.as_str(), "fixed" | "accepted")
                .then(|| (staged[i].cluster_id, k.finding_id, k.status.as_str()))
        })
        .collect();
    returning.sort_unstable();
    returning.dedup();
    let mut reopened = 0;
    if !returning.is_empty() {
        let statuses: Vec<&str> = returning.iter().map(|r| r.2).collect();
        reopened = sqlx::query!(
            "with back as (
                 update finding f
                 set status = coalesce(d.decision, 'reopened'), fixed_at = null,
                     status_changed_at = $1
                 from unnest($2::bigint[], $3::bigint[], $4::text[])
                      as m(cluster_id, finding_id, status)
                 left join lateral (
                     select fd.decision from finding_decision fd
                     where fd.cluster_id = m.cluster_id and fd.finding_id = m.finding_id
                       and fd.revoked_at is null
                       and fd.decision in ('accepted', 'false_positive', 'suppressed_by_vex')
                       and (fd.approval is null or fd.approval = 'approved')
                       and (fd.expires_at is null or fd.expires_at > $1)
                     order by fd.created_at desc, fd.id desc
                     limit 1
                 ) d on true
                 where f.cluster_id = m.cluster_id and f.id = m.finding_id
                   and (m.status = 'fixed' or d.decision is null)
                 returning f.cluster_id, f.id, f.status
             )
             insert into finding_event (cluster_id, finding_id, at, status)
             select cluster_id, id, $1, status from back",
            at,
            &returning.iter().map(|r| r.0).collect::<Vec<_>>(),
            &returning.iter().map(|r| r.1).collect::<Vec<_>>(),
            &statuses as &[&str]
        )
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    clock.lap("reopen");

    // Risk (score or breakdown) and fix information that changed; untouched rows stay
    // untouched. A finding staged
    // for several scopes takes its highest risk.
    let mut changed: HashMap<(i64, i64), usize> = HashMap::new();
    for (i, f) in staged.iter().enumerate() {
        let Some(k) = &known[i] else { continue };
        let differs = k.risk_score != Some(f.risk_score)
            || k.risk_factors.as_deref() != Some(f.risk_factors)
            || f.fixed_version
                .is_some_and(|v| k.fixed_version.as_deref() != Some(v));
        if differs {
            let entry = changed.entry((f.cluster_id, k.finding_id)).or_insert(i);
            if staged[*entry].risk_score < f.risk_score {
                *entry = i;
            }
        }
    }
    if !changed.is_empty() {
        let rows: Vec<((i64, i64), usize)> = changed.into_iter().collect();
        let factors: Vec<&str> = rows.iter().map(|&(_, i)| staged[i].risk_factors).collect();
        let fixed_versions: Vec<Option<&str>> =
            rows.iter().map(|&(_, i)| staged[i].fixed_version).collect();
        sqlx::query!(
            "update finding f
             set risk_score = m.risk_score, risk_factors = m.risk_factors::json,
                 fixed_version = coalesce(m.fixed_version, f.fixed_version)
             from unnest($1::bigint[], $2::bigint[], $3::smallint[], $4::text[], $5::text[])
                  as m(cluster_id, finding_id, risk_score, risk_factors, fixed_version)
             where f.cluster_id = m.cluster_id and f.id = m.finding_id",
            &rows.iter().map(|(k, _)| k.0).collect::<Vec<_>>(),
            &rows.iter().map(|(k, _)| k.1).collect::<Vec<_>>(),
            &rows
                .iter()
                .map(|&(_, i)| staged[i].risk_score)
                .collect::<Vec<_>>(),
            &factors as &[&str],
            &fixed_versions as &[Option<&str>]
        )
        .execute(&mut *conn)
        .await?;
    }
    clock.lap("update_risk");
    tracing::debug!(timings = %clock, "findings merged");
    Ok(MergeCounts {
        distinct: staged.len() as u64,
        new,
        suppressed,
        reopened,
        fixed,
    })
}

/// What is known of each staged row: its finding and the scope's observation of it.
async fn lookup(
    conn: &mut PgConnection,
    staged: &[StagedFinding<'_>],
) -> Result<Vec<Option<Known>>, sqlx::Error> {
    let mut known: Vec<Option<Known>> =
        std::iter::repeat_with(|| None).take(staged.len()).collect();
    if staged.is_empty() {
        return Ok(known);
    }
    let fingerprints: Vec<&[u8]> = staged.iter().map(|f| &f.fingerprint[..]).collect();
    let rows = sqlx::query!(
        r#"select s.ord as "ord!", f.id, f.status, f.risk_score,
                  f.risk_factors::text as "risk_factors?", f.fixed_version,
                  o.active as "observed?"
           from unnest($1::bigint[], $2::bytea[], $3::bigint[]) with ordinality
                as s(cluster_id, fingerprint, scope_id, ord)
           join finding f on f.cluster_id = s.cluster_id and f.fingerprint = s.fingerprint
           left join observation o on o.cluster_id = f.cluster_id and o.finding_id = f.id
                                  and o.scope_id = s.scope_id"#,
        &staged.iter().map(|f| f.cluster_id).collect::<Vec<_>>(),
        &fingerprints as &[&[u8]],
        &staged.iter().map(|f| f.scope_id).collect::<Vec<_>>()
    )
    .fetch_all(conn)
    .await?;
    for r in rows {
        // `with ordinality` counts from 1.
        if let Some(slot) = usize::try_from(r.ord - 1)
            .ok()
            .and_then(|i| known.get_mut(i))
        {
            *slot = Some(Known {
                finding_id: r.id,
                status: r.status,
                risk_score: r.risk_score,
                risk_factors: r.risk_factors,
                fixed_version: r.fixed_version,
                observed: r.observed,
            });
        }
    }
    Ok(known)
}

/// What a triage decision does to a finding's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecisionKind {
    /// A risk exception (with a justification and usually an expiry).
    Accepted,
    /// Not a real problem.
    FalsePositive,
    /// Open again, revoking the decisions in force.
    Reopened,
}

impl DecisionKind {
    /// The value stored in `finding_decision.decision`, and the status it gives the finding.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Accepted => "accepted",
            DecisionKind::FalsePositive => "false_positive",
            DecisionKind::Reopened => "reopened",
        }
    }
}

/// A triage decision about one finding.
#[derive(Debug, Clone)]
pub struct Decision<'a> {
    /// What it does.
    pub decision: DecisionKind,
    /// Why.
    pub justification: &'a str,
    /// Who decided.
    pub decided_by: Option<i64>,
    /// When an acceptance ends.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Records a decision and applies it to the
/// finding's status (a fixed finding stays fixed; the decision applies when it returns).
#[tracing::instrument(skip_all, fields(cluster_id, finding_id), err)]
pub async fn decide(
    conn: &mut PgConnection,
    cluster_id: i64,
    finding_id: i64,
    decision: &Decision<'_>,
) -> Result<(), sqlx::Error> {
    let kind = decision.decision.as_str();
    sqlx::query!(
        "insert into finding_decision (cluster_id, finding_id, decision, justification,
                                       decided_by, expires_at)
         values ($1, $2, $3, $4, $5, $6)",
        cluster_id,
        finding_id,
        kind,
        decision.justification,
        decision.decided_by,
        decision.expires_at
    )
    .execute(&mut *conn)
    .await?;
    if decision.decision == DecisionKind::Reopened {
        sqlx::query!(
            "update finding_decision set revoked_at = bulwark_now()
             where cluster_id = $1 and finding_id = $2 and revoked_at is null
               and decision in ('accepted', 'false_positive', 'suppressed_by_vex')",
            cluster_id,
            finding_id
        )
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query!(
        "with changed as (
             update finding set status = $3, status_changed_at = bulwark_now()
             where cluster_id = $1 and id = $2 and status <> 'fixed' and status <> $3
             returning cluster_id, id, status
         )
         insert into finding_event (cluster_id, finding_id, at, status)
         select cluster_id, id, bulwark_now(), status from changed",
        cluster_id,
        finding_id,
        kind
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Reopens accepted findings whose acceptance has expired; returns how many.
#[tracing::instrument(skip_all, err)]
pub async fn expire_acceptances(conn: &mut PgConnection) -> Result<u64, sqlx::Error> {
    Ok(expire_acceptances_by_cluster(conn)
        .await?
        .iter()
        .map(|(_, n)| n)
        .sum())
}

/// Reopens accepted findings whose acceptance has expired; returns how many per cluster
/// (clusters with none left out), so that their snapshots can be refreshed. Only acceptances
/// in force count (applied at once, or approved); a pending acceptance whose expiry passed is
/// marked void (`approval = 'expired'`) and never applies.
#[tracing::instrument(skip_all, err)]
pub async fn expire_acceptances_by_cluster(
    conn: &mut PgConnection,
) -> Result<Vec<(i64, u64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"with voided as (
               update finding_decision set approval = 'expired'
               where approval = 'pending' and revoked_at is null
                 and expires_at <= bulwark_now()
           ), reopened as (
               update finding f set status = 'reopened', status_changed_at = bulwark_now()
               where f.status = 'accepted'
                 and not exists (
                     select 1 from finding_decision d
                     where d.cluster_id = f.cluster_id and d.finding_id = f.id
                       and d.decision = 'accepted' and d.revoked_at is null
                       and (d.approval is null or d.approval = 'approved')
                       and (d.expires_at is null or d.expires_at > bulwark_now()))
               returning f.cluster_id, f.id
           ), history as (
               insert into finding_event (cluster_id, finding_id, at, status)
               select cluster_id, id, bulwark_now(), 'reopened' from reopened
           )
           select cluster_id as "cluster_id!", count(*) as "reopened!"
           from reopened group by cluster_id order by cluster_id"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.cluster_id, u64::try_from(r.reopened).unwrap_or(0)))
        .collect())
}
