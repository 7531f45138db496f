//! The sign-in throttle's state: failed sign-ins per (login name, client address) pair and how
//! long each pair waits. What the numbers mean, how long a wait is and how a pair is named are
//! the rules of the sign-in handlers' rate module (`SignInBackoff`, `throttle_client`), one
//! layer up; this file only stores them. The audit trail of
//! failures is the audit log's, not this table's: rows here are dropped once forgotten.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// A pair's current wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pause {
    /// When the pair may try again.
    pub until: DateTime<Utc>,
    /// Whole seconds from now until then (at least 1).
    pub seconds: u64,
}

fn pause(until: DateTime<Utc>, seconds: i64) -> Pause {
    Pause {
        until,
        seconds: u64::try_from(seconds).unwrap_or(0).max(1),
    }
}

/// Counts an attempt of the pair (`login`, `client`) as a failure until it is known to have
/// succeeded: the pair's failures in a row, this one included (a pair forgotten after
/// `forget_after` without failures starts again at 1). `None`, and nothing counted, while the
/// pair waits.
#[tracing::instrument(skip_all, err)]
pub async fn charge(
    conn: &mut PgConnection,
    login: &str,
    client: &str,
    forget_after: Duration,
) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into login_throttle as t (login, client, failures)
         values ($1, ($2::text)::inet, 1)
         on conflict (login, client) do update
            set failures = case when t.last_failure_at < now() - make_interval(secs => $3)
                                then 1 else t.failures + 1 end,
                last_failure_at = now(),
                blocked_until = null
          where t.blocked_until is null or t.blocked_until <= now()
         returning failures",
        login,
        client,
        forget_after.as_secs_f64()
    )
    .fetch_optional(conn)
    .await
}

/// Makes the pair wait `wait` from now; `None` when the pair is gone (its owner signed in, or
/// an administrator unlocked the account, in the meantime).
#[tracing::instrument(skip_all, err)]
pub async fn wait(
    conn: &mut PgConnection,
    login: &str,
    client: &str,
    wait: Duration,
) -> Result<Option<Pause>, sqlx::Error> {
    let row = sqlx::query!(
        r#"update login_throttle set blocked_until = now() + make_interval(secs => $3)
            where login = $1 and client = ($2::text)::inet
        returning blocked_until as "until!",
                  ceil(extract(epoch from blocked_until - now()))::bigint as "seconds!""#,
        login,
        client,
        wait.as_secs_f64()
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| pause(r.until, r.seconds)))
}

/// The pair's current wait, if it waits.
#[tracing::instrument(skip_all, err)]
pub async fn paused(
    conn: &mut PgConnection,
    login: &str,
    client: &str,
) -> Result<Option<Pause>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select blocked_until as "until!",
                  ceil(extract(epoch from blocked_until - now()))::bigint as "seconds!"
             from login_throttle
            where login = $1 and client = ($2::text)::inet and blocked_until > now()"#,
        login,
        client
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| pause(r.until, r.seconds)))
}

/// Forgets the pair's failures (a successful sign-in).
#[tracing::instrument(skip_all, err)]
pub async fn forget(conn: &mut PgConnection, login: &str, client: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from login_throttle where login = $1 and client = ($2::text)::inet",
        login,
        client
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets every pair of a login name, from every address; how many there were.
#[tracing::instrument(skip_all, err)]
pub async fn forget_login(conn: &mut PgConnection, login: &str) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query!("delete from login_throttle where login = $1", login)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

/// Drops pairs without a failure for `forget_after` and no wait left (housekeeping).
#[tracing::instrument(skip_all, err)]
pub async fn delete_forgotten(
    conn: &mut PgConnection,
    forget_after: Duration,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "delete from login_throttle
          where last_failure_at < now() - make_interval(secs => $1)
            and (blocked_until is null or blocked_until <= now())",
        forget_after.as_secs_f64()
    )
    .execute(conn)
    .await?
    .rows_affected())
}
