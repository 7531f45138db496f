//! The queue of background work on the `job` table: enqueue, claim, finish, fail, and
//! reclaiming jobs whose worker died.
//!
//! Several `bulwark` processes may work the queue at once and never run one job twice: a claim
//! takes one due job with `FOR UPDATE SKIP LOCKED` (a job another worker is claiming is
//! skipped, never waited for) and marks it taken (`locked_at`) in the same statement, which
//! commits on its own. Work already waiting is not queued twice: `job_pending_idx` allows one
//! unclaimed job per (kind, payload), so enqueueing a waiting job does nothing, while a job
//! that is running can be queued again (the change that queued it may come after the run
//! read the data).
//!
//! What a job does belongs to [`crate::jobs`]; this module only knows rows.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// How often a job is tried before it is given up (deleted, with its last error logged).
pub const MAX_ATTEMPTS: i32 = 5;

/// A claimed job.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    /// Its id, for [`finish`] and [`fail`].
    pub id: i64,
    /// What to do: `snapshot.backfill`, `snapshot.days`, `snapshot.cluster`, ...
    pub kind: String,
    /// Its arguments.
    pub payload: serde_json::Value,
    /// How often it has been claimed, this claim included.
    pub attempts: i32,
    /// Why the previous attempt failed, if it did.
    pub last_error: Option<String>,
}

/// Queues a job of `kind` with `payload` to run from `run_at`; returns whether a row was
/// added (`false`: the same job is already waiting).
#[tracing::instrument(skip(conn, payload), err)]
pub async fn enqueue(
    conn: &mut PgConnection,
    kind: &str,
    payload: &serde_json::Value,
    run_at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let added = sqlx::query!(
        "insert into job (kind, payload, run_at) values ($1, $2, $3)
         on conflict (kind, payload) where locked_at is null do nothing",
        kind,
        payload,
        run_at
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(added > 0)
}

/// Claims the job of one of `kinds` that has been due longest, if any: it is marked taken and
/// its attempts counted in one statement. Call it on a connection outside a transaction, so
/// that the claim commits at once and other workers see it.
#[tracing::instrument(skip_all, err)]
pub async fn claim(conn: &mut PgConnection, kinds: &[&str]) -> Result<Option<Job>, sqlx::Error> {
    let kinds: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
    sqlx::query_as!(
        Job,
        "with next as (
             select id from job
             where locked_at is null and run_at <= now() and kind = any($1)
             order by run_at, id
             limit 1
             for update skip locked
         )
         update job j set locked_at = now(), attempts = j.attempts + 1
         from next where j.id = next.id
         returning j.id, j.kind, j.payload, j.attempts, j.last_error",
        &kinds
    )
    .fetch_optional(conn)
    .await
}

/// Removes a job that is done.
#[tracing::instrument(skip(conn), err)]
pub async fn finish(conn: &mut PgConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from job where id = $1", id)
        .execute(conn)
        .await?;
    Ok(())
}

/// What became of a failed job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failed {
    /// It waits to be tried again.
    Retried,
    /// It is gone: tried [`MAX_ATTEMPTS`] times, or the same job is already waiting.
    Dropped,
}

/// Records that a claimed job failed with `error`: it is tried again from `retry_at`, unless it
/// has had [`MAX_ATTEMPTS`] or the same job is waiting already (which does the work).
#[tracing::instrument(skip(conn, error), err)]
pub async fn fail(
    conn: &mut PgConnection,
    id: i64,
    error: &str,
    retry_at: DateTime<Utc>,
) -> Result<Failed, sqlx::Error> {
    let dropped = sqlx::query!(
        "delete from job j
         where j.id = $1
           and (j.attempts >= $2
                or exists (select 1 from job p
                           where p.kind = j.kind and p.payload = j.payload
                             and p.locked_at is null and p.id <> j.id))",
        id,
        MAX_ATTEMPTS
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if dropped > 0 {
        return Ok(Failed::Dropped);
    }
    sqlx::query!(
        "update job set locked_at = null, last_error = $2, run_at = $3 where id = $1",
        id,
        error,
        retry_at
    )
    .execute(conn)
    .await?;
    Ok(Failed::Retried)
}

/// Releases jobs claimed longer than `older_than` ago (their worker crashed or was stopped):
/// they are due again at once, or dropped when tried [`MAX_ATTEMPTS`] times or when the same
/// job is waiting already. Returns how many were released or dropped.
#[tracing::instrument(skip(conn), err)]
pub async fn reclaim_stale(
    conn: &mut PgConnection,
    older_than: std::time::Duration,
) -> Result<u64, sqlx::Error> {
    let seconds = older_than.as_secs_f64();
    let touched = sqlx::query_scalar!(
        r#"with stale as (
               select id, kind, payload, attempts from job
               where locked_at < now() - make_interval(secs => $1)
               for update skip locked
           ), ranked as (
               select s.id,
                      s.attempts >= $2
                      or row_number() over (partition by s.kind, s.payload order by s.id desc) > 1
                      or exists (select 1 from job p
                                 where p.kind = s.kind and p.payload = s.payload
                                   and p.locked_at is null) as drop_it
               from stale s
           ), dropped as (
               delete from job j using ranked r where j.id = r.id and r.drop_it
               returning j.id
           ), released as (
               update job j set locked_at = null,
                                last_error = coalesce(j.last_error, 'the worker holding it stopped')
               from ranked r where j.id = r.id and not r.drop_it
               returning j.id
           )
           select (select count(*) from dropped) + (select count(*) from released) as "n!""#,
        seconds,
        MAX_ATTEMPTS
    )
    .fetch_one(conn)
    .await?;
    Ok(u64::try_from(touched).unwrap_or(0))
}
