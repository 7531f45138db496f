//! The findings explorer's engine: a [`ListFilter`] checked into [`Criteria`], and the rows,
//! facets, groups and keys they select. Every reader of "the findings this filter selects"
//! (the page, the read API, bulk decisions, the CSV export) goes through [`Criteria`] and
//! [`push_conditions`], so they all select the same set.
//!
//! Scale (1M findings, see `docs/benchmarks.md`):
//! - The SQL is built per request with only the conditions in force (never `$1 is null or …`),
//!   so PostgreSQL plans each combination with the indexes that fit it.
//! - Facet counts and totals come from `finding_facet` (counts per facet key, kept exact by
//!   triggers; see its migration) whenever the filters are all facet values, and are counted
//!   from the findings only when the filter has text, SLA state or one asset.
//! - Pages are keyset pages in the index order of each sort (`after=`), never `offset`.
//! - Groups are found by walking the findings riskiest first until enough distinct groups
//!   appeared: a group's highest risk is the risk of its first row in that walk.
//!
//! `facets.rs` counts the facets and the total, `groups.rs` finds the groups; this file checks
//! the filter and owns the conditions, orders, rows and pages they all build on.
//!
//! Scope: the clusters the viewer may see, narrowed by provider, environment and cluster; the
//! fleet-level findings (cluster 0, from CI) only for a viewer who sees every cluster and has
//! not narrowed by cluster, as on the overview.

use std::collections::BTreeMap;

use app::model::{FindingList, FindingRow, ListFilter, Severity};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

use super::overview::{ENVIRONMENTS, PROVIDERS};

// The SQL of a finding row, in pieces: the last-seen order puts its own sighting between the
// head and the tail and its own walk before the joins.

/// A finding's last sighting: the newest `last_seen_at` of the scopes that still see it.
macro_rules! last_seen_sql {
    () => {
        "(select max(s.last_seen_at) from observation o
      join scan_scope s on s.id = o.scope_id
      where o.cluster_id = f.cluster_id and o.finding_id = f.id and o.active)"
    };
}

/// A finding row's columns up to its last sighting.
macro_rules! row_head {
    () => {
        "select f.cluster_id, f.id, f.severity, f.risk_score, f.kind, f.status,
           f.title, f.vulnerability_id, f.first_seen, "
    };
}

/// A finding row's columns after its last sighting.
macro_rules! row_tail {
    () => {
        " as last_seen,
           v.description,
           co.name || ' ' || co.version as package,
           i.repository || coalesce(':' || i.tag, '') as image,
           c.name as cluster, f.resource"
    };
}

/// The joins a finding row reads (`f` is the finding).
macro_rules! row_joins {
    () => {
        "
    left join vulnerability v on v.id = f.vulnerability_id
    left join component co on co.id = f.component_id
    left join image i on i.id = f.image_id
    left join cluster c on c.id = f.cluster_id"
    };
}

const LAST_SEEN: &str = last_seen_sql!();
const ROW_HEAD: &str = row_head!();
const ROW_TAIL: &str = row_tail!();
const ROW_JOINS: &str = row_joins!();

mod facets;
mod groups;
mod last_seen;

pub use facets::{facets, kind_label, status_label};
pub use groups::groups;

/// Rows per page.
pub const PAGE: usize = 50;
/// Groups shown.
pub const GROUPS: usize = 50;
/// Findings shown inside each group.
const GROUP_TOP: i64 = 3;
/// Values shown for a facet with many (clusters, namespaces).
const FACET_VALUES: usize = 15;
/// The kinds of finding, as stored.
pub const KINDS: [&str; 6] = [
    "vulnerability",
    "misconfiguration",
    "secret",
    "rbac",
    "control",
    "runtime",
];
/// The statuses the explorer filters on (`open` means open or reopened).
pub const STATUSES: [&str; 6] = [
    "open",
    "reopened",
    "accepted",
    "false_positive",
    "suppressed_by_vex",
    "fixed",
];

/// Not a status: the facet count's criteria, which leave the status to the status facet.
const ANY_STATUS: &str = "(any)";

/// How the rows are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    /// Riskiest first (then severity).
    Risk,
    /// Worst severity first (then risk).
    Severity,
    /// Newest first.
    FirstSeen,
    /// Seen most recently first (by the scopes that still see it; never seen again last).
    LastSeen,
}

/// What the rows are grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// One group per vulnerability id.
    Vulnerability,
    /// One group per image.
    Image,
    /// One group per workload.
    Workload,
    /// One group per cluster.
    Cluster,
}

impl Group {
    fn parse(word: &str) -> Option<Group> {
        match word {
            "vulnerability" => Some(Group::Vulnerability),
            "image" => Some(Group::Image),
            "workload" => Some(Group::Workload),
            "cluster" => Some(Group::Cluster),
            _ => None,
        }
    }
}

/// Where a keyset page starts: the last row of the page before, in the sort's terms.
#[derive(Clone, Debug, PartialEq)]
pub enum Cursor {
    /// (risk, severity, cluster, id) of the last row.
    Risk(i16, i16, i64, i64),
    /// (severity, risk, cluster, id).
    Severity(i16, i16, i64, i64),
    /// (first seen, cluster, id).
    FirstSeen(DateTime<Utc>, i64, i64),
    /// (last seen, cluster, id); no last seen: past every finding still seen.
    LastSeen(Option<DateTime<Utc>>, i64, i64),
}

impl Cursor {
    /// As it travels in `after=`.
    pub fn encode(&self) -> String {
        match self {
            Cursor::Risk(r, s, c, i) | Cursor::Severity(s, r, c, i) => format!("{r}.{s}.{c}.{i}"),
            Cursor::FirstSeen(t, c, i) => format!("{}.{c}.{i}", t.timestamp_micros()),
            Cursor::LastSeen(Some(t), c, i) => format!("{}.{c}.{i}", t.timestamp_micros()),
            Cursor::LastSeen(None, c, i) => format!("none.{c}.{i}"),
        }
    }

    fn decode(sort: Sort, text: &str) -> Option<Cursor> {
        let parts: Vec<&str> = text.split('.').collect();
        match (sort, parts.as_slice()) {
            (Sort::Risk | Sort::Severity, [r, s, c, i]) => {
                let (r, s) = (r.parse().ok()?, s.parse().ok()?);
                let (c, i) = (c.parse().ok()?, i.parse().ok()?);
                Some(if sort == Sort::Risk {
                    Cursor::Risk(r, s, c, i)
                } else {
                    Cursor::Severity(s, r, c, i)
                })
            }
            (Sort::FirstSeen, [t, c, i]) => Some(Cursor::FirstSeen(
                DateTime::from_timestamp_micros(t.parse().ok()?)?,
                c.parse().ok()?,
                i.parse().ok()?,
            )),
            (Sort::LastSeen, [t, c, i]) => Some(Cursor::LastSeen(
                match *t {
                    "none" => None,
                    t => Some(DateTime::from_timestamp_micros(t.parse().ok()?)?),
                },
                c.parse().ok()?,
                i.parse().ok()?,
            )),
            _ => None,
        }
    }
}

/// One visible cluster and what the cluster facets read from it.
#[derive(Clone, Debug)]
struct ClusterMeta {
    name: String,
    provider: Option<String>,
    environment: Option<String>,
}

/// A checked filter: every value known, every name resolved within the viewer's scope.
#[derive(Clone, Debug)]
pub struct Criteria {
    /// Clusters the viewer may see (with 0 for an unlimited viewer).
    visible: BTreeMap<i64, ClusterMeta>,
    /// The selected clusters: `visible` narrowed by provider, environment and cluster.
    pub clusters: Vec<i64>,
    provider: Option<String>,
    environment: Option<String>,
    cluster: Option<i64>,
    /// Namespace name and the ids it has in the visible clusters.
    namespace: Option<(String, Vec<i64>)>,
    /// Source: findings that one of its scopes observed (its name, id, and the clusters it
    /// observed findings in, which narrow the findings to read).
    source: Option<Source>,
    severity: Option<i16>,
    kind: Option<String>,
    status: String,
    kev: Option<bool>,
    fix: Option<bool>,
    exposed: Option<bool>,
    vulnerability: Option<String>,
    image: Option<i64>,
    workload: Option<(i64, i64)>,
    /// The search: its ILIKE pattern and what it matched in the small tables.
    text: Option<Search>,
    overdue_days: Option<[i32; 5]>,
    /// The order and the page.
    pub sort: Sort,
    /// Groups instead of rows.
    pub group: Option<Group>,
    after: Option<Cursor>,
}

#[derive(Clone, Debug)]
struct Source {
    name: String,
    id: i64,
    clusters: Vec<i64>,
}

#[derive(Clone, Debug)]
struct Search {
    pattern: String,
    vulnerabilities: Vec<String>,
    components: Vec<i64>,
    images: Vec<i64>,
}

/// Why a filter cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No cluster of this name for this viewer.
    NoSuchCluster(String),
    /// A value the filter does not take, in words.
    BadValue(String),
}

fn clean(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn shown(value: &str) -> String {
    value.chars().take(60).collect()
}

fn one_of(name: &str, value: Option<&str>, allowed: &[&str]) -> Result<Option<String>, Refusal> {
    match value {
        None => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v.to_owned())),
        Some(v) => Err(Refusal::BadValue(format!(
            "'{}' is not a {name}: use one of {}",
            shown(v),
            allowed.join(", ")
        ))),
    }
}

fn yes_no(name: &str, value: Option<&str>, yes: &str, no: &str) -> Result<Option<bool>, Refusal> {
    Ok(one_of(name, value, &[yes, no])?.map(|v| v == yes))
}

/// Escapes `%`, `_` and `\` for a LIKE pattern that finds `text` anywhere.
pub fn contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Checks `filter` for a viewer limited to `scope` (`None`: every cluster).
#[tracing::instrument(skip_all, err)]
pub async fn check(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
    filter: &ListFilter,
) -> Result<Result<Criteria, Refusal>, sqlx::Error> {
    let checked = (|| {
        Ok::<_, Refusal>((
            one_of("provider", clean(&filter.provider), &PROVIDERS)?,
            one_of("environment", clean(&filter.environment), &ENVIRONMENTS)?,
            one_of("kind", clean(&filter.kind), &KINDS)?,
            one_of("status", clean(&filter.status), &STATUSES)?,
            yes_no("KEV filter", clean(&filter.kev), "yes", "no")?,
            yes_no("fix filter", clean(&filter.fix), "yes", "no")?,
            yes_no("exposure", clean(&filter.exposure), "internet", "internal")?,
        ))
    })();
    let (provider, environment, kind, status, kev, fix, exposed) = match checked {
        Ok(values) => values,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let severity = match clean(&filter.severity) {
        None => None,
        Some(word) => match Severity::parse(word) {
            Some(s) => Some(s.as_i16()),
            None => {
                return Ok(Err(Refusal::BadValue(format!(
                    "'{}' is not a severity (critical, high, medium, low, unknown)",
                    shown(word)
                ))));
            }
        },
    };
    let sort = match clean(&filter.sort) {
        None | Some("risk") => Sort::Risk,
        Some("severity") => Sort::Severity,
        Some("first_seen") => Sort::FirstSeen,
        Some("last_seen") => Sort::LastSeen,
        Some(other) => {
            return Ok(Err(Refusal::BadValue(format!(
                "'{}' is not an order: use risk, severity, first_seen or last_seen",
                shown(other)
            ))));
        }
    };
    let group = match clean(&filter.group) {
        None => None,
        Some(word) => match Group::parse(word) {
            Some(g) => Some(g),
            None => {
                return Ok(Err(Refusal::BadValue(format!(
                    "'{}' is not a grouping: use vulnerability, image, workload or cluster",
                    shown(word)
                ))));
            }
        },
    };
    let after = match clean(&filter.after) {
        None => None,
        Some(text) => match Cursor::decode(sort, text) {
            Some(c) => Some(c),
            None => {
                return Ok(Err(Refusal::BadValue(format!(
                    "'{}' is not a page position of this order",
                    shown(text)
                ))));
            }
        },
    };
    let image = match clean(&filter.image) {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(id) if id > 0 => Some(id),
            _ => {
                return Ok(Err(Refusal::BadValue(format!(
                    "'{}' is not an image id",
                    shown(v)
                ))));
            }
        },
    };
    let workload = match clean(&filter.workload) {
        None => None,
        Some(v) => match v
            .split_once(':')
            .map(|(c, w)| (c.parse::<i64>(), w.parse::<i64>()))
        {
            Some((Ok(c), Ok(w))) if c > 0 && w > 0 => Some((c, w)),
            _ => {
                return Ok(Err(Refusal::BadValue(format!(
                    "'{}' is not a workload (cluster id:workload id)",
                    shown(v)
                ))));
            }
        },
    };
    let vulnerability = match clean(&filter.vulnerability) {
        None => None,
        Some(v) if v.len() <= 100 && !v.chars().any(char::is_whitespace) => Some(v.to_owned()),
        Some(v) => {
            return Ok(Err(Refusal::BadValue(format!(
                "'{}' is not a vulnerability id",
                shown(v)
            ))));
        }
    };
    let overdue_days = match clean(&filter.sla) {
        None => None,
        Some("overdue") => Some(super::settings::sla_policy(conn).await?.days_by_severity()),
        Some(other) => {
            return Ok(Err(Refusal::BadValue(format!(
                "'{}' is not an SLA filter (overdue)",
                shown(other)
            ))));
        }
    };

    // the clusters this viewer sees, and the selection within them
    let rows = sqlx::query!(
        "select id, name, provider, environment from cluster
         where ($1::bigint[] is null or id = any($1)) order by id",
        scope as Option<&[i64]>
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut visible: BTreeMap<i64, ClusterMeta> = rows
        .into_iter()
        .map(|r| {
            let meta = ClusterMeta {
                name: r.name,
                provider: Some(r.provider),
                environment: Some(r.environment),
            };
            (r.id, meta)
        })
        .collect();
    if scope.is_none() {
        visible.insert(
            0,
            ClusterMeta {
                name: String::new(),
                provider: None,
                environment: None,
            },
        );
    }
    let cluster = match clean(&filter.cluster) {
        None => None,
        Some(name) => match visible.iter().find(|(id, m)| **id != 0 && m.name == name) {
            Some((id, _)) => Some(*id),
            None => {
                return Ok(Err(Refusal::NoSuchCluster(
                    name.chars().take(128).collect(),
                )));
            }
        },
    };
    if let Some((c, _)) = workload
        && !visible.contains_key(&c)
    {
        return Ok(Err(Refusal::BadValue(format!(
            "no workload {c}:… among the clusters you see"
        ))));
    }
    let namespace = match clean(&filter.namespace) {
        None => None,
        Some(name) => {
            let ids: Vec<i64> = visible.keys().copied().filter(|id| *id != 0).collect();
            let found = sqlx::query_scalar!(
                "select id from namespace where cluster_id = any($1) and name = $2",
                &ids,
                name
            )
            .fetch_all(&mut *conn)
            .await?;
            if found.is_empty() {
                return Ok(Err(Refusal::BadValue(format!(
                    "no namespace '{}' in the clusters you see",
                    shown(name)
                ))));
            }
            Some((name.to_owned(), found))
        }
    };
    let source = match clean(&filter.source) {
        None => None,
        Some(name) => {
            // a source of a visible cluster, or one (a CI pipeline, a central scanner) that
            // observed findings the viewer sees
            let ids: Vec<i64> = visible.keys().copied().collect();
            let found = sqlx::query_scalar!(
                "select s.id from source s where s.name = $1
                   and (s.cluster_id = any($2)
                        or exists (select 1 from finding_source_facet x
                                   where x.source_id = s.id and x.cluster_id = any($2)
                                     and x.n > 0))",
                name,
                &ids
            )
            .fetch_optional(&mut *conn)
            .await?;
            match found {
                Some(id) => Some(Source {
                    name: name.to_owned(),
                    id,
                    clusters: sqlx::query_scalar!(
                        "select distinct cluster_id from finding_source_facet
                         where source_id = $1 and cluster_id = any($2) and n > 0",
                        id,
                        &ids
                    )
                    .fetch_all(&mut *conn)
                    .await?,
                }),
                None => {
                    return Ok(Err(Refusal::BadValue(format!(
                        "no source '{}' among the findings you see",
                        shown(name)
                    ))));
                }
            }
        }
    };
    let text = match clean(&filter.q) {
        None => None,
        Some(q) => {
            let q: String = q.chars().take(200).collect();
            let pattern = contains_pattern(&q);
            let vulnerabilities = sqlx::query_scalar!(
                "select id from vulnerability where id ilike $1 limit 5000",
                pattern
            )
            .fetch_all(&mut *conn)
            .await?;
            let components = sqlx::query_scalar!(
                "select id from component where name ilike $1 limit 5000",
                pattern
            )
            .fetch_all(&mut *conn)
            .await?;
            let images = sqlx::query_scalar!(
                "select id from image where repository ilike $1 limit 5000",
                pattern
            )
            .fetch_all(&mut *conn)
            .await?;
            Some(Search {
                pattern,
                vulnerabilities,
                components,
                images,
            })
        }
    };
    let mut criteria = Criteria {
        visible,
        clusters: Vec::new(),
        provider,
        environment,
        cluster,
        namespace,
        source,
        severity,
        kind,
        status: status.unwrap_or_else(|| "open".to_owned()),
        kev,
        fix,
        exposed,
        vulnerability,
        image,
        workload,
        text,
        overdue_days,
        sort,
        group,
        after,
    };
    criteria.clusters = criteria
        .visible
        .keys()
        .copied()
        .filter(|id| criteria.cluster_selected(*id, None))
        .collect();
    Ok(Ok(criteria))
}

impl Criteria {
    /// Whether `c` selects every cluster there is: a viewer of every cluster who has not
    /// narrowed by provider, environment or cluster. Then no condition on the cluster is
    /// written: `cluster_id = any(<every cluster>)` would only cost a scan of the list per
    /// finding (a probe of the index per cluster where it is an index condition).
    pub(crate) fn every_cluster(&self) -> bool {
        self.visible.contains_key(&0) && self.clusters.len() == self.visible.len()
    }
}

/// Appends ` and …` for every condition of `c` (the finding is `f`).
pub fn push_conditions(qb: &mut QueryBuilder<'_, Postgres>, c: &Criteria) {
    if !c.every_cluster() {
        qb.push(" and f.cluster_id = any(")
            .push_bind(c.clusters.clone())
            .push(")");
    }
    match c.status.as_str() {
        "open" => qb.push(" and f.status in ('open', 'reopened')"),
        // the facets' own count leaves the status to its facet
        ANY_STATUS => qb,
        status => qb.push(" and f.status = ").push_bind(status.to_owned()),
    };
    if let Some((_, ids)) = &c.namespace {
        qb.push(" and f.namespace_id = any(")
            .push_bind(ids.clone())
            .push(")");
    }
    if let Some(source) = &c.source {
        // the clusters first: a source usually reports one, whose findings are read by key
        qb.push(" and f.cluster_id = any(")
            .push_bind(source.clusters.clone())
            .push(
                ") and exists (select 1 from observation o join scan_scope s on s.id = o.scope_id
                          where o.cluster_id = f.cluster_id and o.finding_id = f.id
                            and s.source_id = ",
            )
            .push_bind(source.id)
            .push(")");
    }
    if let Some(s) = c.severity {
        qb.push(" and f.severity = ").push_bind(s);
    }
    if let Some(k) = &c.kind {
        qb.push(" and f.kind = ").push_bind(k.clone());
    }
    match c.kev {
        Some(true) => {
            qb.push(" and exists (select 1 from intel_kev k where k.cve_id = f.vulnerability_id)");
        }
        Some(false) => {
            qb.push(
                " and not exists (select 1 from intel_kev k where k.cve_id = f.vulnerability_id)",
            );
        }
        None => {}
    }
    match c.fix {
        Some(true) => qb.push(" and f.fixed_version is not null"),
        Some(false) => qb.push(" and f.fixed_version is null"),
        None => qb,
    };
    match c.exposed {
        Some(true) => qb.push(" and f.risk_factors->>'exposure' is not null"),
        Some(false) => qb.push(" and f.risk_factors->>'exposure' is null"),
        None => qb,
    };
    if let Some(v) = &c.vulnerability {
        qb.push(" and f.vulnerability_id = ").push_bind(v.clone());
    }
    if let Some(i) = c.image {
        qb.push(" and f.image_id = ").push_bind(i);
    }
    if let Some((cluster, workload)) = c.workload {
        qb.push(" and f.cluster_id = ")
            .push_bind(cluster)
            .push(" and f.workload_id = ")
            .push_bind(workload);
    }
    if let Some(search) = &c.text {
        qb.push(" and (f.title ilike ")
            .push_bind(search.pattern.clone());
        if !search.vulnerabilities.is_empty() {
            qb.push(" or f.vulnerability_id = any(")
                .push_bind(search.vulnerabilities.clone())
                .push(")");
        }
        if !search.components.is_empty() {
            qb.push(" or f.component_id = any(")
                .push_bind(search.components.clone())
                .push(")");
        }
        if !search.images.is_empty() {
            qb.push(" or f.image_id = any(")
                .push_bind(search.images.clone())
                .push(")");
        }
        qb.push(")");
    }
    if let Some(days) = c.overdue_days {
        // past its SLA by the end of today (UTC), as the daily rollup counts it; the clock
        // starts when the finding (re)opened; KEV findings on the critical clock
        qb.push(
            " and f.status_changed_at + make_interval(days => case
                 when exists (select 1 from intel_kev k where k.cve_id = f.vulnerability_id)
                 then (",
        )
        .push_bind(days.to_vec())
        .push("::int[])[5] else (")
        .push_bind(days.to_vec())
        .push(
            "::int[])[f.severity + 1] end)
               < (((now() at time zone 'utc')::date + 1)::timestamp at time zone 'utc')",
        );
    }
}

/// The ORDER BY of a sort (every column descends, as its index does).
pub fn order_by(sort: Sort) -> String {
    match sort {
        Sort::Risk => {
            " order by coalesce(f.risk_score, -1) desc, f.severity desc, f.cluster_id desc, f.id desc"
                .to_owned()
        }
        Sort::Severity => {
            " order by f.severity desc, coalesce(f.risk_score, -1) desc, f.cluster_id desc, f.id desc"
                .to_owned()
        }
        Sort::FirstSeen => " order by f.first_seen desc, f.cluster_id desc, f.id desc".to_owned(),
        Sort::LastSeen => {
            format!(" order by {LAST_SEEN} desc nulls last, f.cluster_id desc, f.id desc")
        }
    }
}

/// The order of a sort, and the keyset condition after `cursor` (not for [`Sort::LastSeen`],
/// whose pages [`rows`] reads its own way).
fn push_order(qb: &mut QueryBuilder<'_, Postgres>, sort: Sort, after: Option<&Cursor>) {
    match after {
        Some(Cursor::Risk(r, s, c, i)) => {
            qb.push(" and (coalesce(f.risk_score, -1), f.severity, f.cluster_id, f.id) < (")
                .push_bind(*r)
                .push(", ")
                .push_bind(*s)
                .push(", ")
                .push_bind(*c)
                .push(", ")
                .push_bind(*i)
                .push(")");
        }
        Some(Cursor::Severity(s, r, c, i)) => {
            qb.push(" and (f.severity, coalesce(f.risk_score, -1), f.cluster_id, f.id) < (")
                .push_bind(*s)
                .push(", ")
                .push_bind(*r)
                .push(", ")
                .push_bind(*c)
                .push(", ")
                .push_bind(*i)
                .push(")");
        }
        Some(Cursor::FirstSeen(t, c, i)) => {
            qb.push(" and (f.first_seen, f.cluster_id, f.id) < (")
                .push_bind(*t)
                .push(", ")
                .push_bind(*c)
                .push(", ")
                .push_bind(*i)
                .push(")");
        }
        Some(Cursor::LastSeen(..)) | None => {}
    }
    qb.push(order_by(sort));
}

const ROW_COLUMNS: &str = concat!(
    row_head!(),
    last_seen_sql!(),
    row_tail!(),
    "
    from finding f",
    row_joins!(),
    "
    where true"
);

fn row_of(r: &sqlx::postgres::PgRow) -> Result<FindingRow, sqlx::Error> {
    Ok(FindingRow {
        cluster_id: r.try_get("cluster_id")?,
        id: r.try_get("id")?,
        severity: Severity::from_i16(r.try_get("severity")?),
        risk: r.try_get("risk_score")?,
        kind: r.try_get("kind")?,
        status: r.try_get("status")?,
        title: r.try_get("title")?,
        vulnerability: r.try_get("vulnerability_id")?,
        description: r
            .try_get::<Option<String>, _>("description")?
            .map(|d| d.chars().take(400).collect()),
        package: r.try_get("package")?,
        image: r.try_get("image")?,
        cluster: r.try_get("cluster")?,
        resource: r.try_get("resource")?,
        first_seen: r.try_get("first_seen")?,
        last_seen: r.try_get("last_seen")?,
    })
}

/// One page of rows, and the position after its last row when more follow. `total` is how
/// many `c` selects (from [`facets`]): the last-seen order reads a small selection whole and
/// walks the scopes for a large one.
#[tracing::instrument(skip_all, err)]
pub async fn rows(
    conn: &mut PgConnection,
    c: &Criteria,
    total: i64,
    limit: usize,
) -> Result<(Vec<FindingRow>, Option<Cursor>), sqlx::Error> {
    let mut rows = if c.sort == Sort::LastSeen {
        last_seen::rows(conn, c, total, limit + 1).await?
    } else {
        let mut qb = QueryBuilder::new(ROW_COLUMNS);
        push_conditions(&mut qb, c);
        push_order(&mut qb, c.sort, c.after.as_ref());
        qb.push(" limit ")
            .push_bind(i64::try_from(limit + 1).unwrap_or(i64::MAX));
        let fetched = qb.build().fetch_all(conn).await?;
        fetched.iter().map(row_of).collect::<Result<Vec<_>, _>>()?
    };
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|r| cursor_of(c.sort, r))
    } else {
        None
    };
    Ok((rows, next))
}

fn cursor_of(sort: Sort, r: &FindingRow) -> Cursor {
    let risk = r.risk.unwrap_or(-1);
    let severity = r.severity.as_i16();
    match sort {
        Sort::Risk => Cursor::Risk(risk, severity, r.cluster_id, r.id),
        Sort::Severity => Cursor::Severity(severity, risk, r.cluster_id, r.id),
        Sort::FirstSeen => Cursor::FirstSeen(r.first_seen, r.cluster_id, r.id),
        Sort::LastSeen => Cursor::LastSeen(r.last_seen, r.cluster_id, r.id),
    }
}

/// The keys of every finding `c` selects (for bulk decisions), at most `limit` + 1 so the
/// caller can tell when there are more than it accepts.
#[tracing::instrument(skip_all, err)]
pub async fn matching_keys(
    conn: &mut PgConnection,
    c: &Criteria,
    limit: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let mut qb = QueryBuilder::new("select f.cluster_id, f.id from finding f where true");
    push_conditions(&mut qb, c);
    qb.push(" limit ").push_bind(limit.saturating_add(1));
    qb.build()
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("cluster_id")?, r.try_get("id")?)))
        .collect()
}

/// The whole explorer page for `c`.
#[tracing::instrument(skip_all, err)]
pub async fn page(conn: &mut PgConnection, c: &Criteria) -> Result<FindingList, sqlx::Error> {
    let (facets, total) = facets(conn, c).await?;
    let (rows, groups, next) = match c.group {
        Some(group) => (Vec::new(), groups(conn, c, group).await?, None),
        None => {
            let (rows, next) = rows(conn, c, total, PAGE).await?;
            (rows, Vec::new(), next.map(|n| n.encode()))
        }
    };
    Ok(FindingList {
        rows,
        total,
        facets,
        groups,
        next,
        can_decide: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_what_they_wrote() {
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).expect("a time");
        for (sort, cursor) in [
            (Sort::Risk, Cursor::Risk(87, 4, 12, 345)),
            (Sort::Risk, Cursor::Risk(-1, 0, 0, 1)),
            (Sort::Severity, Cursor::Severity(3, 55, 7, 9)),
            (Sort::FirstSeen, Cursor::FirstSeen(at, 2, 3)),
        ] {
            assert_eq!(Cursor::decode(sort, &cursor.encode()), Some(cursor));
        }
        assert_eq!(Cursor::decode(Sort::Risk, "1.2.3"), None);
        assert_eq!(Cursor::decode(Sort::FirstSeen, "x.1.2"), None);
        assert_eq!(Cursor::decode(Sort::Severity, "1.2.3.4.5"), None);
    }

    #[test]
    fn search_patterns_match_the_text_literally() {
        assert_eq!(contains_pattern("openssl"), "%openssl%");
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
