//! Users, their scopes and their sessions.

use app::model::{Role, Viewer};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// A user as the sign-in needs them.
#[derive(Clone, Debug)]
pub struct UserRow {
    /// The user's id.
    pub id: i64,
    /// Login name.
    pub email: String,
    /// Shown name.
    pub display_name: String,
    /// Argon2id PHC string; `None` for single-sign-on-only accounts.
    pub password_hash: Option<String>,
    /// Stored role name.
    pub role: String,
    /// When the account was disabled, if it was.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// The user with this e-mail address (case-insensitive).
#[tracing::instrument(skip_all, err)]
pub async fn find_by_email(
    conn: &mut PgConnection,
    email: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        "select id, email, display_name, password_hash, role, disabled_at
         from app_user where lower(email) = lower($1)",
        email
    )
    .fetch_optional(conn)
    .await
}

/// The user with this id.
#[tracing::instrument(skip_all, err)]
pub async fn find_by_id(conn: &mut PgConnection, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        "select id, email, display_name, password_hash, role, disabled_at
         from app_user where id = $1",
        id
    )
    .fetch_optional(conn)
    .await
}

/// How many users exist.
#[tracing::instrument(skip_all, err)]
pub async fn count(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"select count(*) as "n!" from app_user"#)
        .fetch_one(conn)
        .await
}

/// Creates a local user and returns their id.
#[tracing::instrument(skip_all, err)]
pub async fn create(
    conn: &mut PgConnection,
    email: &str,
    display_name: &str,
    role: Role,
    password_hash: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into app_user (email, display_name, role, password_hash)
         values ($1, $2, $3, $4) returning id",
        email,
        display_name,
        role.as_str(),
        password_hash
    )
    .fetch_one(conn)
    .await
}

/// Changes a user's role; returns the previous one (`None` when there is no such user).
#[tracing::instrument(skip_all, err)]
pub async fn set_role(
    conn: &mut PgConnection,
    id: i64,
    role: Role,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "update app_user u set role = $2 from app_user old
         where u.id = $1 and old.id = u.id returning old.role",
        id,
        role.as_str()
    )
    .fetch_optional(conn)
    .await
}

/// Replaces a user's password hash.
#[tracing::instrument(skip_all, err)]
pub async fn set_password_hash(
    conn: &mut PgConnection,
    id: i64,
    hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update app_user set password_hash = $2 where id = $1",
        id,
        hash
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a successful sign-in.
#[tracing::instrument(skip_all, err)]
pub async fn touch_login(conn: &mut PgConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update app_user set last_login_at = now() where id = $1",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces a user's scope: the providers, environments and cluster names they are limited to.
/// All empty means unlimited.
#[tracing::instrument(skip_all, err)]
pub async fn set_scope(
    conn: &mut PgConnection,
    id: i64,
    providers: &[String],
    environments: &[String],
    clusters: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from user_scope where user_id = $1", id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "insert into user_scope (user_id, kind, value)
         select $1::bigint, 'provider', unnest($2::text[])
         union select $1::bigint, 'environment', unnest($3::text[])
         union select $1::bigint, 'cluster', unnest($4::text[])",
        id,
        providers,
        environments,
        clusters
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The clusters a user may see: `None` when they have no scope. Within one kind the values
/// add up (two clusters, two providers); across kinds they narrow (aws *and* prod).
#[tracing::instrument(skip_all, err)]
pub async fn visible_clusters(
    conn: &mut PgConnection,
    user_id: i64,
) -> Result<Option<Vec<i64>>, sqlx::Error> {
    let row = sqlx::query!(
        r#"with s as (select kind, value from user_scope where user_id = $1)
           select (select count(*) from s) as "scoped!",
                  coalesce((select array_agg(c.id order by c.id) from cluster c
                   where (not exists (select 1 from s where kind = 'provider')
                          or c.provider in (select value from s where kind = 'provider'))
                     and (not exists (select 1 from s where kind = 'environment')
                          or c.environment in (select value from s where kind = 'environment'))
                     and (not exists (select 1 from s where kind = 'cluster')
                          or c.name in (select value from s where kind = 'cluster'))),
                  '{}') as "clusters!""#,
        user_id
    )
    .fetch_one(conn)
    .await?;
    Ok((row.scoped > 0).then_some(row.clusters))
}

/// A live session: its user as a [`Viewer`]. Sessions idle longer than `idle_secs` or past
/// their absolute expiry, and sessions of disabled users, are not found.
#[tracing::instrument(skip_all, err)]
pub async fn session_viewer(
    conn: &mut PgConnection,
    session_hash: &str,
    idle_secs: i64,
) -> Result<Option<(Viewer, DateTime<Utc>)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select u.id, u.email, u.display_name, u.role, s.last_seen_at
           from user_session s join app_user u on u.id = s.user_id
           where s.id = $1 and s.expires_at > now()
             and s.last_seen_at > now() - make_interval(secs => $2)
             and u.disabled_at is null"#,
        session_hash,
        idle_secs as f64
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let Some(role) = Role::parse(&row.role) else {
        return Ok(None);
    };
    let clusters = visible_clusters(conn, row.id).await?;
    let name = if row.display_name.is_empty() {
        row.email.clone()
    } else {
        row.display_name
    };
    Ok(Some((
        Viewer {
            user_id: row.id,
            email: row.email,
            name,
            role,
            clusters,
        },
        row.last_seen_at,
    )))
}

/// Stores a new session (by the hash of its secret).
#[tracing::instrument(skip_all, err)]
pub async fn create_session(
    conn: &mut PgConnection,
    session_hash: &str,
    user_id: i64,
    absolute_secs: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into user_session (id, user_id, expires_at)
         values ($1, $2, now() + make_interval(secs => $3))",
        session_hash,
        user_id,
        absolute_secs as f64
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks a session as used now.
#[tracing::instrument(skip_all, err)]
pub async fn touch_session(conn: &mut PgConnection, session_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update user_session set last_seen_at = now() where id = $1",
        session_hash
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends a session.
#[tracing::instrument(skip_all, err)]
pub async fn delete_session(
    conn: &mut PgConnection,
    session_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from user_session where id = $1", session_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends every session of a user (password change or reset, role change, disabling).
#[tracing::instrument(skip_all, err)]
pub async fn delete_sessions_of(conn: &mut PgConnection, user_id: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query!("delete from user_session where user_id = $1", user_id)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

/// Removes expired sessions.
#[tracing::instrument(skip_all, err)]
pub async fn delete_expired_sessions(conn: &mut PgConnection) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query!("delete from user_session where expires_at <= now()")
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

/// The user signed in through this identity provider as this subject.
#[tracing::instrument(skip_all, err)]
pub async fn find_by_oidc(
    conn: &mut PgConnection,
    issuer: &str,
    subject: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        "select id, email, display_name, password_hash, role, disabled_at
         from app_user where oidc_issuer = $1 and oidc_subject = $2",
        issuer,
        subject
    )
    .fetch_optional(conn)
    .await
}

/// Creates a user known through single sign-on (no local password) and returns their id.
#[tracing::instrument(skip_all, err)]
pub async fn create_oidc(
    conn: &mut PgConnection,
    email: &str,
    display_name: &str,
    role: Role,
    issuer: &str,
    subject: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into app_user (email, display_name, role, oidc_issuer, oidc_subject)
         values ($1, $2, $3, $4, $5) returning id",
        email,
        display_name,
        role.as_str(),
        issuer,
        subject
    )
    .fetch_one(conn)
    .await
}

/// Stores a sign-in in progress (no user yet): its secret's hash and what the callback needs.
#[tracing::instrument(skip_all, err)]
pub async fn create_pending_flow(
    conn: &mut PgConnection,
    hash: &str,
    data: &serde_json::Value,
    seconds: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into user_session (id, user_id, data, expires_at)
         values ($1, null, $2, now() + make_interval(secs => $3))",
        hash,
        data,
        seconds as f64
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes (reads and deletes) a live sign-in in progress.
#[tracing::instrument(skip_all, err)]
pub async fn take_pending_flow(
    conn: &mut PgConnection,
    hash: &str,
) -> Result<Option<serde_json::Value>, sqlx::Error> {
    sqlx::query_scalar!(
        "delete from user_session where id = $1 and user_id is null and expires_at > now()
         returning data",
        hash
    )
    .fetch_optional(conn)
    .await
}
