//! Types shared by the server and the browser: what pages display and what server functions
//! return. Plain data with serde; no behaviour that needs the server.

mod overview;
mod severity;

pub use overview::{ClusterSummary, FleetOverview, ReportSummary, SeverityBreakdown};
pub use severity::{Severity, SeverityCounts};
