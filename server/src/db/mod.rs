//! All SQL, one file per aggregate. Functions take a `&mut PgConnection` (a transaction derefs
//! to one): the caller owns the transaction and decides what is atomic.
//!
//! Queries are compile-checked (`query!`, with `.sqlx/` for offline builds). The exceptions are
//! statements on per-transaction temporary staging tables, which the compile-time checker cannot
//! see; they use runtime queries with bound parameters only.

pub mod audit;
pub mod catalogue;
pub mod controls;
pub mod copy;
pub mod estate;
pub mod findings;
pub mod intel;
pub mod lists;
pub mod overview;
pub mod reports;
pub mod risk;
pub mod runtime;
pub mod tokens;
pub mod users;
pub mod vex;

/// PostgreSQL's error code for a detected deadlock.
pub const DEADLOCK_DETECTED: &str = "40P01";
/// PostgreSQL's error code for a serialization failure.
pub const SERIALIZATION_FAILURE: &str = "40001";

/// Whether retrying the whole transaction may succeed.
pub fn is_transient(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == DEADLOCK_DETECTED || code == SERIALIZATION_FAILURE)
}
