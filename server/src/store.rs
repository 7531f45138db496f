//! The UI's [`Store`] over PostgreSQL: each method borrows a connection and delegates to
//! [`crate::db`]. Database failures are logged here with a reference and reach the page as
//! [`AppError::Internal`] or [`AppError::Unavailable`], never with their details.

use app::error::AppError;
use app::model::{
    AuditFilter, AuditPage, EventList, FindingList, FleetOverview, ListFilter, SeverityBreakdown,
    TokenSummary, Viewer,
};
use app::store::Store;
use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::pool::PoolConnection;

use crate::db;

/// The store the server provides to every page render and server function.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// A store over `pool`.
    pub fn new(pool: PgPool) -> Self {
        PgStore { pool }
    }

    async fn conn(&self) -> Result<PoolConnection<sqlx::Postgres>, AppError> {
        self.pool.acquire().await.map_err(to_app_error)
    }
}

/// Logs a database error once and turns it into what a page may show.
pub fn to_app_error(error: sqlx::Error) -> AppError {
    match error {
        error if crate::error::database_unavailable(&error) => {
            tracing::warn!(%error, "database unavailable");
            AppError::Unavailable
        }
        error => {
            // the request's id: the page shows it, the access log and this line carry it
            let reference = crate::telemetry::request_id().unwrap_or_else(|| {
                let mut bytes = [0u8; 6];
                match getrandom::fill(&mut bytes) {
                    Ok(()) => hex::encode(bytes),
                    Err(_) => "unknown".to_owned(),
                }
            });
            tracing::error!(%error, reference, "database error while rendering");
            AppError::Internal(reference)
        }
    }
}

/// A list filter checked for a page: an unknown (or invisible) cluster is "not found", a bad
/// severity a bad request.
async fn list_query(
    conn: &mut sqlx::PgConnection,
    scope: Option<&[i64]>,
    filter: &ListFilter,
) -> Result<db::lists::ListQuery, AppError> {
    match db::lists::lookup(conn, scope, filter)
        .await
        .map_err(to_app_error)?
    {
        db::lists::Lookup::Ready(q) => Ok(q),
        db::lists::Lookup::NoSuchCluster(name) => {
            Err(AppError::NotFound(format!("Cluster '{name}'")))
        }
        db::lists::Lookup::BadSeverity(detail) => Err(AppError::BadRequest(detail)),
    }
}

#[async_trait]
impl Store for PgStore {
    async fn fleet_overview(&self, viewer: &Viewer) -> Result<FleetOverview, AppError> {
        let scope = viewer.clusters.as_deref();
        let mut conn = self.conn().await?;
        let open = db::overview::fleet_open_by_severity(&mut conn, scope)
            .await
            .map_err(to_app_error)?;
        let images = db::overview::image_count(&mut conn, scope)
            .await
            .map_err(to_app_error)?;
        let clusters = db::overview::clusters(&mut conn, scope)
            .await
            .map_err(to_app_error)?;
        let reports = db::overview::latest_reports(&mut conn, scope, 10)
            .await
            .map_err(to_app_error)?;
        Ok(FleetOverview {
            open,
            images,
            clusters,
            reports,
        })
    }

    async fn severity_breakdown(
        &self,
        viewer: &Viewer,
        cluster: Option<String>,
    ) -> Result<SeverityBreakdown, AppError> {
        let mut conn = self.conn().await?;
        let open = match &cluster {
            None => {
                db::overview::fleet_open_by_severity(&mut conn, viewer.clusters.as_deref()).await
            }
            Some(name) => {
                // a cluster outside the viewer's scope does not exist for them
                let id = db::overview::cluster_id_by_name(&mut conn, name)
                    .await
                    .map_err(to_app_error)?
                    .filter(|id| viewer.sees_cluster(*id))
                    .ok_or_else(|| AppError::NotFound(format!("Cluster '{name}'")))?;
                db::overview::cluster_open_by_severity(&mut conn, id).await
            }
        }
        .map_err(to_app_error)?;
        Ok(SeverityBreakdown { cluster, open })
    }

    async fn audit_log(&self, viewer: &Viewer, filter: AuditFilter) -> Result<AuditPage, AppError> {
        const PAGE: i64 = 200;
        let query = db::audit::Query::new(&filter).map_err(AppError::BadRequest)?;
        let mut conn = self.conn().await?;
        let mut entries = db::audit::list(&mut conn, &query, viewer.clusters.as_deref(), PAGE + 1)
            .await
            .map_err(to_app_error)?;
        let truncated = entries.len() > PAGE as usize;
        entries.truncate(PAGE as usize);
        let actions = db::audit::actions(&mut conn, viewer.clusters.as_deref())
            .await
            .map_err(to_app_error)?;
        Ok(AuditPage {
            entries,
            truncated,
            actions,
        })
    }

    async fn findings(&self, viewer: &Viewer, filter: ListFilter) -> Result<FindingList, AppError> {
        let scope = viewer.clusters.as_deref();
        let mut conn = self.conn().await?;
        let query = list_query(&mut conn, scope, &filter).await?;
        let (rows, total) = db::lists::open_findings(&mut conn, scope, &query, 100)
            .await
            .map_err(to_app_error)?;
        Ok(FindingList { rows, total })
    }

    async fn runtime_events(
        &self,
        viewer: &Viewer,
        filter: ListFilter,
    ) -> Result<EventList, AppError> {
        let scope = viewer.clusters.as_deref();
        let mut conn = self.conn().await?;
        let query = list_query(&mut conn, scope, &filter).await?;
        let rows = db::lists::newest_events(&mut conn, scope, &query, 100)
            .await
            .map_err(to_app_error)?;
        Ok(EventList { rows })
    }

    async fn tokens(&self, viewer: &Viewer) -> Result<Vec<TokenSummary>, AppError> {
        let mut conn = self.conn().await?;
        let rows = db::tokens::list(&mut conn, viewer.clusters.as_deref())
            .await
            .map_err(to_app_error)?;
        Ok(rows
            .into_iter()
            .map(|t| TokenSummary {
                id: t.id,
                name: t.name,
                prefix: t.token_prefix,
                scopes: t.scopes,
                source: t.source,
                cluster: t.cluster,
                created_at: t.created_at,
                last_used_at: t.last_used_at,
                expires_at: t.expires_at,
                revoked_at: t.revoked_at,
            })
            .collect())
    }
}
