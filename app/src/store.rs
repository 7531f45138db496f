//! The port through which pages reach data on the server. `app` declares it, the server
//! implements it over PostgreSQL and provides it as Leptos context; server functions pull it
//! out with [`use_store`] and delegate. Only available with `ssr`.
//!
//! Every method takes the [`Viewer`]: the store filters by the clusters they may see, so a
//! scope-limited user never receives another cluster's rows, counts or names.

use std::sync::Arc;

use async_trait::async_trait;
use leptos::prelude::use_context;

use crate::error::AppError;
use crate::model::{
    AuditFilter, AuditPage, EventList, FindingDetail, FindingList, ListFilter, Overview,
    OverviewFilter, SlaPolicy, TokenSummary, Viewer,
};

/// Read and write access to Bulwark's data, as the user interface needs it.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The overview of the clusters `filter` selects among those the viewer may see. An unknown
    /// (or invisible) cluster is [`AppError::NotFound`]; an unknown provider or environment a
    /// [`AppError::BadRequest`].
    async fn overview(&self, viewer: &Viewer, filter: OverviewFilter)
    -> Result<Overview, AppError>;

    /// The SLA policy in force.
    async fn sla_policy(&self, viewer: &Viewer) -> Result<SlaPolicy, AppError>;

    /// Replaces the SLA policy (administrators and managers only) and audits the change.
    async fn set_sla_policy(&self, viewer: &Viewer, policy: SlaPolicy) -> Result<(), AppError>;

    /// Open findings matching `filter`, riskiest first.
    async fn findings(&self, viewer: &Viewer, filter: ListFilter) -> Result<FindingList, AppError>;

    /// The newest runtime events matching `filter`.
    async fn runtime_events(
        &self,
        viewer: &Viewer,
        filter: ListFilter,
    ) -> Result<EventList, AppError>;

    /// The API tokens the viewer may manage.
    async fn tokens(&self, viewer: &Viewer) -> Result<Vec<TokenSummary>, AppError>;

    /// The newest audit log entries matching `filter`.
    async fn audit_log(&self, viewer: &Viewer, filter: AuditFilter) -> Result<AuditPage, AppError>;

    /// One finding for its page, by its key. [`AppError::NotFound`] when it does not exist or
    /// the viewer may not see it (the two are told apart by nobody).
    async fn finding(
        &self,
        viewer: &Viewer,
        cluster_id: i64,
        finding_id: i64,
    ) -> Result<FindingDetail, AppError>;
}

/// The store as it travels in Leptos context.
#[derive(Clone)]
pub struct StoreHandle(pub Arc<dyn Store>);

/// The store provided by the server for this request.
pub fn use_store() -> Result<Arc<dyn Store>, AppError> {
    use_context::<StoreHandle>()
        .map(|handle| handle.0)
        .ok_or_else(|| AppError::Internal("store-missing".to_owned()))
}

/// The signed-in user of this request, as the server's authentication put it on the request.
pub fn current_viewer() -> Option<Viewer> {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Viewer>().cloned())
}

/// The signed-in user, or [`AppError::Unauthorized`]. The server's access policy already
/// refuses anonymous calls; this is the second lock on the same door.
pub fn require_viewer() -> Result<Viewer, AppError> {
    current_viewer().ok_or(AppError::Unauthorized)
}
