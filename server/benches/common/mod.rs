//! What the benchmark binaries share: a fresh database per round and dropping it again.
//! Included by each bench with `mod common;`.

use sqlx::{Connection, PgConnection};

/// Creates (or recreates) the database `name` on the server of `admin_url`; its URL.
pub async fn fresh_database(admin_url: &str, name: &str) -> String {
    let mut conn = PgConnection::connect(admin_url)
        .await
        .expect("admin connection");
    for statement in [
        format!("drop database if exists {name} with (force)"),
        format!("create database {name}"),
    ] {
        sqlx::raw_sql(&statement)
            .execute(&mut conn)
            .await
            .expect("create database");
    }
    let base = admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b);
    format!("{base}/{name}")
}

/// Drops a round's database, so that the next round starts with nothing else in the cluster.
pub async fn drop_database(admin_url: &str, name: &str) {
    let mut conn = PgConnection::connect(admin_url)
        .await
        .expect("admin connection");
    sqlx::raw_sql(&format!("drop database if exists {name} with (force)"))
        .execute(&mut conn)
        .await
        .expect("drop database");
}
