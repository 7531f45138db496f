//! Saved views of the findings explorer (`saved_view`): listing what a viewer may open,
//! saving (one name per owner, whatever its case) and deleting. Checking a view's name and
//! query, who may share or delete, and the audit entry belong to the caller
//! ([`crate::store`]), which runs each write in one transaction.
//!
//! Tenancy: a shared view is listed to a viewer limited to some clusters only when every
//! cluster its query names (`cluster=`, and the cluster of `workload=`) is one they see, so a
//! view list never carries another cluster's name. Their own views are always theirs.

use app::model::SavedView;
use sqlx::PgConnection;

/// A stored view, as the writers need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredView {
    /// Its id.
    pub id: i64,
    /// Its owner.
    pub owner_id: i64,
    /// Its name.
    pub name: String,
    /// Its normalised query string.
    pub query: String,
    /// Whether the team sees it.
    pub shared: bool,
}

/// What a view is saved as.
#[derive(Clone, Debug)]
pub struct NewView<'a> {
    /// The owner.
    pub owner_id: i64,
    /// Its name, checked.
    pub name: &'a str,
    /// Its query, checked and normalised.
    pub query: &'a str,
    /// Shared with the team.
    pub shared: bool,
    /// The cluster its `cluster=` names.
    pub cluster_name: Option<&'a str>,
    /// The cluster of its `workload=`.
    pub workload_cluster_id: Option<i64>,
}

/// The views `viewer_id` may open: their own first, then the shared views of others that a
/// viewer limited to `scope` may see (see the module doc), each by name. `admin`: whether the
/// viewer may delete others' shared views.
#[tracing::instrument(skip(conn, scope), err)]
pub async fn list(
    conn: &mut PgConnection,
    viewer_id: i64,
    scope: Option<&[i64]>,
    admin: bool,
) -> Result<Vec<SavedView>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select v.id, v.name, v.query, v.shared, v.owner_id = $1 as "mine!",
                  coalesce(nullif(u.display_name, ''), u.email) as "owner!"
           from saved_view v
           join app_user u on u.id = v.owner_id
           where v.owner_id = $1
              or (v.shared
                  and ($2::bigint[] is null
                       or ((v.cluster_name is null
                            or exists (select 1 from cluster c
                                       where c.name = v.cluster_name and c.id = any($2)))
                           and (v.workload_cluster_id is null
                                or v.workload_cluster_id = any($2)))))
           order by v.owner_id = $1 desc, lower(v.name), v.id"#,
        viewer_id,
        scope as Option<&[i64]>
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| SavedView {
            id: r.id,
            deletable: r.mine || (admin && r.shared),
            name: r.name,
            query: r.query,
            shared: r.shared,
            mine: r.mine,
            owner: r.owner,
        })
        .collect())
}

/// The view `id` if `viewer_id` may open it (their own, or a shared one they see under
/// `scope`, as [`list`] lists them).
#[tracing::instrument(skip(conn, scope), err)]
pub async fn visible(
    conn: &mut PgConnection,
    id: i64,
    viewer_id: i64,
    scope: Option<&[i64]>,
) -> Result<Option<StoredView>, sqlx::Error> {
    sqlx::query_as!(
        StoredView,
        r#"select v.id, v.owner_id, v.name, v.query, v.shared
           from saved_view v
           where v.id = $1
             and (v.owner_id = $2
                  or (v.shared
                      and ($3::bigint[] is null
                           or ((v.cluster_name is null
                                or exists (select 1 from cluster c
                                           where c.name = v.cluster_name and c.id = any($3)))
                               and (v.workload_cluster_id is null
                                    or v.workload_cluster_id = any($3))))))
           for update of v"#,
        id,
        viewer_id,
        scope as Option<&[i64]>
    )
    .fetch_optional(conn)
    .await
}

/// Locks the owner's row until the transaction ends, so that two saves of one person count
/// their views one after the other.
#[tracing::instrument(skip(conn), err)]
pub async fn lock_owner(conn: &mut PgConnection, owner_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!("select id from app_user where id = $1 for update", owner_id)
        .fetch_optional(conn)
        .await?;
    Ok(())
}

/// The owner's view named `name` (whatever its case).
#[tracing::instrument(skip(conn), err)]
pub async fn own_by_name(
    conn: &mut PgConnection,
    owner_id: i64,
    name: &str,
) -> Result<Option<StoredView>, sqlx::Error> {
    sqlx::query_as!(
        StoredView,
        "select id, owner_id, name, query, shared from saved_view
         where owner_id = $1 and lower(name) = lower($2)",
        owner_id,
        name
    )
    .fetch_optional(conn)
    .await
}

/// How many views the owner keeps.
#[tracing::instrument(skip(conn), err)]
pub async fn count_owned(conn: &mut PgConnection, owner_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from saved_view where owner_id = $1"#,
        owner_id
    )
    .fetch_one(conn)
    .await
}

/// Stores `view`, replacing the owner's view of the same name (whatever its case; the new
/// spelling of the name wins). Returns its id.
#[tracing::instrument(skip(conn, view), fields(owner_id = view.owner_id), err)]
pub async fn save(conn: &mut PgConnection, view: &NewView<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into saved_view (owner_id, name, query, shared, cluster_name, workload_cluster_id)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (owner_id, lower(name)) do update
         set name = excluded.name, query = excluded.query, shared = excluded.shared,
             cluster_name = excluded.cluster_name,
             workload_cluster_id = excluded.workload_cluster_id,
             updated_at = now()
         returning id",
        view.owner_id,
        view.name,
        view.query,
        view.shared,
        view.cluster_name,
        view.workload_cluster_id
    )
    .fetch_one(conn)
    .await
}

/// Deletes the view `id`.
#[tracing::instrument(skip(conn), err)]
pub async fn delete(conn: &mut PgConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from saved_view where id = $1", id)
        .execute(conn)
        .await?;
    Ok(())
}
