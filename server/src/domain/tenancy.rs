//! The tenancy model: what a sender may change and where the data it sends lives. Every write
//! that a report, a VEX statement or a threat-intelligence import makes asks [`Writer`]; no
//! query decides this on its own. Who may *read* what is the viewer's cluster scope, applied
//! by every read query (`db::lists`, `db::overview`, `db::audit`) with the rule written in
//! `db` (module doc).
//!
//! The rules (also in the README, "Tenancy"):
//! - (a) A cluster-bound token writes only into its cluster: every finding of its reports
//!   (image findings included) lives in that cluster, its VEX statements reach only that
//!   cluster's findings, and risk it feeds (workloads, runtime signal) counts only there. So
//!   nothing it sends changes what users of another cluster see.
//! - (b) Nothing it sends makes another cluster's data visible: a report only ever adds to its
//!   own cluster. A fleet-level finding (an image scanned in CI, by an unbound token, with no
//!   cluster) shows in a cluster when that cluster's own inventory runs the image (a container
//!   in a workload of its reports), never because a report merely names the image.
//! - (c) Fleet-wide data changes only through unbound tokens with the permission, or
//!   administrators: threat intelligence needs an unbound token with the `intel` scope; the
//!   vulnerability catalogue is merged by unbound tokens, while a bound token only adds
//!   vulnerabilities the catalogue does not know yet; VEX from an unbound token reaches the
//!   fleet.
//! - (d) Every audit entry names the cluster it concerns or is fleet-level; users scoped to
//!   clusters see only their clusters' entries.
//!
//! A fleet-level finding is ranked on what it is (severity, CVSS, KEV, EPSS, a fix): where an
//! image runs belongs to each cluster, and one cluster's estate must not move the ranking that
//! another cluster's users see.

/// Who is writing: the cluster the sending token is bound to, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Writer {
    bound_to: Option<i64>,
}

/// How a report's vulnerability entries go into the shared catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatalogueWrite {
    /// Add new vulnerabilities and fill in what stored ones lack (fleet-level senders).
    Merge,
    /// Only add vulnerabilities the catalogue does not know; never change a stored one
    /// (cluster-bound senders).
    AddOnly,
}

impl Writer {
    /// A sender bound to `cluster_id`, or to none (fleet-level).
    pub fn new(bound_to: Option<i64>) -> Writer {
        Writer { bound_to }
    }

    /// The cluster a finding of a report attributed to `report_cluster` lives in (`0`: fleet
    /// level). A bound sender's findings always live in its cluster; a report that names a
    /// cluster keeps all its findings there; only a report without a cluster writes at fleet
    /// level.
    pub fn finding_cluster(&self, report_cluster: Option<i64>) -> i64 {
        self.bound_to.or(report_cluster).unwrap_or(0)
    }

    /// How the sender writes the vulnerability catalogue.
    pub fn catalogue(&self) -> CatalogueWrite {
        match self.bound_to {
            Some(_) => CatalogueWrite::AddOnly,
            None => CatalogueWrite::Merge,
        }
    }

    /// The cluster whose findings the sender's VEX statements reach; `None`: the whole fleet.
    pub fn vex_reach(&self) -> Option<i64> {
        self.bound_to
    }

    /// Whether the sender may change fleet-wide threat intelligence (KEV, EPSS), given that
    /// its token carries the `intel` scope.
    pub fn may_import_intel(&self) -> bool {
        self.bound_to.is_none()
    }

    /// Whether the sender is bound to a cluster.
    pub fn is_bound(&self) -> bool {
        self.bound_to.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_sender_writes_only_into_its_cluster() {
        let edge = Writer::new(Some(7));
        assert_eq!(edge.finding_cluster(None), 7);
        assert_eq!(
            edge.finding_cluster(Some(9)),
            7,
            "a named cluster never wins"
        );
        assert_eq!(edge.catalogue(), CatalogueWrite::AddOnly);
        assert_eq!(edge.vex_reach(), Some(7));
        assert!(!edge.may_import_intel());
    }

    #[test]
    fn an_unbound_sender_writes_where_the_report_says_or_at_fleet_level() {
        let ci = Writer::new(None);
        assert_eq!(ci.finding_cluster(None), 0);
        assert_eq!(ci.finding_cluster(Some(9)), 9);
        assert_eq!(ci.catalogue(), CatalogueWrite::Merge);
        assert_eq!(ci.vex_reach(), None);
        assert!(ci.may_import_intel());
    }
}
