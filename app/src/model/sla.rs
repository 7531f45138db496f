//! The SLA policy: how many days a finding of each severity may stay open, and when a scanner
//! counts as stale. Stored as one setting (`setting.key = 'sla.policy'`), edited on
//! `/settings/sla` by administrators and managers.

use serde::{Deserialize, Serialize};

use super::Severity;

/// Days to fix per severity, and the coverage staleness threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaPolicy {
    /// Days a critical finding (and any finding whose vulnerability is in CISA KEV) may stay
    /// open.
    pub critical_days: i32,
    /// Days for a high finding.
    pub high_days: i32,
    /// Days for a medium finding.
    pub medium_days: i32,
    /// Days for a low finding; findings of unknown severity get the same clock.
    pub low_days: i32,
    /// A cluster's scanner with no report for this many hours is stale.
    pub stale_after_hours: i32,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        SlaPolicy {
            critical_days: 7,
            high_days: 30,
            medium_days: 90,
            low_days: 180,
            stale_after_hours: 48,
        }
    }
}

impl SlaPolicy {
    /// The largest value a field takes (ten years of days, a year of hours).
    pub const MAX_DAYS: i32 = 3650;
    /// The largest staleness threshold, in hours.
    pub const MAX_HOURS: i32 = 8760;

    /// Days to fix a finding of `severity`; a KEV finding gets the critical clock.
    pub fn days_for(&self, severity: Severity, kev: bool) -> i32 {
        if kev {
            return self.critical_days;
        }
        match severity {
            Severity::Critical => self.critical_days,
            Severity::High => self.high_days,
            Severity::Medium => self.medium_days,
            Severity::Low | Severity::Unknown => self.low_days,
        }
    }

    /// The days per severity as the database's severity numbers index them (0 = unknown … 4 =
    /// critical), for SQL that computes due dates set-based.
    pub fn days_by_severity(&self) -> [i32; 5] {
        [
            self.low_days,
            self.low_days,
            self.medium_days,
            self.high_days,
            self.critical_days,
        ]
    }

    /// The first problem with this policy, in words for the form, or `None` when it is valid:
    /// every clock between 1 and [`Self::MAX_DAYS`], stricter severities never slower.
    pub fn problem(&self) -> Option<String> {
        let fields = [
            ("Critical", self.critical_days),
            ("High", self.high_days),
            ("Medium", self.medium_days),
            ("Low", self.low_days),
        ];
        for (name, days) in fields {
            if !(1..=Self::MAX_DAYS).contains(&days) {
                return Some(format!(
                    "{name}: days to fix must be between 1 and {}.",
                    Self::MAX_DAYS
                ));
            }
        }
        for pair in fields.windows(2) {
            if pair[0].1 > pair[1].1 {
                return Some(format!(
                    "{} findings cannot get more days ({}) than {} findings ({}).",
                    pair[0].0, pair[0].1, pair[1].0, pair[1].1
                ));
            }
        }
        if !(1..=Self::MAX_HOURS).contains(&self.stale_after_hours) {
            return Some(format!(
                "Stale after must be between 1 and {} hours.",
                Self::MAX_HOURS
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kev_findings_get_the_critical_clock() {
        let policy = SlaPolicy::default();
        assert_eq!(policy.days_for(Severity::Low, true), 7);
        assert_eq!(policy.days_for(Severity::Low, false), 180);
        assert_eq!(policy.days_for(Severity::Unknown, false), 180);
        assert_eq!(policy.days_by_severity(), [180, 180, 90, 30, 7]);
    }

    #[test]
    fn a_policy_is_checked_field_by_field() {
        assert_eq!(SlaPolicy::default().problem(), None);
        let zero = SlaPolicy {
            high_days: 0,
            ..SlaPolicy::default()
        };
        assert!(zero.problem().is_some_and(|p| p.starts_with("High")));
        let inverted = SlaPolicy {
            critical_days: 40,
            ..SlaPolicy::default()
        };
        assert!(inverted.problem().is_some_and(|p| p.contains("Critical")));
        let stale = SlaPolicy {
            stale_after_hours: 0,
            ..SlaPolicy::default()
        };
        assert!(stale.problem().is_some());
    }
}
