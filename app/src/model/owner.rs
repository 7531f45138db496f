//! Who owns findings: the users the owner picker offers ([`Assignee`]), for which findings it
//! asks ([`AssigneesFor`]), a finding's current owner ([`Owner`]) and the reading of the
//! picker's field ([`parse_assignee`]). Plain data: which users qualify is decided by the
//! server's store (`db::assignees`), in SQL, within the viewer's scope.
//!
//! The rule the picker lists by, and the server's check of an assignment agree on: an
//! assignee is an active user who may triage (administrator, manager or analyst; executives
//! only read) and who sees every finding assigned to them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{FindingKey, ListFilter, Role};

/// A user the owner picker offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignee {
    /// The user's id (the picker's value).
    pub id: i64,
    /// How they are shown: their name, else their e-mail address.
    pub name: String,
    /// Their role.
    pub role: Role,
}

impl Assignee {
    /// The picker's label: "Dana (Security manager)".
    pub fn label(&self) -> String {
        format!("{} ({})", self.name, self.role.label())
    }
}

/// The findings an owner is picked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AssigneesFor {
    /// One finding: the users who see it. Another cluster's is "not found".
    Finding(FindingKey),
    /// Any of the findings the findings list's filter selects (the decision bar's selection
    /// or "all matching"): the users who see every cluster the filter selects. With no
    /// cluster narrowed, that is every cluster the viewer sees; for a viewer of every
    /// cluster, only users limited to no cluster (they alone see every fleet-level finding).
    Matching(Box<ListFilter>),
}

/// A finding's owner: the assignee of its newest assignment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// The owner's name (else e-mail address).
    pub name: String,
    /// Whether their account is disabled.
    pub disabled: bool,
    /// Who assigned it (`None`: a removed user).
    pub by: Option<String>,
    /// When.
    pub since: DateTime<Utc>,
}

/// The owner picker's field (`assignee`): a user id, else the problem in words.
pub fn parse_assignee(value: Option<&str>) -> Result<i64, String> {
    value
        .map(str::trim)
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| "Choose the user who owns the findings.".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assignee_is_a_positive_user_id() {
        assert_eq!(parse_assignee(Some(" 12 ")), Ok(12));
        for bad in [
            None,
            Some(""),
            Some("0"),
            Some("-3"),
            Some("dana"),
            Some("1.5"),
        ] {
            assert!(parse_assignee(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_picker_names_the_role() {
        let dana = Assignee {
            id: 1,
            name: "Dana".to_owned(),
            role: Role::Manager,
        };
        assert_eq!(dana.label(), "Dana (Security manager)");
    }
}
