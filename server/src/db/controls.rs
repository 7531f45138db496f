//! Compliance: frameworks and controls as reports name them, and control results per cluster.

use sqlx::PgConnection;

use crate::domain::report::ControlResultRecord;

/// Stores control results of one cluster (0 when the sender is bound to none), creating the
/// frameworks and controls they name when new.
#[tracing::instrument(skip_all, fields(cluster_id, results = results.len()), err)]
pub async fn insert_results(
    conn: &mut PgConnection,
    cluster_id: i64,
    report_id: i64,
    results: &[ControlResultRecord],
) -> Result<(), sqlx::Error> {
    if results.is_empty() {
        return Ok(());
    }
    let framework_ids: Vec<&str> = results.iter().map(|r| r.framework_id.as_str()).collect();
    let framework_names: Vec<&str> = results.iter().map(|r| r.framework_name.as_str()).collect();
    let framework_versions: Vec<Option<&str>> = results
        .iter()
        .map(|r| r.framework_version.as_deref())
        .collect();
    sqlx::query!(
        "insert into framework (id, name, version)
         select distinct on (id) id, name, version
         from unnest($1::text[], $2::text[], $3::text[]) as t(id, name, version)
         order by id
         on conflict (id) do nothing",
        &framework_ids as &[&str],
        &framework_names as &[&str],
        &framework_versions as &[Option<&str>]
    )
    .execute(&mut *conn)
    .await?;

    let control_ids: Vec<&str> = results.iter().map(|r| r.control_id.as_str()).collect();
    let titles: Vec<&str> = results.iter().map(|r| r.title.as_str()).collect();
    let sections: Vec<Option<&str>> = results.iter().map(|r| r.section.as_deref()).collect();
    let severities: Vec<i16> = results.iter().map(|r| r.severity.as_i16()).collect();
    sqlx::query!(
        "insert into control (framework_id, id, title, section, severity)
         select distinct on (f, c) f, c, t, s, sev
         from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::smallint[])
             as x(f, c, t, s, sev)
         order by f, c
         on conflict (framework_id, id) do nothing",
        &framework_ids as &[&str],
        &control_ids as &[&str],
        &titles as &[&str],
        &sections as &[Option<&str>],
        &severities
    )
    .execute(&mut *conn)
    .await?;

    let statuses: Vec<&str> = results.iter().map(|r| r.status.as_str()).collect();
    let totals: Vec<Option<i32>> = results.iter().map(|r| r.total_checks).collect();
    let failed: Vec<Option<i32>> = results.iter().map(|r| r.failed_checks).collect();
    let details: Vec<serde_json::Value> = results.iter().map(|r| r.details.clone()).collect();
    sqlx::query!(
        "insert into control_result (cluster_id, framework_id, control_id, report_id, status,
                                     total_checks, failed_checks, details)
         select $1, f, c, $2, st, tot, fail, d
         from unnest($3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::jsonb[])
             as x(f, c, st, tot, fail, d)",
        cluster_id,
        report_id,
        &framework_ids as &[&str],
        &control_ids as &[&str],
        &statuses as &[&str],
        &totals as &[Option<i32>],
        &failed as &[Option<i32>],
        &details
    )
    .execute(conn)
    .await?;
    Ok(())
}
