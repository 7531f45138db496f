//! Inputs of the risk score that live in the database (weights, intel, where assets run), and
//! the recomputation of stored scores when one of them changes. Which inputs a finding gets and
//! how they score is [`crate::domain::risk`]; this file only gathers and writes. Ingestion
//! gathers with the same functions ([`weights`], [`intel`], [`exposures`]).

use std::collections::HashMap;

use app::model::Severity;
use sqlx::PgConnection;

use crate::domain::report::FindingKind;
use crate::domain::risk::{
    self, Environment, Exposure, Exposures, FindingFacts, Intel, Placement, VulnerabilityFacts,
    Weights,
};

/// The configured weights (defaults when unset or unreadable).
#[tracing::instrument(skip_all, err)]
pub async fn weights(conn: &mut PgConnection) -> Result<Weights, sqlx::Error> {
    let value = sqlx::query_scalar!("select value from setting where key = 'risk.weights'")
        .fetch_optional(conn)
        .await?;
    Ok(value
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

/// KEV and EPSS for these vulnerability ids.
#[tracing::instrument(skip_all, fields(ids = ids.len()), err)]
pub async fn intel(
    conn: &mut PgConnection,
    ids: &[String],
) -> Result<HashMap<String, Intel>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query!(
        r#"select x.id as "id!", k.date_added as "kev_added?", e.score as "epss?"
           from unnest($1::text[]) as x(id)
           left join intel_kev k on k.cve_id = x.id
           left join intel_epss e on e.cve_id = x.id
           where k.cve_id is not null or e.cve_id is not null"#,
        ids
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.id,
                Intel {
                    kev_added: r.kev_added,
                    epss: r.epss,
                },
            )
        })
        .collect())
}

/// The exposures of these workloads and images (each `(cluster, id)`) and clusters: what
/// [`Exposures::of`] chooses from. Three statements, whatever the number of clusters.
#[tracing::instrument(skip_all, err)]
pub async fn exposures(
    conn: &mut PgConnection,
    workloads: &[(i64, i64)],
    clusters: &[i64],
    images: &[(i64, i64)],
) -> Result<Exposures, sqlx::Error> {
    Ok(Exposures {
        workloads: workload_exposure(conn, workloads).await?,
        images: image_exposure(conn, images).await?,
        clusters: cluster_exposure(conn, clusters).await?,
    })
}

/// The exposure of each image in a cluster (by `(cluster, image)`): the worst over the
/// workloads of that cluster whose containers run it, with the cluster's environment and
/// criticality. Images no workload of the cluster runs are left out.
async fn image_exposure(
    conn: &mut PgConnection,
    images: &[(i64, i64)],
) -> Result<HashMap<(i64, i64), Exposure>, sqlx::Error> {
    if images.is_empty() {
        return Ok(HashMap::new());
    }
    let (cluster_ids, image_ids): (Vec<i64>, Vec<i64>) = images.iter().copied().unzip();
    let rows = sqlx::query!(
        r#"select ct.cluster_id as "cluster_id!", ct.image_id as "image_id!",
                  min(c.environment) as "environment!", max(c.criticality) as "criticality!",
                  bool_or(w.internet_facing) as "internet_facing!",
                  bool_or(w.privileged or w.host_mounts or ct.privileged or ct.host_mounts)
                      as "privileged!",
                  bool_or(exists (
                      select 1 from runtime_event e
                      where e.cluster_id = w.cluster_id and e.workload_id = w.id
                        and e.time > now() - interval '7 days')) as "runtime!"
           from unnest($1::bigint[], $2::bigint[]) as x(cluster_id, image_id)
           join container ct on ct.cluster_id = x.cluster_id and ct.image_id = x.image_id
           join workload w on w.cluster_id = ct.cluster_id and w.id = ct.workload_id
           join cluster c on c.id = ct.cluster_id
           group by ct.cluster_id, ct.image_id"#,
        &cluster_ids,
        &image_ids
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                (r.cluster_id, r.image_id),
                Exposure {
                    environment: Environment::parse(&r.environment),
                    criticality: r.criticality,
                    internet_facing: r.internet_facing,
                    privileged: r.privileged,
                    runtime_signal: r.runtime,
                },
            )
        })
        .collect())
}

/// The exposure of workloads (by `(cluster, workload)`), including their cluster's.
async fn workload_exposure(
    conn: &mut PgConnection,
    workloads: &[(i64, i64)],
) -> Result<HashMap<(i64, i64), Exposure>, sqlx::Error> {
    if workloads.is_empty() {
        return Ok(HashMap::new());
    }
    let (cluster_ids, workload_ids): (Vec<i64>, Vec<i64>) = workloads.iter().copied().unzip();
    let rows = sqlx::query!(
        r#"select w.cluster_id, w.id, c.environment, c.criticality, w.internet_facing,
                  (w.privileged or w.host_mounts) as "privileged!",
                  exists (select 1 from runtime_event e
                          where e.cluster_id = w.cluster_id and e.workload_id = w.id
                            and e.time > now() - interval '7 days') as "runtime!"
           from unnest($1::bigint[], $2::bigint[]) as x(cluster_id, workload_id)
           join workload w on w.cluster_id = x.cluster_id and w.id = x.workload_id
           join cluster c on c.id = w.cluster_id"#,
        &cluster_ids,
        &workload_ids
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                (r.cluster_id, r.id),
                Exposure {
                    environment: Environment::parse(&r.environment),
                    criticality: r.criticality,
                    internet_facing: r.internet_facing,
                    privileged: r.privileged,
                    runtime_signal: r.runtime,
                },
            )
        })
        .collect())
}

/// The exposure of clusters themselves (for findings on a cluster, its nodes or its resources
/// without a known workload).
async fn cluster_exposure(
    conn: &mut PgConnection,
    cluster_ids: &[i64],
) -> Result<HashMap<i64, Exposure>, sqlx::Error> {
    if cluster_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query!(
        "select id, environment, criticality from cluster where id = any($1)",
        cluster_ids
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.id,
                Exposure {
                    environment: Environment::parse(&r.environment),
                    criticality: r.criticality,
                    ..Exposure::default()
                },
            )
        })
        .collect())
}

/// Which findings to rescore.
#[derive(Clone, Debug)]
pub enum Selector {
    /// Every finding (after the weights changed).
    All,
    /// Findings of these vulnerabilities (after a KEV or EPSS import).
    Vulnerabilities(Vec<String>),
    /// Findings of one cluster on these images or on these workloads (after their exposure or
    /// runtime signal changed).
    Assets {
        /// The cluster of the workloads.
        cluster_id: i64,
        /// Workloads whose findings to rescore.
        workload_ids: Vec<i64>,
        /// Images whose findings to rescore.
        image_ids: Vec<i64>,
    },
    /// Every finding of one cluster (after its environment or criticality changed).
    Cluster(i64),
}

/// A stored finding's risk beside the one its inputs give now.
#[derive(Clone, Debug, PartialEq)]
pub struct Rescore {
    /// The finding's cluster.
    pub cluster_id: i64,
    /// The finding's id.
    pub id: i64,
    /// The stored score.
    pub stored_score: Option<i16>,
    /// The stored breakdown (points per factor).
    pub stored_factors: Option<serde_json::Value>,
    /// The score its inputs give now.
    pub score: i16,
    /// The breakdown its inputs give now.
    pub factors: serde_json::Value,
}

impl Rescore {
    /// The stored risk is not what the inputs give now.
    pub fn changed(&self) -> bool {
        self.stored_score != Some(self.score) || self.stored_factors.as_ref() != Some(&self.factors)
    }
}

/// Scores the selected findings from their current inputs, without writing anything.
#[tracing::instrument(skip_all, err)]
pub async fn rescore(
    conn: &mut PgConnection,
    selector: &Selector,
) -> Result<Vec<Rescore>, sqlx::Error> {
    rescored(conn, selector, |_| true).await
}

/// The selected findings scored from their current inputs, those that `keep` keeps (only
/// those are held in memory: a fleet-wide EPSS import selects most findings and changes few).
async fn rescored(
    conn: &mut PgConnection,
    selector: &Selector,
    keep: impl Fn(&Rescore) -> bool,
) -> Result<Vec<Rescore>, sqlx::Error> {
    let (vulns, cluster_id, workload_ids, image_ids): (Vec<String>, i64, Vec<i64>, Vec<i64>) =
        match selector {
            Selector::All => (Vec::new(), -1, Vec::new(), Vec::new()),
            Selector::Vulnerabilities(ids) => (ids.clone(), -1, Vec::new(), Vec::new()),
            Selector::Assets {
                cluster_id,
                workload_ids,
                image_ids,
            } => (
                Vec::new(),
                *cluster_id,
                workload_ids.clone(),
                image_ids.clone(),
            ),
            Selector::Cluster(id) => (Vec::new(), *id, Vec::new(), Vec::new()),
        };
    let whole_cluster = matches!(selector, Selector::Cluster(_));
    let everything = matches!(selector, Selector::All);
    let rows = sqlx::query!(
        r#"select f.cluster_id, f.id, f.kind, f.severity, f.fixed_version,
                  f.image_id, f.workload_id, f.risk_score, f.risk_factors::jsonb as "risk_factors?",
                  f.vulnerability_id, v.cvss_vector as "cvss_vector?", v.cvss_score as "cvss_score?"
           from finding f
           left join vulnerability v on v.id = f.vulnerability_id
           where $6
              or (f.vulnerability_id = any($1))
              or (f.cluster_id = $2 and (f.workload_id = any($3) or f.image_id = any($4) or $5))"#,
        &vulns,
        cluster_id,
        &workload_ids,
        &image_ids,
        whole_cluster,
        everything
    )
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }

    let weights = weights(conn).await?;
    let ids = distinct(rows.iter().filter_map(|r| r.vulnerability_id.clone()));
    let intel = intel(conn, &ids).await?;
    let workloads = distinct(
        rows.iter()
            .filter_map(|r| r.workload_id.map(|w| (r.cluster_id, w))),
    );
    let clusters = distinct(rows.iter().map(|r| r.cluster_id).filter(|c| *c > 0));
    let images = distinct(
        rows.iter()
            .filter(|r| r.cluster_id > 0)
            .filter_map(|r| r.image_id.map(|i| (r.cluster_id, i))),
    );
    let exposures = exposures(conn, &workloads, &clusters, &images).await?;

    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let Some(kind) = FindingKind::parse(&r.kind) else {
                tracing::warn!(
                    kind = r.kind,
                    id = r.id,
                    "finding of an unknown kind not rescored"
                );
                return None;
            };
            let finding = FindingFacts {
                kind,
                severity: Severity::from_i16(r.severity),
                fixed_version: r.fixed_version.as_deref(),
                placement: Placement {
                    cluster_id: r.cluster_id,
                    workload_id: r.workload_id,
                    image_id: r.image_id,
                },
            };
            let vulnerability = VulnerabilityFacts {
                cvss_vector: r.cvss_vector.as_deref(),
                cvss_score: r.cvss_score,
                intel: r
                    .vulnerability_id
                    .as_ref()
                    .and_then(|id| intel.get(id))
                    .copied()
                    .unwrap_or_default(),
            };
            let scored = risk::score(
                &risk::inputs(&finding, &vulnerability, &exposures),
                &weights,
            );
            Some(Rescore {
                cluster_id: r.cluster_id,
                id: r.id,
                stored_score: r.risk_score,
                stored_factors: r.risk_factors,
                score: scored.score,
                factors: scored.points_value(),
            })
            .filter(&keep)
        })
        .collect())
}

/// Recomputes the risk of the selected findings; writes only the ones whose score or
/// breakdown changed. Returns how many changed.
#[tracing::instrument(skip_all, err)]
pub async fn recompute(conn: &mut PgConnection, selector: &Selector) -> Result<u64, sqlx::Error> {
    let changed = rescored(conn, selector, Rescore::changed).await?;
    if changed.is_empty() {
        return Ok(0);
    }
    // Written as the same compact text ingestion writes, so that the merge can compare the
    // stored breakdown as text.
    let factors: Vec<String> = changed.iter().map(|r| r.factors.to_string()).collect();
    let updated = sqlx::query!(
        "update finding f set risk_score = x.score, risk_factors = x.factors::json
         from unnest($1::bigint[], $2::bigint[], $3::smallint[], $4::text[])
             as x(cluster_id, id, score, factors)
         where f.cluster_id = x.cluster_id and f.id = x.id",
        &changed.iter().map(|r| r.cluster_id).collect::<Vec<_>>(),
        &changed.iter().map(|r| r.id).collect::<Vec<_>>(),
        &changed.iter().map(|r| r.score).collect::<Vec<_>>(),
        &factors
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated)
}

/// The distinct values, sorted.
fn distinct<T: Ord>(values: impl Iterator<Item = T>) -> Vec<T> {
    let mut values: Vec<T> = values.collect();
    values.sort_unstable();
    values.dedup();
    values
}
