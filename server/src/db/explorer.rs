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
//! Scope: the clusters the viewer may see, narrowed by provider, environment and cluster; the
//! fleet-level findings (cluster 0, from CI) only for a viewer who sees every cluster and has
//! not narrowed by cluster, as on the overview.

use std::collections::{BTreeMap, HashMap, HashSet};

use app::model::{Facet, FacetValue, FindingGroup, FindingList, FindingRow, ListFilter, Severity};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

use super::overview::{ENVIRONMENTS, PROVIDERS};

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
}

impl Cursor {
    /// As it travels in `after=`.
    pub fn encode(&self) -> String {
        match self {
            Cursor::Risk(r, s, c, i) | Cursor::Severity(s, r, c, i) => format!("{r}.{s}.{c}.{i}"),
            Cursor::FirstSeen(t, c, i) => format!("{}.{c}.{i}", t.timestamp_micros()),
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
        Some(other) => {
            return Ok(Err(Refusal::BadValue(format!(
                "'{}' is not an order: use risk, severity or first_seen",
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

/// A facet of the explorer; `None` in [`Criteria::matches`] means every filter applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dim {
    Provider,
    Environment,
    Cluster,
    Namespace,
    Severity,
    Kind,
    Status,
    Kev,
    Fix,
    Exposure,
}

/// One row of `finding_facet` (or the same key counted from the findings).
#[derive(Clone, Debug)]
struct FacetRow {
    cluster_id: i64,
    namespace_id: i64,
    severity: i16,
    kind: String,
    status: String,
    kev: bool,
    fix: bool,
    exposed: bool,
    n: i64,
}

impl Criteria {
    /// Whether cluster `id` is selected, leaving out the filter `except`.
    fn cluster_selected(&self, id: i64, except: Option<Dim>) -> bool {
        let Some(meta) = self.visible.get(&id) else {
            return false;
        };
        let narrowed = (except != Some(Dim::Provider) && self.provider.is_some())
            || (except != Some(Dim::Environment) && self.environment.is_some())
            || (except != Some(Dim::Cluster) && self.cluster.is_some());
        if id == 0 {
            // fleet-level findings: only in the view of everything
            return !narrowed;
        }
        (except == Some(Dim::Provider) || self.provider.is_none() || meta.provider == self.provider)
            && (except == Some(Dim::Environment)
                || self.environment.is_none()
                || meta.environment == self.environment)
            && (except == Some(Dim::Cluster) || self.cluster.is_none_or(|c| c == id))
    }

    fn status_matches(&self, status: &str) -> bool {
        match self.status.as_str() {
            "open" => status == "open" || status == "reopened",
            wanted => status == wanted,
        }
    }

    fn matches(&self, row: &FacetRow, except: Option<Dim>) -> bool {
        let skip = |d: Dim| except == Some(d);
        self.cluster_selected(row.cluster_id, except)
            && (skip(Dim::Namespace)
                || self
                    .namespace
                    .as_ref()
                    .is_none_or(|(_, ids)| ids.contains(&row.namespace_id)))
            && (skip(Dim::Severity) || self.severity.is_none_or(|s| s == row.severity))
            && (skip(Dim::Kind) || self.kind.as_ref().is_none_or(|k| *k == row.kind))
            && (skip(Dim::Status) || self.status_matches(&row.status))
            && (skip(Dim::Kev) || self.kev.is_none_or(|k| k == row.kev))
            && (skip(Dim::Fix) || self.fix.is_none_or(|f| f == row.fix))
            && (skip(Dim::Exposure) || self.exposed.is_none_or(|e| e == row.exposed))
    }

    /// Whether the facet counts can come from `finding_facet`: no filter outside its key.
    fn cube_answers(&self) -> bool {
        self.text.is_none()
            && self.overdue_days.is_none()
            && self.vulnerability.is_none()
            && self.image.is_none()
            && self.workload.is_none()
    }

    /// The filter as it would read in a heading: "critical · KEV · on aws".
    pub fn is_everything(&self) -> bool {
        self.cube_answers()
            && self.provider.is_none()
            && self.environment.is_none()
            && self.cluster.is_none()
            && self.namespace.is_none()
            && self.severity.is_none()
            && self.kind.is_none()
            && self.status == "open"
            && self.kev.is_none()
            && self.fix.is_none()
            && self.exposed.is_none()
    }
}

/// Appends ` and …` for every condition of `c` (the finding is `f`).
pub fn push_conditions(qb: &mut QueryBuilder<'_, Postgres>, c: &Criteria) {
    qb.push(" and f.cluster_id = any(")
        .push_bind(c.clusters.clone())
        .push(")");
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
pub fn order_by(sort: Sort) -> &'static str {
    match sort {
        Sort::Risk => {
            " order by coalesce(f.risk_score, -1) desc, f.severity desc, f.cluster_id desc, f.id desc"
        }
        Sort::Severity => {
            " order by f.severity desc, coalesce(f.risk_score, -1) desc, f.cluster_id desc, f.id desc"
        }
        Sort::FirstSeen => " order by f.first_seen desc, f.cluster_id desc, f.id desc",
    }
}

/// The order of a sort, and the keyset condition after `cursor`.
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
        None => {}
    }
    qb.push(order_by(sort));
}

const ROW_COLUMNS: &str = "select f.cluster_id, f.id, f.severity, f.risk_score, f.kind, f.status,
           f.title, f.vulnerability_id, f.first_seen,
           v.description,
           co.name || ' ' || co.version as package,
           i.repository || coalesce(':' || i.tag, '') as image,
           c.name as cluster, f.resource
    from finding f
    left join vulnerability v on v.id = f.vulnerability_id
    left join component co on co.id = f.component_id
    left join image i on i.id = f.image_id
    left join cluster c on c.id = f.cluster_id
    where true";

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
    })
}

/// One page of rows, and the position after its last row when more follow.
#[tracing::instrument(skip_all, err)]
pub async fn rows(
    conn: &mut PgConnection,
    c: &Criteria,
    limit: usize,
) -> Result<(Vec<FindingRow>, Option<Cursor>), sqlx::Error> {
    let mut qb = QueryBuilder::new(ROW_COLUMNS);
    push_conditions(&mut qb, c);
    push_order(&mut qb, c.sort, c.after.as_ref());
    qb.push(" limit ")
        .push_bind(i64::try_from(limit + 1).unwrap_or(i64::MAX));
    let fetched = qb.build().fetch_all(conn).await?;
    let mut rows = fetched.iter().map(row_of).collect::<Result<Vec<_>, _>>()?;
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
    }
}

/// The facet rows under the filters the cube cannot answer (or all of them).
async fn facet_rows(conn: &mut PgConnection, c: &Criteria) -> Result<Vec<FacetRow>, sqlx::Error> {
    let visible: Vec<i64> = c.visible.keys().copied().collect();
    let rows = if c.cube_answers() {
        sqlx::query!(
            r#"select cluster_id, namespace_id, severity, kind, status, kev, fix, exposed, n
               from finding_facet where cluster_id = any($1) and n > 0"#,
            &visible
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| FacetRow {
            cluster_id: r.cluster_id,
            namespace_id: r.namespace_id,
            severity: r.severity,
            kind: r.kind,
            status: r.status,
            kev: r.kev,
            fix: r.fix,
            exposed: r.exposed,
            n: r.n,
        })
        .collect()
    } else {
        // the same key counted from the findings that the other filters select; every
        // cube filter is left to the facets (each leaves out its own)
        let everything = Criteria {
            clusters: visible,
            provider: None,
            environment: None,
            cluster: None,
            namespace: None,
            severity: None,
            kind: None,
            status: ANY_STATUS.to_owned(),
            kev: None,
            fix: None,
            exposed: None,
            after: None,
            ..c.clone()
        };
        let mut qb = QueryBuilder::new(
            "select f.cluster_id, coalesce(f.namespace_id, 0) as namespace_id, f.severity,
                    f.kind, f.status, k.cve_id is not null as kev,
                    f.fixed_version is not null as fix,
                    f.risk_factors->>'exposure' is not null as exposed, count(*) as n
             from finding f left join intel_kev k on k.cve_id = f.vulnerability_id
             where true",
        );
        push_conditions(&mut qb, &everything);
        qb.push(" group by 1, 2, 3, 4, 5, 6, 7, 8");
        let fetched = qb.build().fetch_all(&mut *conn).await?;
        fetched
            .iter()
            .map(|r| {
                Ok(FacetRow {
                    cluster_id: r.try_get("cluster_id")?,
                    namespace_id: r.try_get("namespace_id")?,
                    severity: r.try_get("severity")?,
                    kind: r.try_get("kind")?,
                    status: r.try_get("status")?,
                    kev: r.try_get("kev")?,
                    fix: r.try_get("fix")?,
                    exposed: r.try_get("exposed")?,
                    n: r.try_get("n")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?
    };
    Ok(rows)
}

/// The facets and the total for `c`.
#[tracing::instrument(skip_all, err)]
pub async fn facets(
    conn: &mut PgConnection,
    c: &Criteria,
) -> Result<(Vec<Facet>, i64), sqlx::Error> {
    let rows = facet_rows(conn, c).await?;
    let total: i64 = rows
        .iter()
        .filter(|r| c.matches(r, None))
        .map(|r| r.n)
        .sum();
    let count = |dim: Dim, key: &dyn Fn(&FacetRow) -> Option<String>| {
        let mut counts: HashMap<String, i64> = HashMap::new();
        for r in rows.iter().filter(|r| c.matches(r, Some(dim))) {
            if let Some(k) = key(r) {
                *counts.entry(k).or_default() += r.n;
            }
        }
        counts
    };
    let meta = |id: i64| c.visible.get(&id);
    let mut facets = Vec::new();

    // fixed lists, in their natural order
    let severity = count(Dim::Severity, &|r| Some(r.severity.to_string()));
    facets.push(fixed_facet(
        "severity",
        "Severity",
        Severity::WORST_FIRST
            .iter()
            .map(|s| {
                let n = severity.get(&s.as_i16().to_string()).copied().unwrap_or(0);
                (s.slug().to_owned(), s.label().to_owned(), n)
            })
            .collect(),
        c.severity.map(|s| Severity::from_i16(s).slug().to_owned()),
    ));
    let status = count(Dim::Status, &|r| Some(r.status.clone()));
    let open =
        status.get("open").copied().unwrap_or(0) + status.get("reopened").copied().unwrap_or(0);
    facets.push(fixed_facet(
        "status",
        "Status",
        STATUSES
            .iter()
            .map(|s| {
                let n = if *s == "open" {
                    open
                } else {
                    status.get(*s).copied().unwrap_or(0)
                };
                (s.to_string(), status_label(s).to_owned(), n)
            })
            .collect(),
        Some(c.status.clone()),
    ));
    let kind = count(Dim::Kind, &|r| Some(r.kind.clone()));
    facets.push(fixed_facet(
        "kind",
        "Kind",
        KINDS
            .iter()
            .filter(|k| kind.contains_key(**k) || c.kind.as_deref() == Some(**k))
            .map(|k| {
                (
                    k.to_string(),
                    kind_label(k).to_owned(),
                    kind.get(*k).copied().unwrap_or(0),
                )
            })
            .collect(),
        c.kind.clone(),
    ));
    for (key, label, dim, yes, no, yes_label, no_label, of) in [
        (
            "kev",
            "Known exploited",
            Dim::Kev,
            "yes",
            "no",
            "In CISA KEV",
            "Not in KEV",
            (|r: &FacetRow| r.kev) as fn(&FacetRow) -> bool,
        ),
        (
            "fix",
            "Fix",
            Dim::Fix,
            "yes",
            "no",
            "Fix available",
            "No fix yet",
            |r: &FacetRow| r.fix,
        ),
        (
            "exposure",
            "Exposure",
            Dim::Exposure,
            "internet",
            "internal",
            "Internet-facing",
            "Internal",
            |r: &FacetRow| r.exposed,
        ),
    ] {
        let counts = count(dim, &|r| Some(of(r).to_string()));
        let selected = match dim {
            Dim::Kev => c.kev,
            Dim::Fix => c.fix,
            _ => c.exposed,
        };
        facets.push(fixed_facet(
            key,
            label,
            vec![
                (
                    yes.to_owned(),
                    yes_label.to_owned(),
                    counts.get("true").copied().unwrap_or(0),
                ),
                (
                    no.to_owned(),
                    no_label.to_owned(),
                    counts.get("false").copied().unwrap_or(0),
                ),
            ],
            selected.map(|b| if b { yes } else { no }.to_owned()),
        ));
    }
    // the cluster facets, by what the visible clusters are
    let provider = count(Dim::Provider, &|r| {
        meta(r.cluster_id).and_then(|m| m.provider.clone())
    });
    facets.push(ranked_facet(
        "provider",
        "Provider",
        provider,
        c.provider.clone(),
        |v| v.to_owned(),
    ));
    let environment = count(Dim::Environment, &|r| {
        meta(r.cluster_id).and_then(|m| m.environment.clone())
    });
    facets.push(ranked_facet(
        "environment",
        "Environment",
        environment,
        c.environment.clone(),
        |v| v.to_owned(),
    ));
    let cluster = count(Dim::Cluster, &|r| {
        (r.cluster_id != 0)
            .then(|| meta(r.cluster_id).map(|m| m.name.clone()))
            .flatten()
    });
    let chosen_cluster = c.cluster.and_then(meta).map(|m| m.name.clone());
    facets.push(ranked_facet(
        "cluster",
        "Cluster",
        cluster,
        chosen_cluster,
        |v| v.to_owned(),
    ));
    // namespaces by name across the selected clusters
    let by_id = count(Dim::Namespace, &|r| {
        (r.namespace_id != 0).then(|| r.namespace_id.to_string())
    });
    let ids: Vec<i64> = by_id.keys().filter_map(|k| k.parse().ok()).collect();
    let names: HashMap<i64, String> =
        sqlx::query!("select id, name from namespace where id = any($1)", &ids)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|r| (r.id, r.name))
            .collect();
    let mut namespace: HashMap<String, i64> = HashMap::new();
    for (id, n) in &by_id {
        if let Some(name) = id.parse::<i64>().ok().and_then(|id| names.get(&id)) {
            *namespace.entry(name.clone()).or_default() += n;
        }
    }
    facets.push(ranked_facet(
        "namespace",
        "Namespace",
        namespace,
        c.namespace.as_ref().map(|(n, _)| n.clone()),
        |v| v.to_owned(),
    ));
    Ok((facets, total))
}

fn fixed_facet(
    key: &str,
    label: &str,
    values: Vec<(String, String, i64)>,
    selected: Option<String>,
) -> Facet {
    Facet {
        key: key.to_owned(),
        label: label.to_owned(),
        values: values
            .into_iter()
            .map(|(value, label, count)| FacetValue {
                selected: selected.as_deref() == Some(value.as_str()),
                value,
                label,
                count,
            })
            .collect(),
    }
}

/// A facet of many values: the most findings first, the chosen one always included.
fn ranked_facet(
    key: &str,
    label: &str,
    counts: HashMap<String, i64>,
    selected: Option<String>,
    label_of: impl Fn(&str) -> String,
) -> Facet {
    let mut values: Vec<(String, i64)> = counts.into_iter().filter(|(_, n)| *n > 0).collect();
    values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let chosen = selected.as_deref();
    let mut kept: Vec<(String, i64)> = values.iter().take(FACET_VALUES).cloned().collect();
    if let Some(s) = chosen
        && !kept.iter().any(|(v, _)| v == s)
    {
        let n = values.iter().find(|(v, _)| v == s).map_or(0, |(_, n)| *n);
        kept.push((s.to_owned(), n));
    }
    Facet {
        key: key.to_owned(),
        label: label.to_owned(),
        values: kept
            .into_iter()
            .map(|(value, count)| FacetValue {
                selected: chosen == Some(value.as_str()),
                label: label_of(&value),
                value,
                count,
            })
            .collect(),
    }
}

/// A status as it reads.
pub fn status_label(status: &str) -> &'static str {
    match status {
        "open" => "Open",
        "reopened" => "Reopened",
        "accepted" => "Risk accepted",
        "false_positive" => "False positive",
        "suppressed_by_vex" => "Not affected (VEX)",
        "fixed" => "Fixed",
        _ => "Other",
    }
}

/// A kind as it reads.
pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "vulnerability" => "Vulnerability",
        "misconfiguration" => "Misconfiguration",
        "secret" => "Secret",
        "rbac" => "RBAC",
        "control" => "Control",
        "runtime" => "Runtime",
        _ => "Other",
    }
}

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
        "select {key} as key, count(*) as n from finding f where {key} = any("
    ));
    qb.push_bind(keys.clone()).push(")");
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
    qb.push(format!(" and {key} = g.key"));
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
            let (rows, next) = rows(conn, c, PAGE).await?;
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
