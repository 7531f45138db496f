//! Runtime events: stored in bulk, attributed to workloads where the pod name allows it.

use std::collections::HashMap;

use sqlx::PgConnection;

use crate::db::copy::CopyIn;
use crate::domain::report::RuntimeEventRecord;

/// Stores events of one cluster (0 when the sender is bound to none); returns the ids of the
/// workloads the events were attributed to.
#[tracing::instrument(skip_all, fields(cluster_id, events = events.len()), err)]
pub async fn insert_events(
    conn: &mut PgConnection,
    cluster_id: i64,
    report_id: i64,
    events: &[RuntimeEventRecord],
) -> Result<Vec<i64>, sqlx::Error> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let workloads = if cluster_id > 0 {
        workloads_by_namespace(conn, cluster_id).await?
    } else {
        HashMap::new()
    };
    let mut attributed = Vec::new();
    let mut copy = CopyIn::start(
        conn,
        "copy runtime_event (cluster_id, time, rule, priority, source, hostname, namespace, pod,
                             container_id, container_name, image, workload_id, process, output,
                             tags, fields, report_id)
         from stdin",
    )
    .await?;
    for e in events {
        let workload_id = match (&e.namespace, &e.pod) {
            (Some(ns), Some(pod)) => workloads
                .get(ns)
                .and_then(|list| workload_of_pod(list, pod)),
            _ => None,
        };
        if let Some(id) = workload_id {
            attributed.push(id);
        }
        let tags = postgres_text_array(&e.tags);
        copy.int(Some(cluster_id))
            .text(Some(&e.time.to_rfc3339()))
            .text(Some(&e.rule))
            .int(Some(i64::from(e.priority)))
            .text(e.source.as_deref())
            .text(e.hostname.as_deref())
            .text(e.namespace.as_deref())
            .text(e.pod.as_deref())
            .text(e.container_id.as_deref())
            .text(e.container_name.as_deref())
            .text(e.image.as_deref())
            .int(workload_id)
            .text(e.process.as_deref())
            .text(e.output.as_deref())
            .text(Some(&tags))
            .text(Some(&e.fields.to_string()))
            .int(Some(report_id));
        copy.end_row().await?;
    }
    copy.finish().await?;
    attributed.sort_unstable();
    attributed.dedup();
    Ok(attributed)
}

/// Workloads of a cluster by namespace: (name, id).
async fn workloads_by_namespace(
    conn: &mut PgConnection,
    cluster_id: i64,
) -> Result<HashMap<String, Vec<(String, i64)>>, sqlx::Error> {
    let rows = sqlx::query!(
        "select n.name as namespace, w.name, w.id
         from workload w join namespace n on n.cluster_id = w.cluster_id and n.id = w.namespace_id
         where w.cluster_id = $1",
        cluster_id
    )
    .fetch_all(conn)
    .await?;
    let mut map: HashMap<String, Vec<(String, i64)>> = HashMap::new();
    for r in rows {
        map.entry(r.namespace).or_default().push((r.name, r.id));
    }
    Ok(map)
}

/// The workload a pod belongs to: the longest workload name that prefixes the pod name
/// followed by '-' (Deployments add `-<replicaset>-<pod>`, StatefulSets `-<ordinal>`, ...), or
/// the pod itself when it is a workload of its own.
pub fn workload_of_pod(workloads: &[(String, i64)], pod: &str) -> Option<i64> {
    workloads
        .iter()
        .filter(|(name, _)| {
            pod == name
                || (pod.len() > name.len()
                    && pod.starts_with(name.as_str())
                    && pod.as_bytes()[name.len()] == b'-')
        })
        .max_by_key(|(name, _)| name.len())
        .map(|(_, id)| *id)
}

/// A PostgreSQL array literal of texts (for COPY).
fn postgres_text_array(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|t| format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", quoted.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_map_to_their_workloads() {
        let workloads = vec![
            ("shop".to_owned(), 1),
            ("shop-worker".to_owned(), 2),
            ("redis".to_owned(), 3),
        ];
        assert_eq!(
            workload_of_pod(&workloads, "shop-7d9f8b6c5d-x2x9z"),
            Some(1)
        );
        assert_eq!(
            workload_of_pod(&workloads, "shop-worker-5c8d7-abcde"),
            Some(2)
        );
        assert_eq!(workload_of_pod(&workloads, "redis-0"), Some(3));
        assert_eq!(workload_of_pod(&workloads, "redisx-0"), None);
    }

    #[test]
    fn text_arrays_are_quoted() {
        assert_eq!(
            postgres_text_array(&["T1555".into(), "a \"b\"".into()]),
            r#"{"T1555","a \"b\""}"#
        );
        assert_eq!(postgres_text_array(&[]), "{}");
    }
}
