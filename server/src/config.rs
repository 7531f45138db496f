//! The command line: one clap struct; every flag has an environment fallback, shown by
//! `bulwark --help`. Secrets (the database password) are redacted in `Debug`.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Bulwark: unified container security posture. Ingests scanner, runtime and audit reports into
/// PostgreSQL and serves the dashboard.
#[derive(Debug, Parser)]
#[command(name = "bulwark", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// PostgreSQL connection URL, e.g. postgres://user:password@127.0.0.1:5432/bulwark.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<DatabaseUrl>,

    /// Log output: human-readable text or one JSON object per line.
    #[arg(
        long,
        env = "BULWARK_LOG_FORMAT",
        global = true,
        default_value = "text"
    )]
    pub log_format: LogFormat,

    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Options of `serve`, also accepted without the subcommand.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the dashboard and the API (the default). Applies pending migrations first.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage API tokens.
    Token {
        /// Token action.
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage users.
    User {
        /// User action.
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Load a realistic demo fleet into an empty database (does nothing if it holds a demo
    /// already), and create the first administrator when there is no user (credentials printed
    /// once). Without size options, the small fleet; with them, a fleet of that size with days
    /// of history.
    Demo(crate::cli::DemoArgs),
    /// Threat intelligence: CISA KEV and FIRST EPSS.
    Intel {
        /// Intel action.
        #[command(subcommand)]
        command: IntelCommand,
    },
}

/// `bulwark intel ...`.
#[derive(Debug, Subcommand)]
pub enum IntelCommand {
    /// Import a KEV catalog (JSON or CSV) or an EPSS CSV (gzip accepted) and rescore the
    /// findings it concerns.
    Import {
        /// Which feed the file is.
        feed: IntelFeedArg,
        /// The file.
        file: PathBuf,
    },
}

/// A threat intelligence feed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum IntelFeedArg {
    /// CISA Known Exploited Vulnerabilities catalog.
    Kev,
    /// FIRST Exploit Prediction Scoring System scores.
    Epss,
}

/// `bulwark token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an ingest token for a source (and optionally a cluster). The token is printed
    /// once, alone on the last line of the output; only its hash is stored.
    Create(TokenCreateArgs),
    /// Revoke a token by its id: it stops working at once.
    Revoke {
        /// The token's id (shown by `bulwark token list`).
        id: i64,
    },
    /// List tokens (never their secrets).
    List,
}

/// A role, as given on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Everything, users and settings included.
    Admin,
    /// All views, triage, approving acceptances, tokens, the audit log.
    Manager,
    /// All views, triage and incidents.
    Analyst,
    /// Read-only views and reports.
    Executive,
}

impl RoleArg {
    /// The role.
    pub fn role(self) -> app::model::Role {
        match self {
            RoleArg::Admin => app::model::Role::Admin,
            RoleArg::Manager => app::model::Role::Manager,
            RoleArg::Analyst => app::model::Role::Analyst,
            RoleArg::Executive => app::model::Role::Executive,
        }
    }
}

/// `bulwark user ...`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a local user. Without --password-stdin a password is generated and printed once.
    Create {
        /// The login name.
        #[arg(long)]
        email: String,
        /// What they may do.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The name shown in the interface.
        #[arg(long, default_value = "")]
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's role (their sessions end).
    SetRole {
        /// The login name.
        #[arg(long)]
        email: String,
        /// The new role.
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// Set a new password (generated and printed once unless --password-stdin); every session
    /// of the user ends.
    ResetPassword {
        /// The login name.
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Lift every sign-in pause of a user: the failed sign-ins counted against their account,
    /// from every address, are forgotten (audited as `login.unlock`).
    Unlock {
        /// The login name.
        email: String,
    },
    /// Limit what a user sees to some clusters, providers or environments (repeat a flag for
    /// several; values of one kind add up, different kinds narrow). No flags: unlimited.
    SetScope {
        /// The login name.
        #[arg(long)]
        email: String,
        /// A cluster name.
        #[arg(long = "cluster")]
        clusters: Vec<String>,
        /// A provider.
        #[arg(long = "provider", value_enum)]
        providers: Vec<Provider>,
        /// An environment.
        #[arg(long = "environment", value_enum)]
        environments: Vec<Environment>,
    },
}

/// `bulwark token create`.
#[derive(Debug, Default, Args)]
pub struct TokenCreateArgs {
    /// The source (scanner install) the token sends for; created if new.
    #[arg(long)]
    pub source: String,
    /// The cluster the source runs in; created if new. Omit for CI pipelines and the like.
    #[arg(long)]
    pub cluster: Option<String>,
    /// The cluster's provider (only with --cluster).
    #[arg(long, requires = "cluster")]
    pub provider: Option<Provider>,
    /// The cluster's environment (only with --cluster).
    #[arg(long, requires = "cluster")]
    pub environment: Option<Environment>,
    /// The cluster's region or site (only with --cluster).
    #[arg(long, requires = "cluster")]
    pub region: Option<String>,
    /// A name for the token, to recognise it later; defaults to the source name.
    #[arg(long)]
    pub name: Option<String>,
    /// Days until the token expires (1 to 3650); never when omitted.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=3650))]
    pub expires_in_days: Option<u16>,
    /// The token may also import threat intelligence (KEV, EPSS) for the whole fleet. Not
    /// with --cluster: a cluster's token never changes fleet-wide data.
    #[arg(long, conflicts_with = "cluster")]
    pub intel: bool,
}

/// `bulwark serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "BULWARK_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// Largest report accepted, in bytes, after gzip decompression.
    #[arg(long, env = "BULWARK_MAX_REPORT_BYTES", default_value_t = 100 * 1024 * 1024)]
    pub max_report_bytes: usize,

    /// Most database connections the server opens.
    #[arg(long, env = "BULWARK_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// The address browsers use, e.g. https://bulwark.example.com, when Bulwark runs behind a
    /// proxy. An https address makes session cookies Secure and turns on HSTS.
    #[arg(long, env = "BULWARK_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Minutes of inactivity after which a session ends.
    #[arg(long, env = "BULWARK_SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: u64,
    /// Hours after sign-in at which a session ends, used or not.
    #[arg(long, env = "BULWARK_SESSION_HOURS", default_value_t = 12)]
    pub session_hours: u64,
    /// Sign-in attempts allowed per client address per minute.
    #[arg(long, env = "BULWARK_LOGIN_ATTEMPTS_PER_MINUTE", default_value_t = 10)]
    pub login_attempts_per_minute: u32,
    /// Reports allowed per ingest token per minute.
    #[arg(long, env = "BULWARK_INGEST_REPORTS_PER_MINUTE", default_value_t = 120)]
    pub ingest_reports_per_minute: u32,
    /// OpenID Connect issuer URL of the identity provider; enables single sign-on.
    #[arg(long, env = "BULWARK_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// Bulwark's client id at the identity provider.
    #[arg(long, env = "BULWARK_OIDC_CLIENT_ID", requires = "oidc_issuer")]
    pub oidc_client_id: Option<String>,
    /// The client secret (confidential clients).
    #[arg(long, env = "BULWARK_OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<Secret>,
    /// The ID token claim with the user's groups or roles (dots reach into objects).
    #[arg(long, env = "BULWARK_OIDC_ROLES_CLAIM", default_value = "groups")]
    pub oidc_roles_claim: String,
    /// Claim values to roles: `bulwark-admins=admin,secops=manager,soc=analyst,board=executive`.
    #[arg(long, env = "BULWARK_OIDC_ROLE_MAP", default_value = "")]
    pub oidc_role_map: String,
    /// The role of provider users none of whose claim values is mapped; unset refuses them.
    #[arg(long, env = "BULWARK_OIDC_DEFAULT_ROLE", value_enum)]
    pub oidc_default_role: Option<RoleArg>,
    /// Directory with the built site (the `pkg/` bundle and public files), relative to the
    /// working directory.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Where a cluster runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Provider {
    /// Amazon Web Services.
    Aws,
    /// Google Cloud.
    Gcp,
    /// Microsoft Azure.
    Azure,
    /// Own data centre.
    Onprem,
    /// Anything else.
    Other,
}

impl Provider {
    /// The value stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Gcp => "gcp",
            Provider::Azure => "azure",
            Provider::Onprem => "onprem",
            Provider::Other => "other",
        }
    }
}

/// What a cluster is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Environment {
    /// Production.
    Prod,
    /// Staging.
    Staging,
    /// Development.
    Dev,
}

impl Environment {
    /// The value stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Prod => "prod",
            Environment::Staging => "staging",
            Environment::Dev => "dev",
        }
    }
}

/// A secret from the command line or environment; `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The secret itself: pass it on, never to a log.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for Secret {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A PostgreSQL URL. `Debug` and `Display` hide the password.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The full URL, password included: pass it to the driver, never to a log.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(DatabaseUrl(s.to_owned()))
        } else {
            Err("expected a URL starting with postgres:// or postgresql://".to_owned())
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // postgres://user:secret@host/db -> postgres://user:***@host/db
        let url = &self.0;
        let scheme_end = url.find("://").map_or(0, |i| i + 3);
        match url[scheme_end..].find('@') {
            Some(at) => {
                let userinfo = &url[scheme_end..scheme_end + at];
                let user = userinfo.split(':').next().unwrap_or_default();
                let masked = if userinfo.contains(':') { ":***" } else { "" };
                write!(
                    f,
                    "{}{user}{masked}{}",
                    &url[..scheme_end],
                    &url[scheme_end + at..]
                )
            }
            None => f.write_str(url),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_password_never_shows() {
        let url: DatabaseUrl = "postgres://bulwark:s3cret@db:5432/bulwark".parse().unwrap();
        assert_eq!(url.to_string(), "postgres://bulwark:***@db:5432/bulwark");
        assert!(!format!("{url:?}").contains("s3cret"));
        let plain: DatabaseUrl = "postgres://postgres@127.0.0.1:5432/x".parse().unwrap();
        assert_eq!(plain.to_string(), "postgres://postgres@127.0.0.1:5432/x");
    }

    #[test]
    fn other_schemes_are_refused() {
        assert!("mysql://x".parse::<DatabaseUrl>().is_err());
    }

    #[test]
    fn command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
