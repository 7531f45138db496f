//! Loads a [`Fleet`] plan: the intel its CVEs have, the clusters with their exposed workloads,
//! then every scan of every cluster in time order, dated when it ran, through the ingest
//! pipeline ([`pipeline::store_at`]) as a parsed report (one per cluster and scan, like
//! `trivy k8s`, with a lifecycle scope per image so that a scan confirming an image costs a
//! hash), and last a few findings accepted as risks on the day they were decided.
//!
//! A scan carries the whole cluster on its first and last day; in between, what changed since
//! the cluster's last scan (trivy-operator rescans an image, or audits the workloads again, when
//! they change): the images whose content changed with the workloads running them, and the
//! workloads' configuration checks when a check changed. A scan that found no change still
//! arrives, as a report with nothing in it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, DurationRound, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::catalogue::{Catalogue, Entry};
use super::fleet::{Cluster, Fleet, Image, Item, SECRET_FILES, Size, Workload};
use super::progress::Progress;
use super::{DemoSummary, demo_identity};
use crate::db;
use crate::db::estate::{ClusterSpec, WorkloadSpec};
use crate::db::findings::{Decision, DecisionKind};
use crate::domain::component::Component;
use crate::domain::fingerprint::Fingerprint;
use crate::domain::image_ref::ImageRef;
use crate::domain::intel::{EpssFile, EpssScore, KevCatalog, KevEntry};
use crate::ingest::model::{
    Details, FindingKind, FindingRecord, ImageAsset, ParsedReport, ReportBuilder, ReportKind,
    VulnerabilityInfo, WorkloadAsset,
};
use crate::ingest::pipeline;

/// Clusters whose scans are stored at the same time (each cluster's in order): one stream
/// builds and scores a report while the database writes another's.
const STREAMS: usize = 2;

/// Loads the fleet of `size`, its history ending now.
pub async fn load(pool: &PgPool, size: Size) -> anyhow::Result<DemoSummary> {
    let catalogue = Catalogue::get();
    let fleet = tokio::task::spawn_blocking(move || Fleet::generate(size, catalogue)).await?;
    let fleet = Arc::new(fleet);
    let now = Utc::now();
    let start = (now - Duration::days(i64::from(fleet.days))).duration_trunc(Duration::hours(1))?;
    let plan = fleet.summary();
    tracing::info!(
        clusters = plan.clusters,
        workloads = plan.workloads,
        images = plan.images,
        clean_images = plan.clean_images,
        findings = plan.findings,
        reports = plan.reports,
        catalogue = catalogue.provenance,
        "demo fleet planned"
    );

    store_intel(pool, catalogue, now).await?;
    let identities = register(pool, &fleet, start).await?;

    // Every scan, in time order within each stream of clusters.
    let total: usize = fleet.clusters.iter().map(|c| c.scans.len()).sum();
    let progress = Arc::new(Mutex::new(Progress::new(total, fleet.days)));
    let mut streams = Vec::new();
    for s in 0..STREAMS {
        let mut scans: Vec<(DateTime<Utc>, usize, usize)> = Vec::new();
        for (c, cluster) in fleet.clusters.iter().enumerate().skip(s).step_by(STREAMS) {
            for k in 0..cluster.scans.len() {
                scans.push((scan_time(cluster, k, c, start, now), c, k));
            }
        }
        scans.sort_unstable();
        let (pool, fleet, identities, progress) = (
            pool.clone(),
            Arc::clone(&fleet),
            Arc::clone(&identities),
            Arc::clone(&progress),
        );
        streams.push(tokio::spawn(async move {
            let mut created = 0u64;
            for (at, c, k) in scans {
                let plan = Arc::clone(&fleet);
                let parsed = tokio::task::spawn_blocking(move || report(&plan, c, k, at)).await?;
                let digest: [u8; 32] = Sha256::digest(
                    format!("demo {} {k} {}", fleet.clusters[c].name, at.timestamp()).as_bytes(),
                )
                .into();
                let outcome = pipeline::store_at(
                    &pool,
                    &identities[c],
                    "trivy",
                    &digest,
                    0,
                    parsed,
                    Some(at),
                )
                .await
                .map_err(|e| anyhow::anyhow!("storing a demo report: {e}"))?;
                created += outcome.counts.new;
                if let Ok(mut p) = progress.lock() {
                    p.step(outcome.counts.new, fleet.clusters[c].scans[k]);
                }
            }
            anyhow::Ok(created)
        }));
    }
    let mut summary = DemoSummary {
        clusters: fleet.clusters.len(),
        images: fleet.images.len(),
        reports: total,
        ..DemoSummary::default()
    };
    for stream in streams {
        summary.findings += stream.await??;
    }
    if let Ok(mut p) = progress.lock() {
        p.finish();
    }
    accept_some(pool, size, now).await?;
    Ok(summary)
}

/// When scan `k` of cluster number `c` ran: its day at the cluster's minute, the last one
/// a few minutes ago.
fn scan_time(
    cluster: &Cluster,
    k: usize,
    c: usize,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    if k + 1 == cluster.scans.len() && k > 0 {
        return now - Duration::minutes(5 + (c % 50) as i64);
    }
    start
        + Duration::days(i64::from(cluster.scans[k]))
        + Duration::minutes(i64::from(cluster.minute))
}

/// KEV entries for the catalogue's known exploited CVEs and an EPSS score for every CVE
/// (most small, the exploited ones high), through the same code as `bulwark intel import`.
async fn store_intel(
    pool: &PgPool,
    catalogue: &Catalogue,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let kev: HashSet<&str> = catalogue.kev.iter().map(|(id, _)| *id).collect();
    let entries = catalogue
        .kev
        .iter()
        .filter_map(|(id, added)| {
            let date_added = chrono::NaiveDate::parse_from_str(added, "%Y-%m-%d").ok()?;
            Some(KevEntry {
                cve_id: (*id).to_owned(),
                vendor: None,
                product: None,
                name: None,
                date_added,
                due_date: Some(date_added + Duration::days(21)),
                ransomware_use: Some("Unknown".to_owned()),
                notes: None,
            })
        })
        .collect();
    let mut ids: Vec<&str> = catalogue.entries.iter().map(|e| e.id).collect();
    ids.sort_unstable();
    ids.dedup();
    let scores = ids
        .into_iter()
        .map(|id| {
            let roll = f32::from(Sha256::digest(id.as_bytes())[0]) / 256.0;
            let score = if kev.contains(id) {
                0.5 + roll * 0.45
            } else {
                roll.powi(8) * 0.6
            };
            EpssScore {
                cve_id: id.to_owned(),
                score,
                percentile: roll,
            }
        })
        .collect();
    let mut tx = pool.begin().await?;
    db::intel::upsert_kev(
        &mut tx,
        &KevCatalog {
            version: Some("demo".to_owned()),
            entries,
            warnings: Vec::new(),
        },
    )
    .await?;
    db::intel::upsert_epss(
        &mut tx,
        &EpssFile {
            model_version: Some("v2025.03.14".to_owned()),
            score_date: Some(now.date_naive()),
            scores,
            warnings: Vec::new(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Creates the clusters, their workloads that reports cannot describe (internet-facing,
/// privileged) and each cluster's scanner identity, dated at the start of the history.
async fn register(
    pool: &PgPool,
    fleet: &Fleet,
    start: DateTime<Utc>,
) -> anyhow::Result<Arc<Vec<db::tokens::IngestIdentity>>> {
    let mut identities = Vec::with_capacity(fleet.clusters.len());
    for c in &fleet.clusters {
        let mut tx = pool.begin().await?;
        db::reports::set_clock(&mut tx, start).await?;
        let cluster_id = db::estate::upsert_cluster(
            &mut tx,
            &ClusterSpec {
                name: &c.name,
                provider: Some(c.provider),
                environment: Some(c.environment),
                region: Some(c.region),
                account: c.account.as_deref(),
                criticality: Some(c.criticality),
            },
        )
        .await?;
        for w in c
            .workloads
            .iter()
            .filter(|w| w.internet_facing || w.privileged)
        {
            let namespace_id =
                db::estate::ensure_namespace(&mut tx, cluster_id, &w.namespace).await?;
            db::estate::upsert_workload(
                &mut tx,
                cluster_id,
                namespace_id,
                &WorkloadSpec {
                    kind: w.kind,
                    name: &w.name,
                    internet_facing: w.internet_facing,
                    privileged: w.privileged,
                    host_mounts: w.privileged,
                    service_account: Some(&w.name),
                },
            )
            .await?;
        }
        tx.commit().await?;
        identities.push(
            demo_identity(
                pool,
                &format!("trivy-operator/{}", c.name),
                Some(cluster_id),
            )
            .await?,
        );
    }
    Ok(Arc::new(identities))
}

/// The report of scan `k` of cluster number `c`.
fn report(fleet: &Fleet, c: usize, k: usize, at: DateTime<Utc>) -> ParsedReport {
    let catalogue = Catalogue::get();
    let cluster = &fleet.clusters[c];
    let day = cluster.scans[k];
    let full = k == 0 || k + 1 == cluster.scans.len();
    let since = k.checked_sub(1).map(|p| cluster.scans[p]);
    let mut b = ReportBuilder::new("trivy", ReportKind::Findings);
    b.scanner_version(Some("0.57.1".to_owned()));
    b.cluster_name(Some(cluster.name.clone()));
    b.artifact(Some(cluster.name.clone()));
    b.generated_at(Some(at));
    let changed =
        |changes: &[u16]| since.is_none_or(|s| changes.iter().any(|d| *d > s && *d <= day));
    let config = (full || changed(&cluster.check_changes))
        .then(|| b.scope(format!("config:{}", cluster.name)));
    let mut images_done = HashSet::new();
    for w in &cluster.workloads {
        let image = &fleet.images[w.image as usize];
        let image_changed = full || changed(&image.changes);
        if !image_changed && (config.is_none() || w.checks.is_empty()) {
            continue;
        }
        let wi = b.workload(WorkloadAsset {
            namespace: w.namespace.clone(),
            kind: w.kind.to_owned(),
            name: w.name.clone(),
        });
        if let Some(config) = config {
            checks(&mut b, catalogue, w, wi, config, day);
        }
        if !image_changed {
            continue;
        }
        let Some(asset) = image_asset(image) else {
            continue;
        };
        let key = asset.key.clone();
        let ii = b.image(asset);
        b.link(wi, ii, Some(w.name.clone()));
        if images_done.insert(w.image) {
            let scope = b.scope(format!("image:{key}"));
            image_findings(&mut b, catalogue, image, (ii, &key), scope, day);
        }
    }
    b.finish()
}

fn checks(
    b: &mut ReportBuilder,
    catalogue: &Catalogue,
    w: &Workload,
    wi: usize,
    scope: usize,
    day: u16,
) {
    let resource = format!("{}/{}/{}", w.namespace, w.kind, w.name);
    for slot in w.checks.iter().filter(|s| s.present(day)) {
        let Item::Check(i) = slot.item else { continue };
        let Some(rule) = catalogue.checks.get(usize::from(i)) else {
            continue;
        };
        b.record();
        b.finding(FindingRecord {
            fingerprint: Fingerprint::misconfiguration(rule.id, &resource, "cluster"),
            kind: FindingKind::Misconfiguration,
            severity: rule.severity,
            title: rule.title.to_owned(),
            vulnerability_id: None,
            component: None,
            rule_id: Some(rule.id.to_owned()),
            image: None,
            workload: Some(wi),
            in_cluster: true,
            resource: Some(resource.clone()),
            fixed_version: None,
            scope,
            details: Details::from(serde_json::json!({ "scanner": "trivy", "target": resource })),
        });
    }
}

fn image_findings(
    b: &mut ReportBuilder,
    catalogue: &Catalogue,
    image: &Image,
    (ii, key): (usize, &str),
    scope: usize,
    day: u16,
) {
    for slot in image.slots.iter().filter(|s| s.present(day)) {
        b.record();
        match slot.item {
            Item::Vulnerability(e) => {
                if let Some(entry) = catalogue.entries.get(e as usize) {
                    vulnerability(b, entry, (ii, key), scope);
                }
            }
            Item::Secret(rule, file) => {
                let (Some(rule), Some(file)) = (
                    catalogue.secrets.get(usize::from(rule)),
                    SECRET_FILES.get(usize::from(file)),
                ) else {
                    continue;
                };
                let location = format!("{file}\n****************");
                b.finding(FindingRecord {
                    fingerprint: Fingerprint::secret(rule.id, &location, key),
                    kind: FindingKind::Secret,
                    severity: rule.severity,
                    title: rule.title.to_owned(),
                    vulnerability_id: None,
                    component: None,
                    rule_id: Some(rule.id.to_owned()),
                    image: Some(ii),
                    workload: None,
                    in_cluster: false,
                    resource: Some((*file).to_owned()),
                    fixed_version: None,
                    scope,
                    details: Details::from(
                        serde_json::json!({ "scanner": "trivy", "target": file, "match": "****************" }),
                    ),
                });
            }
            Item::Check(_) => {}
        }
    }
}

fn vulnerability(b: &mut ReportBuilder, entry: &Entry, (ii, key): (usize, &str), scope: usize) {
    let component = Component::from_parts(entry.family.ecosystem(), entry.package, entry.installed);
    let component_key = component.key();
    let fingerprint = Fingerprint::vulnerability(entry.id, &component_key, key);
    let ci = b.component_keyed(component_key, component);
    if !b.knows_vulnerability(entry.id) {
        b.vulnerability(VulnerabilityInfo {
            id: entry.id.to_owned(),
            title: Some(entry.title.to_owned()),
            severity: entry.severity,
            cvss_vectors: entry
                .vector
                .map(|v| vec![("nvd".to_owned(), v.to_owned())])
                .unwrap_or_default(),
            references: vec![format!("https://nvd.nist.gov/vuln/detail/{}", entry.id)],
            ..VulnerabilityInfo::default()
        });
    }
    let target = entry.family.target();
    b.finding(FindingRecord {
        fingerprint,
        kind: FindingKind::Vulnerability,
        severity: entry.severity,
        title: entry.title.to_owned(),
        vulnerability_id: Some(entry.id.to_owned()),
        component: Some(ci),
        rule_id: None,
        image: Some(ii),
        workload: None,
        in_cluster: false,
        resource: Some(target.to_owned()),
        fixed_version: entry.fixed.map(str::to_owned),
        scope,
        details: Details::from(serde_json::json!({
            "scanner": "trivy",
            "target": target,
            "status": if entry.fixed.is_some() { "fixed" } else { "affected" },
        })),
    });
}

/// The image as a scanner names it, with a digest derived from its reference.
fn image_asset(image: &Image) -> Option<ImageAsset> {
    let mut reference = ImageRef::parse(&image.reference).ok()?;
    reference.digest = Some(super::digest_of(&image.reference));
    let mut asset = ImageAsset::new(reference, None);
    if let Some(os) = image.os {
        asset.os_family = Some(os.word().to_owned());
        asset.os_name = Some(
            if os == super::catalogue::Family::Alpine {
                "3.18.4"
            } else {
                "12.7"
            }
            .to_owned(),
        );
    }
    Some(asset)
}

/// Accepts a few open findings as risks, each on a day after it was first seen.
async fn accept_some(pool: &PgPool, size: Size, now: DateTime<Utc>) -> anyhow::Result<()> {
    const WHY: &[&str] = &[
        "Not reachable: the vulnerable code path is not used by this service.",
        "Compensating control: the service is only reachable from the internal network.",
        "Fix scheduled with the next base image upgrade; risk accepted until then.",
        "Vendor image; upstream has no fixed release yet.",
    ];
    let mut rng = StdRng::seed_from_u64(size.seed ^ 0x5eed);
    let limit = i64::try_from((size.findings / 4000).clamp(3, 500)).unwrap_or(3);
    let seed = i64::from_ne_bytes(size.seed.to_ne_bytes());
    let mut tx = pool.begin().await?;
    let candidates =
        db::demo::acceptance_candidates(&mut tx, limit, seed, now - Duration::days(2)).await?;
    for c in candidates {
        let window = (now - Duration::days(1) - c.first_seen)
            .num_minutes()
            .max(60);
        let at = c.first_seen + Duration::minutes(rng.random_range(60..=window));
        db::reports::set_clock(&mut tx, at).await?;
        db::findings::decide(
            &mut tx,
            c.cluster_id,
            c.id,
            &Decision {
                decision: DecisionKind::Accepted,
                justification: WHY[rng.random_range(0..WHY.len())],
                decided_by: None,
                expires_at: Some(at + Duration::days(180)),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
