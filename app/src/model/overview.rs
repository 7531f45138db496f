//! What the overview page shows: the posture of the selected clusters today, its trend over 90
//! days, SLA and MTTR, the top risks, the worst clusters and workloads, and scanner coverage.
//!
//! The numbers cover findings stored in the selected clusters. Fleet-level findings (images
//! scanned in CI, no cluster) count only in the whole-fleet view, where no filter is set and the
//! viewer sees every cluster; they are never added to a cluster's numbers, so that a number is
//! the same whether read from the whole fleet or cluster by cluster.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{Severity, SeverityCounts, SlaPolicy};

/// The overview's filters, as the query string gives them (all optional).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverviewFilter {
    /// Only clusters of this provider (aws, gcp, azure, onprem, other).
    pub provider: Option<String>,
    /// Only clusters of this environment (prod, staging, dev).
    pub environment: Option<String>,
    /// Only this cluster (by name).
    pub cluster: Option<String>,
    /// The period of MTTR and of "fixed" figures, in days: 7, 30 (default) or 90.
    pub days: Option<i32>,
}

impl OverviewFilter {
    /// The periods a user can choose.
    pub const PERIODS: [i32; 3] = [7, 30, 90];

    /// The chosen period, or 30 days.
    pub fn period(&self) -> i32 {
        self.days
            .filter(|d| Self::PERIODS.contains(d))
            .unwrap_or(30)
    }

    /// Whether any cluster filter is set (then fleet-level findings are left out).
    pub fn narrows(&self) -> bool {
        self.provider.is_some() || self.environment.is_some() || self.cluster.is_some()
    }
}

/// The values the filter form offers: only what the viewer may see.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterOptions {
    /// Providers of the visible clusters.
    pub providers: Vec<String>,
    /// Environments of the visible clusters.
    pub environments: Vec<String>,
    /// Names of the visible clusters.
    pub clusters: Vec<String>,
}

/// The overview of the selected clusters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// The filter as applied (unknown values dropped).
    pub filter: OverviewFilter,
    /// What the filter form offers.
    pub options: FilterOptions,
    /// Whether fleet-level findings (no cluster) are counted.
    pub includes_fleet_level: bool,
    /// The newest day of the daily rollup (today once the rollup ran).
    pub as_of: Option<NaiveDate>,
    /// The SLA policy the numbers were computed with.
    pub policy: SlaPolicy,
    /// The posture score and what it is made of.
    pub posture: Posture,
    /// Open findings today, by severity.
    pub open: SeverityCounts,
    /// Open findings 7 days before `as_of`, by severity.
    pub open_7d_ago: SeverityCounts,
    /// Open findings 30 days before `as_of`, by severity.
    pub open_30d_ago: SeverityCounts,
    /// Open findings by kind: today, 7 and 30 days before.
    pub by_kind: Vec<KindCounts>,
    /// Open findings per day for the last 90 days, by severity (oldest first).
    pub trend: Vec<TrendDay>,
    /// New and fixed findings per week (weeks start on Monday; oldest first; 13 weeks).
    pub weekly: Vec<WeekFlow>,
    /// Open findings past their SLA due date, by severity.
    pub overdue: SeverityCounts,
    /// Mean time to remediate per severity over the period (findings fixed in it).
    pub mttr: Vec<Mttr>,
    /// The ten riskiest open findings.
    pub top_risks: Vec<TopRisk>,
    /// The clusters with the most risk (sum of open findings' risk scores), worst first.
    pub worst_clusters: Vec<ClusterRisk>,
    /// The workloads with the most risk, worst first.
    pub worst_workloads: Vec<WorkloadRisk>,
    /// Each cluster × source with its last report.
    pub coverage: Vec<CoverageRow>,
}

/// The posture score: 0–100, higher is better.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Posture {
    /// The score, 0–100.
    pub score: i32,
    /// Severity-weighted share of open findings within their SLA, 0–1.
    pub within_sla: f64,
    /// Share of cluster scanners that reported in time, 0–1.
    pub coverage: f64,
}

impl Posture {
    /// The weight of a severity in the score.
    pub fn weight(severity: Severity) -> f64 {
        match severity {
            Severity::Critical => 10.0,
            Severity::High => 5.0,
            Severity::Medium => 2.0,
            Severity::Low => 1.0,
            Severity::Unknown => 1.0,
        }
    }

    /// The formula, in the one sentence the page and the README show.
    pub const FORMULA: &'static str = "Posture = 100 × the share of open findings still within \
        their SLA, weighted by severity (critical 10, high 5, medium 2, low and unknown 1), × \
        the share of scanners that reported within the staleness window.";

    /// The score of `open` findings of which `overdue` are past their SLA, with `fresh` of
    /// `sources` scanners reporting in time. No open finding means fully within SLA; no scanner
    /// means nothing to be stale.
    pub fn compute(
        open: &SeverityCounts,
        overdue: &SeverityCounts,
        fresh: usize,
        sources: usize,
    ) -> Posture {
        let weighted = |counts: &SeverityCounts| -> f64 {
            Severity::WORST_FIRST
                .into_iter()
                .map(|s| Self::weight(s) * counts.get(s) as f64)
                .sum()
        };
        let (open_w, overdue_w) = (weighted(open), weighted(overdue));
        let within_sla = if open_w > 0.0 {
            (1.0 - overdue_w / open_w).clamp(0.0, 1.0)
        } else {
            1.0
        };
        let coverage = if sources > 0 {
            fresh as f64 / sources as f64
        } else {
            1.0
        };
        Posture {
            score: (100.0 * within_sla * coverage).round() as i32,
            within_sla,
            coverage,
        }
    }
}

/// Open findings of one kind today, 7 and 30 days before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCounts {
    /// vulnerability, misconfiguration, secret, …
    pub kind: String,
    /// Open today.
    pub now: i64,
    /// Open 7 days before.
    pub d7: i64,
    /// Open 30 days before.
    pub d30: i64,
}

/// Open findings on one day, by severity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrendDay {
    /// The day (UTC).
    pub day: NaiveDate,
    /// Open at its end.
    pub open: SeverityCounts,
    /// Open past their SLA at its end (all severities).
    pub overdue: i64,
}

/// New and fixed findings in one week.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeekFlow {
    /// The Monday the week starts on.
    pub week: NaiveDate,
    /// Findings first seen in it.
    pub new: i64,
    /// Findings fixed in it.
    pub fixed: i64,
}

/// Mean time to remediate for one severity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mttr {
    /// The severity.
    pub severity: Severity,
    /// Findings fixed in the period.
    pub fixed: i64,
    /// Their mean time from (re)opening to fix, in days; `None` when none was fixed.
    pub days: Option<f64>,
    /// The SLA for this severity, in days.
    pub sla_days: i32,
}

/// One of the riskiest open findings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopRisk {
    /// The finding's cluster (0: fleet-level); with `id`, the finding's key.
    pub cluster_id: i64,
    /// The finding (within its cluster).
    pub id: i64,
    /// Its cluster's name; `None` for a fleet-level finding.
    pub cluster: Option<String>,
    /// Risk 0–100.
    pub risk: i16,
    /// Severity.
    pub severity: Severity,
    /// The title.
    pub title: String,
    /// The vulnerability, for vulnerabilities.
    pub vulnerability: Option<String>,
    /// Where: namespace/workload, image or resource.
    pub place: Option<String>,
    /// Its strongest factors beyond severity, in words ("KEV", "exposed", "fix available").
    pub factors: Vec<String>,
}

/// The words for a stored risk factor, as the overview lists them.
pub fn factor_words(factor: &str, points: f64) -> Option<&'static str> {
    Some(match factor {
        "kev" => "KEV",
        "epss" => "likely exploited (EPSS)",
        "exposure" => "exposed",
        "fix" => "fix available",
        "runtime" => "runtime activity",
        "environment" if points >= 10.0 => "prod",
        "environment" if points > 0.0 => "staging",
        "criticality" if points > 0.0 => "critical cluster",
        "privilege" => "privileged",
        _ => return None,
    })
}

/// One cluster's risk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterRisk {
    /// Name; "(fleet-level)" is never used: fleet-level findings are listed apart.
    pub name: String,
    /// Provider.
    pub provider: String,
    /// Environment.
    pub environment: String,
    /// Open findings.
    pub open: i64,
    /// Open critical findings.
    pub critical: i64,
    /// Open high findings.
    pub high: i64,
    /// Sum of open findings' risk scores.
    pub risk_sum: i64,
    /// The highest risk score.
    pub risk_max: i16,
}

/// One workload's risk (its own findings and those of the images it runs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadRisk {
    /// The cluster's name.
    pub cluster: String,
    /// The namespace.
    pub namespace: String,
    /// Deployment, DaemonSet, …
    pub kind: String,
    /// The workload's name.
    pub name: String,
    /// Open findings.
    pub open: i64,
    /// Open critical findings.
    pub critical: i64,
    /// Sum of risk scores.
    pub risk_sum: i64,
    /// The highest risk score.
    pub risk_max: i16,
}

/// One cluster × scanner and when it last reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageRow {
    /// The cluster; `None` for a source not bound to a cluster (CI).
    pub cluster: Option<String>,
    /// The source (scanner install); `None` when the cluster has none.
    pub source: Option<String>,
    /// Its newest report.
    pub last_report_at: Option<DateTime<Utc>>,
    /// No report within the staleness window (or none ever).
    pub stale: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(Severity, i64)]) -> SeverityCounts {
        pairs.iter().copied().collect()
    }

    #[test]
    fn the_score_weighs_overdue_findings_by_severity_and_coverage() {
        let open = counts(&[(Severity::Critical, 10), (Severity::Low, 100)]);
        // 10 critical (weight 100) + 100 low (weight 100): 200; 5 critical overdue: 50
        let overdue = counts(&[(Severity::Critical, 5)]);
        let p = Posture::compute(&open, &overdue, 3, 4);
        assert!((p.within_sla - 0.75).abs() < 1e-9);
        assert!((p.coverage - 0.75).abs() < 1e-9);
        assert_eq!(p.score, 56); // 100 × 0.75 × 0.75 = 56.25
    }

    #[test]
    fn nothing_open_and_no_scanner_is_a_perfect_score() {
        let none = SeverityCounts::default();
        assert_eq!(Posture::compute(&none, &none, 0, 0).score, 100);
        let open = counts(&[(Severity::High, 2)]);
        assert_eq!(Posture::compute(&open, &open, 1, 1).score, 0);
        assert_eq!(Posture::compute(&open, &none, 0, 2).score, 0);
    }

    #[test]
    fn the_period_is_one_of_three() {
        let mut f = OverviewFilter::default();
        assert_eq!(f.period(), 30);
        f.days = Some(90);
        assert_eq!(f.period(), 90);
        f.days = Some(12);
        assert_eq!(f.period(), 30);
    }

    #[test]
    fn factors_read_as_words() {
        assert_eq!(factor_words("kev", 20.0), Some("KEV"));
        assert_eq!(factor_words("environment", 10.0), Some("prod"));
        assert_eq!(factor_words("environment", 0.0), None);
        assert_eq!(factor_words("severity", 39.0), None);
    }
}
