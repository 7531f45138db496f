//! REST ingestion: `POST /api/v1/ingest/{format}`.
//!
//! The handler reads as a script: authenticate, read the (possibly gzipped) body within the
//! limit, answer a byte-identical re-send with the first report, parse (pure, on a blocking
//! thread), store in one transaction. Parsers live one per file and never touch the database.

pub mod auth;
pub mod model;
pub mod pipeline;
pub mod trivy;

use std::io::Read;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::db;
use crate::error::ApiError;
use auth::IngestToken;
use model::{ParseError, ParsedReport};
use pipeline::IngestOutcome;

/// The formats `POST /api/v1/ingest/{format}` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Trivy JSON, SchemaVersion 2.
    Trivy,
}

impl Format {
    /// Every format, for error messages.
    pub const ALL: &'static [Format] = &[Format::Trivy];

    /// The name used in URLs and stored on reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Trivy => "trivy",
        }
    }

    /// From the URL segment.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.iter().copied().find(|f| f.as_str() == name)
    }

    /// Runs the format's parser.
    pub fn parse(self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        match self {
            Format::Trivy => trivy::parse(body),
        }
    }
}

/// `POST /api/v1/ingest/{format}`.
#[tracing::instrument(skip_all, fields(format = %format, source = %token.0.source))]
pub async fn ingest(
    State(state): State<AppState>,
    Path(format): Path<String>,
    token: IngestToken,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let format = Format::from_name(&format).ok_or_else(|| {
        let known: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
        ApiError::NotFound(format!(
            "'{format}' is not a supported format; supported: {}",
            known.join(", ")
        ))
    })?;
    let identity = token.0;
    let body = read_body(body, &headers, state.limits.max_report_bytes).await?;
    let digest: [u8; 32] = Sha256::digest(&body).into();

    let mut conn = state.pool.acquire().await?;
    if let Some(existing) =
        db::reports::find_by_digest(&mut conn, identity.source_id, &digest).await?
    {
        return Ok(respond(StatusCode::OK, IngestOutcome::replay(existing)));
    }
    drop(conn);

    let body_bytes = body.len();
    let parsed = tokio::task::spawn_blocking(move || format.parse(&body))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| ApiError::bad_request(e.kind, "Invalid report", e.detail))?;

    let outcome =
        pipeline::store(&state.pool, &identity, format, &digest, body_bytes, parsed).await?;
    let status = if outcome.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    tracing::info!(
        report_id = outcome.report_id,
        new = outcome.counts.new,
        fixed = outcome.counts.fixed,
        "report ingested"
    );
    Ok(respond(status, outcome))
}

fn respond(status: StatusCode, outcome: IngestOutcome) -> Response {
    (status, Json(outcome)).into_response()
}

/// Reads the body, gunzipping it when `Content-Encoding: gzip`; refuses more than `limit`
/// bytes (decompressed) without reading further.
async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, ApiError> {
    let too_large = || ApiError::PayloadTooLarge { limit };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    let gzip = match encoding.as_deref() {
        None | Some("identity") | Some("") => false,
        Some("gzip") | Some("x-gzip") => true,
        Some(other) => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "Content-Encoding '{other}' is not supported; send the report plain or gzip"
            )));
        }
    };
    let raw = Limited::new(body, limit)
        .collect()
        .await
        .map_err(|e| {
            if e.downcast_ref::<LengthLimitError>().is_some() {
                too_large()
            } else {
                ApiError::bad_request(
                    "incomplete-body",
                    "Incomplete request body",
                    format!("the request body could not be read: {e}"),
                )
            }
        })?
        .to_bytes();
    if raw.is_empty() {
        return Err(ApiError::bad_request(
            "empty-body",
            "Empty report",
            "the request body is empty; send the scanner's JSON output as the body",
        ));
    }
    if !gzip {
        return Ok(raw);
    }
    tokio::task::spawn_blocking(move || gunzip(&raw, limit))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
}

/// Decompresses at most `limit` bytes; more is refused (a gzip bomb stops here).
fn gunzip(compressed: &[u8], limit: usize) -> Result<Bytes, ApiError> {
    let mut out = Vec::new();
    let mut decoder = flate2::read::MultiGzDecoder::new(compressed).take(limit as u64 + 1);
    decoder.read_to_end(&mut out).map_err(|e| {
        ApiError::bad_request(
            "invalid-gzip",
            "Invalid gzip body",
            format!("Content-Encoding is gzip but the body could not be decompressed: {e}"),
        )
    })?;
    if out.len() > limit {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    if out.is_empty() {
        return Err(ApiError::bad_request(
            "empty-body",
            "Empty report",
            "the request body decompresses to nothing; send the scanner's JSON output",
        ));
    }
    Ok(Bytes::from(out))
}
