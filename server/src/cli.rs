//! What each subcommand does. `anyhow` is fine here: this is the outermost layer.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::config::{
    Cli, Command, DatabaseUrl, IntelCommand, IntelFeedArg, ServeArgs, TokenCommand, TokenCreateArgs,
};
use crate::db;
use crate::db::estate::ClusterSpec;
use crate::domain::token::TokenSecret;
use crate::{AppState, Limits, MIGRATOR, connect, demo, serve};

/// Runs the command the user asked for.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve(cli.serve));
    let url = cli.database_url.context(
        "DATABASE_URL is not set: pass --database-url or set DATABASE_URL \
         (e.g. postgres://user:password@127.0.0.1:5432/bulwark)",
    )?;
    match command {
        Command::Serve(args) => run_serve(&url, args).await,
        Command::Migrate => {
            let pool = open(&url, 2).await?;
            MIGRATOR.run(&pool).await.context("applying migrations")?;
            tracing::info!("database schema is up to date");
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Create(args),
        } => {
            let pool = open_migrated(&url, 2).await?;
            token_create(&pool, &args).await
        }
        Command::Intel {
            command: IntelCommand::Import { feed, file },
        } => {
            let pool = open_migrated(&url, 2).await?;
            let bytes = tokio::fs::read(&file)
                .await
                .with_context(|| format!("reading {}", file.display()))?;
            let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
                crate::ingest::gunzip(&bytes, 1 << 30).map_err(|e| anyhow::anyhow!("{e}"))?
            } else {
                bytes::Bytes::from(bytes)
            };
            let feed = match feed {
                IntelFeedArg::Kev => crate::ingest::IntelFeed::Kev,
                IntelFeedArg::Epss => crate::ingest::IntelFeed::Epss,
            };
            let outcome = crate::ingest::import_intel(&pool, feed, bytes)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            for warning in &outcome.warnings {
                tracing::warn!(pointer = %warning.pointer, "{}", warning.message);
            }
            tracing::info!(
                feed = outcome.feed,
                entries = outcome.entries,
                changed = outcome.changed,
                rescored = outcome.rescored,
                "intel imported"
            );
            Ok(())
        }
        Command::Demo => {
            let pool = open_migrated(&url, 4).await?;
            match demo::load(&pool).await? {
                Some(summary) => tracing::info!(
                    clusters = summary.clusters,
                    reports = summary.reports,
                    findings = summary.findings,
                    "demo fleet loaded"
                ),
                None => tracing::info!("the database already holds data; demo not loaded"),
            }
            Ok(())
        }
    }
}

async fn open(url: &DatabaseUrl, max_connections: u32) -> anyhow::Result<PgPool> {
    connect(url.expose(), max_connections)
        .await
        .with_context(|| format!("connecting to {url}"))
}

async fn open_migrated(url: &DatabaseUrl, max_connections: u32) -> anyhow::Result<PgPool> {
    let pool = open(url, max_connections).await?;
    MIGRATOR.run(&pool).await.context("applying migrations")?;
    Ok(pool)
}

async fn run_serve(url: &DatabaseUrl, args: ServeArgs) -> anyhow::Result<()> {
    let pool = open_migrated(url, args.db_max_connections).await?;
    let leptos = leptos_options(&args);
    let bundle = Path::new(&*leptos.site_root)
        .join(&*leptos.site_pkg_dir)
        .join(format!("{}.js", leptos.output_name));
    if !bundle.exists() {
        tracing::warn!(
            path = %bundle.display(),
            "the browser bundle is missing: pages render without styles and interactivity; \
             build it with 'make build' and start from the repository root"
        );
    }
    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("listening on {}", args.addr))?;
    tracing::info!(addr = %args.addr, "serving the dashboard on http://{}/", args.addr);
    tokio::spawn(sweep_expired_acceptances(pool.clone()));
    let state = AppState {
        pool,
        leptos,
        limits: Limits {
            max_report_bytes: args.max_report_bytes,
        },
    };
    serve(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// How often `serve` reopens findings whose risk acceptance has expired.
const EXPIRY_SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// Background task of `serve`: reopens expired acceptances at start and then every
/// [`EXPIRY_SWEEP_EVERY`] (ingest also reopens them for the findings a report touches).
async fn sweep_expired_acceptances(pool: sqlx::PgPool) {
    let mut every = tokio::time::interval(EXPIRY_SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let result = match pool.acquire().await {
            Ok(mut conn) => crate::db::findings::expire_acceptances(&mut conn).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(reopened = n, "expired risk acceptances reopened"),
            Err(e) => tracing::warn!(error = %e, "expiry sweep failed; retrying later"),
        }
    }
}

/// Where the site is and how it is served. The names follow cargo-leptos' `LEPTOS_*` variables
/// so that `cargo leptos serve` and a plain `bulwark serve` from the repository root agree.
pub fn leptos_options(args: &ServeArgs) -> LeptosOptions {
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    LeptosOptions::builder()
        .output_name(env("LEPTOS_OUTPUT_NAME", "bulwark"))
        .site_root(args.site_root.to_string_lossy().into_owned())
        .site_pkg_dir(env("LEPTOS_SITE_PKG_DIR", "pkg"))
        .site_addr(args.addr)
        .build()
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing open requests");
}

async fn token_create(pool: &PgPool, args: &TokenCreateArgs) -> anyhow::Result<()> {
    let issued = issue_ingest_token(pool, args).await?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Created ingest token '{}' for {}.",
        issued.name, issued.scope
    )?;
    writeln!(out, "Store it now: it is shown only this once.")?;
    writeln!(out, "{}", issued.secret.expose())?;
    Ok(())
}

/// A token just created; the secret exists only here.
pub struct IssuedToken {
    /// The secret to hand to the scanner.
    pub secret: TokenSecret,
    /// The token's name.
    pub name: String,
    /// "source 'x' in cluster 'y'", for messages.
    pub scope: String,
}

/// Creates an ingest token as `bulwark token create` does: the cluster and the source are
/// created when new, all in one transaction.
pub async fn issue_ingest_token(
    pool: &PgPool,
    args: &TokenCreateArgs,
) -> anyhow::Result<IssuedToken> {
    let source = args.source.trim();
    if source.is_empty() {
        bail!("--source must not be empty");
    }
    let mut tx = pool.begin().await?;
    let cluster_id = match &args.cluster {
        Some(name) => Some(
            db::estate::upsert_cluster(
                &mut tx,
                &ClusterSpec {
                    name: name.trim(),
                    provider: args.provider.map(|p| p.as_str()),
                    environment: args.environment.map(|e| e.as_str()),
                    region: args.region.as_deref(),
                    ..ClusterSpec::default()
                },
            )
            .await
            .map_err(
                |e| match e.as_database_error().and_then(|d| d.constraint()) {
                    Some("cluster_name_check") => anyhow::anyhow!(
                        "'{name}' is not a valid cluster name: use letters, digits and . _ : - \
                     (at most 128 characters)"
                    ),
                    _ => e.into(),
                },
            )?,
        ),
        None => None,
    };
    let source_id = db::tokens::ensure_source(&mut tx, source, cluster_id)
        .await
        .map_err(|e| match &e {
            db::tokens::SourceError::Database(d)
                if d.as_database_error().and_then(|x| x.constraint())
                    == Some("source_name_check") =>
            {
                anyhow::anyhow!(
                    "'{source}' is not a valid source name: use letters, digits and . _ : / - \
                     (at most 128 characters)"
                )
            }
            _ => anyhow::anyhow!(e),
        })?;
    let secret = TokenSecret::generate().context("reading the system's random generator")?;
    let name = args.name.as_deref().unwrap_or(source);
    db::tokens::create_ingest_token(
        &mut tx,
        name,
        &secret.hash(),
        secret.display_prefix(),
        source_id,
        cluster_id,
    )
    .await?;
    tx.commit().await?;

    let scope = match &args.cluster {
        Some(cluster) => format!("source '{source}' in cluster '{cluster}'"),
        None => format!("source '{source}' (no cluster)"),
    };
    Ok(IssuedToken {
        secret,
        name: name.to_owned(),
        scope,
    })
}
