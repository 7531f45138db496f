//! Owners and the finding page's history over real HTTP: the owner picker lists only active
//! administrators, managers and analysts who see the findings (never another cluster's users,
//! never executives), agrees with what an assignment accepts, and an assignment through the
//! page's form shows as the owner and in the history; a pending acceptance shows as pending,
//! then as rejected with the reviewer and the note; comments show as comments.

use app::model::Role;
use chrono::{Duration, Utc};
use http::StatusCode;
use sqlx::PgPool;

use crate::helpers::{TestApp, trivy_image_report, urlencode};

type Key = (i64, i64);

/// alpha and bravo, each with one critical finding; the people who work on them.
struct Fleet {
    app: TestApp,
    alpha: Key,
    bravo: Key,
    /// Signed in: an analyst limited to alpha.
    alpha_analyst: String,
}

async fn fleet(pool: PgPool) -> Fleet {
    let app = TestApp::spawn(pool).await;
    for (cluster, image, cve) in [
        ("alpha", "acme/alpha:1", "CVE-2024-0001"),
        ("bravo", "acme/bravo:1", "CVE-2024-0009"),
    ] {
        let token = app.token(&format!("trivy-{cluster}"), Some(cluster)).await;
        let report =
            trivy_image_report(image, "2026-11-01T00:00:00Z", &[(cve, "openssl", "3.0.1")]);
        assert_eq!(
            app.ingest("trivy", &token, report).await.status,
            StatusCode::CREATED
        );
    }
    sqlx::query("update finding set severity = 4")
        .execute(&app.pool)
        .await
        .unwrap();
    app.settle().await;
    let alpha = finding(&app, "CVE-2024-0001").await;
    let bravo = finding(&app, "CVE-2024-0009").await;
    // the people: limited to one cluster, to both, to none; and who may not own findings
    let alpha_analyst = app
        .limited_session("alpha-analyst@example.com", Role::Analyst, "alpha")
        .await;
    app.limited_session("bravo-analyst@example.com", Role::Analyst, "bravo")
        .await;
    app.limited_session("both-analyst@example.com", Role::Analyst, "alpha")
        .await;
    let mut conn = app.pool.acquire().await.unwrap();
    let both = user_id(&app, "both-analyst@example.com").await;
    server::db::users::set_scope(
        &mut conn,
        both,
        &[],
        &[],
        &["alpha".to_owned(), "bravo".to_owned()],
    )
    .await
    .unwrap();
    drop(conn);
    app.user("manager@example.com", Role::Manager).await;
    app.user("executive@example.com", Role::Executive).await;
    app.user("gone@example.com", Role::Analyst).await;
    sqlx::query("update app_user set disabled_at = now() where email = 'gone@example.com'")
        .execute(&app.pool)
        .await
        .unwrap();
    Fleet {
        app,
        alpha,
        bravo,
        alpha_analyst,
    }
}

async fn finding(app: &TestApp, cve: &str) -> Key {
    sqlx::query_as("select cluster_id, id from finding where vulnerability_id = $1")
        .bind(cve)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar("select id from app_user where email = $1")
        .bind(email)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

fn page((cluster, id): Key) -> String {
    format!("/findings/{cluster}/{id}")
}

fn k((cluster, id): Key) -> String {
    format!("{cluster}:{id}")
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", urlencode(name), urlencode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The e-mail addresses a picker answer (JSON) lists, in its order.
fn listed(answer: &serde_json::Value) -> Vec<String> {
    answer
        .as_array()
        .unwrap_or_else(|| panic!("a list: {answer}"))
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The candidates for the decision bar with this filter, as `cookie`.
async fn bar_candidates(app: &TestApp, cookie: &str, body: &str) -> (StatusCode, String) {
    let response = app.rpc_as(cookie, "/rpc/triage/assignees", body).await;
    (response.status, response.text())
}

/// The users an `<option value=…>` of the page's owner picker names.
fn picker_options(html: &str) -> Vec<String> {
    let start = html
        .find("name=\"assignee\"")
        .unwrap_or_else(|| panic!("no owner picker in {html}"));
    let end = start + html[start..].find("</select>").unwrap();
    html[start..end]
        .split("<option")
        .skip(2) // the select's own attributes, "Choose a user…"
        .map(|o| {
            let label = &o[o.find('>').unwrap() + 1..];
            label[..label.find(" (").unwrap()].to_owned()
        })
        .collect()
}

async fn assign(app: &TestApp, cookie: &str, key: Key, assignee: i64) -> crate::helpers::Response {
    let next = page(key);
    app.post_form_as(
        cookie,
        "/rpc/triage/decide",
        &form(&[
            ("action", "assign"),
            ("keys[]", &k(key)),
            ("next", &next),
            ("assignee", &assignee.to_string()),
        ]),
    )
    .await
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_owner_picker_lists_only_triage_users_who_see_the_findings(pool: PgPool) {
    let Fleet {
        app,
        alpha,
        bravo,
        alpha_analyst,
    } = fleet(pool).await;
    let sees_alpha = [
        "alpha-analyst@example.com",
        "both-analyst@example.com",
        "manager@example.com",
    ];

    // the finding page of an alpha finding, for an analyst limited to alpha
    let html = app.get_as(&alpha_analyst, &page(alpha)).await.text();
    assert_eq!(picker_options(&html), sees_alpha, "{html}");
    assert!(!html.contains("bravo-analyst@example.com"), "{html}");
    assert!(!html.contains("executive@example.com"), "{html}");
    assert!(html.contains("Unassigned"), "{html}");

    // the decision bar: who sees every cluster the filter selects, within the viewer's
    for body in ["", "filter%5Bcluster%5D=alpha"] {
        let (status, text) = bar_candidates(&app, &alpha_analyst, body).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(listed(&answer), sees_alpha, "{body}");
    }
    // another cluster is not found, and names nobody
    let (status, text) = bar_candidates(&app, &alpha_analyst, "filter%5Bcluster%5D=bravo").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{text}");
    assert!(!text.contains("bravo-analyst"), "{text}");

    // a viewer of everything: with no cluster narrowed, the fleet-level findings too, which
    // only users limited to nothing see; narrowed to bravo, bravo's users
    let manager = app
        .login("manager@example.com", "pw-manager@example.com-long-enough")
        .await;
    let (status, text) = bar_candidates(&app, &manager, "").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(listed(&answer), ["manager@example.com"]);
    let (_, text) = bar_candidates(&app, &manager, "filter%5Bcluster%5D=bravo").await;
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        listed(&answer),
        [
            "both-analyst@example.com",
            "bravo-analyst@example.com",
            "manager@example.com"
        ]
    );
    let html = app.get_as(&manager, &page(bravo)).await.text();
    assert_eq!(
        picker_options(&html),
        [
            "both-analyst@example.com",
            "bravo-analyst@example.com",
            "manager@example.com"
        ]
    );

    // executives read only: no picker, and no candidates
    let executive = app
        .login(
            "executive@example.com",
            "pw-executive@example.com-long-enough",
        )
        .await;
    let (status, _) = bar_candidates(&app, &executive, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let html = app.get_as(&executive, &page(alpha)).await.text();
    assert!(!html.contains("name=\"assignee\""), "{html}");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_picker_offers_exactly_the_users_an_assignment_accepts(pool: PgPool) {
    let Fleet {
        app,
        alpha,
        alpha_analyst,
        ..
    } = fleet(pool).await;
    let html = app.get_as(&alpha_analyst, &page(alpha)).await.text();
    let offered = picker_options(&html);
    let everybody: Vec<(i64, String)> =
        sqlx::query_as("select id, email from app_user order by id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(everybody.len(), 6);
    for (id, email) in everybody {
        let response = assign(&app, &alpha_analyst, alpha, id).await;
        if offered.contains(&email) {
            assert!(
                response.status.is_success() || response.status.is_redirection(),
                "{email}: {} {}",
                response.status,
                response.text()
            );
        } else {
            assert_eq!(response.status, StatusCode::BAD_REQUEST, "{email}");
        }
    }
    let assigned: i64 =
        sqlx::query_scalar("select count(*) from finding_decision where decision = 'assigned'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(assigned, offered.len() as i64);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn an_assignment_through_the_form_shows_the_owner_and_the_history(pool: PgPool) {
    let Fleet {
        app,
        alpha,
        alpha_analyst,
        ..
    } = fleet(pool).await;
    let manager = user_id(&app, "manager@example.com").await;

    // the page's form, posted without JavaScript: back to the page with the outcome
    let response = assign(&app, &alpha_analyst, alpha, manager).await;
    assert!(
        response.status.is_success() || response.status.is_redirection(),
        "{}: {}",
        response.status,
        response.text()
    );
    let location = response.header("location").unwrap_or_default();
    assert!(
        location.starts_with(&page(alpha)) && location.contains("flash=decided"),
        "{location}"
    );
    let comment = app
        .post_form_as(
            &alpha_analyst,
            "/rpc/triage/decide",
            &form(&[
                ("action", "comment"),
                ("keys[]", &k(alpha)),
                ("justification", "patch lands <Friday>"),
            ]),
        )
        .await;
    assert!(
        comment.status.is_success() || comment.status.is_redirection(),
        "{}",
        comment.text()
    );

    let html = app.get_as(&alpha_analyst, &page(alpha)).await.text();
    let owner = html
        .find("data-testid=\"finding-owner\"")
        .expect("the owner line");
    assert!(
        html[owner..owner + 200]
            .contains(">Owner: manager@example.com (assigned by alpha-analyst@example.com"),
        "{html}"
    );
    assert!(
        html.contains("Assigned to manager@example.com by alpha-analyst@example.com"),
        "{html}"
    );
    let commented = html
        .find("Comment by alpha-analyst@example.com")
        .unwrap_or_else(|| panic!("no comment in {html}"));
    assert!(html.contains("patch lands &lt;Friday&gt;"), "{html}");
    let assigned = html.find("Assigned to").unwrap();
    assert!(commented < assigned, "newest first");
    // the picker shows the owner chosen
    let picker = html.find("name=\"assignee\"").unwrap();
    let chosen = html[picker..].find("selected").expect("an owner chosen");
    assert!(
        html[picker + chosen..].starts_with("selected")
            && html[picker..picker + chosen + 80].contains("manager@example.com"),
        "{html}"
    );

    // the server function answers the same owner
    let rpc = app
        .rpc_as(
            &alpha_analyst,
            "/rpc/findings/detail",
            &format!("cluster_id={}&finding_id={}", alpha.0, alpha.1),
        )
        .await;
    assert_eq!(rpc.json()["owner"]["name"], "manager@example.com");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_pending_acceptance_shows_as_pending_then_as_rejected_with_the_note(pool: PgPool) {
    let Fleet {
        app,
        alpha,
        alpha_analyst,
        ..
    } = fleet(pool).await;
    // critical: the default policy reserves its acceptance for a manager
    let expires = (Utc::now().date_naive() + Duration::days(30)).to_string();
    let accepted = app
        .rpc_as(
            &alpha_analyst,
            "/rpc/triage/accept",
            &form(&[
                ("keys[]", &k(alpha)),
                ("justification", "behind the WAF"),
                ("expires", &expires),
            ]),
        )
        .await;
    assert!(
        accepted
            .header("location")
            .is_some_and(|l| l.contains("flash=accept-pending")),
        "{}",
        accepted.text()
    );
    let html = app.get_as(&alpha_analyst, &page(alpha)).await.text();
    assert!(
        html.contains("Decision: accepted by alpha-analyst@example.com"),
        "{html}"
    );
    assert!(html.contains(">pending approval<"), "{html}");
    assert!(!html.contains("Status: accepted"), "{html}");

    let decision: (i64, i64) =
        sqlx::query_as("select cluster_id, id from finding_decision where approval = 'pending'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let manager = app
        .login("manager@example.com", "pw-manager@example.com-long-enough")
        .await;
    let rejected = app
        .rpc_as(
            &manager,
            "/rpc/triage/reject",
            &form(&[
                ("decisions[]", &k(decision)),
                ("note", "not while it is internet-facing"),
            ]),
        )
        .await;
    assert!(rejected.status.is_success() || rejected.status.is_redirection());
    let html = app.get_as(&alpha_analyst, &page(alpha)).await.text();
    assert!(!html.contains(">pending approval<"), "{html}");
    let review = html
        .find("data-testid=\"history-review\"")
        .unwrap_or_else(|| panic!("no review in {html}"));
    let shown = &html[review..review + 200];
    assert!(
        shown.contains(">rejected by manager@example.com, "),
        "{shown}"
    );
    assert!(
        shown.contains("“not while it is internet-facing”"),
        "{shown}"
    );
    let status: String =
        sqlx::query_scalar("select status from finding where id = $1 and cluster_id = $2")
            .bind(alpha.1)
            .bind(alpha.0)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(status, "open");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn another_clusters_user_cannot_own_a_finding_and_nothing_changes(pool: PgPool) {
    let Fleet {
        app,
        alpha,
        alpha_analyst,
        ..
    } = fleet(pool).await;
    let audit_before: i64 = sqlx::query_scalar("select count(*) from audit_log")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let bravo_user = user_id(&app, "bravo-analyst@example.com").await;
    let executive = user_id(&app, "executive@example.com").await;
    let gone = user_id(&app, "gone@example.com").await;
    let mut answers = Vec::new();
    for id in [bravo_user, executive, gone, 999_999] {
        let response = assign(&app, &alpha_analyst, alpha, id).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{id}");
        // one answer for every refusal: another cluster's user is not told from nobody
        answers.push(response.text().replace(&id.to_string(), "N"));
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert!(!answers[0].contains("bravo"), "{}", answers[0]);
    let rows: i64 = sqlx::query_scalar("select count(*) from finding_decision")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    let audit_after: i64 = sqlx::query_scalar("select count(*) from audit_log")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(audit_after, audit_before);
    let html = app.get_as(&alpha_analyst, &page(alpha)).await.text();
    assert!(html.contains(">Unassigned<"), "{html}");
}
