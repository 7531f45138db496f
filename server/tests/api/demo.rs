//! `bulwark demo`: the guard (real data is left alone unless forced, an earlier demo is left as
//! it is), its arguments, and a scaled fleet whose history went through the ingest pipeline
//! dated as it happened.

use std::process::{Command, Output};

use sqlx::PgPool;

use crate::helpers::{TestApp, database_url};

fn bulwark(pool: &PgPool, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bulwark"))
        .args(args)
        .env("DATABASE_URL", database_url(pool))
        .env("RUST_LOG", "info")
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

const SMALL_SCALED: &[&str] = &[
    "demo",
    "--clusters",
    "3",
    "--findings",
    "1500",
    "--days",
    "20",
];

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn demo_refuses_a_database_with_real_data_unless_forced(pool: PgPool) {
    let output = bulwark(&pool, &["token", "create", "--source", "ci"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let token = String::from_utf8(output.stdout).unwrap();
    let token = token.trim_end().lines().last().unwrap().to_owned();
    let app = TestApp::spawn(pool.clone()).await;
    let report =
        crate::helpers::trivy_image_report("a:1", "2026-11-01T00:00:00Z", &[("CVE-1", "x", "1")]);
    assert_eq!(
        app.ingest("trivy", &token, report).await.status,
        http::StatusCode::CREATED
    );

    for args in [&["demo"][..], SMALL_SCALED] {
        let output = bulwark(&pool, args);
        assert!(!output.status.success(), "{args:?} loaded over real data");
        assert!(stderr(&output).contains("--force"), "{}", stderr(&output));
    }
    assert_eq!(count(&pool, "select count(*) from cluster").await, 0);
    assert_eq!(count(&pool, "select count(*) from report").await, 1);

    // `make run` asks for an empty database only: it goes on to serve what is there
    let output = bulwark(&pool, &["demo", "--if-empty"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(count(&pool, "select count(*) from cluster").await, 0);
    assert_eq!(count(&pool, "select count(*) from report").await, 1);

    let output = bulwark(&pool, &[SMALL_SCALED, &["--force"]].concat());
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(count(&pool, "select count(*) from cluster").await, 3);
    // the real report and its finding are untouched
    assert_eq!(
        count(
            &pool,
            "select count(*) from finding where vulnerability_id = 'CVE-1' and status = 'open'"
        )
        .await,
        1
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn demo_leaves_an_earlier_demo_as_it_is(pool: PgPool) {
    let output = bulwark(&pool, SMALL_SCALED);
    assert!(output.status.success(), "{}", stderr(&output));
    let reports = count(&pool, "select count(*) from report").await;
    let findings = count(&pool, "select count(*) from finding").await;
    assert!(
        reports > 3 && findings > 1000,
        "{reports} reports, {findings} findings"
    );

    for args in [&["demo"][..], SMALL_SCALED, &["demo", "--force"]] {
        let output = bulwark(&pool, args);
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(stderr(&output).contains("holds a demo fleet already"));
    }
    assert_eq!(count(&pool, "select count(*) from report").await, reports);
    assert_eq!(count(&pool, "select count(*) from finding").await, findings);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn demo_arguments_are_checked(pool: PgPool) {
    for (args, says) in [
        (&["demo", "--findings", "10"][..], "--findings"),
        (&["demo", "--clusters", "0"], "--clusters"),
        (&["demo", "--days", "400"], "--days"),
        (
            &["demo", "--clusters", "100", "--findings", "1000"],
            "too few",
        ),
    ] {
        let output = bulwark(&pool, args);
        assert!(!output.status.success(), "{args:?}");
        assert!(
            stderr(&output).contains(says),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    assert_eq!(count(&pool, "select count(*) from cluster").await, 0);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_scaled_demo_has_a_fleet_with_history(pool: PgPool) {
    let output = bulwark(
        &pool,
        &[
            "demo",
            "--clusters",
            "5",
            "--findings",
            "5000",
            "--days",
            "30",
            "--seed",
            "11",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("demo fleet loaded"));

    let (clusters, providers, environments): (i64, i64, i64) = sqlx::query_as(
        "select count(*), count(distinct provider), count(distinct environment) from cluster",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((clusters, providers), (5, 4));
    assert!(environments >= 2);
    let findings = count(&pool, "select count(*) from finding").await;
    assert!((4500..=5500).contains(&findings), "{findings} findings");
    for kind in ["vulnerability", "misconfiguration"] {
        let n = count(
            &pool,
            &format!("select count(*) from finding where kind = '{kind}'"),
        )
        .await;
        assert!(n > 0, "no {kind}");
    }
    // images shared by clusters, workloads per cluster
    assert!(count(&pool, "select count(*) from workload").await >= 5 * 10);
    assert!(
        count(
            &pool,
            "select count(*) from (select image_id from cluster_image group by 1
                                   having count(*) > 1) s"
        )
        .await
            > 0
    );

    // history: reports over the thirty days, fixes on many days, reopenings, later arrivals
    let report_days = count(
        &pool,
        "select count(distinct received_at::date) from report where received_at > now() - interval '31 days'",
    )
    .await;
    assert!(report_days >= 12, "reports on {report_days} days");
    let fix_days = count(
        &pool,
        "select count(distinct fixed_at::date) from finding
         where status = 'fixed' and fixed_at < now() - interval '1 day'",
    )
    .await;
    assert!(fix_days >= 5, "fixes on {fix_days} days");
    assert!(
        count(
            &pool,
            "select count(*) from finding where status = 'reopened'"
        )
        .await
            > 0
    );
    assert!(
        count(
            &pool,
            "select count(*) from finding where first_seen > now() - interval '25 days'"
        )
        .await
            > 0,
        "findings appear during the history"
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from finding where first_seen < now() - interval '31 days'
                                             or first_seen > now()"
        )
        .await,
        0
    );
    // a few accepted, each decided in the past after it was first seen
    let accepted = count(
        &pool,
        "select count(*) from finding f join finding_decision d
           on d.cluster_id = f.cluster_id and d.finding_id = f.id
         where f.status = 'accepted' and d.decision = 'accepted'
           and d.created_at > f.first_seen and d.created_at < now() - interval '20 hours'",
    )
    .await;
    assert!(accepted >= 3, "{accepted} accepted");
    // the lifecycle holds: a finding not fixed is still seen by some scope
    assert_eq!(
        count(
            &pool,
            "select count(*) from finding f where f.status <> 'fixed'
               and not exists (select 1 from observation o
                               where o.cluster_id = f.cluster_id and o.finding_id = f.id
                                 and o.active)",
        )
        .await,
        0,
        "findings not fixed without an active observation"
    );
    // intel through the intel tables, and risk scored with it
    assert!(count(&pool, "select count(*) from intel_kev").await > 0);
    assert!(count(&pool, "select count(*) from intel_epss").await > 500);
    assert_eq!(
        count(
            &pool,
            "select count(*) from finding where risk_score is null"
        )
        .await,
        0
    );
    // the status history the rollup replays, and the snapshots backfilled from it
    for status in ["fixed", "reopened", "accepted"] {
        let events = count(
            &pool,
            &format!(
                "select count(*) from finding_event
                 where status = '{status}' and at < now() - interval '1 minute'"
            ),
        )
        .await;
        assert!(events > 0, "no '{status}' events");
    }
    let snapshot_days = count(
        &pool,
        "select count(distinct day) from daily_snapshot where open_count > 0",
    )
    .await;
    assert!(snapshot_days >= 30, "snapshots on {snapshot_days} days");
    assert!(
        count(&pool, "select count(*) from setting where key = 'demo'").await == 1,
        "the demo marks the database"
    );
}
