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
    ApprovalPolicy, Assignee, AssigneesFor, AuditFilter, AuditPage, DecisionAction,
    DecisionOutcome, DecisionTarget, Estate, EstateFilter, EventList, FindingDetail, FindingKey,
    FindingList, ImageDetail, ListFilter, Overview, OverviewFilter, PendingApproval, SavedView,
    SavedViews, SlaPolicy, TokenSummary, ViewDraft, Viewer, WhereRunning,
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

    /// For which severities a risk acceptance needs a manager's approval.
    async fn approval_policy(&self, viewer: &Viewer) -> Result<ApprovalPolicy, AppError>;

    /// Replaces the approval policy (administrators and managers only) and audits the change.
    async fn set_approval_policy(
        &self,
        viewer: &Viewer,
        policy: ApprovalPolicy,
    ) -> Result<(), AppError>;

    /// Takes a triage decision on `target`, all of it or nothing, audited as one entry.
    /// Executives are [`AppError::Forbidden`]; a single finding the viewer may not see is
    /// [`AppError::NotFound`]; a selection naming one is [`AppError::BadRequest`]; "all
    /// matching" whose count changed since the page showed it is [`AppError::Conflict`].
    async fn decide(
        &self,
        viewer: &Viewer,
        target: DecisionTarget,
        action: DecisionAction,
    ) -> Result<DecisionOutcome, AppError>;

    /// Approves (`approve`) or rejects the pending acceptances `decisions` (cluster, decision
    /// id), administrators and managers only, never their own; returns how many. All or
    /// nothing, audited as one entry.
    async fn review_acceptances(
        &self,
        viewer: &Viewer,
        decisions: Vec<FindingKey>,
        approve: bool,
        note: String,
    ) -> Result<u64, AppError>;

    /// The pending acceptances the viewer may review, oldest first.
    async fn pending_approvals(&self, viewer: &Viewer) -> Result<Vec<PendingApproval>, AppError>;

    /// The users who may own the findings `of` names, for the owner picker: active
    /// administrators, managers and analysts who see every one of them, never a user who sees
    /// none of the viewer's clusters. Executives are [`AppError::Forbidden`]; a finding or a
    /// filter's cluster the viewer may not see is [`AppError::NotFound`].
    async fn assignees(&self, viewer: &Viewer, of: AssigneesFor)
    -> Result<Vec<Assignee>, AppError>;

    /// The estate the viewer may see: providers and clusters, or one cluster (and namespace)
    /// drilled into. An unknown (or invisible) cluster or namespace is [`AppError::NotFound`].
    async fn estate(&self, viewer: &Viewer, filter: EstateFilter) -> Result<Estate, AppError>;

    /// One image for its page, by its id as the path gives it: not a number is
    /// [`AppError::BadRequest`]; an image that does not exist, or runs in none of a scoped
    /// viewer's clusters, is [`AppError::NotFound`].
    async fn image(&self, viewer: &Viewer, id: String) -> Result<ImageDetail, AppError>;

    /// Where the vulnerability `cve` (a CVE id) runs among the viewer's clusters. Not a CVE id
    /// is [`AppError::BadRequest`].
    async fn where_running(&self, viewer: &Viewer, cve: String) -> Result<WhereRunning, AppError>;

    /// The saved views of the findings explorer the viewer may open: their own, then those
    /// others share, except (for a viewer limited to some clusters) a shared view whose query
    /// names a cluster they may not see.
    async fn saved_views(&self, viewer: &Viewer) -> Result<SavedViews, AppError>;

    /// Saves a view of the viewer's, replacing their view of the same name (whatever its
    /// case), and audits it. A bad name or query (a value the explorer does not take, a cluster
    /// the viewer does not see), or a 51st view, is [`AppError::BadRequest`]; sharing as an
    /// executive is [`AppError::Forbidden`]. Nothing is stored then.
    async fn save_view(&self, viewer: &Viewer, draft: ViewDraft) -> Result<SavedView, AppError>;

    /// Deletes a view, audited: the viewer's own, or as an administrator a shared view they
    /// see. Any other view is [`AppError::NotFound`], as if it did not exist.
    async fn delete_view(&self, viewer: &Viewer, id: i64) -> Result<(), AppError>;
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
