//! Settings kept in the `setting` table (one JSON value per key). Today: the SLA policy
//! (`sla.policy`) and the approval policy of risk acceptances (`triage.approval`). Who may change a setting, the form that edits it and its audit entry belong
//! to the page that writes it, not here.

use app::model::{ApprovalPolicy, SlaPolicy};
use sqlx::PgConnection;

/// The key of the SLA policy.
pub const SLA_POLICY: &str = "sla.policy";

/// The key of the approval policy of risk acceptances.
pub const APPROVAL_POLICY: &str = "triage.approval";

/// The SLA policy in force: the stored one, or the default when none is stored (or the stored
/// value cannot be read, which is logged).
#[tracing::instrument(skip_all, err)]
pub async fn sla_policy(conn: &mut PgConnection) -> Result<SlaPolicy, sqlx::Error> {
    let stored = sqlx::query_scalar!("select value from setting where key = $1", SLA_POLICY)
        .fetch_optional(conn)
        .await?;
    Ok(match stored {
        None => SlaPolicy::default(),
        Some(value) => serde_json::from_value(value).unwrap_or_else(|error| {
            tracing::warn!(%error, "the stored SLA policy cannot be read; using the default");
            SlaPolicy::default()
        }),
    })
}

/// Stores `policy` as the SLA policy, changed by `user_id`. The caller checks it
/// ([`SlaPolicy::problem`]) and writes the audit entry.
#[tracing::instrument(skip(conn, policy), err)]
pub async fn set_sla_policy(
    conn: &mut PgConnection,
    policy: &SlaPolicy,
    user_id: i64,
) -> Result<(), sqlx::Error> {
    let value = serde_json::to_value(policy).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query!(
        "insert into setting (key, value, updated_at, updated_by) values ($1, $2, now(), $3)
         on conflict (key) do update
         set value = excluded.value, updated_at = excluded.updated_at,
             updated_by = excluded.updated_by",
        SLA_POLICY,
        value,
        user_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The approval policy in force: the stored one, or the default (critical and high need a
/// manager's approval) when none is stored or the stored value cannot be read (logged).
#[tracing::instrument(skip_all, err)]
pub async fn approval_policy(conn: &mut PgConnection) -> Result<ApprovalPolicy, sqlx::Error> {
    let stored = sqlx::query_scalar!("select value from setting where key = $1", APPROVAL_POLICY)
        .fetch_optional(conn)
        .await?;
    Ok(match stored {
        None => ApprovalPolicy::default(),
        Some(value) => serde_json::from_value(value).unwrap_or_else(|error| {
            tracing::warn!(%error, "the stored approval policy cannot be read; using the default");
            ApprovalPolicy::default()
        }),
    })
}

/// Stores `policy` as the approval policy, changed by `user_id`. The caller checks who may
/// and writes the audit entry.
#[tracing::instrument(skip(conn, policy), err)]
pub async fn set_approval_policy(
    conn: &mut PgConnection,
    policy: &ApprovalPolicy,
    user_id: i64,
) -> Result<(), sqlx::Error> {
    let value = serde_json::to_value(policy).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query!(
        "insert into setting (key, value, updated_at, updated_by) values ($1, $2, now(), $3)
         on conflict (key) do update
         set value = excluded.value, updated_at = excluded.updated_at,
             updated_by = excluded.updated_by",
        APPROVAL_POLICY,
        value,
        user_id
    )
    .execute(conn)
    .await?;
    Ok(())
}
