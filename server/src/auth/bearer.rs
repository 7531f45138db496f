//! API tokens as credentials: the `Authorization: Bearer <token>` of a REST request, resolved
//! to a live token with the scope the handler needs ([`IngestToken`] for reports,
//! [`IntelToken`] for fleet-wide threat intelligence, [`ReadToken`] for the read API). Only the
//! token's SHA-256 is looked up; the token is never logged. Issuing and revoking tokens belongs
//! to [`super::tokens`] and the database side to `db::tokens`; what a route requires is
//! declared with the route (`routes.rs`).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::AppState;
use crate::db::tokens::{self, IngestIdentity};
use crate::domain::tenancy::Writer;
use crate::domain::token;
use crate::error::ApiError;

/// An authenticated ingest request: the token is live and has the `ingest` scope.
#[derive(Debug, Clone)]
pub struct IngestToken(pub IngestIdentity);

/// A request authenticated by a live token with the `read` scope (the REST read API).
#[derive(Debug, Clone)]
pub struct ReadToken(pub IngestIdentity);

/// A request authenticated by a live token with the `intel` scope that is bound to no cluster:
/// threat intelligence is fleet-wide, and a cluster's token never changes fleet-wide data
/// ([`crate::domain::tenancy`]).
#[derive(Debug, Clone)]
pub struct IntelToken(pub IngestIdentity);

impl FromRequestParts<AppState> for IntelToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let identity = authenticate(parts, state, "intel").await?;
        if !Writer::new(identity.cluster_id).may_import_intel() {
            return Err(ApiError::Forbidden(
                "threat intelligence is fleet-wide: a token bound to a cluster cannot change it"
                    .to_owned(),
            ));
        }
        Ok(IntelToken(identity))
    }
}

impl FromRequestParts<AppState> for IngestToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, state, "ingest").await.map(IngestToken)
    }
}

impl FromRequestParts<AppState> for ReadToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, state, "read").await.map(ReadToken)
    }
}

/// The live token presented as `Authorization: Bearer`, which must carry `scope`.
async fn authenticate(
    parts: &Parts,
    state: &AppState,
    scope: &str,
) -> Result<IngestIdentity, ApiError> {
    let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized(
            "send the API token as 'Authorization: Bearer <token>' \
             (create one under Settings › Tokens or with 'bulwark token create')"
                .to_owned(),
        )
    })?;
    let presented = header
        .to_str()
        .ok()
        .and_then(|h| {
            let (scheme, value) = h.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| value.trim())
        })
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must use the Bearer scheme".to_owned())
        })?;
    let unknown = || ApiError::Unauthorized("the token is unknown, revoked or expired".to_owned());
    if !token::looks_like_token(presented) {
        return Err(unknown());
    }
    let mut conn = state.pool.acquire().await?;
    let identity = tokens::find_live_by_hash(&mut conn, &token::hash(presented))
        .await?
        .ok_or_else(unknown)?;
    if !identity.scopes.iter().any(|s| s == scope) {
        return Err(ApiError::Forbidden(format!(
            "this token lacks the '{scope}' scope needed here"
        )));
    }
    if let Err(retry_after) = state.limiters.ingest(identity.token_id) {
        return Err(ApiError::TooManyRequests {
            detail: format!(
                "this token sent more than {} requests in a minute; retry in {retry_after} s",
                state.auth.ingest_reports_per_minute
            ),
            retry_after,
        });
    }
    tokens::touch(&mut conn, identity.token_id).await?;
    Ok(identity)
}
