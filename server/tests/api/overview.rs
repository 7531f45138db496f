//! The overview's figures over real HTTP: the posture score's formula, SLA breaches with the KEV
//! clock, MTTR, stale coverage, the SLA policy form, the read API, and a scoped user's panels.
//!
//! Findings arrive through real ingests; only their age is set in SQL (first_seen and
//! status_changed_at moved back, as if the reports had come days ago), then the rollup runs as
//! the server's worker runs it ([`TestApp::settle`]).

use app::model::Role;
use http::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{TestApp, trivy_image_report};

/// alpha (aws, prod) with one critical and two high findings; bravo (gcp, dev) with one low.
async fn two_clusters(app: &TestApp) -> (String, String) {
    let alpha = app.token("trivy-alpha", Some("alpha")).await;
    let bravo = app.token("trivy-bravo", Some("bravo")).await;
    sqlx::query("update cluster set provider = 'gcp', environment = 'dev' where name = 'bravo'")
        .execute(&app.pool)
        .await
        .unwrap();
    let a = trivy_image_report(
        "acme/alpha:1",
        "2026-11-01T00:00:00Z",
        &[
            ("CVE-2024-1001", "openssl", "3.0.1"),
            ("CVE-2024-1002", "zlib", "1.2"),
            ("CVE-2024-1003", "curl", "8.0"),
        ],
    );
    let b = trivy_image_report(
        "acme/bravo:1",
        "2026-11-01T00:00:00Z",
        &[("CVE-2024-2001", "bash", "5.1")],
    );
    assert_eq!(
        app.ingest("trivy", &alpha, a).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.ingest("trivy", &bravo, b).await.status,
        StatusCode::CREATED
    );
    // severities as the test needs them, whatever the report helper writes
    for (cve, severity) in [
        ("CVE-2024-1001", 4),
        ("CVE-2024-1002", 3),
        ("CVE-2024-1003", 3),
        ("CVE-2024-2001", 1),
    ] {
        sqlx::query("update finding set severity = $2 where vulnerability_id = $1")
            .bind(cve)
            .bind(severity as i16)
            .execute(&app.pool)
            .await
            .unwrap();
    }
    (alpha, bravo)
}

/// Moves a finding's opening `days` into the past.
async fn age(app: &TestApp, cve: &str, days: i32) {
    sqlx::query(
        "update finding set first_seen = first_seen - make_interval(days => $2),
                            status_changed_at = status_changed_at - make_interval(days => $2)
         where vulnerability_id = $1",
    )
    .bind(cve)
    .bind(days)
    .execute(&app.pool)
    .await
    .unwrap();
}

/// Moves every report of `source` `hours` into the past.
async fn report_age(app: &TestApp, source: &str, hours: i32) {
    sqlx::query(
        "update report set received_at = received_at - make_interval(hours => $2)
         where source_id = (select id from source where name = $1)",
    )
    .bind(source)
    .bind(hours)
    .execute(&app.pool)
    .await
    .unwrap();
}

/// Recomputes every day of the rollup (the worker's backfill job).
async fn rebuild(app: &TestApp) {
    let mut conn = app.pool.acquire().await.unwrap();
    let policy = server::db::settings::sla_policy(&mut conn).await.unwrap();
    server::db::snapshots::backfill(&mut conn, &policy)
        .await
        .unwrap();
    let clusters: Vec<i64> = sqlx::query_scalar("select id from cluster")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    for id in clusters {
        server::db::snapshots::refresh_cluster(&mut conn, &policy, id)
            .await
            .unwrap();
    }
}

async fn overview(app: &TestApp, cookie: &str, filter: &str) -> Value {
    let response = app.rpc_as(cookie, "/rpc/overview/posture", filter).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_posture_score_is_its_formula_over_sla_and_coverage(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    two_clusters(&app).await;
    // one high finding is 31 days old: past the 30 days of its SLA
    age(&app, "CVE-2024-1002", 31).await;
    // bravo's scanner last reported three days ago: stale after 48 h
    report_age(&app, "trivy-bravo", 72).await;
    rebuild(&app).await;
    let manager = app.session(Role::Manager).await;

    let fleet = overview(&app, &manager, "filter%5Bdays%5D=30").await;
    assert_eq!(fleet["open"]["critical"], 1, "{fleet}");
    assert_eq!(fleet["open"]["high"], 2);
    assert_eq!(fleet["open"]["low"], 1);
    assert_eq!(fleet["overdue"]["high"], 1, "{}", fleet["overdue"]);
    assert_eq!(fleet["overdue"]["critical"], 0);
    // weighted open 10 + 5 + 5 + 1 = 21, overdue 5: within SLA 16/21; fresh scanners 1 of 2
    let within = 16.0 / 21.0;
    assert!((fleet["posture"]["within_sla"].as_f64().unwrap() - within).abs() < 1e-9);
    assert_eq!(fleet["posture"]["coverage"], 0.5);
    assert_eq!(
        fleet["posture"]["score"],
        (100.0 * within * 0.5_f64).round() as i64
    );
    assert_eq!(fleet["posture"]["score"], 38);

    // the provider filter narrows every figure to alpha
    let aws = overview(&app, &manager, "filter%5Bprovider%5D=aws").await;
    assert_eq!(aws["open"]["low"], 0);
    assert_eq!(aws["open"]["high"], 2);
    assert_eq!(aws["posture"]["coverage"], 1.0);
    // 10 + 5 + 5 open, 5 overdue
    assert_eq!(aws["posture"]["score"], 75);
    let mut panels = aws.clone();
    // the filter form still offers every cluster the viewer may choose
    panels["options"] = Value::Null;
    assert!(!panels.to_string().contains("bravo"), "{panels}");
    let top: Vec<&str> = aws["top_risks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["cluster"].as_str().unwrap())
        .collect();
    assert_eq!(top, ["alpha", "alpha", "alpha"]);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_kev_finding_runs_on_the_critical_clock(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    two_clusters(&app).await;
    // the low finding is 8 days old: within its 180 days, unless KEV lists it (7 days)
    age(&app, "CVE-2024-2001", 8).await;
    rebuild(&app).await;
    let manager = app.session(Role::Manager).await;
    let before = overview(&app, &manager, "filter%5Bcluster%5D=bravo").await;
    assert_eq!(before["overdue"]["low"], 0, "{}", before["overdue"]);

    sqlx::query(
        "insert into intel_kev (cve_id, date_added) values ('CVE-2024-2001', '2024-06-01')",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    rebuild(&app).await;
    let after = overview(&app, &manager, "filter%5Bcluster%5D=bravo").await;
    assert_eq!(after["overdue"]["low"], 1, "{}", after["overdue"]);
    assert_eq!(after["posture"]["score"], 0);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn mttr_is_the_mean_time_from_opening_to_fix(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (alpha, _) = two_clusters(&app).await;
    age(&app, "CVE-2024-1002", 4).await;
    age(&app, "CVE-2024-1003", 6).await;
    // alpha's next scan no longer has the two high findings: fixed now, after 4 and 6 days
    let rescan = trivy_image_report(
        "acme/alpha:1",
        "2026-11-02T00:00:00Z",
        &[("CVE-2024-1001", "openssl", "3.0.1")],
    );
    let response = app.ingest("trivy", &alpha, rescan).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert_eq!(response.json()["counts"]["fixed"], 2);
    app.settle().await;
    let manager = app.session(Role::Manager).await;
    let o = overview(&app, &manager, "filter%5Bdays%5D=7").await;
    let high = o["mttr"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["severity"] == "high")
        .unwrap();
    assert_eq!(high["fixed"], 2, "{high}");
    let days = high["days"].as_f64().unwrap();
    assert!((days - 5.0).abs() < 0.01, "mean of 4 and 6 days: {days}");
    assert_eq!(high["sla_days"], 30);
    let critical = &o["mttr"][0];
    assert_eq!(critical["fixed"], 0);
    assert!(critical["days"].is_null());
    // the week's flow counts the fixes
    let week = o["weekly"].as_array().unwrap().last().unwrap();
    assert_eq!(week["fixed"], 2, "{week}");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn coverage_flags_scanners_silent_past_the_setting(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    two_clusters(&app).await;
    // a cluster that no scanner reports for
    app.token("unused", Some("charlie")).await;
    sqlx::query("delete from api_token where name like 'unused%'")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("delete from source where name = 'unused'")
        .execute(&app.pool)
        .await
        .unwrap();
    report_age(&app, "trivy-alpha", 47).await;
    report_age(&app, "trivy-bravo", 49).await;
    rebuild(&app).await;
    let manager = app.session(Role::Manager).await;
    let stale_of = |o: &Value| -> Vec<(String, bool)> {
        o["coverage"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    format!(
                        "{}/{}",
                        c["cluster"].as_str().unwrap(),
                        c["source"].as_str().unwrap_or("-")
                    ),
                    c["stale"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let o = overview(&app, &manager, "filter%5Bdays%5D=30").await;
    assert_eq!(
        stale_of(&o),
        [
            ("charlie/-".to_owned(), true),
            ("bravo/trivy-bravo".to_owned(), true),
            ("alpha/trivy-alpha".to_owned(), false),
        ]
    );

    // the threshold is the policy's: at 24 hours alpha is stale too
    let saved = app
        .rpc_as(
            &manager,
            "/rpc/settings/sla/save",
            "critical_days=7&high_days=30&medium_days=90&low_days=180&stale_after_hours=24",
        )
        .await;
    assert!(
        saved.status.is_success() || saved.status.is_redirection(),
        "{}",
        saved.text()
    );
    let o = overview(&app, &manager, "filter%5Bdays%5D=30").await;
    assert!(
        stale_of(&o).iter().all(|(_, stale)| *stale),
        "{:?}",
        stale_of(&o)
    );
    assert_eq!(o["posture"]["coverage"], 0.0);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_sla_policy_is_for_managers_checked_and_audited(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    two_clusters(&app).await;
    age(&app, "CVE-2024-1002", 20).await;
    rebuild(&app).await;
    let manager = app.session(Role::Manager).await;
    let analyst = app.session(Role::Analyst).await;
    let save = "critical_days=3&high_days=14&medium_days=60&low_days=120&stale_after_hours=72";

    // an analyst may not, and nothing changes
    let refused = app.rpc_as(&analyst, "/rpc/settings/sla/save", save).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    let page = app.get_as(&analyst, "/settings/sla").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    // bad input changes nothing and says why
    for bad in [
        "critical_days=0&high_days=30&medium_days=90&low_days=180&stale_after_hours=48",
        "critical_days=40&high_days=30&medium_days=90&low_days=180&stale_after_hours=48",
        "critical_days=x&high_days=30&medium_days=90&low_days=180&stale_after_hours=48",
        "critical_days=7&high_days=30&medium_days=90&low_days=180&stale_after_hours=0",
    ] {
        let response = app.rpc_as(&manager, "/rpc/settings/sla/save", bad).await;
        let location = response.header("location").unwrap_or_default().to_owned();
        assert!(location.contains("flash=sla-invalid"), "{bad}: {location}");
    }
    let unchanged = overview(&app, &manager, "filter%5Bdays%5D=30").await;
    assert_eq!(unchanged["policy"]["high_days"], 30);
    assert_eq!(unchanged["overdue"]["high"], 0);

    let saved = app.rpc_as(&manager, "/rpc/settings/sla/save", save).await;
    let location = saved.header("location").unwrap_or_default().to_owned();
    assert!(location.contains("flash=sla-saved"), "{location}");
    // the saved policy recomputes every day's overdue counts through the queued backfill
    app.settle().await;
    let after = overview(&app, &manager, "filter%5Bdays%5D=30").await;
    assert_eq!(after["policy"]["high_days"], 14);
    assert_eq!(after["overdue"]["high"], 1, "{}", after["overdue"]);
    let page = app.get_as(&manager, "/settings/sla").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("value=\"14\""));

    let audit: Vec<(String, Value)> = sqlx::query_as(
        "select actor, details from audit_log where action = 'settings.sla' order by id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(audit.len(), 1, "one audited change: {audit:?}");
    assert_eq!(audit[0].1["before"]["high_days"], 30);
    assert_eq!(audit[0].1["after"]["high_days"], 14);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn every_panel_of_a_scoped_user_excludes_other_clusters(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    two_clusters(&app).await;
    // a fleet-level finding from CI, which a scoped user never counts
    let ci = app.token("ci", None).await;
    let report = trivy_image_report(
        "acme/alpha:1",
        "2026-11-01T00:00:00Z",
        &[("CVE-2024-3001", "glibc", "2.36")],
    );
    assert_eq!(
        app.ingest("trivy", &ci, report).await.status,
        StatusCode::CREATED
    );
    age(&app, "CVE-2024-1002", 31).await;
    rebuild(&app).await;
    let scoped = app
        .limited_session("bravo-user@example.com", Role::Manager, "bravo")
        .await;
    let manager = app.session(Role::Manager).await;

    let mine = overview(&app, &scoped, "filter%5Bdays%5D=30").await;
    let text = mine.to_string();
    assert!(!text.contains("alpha"), "alpha leaked: {text}");
    assert!(
        !text.contains("CVE-2024-1"),
        "alpha's findings leaked: {text}"
    );
    assert!(
        !text.contains("CVE-2024-3001"),
        "a fleet-level finding counted: {text}"
    );
    assert_eq!(mine["includes_fleet_level"], false);
    assert_eq!(mine["open"]["low"], 1);
    assert_eq!(mine["open"]["high"], 0);
    assert_eq!(mine["overdue"]["high"], 0);
    assert_eq!(mine["options"]["clusters"], serde_json::json!(["bravo"]));
    assert_eq!(mine["options"]["providers"], serde_json::json!(["gcp"]));
    for day in mine["trend"].as_array().unwrap() {
        assert!(day["open"]["high"].as_i64().unwrap() == 0, "{day}");
    }
    // what the manager reads for bravo alone, the scoped user reads for everything they see
    let bravo = overview(&app, &manager, "filter%5Bcluster%5D=bravo").await;
    for field in [
        "open",
        "overdue",
        "trend",
        "weekly",
        "by_kind",
        "top_risks",
        "worst_clusters",
        "worst_workloads",
        "coverage",
        "posture",
    ] {
        assert_eq!(mine[field], bravo[field], "{field}");
    }
    // the whole fleet, unscoped and unfiltered, also counts the CI finding
    let fleet = overview(&app, &manager, "filter%5Bdays%5D=30").await;
    assert_eq!(fleet["includes_fleet_level"], true);
    let total = |o: &Value| -> i64 {
        o["open"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_i64().unwrap())
            .sum()
    };
    assert_eq!(total(&fleet), 5);
    // naming alpha, by name or through its provider, shows nothing of it
    let refused = app
        .rpc_as(
            &scoped,
            "/rpc/overview/posture",
            "filter%5Bcluster%5D=alpha",
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let aws = overview(&app, &scoped, "filter%5Bprovider%5D=aws").await;
    assert_eq!(total(&aws), 0);
    assert!(aws["coverage"].as_array().unwrap().is_empty());
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_read_api_answers_the_overview_within_the_token_scope(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    two_clusters(&app).await;
    rebuild(&app).await;
    let manager = app.session(Role::Manager).await;
    let fleet_token = app.read_token_as(&manager, "overview-reader", "").await;
    let bravo_token = app.read_token_as(&manager, "bravo-reader", "bravo").await;
    let get = |token: String, query: &'static str| {
        let app = &app;
        async move {
            app.request(
                "GET",
                &format!("/api/v1/overview{query}"),
                &[("authorization", &format!("Bearer {token}"))],
                Vec::new(),
            )
            .await
        }
    };
    let page = overview(&app, &manager, "filter%5Bprovider%5D=gcp").await;
    let api = get(fleet_token.clone(), "?provider=gcp").await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.text());
    assert_eq!(api.json()["open"], page["open"]);
    assert_eq!(api.json()["posture"], page["posture"]);

    let bravo = get(bravo_token.clone(), "").await.json();
    assert!(!bravo.to_string().contains("alpha"), "{bravo}");
    assert_eq!(
        get(bravo_token, "?cluster=alpha").await.status,
        StatusCode::NOT_FOUND
    );

    for (query, status) in [
        ("?provider=ibm", StatusCode::BAD_REQUEST),
        ("?environment=qa", StatusCode::BAD_REQUEST),
        ("?days=12", StatusCode::BAD_REQUEST),
        ("?cluster=nowhere", StatusCode::NOT_FOUND),
    ] {
        let response = get(fleet_token.clone(), query).await;
        assert_eq!(response.status, status, "{query}: {}", response.text());
        assert_eq!(
            response.header("content-type"),
            Some("application/problem+json"),
            "{query}"
        );
    }
    let anonymous = app.get("/api/v1/overview").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}
