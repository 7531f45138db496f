//! One finding as its page shows it (`/findings/{cluster_id}/{finding_id}`): what it is and
//! where, its risk with every factor explained, the catalogue entry of its vulnerability, the
//! evidence each scanner gave, where else the same vulnerability runs, and its history.
//!
//! Plain data, computed on the server (the SLA clock included, so that the server's render and
//! the browser's agree). What does not belong here: how the factors are worded (the server's
//! `domain::risk_explain`, next to the score it explains) and the decision forms' types.

use chrono::{DateTime, NaiveDate, Utc};
use leptos::Params;
use leptos_router::params::Params;
use serde::{Deserialize, Serialize};

use super::{Assignee, Lenient, Owner, Severity};

/// The path of the finding page, `/findings/{cluster_id}/{finding_id}`. An id that does not
/// read as a number reads as absent, and the page answers "not found".
#[derive(Params, Clone, Debug, Default, PartialEq)]
pub struct FindingPath {
    /// The finding's cluster (0: fleet-level).
    pub cluster_id: Lenient<i64>,
    /// The finding's id within it.
    pub finding_id: Lenient<i64>,
}

impl FindingPath {
    /// The finding's key, when both ids read (a cluster id is never negative).
    pub fn key(&self) -> Option<(i64, i64)> {
        let cluster = self.cluster_id.get().copied().filter(|c| *c >= 0)?;
        Some((cluster, self.finding_id.get().copied()?))
    }
}

/// The link to a finding's page.
pub fn finding_href(cluster_id: i64, finding_id: i64) -> String {
    format!("/findings/{cluster_id}/{finding_id}")
}

/// Everything the finding page shows (the decision actions aside).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FindingDetail {
    /// Its cluster (0: fleet-level).
    pub cluster_id: i64,
    /// Its id within the cluster.
    pub id: i64,
    /// The title.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// `open`, `reopened`, `fixed`, `accepted`, `false_positive`, `suppressed_by_vex`.
    pub status: String,
    /// `vulnerability`, `misconfiguration`, `secret`, …
    pub kind: String,
    /// The cluster's name; `None` for a fleet-level finding.
    pub cluster: Option<String>,
    /// The vulnerability's id, for vulnerabilities.
    pub vulnerability_id: Option<String>,
    /// The rule or check, for the other kinds.
    pub rule_id: Option<String>,
    /// The package and version (`openssl 3.0.1`).
    pub package: Option<String>,
    /// The image (`repository:tag`).
    pub image: Option<String>,
    /// The image's digest.
    pub image_digest: Option<String>,
    /// The workload (`namespace/Kind/name`).
    pub workload: Option<String>,
    /// The resource or file it points at.
    pub resource: Option<String>,
    /// When it was first seen.
    pub first_seen: DateTime<Utc>,
    /// The newest time a scan scope still observing it reported; `None` when no scope
    /// observes it any more.
    pub last_seen: Option<DateTime<Utc>>,
    /// When its status last changed.
    pub status_changed_at: DateTime<Utc>,
    /// When it was fixed, when it is.
    pub fixed_at: Option<DateTime<Utc>>,
    /// Its SLA clock, while it is open.
    pub sla: Option<SlaClock>,
    /// The fixed version to upgrade to, when known.
    pub fixed_version: Option<String>,
    /// The risk score and its explanation.
    pub risk: RiskExplained,
    /// The catalogue entry, for a vulnerability the catalogue knows.
    pub vulnerability: Option<CatalogueEntry>,
    /// One entry per scanner scope that observed it.
    pub evidence: Vec<Evidence>,
    /// Other open findings of the same vulnerability the viewer may see.
    pub where_else: Option<WhereElse>,
    /// Status changes and decisions, newest first.
    pub history: Vec<HistoryEntry>,
    /// Whether the history was cut at [`FindingDetail::HISTORY_LIMIT`] entries.
    pub history_truncated: bool,
    /// Whether the viewer may take decisions on it (executives read only; fleet-level
    /// findings only for viewers of every cluster).
    #[serde(default)]
    pub can_decide: bool,
    /// Who owns it (the assignee of its newest assignment); `None`: unassigned, or its owner's
    /// account is gone.
    #[serde(default)]
    pub owner: Option<Owner>,
    /// The users it may be assigned to, for the owner picker (filled only for viewers who
    /// may decide).
    #[serde(default)]
    pub assignees: Vec<Assignee>,
}

impl FindingDetail {
    /// The most history entries shown.
    pub const HISTORY_LIMIT: usize = 200;
}

/// The SLA clock of an open finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaClock {
    /// Days to fix that the policy gives it.
    pub days: i32,
    /// Whether it got the critical clock for being in CISA KEV.
    pub kev_clock: bool,
    /// When the clock started: when it (re)opened.
    pub started_at: DateTime<Utc>,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// Past due by the end of today (UTC), as the findings list and the rollup count it.
    pub overdue: bool,
}

/// The stored risk score and the factors behind it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RiskExplained {
    /// The stored score (0–100); `None` when the finding was never scored.
    pub score: Option<i16>,
    /// The stored factors, biggest first.
    pub factors: Vec<RiskFactor>,
    /// How the factors add up to the score ("39.2 + 20 + 10 = 69.2, rounded to 69").
    pub arithmetic: String,
}

/// One factor of a risk score: what it measured, what it weighs, the points it gave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RiskFactor {
    /// Stable name: `severity`, `kev`, `epss`, `fix`, `exposure`, `runtime`, `environment`,
    /// `criticality`, `privilege`.
    pub factor: String,
    /// What it measured ("CVSS 9.8", "94.0 %", "production").
    pub value: String,
    /// What it weighs under the weights in force ("4 points per CVSS point", "+20").
    pub weight: String,
    /// The points it gave, as stored.
    pub points: f64,
    /// The reason in plain words, with its points ("In CISA KEV since 2024-03-02 (+20)").
    pub why: String,
}

/// A vulnerability's catalogue entry with its threat intelligence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatalogueEntry {
    /// CVE-…, GHSA-…
    pub id: String,
    /// Other ids of the same vulnerability.
    pub aliases: Vec<String>,
    /// The catalogue's title.
    pub title: Option<String>,
    /// The description, as the scanners gave it (shown as text).
    pub description: Option<String>,
    /// The CVSS vector used for ranking.
    pub cvss_vector: Option<String>,
    /// Its CVSS version ("3.1", "4.0", "2.0").
    pub cvss_version: Option<String>,
    /// Its base score.
    pub cvss_score: Option<f32>,
    /// Weakness ids (CWE-79, …).
    pub cwe: Vec<String>,
    /// When it was published.
    pub published_at: Option<DateTime<Utc>>,
    /// Reference URLs, as the scanners gave them (only http and https are links).
    pub references: Vec<String>,
    /// Its CISA KEV entry, when listed.
    pub kev: Option<KevEntry>,
    /// Its EPSS score, when known.
    pub epss: Option<EpssScore>,
}

/// A CISA Known Exploited Vulnerabilities entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KevEntry {
    /// When CISA added it.
    pub date_added: NaiveDate,
    /// The remediation due date CISA set for federal agencies, when stored.
    pub due_date: Option<NaiveDate>,
    /// CISA's name for it.
    pub name: Option<String>,
    /// Known use in ransomware campaigns ("Known", "Unknown").
    pub ransomware_use: Option<String>,
}

/// An EPSS score.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpssScore {
    /// Probability of exploitation in the next 30 days (0–1).
    pub score: f32,
    /// Its percentile among all scored CVEs (0–1).
    pub percentile: f32,
    /// The day of the score.
    pub date: Option<NaiveDate>,
}

/// One scanner scope's observation of the finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The source (scanner install) name.
    pub source: String,
    /// What its reports cover (the scope).
    pub scope: String,
    /// The severity as that scanner rated it.
    pub severity: Severity,
    /// When this scope first saw it.
    pub first_seen: DateTime<Utc>,
    /// The newest report of the scope still showing it; `None` when it is gone.
    pub last_seen: Option<DateTime<Utc>>,
    /// Still reported by this scope.
    pub active: bool,
    /// When the scope stopped reporting it.
    pub gone_at: Option<DateTime<Utc>>,
    /// The report it first came in.
    pub first_report: Option<ReportRef>,
    /// The newest report that confirmed it (active) or that no longer had it (gone).
    pub latest_report: Option<ReportRef>,
    /// The fixed versions this scanner listed, when it listed them.
    pub fixed_versions: Option<String>,
    /// The evidence as the scanner gave it (compact JSON, shown as text, cut at 4,000
    /// characters).
    pub details: String,
}

/// A report, as evidence points at it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRef {
    /// Its id.
    pub id: i64,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// Its format (`trivy`, `grype`, …).
    pub format: String,
    /// The scanner and version, when the report named them.
    pub scanner: Option<String>,
}

/// Other open findings of the same vulnerability, by image, within the viewer's scope.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhereElse {
    /// Open findings of the vulnerability the viewer may see, besides this one.
    pub findings: i64,
    /// Distinct images among them (findings without an image count as one group).
    pub images: i64,
    /// The riskiest images, at most [`WhereElse::IMAGE_LIMIT`].
    pub groups: Vec<ImageGroup>,
}

impl WhereElse {
    /// The most images listed.
    pub const IMAGE_LIMIT: i64 = 50;
    /// The most findings listed per image.
    pub const PLACE_LIMIT: i64 = 10;
}

/// One image carrying the vulnerability, and where it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageGroup {
    /// `repository:tag`; `None` for findings not on an image.
    pub image: Option<String>,
    /// The highest risk among its findings.
    pub risk_max: Option<i16>,
    /// Its open findings of the vulnerability.
    pub findings: i64,
    /// The riskiest of them, at most [`WhereElse::PLACE_LIMIT`].
    pub places: Vec<Place>,
}

/// One other finding of the vulnerability: its workload and cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// Its cluster (0: fleet-level).
    pub cluster_id: i64,
    /// Its id.
    pub finding_id: i64,
    /// The cluster's name; `None` at fleet level.
    pub cluster: Option<String>,
    /// The workload (`namespace/Kind/name`), when it is on one.
    pub workload: Option<String>,
    /// Its risk.
    pub risk: Option<i16>,
    /// Its severity.
    pub severity: Severity,
}

impl Place {
    /// The link to its page.
    pub fn href(&self) -> String {
        finding_href(self.cluster_id, self.finding_id)
    }
}

/// One entry of a finding's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// What happened.
    pub event: HistoryEvent,
}

/// A status change or a decision (comments and assignments included).
// (on 64-bit targets; the browser's wasm32 has half-size pointers and stays under the limit)
#[cfg_attr(
    target_pointer_width = "64",
    expect(
        clippy::large_enum_variant,
        reason = "at most a few hundred entries per page, built once; a box would only add a hop"
    )
)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HistoryEvent {
    /// The finding entered a status.
    Status {
        /// The status it entered.
        status: String,
    },
    /// A triage decision (`finding_decision`).
    Decision {
        /// `accepted`, `false_positive`, `reopened`, `assigned`, `comment`, `suppressed_by_vex`.
        decision: String,
        /// Who decided; `None` for the system (a VEX statement) or a removed user.
        by: Option<String>,
        /// Why.
        justification: String,
        /// When an acceptance ends.
        expires_at: Option<DateTime<Utc>>,
        /// Who approved it, and when.
        approved: Option<(String, DateTime<Utc>)>,
        /// When it was revoked.
        revoked_at: Option<DateTime<Utc>>,
        /// The VEX document that decided it.
        vex_source: Option<String>,
        /// An acceptance's review: `pending` (waiting for a manager), `approved`, `rejected`,
        /// `expired` (its expiry passed while it waited); `None` when none was needed.
        #[serde(default)]
        approval: Option<String>,
        /// Who rejected it (`None`: a removed user), and when.
        #[serde(default)]
        rejected: Option<(Option<String>, DateTime<Utc>)>,
        /// The reviewer's note, on an approval or a rejection.
        #[serde(default)]
        review_note: Option<String>,
        /// An assignment's assignee (`None`: a removed user, or not an assignment).
        #[serde(default)]
        assignee: Option<String>,
    },
}

/// A status (or decision) in words: `false_positive` → "false positive".
pub fn status_words(status: &str) -> String {
    match status {
        "suppressed_by_vex" => "suppressed by VEX".to_owned(),
        other => other.replace('_', " "),
    }
}

/// Whether `url` may be rendered as a link: http and https only (a `javascript:` or `data:`
/// reference from a scanner stays text).
pub fn is_web_link(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
        && !rest.is_empty()
        && !rest.starts_with('/')
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_references_are_links() {
        assert!(is_web_link("https://nvd.nist.gov/vuln/detail/CVE-2024-1"));
        assert!(is_web_link("HTTP://example.com/x"));
        assert!(!is_web_link("javascript:alert(1)"));
        assert!(!is_web_link("JavaScript:alert(1)"));
        assert!(!is_web_link("data:text/html,<script>"));
        assert!(!is_web_link("//evil.example.com"));
        assert!(!is_web_link("https://a b"));
        assert!(!is_web_link("ftp://example.com"));
        assert!(!is_web_link("https:"));
        assert!(!is_web_link("https://"));
        assert!(!is_web_link(" https://example.com"));
        assert!(is_web_link("http://x"));
    }

    #[test]
    fn statuses_read_as_words() {
        assert_eq!(status_words("false_positive"), "false positive");
        assert_eq!(status_words("suppressed_by_vex"), "suppressed by VEX");
        assert_eq!(status_words("open"), "open");
    }

    #[test]
    fn a_finding_links_to_its_page() {
        assert_eq!(finding_href(0, 17), "/findings/0/17");
        let place = Place {
            cluster_id: 3,
            finding_id: 42,
            cluster: None,
            workload: None,
            risk: None,
            severity: Severity::High,
        };
        assert_eq!(place.href(), "/findings/3/42");
    }
}
