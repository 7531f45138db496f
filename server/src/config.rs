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
    /// Load a realistic demo fleet into an empty database (does nothing if data exists).
    Demo,
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
