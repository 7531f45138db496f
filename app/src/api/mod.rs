//! Server functions, one file per domain. Thin by design: pull the store out of context and
//! delegate. They live under `/rpc`; their URLs are an implementation detail of the UI, not an
//! API contract (that is `/api/v1`, served by the server crate).

pub mod assignees;
pub mod audit;
pub mod estate;
pub mod finding;
pub mod findings;
pub mod overview;
pub mod session;
pub mod theme;
pub mod tokens;
pub mod triage;
pub mod views;
