//! Inputs of the risk score that live in the database (intel, where assets run), and the
//! recomputation of stored scores when one of them changes. The scoring itself is
//! [`crate::domain::risk`]; this file only gathers and writes.

use std::collections::HashMap;

use app::model::Severity;
use chrono::NaiveDate;
use sqlx::PgConnection;

use crate::domain::risk::{self, Environment, Exposure, Inputs, Weights};

/// Exploitation intel for one CVE.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Intel {
    /// Date added to CISA KEV.
    pub kev_added: Option<NaiveDate>,
    /// EPSS probability.
    pub epss: Option<f32>,
}

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

/// The exposure of each image: the worst over every cluster and workload it runs in.
#[tracing::instrument(skip_all, fields(images = image_ids.len()), err)]
pub async fn image_exposure(
    conn: &mut PgConnection,
    image_ids: &[i64],
) -> Result<HashMap<i64, Exposure>, sqlx::Error> {
    if image_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query!(
        r#"select ci.image_id as "image_id!",
                  max(case c.environment when 'prod' then 3 when 'staging' then 2 else 1 end)
                      as "environment!",
                  max(c.criticality) as "criticality!",
                  coalesce(bool_or(w.internet_facing), false) as "internet_facing!",
                  coalesce(bool_or(w.privileged or w.host_mounts or ct.privileged or ct.host_mounts), false)
                      as "privileged!",
                  coalesce(bool_or(exists (
                      select 1 from runtime_event e
                      where e.cluster_id = w.cluster_id and e.workload_id = w.id
                        and e.time > now() - interval '7 days')), false) as "runtime!"
           from cluster_image ci
           join cluster c on c.id = ci.cluster_id
           left join container ct on ct.cluster_id = ci.cluster_id and ct.image_id = ci.image_id
           left join workload w on w.cluster_id = ct.cluster_id and w.id = ct.workload_id
           where ci.image_id = any($1)
           group by ci.image_id"#,
        image_ids
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.image_id,
                Exposure {
                    environment: environment_of_rank(r.environment),
                    criticality: r.criticality,
                    internet_facing: r.internet_facing,
                    privileged: r.privileged,
                    runtime_signal: r.runtime,
                },
            )
        })
        .collect())
}

/// The exposure of workloads of one cluster (by id), including the cluster's own.
#[tracing::instrument(skip_all, fields(cluster_id), err)]
pub async fn workload_exposure(
    conn: &mut PgConnection,
    cluster_id: i64,
    workload_ids: &[i64],
) -> Result<HashMap<i64, Exposure>, sqlx::Error> {
    if workload_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query!(
        r#"select w.id, c.environment, c.criticality, w.internet_facing,
                  (w.privileged or w.host_mounts) as "privileged!",
                  exists (select 1 from runtime_event e
                          where e.cluster_id = w.cluster_id and e.workload_id = w.id
                            and e.time > now() - interval '7 days') as "runtime!"
           from workload w join cluster c on c.id = w.cluster_id
           where w.cluster_id = $1 and w.id = any($2)"#,
        cluster_id,
        workload_ids
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
                    internet_facing: r.internet_facing,
                    privileged: r.privileged,
                    runtime_signal: r.runtime,
                },
            )
        })
        .collect())
}

/// The exposure of a cluster itself (for findings on the cluster, its nodes or its resources
/// without a known workload).
#[tracing::instrument(skip_all, fields(cluster_id), err)]
pub async fn cluster_exposure(
    conn: &mut PgConnection,
    cluster_id: i64,
) -> Result<Exposure, sqlx::Error> {
    let row = sqlx::query!(
        "select environment, criticality from cluster where id = $1",
        cluster_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map_or_else(Exposure::default, |r| Exposure {
        environment: Environment::parse(&r.environment),
        criticality: r.criticality,
        ..Exposure::default()
    }))
}

fn environment_of_rank(rank: i32) -> Environment {
    match rank {
        3 => Environment::Prod,
        2 => Environment::Staging,
        1 => Environment::Dev,
        _ => Environment::Unknown,
    }
}

/// Which findings to rescore.
#[derive(Clone, Debug)]
pub enum Selector {
    /// Findings of these vulnerabilities (after a KEV or EPSS import).
    Vulnerabilities(Vec<String>),
    /// Findings on these images and on these workloads of one cluster (after their exposure or
    /// runtime signal changed).
    Assets {
        /// The cluster of the workloads.
        cluster_id: i64,
        /// Workloads whose findings to rescore.
        workload_ids: Vec<i64>,
        /// Images whose findings to rescore.
        image_ids: Vec<i64>,
    },
    /// Every finding of one cluster (after its environment or criticality changed), and the
    /// findings on the images it runs.
    Cluster(i64),
}

/// Recomputes the risk of the selected findings; writes only the scores that changed.
/// Returns how many changed.
#[tracing::instrument(skip_all, err)]
pub async fn recompute(conn: &mut PgConnection, selector: &Selector) -> Result<u64, sqlx::Error> {
    let (vulns, cluster_id, workload_ids, image_ids): (Vec<String>, i64, Vec<i64>, Vec<i64>) =
        match selector {
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
            Selector::Cluster(id) => {
                let images = sqlx::query_scalar!(
                    "select image_id from cluster_image where cluster_id = $1",
                    id
                )
                .fetch_all(&mut *conn)
                .await?;
                (Vec::new(), *id, Vec::new(), images)
            }
        };
    let whole_cluster = matches!(selector, Selector::Cluster(_));
    let rows = sqlx::query!(
        r#"select f.cluster_id, f.id, f.severity, f.fixed_version is not null as "fix!",
                  f.image_id, f.workload_id, f.risk_score, f.vulnerability_id,
                  v.cvss_vector as "cvss_vector?", v.cvss_score as "cvss_score?"
           from finding f
           left join vulnerability v on v.id = f.vulnerability_id
           where (f.vulnerability_id = any($1))
              or (f.cluster_id = $2 and (f.workload_id = any($3) or $5))
              or (f.cluster_id = 0 and f.image_id = any($4))"#,
        &vulns,
        cluster_id,
        &workload_ids,
        &image_ids,
        whole_cluster
    )
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }

    let weights = weights(conn).await?;
    let mut ids: Vec<String> = rows
        .iter()
        .filter_map(|r| r.vulnerability_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    let intel = intel(conn, &ids).await?;
    let mut images: Vec<i64> = rows.iter().filter_map(|r| r.image_id).collect();
    images.sort_unstable();
    images.dedup();
    let image_exposure = image_exposure(conn, &images).await?;
    let mut by_cluster: HashMap<i64, Vec<i64>> = HashMap::new();
    for r in &rows {
        if let Some(w) = r.workload_id {
            by_cluster.entry(r.cluster_id).or_default().push(w);
        }
    }
    let mut workload_exposure_map: HashMap<(i64, i64), Exposure> = HashMap::new();
    let mut cluster_exposure_map: HashMap<i64, Exposure> = HashMap::new();
    let clusters: Vec<i64> = {
        let mut c: Vec<i64> = rows
            .iter()
            .map(|r| r.cluster_id)
            .filter(|c| *c > 0)
            .collect();
        c.sort_unstable();
        c.dedup();
        c
    };
    for cluster in clusters {
        cluster_exposure_map.insert(cluster, cluster_exposure(conn, cluster).await?);
        if let Some(workloads) = by_cluster.get(&cluster) {
            for (w, e) in workload_exposure(conn, cluster, workloads).await? {
                workload_exposure_map.insert((cluster, w), e);
            }
        }
    }

    let mut changed_cluster = Vec::new();
    let mut changed_id = Vec::new();
    let mut changed_score = Vec::new();
    let mut changed_factors = Vec::new();
    for r in rows {
        let exposure = match (r.image_id, r.workload_id) {
            (_, Some(w)) if r.cluster_id > 0 => workload_exposure_map
                .get(&(r.cluster_id, w))
                .copied()
                .unwrap_or_default(),
            (Some(image), _) if r.cluster_id == 0 => {
                image_exposure.get(&image).copied().unwrap_or_default()
            }
            _ => cluster_exposure_map
                .get(&r.cluster_id)
                .copied()
                .unwrap_or_default(),
        };
        let intel = r
            .vulnerability_id
            .as_ref()
            .and_then(|id| intel.get(id))
            .copied()
            .unwrap_or_default();
        let scored = risk::score(
            &Inputs {
                severity: Severity::from_i16(r.severity),
                cvss: r.cvss_score,
                cvss_vector: r.cvss_vector,
                kev_added: intel.kev_added,
                epss: intel.epss,
                fix_available: r.fix,
                exposure,
            },
            &weights,
        );
        if r.risk_score != Some(scored.score) {
            changed_cluster.push(r.cluster_id);
            changed_id.push(r.id);
            changed_score.push(scored.score);
            changed_factors.push(
                serde_json::from_str(&scored.points_json()).unwrap_or(serde_json::Value::Null),
            );
        }
    }
    if changed_id.is_empty() {
        return Ok(0);
    }
    let updated = sqlx::query!(
        "update finding f set risk_score = x.score, risk_factors = x.factors
         from unnest($1::bigint[], $2::bigint[], $3::smallint[], $4::jsonb[])
             as x(cluster_id, id, score, factors)
         where f.cluster_id = x.cluster_id and f.id = x.id",
        &changed_cluster,
        &changed_id,
        &changed_score,
        &changed_factors
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated)
}
