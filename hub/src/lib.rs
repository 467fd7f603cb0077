//! The Flotilla hub: serves the web UI and REST API, holds state in a
//! database, and relays between browsers and daemons over Socket.IO.
//!
//! `main.rs` parses the configuration, binds the listener and calls [`run`];
//! everything else lives here so tests can reach it.

pub mod actor;
pub mod admission;
pub mod api;
pub mod auth;
pub mod config;
pub mod daemons;
pub mod error;
pub mod files;
pub mod hosts;
pub mod metrics;
pub mod registry;
pub mod relay;
pub mod sessions;
pub mod shutdown;
pub mod sizes;
pub mod store;
pub mod terminal;
#[cfg(test)]
mod test_app;
pub mod throttle;
pub mod ui;
pub mod usage;
pub mod worktrees;

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use axum::Router;
use axum::serve::ListenerExt;
use flotilla_protocol::{Event, UI_NAMESPACE};
use serde::Serialize;
use socketioxide::SocketIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::auth::Secret;
use crate::config::HubConfig;
use crate::store::Store;

/// The room every logged-in browser socket joins for list updates.
pub const UI_ROOM: &str = "ui";

/// Largest Socket.IO message accepted, in bytes, on every transport: an
/// HTTP long-polling body, a WebSocket message or frame, and the binary
/// attachments of one packet together. Larger ones close the connection at
/// the transport before they are buffered; application limits below it get
/// error replies.
pub const MAX_SOCKET_PAYLOAD: u64 = 1024 * 1024;

/// Most binary attachments in one Socket.IO packet (ours carry one).
pub const MAX_SOCKET_ATTACHMENTS: usize = 4;

/// Locks a mutex, recovering it if a holder panicked: every critical
/// section in the hub is a single map, buffer or field update that leaves
/// its data consistent, so a panic elsewhere never turns into a cascade of
/// poisoned-lock panics.
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs a handler's synchronous body and contains a panic in it: it is
/// logged and counted, and the connection goes on with its next message
/// (instead of losing its receive loop). `None` when `body` panicked.
pub fn contain_panic<T>(
    metrics: &metrics::Metrics,
    handler: &'static str,
    body: impl FnOnce() -> T,
) -> Option<T> {
    match std::panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => Some(value),
        Err(_) => {
            metrics.handler_panicked();
            tracing::error!(
                handler,
                "a message handler panicked; the message was dropped"
            );
            None
        }
    }
}

/// Shared state of a running hub. Cheap to reach through an `Arc`.
pub struct App {
    /// The validated configuration.
    pub config: HubConfig,
    /// The database.
    pub store: Store,
    /// The Socket.IO server, for emitting.
    pub io: SocketIo,
    /// Terminal output buffers and their viewers' source.
    pub relay: relay::Relay,
    /// Connected daemons and spawns waiting for them.
    pub daemons: registry::Daemons,
    /// Viewer tasks per browser socket.
    pub viewers: ui::Viewers,
    /// The logins that have browser sockets open.
    pub logins: auth::LiveLogins,
    /// Slots of Socket.IO connections that have not authenticated yet.
    pub admission: Arc<admission::Admission>,
    /// Failed logins by account and address, for backoff.
    pub throttle: throttle::LoginThrottle,
    /// Session usage held in memory until flushed.
    pub usage: usage::Usage,
    /// Prometheus metrics.
    pub metrics: metrics::Metrics,
    /// Owns every task the hub spawns.
    pub tracker: TaskTracker,
    /// Cancelled when the hub shuts down.
    pub shutdown: CancellationToken,
}

impl App {
    /// Sends an event to every logged-in browser. A failure only means some
    /// browser misses a list update it will get on its next reload.
    pub async fn broadcast_ui<E: Event + Serialize>(&self, event: &E) {
        self.emit_to_rooms(vec![UI_ROOM.to_owned()], event).await;
    }

    /// Sends an event to the browser sockets in `rooms`. A failure (a full
    /// socket buffer) drops it for that socket: every event sent this way
    /// is replaced by a newer one or read again on reload.
    pub async fn emit_to_rooms<E: Event + Serialize>(&self, rooms: Vec<String>, event: &E) {
        let Some(ns) = self.io.of(UI_NAMESPACE) else {
            return;
        };
        if let Err(error) = ns.to(rooms).emit(E::NAME, event).await {
            tracing::debug!(%error, event = E::NAME, "ui emit failed");
        }
    }
}

/// Opens the database, creates the first admin if needed and builds the
/// application with its router (REST, static files and Socket.IO).
pub async fn build(
    config: HubConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<(Arc<App>, Router)> {
    let store = files::open_store(&config).await?;
    bootstrap_admin(&store, config.admin_password.clone()).await?;
    let metrics = metrics::Metrics::load(&store)
        .await
        .context("loading usage counters")?;

    let max_message = usize::try_from(MAX_SOCKET_PAYLOAD).expect("1 MiB fits in usize");
    let (socket_layer, io) = SocketIo::builder()
        .max_payload(MAX_SOCKET_PAYLOAD)
        .ws_max_message_size(max_message)
        .ws_max_frame_size(max_message)
        .with_parser(
            socketioxide::ParserConfig::common()
                .max_incoming_binary_buf_size(max_message)
                .max_incoming_binaries(MAX_SOCKET_ATTACHMENTS),
        )
        .connect_timeout(config.handshake_timeout)
        .max_buffer_size(1024)
        .build_layer();
    let app = Arc::new(App {
        config,
        store,
        io,
        relay: relay::Relay::default(),
        daemons: registry::Daemons::default(),
        viewers: ui::Viewers::default(),
        logins: auth::LiveLogins::default(),
        admission: Arc::default(),
        throttle: throttle::LoginThrottle::default(),
        usage: usage::Usage::default(),
        metrics,
        tracker: TaskTracker::new(),
        shutdown,
    });
    daemons::register(&app);
    ui::register(&app);
    usage::spawn_flusher(&app, app.config.usage_flush_interval);
    // The admission middleware runs first (outermost), so a handshake over
    // the limits is refused before socketioxide reads any of it.
    let router =
        api::router(app.clone())
            .layer(socket_layer)
            .layer(axum::middleware::from_fn_with_state(
                app.clone(),
                admission::admit,
            ));
    Ok((app, router))
}

/// The sockets the hub serves on, bound by the caller before `run`.
pub struct Listeners {
    /// The main listener: UI, REST, Socket.IO and authenticated `/metrics`.
    pub http: TcpListener,
    /// The unauthenticated `/metrics` listener (`--metrics-listen`).
    pub metrics: Option<TcpListener>,
}

/// Runs the hub on `listeners` until `shutdown` is cancelled.
pub async fn run(
    config: HubConfig,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (app, router) = build(config, shutdown).await?;
    serve(app, router, listeners).await
}

/// Serves an application from [`build`] on `listeners` until its shutdown
/// token is cancelled. `main` builds first (the database is migrated) and
/// only then announces that it listens.
pub async fn serve(app: Arc<App>, router: Router, listeners: Listeners) -> anyhow::Result<()> {
    let grace = app.config.shutdown_grace;
    let shutdown = app.shutdown.clone();
    let listener = listeners.http;
    tracing::info!(addr = %listener.local_addr()?, "hub listening");
    if let Some(metrics_listener) = listeners.metrics {
        tracing::info!(addr = %metrics_listener.local_addr()?, "serving /metrics without authentication");
        let metrics_router = metrics::open_router(app.clone());
        let stop = shutdown.clone();
        app.tracker.spawn(
            async move {
                if let Err(error) = axum::serve(metrics_listener, metrics_router)
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await
                {
                    tracing::error!(%error, "the metrics listener failed");
                }
            }
            .instrument(tracing::info_span!("metrics_listener")),
        );
    }
    // Terminal traffic is many small writes (a binary Socket.IO event is two
    // WebSocket frames); Nagle's algorithm would hold the second one back
    // until the peer's delayed ACK, adding ~40 ms to a keystroke's echo.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
    });
    // The peer address feeds the per-address limits (admission, logins).
    let router = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .await
        .context("serving http");

    // Upgraded WebSocket connections are not tracked by axum's graceful
    // shutdown, so close the Socket.IO side explicitly.
    if tokio::time::timeout(grace, app.io.clone().close())
        .await
        .is_err()
    {
        tracing::warn!("socket.io did not close within the grace period");
    }
    app.tracker.close();
    if tokio::time::timeout(grace, app.tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("tasks did not finish within the grace period");
    }
    // Every daemon inbox has stopped: this flush has the last reports.
    if let Err(error) = app.usage.flush(&app.store).await {
        tracing::error!("writing session usage at shutdown failed: {error:#}");
    }
    served
}

/// Creates host `name` or rotates its token, and writes the token to
/// `token_file` with mode 0600. A daemon connected with the old token keeps
/// its connection until it reconnects.
pub async fn issue_host_token(
    config: &HubConfig,
    name: &str,
    token_file: &std::path::Path,
) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    hosts::validate_name(name).map_err(|error| anyhow::anyhow!("{}", error.body().message))?;
    let store = files::open_store(config).await?;
    let token = auth::new_token("flt_");
    let hash = auth::token_hash(&token);
    let created = store.create_host(name, &hash).await?.is_some();
    if !created {
        let host = store
            .list_hosts()
            .await?
            .into_iter()
            .find(|host| host.name == name)
            .context("the host exists but could not be read")?;
        store.set_host_token(host.id, &hash).await?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(token_file)
        .with_context(|| format!("opening {}", token_file.display()))?;
    file.write_all(token.as_bytes())
        .with_context(|| format!("writing {}", token_file.display()))?;
    tracing::info!(host = name, created, file = %token_file.display(), "host token issued");
    Ok(())
}

/// Creates the `admin` user on first start with an empty database.
async fn bootstrap_admin(store: &Store, password: Option<Secret>) -> anyhow::Result<()> {
    if store.user_count().await? > 0 {
        return Ok(());
    }
    let (password, generated) = match password {
        Some(password) => (password, false),
        None => (Secret::new(auth::new_token("")[..24].to_owned()), true),
    };
    let hash = auth::hash_password(password.clone()).await?;
    store.create_user("admin", &hash).await?;
    if generated {
        // Shown exactly once, as the issue asks; set FLOTILLA_ADMIN_PASSWORD
        // to choose it instead.
        tracing::warn!(
            "created user 'admin' with generated password {} (shown only this once)",
            password.expose()
        );
    } else {
        tracing::info!("created user 'admin' with the password from FLOTILLA_ADMIN_PASSWORD");
    }
    Ok(())
}
