//! The Flotilla daemon: runs agent CLIs in PTYs on this machine and relays
//! them to a hub over Socket.IO.
//!
//! Entry point: [`main_with_exit_code`] (used by the thin binary) and
//! [`run`]. Modules: [`config`] (CLI and validation), [`profile`] (agent
//! profiles), [`project`] (discovery and confinement), [`session`] (PTY
//! actors), [`host`] (inventory and sessions), [`link`] (the hub connection),
//! [`secret`] (the host token and how agents are kept from it),
//! [`telemetry`] (the OTLP receiver and usage totals), [`shutdown`]
//! (signals).

pub mod config;
pub mod containerfile;
#[cfg(test)]
mod generated;
pub mod host;
pub mod link;
pub mod profile;
pub mod project;
pub mod run_config;
pub mod secret;
pub mod session;
pub mod shutdown;
pub mod telemetry;
pub mod worktree;

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser as _;
use flotilla_protocol::daemon_to_hub::{DaemonAuth, HostInventory};
use flotilla_protocol::{ConnectRefusal, PROTOCOL_VERSION};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::config::{Cli, CliCommand, Config, ProfilesCommand};
use crate::host::{Host, HostConfig};
use crate::link::{LinkConfig, LinkExit};

/// The daemon's version, sent to the hub.
pub const DAEMON_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Exit status after a graceful shutdown.
pub const EXIT_OK: u8 = 0;
/// Exit status for any other fatal error.
pub const EXIT_FATAL: u8 = 1;
/// Exit status for an invalid configuration (`EX_USAGE`).
pub const EXIT_CONFIG: u8 = 64;
/// Exit status when the hub speaks another protocol version.
pub const EXIT_VERSION_MISMATCH: u8 = 76;
/// Exit status when the hub refuses the host token (`EX_NOPERM`).
pub const EXIT_BAD_TOKEN: u8 = 77;

/// Capacity of the shared session-event channel. Session actors await when
/// it is full, which pauses reading their PTYs until the link catches up.
const SESSION_EVENTS: usize = 256;

/// How the daemon ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonExit {
    /// SIGINT/SIGTERM, sessions stopped.
    Shutdown,
    /// The hub refused the connection.
    Refused(ConnectRefusal),
}

/// Parses the command line, runs the daemon and returns the process exit
/// status. Prints a one-line reason on stderr for every failure.
pub fn main_with_exit_code() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                EXIT_CONFIG
            } else {
                EXIT_OK
            };
        }
    };
    let args = match cli.command {
        CliCommand::Run(args) => args,
        CliCommand::Profiles(ProfilesCommand::Check { dir }) => {
            return profile::check::check_dir(
                &dir,
                &mut std::io::stdout().lock(),
                &mut std::io::stderr().lock(),
            );
        }
        CliCommand::Containerfile(args) => return containerfile::main(&args),
        CliCommand::RunConfig(args) => return run_config::main(args),
    };
    let mut env: HashMap<String, String> = std::env::vars().collect();
    if secret::needs_handoff(&args.token_source(), &env) {
        // Returns only when it could not re-execute (then the token stays
        // in this process's environment, which is non-dumpable below).
        if let Err(error) = secret::handoff(&args.token_source(), &env) {
            eprintln!("flotilla-daemon: cannot hand the host token over: {error}");
            if args.user.is_some() {
                return EXIT_CONFIG;
            }
        }
    }
    if args.token_stdin {
        match secret::read_stdin_token() {
            Ok(token) => {
                env.insert(secret::TOKEN_ENV.to_owned(), token);
            }
            Err(error) => {
                eprintln!(
                    "flotilla-daemon: cannot read the host token from standard input: {error}"
                );
                return EXIT_CONFIG;
            }
        }
        if let Some(name) = &args.user
            && let Err(error) = secret::drop_privileges(name)
        {
            eprintln!("flotilla-daemon: {error}");
            return EXIT_CONFIG;
        }
    }
    if let Err(error) = secret::harden() {
        eprintln!("flotilla-daemon: cannot make the daemon non-dumpable: {error}");
        return EXIT_FATAL;
    }
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(error) => {
            eprintln!("flotilla-daemon: cannot read the current directory: {error}");
            return EXIT_CONFIG;
        }
    };
    let config = match Config::validate(args, &env, &cwd) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("flotilla-daemon: {error}");
            return EXIT_CONFIG;
        }
    };
    init_tracing();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("flotilla-daemon: cannot start the runtime: {error}");
            return EXIT_FATAL;
        }
    };
    let root = CancellationToken::new();
    let result = runtime.block_on(async {
        let signals = tokio::spawn(shutdown::cancel_on_signal(root.clone()));
        let result = run(config, root.clone()).await;
        root.cancel();
        let _ = signals.await;
        result
    });
    // Reader threads blocked on a PTY that a stray grandchild still holds
    // must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(DaemonExit::Shutdown) => EXIT_OK,
        Ok(DaemonExit::Refused(refusal)) => {
            eprintln!("flotilla-daemon: the hub refused the connection: {refusal}");
            match refusal {
                ConnectRefusal::BadToken => EXIT_BAD_TOKEN,
                ConnectRefusal::VersionMismatch { .. } => EXIT_VERSION_MISMATCH,
                ConnectRefusal::MalformedHandshake { .. } => EXIT_FATAL,
            }
        }
        Err(error) => {
            eprintln!("flotilla-daemon: {error:#}");
            EXIT_FATAL
        }
    }
}

/// Runs the daemon until `shutdown` is cancelled or the hub refuses us, then
/// stops every session (SIGTERM, then SIGKILL after the grace period).
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<DaemonExit> {
    let catalog = host::reload::load(config.profiles_dir.clone()).await?;

    let roots = config.projects_roots.clone();
    let depth = config.scan_depth;
    let projects = tokio::task::spawn_blocking(move || project::discover(&roots, depth))
        .await
        .context("project scan failed")?;
    info!(projects = projects.len(), "projects discovered");
    let inventory = HostInventory {
        hostname: hostname(),
        daemon_version: DAEMON_VERSION.to_owned(),
        project_roots: config
            .projects_roots
            .iter()
            .map(|root| root.display().to_string())
            .collect(),
        profiles: Vec::new(),
        projects,
        profile_errors: Vec::new(),
    };

    let otlp_listener = bind_otlp(&config).await?;
    let otlp_addr = otlp_listener
        .local_addr()
        .context("reading the OTLP receiver's address")?;
    info!(addr = %otlp_addr, "otlp receiver listening");
    announce_otlp_listening(otlp_addr);

    let tracker = TaskTracker::new();
    let sessions_cancel = shutdown.child_token();
    let (events_tx, events_rx) = mpsc::channel(SESSION_EVENTS);
    let host = Host::new(
        HostConfig {
            projects_roots: config.projects_roots.clone(),
            stop_grace: config.stop_grace,
            base_env: std::env::vars().collect(),
            pass_env: config.pass_env.clone(),
            otlp_endpoint: config.otlp_endpoint_for(otlp_addr),
            scrollback_lines: config.scrollback_lines,
        },
        Vec::new(),
        inventory,
        events_tx,
        tracker.clone(),
        sessions_cancel.clone(),
    );
    host.set_profiles(catalog.profiles(), catalog.error_lines());
    let inventory = host.inventory();
    info!(profiles = ?inventory.profiles.iter().map(|profile| &profile.name).collect::<Vec<_>>(), "profiles available");
    // The receiver outlives the link: sessions stopping at shutdown still
    // flush their telemetry into it, and it stops with them.
    let receiver = telemetry::receiver::serve(
        otlp_listener,
        host.telemetry().clone(),
        sessions_cancel.clone(),
    );
    tracker.spawn(async move {
        if let Err(error) = receiver.await {
            error!(%error, "otlp receiver failed");
        }
    });
    let reload = tracker.spawn(host::reload::watch(
        config.profiles_dir.clone(),
        catalog,
        host.clone(),
        sessions_cancel.clone(),
    ));
    let link_config = LinkConfig {
        hub_url: config.hub_url.clone(),
        auth: DaemonAuth {
            token: config.token.expose().to_owned(),
            protocol_version: PROTOCOL_VERSION,
            daemon_version: DAEMON_VERSION.to_owned(),
        },
        token_file: config.token_file.clone(),
        connect_timeout: Duration::from_secs(10),
        hello_timeout: Duration::from_secs(10),
        rescan_every: Some(Duration::from_secs(60)),
        scan_depth: config.scan_depth,
        drain_timeout: config.stop_grace + Duration::from_secs(1),
    };
    let link_result = link::run(link_config, host.clone(), events_rx, shutdown.clone()).await;

    // Stop every session and the profile watcher, and wait for them within
    // the grace period.
    sessions_cancel.cancel();
    match reload.await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => warn!(
            error = format!("{error:#}"),
            "profile hot reload was not running"
        ),
        Err(error) => warn!(%error, "profile hot reload task failed"),
    }
    drop(host);
    tracker.close();
    let budget = config.stop_grace + Duration::from_millis(500);
    if tokio::time::timeout(budget, tracker.wait()).await.is_err() {
        warn!(?budget, "sessions did not stop within the grace period");
    }
    match link_result {
        Ok(LinkExit::Shutdown) => {
            info!("shut down");
            Ok(DaemonExit::Shutdown)
        }
        Ok(LinkExit::Refused(refusal)) => {
            error!(%refusal, "hub refused the connection");
            Ok(DaemonExit::Refused(refusal))
        }
        Err(error) => Err(error),
    }
}

/// Binds the OTLP receiver's listener. When the default address is taken
/// and nothing about the receiver was configured, listens on a free
/// loopback port instead (agents are given the bound address).
async fn bind_otlp(config: &Config) -> anyhow::Result<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind(config.otlp_listen).await {
        Ok(listener) => Ok(listener),
        Err(error)
            if config.otlp_listen_fallback && error.kind() == std::io::ErrorKind::AddrInUse =>
        {
            warn!(addr = %config.otlp_listen, "otlp address in use; listening on a free port instead");
            let any_port = SocketAddr::new(config.otlp_listen.ip(), 0);
            tokio::net::TcpListener::bind(any_port)
                .await
                .with_context(|| format!("binding the OTLP receiver to {any_port}"))
        }
        Err(error) => Err(error).with_context(|| {
            format!(
                "binding the OTLP receiver to {} (--otlp-listen)",
                config.otlp_listen
            )
        }),
    }
}

/// Prints the machine-readable `otlp_listening` line on stdout.
fn announce_otlp_listening(addr: SocketAddr) {
    let line = serde_json::json!({"event": "otlp_listening", "addr": addr.to_string()});
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        warn!(%error, "cannot write the otlp_listening announcement");
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,rust_socketio=warn,rust_engineio=warn")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}
