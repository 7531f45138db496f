//! The users who may own findings, for the owner picker: active users of a triage role
//! (administrator, manager, analyst; [`app::model::Role::can_triage`]) who see every finding
//! asked about. "See" is the read rule of [`crate::db`] applied to each user's own scope (the
//! rule of [`super::users::visible_clusters`]): a user with no scope sees everything; a
//! limited user sees the findings of their clusters and the fleet-level findings on images
//! those clusters run.
//!
//! Which findings are asked about, and that the asking viewer may see them, is the caller's
//! (the store's) business; recording an assignment is [`super::decisions`]'s.

use app::model::{Assignee, Role};
use sqlx::PgConnection;

/// The users who see every cluster of `clusters` and every finding of `keys`, by name. A `0`
/// among `clusters` (the fleet-level findings of a view of everything) admits only users
/// limited to nothing. Nothing asked about (both empty) lists nobody, never everybody.
/// Keys that name no finding are ignored: the caller checks them first.
#[tracing::instrument(skip_all, fields(clusters = clusters.len(), keys = keys.len()), err)]
pub async fn candidates(
    conn: &mut PgConnection,
    clusters: &[i64],
    keys: &[(i64, i64)],
) -> Result<Vec<Assignee>, sqlx::Error> {
    if clusters.is_empty() && keys.is_empty() {
        return Ok(Vec::new());
    }
    let roles: Vec<String> = Role::ALL
        .into_iter()
        .filter(|r| r.can_triage())
        .map(|r| r.as_str().to_owned())
        .collect();
    let (key_clusters, key_ids): (Vec<i64>, Vec<i64>) = keys.iter().copied().unzip();
    let rows = sqlx::query!(
        r#"with candidate as materialized (
               select u.id, coalesce(nullif(u.display_name, ''), u.email) as name, u.role,
                      not exists (select 1 from user_scope s where s.user_id = u.id)
                      as unlimited
               from app_user u
               where u.disabled_at is null and u.role = any($1::text[])
           ), sees as materialized (
               -- the clusters each limited candidate sees: within a kind the values add up,
               -- across kinds they narrow
               select cand.id as user_id, c.id as cluster_id
               from candidate cand
               join cluster c on
                    (not exists (select 1 from user_scope s
                                 where s.user_id = cand.id and s.kind = 'provider')
                     or c.provider in (select s.value from user_scope s
                                       where s.user_id = cand.id and s.kind = 'provider'))
                and (not exists (select 1 from user_scope s
                                 where s.user_id = cand.id and s.kind = 'environment')
                     or c.environment in (select s.value from user_scope s
                                          where s.user_id = cand.id and s.kind = 'environment'))
                and (not exists (select 1 from user_scope s
                                 where s.user_id = cand.id and s.kind = 'cluster')
                     or c.name in (select s.value from user_scope s
                                   where s.user_id = cand.id and s.kind = 'cluster'))
               where not cand.unlimited
           )
           select cand.id as "id!", cand.name as "name!", cand.role as "role!"
           from candidate cand
           where cand.unlimited
              or (not (0 = any($2::bigint[]))
                  and not exists (
                      select 1 from unnest($2::bigint[]) as t(cluster_id)
                      where not exists (select 1 from sees s
                                        where s.user_id = cand.id
                                          and s.cluster_id = t.cluster_id))
                  and not exists (
                      select 1
                      from unnest($3::bigint[], $4::bigint[]) as k(cluster_id, id)
                      join finding f on f.cluster_id = k.cluster_id and f.id = k.id
                      where not exists (
                          select 1 from sees s
                          where s.user_id = cand.id
                            and (s.cluster_id = f.cluster_id
                                 or (f.cluster_id = 0 and exists (
                                       select 1 from cluster_image ci
                                       where ci.image_id = f.image_id
                                         and ci.cluster_id = s.cluster_id))))))
           order by lower(cand.name), cand.id"#,
        &roles,
        clusters,
        &key_clusters,
        &key_ids
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Assignee {
                id: r.id,
                name: r.name,
                role: Role::parse(&r.role)?,
            })
        })
        .collect())
}
