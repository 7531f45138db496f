//! "All N matching": the keys of every open finding a findings-list filter selects, for the
//! bulk decisions ([`super::decisions`]). It must select exactly the rows the list counts, so
//! its conditions are those of [`super::lists::open_findings`]: any change to what the list
//! matches belongs in both (or, once the list's filter engine is rebuilt, here through it).
//! Showing the rows (their joins, order, pages) does not belong here.

use sqlx::PgConnection;

use super::lists::ListQuery;

/// The (cluster, finding) keys of the open findings `query` matches among those a viewer
/// limited to `scope` (`None`: unlimited) may see, in key order.
#[tracing::instrument(skip_all, err)]
pub async fn matching_keys(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
    query: &ListQuery,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    // The text search reads the package and image names: the two joins stay (left joins on
    // keys, so they never change which findings match); the others only fed the list's
    // columns.
    let rows = sqlx::query!(
        r#"select f.cluster_id, f.id
           from finding f
           left join component co on co.id = f.component_id
           left join image i on i.id = f.image_id
           where f.status in ('open', 'reopened')
             and ($1::bigint[] is null
                  or f.cluster_id = any($1)
                  or (f.cluster_id = 0 and exists (
                        select 1 from cluster_image ci
                        where ci.image_id = f.image_id and ci.cluster_id = any($1))))
             and ($2::bigint is null
                  or f.cluster_id = $2
                  or (f.cluster_id = 0 and exists (
                        select 1 from cluster_image ci
                        where ci.image_id = f.image_id and ci.cluster_id = $2)))
             and ($3::smallint is null or f.severity = $3)
             and ($4::text is null
                  or strpos(lower(f.title), lower($4)) > 0
                  or strpos(lower(coalesce(f.vulnerability_id, '')), lower($4)) > 0
                  or strpos(lower(coalesce(co.name, '')), lower($4)) > 0
                  or strpos(lower(coalesce(i.repository, '')), lower($4)) > 0)
             and ($5::int[] is null
                  or f.status_changed_at + make_interval(days => case
                         when exists (select 1 from intel_kev k where k.cve_id = f.vulnerability_id)
                         then ($5::int[])[5]
                         else ($5::int[])[f.severity + 1] end)
                     < (((now() at time zone 'utc')::date + 1)::timestamp at time zone 'utc'))
           order by f.cluster_id, f.id"#,
        scope as Option<&[i64]>,
        query.cluster_id,
        query.severity,
        query.text,
        query.overdue_days.as_ref().map(|d| d.as_slice()) as Option<&[i32]>
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.cluster_id, r.id)).collect())
}
