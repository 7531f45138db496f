//! Single sign-on against the in-suite identity provider: the whole authorization code flow with
//! PKCE over real HTTP, roles from groups, and the ways it must refuse.

use app::model::Role;
use http::StatusCode;
use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::fake_idp::{self, IdpUser};
use crate::helpers::{Response, TestApp, session_cookie};
use server::auth::oidc::OidcSettings;

const SECRET: &str = "suite-secret";

async fn setup(pool: PgPool) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let users = vec![
        IdpUser::new("u-bob", "bob@example.com", "Bob Boss", &["staff", "secops"]),
        IdpUser::new("u-eve", "eve@example.com", "Eve Outsider", &["contractors"]),
        IdpUser::new("u-ann", "ann@example.com", "Ann Admin", &["bulwark-admins"]),
    ];
    let issuer = fake_idp::start(listener, "bulwark", SECRET, users).await;
    TestApp::spawn_with_oidc(pool, move |addr| OidcSettings {
        issuer,
        client_id: "bulwark".to_owned(),
        client_secret: Some(SECRET.to_owned()),
        redirect_url: format!("http://{addr}/auth/oidc/callback"),
        roles_claim: "groups".to_owned(),
        role_map: OidcSettings::parse_role_map("bulwark-admins=admin,secops=manager").unwrap(),
        default_role: None,
    })
    .await
}

fn cookie_named(response: &Response, name: &str) -> Option<String> {
    response
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")) && !v.contains("Max-Age=0"))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

/// Starts at Bulwark, picks `user` at the provider; returns Bulwark's answer to the callback,
/// the flow cookie and the callback URL (for replays).
async fn sign_in_as(app: &TestApp, user: &str) -> (Response, String, String) {
    let start = app.get("/auth/oidc/login?next=%2Faudit").await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.text());
    let flow = cookie_named(&start, "bulwark_oidc").expect("a flow cookie");
    let authorize = start.header("location").unwrap().to_owned();
    assert!(
        authorize.contains("code_challenge_method=S256"),
        "{authorize}"
    );
    assert!(authorize.contains("nonce="), "{authorize}");
    let page = app.fetch("GET", &authorize, &[], Vec::new()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    // approve at the provider: the same parameters plus the chosen user
    let query = authorize.split_once('?').unwrap().1;
    let approve_url = authorize.split_once('?').unwrap().0.to_owned();
    let body = format!("{query}&user={user}");
    let approved = app
        .fetch(
            "POST",
            &approve_url,
            &[("content-type", "application/x-www-form-urlencoded")],
            body,
        )
        .await;
    assert_eq!(
        approved.status,
        StatusCode::SEE_OTHER,
        "{}",
        approved.text()
    );
    let callback = approved.header("location").unwrap().to_owned();
    assert!(
        callback.starts_with(&app.url("/auth/oidc/callback")),
        "{callback}"
    );
    let answer = app
        .fetch("GET", &callback, &[("cookie", &flow)], Vec::new())
        .await;
    (answer, flow, callback)
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn single_sign_on_signs_in_with_the_mapped_role(pool: PgPool) {
    let app = setup(pool).await;
    let login = app.get("/login").await.text();
    assert!(login.contains("Sign in with single sign-on"), "{login}");

    let (answer, flow, callback) = sign_in_as(&app, "u-bob").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    assert_eq!(answer.header("location"), Some("/audit"));
    let session = session_cookie(&answer).expect("a session");
    // secops maps to manager: the audit log opens
    assert_eq!(app.get_as(&session, "/audit").await.status, StatusCode::OK);
    let account = app.get_as(&session, "/account").await.text();
    assert!(account.contains("Security manager") && account.contains("bob@example.com"));

    let (issuer, subject, role, hash): (Option<String>, Option<String>, String, Option<String>) =
        sqlx::query_as(
            "select oidc_issuer, oidc_subject, role, password_hash from app_user
             where email = 'bob@example.com'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(issuer.unwrap().starts_with("http://127.0.0.1:"));
    assert_eq!(subject.as_deref(), Some("u-bob"));
    assert_eq!(role, "manager");
    assert_eq!(hash, None, "single sign-on accounts have no local password");
    let method: String = sqlx::query_scalar(
        "select details->>'method' from audit_log where action = 'login' order by id desc limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(method, "oidc");

    // the callback works once: a replay is refused
    let replay = app
        .fetch("GET", &callback, &[("cookie", &flow)], Vec::new())
        .await;
    assert_eq!(replay.header("location"), Some("/login?flash=sso-expired"));
    assert!(session_cookie(&replay).is_none());

    // a second sign-in finds the same account
    let (again, _, _) = sign_in_as(&app, "u-bob").await;
    assert!(session_cookie(&again).is_some());
    let users: i64 = sqlx::query_scalar("select count(*) from app_user")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(users, 1);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn single_sign_on_refuses_what_it_must(pool: PgPool) {
    let app = setup(pool).await;

    // no mapped group, no default role
    let (answer, _, _) = sign_in_as(&app, "u-eve").await;
    assert_eq!(answer.header("location"), Some("/login?flash=sso-no-role"));
    assert!(session_cookie(&answer).is_none());

    // a callback without the browser's flow cookie (login CSRF, or another browser)
    let start = app.get("/auth/oidc/login").await;
    let authorize = start.header("location").unwrap().to_owned();
    let (base, query) = authorize.split_once('?').unwrap();
    let approved = app
        .fetch(
            "POST",
            base,
            &[("content-type", "application/x-www-form-urlencoded")],
            format!("{query}&user=u-ann"),
        )
        .await;
    let callback = approved.header("location").unwrap().to_owned();
    let stolen = app.fetch("GET", &callback, &[], Vec::new()).await;
    assert_eq!(stolen.header("location"), Some("/login?flash=sso-expired"));

    // a tampered state
    let flow = cookie_named(&start, "bulwark_oidc").unwrap();
    let tampered = callback.replace("state=", "state=x");
    let answer = app
        .fetch("GET", &tampered, &[("cookie", &flow)], Vec::new())
        .await;
    assert_eq!(answer.header("location"), Some("/login?flash=sso-expired"));

    // the provider's error answer
    let start = app.get("/auth/oidc/login").await;
    let flow = cookie_named(&start, "bulwark_oidc").unwrap();
    let denied = app
        .fetch(
            "GET",
            &app.url("/auth/oidc/callback?error=access_denied&state=x"),
            &[("cookie", &flow)],
            Vec::new(),
        )
        .await;
    assert_eq!(denied.header("location"), Some("/login?flash=sso-denied"));

    // an existing local account is never taken over by e-mail address
    app.user("ann@example.com", Role::Analyst).await;
    let (answer, _, _) = sign_in_as(&app, "u-ann").await;
    assert_eq!(answer.header("location"), Some("/login?flash=sso-conflict"));
    let role: String =
        sqlx::query_scalar("select role from app_user where email = 'ann@example.com'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(role, "analyst");

    let failures: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where action = 'login_failed' and details->>'method' = 'oidc'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(failures >= 4, "{failures}");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn without_single_sign_on_the_routes_say_so(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    assert!(!app.get("/login").await.text().contains("single sign-on"));
    let response = app.get("/auth/oidc/login").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
}
