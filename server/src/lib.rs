//! Bulwark's server: the HTTP API, ingestion, the PostgreSQL store and the command line.
//!
//! Module map:
//! - [`config`]: the command line and environment (one clap struct).
//! - [`cli`]: what each subcommand does (`serve`, `migrate`, `token create`, `demo`).
//! - [`routes`]: every HTTP route on one screen, each with its access rule, and the layers
//!   around them; [`error`] turns failures into problem+json; [`telemetry`] owns logging and
//!   the request id.
//! - [`auth`]: sessions, API tokens as credentials, passwords, single sign-on and the guard
//!   that enforces each route's rule.
//! - [`ingest`]: `POST /api/v1/ingest/{format}`: one pure parser per format, and the pipeline
//!   that stores a parsed report in one transaction.
//! - [`export`]: `GET /findings.csv`, the explorer's selection streamed as CSV.
//! - [`db`]: all SQL, one file per aggregate; functions take a connection or transaction.
//! - [`domain`]: pure rules (fingerprints, image references, tokens), tested without a database.
//! - [`store`]: the UI's [`app::store::Store`] implemented over [`db`].
//! - [`demo`]: the demo fleet.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod export;
pub mod ingest;
pub mod jobs;
pub mod routes;
pub mod store;
pub mod telemetry;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use tokio::net::TcpListener;

pub use db::connect;

/// The database migrations, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Limits that protect the server from oversized input.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest report body accepted, after decompression, in bytes.
    pub max_report_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_report_bytes: 100 * 1024 * 1024,
        }
    }
}

/// What every request handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The connection pool.
    pub pool: PgPool,
    /// Where the site's files are and how the pages are served.
    pub leptos: LeptosOptions,
    /// Input limits.
    pub limits: Limits,
    /// Sessions, cookies and rate limits.
    pub auth: Arc<auth::AuthSettings>,
    /// The rate limiters (shared by every request of this process).
    pub limiters: Arc<auth::rate::Limiters>,
    /// Single sign-on, when configured.
    pub oidc: Option<Arc<auth::oidc::Oidc>>,
}

impl AppState {
    /// The state for a server over `pool`.
    pub fn new(
        pool: PgPool,
        leptos: LeptosOptions,
        limits: Limits,
        auth: auth::AuthSettings,
    ) -> Self {
        let limiters = auth::rate::Limiters::new(
            auth.login_attempts_per_minute,
            auth.ingest_reports_per_minute,
        );
        AppState {
            pool,
            leptos,
            limits,
            auth: Arc::new(auth),
            limiters: Arc::new(limiters),
            oidc: None,
        }
    }

    /// The same state with single sign-on through `oidc`.
    pub fn with_oidc(mut self, oidc: auth::oidc::Oidc) -> Self {
        self.oidc = Some(Arc::new(oidc));
        self
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// Serves the application on `listener` until `shutdown` resolves, then drains open requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // a route without an access rule stops the server here, before it listens
    let app = routes::router(state).map_err(std::io::Error::other)?;
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
