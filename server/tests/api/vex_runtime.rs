//! VEX statements (OpenVEX and CycloneDX `analysis`) suppressing findings, whichever arrives
//! first, and runtime events that are stored but never "fix" anything.

use http::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{TestApp, fixture, trivy_image_report};

const A: (&str, &str, &str) = ("CVE-2024-1", "openssl", "3.0.1");
const B: (&str, &str, &str) = ("CVE-2024-2", "zlib", "1.2.13");

async fn status_of(pool: &PgPool, cve: &str) -> String {
    sqlx::query_scalar("select status from finding where vulnerability_id = $1")
        .bind(cve)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn scan(app: &TestApp, token: &str, day: u32, vulns: &[(&str, &str, &str)]) -> Value {
    let at = format!("2026-11-{day:02}T00:00:00Z");
    let report = trivy_image_report("acme/app:1.0", &at, vulns);
    let response = app.ingest("trivy", token, report).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()
}

fn openvex(id: &str, statements: Value) -> String {
    json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": format!("https://vex.example.com/{id}"),
        "author": "Acme product security",
        "timestamp": "2026-11-02T00:00:00Z",
        "version": 1,
        "statements": statements,
    })
    .to_string()
}

async fn vex(app: &TestApp, token: &str, document: String) -> Value {
    let response = app.ingest("openvex", token, document).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_not_affected_statement_suppresses_only_its_package_and_survives_rescans(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let scanner = app.token("trivy-ci", None).await;
    let vendor = app.token("vendor-vex", None).await;
    scan(&app, &scanner, 1, &[A, B]).await;

    let response = vex(
        &app,
        &vendor,
        openvex(
            "1",
            json!([
                {"vulnerability": {"name": "CVE-2024-1"},
                 "products": [{"@id": "pkg:deb/debian/openssl@3.0.1"}],
                 "status": "not_affected",
                 "justification": "vulnerable_code_not_in_execute_path"},
                // another version of zlib than the one installed: must not match
                {"vulnerability": {"name": "CVE-2024-2"},
                 "products": [{"@id": "pkg:deb/debian/zlib@9.9"}],
                 "status": "not_affected",
                 "justification": "component_not_present"}
            ]),
        ),
    )
    .await;
    assert_eq!(response["counts"]["suppressed"], 1, "{response}");
    assert_eq!(status_of(&pool, A.0).await, "suppressed_by_vex");
    assert_eq!(status_of(&pool, B.0).await, "open");
    let why: String = sqlx::query_scalar(
        "select justification from finding_decision where decision = 'suppressed_by_vex'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(why.contains("vulnerable_code_not_in_execute_path"), "{why}");

    // The scanner keeps reporting it: the VEX decision stands.
    let rescan = scan(&app, &scanner, 2, &[A, B]).await;
    assert_eq!(rescan["counts"]["reopened"], 0, "{rescan}");
    assert_eq!(status_of(&pool, A.0).await, "suppressed_by_vex");

    // The vendor changes its mind: the suppression is lifted.
    vex(
        &app,
        &vendor,
        openvex(
            "2",
            json!([{"vulnerability": {"name": "CVE-2024-1"},
                    "products": [{"@id": "pkg:deb/debian/openssl@3.0.1"}],
                    "status": "affected",
                    "action_statement": "upgrade to 3.0.2"}]),
        ),
    )
    .await;
    let status = status_of(&pool, A.0).await;
    assert!(status == "open" || status == "reopened", "{status}");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_statement_on_file_suppresses_findings_when_they_first_appear(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let vendor = app.token("vendor-vex", None).await;
    let scanner = app.token("trivy-ci", None).await;
    vex(
        &app,
        &vendor,
        openvex(
            "1",
            json!([{"vulnerability": {"name": "CVE-2024-1"},
                    "products": [{"@id": "pkg:deb/debian/openssl@3.0.1"}],
                    "status": "not_affected",
                    "justification": "inline_mitigations_already_exist"}]),
        ),
    )
    .await;
    let first = scan(&app, &scanner, 1, &[A, B]).await;
    assert_eq!(first["counts"]["suppressed"], 1, "{first}");
    assert_eq!(status_of(&pool, A.0).await, "suppressed_by_vex");
    assert_eq!(status_of(&pool, B.0).await, "open");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn cyclonedx_analysis_states_act_as_vex(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let scanner = app.token("trivy-ci", None).await;
    let sbom = app.token("sbom", None).await;
    scan(&app, &scanner, 1, &[A, B]).await;
    let bom = json!({
        "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
        "components": [{"bom-ref": "zlib", "type": "library", "name": "zlib",
                        "version": "1.2.13", "purl": "pkg:deb/debian/zlib@1.2.13"}],
        "vulnerabilities": [{"id": "CVE-2024-2", "affects": [{"ref": "zlib"}],
                             "analysis": {"state": "not_affected",
                                          "justification": "code_not_reachable"}}]
    });
    let response = app.ingest("cyclonedx", &sbom, bom.to_string()).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    // The SBOM's own finding (CVE-2024-2 in the SBOM's zlib) and the scanner's finding on the
    // image's zlib are both suppressed.
    assert_eq!(
        response.json()["counts"]["suppressed"],
        2,
        "{}",
        response.text()
    );
    let statuses: Vec<String> =
        sqlx::query_scalar("select status from finding where vulnerability_id = $1")
            .bind(B.0)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(statuses, ["suppressed_by_vex", "suppressed_by_vex"]);
    assert_eq!(status_of(&pool, A.0).await, "open");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn runtime_events_are_stored_and_never_fix_anything(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let falco = app.token("falco", Some("prod-eu")).await;
    let events = fixture("falco/events.jsonl");
    let lines = events
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count() as i64;
    let response = app.ingest("falco", &falco, events).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let stored: i64 = sqlx::query_scalar("select count(*) from runtime_event")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, lines);
    let findings_before: i64 = sqlx::query_scalar("select count(*) from finding")
        .fetch_one(&pool)
        .await
        .unwrap();

    // A later batch without those events: the earlier ones stay, nothing becomes fixed.
    let later = fixture("falco/falcosidekick.json");
    let response = app.ingest("falco", &falco, later).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert_eq!(response.json()["counts"]["fixed"], 0);
    let after: i64 = sqlx::query_scalar("select count(*) from runtime_event")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(after > stored, "{after} <= {stored}");
    let fixed: i64 = sqlx::query_scalar("select count(*) from finding where status = 'fixed'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(fixed, 0, "of {findings_before} findings");
}
