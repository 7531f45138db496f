//! The explorer's last-seen order: the findings seen most recently first, then those no scope
//! sees any more.
//!
//! "Last seen" is not stored: it is the newest `last_seen_at` of the scopes whose observation
//! of the finding is active, so that a rescan which finds the same things rewrites no finding.
//! A page is therefore read one of two ways:
//! - a small selection (at most [`READ_WHOLE`] findings) is read whole, each finding's last
//!   sighting looked up, and sorted;
//! - a large one is walked scope by scope, newest scope first, taking each scope's active
//!   observations; a finding is taken at its newest scope only, so it appears once. The walk
//!   stops as soon as a page is full, and the findings no scope still sees follow it, in key
//!   order.
//!
//! Under a source filter the sightings are that source's; under a cluster filter, those of the
//! scopes of the selected clusters (and of scopes of no cluster, from CI).

use app::model::FindingRow;
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::{Criteria, Cursor, ROW_HEAD, ROW_JOINS, ROW_TAIL, push_conditions, row_of};

/// Selections up to this size are read whole rather than walked.
const READ_WHOLE: i64 = 2_000;

/// The scopes whose sightings count, as conditions on scope `s`.
fn push_scopes(qb: &mut QueryBuilder<'_, Postgres>, c: &Criteria, s: &str) {
    if !c.every_cluster() {
        qb.push(format!(
            " and ({s}.cluster_id is null or {s}.cluster_id = any("
        ))
        .push_bind(c.clusters.clone())
        .push("))");
    }
    if let Some(source) = &c.source {
        qb.push(format!(" and {s}.source_id = "))
            .push_bind(source.id);
    }
}

/// Finding `f`'s last sighting by the scopes that count.
fn push_sighting(qb: &mut QueryBuilder<'_, Postgres>, c: &Criteria) {
    qb.push(
        "(select max(s.last_seen_at) from observation o join scan_scope s on s.id = o.scope_id
          where o.cluster_id = f.cluster_id and o.finding_id = f.id and o.active",
    );
    push_scopes(qb, c, "s");
    qb.push(")");
}

/// Up to `want` rows of `c` in the last-seen order, after `c`'s cursor.
pub(super) async fn rows(
    conn: &mut PgConnection,
    c: &Criteria,
    total: i64,
    want: usize,
) -> Result<Vec<FindingRow>, sqlx::Error> {
    let after = match c.after {
        Some(Cursor::LastSeen(t, cluster, id)) => Some((t, cluster, id)),
        _ => None,
    };
    if total <= READ_WHOLE {
        return whole(conn, c, after, want).await;
    }
    let mut out = Vec::new();
    // fixed findings are those no scope sees any more: nothing to walk
    let walked = c.status != "fixed" && !matches!(after, Some((None, _, _)));
    if walked {
        let from = after.and_then(|(t, cluster, id)| t.map(|t| (t, cluster, id)));
        out = walk(conn, c, from, want).await?;
        if out.len() >= want {
            return Ok(out);
        }
    }
    let from = match after {
        Some((None, cluster, id)) => Some((cluster, id)),
        _ => None,
    };
    out.extend(unseen(conn, c, from, want - out.len()).await?);
    Ok(out)
}

fn limit(want: usize) -> i64 {
    i64::try_from(want).unwrap_or(i64::MAX)
}

/// The whole selection, each finding's sighting looked up, sorted.
async fn whole(
    conn: &mut PgConnection,
    c: &Criteria,
    after: Option<(Option<chrono::DateTime<chrono::Utc>>, i64, i64)>,
    want: usize,
) -> Result<Vec<FindingRow>, sqlx::Error> {
    let mut qb = QueryBuilder::new("select * from (");
    qb.push(ROW_HEAD);
    push_sighting(&mut qb, c);
    qb.push(ROW_TAIL)
        .push(" from finding f")
        .push(ROW_JOINS)
        .push(" where true");
    push_conditions(&mut qb, c);
    qb.push(") x where true");
    match after {
        Some((Some(t), cluster, id)) => {
            qb.push(" and (x.last_seen < ")
                .push_bind(t)
                .push(" or x.last_seen is null or (x.last_seen = ")
                .push_bind(t)
                .push(" and (x.cluster_id, x.id) < (")
                .push_bind(cluster)
                .push(", ")
                .push_bind(id)
                .push(")))");
        }
        Some((None, cluster, id)) => {
            qb.push(" and x.last_seen is null and (x.cluster_id, x.id) < (")
                .push_bind(cluster)
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        None => {}
    }
    qb.push(" order by x.last_seen desc nulls last, x.cluster_id desc, x.id desc limit ")
        .push_bind(limit(want));
    let fetched = qb.build().fetch_all(conn).await?;
    fetched.iter().map(row_of).collect()
}

/// The findings still seen, scope by scope from the newest, after `(t, cluster, id)`.
async fn walk(
    conn: &mut PgConnection,
    c: &Criteria,
    after: Option<(chrono::DateTime<chrono::Utc>, i64, i64)>,
    want: usize,
) -> Result<Vec<FindingRow>, sqlx::Error> {
    let mut qb = QueryBuilder::new(ROW_HEAD);
    qb.push("k.seen").push(ROW_TAIL).push(
        " from (
          select s.last_seen_at as seen, x.cluster_id, x.id
          from scan_scope s
          cross join lateral (
              select f.cluster_id, f.id
              from observation o
              join finding f on f.cluster_id = o.cluster_id and f.id = o.finding_id
              where o.scope_id = s.id and o.active",
    );
    push_conditions(&mut qb, c);
    // taken at its newest scope only (the scope id breaks a tie of times)
    qb.push(
        " and not exists (
                  select 1 from observation o2 join scan_scope s2 on s2.id = o2.scope_id
                  where o2.cluster_id = f.cluster_id and o2.finding_id = f.id and o2.active",
    );
    push_scopes(&mut qb, c, "s2");
    qb.push(
        " and (s2.last_seen_at > s.last_seen_at
                         or (s2.last_seen_at = s.last_seen_at and s2.id > s.id)))",
    );
    if let Some((t, cluster, id)) = after {
        qb.push(" and (s.last_seen_at < ")
            .push_bind(t)
            .push(" or (f.cluster_id, f.id) < (")
            .push_bind(cluster)
            .push(", ")
            .push_bind(id)
            .push("))");
    }
    qb.push(" order by f.cluster_id desc, f.id desc limit ")
        .push_bind(limit(want))
        .push(") x where true");
    push_scopes(&mut qb, c, "s");
    if let Some((t, _, _)) = after {
        qb.push(" and s.last_seen_at <= ").push_bind(t);
    }
    qb.push(" order by s.last_seen_at desc, x.cluster_id desc, x.id desc limit ")
        .push_bind(limit(want))
        .push(") k join finding f on f.cluster_id = k.cluster_id and f.id = k.id")
        .push(ROW_JOINS)
        .push(" order by k.seen desc, f.cluster_id desc, f.id desc");
    let fetched = qb.build().fetch_all(conn).await?;
    fetched.iter().map(row_of).collect()
}

/// The findings no scope that counts sees any more, in key order after `(cluster, id)`.
async fn unseen(
    conn: &mut PgConnection,
    c: &Criteria,
    after: Option<(i64, i64)>,
    want: usize,
) -> Result<Vec<FindingRow>, sqlx::Error> {
    let mut qb = QueryBuilder::new(ROW_HEAD);
    qb.push("null::timestamptz")
        .push(ROW_TAIL)
        .push(" from finding f")
        .push(ROW_JOINS)
        .push(" where true");
    push_conditions(&mut qb, c);
    qb.push(
        " and not exists (select 1 from observation o join scan_scope s on s.id = o.scope_id
                          where o.cluster_id = f.cluster_id and o.finding_id = f.id and o.active",
    );
    push_scopes(&mut qb, c, "s");
    qb.push(")");
    if let Some((cluster, id)) = after {
        qb.push(" and (f.cluster_id, f.id) < (")
            .push_bind(cluster)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    qb.push(" order by f.cluster_id desc, f.id desc limit ")
        .push_bind(limit(want));
    let fetched = qb.build().fetch_all(conn).await?;
    fetched.iter().map(row_of).collect()
}
