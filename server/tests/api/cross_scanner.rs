//! Different scanners, same problem: a Trivy and a Grype report of the same image give one
//! finding per CVE × package with one observation per scanner.

use http::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::TestApp;

const MANIFEST: &str = "sha256:9a1f0c3be5d1a6a3c0d8e7f6b5a4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6";
const CONFIG: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

fn trivy(vulns: &[(&str, &str, &str)]) -> String {
    let list: Vec<_> = vulns
        .iter()
        .map(|(id, pkg, version)| {
            json!({"VulnerabilityID": id, "PkgName": pkg, "InstalledVersion": version,
                   "PkgIdentifier": {"PURL": format!("pkg:deb/debian/{pkg}@{version}?arch=amd64&distro=debian-12.4")},
                   "FixedVersion": "99.0", "Severity": "HIGH", "Title": format!("{id} (trivy)")})
        })
        .collect();
    json!({
        "SchemaVersion": 2, "CreatedAt": "2026-11-20T10:00:00Z",
        "ArtifactName": "registry.example.com/acme/app:1.0", "ArtifactType": "container_image",
        "Metadata": {"OS": {"Family": "debian", "Name": "12.4"}, "ImageID": CONFIG,
                     "RepoDigests": [format!("registry.example.com/acme/app@{MANIFEST}")],
                     "RepoTags": ["registry.example.com/acme/app:1.0"]},
        "Results": [{"Target": "registry.example.com/acme/app:1.0 (debian 12.4)",
                     "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": list}]
    })
    .to_string()
}

fn grype(vulns: &[(&str, &str, &str)]) -> String {
    let matches: Vec<_> = vulns
        .iter()
        .map(|(id, pkg, version)| {
            json!({
                "vulnerability": {"id": id, "dataSource": format!("https://security-tracker.debian.org/tracker/{id}"),
                                  "namespace": "debian:distro:debian:12", "severity": "High",
                                  "fix": {"versions": ["99.0"], "state": "fixed"}},
                "relatedVulnerabilities": [],
                "matchDetails": [{"type": "exact-indirect-match", "matcher": "dpkg-matcher"}],
                "artifact": {"name": pkg, "version": version, "type": "deb",
                             "purl": format!("pkg:deb/debian/{pkg}@{version}?arch=amd64&distro=debian-12"),
                             "locations": [{"path": "/var/lib/dpkg/status"}]}
            })
        })
        .collect();
    json!({
        "matches": matches,
        "source": {"type": "image", "target": {
            "userInput": "registry.example.com/acme/app:1.0", "imageID": CONFIG,
            "manifestDigest": MANIFEST, "tags": ["registry.example.com/acme/app:1.0"],
            "repoDigests": [format!("registry.example.com/acme/app@{MANIFEST}")]}},
        "distro": {"name": "debian", "version": "12"},
        "descriptor": {"name": "grype", "version": "0.84.0", "timestamp": "2026-11-20T11:00:00Z"}
    })
    .to_string()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn trivy_and_grype_on_the_same_image_give_one_finding_two_observations(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let trivy_token = app.token("trivy-ci", None).await;
    let grype_token = app.token("grype-ci", None).await;
    let both = [
        ("CVE-2024-1", "openssl", "3.0.1"),
        ("CVE-2024-2", "zlib", "1.2.13"),
    ];

    let first = app.ingest("trivy", &trivy_token, trivy(&both)).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    assert_eq!(first.json()["counts"]["new"], 2);

    // Grype sees the same two and one more.
    let more = [both[0], both[1], ("CVE-2024-3", "curl", "7.88.1")];
    let second = app.ingest("grype", &grype_token, grype(&more)).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text());
    let counts = &second.json()["counts"];
    assert_eq!(counts["new"], 1, "{counts}");
    assert_eq!(counts["unchanged"], 2, "{counts}");

    let rows: Vec<(String, i64)> = sqlx::query_as(
        "select f.vulnerability_id, count(o.*) from finding f
         join observation o on o.cluster_id = f.cluster_id and o.finding_id = f.id
         group by f.vulnerability_id order by 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            ("CVE-2024-1".to_owned(), 2),
            ("CVE-2024-2".to_owned(), 2),
            ("CVE-2024-3".to_owned(), 1)
        ]
    );
    let images: i64 = sqlx::query_scalar("select count(*) from image")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(images, 1, "both scanners must resolve to the same image");

    // Trivy's next scan no longer has CVE-2024-1, Grype still does: it stays open.
    let third = app
        .ingest(
            "trivy",
            &trivy_token,
            trivy(&[both[1]]).replace("10:00", "12:00"),
        )
        .await;
    assert_eq!(third.status, StatusCode::CREATED, "{}", third.text());
    let status: String =
        sqlx::query_scalar("select status from finding where vulnerability_id = 'CVE-2024-1'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "open", "another scanner still sees it");
}

/// Two clusters' scanners reporting the same new vulnerabilities at the same moment, on two
/// images: one transaction creates the catalogue entries, the other waits on them, fails on the
/// unique key and is retried. Both reports are stored, each entry once.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn concurrent_reports_sharing_new_vulnerabilities_both_land(pool: PgPool) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("server=warn")
        .try_init();
    let app = TestApp::spawn(pool.clone()).await;
    let first_token = app.token("trivy-eu", None).await;
    let second_token = app.token("trivy-us", None).await;
    let names: Vec<(String, String)> = (0..2000)
        .map(|i| (format!("CVE-2024-{:05}", 10_000 + i), format!("lib{i}")))
        .collect();
    let vulns: Vec<(&str, &str, &str)> = names
        .iter()
        .map(|(id, pkg)| (id.as_str(), pkg.as_str(), "1.0"))
        .collect();
    let first = trivy(&vulns);
    let second = first
        .replace("acme/app", "acme/api")
        .replace(MANIFEST, &format!("sha256:{}", "2".repeat(64)))
        .replace(CONFIG, &format!("sha256:{}", "3".repeat(64)));
    let (a, b) = tokio::join!(
        app.ingest("trivy", &first_token, first),
        app.ingest("trivy", &second_token, second),
    );
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    assert_eq!(b.status, StatusCode::CREATED, "{}", b.text());
    assert_eq!(a.json()["counts"]["new"], 2000, "{}", a.text());
    assert_eq!(b.json()["counts"]["new"], 2000, "{}", b.text());

    let (images, findings, observations, vulnerabilities): (i64, i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from image), (select count(*) from finding),
                    (select count(*) from observation), (select count(*) from vulnerability)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (images, findings, observations, vulnerabilities),
        (2, 4000, 4000, 2000)
    );
}
