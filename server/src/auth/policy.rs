//! Who may use which route: one table, consulted by the middleware for every request before
//! any handler runs. A route missing here is refused for everyone (and the authorization matrix
//! test fails), so a new route cannot be exposed by accident.

use app::model::Role;
use axum::http::Method;

/// What a route requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (health checks, sign-in, static files).
    Public,
    /// An API token, checked by the handler (`Authorization: Bearer`); sessions do not count.
    Token,
    /// A signed-in user with one of these roles.
    Roles(&'static [Role]),
}

/// Every role.
pub const ANY_ROLE: &[Role] = &Role::ALL;
/// Administrators and managers.
pub const MANAGERS: &[Role] = &[Role::Admin, Role::Manager];

/// The rule for `method` on the route pattern `route` (as matched by the router; `None` for
/// the fallback: static files and the 404 page). `None` when the route has no rule.
pub fn access(method: &Method, route: Option<&str>) -> Option<Access> {
    let Some(route) = route else {
        return Some(Access::Public);
    };
    let read = method == Method::GET || method == Method::HEAD;
    let post = method == Method::POST;
    Some(match route {
        "/healthz" | "/readyz" if read => Access::Public,
        "/login" if read || post => Access::Public,
        "/rpc/session/viewer" | "/rpc/session/options" => Access::Public,
        "/auth/oidc/login" | "/auth/oidc/callback" if read => Access::Public,
        "/api/v1/ingest/{format}" | "/api/v1/ingest" | "/api/v1/intel/{feed}" => Access::Token,
        "/api/v1/findings" if read => Access::Token,
        // unknown API paths answer 404 problem+json to everyone
        "/api/{*rest}" | "/api" => Access::Public,
        "/" | "/account" | "/findings" | "/events" if read => Access::Roles(ANY_ROLE),
        "/rpc/findings/list" | "/rpc/events/list" => Access::Roles(ANY_ROLE),
        "/settings/tokens" if read => Access::Roles(MANAGERS),
        "/settings/tokens/new" | "/settings/tokens/revoke" if post => Access::Roles(MANAGERS),
        "/rpc/tokens/list" => Access::Roles(MANAGERS),
        "/logout" | "/account/password" if post => Access::Roles(ANY_ROLE),
        "/rpc/overview/fleet" | "/rpc/overview/severity" => Access::Roles(ANY_ROLE),
        "/audit" | "/audit.csv" if read => Access::Roles(MANAGERS),
        "/rpc/audit/list" => Access::Roles(MANAGERS),
        _ => return None,
    })
}

/// Whether the route is a page a browser navigates to (refusals redirect to the sign-in page
/// there) rather than an API or server-function call (refusals are problem+json).
pub fn is_page(route: &str) -> bool {
    !route.starts_with("/api") && !route.starts_with("/rpc/") && !route.ends_with(".csv")
}
