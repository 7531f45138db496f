//! The estate: clusters, namespaces, workloads, containers, images.

use sqlx::PgConnection;

use crate::domain::report::ImageAsset;

/// What is known about a cluster when it is registered. `None` keeps the stored value (or the
/// default for a new cluster).
#[derive(Clone, Debug, Default)]
pub struct ClusterSpec<'a> {
    /// Unique name.
    pub name: &'a str,
    /// aws, gcp, azure, onprem, other.
    pub provider: Option<&'a str>,
    /// prod, staging, dev.
    pub environment: Option<&'a str>,
    /// Region or site.
    pub region: Option<&'a str>,
    /// Account, project or subscription.
    pub account: Option<&'a str>,
    /// 1 (lowest) to 5 (highest).
    pub criticality: Option<i16>,
}

/// Creates the cluster or updates what `spec` says about it; returns its id.
#[tracing::instrument(skip_all, fields(cluster = spec.name), err)]
pub async fn upsert_cluster(
    conn: &mut PgConnection,
    spec: &ClusterSpec<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into cluster (name, provider, environment, region, account, criticality)
         values ($1, coalesce($2, 'other'), coalesce($3, 'dev'), $4, $5, coalesce($6::smallint, 3))
         on conflict (name) do update set
             provider = coalesce($2, cluster.provider),
             environment = coalesce($3, cluster.environment),
             region = coalesce($4, cluster.region),
             account = coalesce($5, cluster.account),
             criticality = coalesce($6, cluster.criticality)
         returning id",
        spec.name,
        spec.provider,
        spec.environment,
        spec.region,
        spec.account,
        spec.criticality
    )
    .fetch_one(conn)
    .await
}

/// Creates or refreshes the images; returns their ids in the order given.
#[tracing::instrument(skip_all, fields(images = images.len()), err)]
pub async fn upsert_images(
    conn: &mut PgConnection,
    images: &[ImageAsset],
) -> Result<Vec<i64>, sqlx::Error> {
    if images.is_empty() {
        return Ok(Vec::new());
    }
    let all_keys: Vec<&str> = images.iter().map(|i| i.key.as_str()).collect();
    // one row per key: ON CONFLICT DO UPDATE may not touch a row twice in one statement
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<&ImageAsset> = images
        .iter()
        .filter(|i| seen.insert(i.key.as_str()))
        .collect();
    let images = unique;
    let keys: Vec<&str> = images.iter().map(|i| i.key.as_str()).collect();
    let registries: Vec<&str> = images
        .iter()
        .map(|i| i.reference.registry.as_str())
        .collect();
    let repositories: Vec<&str> = images
        .iter()
        .map(|i| i.reference.repository.as_str())
        .collect();
    let tags: Vec<Option<&str>> = images.iter().map(|i| i.reference.tag.as_deref()).collect();
    let digests: Vec<Option<&str>> = images
        .iter()
        .map(|i| i.reference.digest.as_deref())
        .collect();
    let image_ids: Vec<Option<&str>> = images.iter().map(|i| i.image_id.as_deref()).collect();
    let families: Vec<Option<&str>> = images.iter().map(|i| i.os_family.as_deref()).collect();
    let names: Vec<Option<&str>> = images.iter().map(|i| i.os_name.as_deref()).collect();
    let rows = sqlx::query!(
        r#"insert into image (key, registry, repository, tag, digest, image_id, os_family, os_name)
           select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                $6::text[], $7::text[], $8::text[])
           on conflict (key) do update set
               last_seen = bulwark_now(),
               tag = coalesce(image.tag, excluded.tag),
               image_id = coalesce(image.image_id, excluded.image_id),
               os_family = coalesce(excluded.os_family, image.os_family),
               os_name = coalesce(excluded.os_name, image.os_name)
           returning id, key"#,
        &keys as &[&str],
        &registries as &[&str],
        &repositories as &[&str],
        &tags as &[Option<&str>],
        &digests as &[Option<&str>],
        &image_ids as &[Option<&str>],
        &families as &[Option<&str>],
        &names as &[Option<&str>],
    )
    .fetch_all(conn)
    .await?;
    let by_key: std::collections::HashMap<String, i64> =
        rows.into_iter().map(|r| (r.key, r.id)).collect();
    Ok(all_keys
        .iter()
        .map(|k| by_key.get(*k).copied().unwrap_or_default())
        .collect())
}

/// Records that these images run in the cluster: called only with the images of the
/// cluster's own containers, the evidence that lets its users see fleet-level findings of an
/// image (the tenancy model, [`crate::domain::tenancy`] rule (b)). A report that merely names
/// an image never links it.
#[tracing::instrument(skip_all, fields(cluster_id), err)]
async fn link_cluster_images(
    conn: &mut PgConnection,
    cluster_id: i64,
    image_ids: &[i64],
) -> Result<(), sqlx::Error> {
    if image_ids.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "insert into cluster_image (cluster_id, image_id)
         select distinct $1::bigint, id from unnest($2::bigint[]) as t(id) order by 2
         on conflict (cluster_id, image_id) do update set last_seen = bulwark_now()",
        cluster_id,
        image_ids
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Notes that the cluster has just reported.
#[tracing::instrument(skip_all, fields(cluster_id), err)]
pub async fn touch_cluster(conn: &mut PgConnection, cluster_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update cluster set last_report_at = bulwark_now() where id = $1",
        cluster_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Creates the namespace if new; returns its id.
#[tracing::instrument(skip_all, err)]
pub async fn ensure_namespace(
    conn: &mut PgConnection,
    cluster_id: i64,
    name: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into namespace (cluster_id, name) values ($1, $2)
         on conflict (cluster_id, name) do update set name = excluded.name
         returning id",
        cluster_id,
        name
    )
    .fetch_one(conn)
    .await
}

/// A workload as registered.
#[derive(Clone, Debug)]
pub struct WorkloadSpec<'a> {
    /// Kubernetes kind (Deployment, ...).
    pub kind: &'a str,
    /// Name.
    pub name: &'a str,
    /// Reachable from the internet.
    pub internet_facing: bool,
    /// Runs a privileged container.
    pub privileged: bool,
    /// Mounts host paths.
    pub host_mounts: bool,
    /// Service account.
    pub service_account: Option<&'a str>,
}

/// Creates or updates the workload; returns its id.
#[tracing::instrument(skip_all, err)]
pub async fn upsert_workload(
    conn: &mut PgConnection,
    cluster_id: i64,
    namespace_id: i64,
    spec: &WorkloadSpec<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into workload (cluster_id, namespace_id, kind, name, internet_facing, privileged,
                               host_mounts, service_account)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (cluster_id, namespace_id, kind, name) do update set
             internet_facing = excluded.internet_facing,
             privileged = excluded.privileged,
             host_mounts = excluded.host_mounts,
             service_account = excluded.service_account,
             last_seen = bulwark_now()
         returning id",
        cluster_id,
        namespace_id,
        spec.kind,
        spec.name,
        spec.internet_facing,
        spec.privileged,
        spec.host_mounts,
        spec.service_account
    )
    .fetch_one(conn)
    .await
}

/// Creates or updates a container of a workload; also records the image in the cluster.
#[tracing::instrument(skip_all, err)]
pub async fn upsert_container(
    conn: &mut PgConnection,
    cluster_id: i64,
    workload_id: i64,
    name: &str,
    image_id: i64,
    privileged: bool,
) -> Result<i64, sqlx::Error> {
    let id = sqlx::query_scalar!(
        "insert into container (cluster_id, workload_id, name, image_id, privileged)
         values ($1, $2, $3, $4, $5)
         on conflict (cluster_id, workload_id, name) do update set
             image_id = excluded.image_id, privileged = excluded.privileged, last_seen = bulwark_now()
         returning id",
        cluster_id,
        workload_id,
        name,
        image_id,
        privileged
    )
    .fetch_one(&mut *conn)
    .await?;
    link_cluster_images(conn, cluster_id, &[image_id]).await?;
    Ok(id)
}

/// Whether the database holds no estate and no reports yet (the demo only loads into that).
#[tracing::instrument(skip_all, err)]
pub async fn is_empty(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    let empty = sqlx::query_scalar!(
        r#"select not exists (select 1 from cluster)
              and not exists (select 1 from report)
              and not exists (select 1 from image) as "empty!""#
    )
    .fetch_one(conn)
    .await?;
    Ok(empty)
}

/// Creates or refreshes Kubernetes resources of one cluster (namespaces included); returns
/// their `(namespace_id, workload_id)` in the order given. Cluster-scoped resources (nodes,
/// cluster roles) live in the namespace named "".
#[tracing::instrument(skip_all, fields(cluster_id, workloads = workloads.len()), err)]
pub async fn upsert_workloads(
    conn: &mut PgConnection,
    cluster_id: i64,
    workloads: &[crate::domain::report::WorkloadAsset],
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    if workloads.is_empty() {
        return Ok(Vec::new());
    }
    let mut names: Vec<&str> = workloads.iter().map(|w| w.namespace.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    sqlx::query!(
        "insert into namespace (cluster_id, name)
         select $1, name from unnest($2::text[]) as t(name) order by name
         on conflict (cluster_id, name) do nothing",
        cluster_id,
        &names as &[&str]
    )
    .execute(&mut *conn)
    .await?;
    let namespaces: std::collections::HashMap<String, i64> = sqlx::query!(
        "select id, name from namespace where cluster_id = $1 and name = any($2)",
        cluster_id,
        &names as &[&str]
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| (r.name, r.id))
    .collect();

    let ns_ids: Vec<i64> = workloads
        .iter()
        .map(|w| namespaces.get(&w.namespace).copied().unwrap_or_default())
        .collect();
    let kinds: Vec<&str> = workloads.iter().map(|w| w.kind.as_str()).collect();
    let wl_names: Vec<&str> = workloads.iter().map(|w| w.name.as_str()).collect();
    let rows = sqlx::query!(
        r#"insert into workload (cluster_id, namespace_id, kind, name)
           select distinct $1::bigint, ns, kind, name
           from unnest($2::bigint[], $3::text[], $4::text[]) as t(ns, kind, name)
           order by 2, 3, 4
           on conflict (cluster_id, namespace_id, kind, name) do update set last_seen = bulwark_now()
           returning id, namespace_id, kind, name"#,
        cluster_id,
        &ns_ids,
        &kinds as &[&str],
        &wl_names as &[&str]
    )
    .fetch_all(&mut *conn)
    .await?;
    let by_key: std::collections::HashMap<(i64, String, String), i64> = rows
        .into_iter()
        .map(|r| ((r.namespace_id, r.kind, r.name), r.id))
        .collect();
    Ok(workloads
        .iter()
        .zip(&ns_ids)
        .map(|(w, ns)| {
            let id = by_key
                .get(&(*ns, w.kind.clone(), w.name.clone()))
                .copied()
                .unwrap_or_default();
            (*ns, id)
        })
        .collect())
}

/// Records containers: workload `w` runs image `i` in container `name`.
#[tracing::instrument(skip_all, fields(cluster_id, containers = workload_ids.len()), err)]
pub async fn upsert_containers(
    conn: &mut PgConnection,
    cluster_id: i64,
    workload_ids: &[i64],
    names: &[String],
    image_ids: &[i64],
) -> Result<(), sqlx::Error> {
    if workload_ids.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "insert into container (cluster_id, workload_id, name, image_id)
         select distinct on (w, n) $1::bigint, w, n, i
         from unnest($2::bigint[], $3::text[], $4::bigint[]) as t(w, n, i)
         order by w, n
         on conflict (cluster_id, workload_id, name) do update
             set image_id = excluded.image_id, last_seen = bulwark_now()
             where container.image_id <> excluded.image_id",
        cluster_id,
        workload_ids,
        names,
        image_ids
    )
    .execute(&mut *conn)
    .await?;
    link_cluster_images(conn, cluster_id, image_ids).await
}

/// Finds the cluster a report names, creating it (provider and environment unknown) if new.
/// The name is made valid first (an EKS ARN becomes its cluster name, other characters
/// become '-'); `None` when nothing usable is left.
#[tracing::instrument(skip_all, err)]
pub async fn cluster_by_name(
    conn: &mut PgConnection,
    name: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let Some(name) = cluster_name_from(name) else {
        return Ok(None);
    };
    upsert_cluster(
        conn,
        &ClusterSpec {
            name: &name,
            ..ClusterSpec::default()
        },
    )
    .await
    .map(Some)
}

/// A valid cluster name from what a report calls its cluster.
pub fn cluster_name_from(name: &str) -> Option<String> {
    let name = name.trim();
    // arn:aws:eks:region:account:cluster/NAME
    let name = match name.rsplit_once(":cluster/") {
        Some((_, short)) if name.starts_with("arn:") => short,
        _ => name,
    };
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    (!cleaned.is_empty()).then(|| cleaned.chars().take(128).collect())
}

/// Images run by these workloads of one cluster.
#[tracing::instrument(skip_all, fields(cluster_id), err)]
pub async fn images_of_workloads(
    conn: &mut PgConnection,
    cluster_id: i64,
    workload_ids: &[i64],
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "select distinct image_id from container where cluster_id = $1 and workload_id = any($2)",
        cluster_id,
        workload_ids
    )
    .fetch_all(conn)
    .await
}
