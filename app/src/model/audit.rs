//! The audit log as the audit page shows it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One audit log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Entry id (ascending with time).
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it, as shown when it happened (`cli` for the command line).
    pub actor: String,
    /// What they did: `login`, `login_failed`, `token.create`, `user.role_change`, ...
    pub action: String,
    /// What it was done to, e.g. `user 4` or `token 12`.
    pub target: Option<String>,
    /// The client's address, when it came over HTTP.
    pub ip: Option<String>,
    /// Further details as compact JSON.
    pub details: String,
}

/// The audit page's filters (all optional; they travel in the query string).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Only this action (exact).
    pub action: Option<String>,
    /// Only actors whose name contains this text (case-insensitive).
    pub actor: Option<String>,
    /// Only entries at or after this day (`YYYY-MM-DD`, UTC).
    pub since: Option<String>,
    /// Only entries before the end of this day (`YYYY-MM-DD`, UTC).
    pub until: Option<String>,
}

/// One page of the audit log, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    /// The entries.
    pub entries: Vec<AuditEntry>,
    /// Whether more entries match than are shown.
    pub truncated: bool,
    /// Every action that occurs in the log, for the filter's choices.
    pub actions: Vec<String>,
}
