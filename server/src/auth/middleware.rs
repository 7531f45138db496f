//! The request pipeline's guards: who is asking ([`guard`]: session → [`Viewer`], the route's
//! access rule, CSRF) and what every response carries ([`security_headers`]). The rules come
//! from the route table through [`Guard`]; this module declares none.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use app::model::{Flash, Viewer};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::access::{Access, AccessRules, Resolved};
use super::session;
use crate::AppState;
use crate::db;
use crate::error::ApiError;

/// The client's address (the TCP peer; proxies' headers are not trusted).
pub fn client_ip(request_extensions: &axum::http::Extensions) -> Option<IpAddr> {
    request_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// The signed-in user's session, as the guard found it.
#[derive(Clone, Debug)]
pub struct SessionHash(pub String);

/// What [`guard`] needs: the application's state and the rule of every route the router serves
/// (built with the router, from its route table).
#[derive(Clone)]
pub struct Guard {
    state: AppState,
    rules: Arc<AccessRules>,
}

impl Guard {
    /// The guard of a router whose routes have `rules`.
    pub fn new(state: AppState, rules: AccessRules) -> Self {
        Guard {
            state,
            rules: Arc::new(rules),
        }
    }
}

/// Authenticates the session, enforces the request's access rule ([`AccessRules::resolve`]:
/// the matched route's, else a static asset's, the canonical path's route's, or signed-in by
/// default) and refuses cross-site writes.
pub async fn guard(State(guard): State<Guard>, mut request: Request, next: Next) -> Response {
    let Guard { state, rules } = guard;
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let method = request.method().clone();
    let resolved = rules.resolve(&method, matched.as_deref(), request.uri().path());
    let route = resolved.route().map(str::to_owned);
    let Some(access) = resolved.access() else {
        // every route the router serves has a rule, so this is a method the route does not
        // serve: said before any handler runs, whoever asks
        let allowed = route.as_deref().and_then(|r| rules.methods(r));
        return ApiError::MethodNotAllowed(allowed.unwrap_or_default()).into_response();
    };
    if access == Access::Token && matches!(resolved, Resolved::Route { variant: true, .. }) {
        // another spelling of an API path: no handler behind it checks the token
        return ApiError::NotFound(format!(
            "there is no API endpoint {method} {}: API paths are lower-case, without a \
             trailing slash",
            request.uri().path()
        ))
        .into_response();
    }
    let page = resolved.is_page();

    // cookie-authenticated writes, and the sign-in form itself (login CSRF)
    let needs_csrf = match access {
        Access::Roles(_) => true,
        Access::Public => page,
        Access::Token => false,
    };
    if is_unsafe(&method)
        && needs_csrf
        && let Err(reason) = same_origin(request.headers(), &state.auth.public_origin)
    {
        tracing::warn!(route, reason, "cross-site request refused");
        return ApiError::Forbidden(format!("cross-site request refused: {reason}"))
            .into_response();
    }

    let mut stale_cookie = false;
    if access != Access::Token
        && let Some(secret) = session::presented(request.headers(), &state.auth)
    {
        let hash = session::hash(&secret);
        match lookup(&state, &hash).await {
            Ok(Some(viewer)) => {
                request.extensions_mut().insert(viewer);
                request.extensions_mut().insert(SessionHash(hash));
            }
            Ok(None) => stale_cookie = true,
            Err(error) => return error.into_response(),
        }
    }

    let refusal = match access {
        Access::Public | Access::Token => None,
        Access::Roles(roles) => match request.extensions().get::<Viewer>() {
            None => Some(unauthenticated(&request, page, stale_cookie)),
            Some(viewer) if !roles.contains(&viewer.role) => {
                Some(forbidden(route.as_deref(), page, viewer))
            }
            Some(_) => None,
        },
    };
    let mut response = match refusal {
        Some(response) => response,
        None => next.run(request).await,
    };
    if stale_cookie && !response.headers().contains_key(header::SET_COOKIE) {
        response
            .headers_mut()
            .append(header::SET_COOKIE, session::clear_cookie(&state.auth));
    }
    response
}

async fn lookup(state: &AppState, hash: &str) -> Result<Option<Viewer>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let idle = i64::try_from(state.auth.session_idle.as_secs()).unwrap_or(i64::MAX);
    let Some((viewer, last_seen)) = db::users::session_viewer(&mut conn, hash, idle).await? else {
        return Ok(None);
    };
    // one write a minute per session keeps the idle clock without a write per request
    if chrono::Utc::now() - last_seen > chrono::Duration::seconds(60) {
        db::users::touch_session(&mut conn, hash).await?;
    }
    Ok(Some(viewer))
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// CSRF defence for state-changing requests: the browser must say the request comes from this
/// site (`Sec-Fetch-Site`), or name this origin (`Origin`). Requests that carry neither are
/// refused too: every browser sends `Origin` on a POST.
pub fn same_origin(headers: &HeaderMap, public_origin: &Option<String>) -> Result<(), String> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = get("sec-fetch-site") {
        return match site {
            "same-origin" | "none" => Ok(()),
            other => Err(format!("Sec-Fetch-Site is '{other}'")),
        };
    }
    let Some(origin) = get("origin") else {
        return Err("the request names no Origin".to_owned());
    };
    let expected = match public_origin {
        Some(o) => o.trim_end_matches('/').to_owned(),
        None => match get("host") {
            Some(host) => format!("http://{host}"),
            None => return Err("the request names no Host".to_owned()),
        },
    };
    if origin.eq_ignore_ascii_case(&expected)
        || (public_origin.is_none()
            && get("host").is_some_and(|h| origin.eq_ignore_ascii_case(&format!("https://{h}"))))
    {
        Ok(())
    } else {
        Err(format!("Origin '{origin}' is not this site"))
    }
}

fn unauthenticated(request: &Request, page: bool, stale: bool) -> Response {
    if page && (request.method() == Method::GET || request.method() == Method::HEAD) {
        let target = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let mut to = format!(
            "/login?next={}",
            app::components::format::query_value(target)
        );
        if stale {
            to.push_str(&format!("&flash={}", Flash::SessionExpired.code()));
        }
        return Redirect::to(&to).into_response();
    }
    ApiError::Unauthorized("sign in first: this needs a session".to_owned()).into_response()
}

fn forbidden(route: Option<&str>, page: bool, viewer: &Viewer) -> Response {
    let message = format!(
        "your role ({}) may not use {}",
        viewer.role.as_str(),
        route.unwrap_or("this route")
    );
    if page {
        let body = format!(
            "<p>{}</p><p><a href=\"/\">Back to the overview</a></p>",
            html_escape(&message)
        );
        return plain_page(StatusCode::FORBIDDEN, "Not allowed", &body);
    }
    ApiError::Forbidden(message).into_response()
}

/// A small page made by the server itself (refusals, a new token's secret): the site's
/// stylesheet and icon, a heading and `body_html` (already escaped by the caller), never cached.
pub fn plain_page(status: StatusCode, title: &str, body_html: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{title} · Bulwark</title>\
         <link rel=\"icon\" type=\"image/svg+xml\" href=\"/favicon.svg\"><link \
         rel=\"stylesheet\" href=\"/pkg/bulwark.css\"></head><body><main id=\"main\"><section \
         class=\"card auth-card\"><h1>{title}</h1>{body_html}</section></main></body></html>",
        title = html_escape(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The nonce of one request's Content-Security-Policy, made by [`security_headers`] before
/// anything renders and handed to the render (which puts it on the hydration scripts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CspNonce(pub String);

impl CspNonce {
    /// 128 random bits, base64url.
    fn generate() -> CspNonce {
        use base64::Engine as _;
        let mut bytes = [0u8; 16];
        // without randomness the page gets a nonce nobody can guess either way: none works
        let _ = getrandom::fill(&mut bytes);
        CspNonce(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }
}

/// What [`security_headers`] needs: whether cookies are secure (HSTS), and which routes are
/// pages rendered by Leptos.
#[derive(Clone, Debug)]
pub struct SecurityHeaders {
    /// The site is served over HTTPS.
    pub secure_cookies: bool,
    /// The route patterns of the Leptos pages.
    pub pages: Arc<std::collections::HashSet<String>>,
}

/// Headers every response carries. A page (a Leptos route, or the fallback's 404 page) gets
/// the page Content-Security-Policy with the nonce made here for its render; everything else
/// one that allows nothing. The header is set here, after the render, rather than by the
/// render itself, so that no page can leave without it.
pub async fn security_headers(
    State(settings): State<SecurityHeaders>,
    mut request: Request,
    next: Next,
) -> Response {
    let static_file = request.uri().path().starts_with("/pkg/");
    let page = request
        .extensions()
        .get::<MatchedPath>()
        .is_none_or(|route| settings.pages.contains(route.as_str()));
    let nonce = CspNonce::generate();
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if page
        && html
        && let Ok(policy) = HeaderValue::from_str(&app::app::content_security_policy(&nonce.0))
    {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: &'static str, value: &'static str| {
        if !headers.contains_key(name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "x-frame-options", "DENY");
    set(headers, "referrer-policy", "same-origin");
    set(headers, "cross-origin-opener-policy", "same-origin");
    set(headers, "cross-origin-resource-policy", "same-origin");
    set(
        headers,
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    );
    set(
        headers,
        "content-security-policy",
        // plain server-made pages (403, a new token) may use the stylesheet; nothing runs
        "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; \
         base-uri 'none'; form-action 'self'",
    );
    if !static_file {
        set(headers, "cache-control", "no-store");
    }
    if settings.secure_cookies {
        set(
            headers,
            "strict-transport-security",
            "max-age=63072000; includeSubDomains",
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_site_requests_pass_and_cross_site_ones_do_not() {
        let none = None;
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")]), &none).is_ok());
        assert!(same_origin(&headers(&[("sec-fetch-site", "cross-site")]), &none).is_err());
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-site")]), &none).is_err());
        let local = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000"),
        ]);
        assert!(same_origin(&local, &none).is_ok());
        let evil = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://evil.example"),
        ]);
        assert!(same_origin(&evil, &none).is_err());
        assert!(same_origin(&headers(&[("host", "a"), ("origin", "null")]), &none).is_err());
        assert!(same_origin(&headers(&[("host", "127.0.0.1:3000")]), &none).is_err());
        let public = Some("https://bulwark.example.com".to_owned());
        let proxied = headers(&[
            ("host", "10.0.0.5:3000"),
            ("origin", "https://bulwark.example.com"),
        ]);
        assert!(same_origin(&proxied, &public).is_ok());
        assert!(same_origin(&local, &public).is_err());
    }

    #[test]
    fn html_escape_neutralises_markup() {
        assert_eq!(
            html_escape("<a href=\"x\">'&"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
    }
}
