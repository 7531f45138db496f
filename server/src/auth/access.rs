//! What a route requires, and the lookup the guard makes for every request.
//!
//! This module owns the vocabulary ([`Access`], the role sets) and the map the router builds
//! ([`AccessRules`]); it holds no rule. Each route's rule is declared next to the route, in the
//! route table of `routes.rs`, and the router refuses to build when a route it serves has none.
//! A request for a method the route does not serve is answered 405 before any handler runs.

use std::collections::HashMap;

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

/// The rule of every route the router serves, by route pattern (as the router matches it,
/// `/api/v1/ingest/{format}`) and method.
#[derive(Debug, Default)]
pub struct AccessRules(HashMap<String, RouteRules>);

#[derive(Debug, Default)]
struct RouteRules {
    /// For a route that answers every method.
    any: Option<Access>,
    by_method: Vec<(Method, Access)>,
}

impl AccessRules {
    /// `method` on `route` requires `access`.
    pub fn insert(&mut self, route: &str, method: Method, access: Access) {
        let rules = self.0.entry(route.to_owned()).or_default();
        rules.by_method.retain(|(m, _)| *m != method);
        rules.by_method.push((method, access));
    }

    /// Every method on `route` requires `access`.
    pub fn insert_any(&mut self, route: &str, access: Access) {
        self.0.entry(route.to_owned()).or_default().any = Some(access);
    }

    /// The rule for `method` on the route pattern `route`; `None` for the fallback (static
    /// files and the 404 page), which is public. `HEAD` follows `GET` (the router answers it
    /// wherever it answers `GET`). `None` when there is no rule.
    pub fn get(&self, method: &Method, route: Option<&str>) -> Option<Access> {
        let Some(route) = route else {
            return Some(Access::Public);
        };
        let rules = self.0.get(route)?;
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        rules
            .by_method
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, access)| *access)
            .or(rules.any)
    }
}

impl AccessRules {
    /// The methods `route` answers, when the route is known and does not answer every
    /// method (`HEAD` is answered wherever `GET` is).
    pub fn methods(&self, route: &str) -> Option<Vec<Method>> {
        let rules = self.0.get(route)?;
        if rules.any.is_some() {
            return None;
        }
        let mut methods: Vec<Method> = rules.by_method.iter().map(|(m, _)| m.clone()).collect();
        if methods.contains(&Method::GET) {
            methods.push(Method::HEAD);
        }
        Some(methods)
    }
}

/// Whether the route is a page a browser navigates to (refusals redirect to the sign-in page
/// there) rather than an API or server-function call (refusals are problem+json).
pub fn is_page(route: &str) -> bool {
    !route.starts_with("/api") && !route.starts_with("/rpc/") && !route.ends_with(".csv")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> AccessRules {
        let mut rules = AccessRules::default();
        rules.insert("/", Method::GET, Access::Roles(ANY_ROLE));
        rules.insert("/login", Method::GET, Access::Public);
        rules.insert("/logout", Method::POST, Access::Roles(ANY_ROLE));
        rules.insert_any("/api/{*rest}", Access::Public);
        rules
    }

    #[test]
    fn a_rule_covers_its_method_and_head_follows_get() {
        let rules = rules();
        assert_eq!(
            rules.get(&Method::GET, Some("/")),
            Some(Access::Roles(ANY_ROLE))
        );
        assert_eq!(
            rules.get(&Method::HEAD, Some("/")),
            Some(Access::Roles(ANY_ROLE))
        );
        assert_eq!(
            rules.get(&Method::POST, Some("/logout")),
            Some(Access::Roles(ANY_ROLE))
        );
        assert_eq!(
            rules.get(&Method::OPTIONS, Some("/api/{*rest}")),
            Some(Access::Public)
        );
        assert_eq!(rules.get(&Method::GET, None), Some(Access::Public));
    }

    #[test]
    fn a_route_or_method_without_a_rule_has_none() {
        let rules = rules();
        assert_eq!(rules.get(&Method::GET, Some("/admin/secret")), None);
        assert_eq!(rules.get(&Method::DELETE, Some("/")), None);
        assert_eq!(rules.get(&Method::POST, Some("/login")), None);
        assert_eq!(rules.get(&Method::HEAD, Some("/logout")), None);
    }

    #[test]
    fn a_known_route_lists_the_methods_it_answers() {
        let rules = rules();
        assert_eq!(rules.methods("/"), Some(vec![Method::GET, Method::HEAD]));
        assert_eq!(rules.methods("/logout"), Some(vec![Method::POST]));
        assert_eq!(rules.methods("/api/{*rest}"), None);
        assert_eq!(rules.methods("/admin/secret"), None);
    }
}
