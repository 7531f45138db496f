//! The `bulwark` binary: token creation and the demo fleet.

use std::process::Command;

use sqlx::PgPool;

use crate::helpers::{TestApp, database_url};

fn bulwark(pool: &PgPool, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bulwark"))
        .args(args)
        .env("DATABASE_URL", database_url(pool))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn token_create_prints_a_working_token_on_its_last_line(pool: PgPool) {
    let output = bulwark(
        &pool,
        &[
            "token",
            "create",
            "--source",
            "ci",
            "--cluster",
            "prod-eu-1",
            "--provider",
            "aws",
            "--environment",
            "prod",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let token = stdout.trim_end().lines().last().unwrap();
    assert!(token.starts_with("bwk_") && token.len() == 68, "{stdout}");
    let (provider, environment): (String, String) =
        sqlx::query_as("select provider, environment from cluster where name = 'prod-eu-1'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((provider.as_str(), environment.as_str()), ("aws", "prod"));
    // only the hash is stored
    let stored: i64 = sqlx::query_scalar(
        "select count(*) from api_token where token_prefix = $1 and token_hash <> $2::bytea",
    )
    .bind(&token[..12])
    .bind(token.as_bytes())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stored, 1);

    let app = TestApp::spawn(pool.clone()).await;
    let report =
        crate::helpers::trivy_image_report("a:1", "2026-11-01T00:00:00Z", &[("CVE-1", "x", "1")]);
    assert_eq!(
        app.ingest("trivy", token, report).await.status,
        http::StatusCode::CREATED
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn token_create_refuses_bad_names(pool: PgPool) {
    let output = bulwark(
        &pool,
        &[
            "token",
            "create",
            "--source",
            "ci",
            "--cluster",
            "no spaces please",
        ],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a valid cluster name"));
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn demo_loads_a_fleet_into_an_empty_database_only(pool: PgPool) {
    let output = bulwark(&pool, &["demo"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (clusters, providers, findings, fixed): (i64, i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from cluster), (select count(distinct provider) from cluster),
                (select count(*) from finding where status in ('open', 'reopened')),
                (select count(*) from finding where status = 'fixed')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(clusters, 5);
    assert_eq!(providers, 5);
    assert!(findings > 50, "{findings}");
    assert!(fixed > 0, "the demo history shows fixed findings");
    // the in-cluster scanners' findings live in their clusters: log4shell once in every
    // cluster whose workloads run the image, nowhere else; and once at fleet level, from CI
    let (log4shell, clusters, elsewhere, fleet): (i64, i64, i64, i64) = sqlx::query_as(
        "select count(*) filter (where f.cluster_id > 0),
                count(distinct f.cluster_id) filter (where f.cluster_id > 0),
                count(*) filter (where f.cluster_id > 0 and not exists (
                    select 1 from container ct
                    where ct.cluster_id = f.cluster_id and ct.image_id = f.image_id)),
                count(*) filter (where f.cluster_id = 0)
         from finding f where vulnerability_id = 'CVE-2021-44228'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(log4shell > 1, "{log4shell}");
    assert_eq!(log4shell, clusters, "one finding per cluster");
    assert_eq!(elsewhere, 0, "only where the image runs");
    assert_eq!(fleet, 1, "the CI scan's finding is fleet-level");

    let before: i64 = sqlx::query_scalar("select count(*) from report")
        .fetch_one(&pool)
        .await
        .unwrap();
    let output = bulwark(&pool, &["demo"]);
    assert!(output.status.success());
    let after: i64 = sqlx::query_scalar("select count(*) from report")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(before, after, "a second demo run must not add data");
}

#[test]
fn help_documents_configuration() {
    let output = Command::new(env!("CARGO_BIN_EXE_bulwark"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "DATABASE_URL",
        "BULWARK_ADDR",
        "serve",
        "migrate",
        "token",
        "demo",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}
