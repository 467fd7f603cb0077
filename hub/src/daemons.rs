//! The daemon side of the hub: the `/daemon` Socket.IO namespace. A
//! transport: it authenticates a daemon as [`Actor::Daemon`] for its host,
//! keeps its link in the registry (`registry`), and hands each event to
//! the use cases (`sessions`, `hosts`, `terminal`, `usage`).
//!
//! A daemon authenticates in the handshake with its host token and protocol
//! version; refusals carry a typed [`ConnectRefusal`]. It may then publish
//! only for its own host and that host's sessions.
//!
//! Ordering: socketioxide runs each handler as its own task, which can
//! reorder a socket's messages. So handlers here are plain closures whose
//! synchronous body runs in arrival order: terminal output is appended to
//! the relay right there, and every other event is queued on the
//! connection's inbox, drained by one task.
//!
//! Robustness: a frame the relay refuses (an offset past 2^64) is dropped
//! with a warning and counted; a panic in a handler is contained to that
//! one message ([`contain_panic`]), and the hub's locks recover from
//! poisoning, so one bad message never wedges its connection or any other.

use std::future::{Ready, ready};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64_STANDARD;
use bytes::Bytes;
use flotilla_protocol::daemon_to_hub::{
    DaemonAuth, Hello, HelloAck, InventoryChanged, SessionExited, SessionOutput, SessionOutputText,
    SessionSnapshot, SessionSpawnFailed, SessionStarted, WorktreeAnswer,
};
use flotilla_protocol::frame::{MAX_FRAME_DATA, OutputFrame, SnapshotFrame};
use flotilla_protocol::usage::SessionUsageReport;
use flotilla_protocol::{
    ConnectRefusal, DAEMON_NAMESPACE, ErrorBody, ErrorCode, Event, HostId, PROTOCOL_VERSION, Reply,
};
use socketioxide::extract::{AckSender, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::socket::{DisconnectReason, Sid};
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::actor::Actor;
use crate::error::ApiError;
use crate::{App, contain_panic, hosts, sessions, terminal, usage};

/// How many non-output events a daemon connection may have queued. They are
/// rare (lifecycle changes), so a full inbox means a misbehaving daemon: it
/// is disconnected and resyncs through `Hello` when it reconnects.
const INBOX_CAPACITY: usize = 1024;

/// A refusal whose `Display` is the wire text the daemon parses.
#[derive(Debug)]
struct Refused(ConnectRefusal);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_wire())
    }
}

/// The host a daemon socket authenticated as, kept in its extensions.
#[derive(Debug, Clone, Copy)]
struct AuthenticatedHost(HostId);

/// Events from one daemon connection, processed in order by its inbox task.
enum DaemonEvent {
    Hello(Hello, AckSender),
    Inventory(InventoryChanged),
    Started(SessionStarted),
    SpawnFailed(SessionSpawnFailed),
    Exited(SessionExited),
    Usage(SessionUsageReport),
    Answer(WorktreeAnswer),
}

/// Registers the `/daemon` namespace.
pub fn register(app: &Arc<App>) {
    let auth_app = app.clone();
    let connect_app = app.clone();
    let authenticate = move |socket: SocketRef, TryData(auth): TryData<DaemonAuth>| {
        let app = auth_app.clone();
        async move { authenticate(&app, &socket, auth).await }
    };
    let on_connect = move |socket: SocketRef| {
        on_connect(&connect_app, socket);
        ready(())
    };
    app.io.ns(DAEMON_NAMESPACE, on_connect.with(authenticate));
}

async fn authenticate(
    app: &App,
    socket: &SocketRef,
    auth: Result<DaemonAuth, socketioxide::ParserError>,
) -> Result<(), Refused> {
    let auth = auth.map_err(|error| {
        Refused(ConnectRefusal::MalformedHandshake {
            message: error.to_string(),
        })
    })?;
    if auth.protocol_version != PROTOCOL_VERSION {
        tracing::warn!(
            daemon = auth.protocol_version,
            hub = PROTOCOL_VERSION,
            "daemon refused: protocol version mismatch"
        );
        return Err(Refused(ConnectRefusal::VersionMismatch {
            hub: PROTOCOL_VERSION,
            daemon: auth.protocol_version,
        }));
    }
    let host = hosts::authenticate_daemon(app, &auth.token)
        .await
        .map_err(|error| {
            tracing::error!("looking up a host token: {error:#}");
            Refused(ConnectRefusal::MalformedHandshake {
                message: "the hub could not check the token; try again".into(),
            })
        })?;
    let Some(host) = host else {
        tracing::warn!("daemon refused: unknown host token");
        return Err(Refused(ConnectRefusal::BadToken));
    };
    socket.extensions.insert(AuthenticatedHost(host.id));
    crate::admission::authenticated(socket);
    Ok(())
}

fn on_connect(app: &Arc<App>, socket: SocketRef) {
    let Some(AuthenticatedHost(host_id)) = socket.extensions.get::<AuthenticatedHost>() else {
        // The middleware always inserts it; refuse rather than trust.
        let _ = socket.disconnect();
        return;
    };
    // Handlers first: the client may send before this function returns.
    let (inbox, events) = mpsc::channel::<DaemonEvent>(INBOX_CAPACITY);
    queue_event(
        &socket,
        app,
        &inbox,
        |TryData(hello): TryData<Hello>, ack: AckSender| match hello {
            Ok(hello) => Some(DaemonEvent::Hello(hello, ack)),
            Err(error) => {
                let reply: Reply<HelloAck> = Reply::Error {
                    error: ErrorBody::new(
                        ErrorCode::InvalidInput,
                        format!("malformed hello: {error}"),
                    ),
                };
                let _ = ack.send(&reply);
                None
            }
        },
        Hello::NAME,
    );
    queue_simple::<InventoryChanged>(&socket, app, &inbox, DaemonEvent::Inventory);
    queue_simple::<SessionStarted>(&socket, app, &inbox, DaemonEvent::Started);
    queue_simple::<SessionSpawnFailed>(&socket, app, &inbox, DaemonEvent::SpawnFailed);
    queue_simple::<SessionExited>(&socket, app, &inbox, DaemonEvent::Exited);
    queue_simple::<WorktreeAnswer>(&socket, app, &inbox, DaemonEvent::Answer);
    // Usage reports arrive every second per session: a malformed one is
    // logged rate-limited rather than once per message.
    let usage_app = app.clone();
    queue_event(
        &socket,
        app,
        &inbox,
        move |TryData(data): TryData<SessionUsageReport>, _ack: AckSender| match data {
            Ok(report) => Some(DaemonEvent::Usage(report)),
            Err(error) => {
                usage_app.usage.warn_malformed(host_id, &error);
                None
            }
        },
        SessionUsageReport::NAME,
    );

    let output_app = app.clone();
    socket.on(
        SessionOutput::NAME,
        move |TryData(data): TryData<Bytes>| -> Ready<()> {
            let app = &output_app;
            contain_panic(&app.metrics, SessionOutput::NAME, || {
                relay_binary_output(app, host_id, data);
            });
            ready(())
        },
    );
    let snapshot_app = app.clone();
    socket.on(
        SessionSnapshot::NAME,
        move |TryData(data): TryData<Bytes>| -> Ready<()> {
            let app = &snapshot_app;
            contain_panic(&app.metrics, SessionSnapshot::NAME, || match data {
                Ok(bytes) => match SnapshotFrame::decode(&bytes) {
                    Ok(frame) => terminal::snapshot(app, &Actor::Daemon(host_id), frame),
                    Err(error) => {
                        tracing::warn!(%error, "undecodable snapshot from daemon ignored")
                    }
                },
                Err(error) => {
                    tracing::warn!(%error, "malformed snapshot message from daemon ignored")
                }
            });
            ready(())
        },
    );
    let text_output_app = app.clone();
    socket.on(
        SessionOutputText::NAME,
        move |TryData(data): TryData<SessionOutputText>| -> Ready<()> {
            let app = &text_output_app;
            contain_panic(&app.metrics, SessionOutputText::NAME, || {
                relay_text_output(app, host_id, data);
            });
            ready(())
        },
    );

    let disconnect_app = app.clone();
    socket.on_disconnect(move |socket: SocketRef, reason: DisconnectReason| {
        let app = disconnect_app.clone();
        async move {
            if app.daemons.detach(host_id, socket.id) {
                tracing::info!(%host_id, ?reason, "daemon disconnected");
                if let Err(error) = hosts::daemon_left(&app, &Actor::Daemon(host_id)).await {
                    log_failure(error);
                }
            }
        }
    });

    if let Some(previous) = app.daemons.attach(host_id, socket.clone()) {
        tracing::info!(%host_id, "a new daemon connection replaces the previous one");
        let _ = previous.socket.disconnect();
    }
    tracing::info!(%host_id, "daemon connected");
    let task_app = app.clone();
    app.tracker.spawn(
        drain_inbox(task_app, host_id, socket.id, events)
            .instrument(tracing::info_span!("daemon", %host_id)),
    );
}

/// Queues a parsed event on the inbox from the synchronous part of the
/// handler, preserving arrival order.
fn queue_event<T, F>(
    socket: &SocketRef,
    app: &Arc<App>,
    inbox: &mpsc::Sender<DaemonEvent>,
    make: F,
    name: &'static str,
) where
    T: serde::de::DeserializeOwned + Send + Sync + 'static,
    F: Fn(TryData<T>, AckSender) -> Option<DaemonEvent> + Send + Sync + Clone + 'static,
{
    let inbox = inbox.clone();
    let handler_socket = socket.clone();
    let app = app.clone();
    socket.on(name, move |data: TryData<T>, ack: AckSender| -> Ready<()> {
        if let Some(Some(event)) = contain_panic(&app.metrics, name, || make(data, ack)) {
            enqueue(&handler_socket, &inbox, event);
        }
        ready(())
    });
}

fn queue_simple<T>(
    socket: &SocketRef,
    app: &Arc<App>,
    inbox: &mpsc::Sender<DaemonEvent>,
    wrap: fn(T) -> DaemonEvent,
) where
    T: Event + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    queue_event(
        socket,
        app,
        inbox,
        move |TryData(data): TryData<T>, _ack: AckSender| match data {
            Ok(data) => Some(wrap(data)),
            Err(error) => {
                tracing::warn!(event = T::NAME, %error, "malformed message from daemon ignored");
                None
            }
        },
        T::NAME,
    );
}

fn enqueue(socket: &SocketRef, inbox: &mpsc::Sender<DaemonEvent>, event: DaemonEvent) {
    if let Err(error) = inbox.try_send(event) {
        tracing::warn!(%error, "daemon inbox full or closed; disconnecting it to resync");
        let _ = socket.clone().disconnect();
    }
}

/// Decodes a binary output frame and relays it.
fn relay_binary_output(app: &App, host_id: HostId, data: Result<Bytes, socketioxide::ParserError>) {
    let bytes = match data {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(%error, "malformed output message from daemon ignored");
            return;
        }
    };
    match OutputFrame::decode(&bytes) {
        Ok(frame) => terminal::output(app, &Actor::Daemon(host_id), frame),
        Err(error) => tracing::warn!(%error, "undecodable output frame from daemon ignored"),
    }
}

/// Decodes a small text output message and relays it.
fn relay_text_output(
    app: &App,
    host_id: HostId,
    data: Result<SessionOutputText, socketioxide::ParserError>,
) {
    let decoded = data.map_err(|error| error.to_string()).and_then(|text| {
        BASE64_STANDARD
            .decode(text.data.as_bytes())
            .map(|bytes| (text.session_id, text.offset, bytes))
            .map_err(|error| error.to_string())
    });
    match decoded {
        Ok((session_id, offset, bytes)) if bytes.len() <= MAX_FRAME_DATA => terminal::output(
            app,
            &Actor::Daemon(host_id),
            OutputFrame {
                session_id,
                offset,
                data: &bytes,
            },
        ),
        Ok(_) => tracing::warn!("oversized text output from daemon ignored"),
        Err(error) => tracing::warn!(%error, "malformed text output from daemon ignored"),
    }
}

/// Handles one connection's events in order until it closes or the hub
/// shuts down. Cancel-safe: an event not yet received is simply not handled,
/// and the daemon resyncs through `Hello` on its next connection.
async fn drain_inbox(
    app: Arc<App>,
    host_id: HostId,
    sid: Sid,
    mut events: mpsc::Receiver<DaemonEvent>,
) {
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            () = app.shutdown.cancelled() => None,
        };
        let Some(event) = event else { return };
        // Each event runs on a task of its own (awaited, so order holds):
        // a panic drops that event only, and the daemon resyncs anything it
        // lost through its next `Hello`.
        let task_app = app.clone();
        let handled = app
            .tracker
            .spawn(
                async move { handle_event(&task_app, host_id, sid, event).await }.in_current_span(),
            )
            .await;
        match handled {
            Ok(()) => {}
            Err(error) if error.is_panic() => {
                app.metrics.handler_panicked();
                tracing::error!("handling a daemon event panicked; the event was dropped");
            }
            Err(error) => tracing::debug!(%error, "a daemon event's task was cancelled"),
        }
    }
}

async fn handle_event(app: &Arc<App>, host_id: HostId, sid: Sid, event: DaemonEvent) {
    let actor = Actor::Daemon(host_id);
    let handled = match event {
        DaemonEvent::Hello(hello, ack) => {
            let reply = match sessions::hello(app, &actor, hello).await {
                Ok(ack) => {
                    app.daemons.mark_ready(host_id, sid);
                    Reply::Ok { value: ack }
                }
                Err(error) => {
                    log_failure(error);
                    Reply::Error {
                        error: ErrorBody::new(
                            ErrorCode::Internal,
                            "the hub could not record the hello; see its log",
                        ),
                    }
                }
            };
            let _ = ack.send(&reply);
            hosts::publish(app, host_id).await;
            Ok(())
        }
        DaemonEvent::Inventory(changed) => {
            hosts::inventory_changed(app, &actor, &changed.inventory).await
        }
        DaemonEvent::Started(started) => sessions::started(app, &actor, started).await,
        DaemonEvent::SpawnFailed(failed) => sessions::spawn_failed(app, &actor, failed).await,
        DaemonEvent::Exited(exited) => sessions::exited(app, &actor, exited).await,
        DaemonEvent::Usage(report) => usage::ingest(app, &actor, report).await,
        DaemonEvent::Answer(answer) => {
            if !app
                .daemons
                .resolve_answer(host_id, answer.request_id, answer.outcome)
            {
                tracing::debug!(request_id = %answer.request_id, "an answer nobody waits for (any more)");
            }
            Ok(())
        }
    };
    if let Err(error) = handled {
        log_failure(error);
    }
}

/// Logs a use case's refusal of a daemon's event. Internal errors were
/// logged with their chain when they became an [`ApiError`].
fn log_failure(error: ApiError) {
    let body = error.into_body();
    if body.code != ErrorCode::Internal {
        tracing::warn!(code = ?body.code, message = %body.message, "a daemon event was refused");
    }
}
