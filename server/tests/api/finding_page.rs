//! The finding page (`/findings/{cluster_id}/{finding_id}`) and its server function: the risk
//! explained factor by factor, the catalogue entry, evidence from two scanners, the history,
//! where else the vulnerability runs, and the cluster boundary (404 for what a viewer may not
//! see, exactly as for what does not exist).

use std::io::Write;

use app::model::Role;
use http::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::TestApp;

const CVE: &str = "CVE-2024-3094";
const VECTOR: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";

/// A manifest digest per image, so that the two images are two.
fn manifest(image: &str) -> String {
    let digit = if image.contains("other") { "b" } else { "a" };
    format!("sha256:{}", digit.repeat(64))
}

/// A Trivy report of `image` with the CVE in xz-utils, its catalogue entry included.
fn trivy(image: &str) -> String {
    json!({
        "SchemaVersion": 2, "CreatedAt": "2026-11-20T10:00:00Z",
        "ArtifactName": image, "ArtifactType": "container_image",
        "Metadata": {"OS": {"Family": "debian", "Name": "12.4"},
                     "RepoDigests": [format!("{}@{}", image.split(':').next().unwrap(), manifest(image))],
                     "RepoTags": [image]},
        "Results": [{"Target": format!("{image} (debian 12.4)"), "Class": "os-pkgs", "Type": "debian",
            "Vulnerabilities": [{
                "VulnerabilityID": CVE, "PkgName": "xz-utils", "InstalledVersion": "5.6.0-1",
                "FixedVersion": "5.6.1+really5.4.5-1, 5.4.5-0.2", "Severity": "CRITICAL",
                "Title": "xz: malicious code in distributed source <script>alert(1)</script>",
                "Description": "Malicious code was discovered in the upstream tarballs of xz <b>5.6.0</b>.",
                "CVSS": {"nvd": {"V3Vector": VECTOR, "V3Score": 10.0}},
                "References": ["https://nvd.nist.gov/vuln/detail/CVE-2024-3094",
                               "javascript:alert(document.cookie)"]
            }]}]
    })
    .to_string()
}

/// A Grype report of the same image and CVE.
fn grype(image: &str) -> String {
    json!({
        "matches": [{
            "vulnerability": {"id": CVE, "dataSource": "https://security-tracker.debian.org/tracker/CVE-2024-3094",
                              "namespace": "debian:distro:debian:12", "severity": "High",
                              "fix": {"versions": ["5.6.1+really5.4.5-1"], "state": "fixed"}},
            "relatedVulnerabilities": [],
            "matchDetails": [{"type": "exact-indirect-match", "matcher": "dpkg-matcher"}],
            "artifact": {"name": "xz-utils", "version": "5.6.0-1", "type": "deb",
                         "purl": "pkg:deb/debian/xz-utils@5.6.0-1?arch=amd64&distro=debian-12",
                         "locations": [{"path": "/var/lib/dpkg/status"}]}
        }],
        "source": {"type": "image", "target": {
            "userInput": image, "manifestDigest": manifest(image), "tags": [image],
            "repoDigests": [format!("{}@{}", image.split(':').next().unwrap(), manifest(image))]}},
        "distro": {"name": "debian", "version": "12"},
        "descriptor": {"name": "grype", "version": "0.84.0", "timestamp": "2026-11-20T11:00:00Z"}
    })
    .to_string()
}

/// Cluster alpha runs acme/app (Trivy and Grype both report the CVE), cluster bravo runs
/// acme/other (Trivy); the CVE is in KEV since 2024-03-02 with an EPSS of 0.5. Returns the keys
/// of alpha's and bravo's findings.
async fn two_clusters(app: &TestApp) -> ((i64, i64), (i64, i64)) {
    let trivy_alpha = app.token("trivy-alpha", Some("alpha")).await;
    let grype_alpha = app.token("grype-alpha", Some("alpha")).await;
    let trivy_bravo = app.token("trivy-bravo", Some("bravo")).await;
    for (format, token, body) in [
        (
            "trivy",
            &trivy_alpha,
            trivy("registry.example.com/acme/app:1.0"),
        ),
        (
            "grype",
            &grype_alpha,
            grype("registry.example.com/acme/app:1.0"),
        ),
        (
            "trivy",
            &trivy_bravo,
            trivy("registry.example.com/acme/other:2.0"),
        ),
    ] {
        let response = app.ingest(format, token, body).await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    }
    let intel = app.intel_token("feeds").await;
    let kev = json!({
        "catalogVersion": "2026.11.28",
        "vulnerabilities": [{"cveID": CVE, "vendorProject": "tukaani", "product": "xz",
                             "vulnerabilityName": "XZ Utils backdoor", "dateAdded": "2024-03-02",
                             "dueDate": "2024-03-23", "knownRansomwareCampaignUse": "Unknown"}]
    });
    let auth = format!("Bearer {intel}");
    let response = app
        .request(
            "POST",
            "/api/v1/intel/kev",
            &[("authorization", &auth)],
            kev.to_string(),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let csv = format!(
        "#model_version:v2025.03.14,score_date:2026-11-28T00:00:00+0000\n\
         cve,epss,percentile\n{CVE},0.5,0.97\n"
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(csv.as_bytes()).unwrap();
    let response = app
        .request(
            "POST",
            "/api/v1/intel/epss",
            &[("authorization", &auth)],
            gz.finish().unwrap(),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let key = |cluster: &'static str| async move {
        sqlx::query_as::<_, (i64, i64)>(
            "select f.cluster_id, f.id from finding f join cluster c on c.id = f.cluster_id
             where c.name = $1 and f.vulnerability_id = $2",
        )
        .bind(cluster)
        .bind(CVE)
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    (key("alpha").await, key("bravo").await)
}

fn page((cluster_id, id): (i64, i64)) -> String {
    format!("/findings/{cluster_id}/{id}")
}

fn rpc_body((cluster_id, id): (i64, i64)) -> String {
    format!("cluster_id={cluster_id}&finding_id={id}")
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_page_explains_the_risk_and_shows_catalogue_evidence_and_history(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (alpha, bravo) = two_clusters(&app).await;
    let analyst = app.session(Role::Analyst).await;

    let response = app.get_as(&analyst, &page(alpha)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let html = response.text();
    // the risk: every stored factor with its value, weight and reason, and the sum
    for expected in [
        "data-factor=\"severity\"",
        // the score comes from the vector (9.8), not from the number Trivy copied beside it
        "CVSS base score 9.8 (+39.2)",
        "× 4 per CVSS point",
        "data-factor=\"kev\"",
        "In CISA KEV since 2024-03-02 (+20)",
        "EPSS: 50.0 % chance of exploitation in the next 30 days (+7.5)",
        "× 15 at 100 %",
        "Runs in production (+10)",
        "data-testid=\"risk-arithmetic\"",
        "39.2 + 20 + 10 + 7.5 + 5 = 81.7, rounded to 82.",
    ] {
        assert!(html.contains(expected), "missing {expected:?} in {html}");
    }
    // the catalogue entry; the scanners' text is text, their references links only when web
    for expected in [
        VECTOR,
        "CVSS 3.1",
        "Malicious code was discovered in the upstream tarballs of xz &lt;b&gt;5.6.0&lt;/b&gt;.",
        "href=\"https://nvd.nist.gov/vuln/detail/CVE-2024-3094\" rel=\"noopener noreferrer\"",
        "Listed since 2024-03-02; CISA due date 2024-03-23",
        "50.0 % probability of exploitation in 30 days (percentile 97)",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    ] {
        assert!(html.contains(expected), "missing {expected:?} in {html}");
    }
    assert!(!html.contains("href=\"javascript:"), "{html}");
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(html.contains("javascript:alert(document.cookie)"));
    // evidence from both scanners, each with its report and its own severity
    assert!(html.contains("data-source=\"trivy-alpha\""), "{html}");
    assert!(html.contains("data-source=\"grype-alpha\""), "{html}");
    assert!(html.contains("2 scanner scopes observed it"), "{html}");
    assert!(html.contains("first in #"), "{html}");
    // the fixed versions: the one to upgrade to, and each scanner's list
    assert!(html.contains("data-testid=\"fixed-version\""), "{html}");
    assert!(html.contains("5.6.1+really5.4.5-1, 5.4.5-0.2"), "{html}");
    // where else: bravo's image, linked to its finding
    assert!(html.contains("acme/other:2.0"), "{html}");
    assert!(
        html.contains(&format!("href=\"{}\"", page(bravo))),
        "{html}"
    );
    assert!(html.contains("1 other open finding on 1 image"), "{html}");

    // a decision shows in the history, above the status change it made
    let decider: i64 = sqlx::query_scalar("select id from app_user where email = $1")
        .bind("analyst@example.com")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    server::db::findings::decide(
        &mut conn,
        alpha.0,
        alpha.1,
        &server::db::findings::Decision {
            decision: server::db::findings::DecisionKind::Accepted,
            justification: "Compensating control: <egress blocked>",
            decided_by: Some(decider),
            expires_at: Some(chrono::Utc::now() + chrono::Duration::days(30)),
        },
    )
    .await
    .unwrap();
    drop(conn);
    let html = app.get_as(&analyst, &page(alpha)).await.text();
    let decision = html
        .find("Decision: accepted by analyst@example.com")
        .unwrap_or_else(|| panic!("no decision in {html}"));
    assert!(html.contains("Compensating control: &lt;egress blocked&gt;"));
    let status = html.find("Status: accepted").expect("the status change");
    assert!(
        status < decision,
        "newest first, the status change after the decision"
    );
    let badge = html
        .find("data-testid=\"finding-status\"")
        .expect("the status badge");
    assert!(html[badge..badge + 80].contains(">accepted<"), "{html}");

    // the server function answers the same data
    let rpc = app
        .rpc_as(&analyst, "/rpc/findings/detail", &rpc_body(alpha))
        .await;
    assert_eq!(rpc.status, StatusCode::OK, "{}", rpc.text());
    let detail = rpc.json();
    let kev = detail["risk"]["factors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["factor"] == "kev")
        .unwrap()
        .clone();
    assert_eq!(kev["points"], 20.0);
    assert_eq!(kev["weight"], "+20");
    assert_eq!(kev["value"], "listed 2024-03-02");
    assert_eq!(detail["vulnerability"]["epss"]["percentile"], 0.97);
    assert_eq!(detail["risk"]["score"], 82);
    assert_eq!(detail["evidence"].as_array().unwrap().len(), 2);
    assert_eq!(detail["where_else"]["findings"], 1);
    assert_eq!(
        detail["history"][1]["event"]["Decision"]["decision"],
        "accepted"
    );

    // executives may read it
    let executive = app.session(Role::Executive).await;
    assert_eq!(
        app.get_as(&executive, &page(alpha)).await.status,
        StatusCode::OK
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_scoped_analyst_learns_nothing_of_another_cluster(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (alpha, bravo) = two_clusters(&app).await;
    let scoped = app
        .limited_session("alpha-analyst@example.com", Role::Analyst, "alpha")
        .await;

    // their own cluster's finding: where else is empty, not even a count of bravo's
    let response = app.get_as(&scoped, &page(alpha)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let html = response.text();
    assert!(html.contains("data-factor=\"kev\""), "{html}");
    assert!(
        !html.contains("acme/other"),
        "another cluster's image leaked"
    );
    assert!(!html.contains("bravo"), "another cluster's name leaked");
    assert!(
        !html.contains(&page(bravo)),
        "a link to another cluster's finding"
    );
    assert!(
        html.contains("No other open finding of this vulnerability"),
        "{html}"
    );
    let rpc = app
        .rpc_as(&scoped, "/rpc/findings/detail", &rpc_body(alpha))
        .await
        .json();
    assert_eq!(rpc["where_else"]["findings"], 0);
    assert_eq!(rpc["where_else"]["images"], 0);

    // another cluster's finding is not found, as an unknown one is
    let other = app.get_as(&scoped, &page(bravo)).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let other = other.text();
    assert!(other.contains("was not found"), "{other}");
    assert!(
        !other.contains("acme/other") && !other.contains(CVE),
        "{other}"
    );
    let unknown = app.get_as(&scoped, &page((bravo.0, bravo.1 + 1000))).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let rpc = app
        .rpc_as(&scoped, "/rpc/findings/detail", &rpc_body(bravo))
        .await;
    assert_eq!(rpc.status, StatusCode::NOT_FOUND, "{}", rpc.text());
    assert!(!rpc.text().contains("acme/other"));

    // an unlimited viewer sees bravo's finding
    let manager = app.session(Role::Manager).await;
    assert_eq!(
        app.get_as(&manager, &page(bravo)).await.status,
        StatusCode::OK
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn unknown_and_malformed_ids_are_not_found_and_strangers_sign_in(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (alpha, _) = two_clusters(&app).await;
    let analyst = app.session(Role::Analyst).await;
    for path in [
        format!("/findings/{}/{}", alpha.0, alpha.1 + 1000),
        format!("/findings/{}/{}", alpha.0 + 50, alpha.1),
        "/findings/abc/1".to_owned(),
        format!("/findings/{}/x{}", alpha.0, alpha.1),
        format!("/findings/-1/{}", alpha.1),
    ] {
        let response = app.get_as(&analyst, &path).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert!(response.text().contains("was not found"), "{path}");
    }
    for (body, status) in [
        (
            format!("cluster_id={}&finding_id={}", alpha.0, alpha.1 + 1000),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("cluster_id={}&finding_id=abc", alpha.0),
            StatusCode::BAD_REQUEST,
        ),
        ("cluster_id=1".to_owned(), StatusCode::BAD_REQUEST),
    ] {
        let response = app.rpc_as(&analyst, "/rpc/findings/detail", &body).await;
        assert_eq!(response.status, status, "{body}: {}", response.text());
    }

    // nobody signed in: the page sends to the sign-in page, the function refuses
    let anonymous = app.get(&page(alpha)).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert!(
        anonymous
            .header("location")
            .is_some_and(|l| l.starts_with("/login")),
        "{:?}",
        anonymous.header("location")
    );
    let origin = app.origin();
    let refused = app
        .request(
            "POST",
            "/rpc/findings/detail",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("origin", &origin),
            ],
            rpc_body(alpha),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_overview_top_risks_link_to_their_finding_pages(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (alpha, bravo) = two_clusters(&app).await;
    let manager = app.session(Role::Manager).await;
    let html = app.get_as(&manager, "/").await.text();
    for key in [alpha, bravo] {
        assert!(
            html.contains(&format!("href=\"{}\"", page(key))),
            "no link to {key:?} in {html}"
        );
    }
}
