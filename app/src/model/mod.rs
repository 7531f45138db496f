//! Types shared by the server and the browser: what pages display and what server functions
//! return. Plain data with serde; no behaviour that needs the server.

mod audit;
mod lists;
mod overview;
mod severity;
mod tokens;
mod viewer;

pub use audit::{AuditEntry, AuditFilter, AuditPage};
pub use lists::{EventList, EventRow, FindingList, FindingRow, ListFilter};
pub use overview::{ClusterSummary, FleetOverview, ReportSummary, SeverityBreakdown};
pub use severity::{Severity, SeverityCounts};
pub use tokens::TokenSummary;
pub use viewer::{Role, SignInOptions, Viewer};
