//! Saved views of the findings explorer over real HTTP, through the server functions the
//! forms post to: saving normalises the query and the link reproduces the filter, private and
//! shared views, replacing a name, deleting (own yes, others' 404), refusals that store
//! nothing, a scoped viewer never learning another cluster's name from the list, and the
//! audit entries.

use app::model::Role;
use http::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{Response, TestApp, trivy_image_report, urlencode};

/// alpha with two findings (CVE-1 critical in openssl, CVE-2 high in zlib), bravo with one
/// (CVE-9 low in bash).
async fn fleet(app: &TestApp) {
    for (cluster, image, vulns) in [
        (
            "alpha",
            "acme/alpha:1",
            vec![
                ("CVE-2024-0001", "openssl", "3.0.1"),
                ("CVE-2024-0002", "zlib", "1.2"),
            ],
        ),
        (
            "bravo",
            "acme/bravo:1",
            vec![("CVE-2024-0009", "bash", "5.1")],
        ),
    ] {
        let token = app.token(&format!("trivy-{cluster}"), Some(cluster)).await;
        let report = trivy_image_report(image, "2026-11-01T00:00:00Z", &vulns);
        assert_eq!(
            app.ingest("trivy", &token, report).await.status,
            StatusCode::CREATED
        );
    }
    for (cve, severity) in [
        ("CVE-2024-0001", 4_i16),
        ("CVE-2024-0002", 3),
        ("CVE-2024-0009", 1),
    ] {
        sqlx::query("update finding set severity = $2 where vulnerability_id = $1")
            .bind(cve)
            .bind(severity)
            .execute(&app.pool)
            .await
            .unwrap();
    }
    app.settle().await;
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", urlencode(name), urlencode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn save(app: &TestApp, cookie: &str, name: &str, query: &str, shared: bool) -> Response {
    let mut pairs = vec![("name", name), ("query", query)];
    if shared {
        pairs.push(("shared", "on"));
    }
    app.rpc_as(cookie, "/rpc/views/save", &form(&pairs)).await
}

async fn delete(app: &TestApp, cookie: &str, id: i64) -> Response {
    app.rpc_as(
        cookie,
        "/rpc/views/delete",
        &form(&[("id", &id.to_string()), ("next", "/findings?kev=yes")]),
    )
    .await
}

/// The views `cookie` may open, as the page receives them.
async fn listed(app: &TestApp, cookie: &str) -> Vec<Value> {
    let response = app.rpc_as(cookie, "/rpc/views/list", "").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()["views"].as_array().unwrap().clone()
}

fn names(views: &[Value]) -> Vec<&str> {
    views.iter().map(|v| v["name"].as_str().unwrap()).collect()
}

/// The stored views: (owner e-mail, name, query, shared), by id.
async fn stored(app: &TestApp) -> Vec<(String, String, String, bool)> {
    sqlx::query_as(
        "select u.email, v.name, v.query, v.shared from saved_view v
         join app_user u on u.id = v.owner_id order by v.id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

async fn audit_actions(app: &TestApp) -> Vec<(String, String, Value)> {
    sqlx::query_as(
        "select action, target_id, details from audit_log
         where action like 'view.%' order by id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

fn saved_ok(response: &Response) -> String {
    assert!(
        response.status.is_success() || response.status.is_redirection(),
        "{}: {}",
        response.status,
        response.text()
    );
    let location = response.header("location").unwrap_or_default().to_owned();
    assert!(location.contains("flash="), "{location}");
    location
}

fn id_of(views: &[Value], name: &str) -> i64 {
    views
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no view {name} in {views:?}"))["id"]
        .as_i64()
        .unwrap()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_saved_view_is_listed_normalised_and_its_link_reproduces_the_filter(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let analyst = app.session(Role::Analyst).await;

    // junk keys, blank values and the page position are dropped; the order is pairs()'
    let response = save(
        &app,
        &analyst,
        "  Critical openssl  ",
        "?severity=critical&junk=1&after=80.4.1.2&kev=&q=openssl&group=",
        false,
    )
    .await;
    let location = saved_ok(&response);
    assert_eq!(
        location,
        "/findings?q=openssl&severity=critical&flash=view-saved"
    );

    let views = listed(&app, &analyst).await;
    assert_eq!(views.len(), 1);
    assert_eq!(views[0]["name"], "Critical openssl");
    assert_eq!(views[0]["query"], "q=openssl&severity=critical");
    assert_eq!(views[0]["mine"], true);
    assert_eq!(views[0]["shared"], false);
    assert_eq!(views[0]["deletable"], true);

    // the link shows the explorer with the same filter: the one critical openssl finding
    let page = app
        .get_as(&analyst, "/findings?q=openssl&severity=critical")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("severity: critical"), "{html}");
    assert!(html.contains("q: openssl"));
    assert!(
        html.contains("<strong>1<!></strong> finding matches"),
        "{html}"
    );
    // and the page lists the view as a link to itself, with the form to save another
    assert!(
        html.contains(r#"href="/findings?q=openssl&amp;severity=critical">Critical openssl"#)
            || html.contains(r#"href="/findings?q=openssl&severity=critical">Critical openssl"#),
        "{html}"
    );
    assert!(
        html.contains(r#"name="query" value="q=openssl&amp;severity=critical""#)
            || html.contains(r#"name="query" value="q=openssl&severity=critical""#)
    );
    // an analyst may share
    assert!(html.contains(r#"name="shared""#));

    let list = app
        .rpc_as(
            &analyst,
            "/rpc/findings/list",
            "filter%5Bq%5D=openssl&filter%5Bseverity%5D=critical",
        )
        .await
        .json();
    assert_eq!(list["total"], 1);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn shared_views_reach_the_team_and_private_ones_stay_private(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let analyst = app.session(Role::Analyst).await;
    let manager = app.session(Role::Manager).await;
    let admin = app.session(Role::Admin).await;
    saved_ok(&save(&app, &analyst, "Team KEV", "kev=yes", true).await);
    saved_ok(&save(&app, &analyst, "My highs", "severity=high", false).await);
    saved_ok(&save(&app, &manager, "Zlib", "q=zlib", false).await);

    // the owner: their own, by name
    assert_eq!(
        names(&listed(&app, &analyst).await),
        ["My highs", "Team KEV"]
    );

    // another user: their own first, then the shared one, marked with its owner
    let views = listed(&app, &manager).await;
    assert_eq!(names(&views), ["Zlib", "Team KEV"]);
    assert_eq!(views[1]["mine"], false);
    assert_eq!(views[1]["owner"], "analyst@example.com");
    assert_eq!(views[1]["deletable"], false);
    assert_eq!(views[1]["query"], "kev=yes");

    // an administrator may delete the team's shared views (moderation), never a private one
    let views = listed(&app, &admin).await;
    assert_eq!(names(&views), ["Team KEV"]);
    assert_eq!(views[0]["deletable"], true);

    // the page shows it to the manager as a link, marked
    let html = app.get_as(&manager, "/findings").await.text();
    assert!(
        html.contains(r#"href="/findings?kev=yes">Team KEV"#),
        "{html}"
    );
    assert!(html.contains("shared by analyst@example.com"));
    assert!(!html.contains("My highs"));
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn saving_a_name_again_replaces_the_view(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let analyst = app.session(Role::Analyst).await;
    let manager = app.session(Role::Manager).await;
    saved_ok(&save(&app, &analyst, "Worst", "severity=critical", false).await);
    // another user's view of the same name is theirs
    saved_ok(&save(&app, &manager, "worst", "severity=low", false).await);
    saved_ok(&save(&app, &analyst, "WORST", "severity=high&group=image", true).await);

    assert_eq!(
        stored(&app).await,
        [
            (
                "analyst@example.com".to_owned(),
                "WORST".to_owned(),
                "severity=high&group=image".to_owned(),
                true
            ),
            (
                "manager@example.com".to_owned(),
                "worst".to_owned(),
                "severity=low".to_owned(),
                false
            ),
        ]
    );
    let audit = audit_actions(&app).await;
    assert_eq!(audit.len(), 3);
    assert_eq!(audit[2].0, "view.save");
    assert_eq!(audit[2].2["replaced"]["query"], "severity=critical");
    assert_eq!(audit[2].2["query"], "severity=high&group=image");
    assert_eq!(audit[0].2["replaced"], Value::Null);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn own_views_can_be_deleted_and_nobody_elses(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let analyst = app.session(Role::Analyst).await;
    let manager = app.session(Role::Manager).await;
    let admin = app.session(Role::Admin).await;
    saved_ok(&save(&app, &analyst, "Shared", "kev=yes", true).await);
    saved_ok(&save(&app, &analyst, "Private", "kev=no", false).await);
    saved_ok(&save(&app, &analyst, "Gone", "fix=yes", false).await);
    let views = listed(&app, &analyst).await;
    let (shared, private, gone) = (
        id_of(&views, "Shared"),
        id_of(&views, "Private"),
        id_of(&views, "Gone"),
    );

    // someone else's view, shared or private, is not there for them (as any unknown id)
    for (cookie, id) in [
        (&manager, shared),
        (&manager, private),
        (&admin, private),
        (&manager, 999_999),
    ] {
        let response = delete(&app, cookie, id).await;
        assert_eq!(
            response.status,
            StatusCode::NOT_FOUND,
            "{id}: {}",
            response.text()
        );
    }
    assert_eq!(stored(&app).await.len(), 3);
    assert!(audit_actions(&app).await.iter().all(|a| a.0 == "view.save"));

    // the owner deletes their own and returns where they were
    let location = saved_ok(&delete(&app, &analyst, gone).await);
    assert_eq!(location, "/findings?kev=yes&flash=view-deleted");
    assert_eq!(names(&listed(&app, &analyst).await), ["Private", "Shared"]);

    // an administrator removes a shared view from the team's list
    saved_ok(&delete(&app, &admin, shared).await);
    assert_eq!(names(&listed(&app, &analyst).await), ["Private"]);

    let audit = audit_actions(&app).await;
    let deletes: Vec<_> = audit.iter().filter(|a| a.0 == "view.delete").collect();
    assert_eq!(deletes.len(), 2);
    assert_eq!(deletes[0].1, gone.to_string());
    assert_eq!(deletes[0].2["name"], "Gone");
    assert_eq!(deletes[1].1, shared.to_string());
    assert_eq!(deletes[1].2["shared"], true);
    let actor: String = sqlx::query_scalar(
        "select actor from audit_log where action = 'view.delete' order by id desc limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(actor, "admin@example.com");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn bad_views_are_refused_and_nothing_is_stored(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let analyst = app.session(Role::Analyst).await;
    let long_name = "n".repeat(81);
    let long_query = format!("q={}", "a".repeat(2000));
    let cases: [(&str, &str); 9] = [
        ("", "severity=high"),
        ("   ", "severity=high"),
        (&long_name, "severity=high"),
        ("bell\u{7}", "severity=high"),
        ("bogus", "severity=bogus"),
        ("bogus group", "group=everything"),
        ("twice", "severity=high&severity=low"),
        ("unknown cluster", "cluster=nope"),
        ("long", &long_query),
    ];
    for (name, query) in cases {
        let response = save(&app, &analyst, name, query, false).await;
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{name:?} {query}: {}",
            response.text()
        );
        assert!(!response.text().is_empty());
    }
    assert!(stored(&app).await.is_empty());
    assert!(audit_actions(&app).await.is_empty());

    // fifty views, then the 51st is refused (replacing one of the fifty is not)
    for n in 0..50 {
        saved_ok(&save(&app, &analyst, &format!("view {n}"), "kev=yes", false).await);
    }
    let response = save(&app, &analyst, "view 50", "kev=yes", false).await;
    assert_eq!(
        response.status,
        StatusCode::BAD_REQUEST,
        "{}",
        response.text()
    );
    assert!(response.text().contains("50"));
    saved_ok(&save(&app, &analyst, "VIEW 7", "kev=no", false).await);
    let views = stored(&app).await;
    assert_eq!(views.len(), 50);
    assert!(!views.iter().any(|v| v.1 == "view 50"));
    assert_eq!(audit_actions(&app).await.len(), 51);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn executives_keep_private_views_and_may_not_share(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let executive = app.session(Role::Executive).await;
    let shared = save(&app, &executive, "Board", "severity=critical", true).await;
    assert_eq!(shared.status, StatusCode::FORBIDDEN, "{}", shared.text());
    assert!(stored(&app).await.is_empty());

    saved_ok(&save(&app, &executive, "Board", "severity=critical", false).await);
    let response = app.rpc_as(&executive, "/rpc/views/list", "").await.json();
    assert_eq!(response["can_share"], false);
    assert_eq!(response["views"][0]["name"], "Board");
    // the page offers no "share" box to them
    let html = app.get_as(&executive, "/findings").await.text();
    assert!(html.contains("Save this view"), "{html}");
    assert!(!html.contains(r#"name="shared""#));
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_scoped_viewer_never_sees_a_shared_view_naming_another_cluster(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let manager = app.session(Role::Manager).await;
    let bravo: i64 = sqlx::query_scalar("select id from cluster where name = 'bravo'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    saved_ok(
        &save(
            &app,
            &manager,
            "Bravo lows",
            "cluster=bravo&severity=low",
            true,
        )
        .await,
    );
    saved_ok(&save(&app, &manager, "Alpha", "cluster=alpha", true).await);
    saved_ok(
        &save(
            &app,
            &manager,
            "Everything critical",
            "severity=critical",
            true,
        )
        .await,
    );
    // a workload of bravo names bravo too (by id)
    let query = format!("workload={bravo}:1");
    saved_ok(&save(&app, &manager, "Bravo workload", &query, true).await);

    let scoped = app
        .limited_session("alpha-analyst@example.com", Role::Analyst, "alpha")
        .await;
    let response = app.rpc_as(&scoped, "/rpc/views/list", "").await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(!response.text().contains("bravo"), "{}", response.text());
    assert!(!response.text().contains("Bravo"));
    let views = listed(&app, &scoped).await;
    assert_eq!(names(&views), ["Alpha", "Everything critical"]);

    // nor on the page, nor can they delete it (not found, as if it did not exist)
    let html = app.get_as(&scoped, "/findings").await.text();
    assert!(!html.contains("Bravo lows"));
    let hidden = id_of(&listed(&app, &manager).await, "Bravo lows");
    let response = delete(&app, &scoped, hidden).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);

    // and they cannot save a view of a cluster they do not see
    let refused = save(&app, &scoped, "Peek", "cluster=bravo", false).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(stored(&app).await.len(), 4);

    // an unlimited viewer sees them all
    let analyst = app.session(Role::Analyst).await;
    assert_eq!(listed(&app, &analyst).await.len(), 4);
}
