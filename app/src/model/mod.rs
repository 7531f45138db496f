//! Types shared by the server and the browser: what pages display and what server functions
//! return, the outcomes form handlers report ([`Flash`]) and the query strings pages read
//! ([`FindingsQuery`] and its siblings). Plain data; no behaviour that needs the server.

mod audit;
mod estate;
mod finding;
mod flash;
mod lists;
mod overview;
mod owner;
mod query;
mod severity;
mod sla;
mod theme;
mod tokens;
mod triage;
mod viewer;
mod views;

pub use audit::{AuditEntry, AuditFilter, AuditPage};
pub use estate::{
    ClusterDetail, ClusterNode, Estate, EstateFilter, ImageCluster, ImageDetail, ImageNode,
    ImageWorkload, NamespaceNode, PackageRow, ProviderNode, RiskTotals, Upgrade, WhereCluster,
    WhereImage, WhereRunning, WhereWorkload, WorkloadNode, cve_id, estate_href, image_href,
};
pub use finding::{
    CatalogueEntry, EpssScore, Evidence, FindingDetail, FindingPath, HistoryEntry, HistoryEvent,
    ImageGroup, KevEntry, Place, ReportRef, RiskExplained, RiskFactor, SlaClock, WhereElse,
    finding_href, is_web_link, status_words,
};
pub use flash::{Flash, FlashKind, UnknownFlash};
pub use lists::{
    EventList, EventRow, Facet, FacetValue, FindingGroup, FindingList, FindingRow, ListFilter,
};
pub use overview::{
    ClusterRisk, CoverageRow, FilterOptions, KindCounts, Mttr, Overview, OverviewFilter, Posture,
    TopRisk, TrendDay, WeekFlow, WorkloadRisk, factor_words,
};
pub use owner::{Assignee, AssigneesFor, Owner, parse_assignee};
pub use query::{
    AuditQuery, EstateQuery, EventsQuery, FindingsQuery, FlashQuery, ImagePath, Lenient,
    LoginQuery, OverviewQuery,
};
pub use severity::{Severity, SeverityCounts, UnknownSeverity};
pub use sla::SlaPolicy;
pub use theme::Theme;
pub use tokens::TokenSummary;
pub use triage::{
    ApprovalPolicy, DecisionAction, DecisionOutcome, DecisionTarget, FindingKey, MAX_COMMENT,
    MAX_JUSTIFICATION, MAX_REVIEW_NOTE, MAX_SELECTION, PendingApproval, decision_action,
    optional_text, parse_expiry, parse_keys, parse_target, required_text, return_path, with_flash,
};
pub use viewer::{Role, SignInOptions, Viewer};
pub use views::{
    MAX_VIEW_NAME, MAX_VIEW_QUERY, MAX_VIEWS, SavedView, SavedViews, ViewDraft, may_share_views,
    parse_view_query, view_name,
};
