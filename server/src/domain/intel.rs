//! Threat intelligence as Bulwark keeps it: the entries of CISA's Known Exploited
//! Vulnerabilities catalog and FIRST EPSS scores. Pure data; `ingest::intel` reads the published
//! files into these, `db::intel` stores them.

use chrono::NaiveDate;

use crate::domain::report::Warning;

/// One KEV entry.
#[derive(Debug, Clone, PartialEq)]
pub struct KevEntry {
    /// CVE id.
    pub cve_id: String,
    /// Vendor or project.
    pub vendor: Option<String>,
    /// Product.
    pub product: Option<String>,
    /// Vulnerability name.
    pub name: Option<String>,
    /// When CISA added it.
    pub date_added: NaiveDate,
    /// Remediation due date for US federal agencies.
    pub due_date: Option<NaiveDate>,
    /// "Known" or "Unknown" use in ransomware campaigns.
    pub ransomware_use: Option<String>,
    /// Notes.
    pub notes: Option<String>,
}

/// A KEV catalog.
#[derive(Debug, Default)]
pub struct KevCatalog {
    /// `catalogVersion` (JSON only).
    pub version: Option<String>,
    /// The entries.
    pub entries: Vec<KevEntry>,
    /// Rows that could not be read.
    pub warnings: Vec<Warning>,
}

/// One EPSS score.
#[derive(Debug, Clone, PartialEq)]
pub struct EpssScore {
    /// CVE id.
    pub cve_id: String,
    /// Probability of exploitation in the next 30 days.
    pub score: f32,
    /// Percentile among all scored CVEs.
    pub percentile: f32,
}

/// An EPSS file.
#[derive(Debug, Default)]
pub struct EpssFile {
    /// Model version from the comment line.
    pub model_version: Option<String>,
    /// Date the scores are for.
    pub score_date: Option<NaiveDate>,
    /// The scores.
    pub scores: Vec<EpssScore>,
    /// Rows that could not be read.
    pub warnings: Vec<Warning>,
}
