//! The estate page, the image page and "where is this CVE running?" over real HTTP: every
//! level's counts equal the explorer's total for the filter it links to, scope (a scoped
//! analyst sees only their cluster, and 404 for an image that runs elsewhere), the image's
//! packages and what upgrading fixes, and bad ids.

use app::model::Role;
use http::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{TestApp, trivy_image_report, urlencode};

/// A vulnerability of a hand-built report: (id, package, installed, fixed version or none).
type Vuln<'a> = (&'a str, &'a str, &'a str, Option<&'a str>);

/// A Trivy Kubernetes report: each (namespace, kind, name, image, vulnerabilities) is a
/// workload running the image.
fn k8s_report(cluster: &str, workloads: &[(&str, &str, &str, &str, &[Vuln<'_>])]) -> String {
    let resources: Vec<Value> = workloads
        .iter()
        .map(|(ns, kind, name, image, vulns)| {
            let vulns: Vec<Value> = vulns
                .iter()
                .map(|(id, pkg, version, fixed)| {
                    let mut v = json!({
                        "VulnerabilityID": id, "PkgName": pkg, "InstalledVersion": version,
                        "Severity": "HIGH", "Title": format!("{id} in {pkg}"),
                    });
                    if let Some(fixed) = fixed {
                        v["FixedVersion"] = json!(fixed);
                    }
                    v
                })
                .collect();
            json!({
                "Namespace": ns, "Kind": kind, "Name": name,
                "Results": [{"Target": format!("{image} (debian 12.4)"), "Class": "os-pkgs",
                             "Type": "debian", "Vulnerabilities": vulns}],
            })
        })
        .collect();
    json!({"ClusterName": cluster, "Vulnerabilities": resources, "Misconfigurations": []})
        .to_string()
}

/// alpha (aws): web/Deployment/shop runs acme/shop:1 (openssl twice with a fix, zlib without,
/// curl once with and once without), batch/CronJob/etl runs acme/etl:1 (openssl). bravo (gcp):
/// web/Deployment/api runs acme/shop:1 (openssl), web/Deployment/vault runs acme/vault:1 (bash).
/// From CI (no cluster): acme/ci:1 with three fixable vulnerabilities in two packages.
async fn fleet(app: &TestApp) {
    let alpha = app.token("trivy-alpha", Some("alpha")).await;
    let bravo = app.token("trivy-bravo", Some("bravo")).await;
    let ci = app.token("ci", None).await;
    let shop: &[Vuln<'_>] = &[
        ("CVE-2024-10001", "openssl", "3.0.1", Some("3.0.2")),
        ("CVE-2024-10002", "openssl", "3.0.1", Some("3.0.5")),
        ("CVE-2024-10003", "zlib", "1.2.13", None),
        ("CVE-2024-10004", "curl", "8.0.0", Some("8.1.0")),
        ("CVE-2024-10005", "curl", "8.0.0", None),
    ];
    let etl: &[Vuln<'_>] = &[("CVE-2024-10001", "openssl", "3.0.1", Some("3.0.2"))];
    let a = k8s_report(
        "alpha",
        &[
            ("web", "Deployment", "shop", "acme/shop:1", shop),
            ("batch", "CronJob", "etl", "acme/etl:1", etl),
        ],
    );
    let b = k8s_report(
        "bravo",
        &[
            ("web", "Deployment", "api", "acme/shop:1", etl),
            (
                "web",
                "Deployment",
                "vault",
                "acme/vault:1",
                &[("CVE-2024-20001", "bash", "5.1", Some("5.2"))],
            ),
        ],
    );
    let c = trivy_image_report(
        "acme/ci:1",
        "2026-11-01T00:00:00Z",
        &[
            ("CVE-2024-30001", "openssl", "3.0.1"),
            ("CVE-2024-30002", "openssl", "3.0.1"),
            ("CVE-2024-30003", "bash", "5.0"),
        ],
    );
    for (token, body) in [(&alpha, a), (&bravo, b), (&ci, c)] {
        let response = app.ingest("trivy", token, body).await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    }
    sqlx::query("update cluster set provider = case name when 'alpha' then 'aws' else 'gcp' end")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("update finding set risk_score = 10 + (id % 50)::smallint")
        .execute(&app.pool)
        .await
        .unwrap();
    app.settle().await;
}

async fn image_id(app: &TestApp, repository_end: &str) -> i64 {
    sqlx::query_scalar("select id from image where repository like '%' || $1")
        .bind(repository_end)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn rpc(app: &TestApp, cookie: &str, path: &str, body: &str) -> Value {
    let response = app.rpc_as(cookie, path, body).await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "{path} {body}: {}",
        response.text()
    );
    response.json()
}

/// The explorer's total for a filter (`key=value&…`).
async fn explorer_total(app: &TestApp, cookie: &str, filter: &[(&str, String)]) -> i64 {
    let body = filter
        .iter()
        .map(|(k, v)| format!("filter%5B{k}%5D={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    rpc(app, cookie, "/rpc/findings/list", &body).await["total"]
        .as_i64()
        .unwrap()
}

fn open(totals: &Value) -> i64 {
    ["critical", "high", "medium", "low", "unknown"]
        .iter()
        .map(|s| totals["counts"][s].as_i64().unwrap_or(0))
        .sum()
}

async fn estate(app: &TestApp, cookie: &str, cluster: Option<&str>) -> Value {
    let body = match cluster {
        Some(c) => format!("filter%5Bcluster%5D={c}"),
        None => "filter%5Bcluster%5D=".to_owned(),
    };
    rpc(app, cookie, "/rpc/estate/view", &body).await
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn every_estate_level_counts_what_the_explorer_lists_for_its_filter(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let cookie = app.session(Role::Analyst).await;
    let top = estate(&app, &cookie, None).await;
    let providers = top["providers"].as_array().unwrap();
    let mut clusters_seen = 0;
    for p in providers {
        let provider = p["name"].as_str().unwrap().to_owned();
        let total = explorer_total(&app, &cookie, &[("provider", provider.clone())]).await;
        assert_eq!(open(&p["totals"]), total, "provider {provider}");
        assert!(total > 0);
        for c in p["clusters"].as_array().unwrap() {
            clusters_seen += 1;
            let name = c["name"].as_str().unwrap().to_owned();
            let total = explorer_total(&app, &cookie, &[("cluster", name.clone())]).await;
            assert_eq!(open(&c["totals"]), total, "cluster {name}");
        }
    }
    assert_eq!(clusters_seen, 2);

    // one cluster drilled into: namespaces, workloads and images
    let mut checked = (0, 0, 0);
    for name in ["alpha", "bravo"] {
        let detail = estate(&app, &cookie, Some(name)).await;
        let cluster = &detail["cluster"];
        let total = explorer_total(&app, &cookie, &[("cluster", name.to_owned())]).await;
        assert_eq!(open(&cluster["cluster"]["totals"]), total);
        for ns in cluster["namespaces"].as_array().unwrap() {
            let ns_name = ns["name"].as_str().unwrap().to_owned();
            let total = explorer_total(
                &app,
                &cookie,
                &[("cluster", name.to_owned()), ("namespace", ns_name.clone())],
            )
            .await;
            assert_eq!(open(&ns["totals"]), total, "{name}/{ns_name}");
            checked.0 += 1;
            for w in ns["workloads"].as_array().unwrap() {
                let key = format!("{}:{}", w["cluster_id"], w["id"]);
                let total = explorer_total(&app, &cookie, &[("workload", key)]).await;
                assert_eq!(open(&w["totals"]), total, "{name} {}", w["name"]);
                checked.1 += 1;
                for i in w["images"].as_array().unwrap() {
                    let total = explorer_total(
                        &app,
                        &cookie,
                        &[("cluster", name.to_owned()), ("image", i["id"].to_string())],
                    )
                    .await;
                    assert_eq!(open(&i["totals"]), total, "{name} {}", i["name"]);
                    checked.2 += 1;
                }
            }
        }
    }
    // namespaces: alpha web, batch; bravo web. workloads: shop, etl, api, vault, one image each
    assert_eq!(checked, (3, 4, 4));

    // the page itself renders the same levels, without JavaScript
    let page = app.get_as(&cookie, "/estate?cluster=alpha").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("Deployment/shop"), "{html}");
    assert!(
        html.contains("/findings?cluster=alpha&amp;namespace=web")
            || html.contains("/findings?cluster=alpha&namespace=web")
    );
    let top = app.get_as(&cookie, "/estate").await;
    assert_eq!(top.status, StatusCode::OK);
    assert!(top.text().contains("/estate?cluster=bravo"));
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_scoped_analyst_sees_only_their_cluster_and_no_image_that_runs_elsewhere(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let cookie = app
        .limited_session("alpha-analyst@example.com", Role::Analyst, "alpha")
        .await;
    let top = estate(&app, &cookie, None).await;
    let names: Vec<&str> = top["providers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["clusters"].as_array().unwrap())
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha"]);
    let other = app
        .rpc_as(&cookie, "/rpc/estate/view", "filter%5Bcluster%5D=bravo")
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get_as(&cookie, "/estate?cluster=bravo").await.status,
        StatusCode::NOT_FOUND
    );

    // an image only bravo runs, and one only CI knows: not found, as a missing one
    for repo in ["acme/vault", "acme/ci"] {
        let id = image_id(&app, repo).await;
        let page = app.get_as(&cookie, &format!("/images/{id}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{repo}");
        let rpc = app
            .rpc_as(&cookie, "/rpc/estate/image", &format!("id={id}"))
            .await;
        assert_eq!(rpc.status, StatusCode::NOT_FOUND, "{repo}");
    }

    // the shared image: only alpha's workloads and findings on it
    let shop = image_id(&app, "acme/shop").await;
    let detail = rpc(&app, &cookie, "/rpc/estate/image", &format!("id={shop}")).await;
    let clusters: Vec<&str> = detail["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(clusters, ["alpha"]);
    let workloads: Vec<&str> = detail["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(workloads, ["shop"]);
    assert_eq!(open(&detail["totals"]), 5);
    let openssl = detail["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "openssl")
        .unwrap();
    assert_eq!(open(&json!({"counts": openssl["counts"]})), 2);
    assert_eq!(detail["upgrade"], json!({"packages": 1, "findings": 2}));
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_image_page_lists_packages_and_what_upgrading_fixes(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let admin = app.session(Role::Admin).await;

    // acme/shop:1 in both clusters: openssl 3 findings all fixable, zlib none, curl mixed
    let shop = image_id(&app, "acme/shop").await;
    let detail = rpc(&app, &admin, "/rpc/estate/image", &format!("id={shop}")).await;
    let packages: Vec<(String, String, Option<String>, i64, bool)> = detail["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["version"].as_str().unwrap().to_owned(),
                p["fixed_versions"].as_str().map(str::to_owned),
                open(&json!({"counts": p["counts"]})),
                p["fixable"].as_bool().unwrap(),
            )
        })
        .collect();
    let mut sorted = packages.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            (
                "curl".into(),
                "8.0.0".into(),
                Some("8.1.0".into()),
                2,
                false
            ),
            (
                "openssl".into(),
                "3.0.1".into(),
                Some("3.0.2, 3.0.5".into()),
                3,
                true
            ),
            ("zlib".into(), "1.2.13".into(), None, 1, false),
        ]
    );
    assert_eq!(detail["upgrade"], json!({"packages": 1, "findings": 3}));
    assert_eq!(detail["clusters"].as_array().unwrap().len(), 2);
    assert_eq!(detail["workloads"].as_array().unwrap().len(), 2);
    let total = explorer_total(&app, &admin, &[("image", shop.to_string())]).await;
    assert_eq!(open(&detail["totals"]), total);

    let page = app.get_as(&admin, &format!("/images/{shop}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains("Upgrading these 1 packages fixes 3 findings."),
        "{html}"
    );
    assert!(
        html.contains(&format!("/findings?q=openssl&amp;image={shop}"))
            || html.contains(&format!("/findings?q=openssl&image={shop}")),
        "{html}"
    );

    // CI's report (every vulnerability fixed in 99.0): two packages fix three findings
    let ci = image_id(&app, "acme/ci").await;
    let detail = rpc(&app, &admin, "/rpc/estate/image", &format!("id={ci}")).await;
    assert_eq!(detail["upgrade"], json!({"packages": 2, "findings": 3}));
    assert_eq!(detail["clusters"], json!([]));
    let page = app.get_as(&admin, &format!("/images/{ci}")).await;
    assert!(
        page.text()
            .contains("Upgrading these 2 packages fixes 3 findings.")
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn where_running_names_the_clusters_workloads_and_images_the_viewer_may_see(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let admin = app.session(Role::Analyst).await;
    let scoped = app
        .limited_session("alpha-analyst@example.com", Role::Analyst, "alpha")
        .await;
    let names = |v: &Value, key: &str, field: &str| -> Vec<String> {
        let mut out: Vec<String> = v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x[field].as_str().unwrap().to_owned())
            .collect();
        out.sort();
        out
    };
    // any case reads as the CVE id
    let all = rpc(
        &app,
        &admin,
        "/rpc/estate/where-running",
        "cve=cve-2024-10001",
    )
    .await;
    assert_eq!(all["vulnerability"], "CVE-2024-10001");
    assert_eq!(all["findings"], 3);
    assert_eq!(names(&all, "clusters", "name"), ["alpha", "bravo"]);
    assert_eq!(
        names(&all, "workloads", "label"),
        [
            "batch/CronJob/etl",
            "web/Deployment/api",
            "web/Deployment/shop"
        ]
    );
    assert_eq!(names(&all, "images", "name").len(), 2);

    let mine = rpc(
        &app,
        &scoped,
        "/rpc/estate/where-running",
        "cve=CVE-2024-10001",
    )
    .await;
    assert_eq!(mine["findings"], 2);
    assert_eq!(names(&mine, "clusters", "name"), ["alpha"]);
    assert_eq!(
        names(&mine, "workloads", "label"),
        ["batch/CronJob/etl", "web/Deployment/shop"]
    );
    // bravo's own CVE: nothing for alpha's analyst
    let none = rpc(
        &app,
        &scoped,
        "/rpc/estate/where-running",
        "cve=CVE-2024-20001",
    )
    .await;
    assert_eq!(none["findings"], 0);
    assert_eq!(none["clusters"], json!([]));
    assert_eq!(none["images"], json!([]));
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn bad_ids_are_refused_and_missing_ones_not_found(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let cookie = app.session(Role::Analyst).await;
    for (path, status) in [
        ("/images/abc", StatusCode::BAD_REQUEST),
        ("/images/-3", StatusCode::BAD_REQUEST),
        ("/images/999999999", StatusCode::NOT_FOUND),
        ("/estate?cluster=nowhere", StatusCode::NOT_FOUND),
        (
            "/estate?cluster=alpha&namespace=nowhere",
            StatusCode::NOT_FOUND,
        ),
    ] {
        assert_eq!(app.get_as(&cookie, path).await.status, status, "{path}");
    }
    for cve in ["openssl", "CVE-2024-1", "CVE-2024-10001%20x", ""] {
        let response = app
            .rpc_as(&cookie, "/rpc/estate/where-running", &format!("cve={cve}"))
            .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{cve}");
    }
    let response = app.rpc_as(&cookie, "/rpc/estate/image", "id=x1").await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
}
