//! Background work of `bulwark serve`: periodic tasks that keep the data true without a
//! request asking (sessions that ended, sign-in failures old enough to forget, risk
//! acceptances that expired).
//!
//! Each job is one `async fn` here that loops on its own interval and never returns, started
//! by [`spawn_all`]; a failure is logged and the job tries again at its next tick. A job only
//! calls `db::` functions (no SQL here). Both jobs today are safe to run in every `bulwark`
//! process at once (their statements are idempotent); work that must run once across
//! processes is to be claimed from the `job` table (in the schema) with
//! `FOR UPDATE SKIP LOCKED`.

use std::time::Duration;

use tokio::time::MissedTickBehavior;

use crate::{AppState, db};

/// How often expired sessions, forgotten sign-in failures and idle rate-limit keys are dropped.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(60);

/// How often findings whose risk acceptance has expired are reopened.
const EXPIRY_SWEEP_EVERY: Duration = Duration::from_secs(300);

/// Starts every background job of the server.
pub fn spawn_all(state: &AppState) {
    tokio::spawn(housekeeping(state.clone()));
    tokio::spawn(sweep_expired_acceptances(state.pool.clone()));
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
            Ok(mut conn) => db::findings::expire_acceptances(&mut conn).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(reopened = n, "expired risk acceptances reopened"),
            Err(e) => tracing::warn!(error = %e, "expiry sweep failed; retrying later"),
        }
    }
}
