//! Who is looking: the signed-in user, their role and the clusters they may see.

use serde::{Deserialize, Serialize};

/// What a user may do. Ordered from most to least powerful.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// Everything, users and settings included.
    Admin,
    /// All views, triage, approving risk acceptances, tokens, the audit log.
    Manager,
    /// All views, triage and incidents.
    Analyst,
    /// Read-only views and reports.
    Executive,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Manager, Role::Analyst, Role::Executive];

    /// The value stored in the database and used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Analyst => "analyst",
            Role::Executive => "executive",
        }
    }

    /// The role named `value` (as stored), if any.
    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == value)
    }

    /// How the role is shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Administrator",
            Role::Manager => "Security manager",
            Role::Analyst => "Analyst",
            Role::Executive => "Executive",
        }
    }

    /// May create and revoke API tokens.
    pub fn can_manage_tokens(self) -> bool {
        matches!(self, Role::Admin | Role::Manager)
    }

    /// May change the SLA policy.
    pub fn can_edit_sla(self) -> bool {
        matches!(self, Role::Admin | Role::Manager)
    }

    /// May take triage decisions (accept, false positive, reopen, assign, comment).
    pub fn can_triage(self) -> bool {
        matches!(self, Role::Admin | Role::Manager | Role::Analyst)
    }

    /// May approve or reject risk acceptances and change the approval policy.
    pub fn can_approve(self) -> bool {
        matches!(self, Role::Admin | Role::Manager)
    }

    /// May read the audit log.
    pub fn can_read_audit_log(self) -> bool {
        matches!(self, Role::Admin | Role::Manager)
    }
}

/// How people can sign in here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInOptions {
    /// An OpenID Connect identity provider is configured.
    pub single_sign_on: bool,
}

/// The signed-in user as pages and server functions see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    /// The user's id.
    pub user_id: i64,
    /// Their e-mail address (the login name).
    pub email: String,
    /// How they are shown; the e-mail address when they gave no name.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// The clusters they may see, or `None` when they are not limited.
    pub clusters: Option<Vec<i64>>,
}

impl Viewer {
    /// Whether this user may see cluster `id`.
    pub fn sees_cluster(&self, id: i64) -> bool {
        self.clusters.as_ref().is_none_or(|c| c.contains(&id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_stored_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(Role::parse("Admin"), None);
    }

    #[test]
    fn a_limited_viewer_sees_only_their_clusters() {
        let mut viewer = Viewer {
            user_id: 1,
            email: "a@example.com".into(),
            name: "A".into(),
            role: Role::Analyst,
            clusters: None,
        };
        assert!(viewer.sees_cluster(7));
        viewer.clusters = Some(vec![3]);
        assert!(viewer.sees_cluster(3));
        assert!(!viewer.sees_cluster(7));
    }
}
