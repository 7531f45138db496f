//! Read models of the estate: the estate page (provider → cluster → namespace → workload →
//! image with open findings and risk), the image page, and where a vulnerability runs.
//!
//! Counting rule: a level's open findings are exactly those the findings explorer selects for
//! the filter the level links to (`cluster=`, `cluster=&namespace=`, `workload=`,
//! `cluster=&image=`), so the numbers agree with the list one click away.
//!
//! Cost (1M findings, 200 clusters): the top level never reads `finding`. Its counts come from
//! `finding_facet` (open counts per cluster × namespace × severity, kept exact by triggers) and
//! its risk from `risk_rollup` (per cluster, refreshed with the daily snapshot). One cluster
//! drilled into reads that cluster's open findings once, grouped by namespace, workload, image
//! and severity (a range of the primary key), and sums them up per level in Rust.
//!
//! Scope: a viewer limited to clusters sees only those clusters, their workloads, and the
//! findings stored in them; fleet-level findings (cluster 0, from CI) count only for a viewer
//! who sees every cluster, as on the overview. An image is visible to a scoped viewer only when
//! it runs in one of their clusters (`cluster_image`).
//!
//! What does not belong here: writing the estate (`db::estate`, from ingestion), refreshing the
//! rollups (`db::snapshots`), the explorer's filters (`db::explorer`).

use std::collections::{BTreeMap, HashMap, HashSet};

use app::model::{
    ClusterDetail, ClusterNode, Estate, ImageCluster, ImageDetail, ImageNode, ImageWorkload,
    NamespaceNode, PackageRow, ProviderNode, RiskTotals, Severity, Upgrade, WhereCluster,
    WhereImage, WhereRunning, WhereWorkload, WorkloadNode,
};
use sqlx::PgConnection;

/// Why an estate level cannot be shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Missing {
    /// No cluster of this name among the viewer's.
    Cluster(String),
    /// No namespace of this name in the cluster.
    Namespace(String),
}

fn add(totals: &mut RiskTotals, severity: i16, n: i64, risk_sum: i64, risk_max: i16) {
    totals.counts.add(Severity::from_i16(severity), n);
    totals.risk_sum += risk_sum;
    totals.risk_max = totals.risk_max.max(risk_max);
}

/// The visible clusters with their open counts (from `finding_facet`) and risk (from
/// `risk_rollup`).
async fn clusters(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
) -> Result<Vec<ClusterNode>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select c.id, c.name, c.provider, c.environment,
                  coalesce(r.risk_sum, 0) as "risk_sum!", coalesce(r.risk_max, 0::smallint) as "risk_max!"
           from cluster c
           left join risk_rollup r on r.cluster_id = c.id and r.workload_id = 0
           where ($1::bigint[] is null or c.id = any($1))"#,
        scope as Option<&[i64]>
    )
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let counts = sqlx::query!(
        r#"select cluster_id, severity, sum(n)::bigint as "n!"
           from finding_facet
           where cluster_id = any($1) and status in ('open', 'reopened')
           group by 1, 2"#,
        &ids
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut by_cluster: HashMap<i64, RiskTotals> = HashMap::new();
    for c in counts {
        by_cluster
            .entry(c.cluster_id)
            .or_default()
            .counts
            .add(Severity::from_i16(c.severity), c.n);
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut totals = by_cluster.remove(&r.id).unwrap_or_default();
            totals.risk_sum = r.risk_sum;
            totals.risk_max = r.risk_max;
            ClusterNode {
                id: r.id,
                name: r.name,
                provider: r.provider,
                environment: r.environment,
                totals,
            }
        })
        .collect())
}

/// The estate for a viewer limited to `scope` (`None`: every cluster), at the level `cluster`
/// and `namespace` name.
#[tracing::instrument(skip_all, err)]
pub async fn estate(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
    cluster: Option<&str>,
    namespace: Option<&str>,
) -> Result<Result<Estate, Missing>, sqlx::Error> {
    let all = clusters(&mut *conn, scope).await?;
    let chosen = match cluster {
        None => None,
        Some(name) => match all.iter().find(|c| c.name == name) {
            Some(c) => Some(c.clone()),
            None => return Ok(Err(Missing::Cluster(name.chars().take(128).collect()))),
        },
    };
    let mut providers: BTreeMap<String, ProviderNode> = BTreeMap::new();
    for c in all {
        let node = providers
            .entry(c.provider.clone())
            .or_insert_with(|| ProviderNode {
                name: c.provider.clone(),
                totals: RiskTotals::default(),
                clusters: Vec::new(),
            });
        node.totals.absorb(&c.totals);
        node.clusters.push(c);
    }
    let mut providers: Vec<ProviderNode> = providers.into_values().collect();
    for p in &mut providers {
        p.clusters.sort_by(|a, b| {
            (b.totals.risk_sum, b.totals.open())
                .cmp(&(a.totals.risk_sum, a.totals.open()))
                .then_with(|| a.name.cmp(&b.name))
        });
    }
    providers.sort_by(|a, b| {
        b.totals
            .risk_sum
            .cmp(&a.totals.risk_sum)
            .then_with(|| a.name.cmp(&b.name))
    });
    let cluster = match chosen {
        None => None,
        Some(c) => match cluster_detail(&mut *conn, c, namespace).await? {
            Ok(detail) => Some(detail),
            Err(missing) => return Ok(Err(missing)),
        },
    };
    Ok(Ok(Estate { providers, cluster }))
}

/// One cluster drilled into: its open findings read once and summed per level.
async fn cluster_detail(
    conn: &mut PgConnection,
    mut cluster: ClusterNode,
    namespace: Option<&str>,
) -> Result<Result<ClusterDetail, Missing>, sqlx::Error> {
    let namespaces = sqlx::query!(
        "select id, name from namespace where cluster_id = $1",
        cluster.id
    )
    .fetch_all(&mut *conn)
    .await?;
    let only: Option<i64> = match namespace {
        None => None,
        Some(name) => match namespaces.iter().find(|n| n.name == name) {
            Some(n) => Some(n.id),
            None => return Ok(Err(Missing::Namespace(name.chars().take(128).collect()))),
        },
    };
    let groups = sqlx::query!(
        r#"select coalesce(f.namespace_id, 0) as "namespace_id!",
                  coalesce(f.workload_id, 0) as "workload_id!",
                  coalesce(f.image_id, 0) as "image_id!", f.severity,
                  count(*) as "n!", coalesce(sum(f.risk_score), 0)::bigint as "risk_sum!",
                  coalesce(max(f.risk_score), 0::smallint) as "risk_max!"
           from finding f
           where f.cluster_id = $1 and f.status in ('open', 'reopened')
           group by 1, 2, 3, 4"#,
        cluster.id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut whole = RiskTotals::default();
    let mut by_namespace: HashMap<i64, RiskTotals> = HashMap::new();
    let mut by_workload: HashMap<i64, RiskTotals> = HashMap::new();
    let mut by_image: HashMap<i64, RiskTotals> = HashMap::new();
    for g in &groups {
        let (sev, n, sum, max) = (g.severity, g.n, g.risk_sum, g.risk_max);
        add(&mut whole, sev, n, sum, max);
        add(
            by_namespace.entry(g.namespace_id).or_default(),
            sev,
            n,
            sum,
            max,
        );
        if g.workload_id > 0 {
            add(
                by_workload.entry(g.workload_id).or_default(),
                sev,
                n,
                sum,
                max,
            );
        }
        if g.image_id > 0 {
            add(by_image.entry(g.image_id).or_default(), sev, n, sum, max);
        }
    }
    // the drilled-into cluster's numbers are exact as of now (the rollup may be a day old)
    cluster.totals = whole;

    let workloads = sqlx::query!(
        "select id, namespace_id, kind, name from workload
         where cluster_id = $1 and ($2::bigint is null or namespace_id = $2)",
        cluster.id,
        only
    )
    .fetch_all(&mut *conn)
    .await?;
    let containers = sqlx::query!(
        "select distinct workload_id, image_id from container where cluster_id = $1",
        cluster.id
    )
    .fetch_all(&mut *conn)
    .await?;
    let image_ids: Vec<i64> = containers
        .iter()
        .map(|c| c.image_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let image_names: HashMap<i64, String> = sqlx::query!(
        r#"select id, repository || coalesce(':' || tag, '') as "name!"
           from image where id = any($1)"#,
        &image_ids
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| (r.id, r.name))
    .collect();
    let mut images_of: HashMap<i64, Vec<ImageNode>> = HashMap::new();
    for c in containers {
        images_of.entry(c.workload_id).or_default().push(ImageNode {
            id: c.image_id,
            name: image_names.get(&c.image_id).cloned().unwrap_or_default(),
            totals: by_image.get(&c.image_id).copied().unwrap_or_default(),
        });
    }

    let mut nodes: HashMap<i64, NamespaceNode> = namespaces
        .iter()
        .filter(|n| only.is_none_or(|id| id == n.id))
        .map(|n| {
            let node = NamespaceNode {
                cluster: cluster.name.clone(),
                name: n.name.clone(),
                totals: by_namespace.get(&n.id).copied().unwrap_or_default(),
                workloads: Vec::new(),
                workload_count: 0,
            };
            (n.id, node)
        })
        .collect();
    for w in workloads {
        let Some(ns) = nodes.get_mut(&w.namespace_id) else {
            continue;
        };
        let mut images = images_of.remove(&w.id).unwrap_or_default();
        images.sort_by(|a, b| {
            b.totals
                .risk_sum
                .cmp(&a.totals.risk_sum)
                .then(a.id.cmp(&b.id))
        });
        ns.workload_count += 1;
        ns.workloads.push(WorkloadNode {
            cluster_id: cluster.id,
            id: w.id,
            kind: w.kind,
            name: w.name,
            totals: by_workload.get(&w.id).copied().unwrap_or_default(),
            images,
        });
    }
    let limit = if only.is_some() {
        NamespaceNode::NAMESPACE_PAGE_LIMIT
    } else {
        NamespaceNode::WORKLOAD_LIMIT
    };
    let mut namespaces: Vec<NamespaceNode> = nodes.into_values().collect();
    for ns in &mut namespaces {
        ns.workloads.sort_by(|a, b| {
            (b.totals.risk_sum, b.totals.open())
                .cmp(&(a.totals.risk_sum, a.totals.open()))
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.kind.cmp(&b.kind))
        });
        ns.workloads.truncate(limit);
    }
    namespaces.sort_by(|a, b| {
        b.totals
            .risk_sum
            .cmp(&a.totals.risk_sum)
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(Ok(ClusterDetail {
        cluster,
        namespace: namespace.filter(|_| only.is_some()).map(str::to_owned),
        namespaces,
        outside_namespaces: if only.is_some() {
            RiskTotals::default()
        } else {
            by_namespace.get(&0).copied().unwrap_or_default()
        },
    }))
}

/// The image `id` for a viewer limited to `scope`; `None` when it does not exist or runs in
/// none of the viewer's clusters.
#[tracing::instrument(skip_all, fields(id), err)]
pub async fn image(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
    id: i64,
) -> Result<Option<ImageDetail>, sqlx::Error> {
    let Some(img) = sqlx::query!(
        "select i.id, i.registry, i.repository, i.tag, i.digest, i.os_family, i.os_name,
                i.first_seen, i.last_seen
         from image i
         where i.id = $1
           and ($2::bigint[] is null or exists (
                 select 1 from cluster_image ci where ci.image_id = i.id and ci.cluster_id = any($2)))",
        id,
        scope as Option<&[i64]>
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let workloads = sqlx::query!(
        "select distinct w.cluster_id, c.name as cluster, w.id, n.name as namespace, w.kind, w.name
         from container ct
         join workload w on w.cluster_id = ct.cluster_id and w.id = ct.workload_id
         join namespace n on n.cluster_id = w.cluster_id and n.id = w.namespace_id
         join cluster c on c.id = w.cluster_id
         where ct.image_id = $1 and ($2::bigint[] is null or ct.cluster_id = any($2))
         order by c.name, n.name, w.kind, w.name
         limit $3",
        id,
        scope as Option<&[i64]>,
        ImageDetail::WORKLOAD_LIMIT
    )
    .fetch_all(&mut *conn)
    .await?;
    let clusters = sqlx::query!(
        r#"select c.name, (select count(distinct ct.workload_id) from container ct
                           where ct.cluster_id = c.id and ct.image_id = ci.image_id) as "workloads!"
           from cluster_image ci join cluster c on c.id = ci.cluster_id
           where ci.image_id = $1 and ($2::bigint[] is null or ci.cluster_id = any($2))
           order by c.name"#,
        id,
        scope as Option<&[i64]>
    )
    .fetch_all(&mut *conn)
    .await?;
    // the findings on it: in the viewer's clusters, fleet-level ones only for an unlimited
    // viewer (scope `None` lets every cluster id through, 0 included)
    let rows = sqlx::query!(
        r#"select f.component_id, p.name as "package?", p.version as "version?", f.severity,
                  f.fixed_version, count(*) as "n!",
                  coalesce(sum(f.risk_score), 0)::bigint as "risk_sum!",
                  coalesce(max(f.risk_score), 0::smallint) as "risk_max!"
           from finding f
           left join component p on p.id = f.component_id
           where f.image_id = $1 and f.status in ('open', 'reopened')
             and ($2::bigint[] is null or f.cluster_id = any($2))
           group by f.component_id, p.name, p.version, f.severity, f.fixed_version"#,
        id,
        scope as Option<&[i64]>
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut totals = RiskTotals::default();
    let mut other_findings = 0;
    let mut packages: BTreeMap<i64, (PackageRow, Vec<String>)> = BTreeMap::new();
    for r in rows {
        add(&mut totals, r.severity, r.n, r.risk_sum, r.risk_max);
        let Some(component) = r.component_id else {
            other_findings += r.n;
            continue;
        };
        let (row, fixed) = packages.entry(component).or_insert_with(|| {
            (
                PackageRow {
                    name: r.package.clone().unwrap_or_default(),
                    version: r.version.clone().unwrap_or_default(),
                    fixed_versions: None,
                    counts: Default::default(),
                    risk_max: 0,
                    fixable: true,
                },
                Vec::new(),
            )
        });
        row.counts.add(Severity::from_i16(r.severity), r.n);
        row.risk_max = row.risk_max.max(r.risk_max);
        match r.fixed_version {
            Some(v) if !fixed.contains(&v) => fixed.push(v),
            Some(_) => {}
            None => row.fixable = false,
        }
    }
    let mut upgrade = Upgrade::default();
    let mut packages: Vec<PackageRow> = packages
        .into_values()
        .map(|(mut row, mut fixed)| {
            fixed.sort();
            row.fixed_versions = (!fixed.is_empty()).then(|| fixed.join(", "));
            if row.fixable {
                upgrade.packages += 1;
                upgrade.findings += row.counts.total();
            }
            row
        })
        .collect();
    packages.sort_by(|a, b| {
        b.risk_max
            .cmp(&a.risk_max)
            .then_with(|| b.counts.total().cmp(&a.counts.total()))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.version.cmp(&b.version))
    });
    packages.truncate(ImageDetail::PACKAGE_LIMIT);
    let os = match (img.os_family, img.os_name) {
        (Some(f), Some(n)) => Some(format!("{f} {n}")),
        (f, n) => f.or(n),
    };
    Ok(Some(ImageDetail {
        id: img.id,
        registry: img.registry,
        repository: img.repository,
        tag: img.tag,
        digest: img.digest,
        os,
        first_seen: img.first_seen,
        last_seen: img.last_seen,
        totals,
        clusters: clusters
            .into_iter()
            .map(|c| ImageCluster {
                name: c.name,
                workloads: c.workloads,
            })
            .collect(),
        workloads: workloads
            .into_iter()
            .map(|w| ImageWorkload {
                cluster_id: w.cluster_id,
                cluster: w.cluster,
                workload_id: w.id,
                namespace: w.namespace,
                kind: w.kind,
                name: w.name,
            })
            .collect(),
        packages,
        other_findings,
        upgrade,
    }))
}

/// Where the vulnerability `cve` runs for a viewer limited to `scope`: its open findings
/// (through `finding_open_vulnerability_idx`) grouped by cluster, image and workload, and the
/// workloads whose containers run the images carrying it in the same cluster (any cluster the
/// viewer sees for a fleet-level finding, which only an unlimited viewer counts).
#[tracing::instrument(skip_all, err)]
pub async fn where_running(
    conn: &mut PgConnection,
    scope: Option<&[i64]>,
    cve: &str,
) -> Result<WhereRunning, sqlx::Error> {
    let groups = sqlx::query!(
        r#"select f.cluster_id, coalesce(f.image_id, 0) as "image_id!",
                  coalesce(f.workload_id, 0) as "workload_id!", count(*) as "n!",
                  coalesce(max(f.risk_score), 0::smallint) as "risk_max!"
           from finding f
           where f.vulnerability_id = $1 and f.status in ('open', 'reopened')
             and ($2::bigint[] is null or f.cluster_id = any($2))
           group by 1, 2, 3"#,
        cve,
        scope as Option<&[i64]>
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut findings = 0;
    let mut clusters: HashMap<i64, (i64, i16)> = HashMap::new();
    let mut images: HashMap<i64, (i64, i16)> = HashMap::new();
    let mut workloads: HashSet<(i64, i64)> = HashSet::new();
    // (cluster, image) pairs carrying it; cluster 0: the image anywhere
    let mut carried: HashSet<(i64, i64)> = HashSet::new();
    for g in &groups {
        findings += g.n;
        if g.cluster_id > 0 {
            let c = clusters.entry(g.cluster_id).or_default();
            c.0 += g.n;
            c.1 = c.1.max(g.risk_max);
        }
        if g.image_id > 0 {
            let i = images.entry(g.image_id).or_default();
            i.0 += g.n;
            i.1 = i.1.max(g.risk_max);
            carried.insert((g.cluster_id, g.image_id));
        }
        if g.workload_id > 0 {
            workloads.insert((g.cluster_id, g.workload_id));
        }
    }
    let image_ids: Vec<i64> = images.keys().copied().collect();
    let containers = sqlx::query!(
        "select distinct cluster_id, workload_id, image_id from container
         where image_id = any($1) and ($2::bigint[] is null or cluster_id = any($2))",
        &image_ids,
        scope as Option<&[i64]>
    )
    .fetch_all(&mut *conn)
    .await?;
    for c in containers {
        if carried.contains(&(c.cluster_id, c.image_id)) || carried.contains(&(0, c.image_id)) {
            workloads.insert((c.cluster_id, c.workload_id));
            clusters.entry(c.cluster_id).or_default();
        }
    }

    // clusters: most findings first, then by name
    let cluster_ids: Vec<i64> = clusters.keys().copied().collect();
    let names: HashMap<i64, String> = sqlx::query!(
        "select id, name from cluster where id = any($1)",
        &cluster_ids
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| (r.id, r.name))
    .collect();
    let mut cluster_list: Vec<WhereCluster> = clusters
        .iter()
        .map(|(id, (n, risk))| WhereCluster {
            name: names.get(id).cloned().unwrap_or_default(),
            findings: *n,
            risk_max: *risk,
        })
        .collect();
    cluster_list.sort_by(|a, b| {
        (b.findings, b.risk_max)
            .cmp(&(a.findings, a.risk_max))
            .then_with(|| a.name.cmp(&b.name))
    });
    let cluster_count = cluster_list.len() as i64;
    cluster_list.truncate(WhereRunning::LIMIT);

    let mut image_list: Vec<(i64, i64, i16)> =
        images.iter().map(|(id, (n, r))| (*id, *n, *r)).collect();
    image_list.sort_by(|a, b| (b.2, b.1, a.0).cmp(&(a.2, a.1, b.0)));
    let image_count = image_list.len() as i64;
    image_list.truncate(WhereRunning::LIMIT);
    let shown: Vec<i64> = image_list.iter().map(|i| i.0).collect();
    let image_names: HashMap<i64, String> = sqlx::query!(
        r#"select id, repository || coalesce(':' || tag, '') as "name!"
           from image where id = any($1)"#,
        &shown
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| (r.id, r.name))
    .collect();

    // workloads: in cluster order, then by name; only the shown ones are looked up
    let mut keys: Vec<(i64, i64)> = workloads.into_iter().collect();
    keys.sort_unstable();
    let workload_count = keys.len() as i64;
    let (wc, ww): (Vec<i64>, Vec<i64>) = keys.iter().copied().unzip();
    let mut workload_list: Vec<WhereWorkload> = sqlx::query!(
        r#"select w.cluster_id, c.name as cluster, w.id,
                  n.name || '/' || w.kind || '/' || w.name as "label!"
           from unnest($1::bigint[], $2::bigint[]) as k(cluster_id, id)
           join workload w on w.cluster_id = k.cluster_id and w.id = k.id
           join namespace n on n.cluster_id = w.cluster_id and n.id = w.namespace_id
           join cluster c on c.id = w.cluster_id
           order by c.name, 4
           limit $3"#,
        &wc,
        &ww,
        WhereRunning::LIMIT as i64
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| WhereWorkload {
        cluster_id: r.cluster_id,
        cluster: r.cluster,
        workload_id: r.id,
        label: r.label,
    })
    .collect();
    workload_list.truncate(WhereRunning::LIMIT);

    Ok(WhereRunning {
        vulnerability: cve.to_owned(),
        findings,
        clusters: cluster_list,
        cluster_count,
        workloads: workload_list,
        workload_count,
        images: image_list
            .into_iter()
            .map(|(id, n, risk)| WhereImage {
                id,
                name: image_names.get(&id).cloned().unwrap_or_default(),
                findings: n,
                risk_max: risk,
            })
            .collect(),
        image_count,
    })
}
