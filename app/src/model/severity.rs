//! Severity as every scanner's words map onto it, and counts per severity.

use serde::{Deserialize, Serialize};

/// How bad a finding is, on the scale all scanners are mapped onto.
///
/// Stored as a `smallint` (0–4) so it sorts and aggregates cheaply.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The scanner gave no usable severity.
    #[default]
    Unknown = 0,
    /// Low.
    Low = 1,
    /// Medium (also "moderate").
    Medium = 2,
    /// High (also "important").
    High = 3,
    /// Critical.
    Critical = 4,
}

impl Severity {
    /// Every severity, worst first: the order in which the UI lists them.
    pub const WORST_FIRST: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Unknown,
    ];

    /// The database representation.
    pub fn as_i16(self) -> i16 {
        self as i16
    }

    /// From the database representation; anything out of range is `Unknown`.
    pub fn from_i16(value: i16) -> Severity {
        match value {
            4 => Severity::Critical,
            3 => Severity::High,
            2 => Severity::Medium,
            1 => Severity::Low,
            _ => Severity::Unknown,
        }
    }

    /// Reads a scanner's severity word ("CRITICAL", "Important", "moderate", "negligible", ...).
    /// Returns `None` for words that are not a severity at all.
    pub fn parse(word: &str) -> Option<Severity> {
        let word = word.trim();
        let eq = |w: &str| word.eq_ignore_ascii_case(w);
        if eq("critical") || eq("defcon1") {
            Some(Severity::Critical)
        } else if eq("high") || eq("important") || eq("error") {
            Some(Severity::High)
        } else if eq("medium") || eq("moderate") || eq("warning") {
            Some(Severity::Medium)
        } else if eq("low") || eq("negligible") || eq("note") || eq("info") || eq("informational") {
            Some(Severity::Low)
        } else if eq("unknown") || eq("none") || eq("unspecified") || eq("") {
            Some(Severity::Unknown)
        } else {
            None
        }
    }

    /// Label for people.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Critical => "Critical",
            Severity::High => "High",
            Severity::Medium => "Medium",
            Severity::Low => "Low",
            Severity::Unknown => "Unknown",
        }
    }

    /// Lowercase name, used in URLs and CSS classes.
    pub fn slug(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Unknown => "unknown",
        }
    }
}

/// The word is not a severity.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a severity")]
pub struct UnknownSeverity;

impl std::str::FromStr for Severity {
    type Err = UnknownSeverity;

    /// Reads a severity word as [`Severity::parse`] does (query strings use the slugs).
    fn from_str(word: &str) -> Result<Severity, UnknownSeverity> {
        Severity::parse(word).ok_or(UnknownSeverity)
    }
}

/// A number per severity; serialized as `{"critical": 1, "high": 0, "medium": 4, "low": 2,
/// "unknown": 0}` (the read API's shape).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Named", into = "Named")]
pub struct SeverityCounts {
    /// Indexed by `Severity as usize`.
    counts: [i64; 5],
}

impl SeverityCounts {
    /// The count for one severity.
    pub fn get(&self, severity: Severity) -> i64 {
        self.counts[severity as usize]
    }

    /// Adds `n` to one severity.
    pub fn add(&mut self, severity: Severity, n: i64) {
        self.counts[severity as usize] += n;
    }

    /// Sum over all severities.
    pub fn total(&self) -> i64 {
        self.counts.iter().sum()
    }
}

/// [`SeverityCounts`] as it travels: one named field per severity.
#[derive(Clone, Copy, Default, Serialize, Deserialize)]
#[serde(default)]
struct Named {
    critical: i64,
    high: i64,
    medium: i64,
    low: i64,
    unknown: i64,
}

impl From<Named> for SeverityCounts {
    fn from(n: Named) -> Self {
        SeverityCounts {
            counts: [n.unknown, n.low, n.medium, n.high, n.critical],
        }
    }
}

impl From<SeverityCounts> for Named {
    fn from(c: SeverityCounts) -> Self {
        let [unknown, low, medium, high, critical] = c.counts;
        Named {
            critical,
            high,
            medium,
            low,
            unknown,
        }
    }
}

impl FromIterator<(Severity, i64)> for SeverityCounts {
    fn from_iter<I: IntoIterator<Item = (Severity, i64)>>(iter: I) -> Self {
        let mut counts = SeverityCounts::default();
        for (severity, n) in iter {
            counts.add(severity, n);
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanner_words_map_onto_the_scale() {
        assert_eq!(Severity::parse("CRITICAL"), Some(Severity::Critical));
        assert_eq!(Severity::parse("Important"), Some(Severity::High));
        assert_eq!(Severity::parse("moderate"), Some(Severity::Medium));
        assert_eq!(Severity::parse("Negligible"), Some(Severity::Low));
        assert_eq!(Severity::parse("UNKNOWN"), Some(Severity::Unknown));
        assert_eq!(Severity::parse("purple"), None);
    }

    #[test]
    fn database_representation_round_trips() {
        for severity in Severity::WORST_FIRST {
            assert_eq!(Severity::from_i16(severity.as_i16()), severity);
        }
        assert_eq!(Severity::from_i16(42), Severity::Unknown);
    }

    #[test]
    fn counts_add_up() {
        let counts: SeverityCounts = [(Severity::High, 3), (Severity::Low, 2), (Severity::High, 1)]
            .into_iter()
            .collect();
        assert_eq!(counts.get(Severity::High), 4);
        assert_eq!(counts.get(Severity::Critical), 0);
        assert_eq!(counts.total(), 6);
    }
}
