//! What the demo fleet needs to know of a database: whether it holds anything, and whether
//! that is an earlier demo (the `demo` setting, and reports only from demo sources), plus the
//! few reads the demo's history uses. It writes no findings: those go through the ingest
//! pipeline like any report.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// What a database holds, as far as the demo is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holding {
    /// No estate and no reports.
    Nothing,
    /// A demo fleet, and nothing anyone sent.
    Demo,
    /// Data that is not (only) the demo's.
    Other,
}

/// What the database holds. Demo data is marked by the `demo` setting (written before the first
/// report) or, for fleets loaded before that setting existed, by sources whose tokens are all
/// demo tokens; a single report from any other source makes it real data.
#[tracing::instrument(skip_all, err)]
pub async fn holding(conn: &mut PgConnection) -> Result<Holding, sqlx::Error> {
    let row = sqlx::query!(
        r#"select exists (select 1 from cluster) or exists (select 1 from report)
                  or exists (select 1 from image) as "any!",
                  exists (select 1 from setting where key = 'demo')
                  or exists (select 1 from api_token where name like '% (demo)') as "marked!",
                  exists (select 1 from report r
                          where not exists (select 1 from api_token t
                                            where t.source_id = r.source_id
                                              and t.name like '% (demo)')) as "foreign!""#
    )
    .fetch_one(conn)
    .await?;
    Ok(match (row.any, row.marked && !row.foreign) {
        (false, _) => Holding::Nothing,
        (true, true) => Holding::Demo,
        (true, false) => Holding::Other,
    })
}

/// Marks the database as holding a demo fleet described by `details`.
#[tracing::instrument(skip_all, err)]
pub async fn mark(conn: &mut PgConnection, details: &serde_json::Value) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into setting (key, value) values ('demo', $1)
         on conflict (key) do update set value = excluded.value, updated_at = now()",
        details
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// An open finding the demo may accept as a risk.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Its cluster.
    pub cluster_id: i64,
    /// Its id.
    pub id: i64,
    /// When it was first seen.
    pub first_seen: DateTime<Utc>,
}

/// Up to `limit` findings open since they were first seen (never fixed, never decided) and
/// first seen before `before`, picked evenly across the fleet in an order fixed by `seed`.
#[tracing::instrument(skip_all, err)]
pub async fn acceptance_candidates(
    conn: &mut PgConnection,
    limit: i64,
    seed: i64,
    before: DateTime<Utc>,
) -> Result<Vec<Candidate>, sqlx::Error> {
    sqlx::query_as!(
        Candidate,
        r#"select cluster_id as "cluster_id!", id as "id!", first_seen as "first_seen!"
           from finding
           where status = 'open' and kind = 'vulnerability' and first_seen < $3
             and severity between 1 and 3
           order by hashtextextended(id::text, $2)
           limit $1"#,
        limit,
        seed,
        before
    )
    .fetch_all(conn)
    .await
}

/// How many findings there are, and in which state: `(all, open or reopened, fixed, reopened,
/// accepted)`.
#[tracing::instrument(skip_all, err)]
pub async fn finding_counts(conn: &mut PgConnection) -> Result<[i64; 5], sqlx::Error> {
    let r = sqlx::query!(
        r#"select count(*) as "all!",
                  count(*) filter (where status in ('open', 'reopened')) as "open!",
                  count(*) filter (where status = 'fixed') as "fixed!",
                  count(*) filter (where status = 'reopened') as "reopened!",
                  count(*) filter (where status = 'accepted') as "accepted!"
           from finding"#
    )
    .fetch_one(conn)
    .await?;
    Ok([r.all, r.open, r.fixed, r.reopened, r.accepted])
}
