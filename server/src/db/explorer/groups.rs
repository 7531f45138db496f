//! The explorer's groups: the riskiest groups of a filter (by vulnerability, image, workload
//! or cluster), each with its count and its riskiest few findings.

use std::collections::{HashMap, HashSet};

use app::model::{FindingGroup, FindingRow};
use sqlx::{PgConnection, QueryBuilder, Row};

use super::{
    Criteria, Cursor, GROUP_TOP, GROUPS, Group, ROW_COLUMNS, Sort, push_conditions, push_order,
    row_of,
};

/// The riskiest groups: the findings are read riskiest first in batches until `GROUPS`
/// distinct groups appeared (or none are left); each group's highest risk is its first row's.
/// Then each group's count and its riskiest few findings.
#[tracing::instrument(skip_all, err)]
pub async fn groups(
    conn: &mut PgConnection,
    c: &Criteria,
    group: Group,
) -> Result<Vec<FindingGroup>, sqlx::Error> {
    let key = match group {
        Group::Vulnerability => "f.vulnerability_id",
        Group::Image => "f.image_id::text",
        Group::Workload => "f.cluster_id::text || ':' || f.workload_id::text",
        Group::Cluster => "f.cluster_id::text",
    };
    // a group's key back to the indexed column it came from, so the lateral reads below use
    // the column's index (a condition on `key` itself would read every finding)
    let one_key = match group {
        Group::Vulnerability => "f.vulnerability_id = g.key",
        Group::Image => "f.image_id = g.key::bigint",
        Group::Workload => {
            "f.cluster_id = split_part(g.key, ':', 1)::bigint \
             and f.workload_id = split_part(g.key, ':', 2)::bigint"
        }
        Group::Cluster => "f.cluster_id = g.key::bigint",
    };
    let present = match group {
        Group::Vulnerability => " and f.vulnerability_id is not null",
        Group::Image => " and f.image_id is not null",
        Group::Workload => " and f.workload_id is not null",
        Group::Cluster => "",
    };
    let ordered = Criteria {
        sort: Sort::Risk,
        after: None,
        ..c.clone()
    };
    let mut found: Vec<(String, Option<i16>)> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut after: Option<Cursor> = None;
    let batch: i64 = 5000;
    loop {
        let mut qb = QueryBuilder::new(format!(
            "select {key} as key, f.risk_score, f.severity, f.cluster_id, f.id from finding f where true{present}"
        ));
        push_conditions(&mut qb, &ordered);
        push_order(&mut qb, Sort::Risk, after.as_ref());
        qb.push(" limit ").push_bind(batch);
        let fetched = qb.build().fetch_all(&mut *conn).await?;
        let n = fetched.len();
        for r in &fetched {
            let key: Option<String> = r.try_get("key")?;
            let risk: Option<i16> = r.try_get("risk_score")?;
            if let Some(key) = key
                && seen.insert(key.clone())
            {
                found.push((key, risk));
                if found.len() == GROUPS {
                    break;
                }
            }
        }
        if found.len() == GROUPS || (n as i64) < batch {
            break;
        }
        let Some(last) = fetched.last() else { break };
        after = Some(Cursor::Risk(
            last.try_get::<Option<i16>, _>("risk_score")?.unwrap_or(-1),
            last.try_get("severity")?,
            last.try_get("cluster_id")?,
            last.try_get("id")?,
        ));
    }
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = found.iter().map(|(k, _)| k.clone()).collect();
    // counts per group
    let mut qb = QueryBuilder::new(format!(
        "select {key} as key, count(*) as n from finding f where "
    ));
    push_any_key(&mut qb, group, &keys);
    push_conditions(&mut qb, &ordered);
    qb.push(" group by 1");
    let counts: HashMap<String, i64> = qb
        .build()
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("key")?, r.try_get("n")?)))
        .collect::<Result<_, sqlx::Error>>()?;
    // the riskiest few of each group
    let mut qb = QueryBuilder::new("select g.key as group_key, t.* from unnest(");
    qb.push_bind(keys.clone())
        .push("::text[]) as g(key) cross join lateral (");
    qb.push(ROW_COLUMNS);
    qb.push(" and ").push(one_key);
    push_conditions(&mut qb, &ordered);
    push_order(&mut qb, Sort::Risk, None);
    qb.push(" limit ").push_bind(GROUP_TOP).push(") t");
    let mut top: HashMap<String, Vec<FindingRow>> = HashMap::new();
    for r in qb.build().fetch_all(&mut *conn).await? {
        let k: String = r.try_get("group_key")?;
        top.entry(k).or_default().push(row_of(&r)?);
    }
    let labels = group_labels(conn, group, &keys, c).await?;
    Ok(found
        .into_iter()
        .map(|(key, risk)| FindingGroup {
            filter: match group {
                Group::Vulnerability => "vulnerability",
                Group::Image => "image",
                Group::Workload => "workload",
                Group::Cluster => "cluster",
            }
            .to_owned(),
            value: match group {
                // the cluster filter takes the name
                Group::Cluster => labels.get(&key).cloned().unwrap_or_default(),
                _ => key.clone(),
            },
            label: labels.get(&key).cloned().unwrap_or_else(|| key.clone()),
            count: counts.get(&key).copied().unwrap_or(0),
            risk,
            top: top.remove(&key).unwrap_or_default(),
        })
        .collect())
}

/// `f` is in one of the groups `keys`, as conditions on the indexed columns the keys came from.
fn push_any_key(qb: &mut QueryBuilder<'_, sqlx::Postgres>, group: Group, keys: &[String]) {
    let ids = || -> Vec<i64> { keys.iter().filter_map(|k| k.parse().ok()).collect() };
    match group {
        Group::Vulnerability => {
            qb.push("f.vulnerability_id = any(")
                .push_bind(keys.to_vec())
                .push(")");
        }
        Group::Image => {
            qb.push("f.image_id = any(").push_bind(ids()).push(")");
        }
        Group::Cluster => {
            qb.push("f.cluster_id = any(").push_bind(ids()).push(")");
        }
        Group::Workload => {
            // both columns of the (cluster, workload) index, then the exact pairs
            let (clusters, workloads): (Vec<i64>, Vec<i64>) = keys
                .iter()
                .filter_map(|k| k.split_once(':'))
                .filter_map(|(c, w)| Some((c.parse::<i64>().ok()?, w.parse::<i64>().ok()?)))
                .unzip();
            qb.push("f.cluster_id = any(")
                .push_bind(clusters)
                .push(") and f.workload_id = any(")
                .push_bind(workloads)
                .push(") and f.cluster_id::text || ':' || f.workload_id::text = any(")
                .push_bind(keys.to_vec())
                .push(")");
        }
    }
}

async fn group_labels(
    conn: &mut PgConnection,
    group: Group,
    keys: &[String],
    c: &Criteria,
) -> Result<HashMap<String, String>, sqlx::Error> {
    Ok(match group {
        Group::Vulnerability => keys.iter().map(|k| (k.clone(), k.clone())).collect(),
        Group::Cluster => keys
            .iter()
            .map(|k| {
                let id: i64 = k.parse().unwrap_or(-1);
                let name = c
                    .visible
                    .get(&id)
                    .map(|m| {
                        if id == 0 {
                            "fleet-level (CI)".to_owned()
                        } else {
                            m.name.clone()
                        }
                    })
                    .unwrap_or_default();
                (k.clone(), name)
            })
            .collect(),
        Group::Image => {
            let ids: Vec<i64> = keys.iter().filter_map(|k| k.parse().ok()).collect();
            sqlx::query!(
                r#"select id, repository || coalesce(':' || tag, '') as "name!" from image
                   where id = any($1)"#,
                &ids
            )
            .fetch_all(conn)
            .await?
            .into_iter()
            .map(|r| (r.id.to_string(), r.name))
            .collect()
        }
        Group::Workload => {
            let pairs: Vec<(i64, i64)> = keys
                .iter()
                .filter_map(|k| k.split_once(':'))
                .filter_map(|(c, w)| Some((c.parse().ok()?, w.parse().ok()?)))
                .collect();
            let clusters: Vec<i64> = pairs.iter().map(|p| p.0).collect();
            let workloads: Vec<i64> = pairs.iter().map(|p| p.1).collect();
            sqlx::query!(
                r#"select w.cluster_id, w.id, c.name as cluster, n.name as "namespace?",
                          w.kind, w.name
                   from unnest($1::bigint[], $2::bigint[]) as k(cluster_id, id)
                   join workload w on w.cluster_id = k.cluster_id and w.id = k.id
                   join cluster c on c.id = w.cluster_id
                   left join namespace n on n.cluster_id = w.cluster_id and n.id = w.namespace_id"#,
                &clusters,
                &workloads
            )
            .fetch_all(conn)
            .await?
            .into_iter()
            .map(|r| {
                let label = format!(
                    "{}/{}/{} {}",
                    r.cluster,
                    r.namespace.unwrap_or_default(),
                    r.kind.to_lowercase(),
                    r.name
                );
                (format!("{}:{}", r.cluster_id, r.id), label)
            })
            .collect()
        }
    })
}
