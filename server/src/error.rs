//! `ApiError`: every failure of the REST API, answered as `application/problem+json`
//! (RFC 9457) with a status per variant. Internal causes are logged once, with the request id,
//! and answered as a bare 500 that carries the same id.
//!
//! It also gives the UI's errors their status: a server function answers every
//! [`AppError`] as a 500 (server_fn builds that response), and [`server_fn_status`] sets the
//! status the error stands for (404, 400, 409, 401, 403, 503; 500 only for faults), keeping the
//! body the browser decodes. [`database_unavailable`] says which database failures are a 503,
//! for both boundaries.
//!
//! This module knows no route: the id comes from [`crate::telemetry`], where the router's
//! layers put it.

use app::error::AppError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;
use serde::Serialize;

use crate::telemetry::request_id;

/// A failure of a REST request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No usable credentials. `detail` says what was wrong with them.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Valid credentials that may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The request cannot be processed as sent.
    #[error("{title}: {detail}")]
    BadRequest {
        /// Short problem kind, e.g. "invalid report".
        title: &'static str,
        /// What exactly is wrong and, where possible, where.
        detail: String,
        /// Stable slug for the problem type.
        kind: &'static str,
    },
    /// The body is larger than allowed.
    #[error("the body exceeds the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is encoded in a way we do not read.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// Too many requests from this client or for this account; retry after the given seconds.
    #[error("rate limited: {detail}")]
    TooManyRequests {
        /// What was limited.
        detail: String,
        /// Seconds until a retry may succeed.
        retry_after: u64,
    },
    /// No such resource.
    #[error("not found: {0}")]
    NotFound(String),
    /// The route does not answer this method; these are the ones it answers.
    #[error("method not allowed")]
    MethodNotAllowed(Vec<axum::http::Method>),
    /// The database is unreachable or overloaded; the client may retry.
    #[error("service unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// A bug or an unexpected failure.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// A 400 about the request body.
    pub fn bad_request(kind: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            title,
            detail: detail.into(),
            kind,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::BadRequest { kind, .. } => kind,
            ApiError::PayloadTooLarge { .. } => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed(_) => "method-not-allowed",
            ApiError::TooManyRequests { .. } => "rate-limited",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::Unauthorized(_) => "Authentication required",
            ApiError::Forbidden(_) => "Not allowed",
            ApiError::BadRequest { title, .. } => title,
            ApiError::PayloadTooLarge { .. } => "Report too large",
            ApiError::UnsupportedMediaType(_) => "Unsupported media type",
            ApiError::NotFound(_) => "Not found",
            ApiError::MethodNotAllowed(_) => "Method not allowed",
            ApiError::TooManyRequests { .. } => "Too many requests",
            ApiError::Unavailable(_) => "Service unavailable",
            ApiError::Internal(_) => "Internal server error",
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Unauthorized(d)
            | ApiError::Forbidden(d)
            | ApiError::UnsupportedMediaType(d)
            | ApiError::NotFound(d) => d.clone(),
            ApiError::BadRequest { detail, .. } | ApiError::TooManyRequests { detail, .. } => {
                detail.clone()
            }
            ApiError::MethodNotAllowed(allowed) => {
                let allowed: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
                format!("this route answers {}", allowed.join(", "))
            }
            ApiError::PayloadTooLarge { limit } => format!(
                "the report is larger than the limit of {limit} bytes (after decompression); \
                 split it or raise BULWARK_MAX_REPORT_BYTES"
            ),
            ApiError::Unavailable(_) => {
                "the database is unavailable; nothing was stored, retry later".to_owned()
            }
            ApiError::Internal(_) => {
                "an unexpected error occurred; nothing was stored. Quote the request id when \
                 reporting it"
                    .to_owned()
            }
        }
    }
}

/// The answer to a request whose handler panicked (tower-http's `CatchPanicLayer` calls it): a
/// 500 problem+json with the request id, like any internal error. The panic's message goes to
/// the log only.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned());
    ApiError::Internal(anyhow::anyhow!("a handler panicked: {message}")).into_response()
}

/// Whether a database failure means the database is unreachable, overloaded or going away,
/// so that a retry may succeed (503), rather than a fault (500): no connection to be had from
/// the pool, a broken connection, or PostgreSQL's own word for it (SQLSTATE class 08,
/// connection exception; 57P01–57P03, shutting down or starting; 53300, too many connections).
pub fn database_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Database(error) => error.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        if database_unavailable(&error) {
            ApiError::Unavailable(error)
        } else {
            ApiError::Internal(error.into())
        }
    }
}

/// The largest server-function error body read to find its status; an `AppError` is a few
/// hundred bytes.
const SERVER_FN_ERROR_LIMIT: usize = 64 * 1024;

/// Middleware: a server function's error response (server_fn marks it with its
/// `serverfnerror` header and answers 500) gets the status of the [`AppError`] in its body,
/// [`AppError::status`]; a 503 also says when to retry. The body is left as it is: the
/// hydrated page decodes any 4xx or 5xx body as the error.
pub async fn server_fn_status(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, SERVER_FN_ERROR_LIMIT).await else {
        tracing::error!("a server function's error body could not be read");
        let body = serde_json::to_vec(&AppError::Internal(request_id().unwrap_or_default()))
            .unwrap_or_default();
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::from(body));
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes)
        && let Ok(status) = StatusCode::from_u16(error.status())
    {
        parts.status = status;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            parts
                .headers
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        ApiError::Internal(error)
    }
}

/// The problem+json body.
#[derive(Debug, Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let request_id = request_id();
        match &self {
            ApiError::Internal(cause) => {
                tracing::error!(error = ?cause, request_id = request_id.as_deref(), "internal error")
            }
            ApiError::Unavailable(cause) => {
                tracing::warn!(error = %cause, request_id = request_id.as_deref(), "database unavailable")
            }
            _ => {}
        }
        let problem = Problem {
            kind: format!("urn:bulwark:problem:{}", self.kind()),
            title: self.title(),
            status: status.as_u16(),
            detail: self.detail(),
            request_id,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"bulwark\""),
            );
        }
        if let ApiError::TooManyRequests { retry_after, .. } = &self
            && let Ok(value) = HeaderValue::from_str(&retry_after.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if let ApiError::MethodNotAllowed(allowed) = &self {
            let allowed: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
            if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
                response.headers_mut().insert(header::ALLOW, value);
            }
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use leptos::server_fn::error::FromServerFnError;
    use leptos::server_fn::response::Res;
    use tower::ServiceExt;

    /// A router whose one route answers `error` exactly as a server function does.
    fn server_fn_answering(error: AppError) -> axum::Router {
        let handler = move || {
            let error = error.clone();
            async move {
                let mut response =
                    <Response<Body> as Res>::error_response("/rpc/test/fail", error.ser());
                response.content_type("application/json");
                response
            }
        };
        axum::Router::new()
            .route("/rpc/test/fail", axum::routing::post(handler))
            .route(
                "/plain",
                axum::routing::get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
            )
            .layer(axum::middleware::from_fn(server_fn_status))
    }

    async fn call(router: axum::Router, method: &str, path: &str) -> (StatusCode, Response) {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .expect("request");
        let response = router.oneshot(request).await.expect("infallible");
        (response.status(), response)
    }

    #[tokio::test]
    async fn a_server_function_error_answers_its_status_and_keeps_its_body() {
        for (error, status) in [
            (AppError::NotFound("Cluster 'x'".into()), 404),
            (AppError::BadRequest("bad".into()), 400),
            (AppError::Conflict("changed".into()), 409),
            (AppError::Unauthorized, 401),
            (AppError::Forbidden, 403),
            (AppError::Unavailable, 503),
            (AppError::Internal("ref".into()), 500),
            (AppError::Transport("x".into()), 500),
        ] {
            let (got, response) =
                call(server_fn_answering(error.clone()), "POST", "/rpc/test/fail").await;
            assert_eq!(got.as_u16(), status, "{error:?}");
            assert_eq!(
                response.headers().contains_key(header::RETRY_AFTER),
                status == 503
            );
            let body = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            // what the browser does with it (server_fn decodes any 4xx/5xx body)
            assert_eq!(AppError::de(body), error);
        }
    }

    #[tokio::test]
    async fn other_responses_pass_untouched() {
        let router = server_fn_answering(AppError::Forbidden);
        let (status, _) = call(router, "GET", "/plain").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn pool_and_connection_failures_are_unavailable_and_others_faults() {
        assert!(database_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(database_unavailable(&sqlx::Error::PoolClosed));
        assert!(database_unavailable(&sqlx::Error::Io(
            std::io::Error::from(std::io::ErrorKind::ConnectionRefused)
        )));
        assert!(!database_unavailable(&sqlx::Error::RowNotFound));
        assert!(!database_unavailable(&sqlx::Error::ColumnNotFound(
            "x".into()
        )));
    }
}
