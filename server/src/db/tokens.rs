//! API tokens and the sources they send for.

use sqlx::PgConnection;

/// Who is calling: resolved from a presented API token.
#[derive(Clone, Debug)]
pub struct IngestIdentity {
    /// The token's id.
    pub token_id: i64,
    /// The source the token sends for (ingest tokens; 0 for read tokens).
    pub source_id: i64,
    /// The source's name (empty for read tokens).
    pub source: String,
    /// The cluster the token is bound to, if any.
    pub cluster_id: Option<i64>,
    /// What the token may do.
    pub scopes: Vec<String>,
}

/// The live (not revoked, not expired) token with this hash, with its source.
#[tracing::instrument(skip_all, err)]
pub async fn find_live_by_hash(
    conn: &mut PgConnection,
    hash: &[u8],
) -> Result<Option<IngestIdentity>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select t.id, coalesce(t.source_id, 0) as "source_id!",
                  coalesce(s.name, '') as "source!", t.cluster_id, t.scopes
           from api_token t left join source s on s.id = t.source_id
           where t.token_hash = $1
             and t.revoked_at is null
             and (t.expires_at is null or t.expires_at > now())"#,
        hash
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| IngestIdentity {
        token_id: r.id,
        source_id: r.source_id,
        source: r.source,
        cluster_id: r.cluster_id,
        scopes: r.scopes,
    }))
}

/// Records that a token was used, at most once a minute per token (not a write per request).
#[tracing::instrument(skip_all, fields(token_id), err)]
pub async fn touch(conn: &mut PgConnection, token_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update api_token set last_used_at = now()
         where id = $1 and (last_used_at is null or last_used_at < now() - interval '1 minute')",
        token_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A source exists under another cluster than the one asked for.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The name is taken by a source bound elsewhere.
    #[error("source '{0}' already exists for a different cluster; choose another name")]
    ClusterMismatch(String),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The id of source `name` bound to `cluster_id`, creating it if new.
#[tracing::instrument(skip_all, err)]
pub async fn ensure_source(
    conn: &mut PgConnection,
    name: &str,
    cluster_id: Option<i64>,
) -> Result<i64, SourceError> {
    sqlx::query!(
        "insert into source (name, cluster_id) values ($1, $2) on conflict (name) do nothing",
        name,
        cluster_id
    )
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query!("select id, cluster_id from source where name = $1", name)
        .fetch_one(&mut *conn)
        .await?;
    if row.cluster_id != cluster_id {
        return Err(SourceError::ClusterMismatch(name.to_owned()));
    }
    Ok(row.id)
}

/// A token as listed (never its secret).
#[derive(Clone, Debug)]
pub struct TokenRow {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// First characters of the secret.
    pub token_prefix: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Source name, for ingest tokens.
    pub source: Option<String>,
    /// Cluster name, when bound to one.
    pub cluster: Option<String>,
    /// When it was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it was last used.
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it expires.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Every token (bound to a cluster in `scope`, when limited), newest first.
#[tracing::instrument(skip_all, err)]
pub async fn list(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
) -> Result<Vec<TokenRow>, sqlx::Error> {
    sqlx::query_as!(
        TokenRow,
        r#"select t.id, t.name, t.token_prefix, t.scopes, s.name as "source?", c.name as "cluster?",
                  t.created_at, t.last_used_at, t.expires_at, t.revoked_at
           from api_token t
           left join source s on s.id = t.source_id
           left join cluster c on c.id = t.cluster_id
           where $1::bigint[] is null or t.cluster_id = any($1)
           order by t.id desc"#,
        scope as Option<&[i64]>
    )
    .fetch_all(conn)
    .await
}

/// Revokes a token; `false` when there is no live token with this id.
#[tracing::instrument(skip_all, fields(id), err)]
pub async fn revoke(conn: &mut PgConnection, id: i64) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query!(
        "update api_token set revoked_at = now() where id = $1 and revoked_at is null",
        id
    )
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// A token to store.
#[derive(Debug)]
pub struct NewToken<'a> {
    /// Name.
    pub name: &'a str,
    /// SHA-256 of the secret.
    pub hash: &'a [u8],
    /// The secret's first characters.
    pub prefix: &'a str,
    /// What it may do: `ingest`, `read`, `intel` (fleet-wide threat intelligence; never with
    /// a cluster).
    pub scopes: &'a [&'a str],
    /// The source (required for ingest).
    pub source_id: Option<i64>,
    /// The cluster it is bound to.
    pub cluster_id: Option<i64>,
    /// Who created it.
    pub created_by: Option<i64>,
    /// Days until it expires.
    pub expires_in_days: Option<i64>,
}

/// Stores a token (its hash only) and returns its id.
#[tracing::instrument(skip_all, err)]
pub async fn create(conn: &mut PgConnection, token: &NewToken<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into api_token (name, token_hash, token_prefix, scopes, source_id, cluster_id,
                                created_by, expires_at)
         values ($1, $2, $3, $4::text[], $5, $6, $7,
                 now() + make_interval(days => $8::integer))
         returning id",
        token.name,
        token.hash,
        token.prefix,
        token.scopes as &[&str],
        token.source_id,
        token.cluster_id,
        token.created_by,
        token
            .expires_in_days
            .map(|d| i32::try_from(d).unwrap_or(i32::MAX))
    )
    .fetch_one(conn)
    .await
}

/// The cluster a token is bound to (`None` also when there is no such token).
#[tracing::instrument(skip_all, err)]
pub async fn cluster_of(conn: &mut PgConnection, id: i64) -> Result<Option<i64>, sqlx::Error> {
    let cluster = sqlx::query_scalar!("select cluster_id from api_token where id = $1", id)
        .fetch_optional(conn)
        .await?;
    Ok(cluster.flatten())
}
