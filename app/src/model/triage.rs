//! Triage decisions as the forms send them and the approval queue shows them: the approval
//! policy (`setting.key = 'triage.approval'`), what a decision does ([`DecisionAction`]), which
//! findings it concerns ([`DecisionTarget`]), and the parsing of each form field into those
//! types, with the words a refusal shows. Plain data: who may decide and how a decision is
//! stored belong to the server's store.

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{ListFilter, Severity};

/// The most findings a selection may name (larger sets go through "all matching").
pub const MAX_SELECTION: usize = 1000;
/// The longest justification of an acceptance, false positive or reopening.
pub const MAX_JUSTIFICATION: usize = 2000;
/// The longest comment.
pub const MAX_COMMENT: usize = 4000;
/// The longest note a manager leaves when approving or rejecting.
pub const MAX_REVIEW_NOTE: usize = 2000;

/// For which severities a risk acceptance needs a manager's approval. A finding whose
/// vulnerability is in CISA KEV counts as critical.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApprovalPolicy {
    /// Critical findings (and KEV findings).
    pub critical: bool,
    /// High findings.
    pub high: bool,
    /// Medium findings.
    pub medium: bool,
    /// Low findings.
    pub low: bool,
    /// Findings of unknown severity.
    pub unknown: bool,
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        ApprovalPolicy {
            critical: true,
            high: true,
            medium: false,
            low: false,
            unknown: false,
        }
    }
}

impl ApprovalPolicy {
    /// Whether accepting a finding of `severity` (in KEV or not) needs approval.
    pub fn requires(&self, severity: Severity, kev: bool) -> bool {
        if kev {
            return self.critical;
        }
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Unknown => self.unknown,
        }
    }

    /// Whether approval is needed, per stored severity number (0 unknown … 4 critical), for
    /// SQL that decides set-based; KEV findings take index 4.
    pub fn by_severity(&self) -> [bool; 5] {
        [
            self.unknown,
            self.low,
            self.medium,
            self.high,
            self.critical,
        ]
    }

    /// The severities that need approval, worst first.
    pub fn severities(&self) -> Vec<Severity> {
        Severity::WORST_FIRST
            .into_iter()
            .filter(|s| self.requires(*s, false))
            .collect()
    }
}

/// One finding: its cluster (`0` for fleet-level) and its id within the cluster.
pub type FindingKey = (i64, i64);

/// What a decision does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DecisionAction {
    /// Accept the risk until `expires` (through the end of that day, UTC).
    Accept {
        /// Why.
        justification: String,
        /// The last day the acceptance holds.
        expires: NaiveDate,
    },
    /// Not a real problem.
    FalsePositive {
        /// Why.
        justification: String,
    },
    /// Open again: revokes the decisions in force, pending acceptances included.
    Reopen {
        /// Why (may be empty).
        justification: String,
    },
    /// Give the finding an owner.
    Assign {
        /// The user who owns it from now on.
        assignee_id: i64,
    },
    /// A comment on the finding's history.
    Comment {
        /// The comment.
        text: String,
    },
}

impl DecisionAction {
    /// The audit action of this decision (`finding.accept`, …).
    pub fn audit_action(&self) -> &'static str {
        match self {
            DecisionAction::Accept { .. } => "finding.accept",
            DecisionAction::FalsePositive { .. } => "finding.false_positive",
            DecisionAction::Reopen { .. } => "finding.reopen",
            DecisionAction::Assign { .. } => "finding.assign",
            DecisionAction::Comment { .. } => "finding.comment",
        }
    }
}

impl DecisionAction {
    /// The first problem with this decision's fields on `today` (UTC), in words, or `None`:
    /// the same rules the form fields are parsed with ([`required_text`], [`parse_expiry`]).
    pub fn problem(&self, today: NaiveDate) -> Option<String> {
        let text = |field: &str, value: &str, max: usize| required_text(field, value, max).err();
        match self {
            DecisionAction::Accept {
                justification,
                expires,
            } => text("A justification", justification, MAX_JUSTIFICATION)
                .or_else(|| parse_expiry(&expires.to_string(), today).err()),
            DecisionAction::FalsePositive { justification } => {
                text("A justification", justification, MAX_JUSTIFICATION)
            }
            DecisionAction::Reopen { justification } => {
                optional_text("The justification", Some(justification), MAX_JUSTIFICATION).err()
            }
            DecisionAction::Assign { assignee_id } => {
                (*assignee_id <= 0).then(|| "Choose the user who owns the findings.".to_owned())
            }
            DecisionAction::Comment { text: comment } => text("A comment", comment, MAX_COMMENT),
        }
    }
}

/// Which findings a decision concerns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DecisionTarget {
    /// One finding: another cluster's is "not found".
    One(FindingKey),
    /// Findings picked one by one (at most [`MAX_SELECTION`]); a key outside the viewer's
    /// scope refuses the whole request.
    Selection(Vec<FindingKey>),
    /// Every open finding the findings list's filter matches, which the page showed as
    /// `count`: when the count differs now, nothing is decided.
    AllMatching {
        /// The list filter.
        filter: Box<ListFilter>,
        /// How many the page said match.
        count: i64,
    },
}

/// What a decision request did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionOutcome {
    /// Findings the decision was recorded for.
    pub recorded: u64,
    /// Findings whose status changed.
    pub changed: u64,
    /// Acceptances now waiting for a manager's approval.
    pub pending: u64,
    /// Fleet-level findings of "all matching" left out: only viewers of every cluster decide
    /// on them.
    pub skipped_fleet_level: u64,
}

/// A pending acceptance as the approval queue lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingApproval {
    /// The decision's cluster (the finding's).
    pub cluster_id: i64,
    /// The decision's id within the cluster.
    pub decision_id: i64,
    /// The finding's id within the cluster.
    pub finding_id: i64,
    /// The finding's title.
    pub title: String,
    /// The vulnerability, for vulnerabilities.
    pub vulnerability: Option<String>,
    /// Its severity.
    pub severity: Severity,
    /// Whether its vulnerability is in CISA KEV.
    pub kev: bool,
    /// Its cluster's name (`None`: fleet-level).
    pub cluster: Option<String>,
    /// Who asked (e-mail address; `None` when the account is gone).
    pub requester: Option<String>,
    /// Whether the viewer is the requester (then they may not review it).
    pub own: bool,
    /// Why.
    pub justification: String,
    /// When the acceptance would end.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
}

/// A decision (`accept`, `false_positive`, `reopen`, `assign`, `comment`) from its form
/// fields: `text` is the justification, or the comment's text; `expires` the acceptance's last
/// day; `assignee` the new owner's user id. Every decision function reads its fields through
/// this, so they refuse the same way.
pub fn decision_action(
    kind: &str,
    text: Option<&str>,
    expires: Option<&str>,
    assignee: Option<&str>,
    today: NaiveDate,
) -> Result<DecisionAction, String> {
    let text = text.unwrap_or_default();
    Ok(match kind.trim() {
        "assign" => DecisionAction::Assign {
            assignee_id: super::parse_assignee(assignee)?,
        },
        "accept" => DecisionAction::Accept {
            justification: required_text("A justification", text, MAX_JUSTIFICATION)?,
            expires: parse_expiry(expires.unwrap_or_default(), today)?,
        },
        "false_positive" => DecisionAction::FalsePositive {
            justification: required_text("A justification", text, MAX_JUSTIFICATION)?,
        },
        "reopen" => DecisionAction::Reopen {
            justification: optional_text("The justification", Some(text), MAX_JUSTIFICATION)?,
        },
        "comment" => DecisionAction::Comment {
            text: required_text("A comment", text, MAX_COMMENT)?,
        },
        other => {
            return Err(format!(
                "'{}' is not a decision: choose accept, false_positive, reopen, assign or comment",
                other.chars().take(40).collect::<String>()
            ));
        }
    })
}

/// The text of a required field, trimmed: 1 to `max` characters, else the problem in words.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("{field} is required."));
    }
    if value.chars().count() > max {
        return Err(format!("{field} may be at most {max} characters long."));
    }
    Ok(value.to_owned())
}

/// An optional text, trimmed: at most `max` characters.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<String, String> {
    let value = value.unwrap_or_default().trim();
    if value.chars().count() > max {
        return Err(format!("{field} may be at most {max} characters long."));
    }
    Ok(value.to_owned())
}

/// The expiry of an acceptance (`YYYY-MM-DD`, the last day it holds): after `today`, at most
/// two years ahead.
pub fn parse_expiry(value: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("An expiry date is required for a risk acceptance.".to_owned());
    }
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        format!(
            "'{}' is not a date (YYYY-MM-DD).",
            value.chars().take(40).collect::<String>()
        )
    })?;
    if date <= today {
        return Err("The expiry must be a date in the future.".to_owned());
    }
    let limit = today.checked_add_months(Months::new(24)).unwrap_or(today);
    if date > limit {
        return Err(format!(
            "The expiry may be at most two years ahead (until {limit})."
        ));
    }
    Ok(date)
}

/// The finding keys of a form: each field holds one or more `cluster:finding` pairs
/// separated by commas or spaces (`"12:345,12:346"`), from one text field or a repeated
/// checkbox (`keys[]=12:345&keys[]=12:346`). At least one, at most [`MAX_SELECTION`]
/// distinct keys; repeats count once. Order is kept.
pub fn parse_keys(fields: &[String]) -> Result<Vec<FindingKey>, String> {
    let mut keys: Vec<FindingKey> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for word in fields
        .iter()
        .flat_map(|f| f.split(|c: char| c == ',' || c.is_whitespace()))
        .filter(|w| !w.is_empty())
    {
        let key = word
            .split_once(':')
            .and_then(|(c, f)| Some((c.parse::<i64>().ok()?, f.parse::<i64>().ok()?)))
            .filter(|(c, f)| *c >= 0 && *f > 0)
            .ok_or_else(|| {
                format!(
                    "'{}' is not a finding (cluster:id, e.g. 12:345).",
                    word.chars().take(40).collect::<String>()
                )
            })?;
        if seen.insert(key) {
            keys.push(key);
        }
        if keys.len() > MAX_SELECTION {
            return Err(format!(
                "A selection may hold at most {MAX_SELECTION} findings; use \"all matching\" \
                 for more."
            ));
        }
    }
    if keys.is_empty() {
        return Err("Choose at least one finding.".to_owned());
    }
    Ok(keys)
}

/// The target of a decision form: "all matching" when `matching` (the count the page
/// showed) is given, else the keys (one key: one finding).
pub fn parse_target(
    keys: &[String],
    matching: Option<&str>,
    filter: ListFilter,
) -> Result<DecisionTarget, String> {
    match matching.map(str::trim).filter(|m| !m.is_empty()) {
        Some(count) => {
            let count = count
                .parse::<i64>()
                .ok()
                .filter(|c| *c >= 0)
                .ok_or_else(|| "The number of matching findings is not a count.".to_owned())?;
            Ok(DecisionTarget::AllMatching {
                filter: Box::new(filter),
                count,
            })
        }
        None => {
            let keys = parse_keys(keys)?;
            Ok(match keys.as_slice() {
                [one] => DecisionTarget::One(*one),
                _ => DecisionTarget::Selection(keys),
            })
        }
    }
}

/// Where a decision form returns to: a path on this site (as `next`), else `fallback`.
pub fn return_path(next: Option<&str>, fallback: &str) -> String {
    match next.map(str::trim) {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => fallback.to_owned(),
    }
}

/// `path` with `flash=<code>` added to its query string (replacing a flash it had).
pub fn with_flash(path: &str, code: &str) -> String {
    let (base, query) = path.split_once('?').unwrap_or((path, ""));
    let mut pairs: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("flash="))
        .collect();
    let flash = format!("flash={code}");
    pairs.push(&flash);
    format!("{base}?{}", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn the_default_policy_reserves_critical_and_high_and_kev_counts_as_critical() {
        let policy = ApprovalPolicy::default();
        assert!(policy.requires(Severity::Critical, false));
        assert!(policy.requires(Severity::High, false));
        assert!(!policy.requires(Severity::Medium, false));
        assert!(policy.requires(Severity::Low, true));
        assert_eq!(policy.by_severity(), [false, false, false, true, true]);
        let none = ApprovalPolicy {
            critical: false,
            high: false,
            ..policy
        };
        assert!(!none.requires(Severity::Low, true));
        assert!(none.severities().is_empty());
    }

    #[test]
    fn keys_read_from_commas_spaces_and_repeated_fields() {
        let fields = vec!["12:345, 12:346".to_owned(), "0:7 12:345".to_owned()];
        assert_eq!(parse_keys(&fields), Ok(vec![(12, 345), (12, 346), (0, 7)]));
        for bad in ["12", "12:x", "a:1", "12:-1", "-1:3", "12:0", "1:2:3"] {
            assert!(parse_keys(&[bad.to_owned()]).is_err(), "{bad}");
        }
        assert!(parse_keys(&[]).is_err());
        assert!(parse_keys(&[" , ".to_owned()]).is_err());
        let many: Vec<String> = (1..=1001).map(|i| format!("1:{i}")).collect();
        assert!(parse_keys(&many).is_err());
        assert!(parse_keys(&many[..1000]).is_ok());
    }

    #[test]
    fn one_key_is_one_finding_and_a_count_is_all_matching() {
        let filter = ListFilter::default();
        assert_eq!(
            parse_target(&["3:4".to_owned()], None, filter.clone()),
            Ok(DecisionTarget::One((3, 4)))
        );
        assert_eq!(
            parse_target(&["3:4,3:5".to_owned()], Some(" "), filter.clone()),
            Ok(DecisionTarget::Selection(vec![(3, 4), (3, 5)]))
        );
        assert_eq!(
            parse_target(&[], Some("20"), filter.clone()),
            Ok(DecisionTarget::AllMatching {
                filter: Box::new(filter.clone()),
                count: 20
            })
        );
        assert!(parse_target(&[], Some("-1"), filter.clone()).is_err());
        assert!(parse_target(&[], Some("many"), filter).is_err());
    }

    #[test]
    fn an_expiry_is_a_future_date_within_two_years() {
        let today = day("2026-12-08");
        assert_eq!(parse_expiry("2026-12-09", today), Ok(day("2026-12-09")));
        assert_eq!(parse_expiry(" 2028-12-08 ", today), Ok(day("2028-12-08")));
        for bad in [
            "",
            "2026-12-08",
            "2026-01-01",
            "2028-12-09",
            "tomorrow",
            "09/12/2026",
        ] {
            assert!(parse_expiry(bad, today).is_err(), "{bad}");
        }
    }

    #[test]
    fn texts_are_trimmed_required_and_bounded() {
        assert_eq!(
            required_text("Justification", "  why  ", 10),
            Ok("why".into())
        );
        assert!(required_text("Justification", "   ", 10).is_err());
        assert!(required_text("Justification", &"x".repeat(11), 10).is_err());
        assert_eq!(
            required_text("Comment", &"é".repeat(10), 10),
            Ok("é".repeat(10))
        );
        assert_eq!(optional_text("Note", None, 5), Ok(String::new()));
        assert!(optional_text("Note", Some("toolong"), 5).is_err());
    }

    #[test]
    fn forms_return_only_to_paths_on_this_site() {
        assert_eq!(return_path(Some("/findings?q=a"), "/x"), "/findings?q=a");
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil",
            "",
            "findings",
        ] {
            assert_eq!(return_path(Some(bad), "/x"), "/x", "{bad}");
        }
        assert_eq!(return_path(None, "/x"), "/x");
        assert_eq!(
            with_flash("/findings?q=a&flash=old", "new"),
            "/findings?q=a&flash=new"
        );
        assert_eq!(with_flash("/approvals", "new"), "/approvals?flash=new");
    }
}

#[cfg(test)]
mod decision_fields {
    use super::*;

    #[test]
    fn every_decision_reads_its_fields_the_same_way() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).expect("a day");
        assert!(matches!(
            decision_action("accept", Some(" WAF "), Some("2026-12-31"), None, today),
            Ok(DecisionAction::Accept { ref justification, .. }) if justification == "WAF"
        ));
        assert!(decision_action("accept", Some("WAF"), None, None, today).is_err());
        assert!(decision_action("accept", Some("WAF"), Some("2026-11-30"), None, today).is_err());
        assert!(decision_action("false_positive", Some("  "), None, None, today).is_err());
        assert!(matches!(
            decision_action("reopen", None, None, None, today),
            Ok(DecisionAction::Reopen { ref justification }) if justification.is_empty()
        ));
        assert!(decision_action("comment", Some(""), None, None, today).is_err());
        assert_eq!(
            decision_action("assign", None, None, Some(" 7 "), today),
            Ok(DecisionAction::Assign { assignee_id: 7 })
        );
        assert!(decision_action("assign", Some("7"), None, None, today).is_err());
        let refused = decision_action("delete", Some("x"), None, None, today).expect_err("refused");
        assert!(refused.contains("delete"), "{refused}");
    }
}
