//! `POST /api/v1/ingest/{format}`: success, idempotence, lifecycle, and every refusal.

use std::io::Write;

use http::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{Response, RowCounts, TestApp, fixture, trivy_image_report};

const SAMPLE: &str = "trivy/defectdojo__scheme_2_many_vulns.json";

fn problem(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status, status, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    let body: Value = response.json();
    assert_eq!(body["status"], status.as_u16());
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn ingest_trivy_image_report_stores_image_vulnerabilities_and_findings(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", Some("prod-eu-1")).await;

    let response = app.ingest("trivy", &token, fixture(SAMPLE)).await;
    assert_eq!(response.status, StatusCode::CREATED);
    let body: Value = response.json();
    assert_eq!(body["format"], "trivy");
    assert_eq!(body["duplicate"], false);
    assert_eq!(body["counts"]["records"], 5);
    assert_eq!(body["counts"]["new"], 5);
    assert_eq!(body["counts"]["fixed"], 0);
    assert_eq!(body["warnings"], serde_json::json!([]));

    let rows = app.row_counts().await;
    assert_eq!(rows.reports, 1);
    assert_eq!(rows.images, 1);
    assert_eq!(rows.findings, 5);
    assert_eq!(rows.observations, 5);
    assert_eq!(rows.vulnerabilities, 5);

    let image: (String, String, Option<String>) =
        sqlx::query_as("select registry, repository, tag from image")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        image,
        (
            "docker.io".into(),
            "library/teamdojo".into(),
            Some("latest".into())
        )
    );
    let by_severity: Vec<(i16, i64)> = sqlx::query_as(
        "select severity, count(*) from finding where status = 'open' group by 1 order by 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(by_severity.iter().map(|r| r.1).sum::<i64>(), 5);
    // the cluster-bound token's findings live in its cluster ...
    let in_cluster: i64 = sqlx::query_scalar(
        "select count(*) from finding f join cluster c on c.id = f.cluster_id where c.name = 'prod-eu-1'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(in_cluster, 5);
    // ... but a report naming an image is no evidence that the image runs there: only the
    // cluster's own workload inventory is
    let linked: i64 = sqlx::query_scalar("select count(*) from cluster_image")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(linked, 0);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn fs_report_with_misconfigurations_and_secrets_is_stored_by_kind(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", None).await;
    let response = app
        .ingest(
            "trivy",
            &token,
            fixture("trivy/defectdojo__misconfigurations_and_secrets.json"),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
    let kinds: Vec<(String, i64)> =
        sqlx::query_as("select kind, count(*) from finding group by 1 order by 1")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        kinds,
        vec![
            ("misconfiguration".into(), 1),
            ("secret".into(), 2),
            ("vulnerability".into(), 2)
        ]
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn large_real_image_report_is_ingested_completely(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", None).await;
    let response = app
        .ingest(
            "trivy",
            &token,
            fixture("trivy/securecodebox__juice-shop-v12.10.2.json"),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
    let body: Value = response.json();
    assert_eq!(body["counts"]["records"], 185);
    assert_eq!(body["warnings"], serde_json::json!([]));
    let (findings, secrets): (i64, i64) =
        sqlx::query_as("select count(*), count(*) filter (where kind = 'secret') from finding")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    // the same CVE in the same package version listed at two paths is one finding
    assert_eq!(body["counts"]["new"].as_i64().unwrap(), findings);
    assert_eq!(secrets, 3);
    assert!(findings > 150 && findings <= 185, "{findings}");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn ingest_twice_creates_no_duplicates(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", None).await;
    let first: Value = app.ingest("trivy", &token, fixture(SAMPLE)).await.json();
    let before = app.row_counts().await;

    let response = app.ingest("trivy", &token, fixture(SAMPLE)).await;
    assert_eq!(response.status, StatusCode::OK);
    let second: Value = response.json();
    assert_eq!(second["duplicate"], true);
    assert_eq!(second["report_id"], first["report_id"]);
    assert_eq!(second["counts"], first["counts"]);
    assert_eq!(app.row_counts().await, before);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn unchanged_rescan_rewrites_no_finding_row(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", None).await;
    let vulns = [
        ("CVE-2024-1", "openssl", "3.0.1"),
        ("CVE-2024-2", "zlib", "1.2.13"),
    ];
    let scan = |at: &str| trivy_image_report("acme/app:1.0", at, &vulns);
    app.ingest("trivy", &token, scan("2026-11-01T00:00:00Z"))
        .await;
    let versions = |pool: PgPool| async move {
        sqlx::query_scalar::<_, String>(
            "select string_agg(xmin::text, ',' order by id) from finding",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let before = versions(app.pool.clone()).await;

    let response = app
        .ingest("trivy", &token, scan("2026-11-02T00:00:00Z"))
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
    let body: Value = response.json();
    assert_eq!(body["counts"]["new"], 0);
    assert_eq!(body["counts"]["unchanged"], 2);
    assert_eq!(body["counts"]["fixed"], 0);
    assert_eq!(
        versions(app.pool.clone()).await,
        before,
        "finding rows were rewritten"
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn findings_missing_from_the_newest_scan_are_fixed_and_reopen_when_back(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", None).await;
    let a = ("CVE-2024-1", "openssl", "3.0.1");
    let b = ("CVE-2024-2", "zlib", "1.2.13");
    let status_of_b = |pool: PgPool| async move {
        sqlx::query_scalar::<_, String>(
            "select status from finding where vulnerability_id = 'CVE-2024-2'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };

    let first: Value = app
        .ingest(
            "trivy",
            &token,
            trivy_image_report("acme/app:1.0", "2026-11-01T00:00:00Z", &[a, b]),
        )
        .await
        .json();
    assert_eq!(first["counts"]["new"], 2);

    let second: Value = app
        .ingest(
            "trivy",
            &token,
            trivy_image_report("acme/app:1.0", "2026-11-02T00:00:00Z", &[a]),
        )
        .await
        .json();
    assert_eq!(second["counts"]["fixed"], 1);
    assert_eq!(status_of_b(app.pool.clone()).await, "fixed");

    let third: Value = app
        .ingest(
            "trivy",
            &token,
            trivy_image_report("acme/app:1.0", "2026-11-03T00:00:00Z", &[a, b]),
        )
        .await
        .json();
    assert_eq!(third["counts"]["reopened"], 1);
    assert_eq!(third["counts"]["new"], 0);
    assert_eq!(status_of_b(app.pool.clone()).await, "reopened");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn gzip_bodies_are_accepted(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", None).await;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&fixture(SAMPLE)).unwrap();
    let response = app
        .ingest_with(
            "trivy",
            &token,
            &[("content-encoding", "gzip")],
            encoder.finish().unwrap(),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(app.row_counts().await.findings, 5);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn missing_or_unknown_token_is_401_and_stores_nothing(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.token("ci", None).await;

    let response = app
        .request("POST", "/api/v1/ingest/trivy", &[], fixture(SAMPLE))
        .await;
    assert!(response.header("www-authenticate").is_some());
    let body = problem(response, StatusCode::UNAUTHORIZED);
    assert!(body["detail"].as_str().unwrap().contains("Bearer"));

    let forged = format!("bwk_{}", "0".repeat(64));
    let body = problem(
        app.ingest("trivy", &forged, fixture(SAMPLE)).await,
        StatusCode::UNAUTHORIZED,
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("unknown, revoked or expired")
    );

    let response = app
        .request(
            "POST",
            "/api/v1/ingest/trivy",
            &[("authorization", "Basic dXNlcjpwYXNz")],
            fixture(SAMPLE),
        )
        .await;
    problem(response, StatusCode::UNAUTHORIZED);

    assert_eq!(app.row_counts().await, RowCounts::default());
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_body_that_is_not_a_trivy_report_is_400_and_stores_nothing(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", None).await;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            fixture("grype/defectdojo__fix_available.json"),
            "urn:bulwark:problem:wrong-format",
        ),
        (b"[1, 2, 3]".to_vec(), "urn:bulwark:problem:wrong-format"),
        (
            b"{\"SchemaVersion\": 2, \"Results\": [".to_vec(),
            "urn:bulwark:problem:invalid-json",
        ),
        (
            b"<html>not json</html>".to_vec(),
            "urn:bulwark:problem:invalid-json",
        ),
        (
            b"{\"SchemaVersion\": 1}".to_vec(),
            "urn:bulwark:problem:unsupported-version",
        ),
        (Vec::new(), "urn:bulwark:problem:empty-body"),
    ];
    for (body, kind) in cases {
        let response = app.ingest("trivy", &token, body).await;
        let problem = problem(response, StatusCode::BAD_REQUEST);
        assert_eq!(problem["type"], kind, "{problem}");
    }
    assert_eq!(app.row_counts().await, RowCounts::default());
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_report_that_fails_midway_leaves_no_rows_behind(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", None).await;
    // Make the database refuse the report after images, catalogue and findings were written.
    sqlx::raw_sql(
        "create function refuse() returns trigger language plpgsql as
           $$ begin raise exception 'injected failure'; end $$;
         create trigger refuse_observations before insert on observation
           for each row execute function refuse();",
    )
    .execute(&app.pool)
    .await
    .unwrap();

    let response = app.ingest("trivy", &token, fixture(SAMPLE)).await;
    let body = problem(response, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(
        !body.to_string().contains("injected"),
        "internal details leaked: {body}"
    );
    assert_eq!(app.row_counts().await, RowCounts::default());
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn oversized_reports_are_413(pool: PgPool) {
    let limits = server::Limits {
        max_report_bytes: 1000,
    };
    let app = TestApp::spawn_with(pool, limits).await;
    let token = app.token("ci", None).await;
    let body = problem(
        app.ingest("trivy", &token, fixture(SAMPLE)).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    );
    assert!(body["detail"].as_str().unwrap().contains("1000 bytes"));

    // a small gzip body that inflates past the limit is refused too
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![b' '; 100_000]).unwrap();
    let response = app
        .ingest_with(
            "trivy",
            &token,
            &[("content-encoding", "gzip")],
            encoder.finish().unwrap(),
        )
        .await;
    problem(response, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.row_counts().await, RowCounts::default());
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn unknown_formats_and_api_paths_are_404_problems(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", None).await;
    let body = problem(
        app.ingest("nessus", &token, "{}").await,
        StatusCode::NOT_FOUND,
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("supported: trivy")
    );
    let response = app.get("/api/v1/nothing").await;
    problem(response, StatusCode::NOT_FOUND);
    let response = app
        .ingest_with("trivy", &token, &[("content-encoding", "br")], "x")
        .await;
    problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_format_is_detected_from_the_content(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", None).await;
    let auth = format!("Bearer {token}");
    let response = app
        .request(
            "POST",
            "/api/v1/ingest",
            &[("authorization", &auth)],
            fixture(SAMPLE),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let body = response.json();
    assert_eq!(body["format"], "trivy");
    assert_eq!(body["detected"], true);
    let response = app
        .request(
            "POST",
            "/api/v1/ingest",
            &[("authorization", &auth)],
            "hello",
        )
        .await;
    let body = problem(response, StatusCode::BAD_REQUEST);
    assert_eq!(body["type"], "urn:bulwark:problem:unknown-format");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn deep_nesting_and_wrong_types_are_400_not_500(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", None).await;
    // deep nesting: refused as a document, never a stack overflow
    let deep_list = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_object = format!(
        "{{\"SchemaVersion\": 2, \"x\": {}1{}}}",
        "{\"a\":".repeat(100_000),
        "}".repeat(100_000)
    );
    for body in [deep_list, deep_object] {
        let response = app.ingest("trivy", &token, body).await;
        let body = problem(response, StatusCode::BAD_REQUEST);
        assert_eq!(body["type"], "urn:bulwark:problem:too-deep");
    }
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            br#"{"SchemaVersion": 2, "ArtifactName": "a:1", "Results": "nope"}"#.to_vec(),
            "wrong-format",
        ),
        (br#"{"SchemaVersion": "two"}"#.to_vec(), "wrong-format"),
        (b"\xff\xfe garbage".to_vec(), "invalid-json"),
    ];
    for (body, kind) in cases {
        let response = app.ingest("trivy", &token, body).await;
        let body = problem(response, StatusCode::BAD_REQUEST);
        assert_eq!(
            body["type"],
            format!("urn:bulwark:problem:{kind}"),
            "{body}"
        );
    }
    // a record of the wrong type is a warning naming the record, the rest is stored
    let report = br#"{"SchemaVersion": 2, "ArtifactName": "a:1", "ArtifactType": "container_image",
        "Results": [{"Target": "a:1 (debian 12)", "Type": "debian", "Vulnerabilities": [
          {"VulnerabilityID": "CVE-1", "PkgName": "x", "InstalledVersion": "1"},
          {"VulnerabilityID": ["not", "a", "string"], "PkgName": "y"}]}]}"#;
    let response = app.ingest("trivy", &token, report.to_vec()).await;
    assert_eq!(response.status, StatusCode::CREATED);
    let body = response.json();
    assert_eq!(body["counts"]["new"], 1);
    assert_eq!(
        body["warnings"][0]["pointer"],
        "/Results/0/Vulnerabilities/1"
    );
    assert_eq!(app.row_counts().await.reports, 1);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn nul_characters_are_stored_as_replacement_characters(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", None).await;
    let report = br#"{"SchemaVersion": 2, "ArtifactName": "a:1", "ArtifactType": "container_image",
        "Results": [{"Target": "a:1 (debian 12)", "Type": "debian", "Vulnerabilities": [
          {"VulnerabilityID": "CVE-1", "PkgName": "java", "InstalledVersion": "17.0.10+7\u0000-J-ms8m",
           "Title": "back\\u0000slash"}]}]}"#;
    let response = app.ingest("trivy", &token, report.to_vec()).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let body = response.json();
    assert!(body["warnings"].to_string().contains("NUL"));
    let (version, title): (String, String) = sqlx::query_as(
        "select c.version, f.title from finding f join component c on c.id = f.component_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(version, "17.0.10+7\u{FFFD}-J-ms8m");
    assert_eq!(title, "back\\u0000slash");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_k8s_report_without_a_cluster_token_creates_the_cluster_it_names(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("trivy-k8s", None).await;
    let response = app
        .ingest(
            "trivy",
            &token,
            fixture("trivy/defectdojo__kubernetes.json"),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let (cluster, workloads, containers, in_cluster): (String, i64, i64, i64) = sqlx::query_as(
        "select (select name from cluster), (select count(*) from workload),
                (select count(*) from container),
                (select count(*) from finding where cluster_id > 0 and workload_id is not null)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(cluster, "monitoring-test-cluster");
    assert_eq!(workloads, 4);
    assert_eq!(containers, 2);
    assert_eq!(in_cluster, 10);
}

/// New catalogue entries go in by COPY: quotes, backslashes, tabs, newlines, braces and commas
/// in text and in array elements must come back exactly as sent.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn catalogue_text_survives_bulk_insert_exactly(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", None).await;
    let title = "a \"quoted\" title\twith a tab";
    let description = "line one\nline two \\ back\\slash {braces}, \\N and \\x41";
    let references = [
        "https://example.com/a,b",
        "https://example.com/\"q\"",
        "https://example.com/{x}\\y",
        "NULL",
    ];
    let report = serde_json::json!({
        "SchemaVersion": 2,
        "ArtifactName": "registry.example.com/quoting:1",
        "ArtifactType": "container_image",
        "Results": [{
            "Target": "registry.example.com/quoting:1 (debian 12)",
            "Type": "debian",
            "Vulnerabilities": [{
                "VulnerabilityID": "CVE-2024-99999",
                "PkgName": "libq",
                "InstalledVersion": "1.0",
                "Severity": "HIGH",
                "Title": title,
                "Description": description,
                "CweIDs": ["CWE-1", "CWE-\"2\""],
                "References": references,
                "CVSS": {"nvd": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}
            }]
        }]
    });
    let response = app
        .ingest("trivy", &token, serde_json::to_vec(&report).unwrap())
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());

    let row: (String, String, Vec<String>, Vec<String>, Option<f32>, Value) = sqlx::query_as(
        "select title, description, reference_urls, cwe, cvss_score, cvss
         from vulnerability where id = 'CVE-2024-99999'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(row.0, title);
    assert_eq!(row.1, description);
    assert_eq!(row.2, references);
    assert_eq!(row.3, ["CWE-1", "CWE-\"2\""]);
    assert_eq!(row.4, Some(9.8));
    assert_eq!(
        row.5,
        serde_json::json!({"nvd": ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"]})
    );
}

/// A re-scan with the same findings skips the catalogue only when it brings the same catalogue
/// entries: a description the first scan lacked is still filed.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_rescan_with_the_same_findings_still_fills_in_the_catalogue(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", None).await;
    let vulns = [("CVE-2024-1111", "openssl", "3.0.1")];
    let first = trivy_image_report("registry.example.com/app:1", "2026-11-20T10:00:00Z", &vulns);
    let response = app.ingest("trivy", &token, first.clone()).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let description = || async {
        sqlx::query_scalar::<_, Option<String>>(
            "select description from vulnerability where id = 'CVE-2024-1111'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    assert_eq!(description().await, None);

    // the same scan again: unchanged, catalogue skipped
    let again = first.replace("10:00:00", "11:00:00");
    let response = app.ingest("trivy", &token, again).await;
    assert_eq!(response.json()["counts"]["unchanged"], 1);
    assert_eq!(description().await, None);

    // the same findings, now with a description
    let described = first.replace("10:00:00", "12:00:00").replace(
        "\"Severity\":\"HIGH\"",
        "\"Severity\":\"HIGH\",\"Description\":\"now known\"",
    );
    assert!(described.contains("now known"));
    let response = app.ingest("trivy", &token, described).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert_eq!(response.json()["counts"]["unchanged"], 1);
    assert_eq!(description().await.as_deref(), Some("now known"));
}
