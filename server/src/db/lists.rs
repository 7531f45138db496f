//! Read models for the findings and runtime events lists. Every query takes the viewer's
//! cluster scope (`None`: unlimited) and applies it in SQL.

use app::model::{EventRow, Severity};
use sqlx::PgConnection;

/// Checked list filters, ready for SQL.
#[derive(Debug, Default)]
pub struct ListQuery {
    /// Severity as stored (0–4).
    pub severity: Option<i16>,
    /// Cluster id, resolved from the name (and checked against the scope) by the caller.
    pub cluster_id: Option<i64>,
    /// Case-insensitive text to look for.
    pub text: Option<String>,
    /// Only findings past their SLA: the days to fix per stored severity (0 unknown … 4
    /// critical), KEV findings on the critical clock.
    pub overdue_days: Option<[i32; 5]>,
}

/// The newest runtime events.
#[tracing::instrument(skip_all, err)]
pub async fn newest_events(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
    query: &ListQuery,
    limit: i64,
) -> Result<Vec<EventRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select e.time, c.name as "cluster?", e.rule, e.priority, e.output, e.namespace, e.pod,
                  e.container_name, e.image
           from runtime_event e
           left join cluster c on c.id = e.cluster_id
           where ($1::bigint[] is null or e.cluster_id = any($1))
             and ($2::bigint is null or e.cluster_id = $2)
             and ($3::text is null
                  or strpos(lower(e.rule), lower($3)) > 0
                  or strpos(lower(coalesce(e.output, '')), lower($3)) > 0)
           order by e.time desc, e.id desc
           limit $4"#,
        scope as Option<&[i64]>,
        query.cluster_id,
        query.text,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let place = match (r.namespace, r.pod, r.container_name) {
                (None, None, None) => None,
                (ns, pod, container) => Some(format!(
                    "{}/{}{}",
                    ns.unwrap_or_default(),
                    pod.unwrap_or_default(),
                    container.map(|c| format!(" ({c})")).unwrap_or_default()
                )),
            };
            EventRow {
                time: r.time,
                cluster: r.cluster,
                rule: r.rule,
                priority: r.priority,
                output: r.output,
                place,
                image: r.image,
            }
        })
        .collect())
}

/// What a list filter turned into.
#[derive(Debug)]
pub enum Lookup {
    /// Ready for SQL.
    Ready(ListQuery),
    /// The named cluster does not exist, or not for this viewer: nothing matches.
    NoSuchCluster(String),
    /// The severity is not one we know.
    BadSeverity(String),
    /// Another filter value that is not one we know, in words.
    BadValue(String),
}

/// Checks a filter: the severity word, the cluster name (against `scope`), the text, the SLA
/// state (against the policy in force).
#[tracing::instrument(skip_all, err)]
pub async fn lookup(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
    filter: &app::model::ListFilter,
) -> Result<Lookup, sqlx::Error> {
    let overdue_days = match filter
        .sla
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some("overdue") => Some(super::settings::sla_policy(conn).await?.days_by_severity()),
        Some(other) => {
            return Ok(Lookup::BadValue(format!(
                "'{}' is not an SLA filter (overdue)",
                other.chars().take(40).collect::<String>()
            )));
        }
    };
    let severity = match filter
        .severity
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(word) => match Severity::parse(word) {
            Some(s) => Some(s.as_i16()),
            None => {
                return Ok(Lookup::BadSeverity(format!(
                    "'{}' is not a severity (critical, high, medium, low, unknown)",
                    word.chars().take(40).collect::<String>()
                )));
            }
        },
    };
    let cluster_id = match filter
        .cluster
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(name) => {
            let id = super::overview::cluster_id_by_name(conn, name).await?;
            match id.filter(|id| scope.is_none_or(|s| s.contains(id))) {
                Some(id) => Some(id),
                None => return Ok(Lookup::NoSuchCluster(name.chars().take(128).collect())),
            }
        }
    };
    let text = filter
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(|q| q.chars().take(200).collect());
    Ok(Lookup::Ready(ListQuery {
        severity,
        cluster_id,
        text,
        overdue_days,
    }))
}
