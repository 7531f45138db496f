//! API tokens as the settings page lists them (never their secrets).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One API token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSummary {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The secret's first characters, to recognise it.
    pub prefix: String,
    /// `ingest` and/or `read`.
    pub scopes: Vec<String>,
    /// The source an ingest token sends for.
    pub source: Option<String>,
    /// The cluster it is bound to.
    pub cluster: Option<String>,
    /// Created when.
    pub created_at: DateTime<Utc>,
    /// Last used when.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Expires when.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revoked when.
    pub revoked_at: Option<DateTime<Utc>>,
}
