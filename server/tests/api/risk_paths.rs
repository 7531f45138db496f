//! One rule for risk, two paths that apply it: a finding scored while its report is stored
//! must score, and explain itself, exactly as the recompute after a KEV/EPSS import or an
//! estate change scores it. Generated cases cover every placement a finding can have.

use app::model::Severity;
use chrono::NaiveDate;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use server::config::TokenCreateArgs;
use server::db;
use server::db::estate::{ClusterSpec, WorkloadSpec};
use server::db::risk::Selector;
use server::db::tokens::IngestIdentity;
use server::domain::component::Component;
use server::domain::fingerprint::Fingerprint;
use server::domain::image_ref::ImageRef;
use server::domain::intel::{EpssFile, EpssScore, KevCatalog, KevEntry};
use server::ingest::model::{
    Details, FindingKind, FindingRecord, ImageAsset, ReportBuilder, ReportKind, VulnerabilityInfo,
    WorkloadAsset,
};
use sqlx::PgPool;

/// Where a generated finding sits.
#[derive(Clone, Copy, Debug)]
enum Place {
    /// On a workload of the token's cluster whose exposure was registered before the report.
    WorkloadWithExposure,
    /// On a workload the report itself introduces (no exposure known beyond its cluster's).
    WorkloadFromReport,
    /// In an image only: a CI scan (unbound token) of an image that runs in a cluster. The
    /// finding is fleet-level, ranked on what it is, not on where the image runs.
    ImageRunning,
    /// In an image only, sent by a cluster-bound scanner: the finding lives in its cluster,
    /// where no workload is known to run the image.
    ImageOfBoundScanner,
    /// In an image only, sent by a cluster-bound scanner, in a cluster whose workload runs it.
    ImageOfBoundScannerRunning,
    /// In an image that runs nowhere known (CI).
    ImageNowhere,
    /// On the cluster itself (a node or a control), no workload.
    ClusterOnly,
    /// A Kubernetes resource sent with a token bound to no cluster, on an image that runs in a
    /// cluster.
    UnplacedWithImage,
    /// A Kubernetes resource sent with a token bound to no cluster, no image.
    Nowhere,
}

#[derive(Clone, Debug)]
struct Case {
    place: Place,
    environment: &'static str,
    criticality: i16,
    internet_facing: bool,
    privileged: bool,
    kind: FindingKind,
    severity: Severity,
    fixed: bool,
    vector: Option<&'static str>,
    kev: bool,
    epss: Option<f32>,
}

const VECTORS: &[&str] = &[
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N",
    "CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:L/A:N",
];

fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![
            Just(Place::WorkloadWithExposure),
            Just(Place::WorkloadFromReport),
            Just(Place::ImageRunning),
            Just(Place::ImageOfBoundScanner),
            Just(Place::ImageOfBoundScannerRunning),
            Just(Place::ImageNowhere),
            Just(Place::ClusterOnly),
            Just(Place::UnplacedWithImage),
            Just(Place::Nowhere),
        ],
        prop_oneof![Just("prod"), Just("staging"), Just("dev")],
        1i16..=5,
        any::<(bool, bool)>(),
        prop_oneof![
            3 => Just(FindingKind::Vulnerability),
            1 => Just(FindingKind::Misconfiguration),
        ],
        0i16..5,
        any::<bool>(),
        proptest::option::of(proptest::sample::select(VECTORS)),
        any::<bool>(),
        proptest::option::of(0.0f32..1.0),
    )
        .prop_map(
            |(
                place,
                environment,
                criticality,
                (internet_facing, privileged),
                kind,
                severity,
                fixed,
                vector,
                kev,
                epss,
            )| Case {
                place,
                environment,
                criticality,
                internet_facing,
                privileged,
                kind,
                severity: Severity::from_i16(severity),
                fixed,
                vector,
                kev,
                epss,
            },
        )
}

/// An identity for `source`, bound to `cluster` when given (created with its environment and
/// criticality).
async fn identity(
    pool: &PgPool,
    source: &str,
    token: &str,
    cluster: Option<(&str, &Case)>,
) -> IngestIdentity {
    if let Some((name, case)) = cluster {
        let mut conn = pool.acquire().await.unwrap();
        db::estate::upsert_cluster(
            &mut conn,
            &ClusterSpec {
                name,
                environment: Some(case.environment),
                criticality: Some(case.criticality),
                ..ClusterSpec::default()
            },
        )
        .await
        .unwrap();
    }
    let args = TokenCreateArgs {
        source: source.to_owned(),
        cluster: cluster.map(|(name, _)| name.to_owned()),
        name: Some(token.to_owned()),
        ..TokenCreateArgs::default()
    };
    let issued = server::cli::issue_ingest_token(pool, &args).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    db::tokens::find_live_by_hash(
        &mut conn,
        &server::domain::token::hash(issued.secret.expose()),
    )
    .await
    .unwrap()
    .unwrap()
}

/// Registers a workload running `image` in `cluster`, with the case's exposure.
async fn running_workload(pool: &PgPool, cluster: &str, image: &str, case: &Case) {
    let mut conn = pool.acquire().await.unwrap();
    let cluster_id = db::estate::upsert_cluster(
        &mut conn,
        &ClusterSpec {
            name: cluster,
            environment: Some(case.environment),
            criticality: Some(case.criticality),
            ..ClusterSpec::default()
        },
    )
    .await
    .unwrap();
    let namespace = db::estate::ensure_namespace(&mut conn, cluster_id, "shop")
        .await
        .unwrap();
    let workload = db::estate::upsert_workload(
        &mut conn,
        cluster_id,
        namespace,
        &WorkloadSpec {
            kind: "Deployment",
            name: "web",
            internet_facing: case.internet_facing,
            privileged: case.privileged,
            host_mounts: false,
            service_account: None,
        },
    )
    .await
    .unwrap();
    let image_ids = db::estate::upsert_images(
        &mut conn,
        &[ImageAsset::new(ImageRef::parse(image).unwrap(), None)],
    )
    .await
    .unwrap();
    db::estate::upsert_container(&mut conn, cluster_id, workload, "web", image_ids[0], false)
        .await
        .unwrap();
}

/// Stores the case's one-finding report through the ingest pipeline.
async fn ingest(pool: &PgPool, n: usize, case: &Case) {
    ingest_as(pool, n, case, u8::try_from(n % 256).unwrap()).await;
}

/// The same, with `digest` standing for the report's bytes (another digest: a re-scan).
async fn ingest_as(pool: &PgPool, n: usize, case: &Case, digest: u8) {
    let cluster = format!("c{n}");
    let image = format!("registry.example/app{n}:1.0");
    let cve = format!("CVE-2024-{:05}", 10_000 + n);
    let bound = matches!(
        case.place,
        Place::WorkloadWithExposure
            | Place::WorkloadFromReport
            | Place::ImageOfBoundScanner
            | Place::ImageOfBoundScannerRunning
            | Place::ClusterOnly
    );
    if matches!(
        case.place,
        Place::ImageRunning
            | Place::WorkloadWithExposure
            | Place::UnplacedWithImage
            | Place::ImageOfBoundScannerRunning
    ) {
        running_workload(pool, &cluster, &image, case).await;
    }
    let identity = identity(
        pool,
        &format!("scanner{n}"),
        &format!("scanner{n}-{digest}"),
        bound.then_some((cluster.as_str(), case)),
    )
    .await;

    let mut b = ReportBuilder::new("generated", ReportKind::Findings);
    let scope = b.scope(format!("scope{n}"));
    let with_image = !matches!(case.place, Place::ClusterOnly | Place::Nowhere);
    let image_index =
        with_image.then(|| b.image(ImageAsset::new(ImageRef::parse(&image).unwrap(), None)));
    let workload = matches!(
        case.place,
        Place::WorkloadWithExposure | Place::WorkloadFromReport
    )
    .then(|| {
        b.workload(WorkloadAsset {
            namespace: "shop".to_owned(),
            kind: "Deployment".to_owned(),
            name: "web".to_owned(),
        })
    });
    if let (Some(w), Some(i)) = (workload, image_index) {
        b.link(w, i, Some("web".to_owned()));
    }
    let vulnerability = case.kind == FindingKind::Vulnerability;
    let component = vulnerability.then(|| b.component(Component::from_parts("npm", "lib", "1.0")));
    if vulnerability {
        b.vulnerability(VulnerabilityInfo {
            id: cve.clone(),
            severity: case.severity,
            cvss_vectors: case
                .vector
                .map(|v| ("nvd".to_owned(), v.to_owned()))
                .into_iter()
                .collect(),
            ..VulnerabilityInfo::default()
        });
    }
    b.record();
    b.finding(FindingRecord {
        fingerprint: Fingerprint::of("generated", &[&cve, &n.to_string()]),
        kind: case.kind,
        severity: case.severity,
        title: format!("finding {n}"),
        vulnerability_id: vulnerability.then(|| cve.clone()),
        component,
        rule_id: (!vulnerability).then(|| "KSV-0001".to_owned()),
        image: image_index,
        workload,
        in_cluster: !matches!(
            case.place,
            Place::ImageRunning
                | Place::ImageOfBoundScanner
                | Place::ImageOfBoundScannerRunning
                | Place::ImageNowhere
        ),
        resource: None,
        fixed_version: case.fixed.then(|| "1.1".to_owned()),
        scope,
        details: Details::of(&serde_json::json!({})),
    });
    let parsed = b.finish();
    let digest = [digest; 32];
    server::ingest::pipeline::store(pool, &identity, "generated", &digest, 1, parsed)
        .await
        .unwrap();
}

/// KEV and EPSS for the cases that have them, loaded before any report.
async fn intel(pool: &PgPool, cases: &[Case]) {
    let cve = |n: usize| format!("CVE-2024-{:05}", 10_000 + n);
    let kev = KevCatalog {
        entries: cases
            .iter()
            .enumerate()
            .filter(|(_, c)| c.kev)
            .map(|(n, _)| KevEntry {
                cve_id: cve(n),
                vendor: None,
                product: None,
                name: None,
                date_added: NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(),
                due_date: None,
                ransomware_use: None,
                notes: None,
            })
            .collect(),
        ..KevCatalog::default()
    };
    let epss = EpssFile {
        scores: cases
            .iter()
            .enumerate()
            .filter_map(|(n, c)| {
                c.epss.map(|score| EpssScore {
                    cve_id: cve(n),
                    score,
                    percentile: 0.5,
                })
            })
            .collect(),
        score_date: NaiveDate::from_ymd_opt(2024, 3, 2),
        ..EpssFile::default()
    };
    let mut conn = pool.acquire().await.unwrap();
    db::intel::upsert_kev(&mut conn, &kev).await.unwrap();
    db::intel::upsert_epss(&mut conn, &epss).await.unwrap();
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn ingest_and_recompute_score_every_placement_alike(pool: PgPool) {
    // Generated, deterministic cases: the same on every run, so a failure can be reproduced.
    let mut runner = TestRunner::new(Config {
        rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
        ..Config::default()
    });
    let mut cases: Vec<Case> = (0..64)
        .map(|_| case().new_tree(&mut runner).unwrap().current())
        .collect();
    // ... and every placement at least once, whatever the generator drew.
    for (i, place) in [
        Place::WorkloadWithExposure,
        Place::WorkloadFromReport,
        Place::ImageRunning,
        Place::ImageOfBoundScanner,
        Place::ImageOfBoundScannerRunning,
        Place::ImageNowhere,
        Place::ClusterOnly,
        Place::UnplacedWithImage,
        Place::Nowhere,
    ]
    .into_iter()
    .enumerate()
    {
        cases[i].place = place;
    }
    intel(&pool, &cases).await;
    for (n, case) in cases.iter().enumerate() {
        ingest(&pool, n, case).await;
    }

    let mut conn = pool.acquire().await.unwrap();
    let rescored = db::risk::rescore(&mut conn, &Selector::All).await.unwrap();
    assert_eq!(rescored.len(), cases.len(), "one finding per case");
    let titles: std::collections::HashMap<(i64, i64), String> =
        sqlx::query_as::<_, (i64, i64, String)>("select cluster_id, id, title from finding")
            .fetch_all(&mut *conn)
            .await
            .unwrap()
            .into_iter()
            .map(|(c, i, t)| ((c, i), t))
            .collect();
    for r in &rescored {
        let title = &titles[&(r.cluster_id, r.id)];
        let n: usize = title.trim_start_matches("finding ").parse().unwrap();
        assert!(
            !r.changed(),
            "{:?}: stored at ingest {:?} {:?}, recomputed {} {}",
            cases[n],
            r.stored_score,
            r.stored_factors,
            r.score,
            r.factors
        );
    }
    // and the recompute, run for real, finds nothing to change
    assert_eq!(
        db::risk::recompute(&mut conn, &Selector::All)
            .await
            .unwrap(),
        0
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_recompute_rewrites_a_stale_breakdown(pool: PgPool) {
    let case = case()
        .new_tree(&mut TestRunner::deterministic())
        .unwrap()
        .current();
    ingest(&pool, 0, &case).await;
    let mut conn = pool.acquire().await.unwrap();
    // a breakdown that no longer matches its inputs, with the score unchanged
    sqlx::query("update finding set risk_factors = '{\"severity\": 1}'")
        .execute(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        db::risk::recompute(&mut conn, &Selector::All)
            .await
            .unwrap(),
        1
    );
    assert!(
        db::risk::rescore(&mut conn, &Selector::All)
            .await
            .unwrap()
            .iter()
            .all(|r| !r.changed())
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_re_scan_brings_a_breakdown_up_to_date_whose_score_is_capped(pool: PgPool) {
    // a critical KEV finding with a fix in an image that an internet-facing production
    // workload runs: 100 points, capped
    let mut case = case()
        .new_tree(&mut TestRunner::deterministic())
        .unwrap()
        .current();
    case.place = Place::ImageOfBoundScannerRunning;
    case.environment = "prod";
    case.criticality = 5;
    case.internet_facing = true;
    case.privileged = false;
    case.kind = FindingKind::Vulnerability;
    case.severity = Severity::Critical;
    case.fixed = true;
    case.vector = Some(VECTORS[0]);
    case.kev = true;
    case.epss = Some(0.9);
    intel(&pool, std::slice::from_ref(&case)).await;
    ingest(&pool, 0, &case).await;
    let mut conn = pool.acquire().await.unwrap();
    let stored: serde_json::Value = sqlx::query_scalar("select risk_factors from finding")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert!(stored.get("privilege").is_none(), "{stored}");

    // the workload turns privileged: still 100 points, one more reason
    case.privileged = true;
    running_workload(&pool, "c0", "registry.example/app0:1.0", &case).await;
    ingest_as(&pool, 0, &case, 200).await;
    let (score, stored): (i16, serde_json::Value) =
        sqlx::query_as("select risk_score, risk_factors from finding")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(score, 100);
    assert_eq!(stored["privilege"], 5.0, "{stored}");
    assert!(
        db::risk::rescore(&mut conn, &Selector::All)
            .await
            .unwrap()
            .iter()
            .all(|r| !r.changed())
    );
}
