//! Who is sending: the `Authorization: Bearer <token>` of an ingest request, resolved to a
//! source (and cluster). Only the token's SHA-256 is looked up; the token is never logged.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::AppState;
use crate::db::tokens::{self, IngestIdentity};
use crate::domain::token;
use crate::error::ApiError;

/// An authenticated ingest request: the token is live and has the `ingest` scope.
#[derive(Debug, Clone)]
pub struct IngestToken(pub IngestIdentity);

impl FromRequestParts<AppState> for IngestToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            ApiError::Unauthorized(
                "send the ingest token as 'Authorization: Bearer <token>' \
                 (create one with 'bulwark token create --source NAME')"
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
                ApiError::Unauthorized(
                    "the Authorization header must use the Bearer scheme".to_owned(),
                )
            })?;
        let unknown =
            || ApiError::Unauthorized("the token is unknown, revoked or expired".to_owned());
        if !token::looks_like_token(presented) {
            return Err(unknown());
        }
        let mut conn = state.pool.acquire().await?;
        let identity = tokens::find_live_by_hash(&mut conn, &token::hash(presented))
            .await?
            .ok_or_else(unknown)?;
        if !identity.scopes.iter().any(|s| s == "ingest") {
            return Err(ApiError::Forbidden(
                "this token may not send reports (it lacks the ingest scope)".to_owned(),
            ));
        }
        if let Err(retry_after) = state.limiters.ingest(identity.token_id) {
            return Err(ApiError::TooManyRequests {
                detail: format!(
                    "this token sent more than {} reports in a minute; retry in {retry_after} s",
                    state.auth.ingest_reports_per_minute
                ),
                retry_after,
            });
        }
        tokens::touch(&mut conn, identity.token_id).await?;
        Ok(IngestToken(identity))
    }
}
