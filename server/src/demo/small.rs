//! The small fleet of `make run`: five clusters on four providers, a dozen workloads each, the
//! images they run and what Trivy finds in them. Scanner reports are generated as real Trivy
//! JSON and go through the same parser and pipeline as any pushed report, so the demo exercises
//! the product rather than bypassing it. Deterministic: the same fleet every time.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::small_catalogue::{ALPINE, Base, DEBIAN, DemoImage, IMAGES, Vuln};
use super::{DemoSummary, demo_identity, digest_of};
use crate::db;
use crate::db::estate::{ClusterSpec, WorkloadSpec};
use crate::db::tokens::IngestIdentity;
use crate::domain::image_ref::ImageRef;
use crate::ingest::Format;
use crate::ingest::model::ImageAsset;
use crate::ingest::pipeline;

struct DemoCluster {
    name: &'static str,
    provider: &'static str,
    region: &'static str,
    account: Option<&'static str>,
    environment: &'static str,
    criticality: i16,
}

const CLUSTERS: &[DemoCluster] = &[
    DemoCluster {
        name: "prod-eu-west-1",
        provider: "aws",
        region: "eu-west-1",
        account: Some("482177301188"),
        environment: "prod",
        criticality: 5,
    },
    DemoCluster {
        name: "prod-us-central1",
        provider: "gcp",
        region: "us-central1",
        account: Some("acme-prod-231"),
        environment: "prod",
        criticality: 5,
    },
    DemoCluster {
        name: "staging-westeurope",
        provider: "azure",
        region: "westeurope",
        account: Some("sub-staging-04"),
        environment: "staging",
        criticality: 3,
    },
    DemoCluster {
        name: "dev-onprem-lab",
        provider: "onprem",
        region: "fra-dc2",
        account: None,
        environment: "dev",
        criticality: 2,
    },
    DemoCluster {
        name: "edge-retail-0417",
        provider: "other",
        region: "store-0417",
        account: None,
        environment: "prod",
        criticality: 4,
    },
];
/// (namespace, kind, name, image index, internet-facing, privileged + host mounts)
type DemoWorkload = (&'static str, &'static str, &'static str, usize, bool, bool);

fn workloads(cluster: &str) -> Vec<DemoWorkload> {
    let storefront = if cluster.starts_with("prod") || cluster.starts_with("edge") {
        0
    } else {
        1
    };
    let payments = if cluster.starts_with("prod") { 2 } else { 3 };
    let mut list = vec![
        ("web", "Deployment", "storefront", storefront, true, false),
        ("data", "StatefulSet", "redis", 7, false, false),
        ("kube-system", "DaemonSet", "node-exporter", 10, false, true),
    ];
    if !cluster.starts_with("edge") {
        list.extend([
            (
                "payments",
                "Deployment",
                "payments-api",
                payments,
                false,
                false,
            ),
            (
                "ingress-nginx",
                "DaemonSet",
                "ingress-nginx-controller",
                5,
                true,
                false,
            ),
            ("data", "StatefulSet", "postgres", 6, false, false),
            ("kube-system", "Deployment", "coredns", 11, false, false),
        ]);
    }
    if !cluster.starts_with("dev") && !cluster.starts_with("edge") {
        list.extend([
            ("checkout", "Deployment", "checkout", 4, false, false),
            ("monitoring", "StatefulSet", "prometheus", 9, false, false),
        ]);
    }
    if cluster == "prod-eu-west-1" || cluster.starts_with("dev") {
        list.push(("monitoring", "Deployment", "grafana", 8, true, false));
    }
    list
}

/// Loads the small fleet (the caller checked that the database may take it).
pub(super) async fn load(pool: &PgPool) -> anyhow::Result<DemoSummary> {
    let mut summary = DemoSummary::default();
    let mut rng = StdRng::seed_from_u64(0x0b01_3a4c);

    // The estate.
    let mut tx = pool.begin().await?;
    let assets: Vec<ImageAsset> = IMAGES.iter().map(image_asset).collect::<Result<_, _>>()?;
    let image_ids = db::estate::upsert_images(&mut tx, &assets).await?;
    let mut cluster_ids = Vec::new();
    for c in CLUSTERS {
        let cluster_id = db::estate::upsert_cluster(
            &mut tx,
            &ClusterSpec {
                name: c.name,
                provider: Some(c.provider),
                environment: Some(c.environment),
                region: Some(c.region),
                account: c.account,
                criticality: Some(c.criticality),
            },
        )
        .await?;
        for (namespace, kind, name, image, internet_facing, privileged) in workloads(c.name) {
            let namespace_id = db::estate::ensure_namespace(&mut tx, cluster_id, namespace).await?;
            let workload_id = db::estate::upsert_workload(
                &mut tx,
                cluster_id,
                namespace_id,
                &WorkloadSpec {
                    kind,
                    name,
                    internet_facing,
                    privileged,
                    host_mounts: privileged,
                    service_account: Some(name),
                },
            )
            .await?;
            db::estate::upsert_container(
                &mut tx,
                cluster_id,
                workload_id,
                name,
                image_ids[image],
                privileged,
            )
            .await?;
        }
        cluster_ids.push(cluster_id);
        summary.clusters += 1;
    }
    tx.commit().await?;

    // What the in-cluster scanners report: every image a cluster runs, scanned by the cluster's
    // Trivy. The first round is a week-old scan with a few more findings, so the current round
    // shows fixes.
    for (c, cluster_id) in CLUSTERS.iter().zip(&cluster_ids) {
        let identity = demo_identity(
            pool,
            &format!("trivy-operator/{}", c.name),
            Some(*cluster_id),
        )
        .await?;
        let mut images: Vec<usize> = workloads(c.name).iter().map(|w| w.3).collect();
        images.sort_unstable();
        images.dedup();
        for image in images {
            for round in [Round::Previous, Round::Current] {
                let body = trivy_report(&IMAGES[image], round, &mut rng);
                summary.findings += ingest(pool, &identity, &body).await?;
                summary.reports += 1;
            }
        }
    }
    // And a CI pipeline scanning the company's own images before they ship.
    let ci = demo_identity(pool, "github-actions/acme", None).await?;
    for image in IMAGES
        .iter()
        .filter(|i| i.reference.starts_with("ghcr.io/acme/"))
    {
        let body = trivy_report(image, Round::Current, &mut rng);
        summary.findings += ingest(pool, &ci, &body).await?;
        summary.reports += 1;
    }
    summary.images = IMAGES.len();
    Ok(summary)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Round {
    Previous,
    Current,
}

async fn ingest(pool: &PgPool, identity: &IngestIdentity, body: &[u8]) -> anyhow::Result<u64> {
    let digest: [u8; 32] = Sha256::digest(body).into();
    let parsed = Format::Trivy
        .parse(body)
        .map_err(|e| anyhow::anyhow!("demo report does not parse: {e}"))?;
    let outcome = pipeline::store(
        pool,
        identity,
        Format::Trivy.as_str(),
        &digest,
        body.len(),
        parsed,
    )
    .await
    .map_err(|e| anyhow::anyhow!("storing a demo report: {e}"))?;
    Ok(outcome.counts.new)
}

fn image_asset(image: &DemoImage) -> anyhow::Result<ImageAsset> {
    let mut reference = ImageRef::parse(image.reference)?;
    reference.digest = Some(digest_of(image.reference));
    let mut asset = ImageAsset::new(reference, None);
    let (family, name) = os_of(image.base);
    asset.os_family = Some(family.to_owned());
    asset.os_name = Some(name.to_owned());
    Ok(asset)
}

fn os_of(base: Base) -> (&'static str, &'static str) {
    match base {
        Base::Debian => ("debian", "12.1"),
        Base::Alpine => ("alpine", "3.18.3"),
        Base::Distroless => ("debian", "12"),
    }
}

/// A Trivy JSON report of `image`. The previous round has every base vulnerability plus one
/// more language finding; the current one a deterministic share of them.
fn trivy_report(image: &DemoImage, round: Round, rng: &mut StdRng) -> Vec<u8> {
    let (family, os_name) = os_of(image.base);
    let repo = image
        .reference
        .rsplit_once(':')
        .map_or(image.reference, |(r, _)| r);
    let base_vulns: &[Vuln] = match image.base {
        Base::Debian => DEBIAN,
        Base::Alpine => ALPINE,
        Base::Distroless => &[],
    };
    let keep = |i: usize, share: u32| -> bool {
        // stable per image and vulnerability, so both rounds and every cluster agree
        let h = Sha256::digest(format!("{}#{i}", image.reference).as_bytes());
        u32::from(h[0]) * 100 / 256 < share
    };
    let share = if round == Round::Previous {
        100
    } else {
        image.base_share
    };
    let os_vulns: Vec<Value> = base_vulns
        .iter()
        .enumerate()
        .filter(|(i, _)| keep(*i, share))
        .map(|(_, v)| vuln_json(v, image.base))
        .collect();
    let mut results = vec![json!({
        "Target": format!("{} ({family} {os_name})", image.reference),
        "Class": "os-pkgs",
        "Type": match image.base { Base::Alpine => "alpine", _ => "debian" },
        "Vulnerabilities": os_vulns,
    })];
    for (vulns, kind, skip, count) in image.lang {
        let count = if round == Round::Previous {
            *count + 1
        } else {
            *count
        };
        let list: Vec<Value> = vulns
            .iter()
            .skip(*skip)
            .take(count)
            .map(|v| lang_json(v, kind))
            .collect();
        let target = match *kind {
            "jar" => "app/app.jar",
            "node-pkg" => "app/node_modules",
            _ => "usr/local/bin/app",
        };
        results.push(json!({
            "Target": target, "Class": "lang-pkgs", "Type": kind, "Vulnerabilities": list,
        }));
    }
    if image.secret {
        results.push(json!({
            "Target": "/app/.env.production",
            "Class": "secret",
            "Secrets": [{
                "RuleID": "aws-access-key-id",
                "Category": "AWS",
                "Severity": "CRITICAL",
                "Title": "AWS Access Key ID",
                "StartLine": 3,
                "EndLine": 3,
                "Match": "AWS_ACCESS_KEY_ID=********************",
            }],
        }));
    }
    let age_days = if round == Round::Previous { 7 } else { 0 };
    let created = chrono::Utc::now()
        - chrono::Duration::days(age_days)
        - chrono::Duration::minutes(rng.random_range(0..600));
    let report = json!({
        "SchemaVersion": 2,
        "CreatedAt": created.to_rfc3339(),
        "ArtifactName": image.reference,
        "ArtifactType": "container_image",
        "Metadata": {
            "OS": { "Family": family, "Name": os_name },
            "ImageID": format!("sha256:{}", hex::encode(Sha256::digest(format!("config {}", image.reference).as_bytes()))),
            "RepoTags": [image.reference],
            "RepoDigests": [format!("{repo}@{}", digest_of(image.reference))],
        },
        "Results": results,
    });
    serde_json::to_vec(&report).unwrap_or_default()
}

fn vuln_json(v: &Vuln, base: Base) -> Value {
    let source = match base {
        Base::Alpine => "nvd",
        _ => "debian",
    };
    json!({
        "VulnerabilityID": v.id,
        "PkgName": v.pkg,
        "InstalledVersion": v.installed,
        "FixedVersion": v.fixed,
        "Status": if v.fixed.is_empty() { "affected" } else { "fixed" },
        "Severity": v.severity,
        "SeveritySource": source,
        "PrimaryURL": format!("https://avd.aquasec.com/nvd/{}", v.id.to_lowercase()),
        "Title": v.title,
        "Description": format!("{}. See the advisory for affected versions and mitigations.", v.title),
        "CVSS": { "nvd": { "V3Vector": v.vector, "V3Score": v.score } },
        "References": [format!("https://nvd.nist.gov/vuln/detail/{}", v.id)],
        "PublishedDate": "2023-10-11T14:15:00Z",
        "LastModifiedDate": "2024-06-10T17:16:00Z",
    })
}

fn lang_json(v: &Vuln, kind: &str) -> Value {
    let mut value = vuln_json(v, Base::Distroless);
    if let Some(map) = value.as_object_mut() {
        map.insert("SeveritySource".into(), json!("ghsa"));
        map.insert("PkgPath".into(), json!(format!("{kind}/{}", v.pkg)));
    }
    value
}
