//! Access control: the authorization matrix over every route, scopes, sessions, CSRF, rate
//! limits, security headers and the audit log.

use app::model::Role;
use http::StatusCode;
use sqlx::PgPool;

use crate::helpers::{Response, TestApp, session_cookie, trivy_image_report, urlencode};
use server::auth::AuthSettings;
use server::auth::access::Access;

/// What the matrix expects of a route, written independently of the route table's rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Public,
    /// Bearer tokens only: every session-holder and anonymous caller is refused.
    Token,
    Roles(&'static [Role]),
}

const EVERYONE: &[Role] = &Role::ALL;
const MANAGERS: &[Role] = &[Role::Admin, Role::Manager];
const TRIAGERS: &[Role] = &[Role::Admin, Role::Manager, Role::Analyst];

fn expectation(method: &str, path: &str) -> Option<Expect> {
    Some(match (method, path) {
        ("GET", "/healthz" | "/readyz" | "/login") => Expect::Public,
        ("POST", "/login") => Expect::Public,
        ("POST", "/rpc/session/viewer" | "/rpc/session/options") => Expect::Public,
        ("POST", "/rpc/theme/set") => Expect::Public,
        ("GET", "/auth/oidc/login" | "/auth/oidc/callback") => Expect::Public,
        (_, "/api/{*rest}" | "/api") => Expect::Public,
        ("POST", "/api/v1/ingest/{format}" | "/api/v1/ingest" | "/api/v1/intel/{feed}") => {
            Expect::Token
        }
        ("GET", "/" | "/account" | "/findings" | "/events") => Expect::Roles(EVERYONE),
        ("GET", "/findings/{cluster_id}/{finding_id}" | "/findings.csv") => Expect::Roles(EVERYONE),
        ("POST", "/rpc/findings/list" | "/rpc/events/list") => Expect::Roles(EVERYONE),
        ("POST", "/rpc/findings/detail") => Expect::Roles(EVERYONE),
        ("GET", "/estate" | "/images/{id}") => Expect::Roles(EVERYONE),
        ("POST", "/rpc/estate/view" | "/rpc/estate/image" | "/rpc/estate/where-running") => {
            Expect::Roles(EVERYONE)
        }
        ("GET", "/settings/tokens" | "/settings/sla") => Expect::Roles(MANAGERS),
        ("POST", "/rpc/settings/sla" | "/rpc/settings/sla/save") => Expect::Roles(MANAGERS),
        ("POST", "/rpc/settings/approval" | "/rpc/settings/approval/save") => {
            Expect::Roles(MANAGERS)
        }
        ("GET", "/approvals") => Expect::Roles(MANAGERS),
        ("POST", "/rpc/approvals/list" | "/rpc/triage/approve" | "/rpc/triage/reject") => {
            Expect::Roles(MANAGERS)
        }
        (
            "POST",
            "/rpc/triage/accept"
            | "/rpc/triage/false-positive"
            | "/rpc/triage/reopen"
            | "/rpc/triage/assign"
            | "/rpc/triage/assignees"
            | "/rpc/triage/comment"
            | "/rpc/triage/decide",
        ) => Expect::Roles(TRIAGERS),
        ("POST", "/settings/tokens/new" | "/settings/tokens/revoke" | "/rpc/tokens/list") => {
            Expect::Roles(MANAGERS)
        }
        ("GET", "/api/v1/findings" | "/api/v1/overview") => Expect::Token,
        ("POST", "/logout" | "/account/password") => Expect::Roles(EVERYONE),
        ("POST", "/rpc/overview/posture") => Expect::Roles(EVERYONE),
        ("GET", "/audit" | "/audit.csv") => Expect::Roles(MANAGERS),
        ("POST", "/rpc/audit/list") => Expect::Roles(MANAGERS),
        // everyone keeps saved views (executives private ones only: the store's rule)
        ("POST", "/rpc/views/list" | "/rpc/views/save" | "/rpc/views/delete") => {
            Expect::Roles(EVERYONE)
        }
        _ => return None,
    })
}

fn concrete(path: &str) -> String {
    path.replace("{format}", "trivy")
        .replace("{feed}", "kev")
        .replace("{*rest}", "v1/nothing")
        .replace("{cluster_id}", "0")
        .replace("{finding_id}", "1")
        .replace("{id}", "1")
}

/// Whether a response refuses the caller (as opposed to serving or rejecting the input).
fn refused(response: &Response) -> bool {
    match response.status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => true,
        StatusCode::SEE_OTHER => response
            .header("location")
            .is_some_and(|l| l.starts_with("/login?next=")),
        _ => false,
    }
}

fn generous() -> AuthSettings {
    AuthSettings {
        login_attempts_per_minute: 10_000,
        login_failures_per_account: 10_000,
        ..AuthSettings::default()
    }
}

/// Other spellings of the concrete path `path`, each named: with a trailing slash, in capitals,
/// with a doubled slash (leading, and inside when there are two segments or more), and with its
/// last slash percent-encoded. None is `path` itself.
fn variants(path: &str) -> Vec<(&'static str, String)> {
    let mut variants = vec![
        ("trailing slash", format!("{path}/")),
        ("upper case", path.to_uppercase()),
        ("double slash", format!("/{path}")),
    ];
    match path.rfind('/').filter(|&at| at > 0) {
        Some(at) => {
            variants.push((
                "inner double slash",
                format!("{}/{}", &path[..at], &path[at..]),
            ));
            variants.push((
                "encoded slash",
                format!("{}%2F{}", &path[..at], &path[at + 1..]),
            ));
        }
        None => variants.push(("encoded slash", format!("{path}%2F"))),
    }
    let mut seen = std::collections::HashSet::from([path.to_owned()]);
    variants.retain(|(_, variant)| seen.insert(variant.clone()));
    variants
}

/// A caller of the matrix: what kind, their role, and the header that carries their credential.
type Principal<'a> = (&'static str, Option<Role>, Option<(&'static str, &'a str)>);

/// Whether a response denies the caller what they asked: refused, or no such thing (404), or
/// not this method (405).
fn denied(response: &Response) -> bool {
    refused(response)
        || matches!(
            response.status,
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
        )
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn authorization_matrix_covers_every_route_role_and_anonymous(pool: PgPool) {
    let app = TestApp::spawn_with_auth(pool, generous()).await;
    let mut routes = app.route_table();
    assert!(routes.len() >= 15, "{routes:?}");
    // signing out ends the session the next rows would use: keep it last
    routes.sort_by_key(|r| (r.path == "/logout", r.path.clone(), r.method.to_string()));
    let mut cookies = Vec::new();
    for role in Role::ALL {
        cookies.push((Some(role), app.session(role).await));
    }
    let bearer = format!("Bearer {}", app.token("matrix", None).await);
    let origin = app.origin();
    let mut checked = 0;
    let mut variants_checked = 0;
    for route in &routes {
        let method = route.method.as_str();
        let expect = expectation(method, &route.path).unwrap_or_else(|| {
            panic!(
                "{method} {} has no row in the authorization matrix: decide who may use it",
                route.path
            )
        });
        // the rule declared with the route is the one this matrix expects
        let declared = match route.access {
            Access::Public => Expect::Public,
            Access::Token => Expect::Token,
            Access::Roles(roles) => Expect::Roles(roles),
        };
        assert_eq!(declared, expect, "{method} {}", route.path);
        let path = concrete(&route.path);
        // anonymous, each role, and an API token (no session)
        let principals: Vec<Principal> = std::iter::once(("anonymous", None, None))
            .chain(
                cookies
                    .iter()
                    .map(|(r, c)| ("session", *r, Some(("cookie", c.as_str())))),
            )
            .chain(std::iter::once((
                "token",
                None,
                Some(("authorization", bearer.as_str())),
            )))
            .collect();
        for (caller, role, credential) in principals {
            let mut headers = vec![
                ("origin", origin.as_str()),
                ("content-type", "application/x-www-form-urlencoded"),
            ];
            headers.extend(credential);
            // the variants first: the canonical path may end the session (`/logout`)
            let mut answers = Vec::new();
            for (kind, variant) in variants(&path) {
                let response = app.request(method, &variant, &headers, Vec::new()).await;
                answers.push((kind, variant, response));
            }
            let response = app.request(method, &path, &headers, Vec::new()).await;
            let who = format!("{caller} {role:?}");
            if caller != "token" {
                let allowed = match expect {
                    Expect::Public => true,
                    Expect::Token => false,
                    Expect::Roles(roles) => role.is_some_and(|r| roles.contains(&r)),
                };
                assert_eq!(
                    !refused(&response),
                    allowed,
                    "{method} {path} as {who}: {} {:?} {}",
                    response.status,
                    response.header("location"),
                    response.text()
                );
                if !allowed && response.status == StatusCode::SEE_OTHER {
                    assert!(
                        policy_page(&route.path),
                        "{path} redirected but is not a page"
                    );
                }
                checked += 1;
            }
            // each variant answers as the canonical path does, or denies
            for (kind, variant, answer) in answers {
                let same = answer.status == response.status && !refused(&response);
                assert!(
                    same || denied(&answer),
                    "{method} {variant} ({kind}) as {who}: {} {:?}, where {path} answered {} \
                     {:?}: {}",
                    answer.status,
                    answer.header("location"),
                    response.status,
                    response.header("location"),
                    answer.text()
                );
                if refused(&response) {
                    assert!(
                        !answer.text().contains("<script"),
                        "{method} {variant} ({kind}) as {who}: a page shell where {path} \
                         refused: {}",
                        answer.text()
                    );
                }
                variants_checked += 1;
            }
        }
    }
    assert_eq!(checked, routes.len() * 5);
    assert!(
        variants_checked >= routes.len() * 6 * 4,
        "{variants_checked}"
    );
}

fn policy_page(path: &str) -> bool {
    server::auth::access::is_page(path)
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_method_a_route_does_not_serve_is_answered_405_for_everyone(pool: PgPool) {
    let app = TestApp::spawn_with_auth(pool, generous()).await;
    let admin = app.session(Role::Admin).await;
    let origin = app.origin();
    for (method, path) in [("DELETE", "/"), ("POST", "/audit"), ("PUT", "/healthz")] {
        for cookie in [None, Some(admin.as_str())] {
            let mut headers = vec![("origin", origin.as_str())];
            headers.extend(cookie.map(|c| ("cookie", c)));
            let response = app.request(method, path, &headers, Vec::new()).await;
            assert_eq!(
                response.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            assert!(
                response.header("allow").is_some_and(|a| a.contains("GET")),
                "{method} {path}: {:?}",
                response.header("allow")
            );
        }
    }
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn anonymous_visitors_are_sent_to_sign_in_and_back(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let response = app.get("/audit?action=login").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(
        response.header("location"),
        Some("/login?next=%2Faudit%3Faction%3Dlogin")
    );
    let login = app.get("/login?next=%2Faudit").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.text().contains("name=\"password\""));

    let password = app.user("m@example.com", Role::Manager).await;
    let body = format!(
        "email=m%40example.com&password={}&next=%2Faudit%3Faction%3Dlogin",
        urlencode(&password)
    );
    let origin = app.origin();
    let response = app
        .request(
            "POST",
            "/login",
            &[
                ("origin", &origin),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            body,
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.header("location"), Some("/audit?action=login"));
    let cookie = response
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain HTTP here: {cookie}");

    // off-site `next` values are ignored
    let body = format!(
        "email=m%40example.com&password={}&next=%2F%2Fevil.example%2F",
        urlencode(&password)
    );
    let response = app
        .request(
            "POST",
            "/login",
            &[
                ("origin", &origin),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            body,
        )
        .await;
    assert_eq!(response.header("location"), Some("/"));
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn wrong_passwords_and_unknown_users_fail_alike_and_are_audited(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    app.user("a@example.com", Role::Analyst).await;
    let wrong = app
        .login_response("a@example.com", "not the password!", None)
        .await;
    let unknown = app
        .login_response("nobody@example.com", "whatever-123456", None)
        .await;
    for response in [&wrong, &unknown] {
        assert_eq!(response.status, StatusCode::SEE_OTHER);
        assert!(
            response
                .header("location")
                .unwrap()
                .starts_with("/login?flash=sign-in-failed"),
            "{:?}",
            response.header("location")
        );
        assert!(session_cookie(response).is_none());
    }
    let failed: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where action = 'login_failed' and ip = '127.0.0.1'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(failed, 2);
    // the log never holds a password
    let details: Vec<String> = sqlx::query_scalar(
        "select details::text || actor || coalesce(target_id, '') from audit_log",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(
        details.iter().all(|d| !d.contains("not the password")),
        "{details:?}"
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn cross_site_writes_are_refused(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cookie = app.session(Role::Admin).await;
    let form = ("content-type", "application/x-www-form-urlencoded");
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("origin", "http://evil.example"), form],
        vec![("origin", "null"), form],
        vec![
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://evil.example"),
            form,
        ],
        vec![("sec-fetch-site", "same-site"), form],
        vec![form],
    ];
    for headers in &cases {
        let mut with_cookie = headers.clone();
        with_cookie.push(("cookie", &cookie));
        for path in ["/logout", "/account/password", "/rpc/overview/posture"] {
            let response = app.request("POST", path, &with_cookie, "current=x").await;
            assert_eq!(response.status, StatusCode::FORBIDDEN, "{path} {headers:?}");
            assert_eq!(
                response.header("content-type"),
                Some("application/problem+json")
            );
            assert!(response.text().contains("cross-site request refused"));
        }
        // login CSRF: a foreign site cannot sign a browser in either
        let response = app
            .request("POST", "/login", headers, "email=a%40b.c&password=x")
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "login {headers:?}");
    }
    // the session survived every attempt
    assert_eq!(app.get_as(&cookie, "/").await.status, StatusCode::OK);
    // a same-origin fetch (as the hydrated app sends) passes
    let response = app
        .request(
            "POST",
            "/rpc/overview/posture",
            &[("sec-fetch-site", "same-origin"), ("cookie", &cookie), form],
            "filter%5Bdays%5D=30",
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn session_fixation_fails(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let password = app.user("v@example.com", Role::Analyst).await;

    // a made-up id planted in the victim's browser is never promoted
    let planted = format!("bulwark_session={}", "ab".repeat(32));
    let response = app
        .login_response("v@example.com", &password, Some(&planted))
        .await;
    let issued = session_cookie(&response).unwrap();
    assert_ne!(issued, planted);
    assert_eq!(
        app.get_as(&planted, "/").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.get_as(&issued, "/").await.status, StatusCode::OK);

    // an attacker's own live session planted in the victim's browser ends at sign-in
    let attacker_password = app.user("x@example.com", Role::Executive).await;
    let attacker = app.login("x@example.com", &attacker_password).await;
    let response = app
        .login_response("v@example.com", &password, Some(&attacker))
        .await;
    let victim = session_cookie(&response).unwrap();
    assert_ne!(victim, attacker);
    assert_eq!(
        app.get_as(&attacker, "/").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.get_as(&victim, "/").await.status, StatusCode::OK);

    // a stale cookie is cleared and the visitor told why
    let response = app.get_as(&planted, "/").await;
    assert!(
        response
            .header("location")
            .unwrap()
            .contains("flash=session-expired")
    );
    let cleared = response.header("set-cookie").unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn signing_out_and_changing_the_password_end_sessions(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let password = app.user("p@example.com", Role::Analyst).await;
    let first = app.login("p@example.com", &password).await;
    let second = app.login("p@example.com", &password).await;
    assert_ne!(first, second);

    // wrong current password: nothing changes
    let body = "current=wrong-password-1&new=a-brand-new-secret&confirm=a-brand-new-secret";
    let response = app.post_form_as(&first, "/account/password", body).await;
    assert_eq!(
        response.header("location"),
        Some("/account?flash=password-wrong")
    );
    // too short
    let body = format!("current={}&new=short&confirm=short", urlencode(&password));
    let response = app.post_form_as(&first, "/account/password", &body).await;
    assert_eq!(
        response.header("location"),
        Some("/account?flash=password-weak")
    );
    // mismatch
    let body = format!(
        "current={}&new=a-brand-new-secret&confirm=another-new-secret",
        urlencode(&password)
    );
    let response = app.post_form_as(&first, "/account/password", &body).await;
    assert_eq!(
        response.header("location"),
        Some("/account?flash=password-mismatch")
    );

    let body = format!(
        "current={}&new=a-brand-new-secret&confirm=a-brand-new-secret",
        urlencode(&password)
    );
    let response = app.post_form_as(&first, "/account/password", &body).await;
    assert_eq!(
        response.header("location"),
        Some("/account?flash=password-changed")
    );
    let rotated = session_cookie(&response).unwrap();
    assert_ne!(rotated, first);
    // every earlier session ended, the rotated one works
    assert_eq!(app.get_as(&first, "/").await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get_as(&second, "/").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get_as(&rotated, "/account").await.status,
        StatusCode::OK
    );
    // the old password no longer signs in; the new one does
    let old = app.login_response("p@example.com", &password, None).await;
    assert!(session_cookie(&old).is_none());
    let new = app.login("p@example.com", "a-brand-new-secret").await;

    let response = app.post_form_as(&new, "/logout", "").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert!(response.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(app.get_as(&new, "/").await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get_as(&rotated, "/").await.status, StatusCode::OK);

    let actions: Vec<String> = sqlx::query_scalar("select action from audit_log order by id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    for wanted in [
        "user.create",
        "login",
        "login_failed",
        "password.change",
        "logout",
    ] {
        assert!(
            actions.iter().any(|a| a == wanted),
            "{wanted} missing from {actions:?}"
        );
    }
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn idle_sessions_expire(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cookie = app.session(Role::Analyst).await;
    assert_eq!(app.get_as(&cookie, "/").await.status, StatusCode::OK);
    sqlx::query("update user_session set last_seen_at = now() - interval '31 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(app.get_as(&cookie, "/").await.status, StatusCode::SEE_OTHER);
    let cookie = app
        .login("analyst@example.com", "pw-analyst@example.com-long-enough")
        .await;
    sqlx::query("update user_session set expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(app.get_as(&cookie, "/").await.status, StatusCode::SEE_OTHER);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_revoked_token_is_refused_and_a_cluster_token_writes_only_its_cluster(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.token("ci", Some("cluster-a")).await;
    let report = trivy_image_report(
        "acme/a:1",
        "2026-11-01T00:00:00Z",
        &[("CVE-2024-1", "openssl", "3.0.1")],
    );
    assert_eq!(
        app.ingest("trivy", &token, report.clone()).await.status,
        StatusCode::CREATED
    );
    let cluster: Option<String> =
        sqlx::query_scalar("select c.name from report r join cluster c on c.id = r.cluster_id")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(cluster.as_deref(), Some("cluster-a"));

    let id: i64 = sqlx::query_scalar("select id from api_token")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    assert!(server::db::tokens::revoke(&mut conn, id).await.unwrap());
    let again = trivy_image_report(
        "acme/a:2",
        "2026-11-02T00:00:00Z",
        &[("CVE-2024-2", "zlib", "1.0")],
    );
    let response = app.ingest("trivy", &token, again).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    // a session cookie is no ingest credential
    let cookie = app.session(Role::Admin).await;
    let origin = app.origin();
    let response = app
        .request(
            "POST",
            "/api/v1/ingest/trivy",
            &[("cookie", &cookie), ("origin", &origin)],
            report,
        )
        .await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn sign_in_attempts_are_limited_per_address(pool: PgPool) {
    let auth = AuthSettings {
        login_attempts_per_minute: 3,
        ..AuthSettings::default()
    };
    let app = TestApp::spawn_with_auth(pool, auth).await;
    let password = app.user("r@example.com", Role::Analyst).await;
    for _ in 0..3 {
        let r = app
            .login_response("r@example.com", "wrong-wrong-wrong", None)
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
    }
    let limited = app.login_response("r@example.com", &password, None).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.header("retry-after").is_some());
    assert!(session_cookie(&limited).is_none());
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn failed_sign_ins_pause_the_account_from_that_address_for_a_while(pool: PgPool) {
    let auth = AuthSettings {
        login_failures_per_account: 3,
        ..AuthSettings::default()
    };
    let app = TestApp::spawn_with_auth(pool, auth).await;
    let password = app.user("l@example.com", Role::Analyst).await;
    // three free failures, and the fourth makes this address wait
    for _ in 0..4 {
        app.login_response("L@example.com", "wrong-wrong-wrong", None)
            .await;
    }
    // even the right password waits: the attacker learns nothing from it
    let limited = app.login_response("l@example.com", &password, None).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    // other accounts are unaffected
    let other = app.user("o@example.com", Role::Analyst).await;
    app.login("o@example.com", &other).await;
    let throttled: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action = 'login.throttled'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(throttled, 1);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn ingest_is_limited_per_token(pool: PgPool) {
    let auth = AuthSettings {
        ingest_reports_per_minute: 2,
        ..AuthSettings::default()
    };
    let app = TestApp::spawn_with_auth(pool, auth).await;
    let token = app.token("ci", None).await;
    for i in 0..2 {
        let report = trivy_image_report(&format!("acme/a:{i}"), "2026-11-01T00:00:00Z", &[]);
        assert_eq!(
            app.ingest("trivy", &token, report).await.status,
            StatusCode::CREATED
        );
    }
    let report = trivy_image_report("acme/a:9", "2026-11-01T00:00:00Z", &[]);
    let response = app.ingest("trivy", &token, report).await;
    assert_eq!(response.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    assert!(response.header("retry-after").is_some());
    // another token has its own allowance
    let other = app.token("ci-2", None).await;
    let report = trivy_image_report("acme/b:1", "2026-11-01T00:00:00Z", &[]);
    assert_eq!(
        app.ingest("trivy", &other, report).await.status,
        StatusCode::CREATED
    );
}

/// Open findings and names an overview shows.
async fn ingest_two_clusters(app: &TestApp) {
    let a = app.token("op-a", Some("alpha-prod")).await;
    let b = app.token("op-b", Some("bravo-prod")).await;
    let report_a = trivy_image_report(
        "acme/alpha:1",
        "2026-11-01T00:00:00Z",
        &[("CVE-2024-1", "openssl", "3.0.1")],
    );
    let report_b = trivy_image_report(
        "acme/bravo:1",
        "2026-11-01T00:00:00Z",
        &[
            ("CVE-2024-2", "zlib", "1.0"),
            ("CVE-2024-3", "curl", "8.0"),
            ("CVE-2024-4", "glibc", "2.36"),
        ],
    );
    assert_eq!(
        app.ingest("trivy", &a, report_a).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.ingest("trivy", &b, report_b).await.status,
        StatusCode::CREATED
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_scope_limited_user_sees_only_their_clusters(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    ingest_two_clusters(&app).await;
    app.settle().await;
    let password = app.user("scoped@example.com", Role::Manager).await;
    let id = limit_to_cluster(&app, "scoped@example.com", "alpha-prod").await;
    let scoped = app.login("scoped@example.com", &password).await;
    let everyone = app.session(Role::Analyst).await;

    let full = app.get_as(&everyone, "/").await.text();
    assert!(full.contains("alpha-prod") && full.contains("bravo-prod"));
    assert!(
        full.contains("data-testid=\"open-total\">4<"),
        "fleet total 4: {full}"
    );

    let html = app.get_as(&scoped, "/").await.text();
    assert!(html.contains("alpha-prod"));
    assert!(
        !html.contains("bravo-prod"),
        "another cluster's name leaked"
    );
    assert!(
        !html.contains("acme/bravo"),
        "another cluster's report leaked"
    );
    assert!(
        html.contains("data-testid=\"open-total\">1<"),
        "count only alpha: {html}"
    );

    // naming the other cluster gives what a non-existent one gives
    let other = app.get_as(&scoped, "/?cluster=bravo-prod").await.text();
    let none = app
        .get_as(&scoped, "/?cluster=no-such-cluster")
        .await
        .text();
    assert!(other.contains("was not found"), "{other}");
    assert!(none.contains("was not found"));
    assert!(!other.contains("data-severity"));

    // the server functions behind the page obey the same scope
    let origin = app.origin();
    let form = ("content-type", "application/x-www-form-urlencoded");
    let fleet = app
        .request(
            "POST",
            "/rpc/overview/posture",
            &[("cookie", &scoped), ("origin", &origin), form],
            "filter%5Bdays%5D=30",
        )
        .await;
    assert_eq!(fleet.status, StatusCode::OK, "{}", fleet.text());
    assert!(!fleet.text().contains("bravo"), "{}", fleet.text());
    let breakdown = app
        .request(
            "POST",
            "/rpc/overview/posture",
            &[("cookie", &scoped), ("origin", &origin), form],
            "filter%5Bcluster%5D=bravo-prod",
        )
        .await;
    assert_eq!(breakdown.status, StatusCode::NOT_FOUND);
    assert!(
        !breakdown.text().contains("\"open\""),
        "{}",
        breakdown.text()
    );

    // a scope by provider and environment narrows the same way
    sqlx::query("update cluster set environment = 'dev' where name = 'bravo-prod'")
        .execute(&app.pool)
        .await
        .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    server::db::users::set_scope(
        &mut conn,
        id,
        &["aws".to_owned()],
        &["prod".to_owned()],
        &[],
    )
    .await
    .unwrap();
    let html = app.get_as(&scoped, "/").await.text();
    assert!(html.contains("alpha-prod") && !html.contains("bravo-prod"));

    // and the audit CSV hides entries about clusters outside the scope
    let bravo: i64 = sqlx::query_scalar("select id from cluster where name = 'bravo-prod'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into audit_log (actor, action, cluster_id) values ('x', 'finding.accept', $1)",
    )
    .bind(bravo)
    .execute(&app.pool)
    .await
    .unwrap();
    let csv = app.get_as(&scoped, "/audit.csv").await.text();
    assert!(!csv.contains("finding.accept"), "{csv}");
    let admin = app.session(Role::Admin).await;
    let csv = app.get_as(&admin, "/audit.csv").await.text();
    assert!(csv.contains("finding.accept"), "{csv}");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn sql_metacharacters_in_filters_are_harmless(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    ingest_two_clusters(&app).await;
    let cookie = app.session(Role::Admin).await;
    let nasty = [
        "' OR '1'='1",
        "'; drop table finding; --",
        "%' --",
        "\\\"; select pg_sleep(5); --",
        "$1",
        "alpha-prod' union select * from app_user --",
    ];
    for value in nasty {
        let q = urlencode(value);
        for path in [
            format!("/findings?q={q}"),
            format!("/findings?cluster={q}"),
            format!("/findings?severity={q}"),
            format!("/events?q={q}&cluster={q}"),
            format!("/?cluster={q}"),
            format!("/audit?action={q}"),
            format!("/audit?actor={q}"),
            format!("/audit.csv?actor={q}&action={q}"),
        ] {
            let response = app.get_as(&cookie, &path).await;
            assert_eq!(
                response.status,
                StatusCode::OK,
                "{path}: {}",
                response.text()
            );
            let text = response.text();
            assert!(
                !text.contains("pw-") && !text.contains("argon2"),
                "{path} leaked"
            );
        }
        let response = app.get_as(&cookie, &format!("/audit.csv?since={q}")).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{value}");
        assert_eq!(
            response.header("content-type"),
            Some("application/problem+json")
        );
    }
    let findings: i64 = sqlx::query_scalar("select count(*) from finding")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(findings, 4, "the findings table is intact");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn every_response_carries_security_headers_and_pages_a_nonce_csp(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let cookie = app.session(Role::Admin).await;
    for path in ["/", "/account", "/audit", "/login", "/no/such/page"] {
        let response = app.get_as(&cookie, path).await;
        let csp = response
            .header("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"));
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap_or_else(|| panic!("{path}: no nonce in {csp}"));
        assert!(nonce.len() >= 16, "{nonce}");
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"));
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"),
            "{csp}"
        );
        let html = response.text();
        // every inline script carries this response's nonce
        for script in html.split("<script").skip(1) {
            let tag = &script[..script.find('>').unwrap()];
            if !tag.contains("src=") {
                assert!(
                    tag.contains(&format!("nonce=\"{nonce}\"")),
                    "{path}: <script{tag}>"
                );
            }
        }
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(response.header("x-frame-options"), Some("DENY"));
        assert_eq!(response.header("referrer-policy"), Some("same-origin"));
        assert_eq!(response.header("cache-control"), Some("no-store"));
    }
    // nonces differ per response
    let a = app.get_as(&cookie, "/").await;
    let b = app.get_as(&cookie, "/").await;
    assert_ne!(
        a.header("content-security-policy"),
        b.header("content-security-policy")
    );
    // non-pages get a policy that allows nothing
    let health = app.get("/healthz").await;
    assert!(
        health
            .header("content-security-policy")
            .unwrap()
            .starts_with("default-src 'none'")
    );
    assert_eq!(health.header("x-content-type-options"), Some("nosniff"));
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn managers_read_filter_and_export_the_audit_log(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let manager = app.session(Role::Manager).await;
    app.login_response("manager@example.com", "=cmd|' /C calc'!A0", None)
        .await;
    let page = app.get_as(&manager, "/audit?action=login_failed").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains("login_failed") && html.contains("manager@example.com"),
        "{html}"
    );
    assert!(html.contains("data-testid=\"audit-table\""));

    let csv = app.get_as(&manager, "/audit.csv?action=login").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(
        csv.header("content-disposition")
            .unwrap()
            .contains("attachment")
    );
    let text = csv.text();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("id,at,actor,action,target,ip,details"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1, "one sign-in: {text}");
    assert!(
        rows[0].contains(",manager@example.com,login,user "),
        "{}",
        rows[0]
    );

    // the log is append-only, even for the database owner
    let update = sqlx::query("update audit_log set action = 'nothing'")
        .execute(&app.pool)
        .await;
    assert!(update.is_err());
    let delete = sqlx::query("delete from audit_log")
        .execute(&app.pool)
        .await;
    assert!(delete.is_err());
}

fn new_token_in(html: &str) -> String {
    let marker = "data-testid=\"new-token\" class=\"secret\">";
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("no token in {html}"))
        + marker.len();
    html[at..at + html[at..].find('<').unwrap()].to_owned()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn managers_create_use_and_revoke_tokens_in_settings(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    ingest_two_clusters(&app).await;
    let manager = app.session(Role::Manager).await;

    // refused input says why, and creates nothing
    for (body, error) in [
        ("name=&scope=ingest&source=x", "token-name"),
        ("name=x&scope=root&source=x", "token-scope"),
        ("name=x&scope=ingest&source=", "token-source"),
        ("name=x&scope=ingest&source=bad%20name", "token-source"),
        ("name=x&scope=read&expires_days=0", "token-expiry"),
        ("name=x&scope=read&cluster=no-such-cluster", "token-cluster"),
    ] {
        let r = app
            .post_form_as(&manager, "/settings/tokens/new", body)
            .await;
        assert_eq!(
            r.header("location"),
            Some(format!("/settings/tokens?flash={error}").as_str()),
            "{body}"
        );
    }

    let created = app
        .post_form_as(
            &manager,
            "/settings/tokens/new",
            "name=ci+pipeline&scope=ingest&source=ci-a&cluster=alpha-prod&expires_days=30",
        )
        .await;
    assert_eq!(created.status, StatusCode::OK);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let secret = new_token_in(&created.text());
    let report = trivy_image_report(
        "acme/new:1",
        "2026-11-05T00:00:00Z",
        &[("CVE-2024-9", "zlib", "1.0")],
    );
    assert_eq!(
        app.ingest("trivy", &secret, report.clone()).await.status,
        StatusCode::CREATED
    );
    // only the hash is stored
    let stored: Vec<u8> =
        sqlx::query_scalar("select token_hash from api_token where name = 'ci pipeline'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_ne!(stored, secret.as_bytes());
    let page = app.get_as(&manager, "/settings/tokens").await.text();
    assert!(
        page.contains("ci pipeline") && !page.contains(&secret),
        "{page}"
    );

    // a read token bound to alpha reads alpha only, and cannot send reports
    let created = app
        .post_form_as(
            &manager,
            "/settings/tokens/new",
            "name=reader&scope=read&cluster=alpha-prod",
        )
        .await;
    let reader = new_token_in(&created.text());
    let bearer = format!("Bearer {reader}");
    let read = app
        .request(
            "GET",
            "/api/v1/findings",
            &[("authorization", &bearer)],
            Vec::new(),
        )
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text());
    let body = read.json();
    let text = body.to_string();
    assert!(
        text.contains("CVE-2024-1") && !text.contains("CVE-2024-2"),
        "{text}"
    );
    let other = app
        .request(
            "GET",
            "/api/v1/findings?cluster=bravo-prod",
            &[("authorization", &bearer)],
            Vec::new(),
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.ingest("trivy", &reader, report).await.status,
        StatusCode::FORBIDDEN
    );
    let ingest_bearer = format!("Bearer {secret}");
    let wrong = app
        .request(
            "GET",
            "/api/v1/findings",
            &[("authorization", &ingest_bearer)],
            Vec::new(),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);

    // revoking stops it at once
    let id: i64 = sqlx::query_scalar("select id from api_token where name = 'ci pipeline'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let revoked = app
        .post_form_as(&manager, "/settings/tokens/revoke", &format!("id={id}"))
        .await;
    assert_eq!(
        revoked.header("location"),
        Some("/settings/tokens?flash=token-revoked")
    );
    let again = trivy_image_report("acme/new:2", "2026-11-06T00:00:00Z", &[]);
    assert_eq!(
        app.ingest("trivy", &secret, again).await.status,
        StatusCode::UNAUTHORIZED
    );
    let actions: Vec<String> = sqlx::query_scalar(
        "select action from audit_log where actor = 'manager@example.com' and action like 'token.%'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(actions, ["token.create", "token.create", "token.revoke"]);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_limited_manager_mints_tokens_only_for_their_clusters(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    ingest_two_clusters(&app).await;
    let password = app.user("lm@example.com", Role::Manager).await;
    limit_to_cluster(&app, "lm@example.com", "alpha-prod").await;
    let cookie = app.login("lm@example.com", &password).await;
    for body in ["name=x&scope=read", "name=x&scope=read&cluster=bravo-prod"] {
        let r = app
            .post_form_as(&cookie, "/settings/tokens/new", body)
            .await;
        assert_eq!(
            r.header("location"),
            Some("/settings/tokens?flash=token-cluster"),
            "{body}"
        );
    }
    let ok = app
        .post_form_as(
            &cookie,
            "/settings/tokens/new",
            "name=mine&scope=read&cluster=alpha-prod",
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    // tokens of other clusters (the ones ingest_two_clusters made) are neither listed nor revocable
    let page = app.get_as(&cookie, "/settings/tokens").await.text();
    assert!(page.contains("mine") && !page.contains("op-b"), "{page}");
    let bravo_token: i64 = sqlx::query_scalar("select id from api_token where name = 'op-b'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let r = app
        .post_form_as(
            &cookie,
            "/settings/tokens/revoke",
            &format!("id={bravo_token}"),
        )
        .await;
    assert_eq!(
        r.header("location"),
        Some("/settings/tokens?flash=token-unknown")
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn findings_and_events_lists_obey_scope_and_render_markup_as_text(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    ingest_two_clusters(&app).await;
    let token = app.token("op-x", Some("alpha-prod")).await;
    let xss = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let report = serde_json::json!({
        "SchemaVersion": 2, "ArtifactName": "acme/xss:1", "ArtifactType": "container_image",
        "Results": [{"Target": "acme/xss:1 (debian 12)", "Type": "debian", "Vulnerabilities": [{
            "VulnerabilityID": "CVE-2024-77777", "PkgName": format!("pkg{xss}"),
            "InstalledVersion": "1.0", "Severity": "CRITICAL",
            "Title": format!("title {xss}"), "Description": format!("description {xss}")
        }]}]
    });
    assert_eq!(
        app.ingest("trivy", &token, report.to_string()).await.status,
        StatusCode::CREATED
    );
    let falco = serde_json::json!({
        "time": "2026-11-20T10:00:00.000000000Z", "rule": "Terminal shell in container",
        "priority": "Warning", "output": format!("shell spawned {xss}"),
        "output_fields": {"k8s.ns.name": "shop", "k8s.pod.name": "web-1", "container.name": "web"}
    });
    assert_eq!(
        app.ingest("falco", &token, falco.to_string()).await.status,
        StatusCode::CREATED
    );

    let admin = app.session(Role::Admin).await;
    let html = app
        .get_as(&admin, "/findings?q=CVE-2024-77777")
        .await
        .text();
    assert!(html.contains("CVE-2024-77777"), "{html}");
    assert!(
        !html.contains("<script>alert(1)") && !html.contains("<img src=x"),
        "markup leaked"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "escaped text shown"
    );
    let events = app.get_as(&admin, "/events").await.text();
    assert!(events.contains("Terminal shell in container") && events.contains("shop/web-1 (web)"));
    assert!(
        !events.contains("<img src=x") && events.contains("&lt;img src=x"),
        "{events}"
    );

    let all = app.get_as(&admin, "/findings").await.text();
    assert!(all.contains("CVE-2024-1") && all.contains("CVE-2024-2"));
    let critical = app
        .get_as(&admin, "/findings?severity=critical")
        .await
        .text();
    assert!(critical.contains("CVE-2024-77777") && !critical.contains("CVE-2024-2<"));

    let password = app.user("s@example.com", Role::Analyst).await;
    limit_to_cluster(&app, "s@example.com", "bravo-prod").await;
    let scoped = app.login("s@example.com", &password).await;
    let mine = app.get_as(&scoped, "/findings").await.text();
    assert!(
        mine.contains("CVE-2024-2")
            && !mine.contains("CVE-2024-1<")
            && !mine.contains("CVE-2024-77777")
    );
    let theirs = app
        .get_as(&scoped, "/findings?cluster=alpha-prod")
        .await
        .text();
    assert!(
        theirs.contains("was not found") && !theirs.contains("CVE-2024-1<"),
        "{theirs}"
    );
    let events = app.get_as(&scoped, "/events").await.text();
    assert!(
        !events.contains("Terminal shell"),
        "another cluster's events leaked"
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn an_expired_token_is_refused(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let args = server::config::TokenCreateArgs {
        source: "ci".to_owned(),
        expires_in_days: Some(7),
        ..server::config::TokenCreateArgs::default()
    };
    let issued = server::cli::issue_ingest_token(&app.pool, &args)
        .await
        .unwrap();
    let token = issued.secret.expose().to_owned();
    let days: f64 = sqlx::query_scalar(
        "select extract(epoch from expires_at - now())::float8 / 86400 from api_token",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!((6.9..=7.0).contains(&days), "{days}");
    let report = trivy_image_report("acme/a:1", "2026-11-01T00:00:00Z", &[]);
    assert_eq!(
        app.ingest("trivy", &token, report.clone()).await.status,
        StatusCode::CREATED
    );
    sqlx::query("update api_token set expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    let report = trivy_image_report("acme/a:2", "2026-11-02T00:00:00Z", &[]);
    assert_eq!(
        app.ingest("trivy", &token, report).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// Limits user `email` to cluster `cluster`; returns the user's id.
async fn limit_to_cluster(app: &TestApp, email: &str, cluster: &str) -> i64 {
    let id: i64 = sqlx::query_scalar("select id from app_user where email = $1")
        .bind(email)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    server::db::users::set_scope(&mut conn, id, &[], &[], &[cluster.to_owned()])
        .await
        .unwrap();
    id
}

/// Reproduction 6 of issue 12: `/audit/` (and every other spelling of `/audit`) fell through
/// to the public fallback, which rendered the page shell for anyone. A variant gets the answer
/// of the page it spells, or a denial; an unknown path is for signed-in users only.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_variant_of_a_protected_path_gets_its_answer_and_no_page_shell(pool: PgPool) {
    let app = TestApp::spawn_with_auth(pool, generous()).await;
    let analyst = app.session(Role::Analyst).await;
    let canonical = app.get_as(&analyst, "/audit").await;
    assert_eq!(canonical.status, StatusCode::FORBIDDEN);
    for variant in ["/audit/", "/AUDIT", "//audit", "/%61udit", "/audit%2F"] {
        let response = app.get_as(&analyst, variant).await;
        assert_eq!(
            response.status,
            canonical.status,
            "{variant}: {}",
            response.text()
        );
        assert!(
            !response.text().contains("<script"),
            "{variant} rendered the page shell: {}",
            response.text()
        );
        // anonymous visitors are sent to sign in, as from /audit
        let response = app.get(variant).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{variant}");
        assert!(
            response
                .header("location")
                .is_some_and(|l| l.starts_with("/login?next=")),
            "{variant}: {:?}",
            response.header("location")
        );
    }

    // a path that names no route at all is not public either
    let page = app.get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let call = app
        .request(
            "POST",
            "/rpc/no/such/function",
            &[("origin", app.origin().as_str())],
            Vec::new(),
        )
        .await;
    assert_eq!(call.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        call.header("content-type"),
        Some("application/problem+json")
    );
    // signed in, it is the 404 page
    let page = app.get_as(&analyst, "/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    // the API has one spelling: a token is not checked on another, it is a 404
    let bearer = format!("Bearer {}", app.token("ci", None).await);
    for variant in [
        "/API/v1/findings",
        "/api/v1/findings/",
        "/api%2Fv1%2Ffindings",
    ] {
        let response = app
            .request("GET", variant, &[("authorization", &bearer)], Vec::new())
            .await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{variant}");
        assert_eq!(
            response.header("content-type"),
            Some("application/problem+json"),
            "{variant}"
        );
    }
    // static assets stay public: anyone gets the file (or a plain 404 when it is missing)
    for asset in ["/favicon.svg", "/pkg/bulwark.css", "/pkg/bulwark.js"] {
        let response = app.get(asset).await;
        assert!(
            matches!(response.status, StatusCode::OK | StatusCode::NOT_FOUND),
            "{asset}: {} {:?}",
            response.status,
            response.header("location")
        );
    }
}
