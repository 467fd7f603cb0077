//! The daemon's one [`Config`]: command-line and environment parsing with
//! clap, then a pure validation step that reports every problem at once.

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::secret::TokenSource;
pub use crate::secret::{Secret, TOKEN_ENV};

/// Default project-discovery depth below each root.
pub const DEFAULT_SCAN_DEPTH: usize = 3;

/// Default grace period between SIGTERM and SIGKILL, in milliseconds.
pub const DEFAULT_STOP_GRACE_MS: u64 = 3000;

/// Default OTLP receiver URL agents export to (`{otlp_endpoint}`) when
/// the receiver listens on [`DEFAULT_OTLP_LISTEN`].
pub const DEFAULT_OTLP_ENDPOINT: &str = "http://127.0.0.1:4318";

/// Default address of the OTLP/HTTP receiver.
pub const DEFAULT_OTLP_LISTEN: &str = "127.0.0.1:4318";

/// Largest accepted `--scan-depth`; deeper scans of big trees take too long.
pub const MAX_SCAN_DEPTH: usize = 32;

/// Largest accepted `--stop-grace-ms` (10 minutes).
pub const MAX_STOP_GRACE_MS: u64 = 600_000;

/// The most scrollback lines a session may keep (each line of a wide
/// terminal costs a few KiB once filled).
pub const MAX_SCROLLBACK_LINES: usize = 100_000;

/// The command line of `flotilla-daemon`.
#[derive(Debug, Parser)]
#[command(
    name = "flotilla-daemon",
    version,
    about = "Runs agent CLIs in PTYs and relays them to a Flotilla hub"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: CliCommand,
}

/// The subcommands of `flotilla-daemon`.
#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Connect to the hub and run sessions until SIGINT/SIGTERM.
    Run(RunArgs),
    /// Work with profile files.
    #[command(subcommand)]
    Profiles(ProfilesCommand),
    /// Render the daemon Containerfile from the profiles.
    Containerfile(crate::containerfile::ContainerfileArgs),
    /// Print a `podman run` command, quadlet unit or compose service for the daemon.
    RunConfig(crate::run_config::RunConfigArgs),
}

/// The subcommands of `flotilla-daemon profiles`.
#[derive(Debug, Subcommand)]
pub enum ProfilesCommand {
    /// Print every problem of every `*.yaml` in DIR as
    /// `file:line:column: path: message`; exit 1 if there is any.
    Check {
        /// The profiles directory.
        dir: PathBuf,
    },
}

/// The raw, unvalidated arguments of `flotilla-daemon run`. The host token is
/// deliberately not a flag: argv is visible to every user of the machine.
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// The hub's base URL, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "DAEMON_HUB_URL")]
    pub hub_url: Option<String>,
    /// A file holding the host token (overrides FLOTILLA_HOST_TOKEN).
    #[arg(long, env = "DAEMON_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Read the host token from standard input (the daemon hands a token
    /// from the environment or a file over to itself this way, so neither
    /// stays visible in /proc).
    #[arg(long, conflicts_with = "token_file")]
    pub token_stdin: bool,
    /// The token file a handed-over token came from (set by the handoff,
    /// not by users): read again when the hub refuses the token while
    /// sessions run.
    #[arg(long, env = crate::secret::TOKEN_FILE_WATCH_ENV, hide = true, conflicts_with = "token_file")]
    pub token_file_watch: Option<PathBuf>,
    /// When started as root: read the token (and everything else at
    /// startup), then run as this user, and so do the agents. A token file
    /// readable only by root is then out of every agent's reach.
    #[arg(long, env = "DAEMON_USER")]
    pub user: Option<String>,
    /// Variables of the daemon's environment passed to every agent, beside
    /// the base set and those each profile names (comma-separated).
    #[arg(long = "pass-env", env = "DAEMON_PASS_ENV", value_delimiter = ',')]
    pub pass_env: Vec<String>,
    /// The directory of profile YAML files.
    #[arg(long, env = "DAEMON_PROFILES_DIR", default_value = "profiles")]
    pub profiles_dir: PathBuf,
    /// A directory under which projects live; spawns are confined to these.
    /// Repeatable; the environment value is split on `:`. Defaults to the
    /// current directory.
    #[arg(long = "projects-root", env = "PROJECTS_ROOT", value_delimiter = ':')]
    pub projects_roots: Vec<PathBuf>,
    /// How many directory levels below a root to look for git repositories.
    #[arg(long, env = "DAEMON_SCAN_DEPTH", default_value_t = DEFAULT_SCAN_DEPTH)]
    pub scan_depth: usize,
    /// Milliseconds between SIGTERM and SIGKILL when stopping a session.
    #[arg(long, env = "DAEMON_STOP_GRACE_MS", default_value_t = DEFAULT_STOP_GRACE_MS)]
    pub stop_grace_ms: u64,
    /// Lines of scrollback each session's screen model keeps (allocated as
    /// they fill; viewers get the most recent ones on attach).
    #[arg(long, env = "DAEMON_SCROLLBACK_LINES", default_value_t = crate::session::screen::DEFAULT_SCROLLBACK_LINES)]
    pub scrollback_lines: usize,
    /// The OTLP receiver URL given to agents as `{otlp_endpoint}`
    /// [default: http:// and the receiver's bound address].
    #[arg(long, env = "DAEMON_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// The loopback address the OTLP/HTTP receiver listens on; port 0 picks
    /// a free port [default: 127.0.0.1:4318].
    #[arg(long, env = "DAEMON_OTLP_LISTEN")]
    pub otlp_listen: Option<String>,
}

impl RunArgs {
    /// What the token handoff needs of these arguments.
    pub fn token_source(&self) -> TokenSource<'_> {
        TokenSource {
            token_stdin: self.token_stdin,
            token_file: self.token_file.as_deref(),
            user: self.user.as_deref(),
        }
    }
}

/// The validated daemon configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The hub's base URL.
    pub hub_url: String,
    /// The host token.
    pub token: Secret,
    /// Where the token was read from, when a file: read again when the hub
    /// refuses the token while sessions run, so a rotated token can be put
    /// there without stopping them.
    pub token_file: Option<PathBuf>,
    /// Extra variables passed to every agent (`--pass-env`).
    pub pass_env: Vec<String>,
    /// The directory of profile YAML files.
    pub profiles_dir: PathBuf,
    /// Canonical project roots.
    pub projects_roots: Vec<PathBuf>,
    /// Discovery depth below each root.
    pub scan_depth: usize,
    /// Grace period between SIGTERM and SIGKILL.
    pub stop_grace: Duration,
    /// Scrollback lines per session.
    pub scrollback_lines: usize,
    /// The OTLP receiver URL agents export to, when set explicitly;
    /// otherwise it is derived from the receiver's bound address.
    pub otlp_endpoint: Option<String>,
    /// Where the OTLP/HTTP receiver listens (always a loopback address: it
    /// has no authentication).
    pub otlp_listen: SocketAddr,
    /// Whether the receiver may listen on a free port instead when
    /// `otlp_listen` is taken: only when neither the listen address nor the
    /// endpoint was configured, so agents are still told the real address.
    pub otlp_listen_fallback: bool,
}

impl Config {
    /// The URL agents export to, given the receiver's bound address.
    pub fn otlp_endpoint_for(&self, bound: SocketAddr) -> String {
        self.otlp_endpoint
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
    }
}

/// Every problem found in the configuration, reported together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// One line per problem.
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}", self.problems.join("; "))
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Validates raw arguments. `env` is the process environment (only
    /// [`TOKEN_ENV`] is read from it; clap already applied the `DAEMON_*`
    /// variables) and `cwd` the default project root. Reads the token file
    /// and canonicalizes paths, but has no other effect.
    pub fn validate(
        args: RunArgs,
        env: &HashMap<String, String>,
        cwd: &Path,
    ) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();

        let hub_url = match args.hub_url.as_deref().map(str::trim) {
            None | Some("") => {
                problems.push("--hub-url (or DAEMON_HUB_URL) is required".to_owned());
                String::new()
            }
            Some(url) => {
                if let Err(problem) = check_hub_url(url) {
                    problems.push(problem);
                }
                url.to_owned()
            }
        };

        let token = match &args.token_file {
            Some(path) => match read_token_file(path) {
                Ok(token) => Some(token),
                Err(problem) => {
                    problems.push(problem);
                    None
                }
            },
            None => match env.get(TOKEN_ENV).map(|token| token.trim()) {
                Some(token) if !token.is_empty() => Some(Secret::new(token)),
                Some(_) => {
                    problems.push(format!("{TOKEN_ENV} is empty"));
                    None
                }
                None => {
                    problems.push(format!(
                        "no host token: set {TOKEN_ENV} or pass --token-file (or DAEMON_TOKEN_FILE)"
                    ));
                    None
                }
            },
        };

        let mut pass_env = Vec::new();
        for name in args
            .pass_env
            .iter()
            .map(|name| name.trim())
            .filter(|name| !name.is_empty())
        {
            if crate::secret::is_secret(name) {
                problems.push(format!(
                    "--pass-env {name}: the daemon's own secrets never reach an agent"
                ));
            } else if !is_env_name(name) {
                problems.push(format!(
                    "--pass-env {name:?} is not a variable name (letters, digits and _, not starting with a digit)"
                ));
            } else if !pass_env.iter().any(|known| known == name) {
                pass_env.push(name.to_owned());
            }
        }

        let profiles_dir = cwd.join(&args.profiles_dir);
        if !profiles_dir.is_dir() {
            problems.push(format!(
                "profiles directory {} does not exist or is not a directory",
                profiles_dir.display()
            ));
        }

        let raw_roots = if args.projects_roots.is_empty() {
            vec![cwd.to_path_buf()]
        } else {
            args.projects_roots.clone()
        };
        let mut projects_roots = Vec::new();
        for root in raw_roots.iter().filter(|root| !root.as_os_str().is_empty()) {
            let root = cwd.join(root);
            match root.canonicalize() {
                Ok(canonical) if canonical.is_dir() => {
                    if !projects_roots.contains(&canonical) {
                        projects_roots.push(canonical);
                    }
                }
                Ok(_) => problems.push(format!(
                    "project root {} is not a directory",
                    root.display()
                )),
                Err(error) => problems.push(format!("project root {}: {error}", root.display())),
            }
        }
        if projects_roots.is_empty() && problems.is_empty() {
            problems.push("no usable project root".to_owned());
        }

        if args.scan_depth > MAX_SCAN_DEPTH {
            problems.push(format!(
                "--scan-depth {} is too large (at most {MAX_SCAN_DEPTH})",
                args.scan_depth
            ));
        }
        if args.stop_grace_ms == 0 || args.stop_grace_ms > MAX_STOP_GRACE_MS {
            problems.push(format!(
                "--stop-grace-ms {} is out of range (1..={MAX_STOP_GRACE_MS})",
                args.stop_grace_ms
            ));
        }

        if args.scrollback_lines > MAX_SCROLLBACK_LINES {
            problems.push(format!(
                "--scrollback-lines {} is too large (at most {MAX_SCROLLBACK_LINES})",
                args.scrollback_lines
            ));
        }

        let otlp_endpoint = args
            .otlp_endpoint
            .as_deref()
            .map(|endpoint| endpoint.trim().trim_end_matches('/').to_owned());
        if let Some(endpoint) = &otlp_endpoint
            && (!(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
                || endpoint.contains('?'))
        {
            problems.push(format!(
                "--otlp-endpoint {endpoint:?} must be an http(s) URL without a query (e.g. {DEFAULT_OTLP_ENDPOINT})"
            ));
        }
        let otlp_listen_text = args
            .otlp_listen
            .as_deref()
            .map_or(DEFAULT_OTLP_LISTEN, str::trim);
        let otlp_listen = match otlp_listen_text.parse::<SocketAddr>() {
            Ok(addr) if addr.ip().is_loopback() => addr,
            Ok(_) => {
                problems.push(format!(
                    "--otlp-listen {otlp_listen_text:?} must be a loopback address (the OTLP receiver has no authentication), e.g. {DEFAULT_OTLP_LISTEN}"
                ));
                SocketAddr::from(([127, 0, 0, 1], 0))
            }
            Err(_) => {
                problems.push(format!(
                    "--otlp-listen {otlp_listen_text:?} is not an IP address and port (e.g. {DEFAULT_OTLP_LISTEN})"
                ));
                SocketAddr::from(([127, 0, 0, 1], 0))
            }
        };
        let otlp_listen_fallback = args.otlp_listen.is_none() && otlp_endpoint.is_none();

        match token {
            Some(token) if problems.is_empty() => Ok(Config {
                hub_url,
                token,
                token_file: args
                    .token_file
                    .clone()
                    .or_else(|| args.token_file_watch.clone()),
                pass_env,
                profiles_dir,
                projects_roots,
                scan_depth: args.scan_depth,
                stop_grace: Duration::from_millis(args.stop_grace_ms),
                scrollback_lines: args.scrollback_lines,
                otlp_endpoint,
                otlp_listen,
                otlp_listen_fallback,
            }),
            _ => Err(ConfigError { problems }),
        }
    }
}

/// Reads a host token file: its content, trimmed; empty is an error.
pub fn read_token_file(path: &Path) -> Result<Secret, String> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => Ok(Secret::new(text.trim())),
        Ok(_) => Err(format!("token file {} is empty", path.display())),
        Err(error) => Err(format!(
            "cannot read token file {}: {error}",
            path.display()
        )),
    }
}

/// Whether `name` is a portable environment variable name.
fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first == '_' || first.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Checks that a hub URL is an http(s) or ws(s) URL with a host and no
/// credentials or query (the token never travels in a URL).
fn check_hub_url(url: &str) -> Result<(), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!(
            "--hub-url {url:?} is not a URL (expected e.g. http://127.0.0.1:8080)"
        ));
    };
    if !matches!(scheme, "http" | "https" | "ws" | "wss") {
        return Err(format!("--hub-url {url:?} must use http, https, ws or wss"));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(format!("--hub-url {url:?} has no host"));
    }
    if authority.contains('@') || url.contains('?') {
        return Err(format!(
            "--hub-url {url:?} must not carry credentials or a query; the token goes in {TOKEN_ENV} or --token-file"
        ));
    }
    Ok(())
}
