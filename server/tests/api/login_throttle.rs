//! Failed sign-ins slow down one (account, client address) pair and never lock the owner out:
//! guessing from one address stops, the owner signs in from another at once, an administrator
//! lifts a pause with `bulwark user unlock`, and the audit log keeps every failure.
//!
//! Requests come from different loopback addresses (`TestApp::request_from`), which the server
//! sees as different clients.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;

use app::model::Role;
use http::StatusCode;
use server::auth::AuthSettings;
use sqlx::PgPool;

use crate::helpers::{Response, TestApp, database_url, session_cookie};

const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 66));
const OWNER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 7));
const ADMIN: &str = "admin@bulwark.local";

/// The per-address request limiter out of the way: these tests are about failed sign-ins.
fn unhurried() -> AuthSettings {
    AuthSettings {
        login_attempts_per_minute: 10_000,
        ..AuthSettings::default()
    }
}

/// The default number of failures a pair gets before it waits.
fn free_failures() -> u32 {
    AuthSettings::default().login_failures_per_account
}

fn flash_of(response: &Response) -> Option<&str> {
    response
        .header("location")?
        .strip_prefix("/login?flash=")?
        .split('&')
        .next()
}

/// The `Retry-After` of a refusal to even check the password, which must also say in words
/// when to come back.
fn paused_for(response: &Response) -> u64 {
    assert_eq!(
        response.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{:?} {}",
        response.header("location"),
        response.text()
    );
    assert!(session_cookie(response).is_none());
    assert!(
        response.text().contains("Try again in"),
        "{}",
        response.text()
    );
    response
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .unwrap()
}

async fn audit_count(pool: &PgPool, action: &str, ip: IpAddr) -> i64 {
    sqlx::query_scalar(
        "select count(*) from audit_log where action = $1 and ip = $2::text::inet
           and target_kind = 'login' and target_id = $3",
    )
    .bind(action)
    .bind(ip.to_string())
    .bind(ADMIN)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Ends the current wait of every pair, as if it had passed.
async fn let_the_wait_pass(pool: &PgPool) {
    sqlx::query("update login_throttle set blocked_until = now() - interval '1 second'")
        .execute(pool)
        .await
        .unwrap();
}

/// Makes the current wait of every paused pair an hour long, as after many more failures, so
/// that a slow test run cannot outlast it.
async fn make_the_waits_long(pool: &PgPool) {
    sqlx::query(
        "update login_throttle set blocked_until = now() + interval '1 hour'
          where blocked_until is not null",
    )
    .execute(pool)
    .await
    .unwrap();
}

async fn throttle_rows(pool: &PgPool, login: &str) -> i64 {
    sqlx::query_scalar("select count(*) from login_throttle where login = $1")
        .bind(login)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Reproduction 7 of issue 12: ten wrong passwords for the default administrator's well-known
/// address locked the account for everyone, its owner included.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn guessing_from_one_address_never_locks_the_owner_out_elsewhere(pool: PgPool) {
    let app = TestApp::spawn_with_auth(pool, unhurried()).await;
    let password = app.user(ADMIN, Role::Admin).await;
    for attempt in 0..100 {
        let response = app
            .login_from(ATTACKER, ADMIN, &format!("guess number {attempt}"))
            .await;
        assert!(
            session_cookie(&response).is_none(),
            "attempt {attempt} signed in"
        );
        assert!(
            matches!(
                response.status,
                StatusCode::SEE_OTHER | StatusCode::TOO_MANY_REQUESTS
            ),
            "attempt {attempt}: {}",
            response.status
        );
    }
    let response = app.login_from(OWNER, ADMIN, &password).await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "the owner was refused: {}",
        response.text()
    );
    assert_eq!(response.header("location"), Some("/"));
    let cookie = session_cookie(&response).expect("the owner gets a session");
    assert_eq!(app.get_as(&cookie, "/account").await.status, StatusCode::OK);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn past_the_free_failures_an_address_waits_even_with_the_right_password(pool: PgPool) {
    let app = TestApp::spawn_with_auth(pool, unhurried()).await;
    let password = app.user(ADMIN, Role::Admin).await;
    let free = free_failures();
    for _ in 0..free {
        let response = app.login_from(ATTACKER, ADMIN, "wrong password").await;
        assert_eq!(flash_of(&response), Some("sign-in-failed"));
    }
    // the failure after the free ones is answered as one, saying that a wait has begun
    let response = app.login_from(ATTACKER, ADMIN, "wrong password").await;
    assert_eq!(flash_of(&response), Some("sign-in-paused"));
    // during the wait not even the right password is checked
    let wait = paused_for(&app.login_from(ATTACKER, ADMIN, &password).await);
    assert!((1..=2).contains(&wait), "first wait {wait}");

    // the wait passes; the next failure doubles it
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let response = app.login_from(ATTACKER, ADMIN, "wrong password").await;
    assert_eq!(flash_of(&response), Some("sign-in-paused"));
    let wait = paused_for(&app.login_from(ATTACKER, ADMIN, &password).await);
    assert!((3..=4).contains(&wait), "second wait {wait}");
    let refused = app.login_from(ATTACKER, ADMIN, &password).await;
    let text = refused.text();
    assert!(text.contains("UTC"), "the time to come back: {text}");

    // once it has passed, the right password signs in and forgets the pair's failures
    let_the_wait_pass(&app.pool).await;
    let response = app.login_from(ATTACKER, ADMIN, &password).await;
    assert!(session_cookie(&response).is_some(), "{}", response.text());
    assert_eq!(throttle_rows(&app.pool, ADMIN).await, 0);
    let response = app.login_from(ATTACKER, ADMIN, "wrong password").await;
    assert_eq!(flash_of(&response), Some("sign-in-failed"));
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn unknown_accounts_are_slowed_down_alike(pool: PgPool) {
    // a pause must not tell an attacker which addresses have accounts
    let app = TestApp::spawn_with_auth(pool, unhurried()).await;
    app.user(ADMIN, Role::Admin).await;
    for login in [ADMIN, "nobody@bulwark.local"] {
        for _ in 0..=free_failures() {
            app.login_from(ATTACKER, login, "wrong password").await;
        }
        let wait = paused_for(&app.login_from(ATTACKER, login, "wrong password").await);
        assert!((1..=2).contains(&wait), "{login}: {wait}");
    }
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn user_unlock_clears_every_pause_of_the_account_and_is_audited(pool: PgPool) {
    let app = TestApp::spawn_with_auth(pool.clone(), unhurried()).await;
    let password = app.user(ADMIN, Role::Admin).await;
    let other = "ana@bulwark.local";
    let other_password = app.user(other, Role::Analyst).await;
    let another_attacker = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 67));
    for _ in 0..=free_failures() {
        app.login_from(ATTACKER, ADMIN, "wrong password").await;
        app.login_from(another_attacker, ADMIN, "wrong password")
            .await;
        app.login_from(ATTACKER, other, "wrong password").await;
    }
    make_the_waits_long(&pool).await;
    paused_for(&app.login_from(ATTACKER, ADMIN, &password).await);
    assert_eq!(throttle_rows(&pool, ADMIN).await, 2);

    // any spelling of the address names the account
    let output = Command::new(env!("CARGO_BIN_EXE_bulwark"))
        .args(["user", "unlock", "Admin@Bulwark.local"])
        .env("DATABASE_URL", database_url(&pool))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains('2'), "{stdout}");

    assert_eq!(throttle_rows(&pool, ADMIN).await, 0);
    let response = app.login_from(ATTACKER, ADMIN, &password).await;
    assert!(session_cookie(&response).is_some(), "{}", response.text());
    // the other account's pause stays
    paused_for(&app.login_from(ATTACKER, other, &other_password).await);

    let (actor, target, cleared): (String, String, i64) = sqlx::query_as(
        "select actor, target_kind || ' ' || target_id, (details->>'keys_cleared')::bigint
           from audit_log where action = 'login.unlock'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let admin_id: i64 = sqlx::query_scalar("select id from app_user where email = $1")
        .bind(ADMIN)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        (actor.as_str(), target, cleared),
        ("cli", format!("user {admin_id}"), 2)
    );

    // an unknown account is an error, not a silent success
    let output = Command::new(env!("CARGO_BIN_EXE_bulwark"))
        .args(["user", "unlock", "nobody@bulwark.local"])
        .env("DATABASE_URL", database_url(&pool))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no user"));
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn every_failure_is_audited_and_a_pause_once_not_per_refusal(pool: PgPool) {
    let app = TestApp::spawn_with_auth(pool.clone(), unhurried()).await;
    let password = app.user(ADMIN, Role::Admin).await;
    let failures = free_failures() + 1;
    for _ in 0..failures {
        app.login_from(ATTACKER, ADMIN, "wrong password").await;
    }
    make_the_waits_long(&pool).await;
    for _ in 0..20 {
        paused_for(&app.login_from(ATTACKER, ADMIN, "wrong password").await);
    }
    assert_eq!(
        audit_count(&pool, "login_failed", ATTACKER).await,
        i64::from(failures)
    );
    assert_eq!(audit_count(&pool, "login.throttled", ATTACKER).await, 1);
    let (details, actor): (serde_json::Value, String) =
        sqlx::query_as("select details, actor from audit_log where action = 'login.throttled'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(actor, "anonymous");
    assert_eq!(details["failures"], serde_json::json!(failures));
    assert_eq!(details["retry_after_seconds"], serde_json::json!(2));

    // the owner elsewhere is not slowed, and their sign-in is audited as usual
    let response = app.login_from(OWNER, ADMIN, &password).await;
    assert!(session_cookie(&response).is_some(), "{}", response.text());
    let signed_in: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where action = 'login' and ip = '127.0.0.7'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(signed_in, 1);
    // the attacker's pause is untouched by the owner's success
    paused_for(&app.login_from(ATTACKER, ADMIN, &password).await);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn changing_the_password_pauses_wrong_current_passwords_the_same_way(pool: PgPool) {
    let app = TestApp::spawn_with_auth(pool.clone(), unhurried()).await;
    let password = app.user(ADMIN, Role::Admin).await;
    // a session from 127.0.0.1 (the plain client), where the guessing then happens
    let cookie = app.login(ADMIN, &password).await;
    let change = |current: &str| {
        format!(
            "current={}&new=a-new-password-long-enough&confirm=a-new-password-long-enough",
            crate::helpers::urlencode(current)
        )
    };
    for _ in 0..=free_failures() {
        let response = app
            .post_form_as(&cookie, "/account/password", &change("wrong password"))
            .await;
        assert_eq!(
            response.header("location"),
            Some("/account?flash=password-wrong")
        );
    }
    make_the_waits_long(&pool).await;
    let response = app
        .post_form_as(&cookie, "/account/password", &change(&password))
        .await;
    paused_for(&response);
    let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
    assert_eq!(
        audit_count(&pool, "login_failed", localhost).await,
        i64::from(free_failures() + 1)
    );
    assert_eq!(audit_count(&pool, "login.throttled", localhost).await, 1);
    // the same pair is paused for signing in too, other addresses are not
    paused_for(&app.login_response(ADMIN, &password, None).await);
    let response = app.login_from(OWNER, ADMIN, &password).await;
    assert!(session_cookie(&response).is_some(), "{}", response.text());
}
