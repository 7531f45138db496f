//! The finding lifecycle across reports: decisions that survive re-scans, acceptances that
//! expire, stale reports, unchanged re-scans that touch nothing, and risk that explains itself.

use chrono::{Duration, Utc};
use http::StatusCode;
use serde_json::Value;
use server::db::findings::{Decision, DecisionKind, decide};
use sqlx::PgPool;

use crate::helpers::{TestApp, trivy_image_report};

const A: (&str, &str, &str) = ("CVE-2024-1", "openssl", "3.0.1");
const B: (&str, &str, &str) = ("CVE-2024-2", "zlib", "1.2.13");

async fn status_of(pool: &PgPool, cve: &str) -> String {
    sqlx::query_scalar("select status from finding where vulnerability_id = $1")
        .bind(cve)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn finding_id(pool: &PgPool, cve: &str) -> (i64, i64) {
    sqlx::query_as("select cluster_id, id from finding where vulnerability_id = $1")
        .bind(cve)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn scan(app: &TestApp, token: &str, day: u32, vulns: &[(&str, &str, &str)]) -> Value {
    let at = format!("2026-11-{day:02}T00:00:00Z");
    let response = app
        .ingest(
            "trivy",
            token,
            trivy_image_report("acme/app:1.0", &at, vulns),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn decisions_survive_re_ingest_and_apply_again_when_a_fixed_finding_returns(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", None).await;
    scan(&app, &token, 1, &[A, B]).await;

    let (cluster, a) = finding_id(&app.pool, A.0).await;
    let (_, b) = finding_id(&app.pool, B.0).await;
    let mut conn = app.pool.acquire().await.unwrap();
    let accept = Decision {
        decision: DecisionKind::Accepted,
        justification: "compensating control: not reachable",
        decided_by: None,
        expires_at: Some(Utc::now() + Duration::days(30)),
    };
    decide(&mut conn, cluster, a, &accept).await.unwrap();
    let false_positive = Decision {
        decision: DecisionKind::FalsePositive,
        justification: "package not loaded",
        decided_by: None,
        expires_at: None,
    };
    decide(&mut conn, cluster, b, &false_positive)
        .await
        .unwrap();
    drop(conn);

    // the same findings again: decisions stand
    scan(&app, &token, 2, &[A, B]).await;
    assert_eq!(status_of(&app.pool, A.0).await, "accepted");
    assert_eq!(status_of(&app.pool, B.0).await, "false_positive");

    // gone: fixed, whatever was decided
    let body = scan(&app, &token, 3, &[]).await;
    assert_eq!(body["counts"]["fixed"], 2);
    assert_eq!(status_of(&app.pool, A.0).await, "fixed");

    // back: the decisions in force apply again instead of "reopened"
    let body = scan(&app, &token, 4, &[A, B]).await;
    assert_eq!(body["counts"]["reopened"], 2);
    assert_eq!(status_of(&app.pool, A.0).await, "accepted");
    assert_eq!(status_of(&app.pool, B.0).await, "false_positive");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn an_expired_acceptance_reopens(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", None).await;
    scan(&app, &token, 1, &[A, B]).await;
    let (cluster, a) = finding_id(&app.pool, A.0).await;
    let (_, b) = finding_id(&app.pool, B.0).await;
    let mut conn = app.pool.acquire().await.unwrap();
    for (id, expires) in [(a, -1), (b, -1)] {
        let decision = Decision {
            decision: DecisionKind::Accepted,
            justification: "until the next release",
            decided_by: None,
            expires_at: Some(Utc::now() + Duration::hours(expires)),
        };
        decide(&mut conn, cluster, id, &decision).await.unwrap();
    }
    drop(conn);
    assert_eq!(status_of(&app.pool, A.0).await, "accepted");

    // A re-scan that still reports A reopens it (its acceptance is over) ...
    scan(&app, &token, 2, &[A]).await;
    assert_eq!(status_of(&app.pool, A.0).await, "reopened");
    // ... B is gone, so fixed; and the periodic sweep reopens expired acceptances nobody
    // re-reported.
    assert_eq!(status_of(&app.pool, B.0).await, "fixed");
    sqlx::query("update finding set status = 'accepted' where vulnerability_id = $1")
        .bind(B.0)
        .execute(&app.pool)
        .await
        .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let reopened = server::db::findings::expire_acceptances(&mut conn)
        .await
        .unwrap();
    assert_eq!(reopened, 1);
    assert_eq!(status_of(&app.pool, B.0).await, "reopened");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_report_older_than_the_newest_applied_changes_nothing(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", None).await;
    scan(&app, &token, 10, &[A]).await;
    let body = scan(&app, &token, 9, &[B]).await;
    assert_eq!(body["counts"]["new"], 0);
    assert_eq!(body["counts"]["fixed"], 0);
    assert!(body["warnings"].to_string().contains("before the newest"));
    assert_eq!(status_of(&app.pool, A.0).await, "open");
    let b: i64 = sqlx::query_scalar("select count(*) from finding where vulnerability_id = $1")
        .bind(B.0)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(b, 0);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn an_unchanged_rescan_touches_no_finding_or_observation_row(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", None).await;
    scan(&app, &token, 1, &[A, B]).await;
    let versions = |pool: PgPool| async move {
        sqlx::query_scalar::<_, String>(
            "select (select string_agg(xmin::text, ',' order by id) from finding) || '/' ||
                    (select string_agg(xmin::text, ',' order by finding_id) from observation)",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let before = versions(app.pool.clone()).await;
    let body = scan(&app, &token, 2, &[A, B]).await;
    assert_eq!(body["counts"]["unchanged"], 2);
    assert_eq!(body["counts"]["received"], 2);
    assert_eq!(versions(app.pool.clone()).await, before);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn every_finding_has_a_risk_score_that_explains_itself(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", Some("prod-eu-1")).await;
    let report = serde_json::json!({
        "SchemaVersion": 2, "ArtifactName": "acme/app:1.0", "ArtifactType": "container_image",
        "Results": [{"Target": "acme/app:1.0 (debian 12)", "Type": "debian", "Vulnerabilities": [{
            "VulnerabilityID": "CVE-2024-9", "PkgName": "curl", "InstalledVersion": "7.88.1",
            "FixedVersion": "7.88.2", "Severity": "HIGH",
            "CVSS": {"nvd": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "V3Score": 1.0}}
        }]}]
    });
    app.ingest("trivy", &token, report.to_string()).await;
    let (score, factors, cvss): (i16, Value, f32) = sqlx::query_as(
        "select f.risk_score, f.risk_factors, v.cvss_score
         from finding f join vulnerability v on v.id = f.vulnerability_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    // scored from the vector (9.8), not the scanner's number (1.0)
    assert_eq!(cvss, 9.8);
    // the stored breakdown: points per factor
    assert_eq!(factors["severity"], 39.2);
    assert_eq!(factors["fix"], 5.0);
    assert_eq!(factors["environment"], 10.0);
    // 9.8 × 4 + fix 5 + prod 10 = 54.2
    assert_eq!(score, 54);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn deleting_findings_deletes_their_observations(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", None).await;
    scan(&app, &token, 1, &[A, B]).await;
    assert_eq!(app.row_counts().await.observations, 2);
    sqlx::query("delete from finding where vulnerability_id = $1")
        .bind(A.0)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(app.row_counts().await.observations, 1);
    sqlx::query("delete from scan_scope")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(app.row_counts().await.observations, 0);
}

/// The scope's observation of the finding with `cve`: whether it is active.
async fn observed(pool: &PgPool, cve: &str) -> bool {
    sqlx::query_scalar(
        "select o.active from observation o
         join finding f on f.cluster_id = o.cluster_id and f.id = o.finding_id
         where f.vulnerability_id = $1",
    )
    .bind(cve)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn what_a_report_sees_stays_observed_when_something_else_went(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", None).await;
    scan(&app, &token, 1, &[A]).await;

    // A went and B is new, in the same report: B's first observation is active ...
    let body = scan(&app, &token, 2, &[B]).await;
    assert_eq!(body["counts"]["fixed"], 1);
    assert_eq!(body["counts"]["new"], 1);
    assert_eq!(status_of(&app.pool, A.0).await, "fixed");
    assert_eq!(status_of(&app.pool, B.0).await, "open");
    assert!(observed(&app.pool, B.0).await);

    // ... so B is fixed when it goes; A, back in the same report, is observed again ...
    let body = scan(&app, &token, 3, &[A]).await;
    assert_eq!(body["counts"]["fixed"], 1);
    assert_eq!(body["counts"]["reopened"], 1);
    assert_eq!(status_of(&app.pool, B.0).await, "fixed");
    assert_eq!(status_of(&app.pool, A.0).await, "reopened");
    assert!(observed(&app.pool, A.0).await);

    // ... and fixed again when it goes.
    let body = scan(&app, &token, 4, &[]).await;
    assert_eq!(body["counts"]["fixed"], 1);
    assert_eq!(status_of(&app.pool, A.0).await, "fixed");
    assert!(!observed(&app.pool, A.0).await);
}
