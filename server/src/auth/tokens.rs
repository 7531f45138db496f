//! Token settings (administrators and managers): list, create (the secret is shown once, in the
//! answer to the form), revoke. Plain forms, so they work without JavaScript. A manager limited
//! to some clusters sees and creates only tokens bound to those clusters.

use app::model::{Flash, Viewer};
use axum::Form;
use axum::extract::{FromRequest, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::bearer::ReadToken;
use super::middleware::{client_ip, html_escape, plain_page};
use crate::AppState;
use crate::db;
use crate::db::audit::{Actor, Event};
use crate::domain::token::TokenSecret;
use crate::error::ApiError;

fn viewer(request: &Request) -> Result<Viewer, ApiError> {
    let viewer = request
        .extensions()
        .get::<Viewer>()
        .cloned()
        .ok_or_else(|| ApiError::Unauthorized("sign in first".to_owned()))?;
    if !viewer.role.can_manage_tokens() {
        return Err(ApiError::Forbidden("tokens are for managers".to_owned()));
    }
    Ok(viewer)
}

/// The token form.
#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    cluster: String,
    #[serde(default)]
    expires_days: String,
}

fn back(flash: Flash) -> Response {
    Redirect::to(&format!("/settings/tokens?flash={}", flash.code())).into_response()
}

/// `POST /settings/tokens/new`: creates a token and shows its secret once.
pub async fn create(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let viewer = viewer(&request)?;
    let ip = client_ip(request.extensions());
    let Ok(Form(form)) = Form::<CreateForm>::from_request(request, &()).await else {
        return Ok(back(Flash::TokenNotSaved));
    };
    let name = form.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Ok(back(Flash::TokenNameInvalid));
    }
    let read = match form.scope.as_str() {
        "ingest" => false,
        "read" => true,
        _ => return Ok(back(Flash::TokenScopeInvalid)),
    };
    let days: Option<i64> = match form.expires_days.trim() {
        "" => None,
        d => match d.parse::<i64>() {
            Ok(n) if (1..=3650).contains(&n) => Some(n),
            _ => return Ok(back(Flash::TokenExpiryInvalid)),
        },
    };
    let cluster = form.cluster.trim();
    let mut tx = state.pool.begin().await?;
    let cluster_id = if cluster.is_empty() {
        None
    } else {
        match db::overview::cluster_id_by_name(&mut tx, cluster).await? {
            Some(id) if viewer.sees_cluster(id) => Some(id),
            _ => return Ok(back(Flash::TokenClusterInvalid)),
        }
    };
    // a limited manager cannot mint a token that reaches beyond their clusters
    if viewer.clusters.is_some() && cluster_id.is_none() {
        return Ok(back(Flash::TokenClusterInvalid));
    }
    let source_id = if read {
        None
    } else {
        let source = form.source.trim();
        if source.is_empty() {
            return Ok(back(Flash::TokenSourceInvalid));
        }
        match db::tokens::ensure_source(&mut tx, source, cluster_id).await {
            Ok(id) => Some(id),
            Err(db::tokens::SourceError::ClusterMismatch(_)) => {
                return Ok(back(Flash::TokenSourceTaken));
            }
            Err(db::tokens::SourceError::Database(e)) => {
                if e.as_database_error().and_then(|d| d.constraint()) == Some("source_name_check") {
                    return Ok(back(Flash::TokenSourceInvalid));
                }
                return Err(e.into());
            }
        }
    };
    let secret = TokenSecret::generate().map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
    let scope = if read { "read" } else { "ingest" };
    let id = db::tokens::create(
        &mut tx,
        &db::tokens::NewToken {
            name,
            hash: &secret.hash(),
            prefix: secret.display_prefix(),
            scopes: &[scope],
            source_id,
            cluster_id,
            created_by: Some(viewer.user_id),
            expires_in_days: days,
        },
    )
    .await?;
    db::audit::record(
        &mut tx,
        Event {
            actor: Actor::from(&viewer),
            action: "token.create",
            target: Some(("token", id.to_string())),
            cluster_id,
            ip,
            details: serde_json::json!({
                "name": name, "scopes": [scope], "source": form.source.trim(),
                "cluster": cluster, "expires_in_days": days
            }),
        },
    )
    .await?;
    tx.commit().await?;
    let body = format!(
        "<p>Copy the token <strong>{}</strong> now: it is shown only this once and cannot be \
         recovered.</p><p><code data-testid=\"new-token\" class=\"secret\">{}</code></p>\
         <p><a href=\"/settings/tokens\">Back to tokens</a></p>",
        html_escape(name),
        html_escape(secret.expose())
    );
    Ok(plain_page(
        axum::http::StatusCode::OK,
        "Token created",
        &body,
    ))
}

/// The revoke form.
#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    id: String,
}

/// `POST /settings/tokens/revoke`.
pub async fn revoke(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let viewer = viewer(&request)?;
    let ip = client_ip(request.extensions());
    let Ok(Form(form)) = Form::<RevokeForm>::from_request(request, &()).await else {
        return Ok(back(Flash::TokenUnknown));
    };
    let Ok(id) = form.id.trim().parse::<i64>() else {
        return Ok(back(Flash::TokenUnknown));
    };
    let mut tx = state.pool.begin().await?;
    let visible = db::tokens::list(&mut tx, viewer.clusters.as_deref())
        .await?
        .into_iter()
        .find(|t| t.id == id);
    let Some(token) = visible else {
        return Ok(back(Flash::TokenUnknown));
    };
    let cluster_id = db::tokens::cluster_of(&mut tx, id).await?;
    if db::tokens::revoke(&mut tx, id).await? {
        db::audit::record(
            &mut tx,
            Event {
                actor: Actor::from(&viewer),
                action: "token.revoke",
                target: Some(("token", id.to_string())),
                cluster_id,
                ip,
                details: serde_json::json!({ "name": token.name }),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/settings/tokens?flash={}",
        Flash::TokenRevoked.code()
    ))
    .into_response())
}

/// The read API's query.
#[derive(Deserialize, Default)]
pub struct ReadQuery {
    severity: Option<String>,
    cluster: Option<String>,
    q: Option<String>,
    sla: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/v1/findings`: open findings, riskiest first, for a token with the `read` scope. A
/// token bound to a cluster reads only that cluster.
pub async fn read_findings(
    State(state): State<AppState>,
    token: ReadToken,
    axum::extract::Query(query): axum::extract::Query<ReadQuery>,
) -> Result<Response, ApiError> {
    let identity = token.0;
    let scope = identity.cluster_id.map(|c| vec![c]);
    let filter = app::model::ListFilter {
        severity: query.severity,
        cluster: query.cluster,
        q: query.q,
        sla: query.sla,
        ..app::model::ListFilter::default()
    };
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid-query",
            "Invalid query",
            "limit must be between 1 and 1000",
        ));
    }
    let mut conn = state.pool.acquire().await?;
    let criteria = match db::explorer::check(&mut conn, scope.as_deref(), &filter).await? {
        Ok(criteria) => criteria,
        Err(db::explorer::Refusal::NoSuchCluster(name)) => {
            return Err(ApiError::NotFound(format!("there is no cluster '{name}'")));
        }
        Err(db::explorer::Refusal::BadValue(detail)) => {
            return Err(ApiError::bad_request(
                "invalid-query",
                "Invalid query",
                detail,
            ));
        }
    };
    let (_, total) = db::explorer::facets(&mut conn, &criteria).await?;
    let (rows, _) = db::explorer::rows(
        &mut conn,
        &criteria,
        total,
        usize::try_from(limit).unwrap_or(100),
    )
    .await?;
    let list = (rows, total);
    Ok(axum::Json(serde_json::json!({ "total": list.1, "findings": list.0 })).into_response())
}

/// The read API's overview query: the page's filters.
#[derive(Deserialize, Default)]
pub struct OverviewParams {
    provider: Option<String>,
    environment: Option<String>,
    cluster: Option<String>,
    days: Option<i32>,
}

/// `GET /api/v1/overview`: every figure of the overview page for the clusters the filters
/// select (`provider`, `environment`, `cluster`, `days` = MTTR period), for a token with the
/// `read` scope. A token bound to a cluster reads only that cluster.
pub async fn read_overview(
    State(state): State<AppState>,
    token: ReadToken,
    axum::extract::Query(query): axum::extract::Query<OverviewParams>,
) -> Result<Response, ApiError> {
    let scope = token.0.cluster_id.map(|c| vec![c]);
    if let Some(days) = query.days
        && !app::model::OverviewFilter::PERIODS.contains(&days)
    {
        return Err(ApiError::bad_request(
            "invalid-query",
            "Invalid query",
            "days must be 7, 30 or 90",
        ));
    }
    let filter = app::model::OverviewFilter {
        provider: query.provider,
        environment: query.environment,
        cluster: query.cluster,
        days: query.days,
    };
    let mut conn = state.pool.acquire().await?;
    match crate::store::build_overview(&mut conn, scope.as_deref(), filter).await {
        Ok(overview) => Ok(axum::Json(overview).into_response()),
        Err(app::error::AppError::NotFound(what)) => Err(ApiError::NotFound(what)),
        Err(app::error::AppError::BadRequest(detail)) => Err(ApiError::bad_request(
            "invalid-query",
            "Invalid query",
            detail,
        )),
        Err(app::error::AppError::Unavailable) => {
            Err(ApiError::Unavailable(sqlx::Error::PoolTimedOut))
        }
        Err(other) => Err(ApiError::Internal(anyhow::anyhow!("{other}"))),
    }
}
