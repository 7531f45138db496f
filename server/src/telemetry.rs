//! Logging and request ids: `tracing` to stderr, filtered by `RUST_LOG` (default `info`), as
//! text or JSON; the id each request carries (`x-request-id`) and its span and access-log line.
//! Never log tokens, cookies or report bodies.
//!
//! The layers that use these pieces are assembled in `routes.rs` (tower-http's request-id,
//! trace and catch-panic layers); this module sits below the router, the error type and the
//! handlers, so that any of them can name the current request ([`request_id`]) without
//! importing the router. Nothing here knows a route or a rule.

use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::request_id::{MakeRequestId, RequestId};
use tracing::{Level, Span};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The header that carries a request's id, in and out.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled, if called while handling one (inside
/// [`with_request_id`]): error responses quote it, so a user can name the failure.
pub fn request_id() -> Option<String> {
    REQUEST_ID
        .try_with(Clone::clone)
        .ok()
        .filter(|id| !id.is_empty())
}

/// Whether an id sent by the client is kept: 1 to 64 visible ASCII characters (it is echoed in
/// a header and written to logs, so nothing else is trusted).
pub fn is_usable_request_id(value: &[u8]) -> bool {
    !value.is_empty() && value.len() <= 64 && value.iter().all(u8::is_ascii_graphic)
}

/// Removes an `x-request-id` the client sent that [`is_usable_request_id`] refuses, so that
/// [`NewRequestId`] replaces it (tower-http keeps any id it finds).
pub fn drop_unusable_request_id(mut request: Request) -> Request {
    if request
        .headers()
        .get(REQUEST_ID_HEADER)
        .is_some_and(|v| !is_usable_request_id(v.as_bytes()))
    {
        request.headers_mut().remove(REQUEST_ID_HEADER);
    }
    request
}

/// Makes the id of a request that brought none: 16 random hex digits.
#[derive(Clone, Copy, Debug, Default)]
pub struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let mut bytes = [0u8; 8];
        let id = match getrandom::fill(&mut bytes) {
            Ok(()) => hex::encode(bytes),
            Err(_) => "0000000000000000".to_owned(),
        };
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// The id tower-http gave this request, if any.
fn id_of<B>(request: &axum::http::Request<B>) -> &str {
    request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("")
}

/// Runs the rest of the request with its id in reach of [`request_id`] (for error bodies and
/// the response to a panic).
pub async fn with_request_id(request: Request, next: Next) -> Response {
    let id = id_of(&request).to_owned();
    REQUEST_ID.scope(id, next.run(request)).await
}

/// Probes that a load balancer sends every few seconds: logged at debug, not info.
fn is_probe(route: &str) -> bool {
    route == "/healthz" || route == "/readyz"
}

/// The span of one request: method, route (the pattern it matched, so that ids in paths do not
/// make every line unique; the raw path for the fallback) and request id. Never headers.
pub fn request_span(request: &Request) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| request.uri().path(), MatchedPath::as_str);
    let method = request.method();
    let request_id = id_of(request);
    if is_probe(route) {
        tracing::debug_span!("request", %method, route, request_id)
    } else {
        tracing::info_span!("request", %method, route, request_id)
    }
}

/// The access log: one line per request, when its response starts, at the level of its span.
pub fn log_response<B>(response: &axum::http::Response<B>, latency: Duration, span: &Span) {
    let status = response.status().as_u16();
    let millis = latency.as_secs_f64() * 1000.0;
    if span.metadata().is_some_and(|m| *m.level() == Level::INFO) {
        tracing::info!(status, millis, "request")
    } else {
        tracing::debug!(status, millis, "request")
    }
}

/// A response body that broke off while streaming (statuses are in the access log already).
pub fn log_failure(failure: ServerErrorsFailureClass, latency: Duration, _span: &Span) {
    if let ServerErrorsFailureClass::Error(error) = failure {
        let millis = latency.as_secs_f64() * 1000.0;
        tracing::warn!(error, millis, "response failed");
    }
}

/// Installs the global subscriber. Safe to call more than once (later calls do nothing).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Wall time per phase of some work, for debug logs ("where did this ingest spend its time").
pub struct Phases {
    last: std::time::Instant,
    laps: Vec<(&'static str, std::time::Duration)>,
}

impl Phases {
    /// Starts the clock.
    pub fn start() -> Self {
        Phases {
            last: std::time::Instant::now(),
            laps: Vec::new(),
        }
    }

    /// Ends the phase `name` (and starts the next).
    pub fn lap(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        self.laps.push((name, now - self.last));
        self.last = now;
    }
}

impl std::fmt::Display for Phases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (name, d)) in self.laps.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{name}={}ms", d.as_millis())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_visible_ids_from_clients_are_kept() {
        assert!(is_usable_request_id(b"abc-123"));
        assert!(is_usable_request_id("x".repeat(64).as_bytes()));
        assert!(!is_usable_request_id("x".repeat(65).as_bytes()));
        assert!(!is_usable_request_id(b""));
        assert!(!is_usable_request_id(b"a b"));
        assert!(!is_usable_request_id("é".as_bytes()));
    }

    #[test]
    fn new_ids_are_sixteen_hex_digits_and_differ() {
        let request = axum::http::Request::new(());
        let mut make = NewRequestId;
        let a = make.make_request_id(&request).expect("an id");
        let b = make.make_request_id(&request).expect("an id");
        let a = a.header_value().to_str().expect("ascii");
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(Some(a), b.header_value().to_str().ok());
    }
}
