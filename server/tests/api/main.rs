//! Integration tests: the real router over real HTTP against a fresh PostgreSQL database per
//! test (`#[sqlx::test]` creates it from `DATABASE_URL` and applies the migrations).

#![expect(
    clippy::unwrap_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod access;
mod assign;
mod boundaries;
mod cli;
mod cross_scanner;
mod decisions;
mod demo;
mod estate;
mod explorer;
mod export;
mod fake_idp;
mod finding_page;
mod helpers;
mod ingest;
mod intel;
mod lifecycle;
mod login_throttle;
mod oidc;
mod overview;
mod pages;
mod risk_paths;
mod samples;
mod snapshots;
mod tenancy;
mod vex_runtime;
mod views;
