//! What each subcommand does. `anyhow` is fine here: this is the outermost layer.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::auth::oidc::{Oidc, OidcSettings};
use crate::auth::{AuthSettings, password};
use crate::config::{
    Cli, Command, DatabaseUrl, IntelCommand, IntelFeedArg, ServeArgs, TokenCommand,
    TokenCreateArgs, UserCommand,
};
use crate::db;
use crate::db::audit::{Actor, Event};
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
        Command::Token {
            command: TokenCommand::Revoke { id },
        } => {
            let pool = open_migrated(&url, 2).await?;
            let mut tx = pool.begin().await?;
            let cluster_id = db::tokens::cluster_of(&mut tx, id).await?;
            if !db::tokens::revoke(&mut tx, id).await? {
                bail!("there is no live token with id {id} (see 'bulwark token list')");
            }
            audit_cli(
                &mut tx,
                "token.revoke",
                ("token", id.to_string()),
                cluster_id,
                serde_json::json!({}),
            )
            .await?;
            tx.commit().await?;
            writeln!(std::io::stdout().lock(), "Revoked token {id}.")?;
            Ok(())
        }
        Command::Token {
            command: TokenCommand::List,
        } => {
            let pool = open_migrated(&url, 2).await?;
            let mut conn = pool.acquire().await?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "id\tname\tprefix\tscopes\tsource\tcluster\tlast used\tstate"
            )?;
            for t in db::tokens::list(&mut conn, None).await? {
                let state = match (t.revoked_at, t.expires_at) {
                    (Some(at), _) => format!("revoked {}", at.format("%Y-%m-%d")),
                    (None, Some(at)) if at <= chrono::Utc::now() => "expired".to_owned(),
                    _ => "live".to_owned(),
                };
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.name,
                    t.token_prefix,
                    t.scopes.join(","),
                    t.source.unwrap_or_default(),
                    t.cluster.unwrap_or_default(),
                    t.last_used_at
                        .map(|a| a.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_else(|| "never".to_owned()),
                    state
                )?;
            }
            Ok(())
        }
        Command::User { command } => {
            let pool = open_migrated(&url, 2).await?;
            user_command(&pool, command).await
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
        Command::Demo(args) => {
            let request = args.request()?;
            let pool = open_migrated(&url, 6).await?;
            let mut conn = pool.acquire().await?;
            if db::users::count(&mut conn).await? == 0 {
                let email = "admin@bulwark.local";
                let secret = password::generate()?;
                create_user(
                    &pool,
                    email,
                    "Demo administrator",
                    app::model::Role::Admin,
                    &secret,
                )
                .await?;
                let mut out = std::io::stdout().lock();
                writeln!(out, "Created the first administrator. Sign in with:")?;
                writeln!(out, "  e-mail:   {email}")?;
                writeln!(out, "  password: {secret}")?;
                writeln!(
                    out,
                    "The password is shown only this once; change it under Account."
                )?;
            }
            drop(conn);
            match demo::load(&pool, request).await? {
                demo::Outcome::Loaded(s) => tracing::info!(
                    clusters = s.clusters,
                    images = s.images,
                    reports = s.reports,
                    findings = s.findings,
                    open = s.open,
                    fixed = s.fixed,
                    reopened = s.reopened,
                    accepted = s.accepted,
                    seconds = format!("{:.1}", s.seconds),
                    "demo fleet loaded"
                ),
                demo::Outcome::AlreadyLoaded => tracing::info!(
                    "the database holds a demo fleet already; nothing loaded (start from an \
                     empty database for another one)"
                ),
                demo::Outcome::HoldsOtherData => tracing::info!(
                    "the database holds data of its own; the demo fleet was not loaded"
                ),
            }
            Ok(())
        }
    }
}

/// `bulwark demo [--clusters N] [--findings N] [--days N] [--seed N] [--force]`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Clusters of a scaled fleet (default 20 when another size option is given).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=2000))]
    pub clusters: Option<u32>,
    /// Findings the scaled fleet's history creates (default 100000).
    #[arg(long, value_parser = clap::value_parser!(u64).range(100..=20_000_000))]
    pub findings: Option<u64>,
    /// Days of history, ending now (default 90).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=365))]
    pub days: Option<u32>,
    /// Seed of the scaled fleet: the same seed, the same fleet (default 7).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Load even when the database holds data that is not the demo's.
    #[arg(long, conflicts_with = "if_empty")]
    pub force: bool,
    /// Load only into a database without data of its own; otherwise say so and succeed without
    /// loading (what `make run` uses, so that it also serves an existing database).
    #[arg(long)]
    pub if_empty: bool,
}

impl DemoArgs {
    /// What to load: the small fleet without size options, else the scaled fleet.
    pub fn request(&self) -> anyhow::Result<demo::Request> {
        let scaled = self.clusters.is_some()
            || self.findings.is_some()
            || self.days.is_some()
            || self.seed.is_some();
        let size = if scaled {
            let size = demo::Size {
                clusters: self.clusters.unwrap_or(20),
                findings: self.findings.unwrap_or(100_000),
                days: self.days.unwrap_or(90),
                seed: self.seed.unwrap_or(7),
            };
            if size.findings < u64::from(size.clusters) * 20 {
                bail!(
                    "--findings {} is too few for {} clusters: give at least 20 per cluster ({})",
                    size.findings,
                    size.clusters,
                    u64::from(size.clusters) * 20
                );
            }
            Some(size)
        } else {
            None
        };
        Ok(demo::Request {
            size,
            force: self.force,
            if_empty: self.if_empty,
        })
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
    let public_origin = args
        .public_url
        .as_deref()
        .map(|u| u.trim().trim_end_matches('/').to_owned())
        .filter(|u| !u.is_empty());
    if let Some(origin) = &public_origin
        && !(origin.starts_with("https://") || origin.starts_with("http://"))
    {
        bail!("BULWARK_PUBLIC_URL must start with https:// or http://, got '{origin}'");
    }
    let auth = AuthSettings {
        secure_cookies: public_origin
            .as_deref()
            .is_some_and(|o| o.starts_with("https://")),
        public_origin,
        session_idle: std::time::Duration::from_secs(args.session_idle_minutes.max(1) * 60),
        session_absolute: std::time::Duration::from_secs(args.session_hours.max(1) * 3600),
        login_attempts_per_minute: args.login_attempts_per_minute,
        ingest_reports_per_minute: args.ingest_reports_per_minute,
        ..AuthSettings::default()
    };
    let callback_base = auth
        .public_origin
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.addr));
    let mut state = AppState::new(
        pool,
        leptos,
        Limits {
            max_report_bytes: args.max_report_bytes,
        },
        auth,
    );
    if let Some(issuer) = &args.oidc_issuer {
        let client_id = args
            .oidc_client_id
            .clone()
            .context("BULWARK_OIDC_ISSUER is set: set BULWARK_OIDC_CLIENT_ID too")?;
        let role_map = OidcSettings::parse_role_map(&args.oidc_role_map)
            .map_err(|e| anyhow::anyhow!("BULWARK_OIDC_ROLE_MAP: {e}"))?;
        if role_map.is_empty() && args.oidc_default_role.is_none() {
            tracing::warn!(
                "single sign-on has no BULWARK_OIDC_ROLE_MAP and no default role: \
                 every provider user will be refused"
            );
        }
        let settings = OidcSettings {
            issuer: issuer.trim_end_matches('/').to_owned(),
            client_id,
            client_secret: args
                .oidc_client_secret
                .as_ref()
                .map(|s| s.expose().to_owned()),
            redirect_url: format!("{callback_base}/auth/oidc/callback"),
            roles_claim: args.oidc_roles_claim.clone(),
            role_map,
            default_role: args.oidc_default_role.map(|r| r.role()),
        };
        tracing::info!(issuer = %settings.issuer, redirect = %settings.redirect_url, "single sign-on enabled");
        state = state.with_oidc(Oidc::new(settings)?);
    }
    crate::jobs::spawn_all(&state);
    serve(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
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
    if args.intel && args.cluster.is_some() {
        bail!("a token bound to a cluster cannot import fleet-wide threat intelligence (--intel)");
    }
    let scopes: &[&str] = if args.intel {
        &["ingest", "intel"]
    } else {
        &["ingest"]
    };
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
    let token_id = db::tokens::create(
        &mut tx,
        &db::tokens::NewToken {
            name,
            hash: &secret.hash(),
            prefix: secret.display_prefix(),
            scopes,
            source_id: Some(source_id),
            cluster_id,
            created_by: None,
            expires_in_days: args.expires_in_days.map(i64::from),
        },
    )
    .await?;
    audit_cli(
        &mut tx,
        "token.create",
        ("token", token_id.to_string()),
        cluster_id,
        serde_json::json!({ "name": name, "source": source, "cluster": args.cluster, "scopes": scopes }),
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

async fn audit_cli(
    conn: &mut sqlx::PgConnection,
    action: &str,
    target: (&str, String),
    cluster_id: Option<i64>,
    details: serde_json::Value,
) -> anyhow::Result<()> {
    db::audit::record(
        conn,
        Event {
            actor: Actor::Cli,
            action,
            target: Some(target),
            cluster_id,
            ip: None,
            details,
        },
    )
    .await?;
    Ok(())
}

/// Creates a local user with this password (checked against the policy), audited as done at
/// the command line. Returns the user's id.
pub async fn create_user(
    pool: &PgPool,
    email: &str,
    name: &str,
    role: app::model::Role,
    secret: &str,
) -> anyhow::Result<i64> {
    let email = email.trim();
    if !valid_email(email) {
        bail!("'{email}' is not an e-mail address");
    }
    password::check_new(secret, email)?;
    let hash = password::hash(secret.to_owned()).await?;
    let mut tx = pool.begin().await?;
    if db::users::find_by_email(&mut tx, email).await?.is_some() {
        bail!("a user with the e-mail address '{email}' already exists");
    }
    let id = db::users::create(&mut tx, email, name.trim(), role, &hash).await?;
    audit_cli(
        &mut tx,
        "user.create",
        ("user", id.to_string()),
        None,
        serde_json::json!({ "email": email, "role": role.as_str() }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

fn valid_email(email: &str) -> bool {
    email.len() <= 320
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn read_password_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

async fn user_id(pool: &PgPool, email: &str) -> anyhow::Result<i64> {
    let mut conn = pool.acquire().await?;
    Ok(db::users::find_by_email(&mut conn, email)
        .await?
        .with_context(|| format!("there is no user '{email}'"))?
        .id)
}

async fn user_command(pool: &PgPool, command: UserCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        UserCommand::Create {
            email,
            role,
            name,
            password_stdin,
        } => {
            let secret = if password_stdin {
                read_password_line()?
            } else {
                password::generate()?
            };
            let id = create_user(pool, &email, &name, role.role(), &secret).await?;
            writeln!(
                out,
                "Created user {id} '{}' ({}).",
                email.trim(),
                role.role().as_str()
            )?;
            if !password_stdin {
                writeln!(out, "Password (shown only this once):")?;
                writeln!(out, "{secret}")?;
            }
        }
        UserCommand::SetRole { email, role } => {
            let id = user_id(pool, &email).await?;
            let mut tx = pool.begin().await?;
            let old = db::users::set_role(&mut tx, id, role.role())
                .await?
                .with_context(|| format!("there is no user '{email}'"))?;
            db::users::delete_sessions_of(&mut tx, id).await?;
            audit_cli(
                &mut tx,
                "user.role_change",
                ("user", id.to_string()),
                None,
                serde_json::json!({ "from": old, "to": role.role().as_str() }),
            )
            .await?;
            tx.commit().await?;
            writeln!(
                out,
                "'{email}' is now {} (was {old}).",
                role.role().as_str()
            )?;
        }
        UserCommand::ResetPassword {
            email,
            password_stdin,
        } => {
            let id = user_id(pool, &email).await?;
            let secret = if password_stdin {
                read_password_line()?
            } else {
                password::generate()?
            };
            password::check_new(&secret, &email)?;
            let hash = password::hash(secret.clone()).await?;
            let mut tx = pool.begin().await?;
            db::users::set_password_hash(&mut tx, id, &hash).await?;
            let ended = db::users::delete_sessions_of(&mut tx, id).await?;
            audit_cli(
                &mut tx,
                "user.password_reset",
                ("user", id.to_string()),
                None,
                serde_json::json!({ "sessions_ended": ended }),
            )
            .await?;
            tx.commit().await?;
            writeln!(
                out,
                "New password set for '{email}'; {ended} session(s) ended."
            )?;
            if !password_stdin {
                writeln!(out, "Password (shown only this once):")?;
                writeln!(out, "{secret}")?;
            }
        }
        UserCommand::Unlock { email } => {
            let id = user_id(pool, &email).await?;
            let login = crate::auth::rate::throttle_login(&email);
            let mut tx = pool.begin().await?;
            let cleared = db::login_throttle::forget_login(&mut tx, &login).await?;
            audit_cli(
                &mut tx,
                "login.unlock",
                ("user", id.to_string()),
                None,
                serde_json::json!({ "email": login, "keys_cleared": cleared }),
            )
            .await?;
            tx.commit().await?;
            writeln!(
                out,
                "Forgot the failed sign-ins of '{login}' from {cleared} address(es); \
                 nothing delays their sign-in now."
            )?;
        }
        UserCommand::SetScope {
            email,
            clusters,
            providers,
            environments,
        } => {
            let id = user_id(pool, &email).await?;
            let providers: Vec<String> = providers.iter().map(|p| p.as_str().to_owned()).collect();
            let environments: Vec<String> =
                environments.iter().map(|e| e.as_str().to_owned()).collect();
            let mut tx = pool.begin().await?;
            db::users::set_scope(&mut tx, id, &providers, &environments, &clusters).await?;
            audit_cli(
                &mut tx,
                "user.scope_change",
                ("user", id.to_string()),
                None,
                serde_json::json!({
                    "clusters": clusters, "providers": providers, "environments": environments
                }),
            )
            .await?;
            tx.commit().await?;
            writeln!(out, "Scope of '{email}' updated.")?;
        }
    }
    Ok(())
}
