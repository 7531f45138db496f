//! Triage decisions over sets of findings: accept risk (at once, or pending a manager's
//! approval), false positive, reopen, assign, comment, and the review of pending acceptances.
//! Each step is one statement over arrays of keys (`unnest($1::bigint[], $2::bigint[])`),
//! never a statement per finding, so a decision on 100,000 findings costs a few statements.
//!
//! The rules ([`crate::db::findings`] module doc for the lifecycle):
//! - a decision is a `finding_decision` row; a status it changes is a `finding_event` row;
//! - a fixed finding stays fixed: the decision is recorded and applies if the finding returns;
//! - an acceptance that needs approval is recorded with `approval = 'pending'` and changes no
//!   status; approving it applies it (to findings still open), rejecting it leaves the finding
//!   as it is, its expiry passing first voids it (`'expired'`, see
//!   [`crate::db::findings::expire_acceptances_by_cluster`]). Only acceptances with no
//!   approval needed or approved are ever in force;
//! - reopening revokes every decision in force, pending acceptances included, and reopens
//!   findings that a decision had closed (an open finding keeps its status and its SLA clock).
//!
//! Who may decide what, the checks of the input and the audit entry belong to the caller (the
//! store), which runs all of one request in one transaction.

use app::model::{PendingApproval, Severity};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// What a decision statement did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Decisions recorded (one per finding).
    pub recorded: u64,
    /// Of those, acceptances waiting for approval.
    pub pending: u64,
    /// Findings whose status changed.
    pub changed: u64,
    /// The clusters of those findings (their snapshots need a refresh).
    pub clusters: Vec<i64>,
}

/// A finding key as the database knows it, for the viewer who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyAccess {
    /// Cluster.
    pub cluster_id: i64,
    /// Finding.
    pub id: i64,
    /// The viewer may see it (the read rule of [`crate::db`]).
    pub visible: bool,
    /// The viewer may decide on it: it lives in one of their clusters (or they are not
    /// limited). A fleet-level finding is decided only by viewers of every cluster.
    pub decidable: bool,
}

fn split(keys: &[(i64, i64)]) -> (Vec<i64>, Vec<i64>) {
    keys.iter().copied().unzip()
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The keys of `keys` that exist, with what a viewer limited to `scope` may do with each.
/// Keys that name no finding are left out.
#[tracing::instrument(skip_all, fields(keys = keys.len()), err)]
pub async fn access(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
    keys: &[(i64, i64)],
) -> Result<Vec<KeyAccess>, sqlx::Error> {
    let (clusters, ids) = split(keys);
    let rows = sqlx::query!(
        r#"select f.cluster_id, f.id,
                  ($3::bigint[] is null or f.cluster_id = any($3)) as "decidable!",
                  ($3::bigint[] is null or f.cluster_id = any($3)
                   or (f.cluster_id = 0 and exists (
                         select 1 from cluster_image ci
                         where ci.image_id = f.image_id and ci.cluster_id = any($3))))
                  as "visible!"
           from unnest($1::bigint[], $2::bigint[]) as k(cluster_id, id)
           join finding f on f.cluster_id = k.cluster_id and f.id = k.id"#,
        &clusters,
        &ids,
        scope as Option<&[i64]>
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| KeyAccess {
            cluster_id: r.cluster_id,
            id: r.id,
            visible: r.visible,
            decidable: r.decidable,
        })
        .collect())
}

/// Accepts the risk of `keys` until `expires_at`. Findings whose severity `needs_approval`
/// marks (indexed by stored severity 0–4; KEV findings take index 4) get a pending acceptance
/// and keep their status; the others are accepted at once.
#[tracing::instrument(skip_all, fields(keys = keys.len()), err)]
pub async fn accept(
    conn: &mut PgConnection,
    keys: &[(i64, i64)],
    justification: &str,
    expires_at: DateTime<Utc>,
    decided_by: i64,
    needs_approval: [bool; 5],
) -> Result<Applied, sqlx::Error> {
    let (clusters, ids) = split(keys);
    let row = sqlx::query!(
        r#"with target as materialized (
               select f.cluster_id, f.id,
                      ($5::bool[])[case when f.vulnerability_id is not null and exists (
                                            select 1 from intel_kev k
                                            where k.cve_id = f.vulnerability_id)
                                        then 5 else f.severity + 1 end] as needs
               from unnest($1::bigint[], $2::bigint[]) as k(cluster_id, id)
               join finding f on f.cluster_id = k.cluster_id and f.id = k.id
           ), recorded as (
               insert into finding_decision (cluster_id, finding_id, decision, justification,
                                             decided_by, expires_at, approval)
               select cluster_id, id, 'accepted', $3, $4, $6,
                      case when needs then 'pending' end
               from target
               returning approval
           ), changed as (
               update finding f set status = 'accepted', status_changed_at = bulwark_now()
               from target t
               where f.cluster_id = t.cluster_id and f.id = t.id and not t.needs
                 and f.status not in ('fixed', 'accepted')
               returning f.cluster_id, f.id
           ), history as (
               insert into finding_event (cluster_id, finding_id, at, status)
               select cluster_id, id, bulwark_now(), 'accepted' from changed
           )
           select (select count(*) from recorded) as "recorded!",
                  (select count(*) from recorded where approval = 'pending') as "pending!",
                  (select count(*) from changed) as "changed!",
                  (select coalesce(array_agg(distinct cluster_id), '{}') from changed)
                  as "clusters!""#,
        &clusters,
        &ids,
        justification,
        decided_by,
        &needs_approval as &[bool],
        expires_at
    )
    .fetch_one(conn)
    .await?;
    Ok(Applied {
        recorded: count(row.recorded),
        pending: count(row.pending),
        changed: count(row.changed),
        clusters: row.clusters,
    })
}

/// Marks `keys` false positives.
#[tracing::instrument(skip_all, fields(keys = keys.len()), err)]
pub async fn false_positive(
    conn: &mut PgConnection,
    keys: &[(i64, i64)],
    justification: &str,
    decided_by: i64,
) -> Result<Applied, sqlx::Error> {
    let (clusters, ids) = split(keys);
    let row = sqlx::query!(
        r#"with target as materialized (
               select f.cluster_id, f.id
               from unnest($1::bigint[], $2::bigint[]) as k(cluster_id, id)
               join finding f on f.cluster_id = k.cluster_id and f.id = k.id
           ), recorded as (
               insert into finding_decision (cluster_id, finding_id, decision, justification,
                                             decided_by)
               select cluster_id, id, 'false_positive', $3, $4 from target
               returning 1
           ), changed as (
               update finding f set status = 'false_positive', status_changed_at = bulwark_now()
               from target t
               where f.cluster_id = t.cluster_id and f.id = t.id
                 and f.status not in ('fixed', 'false_positive')
               returning f.cluster_id, f.id
           ), history as (
               insert into finding_event (cluster_id, finding_id, at, status)
               select cluster_id, id, bulwark_now(), 'false_positive' from changed
           )
           select (select count(*) from recorded) as "recorded!",
                  (select count(*) from changed) as "changed!",
                  (select coalesce(array_agg(distinct cluster_id), '{}') from changed)
                  as "clusters!""#,
        &clusters,
        &ids,
        justification,
        decided_by
    )
    .fetch_one(conn)
    .await?;
    Ok(Applied {
        recorded: count(row.recorded),
        pending: 0,
        changed: count(row.changed),
        clusters: row.clusters,
    })
}

/// Reopens `keys`: revokes every decision in force (pending acceptances included) and reopens
/// the findings a decision had closed.
#[tracing::instrument(skip_all, fields(keys = keys.len()), err)]
pub async fn reopen(
    conn: &mut PgConnection,
    keys: &[(i64, i64)],
    justification: &str,
    decided_by: i64,
) -> Result<Applied, sqlx::Error> {
    let (clusters, ids) = split(keys);
    let row = sqlx::query!(
        r#"with target as materialized (
               select f.cluster_id, f.id
               from unnest($1::bigint[], $2::bigint[]) as k(cluster_id, id)
               join finding f on f.cluster_id = k.cluster_id and f.id = k.id
           ), revoked as (
               update finding_decision d set revoked_at = bulwark_now()
               from target t
               where d.cluster_id = t.cluster_id and d.finding_id = t.id
                 and d.revoked_at is null
                 and d.decision in ('accepted', 'false_positive', 'suppressed_by_vex')
                 and (d.approval is null or d.approval in ('pending', 'approved'))
               returning 1
           ), recorded as (
               insert into finding_decision (cluster_id, finding_id, decision, justification,
                                             decided_by)
               select cluster_id, id, 'reopened', $3, $4 from target
               returning 1
           ), changed as (
               update finding f set status = 'reopened', status_changed_at = bulwark_now()
               from target t
               where f.cluster_id = t.cluster_id and f.id = t.id
                 and f.status in ('accepted', 'false_positive', 'suppressed_by_vex')
               returning f.cluster_id, f.id
           ), history as (
               insert into finding_event (cluster_id, finding_id, at, status)
               select cluster_id, id, bulwark_now(), 'reopened' from changed
           )
           select (select count(*) from recorded) as "recorded!",
                  (select count(*) from revoked) as "revoked!",
                  (select count(*) from changed) as "changed!",
                  (select coalesce(array_agg(distinct cluster_id), '{}') from changed)
                  as "clusters!""#,
        &clusters,
        &ids,
        justification,
        decided_by
    )
    .fetch_one(conn)
    .await?;
    tracing::debug!(revoked = row.revoked, "decisions revoked");
    Ok(Applied {
        recorded: count(row.recorded),
        pending: 0,
        changed: count(row.changed),
        clusters: row.clusters,
    })
}

/// Whether a user can own findings: the user exists and is active (`None`: no such user),
/// and how many of `keys` they may not see.
#[tracing::instrument(skip_all, fields(keys = keys.len()), err)]
pub async fn assignee_blind_spots(
    conn: &mut PgConnection,
    assignee_id: i64,
    keys: &[(i64, i64)],
) -> Result<Option<u64>, sqlx::Error> {
    let active: Option<bool> = sqlx::query_scalar!(
        r#"select (disabled_at is null) as "active!" from app_user where id = $1"#,
        assignee_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    if active != Some(true) {
        return Ok(None);
    }
    let scope = super::users::visible_clusters(&mut *conn, assignee_id).await?;
    let visible = access(&mut *conn, scope.as_deref(), keys).await?;
    let seen = visible.iter().filter(|k| k.visible).count();
    Ok(Some((keys.len().saturating_sub(seen)) as u64))
}

/// Assigns `keys` to `assignee_id`.
#[tracing::instrument(skip_all, fields(keys = keys.len()), err)]
pub async fn assign(
    conn: &mut PgConnection,
    keys: &[(i64, i64)],
    assignee_id: i64,
    decided_by: i64,
) -> Result<Applied, sqlx::Error> {
    let (clusters, ids) = split(keys);
    let recorded = sqlx::query!(
        "insert into finding_decision (cluster_id, finding_id, decision, decided_by, assignee_id)
         select f.cluster_id, f.id, 'assigned', $3, $4
         from unnest($1::bigint[], $2::bigint[]) as k(cluster_id, id)
         join finding f on f.cluster_id = k.cluster_id and f.id = k.id",
        &clusters,
        &ids,
        decided_by,
        assignee_id
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(Applied {
        recorded,
        ..Applied::default()
    })
}

/// Comments on `keys`.
#[tracing::instrument(skip_all, fields(keys = keys.len()), err)]
pub async fn comment(
    conn: &mut PgConnection,
    keys: &[(i64, i64)],
    text: &str,
    decided_by: i64,
) -> Result<Applied, sqlx::Error> {
    let (clusters, ids) = split(keys);
    let recorded = sqlx::query!(
        "insert into finding_decision (cluster_id, finding_id, decision, justification,
                                       decided_by)
         select f.cluster_id, f.id, 'comment', $3, $4
         from unnest($1::bigint[], $2::bigint[]) as k(cluster_id, id)
         join finding f on f.cluster_id = k.cluster_id and f.id = k.id",
        &clusters,
        &ids,
        text,
        decided_by
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(Applied {
        recorded,
        ..Applied::default()
    })
}

/// A pending acceptance as a reviewer may act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reviewable {
    /// The decision's cluster.
    pub cluster_id: i64,
    /// The decision's id.
    pub id: i64,
    /// Who asked for it.
    pub decided_by: Option<i64>,
    /// Its expiry has passed: it is void.
    pub expired: bool,
}

/// Of the decisions `keys` (cluster, decision id), the pending acceptances a reviewer limited
/// to `scope` may review (fleet-level ones only for unlimited reviewers, as for deciding).
/// Anything else (no such decision, another cluster's, not pending) is left out.
#[tracing::instrument(skip_all, fields(keys = keys.len()), err)]
pub async fn reviewable(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
    keys: &[(i64, i64)],
) -> Result<Vec<Reviewable>, sqlx::Error> {
    let (clusters, ids) = split(keys);
    let rows = sqlx::query!(
        r#"select d.cluster_id, d.id, d.decided_by,
                  (d.expires_at is not null and d.expires_at <= bulwark_now()) as "expired!"
           from unnest($1::bigint[], $2::bigint[]) as k(cluster_id, id)
           join finding_decision d on d.cluster_id = k.cluster_id and d.id = k.id
           where d.approval = 'pending' and d.revoked_at is null
             and ($3::bigint[] is null or d.cluster_id = any($3))"#,
        &clusters,
        &ids,
        scope as Option<&[i64]>
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Reviewable {
            cluster_id: r.cluster_id,
            id: r.id,
            decided_by: r.decided_by,
            expired: r.expired,
        })
        .collect())
}

/// Approves the pending acceptances `keys` (cluster, decision id) and applies them to their
/// findings that are still open. `recorded` counts the approvals.
#[tracing::instrument(skip_all, fields(keys = keys.len()), err)]
pub async fn approve(
    conn: &mut PgConnection,
    keys: &[(i64, i64)],
    reviewer: i64,
    note: &str,
) -> Result<Applied, sqlx::Error> {
    let (clusters, ids) = split(keys);
    let row = sqlx::query!(
        r#"with approved as (
               update finding_decision d
               set approval = 'approved', approved_by = $3, approved_at = bulwark_now(),
                   review_note = nullif($4, '')
               from unnest($1::bigint[], $2::bigint[]) as k(cluster_id, id)
               where d.cluster_id = k.cluster_id and d.id = k.id
                 and d.approval = 'pending' and d.revoked_at is null
               returning d.cluster_id, d.finding_id
           ), changed as (
               update finding f set status = 'accepted', status_changed_at = bulwark_now()
               from (select distinct cluster_id, finding_id from approved) a
               where f.cluster_id = a.cluster_id and f.id = a.finding_id
                 and f.status in ('open', 'reopened')
               returning f.cluster_id, f.id
           ), history as (
               insert into finding_event (cluster_id, finding_id, at, status)
               select cluster_id, id, bulwark_now(), 'accepted' from changed
           )
           select (select count(*) from approved) as "recorded!",
                  (select count(*) from changed) as "changed!",
                  (select coalesce(array_agg(distinct cluster_id), '{}') from changed)
                  as "clusters!""#,
        &clusters,
        &ids,
        reviewer,
        note
    )
    .fetch_one(conn)
    .await?;
    Ok(Applied {
        recorded: count(row.recorded),
        pending: 0,
        changed: count(row.changed),
        clusters: row.clusters,
    })
}

/// Rejects the pending acceptances `keys` (cluster, decision id); their findings keep their
/// status. Returns how many were rejected.
#[tracing::instrument(skip_all, fields(keys = keys.len()), err)]
pub async fn reject(
    conn: &mut PgConnection,
    keys: &[(i64, i64)],
    reviewer: i64,
    note: &str,
) -> Result<u64, sqlx::Error> {
    let (clusters, ids) = split(keys);
    Ok(sqlx::query!(
        "update finding_decision d
         set approval = 'rejected', rejected_by = $3, rejected_at = bulwark_now(),
             review_note = nullif($4, '')
         from unnest($1::bigint[], $2::bigint[]) as k(cluster_id, id)
         where d.cluster_id = k.cluster_id and d.id = k.id
           and d.approval = 'pending' and d.revoked_at is null",
        &clusters,
        &ids,
        reviewer,
        note
    )
    .execute(conn)
    .await?
    .rows_affected())
}

/// The pending acceptances a reviewer limited to `scope` may review, oldest first (at most
/// `limit`); `viewer_id`'s own requests are marked. Those whose expiry passed are void and
/// not listed.
#[tracing::instrument(skip_all, err)]
pub async fn pending(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
    viewer_id: i64,
    limit: i64,
) -> Result<Vec<PendingApproval>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select d.cluster_id, d.id, d.finding_id, f.title, f.vulnerability_id, f.severity,
                  exists (select 1 from intel_kev k where k.cve_id = f.vulnerability_id)
                  as "kev!",
                  c.name as "cluster?", u.email as "requester?",
                  coalesce(d.decided_by = $2, false) as "own!",
                  d.justification, d.expires_at, d.created_at
           from finding_decision d
           join finding f on f.cluster_id = d.cluster_id and f.id = d.finding_id
           left join cluster c on c.id = d.cluster_id
           left join app_user u on u.id = d.decided_by
           where d.approval = 'pending' and d.revoked_at is null
             and (d.expires_at is null or d.expires_at > bulwark_now())
             and ($1::bigint[] is null or d.cluster_id = any($1))
           order by d.created_at, d.cluster_id, d.id
           limit $3"#,
        scope as Option<&[i64]>,
        viewer_id,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| PendingApproval {
            cluster_id: r.cluster_id,
            decision_id: r.id,
            finding_id: r.finding_id,
            title: r.title,
            vulnerability: r.vulnerability_id,
            severity: Severity::from_i16(r.severity),
            kev: r.kev,
            cluster: r.cluster,
            requester: r.requester,
            own: r.own,
            justification: r.justification,
            expires_at: r.expires_at,
            requested_at: r.created_at,
        })
        .collect())
}
