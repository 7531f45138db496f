//! The explorer's facets: every facet's counts under the other filters, and the total, from
//! `finding_facet` when the filter is all facet values, else counted from the findings.
//!
//! The source facet has its own table, `finding_source_facet` (the same key per source: a
//! finding two scanners saw counts for each). With a source chosen, the other facets and the
//! total come from that source's rows of it.

use std::collections::HashMap;

use app::model::{Facet, FacetValue, Severity};
use sqlx::{PgConnection, QueryBuilder, Row};

use super::{ANY_STATUS, Criteria, FACET_VALUES, KINDS, STATUSES, push_conditions};

/// A facet of the explorer; `None` in [`Criteria::matches`] means every filter applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Dim {
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

/// One row of `finding_facet` or `finding_source_facet` (or the same key counted from the
/// findings).
#[derive(Clone, Debug, sqlx::FromRow)]
pub(super) struct FacetRow {
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
    pub(super) fn cluster_selected(&self, id: i64, except: Option<Dim>) -> bool {
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

    pub(super) fn status_matches(&self, status: &str) -> bool {
        match self.status.as_str() {
            "open" => status == "open" || status == "reopened",
            wanted => status == wanted,
        }
    }

    pub(super) fn matches(&self, row: &FacetRow, except: Option<Dim>) -> bool {
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
    pub(super) fn cube_answers(&self) -> bool {
        self.text.is_none()
            && self.overdue_days.is_none()
            && self.vulnerability.is_none()
            && self.image.is_none()
            && self.workload.is_none()
    }
}

/// The facet rows under the filters the cube cannot answer (or all of them).
async fn facet_rows(conn: &mut PgConnection, c: &Criteria) -> Result<Vec<FacetRow>, sqlx::Error> {
    let visible: Vec<i64> = c.visible.keys().copied().collect();
    let rows = if let (true, Some(source)) = (c.cube_answers(), &c.source) {
        sqlx::query_as!(
            FacetRow,
            r#"select cluster_id, namespace_id, severity, kind, status, kev, fix, exposed, n
               from finding_source_facet
               where source_id = $1 and cluster_id = any($2) and n > 0"#,
            source.id,
            &visible
        )
        .fetch_all(&mut *conn)
        .await?
    } else if c.cube_answers() {
        // a viewer of every cluster reads the whole table (tens of thousands of rows, each
        // compared with every cluster's id otherwise)
        sqlx::query_as!(
            FacetRow,
            r#"select cluster_id, namespace_id, severity, kind, status, kev, fix, exposed, n
               from finding_facet where n > 0 and ($2 or cluster_id = any($1))"#,
            &visible,
            c.visible.contains_key(&0)
        )
        .fetch_all(&mut *conn)
        .await?
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
            // a text search finds its matches through indexes of open findings only; every
            // status would mean reading every finding (a million at fleet scale), so under a
            // search only the chosen status is counted
            status: if c.text.is_some() {
                c.status.clone()
            } else {
                ANY_STATUS.to_owned()
            },
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
        qb.build_query_as::<FacetRow>()
            .fetch_all(&mut *conn)
            .await?
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
                (s.slug().to_owned(), s.label().to_owned(), Some(n))
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
                let counted = c.text.is_none() || c.status == *s;
                (
                    s.to_string(),
                    status_label(s).to_owned(),
                    counted.then_some(n),
                )
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
                    Some(kind.get(*k).copied().unwrap_or(0)),
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
                    Some(counts.get("true").copied().unwrap_or(0)),
                ),
                (
                    no.to_owned(),
                    no_label.to_owned(),
                    Some(counts.get("false").copied().unwrap_or(0)),
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
    facets.push(source_facet(conn, c, total).await?);
    Ok((facets, total))
}

/// The source facet: findings per source under every other filter. From
/// `finding_source_facet` when the filter is all facet values; counted from the findings'
/// observations when it names a vulnerability, an image or a workload (a few findings); under
/// a text search or the SLA filter (possibly very many), the sources are listed uncounted
/// (the chosen one counted: it is the total).
async fn source_facet(
    conn: &mut PgConnection,
    c: &Criteria,
    total: i64,
) -> Result<Facet, sqlx::Error> {
    let chosen = c.source.as_ref().map(|s| s.name.clone());
    let counted = if c.cube_answers() {
        let mut qb = QueryBuilder::new(
            "select s.name, sum(x.n)::bigint as n
             from finding_source_facet x join source s on s.id = x.source_id
             where x.n <> 0",
        );
        if !c.every_cluster() {
            qb.push(" and x.cluster_id = any(")
                .push_bind(c.clusters.clone())
                .push(")");
        }
        if let Some((_, ids)) = &c.namespace {
            qb.push(" and x.namespace_id = any(")
                .push_bind(ids.clone())
                .push(")");
        }
        if let Some(severity) = c.severity {
            qb.push(" and x.severity = ").push_bind(severity);
        }
        if let Some(kind) = &c.kind {
            qb.push(" and x.kind = ").push_bind(kind.clone());
        }
        match c.status.as_str() {
            "open" => qb.push(" and x.status in ('open', 'reopened')"),
            status => qb.push(" and x.status = ").push_bind(status.to_owned()),
        };
        for (column, value) in [("kev", c.kev), ("fix", c.fix), ("exposed", c.exposed)] {
            if let Some(value) = value {
                qb.push(format!(" and x.{column} = ")).push_bind(value);
            }
        }
        qb.push(" group by 1");
        Some(qb.build().fetch_all(&mut *conn).await?)
    } else if c.text.is_none() && c.overdue_days.is_none() {
        let others = Criteria {
            source: None,
            after: None,
            ..c.clone()
        };
        let mut qb = QueryBuilder::new(
            "select s.name, count(*) as n from (
                 select distinct f.cluster_id, f.id, sc.source_id
                 from finding f
                 join observation ob on ob.cluster_id = f.cluster_id and ob.finding_id = f.id
                 join scan_scope sc on sc.id = ob.scope_id
                 where true",
        );
        push_conditions(&mut qb, &others);
        qb.push(") x join source s on s.id = x.source_id group by 1");
        Some(qb.build().fetch_all(&mut *conn).await?)
    } else {
        None
    };
    if let Some(fetched) = counted {
        let counts = fetched
            .iter()
            .map(|r| Ok((r.try_get("name")?, r.try_get("n")?)))
            .collect::<Result<HashMap<String, i64>, sqlx::Error>>()?;
        return Ok(ranked_facet("source", "Source", counts, chosen, |v| {
            v.to_owned()
        }));
    }
    // uncounted: the sources of the selected clusters' findings, by name
    let clusters = c.clusters.clone();
    let names = sqlx::query_scalar!(
        "select s.name from source s
         where exists (select 1 from finding_source_facet x
                       where x.source_id = s.id and x.cluster_id = any($1) and x.n > 0)
         order by s.name limit $2",
        &clusters,
        FACET_VALUES as i64
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut values: Vec<FacetValue> = names
        .into_iter()
        .map(|name| FacetValue {
            selected: chosen.as_deref() == Some(name.as_str()),
            count: (chosen.as_deref() == Some(name.as_str())).then_some(total),
            label: name.clone(),
            value: name,
        })
        .collect();
    if let Some(name) = &chosen
        && !values.iter().any(|v| v.value == *name)
    {
        values.push(FacetValue {
            selected: true,
            count: Some(total),
            label: name.clone(),
            value: name.clone(),
        });
    }
    Ok(Facet {
        key: "source".to_owned(),
        label: "Source".to_owned(),
        values,
    })
}

fn fixed_facet(
    key: &str,
    label: &str,
    values: Vec<(String, String, Option<i64>)>,
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
                count: Some(count),
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
