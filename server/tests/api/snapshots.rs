//! Posture over time: the status history written by production code, the daily rollup against a
//! hand-built ten-day history, SLA clocks (KEV included), risk standings, and the job queue that
//! runs the rollup once across workers.
//!
//! History is written through the real ingest pipeline, `decide` and `expire_acceptances` with
//! the lifecycle clock (`bulwark.now`) set to each moment of the story: on a pool of one
//! connection, so that the setting made on it reaches the pipeline's transaction.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use http::StatusCode;
use serde_json::{Value, json};
use server::db::findings::{Decision, DecisionKind, decide};
use server::db::jobs::{self, Failed};
use server::db::snapshots;
use server::db::tokens::IngestIdentity;
use server::ingest::Format;
use server::ingest::pipeline::{self, Counts};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::helpers::{TestApp, trivy_image_report};

/// One row of `daily_snapshot`: (cluster, day, kind, severity, open, new, fixed, overdue,
/// fix seconds).
type Row = (i64, NaiveDate, String, i16, i32, i32, i32, i32, i64);

/// The whole table, in key order.
async fn snapshot_rows(pool: &PgPool) -> Vec<Row> {
    sqlx::query_as(
        "select cluster_id, day, kind, severity, open_count, new_count, fixed_count,
                overdue_count, fix_seconds
         from daily_snapshot order by cluster_id, day, kind, severity",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

fn nov(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, day).unwrap()
}

/// `2026-11-DDTHH:00:00Z`.
fn moment(day: u32, hour: u32) -> String {
    format!("2026-11-{day:02}T{hour:02}:00:00Z")
}

/// A pool of one connection on the database of `pool`: a session setting made on it holds for
/// everything run through it.
async fn one_connection(pool: &PgPool) -> PgPool {
    PgPoolOptions::new()
        .max_connections(1)
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap()
}

/// Sets the lifecycle clock of the one connection of `one`, for the session.
async fn clock(one: &PgPool, at: &str) {
    sqlx::query("select set_config('bulwark.now', $1, false)")
        .bind(at)
        .execute(one)
        .await
        .unwrap();
}

/// The identity of a fresh ingest token for `source`, bound to `cluster` if given.
async fn identity(app: &TestApp, source: &str, cluster: Option<&str>) -> IngestIdentity {
    let args = server::config::TokenCreateArgs {
        source: source.to_owned(),
        cluster: cluster.map(str::to_owned),
        ..server::config::TokenCreateArgs::default()
    };
    let issued = server::cli::issue_ingest_token(&app.pool, &args)
        .await
        .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    server::db::tokens::find_live_by_hash(&mut conn, &issued.secret.hash())
        .await
        .unwrap()
        .unwrap()
}

/// A Trivy image report of `image` created at `at`, with (vulnerability, package, severity).
fn report(image: &str, at: &str, vulns: &[(&str, &str, &str)]) -> String {
    let vulns: Vec<Value> = vulns
        .iter()
        .map(|(id, pkg, severity)| {
            json!({
                "VulnerabilityID": id, "PkgName": pkg, "InstalledVersion": "1.0",
                "FixedVersion": "2.0", "Severity": severity, "Title": format!("{id} in {pkg}"),
            })
        })
        .collect();
    json!({
        "SchemaVersion": 2,
        "CreatedAt": at,
        "ArtifactName": image,
        "ArtifactType": "container_image",
        "Metadata": {"OS": {"Family": "debian", "Name": "12.4"}},
        "Results": [{"Target": format!("{image} (debian 12.4)"), "Class": "os-pkgs",
                     "Type": "debian", "Vulnerabilities": vulns}],
    })
    .to_string()
}

/// Stores a report through the ingest pipeline with the lifecycle clock at `at`.
async fn scan_at(
    one: &PgPool,
    sender: &IngestIdentity,
    at: &str,
    image: &str,
    vulns: &[(&str, &str, &str)],
) -> Counts {
    clock(one, at).await;
    let body = report(image, at, vulns);
    let digest: [u8; 32] = Sha256::digest(body.as_bytes()).into();
    let parsed = Format::Trivy.parse(body.as_bytes()).unwrap();
    pipeline::store(one, sender, "trivy", &digest, body.len(), parsed)
        .await
        .unwrap()
        .counts
}

async fn finding(pool: &PgPool, cve: &str) -> (i64, i64) {
    sqlx::query_as("select cluster_id, id from finding where vulnerability_id = $1")
        .bind(cve)
        .fetch_one(pool)
        .await
        .unwrap()
}

const A: (&str, &str, &str) = ("CVE-2026-1001", "openssl", "CRITICAL");
const B: (&str, &str, &str) = ("CVE-2026-1002", "zlib", "LOW"); // in KEV
const C: (&str, &str, &str) = ("CVE-2026-1003", "curl", "MEDIUM");
const D: (&str, &str, &str) = ("CVE-2026-1004", "glibc", "CRITICAL");
const E: (&str, &str, &str) = ("CVE-2026-1005", "bash", "LOW");
const F: (&str, &str, &str) = ("CVE-2026-1006", "busybox", "CRITICAL");

/// The clusters of the story: (c1, c2); fleet-level findings are cluster 0.
struct Story {
    c1: i64,
    c2: i64,
}

/// Ten days in November 2026, every status change written by production code:
/// - cluster c1, image api: A (critical), B (low, in KEV) and C (medium) appear on day 1;
///   C is gone on day 3 and back on day 4, gone again on day 8; B is accepted on day 5 until
///   day 7 12:00, reopened by the expiry sweep on day 7 13:00, gone on day 9;
/// - cluster c2, image web: D (critical) and E (low) appear on day 2; E is gone on day 6, D on
///   day 10 (after its due date, day 9);
/// - fleet level (an unbound CI token), image base: F (critical) appears on day 1 and stays.
///
/// Reports arrive at 12:00 of their day.
async fn ten_days(app: &TestApp) -> Story {
    let one = one_connection(&app.pool).await;
    let ci1 = identity(app, "trivy-c1", Some("c1")).await;
    let ci2 = identity(app, "trivy-c2", Some("c2")).await;
    let fleet = identity(app, "trivy-ci", None).await;
    sqlx::query("insert into intel_kev (cve_id, date_added) values ($1, '2026-01-01')")
        .bind(B.0)
        .execute(&app.pool)
        .await
        .unwrap();

    let api = "acme/api:1";
    let web = "acme/web:1";
    assert_eq!(
        scan_at(&one, &ci1, &moment(1, 12), api, &[A, B, C])
            .await
            .new,
        3
    );
    assert_eq!(
        scan_at(&one, &fleet, &moment(1, 12), "acme/base:1", &[F])
            .await
            .new,
        1
    );
    assert_eq!(
        scan_at(&one, &ci2, &moment(2, 12), web, &[D, E]).await.new,
        2
    );
    assert_eq!(
        scan_at(&one, &ci1, &moment(3, 12), api, &[A, B])
            .await
            .fixed,
        1
    );
    assert_eq!(
        scan_at(&one, &ci1, &moment(4, 12), api, &[A, B, C])
            .await
            .reopened,
        1
    );

    let (c1, b) = finding(&app.pool, B.0).await;
    let mut tx = one.begin().await.unwrap();
    sqlx::query("select set_config('bulwark.now', $1, true)")
        .bind(moment(5, 10))
        .execute(&mut *tx)
        .await
        .unwrap();
    let accept = Decision {
        decision: DecisionKind::Accepted,
        justification: "not reachable until the next release",
        decided_by: None,
        expires_at: Some(Utc.with_ymd_and_hms(2026, 11, 7, 12, 0, 0).unwrap()),
    };
    decide(&mut tx, c1, b, &accept).await.unwrap();
    tx.commit().await.unwrap();

    assert_eq!(
        scan_at(&one, &ci2, &moment(6, 12), web, &[D]).await.fixed,
        1
    );

    let mut tx = one.begin().await.unwrap();
    sqlx::query("select set_config('bulwark.now', $1, true)")
        .bind(moment(7, 13))
        .execute(&mut *tx)
        .await
        .unwrap();
    let expired = server::db::findings::expire_acceptances_by_cluster(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(expired, vec![(c1, 1)]);

    assert_eq!(
        scan_at(&one, &ci1, &moment(8, 12), api, &[A, B])
            .await
            .fixed,
        1
    );
    assert_eq!(
        scan_at(&one, &ci1, &moment(9, 12), api, &[A]).await.fixed,
        1
    );
    assert_eq!(
        scan_at(&one, &ci2, &moment(10, 12), web, &[]).await.fixed,
        1
    );
    one.close().await;
    let (c2, _) = finding(&app.pool, D.0).await;
    Story { c1, c2 }
}

/// (cluster, day of November, severity, open, new, fixed, overdue, fix seconds).
type Expected = (i64, u32, i16, i32, i32, i32, i32, i64);

/// The rows the story must produce, per day: (cluster, day, severity, open, new, fixed,
/// overdue, fix seconds).
fn expected(story: &Story) -> Vec<Row> {
    const DAY: i64 = 86_400;
    let mut rows: Vec<Expected> = Vec::new();
    for day in 1..=10 {
        // A (c1) and F (fleet): critical, open throughout, overdue from day 8 (day 1 + 7).
        let overdue = i32::from(day >= 8);
        let new = i32::from(day == 1);
        rows.push((story.c1, day, 4, 1, new, 0, overdue, 0));
        rows.push((0, day, 4, 1, new, 0, overdue, 0));
    }
    // C (c1, medium): fixed on day 3 after 2 days, back on day 4, fixed on day 8 after 4 days.
    rows.extend([
        (story.c1, 1, 2, 1, 1, 0, 0, 0),
        (story.c1, 2, 2, 1, 0, 0, 0, 0),
        (story.c1, 3, 2, 0, 0, 1, 0, 2 * DAY),
        (story.c1, 4, 2, 1, 0, 0, 0, 0),
        (story.c1, 5, 2, 1, 0, 0, 0, 0),
        (story.c1, 6, 2, 1, 0, 0, 0, 0),
        (story.c1, 7, 2, 1, 0, 0, 0, 0),
        (story.c1, 8, 2, 0, 0, 1, 0, 4 * DAY),
    ]);
    // B (c1, low in KEV: a 7-day clock): accepted on day 5 before its due date (day 8), so
    // never overdue; reopened on day 7 13:00, fixed on day 9 12:00 (47 hours later).
    rows.extend([
        (story.c1, 1, 1, 1, 1, 0, 0, 0),
        (story.c1, 2, 1, 1, 0, 0, 0, 0),
        (story.c1, 3, 1, 1, 0, 0, 0, 0),
        (story.c1, 4, 1, 1, 0, 0, 0, 0),
        (story.c1, 7, 1, 1, 0, 0, 0, 0),
        (story.c1, 8, 1, 1, 0, 0, 0, 0),
        (story.c1, 9, 1, 0, 0, 1, 0, 47 * 3600),
    ]);
    // D (c2, critical): due day 9, overdue that day, fixed on day 10 after 8 days.
    rows.push((story.c2, 2, 4, 1, 1, 0, 0, 0));
    for day in 3..=8 {
        rows.push((story.c2, day, 4, 1, 0, 0, 0, 0));
    }
    rows.push((story.c2, 9, 4, 1, 0, 0, 1, 0));
    rows.push((story.c2, 10, 4, 0, 0, 1, 0, 8 * DAY));
    // E (c2, low, not in KEV: 180 days): fixed on day 6 after 4 days.
    rows.extend([
        (story.c2, 2, 1, 1, 1, 0, 0, 0),
        (story.c2, 3, 1, 1, 0, 0, 0, 0),
        (story.c2, 4, 1, 1, 0, 0, 0, 0),
        (story.c2, 5, 1, 1, 0, 0, 0, 0),
        (story.c2, 6, 1, 0, 0, 1, 0, 4 * DAY),
    ]);
    let mut rows: Vec<Row> = rows
        .into_iter()
        .map(
            |(cluster, day, severity, open, new, fixed, overdue, seconds)| {
                (
                    cluster,
                    nov(day),
                    "vulnerability".to_owned(),
                    severity,
                    open,
                    new,
                    fixed,
                    overdue,
                    seconds,
                )
            },
        )
        .collect();
    rows.sort();
    rows
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn every_status_change_is_written_to_the_history_at_the_lifecycle_clock(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    ten_days(&app).await;
    let (cluster, b) = finding(&pool, B.0).await;
    let history: Vec<(String, chrono::DateTime<Utc>)> = sqlx::query_as(
        "select status, at from finding_event where cluster_id = $1 and finding_id = $2
         order by at, id",
    )
    .bind(cluster)
    .bind(b)
    .fetch_all(&pool)
    .await
    .unwrap();
    let at = |day, hour| Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap();
    assert_eq!(
        history,
        vec![
            ("accepted".to_owned(), at(5, 10)),
            ("reopened".to_owned(), at(7, 13)),
            ("fixed".to_owned(), at(9, 12)),
        ]
    );
    let (cluster, c) = finding(&pool, C.0).await;
    let statuses: Vec<String> = sqlx::query_scalar(
        "select status from finding_event where cluster_id = $1 and finding_id = $2
         order by at, id",
    )
    .bind(cluster)
    .bind(c)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(statuses, ["fixed", "reopened", "fixed"]);
    let first_seen: chrono::DateTime<Utc> =
        sqlx::query_scalar("select first_seen from finding where id = $1")
            .bind(c)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(first_seen, at(1, 12));
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_rollup_of_a_ten_day_history_counts_open_new_fixed_overdue_and_fix_time_per_day(
    pool: PgPool,
) {
    let app = TestApp::spawn(pool.clone()).await;
    let story = ten_days(&app).await;
    let mut conn = pool.acquire().await.unwrap();
    let policy = app::model::SlaPolicy::default();
    let written = snapshots::rebuild(&mut conn, &policy, None, nov(1), nov(10))
        .await
        .unwrap();
    let rows = snapshot_rows(&pool).await;
    assert_eq!(rows, expected(&story));
    assert_eq!(written, rows.len() as u64);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_rerun_of_the_rollup_changes_nothing(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let story = ten_days(&app).await;
    let mut conn = pool.acquire().await.unwrap();
    let policy = app::model::SlaPolicy::default();

    // Two halves give the same rows as the whole range, and a rerun rewrites nothing.
    snapshots::rebuild(&mut conn, &policy, None, nov(1), nov(5))
        .await
        .unwrap();
    snapshots::rebuild(&mut conn, &policy, None, nov(6), nov(10))
        .await
        .unwrap();
    assert_eq!(snapshot_rows(&pool).await, expected(&story));
    let again = snapshots::rebuild(&mut conn, &policy, None, nov(1), nov(10))
        .await
        .unwrap();
    assert_eq!(again, 0);
    assert_eq!(snapshot_rows(&pool).await, expected(&story));

    // The backfill carries the history to today; run twice, the table is the same.
    let first = snapshots::backfill(&mut conn, &policy).await.unwrap();
    assert!(first > 0, "the days after the story are new rows");
    let before = snapshot_rows(&pool).await;
    let ctids_before: Vec<String> =
        sqlx::query_scalar("select ctid::text from daily_snapshot order by ctid")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(snapshots::backfill(&mut conn, &policy).await.unwrap(), 0);
    assert_eq!(snapshot_rows(&pool).await, before);
    let ctids_after: Vec<String> =
        sqlx::query_scalar("select ctid::text from daily_snapshot order by ctid")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(ctids_after, ctids_before, "no row was rewritten");
    // the story's days are untouched by the backfill
    let story_rows: Vec<Row> = before.into_iter().filter(|r| r.1 <= nov(10)).collect();
    assert_eq!(story_rows, expected(&story));

    // A row that should not exist is removed; a wrong number is corrected.
    sqlx::query(
        "insert into daily_snapshot (cluster_id, day, kind, severity, open_count)
         values ($1, '2026-11-05', 'secret', 2, 7)",
    )
    .bind(story.c1)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "update daily_snapshot set open_count = 9 where cluster_id = 0 and day = '2026-11-03'",
    )
    .execute(&pool)
    .await
    .unwrap();
    let mended = snapshots::rebuild(&mut conn, &policy, None, nov(1), nov(10))
        .await
        .unwrap();
    assert_eq!(mended, 2);
    let story_rows: Vec<Row> = snapshot_rows(&pool)
        .await
        .into_iter()
        .filter(|r| r.1 <= nov(10))
        .collect();
    assert_eq!(story_rows, expected(&story));
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_low_finding_in_kev_is_overdue_after_seven_days_a_low_one_outside_kev_is_not(
    pool: PgPool,
) {
    let app = TestApp::spawn(pool.clone()).await;
    let one = one_connection(&pool).await;
    let ci = identity(&app, "trivy", Some("c1")).await;
    sqlx::query("insert into intel_kev (cve_id, date_added) values ($1, '2026-01-01')")
        .bind(B.0)
        .execute(&pool)
        .await
        .unwrap();
    // B (low, KEV) and E (low) appear on day 1 at 12:00.
    scan_at(&one, &ci, &moment(1, 12), "acme/api:1", &[B, E]).await;
    one.close().await;

    let mut conn = pool.acquire().await.unwrap();
    let policy = app::model::SlaPolicy::default();
    snapshots::rebuild(&mut conn, &policy, None, nov(1), nov(10))
        .await
        .unwrap();
    let overdue: Vec<(NaiveDate, i32, i32)> = sqlx::query_as(
        "select day, open_count, overdue_count from daily_snapshot where severity = 1
         order by day",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let want: Vec<(NaiveDate, i32, i32)> = (1..=10)
        .map(|day| (nov(day), 2, i32::from(day >= 8)))
        .collect();
    assert_eq!(overdue, want, "due on day 8 (day 1 + 7): the KEV one only");

    // A stricter policy for low findings makes both overdue from day 4.
    let strict = app::model::SlaPolicy {
        low_days: 3,
        medium_days: 3,
        high_days: 3,
        critical_days: 2,
        ..app::model::SlaPolicy::default()
    };
    snapshots::rebuild(&mut conn, &strict, None, nov(1), nov(10))
        .await
        .unwrap();
    let overdue: Vec<i32> = sqlx::query_scalar(
        "select overdue_count from daily_snapshot where severity = 1 order by day",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        overdue,
        [0, 0, 1, 2, 2, 2, 2, 2, 2, 2],
        "KEV: day 3, low: day 4"
    );
}

/// Risk standings of one cluster: (workload, open, critical, high, risk sum, risk max).
async fn risk_rows(pool: &PgPool, cluster: i64) -> Vec<(i64, i32, i32, i32, i64, i16)> {
    sqlx::query_as(
        "select workload_id, open_count, critical_count, high_count, risk_sum, risk_max
         from risk_rollup where cluster_id = $1 order by workload_id",
    )
    .bind(cluster)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn refreshing_one_cluster_gives_the_rows_of_a_full_rebuild_and_its_risk_standings(
    pool: PgPool,
) {
    let app = TestApp::spawn(pool.clone()).await;
    let story = ten_days(&app).await;
    // c1 runs the api image in workload "api"; workload "idle" runs an image with nothing open;
    // a misconfiguration (high) belongs to workload "api" itself.
    let api: i64 = sqlx::query_scalar(
        "with ns as (insert into namespace (cluster_id, name) values ($1, 'shop') returning id),
              w as (insert into workload (cluster_id, namespace_id, kind, name)
                    select $1, id, 'Deployment', 'api' from ns returning id),
              i as (insert into image (key, repository) values ('acme/idle:1', 'acme/idle')
                    returning id),
              idle as (insert into workload (cluster_id, namespace_id, kind, name)
                       select $1, id, 'Deployment', 'idle' from ns returning id),
              c as (insert into container (cluster_id, workload_id, name, image_id)
                    select $1, w.id, 'api', (select image_id from finding where vulnerability_id = $2)
                    from w
                    union all
                    select $1, idle.id, 'idle', i.id from idle, i)
         select id from w",
    )
    .bind(story.c1)
    .bind(A.0)
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into finding (cluster_id, fingerprint, kind, severity, title, workload_id,
                              namespace_id, risk_score)
         select $1, sha256('misconfig'::bytea), 'misconfiguration', 3, 'runs as root', $2,
                namespace_id, 40
         from workload where cluster_id = $1 and id = $2",
    )
    .bind(story.c1)
    .bind(api)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("update finding set risk_score = 90 where vulnerability_id = $1")
        .bind(A.0)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("update finding set risk_score = 70 where vulnerability_id = $1")
        .bind(F.0)
        .execute(&pool)
        .await
        .unwrap();

    let policy = app::model::SlaPolicy::default();
    let mut conn = pool.acquire().await.unwrap();
    // the story's days for every cluster, then one cluster refreshed
    snapshots::rebuild(&mut conn, &policy, None, nov(1), nov(10))
        .await
        .unwrap();
    let others_before: Vec<Row> = snapshot_rows(&pool)
        .await
        .into_iter()
        .filter(|r| r.0 != story.c1)
        .collect();
    snapshots::refresh_cluster(&mut conn, &policy, story.c1)
        .await
        .unwrap();
    let today = Utc::now().date_naive();
    let refreshed: Vec<Row> = snapshot_rows(&pool)
        .await
        .into_iter()
        .filter(|r| r.0 == story.c1 && r.1 >= today.pred_opt().unwrap())
        .collect();
    let others_after: Vec<Row> = snapshot_rows(&pool)
        .await
        .into_iter()
        .filter(|r| r.0 != story.c1)
        .collect();
    assert_eq!(others_after, others_before, "other clusters untouched");
    // A (critical, overdue since November) and the misconfiguration (high, new today).
    assert!(
        refreshed
            .iter()
            .any(|r| r.3 == 4 && r.4 == 1 && r.7 == 1 && r.2 == "vulnerability"),
        "{refreshed:?}"
    );

    sqlx::query("delete from daily_snapshot")
        .execute(&pool)
        .await
        .unwrap();
    snapshots::rebuild(&mut conn, &policy, None, today.pred_opt().unwrap(), today)
        .await
        .unwrap();
    let rebuilt: Vec<Row> = snapshot_rows(&pool)
        .await
        .into_iter()
        .filter(|r| r.0 == story.c1)
        .collect();
    assert_eq!(refreshed, rebuilt);

    // c1: A (critical, 90) and the misconfiguration (high, 40); its workload "api" counts both
    // (A through the image it runs); "idle" has nothing open and no row.
    assert_eq!(
        risk_rows(&pool, story.c1).await,
        vec![(0, 2, 1, 1, 130, 90), (api, 2, 1, 1, 130, 90)]
    );
    // c2 has nothing open; the fleet level only its cluster row (refreshed below).
    assert_eq!(risk_rows(&pool, story.c2).await, vec![]);
    assert_eq!(snapshots::refresh_risk(&mut conn, None).await.unwrap(), 1);
    assert_eq!(risk_rows(&pool, 0).await, vec![(0, 1, 1, 0, 70, 70)]);
    // nothing changed: nothing rewritten
    assert_eq!(snapshots::refresh_risk(&mut conn, None).await.unwrap(), 0);

    // A is accepted: the rows shrink; the workload row goes with the last open finding.
    let (c1, a) = finding(&pool, A.0).await;
    let accept = Decision {
        decision: DecisionKind::Accepted,
        justification: "compensating control",
        decided_by: None,
        expires_at: None,
    };
    decide(&mut conn, c1, a, &accept).await.unwrap();
    sqlx::query("update finding set status = 'false_positive' where kind = 'misconfiguration'")
        .execute(&pool)
        .await
        .unwrap();
    snapshots::refresh_cluster(&mut conn, &policy, story.c1)
        .await
        .unwrap();
    assert_eq!(risk_rows(&pool, story.c1).await, vec![]);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn two_workers_never_claim_one_job(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    for n in 0..300 {
        assert!(
            jobs::enqueue(&mut conn, "test.work", &json!({ "n": n }), Utc::now())
                .await
                .unwrap()
        );
    }
    let ids: Vec<i64> = sqlx::query_scalar("select id from job order by id")
        .fetch_all(&pool)
        .await
        .unwrap();
    drop(conn);
    let worker = |pool: PgPool| async move {
        let mut conn = pool.acquire().await.unwrap();
        let mut claimed = Vec::new();
        while let Some(job) = jobs::claim(&mut conn, &["test.work"]).await.unwrap() {
            assert_eq!(job.attempts, 1);
            claimed.push(job.id);
        }
        claimed
    };
    let (one, two) = tokio::join!(
        tokio::spawn(worker(pool.clone())),
        tokio::spawn(worker(pool.clone()))
    );
    let mut all = one.unwrap();
    all.extend(two.unwrap());
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 300, "every job claimed once");
    assert_eq!(distinct.len(), 300);
    all.sort_unstable();
    assert_eq!(all, ids);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_job_locked_by_another_worker_is_skipped_not_waited_for(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let earlier = Utc::now() - chrono::Duration::minutes(5);
    jobs::enqueue(&mut conn, "test.work", &json!({"n": 1}), earlier)
        .await
        .unwrap();
    jobs::enqueue(&mut conn, "test.work", &json!({"n": 2}), Utc::now())
        .await
        .unwrap();
    // Another worker is in the middle of claiming the first job.
    let mut other = pool.begin().await.unwrap();
    let first: i64 =
        sqlx::query_scalar("select id from job where payload = '{\"n\": 1}' for update")
            .fetch_one(&mut *other)
            .await
            .unwrap();
    let job = tokio::time::timeout(
        Duration::from_secs(5),
        jobs::claim(&mut conn, &["test.work"]),
    )
    .await
    .expect("a claim does not wait for a locked job")
    .unwrap()
    .unwrap();
    assert_eq!(job.payload, json!({"n": 2}));
    other.rollback().await.unwrap();
    let job = jobs::claim(&mut conn, &["test.work"])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.id, first);
    assert!(
        jobs::claim(&mut conn, &["test.work"])
            .await
            .unwrap()
            .is_none(),
        "claimed jobs are not claimed again"
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn waiting_jobs_are_queued_once_and_failures_retry_until_given_up(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let payload = json!({"cluster_id": 7});
    let now = Utc::now();
    assert!(
        jobs::enqueue(&mut conn, "test.work", &payload, now)
            .await
            .unwrap()
    );
    assert!(
        !jobs::enqueue(&mut conn, "test.work", &payload, now)
            .await
            .unwrap()
    );
    // not yet due: not claimed
    jobs::enqueue(
        &mut conn,
        "test.later",
        &json!({}),
        now + chrono::Duration::hours(1),
    )
    .await
    .unwrap();
    assert!(
        jobs::claim(&mut conn, &["test.later"])
            .await
            .unwrap()
            .is_none()
    );

    let job = jobs::claim(&mut conn, &["test.work"])
        .await
        .unwrap()
        .unwrap();
    // while it runs, the same work can be queued again (the change may come after the read)
    assert!(
        jobs::enqueue(&mut conn, "test.work", &payload, now)
            .await
            .unwrap()
    );
    // ... and then the failed run is dropped: the waiting one does the work
    assert_eq!(
        jobs::fail(&mut conn, job.id, "boom", now).await.unwrap(),
        Failed::Dropped
    );
    for attempt in 1..jobs::MAX_ATTEMPTS {
        let job = jobs::claim(&mut conn, &["test.work"])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.attempts, attempt);
        assert_eq!(
            jobs::fail(&mut conn, job.id, &format!("failure {attempt}"), now)
                .await
                .unwrap(),
            Failed::Retried
        );
    }
    let job = jobs::claim(&mut conn, &["test.work"])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.attempts, jobs::MAX_ATTEMPTS);
    assert_eq!(
        job.last_error.as_deref(),
        Some(format!("failure {}", jobs::MAX_ATTEMPTS - 1).as_str())
    );
    assert_eq!(
        jobs::fail(&mut conn, job.id, "last", now).await.unwrap(),
        Failed::Dropped
    );
    let left: i64 = sqlx::query_scalar("select count(*) from job where kind = 'test.work'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_job_whose_worker_died_is_claimed_again(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    jobs::enqueue(&mut conn, "test.work", &json!({}), Utc::now())
        .await
        .unwrap();
    let job = jobs::claim(&mut conn, &["test.work"])
        .await
        .unwrap()
        .unwrap();
    let ten_minutes = Duration::from_secs(600);
    assert_eq!(
        jobs::reclaim_stale(&mut conn, ten_minutes).await.unwrap(),
        0
    );
    sqlx::query("update job set locked_at = now() - interval '1 hour'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        jobs::reclaim_stale(&mut conn, ten_minutes).await.unwrap(),
        1
    );
    let again = jobs::claim(&mut conn, &["test.work"])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.id, job.id);
    assert_eq!(again.attempts, 2);
}

async fn queued(pool: &PgPool) -> Vec<(String, Value)> {
    sqlx::query_as("select kind, payload from job order by id")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn an_http_ingest_queues_a_refresh_of_its_cluster_which_the_worker_runs(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let token = app.token("trivy", Some("prod-1")).await;
    let now = Utc::now().to_rfc3339();
    let body = trivy_image_report("acme/app:1", &now, &[("CVE-2024-1", "openssl", "3.0.1")]);
    let response = app.ingest("trivy", &token, body.clone()).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let cluster: i64 = sqlx::query_scalar("select id from cluster where name = 'prod-1'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let want = vec![(
        "snapshot.cluster".to_owned(),
        json!({ "cluster_id": cluster }),
    )];
    assert_eq!(queued(&pool).await, want);

    // a re-send changes nothing; another report while the job waits queues nothing more
    let response = app.ingest("trivy", &token, body).await;
    assert_eq!(response.status, StatusCode::OK);
    let later = (Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
    let body = trivy_image_report("acme/app:1", &later, &[("CVE-2024-2", "zlib", "1.2.13")]);
    let response = app.ingest("trivy", &token, body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert_eq!(queued(&pool).await, want);

    // the worker runs it: today's row of the cluster, its risk standing, an empty queue
    let job = server::jobs::work_one(&pool).await.unwrap().unwrap();
    assert_eq!(job.kind, "snapshot.cluster");
    assert!(queued(&pool).await.is_empty());
    let today: (i32, i32, i32) = sqlx::query_as(
        "select open_count, new_count, fixed_count from daily_snapshot
         where cluster_id = $1 and day = (now() at time zone 'UTC')::date",
    )
    .bind(cluster)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(today, (1, 2, 1));
    assert_eq!(risk_rows(&pool, cluster).await.len(), 1);
    assert!(server::jobs::work_one(&pool).await.unwrap().is_none());

    // a fleet-level report queues the fleet level (cluster 0)
    let ci = app.token("trivy-ci", None).await;
    let body = trivy_image_report("acme/base:1", &now, &[("CVE-2024-3", "bash", "5.0")]);
    let response = app.ingest("trivy", &ci, body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert_eq!(
        queued(&pool).await,
        vec![("snapshot.cluster".to_owned(), json!({ "cluster_id": 0 }))]
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn vex_suppression_and_its_lifting_are_history_and_fleet_vex_refreshes_every_cluster(
    pool: PgPool,
) {
    let app = TestApp::spawn(pool.clone()).await;
    let scanner = app.token("trivy", Some("prod-1")).await;
    let vendor = app.token("vendor-vex", None).await;
    let now = Utc::now().to_rfc3339();
    let body = trivy_image_report("acme/app:1", &now, &[("CVE-2024-1", "openssl", "3.0.1")]);
    assert_eq!(
        app.ingest("trivy", &scanner, body).await.status,
        StatusCode::CREATED
    );
    sqlx::query("delete from job").execute(&pool).await.unwrap();

    let vex = |id: &str, status: &str| {
        json!({
            "@context": "https://openvex.dev/ns/v0.2.0",
            "@id": format!("https://vex.example.com/{id}"),
            "author": "Acme product security",
            "timestamp": "2026-11-02T00:00:00Z",
            "version": 1,
            "statements": [{"vulnerability": {"name": "CVE-2024-1"},
                            "products": [{"@id": "pkg:deb/debian/openssl@3.0.1"}],
                            "status": status,
                            "justification": "vulnerable_code_not_in_execute_path"}],
        })
        .to_string()
    };
    let response = app
        .ingest("openvex", &vendor, vex("1", "not_affected"))
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert_eq!(
        queued(&pool).await,
        vec![("snapshot.days".to_owned(), json!({}))],
        "an unbound sender's VEX reaches every cluster"
    );
    let response = app.ingest("openvex", &vendor, vex("2", "affected")).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let statuses: Vec<String> = sqlx::query_scalar("select status from finding_event order by id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(statuses, ["suppressed_by_vex", "open"]);
}
