//! Read models for the overview page (and `GET /api/v1/overview`).
//!
//! What the overview counts is a [`Selection`]: the ids of the clusters the filter picks among
//! those the viewer may see, plus cluster 0 (fleet-level findings) only in the unfiltered view of
//! a viewer who sees every cluster. Every reader takes the selection's ids and nothing else, so
//! no panel can count beyond it.
//!
//! Cost: the trend, flow, SLA and MTTR figures read `daily_snapshot` (rows per cluster × day ×
//! kind × severity, written by [`crate::db::snapshots`]), the worst clusters and workloads read
//! `risk_rollup`; neither grows with the number of findings. Only the top risks read `finding`,
//! through the open-risk index, and coverage reads one newest report per source.
//!
//! What does not belong here: writing the rollups (`db::snapshots`), the SLA policy setting
//! (`db::settings`), the findings lists (`db::lists`).

use app::model::{
    ClusterRisk, CoverageRow, FilterOptions, OverviewFilter, Severity, TopRisk, WorkloadRisk,
    factor_words,
};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use crate::domain::posture::DayTotals;

/// The providers a filter may name (the `cluster.provider` check).
pub const PROVIDERS: [&str; 5] = ["aws", "gcp", "azure", "onprem", "other"];
/// The environments a filter may name (the `cluster.environment` check).
pub const ENVIRONMENTS: [&str; 3] = ["prod", "staging", "dev"];

/// The clusters an overview counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// Cluster ids, with 0 when fleet-level findings count.
    pub ids: Vec<i64>,
}

impl Selection {
    /// Whether fleet-level findings (cluster 0) are counted.
    pub fn includes_fleet_level(&self) -> bool {
        self.ids.contains(&0)
    }
}

/// Why a filter selects nothing that can be shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No cluster of this name, or the viewer may not see it.
    NoSuchCluster(String),
    /// A provider or environment that does not exist, in words.
    BadValue(String),
}

/// The selection of `filter` for a viewer limited to `scope` (`None`: every cluster).
#[tracing::instrument(skip_all, err)]
pub async fn select(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
    filter: &OverviewFilter,
) -> Result<Result<Selection, Refusal>, sqlx::Error> {
    if let Some(p) = &filter.provider
        && !PROVIDERS.contains(&p.as_str())
    {
        return Ok(Err(Refusal::BadValue(format!(
            "unknown provider '{p}': use one of {}",
            PROVIDERS.join(", ")
        ))));
    }
    if let Some(e) = &filter.environment
        && !ENVIRONMENTS.contains(&e.as_str())
    {
        return Ok(Err(Refusal::BadValue(format!(
            "unknown environment '{e}': use one of {}",
            ENVIRONMENTS.join(", ")
        ))));
    }
    let mut ids: Vec<i64> = sqlx::query_scalar!(
        "select id from cluster
         where ($1::bigint[] is null or id = any($1))
           and ($2::text is null or provider = $2)
           and ($3::text is null or environment = $3)
           and ($4::text is null or name = $4)
         order by id",
        scope as Option<&[i64]>,
        filter.provider,
        filter.environment,
        filter.cluster
    )
    .fetch_all(conn)
    .await?;
    if let Some(name) = &filter.cluster
        && ids.is_empty()
    {
        // unknown, invisible, or outside the provider/environment chosen with it: one answer
        return Ok(Err(Refusal::NoSuchCluster(name.clone())));
    }
    if scope.is_none() && !filter.narrows() {
        ids.insert(0, 0);
    }
    Ok(Ok(Selection { ids }))
}

/// The providers, environments and cluster names the viewer may choose from.
#[tracing::instrument(skip_all, err)]
pub async fn options(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
) -> Result<FilterOptions, sqlx::Error> {
    let rows = sqlx::query!(
        "select name, provider, environment from cluster
         where $1::bigint[] is null or id = any($1) order by name",
        scope as Option<&[i64]>
    )
    .fetch_all(conn)
    .await?;
    let mut options = FilterOptions::default();
    for r in rows {
        if !options.providers.contains(&r.provider) {
            options.providers.push(r.provider);
        }
        if !options.environments.contains(&r.environment) {
            options.environments.push(r.environment);
        }
        options.clusters.push(r.name);
    }
    options
        .providers
        .sort_by_key(|p| PROVIDERS.iter().position(|k| k == p));
    options
        .environments
        .sort_by_key(|e| ENVIRONMENTS.iter().position(|k| k == e));
    Ok(options)
}

/// The newest day of the daily rollup.
#[tracing::instrument(skip_all, err)]
pub async fn latest_day(conn: &mut PgConnection) -> Result<Option<NaiveDate>, sqlx::Error> {
    sqlx::query_scalar!("select max(day) from daily_snapshot")
        .fetch_one(conn)
        .await
}

/// The selection's rollup per day and severity, for the days `from..=to`.
#[tracing::instrument(skip_all, err)]
pub async fn daily_totals(
    conn: &mut PgConnection,
    ids: &[i64],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DayTotals>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select day, severity,
                  sum(open_count)::bigint as "open!", sum(new_count)::bigint as "new!",
                  sum(fixed_count)::bigint as "fixed!", sum(overdue_count)::bigint as "overdue!",
                  sum(fix_seconds)::bigint as "fix_seconds!"
           from daily_snapshot
           where cluster_id = any($1) and day between $2 and $3
           group by day, severity
           order by day, severity"#,
        ids,
        from,
        to
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| DayTotals {
            day: r.day,
            severity: Severity::from_i16(r.severity),
            open: r.open,
            new: r.new,
            fixed: r.fixed,
            overdue: r.overdue,
            fix_seconds: r.fix_seconds,
        })
        .collect())
}

/// Open findings of the selection per kind on each of `days`: (day, kind, open).
#[tracing::instrument(skip_all, err)]
pub async fn open_by_kind(
    conn: &mut PgConnection,
    ids: &[i64],
    days: &[NaiveDate],
) -> Result<Vec<(NaiveDate, String, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select day, kind, sum(open_count)::bigint as "open!"
           from daily_snapshot
           where cluster_id = any($1) and day = any($2)
           group by day, kind
           order by kind"#,
        ids,
        days
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.day, r.kind, r.open)).collect())
}

/// The `limit` riskiest open findings of the selection.
#[tracing::instrument(skip_all, err)]
pub async fn top_risks(
    conn: &mut PgConnection,
    ids: &[i64],
    limit: i64,
) -> Result<Vec<TopRisk>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select f.cluster_id, f.id, c.name as "cluster?", f.risk_score as "risk!", f.severity, f.title,
                  f.vulnerability_id, f.risk_factors,
                  coalesce(n.name || '/' || w.name,
                           i.repository || coalesce(':' || i.tag, ''),
                           f.resource) as place
           from (select * from finding
                 where status in ('open', 'reopened') and risk_score is not null
                   and cluster_id = any($1)
                 order by risk_score desc nulls last, cluster_id, id
                 limit $2) f
           left join cluster c on c.id = f.cluster_id
           left join workload w on w.cluster_id = f.cluster_id and w.id = f.workload_id
           left join namespace n on n.cluster_id = w.cluster_id and n.id = w.namespace_id
           left join image i on i.id = f.image_id
           order by f.risk_score desc, f.cluster_id, f.id"#,
        ids,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| TopRisk {
            cluster_id: r.cluster_id,
            id: r.id,
            cluster: r.cluster,
            risk: r.risk,
            severity: Severity::from_i16(r.severity),
            title: r.title,
            vulnerability: r.vulnerability_id,
            place: r.place,
            factors: strongest_factors(&r.risk_factors, 3),
        })
        .collect())
}

/// The `n` strongest factors of a stored breakdown (`{"kev": 20, ...}`) in words, severity
/// left out (the severity is shown beside them).
fn strongest_factors(points: &serde_json::Value, n: usize) -> Vec<String> {
    let mut factors: Vec<(&str, f64)> = points
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((k.as_str(), v.as_f64()?)))
                .collect()
        })
        .unwrap_or_default();
    factors.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    factors
        .into_iter()
        .filter_map(|(k, p)| factor_words(k, p))
        .take(n)
        .map(str::to_owned)
        .collect()
}

/// The `limit` clusters of the selection with the most risk.
#[tracing::instrument(skip_all, err)]
pub async fn worst_clusters(
    conn: &mut PgConnection,
    ids: &[i64],
    limit: i64,
) -> Result<Vec<ClusterRisk>, sqlx::Error> {
    sqlx::query_as!(
        ClusterRisk,
        r#"select c.name, c.provider, c.environment, r.open_count::bigint as "open!",
                  r.critical_count::bigint as "critical!", r.high_count::bigint as "high!",
                  r.risk_sum, r.risk_max
           from risk_rollup r join cluster c on c.id = r.cluster_id
           where r.workload_id = 0 and r.cluster_id = any($1) and r.open_count > 0
           order by r.risk_sum desc, c.name
           limit $2"#,
        ids,
        limit
    )
    .fetch_all(conn)
    .await
}

/// The `limit` workloads of the selection with the most risk.
#[tracing::instrument(skip_all, err)]
pub async fn worst_workloads(
    conn: &mut PgConnection,
    ids: &[i64],
    limit: i64,
) -> Result<Vec<WorkloadRisk>, sqlx::Error> {
    sqlx::query_as!(
        WorkloadRisk,
        r#"select c.name as cluster, n.name as namespace, w.kind, w.name,
                  r.open_count::bigint as "open!", r.critical_count::bigint as "critical!",
                  r.risk_sum, r.risk_max
           from risk_rollup r
           join cluster c on c.id = r.cluster_id
           join workload w on w.cluster_id = r.cluster_id and w.id = r.workload_id
           join namespace n on n.cluster_id = w.cluster_id and n.id = w.namespace_id
           where r.workload_id > 0 and r.cluster_id = any($1) and r.open_count > 0
           order by r.risk_sum desc, c.name, n.name, w.name
           limit $2"#,
        ids,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Each cluster of the selection × each of its sources with the source's newest report; a
/// cluster without any source is one row with no source. Stale: no report in
/// `stale_after_hours` before `now`.
#[tracing::instrument(skip_all, err)]
pub async fn coverage(
    conn: &mut PgConnection,
    ids: &[i64],
    stale_after_hours: i32,
    now: DateTime<Utc>,
) -> Result<Vec<CoverageRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select c.name as cluster, s.name as "source?", last.received_at as "last?"
           from cluster c
           left join source s on s.cluster_id = c.id
           left join lateral (
               select r.received_at from report r
               where r.source_id = s.id
               order by r.received_at desc limit 1
           ) last on true
           where c.id = any($1)
           order by c.name, s.name"#,
        ids
    )
    .fetch_all(conn)
    .await?;
    let fresh_after = now - chrono::Duration::hours(i64::from(stale_after_hours));
    let mut out: Vec<CoverageRow> = rows
        .into_iter()
        .map(|r| CoverageRow {
            stale: r.last.is_none_or(|at| at < fresh_after),
            cluster: Some(r.cluster),
            source: r.source,
            last_report_at: r.last,
        })
        .collect();
    // stale first, then the oldest report first: what needs attention on top
    out.sort_by(|a, b| {
        b.stale
            .cmp(&a.stale)
            .then_with(|| a.last_report_at.cmp(&b.last_report_at))
            .then_with(|| a.cluster.cmp(&b.cluster))
    });
    Ok(out)
}

/// The id of the cluster with this name.
#[tracing::instrument(skip_all, err)]
pub async fn cluster_id_by_name(
    conn: &mut PgConnection,
    name: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!("select id from cluster where name = $1", name)
        .fetch_optional(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strongest_factors_come_first_in_words() {
        let points = serde_json::json!({
            "severity": 39.2, "fix": 5, "kev": 20, "environment": 10, "exposure": 10
        });
        assert_eq!(
            strongest_factors(&points, 3),
            vec!["KEV", "prod", "exposed"]
        );
        assert!(strongest_factors(&serde_json::json!([]), 3).is_empty());
    }
}
