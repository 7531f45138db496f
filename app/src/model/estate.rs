//! What the estate page (`/estate`), the image page (`/images/{id}`) and the "where is this
//! CVE running?" answer show: the estate as provider → cluster → namespace → workload → image
//! with open findings and risk at every level, one image with its packages, and the places a
//! vulnerability runs. Plain data and the links each level makes into the findings explorer.
//!
//! What does not belong here: how the numbers are counted (the server's `db::estate_view`),
//! the explorer's own filter (`ListFilter`, in `lists.rs`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ListFilter, SeverityCounts};

/// Which part of the estate to show: everything (providers and clusters), one cluster (its
/// namespaces, their workloads and images), or one namespace of a cluster (all its workloads).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstateFilter {
    /// A cluster, by name.
    #[serde(default)]
    pub cluster: Option<String>,
    /// A namespace of that cluster, by name (ignored without a cluster).
    #[serde(default)]
    pub namespace: Option<String>,
}

/// Open findings of one level of the estate: how many of each severity, the highest risk and
/// the sum of the risk scores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskTotals {
    /// Open findings by severity.
    pub counts: SeverityCounts,
    /// The highest risk score among them (0 when none is scored).
    pub risk_max: i16,
    /// The sum of their risk scores.
    pub risk_sum: i64,
}

impl RiskTotals {
    /// Open findings in all.
    pub fn open(&self) -> i64 {
        self.counts.total()
    }

    /// Adds another level's totals into this one.
    pub fn absorb(&mut self, other: &RiskTotals) {
        for severity in super::Severity::WORST_FIRST {
            self.counts.add(severity, other.counts.get(severity));
        }
        self.risk_max = self.risk_max.max(other.risk_max);
        self.risk_sum += other.risk_sum;
    }
}

/// The estate page's data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Estate {
    /// Every provider with its clusters, most total risk first (the top level).
    pub providers: Vec<ProviderNode>,
    /// The cluster drilled into, when the filter names one.
    pub cluster: Option<ClusterDetail>,
}

/// One provider and its clusters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderNode {
    /// `aws`, `gcp`, `azure`, `onprem`, `other`.
    pub name: String,
    /// The sum over its clusters.
    pub totals: RiskTotals,
    /// Its clusters, most total risk first.
    pub clusters: Vec<ClusterNode>,
}

impl ProviderNode {
    /// The explorer filtered to this provider.
    pub fn filter(&self) -> ListFilter {
        ListFilter::default().with("provider", Some(&self.name))
    }
}

/// One cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterNode {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its provider.
    pub provider: String,
    /// prod, staging, dev.
    pub environment: String,
    /// Its open findings.
    pub totals: RiskTotals,
}

impl ClusterNode {
    /// The explorer filtered to this cluster.
    pub fn filter(&self) -> ListFilter {
        ListFilter::default().with("cluster", Some(&self.name))
    }

    /// This cluster's page of the estate.
    pub fn href(&self) -> String {
        estate_href(Some(&self.name), None)
    }
}

/// One cluster drilled into.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterDetail {
    /// The cluster, with the totals of all its open findings.
    pub cluster: ClusterNode,
    /// The namespace shown alone, when the filter names one.
    pub namespace: Option<String>,
    /// Its namespaces (only the named one when the filter names one), most total risk first.
    pub namespaces: Vec<NamespaceNode>,
    /// Open findings of the cluster in no namespace (images not placed on a workload, nodes,
    /// cluster-wide resources); not shown when one namespace is.
    pub outside_namespaces: RiskTotals,
}

/// One namespace and its workloads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceNode {
    /// Its cluster's name.
    pub cluster: String,
    /// Its name.
    pub name: String,
    /// Its open findings.
    pub totals: RiskTotals,
    /// Its workloads, most total risk first, at most [`NamespaceNode::WORKLOAD_LIMIT`] unless it
    /// is shown alone.
    pub workloads: Vec<WorkloadNode>,
    /// How many workloads it has in all.
    pub workload_count: i64,
}

impl NamespaceNode {
    /// The most workloads listed per namespace on a cluster's page.
    pub const WORKLOAD_LIMIT: usize = 25;
    /// The most workloads listed on one namespace's page.
    pub const NAMESPACE_PAGE_LIMIT: usize = 2000;

    /// The explorer filtered to this namespace of `cluster`.
    pub fn filter(&self, cluster: &str) -> ListFilter {
        ListFilter::default()
            .with("cluster", Some(cluster))
            .with("namespace", Some(&self.name))
    }
}

/// One workload and the images it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadNode {
    /// Its cluster.
    pub cluster_id: i64,
    /// Its id within the cluster.
    pub id: i64,
    /// Deployment, StatefulSet, …
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its own open findings (those the explorer's workload filter selects).
    pub totals: RiskTotals,
    /// The images its containers run, with the open findings of each in this cluster.
    pub images: Vec<ImageNode>,
}

impl WorkloadNode {
    /// The explorer filtered to this workload.
    pub fn filter(&self) -> ListFilter {
        let key = format!("{}:{}", self.cluster_id, self.id);
        ListFilter::default().with("workload", Some(&key))
    }
}

/// One image as the estate shows it under a workload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageNode {
    /// Its id.
    pub id: i64,
    /// `repository:tag`.
    pub name: String,
    /// Its open findings stored in the workload's cluster.
    pub totals: RiskTotals,
}

impl ImageNode {
    /// The explorer filtered to this image in `cluster`.
    pub fn filter(&self, cluster: &str) -> ListFilter {
        ListFilter::default()
            .with("cluster", Some(cluster))
            .with("image", Some(&self.id.to_string()))
    }

    /// The image's page.
    pub fn href(&self) -> String {
        image_href(self.id)
    }
}

/// The estate page at `cluster` (and `namespace`).
pub fn estate_href(cluster: Option<&str>, namespace: Option<&str>) -> String {
    let pairs = [
        ("cluster", cluster.map(str::to_owned)),
        ("namespace", namespace.map(str::to_owned)),
    ];
    let query: Vec<String> = pairs
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", encode(&v))))
        .collect();
    if query.is_empty() {
        "/estate".to_owned()
    } else {
        format!("/estate?{}", query.join("&"))
    }
}

/// An image's page.
pub fn image_href(id: i64) -> String {
    format!("/images/{id}")
}

/// Percent-encodes a query value (everything but unreserved characters).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The image page's data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDetail {
    /// Its id.
    pub id: i64,
    /// Registry (may be empty).
    pub registry: String,
    /// Repository.
    pub repository: String,
    /// Tag, when known.
    pub tag: Option<String>,
    /// Manifest digest, when known.
    pub digest: Option<String>,
    /// Operating system, when known ("debian 12.4").
    pub os: Option<String>,
    /// When it was first and last seen.
    pub first_seen: DateTime<Utc>,
    /// When it was last seen.
    pub last_seen: DateTime<Utc>,
    /// Its open findings the viewer may see.
    pub totals: RiskTotals,
    /// The clusters running it, by name, with how many of its workloads run it.
    pub clusters: Vec<ImageCluster>,
    /// The workloads running it, by cluster, namespace and name.
    pub workloads: Vec<ImageWorkload>,
    /// Its packages with open findings, the riskiest first.
    pub packages: Vec<PackageRow>,
    /// Open findings not on a package (secrets, misconfigurations).
    pub other_findings: i64,
    /// What upgrading would fix.
    pub upgrade: Upgrade,
}

impl ImageDetail {
    /// The most workloads listed.
    pub const WORKLOAD_LIMIT: i64 = 500;
    /// The most packages listed.
    pub const PACKAGE_LIMIT: usize = 1000;

    /// `repository:tag` (with the registry when there is one).
    pub fn name(&self) -> String {
        let mut name = if self.registry.is_empty() {
            self.repository.clone()
        } else {
            format!("{}/{}", self.registry, self.repository)
        };
        if let Some(tag) = &self.tag {
            name.push(':');
            name.push_str(tag);
        }
        name
    }

    /// The explorer filtered to this image.
    pub fn filter(&self) -> ListFilter {
        ListFilter::default().with("image", Some(&self.id.to_string()))
    }
}

/// A cluster running an image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageCluster {
    /// Its name.
    pub name: String,
    /// Its workloads running the image.
    pub workloads: i64,
}

/// A workload running an image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageWorkload {
    /// Its cluster's id.
    pub cluster_id: i64,
    /// Its cluster's name.
    pub cluster: String,
    /// Its id within the cluster.
    pub workload_id: i64,
    /// Its namespace.
    pub namespace: String,
    /// Deployment, …
    pub kind: String,
    /// Its name.
    pub name: String,
}

impl ImageWorkload {
    /// The explorer filtered to this workload.
    pub fn filter(&self) -> ListFilter {
        let key = format!("{}:{}", self.cluster_id, self.workload_id);
        ListFilter::default().with("workload", Some(&key))
    }

    /// `namespace/Kind/name`.
    pub fn label(&self) -> String {
        format!("{}/{}/{}", self.namespace, self.kind, self.name)
    }
}

/// One package of an image with its open findings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRow {
    /// The package name.
    pub name: String,
    /// The installed version.
    pub version: String,
    /// The fixed versions its findings name, distinct, comma-separated; `None` when none has
    /// one.
    pub fixed_versions: Option<String>,
    /// Its open findings by severity.
    pub counts: SeverityCounts,
    /// Their highest risk.
    pub risk_max: i16,
    /// Whether every one of its findings has a fixed version (upgrading fixes them all).
    pub fixable: bool,
}

/// "Upgrading these N packages fixes M findings".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upgrade {
    /// Packages whose findings all have a fixed version.
    pub packages: i64,
    /// The open findings of those packages (each resolved by its fixed version).
    pub findings: i64,
}

/// Where one vulnerability runs, within the viewer's clusters: from its open findings, the
/// clusters they are stored in, the images that carry it and the workloads running those images
/// (or carrying the finding themselves).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhereRunning {
    /// The vulnerability (as stored: upper case).
    pub vulnerability: String,
    /// Its open findings the viewer may see.
    pub findings: i64,
    /// The clusters, most findings first, at most [`WhereRunning::LIMIT`].
    pub clusters: Vec<WhereCluster>,
    /// How many clusters in all.
    pub cluster_count: i64,
    /// The workloads, at most [`WhereRunning::LIMIT`].
    pub workloads: Vec<WhereWorkload>,
    /// How many workloads in all.
    pub workload_count: i64,
    /// The images, riskiest first, at most [`WhereRunning::LIMIT`].
    pub images: Vec<WhereImage>,
    /// How many images in all.
    pub image_count: i64,
}

impl WhereRunning {
    /// The most entries listed of each kind.
    pub const LIMIT: usize = 50;
}

/// A cluster that carries a vulnerability.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhereCluster {
    /// Its name.
    pub name: String,
    /// Open findings of the vulnerability stored in it.
    pub findings: i64,
    /// Their highest risk.
    pub risk_max: i16,
}

/// A workload that carries a vulnerability.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhereWorkload {
    /// Its cluster's id.
    pub cluster_id: i64,
    /// Its cluster's name.
    pub cluster: String,
    /// Its id within the cluster.
    pub workload_id: i64,
    /// `namespace/Kind/name`.
    pub label: String,
}

/// An image that carries a vulnerability.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhereImage {
    /// Its id.
    pub id: i64,
    /// `repository:tag`.
    pub name: String,
    /// Open findings of the vulnerability on it.
    pub findings: i64,
    /// Their highest risk.
    pub risk_max: i16,
}

/// The CVE id `q` is, upper-cased, when it is exactly one (`CVE-2024-3094`, any case, blanks
/// around it ignored): the findings page then asks where it runs.
pub fn cve_id(q: &str) -> Option<String> {
    let q = q.trim();
    if !q.get(..4)?.eq_ignore_ascii_case("cve-") {
        return None;
    }
    let (year, number) = q.get(4..)?.split_once('-')?;
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    (year.len() == 4 && digits(year) && number.len() >= 4 && number.len() <= 12 && digits(number))
        .then(|| format!("CVE-{year}-{number}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_whole_cve_id_is_one() {
        assert_eq!(
            cve_id(" cve-2021-44228 ").as_deref(),
            Some("CVE-2021-44228")
        );
        assert_eq!(cve_id("CVE-2024-3094").as_deref(), Some("CVE-2024-3094"));
        assert_eq!(cve_id("CVE-2024-309"), None);
        assert_eq!(cve_id("CVE-24-30944"), None);
        assert_eq!(cve_id("openssl CVE-2024-3094"), None);
        assert_eq!(cve_id("CVE-2024-3094x"), None);
        assert_eq!(cve_id("GHSA-xxxx"), None);
        assert_eq!(cve_id("é"), None);
    }

    #[test]
    fn estate_links_carry_their_level() {
        assert_eq!(estate_href(None, None), "/estate");
        assert_eq!(
            estate_href(Some("prod eu"), Some("kube-system")),
            "/estate?cluster=prod%20eu&namespace=kube-system"
        );
        let image = ImageNode {
            id: 7,
            name: "a:1".to_owned(),
            totals: RiskTotals::default(),
        };
        let filter = image.filter("alpha");
        assert_eq!(filter.cluster.as_deref(), Some("alpha"));
        assert_eq!(filter.image.as_deref(), Some("7"));
    }
}
