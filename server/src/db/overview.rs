//! Read models for the overview page.

use app::model::{ClusterSummary, ReportSummary, Severity, SeverityCounts};
use sqlx::PgConnection;

/// Open findings by severity across the fleet, or across the clusters in `scope` (their own
/// findings and those on images running in them) when the viewer is limited.
#[tracing::instrument(skip_all, err)]
pub async fn fleet_open_by_severity(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
) -> Result<SeverityCounts, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select severity, count(*) as "n!" from finding f
           where status in ('open', 'reopened')
             and ($1::bigint[] is null
                  or f.cluster_id = any($1)
                  or (f.cluster_id = 0 and exists (
                        select 1 from cluster_image ci
                        where ci.image_id = f.image_id and ci.cluster_id = any($1))))
           group by severity"#,
        scope as Option<&[i64]>
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (Severity::from_i16(r.severity), r.n))
        .collect())
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

/// Open findings by severity that concern one cluster: its own (Kubernetes resources, runtime,
/// controls) plus those on images present in it.
#[tracing::instrument(skip_all, fields(cluster_id), err)]
pub async fn cluster_open_by_severity(
    conn: &mut PgConnection,
    cluster_id: i64,
) -> Result<SeverityCounts, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select severity as "severity!", count(*) as "n!" from (
               select f.severity from finding f
               where f.cluster_id = $1 and f.status in ('open', 'reopened')
               union all
               select f.severity from cluster_image ci
               join finding f on f.cluster_id = 0 and f.image_id = ci.image_id
               where ci.cluster_id = $1 and f.status in ('open', 'reopened')
           ) x
           group by severity"#,
        cluster_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (Severity::from_i16(r.severity), r.n))
        .collect())
}

/// Every cluster (in `scope`, when limited) with its open findings by severity, worst first.
#[tracing::instrument(skip_all, err)]
pub async fn clusters(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
) -> Result<Vec<ClusterSummary>, sqlx::Error> {
    let clusters = sqlx::query!(
        "select id, name, provider, environment, region, last_report_at from cluster
         where $1::bigint[] is null or id = any($1)
         order by name",
        scope as Option<&[i64]>
    )
    .fetch_all(&mut *conn)
    .await?;
    let counts = sqlx::query!(
        r#"select cluster_id as "cluster_id!", severity as "severity!", count(*) as "n!" from (
               select f.cluster_id, f.severity from finding f
               where f.cluster_id > 0 and f.status in ('open', 'reopened')
               union all
               select ci.cluster_id, f.severity from cluster_image ci
               join finding f on f.cluster_id = 0 and f.image_id = ci.image_id
               where f.status in ('open', 'reopened')
           ) x
           group by cluster_id, severity"#
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut summaries: Vec<(i64, ClusterSummary)> = clusters
        .into_iter()
        .map(|c| {
            (
                c.id,
                ClusterSummary {
                    name: c.name,
                    provider: c.provider,
                    environment: c.environment,
                    region: c.region,
                    open: SeverityCounts::default(),
                    last_report_at: c.last_report_at,
                },
            )
        })
        .collect();
    for row in counts {
        if let Some((_, summary)) = summaries.iter_mut().find(|(id, _)| *id == row.cluster_id) {
            summary.open.add(Severity::from_i16(row.severity), row.n);
        }
    }
    let mut summaries: Vec<ClusterSummary> = summaries.into_iter().map(|(_, s)| s).collect();
    summaries.sort_by(|a, b| {
        let key = |s: &ClusterSummary| {
            std::cmp::Reverse((
                s.open.get(Severity::Critical),
                s.open.get(Severity::High),
                s.open.get(Severity::Medium),
                s.open.get(Severity::Low),
            ))
        };
        key(a).cmp(&key(b)).then_with(|| a.name.cmp(&b.name))
    });
    Ok(summaries)
}

/// The newest reports (of the clusters in `scope`, when limited).
#[tracing::instrument(skip_all, err)]
pub async fn latest_reports(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
    limit: i64,
) -> Result<Vec<ReportSummary>, sqlx::Error> {
    sqlx::query_as!(
        ReportSummary,
        r#"select r.id, s.name as source, c.name as "cluster?", r.format, r.artifact,
                  r.received_at, r.record_count::bigint as "records!",
                  coalesce((r.counts->>'new')::bigint, 0) as "new!",
                  coalesce((r.counts->>'fixed')::bigint, 0) as "fixed!"
           from report r
           join source s on s.id = r.source_id
           left join cluster c on c.id = r.cluster_id
           where $2::bigint[] is null or r.cluster_id = any($2)
           order by r.received_at desc, r.id desc
           limit $1"#,
        limit,
        scope as Option<&[i64]>
    )
    .fetch_all(conn)
    .await
}

/// How many images are known (running in the clusters in `scope`, when limited).
#[tracing::instrument(skip_all, err)]
pub async fn image_count(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from image i
           where $1::bigint[] is null or exists (
               select 1 from cluster_image ci where ci.image_id = i.id and ci.cluster_id = any($1))"#,
        scope as Option<&[i64]>
    )
    .fetch_one(conn)
        .await
}
