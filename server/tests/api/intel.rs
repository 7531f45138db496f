//! Threat intelligence: KEV and EPSS imports (API and CLI) change the risk order.

use std::io::Write;
use std::process::Command;

use http::StatusCode;
use sqlx::PgPool;

use crate::helpers::{TestApp, database_url, trivy_image_report};

async fn risk_order(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("select vulnerability_id from finding order by risk_score desc, id")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// Two findings: CVE-2024-1111 rated HIGH, CVE-2024-2222 rated MEDIUM.
async fn two_findings(app: &TestApp) -> String {
    let token = app.intel_token("ci").await;
    let report = serde_json::json!({
        "SchemaVersion": 2, "ArtifactName": "acme/app:1.0", "ArtifactType": "container_image",
        "Results": [{"Target": "acme/app:1.0 (debian 12)", "Type": "debian", "Vulnerabilities": [
            {"VulnerabilityID": "CVE-2024-1111", "PkgName": "curl", "InstalledVersion": "1", "Severity": "HIGH"},
            {"VulnerabilityID": "CVE-2024-2222", "PkgName": "zlib", "InstalledVersion": "1", "Severity": "MEDIUM"}
        ]}]
    });
    let response = app.ingest("trivy", &token, report.to_string()).await;
    assert_eq!(response.status, StatusCode::CREATED);
    token
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn kev_and_epss_imports_change_the_risk_order(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = two_findings(&app).await;
    assert_eq!(
        risk_order(&app.pool).await,
        ["CVE-2024-1111", "CVE-2024-2222"]
    );

    let kev = serde_json::json!({
        "catalogVersion": "2026.11.28",
        "vulnerabilities": [{"cveID": "CVE-2024-2222", "vendorProject": "zlib", "product": "zlib",
                             "vulnerabilityName": "zlib overflow", "dateAdded": "2026-11-01",
                             "dueDate": "2026-11-22", "knownRansomwareCampaignUse": "Unknown"}]
    });
    let response = app
        .request(
            "POST",
            "/api/v1/intel/kev",
            &[("authorization", &format!("Bearer {token}"))],
            kev.to_string(),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body = response.json();
    assert_eq!(body["changed"], 1);
    assert_eq!(body["rescored"], 1);
    assert_eq!(
        risk_order(&app.pool).await,
        ["CVE-2024-2222", "CVE-2024-1111"]
    );
    let factors: serde_json::Value = sqlx::query_scalar(
        "select risk_factors from finding where vulnerability_id = 'CVE-2024-2222'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(factors["kev"], 20.0);

    // EPSS, gzipped as FIRST publishes it, lifts the other one back above
    let csv = "#model_version:v2025.03.14,score_date:2026-11-28T00:00:00+0000\n\
               cve,epss,percentile\nCVE-2024-1111,0.97,0.999\nCVE-2024-2222,0.0004,0.1\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(csv.as_bytes()).unwrap();
    let response = app
        .request(
            "POST",
            "/api/v1/intel/epss",
            &[("authorization", &format!("Bearer {token}"))],
            gz.finish().unwrap(),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["rescored"], 1);
    // HIGH 7.5×4 + EPSS 0.97×15 + 4 = 49 beats MEDIUM 5×4 + KEV 20 + 4 = 44 (whose EPSS
    // of 0.0004 moves nothing, so only one score changed)
    assert_eq!(
        risk_order(&app.pool).await,
        ["CVE-2024-1111", "CVE-2024-2222"]
    );

    // the same file again changes nothing
    let response = app
        .request(
            "POST",
            "/api/v1/intel/kev",
            &[("authorization", &format!("Bearer {token}"))],
            kev.to_string(),
        )
        .await;
    assert_eq!(response.json()["changed"], 0);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn intel_import_from_the_command_line(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    two_findings(&app).await;
    let dir = std::env::temp_dir().join(format!("bulwark-kev-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("kev.csv");
    std::fs::write(
        &file,
        "cveID,vendorProject,product,vulnerabilityName,dateAdded,shortDescription,requiredAction,dueDate,knownRansomwareCampaignUse,notes,cwes\n\
         CVE-2024-2222,zlib,zlib,zlib overflow,2026-11-01,x,patch,2026-11-22,Unknown,,CWE-787\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_bulwark"))
        .args(["intel", "import", "kev"])
        .arg(&file)
        .env("DATABASE_URL", database_url(&pool))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(risk_order(&pool).await, ["CVE-2024-2222", "CVE-2024-1111"]);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_file_that_is_not_intel_is_refused(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = two_findings(&app).await;
    let report = trivy_image_report("a:1", "2026-11-01T00:00:00Z", &[]);
    for feed in ["kev", "epss"] {
        let response = app
            .request(
                "POST",
                &format!("/api/v1/intel/{feed}"),
                &[("authorization", &format!("Bearer {token}"))],
                report.clone(),
            )
            .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{feed}");
        assert_eq!(
            response.header("content-type"),
            Some("application/problem+json")
        );
    }
    let response = app.request("POST", "/api/v1/intel/kev", &[], "{}").await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
}

/// A Trivy image report with one vulnerability and the CVSS vectors given.
fn one_vulnerability(image: &str, id: &str, cvss: serde_json::Value) -> String {
    serde_json::json!({
        "SchemaVersion": 2, "ArtifactName": image, "ArtifactType": "container_image",
        "Results": [{"Target": format!("{image} (debian 12)"), "Type": "debian", "Vulnerabilities": [
            {"VulnerabilityID": id, "PkgName": "openssl", "InstalledVersion": "3.0.1",
             "Severity": "MEDIUM", "CVSS": cvss}
        ]}]
    })
    .to_string()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_risk_scores_the_catalogue_cvss_which_keeps_the_first_vector(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", None).await;
    let critical = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
    let low = "CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N";
    let reports = [
        one_vulnerability(
            "acme/a:1",
            "CVE-2024-3333",
            serde_json::json!({"nvd": {"V3Vector": critical}}),
        ),
        // Another image, the same CVE rated low by another source: the stored vector stays.
        one_vulnerability(
            "acme/b:1",
            "CVE-2024-3333",
            serde_json::json!({"ghsa": {"V3Vector": low}}),
        ),
        // A CVE first seen without a vector, then with one: the catalogue gains it.
        one_vulnerability("acme/c:1", "CVE-2024-4444", serde_json::json!({})),
        one_vulnerability(
            "acme/d:1",
            "CVE-2024-4444",
            serde_json::json!({"nvd": {"V3Vector": critical}}),
        ),
    ];
    for report in reports {
        let response = app.ingest("trivy", &token, report).await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    }
    let scores: Vec<(String, Option<f32>)> =
        sqlx::query_as("select id, cvss_score from vulnerability order by id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        scores,
        [
            ("CVE-2024-3333".to_owned(), Some(9.8)),
            ("CVE-2024-4444".to_owned(), Some(9.8))
        ]
    );
    let factors: Vec<serde_json::Value> =
        sqlx::query_scalar("select risk_factors from finding order by id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(factors.len(), 4);
    // The severity factor follows the CVSS base score when there is one (9.8 here), the
    // scanner's rating (MEDIUM) otherwise.
    let critical_points = factors[0]["severity"].as_f64().unwrap();
    let medium_points = factors[2]["severity"].as_f64().unwrap();
    assert!(critical_points > medium_points, "{factors:?}");
    assert_eq!(
        factors[1]["severity"].as_f64(),
        Some(critical_points),
        "{factors:?}"
    );
    assert_eq!(
        factors[3]["severity"].as_f64(),
        Some(critical_points),
        "{factors:?}"
    );
}
