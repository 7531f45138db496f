//! REST ingestion: `POST /api/v1/ingest/{format}`, `POST /api/v1/ingest` (format detected from
//! the content) and `POST /api/v1/intel/{kev,epss}`.
//!
//! A handler reads as a script: authenticate, read the (possibly gzipped) body within the
//! limit, answer a byte-identical re-send with the first report, parse (pure, on a blocking
//! thread), store in one transaction. Parsers live one per file and never touch the database.

pub mod anchore;
pub mod checkov;
pub mod clair;
pub mod cyclonedx;
pub mod detect;
pub mod falco;
pub mod grype;
pub mod intel;
pub mod kube_bench;
pub mod kube_hunter;
pub mod kubescape;
pub mod model;
pub mod openvex;
pub mod pipeline;
pub mod polaris;
pub mod sarif;
pub mod trivy;
pub mod trivy_operator;

use std::io::Read;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::BodyExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::bearer::{IngestToken, IntelToken};
use crate::db;
use crate::db::risk::Selector;
use crate::error::ApiError;
use model::{ParseError, ParsedReport};
use pipeline::IngestOutcome;

/// The formats `POST /api/v1/ingest/{format}` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Trivy JSON (SchemaVersion 2, `trivy k8s`, legacy lists).
    Trivy,
    /// Trivy Operator custom resources (single, List, dict of lists, webhook envelope).
    TrivyOperator,
    /// Grype JSON.
    Grype,
    /// Anchore Engine / anchorectl vulnerability reports and Enterprise policy evaluations.
    Anchore,
    /// Clair v4 vulnerability reports, clair-scanner and klar output.
    Clair,
    /// SARIF 2.1.0 from any tool.
    Sarif,
    /// CycloneDX 1.2–1.6, JSON or XML.
    CycloneDx,
    /// OpenVEX.
    OpenVex,
    /// Falco events (JSON lines, arrays, falcosidekick payloads).
    Falco,
    /// kube-bench JSON (CIS Kubernetes benchmark).
    KubeBench,
    /// Kubescape JSON (v2).
    Kubescape,
    /// Polaris audit JSON.
    Polaris,
    /// Checkov JSON.
    Checkov,
    /// kube-hunter JSON.
    KubeHunter,
}

impl Format {
    /// Every format, for error messages and detection.
    pub const ALL: &'static [Format] = &[
        Format::Trivy,
        Format::TrivyOperator,
        Format::Grype,
        Format::Anchore,
        Format::Clair,
        Format::Sarif,
        Format::CycloneDx,
        Format::OpenVex,
        Format::Falco,
        Format::KubeBench,
        Format::Kubescape,
        Format::Polaris,
        Format::Checkov,
        Format::KubeHunter,
    ];

    /// The name used in URLs and stored on reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Trivy => "trivy",
            Format::TrivyOperator => "trivy-operator",
            Format::Grype => "grype",
            Format::Anchore => "anchore",
            Format::Clair => "clair",
            Format::Sarif => "sarif",
            Format::CycloneDx => "cyclonedx",
            Format::OpenVex => "openvex",
            Format::Falco => "falco",
            Format::KubeBench => "kube-bench",
            Format::Kubescape => "kubescape",
            Format::Polaris => "polaris",
            Format::Checkov => "checkov",
            Format::KubeHunter => "kube-hunter",
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
            Format::TrivyOperator => trivy_operator::parse(body),
            Format::Grype => grype::parse(body),
            Format::Anchore => anchore::parse(body),
            Format::Clair => clair::parse(body),
            Format::Sarif => sarif::parse(body),
            Format::CycloneDx => cyclonedx::parse(body),
            Format::OpenVex => openvex::parse(body),
            Format::Falco => falco::parse(body),
            Format::KubeBench => kube_bench::parse(body),
            Format::Kubescape => kubescape::parse(body),
            Format::Polaris => polaris::parse(body),
            Format::Checkov => checkov::parse(body),
            Format::KubeHunter => kube_hunter::parse(body),
        }
    }
}

fn unknown_format(name: &str) -> ApiError {
    let known: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
    ApiError::NotFound(format!(
        "'{name}' is not a supported format; supported: {}",
        known.join(", ")
    ))
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
    let format = Format::from_name(&format).ok_or_else(|| unknown_format(&format))?;
    let body = read_body(body, &headers, state.limits.max_report_bytes).await?;
    accept(&state, token, Some(format), body).await
}

/// `POST /api/v1/ingest`: the format is detected from the content.
#[tracing::instrument(skip_all, fields(source = %token.0.source))]
pub async fn ingest_detected(
    State(state): State<AppState>,
    token: IngestToken,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_body(body, &headers, state.limits.max_report_bytes).await?;
    accept(&state, token, None, body).await
}

/// Everything after the body is read: replay, parse, store.
async fn accept(
    state: &AppState,
    token: IngestToken,
    format: Option<Format>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let identity = token.0;
    let body_bytes = body.len();
    // Parsing starts at once, while the body is hashed and looked up: a byte-identical re-send
    // is answered with the first report, and its parse is simply dropped.
    let parse_started = std::time::Instant::now();
    let parsing = tokio::task::spawn_blocking({
        let body = body.clone();
        move || parse_body(format, body)
    });
    let digest: [u8; 32] = Sha256::digest(&body).into();
    drop(body);
    let mut conn = state.pool.acquire().await?;
    if let Some(existing) =
        db::reports::find_by_digest(&mut conn, identity.source_id, &digest).await?
    {
        return Ok(respond(StatusCode::OK, IngestOutcome::replay(existing)));
    }
    drop(conn);

    let (format, detected, parsed) = parsing
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(refused)?;
    tracing::debug!(
        millis = parse_started.elapsed().as_millis(),
        records = parsed.record_count,
        "report parsed"
    );

    let mut outcome = pipeline::store(
        &state.pool,
        &identity,
        format.as_str(),
        &digest,
        body_bytes,
        parsed,
    )
    .await?;
    outcome.detected = detected;
    // Findings (their status, or risk) may have changed: today's snapshot is refreshed.
    let counts = &outcome.counts;
    if !outcome.duplicate
        && (counts.received + counts.fixed + counts.suppressed + counts.events > 0
            || format == Format::OpenVex)
    {
        crate::jobs::after_ingest(&state.pool, outcome.report_id).await;
    }
    let status = if outcome.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    tracing::info!(
        report_id = outcome.report_id,
        format = format.as_str(),
        new = outcome.counts.new,
        fixed = outcome.counts.fixed,
        "report ingested"
    );
    Ok(respond(status, outcome))
}

/// Everything the API does to a body before storing it, as a pure function (the fuzz targets
/// call it too): nesting check, NUL replacement, detection when `format` is `None`, parsing.
/// Returns the format used, whether it was detected, and the parsed report.
pub fn parse_body(
    format: Option<Format>,
    body: Bytes,
) -> Result<(Format, bool, ParsedReport), ParseError> {
    check_nesting(&body, MAX_NESTING)?;
    let (body, replaced) = sanitize(body);
    let (format, detected) = match format {
        Some(format) => (format, false),
        None => (detect::detect(&body)?, true),
    };
    let mut parsed = format.parse(&body)?;
    if replaced > 0 {
        parsed.warnings.push(model::Warning {
            pointer: String::new(),
            message: format!(
                "{replaced} NUL character(s) replaced by U+FFFD: PostgreSQL cannot store them"
            ),
        });
    }
    Ok((format, detected, parsed))
}

/// A refused report as a 400 naming the problem (and the record, when one is the reason).
fn refused(error: ParseError) -> ApiError {
    let detail = match &error.pointer {
        Some(pointer) => format!("{} (at {pointer})", error.detail),
        None => error.detail.clone(),
    };
    ApiError::bad_request(error.kind, "Invalid report", detail)
}

fn respond(status: StatusCode, outcome: IngestOutcome) -> Response {
    (status, Json(outcome)).into_response()
}

/// Deepest JSON nesting accepted. Real reports stay far below (Trivy ~8, CycloneDX with nested
/// components ~30); deeper documents are refused before any parser recurses into them.
pub const MAX_NESTING: usize = 128;

/// Refuses documents nested deeper than `max` arrays/objects (strings are skipped, so brackets
/// inside them do not count).
pub fn check_nesting(body: &[u8], max: usize) -> Result<(), ParseError> {
    let mut depth = 0usize;
    let mut offset = 0;
    while offset < body.len() {
        match body[offset] {
            b'"' => {
                // Skip the string: most of a report's bytes are in strings.
                offset += 1;
                loop {
                    let rest = body.get(offset..).unwrap_or_default();
                    let Some(found) = memchr::memchr2(b'"', b'\\', rest) else {
                        offset = body.len(); // unterminated: nothing more to count
                        break;
                    };
                    offset += found;
                    if body[offset] == b'\\' {
                        offset += 2; // the escaped character, whatever it is
                    } else {
                        break;
                    }
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(ParseError::new(
                        "too-deep",
                        format!(
                            "the document is nested more than {max} levels deep (at byte \
                             {offset}); no scanner report is, so it is refused"
                        ),
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        offset += 1;
    }
    Ok(())
}

/// Replaces what PostgreSQL cannot store: `\u0000` escapes in JSON and raw NUL bytes become
/// U+FFFD. Copies the body only when there is something to replace.
pub fn sanitize(body: Bytes) -> (Bytes, usize) {
    const ESCAPE: &[u8] = b"\\u0000";
    // JSON spells the escape with a lower-case `u` only; `\U0000` is not JSON.
    let has_escape = memchr::memmem::find(&body, ESCAPE).is_some();
    if !has_escape && memchr::memchr(0, &body).is_none() {
        return (body, 0);
    }
    let mut out = Vec::with_capacity(body.len());
    let mut replaced = 0;
    let mut i = 0;
    while i < body.len() {
        if body[i] == 0 {
            out.extend_from_slice("\u{FFFD}".as_bytes());
            replaced += 1;
            i += 1;
            continue;
        }
        if body[i] == b'\\' {
            // An escape: `\\` is a literal backslash and must not start `\u0000`.
            if body.get(i + 1) == Some(&b'\\') {
                out.extend_from_slice(b"\\\\");
                i += 2;
                continue;
            }
            if body.get(i..i + ESCAPE.len()) == Some(ESCAPE) {
                out.extend_from_slice(b"\\uFFFD");
                replaced += 1;
                i += ESCAPE.len();
                continue;
            }
        }
        out.push(body[i]);
        i += 1;
    }
    (Bytes::from(out), replaced)
}

/// Reads the body, gunzipping it when `Content-Encoding: gzip` says so or the bytes start with
/// the gzip magic number; refuses more than `limit` bytes (decompressed) without reading further.
pub async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, ApiError> {
    let started = std::time::Instant::now();
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
    let declared_gzip = match encoding.as_deref() {
        None | Some("identity") | Some("") => false,
        Some("gzip") | Some("x-gzip") => true,
        Some(other) => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "Content-Encoding '{other}' is not supported; send the report plain or gzip"
            )));
        }
    };
    // One buffer of the declared size: no chunk list to concatenate, no second copy.
    let mut buf = Vec::with_capacity(declared.map_or(0, |n| n as usize).min(limit));
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            ApiError::bad_request(
                "incomplete-body",
                "Incomplete request body",
                format!("the request body could not be read: {e}"),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(too_large());
            }
            buf.extend_from_slice(&data);
        }
    }
    let raw = Bytes::from(buf);
    tracing::debug!(
        millis = started.elapsed().as_millis(),
        bytes = raw.len(),
        "body read"
    );
    if raw.is_empty() {
        return Err(ApiError::bad_request(
            "empty-body",
            "Empty report",
            "the request body is empty; send the scanner's output as the body",
        ));
    }
    // An uploaded .gz file is gzip even when the client did not say so.
    if !declared_gzip && !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    tokio::task::spawn_blocking(move || gunzip(&raw, limit))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
}

/// Decompresses at most `limit` bytes; more is refused (a gzip bomb stops here).
pub fn gunzip(compressed: &[u8], limit: usize) -> Result<Bytes, ApiError> {
    let mut out = Vec::new();
    let mut decoder = flate2::read::MultiGzDecoder::new(compressed).take(limit as u64 + 1);
    decoder.read_to_end(&mut out).map_err(|e| {
        ApiError::bad_request(
            "invalid-gzip",
            "Invalid gzip body",
            format!(
                "the body is declared or looks gzip-compressed but could not be decompressed: {e}"
            ),
        )
    })?;
    if out.len() > limit {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    if out.is_empty() {
        return Err(ApiError::bad_request(
            "empty-body",
            "Empty report",
            "the request body decompresses to nothing; send the scanner's output",
        ));
    }
    Ok(Bytes::from(out))
}

/// Which intel feed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntelFeed {
    /// CISA Known Exploited Vulnerabilities.
    Kev,
    /// FIRST EPSS.
    Epss,
}

impl IntelFeed {
    /// From the URL segment or CLI word.
    pub fn from_name(name: &str) -> Option<IntelFeed> {
        match name {
            "kev" => Some(IntelFeed::Kev),
            "epss" => Some(IntelFeed::Epss),
            _ => None,
        }
    }
}

/// What an intel import did.
#[derive(Debug, Clone, Serialize)]
pub struct IntelOutcome {
    /// kev or epss.
    pub feed: &'static str,
    /// Entries read.
    pub entries: usize,
    /// Entries new or changed.
    pub changed: usize,
    /// Findings whose risk score changed as a result.
    pub rescored: u64,
    /// Rows that could not be read.
    pub warnings: Vec<model::Warning>,
}

/// Imports a KEV or EPSS file and rescores the findings it changes, in one transaction.
pub async fn import_intel(
    pool: &sqlx::PgPool,
    feed: IntelFeed,
    body: Bytes,
) -> Result<IntelOutcome, ApiError> {
    let (body, _) = sanitize(body);
    match feed {
        IntelFeed::Kev => {
            let catalog = tokio::task::spawn_blocking(move || intel::parse_kev(&body))
                .await
                .map_err(|e| ApiError::Internal(e.into()))?
                .map_err(refused)?;
            let mut tx = pool.begin().await?;
            let changed = db::intel::upsert_kev(&mut tx, &catalog).await?;
            let rescored =
                db::risk::recompute(&mut tx, &Selector::Vulnerabilities(changed.clone())).await?;
            tx.commit().await?;
            Ok(IntelOutcome {
                feed: "kev",
                entries: catalog.entries.len(),
                changed: changed.len(),
                rescored,
                warnings: catalog.warnings,
            })
        }
        IntelFeed::Epss => {
            let file = tokio::task::spawn_blocking(move || intel::parse_epss(&body))
                .await
                .map_err(|e| ApiError::Internal(e.into()))?
                .map_err(refused)?;
            let mut tx = pool.begin().await?;
            let changed = db::intel::upsert_epss(&mut tx, &file).await?;
            let rescored =
                db::risk::recompute(&mut tx, &Selector::Vulnerabilities(changed.clone())).await?;
            tx.commit().await?;
            Ok(IntelOutcome {
                feed: "epss",
                entries: file.scores.len(),
                changed: changed.len(),
                rescored,
                warnings: file.warnings,
            })
        }
    }
}

/// `POST /api/v1/intel/{feed}`: a KEV catalog (JSON or CSV) or an EPSS CSV, gzip accepted.
#[tracing::instrument(skip_all, fields(feed = %feed, source = %token.0.source))]
pub async fn intel(
    State(state): State<AppState>,
    Path(feed): Path<String>,
    token: IntelToken,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // Only an unbound token with the `intel` scope gets here; who did is in the log line.
    let _ = token;
    let feed = IntelFeed::from_name(&feed).ok_or_else(|| {
        ApiError::NotFound(format!(
            "'{feed}' is not an intel feed; supported: kev, epss"
        ))
    })?;
    let body = read_body(body, &headers, state.limits.max_report_bytes).await?;
    let outcome = import_intel(&state.pool, feed, body).await?;
    Ok((StatusCode::OK, Json(outcome)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nesting_counts_brackets_outside_strings_only() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(check_nesting(deep(4).as_bytes(), 4).is_ok());
        let refused = check_nesting(deep(5).as_bytes(), 4).expect_err("too deep");
        assert_eq!(refused.kind, "too-deep");
        // brackets in strings, escaped quotes and backslashes do not count
        let quoted = br#"{"a": "[[[[[[ \" [[[[ \\", "b": ["\\\\", "{{{{"]}"#;
        assert!(check_nesting(quoted, 2).is_ok());
        assert!(check_nesting(br#"[["\"]]]]"], [[["#, 2).is_err());
        // an unterminated string or a trailing backslash ends the scan without a panic
        assert!(check_nesting(br#"[["abc"#, 2).is_ok());
        assert!(check_nesting(br#"[["abc\"#, 2).is_ok());
    }

    fn trivy_doc(image: &str, vulns: &[(String, String, String, String, String)]) -> Vec<u8> {
        let list: Vec<serde_json::Value> = vulns
            .iter()
            .map(|(id, pkg, version, severity, title)| {
                serde_json::json!({"VulnerabilityID": id, "PkgName": pkg,
                    "InstalledVersion": version, "Severity": severity, "Title": title})
            })
            .collect();
        serde_json::json!({
            "SchemaVersion": 2, "ArtifactName": image, "ArtifactType": "container_image",
            "Metadata": {"OS": {"Family": "debian", "Name": "12.4"}},
            "Results": [{"Target": image, "Class": "os-pkgs", "Type": "debian",
                         "Vulnerabilities": list}]
        })
        .to_string()
        .into_bytes()
    }

    fn fingerprints(body: &[u8]) -> Vec<model::FindingRecord> {
        match parse_body(Some(Format::Trivy), Bytes::copy_from_slice(body)) {
            Ok((_, _, parsed)) => parsed.findings,
            Err(e) => panic!("{e:?}"),
        }
    }

    fn vuln() -> impl Strategy<Value = (String, String, String, String, String)> {
        (
            "CVE-20[0-9]{2}-[0-9]{4,5}",
            "[a-z][a-z0-9-]{0,12}",
            "[0-9]{1,2}\\.[0-9]{1,2}(-[0-9])?",
            prop_oneof!["LOW", "MEDIUM", "HIGH", "CRITICAL", "UNKNOWN"],
            ".{0,30}",
        )
    }

    proptest! {
        /// Fingerprints depend on what the finding is (CVE × package × image), not on record
        /// order, titles or severities, which scanners and re-scans change freely.
        #[test]
        fn fingerprints_ignore_order_titles_and_severities(
            (original, shuffled) in proptest::collection::vec(vuln(), 1..12)
                .prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
            new_title in ".{0,30}",
        ) {
            let mut reworded = shuffled.clone();
            for v in &mut reworded {
                v.3 = "HIGH".to_owned();
                v.4 = new_title.clone();
            }
            let mut a: Vec<_> = fingerprints(&trivy_doc("acme/app:1.0", &original))
                .into_iter().map(|f| f.fingerprint).collect();
            let mut b: Vec<_> = fingerprints(&trivy_doc("acme/app:1.0", &reworded))
                .into_iter().map(|f| f.fingerprint).collect();
            a.sort();
            b.sort();
            prop_assert_eq!(&a, &b);
            // ... and another image is another asset.
            let c: Vec<_> = fingerprints(&trivy_doc("acme/app:2.0", &original))
                .into_iter().map(|f| f.fingerprint).collect();
            prop_assert!(c.iter().all(|f| !a.contains(f)));
        }
    }
}
