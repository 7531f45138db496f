//! Types shared by the server and the browser: what pages display and what server functions
//! return. Plain data with serde; no behaviour that needs the server.

mod audit;
mod overview;
mod severity;
mod viewer;

pub use audit::{AuditEntry, AuditFilter, AuditPage};
pub use overview::{ClusterSummary, FleetOverview, ReportSummary, SeverityBreakdown};
pub use severity::{Severity, SeverityCounts};
pub use viewer::{Role, Viewer};
