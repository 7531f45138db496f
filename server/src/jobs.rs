//! Background work of `bulwark serve`: periodic tasks that keep the data true without a
//! request asking (sessions that ended, sign-in failures old enough to forget, risk
//! acceptances that expired), and the worker of the `job` queue (the daily snapshots).
//!
//! Each periodic task is one `async fn` here that loops on its own interval and never returns,
//! started by [`spawn_all`]; a failure is logged and the task tries again at its next tick. A
//! task only calls `db::` functions (no SQL here). The periodic tasks are safe to run in every
//! `bulwark` process at once (their statements are idempotent); work that must run once across
//! processes is queued in the `job` table ([`db::jobs`]) and claimed by one worker.
//!
//! Snapshot jobs ([`db::snapshots`]): `snapshot.backfill` (the whole history, queued at start
//! when no snapshot exists), `snapshot.days` (yesterday and today of every cluster, queued at
//! start and shortly after each UTC midnight), `snapshot.cluster` with `{"cluster_id": N}`
//! (yesterday and today of one cluster, queued after an ingest or an expiry changed its
//! findings). The SLA policy is read for every job, so a changed policy applies at the next.

use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveTime, Utc};
use serde_json::json;
use sqlx::PgPool;
use tokio::time::MissedTickBehavior;

use crate::db::jobs::{Failed, Job};
use crate::{AppState, db};

/// Rebuild the whole history of snapshots.
pub const SNAPSHOT_BACKFILL: &str = "snapshot.backfill";
/// Rebuild yesterday and today for every cluster.
pub const SNAPSHOT_DAYS: &str = "snapshot.days";
/// Rebuild yesterday and today for one cluster (`{"cluster_id": N}`).
pub const SNAPSHOT_CLUSTER: &str = "snapshot.cluster";
/// The job kinds the snapshot worker runs.
pub const SNAPSHOT_KINDS: &[&str] = &[SNAPSHOT_BACKFILL, SNAPSHOT_DAYS, SNAPSHOT_CLUSTER];

/// How often the worker looks for due jobs when the queue was empty.
const POLL_EVERY: Duration = Duration::from_secs(2);

/// A job claimed longer ago than this lost its worker (a backfill of a million findings takes
/// well under a minute).
const STALE_LOCK: Duration = Duration::from_secs(15 * 60);

/// How often claims older than [`STALE_LOCK`] are looked for.
const RECLAIM_EVERY: Duration = Duration::from_secs(60);

/// How long after UTC midnight the day's `snapshot.days` runs (reports sent just before
/// midnight are in).
const AFTER_MIDNIGHT: Duration = Duration::from_secs(5 * 60);

/// How often expired sessions, forgotten sign-in failures and idle rate-limit keys are dropped.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(60);

/// How often findings whose risk acceptance has expired are reopened.
const EXPIRY_SWEEP_EVERY: Duration = Duration::from_secs(300);

/// Starts every background job of the server.
pub fn spawn_all(state: &AppState) {
    tokio::spawn(housekeeping(state.clone()));
    tokio::spawn(sweep_expired_acceptances(state.pool.clone()));
    tokio::spawn(snapshot_worker(state.pool.clone()));
}

/// Drops expired sessions, forgotten sign-in failures and idle rate-limit keys every
/// [`HOUSEKEEPING_EVERY`].
async fn housekeeping(state: AppState) {
    let mut every = tokio::time::interval(HOUSEKEEPING_EVERY);
    every.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        state.limiters.shrink();
        if let Ok(mut conn) = state.pool.acquire().await
            && let Err(error) = db::users::delete_expired_sessions(&mut conn).await
        {
            tracing::warn!(%error, "removing expired sessions failed; retrying later");
        }
        if let Ok(mut conn) = state.pool.acquire().await
            && let Err(error) = db::login_throttle::delete_forgotten(
                &mut conn,
                crate::auth::rate::SignInBackoff::FORGET_AFTER,
            )
            .await
        {
            tracing::warn!(%error, "removing forgotten sign-in failures failed; retrying later");
        }
    }
}

/// Reopens expired acceptances at start and then every [`EXPIRY_SWEEP_EVERY`] (ingest also
/// reopens them for the findings a report touches).
async fn sweep_expired_acceptances(pool: sqlx::PgPool) {
    let mut every = tokio::time::interval(EXPIRY_SWEEP_EVERY);
    every.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let result = match pool.acquire().await {
            Ok(mut conn) => db::findings::expire_acceptances_by_cluster(&mut conn).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(clusters) if clusters.is_empty() => {}
            Ok(clusters) => {
                let n: u64 = clusters.iter().map(|(_, n)| n).sum();
                tracing::info!(reopened = n, "expired risk acceptances reopened");
                let ids: Vec<i64> = clusters.iter().map(|(id, _)| *id).collect();
                if let Err(error) = enqueue_clusters(&pool, &ids).await {
                    tracing::warn!(%error, "queueing the snapshot refresh after expiry failed");
                }
            }
            Err(e) => tracing::warn!(error = %e, "expiry sweep failed; retrying later"),
        }
    }
}

/// Queues a `snapshot.cluster` job for each of `clusters` (one waiting job per cluster).
pub async fn enqueue_clusters(pool: &PgPool, clusters: &[i64]) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    for cluster_id in clusters {
        db::jobs::enqueue(
            &mut conn,
            SNAPSHOT_CLUSTER,
            &json!({ "cluster_id": cluster_id }),
            Utc::now(),
        )
        .await?;
    }
    Ok(())
}

/// After report `report_id` was stored (committed): queues the snapshot refresh of the
/// clusters whose findings it may have changed, or of every cluster when it carried VEX
/// statements from an unbound sender (they reach the whole fleet). A failure is logged; the
/// next daily run catches up.
pub async fn after_ingest(pool: &PgPool, report_id: i64) {
    let queued = async {
        let reach = {
            let mut conn = pool.acquire().await?;
            db::snapshots::report_reach(&mut conn, report_id).await?
        };
        if reach.fleet_vex {
            let mut conn = pool.acquire().await?;
            db::jobs::enqueue(&mut conn, SNAPSHOT_DAYS, &json!({}), Utc::now()).await?;
        }
        enqueue_clusters(pool, &reach.clusters).await
    };
    if let Err(error) = queued.await {
        tracing::warn!(%error, report_id, "queueing the snapshot refresh failed");
    }
}

/// Works the snapshot jobs: queues what start-up needs, then claims and runs due jobs,
/// queues the daily run after each UTC midnight and releases jobs whose worker died.
async fn snapshot_worker(pool: PgPool) {
    if let Err(error) = enqueue_at_start(&pool).await {
        tracing::warn!(%error, "queueing the snapshot jobs at start failed");
    }
    let mut today = Utc::now().date_naive();
    let mut reclaimed_at: Option<Instant> = None;
    loop {
        let now = Utc::now();
        if now.date_naive() != today {
            today = now.date_naive();
            let run_at = DateTime::from_naive_utc_and_offset(today.and_time(NaiveTime::MIN), Utc)
                + AFTER_MIDNIGHT;
            if let Err(error) = enqueue_days(&pool, run_at).await {
                tracing::warn!(%error, "queueing the daily snapshot failed");
            }
        }
        if reclaimed_at.is_none_or(|at| at.elapsed() >= RECLAIM_EVERY) {
            reclaimed_at = Some(Instant::now());
            let released = match pool.acquire().await {
                Ok(mut conn) => db::jobs::reclaim_stale(&mut conn, STALE_LOCK).await,
                Err(e) => Err(e),
            };
            match released {
                Ok(0) => {}
                Ok(n) => tracing::warn!(jobs = n, "jobs of a stopped worker released"),
                Err(error) => tracing::warn!(%error, "releasing stale jobs failed"),
            }
        }
        match work_one(&pool).await {
            Ok(Some(_)) => continue, // more may be due
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "the job queue cannot be read; retrying"),
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// What start-up queues: the whole history when no snapshot exists yet, else yesterday and
/// today (a server that was down over midnight catches up).
async fn enqueue_at_start(pool: &PgPool) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    if db::snapshots::is_empty(&mut conn).await? {
        db::jobs::enqueue(&mut conn, SNAPSHOT_BACKFILL, &json!({}), Utc::now()).await?;
        Ok(())
    } else {
        enqueue_days(pool, Utc::now()).await
    }
}

async fn enqueue_days(pool: &PgPool, run_at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    db::jobs::enqueue(&mut conn, SNAPSHOT_DAYS, &json!({}), run_at).await?;
    Ok(())
}

/// Claims one due snapshot job and runs it: done, it is removed; failed, it is logged and
/// retried later (given up after [`db::jobs::MAX_ATTEMPTS`]). Returns the job claimed, `None`
/// when none was due; an error only when the queue itself cannot be reached.
pub async fn work_one(pool: &PgPool) -> Result<Option<Job>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let Some(job) = db::jobs::claim(&mut conn, SNAPSHOT_KINDS).await? else {
        return Ok(None);
    };
    let started = Instant::now();
    match run(&mut conn, &job).await {
        Ok(()) => {
            db::jobs::finish(&mut conn, job.id).await?;
            tracing::debug!(
                kind = job.kind,
                millis = started.elapsed().as_millis(),
                "job done"
            );
        }
        Err(error) => {
            let retry_in = chrono::Duration::seconds(30 * i64::from(job.attempts.max(1)));
            let failed = db::jobs::fail(
                &mut conn,
                job.id,
                &format!("{error:#}"),
                Utc::now() + retry_in,
            )
            .await?;
            match failed {
                Failed::Retried => {
                    tracing::warn!(kind = job.kind, attempts = job.attempts, error = %format!("{error:#}"), "job failed; retrying later");
                }
                Failed::Dropped => {
                    tracing::error!(kind = job.kind, attempts = job.attempts, error = %format!("{error:#}"), "job failed; given up");
                }
            }
        }
    }
    Ok(Some(job))
}

/// Runs one snapshot job with the SLA policy in force.
async fn run(conn: &mut sqlx::PgConnection, job: &Job) -> anyhow::Result<()> {
    let policy = db::settings::sla_policy(conn).await?;
    match job.kind.as_str() {
        SNAPSHOT_BACKFILL => {
            let rows = db::snapshots::backfill(conn, &policy).await?;
            tracing::info!(rows, "snapshot history rebuilt");
        }
        SNAPSHOT_DAYS => {
            db::snapshots::refresh_days(conn, &policy).await?;
        }
        SNAPSHOT_CLUSTER => {
            let cluster_id = job
                .payload
                .get("cluster_id")
                .and_then(serde_json::Value::as_i64)
                .ok_or_else(|| anyhow::anyhow!("payload without a cluster_id: {}", job.payload))?;
            db::snapshots::refresh_cluster(conn, &policy, cluster_id).await?;
        }
        other => anyhow::bail!("unknown job kind {other}"),
    }
    Ok(())
}
