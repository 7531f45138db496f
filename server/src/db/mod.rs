//! All SQL, one file per aggregate. Functions take a `&mut PgConnection` (a transaction derefs
//! to one): the caller owns the transaction and decides what is atomic.
//!
//! Tenancy on the read side: every read query takes the viewer's cluster scope (`None` for an
//! unlimited viewer) and applies the same rule in SQL: a finding is visible when it lives in
//! one of the viewer's clusters, or when it is fleet-level (`cluster_id = 0`, a CI scan) on an
//! image that one of those clusters runs (`cluster_image`, written only from the clusters' own
//! container inventory in [`estate`]). Audit entries are visible when they concern one of the
//! viewer's clusters; fleet-level entries only to unlimited viewers. What writers may change is
//! [`crate::domain::tenancy`].
//!
//! Queries are compile-checked (`query!`, with `.sqlx/` for offline builds). The exceptions are
//! the bulk statements of the ingest merge (`COPY`, and updates over arrays of staged rows),
//! whose shape the checker cannot follow; they use runtime queries with bound parameters only.

pub mod assignees;
pub mod audit;
pub mod catalogue;
pub mod controls;
pub mod copy;
pub mod decisions;
pub mod demo;
pub mod estate;
pub mod estate_view;
pub mod explorer;
pub mod export;
pub mod finding_detail;
pub mod findings;
pub mod intel;
pub mod jobs;
pub mod lists;
pub mod login_throttle;
pub mod overview;
pub mod reports;
pub mod risk;
pub mod runtime;
pub mod settings;
pub mod snapshots;
pub mod tokens;
pub mod users;
pub mod vex;
pub mod views;

use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Whether the database answers: one round trip on `conn` (a protocol-level sync, no SQL), for
/// the readiness probe.
pub async fn ping(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    sqlx::Connection::ping(conn).await
}

/// Opens a pool on `url`. Fails fast when the database cannot be reached.
///
/// Every connection starts with two settings (sent at start-up, no statement): ingest stages
/// whole reports in temporary tables, and the default 8 MB of temporary buffers would spill a
/// large report to disk (allocated only when used); and a session left idle inside a
/// transaction for five minutes is ended by the server, so that no bug can hold locks, and
/// the requests waiting on them, for ever. And no JIT compilation: it costs 100–300 ms per
/// statement, more than any page's statements run, and the planner's estimates for a keyset
/// walk that stops after one page (the whole walk's cost) are high enough to set it off.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?.options([
        ("temp_buffers", "64MB"),
        ("idle_in_transaction_session_timeout", "300s"),
        ("jit", "off"),
    ]);
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
}

/// PostgreSQL's error code for a detected deadlock.
pub const DEADLOCK_DETECTED: &str = "40P01";
/// PostgreSQL's error code for a serialization failure.
pub const SERIALIZATION_FAILURE: &str = "40001";

/// PostgreSQL's error code for a unique violation.
pub const UNIQUE_VIOLATION: &str = "23505";

/// Unique keys that concurrent reports may both try to create: the bulk insert of the one that
/// commits second fails on them, and a retry finds the rows the first one created.
const RACED_KEYS: &[&str] = &["finding_cluster_id_fingerprint_key", "vulnerability_pkey"];

/// Whether retrying the whole transaction may succeed.
pub fn is_transient(error: &sqlx::Error) -> bool {
    let Some(error) = error.as_database_error() else {
        return false;
    };
    match error.code().as_deref() {
        Some(DEADLOCK_DETECTED | SERIALIZATION_FAILURE) => true,
        Some(UNIQUE_VIOLATION) => error.constraint().is_some_and(|c| RACED_KEYS.contains(&c)),
        _ => false,
    }
}
