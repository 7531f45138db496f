//! Cluster boundaries: one regression test for each way a token or user of one cluster could
//! change or read another cluster's data (the tenancy model, `server::domain::tenancy`). Two
//! clusters: `prod`, and `edge`, whose token and users play the attacker.

use app::model::Role;
use http::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{TestApp, trivy_image_report};

/// An image only prod runs.
const PROD_IMAGE: &str = "registry.example/payments:2.0";

/// Prod's scanner reports `PROD_IMAGE` from a workload of prod's (Trivy Operator's shape is
/// not needed: a Kubernetes-scan report names the workload) with CVE-2024-1000 in openssl.
async fn prod_runs_its_image(app: &TestApp) -> String {
    let token = app.token("trivy-prod", Some("prod")).await;
    let report = json!({
        "SchemaVersion": 2, "ClusterName": "prod", "ArtifactType": "kubernetes",
        "Resources": [{
            "Namespace": "pay", "Kind": "Deployment", "Name": "payments",
            "Metadata": [{"ImageID": "sha256:1", "RepoTags": [PROD_IMAGE]}],
            "Results": [{
                "Target": format!("{PROD_IMAGE} (debian 12.4)"), "Class": "os-pkgs",
                "Type": "debian",
                "Vulnerabilities": [{
                    "VulnerabilityID": "CVE-2024-1000", "PkgName": "openssl",
                    "InstalledVersion": "3.0.1", "FixedVersion": "3.0.2", "Severity": "HIGH",
                    "PkgIdentifier": {"PURL": "pkg:deb/debian/openssl@3.0.1"},
                    "Title": "openssl flaw"
                }]
            }]
        }]
    });
    let response = app.ingest("trivy", &token, report.to_string()).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    token
}

/// A user with `role` limited to `cluster`, signed in: the cookie.
async fn scoped_session(app: &TestApp, cluster: &str, role: Role) -> String {
    let email = format!("{}-{cluster}@example.com", role.as_str());
    app.limited_session(&email, role, cluster).await
}

/// Calls server function `path` as the user of `cookie` with a form body.
async fn rpc(app: &TestApp, cookie: &str, path: &str, body: &str) -> Value {
    let origin = app.origin();
    let response = app
        .request(
            "POST",
            path,
            &[
                ("cookie", cookie),
                ("origin", &origin),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            body.to_owned(),
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "{path}: {}",
        response.text()
    );
    response.json()
}

/// The vulnerability ids of the open findings the user of `cookie` sees, with their status.
async fn visible_findings(app: &TestApp, cookie: &str) -> Vec<(String, String, i64)> {
    let list = rpc(app, cookie, "/rpc/findings/list", "filter[q]=").await;
    let mut rows: Vec<(String, String, i64)> = list["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["vulnerability"].as_str().unwrap_or_default().to_owned(),
                r["status"].as_str().unwrap_or_default().to_owned(),
                r["risk"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    rows.sort();
    rows
}

/// Reproduction 1: an OpenVEX `not_affected` from edge's token for a CVE and purl that exist
/// only in prod used to suppress prod's finding.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn vex_from_one_cluster_leaves_another_clusters_findings_open(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    prod_runs_its_image(&app).await;
    let prod_user = scoped_session(&app, "prod", Role::Analyst).await;
    let before = visible_findings(&app, &prod_user).await;
    assert_eq!(before.len(), 1, "{before:?}");

    let edge = app.token("vex-edge", Some("edge")).await;
    let statement = json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://vex.example.com/edge-1",
        "author": "edge team", "timestamp": "2026-11-02T00:00:00Z", "version": 1,
        "statements": [{
            "vulnerability": {"name": "CVE-2024-1000"},
            "products": [{"@id": "pkg:deb/debian/openssl@3.0.1"}],
            "status": "not_affected", "justification": "component_not_present"
        }]
    });
    let response = app.ingest("openvex", &edge, statement.to_string()).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert_eq!(response.json()["counts"]["suppressed"], 0);
    assert_eq!(visible_findings(&app, &prod_user).await, before);

    // a statement on file never reaches a prod finding that appears later either
    let later = trivy_image_report(
        "registry.example/other:1.0",
        "2026-11-03T00:00:00Z",
        &[("CVE-2024-1000", "openssl", "3.0.1")],
    );
    let prod = app.token("trivy-prod-2", Some("prod")).await;
    assert_eq!(
        app.ingest("trivy", &prod, later).await.status,
        StatusCode::CREATED
    );
    let statuses: Vec<String> = sqlx::query_scalar(
        "select status from finding f join cluster c on c.id = f.cluster_id where c.name = 'prod'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(statuses.iter().all(|s| s == "open"), "{statuses:?}");

    // an unbound (fleet-level) statement still reaches every cluster
    let fleet = app.token("vendor-vex", None).await;
    let response = app
        .ingest(
            "openvex",
            &fleet,
            statement.to_string().replace("edge-1", "fleet-1"),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert_eq!(response.json()["counts"]["suppressed"], 2);
}

/// Reproduction 2: an empty report from edge's token naming an image only prod runs used to
/// make prod's findings of that image visible to every user scoped to edge.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn claiming_an_image_reveals_nothing_of_another_cluster(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    prod_runs_its_image(&app).await;
    let edge_user = scoped_session(&app, "edge", Role::Manager).await;
    let edge = app.token("trivy-edge", Some("edge")).await;
    let empty = trivy_image_report(PROD_IMAGE, "2026-11-02T00:00:00Z", &[]);
    let response = app.ingest("trivy", &edge, empty).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());

    assert_eq!(visible_findings(&app, &edge_user).await, vec![]);
    app.settle().await;
    let overview = rpc(
        &app,
        &edge_user,
        "/rpc/overview/posture",
        "filter%5Bdays%5D=30",
    )
    .await;
    assert!(
        !overview.to_string().contains("CVE-2024-1000"),
        "{overview}"
    );
}

/// Reproduction 3: edge's token reporting a new CVE in an image only prod runs used to put it
/// in prod's view.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_report_from_one_cluster_never_writes_into_another(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    prod_runs_its_image(&app).await;
    let prod_user = scoped_session(&app, "prod", Role::Analyst).await;
    let before = visible_findings(&app, &prod_user).await;

    let edge = app.token("trivy-edge", Some("edge")).await;
    let report = trivy_image_report(
        PROD_IMAGE,
        "2026-11-02T00:00:00Z",
        &[
            ("CVE-2024-1000", "openssl", "3.0.1"),
            ("CVE-2024-6666", "curl", "8.0"),
        ],
    );
    let response = app.ingest("trivy", &edge, report).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert_eq!(visible_findings(&app, &prod_user).await, before);

    // edge's findings are edge's own
    let edge_user = scoped_session(&app, "edge", Role::Analyst).await;
    let edge_sees: Vec<String> = visible_findings(&app, &edge_user)
        .await
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(edge_sees, ["CVE-2024-1000", "CVE-2024-6666"]);
}

/// Reproduction 4: EPSS posted with a cluster-bound token used to rescore prod's findings.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn fleet_intelligence_needs_an_unbound_intel_token(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let prod_token = prod_runs_its_image(&app).await;
    let prod_user = scoped_session(&app, "prod", Role::Analyst).await;
    let before = visible_findings(&app, &prod_user).await;
    let epss = "#model_version:v2025.03.14,score_date:2026-11-01T00:00:00+0000\n\
                cve,epss,percentile\nCVE-2024-1000,0.97,0.999\n";

    let post = |token: String| {
        let app = &app;
        async move {
            app.request(
                "POST",
                "/api/v1/intel/epss",
                &[("authorization", &format!("Bearer {token}"))],
                epss,
            )
            .await
        }
    };
    let edge = app.token("trivy-edge", Some("edge")).await;
    for token in [edge, prod_token] {
        let response = post(token).await;
        assert_eq!(
            response.status,
            StatusCode::FORBIDDEN,
            "{}",
            response.text()
        );
        assert_eq!(
            response.header("content-type"),
            Some("application/problem+json")
        );
    }
    // an unbound ingest token without the intel permission is refused too
    let response = post(app.token("ci", None).await).await;
    assert_eq!(
        response.status,
        StatusCode::FORBIDDEN,
        "{}",
        response.text()
    );
    assert_eq!(visible_findings(&app, &prod_user).await, before);

    // the fleet's intel token does it
    let response = post(app.intel_token("intel-feeds").await).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let after = visible_findings(&app, &prod_user).await;
    assert!(after[0].2 > before[0].2, "{before:?} -> {after:?}");

    // and a bound token can never be given the permission
    let refused =
        sqlx::query("update api_token set scopes = '{ingest,intel}' where name = 'trivy-edge'")
            .execute(&app.pool)
            .await;
    assert!(
        refused.is_err(),
        "a bound token with the intel scope was stored"
    );
}

/// Reproduction 5: a manager scoped to edge used to see prod's token creations and
/// revocations and every sign-in of every user, with addresses.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_audit_log_shows_a_scoped_manager_only_their_clusters(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.session(Role::Admin).await;
    for cluster in ["prod", "edge"] {
        // the clusters exist before their managers' tokens are made
        app.token(&format!("seed-{cluster}"), Some(cluster)).await;
    }
    // the admin creates and revokes a prod token through the forms
    let response = app
        .post_form_as(
            &admin,
            "/settings/tokens/new",
            "name=prod-secret-name&scope=ingest&source=prod-scanner&cluster=prod&expires_days=",
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let id: i64 = sqlx::query_scalar("select id from api_token where name = 'prod-secret-name'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let response = app
        .post_form_as(&admin, "/settings/tokens/revoke", &format!("id={id}"))
        .await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );

    let edge_manager = scoped_session(&app, "edge", Role::Manager).await;
    // the edge manager's own token is theirs to see
    let response = app
        .post_form_as(
            &edge_manager,
            "/settings/tokens/new",
            "name=edge-own&scope=ingest&source=edge-scanner&cluster=edge&expires_days=",
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());

    let page = rpc(&app, &edge_manager, "/rpc/audit/list", "filter[actor]=").await;
    let text = page.to_string();
    assert!(!text.contains("prod-secret-name"), "{text}");
    assert!(!text.contains("login"), "sign-ins are fleet-level: {text}");
    assert!(!text.contains("admin@example.com"), "{text}");
    assert!(text.contains("edge-own"), "{text}");
    let csv = app.get_as(&edge_manager, "/audit.csv").await.text();
    assert!(!csv.contains("prod-secret-name"), "{csv}");
    assert!(!csv.contains("login"), "{csv}");
    assert!(csv.contains("edge-own"), "{csv}");

    // the fleet's manager sees everything
    let all = rpc(&app, &admin, "/rpc/audit/list", "filter[actor]=")
        .await
        .to_string();
    assert!(
        all.contains("prod-secret-name") && all.contains("login"),
        "{all}"
    );
}
