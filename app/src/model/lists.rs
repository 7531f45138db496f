//! What the findings and runtime events lists show.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Severity;

/// The list filters (all optional; they travel in the query string).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListFilter {
    /// Only this severity (`critical`, `high`, ...).
    pub severity: Option<String>,
    /// Only what concerns this cluster (by name).
    pub cluster: Option<String>,
    /// Only rows whose text contains this (case-insensitive).
    pub q: Option<String>,
    /// `overdue`: only open findings past their SLA due date (findings lists only).
    #[serde(default)]
    pub sla: Option<String>,
}

/// One open finding as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingRow {
    /// Finding id (within its cluster).
    pub id: i64,
    /// How bad the scanner says it is.
    pub severity: Severity,
    /// Risk 0–100.
    pub risk: Option<i16>,
    /// vulnerability, misconfiguration, secret, ...
    pub kind: String,
    /// open or reopened.
    pub status: String,
    /// What the scanner calls it.
    pub title: String,
    /// The vulnerability, for vulnerabilities.
    pub vulnerability: Option<String>,
    /// The vulnerability's description, when the catalogue has one.
    pub description: Option<String>,
    /// The affected package and version.
    pub package: Option<String>,
    /// The image it is in.
    pub image: Option<String>,
    /// The cluster it is in (none for images known only from CI).
    pub cluster: Option<String>,
    /// The Kubernetes resource or file it points at.
    pub resource: Option<String>,
}

/// One page of findings, riskiest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingList {
    /// The rows shown.
    pub rows: Vec<FindingRow>,
    /// How many match in all.
    pub total: i64,
}

/// One runtime event as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRow {
    /// When it happened.
    pub time: DateTime<Utc>,
    /// The cluster it happened in.
    pub cluster: Option<String>,
    /// The rule that fired.
    pub rule: String,
    /// Syslog priority: 0 emergency … 7 debug.
    pub priority: i16,
    /// The agent's message.
    pub output: Option<String>,
    /// Where: namespace/pod (container).
    pub place: Option<String>,
    /// The container image.
    pub image: Option<String>,
}

/// The newest runtime events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventList {
    /// The rows shown, newest first.
    pub rows: Vec<EventRow>,
}
