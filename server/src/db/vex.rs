//! VEX statements: stored, and applied to the findings they are about. `not_affected` and
//! `fixed` suppress matching open findings; a later `affected` or `under_investigation`
//! statement lifts a suppression that came from VEX. Triage decisions by people are never
//! overridden.
//!
//! A statement reaches the findings of the cluster whose token sent it, or the whole fleet
//! when an unbound token sent it (`reach`, from [`crate::domain::tenancy::Writer::vex_reach`]):
//! a cluster's statement never changes another cluster's findings.

use sqlx::PgConnection;

use crate::domain::report::VexStatement;

/// Stores the statements of one report and applies them; returns how many findings were
/// suppressed.
#[tracing::instrument(skip_all, fields(statements = statements.len()), err)]
pub async fn apply(
    conn: &mut PgConnection,
    source_id: i64,
    reach: Option<i64>,
    report_id: i64,
    statements: &[VexStatement],
) -> Result<u64, sqlx::Error> {
    if statements.is_empty() {
        return Ok(0);
    }
    let vulns: Vec<&str> = statements
        .iter()
        .map(|s| s.vulnerability_id.as_str())
        .collect();
    let components: Vec<Option<&str>> = statements
        .iter()
        .map(|s| s.component_key.as_deref())
        .collect();
    let images: Vec<Option<&str>> = statements.iter().map(|s| s.image_key.as_deref()).collect();
    let statuses: Vec<&str> = statements.iter().map(|s| s.status.as_str()).collect();
    let justifications: Vec<Option<&str>> = statements
        .iter()
        .map(|s| s.justification.as_deref())
        .collect();
    let texts: Vec<Option<&str>> = statements.iter().map(|s| s.statement.as_deref()).collect();
    let issued: Vec<Option<chrono::DateTime<chrono::Utc>>> =
        statements.iter().map(|s| s.issued_at).collect();
    sqlx::query!(
        "insert into vex_statement (source_id, cluster_id, report_id, vulnerability_id,
                                    component_key, image_key, status, justification, statement,
                                    issued_at)
         select $1, $10, $2, v, c, i, st, j, t, at
         from unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                     $9::timestamptz[]) as x(v, c, i, st, j, t, at)",
        source_id,
        report_id,
        &vulns as &[&str],
        &components as &[Option<&str>],
        &images as &[Option<&str>],
        &statuses as &[&str],
        &justifications as &[Option<&str>],
        &texts as &[Option<&str>],
        &issued as &[Option<chrono::DateTime<chrono::Utc>>],
        reach
    )
    .execute(&mut *conn)
    .await?;

    // Suppress open findings the suppressing statements are about.
    let suppressed = sqlx::query!(
        r#"with s as (
               select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
                   as x(vuln, comp, img, status, justification)
               where status in ('not_affected', 'fixed')
           ), matched as (
               select distinct on (f.cluster_id, f.id) f.cluster_id, f.id,
                      s.status || coalesce(': ' || s.justification, '') as why
               from s
               join finding f on f.vulnerability_id = s.vuln
               left join component c on c.id = f.component_id
               left join image i on i.id = f.image_id
               where f.status in ('open', 'reopened')
                 and ($7::bigint is null or f.cluster_id = $7)
                 and (s.comp is null or c.key = s.comp)
                 and (s.img is null or i.key = s.img)
               order by f.cluster_id, f.id
           ), updated as (
               update finding f set status = 'suppressed_by_vex', status_changed_at = bulwark_now()
               from matched m where f.cluster_id = m.cluster_id and f.id = m.id
               returning f.cluster_id, f.id, m.why
           ), history as (
               insert into finding_event (cluster_id, finding_id, at, status)
               select cluster_id, id, bulwark_now(), 'suppressed_by_vex' from updated
           )
           insert into finding_decision (cluster_id, finding_id, decision, justification, vex_source)
           select cluster_id, id, 'suppressed_by_vex', why, 'report ' || $6::bigint from updated"#,
        &vulns as &[&str],
        &components as &[Option<&str>],
        &images as &[Option<&str>],
        &statuses as &[&str],
        &justifications as &[Option<&str>],
        report_id,
        reach
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();

    // Lift VEX suppressions that a newer statement contradicts.
    sqlx::query!(
        r#"with s as (
               select * from unnest($1::text[], $2::text[], $3::text[], $4::text[])
                   as x(vuln, comp, img, status)
               where status in ('affected', 'under_investigation')
           ), matched as (
               select distinct f.cluster_id, f.id
               from s
               join finding f on f.vulnerability_id = s.vuln
               left join component c on c.id = f.component_id
               left join image i on i.id = f.image_id
               where f.status = 'suppressed_by_vex'
                 and ($5::bigint is null or f.cluster_id = $5)
                 and (s.comp is null or c.key = s.comp)
                 and (s.img is null or i.key = s.img)
           ), revoked as (
               update finding_decision d set revoked_at = bulwark_now()
               from matched m
               where d.cluster_id = m.cluster_id and d.finding_id = m.id
                 and d.decision = 'suppressed_by_vex' and d.revoked_at is null
               returning d.cluster_id, d.finding_id
           ), lifted as (
               update finding f set status = 'open', status_changed_at = bulwark_now()
               from matched m where f.cluster_id = m.cluster_id and f.id = m.id
               returning f.cluster_id, f.id
           )
           insert into finding_event (cluster_id, finding_id, at, status)
           select cluster_id, id, bulwark_now(), 'open' from lifted"#,
        &vulns as &[&str],
        &components as &[Option<&str>],
        &images as &[Option<&str>],
        &statuses as &[&str],
        reach
    )
    .execute(conn)
    .await?;
    Ok(suppressed)
}

/// Whether any statement on file concerns one of these vulnerabilities (so that new findings
/// need the VEX check at all).
#[tracing::instrument(skip_all, err)]
pub async fn any_for(
    conn: &mut PgConnection,
    vulnerability_ids: &[String],
) -> Result<bool, sqlx::Error> {
    if vulnerability_ids.is_empty() {
        return Ok(false);
    }
    sqlx::query_scalar!(
        r#"select exists (select 1 from vex_statement where vulnerability_id = any($1)) as "e!""#,
        vulnerability_ids
    )
    .fetch_one(conn)
    .await
}
