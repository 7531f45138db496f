//! The daily rollup of findings into `daily_snapshot`, and the risk standings in
//! `risk_rollup`: what trend panels, SLA breaches and MTTR read, so that their cost does not
//! grow with the number of findings. Reading the rollups (the overview) does not belong here,
//! nor deciding when to run them ([`crate::jobs`]).
//!
//! # What a day's row says
//!
//! A day is a UTC date; the state "at day D" is the state after every transition dated on or
//! before D. A finding's timeline is status `open` from its `first_seen`, then each of its
//! `finding_event` rows (the status it entered, at its time; events at the same instant in the
//! order they were written). "Open" means status `open` or `reopened`. An open interval starts
//! at `first_seen` or at an event into an open status that follows a non-open one, and ends at
//! the next event into a non-open status (fixed, accepted, false positive, suppressed by VEX).
//!
//! Per (cluster, day, kind, severity), cluster 0 being fleet-level findings (stored once):
//! - `open_count`: findings open at the end of the day;
//! - `new_count`: findings whose `first_seen` falls on the day;
//! - `fixed_count`: events into `fixed` on the day;
//! - `fix_seconds`: the sum, over those fixes, of the time from the start of the latest open
//!   interval that began before the fix (the interval the fix ended, for a fix of an open
//!   finding; for a fix of an accepted or suppressed finding, the interval the decision ended)
//!   to the fix. `fix_seconds / fixed_count` is the mean time to remediate of the day;
//! - `overdue_count`: findings open at the end of the day whose due date is on or before the
//!   day. The due date is the start of the current open interval plus the policy's days for the
//!   finding's severity ([`SlaPolicy::days_for`]; a finding whose vulnerability is in
//!   `intel_kev` gets the critical clock), so a reopened finding starts a new clock.
//!
//! Findings older than the history carry one event, their status when it last changed (written
//! by the migration that added it).
//!
//! The finding's current kind, severity and KEV membership, and the current policy, are used
//! for its whole history: a rebuild after a policy change rewrites the past with the new
//! clocks. A row exists for a day when something was open at its end, or something was new or
//! fixed on it; days with none of that have no row (read as zeros).
//!
//! # How it is computed
//!
//! Set-based, never a scan of all findings per day: every open interval contributes +1 open on
//! the day it starts and −1 on the day it ends; +1 overdue on its due day and −1 on the day it
//! ends (when it ends after its due day); new findings and fixes count on their day. The deltas
//! are summed per (cluster, kind, severity, day) and accumulated over the days with a window
//! sum. The timeline itself is read with window functions over `first_seen` and the events of
//! the findings in question, in one pass.
//!
//! A rebuild of a range of days replaces exactly the rows of that range (and clusters):
//! unchanged rows are not rewritten, rows that should no longer exist are deleted, so a rerun
//! changes nothing.

use app::model::SlaPolicy;
use chrono::{Duration, NaiveDate};
use sqlx::{Acquire, PgConnection};

/// The longest history [`backfill`] rebuilds, in days before today.
pub const MAX_BACKFILL_DAYS: i64 = 400;

/// Rebuilds the rows of the days `from..=to` for `clusters` (`None`: every cluster, fleet
/// level included; pass `0` for fleet-level findings). Returns how many rows were inserted,
/// updated or deleted: 0 when the rows were already right.
#[tracing::instrument(skip(conn, policy), err)]
pub async fn rebuild(
    conn: &mut PgConnection,
    policy: &SlaPolicy,
    clusters: Option<&[i64]>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<u64, sqlx::Error> {
    if from > to {
        return Ok(0);
    }
    let mut tx = conn.begin().await?;
    // The timeline sorts every transition of the findings in question: in memory, not on disk;
    // and the statement is planned afresh each time, so compiling it (JIT) only adds seconds.
    sqlx::query!(
        r#"select set_config('work_mem', '256MB', true) as "mem!",
                  set_config('jit', 'off', true) as "jit!""#
    )
    .fetch_one(&mut *tx)
    .await?;
    let days = policy.days_by_severity();
    let clusters: Option<Vec<i64>> = clusters.map(<[i64]>::to_vec);
    let changed = sqlx::query_scalar!(
        r#"with f as (
               select f.cluster_id, f.id, f.kind, f.severity, f.first_seen,
                      case when k.cve_id is not null then $5::int4
                           else ($4::int4[])[f.severity + 1] end as sla_days,
                      exists (select 1 from finding_event e
                              where e.cluster_id = f.cluster_id and e.finding_id = f.id
                                and ($1::int8[] is null or e.cluster_id = any($1)))
                          as has_events
               from finding f
               left join intel_kev k on k.cve_id = f.vulnerability_id
               where $1::int8[] is null or f.cluster_id = any($1)
           ), transitions as (
               -- seq 0: the finding appears, open; then its events in the order written. only
               -- findings with events need the ordering (the others are one open span, below)
               select cluster_id, id, kind, severity, sla_days, first_seen as at, 0::int8 as seq,
                      true as is_open, false as is_fix
               from f where has_events
               union all
               select f.cluster_id, f.id, f.kind, f.severity, f.sla_days, e.at, e.id,
                      e.status in ('open', 'reopened'), e.status = 'fixed'
               from finding_event e
               join f on f.cluster_id = e.cluster_id and f.id = e.finding_id
               where $1::int8[] is null or e.cluster_id = any($1)
           ), marked as (
               select t.*,
                      coalesce(lag(t.is_open) over p, false) as was_open,
                      lead(t.seq) over p is null as is_last
               from transitions t
               window p as (partition by t.cluster_id, t.id order by t.at, t.seq)
           ), timeline as (
               select m.*,
                      max(case when m.is_open and not m.was_open then m.at end)
                          over (partition by m.cluster_id, m.id order by m.at, m.seq
                                rows unbounded preceding) as open_start,
                      not m.is_open and m.was_open as ends,
                      m.is_open and m.is_last as still_open
               from marked m
           ), spans as (
               -- what each transition contributes, folded: findings that share a cluster,
               -- kind, severity and days contribute alike (most findings: one open span)
               select t.cluster_id, t.kind, t.severity, t.ends, t.still_open, t.is_fix,
                      t.seq = 0 as is_first,
                      (t.open_start at time zone 'UTC')::date as start_day,
                      (t.at at time zone 'UTC')::date as at_day,
                      ((t.open_start + make_interval(days => t.sla_days)) at time zone 'UTC')::date
                          as due_day,
                      count(*)::int8 as n,
                      sum(case when t.is_fix then extract(epoch from t.at - t.open_start) else 0 end)
                          ::int8 as fix_seconds
               from timeline t
               where t.ends or t.still_open or t.is_fix or t.seq = 0
               group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
               union all
               -- a finding without events: open from its first sighting on
               select f.cluster_id, f.kind, f.severity, false, true, false, true,
                      (f.first_seen at time zone 'UTC')::date,
                      (f.first_seen at time zone 'UTC')::date,
                      ((f.first_seen + make_interval(days => f.sla_days)) at time zone 'UTC')::date,
                      count(*)::int8, 0::int8
               from f where not f.has_events
               group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
           ), deltas as (
               select s.cluster_id, s.kind, s.severity, d.day, d.d_open, d.d_overdue, d.new,
                      d.fixed, d.fix_seconds
               from spans s
               cross join lateral (values
                   (case when s.ends or s.still_open then s.start_day end, s.n, 0::int8, 0::int8,
                    0::int8, 0::int8),
                   (case when s.ends then s.at_day end, -s.n, 0, 0, 0, 0),
                   (case when s.still_open or (s.ends and s.due_day < s.at_day)
                         then s.due_day end, 0, s.n, 0, 0, 0),
                   (case when s.ends and s.due_day < s.at_day then s.at_day end, 0, -s.n, 0, 0, 0),
                   (case when s.is_fix then s.at_day end, 0, 0, 0, s.n, s.fix_seconds),
                   (case when s.is_first then s.at_day end, 0, 0, s.n, 0, 0)
               ) as d(day, d_open, d_overdue, new, fixed, fix_seconds)
               where d.day <= $3::date
           ), summed as (
               select cluster_id, kind, severity, greatest(day, $2::date) as day,
                      sum(d_open) as d_open, sum(d_overdue) as d_overdue,
                      coalesce(sum(new) filter (where day >= $2::date), 0) as new_count,
                      coalesce(sum(fixed) filter (where day >= $2::date), 0) as fixed_count,
                      coalesce(sum(fix_seconds) filter (where day >= $2::date), 0) as fix_seconds
               from deltas
               group by 1, 2, 3, 4
           ), groups as (
               select cluster_id, kind, severity, min(day) as first_day
               from summed group by 1, 2, 3
           ), rolled as (
               select g.cluster_id, g.kind, g.severity, d.day::date as day,
                      sum(coalesce(s.d_open, 0)) over w as open_count,
                      sum(coalesce(s.d_overdue, 0)) over w as overdue_count,
                      coalesce(s.new_count, 0) as new_count,
                      coalesce(s.fixed_count, 0) as fixed_count,
                      coalesce(s.fix_seconds, 0) as fix_seconds
               from groups g
               cross join lateral generate_series(g.first_day, $3::date, interval '1 day') as d(day)
               left join summed s on s.cluster_id = g.cluster_id and s.kind = g.kind
                                 and s.severity = g.severity and s.day = d.day::date
               window w as (partition by g.cluster_id, g.kind, g.severity order by d.day)
           ), computed as (
               select cluster_id, day, kind, severity, open_count::int4 as open_count,
                      new_count::int4 as new_count, fixed_count::int4 as fixed_count,
                      overdue_count::int4 as overdue_count, fix_seconds::int8 as fix_seconds
               from rolled
               where open_count > 0 or new_count > 0 or fixed_count > 0
           ), upserted as (
               insert into daily_snapshot as d (cluster_id, day, kind, severity, open_count,
                                                new_count, fixed_count, overdue_count, fix_seconds)
               select * from computed
               on conflict (cluster_id, day, kind, severity) do update
               set open_count = excluded.open_count, new_count = excluded.new_count,
                   fixed_count = excluded.fixed_count, overdue_count = excluded.overdue_count,
                   fix_seconds = excluded.fix_seconds
               where (d.open_count, d.new_count, d.fixed_count, d.overdue_count, d.fix_seconds)
                     is distinct from (excluded.open_count, excluded.new_count,
                                       excluded.fixed_count, excluded.overdue_count,
                                       excluded.fix_seconds)
               returning 1
           ), deleted as (
               delete from daily_snapshot d
               where d.day between $2::date and $3::date
                 and ($1::int8[] is null or d.cluster_id = any($1))
                 and not exists (select 1 from computed c
                                 where c.cluster_id = d.cluster_id and c.day = d.day
                                   and c.kind = d.kind and c.severity = d.severity)
               returning 1
           )
           select (select count(*) from upserted) + (select count(*) from deleted) as "n!""#,
        clusters.as_deref(),
        from,
        to,
        &days[..],
        policy.critical_days
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(u64::try_from(changed).unwrap_or(0))
}

/// Rebuilds every cluster's rows from the day of the earliest `first_seen` (at most
/// [`MAX_BACKFILL_DAYS`] back) to today, and every cluster's risk standings. Returns the rows
/// of `daily_snapshot` changed.
#[tracing::instrument(skip_all, err)]
pub async fn backfill(conn: &mut PgConnection, policy: &SlaPolicy) -> Result<u64, sqlx::Error> {
    let today = today(conn).await?;
    let earliest = sqlx::query_scalar!(
        r#"select (min(first_seen) at time zone 'UTC')::date as "day?" from finding"#
    )
    .fetch_one(&mut *conn)
    .await?;
    let from = earliest
        .unwrap_or(today)
        .max(today - Duration::days(MAX_BACKFILL_DAYS))
        .min(today);
    let changed = rebuild(conn, policy, None, from, today).await?;
    refresh_risk(conn, None).await?;
    Ok(changed)
}

/// Rebuilds yesterday's and today's rows of every cluster, and every cluster's risk standings:
/// the daily run. Returns the rows of `daily_snapshot` changed.
#[tracing::instrument(skip_all, err)]
pub async fn refresh_days(conn: &mut PgConnection, policy: &SlaPolicy) -> Result<u64, sqlx::Error> {
    let today = today(conn).await?;
    let changed = rebuild(conn, policy, None, today - Duration::days(1), today).await?;
    refresh_risk(conn, None).await?;
    Ok(changed)
}

/// Rebuilds yesterday's and today's rows of one cluster (`0`: fleet-level findings) and its
/// risk standings, after a report changed its findings. Reads only that cluster's findings and
/// events (by their primary keys), so its cost grows with the cluster, not the fleet.
#[tracing::instrument(skip(conn, policy), err)]
pub async fn refresh_cluster(
    conn: &mut PgConnection,
    policy: &SlaPolicy,
    cluster_id: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin().await?;
    let today = today(&mut tx).await?;
    let clusters = [cluster_id];
    rebuild(
        &mut tx,
        policy,
        Some(&clusters),
        today - Duration::days(1),
        today,
    )
    .await?;
    refresh_risk(&mut tx, Some(&clusters)).await?;
    tx.commit().await
}

/// Recomputes `risk_rollup` for `clusters` (`None`: all): per cluster a row with workload 0
/// counting each open finding of the cluster once, and per workload a row counting its own
/// open findings and the cluster's open findings on the images its containers run (each
/// finding once). Fleet-level findings (cluster 0) get only the workload-0 row. Rows with
/// nothing open are deleted; a row is rewritten only when its numbers change, so
/// `refreshed_at` is when they last changed. Returns the rows inserted, updated or deleted.
#[tracing::instrument(skip(conn), err)]
pub async fn refresh_risk(
    conn: &mut PgConnection,
    clusters: Option<&[i64]>,
) -> Result<u64, sqlx::Error> {
    let clusters: Option<Vec<i64>> = clusters.map(<[i64]>::to_vec);
    let changed = sqlx::query_scalar!(
        r#"with open_f as (
               select cluster_id, id, workload_id, image_id, severity,
                      coalesce(risk_score, 0)::int4 as risk
               from finding
               where status in ('open', 'reopened')
                 and ($1::int8[] is null or cluster_id = any($1))
           ), per_workload as (
               select cluster_id, workload_id, id, severity, risk
               from open_f where workload_id is not null
               union
               select o.cluster_id, c.workload_id, o.id, o.severity, o.risk
               from open_f o
               join container c on c.cluster_id = o.cluster_id and c.image_id = o.image_id
           ), computed as (
               select cluster_id, 0::int8 as workload_id, count(*)::int4 as open_count,
                      (count(*) filter (where severity = 4))::int4 as critical_count,
                      (count(*) filter (where severity = 3))::int4 as high_count,
                      sum(risk)::int8 as risk_sum, max(risk)::int2 as risk_max
               from open_f group by cluster_id
               union all
               select cluster_id, workload_id, count(*)::int4,
                      (count(*) filter (where severity = 4))::int4,
                      (count(*) filter (where severity = 3))::int4,
                      sum(risk)::int8, max(risk)::int2
               from per_workload group by cluster_id, workload_id
           ), upserted as (
               insert into risk_rollup as r (cluster_id, workload_id, open_count, critical_count,
                                             high_count, risk_sum, risk_max, refreshed_at)
               select c.*, now() from computed c
               on conflict (cluster_id, workload_id) do update
               set open_count = excluded.open_count, critical_count = excluded.critical_count,
                   high_count = excluded.high_count, risk_sum = excluded.risk_sum,
                   risk_max = excluded.risk_max, refreshed_at = excluded.refreshed_at
               where (r.open_count, r.critical_count, r.high_count, r.risk_sum, r.risk_max)
                     is distinct from (excluded.open_count, excluded.critical_count,
                                       excluded.high_count, excluded.risk_sum, excluded.risk_max)
               returning 1
           ), deleted as (
               delete from risk_rollup r
               where ($1::int8[] is null or r.cluster_id = any($1))
                 and not exists (select 1 from computed c
                                 where c.cluster_id = r.cluster_id
                                   and c.workload_id = r.workload_id)
               returning 1
           )
           select (select count(*) from upserted) + (select count(*) from deleted) as "n!""#,
        clusters.as_deref()
    )
    .fetch_one(conn)
    .await?;
    Ok(u64::try_from(changed).unwrap_or(0))
}

/// Whether any snapshot row exists (the first start of a server backfills the history).
#[tracing::instrument(skip_all, err)]
pub async fn is_empty(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(r#"select not exists (select 1 from daily_snapshot) as "empty!""#)
        .fetch_one(conn)
        .await
}

/// Today's UTC date by the clock of lifecycle writes (`bulwark_now()`).
async fn today(conn: &mut PgConnection) -> Result<NaiveDate, sqlx::Error> {
    sqlx::query_scalar!(r#"select (bulwark_now() at time zone 'UTC')::date as "day!""#)
        .fetch_one(conn)
        .await
}

/// Whose findings a stored report may have changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportReach {
    /// The clusters of its lifecycle scopes and of its token (`0`: fleet-level findings).
    pub clusters: Vec<i64>,
    /// It carried VEX statements from an unbound sender, which reach every cluster.
    pub fleet_vex: bool,
}

/// Whose findings report `report_id` may have changed: the clusters of the scopes it was the
/// last report of, the cluster of its token, and whether it carried fleet-wide VEX statements.
#[tracing::instrument(skip(conn), err)]
pub async fn report_reach(
    conn: &mut PgConnection,
    report_id: i64,
) -> Result<ReportReach, sqlx::Error> {
    let row = sqlx::query!(
        r#"select array(select distinct c from (
                            select coalesce(s.cluster_id, 0) as c from scan_scope s
                            where s.last_report_id = $1
                            union all
                            select r.cluster_id from report r where r.id = $1
                        ) x where c is not null order by c) as "clusters!",
                  exists (select 1 from vex_statement v
                          where v.report_id = $1 and v.cluster_id is null) as "fleet_vex!""#,
        report_id
    )
    .fetch_one(conn)
    .await?;
    Ok(ReportReach {
        clusters: row.clusters,
        fleet_vex: row.fleet_vex,
    })
}
