//! The hub's configuration: command-line flags with `HUB_*` environment
//! fallbacks, validated in one pass before anything is bound.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::auth::{OriginPolicy, Secret};

/// Command-line flags; each also reads an environment variable.
#[derive(Debug, Parser)]
#[command(name = "flotilla-hub", version, about = "The Flotilla hub")]
pub struct HubArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "HUB_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Directory for the SQLite database.
    #[arg(long, env = "HUB_DATA_DIR", default_value = ".flotilla/hub")]
    pub data_dir: PathBuf,
    /// A database URL (`sqlite://…` or `postgres://…`); defaults to SQLite in the data dir.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// The URL browsers use to reach the hub, e.g. `https://flotilla.example.com`.
    /// Browser requests must come from this origin. Without it, a browser's
    /// `Origin` must match the `Host` it connected to.
    #[arg(long, env = "HUB_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Directory of the built frontend.
    #[arg(long, env = "HUB_STATIC_DIR", default_value = "frontend/dist")]
    pub static_dir: PathBuf,
    /// How long a spawn waits for the daemon to confirm, in milliseconds.
    #[arg(long, env = "HUB_SPAWN_TIMEOUT_MS", default_value_t = 15_000)]
    pub spawn_timeout_ms: u64,
    /// How long shutdown waits for tasks to finish, in milliseconds.
    #[arg(long, env = "HUB_SHUTDOWN_GRACE_MS", default_value_t = 5_000)]
    pub shutdown_grace_ms: u64,
    /// How often session usage held in memory is written to the database, in
    /// milliseconds (and once more at shutdown).
    #[arg(long, env = "HUB_USAGE_FLUSH_MS", default_value_t = 1_000)]
    pub usage_flush_ms: u64,
    /// How long a login lasts, in milliseconds (30 days). Its browser
    /// sockets are disconnected when it expires.
    #[arg(long, env = "HUB_LOGIN_TTL_MS", default_value_t = crate::auth::LOGIN_TTL_MS as u64)]
    pub login_ttl_ms: u64,
    /// How long a Socket.IO connection may stay without authenticating
    /// (joining a namespace) before it is closed, in milliseconds.
    #[arg(long, env = "HUB_HANDSHAKE_TIMEOUT_MS", default_value_t = crate::admission::CONNECT_TIMEOUT.as_millis() as u64)]
    pub handshake_timeout_ms: u64,
    /// A file holding the bearer token that lets a scraper read `/metrics`
    /// on the main listener without a login. The token never goes in argv.
    #[arg(long, env = "HUB_METRICS_TOKEN_FILE")]
    pub metrics_token_file: Option<PathBuf>,
    /// Also serve `/metrics` WITHOUT authentication on this address. Bind it
    /// to loopback or a private network only.
    #[arg(long, env = "HUB_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// An administrative task to run instead of serving.
    #[command(subcommand)]
    pub command: Option<HubCommand>,
}

/// Administrative tasks that work on the database directly.
#[derive(Debug, clap::Subcommand)]
pub enum HubCommand {
    /// Creates the host (or rotates its token if it exists) and writes the
    /// new token to a file readable only by its owner. Used to bootstrap a
    /// daemon on the hub's own machine without a browser.
    IssueHostToken {
        /// The host's name.
        name: String,
        /// Where to write the token.
        #[arg(long)]
        token_file: PathBuf,
    },
}

/// The validated configuration `run` needs.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The data directory (created at start when SQLite lives there).
    pub data_dir: PathBuf,
    /// The database URL.
    pub database_url: String,
    /// Which browser origins are accepted.
    pub origin: OriginPolicy,
    /// Whether cookies get the `Secure` attribute (public URL is https).
    pub secure_cookies: bool,
    /// The built frontend.
    pub static_dir: PathBuf,
    /// The first admin's password; generated when absent.
    pub admin_password: Option<Secret>,
    /// How long a spawn waits for the daemon.
    pub spawn_timeout: Duration,
    /// How long shutdown waits for tasks.
    pub shutdown_grace: Duration,
    /// How often usage is flushed to the database.
    pub usage_flush_interval: Duration,
    /// How long a login lasts.
    pub login_ttl: Duration,
    /// How long an unauthenticated Socket.IO connection may stay.
    pub handshake_timeout: Duration,
    /// The bearer token for `/metrics`, when configured.
    pub metrics_token: Option<Secret>,
    /// Where to serve `/metrics` without authentication, when configured.
    pub metrics_listen: Option<SocketAddr>,
}

impl HubConfig {
    /// Validates flags and the admin password (from `FLOTILLA_ADMIN_PASSWORD`),
    /// returning every problem at once.
    pub fn from_args(args: HubArgs, admin_password: Option<String>) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let listen = args
            .listen
            .parse::<SocketAddr>()
            .map_err(|error| problems.push(format!("--listen {:?}: {error}", args.listen)))
            .ok();
        let (origin, secure_cookies) = match args.public_url.as_deref() {
            None => (OriginPolicy::SameHost, false),
            Some(url) => match public_origin(url) {
                Ok(origin) => {
                    let secure = origin.starts_with("https://");
                    (OriginPolicy::Exact(origin), secure)
                }
                Err(problem) => {
                    problems.push(problem);
                    (OriginPolicy::SameHost, false)
                }
            },
        };
        let database_url = match args.database_url {
            Some(url) if url.starts_with("sqlite:") || url.starts_with("postgres") => url,
            Some(url) => {
                problems.push(format!(
                    "DATABASE_URL {url:?} is not supported: use sqlite://… or postgres://…"
                ));
                String::new()
            }
            None => format!(
                "sqlite://{}?mode=rwc",
                args.data_dir.join("flotilla.db").display()
            ),
        };
        let admin_password = match admin_password {
            Some(password) if password.chars().count() < 8 => {
                problems.push("FLOTILLA_ADMIN_PASSWORD must be at least 8 characters".into());
                None
            }
            other => other.map(Secret::new),
        };
        if args.spawn_timeout_ms == 0 {
            problems.push("--spawn-timeout-ms must be positive".into());
        }
        if args.login_ttl_ms == 0 {
            problems.push("--login-ttl-ms must be positive".into());
        }
        if args.handshake_timeout_ms == 0 {
            problems.push("--handshake-timeout-ms must be positive".into());
        }
        if args.usage_flush_ms == 0 {
            problems.push("--usage-flush-ms must be positive".into());
        }
        let metrics_token =
            args.metrics_token_file
                .as_deref()
                .and_then(|path| match read_token_file(path) {
                    Ok(token) => Some(token),
                    Err(problem) => {
                        problems.push(problem);
                        None
                    }
                });
        let metrics_listen = args.metrics_listen.as_deref().and_then(|raw| {
            raw.parse::<SocketAddr>()
                .map_err(|error| problems.push(format!("--metrics-listen {raw:?}: {error}")))
                .ok()
        });
        match (problems.is_empty(), listen) {
            (true, Some(listen)) => Ok(HubConfig {
                listen,
                data_dir: args.data_dir,
                database_url,
                origin,
                secure_cookies,
                static_dir: args.static_dir,
                admin_password,
                spawn_timeout: Duration::from_millis(args.spawn_timeout_ms),
                shutdown_grace: Duration::from_millis(args.shutdown_grace_ms),
                usage_flush_interval: Duration::from_millis(args.usage_flush_ms),
                login_ttl: Duration::from_millis(args.login_ttl_ms),
                handshake_timeout: Duration::from_millis(args.handshake_timeout_ms),
                metrics_token,
                metrics_listen,
            }),
            _ => Err(problems),
        }
    }
}

/// Shortest metrics token accepted: a guessable token would open `/metrics`.
pub const MIN_METRICS_TOKEN_CHARS: usize = 16;

/// Reads the metrics token: the file's content without surrounding
/// whitespace, at least [`MIN_METRICS_TOKEN_CHARS`] long.
fn read_token_file(path: &std::path::Path) -> Result<Secret, String> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        format!(
            "--metrics-token-file {}: cannot read it: {error}",
            path.display()
        )
    })?;
    let token = text.trim();
    if token.chars().count() < MIN_METRICS_TOKEN_CHARS {
        return Err(format!(
            "--metrics-token-file {}: the token must be at least {MIN_METRICS_TOKEN_CHARS} characters",
            path.display()
        ));
    }
    Ok(Secret::new(token))
}

/// `scheme://host[:port]` of a public URL, which is what browsers send as `Origin`.
fn public_origin(url: &str) -> Result<String, String> {
    let (scheme, rest) = url
        .split_once("://")
        .filter(|(scheme, _)| matches!(*scheme, "http" | "https"))
        .ok_or_else(|| format!("--public-url {url:?} must start with http:// or https://"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(format!("--public-url {url:?} has no host"));
    }
    Ok(format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests;
