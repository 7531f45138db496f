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
    /// The explorer's other filters (findings only), each one value or none; see
    /// [`FindingsQuery`](super::FindingsQuery) for the words each takes.
    #[serde(default)]
    pub kind: Option<String>,
    /// `open` (open and reopened, the default), `reopened`, `accepted`, `false_positive`,
    /// `suppressed_by_vex`, `fixed`.
    #[serde(default)]
    pub status: Option<String>,
    /// `yes`: in CISA KEV; `no`: not.
    #[serde(default)]
    pub kev: Option<String>,
    /// `yes`: a fixed version exists; `no`: none.
    #[serde(default)]
    pub fix: Option<String>,
    /// `internet`: the workload is reachable from the internet; `internal`: not known to be.
    #[serde(default)]
    pub exposure: Option<String>,
    /// Only clusters of this provider.
    #[serde(default)]
    pub provider: Option<String>,
    /// Only clusters of this environment.
    #[serde(default)]
    pub environment: Option<String>,
    /// Only this namespace (by name, in every selected cluster).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Only findings this source (scanner install, by name) observed.
    #[serde(default)]
    pub source: Option<String>,
    /// Only this vulnerability (exact id).
    #[serde(default)]
    pub vulnerability: Option<String>,
    /// Only this image (its id).
    #[serde(default)]
    pub image: Option<String>,
    /// Only this workload (`<cluster id>:<workload id>`).
    #[serde(default)]
    pub workload: Option<String>,
    /// `risk` (the default), `severity`, `first_seen`, `last_seen`.
    #[serde(default)]
    pub sort: Option<String>,
    /// `vulnerability`, `image`, `workload`, `cluster`: groups instead of rows.
    #[serde(default)]
    pub group: Option<String>,
    /// The keyset position after which this page starts (from the previous page's `next`).
    #[serde(default)]
    pub after: Option<String>,
}

impl ListFilter {
    /// Its fields as query-string pairs, in a fixed order (absent and empty ones are `None`).
    pub fn pairs(&self) -> Vec<(&'static str, Option<String>)> {
        let v = |x: &Option<String>| x.clone().filter(|s| !s.trim().is_empty());
        vec![
            ("q", v(&self.q)),
            ("severity", v(&self.severity)),
            ("kind", v(&self.kind)),
            ("status", v(&self.status)),
            ("kev", v(&self.kev)),
            ("fix", v(&self.fix)),
            ("exposure", v(&self.exposure)),
            ("provider", v(&self.provider)),
            ("environment", v(&self.environment)),
            ("cluster", v(&self.cluster)),
            ("namespace", v(&self.namespace)),
            ("source", v(&self.source)),
            ("vulnerability", v(&self.vulnerability)),
            ("image", v(&self.image)),
            ("workload", v(&self.workload)),
            ("sla", v(&self.sla)),
            ("sort", v(&self.sort)),
            ("group", v(&self.group)),
            ("after", v(&self.after)),
        ]
    }

    /// The same filter with `key` set to `value` (`None` removes it). Any change other than
    /// the page itself starts again at the first page.
    pub fn with(&self, key: &str, value: Option<&str>) -> ListFilter {
        let mut next = self.clone();
        let value = value.map(str::to_owned);
        let slot = match key {
            "q" => &mut next.q,
            "severity" => &mut next.severity,
            "kind" => &mut next.kind,
            "status" => &mut next.status,
            "kev" => &mut next.kev,
            "fix" => &mut next.fix,
            "exposure" => &mut next.exposure,
            "provider" => &mut next.provider,
            "environment" => &mut next.environment,
            "cluster" => &mut next.cluster,
            "namespace" => &mut next.namespace,
            "source" => &mut next.source,
            "vulnerability" => &mut next.vulnerability,
            "image" => &mut next.image,
            "workload" => &mut next.workload,
            "sla" => &mut next.sla,
            "sort" => &mut next.sort,
            "group" => &mut next.group,
            "after" => &mut next.after,
            _ => return next,
        };
        *slot = value;
        if key != "after" {
            next.after = None;
        }
        next
    }

    /// The filters that narrow the set (not the order, grouping or page), as pairs.
    pub fn narrowing(&self) -> Vec<(&'static str, String)> {
        self.pairs()
            .into_iter()
            .filter(|(k, _)| !matches!(*k, "sort" | "group" | "after"))
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect()
    }
}

/// One open finding as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingRow {
    /// The cluster it is stored in (0: fleet-level, from CI); with `id`, its key.
    pub cluster_id: i64,
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
    /// When it was first seen.
    pub first_seen: DateTime<Utc>,
    /// When a scanner last reported it (none: no scope sees it any more).
    #[serde(default)]
    pub last_seen: Option<DateTime<Utc>>,
}

impl FindingRow {
    /// The finding's own page.
    pub fn href(&self) -> String {
        format!("/findings/{}/{}", self.cluster_id, self.id)
    }
}

/// One page of the findings explorer: rows (or groups), how many match, the facets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingList {
    /// The rows shown (empty when grouped).
    pub rows: Vec<FindingRow>,
    /// How many findings match in all.
    pub total: i64,
    /// Every facet with its counts under the other filters (a facet's own choice does not
    /// narrow its own counts, so the alternatives stay visible).
    pub facets: Vec<Facet>,
    /// The groups, riskiest first, when the filter groups.
    pub groups: Vec<FindingGroup>,
    /// The keyset position of the next page (`after=`), when there is one.
    pub next: Option<String>,
    /// Whether the viewer may take triage decisions (executives read only).
    pub can_decide: bool,
}

/// One facet: a filter and how many findings each of its values would select.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facet {
    /// The filter's name in the URL (`severity`, `kev`, …).
    pub key: String,
    /// Its heading.
    pub label: String,
    /// Its values, in their natural order (severities worst first) or most findings first.
    pub values: Vec<FacetValue>,
}

/// One value of a facet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetValue {
    /// As it goes in the URL.
    pub value: String,
    /// As it reads.
    pub label: String,
    /// Findings it selects together with the other filters; `None` when it was not counted
    /// (the statuses other than the chosen one under a text search).
    pub count: Option<i64>,
    /// Whether it is the filter in force.
    pub selected: bool,
}

/// One group of findings (by vulnerability, image, workload or cluster).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingGroup {
    /// The filter that narrows the list to this group (`image`, …).
    pub filter: String,
    /// Its value.
    pub value: String,
    /// What the group is, as it reads.
    pub label: String,
    /// Findings in it that match the filters.
    pub count: i64,
    /// Its highest risk.
    pub risk: Option<i16>,
    /// Its riskiest few findings.
    pub top: Vec<FindingRow>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_starts_again_at_the_first_page_and_keeps_the_rest() {
        let filter = ListFilter {
            severity: Some("critical".to_owned()),
            q: Some("  ".to_owned()),
            after: Some("80.4.2.9".to_owned()),
            ..ListFilter::default()
        };
        let next = filter.with("kev", Some("yes"));
        assert_eq!(next.kev.as_deref(), Some("yes"));
        assert_eq!(next.severity.as_deref(), Some("critical"));
        assert_eq!(next.after, None);
        assert_eq!(
            filter.with("after", Some("1.2.3.4")).after.as_deref(),
            Some("1.2.3.4")
        );
        assert_eq!(filter.with("severity", None).severity, None);
        // an empty value is no filter
        assert_eq!(
            filter.narrowing(),
            vec![("severity", "critical".to_owned())]
        );
    }
}
