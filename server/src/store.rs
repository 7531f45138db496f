//! The UI's [`Store`] over PostgreSQL: each method borrows a connection and delegates to
//! [`crate::db`]. Database failures are logged here with a reference and reach the page as
//! [`AppError::Internal`] or [`AppError::Unavailable`], never with their details.

use app::error::AppError;
use app::model::{
    AuditFilter, AuditPage, EventList, FindingDetail, FindingList, ListFilter, Overview,
    OverviewFilter, Posture, SlaPolicy, TokenSummary, Viewer,
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
        db::lists::Lookup::BadSeverity(detail) | db::lists::Lookup::BadValue(detail) => {
            Err(AppError::BadRequest(detail))
        }
    }
}

/// The overview of the clusters `filter` selects among `scope` (`None`: every cluster), for the
/// page and for `GET /api/v1/overview`.
pub async fn build_overview(
    conn: &mut sqlx::PgConnection,
    scope: Option<&[i64]>,
    filter: OverviewFilter,
) -> Result<Overview, AppError> {
    use crate::domain::posture;
    // a blank field (as a GET form sends an untouched select) is no filter
    let blank = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let filter = OverviewFilter {
        provider: blank(filter.provider),
        environment: blank(filter.environment),
        cluster: blank(filter.cluster),
        days: filter.days,
    };
    let selection = match db::overview::select(&mut *conn, scope, &filter)
        .await
        .map_err(to_app_error)?
    {
        Ok(selection) => selection,
        Err(db::overview::Refusal::NoSuchCluster(name)) => {
            return Err(AppError::NotFound(format!("Cluster '{name}'")));
        }
        Err(db::overview::Refusal::BadValue(detail)) => {
            return Err(AppError::BadRequest(detail));
        }
    };
    let ids = &selection.ids;
    let policy = db::settings::sla_policy(&mut *conn)
        .await
        .map_err(to_app_error)?;
    let options = db::overview::options(&mut *conn, scope)
        .await
        .map_err(to_app_error)?;
    let as_of = db::overview::latest_day(&mut *conn)
        .await
        .map_err(to_app_error)?;
    let mut overview = Overview {
        includes_fleet_level: selection.includes_fleet_level(),
        as_of,
        policy,
        options,
        ..Overview::default()
    };
    if let Some(as_of) = as_of {
        let week_ago = as_of - chrono::Duration::days(7);
        let month_ago = as_of - chrono::Duration::days(30);
        let rows =
            db::overview::daily_totals(&mut *conn, ids, posture::first_day_needed(as_of), as_of)
                .await
                .map_err(to_app_error)?;
        overview.open = posture::open_on(&rows, as_of);
        overview.open_7d_ago = posture::open_on(&rows, week_ago);
        overview.open_30d_ago = posture::open_on(&rows, month_ago);
        overview.overdue = posture::overdue_on(&rows, as_of);
        overview.trend = posture::trend(&rows, as_of);
        overview.weekly = posture::weekly(&rows, as_of);
        overview.mttr = posture::mttr(&rows, as_of, filter.period(), &policy);
        let kinds = db::overview::open_by_kind(&mut *conn, ids, &[as_of, week_ago, month_ago])
            .await
            .map_err(to_app_error)?;
        overview.by_kind = posture::by_kind(&kinds, as_of);
    }
    overview.top_risks = db::overview::top_risks(&mut *conn, ids, 10)
        .await
        .map_err(to_app_error)?;
    overview.worst_clusters = db::overview::worst_clusters(&mut *conn, ids, 10)
        .await
        .map_err(to_app_error)?;
    overview.worst_workloads = db::overview::worst_workloads(&mut *conn, ids, 10)
        .await
        .map_err(to_app_error)?;
    overview.coverage = db::overview::coverage(
        &mut *conn,
        ids,
        policy.stale_after_hours,
        chrono::Utc::now(),
    )
    .await
    .map_err(to_app_error)?;
    let fresh = overview.coverage.iter().filter(|c| !c.stale).count();
    overview.posture = Posture::compute(
        &overview.open,
        &overview.overdue,
        fresh,
        overview.coverage.len(),
    );
    overview.filter = OverviewFilter {
        days: Some(filter.period()),
        ..filter
    };
    Ok(overview)
}

#[async_trait]
impl Store for PgStore {
    async fn overview(
        &self,
        viewer: &Viewer,
        filter: OverviewFilter,
    ) -> Result<Overview, AppError> {
        let mut conn = self.conn().await?;
        build_overview(&mut conn, viewer.clusters.as_deref(), filter).await
    }

    async fn sla_policy(&self, _viewer: &Viewer) -> Result<SlaPolicy, AppError> {
        let mut conn = self.conn().await?;
        db::settings::sla_policy(&mut conn)
            .await
            .map_err(to_app_error)
    }

    async fn set_sla_policy(&self, viewer: &Viewer, policy: SlaPolicy) -> Result<(), AppError> {
        if !viewer.role.can_edit_sla() {
            return Err(AppError::Forbidden);
        }
        if let Some(problem) = policy.problem() {
            return Err(AppError::BadRequest(problem));
        }
        let mut tx = self.pool.begin().await.map_err(to_app_error)?;
        let before = db::settings::sla_policy(&mut tx)
            .await
            .map_err(to_app_error)?;
        db::settings::set_sla_policy(&mut tx, &policy, viewer.user_id)
            .await
            .map_err(to_app_error)?;
        db::audit::record(
            &mut tx,
            db::audit::Event {
                actor: viewer.into(),
                action: "settings.sla",
                target: Some(("setting", "sla.policy".to_owned())),
                cluster_id: None,
                ip: None,
                details: serde_json::json!({ "before": before, "after": policy }),
            },
        )
        .await
        .map_err(to_app_error)?;
        // overdue counts of every day follow the new clocks
        db::jobs::enqueue(
            &mut tx,
            crate::jobs::SNAPSHOT_BACKFILL,
            &serde_json::json!({}),
            chrono::Utc::now(),
        )
        .await
        .map_err(to_app_error)?;
        tx.commit().await.map_err(to_app_error)?;
        Ok(())
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

    async fn finding(
        &self,
        viewer: &Viewer,
        cluster_id: i64,
        finding_id: i64,
    ) -> Result<FindingDetail, AppError> {
        let mut conn = self.conn().await?;
        db::finding_detail::load(
            &mut conn,
            viewer.clusters.as_deref(),
            cluster_id,
            finding_id,
            chrono::Utc::now(),
        )
        .await
        .map_err(to_app_error)?
        .ok_or_else(|| AppError::NotFound(format!("Finding {cluster_id}/{finding_id}")))
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
