//! What a route requires, and the lookup the guard makes for every request.
//!
//! This module owns the vocabulary ([`Access`], the role sets), the map the router builds
//! ([`AccessRules`]) and how a request's rule is found ([`AccessRules::resolve`]); it holds no
//! rule. Each route's rule is declared next to the route, in the route table of `routes.rs`,
//! and the router refuses to build when a route it serves has none. A request for a method the
//! route does not serve is answered 405 before any handler runs.
//!
//! Denied by default. A request's rule is, in this order:
//! 1. the rule of the route the router matched;
//! 2. for a path the router did not match (the fallback): public when it names a static asset
//!    the router was told about (the site's `pkg` directory, the files of `public/`), spelled
//!    plainly (no `.`/`..` or empty segment, no `%`, no `\`);
//! 3. else the rule of the route its [canonical form](canonical_path) names, if any: `/audit/`,
//!    `/AUDIT`, `//audit`, `/%61udit` and `/audit%2F` all get the rule of `/audit`, so each
//!    caller is refused exactly as there; whoever passes reaches the fallback's 404 (a variant
//!    of a token route answers 404 at once: no handler behind it checks the token);
//! 4. else signed in, any role: anonymous callers are refused as on any protected route (a
//!    page-like path redirects to sign-in, an API-like one answers 401), signed-in users get
//!    the 404 page.

use std::collections::HashMap;

use app::model::Role;
use axum::http::Method;
use percent_encoding::percent_decode_str;

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
/// Everyone who takes triage decisions: every role but executives (read only).
pub const TRIAGERS: &[Role] = &[Role::Admin, Role::Manager, Role::Analyst];

/// The rule of every route the router serves, by route pattern (as the router matches it,
/// `/api/v1/ingest/{format}`) and method, and the static assets anyone may fetch.
#[derive(Debug, Default)]
pub struct AccessRules {
    routes: HashMap<String, RouteRules>,
    /// Asset files (`/favicon.svg`) and directories (`/pkg/`, with the slash).
    assets: Vec<String>,
}

#[derive(Debug, Default)]
struct RouteRules {
    /// For a route that answers every method.
    any: Option<Access>,
    by_method: Vec<(Method, Access)>,
}

/// The rule the guard applies to one request, and where it comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// The rule of a route: the one the router matched, or the one the request's path names in
    /// its canonical form (`variant`). `access` is `None` when the route does not answer the
    /// method.
    Route {
        /// The route pattern.
        route: String,
        /// Its rule for the request's method.
        access: Option<Access>,
        /// The router did not match the path; its canonical form names the route.
        variant: bool,
    },
    /// A static asset: public.
    Asset,
    /// No route: signed in, any role.
    Unknown {
        /// The path looks like a page (refusals redirect to sign-in) rather than an API.
        page: bool,
    },
}

impl Resolved {
    /// The rule to enforce; `None`: the route does not answer the method (405).
    pub fn access(&self) -> Option<Access> {
        match self {
            Resolved::Route { access, .. } => *access,
            Resolved::Asset => Some(Access::Public),
            Resolved::Unknown { .. } => Some(Access::Roles(ANY_ROLE)),
        }
    }

    /// The route whose rule applies, if a route's does.
    pub fn route(&self) -> Option<&str> {
        match self {
            Resolved::Route { route, .. } => Some(route),
            Resolved::Asset | Resolved::Unknown { .. } => None,
        }
    }

    /// Whether refusals redirect to the sign-in page (see [`is_page`]).
    pub fn is_page(&self) -> bool {
        match self {
            Resolved::Route { route, .. } => is_page(route),
            Resolved::Asset => false,
            Resolved::Unknown { page } => *page,
        }
    }
}

impl AccessRules {
    /// `method` on `route` requires `access`.
    pub fn insert(&mut self, route: &str, method: Method, access: Access) {
        let rules = self.routes.entry(route.to_owned()).or_default();
        rules.by_method.retain(|(m, _)| *m != method);
        rules.by_method.push((method, access));
    }

    /// Every method on `route` requires `access`.
    pub fn insert_any(&mut self, route: &str, access: Access) {
        self.routes.entry(route.to_owned()).or_default().any = Some(access);
    }

    /// Anyone may fetch the static asset at `path` (served by the router's fallback): a file
    /// (`/favicon.svg`) or, ending in `/`, every file under a directory (`/pkg/`).
    pub fn insert_asset(&mut self, path: &str) {
        self.assets.push(path.to_owned());
    }

    /// The rule for `method` on the route pattern `route`. `HEAD` follows `GET` (the router
    /// answers it wherever it answers `GET`). `None` when there is no rule.
    pub fn get(&self, method: &Method, route: &str) -> Option<Access> {
        let rules = self.routes.get(route)?;
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

    /// The rule of a request for `method` on `path`, of which the router matched the route
    /// pattern `matched` (`None`: the fallback). See the module docs for the order.
    pub fn resolve(&self, method: &Method, matched: Option<&str>, path: &str) -> Resolved {
        if let Some(route) = matched {
            return Resolved::Route {
                route: route.to_owned(),
                access: self.get(method, route),
                variant: false,
            };
        }
        if self.is_asset(path) {
            return Resolved::Asset;
        }
        let Some(canonical) = canonical_path(path) else {
            return Resolved::Unknown {
                page: is_page(path),
            };
        };
        match self.route_of(&canonical) {
            Some(route) => Resolved::Route {
                route: route.to_owned(),
                access: self.get(method, route),
                variant: true,
            },
            None => Resolved::Unknown {
                page: is_page(&canonical),
            },
        }
    }

    fn is_asset(&self, path: &str) -> bool {
        let plain = !path.contains(['%', '\\'])
            && path
                .split('/')
                .skip(1)
                .all(|segment| !matches!(segment, "" | "." | ".."));
        plain
            && self
                .assets
                .iter()
                .any(|asset| match asset.strip_suffix('/') {
                    Some(dir) => path
                        .strip_prefix(dir)
                        .is_some_and(|rest| rest.len() > 1 && rest.starts_with('/')),
                    None => path == asset,
                })
    }

    /// The route pattern that matches the canonical path `path`, the most specific one when
    /// several do (a literal segment before a `{parameter}` before a `{*rest}`, as the router
    /// chooses).
    fn route_of(&self, path: &str) -> Option<&str> {
        self.routes
            .keys()
            .filter_map(|route| specificity(route, path).map(|rank| (rank, route.as_str())))
            .min()
            .map(|(_, route)| route)
    }
}

/// How specifically `pattern` matches `path` (lower is more specific: per segment 0 for a
/// literal, 1 for a `{parameter}`, 2 for a `{*rest}`), or `None` when it does not match.
fn specificity(pattern: &str, path: &str) -> Option<Vec<u8>> {
    let segments = |p: &str| -> Vec<String> {
        p.split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let pattern = segments(pattern);
    let path = segments(path);
    let mut rank = Vec::with_capacity(pattern.len());
    for (i, part) in pattern.iter().enumerate() {
        if part.starts_with("{*") && part.ends_with('}') {
            // the rest, one segment or more
            return (path.len() > i).then(|| {
                rank.push(2);
                rank
            });
        }
        let segment = path.get(i)?;
        if part.starts_with('{') && part.ends_with('}') {
            rank.push(1);
        } else if part.to_lowercase() == *segment {
            rank.push(0);
        } else {
            return None;
        }
    }
    (path.len() == pattern.len()).then_some(rank)
}

/// The canonical form of a request path, to find the route it spells: percent-decoded (`%2F`
/// too, and again while anything is left to decode: `%252F` is `/`), `\` read as `/`, `.` and
/// `..` segments resolved, repeated slashes collapsed, no trailing slash, lower-cased. `None`
/// when the decoded path is not UTF-8 (it spells no route).
pub fn canonical_path(path: &str) -> Option<String> {
    let mut decoded = path.to_owned();
    // every round removes one level of encoding; a path nested deeper is not worth reading
    for _ in 0..4 {
        let next = percent_decode_str(&decoded)
            .decode_utf8()
            .ok()?
            .into_owned();
        if next == decoded {
            break;
        }
        decoded = next;
    }
    let lower = decoded.to_lowercase();
    let mut segments: Vec<&str> = Vec::new();
    for segment in lower.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            segment => segments.push(segment),
        }
    }
    Some(format!("/{}", segments.join("/")))
}

impl AccessRules {
    /// The methods `route` answers, when the route is known and does not answer every
    /// method (`HEAD` is answered wherever `GET` is).
    pub fn methods(&self, route: &str) -> Option<Vec<Method>> {
        let rules = self.routes.get(route)?;
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
        rules.insert("/audit", Method::GET, Access::Roles(MANAGERS));
        rules.insert("/audit.csv", Method::GET, Access::Roles(MANAGERS));
        rules.insert("/rpc/audit/list", Method::POST, Access::Roles(MANAGERS));
        rules.insert("/api/v1/findings", Method::GET, Access::Token);
        rules.insert("/api/v1/ingest/{format}", Method::POST, Access::Token);
        rules.insert_any("/api/{*rest}", Access::Public);
        rules.insert_any("/api", Access::Public);
        rules.insert_asset("/pkg/");
        rules.insert_asset("/favicon.svg");
        rules
    }

    fn route(route: &str, access: Option<Access>, variant: bool) -> Resolved {
        Resolved::Route {
            route: route.to_owned(),
            access,
            variant,
        }
    }

    #[test]
    fn a_rule_covers_its_method_and_head_follows_get() {
        let rules = rules();
        assert_eq!(rules.get(&Method::GET, "/"), Some(Access::Roles(ANY_ROLE)));
        assert_eq!(rules.get(&Method::HEAD, "/"), Some(Access::Roles(ANY_ROLE)));
        assert_eq!(
            rules.get(&Method::POST, "/logout"),
            Some(Access::Roles(ANY_ROLE))
        );
        assert_eq!(
            rules.get(&Method::OPTIONS, "/api/{*rest}"),
            Some(Access::Public)
        );
    }

    #[test]
    fn a_route_or_method_without_a_rule_has_none() {
        let rules = rules();
        assert_eq!(rules.get(&Method::GET, "/admin/secret"), None);
        assert_eq!(rules.get(&Method::DELETE, "/"), None);
        assert_eq!(rules.get(&Method::POST, "/login"), None);
        assert_eq!(rules.get(&Method::HEAD, "/logout"), None);
    }

    #[test]
    fn a_known_route_lists_the_methods_it_answers() {
        let rules = rules();
        assert_eq!(rules.methods("/"), Some(vec![Method::GET, Method::HEAD]));
        assert_eq!(rules.methods("/logout"), Some(vec![Method::POST]));
        assert_eq!(rules.methods("/api/{*rest}"), None);
        assert_eq!(rules.methods("/admin/secret"), None);
    }

    #[test]
    fn a_matched_route_gets_its_own_rule() {
        let rules = rules();
        assert_eq!(
            rules.resolve(&Method::GET, Some("/audit"), "/audit"),
            route("/audit", Some(Access::Roles(MANAGERS)), false)
        );
        assert_eq!(
            rules.resolve(&Method::DELETE, Some("/audit"), "/audit"),
            route("/audit", None, false)
        );
    }

    #[test]
    fn canonical_paths_are_decoded_collapsed_trimmed_and_lower_case() {
        for (path, canonical) in [
            ("/audit", "/audit"),
            ("/audit/", "/audit"),
            ("/AUDIT", "/audit"),
            ("//audit", "/audit"),
            ("/%61udit", "/audit"),
            ("/audit%2F", "/audit"),
            ("/audit%252f", "/audit"),
            ("/rpc%2Faudit%2flist", "/rpc/audit/list"),
            ("/x/../audit/.", "/audit"),
            ("/..\\audit", "/audit"),
            ("/", "/"),
            ("", "/"),
            ("//", "/"),
            ("/Api/V1/Ingest/Trivy/", "/api/v1/ingest/trivy"),
        ] {
            assert_eq!(canonical_path(path).as_deref(), Some(canonical), "{path}");
        }
        assert_eq!(canonical_path("/%FF"), None);
    }

    #[test]
    fn a_variant_of_a_route_gets_the_routes_rule() {
        let rules = rules();
        for variant in [
            "/audit/",
            "/AUDIT",
            "//audit",
            "/%61udit",
            "/audit%2F",
            "/./audit",
        ] {
            assert_eq!(
                rules.resolve(&Method::GET, None, variant),
                route("/audit", Some(Access::Roles(MANAGERS)), true),
                "{variant}"
            );
            // a method the route does not answer is answered as there: 405
            assert_eq!(
                rules.resolve(&Method::POST, None, variant),
                route("/audit", None, true),
                "{variant}"
            );
        }
        assert_eq!(
            rules.resolve(&Method::POST, None, "/RPC/audit/LIST/"),
            route("/rpc/audit/list", Some(Access::Roles(MANAGERS)), true)
        );
        assert_eq!(
            rules.resolve(&Method::GET, None, "/Audit.CSV"),
            route("/audit.csv", Some(Access::Roles(MANAGERS)), true)
        );
        // a parameter takes any one segment; a literal wins over it, and it over the rest
        assert_eq!(
            rules.resolve(&Method::POST, None, "/API/v1/ingest/TRIVY"),
            route("/api/v1/ingest/{format}", Some(Access::Token), true)
        );
        assert_eq!(
            rules.resolve(&Method::GET, None, "/API/v1/findings/"),
            route("/api/v1/findings", Some(Access::Token), true)
        );
        assert_eq!(
            rules.resolve(&Method::GET, None, "/API/v1/ingest/trivy/extra"),
            route("/api/{*rest}", Some(Access::Public), true)
        );
        assert_eq!(
            rules.resolve(&Method::GET, None, "/API/"),
            route("/api", Some(Access::Public), true)
        );
        assert!(rules.resolve(&Method::GET, None, "/AUDIT").is_page());
        assert!(
            !rules
                .resolve(&Method::POST, None, "/RPC/audit/list")
                .is_page()
        );
    }

    #[test]
    fn an_unknown_path_needs_a_session_and_only_plain_asset_paths_are_public() {
        let rules = rules();
        let signed_in = Some(Access::Roles(ANY_ROLE));
        for (path, page) in [
            ("/no/such/page", true),
            ("/admin", true),
            ("/rpc/no/such/function", false),
            ("/RPC/nothing", false),
            ("/secret.csv", false),
            ("/%FF", true),
            // not plainly an asset
            ("/pkg/../audit/x", true),
            ("/pkg//x.js", true),
            ("/pkg/%2e%2e/x", true),
            ("/pkg/", true),
            ("/PKG/bulwark.js", true),
            ("/favicon.svg/", true),
            ("/favicon.svgx", true),
        ] {
            let resolved = rules.resolve(&Method::GET, None, path);
            assert_eq!(resolved, Resolved::Unknown { page }, "{path}");
            assert_eq!(resolved.access(), signed_in, "{path}");
        }
        for path in ["/pkg/bulwark.js", "/pkg/bulwark.wasm", "/favicon.svg"] {
            let resolved = rules.resolve(&Method::GET, None, path);
            assert_eq!(resolved, Resolved::Asset, "{path}");
            assert_eq!(resolved.access(), Some(Access::Public));
        }
    }
}
