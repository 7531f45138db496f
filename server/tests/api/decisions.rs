//! Triage decisions over real HTTP, through the server functions the forms post to: the
//! approval of risk acceptances (pending is never accepted, four eyes, rejection, revocation,
//! expiry), immediate decisions, refusals that change nothing, the cluster scope of analysts,
//! "all N matching" and its count, executives read only, one audit entry per request, and a
//! 20,000-finding acceptance in one request.

use app::model::Role;
use chrono::{Duration, Utc};
use http::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{Response, TestApp, trivy_image_report, urlencode};

type Key = (i64, i64);

/// alpha with four findings (CVE-1 critical, CVE-2 high, CVE-3 low, CVE-4 low) and bravo with
/// one (CVE-9 low), all open, snapshots built.
async fn fleet(app: &TestApp) {
    let alpha = app.token("trivy-alpha", Some("alpha")).await;
    let bravo = app.token("trivy-bravo", Some("bravo")).await;
    let a = trivy_image_report(
        "acme/alpha:1",
        "2026-11-01T00:00:00Z",
        &[
            ("CVE-2024-0001", "openssl", "3.0.1"),
            ("CVE-2024-0002", "zlib", "1.2"),
            ("CVE-2024-0003", "curl", "8.0"),
            ("CVE-2024-0004", "bash", "5.1"),
        ],
    );
    let b = trivy_image_report(
        "acme/bravo:1",
        "2026-11-01T00:00:00Z",
        &[("CVE-2024-0009", "bash", "5.1")],
    );
    assert_eq!(
        app.ingest("trivy", &alpha, a).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.ingest("trivy", &bravo, b).await.status,
        StatusCode::CREATED
    );
    for (cve, severity) in [
        ("CVE-2024-0001", 4),
        ("CVE-2024-0002", 3),
        ("CVE-2024-0003", 1),
        ("CVE-2024-0004", 1),
        ("CVE-2024-0009", 1),
    ] {
        sqlx::query("update finding set severity = $2 where vulnerability_id = $1")
            .bind(cve)
            .bind(severity as i16)
            .execute(&app.pool)
            .await
            .unwrap();
    }
    app.settle().await;
}

/// The finding of `cve` (CVE-2024-000N by its last digit).
async fn key(app: &TestApp, n: u8) -> Key {
    sqlx::query_as("select cluster_id, id from finding where vulnerability_id = $1")
        .bind(format!("CVE-2024-000{n}"))
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

fn k((cluster, id): Key) -> String {
    format!("{cluster}:{id}")
}

async fn status(app: &TestApp, key: Key) -> String {
    sqlx::query_scalar("select status from finding where cluster_id = $1 and id = $2")
        .bind(key.0)
        .bind(key.1)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// A form body from (name, value) pairs, encoded as a browser encodes it.
fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", urlencode(name), urlencode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn in_days(days: i64) -> String {
    (Utc::now().date_naive() + Duration::days(days)).to_string()
}

async fn accept(app: &TestApp, cookie: &str, keys: &[Key]) -> Response {
    let keys = keys.iter().map(|key| k(*key)).collect::<Vec<_>>().join(",");
    let expires = in_days(30);
    app.rpc_as(
        cookie,
        "/rpc/triage/accept",
        &form(&[
            ("keys[]", &keys),
            ("justification", "compensating control: WAF rule 12"),
            ("expires", &expires),
        ]),
    )
    .await
}

/// Redirected back with `flash` (a server function called as the hydrated page calls it
/// answers 200 with the `Location` it would redirect a plain form post to).
fn redirected_with(response: &Response, flash: &str) {
    assert!(
        response.status.is_success() || response.status.is_redirection(),
        "{}: {}",
        response.status,
        response.text()
    );
    let location = response.header("location").unwrap_or_default();
    assert!(location.contains(&format!("flash={flash}")), "{location}");
}

/// The only pending acceptance of `key`: its (cluster, decision id).
async fn pending_decision(app: &TestApp, key: Key) -> Key {
    sqlx::query_as(
        "select cluster_id, id from finding_decision
         where cluster_id = $1 and finding_id = $2 and approval = 'pending'",
    )
    .bind(key.0)
    .bind(key.1)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

async fn review(app: &TestApp, cookie: &str, path: &str, decision: Key) -> Response {
    app.rpc_as(
        cookie,
        path,
        &form(&[("decisions[]", &k(decision)), ("note", "ok by me")]),
    )
    .await
}

/// The overview's open counts by severity, after the worker ran.
async fn open_counts(app: &TestApp, cookie: &str) -> Value {
    app.settle().await;
    let response = app
        .rpc_as(cookie, "/rpc/overview/posture", "filter%5Bdays%5D=30")
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()["open"].clone()
}

/// The audit entries of `action`: (target id, details), oldest first.
async fn audit(app: &TestApp, action: &str) -> Vec<(Option<String>, Value)> {
    sqlx::query_as("select target_id, details from audit_log where action = $1 order by id")
        .bind(action)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

async fn decision_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from finding_decision")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn signed_in(app: &TestApp, email: &str, role: Role) -> String {
    let password = app.user(email, role).await;
    app.login(email, &password).await
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn an_acceptance_needing_approval_stays_open_until_another_manager_approves_it(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let analyst = app.session(Role::Analyst).await;
    let manager = app.session(Role::Manager).await;
    let critical = key(&app, 1).await;
    let before = open_counts(&app, &manager).await;
    assert_eq!(before["critical"], 1, "{before}");

    // critical needs approval by default: recorded, pending, still open
    let asked = accept(&app, &analyst, &[critical]).await;
    redirected_with(&asked, "accept-pending");
    assert_eq!(status(&app, critical).await, "open");
    let decision = pending_decision(&app, critical).await;
    let pending = open_counts(&app, &manager).await;
    assert_eq!(pending["critical"], 1, "pending is not accepted: {pending}");
    let events: i64 =
        sqlx::query_scalar("select count(*) from finding_event where status = 'accepted'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(events, 0);

    // the queue shows it to managers, with who asked and why
    let queue = app.rpc_as(&manager, "/rpc/approvals/list", "").await;
    assert_eq!(queue.status, StatusCode::OK, "{}", queue.text());
    let rows = queue.json();
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    assert_eq!(rows[0]["requester"], "analyst@example.com");
    assert_eq!(
        rows[0]["justification"],
        "compensating control: WAF rule 12"
    );
    assert_eq!(rows[0]["severity"], "critical");
    let page = app.get_as(&manager, "/approvals").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("compensating control: WAF rule 12"));
    assert_eq!(
        app.get_as(&analyst, "/approvals").await.status,
        StatusCode::FORBIDDEN
    );

    // an analyst may not approve
    let refused = review(&app, &analyst, "/rpc/triage/approve", decision).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // a manager approves: it applies now and leaves the open counts
    let approved = review(&app, &manager, "/rpc/triage/approve", decision).await;
    redirected_with(&approved, "accept-approved");
    assert_eq!(status(&app, critical).await, "accepted");
    let after = open_counts(&app, &manager).await;
    assert_eq!(after["critical"], 0, "{after}");
    let (approved_by, approval): (Option<i64>, Option<String>) = sqlx::query_as(
        "select approved_by, approval from finding_decision where cluster_id = $1 and id = $2",
    )
    .bind(decision.0)
    .bind(decision.1)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(approved_by.is_some());
    assert_eq!(approval.as_deref(), Some("approved"));

    // both steps are audited
    let asked = audit(&app, "finding.accept").await;
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].0.as_deref(), Some(k(critical).as_str()));
    assert_eq!(asked[0].1["pending"], 1);
    assert_eq!(asked[0].1["changed"], 0);
    let approvals = audit(&app, "finding.approve").await;
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0].1["changed"], 1);
    assert_eq!(approvals[0].1["note"], "ok by me");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_requester_never_approves_their_own_acceptance(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let first = signed_in(&app, "first@example.com", Role::Manager).await;
    let second = signed_in(&app, "second@example.com", Role::Manager).await;
    let high = key(&app, 2).await;

    redirected_with(&accept(&app, &first, &[high]).await, "accept-pending");
    let decision = pending_decision(&app, high).await;
    let own = review(&app, &first, "/rpc/triage/approve", decision).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.text());
    let own = review(&app, &first, "/rpc/triage/reject", decision).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.text());
    assert_eq!(status(&app, high).await, "open");
    assert!(audit(&app, "finding.approve").await.is_empty());
    let queue = app.rpc_as(&first, "/rpc/approvals/list", "").await.json();
    assert_eq!(queue[0]["own"], true);

    redirected_with(
        &review(&app, &second, "/rpc/triage/approve", decision).await,
        "accept-approved",
    );
    assert_eq!(status(&app, high).await, "accepted");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_rejected_acceptance_leaves_the_finding_open(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let analyst = app.session(Role::Analyst).await;
    let manager = app.session(Role::Manager).await;
    let high = key(&app, 2).await;

    redirected_with(&accept(&app, &analyst, &[high]).await, "accept-pending");
    let decision = pending_decision(&app, high).await;
    let rejected = review(&app, &manager, "/rpc/triage/reject", decision).await;
    redirected_with(&rejected, "accept-rejected");
    assert_eq!(status(&app, high).await, "open");
    let (approval, note): (Option<String>, Option<String>) = sqlx::query_as(
        "select approval, review_note from finding_decision where cluster_id = $1 and id = $2",
    )
    .bind(decision.0)
    .bind(decision.1)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(approval.as_deref(), Some("rejected"));
    assert_eq!(note.as_deref(), Some("ok by me"));
    assert_eq!(open_counts(&app, &manager).await["high"], 1);
    // it left the queue and cannot be approved afterwards
    assert_eq!(
        app.rpc_as(&manager, "/rpc/approvals/list", "").await.json(),
        Value::Array(vec![])
    );
    let late = review(&app, &manager, "/rpc/triage/approve", decision).await;
    assert_eq!(late.status, StatusCode::NOT_FOUND, "{}", late.text());
    assert_eq!(status(&app, high).await, "open");
    assert_eq!(audit(&app, "finding.reject").await.len(), 1);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn reopening_revokes_approved_and_pending_acceptances(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let analyst = app.session(Role::Analyst).await;
    let manager = app.session(Role::Manager).await;
    let critical = key(&app, 1).await;
    let high = key(&app, 2).await;

    redirected_with(
        &accept(&app, &analyst, &[critical, high]).await,
        "accept-pending",
    );
    let approved = pending_decision(&app, critical).await;
    let still_pending = pending_decision(&app, high).await;
    redirected_with(
        &review(&app, &manager, "/rpc/triage/approve", approved).await,
        "accept-approved",
    );
    assert_eq!(status(&app, critical).await, "accepted");

    let body = form(&[
        ("keys[]", &format!("{},{}", k(critical), k(high))),
        ("justification", "the WAF rule was removed"),
        ("next", "/findings?severity=critical"),
    ]);
    let reopened = app.rpc_as(&analyst, "/rpc/triage/reopen", &body).await;
    redirected_with(&reopened, "decided");
    assert!(
        reopened
            .header("location")
            .unwrap_or_default()
            .starts_with("/findings?severity=critical&")
    );
    assert_eq!(status(&app, critical).await, "reopened");
    // an open finding keeps its status (and its SLA clock)
    assert_eq!(status(&app, high).await, "open");
    let in_force: i64 = sqlx::query_scalar(
        "select count(*) from finding_decision where decision = 'accepted' and revoked_at is null",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(in_force, 0);
    // the revoked pending acceptance can no longer be approved
    let late = review(&app, &manager, "/rpc/triage/approve", still_pending).await;
    assert_eq!(late.status, StatusCode::NOT_FOUND);
    assert_eq!(open_counts(&app, &manager).await["critical"], 1);
    let entries = audit(&app, "finding.reopen").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].1["changed"], 1);
    assert_eq!(entries[0].1["recorded"], 2);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn expiry_reopens_an_approved_acceptance_and_voids_a_pending_one(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let analyst = app.session(Role::Analyst).await;
    let manager = app.session(Role::Manager).await;
    let critical = key(&app, 1).await;
    let high = key(&app, 2).await;

    redirected_with(
        &accept(&app, &analyst, &[critical, high]).await,
        "accept-pending",
    );
    let approved = pending_decision(&app, critical).await;
    let pending = pending_decision(&app, high).await;
    review(&app, &manager, "/rpc/triage/approve", approved).await;
    assert_eq!(status(&app, critical).await, "accepted");

    // both expiries pass
    sqlx::query("update finding_decision set expires_at = now() - interval '1 minute'")
        .execute(&app.pool)
        .await
        .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let reopened = server::db::findings::expire_acceptances(&mut conn)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(reopened, 1);
    assert_eq!(status(&app, critical).await, "reopened");
    assert_eq!(status(&app, high).await, "open");
    let approval: Option<String> = sqlx::query_scalar(
        "select approval from finding_decision where cluster_id = $1 and id = $2",
    )
    .bind(pending.0)
    .bind(pending.1)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(approval.as_deref(), Some("expired"));
    // void: never applies, not in the queue
    let late = review(&app, &manager, "/rpc/triage/approve", pending).await;
    assert_eq!(late.status, StatusCode::NOT_FOUND, "{}", late.text());
    assert_eq!(status(&app, high).await, "open");
    assert_eq!(
        app.rpc_as(&manager, "/rpc/approvals/list", "").await.json(),
        Value::Array(vec![])
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_pending_acceptance_past_its_expiry_cannot_be_approved_before_the_sweep(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let analyst = app.session(Role::Analyst).await;
    let manager = app.session(Role::Manager).await;
    let high = key(&app, 2).await;
    accept(&app, &analyst, &[high]).await;
    let pending = pending_decision(&app, high).await;
    sqlx::query("update finding_decision set expires_at = now() - interval '1 minute'")
        .execute(&app.pool)
        .await
        .unwrap();
    let late = review(&app, &manager, "/rpc/triage/approve", pending).await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST, "{}", late.text());
    assert_eq!(status(&app, high).await, "open");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_low_finding_is_accepted_at_once_and_the_policy_decides_what_waits(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let analyst = app.session(Role::Analyst).await;
    let manager = app.session(Role::Manager).await;
    let low = key(&app, 3).await;
    let other_low = key(&app, 4).await;
    let critical = key(&app, 1).await;

    // a plain form post (JavaScript off) is redirected back to where it came from
    let origin = app.origin();
    let expires = in_days(30);
    let accepted = app
        .request(
            "POST",
            "/rpc/triage/accept",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("accept", "text/html"),
                ("cookie", &analyst),
                ("origin", &origin),
            ],
            form(&[
                ("keys[]", &k(low)),
                ("justification", "dev only"),
                ("expires", &expires),
                ("next", "/findings?severity=low"),
            ]),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::FOUND, "{}", accepted.text());
    assert_eq!(
        accepted.header("location"),
        Some("/findings?severity=low&flash=decided")
    );
    assert_eq!(status(&app, low).await, "accepted");
    let approval: Option<String> = sqlx::query_scalar(
        "select approval from finding_decision where cluster_id = $1 and finding_id = $2",
    )
    .bind(low.0)
    .bind(low.1)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(approval, None);
    assert_eq!(open_counts(&app, &manager).await["low"], 2);

    // analysts may not change the policy; managers may, audited
    let refused = app
        .rpc_as(&analyst, "/rpc/settings/approval/save", "low=on")
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let saved = app
        .rpc_as(&manager, "/rpc/settings/approval/save", "low=on")
        .await;
    redirected_with(&saved, "approval-saved");
    let entries = audit(&app, "settings.approval").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].1["before"]["critical"], true);
    assert_eq!(entries[0].1["after"]["critical"], false);
    assert_eq!(entries[0].1["after"]["low"], true);
    let page = app.get_as(&manager, "/settings/sla").await;
    assert_eq!(page.status, StatusCode::OK);

    // now low waits and critical does not
    redirected_with(
        &accept(&app, &analyst, &[other_low]).await,
        "accept-pending",
    );
    assert_eq!(status(&app, other_low).await, "open");
    redirected_with(&accept(&app, &analyst, &[critical]).await, "decided");
    assert_eq!(status(&app, critical).await, "accepted");

    // with critical alone needing approval, a low finding in CISA KEV counts as critical
    app.rpc_as(&manager, "/rpc/settings/approval/save", "critical=on")
        .await;
    sqlx::query(
        "insert into intel_kev (cve_id, date_added) values ('CVE-2024-0009', '2024-01-01')",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let kev = key(&app, 9).await;
    redirected_with(&accept(&app, &analyst, &[kev]).await, "accept-pending");
    assert_eq!(status(&app, kev).await, "open");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn bad_input_is_a_400_and_changes_nothing(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let analyst = app.session(Role::Analyst).await;
    let low = k(key(&app, 3).await);
    let future = in_days(30);
    let past = in_days(-1);
    let far = in_days(800);
    let cases: Vec<(&str, String)> = vec![
        (
            "/rpc/triage/accept",
            form(&[
                ("keys[]", &low),
                ("justification", "   "),
                ("expires", &future),
            ]),
        ),
        (
            "/rpc/triage/accept",
            form(&[("keys[]", &low), ("expires", &future)]),
        ),
        (
            "/rpc/triage/accept",
            form(&[
                ("keys[]", &low),
                ("justification", "why"),
                ("expires", &past),
            ]),
        ),
        (
            "/rpc/triage/accept",
            form(&[
                ("keys[]", &low),
                ("justification", "why"),
                ("expires", &far),
            ]),
        ),
        (
            "/rpc/triage/accept",
            form(&[("keys[]", &low), ("justification", "why")]),
        ),
        (
            "/rpc/triage/accept",
            form(&[
                ("keys[]", &low),
                ("justification", "why"),
                ("expires", "soon"),
            ]),
        ),
        (
            "/rpc/triage/accept",
            form(&[
                ("keys[]", &low),
                ("justification", &"x".repeat(2001)),
                ("expires", &future),
            ]),
        ),
        (
            "/rpc/triage/false-positive",
            form(&[("keys[]", &low), ("justification", "")]),
        ),
        (
            "/rpc/triage/assign",
            form(&[("keys[]", &low), ("assignee", "999999")]),
        ),
        (
            "/rpc/triage/assign",
            form(&[("keys[]", &low), ("assignee", "bob")]),
        ),
        (
            "/rpc/triage/comment",
            form(&[("keys[]", &low), ("text", " ")]),
        ),
        (
            "/rpc/triage/comment",
            form(&[("keys[]", &low), ("text", &"x".repeat(4001))]),
        ),
        (
            "/rpc/triage/comment",
            form(&[("keys[]", "12-345"), ("text", "hello")]),
        ),
        (
            "/rpc/triage/comment",
            form(&[("keys[]", &format!("{low},x:1")), ("text", "hello")]),
        ),
        ("/rpc/triage/comment", form(&[("text", "hello")])),
        (
            "/rpc/triage/comment",
            form(&[("matching", "lots"), ("text", "hello")]),
        ),
        (
            "/rpc/triage/comment",
            form(&[
                ("matching", "1"),
                ("filter[severity]", "dire"),
                ("text", "hello"),
            ]),
        ),
    ];
    for (path, body) in &cases {
        let response = app.rpc_as(&analyst, path, body).await;
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{path} {body}: {}",
            response.text()
        );
        assert!(!response.text().is_empty());
    }
    assert_eq!(decision_rows(&app).await, 0);
    let statuses: Vec<String> = sqlx::query_scalar("select distinct status from finding")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(statuses, ["open"]);
    let audited: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action like 'finding.%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audited, 0);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn assignments_and_comments_are_recorded_for_users_who_see_the_findings(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let analyst = app.session(Role::Analyst).await;
    let low = key(&app, 3).await;
    let owner = app.user("owner@example.com", Role::Analyst).await;
    drop(owner);
    app.limited_session("bravo-only@example.com", Role::Analyst, "bravo")
        .await;
    let id = |email: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("select id from app_user where email = $1")
                .bind(email)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let owner_id = id("owner@example.com").await.to_string();
    let blind_id = id("bravo-only@example.com").await.to_string();

    let blind = app
        .rpc_as(
            &analyst,
            "/rpc/triage/assign",
            &form(&[("keys[]", &k(low)), ("assignee", &blind_id)]),
        )
        .await;
    assert_eq!(blind.status, StatusCode::BAD_REQUEST, "{}", blind.text());
    sqlx::query("update app_user set disabled_at = now() where email = 'owner@example.com'")
        .execute(&app.pool)
        .await
        .unwrap();
    let disabled = app
        .rpc_as(
            &analyst,
            "/rpc/triage/assign",
            &form(&[("keys[]", &k(low)), ("assignee", &owner_id)]),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::BAD_REQUEST);
    assert_eq!(decision_rows(&app).await, 0);
    sqlx::query("update app_user set disabled_at = null where email = 'owner@example.com'")
        .execute(&app.pool)
        .await
        .unwrap();

    let assigned = app
        .rpc_as(
            &analyst,
            "/rpc/triage/assign",
            &form(&[("keys[]", &k(low)), ("assignee", &owner_id)]),
        )
        .await;
    redirected_with(&assigned, "decided");
    let commented = app
        .rpc_as(
            &analyst,
            "/rpc/triage/comment",
            &form(&[("keys[]", &k(low)), ("text", "patch lands Friday")]),
        )
        .await;
    redirected_with(&commented, "decided");
    let rows: Vec<(String, String, Option<i64>)> = sqlx::query_as(
        "select decision, justification, assignee_id from finding_decision order by id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            ("assigned".to_owned(), String::new(), owner_id.parse().ok()),
            ("comment".to_owned(), "patch lands Friday".to_owned(), None),
        ]
    );
    assert_eq!(status(&app, low).await, "open");
    assert_eq!(audit(&app, "finding.assign").await.len(), 1);
    assert_eq!(
        audit(&app, "finding.comment").await[0].1["decision"]["comment"],
        "patch lands Friday"
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_scoped_analyst_decides_only_within_their_cluster(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let scoped = app
        .limited_session("alpha-only@example.com", Role::Analyst, "alpha")
        .await;
    let mine = key(&app, 3).await;
    let theirs = key(&app, 9).await;

    // another cluster's finding does not exist for them
    let one = app
        .rpc_as(
            &scoped,
            "/rpc/triage/false-positive",
            &form(&[("keys[]", &k(theirs)), ("justification", "not ours")]),
        )
        .await;
    assert_eq!(one.status, StatusCode::NOT_FOUND, "{}", one.text());
    // a selection with one of its keys is refused whole
    let mixed = app
        .rpc_as(
            &scoped,
            "/rpc/triage/false-positive",
            &form(&[
                ("keys[]", &k(mine)),
                ("keys[]", &k(theirs)),
                ("justification", "test data"),
            ]),
        )
        .await;
    assert_eq!(mixed.status, StatusCode::BAD_REQUEST, "{}", mixed.text());
    assert!(mixed.text().contains(&k(theirs)), "{}", mixed.text());
    assert_eq!(decision_rows(&app).await, 0);
    assert_eq!(status(&app, mine).await, "open");

    // "all matching" (low) covers only their cluster: alpha's two lows, never bravo's
    let list = app
        .rpc_as(&scoped, "/rpc/findings/list", "filter%5Bseverity%5D=low")
        .await
        .json();
    assert_eq!(list["total"], 2, "{list}");
    let all = app
        .rpc_as(
            &scoped,
            "/rpc/triage/false-positive",
            &form(&[
                ("matching", "2"),
                ("filter[severity]", "low"),
                ("justification", "test images"),
            ]),
        )
        .await;
    redirected_with(&all, "decided");
    assert_eq!(status(&app, mine).await, "false_positive");
    assert_eq!(status(&app, key(&app, 4).await).await, "false_positive");
    assert_eq!(status(&app, theirs).await, "open");
    let entries = audit(&app, "finding.false_positive").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].1["target"]["count"], 2);
    assert_eq!(entries[0].1["target"]["filter"]["severity"], "low");
    assert_eq!(entries[0].1["changed"], 2);
    // the entry concerns their cluster, so they can read it
    let cluster: Option<i64> = sqlx::query_scalar(
        "select cluster_id from audit_log where action = 'finding.false_positive'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(cluster, Some(mine.0));
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn executives_are_read_only(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let executive = app.session(Role::Executive).await;
    let low = k(key(&app, 3).await);
    let future = in_days(10);
    for (path, body) in [
        (
            "/rpc/triage/accept",
            form(&[
                ("keys[]", &low),
                ("justification", "why"),
                ("expires", &future),
            ]),
        ),
        (
            "/rpc/triage/false-positive",
            form(&[("keys[]", &low), ("justification", "why")]),
        ),
        ("/rpc/triage/reopen", form(&[("keys[]", &low)])),
        (
            "/rpc/triage/assign",
            form(&[("keys[]", &low), ("assignee", "1")]),
        ),
        (
            "/rpc/triage/comment",
            form(&[("keys[]", &low), ("text", "hi")]),
        ),
        ("/rpc/triage/approve", form(&[("decisions[]", "1:1")])),
        ("/rpc/triage/reject", form(&[("decisions[]", "1:1")])),
        ("/rpc/approvals/list", String::new()),
    ] {
        let response = app.rpc_as(&executive, path, &body).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(decision_rows(&app).await, 0);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn all_matching_changes_exactly_the_count_the_page_showed(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let analyst = app.session(Role::Analyst).await;
    let body = |count: &str| {
        form(&[
            ("matching", count),
            ("filter[severity]", "low"),
            ("justification", "scanner noise"),
        ])
    };
    let total = app
        .rpc_as(&analyst, "/rpc/findings/list", "filter%5Bseverity%5D=low")
        .await
        .json()["total"]
        .clone();
    assert_eq!(total, 3);

    // the page showed 2, but 3 match now: refused, nothing changed
    let stale = app
        .rpc_as(&analyst, "/rpc/triage/false-positive", &body("2"))
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text());
    assert!(stale.text().contains('3'), "{}", stale.text());
    assert_eq!(decision_rows(&app).await, 0);
    assert!(audit(&app, "finding.false_positive").await.is_empty());

    let done = app
        .rpc_as(&analyst, "/rpc/triage/false-positive", &body("3"))
        .await;
    redirected_with(&done, "decided");
    let changed: i64 =
        sqlx::query_scalar("select count(*) from finding where status = 'false_positive'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(changed, 3);
    let severities: Vec<i16> =
        sqlx::query_scalar("select distinct severity from finding where status = 'false_positive'")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(severities, [1]);
    assert_eq!(decision_rows(&app).await, 3);
    let manager = app.session(Role::Manager).await;
    assert_eq!(open_counts(&app, &manager).await["low"], 0);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn twenty_thousand_findings_are_accepted_in_one_request(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    fleet(&app).await;
    let analyst = app.session(Role::Analyst).await;
    let cluster: i64 = sqlx::query_scalar("select id from cluster where name = 'alpha'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into finding (cluster_id, fingerprint, kind, severity, title, rule_id)
         select $1, sha256(('bulk-' || n)::bytea), 'misconfiguration', 1,
                'bulk check ' || n, 'BULK-' || n
         from generate_series(1, 20000) as n",
    )
    .bind(cluster)
    .execute(&app.pool)
    .await
    .unwrap();
    let body = form(&[
        ("matching", "20000"),
        ("filter[q]", "bulk check"),
        ("justification", "lab cluster, rebuilt nightly"),
        ("expires", &in_days(90)),
    ]);
    let done = app.rpc_as(&analyst, "/rpc/triage/accept", &body).await;
    redirected_with(&done, "decided");
    let accepted: i64 = sqlx::query_scalar(
        "select count(*) from finding where status = 'accepted' and rule_id like 'BULK-%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(accepted, 20000);
    let events: i64 =
        sqlx::query_scalar("select count(*) from finding_event where status = 'accepted'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(events, 20000);
    let entries = audit(&app, "finding.accept").await;
    assert_eq!(entries.len(), 1, "one entry for the whole request");
    assert_eq!(entries[0].1["changed"], 20000);
    assert_eq!(entries[0].1["target"]["count"], 20000);
}
