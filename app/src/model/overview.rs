//! What the overview page shows.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::SeverityCounts;

/// Fleet-wide posture: the clusters and the latest reports.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FleetOverview {
    /// Open findings across the fleet, by severity.
    pub open: SeverityCounts,
    /// Distinct images known.
    pub images: i64,
    /// Every cluster, worst first.
    pub clusters: Vec<ClusterSummary>,
    /// The most recent reports, newest first.
    pub reports: Vec<ReportSummary>,
}

/// One cluster's line on the overview.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterSummary {
    /// Unique cluster name.
    pub name: String,
    /// aws, gcp, azure, onprem or other.
    pub provider: String,
    /// prod, staging or dev.
    pub environment: String,
    /// Cloud region or site, when known.
    pub region: Option<String>,
    /// Open findings that concern this cluster, by severity.
    pub open: SeverityCounts,
    /// When the cluster last sent a report.
    pub last_report_at: Option<DateTime<Utc>>,
}

/// One ingested report, as listed on the overview.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportSummary {
    /// Report id.
    pub id: i64,
    /// The source (scanner install) that sent it.
    pub source: String,
    /// The cluster of the sending token, if any.
    pub cluster: Option<String>,
    /// Input format (trivy, grype, ...).
    pub format: String,
    /// What was scanned, as the report names it.
    pub artifact: Option<String>,
    /// When Bulwark received it.
    pub received_at: DateTime<Utc>,
    /// Records (findings, events, results) in the report.
    pub records: i64,
    /// Findings this report created.
    pub new: i64,
    /// Findings this report marked fixed.
    pub fixed: i64,
}

/// Open findings by severity for one scope: the fleet (`cluster = None`) or one cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SeverityBreakdown {
    /// The cluster the numbers are for; `None` means the whole fleet.
    pub cluster: Option<String>,
    /// Open findings by severity.
    pub open: SeverityCounts,
}
