//! Every route on one screen, and the middleware around them.
//!
//! | route                          | what                                             |
//! |--------------------------------|--------------------------------------------------|
//! | `GET /healthz`                 | the process is up                                |
//! | `GET /readyz`                  | the database answers                             |
//! | `POST /login`, `POST /logout`  | sign in (form), sign out                         |
//! | `GET /auth/oidc/login`, `GET /auth/oidc/callback` | single sign-on (OpenID Connect) |
//! | `POST /account/password`       | change one's password (form)                     |
//! | `GET /audit.csv`               | the audit log as CSV (managers)                  |
//! | `POST /settings/tokens/new`, `/settings/tokens/revoke` | API tokens (managers) |
//! | `GET /api/v1/findings`         | open findings, with a `read` token               |
//! | `POST /api/v1/ingest/{format}` | a scanner report, with an ingest token           |
//! | `POST /api/v1/ingest`          | the same, format detected from the content        |
//! | `POST /api/v1/intel/{feed}`    | CISA KEV (JSON/CSV) or FIRST EPSS (CSV) file      |
//! | `/api/*` (anything else)       | 404 problem+json                                 |
//! | `/rpc/*`                       | server functions of the UI (not an API contract) |
//! | pages                          | the Leptos routes of [`app::App`]                |
//! | anything else                  | static files from the site root, else the 404 page |
//!
//! Every request passes [`auth::middleware::guard`] (session → viewer, the access policy of
//! [`auth::policy`], CSRF) and leaves with the security headers of
//! [`auth::middleware::security_headers`]. [`router_with_table`] also returns every route with
//! its methods, so tests can check the policy of each one.

use std::sync::Arc;
use std::time::Instant;

use app::store::StoreHandle;
use app::{App, shell};
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any, get, post};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tracing::Instrument;

use crate::error::ApiError;
use crate::store::PgStore;
use crate::{AppState, auth, ingest};

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled, if called while handling one.
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// One route the application serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteEntry {
    /// The method.
    pub method: Method,
    /// The path pattern, as the router matches it (`/api/v1/ingest/{format}`).
    pub path: String,
}

/// Builds the application.
pub fn router(state: AppState) -> Router {
    router_with_table(state).0
}

/// Adds a route and notes it (with its methods) in `table`.
fn add(
    router: Router<AppState>,
    table: &mut Vec<RouteEntry>,
    path: &str,
    methods: &[Method],
    handler: MethodRouter<AppState>,
) -> Router<AppState> {
    table.extend(methods.iter().map(|m| RouteEntry {
        method: m.clone(),
        path: path.to_owned(),
    }));
    router.route(path, handler)
}

/// Builds the application and lists every route it serves: the API and form routes, the
/// pages and the server functions.
pub fn router_with_table(state: AppState) -> (Router, Vec<RouteEntry>) {
    let store = StoreHandle(Arc::new(PgStore::new(state.pool.clone())));
    let leptos_options = state.leptos.clone();
    let sign_in = app::model::SignInOptions {
        single_sign_on: state.oidc.is_some(),
    };
    let routes = generate_route_list(App);
    let mut table = Vec::new();
    let t = &mut table;
    let any_method = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];

    let mut router = Router::new();
    router = add(router, t, "/healthz", &[Method::GET], get(healthz));
    router = add(router, t, "/readyz", &[Method::GET], get(readyz));
    router = add(
        router,
        t,
        "/login",
        &[Method::POST],
        post(auth::handlers::login),
    );
    router = add(
        router,
        t,
        "/logout",
        &[Method::POST],
        post(auth::handlers::logout),
    );
    router = add(
        router,
        t,
        "/auth/oidc/login",
        &[Method::GET],
        get(auth::oidc::start),
    );
    router = add(
        router,
        t,
        "/auth/oidc/callback",
        &[Method::GET],
        get(auth::oidc::callback),
    );
    router = add(
        router,
        t,
        "/account/password",
        &[Method::POST],
        post(auth::handlers::change_password),
    );
    router = add(
        router,
        t,
        "/audit.csv",
        &[Method::GET],
        get(auth::handlers::audit_csv),
    );
    router = add(
        router,
        t,
        "/settings/tokens/new",
        &[Method::POST],
        post(auth::tokens::create),
    );
    router = add(
        router,
        t,
        "/settings/tokens/revoke",
        &[Method::POST],
        post(auth::tokens::revoke),
    );
    router = add(
        router,
        t,
        "/api/v1/findings",
        &[Method::GET],
        get(auth::tokens::read_findings),
    );
    // these handlers enforce their own limit, after gzip decompression
    router = add(
        router,
        t,
        "/api/v1/ingest/{format}",
        &[Method::POST],
        post(ingest::ingest).layer(DefaultBodyLimit::disable()),
    );
    router = add(
        router,
        t,
        "/api/v1/ingest",
        &[Method::POST],
        post(ingest::ingest_detected).layer(DefaultBodyLimit::disable()),
    );
    router = add(
        router,
        t,
        "/api/v1/intel/{feed}",
        &[Method::POST],
        post(ingest::intel).layer(DefaultBodyLimit::disable()),
    );
    router = add(router, t, "/api/{*rest}", &any_method, any(api_not_found));
    router = add(router, t, "/api", &any_method, any(api_not_found));

    for listing in &routes {
        table.extend(listing.methods().map(|m| RouteEntry {
            method: match m {
                leptos_router::Method::Post => Method::POST,
                leptos_router::Method::Put => Method::PUT,
                leptos_router::Method::Patch => Method::PATCH,
                leptos_router::Method::Delete => Method::DELETE,
                _ => Method::GET,
            },
            path: listing.path().to_owned(),
        }));
    }
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        table.push(RouteEntry {
            method,
            path: path.to_owned(),
        });
    }

    let router = router
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(store.clone());
                provide_context(sign_in);
            },
            move || shell(leptos_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::middleware::guard,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::middleware::security_headers,
        ))
        .layer(middleware::from_fn(request_context))
        .with_state(state);
    (router, table)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match sqlx::query_scalar::<_, i32>("select 1")
        .fetch_one(&state.pool)
        .await
    {
        Ok(_) => "ready".into_response(),
        Err(error) => {
            tracing::warn!(%error, "not ready: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

async fn api_not_found(request: Request) -> ApiError {
    ApiError::NotFound(format!(
        "there is no API endpoint {} {}",
        request.method(),
        request.uri().path()
    ))
}

/// Gives every request an id (kept from `x-request-id` when sane, else generated), returns it
/// in the response, makes it available to error responses, and logs one line per request.
async fn request_context(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(new_request_id);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| request.uri().path().to_owned());
    let method = request.method().clone();
    let span = tracing::info_span!("request", %method, route, request_id = %id);
    let started = Instant::now();
    let mut response = REQUEST_ID
        .scope(id.clone(), next.run(request).instrument(span.clone()))
        .await;
    let status = response.status().as_u16();
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if route == "/healthz" || route == "/readyz" {
            tracing::debug!(status, millis, "request")
        } else {
            tracing::info!(status, millis, "request")
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

fn new_request_id() -> String {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        Ok(()) => hex::encode(bytes),
        Err(_) => "0000000000000000".to_owned(),
    }
}
