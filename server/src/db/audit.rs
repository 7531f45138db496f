//! The append-only audit log.

use std::net::IpAddr;

use app::model::{AuditEntry, AuditFilter};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

/// Who did something.
#[derive(Clone, Debug)]
pub enum Actor {
    /// A signed-in user.
    User {
        /// Their id.
        id: i64,
        /// Their e-mail address, kept in the entry when the user is gone.
        email: String,
    },
    /// An API token.
    Token {
        /// Its id.
        id: i64,
        /// Its name.
        name: String,
    },
    /// Someone at the command line of the server.
    Cli,
    /// Nobody known (a failed sign-in).
    Anonymous,
}

impl From<&app::model::Viewer> for Actor {
    fn from(viewer: &app::model::Viewer) -> Self {
        Actor::User {
            id: viewer.user_id,
            email: viewer.email.clone(),
        }
    }
}

/// One thing that happened.
#[derive(Clone, Debug)]
pub struct Event<'a> {
    /// Who.
    pub actor: Actor,
    /// What: `login`, `login_failed`, `login.throttled`, `logout`, `password.change`,
    /// `user.create`, ...
    pub action: &'a str,
    /// What it concerned: (`user`, "4"), (`token`, "12"), ...
    pub target: Option<(&'a str, String)>,
    /// The cluster it concerned, if any.
    pub cluster_id: Option<i64>,
    /// The client's address.
    pub ip: Option<IpAddr>,
    /// Further details (never secrets).
    pub details: serde_json::Value,
}

/// Appends an entry.
#[tracing::instrument(skip_all, fields(action = event.action), err)]
pub async fn record(conn: &mut PgConnection, event: Event<'_>) -> Result<(), sqlx::Error> {
    let (user_id, token_id, actor) = match &event.actor {
        Actor::User { id, email } => (Some(*id), None, email.clone()),
        Actor::Token { id, name } => (None, Some(*id), format!("token:{name}")),
        Actor::Cli => (None, None, "cli".to_owned()),
        Actor::Anonymous => (None, None, "anonymous".to_owned()),
    };
    let (target_kind, target_id) = match event.target {
        Some((kind, id)) => (Some(kind), Some(id)),
        None => (None, None),
    };
    sqlx::query!(
        "insert into audit_log (actor_user_id, actor_token_id, actor, action, target_kind,
                                target_id, cluster_id, ip, details)
         values ($1, $2, $3, $4, $5, $6, $7, ($8::text)::inet, $9)",
        user_id,
        token_id,
        actor,
        event.action,
        target_kind,
        target_id,
        event.cluster_id,
        event.ip.map(|ip| ip.to_string()),
        event.details
    )
    .execute(conn)
    .await?;
    Ok(())
}

fn day_start(day: Option<&str>) -> Result<Option<DateTime<Utc>>, String> {
    day.map(|d| {
        NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
            .map_err(|_| format!("'{d}' is not a date (YYYY-MM-DD)"))
    })
    .transpose()
}

/// A filter checked and ready for SQL.
#[derive(Debug, Default)]
pub struct Query {
    action: Option<String>,
    actor: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
}

impl Query {
    /// Checks the filter; the error names the bad value.
    pub fn new(filter: &AuditFilter) -> Result<Query, String> {
        let since = day_start(filter.since.as_deref())?;
        let until = day_start(filter.until.as_deref())?.map(|d| d + chrono::Duration::days(1));
        let clip = |v: &Option<String>| v.as_ref().map(|v| v.chars().take(200).collect());
        Ok(Query {
            action: clip(&filter.action),
            actor: clip(&filter.actor),
            since,
            until,
        })
    }
}

/// The newest `limit` entries matching `query` that a viewer limited to `scope` may see: only
/// entries about their clusters; fleet-level entries (sign-ins, users, unbound tokens) and
/// entries about other clusters are hidden from them (tenancy rule (d)).
#[tracing::instrument(skip_all, err)]
pub async fn list(
    conn: &mut PgConnection,
    query: &Query,
    scope: Option<&[i64]>,
    limit: i64,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select id, at, actor, action, target_kind, target_id, host(ip) as ip,
                  details::text as "details!"
           from audit_log
           where ($1::text is null or action = $1)
             and ($2::text is null or strpos(lower(actor), lower($2)) > 0)
             and ($3::timestamptz is null or at >= $3)
             and ($4::timestamptz is null or at < $4)
             and ($5::bigint[] is null or cluster_id = any($5))
           order by at desc, id desc
           limit $6"#,
        query.action,
        query.actor,
        query.since,
        query.until,
        scope as Option<&[i64]>,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            at: r.at,
            actor: r.actor,
            action: r.action,
            target: match (r.target_kind, r.target_id) {
                (Some(k), Some(i)) => Some(format!("{k} {i}")),
                (Some(k), None) => Some(k),
                _ => None,
            },
            ip: r.ip,
            details: r.details,
        })
        .collect())
}

/// Every action that occurs in the entries a viewer limited to `scope` may see.
#[tracing::instrument(skip_all, err)]
pub async fn actions(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select distinct action from audit_log
         where $1::bigint[] is null or cluster_id = any($1)
         order by action",
        scope as Option<&[i64]>
    )
    .fetch_all(conn)
    .await
}
