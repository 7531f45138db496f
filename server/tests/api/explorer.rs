//! The findings explorer over real HTTP: facets and totals, their scope, keyset pages, groups,
//! search, bad values, and the facet table staying exact through every kind of write.

use std::collections::{BTreeMap, HashSet};

use app::model::Role;
use http::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{TestApp, trivy_image_report};

/// alpha (aws, prod): one image with 60 vulnerabilities (openssl, zlib, curl…); bravo (gcp,
/// dev): one image with 3. Severities: alpha's first 6 critical, next 14 high, the rest medium;
/// bravo's all low. Two of alpha's are in KEV; bravo's image is internet-facing (its findings
/// have an exposure factor). Returns nothing: tests read back what they need.
async fn fleet(app: &TestApp) {
    let alpha = app.token("trivy-alpha", Some("alpha")).await;
    let bravo = app.token("trivy-bravo", Some("bravo")).await;
    sqlx::query(
        "update cluster set provider = case name when 'alpha' then 'aws' else 'gcp' end,
                            environment = case name when 'alpha' then 'prod' else 'dev' end",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let packages = ["openssl", "zlib", "curl", "bash", "libxml2"];
    let many: Vec<(String, String, String)> = (0..60)
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
            ("CVE-2024-2003", "100%_pure", "1.0"),
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
    // severities and exposure as the tests need them: plain updates, which the facet
    // triggers must follow
    sqlx::query(
        "update finding set severity = case
             when vulnerability_id < 'CVE-2024-1006' then 4
             when vulnerability_id < 'CVE-2024-1020' then 3
             when vulnerability_id like 'CVE-2024-10%' then 2
             else 1 end,
           risk_score = (random() * 90)::int + 1",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        r#"update finding set risk_factors = '{"exposure": 10.0}'::json
           where vulnerability_id like 'CVE-2024-20%'"#,
    )
    .execute(&app.pool)
    .await
    .unwrap();
    // KEV through the import path, which recounts the facets
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
            entries: vec![entry("CVE-2024-1000"), entry("CVE-2024-1007")],
            warnings: Vec::new(),
        },
    )
    .await
    .unwrap();
}

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

/// The facet `key` as value -> count (values left uncounted are left out).
fn facet(list: &Value, key: &str) -> BTreeMap<String, i64> {
    list["facets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == key)
        .unwrap_or_else(|| panic!("no facet {key} in {list}"))["values"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| {
            Some((
                v["value"].as_str().unwrap().to_owned(),
                v["count"].as_i64()?,
            ))
        })
        .collect()
}

/// Every finding's facet key counted from the findings themselves, minus `finding_facet`:
/// empty when the table is exact.
async fn drift(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select format('%s', x) from (
             (select f.cluster_id, coalesce(f.namespace_id, 0), f.severity, f.kind, f.status,
                     k.cve_id is not null, f.fixed_version is not null,
                     f.risk_factors->>'exposure' is not null, count(*)
              from finding f left join intel_kev k on k.cve_id = f.vulnerability_id
              group by 1, 2, 3, 4, 5, 6, 7, 8)
             except
             (select cluster_id, namespace_id, severity, kind, status, kev, fix, exposed, n
              from finding_facet where n <> 0)
             union all
             (select cluster_id, namespace_id, severity, kind, status, kev, fix, exposed, n
              from finding_facet where n <> 0)
             except
             (select f.cluster_id, coalesce(f.namespace_id, 0), f.severity, f.kind, f.status,
                     k.cve_id is not null, f.fixed_version is not null,
                     f.risk_factors->>'exposure' is not null, count(*)
              from finding f left join intel_kev k on k.cve_id = f.vulnerability_id
              group by 1, 2, 3, 4, 5, 6, 7, 8)
         ) x",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Every (finding, source) pair counted by the finding's facet key from the observations,
/// minus `finding_source_facet`: empty when the table is exact.
async fn source_drift(pool: &PgPool) -> Vec<String> {
    let live = "select p.source_id, f.cluster_id, coalesce(f.namespace_id, 0), f.severity,
                       f.kind, f.status, k.cve_id is not null, f.fixed_version is not null,
                       f.risk_factors->>'exposure' is not null, count(*)
                from (select distinct o.cluster_id, o.finding_id, s.source_id
                      from observation o join scan_scope s on s.id = o.scope_id) p
                join finding f on f.cluster_id = p.cluster_id and f.id = p.finding_id
                left join intel_kev k on k.cve_id = f.vulnerability_id
                group by 1, 2, 3, 4, 5, 6, 7, 8, 9";
    let table = "select source_id, cluster_id, namespace_id, severity, kind, status, kev, fix,
                        exposed, n
                 from finding_source_facet where n <> 0";
    sqlx::query_scalar(&format!(
        "select format('%s', x) from (({live}) except ({table})
                                      union all ({table}) except ({live})) x"
    ))
    .fetch_all(pool)
    .await
    .unwrap()
}

/// A second source on alpha (a CI pipeline scanning the same image) that reports the first
/// five of alpha's vulnerabilities: the same findings, observed twice.
async fn second_source(app: &TestApp) {
    let ci = app.token("trivy-alpha-ci", Some("alpha")).await;
    let report = trivy_image_report(
        "acme/alpha:1",
        "2026-11-01T00:00:00Z",
        &[
            ("CVE-2024-1000", "openssl", "1.0"),
            ("CVE-2024-1001", "zlib", "1.1"),
            ("CVE-2024-1002", "curl", "1.2"),
            ("CVE-2024-1003", "bash", "1.3"),
            ("CVE-2024-1004", "libxml2", "1.4"),
        ],
    );
    assert_eq!(
        app.ingest("trivy", &ci, report).await.status,
        StatusCode::CREATED
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn facets_count_under_the_other_filters_and_the_total_is_exact(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let analyst = app.session(Role::Analyst).await;

    let all = explore(&app, &analyst, "").await;
    assert_eq!(all["total"], 63, "{all}");
    assert_eq!(
        facet(&all, "severity"),
        BTreeMap::from([
            ("critical".to_owned(), 6),
            ("high".to_owned(), 14),
            ("medium".to_owned(), 40),
            ("low".to_owned(), 3),
            ("unknown".to_owned(), 0),
        ])
    );
    assert_eq!(facet(&all, "kev")["yes"], 2);
    assert_eq!(facet(&all, "exposure")["internet"], 3);
    assert_eq!(
        facet(&all, "provider"),
        BTreeMap::from([("aws".to_owned(), 60), ("gcp".to_owned(), 3)])
    );
    assert_eq!(
        facet(&all, "cluster"),
        BTreeMap::from([("alpha".to_owned(), 60), ("bravo".to_owned(), 3)])
    );

    // a chosen severity narrows every other facet, not its own
    let critical = explore(&app, &analyst, "severity=critical").await;
    assert_eq!(critical["total"], 6);
    assert_eq!(
        facet(&critical, "severity")["high"],
        14,
        "its own facet keeps the alternatives"
    );
    assert_eq!(
        facet(&critical, "cluster"),
        BTreeMap::from([("alpha".to_owned(), 6)])
    );
    assert_eq!(facet(&critical, "kev")["yes"], 1);
    let both = explore(&app, &analyst, "severity=critical&kev=yes").await;
    assert_eq!(both["total"], 1);
    assert_eq!(both["rows"][0]["vulnerability"], "CVE-2024-1000");

    // the provider selects clusters; the other facets follow
    let gcp = explore(&app, &analyst, "provider=gcp").await;
    assert_eq!(gcp["total"], 3);
    assert_eq!(facet(&gcp, "provider")["aws"], 60);
    assert_eq!(facet(&gcp, "severity")["low"], 3);

    // search: by package, by id, by image, by title; LIKE characters are literal
    let openssl = explore(&app, &analyst, "q=openssl").await;
    assert_eq!(openssl["total"], 13, "12 in alpha, 1 in bravo: {openssl}");
    assert_eq!(
        facet(&openssl, "cluster")["bravo"],
        1,
        "facets follow the search"
    );
    assert_eq!(explore(&app, &analyst, "q=cve-2024-1059").await["total"], 1);
    assert_eq!(explore(&app, &analyst, "q=acme%2Fbravo").await["total"], 3);
    assert_eq!(explore(&app, &analyst, "q=100%25_pure").await["total"], 1);
    assert_eq!(explore(&app, &analyst, "q=100%25_purex").await["total"], 0);

    // other statuses are a facet value away
    sqlx::query("update finding set status = 'fixed' where vulnerability_id = 'CVE-2024-1001'")
        .execute(&app.pool)
        .await
        .unwrap();
    let open = explore(&app, &analyst, "").await;
    assert_eq!(open["total"], 62);
    assert_eq!(facet(&open, "status")["fixed"], 1);
    assert_eq!(explore(&app, &analyst, "status=fixed").await["total"], 1);
    // under a text search only the chosen status is counted (the others would mean reading
    // every finding); the other values are still there to choose
    let searched = explore(&app, &analyst, "q=openssl").await;
    assert_eq!(
        facet(&searched, "status"),
        BTreeMap::from([("open".to_owned(), 13)]),
        "{searched}"
    );
    assert!(searched.to_string().contains(r#""value":"fixed""#));
    assert!(
        drift(&app.pool).await.is_empty(),
        "{:?}",
        drift(&app.pool).await
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_source_facet_counts_each_finding_once_per_source_that_saw_it(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    second_source(&app).await;
    assert_eq!(
        sqlx::query_scalar::<_, i64>("select count(*) from finding")
            .fetch_one(&app.pool)
            .await
            .unwrap(),
        63,
        "the CI source's findings are alpha's, merged"
    );
    let analyst = app.session(Role::Analyst).await;
    let all = explore(&app, &analyst, "").await;
    assert_eq!(all["total"], 63);
    assert_eq!(
        facet(&all, "source"),
        BTreeMap::from([
            ("trivy-alpha".to_owned(), 60),
            ("trivy-alpha-ci".to_owned(), 5),
            ("trivy-bravo".to_owned(), 3),
        ])
    );
    // chosen: the total and every other facet are that source's
    let ci = explore(&app, &analyst, "source=trivy-alpha-ci").await;
    assert_eq!(ci["total"], 5, "{ci}");
    assert_eq!(ci["rows"].as_array().unwrap().len(), 5);
    assert_eq!(facet(&ci, "severity")["critical"], 5);
    assert_eq!(
        facet(&ci, "cluster"),
        BTreeMap::from([("alpha".to_owned(), 5)])
    );
    assert_eq!(facet(&ci, "kev")["yes"], 1, "CVE-2024-1000");
    assert_eq!(
        facet(&ci, "source")["trivy-alpha"],
        60,
        "its own facet keeps the alternatives"
    );
    // other filters narrow it, from the table and counted from the findings alike
    assert_eq!(
        facet(&explore(&app, &analyst, "kev=yes").await, "source"),
        BTreeMap::from([
            ("trivy-alpha".to_owned(), 2),
            ("trivy-alpha-ci".to_owned(), 1)
        ])
    );
    let one = explore(&app, &analyst, "vulnerability=CVE-2024-1003").await;
    assert_eq!(
        facet(&one, "source"),
        BTreeMap::from([
            ("trivy-alpha".to_owned(), 1),
            ("trivy-alpha-ci".to_owned(), 1)
        ])
    );
    let one_of_ci = explore(
        &app,
        &analyst,
        "vulnerability=CVE-2024-1003&source=trivy-alpha-ci",
    )
    .await;
    assert_eq!(one_of_ci["total"], 1);
    assert_eq!(
        explore(
            &app,
            &analyst,
            "vulnerability=CVE-2024-1010&source=trivy-alpha-ci"
        )
        .await["total"],
        0
    );
    // under a text search the sources are listed, the chosen one counted
    let searched = explore(&app, &analyst, "q=openssl&source=trivy-alpha-ci").await;
    assert_eq!(searched["total"], 1, "{searched}");
    assert_eq!(
        facet(&searched, "source"),
        BTreeMap::from([("trivy-alpha-ci".to_owned(), 1)])
    );
    assert!(searched.to_string().contains(r#""value":"trivy-bravo""#));
    // the CSV export and bulk selections read the same filter
    let csv = app
        .get_as(&analyst, "/findings.csv?source=trivy-alpha-ci")
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text());
    assert_eq!(csv.text().lines().count(), 1 + 5, "{}", csv.text());

    // a scoped analyst knows only the sources of their clusters
    let scoped = app
        .limited_session("bravo-analyst@example.com", Role::Analyst, "bravo")
        .await;
    let mine = explore(&app, &scoped, "").await;
    assert_eq!(
        facet(&mine, "source"),
        BTreeMap::from([("trivy-bravo".to_owned(), 3)])
    );
    let other = app
        .rpc_as(
            &scoped,
            "/rpc/findings/list",
            "filter%5Bsource%5D=trivy-alpha",
        )
        .await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST, "{}", other.text());
    assert!(
        !other.text().contains("60") && other.text().contains("no source"),
        "{}",
        other.text()
    );
    assert!(source_drift(&app.pool).await.is_empty());
}

/// Every finding `filter` selects, in last-seen order, read `per` at a time through the keyset
/// pages, with `total` deciding how (0: read whole; `i64::MAX`: walked scope by scope).
async fn last_seen_pages(
    pool: &PgPool,
    query: &[(&str, &str)],
    total: i64,
    per: usize,
) -> Vec<(i64, i64, Option<chrono::DateTime<chrono::Utc>>)> {
    let mut conn = pool.acquire().await.unwrap();
    let mut filter = app::model::ListFilter {
        sort: Some("last_seen".to_owned()),
        ..Default::default()
    };
    for (k, v) in query {
        filter = filter.with(k, Some(v));
    }
    let mut out = Vec::new();
    loop {
        let criteria = server::db::explorer::check(&mut conn, None, &filter)
            .await
            .unwrap()
            .unwrap();
        let (rows, next) = server::db::explorer::rows(&mut conn, &criteria, total, per)
            .await
            .unwrap();
        assert!(rows.len() <= per);
        out.extend(rows.iter().map(|r| (r.cluster_id, r.id, r.last_seen)));
        match next {
            Some(next) => filter = filter.with("after", Some(&next.encode())),
            None => break,
        }
    }
    out
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn last_seen_order_is_the_newest_sighting_first_read_whole_or_walked(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    second_source(&app).await;
    // bravo's scan the newest, then alpha's CI pipeline, then alpha's operator; ten of
    // alpha's findings no scope sees any more
    sqlx::query(
        "update scan_scope s set last_seen_at = case src.name
             when 'trivy-bravo' then timestamptz '2026-11-05 00:00Z'
             when 'trivy-alpha-ci' then timestamptz '2026-11-04 00:00Z'
             else timestamptz '2026-11-03 00:00Z' end
         from source src where src.id = s.source_id",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "update observation o set active = false
         from finding f where f.cluster_id = o.cluster_id and f.id = o.finding_id
           and f.vulnerability_id between 'CVE-2024-1050' and 'CVE-2024-1059'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let day = |d: u32| {
        Some(
            chrono::NaiveDate::from_ymd_opt(2026, 11, d)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc(),
        )
    };

    let whole = last_seen_pages(&app.pool, &[], 0, 7).await;
    let walked = last_seen_pages(&app.pool, &[], i64::MAX, 7).await;
    assert_eq!(whole, walked, "both ways read the same order");
    assert_eq!(walked.len(), 63);
    let keys: HashSet<(i64, i64)> = walked.iter().map(|(c, i, _)| (*c, *i)).collect();
    assert_eq!(keys.len(), 63, "each finding once");
    let seen: Vec<_> = walked.iter().map(|r| r.2).collect();
    assert_eq!(&seen[..3], &[day(5); 3], "bravo's three first");
    assert_eq!(
        &seen[3..8],
        &[day(4); 5],
        "then the five the CI source saw last"
    );
    assert_eq!(&seen[8..53], &[day(3); 45]);
    assert_eq!(&seen[53..], &[None; 10], "those no scope sees last");
    for group in [&walked[..3], &walked[3..8], &walked[8..53], &walked[53..]] {
        assert!(
            group
                .windows(2)
                .all(|w| (w[0].0, w[0].1) > (w[1].0, w[1].1)),
            "then by key: {group:?}"
        );
    }
    // one page of 63, or pages of one: the same
    assert_eq!(last_seen_pages(&app.pool, &[], i64::MAX, 100).await, walked);
    assert_eq!(last_seen_pages(&app.pool, &[], i64::MAX, 1).await, walked);

    // a source's own sightings; a cluster's
    let ci = last_seen_pages(&app.pool, &[("source", "trivy-alpha-ci")], i64::MAX, 2).await;
    assert_eq!(
        ci,
        last_seen_pages(&app.pool, &[("source", "trivy-alpha-ci")], 0, 2).await
    );
    assert_eq!(ci.iter().map(|r| r.2).collect::<Vec<_>>(), vec![day(4); 5]);
    let operator = last_seen_pages(&app.pool, &[("source", "trivy-alpha")], i64::MAX, 9).await;
    assert_eq!(operator.len(), 60);
    assert!(
        operator[..50].iter().all(|r| r.2 == day(3)),
        "by the operator's own sightings: {operator:?}"
    );
    let alpha = last_seen_pages(&app.pool, &[("cluster", "alpha")], i64::MAX, 9).await;
    assert_eq!(alpha, walked[3..].to_vec());
    // fixed findings are those no scope sees any more (as ingest fixes them): listed by key
    sqlx::query(
        "update observation o set active = false
         from finding f where f.cluster_id = o.cluster_id and f.id = o.finding_id
           and f.vulnerability_id >= 'CVE-2024-1055'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("update finding set status = 'fixed' where vulnerability_id >= 'CVE-2024-1055'")
        .execute(&app.pool)
        .await
        .unwrap();
    let fixed = last_seen_pages(&app.pool, &[("status", "fixed")], i64::MAX, 2).await;
    assert_eq!(fixed.len(), 5 + 3, "five of alpha's, bravo's three");
    assert_eq!(
        fixed,
        last_seen_pages(&app.pool, &[("status", "fixed")], 0, 2).await
    );

    // over HTTP: the order's date is a column
    let analyst = app.session(Role::Analyst).await;
    let page = app.get_as(&analyst, "/findings?sort=last_seen").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains(">Last seen<"), "the order's column");
    assert!(
        html.contains("2026-11-04 00:00 UTC"),
        "the CI source's sightings lead the open findings"
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_scoped_analyst_sees_facets_rows_and_groups_of_their_cluster_only(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let scoped = app
        .limited_session("bravo-analyst@example.com", Role::Analyst, "bravo")
        .await;

    let mine = explore(&app, &scoped, "").await;
    assert_eq!(mine["total"], 3, "{mine}");
    assert_eq!(
        facet(&mine, "cluster"),
        BTreeMap::from([("bravo".to_owned(), 3)])
    );
    assert_eq!(
        facet(&mine, "provider"),
        BTreeMap::from([("gcp".to_owned(), 3)])
    );
    assert_eq!(facet(&mine, "severity")["critical"], 0);
    let text = mine.to_string();
    assert!(!text.contains("alpha") && !text.contains("aws"), "{text}");
    let grouped = explore(&app, &scoped, "group=cluster").await;
    assert_eq!(grouped["groups"].as_array().unwrap().len(), 1, "{grouped}");
    let grouped = explore(&app, &scoped, "group=image").await;
    assert!(!grouped.to_string().contains("alpha"), "{grouped}");
    // another cluster's findings do not exist for them, by name or by any facet
    let other = app
        .rpc_as(&scoped, "/rpc/findings/list", "filter%5Bcluster%5D=alpha")
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "{}", other.text());
    assert_eq!(explore(&app, &scoped, "provider=aws").await["total"], 0);
    assert_eq!(explore(&app, &scoped, "q=CVE-2024-1000").await["total"], 0);
    let alpha: i64 = sqlx::query_scalar("select id from cluster where name = 'alpha'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let workload = app
        .rpc_as(
            &scoped,
            "/rpc/findings/list",
            &format!("filter%5Bworkload%5D={alpha}%3A1"),
        )
        .await;
    assert_eq!(
        workload.status,
        StatusCode::BAD_REQUEST,
        "{}",
        workload.text()
    );
    assert!(!workload.text().contains("alpha"), "{}", workload.text());
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn keyset_pages_walk_every_match_once_in_order(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let analyst = app.session(Role::Analyst).await;
    for sort in ["", "sort=severity", "sort=first_seen", "sort=last_seen"] {
        let mut seen: HashSet<(i64, i64)> = HashSet::new();
        let mut keys: Vec<(i64, i64, i64)> = Vec::new();
        let mut query = sort.to_owned();
        let mut pages = 0;
        loop {
            let page = explore(&app, &analyst, &query).await;
            pages += 1;
            for row in page["rows"].as_array().unwrap() {
                let key = (
                    row["cluster_id"].as_i64().unwrap(),
                    row["id"].as_i64().unwrap(),
                );
                assert!(seen.insert(key), "{sort}: {key:?} twice");
                keys.push((
                    row["risk"].as_i64().unwrap_or(-1),
                    row["severity"].as_i64().unwrap_or(0),
                    key.1,
                ));
            }
            match page["next"].as_str() {
                Some(next) => {
                    query = format!("{sort}&after={next}");
                }
                None => break,
            }
        }
        assert_eq!(seen.len(), 63, "{sort}");
        assert_eq!(pages, 2, "{sort}: 50 + 13");
        if sort.is_empty() {
            assert!(
                keys.windows(2).all(|w| w[0].0 >= w[1].0),
                "riskiest first: {keys:?}"
            );
        }
    }
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn groups_have_their_count_and_highest_risk(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let analyst = app.session(Role::Analyst).await;
    let by_image = explore(&app, &analyst, "group=image").await;
    let groups = by_image["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{by_image}");
    let counts: i64 = groups.iter().map(|g| g["count"].as_i64().unwrap()).sum();
    assert_eq!(counts, 63);
    for g in groups {
        let narrowed = explore(
            &app,
            &analyst,
            &format!("image={}", g["value"].as_str().unwrap()),
        )
        .await;
        assert_eq!(narrowed["total"], g["count"], "{g}");
        assert_eq!(
            narrowed["rows"][0]["risk"], g["risk"],
            "highest risk first: {g}"
        );
        assert_eq!(g["top"].as_array().unwrap().len(), 3);
    }
    let risks: Vec<i64> = groups.iter().map(|g| g["risk"].as_i64().unwrap()).collect();
    assert!(risks.windows(2).all(|w| w[0] >= w[1]), "{risks:?}");
    let by_vuln = explore(&app, &analyst, "group=vulnerability&severity=critical").await;
    assert_eq!(by_vuln["groups"].as_array().unwrap().len(), 6);
    // every kind of group counts what its own filter lists (this fleet's findings are on
    // images, not workloads: grouping by workload finds no group)
    for (kind, expected) in [("vulnerability", 50), ("workload", 0), ("cluster", 2)] {
        let grouped = explore(&app, &analyst, &format!("group={kind}")).await;
        let groups = grouped["groups"].as_array().unwrap();
        assert_eq!(groups.len(), expected, "{kind}: {grouped}");
        for g in groups {
            let value = g["value"].as_str().unwrap();
            let narrowed = explore(
                &app,
                &analyst,
                &format!(
                    "{}={}",
                    g["filter"].as_str().unwrap(),
                    value.replace(':', "%3A")
                ),
            )
            .await;
            assert_eq!(narrowed["total"], g["count"], "{kind}: {g}");
            assert!(g["count"].as_i64().unwrap() > 0, "{kind}: {g}");
        }
    }
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn bad_values_are_problems_that_name_them(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let analyst = app.session(Role::Analyst).await;
    for (query, named) in [
        ("kind=purple", "purple"),
        ("kev=maybe", "maybe"),
        ("status=deleted", "deleted"),
        ("sort=alphabet", "alphabet"),
        ("group=owner", "owner"),
        ("after=somewhere", "somewhere"),
        ("image=abc", "abc"),
        ("namespace=nowhere", "nowhere"),
        ("source=nowhere", "nowhere"),
        ("after=123.4.5", "123.4.5"),
        ("provider=mars", "mars"),
        ("severity=purple", "purple"),
    ] {
        let (k, v) = query.split_once('=').unwrap();
        let response = app
            .rpc_as(
                &analyst,
                "/rpc/findings/list",
                &format!("filter%5B{k}%5D={v}"),
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            response.text()
        );
        assert!(
            response.text().contains(named),
            "{query}: {}",
            response.text()
        );
    }
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_facet_table_follows_every_write(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    assert!(drift(&app.pool).await.is_empty());
    // a rescan that fixes some and adds others
    let alpha = app.token("trivy-alpha-2", Some("alpha")).await;
    let rescan = trivy_image_report(
        "acme/alpha:1",
        "2026-11-02T00:00:00Z",
        &[
            ("CVE-2024-1000", "openssl", "1.0"),
            ("CVE-2024-3000", "glibc", "2.36"),
        ],
    );
    assert_eq!(
        app.ingest("trivy", &alpha, rescan).await.status,
        StatusCode::CREATED
    );
    assert!(
        drift(&app.pool).await.is_empty(),
        "after a rescan: {:?}",
        drift(&app.pool).await
    );
    // a second source seeing some of the same findings, then a source's scope removed
    second_source(&app).await;
    assert!(
        source_drift(&app.pool).await.is_empty(),
        "after a second source: {:?}",
        source_drift(&app.pool).await
    );
    sqlx::query(
        "delete from scan_scope where source_id = (select id from source where name = 'trivy-alpha-2')",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert!(
        source_drift(&app.pool).await.is_empty(),
        "after a scope went: {:?}",
        source_drift(&app.pool).await
    );
    // decisions and their expiry
    let (cluster, id): (i64, i64) = sqlx::query_as(
        "select cluster_id, id from finding where vulnerability_id = 'CVE-2024-3000'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    server::db::findings::decide(
        &mut conn,
        cluster,
        id,
        &server::db::findings::Decision {
            decision: server::db::findings::DecisionKind::Accepted,
            justification: "test",
            decided_by: None,
            expires_at: Some(chrono::Utc::now() - chrono::Duration::days(1)),
        },
    )
    .await
    .unwrap();
    assert!(drift(&app.pool).await.is_empty(), "after a decision");
    assert!(source_drift(&app.pool).await.is_empty(), "after a decision");
    server::db::findings::expire_acceptances(&mut conn)
        .await
        .unwrap();
    assert!(drift(&app.pool).await.is_empty(), "after expiry");
    // a cluster's findings deleted
    sqlx::query("delete from finding where cluster_id = $1")
        .bind(cluster)
        .execute(&app.pool)
        .await
        .unwrap();
    assert!(drift(&app.pool).await.is_empty(), "after a delete");
    assert!(
        source_drift(&app.pool).await.is_empty(),
        "after a delete: {:?}",
        source_drift(&app.pool).await
    );
    let analyst = app.session(Role::Analyst).await;
    assert_eq!(explore(&app, &analyst, "").await["total"], 3);
}
