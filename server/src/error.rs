//! `ApiError`: every failure of the REST API, answered as `application/problem+json`
//! (RFC 9457) with a status per variant. Internal causes are logged once, with the request id,
//! and answered as a bare 500 that carries the same id.
//!
//! This module knows no route: the id comes from [`crate::telemetry`], where the router's
//! layers put it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
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

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                ApiError::Unavailable(error)
            }
            other => ApiError::Internal(other.into()),
        }
    }
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
