//! Server-rendered pages, server functions and health endpoints.

use app::model::Role;
use http::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{TestApp, trivy_image_report};

/// A page as `cookie` gets it, without the empty comments hydration places after dynamic
/// text (`<!>`), so that assertions read the text as a person does.
async fn page(app: &TestApp, cookie: &str, path: &str) -> (StatusCode, String) {
    let response = app.get_as(cookie, path).await;
    (response.status, response.text().replace("<!>", ""))
}

/// The number in the severity tile `slug` of the rendered overview.
fn tile(html: &str, slug: &str) -> i64 {
    let marker = format!("data-severity=\"{slug}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {slug} tile in {html}"));
    let start = at + html[at..].find('>').unwrap() + 1;
    let end = start + html[start..].find('<').unwrap();
    html[start..end].replace(',', "").trim().parse().unwrap()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn overview_renders_clusters_reports_and_counts_on_the_server(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cookie = app.session(Role::Analyst).await;
    let (status, html) = page(&app, &cookie, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Posture score"));
    assert!(html.contains("No clusters here."));
    assert_eq!(tile(&html, "high"), 0);

    let token = app.token("trivy-operator", Some("prod-eu-1")).await;
    let report = trivy_image_report(
        "acme/app:1.0",
        "2026-11-01T00:00:00Z",
        &[
            ("CVE-2024-1", "openssl", "3.0.1"),
            ("CVE-2024-2", "zlib", "1.2.13"),
        ],
    );
    assert_eq!(
        app.ingest("trivy", &token, report).await.status,
        StatusCode::CREATED
    );
    app.settle().await;

    let (_, html) = page(&app, &cookie, "/").await;
    assert_eq!(tile(&html, "high"), 2);
    assert!(html.contains("prod-eu-1"));
    assert!(html.contains("trivy-operator"));
    assert!(html.contains("docker.io/library/acme/app:1.0") || html.contains("acme/app:1.0"));
    // the page carries the hydration bundle
    assert!(html.contains("/pkg/bulwark"));

    // the breakdown for one cluster, by query string (works without JavaScript)
    let (status, html) = page(&app, &cookie, "/?cluster=prod-eu-1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Cluster prod-eu-1"));
    assert_eq!(tile(&html, "high"), 2);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn cluster_breakdown_counts_only_what_concerns_the_cluster(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cookie = app.session(Role::Analyst).await;
    let eu = app.token("op-eu", Some("prod-eu-1")).await;
    let us = app.token("op-us", Some("prod-us-1")).await;
    let one = [("CVE-2024-1", "openssl", "3.0.1")];
    let three = [
        ("CVE-2024-1", "openssl", "3.0.1"),
        ("CVE-2024-2", "zlib", "1.2.13"),
        ("CVE-2024-3", "curl", "8.0.0"),
    ];
    app.ingest(
        "trivy",
        &eu,
        trivy_image_report("acme/a:1", "2026-11-01T00:00:00Z", &one),
    )
    .await;
    app.ingest(
        "trivy",
        &us,
        trivy_image_report("acme/b:1", "2026-11-01T00:00:00Z", &three),
    )
    .await;
    app.settle().await;

    let (_, html) = page(&app, &cookie, "/?cluster=prod-eu-1").await;
    assert_eq!(tile(&html, "high"), 1);
    let (_, html) = page(&app, &cookie, "/?cluster=prod-us-1").await;
    assert_eq!(tile(&html, "high"), 3);
    let (_, html) = page(&app, &cookie, "/").await;
    assert_eq!(tile(&html, "high"), 4);
    let (_, html) = page(&app, &cookie, "/?cluster=nope").await;
    assert!(
        html.contains("Cluster &#x27;nope&#x27; was not found")
            || html.contains("Cluster 'nope' was not found"),
        "{html}"
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn overview_server_function_answers_json(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cookie = app.session(Role::Analyst).await;
    let token = app.token("op", Some("prod-eu-1")).await;
    let report = trivy_image_report(
        "acme/a:1",
        "2026-11-01T00:00:00Z",
        &[("CVE-2024-1", "openssl", "3.0.1")],
    );
    app.ingest("trivy", &token, report).await;
    app.settle().await;
    let response = app
        .rpc_as(
            &cookie,
            "/rpc/overview/posture",
            "filter%5Bcluster%5D=prod-eu-1",
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body: Value = response.json();
    assert_eq!(body["filter"]["cluster"], "prod-eu-1");
    assert_eq!(body["open"]["high"], 1, "{body}");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn flashes_filters_empty_states_and_errors_render_on_the_server(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let manager = app.session(Role::Manager).await;

    // a known flash code shows its message with the role its kind asks for; others show nothing
    let (_, html) = page(&app, &manager, "/settings/tokens?flash=token-revoked").await;
    assert!(
        html.contains(r#"role="status""#) && html.contains("The token was revoked"),
        "{html}"
    );
    let (_, html) = page(&app, &manager, "/account?flash=password-wrong").await;
    assert!(
        html.contains(r#"role="alert""#) && html.contains("The current password is wrong."),
        "{html}"
    );
    let (_, html) = page(&app, &manager, "/settings/tokens?flash=%3Cb%3Ehi").await;
    assert!(
        !html.contains("data-flash") && !html.contains("<b>hi"),
        "{html}"
    );

    // a value that does not read is dropped; the rest of the filter applies and is shown
    let (status, html) = page(&app, &manager, "/findings?severity=purple&q=openssl").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No findings match these filters"), "{html}");
    assert!(html.contains(r#"value="openssl""#), "{html}");
    // (the theme switch's `next` carries the page's own URL; the filters never show the word)
    assert!(
        !html.contains(r#"value="purple""#) && !html.contains(">purple<"),
        "{html}"
    );

    // a store error is shown in plain words, in one alert
    let (status, html) = page(&app, &manager, "/findings?cluster=nowhere").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches(r#"role="alert""#).count(), 1, "{html}");
    assert!(html.contains("was not found."), "{html}");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn unknown_pages_are_404(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cookie = app.session(Role::Analyst).await;
    let (status, html) = page(&app, &cookie, "/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Page not found"));
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn health_and_readiness(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.header("x-request-id").is_some());
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);

    app.pool.close().await;
    assert_eq!(
        app.get("/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

/// A page whose resource starts loading while another router is being built still finishes.
/// Leptos lists a router's pages by rendering the app with resource loading switched off by a
/// process-wide flag; a resource first polled in that window used to wait forever (this test
/// run in CI saw `/login` never answer). Here one thread builds servers back to back while
/// this one renders `/login` repeatedly.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn pages_finish_while_other_routers_are_built(pool: PgPool) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let app = TestApp::spawn(pool.clone()).await;
    let done = Arc::new(AtomicBool::new(false));
    let builder = {
        let done = done.clone();
        let state = crate::helpers::app_state(
            pool,
            app.addr,
            server::Limits::default(),
            server::auth::AuthSettings::default(),
        );
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let _inside = runtime.enter();
            let mut built = 0;
            while !done.load(Ordering::Relaxed) {
                drop(server::routes::router(state.clone()).unwrap());
                built += 1;
            }
            built
        })
    };
    for round in 0..100 {
        let answer =
            tokio::time::timeout(std::time::Duration::from_secs(20), app.get("/login")).await;
        let response = answer.unwrap_or_else(|_| panic!("/login never finished, round {round}"));
        assert_eq!(response.status, StatusCode::OK);
        assert!(response.text().contains("Sign in to Bulwark"));
    }
    done.store(true, Ordering::Relaxed);
    assert!(builder.join().unwrap() > 0, "no router was built meanwhile");
}

/// A same-origin call of the server function at `path` with a form body, as the hydrated app
/// sends it; `cookie` signs it in.
async fn rpc(
    app: &TestApp,
    cookie: Option<&str>,
    path: &str,
    body: &str,
) -> crate::helpers::Response {
    let origin = app.origin();
    let mut headers = vec![
        ("content-type", "application/x-www-form-urlencoded"),
        ("origin", origin.as_str()),
    ];
    headers.extend(cookie.map(|c| ("cookie", c)));
    app.request("POST", path, &headers, body.to_owned()).await
}

/// Reproduction 8 of issue 12: every server-function error answered 500, so monitoring saw a
/// probe as a server fault. The status follows the error; the body stays the `AppError` the
/// hydrated page decodes.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn server_function_errors_answer_their_status_with_the_error_as_body(pool: PgPool) {
    use app::error::AppError;
    let app = TestApp::spawn(pool).await;
    let analyst = app.session(Role::Analyst).await;
    let manager = app.session(Role::Manager).await;
    let cases = [
        (
            Some(analyst.as_str()),
            "/rpc/findings/list",
            "filter%5Bcluster%5D=nowhere",
            StatusCode::NOT_FOUND,
            Some(AppError::NotFound("Cluster 'nowhere'".to_owned())),
        ),
        (
            Some(analyst.as_str()),
            "/rpc/overview/posture",
            "filter%5Bcluster%5D=nowhere",
            StatusCode::NOT_FOUND,
            Some(AppError::NotFound("Cluster 'nowhere'".to_owned())),
        ),
        (
            Some(analyst.as_str()),
            "/rpc/events/list",
            "filter%5Bseverity%5D=purple",
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            Some(manager.as_str()),
            "/rpc/audit/list",
            "filter%5Bsince%5D=yesterday",
            StatusCode::BAD_REQUEST,
            None,
        ),
        // arguments that do not read are the caller's mistake too
        (
            Some(analyst.as_str()),
            "/rpc/overview/posture",
            "filter%5Bcluster%5D%5B=%FF",
            StatusCode::BAD_REQUEST,
            None,
        ),
        // the guard refuses these before the function runs (problem+json)
        (
            Some(analyst.as_str()),
            "/rpc/audit/list",
            "",
            StatusCode::FORBIDDEN,
            None,
        ),
        (
            None,
            "/rpc/findings/list",
            "",
            StatusCode::UNAUTHORIZED,
            None,
        ),
    ];
    for (cookie, path, body, status, error) in cases {
        let response = rpc(&app, cookie, path, body).await;
        assert_eq!(
            response.status,
            status,
            "{path} {body}: {}",
            response.text()
        );
        if let Some(error) = error {
            let decoded: AppError = serde_json::from_slice(&response.body)
                .unwrap_or_else(|e| panic!("{path}: not an AppError ({e}): {}", response.text()));
            assert_eq!(decoded, error, "{path}");
        }
    }
}

/// Reproduction 8 of issue 12, the database half: a server function whose query loses its
/// connection to a database shutting down (SQLSTATE 57P01, what every session gets when the
/// server stops) answers 503, and so does any call once the pool is gone.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_server_function_answers_503_when_the_database_goes_away(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let analyst = app.session(Role::Analyst).await;
    assert_eq!(
        rpc(&app, Some(&analyst), "/rpc/findings/list", "filter%5Bq%5D=")
            .await
            .status,
        StatusCode::OK
    );

    // the function's query waits for a lock held here, and its session is then terminated
    let mut lock = app.pool.begin().await.unwrap();
    sqlx::query("lock table finding in access exclusive mode")
        .execute(&mut *lock)
        .await
        .unwrap();
    let terminate = async {
        for _ in 0..500 {
            let terminated: i64 = sqlx::query_scalar(
                "select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity
                  where datname = current_database() and wait_event_type = 'Lock'
                    and pid <> pg_backend_pid()) t",
            )
            .fetch_one(&app.pool)
            .await
            .unwrap();
            if terminated > 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the server function never waited for the lock");
    };
    let (response, ()) = tokio::join!(
        rpc(&app, Some(&analyst), "/rpc/findings/list", "filter%5Bq%5D="),
        terminate
    );
    lock.rollback().await.unwrap();
    assert_eq!(
        response.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        response.text()
    );
    let decoded: app::error::AppError = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(decoded, app::error::AppError::Unavailable);

    app.pool.close().await;
    let response = rpc(&app, Some(&analyst), "/rpc/findings/list", "filter%5Bq%5D=").await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
}

/// The theme switch's form as a browser without JavaScript posts it.
async fn choose_theme(app: &TestApp, cookie: &str, body: &str) -> crate::helpers::Response {
    let origin = app.origin();
    app.request(
        "POST",
        "/rpc/theme/set",
        &[
            ("cookie", cookie),
            ("origin", origin.as_str()),
            ("accept", "text/html,application/xhtml+xml"),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        body.to_owned(),
    )
    .await
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_chosen_theme_is_remembered_and_in_the_first_byte_of_every_page(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cookie = app.session(Role::Analyst).await;

    // no choice: no attribute, and the stylesheet follows the system
    let (_, html) = page(&app, &cookie, "/").await;
    assert!(!html.contains("data-theme="), "{html}");
    assert!(html.contains(r#"<meta name="color-scheme" content="light dark">"#));
    assert!(
        html.contains(r#"aria-pressed="true">System</button>"#),
        "{html}"
    );

    // a visitor on the sign-in page chooses dark and is sent back where they were
    let chosen = choose_theme(&app, "", "theme=dark&next=%2Flogin%3Fnext%3D%252Ffindings").await;
    assert_eq!(chosen.status, StatusCode::FOUND, "{}", chosen.text());
    assert_eq!(chosen.header("location"), Some("/login?next=%2Ffindings"));
    assert_eq!(
        chosen.header("set-cookie"),
        Some("theme=dark; Path=/; Max-Age=31536000; SameSite=Lax")
    );

    // the server renders the choice: dark before any stylesheet or script runs
    let dark = format!("{cookie}; theme=dark");
    let (status, html) = page(&app, &dark, "/findings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(r#"<html lang="en" data-theme="dark">"#),
        "{html}"
    );
    assert!(html.contains(r#"<meta name="color-scheme" content="dark">"#));
    assert!(
        html.contains(r#"aria-pressed="true">Dark</button>"#),
        "{html}"
    );
    let (_, login) = page(&app, "theme=light", "/login").await;
    assert!(login.contains(r#"data-theme="light""#));

    // following the system again forgets the cookie; a foreign `next` goes home
    let reset = choose_theme(
        &app,
        &dark,
        "theme=system&next=https%3A%2F%2Fevil.example%2F",
    )
    .await;
    assert_eq!(reset.status, StatusCode::FOUND);
    assert_eq!(reset.header("location"), Some("/"));
    assert_eq!(
        reset.header("set-cookie"),
        Some("theme=; Path=/; Max-Age=0; SameSite=Lax")
    );

    // anything but the three themes is refused, and sets nothing (Leptos answers a plain form's
    // failure by sending the browser back)
    let refused = choose_theme(&app, &cookie, "theme=purple&next=%2F").await;
    assert!(
        refused
            .text()
            .contains("The theme must be light, dark or system."),
        "{}",
        refused.text()
    );
    assert_eq!(refused.header("set-cookie"), None);
}

/// A page that the browser shows after following a link (no full load) fetches its data from
/// its server function, and with no filter set the form body is empty: every list's server
/// function reads that as the default filter, as the page itself does.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn server_functions_read_an_empty_body_as_the_default_filter(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("trivy-operator", Some("prod-eu-1")).await;
    let report = trivy_image_report(
        "acme/app:1.0",
        "2026-11-01T00:00:00Z",
        &[("CVE-2024-3001", "openssl", "3.0.1")],
    );
    assert_eq!(
        app.ingest("trivy", &token, report).await.status,
        StatusCode::CREATED
    );
    let admin = app.session(Role::Admin).await;
    for path in [
        "/rpc/findings/list",
        "/rpc/events/list",
        "/rpc/overview/posture",
        "/rpc/audit/list",
    ] {
        let response = app.rpc_as(&admin, path, "").await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{path}: {}",
            response.text()
        );
        let body: Value = response.json();
        assert!(body.is_object(), "{path}: {body}");
    }
    let findings: Value = app.rpc_as(&admin, "/rpc/findings/list", "").await.json();
    assert_eq!(findings["total"], 1, "{findings}");
}
