//! Every route on one screen, with who may use it, and the layers around them.
//!
//! [`router_with_table`] builds the router from one table. Each API and form route is one
//! entry of [`api_and_forms`]: path, method, access rule, handler. The pages of [`App`] and the
//! server functions (`/rpc/...`) are declared by Leptos; their rules are the entries of
//! [`UI_ACCESS`], by path. Building fails when a route the router would serve has no rule (or a
//! rule names no route), so a route cannot be exposed by accident and no second list has to be
//! kept in step. The guard ([`auth::middleware::guard`]) looks each request's rule up in the map
//! built here. A path no route matches is not public: the static assets the fallback serves
//! are listed here ([`PUBLIC_FILES`] and the site's `pkg` directory); any other path gets the
//! rule of the route its canonical form names (`/audit/` that of `/audit`), else needs a
//! signed-in user (see [`crate::auth::access`]).
//!
//! Around every route, outermost first: authorization and cookie headers marked sensitive
//! (never logged); a request id (a sane `x-request-id` from the client is kept, else one is
//! made; the response carries it); the access log (a span per request named from the matched
//! route, one line per request, probes at debug); the id in reach of error bodies
//! ([`telemetry::request_id`]); the security headers; a panic answered as a 500 problem+json;
//! the guard (session, access rule, CSRF); a server function's error answered with its status
//! ([`error::server_fn_status`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use app::store::StoreHandle;
use app::{App, shell};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::handler::Handler;
use axum::http::{Method, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::{
    SetSensitiveRequestHeadersLayer, SetSensitiveResponseHeadersLayer,
};
use tower_http::trace::TraceLayer;

use crate::auth::access::Access::{Public, Roles, Token};
use crate::auth::access::{ANY_ROLE, Access, AccessRules, MANAGERS, TRIAGERS};
use crate::auth::middleware::{CspNonce, Guard, SecurityHeaders};
use crate::error::{self, ApiError};
use crate::store::PgStore;
use crate::{AppState, auth, db, export, ingest, telemetry};

/// The API and form routes, each with who may use it.
fn api_and_forms() -> Vec<Route> {
    vec![
        // probes
        Route::get("/healthz", Public, healthz),
        Route::get("/readyz", Public, readyz),
        // signing in and out (forms), single sign-on, one's password
        Route::post("/login", Public, auth::handlers::login),
        Route::post("/logout", Roles(ANY_ROLE), auth::handlers::logout),
        Route::get("/auth/oidc/login", Public, auth::oidc::start),
        Route::get("/auth/oidc/callback", Public, auth::oidc::callback),
        Route::post(
            "/account/password",
            Roles(ANY_ROLE),
            auth::handlers::change_password,
        ),
        // the audit log as CSV; the explorer's selection as CSV; API tokens (forms)
        Route::get("/audit.csv", Roles(MANAGERS), auth::handlers::audit_csv),
        Route::get("/findings.csv", Roles(ANY_ROLE), export::findings_csv),
        Route::post(
            "/settings/tokens/new",
            Roles(MANAGERS),
            auth::tokens::create,
        ),
        Route::post(
            "/settings/tokens/revoke",
            Roles(MANAGERS),
            auth::tokens::revoke,
        ),
        // the REST API: an API token with the handler's scope (`auth::bearer`)
        Route::get("/api/v1/findings", Token, auth::tokens::read_findings),
        Route::get("/api/v1/overview", Token, auth::tokens::read_overview),
        Route::post("/api/v1/ingest/{format}", Token, ingest::ingest).own_body_limit(),
        Route::post("/api/v1/ingest", Token, ingest::ingest_detected).own_body_limit(),
        Route::post("/api/v1/intel/{feed}", Token, ingest::intel).own_body_limit(),
        // any other API path: 404 problem+json
        Route::any("/api/{*rest}", Public, api_not_found),
        Route::any("/api", Public, api_not_found),
    ]
}

/// Who may open each page of [`App`] (`app/src/app.rs`) and call each server function
/// (`app/src/api/`), by path. The rule covers the methods Leptos serves the path with.
pub const UI_ACCESS: &[(&str, Access)] = &[
    // pages
    ("/login", Public),
    ("/", Roles(ANY_ROLE)),
    ("/findings", Roles(ANY_ROLE)),
    ("/findings/{cluster_id}/{finding_id}", Roles(ANY_ROLE)),
    ("/events", Roles(ANY_ROLE)),
    ("/estate", Roles(ANY_ROLE)),
    ("/images/{id}", Roles(ANY_ROLE)),
    ("/account", Roles(ANY_ROLE)),
    ("/settings/tokens", Roles(MANAGERS)),
    ("/settings/sla", Roles(MANAGERS)),
    ("/approvals", Roles(MANAGERS)),
    ("/audit", Roles(MANAGERS)),
    // server functions
    ("/rpc/session/viewer", Public),
    ("/rpc/session/options", Public),
    // the theme switch's form (without JavaScript): on the sign-in page too
    ("/rpc/theme/set", Public),
    ("/rpc/overview/posture", Roles(ANY_ROLE)),
    ("/rpc/settings/sla", Roles(MANAGERS)),
    ("/rpc/settings/sla/save", Roles(MANAGERS)),
    ("/rpc/settings/approval", Roles(MANAGERS)),
    ("/rpc/settings/approval/save", Roles(MANAGERS)),
    // triage decisions (executives read only) and their review
    ("/rpc/triage/accept", Roles(TRIAGERS)),
    ("/rpc/triage/false-positive", Roles(TRIAGERS)),
    ("/rpc/triage/reopen", Roles(TRIAGERS)),
    ("/rpc/triage/assign", Roles(TRIAGERS)),
    ("/rpc/triage/assignees", Roles(TRIAGERS)),
    ("/rpc/triage/comment", Roles(TRIAGERS)),
    ("/rpc/triage/decide", Roles(TRIAGERS)),
    ("/rpc/triage/approve", Roles(MANAGERS)),
    ("/rpc/triage/reject", Roles(MANAGERS)),
    ("/rpc/approvals/list", Roles(MANAGERS)),
    ("/rpc/findings/list", Roles(ANY_ROLE)),
    ("/rpc/findings/detail", Roles(ANY_ROLE)),
    ("/rpc/events/list", Roles(ANY_ROLE)),
    ("/rpc/estate/view", Roles(ANY_ROLE)),
    ("/rpc/estate/image", Roles(ANY_ROLE)),
    ("/rpc/estate/where-running", Roles(ANY_ROLE)),
    ("/rpc/tokens/list", Roles(MANAGERS)),
    ("/rpc/audit/list", Roles(MANAGERS)),
    // saved views: everyone keeps their own (the store decides who may share and delete)
    ("/rpc/views/list", Roles(ANY_ROLE)),
    ("/rpc/views/save", Roles(ANY_ROLE)),
    ("/rpc/views/delete", Roles(ANY_ROLE)),
];

/// The files of `public/` (the site's assets directory), which the fallback serves to anyone.
/// The site's `pkg` directory (the bundle and stylesheet) is public too. Any other path the
/// fallback answers needs a signed-in user.
pub const PUBLIC_FILES: &[&str] = &["/favicon.svg"];

/// The methods listed for a route that answers every method.
const ANY_METHOD: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// One entry of the route table.
struct Route {
    path: &'static str,
    /// `None`: every method.
    method: Option<Method>,
    access: Access,
    handler: MethodRouter<AppState>,
}

impl Route {
    fn get<H: Handler<T, AppState>, T: 'static>(path: &'static str, access: Access, h: H) -> Self {
        Route::new(path, Some(Method::GET), access, axum::routing::get(h))
    }

    fn post<H: Handler<T, AppState>, T: 'static>(path: &'static str, access: Access, h: H) -> Self {
        Route::new(path, Some(Method::POST), access, axum::routing::post(h))
    }

    fn any<H: Handler<T, AppState>, T: 'static>(path: &'static str, access: Access, h: H) -> Self {
        Route::new(path, None, access, axum::routing::any(h))
    }

    fn new(
        path: &'static str,
        method: Option<Method>,
        access: Access,
        handler: MethodRouter<AppState>,
    ) -> Self {
        Route {
            path,
            method,
            access,
            handler,
        }
    }

    /// The handler enforces its own body limit, after gzip decompression.
    fn own_body_limit(mut self) -> Self {
        self.handler = self.handler.layer(DefaultBodyLimit::disable());
        self
    }
}

/// One route the application serves, with its rule (for tests: the authorization matrix).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteEntry {
    /// The method.
    pub method: Method,
    /// The path pattern, as the router matches it (`/api/v1/ingest/{format}`).
    pub path: String,
    /// Who may use it.
    pub access: Access,
}

/// The route table and the routes Leptos serves do not match.
#[derive(Debug, thiserror::Error)]
#[error(
    "the route table is incomplete (declare the rules in server/src/routes.rs): {}",
    .0.join("; ")
)]
pub struct RouteTableError(pub Vec<String>);

/// The pages of [`App`], listed once per process. Leptos lists them by rendering the app with
/// resource loading switched off by a process-wide flag: a resource first polled by a request
/// while another router is being built (the integration tests build one per test, in parallel)
/// would wait forever. Listing once, before any router is returned, keeps every request clear
/// of that window.
fn page_routes() -> Vec<leptos_axum::AxumRouteListing> {
    static PAGES: OnceLock<Vec<leptos_axum::AxumRouteListing>> = OnceLock::new();
    PAGES.get_or_init(|| generate_route_list(App)).clone()
}

/// Builds the application.
pub fn router(state: AppState) -> Result<Router, RouteTableError> {
    router_with_table(state).map(|(router, _)| router)
}

/// Builds the application and lists every route it serves, with its rule: the API and form
/// routes, the pages and the server functions.
pub fn router_with_table(state: AppState) -> Result<(Router, Vec<RouteEntry>), RouteTableError> {
    let mut table = Vec::new();
    let mut rules = AccessRules::default();
    let mut router = Router::new();
    for route in api_and_forms() {
        match &route.method {
            Some(method) => rules.insert(route.path, method.clone(), route.access),
            None => rules.insert_any(route.path, route.access),
        }
        let methods = route
            .method
            .map_or_else(|| ANY_METHOD.to_vec(), |m| vec![m]);
        table.extend(methods.into_iter().map(|method| RouteEntry {
            method,
            path: route.path.to_owned(),
            access: route.access,
        }));
        router = router.route(route.path, route.handler);
    }

    // what Leptos serves: the pages and the server functions, each with its methods
    let pages = page_routes();
    let mut leptos_served: Vec<(Method, String)> = Vec::new();
    for listing in &pages {
        leptos_served.extend(
            listing
                .methods()
                .map(|m| (leptos_method(m), listing.path().to_owned())),
        );
    }
    // no page calls the theme switch's server function (only its form posts to it), and the
    // linker keeps a server function that nothing names only by chance: name it
    leptos::server_fn::axum::register_explicit::<app::api::theme::SetTheme>();
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        leptos_served.push((method, path.to_owned()));
    }
    for entry in ui_rules(&leptos_served, UI_ACCESS)? {
        rules.insert(&entry.path, entry.method.clone(), entry.access);
        table.push(entry);
    }
    rules.insert_asset(&format!(
        "/{}/",
        state.leptos.site_pkg_dir.trim_matches('/')
    ));
    for file in PUBLIC_FILES {
        rules.insert_asset(file);
    }

    let store = StoreHandle(Arc::new(PgStore::new(state.pool.clone())));
    let leptos_options = state.leptos.clone();
    let sign_in = app::model::SignInOptions {
        single_sign_on: state.oidc.is_some(),
    };
    let page_paths: HashSet<String> = pages.iter().map(|l| l.path().to_owned()).collect();
    let router = router
        .leptos_routes_with_context(
            &state,
            pages,
            move || {
                provide_context(store.clone());
                provide_context(sign_in);
                use_csp_nonce();
            },
            move || shell(leptos_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(use_csp_nonce, shell));
    let headers = SecurityHeaders {
        secure_cookies: state.auth.secure_cookies,
        pages: Arc::new(page_paths),
    };
    let router = around_every_route(router, &state, rules, headers).with_state(state);
    Ok((router, table))
}

/// The rule of each route Leptos serves (`served`: method and path), from `declared`. Fails
/// naming every served route without a rule and every rule that names no served route.
fn ui_rules(
    served: &[(Method, String)],
    declared: &[(&str, Access)],
) -> Result<Vec<RouteEntry>, RouteTableError> {
    let by_path: HashMap<&str, Access> = declared.iter().copied().collect();
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for (method, path) in served {
        match by_path.get(path.as_str()) {
            Some(&access) => entries.push(RouteEntry {
                method: method.clone(),
                path: path.clone(),
                access,
            }),
            None => problems.push(format!("{method} {path} has no rule in UI_ACCESS")),
        }
    }
    let served_paths: HashSet<&str> = served.iter().map(|(_, p)| p.as_str()).collect();
    for (path, _) in declared.iter().filter(|(p, _)| !served_paths.contains(p)) {
        problems.push(format!(
            "UI_ACCESS names {path}, which Leptos does not serve"
        ));
    }
    if problems.is_empty() {
        Ok(entries)
    } else {
        Err(RouteTableError(problems))
    }
}

/// Renders with the nonce the security-headers layer made for this request (and will put in
/// the page's Content-Security-Policy), instead of one of Leptos' own.
fn use_csp_nonce() {
    if let Some(nonce) = leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CspNonce>().cloned())
    {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
}

/// The layers every request passes, outermost first (see the module docs).
fn around_every_route(
    router: Router<AppState>,
    state: &AppState,
    rules: AccessRules,
    headers: SecurityHeaders,
) -> Router<AppState> {
    let trace = TraceLayer::new_for_http()
        .make_span_with(telemetry::request_span)
        .on_request(())
        .on_response(telemetry::log_response)
        .on_failure(telemetry::log_failure);
    router.layer(
        ServiceBuilder::new()
            .layer(SetSensitiveRequestHeadersLayer::new([
                header::AUTHORIZATION,
                header::COOKIE,
            ]))
            .map_request(telemetry::drop_unusable_request_id)
            .layer(SetRequestIdLayer::x_request_id(telemetry::NewRequestId))
            .layer(trace)
            // inside the trace layer, so that the response it logs has the cookie marked
            .layer(SetSensitiveResponseHeadersLayer::new([header::SET_COOKIE]))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(middleware::from_fn(telemetry::with_request_id))
            .layer(middleware::from_fn_with_state(
                headers,
                auth::middleware::security_headers,
            ))
            .layer(CatchPanicLayer::custom(error::panic_response))
            .layer(middleware::from_fn_with_state(
                Guard::new(state.clone(), rules),
                auth::middleware::guard,
            ))
            .layer(middleware::from_fn(error::server_fn_status)),
    )
}

fn leptos_method(method: leptos_router::Method) -> Method {
    match method {
        leptos_router::Method::Get => Method::GET,
        leptos_router::Method::Post => Method::POST,
        leptos_router::Method::Put => Method::PUT,
        leptos_router::Method::Patch => Method::PATCH,
        leptos_router::Method::Delete => Method::DELETE,
    }
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    let ready = match state.pool.acquire().await {
        Ok(mut conn) => db::ping(&mut conn).await,
        Err(error) => Err(error),
    };
    match ready {
        Ok(()) => "ready".into_response(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use leptos::config::LeptosOptions;

    fn state() -> AppState {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .expect("a lazy pool");
        AppState::new(
            pool,
            LeptosOptions::builder().output_name("bulwark").build(),
            crate::Limits::default(),
            auth::AuthSettings::default(),
        )
    }

    #[tokio::test]
    async fn every_route_the_router_serves_has_exactly_one_rule() {
        let (_, table) = router_with_table(state()).expect("a complete route table");
        let mut seen = HashSet::new();
        for entry in &table {
            assert!(
                seen.insert((entry.method.clone(), entry.path.clone())),
                "{} {} listed twice",
                entry.method,
                entry.path
            );
        }
        for (path, _) in UI_ACCESS {
            assert!(table.iter().any(|e| e.path == *path), "{path}");
        }
        assert!(table.iter().any(|e| e.path == "/api/v1/ingest/{format}"
            && e.method == Method::POST
            && e.access == Token));
    }

    /// A router with the layers of every route around `/boom` (panics) and `/ok` (public).
    fn layered() -> Router {
        async fn boom() -> &'static str {
            panic!("secret detail of the panic")
        }
        let mut rules = AccessRules::default();
        rules.insert("/boom", Method::GET, Public);
        rules.insert("/ok", Method::GET, Public);
        let state = state();
        let router = Router::new()
            .route("/boom", axum::routing::get(boom))
            .route("/ok", axum::routing::get(healthz));
        let headers = SecurityHeaders {
            secure_cookies: false,
            pages: Arc::default(),
        };
        around_every_route(router, &state, rules, headers).with_state(state)
    }

    async fn call(path: &str, request_id: Option<&str>) -> (StatusCode, String, Vec<u8>) {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let mut request = axum::http::Request::builder().uri(path);
        if let Some(id) = request_id {
            request = request.header("x-request-id", id);
        }
        let request = request.body(axum::body::Body::empty()).expect("request");
        let response = layered().oneshot(request).await.expect("infallible");
        let status = response.status();
        let id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.into_body().collect().await.expect("body");
        (status, id, body.to_bytes().to_vec())
    }

    #[tokio::test]
    async fn a_sane_request_id_is_kept_and_any_other_replaced() {
        let (status, id, _) = call("/ok", Some("ci-run-42")).await;
        assert_eq!((status, id.as_str()), (StatusCode::OK, "ci-run-42"));
        for insane in [None, Some(""), Some("has space"), Some(&*"x".repeat(65))] {
            let (_, id, _) = call("/ok", insane).await;
            assert_eq!(id.len(), 16, "{insane:?} → {id}");
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        }
    }

    #[tokio::test]
    async fn a_panic_answers_500_problem_json_with_the_request_id_and_not_the_panic() {
        let (status, id, body) = call("/boom", Some("panic-1")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(id, "panic-1");
        let problem: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(problem["request_id"], "panic-1");
        assert_eq!(problem["type"], "urn:bulwark:problem:internal");
        assert!(!String::from_utf8_lossy(&body).contains("secret detail"));
        // the server goes on answering
        assert_eq!(call("/ok", None).await.0, StatusCode::OK);
    }

    #[test]
    fn every_file_of_the_assets_directory_is_listed_public() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../public");
        let mut files = Vec::new();
        let mut pending = vec![dir.clone()];
        while let Some(at) = pending.pop() {
            for entry in std::fs::read_dir(&at).expect("public/ is readable") {
                let path = entry.expect("a directory entry").path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    let relative = path.strip_prefix(&dir).expect("under public/");
                    files.push(format!("/{}", relative.to_string_lossy()));
                }
            }
        }
        files.sort();
        let mut listed: Vec<String> = PUBLIC_FILES.iter().map(|f| (*f).to_owned()).collect();
        listed.sort();
        assert_eq!(
            files, listed,
            "PUBLIC_FILES must list exactly the files of public/"
        );
    }

    #[test]
    fn a_leptos_route_without_a_rule_or_a_rule_without_a_route_stops_the_build() {
        let served = vec![
            (Method::GET, "/".to_owned()),
            (Method::POST, "/rpc/new/thing".to_owned()),
        ];
        let declared = [("/", Roles(ANY_ROLE)), ("/gone", Public)];
        let error = ui_rules(&served, &declared).expect_err("incomplete");
        assert_eq!(
            error.0,
            [
                "POST /rpc/new/thing has no rule in UI_ACCESS",
                "UI_ACCESS names /gone, which Leptos does not serve"
            ]
        );
        let entries = ui_rules(&served[..1], &declared[..1]).expect("complete");
        assert_eq!(
            entries,
            [RouteEntry {
                method: Method::GET,
                path: "/".to_owned(),
                access: Roles(ANY_ROLE)
            }]
        );
    }
}
