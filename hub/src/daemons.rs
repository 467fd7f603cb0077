//! The daemon side of the hub: the `/daemon` Socket.IO namespace, the
//! registry of connected daemons and the spawns waiting on them.
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

pub mod reconcile;

use std::collections::HashMap;
use std::future::{Ready, ready};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64_STANDARD;
use bytes::Bytes;
use flotilla_protocol::daemon_to_hub::{
    DaemonAuth, Hello, HelloAck, InventoryChanged, SessionExited, SessionOffset, SessionOutput,
    SessionOutputText, SessionSpawnFailed, SessionStarted,
};
use flotilla_protocol::frame::{MAX_FRAME_DATA, OutputFrame};
use flotilla_protocol::hub_to_ui::HostUpdated;
use flotilla_protocol::rest::SessionState;
use flotilla_protocol::usage::SessionUsageReport;
use flotilla_protocol::{
    ConnectRefusal, DAEMON_NAMESPACE, ErrorBody, ErrorCode, Event, HostId, PROTOCOL_VERSION, Reply,
    SessionId,
};
use serde::Serialize;
use socketioxide::extract::{AckSender, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::socket::{DisconnectReason, Sid};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use crate::relay::PushOutcome;
use crate::{App, lock, metrics::Metrics};
use crate::{sessions, usage};

/// How many non-output events a daemon connection may have queued. They are
/// rare (lifecycle changes), so a full inbox means a misbehaving daemon: it
/// is disconnected and resyncs through `Hello` when it reconnects.
const INBOX_CAPACITY: usize = 1024;

/// Runs a handler's synchronous body and contains a panic in it: it is
/// logged and counted, and the connection goes on with its next message
/// (instead of losing its receive loop). `None` when `body` panicked.
pub fn contain_panic<T>(
    metrics: &Metrics,
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

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a daemon reported about a spawn the hub is waiting for.
#[derive(Debug)]
pub enum SpawnOutcome {
    /// The process runs.
    Started,
    /// It could not be started.
    Failed(ErrorBody),
}

/// The socket of one connected daemon.
#[derive(Clone)]
pub struct DaemonLink {
    socket: SocketRef,
    /// Set once its `Hello` was recorded: only then is the host online,
    /// with a known inventory and reconciled sessions.
    ready: bool,
}

impl DaemonLink {
    /// Sends a command. Fails when the socket closed or its buffer is full.
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), socketioxide::SendError> {
        self.socket.emit(event, data)
    }
}

/// Connected daemons by host, and spawns awaiting confirmation.
#[derive(Default)]
pub struct Daemons {
    /// Short lookups and updates only; never held across an `.await`.
    /// Locks here and below recover from poisoning: each critical section
    /// is one map operation, which leaves the map consistent.
    links: RwLock<HashMap<HostId, DaemonLink>>,
    /// Short insert/remove only; never held across an `.await`.
    pending: Mutex<HashMap<SessionId, (HostId, oneshot::Sender<SpawnOutcome>)>>,
}

impl Daemons {
    /// The host's daemon, when connected.
    pub fn link(&self, host: HostId) -> Option<DaemonLink> {
        read(&self.links)
            .get(&host)
            .filter(|link| link.ready)
            .cloned()
    }

    /// Whether the host's daemon is connected and said hello.
    pub fn is_online(&self, host: HostId) -> bool {
        self.link(host).is_some()
    }

    /// How many hosts are online.
    pub fn online_count(&self) -> usize {
        read(&self.links).values().filter(|link| link.ready).count()
    }

    /// Marks the host's link ready if it is still this socket.
    fn mark_ready(&self, host: HostId, sid: Sid) {
        let mut links = write(&self.links);
        if let Some(link) = links.get_mut(&host).filter(|link| link.socket.id == sid) {
            link.ready = true;
        }
    }

    /// Disconnects the host's daemon (token rotated or host deleted).
    pub fn disconnect(&self, host: HostId) {
        let link = write(&self.links).remove(&host);
        if let Some(link) = link {
            // An error means it is already gone, which is what we want.
            let _ = link.socket.disconnect();
        }
    }

    /// Registers interest in the daemon's answer to a spawn.
    pub fn expect_spawn(
        &self,
        session: SessionId,
        host: HostId,
    ) -> oneshot::Receiver<SpawnOutcome> {
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(session, (host, tx));
        rx
    }

    /// Drops interest in a spawn (the caller gave up waiting).
    pub fn forget_spawn(&self, session: SessionId) {
        lock(&self.pending).remove(&session);
    }

    fn resolve_spawn(&self, session: SessionId, outcome: SpawnOutcome) {
        let waiter = lock(&self.pending).remove(&session);
        if let Some((_, tx)) = waiter {
            // The waiter may have timed out; then nobody needs the answer.
            let _ = tx.send(outcome);
        }
    }

    /// Replaces the host's link; returns the previous one.
    fn attach(&self, host: HostId, socket: SocketRef) -> Option<DaemonLink> {
        write(&self.links).insert(
            host,
            DaemonLink {
                socket,
                ready: false,
            },
        )
    }

    /// Removes the host's link if it is still this socket. Pending spawns of
    /// the host are dropped, which tells their waiters the daemon left.
    fn detach(&self, host: HostId, sid: Sid) -> bool {
        let mut links = write(&self.links);
        if links.get(&host).is_some_and(|link| link.socket.id == sid) {
            links.remove(&host);
            drop(links);
            lock(&self.pending).retain(|_, (pending_host, _)| *pending_host != host);
            true
        } else {
            false
        }
    }
}

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
    let host = app
        .store
        .find_host_by_token(&crate::auth::token_hash(&auth.token))
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
    let host_id: HostId = host
        .id
        .parse()
        .map_err(|_| Refused(ConnectRefusal::BadToken))?;
    socket.extensions.insert(AuthenticatedHost(host_id));
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
                // "Last seen" is when the daemon left, not when it arrived.
                if let Err(error) = app.store.record_host_seen(host_id, None).await {
                    tracing::warn!(%host_id, "recording when the daemon left: {error:#}");
                }
                publish_host(&app, host_id).await;
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
        Ok(frame) => relay_output(app, host_id, frame),
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
        Ok((session_id, offset, bytes)) if bytes.len() <= MAX_FRAME_DATA => relay_output(
            app,
            host_id,
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

/// Appends one output frame to its session's relay, if this host owns it.
fn relay_output(app: &App, host_id: HostId, frame: OutputFrame<'_>) {
    let Some(relay) = app.relay.get(frame.session_id) else {
        // Not yet known (before Hello after a hub restart): the daemon
        // resends retained output from the offset the Hello ack names.
        return;
    };
    if relay.host_id != host_id {
        tracing::warn!(session_id = %frame.session_id, %host_id, "daemon published output for another host's session; dropped");
        return;
    }
    match relay.push(frame.offset, frame.data) {
        Ok(PushOutcome::Gap { missing }) => {
            tracing::warn!(session_id = %frame.session_id, missing, "output gap: bytes were lost before reaching the hub");
        }
        Ok(PushOutcome::Appended | PushOutcome::Duplicate) => {}
        Err(error) => {
            app.metrics.frame_refused();
            tracing::warn!(session_id = %frame.session_id, %host_id, %error, "output frame from daemon refused");
        }
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
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!("handling a daemon event: {error:#}"),
            Err(error) if error.is_panic() => {
                app.metrics.handler_panicked();
                tracing::error!("handling a daemon event panicked; the event was dropped");
            }
            Err(error) => tracing::debug!(%error, "a daemon event's task was cancelled"),
        }
    }
}

async fn handle_event(
    app: &Arc<App>,
    host_id: HostId,
    sid: Sid,
    event: DaemonEvent,
) -> anyhow::Result<()> {
    match event {
        DaemonEvent::Hello(hello, ack) => {
            let reply = match on_hello(app, host_id, hello).await {
                Ok(ack) => {
                    app.daemons.mark_ready(host_id, sid);
                    Reply::Ok { value: ack }
                }
                Err(error) => {
                    tracing::error!("handling hello: {error:#}");
                    Reply::Error {
                        error: ErrorBody::new(
                            ErrorCode::Internal,
                            "the hub could not record the hello; see its log",
                        ),
                    }
                }
            };
            let _ = ack.send(&reply);
            publish_host(app, host_id).await;
        }
        DaemonEvent::Inventory(changed) => {
            app.store
                .record_host_seen(host_id, Some(serde_json::to_string(&changed.inventory)?))
                .await?;
            publish_host(app, host_id).await;
        }
        DaemonEvent::Started(started) => {
            if owns(app, host_id, started.session_id).await? {
                app.store.mark_running(started.session_id).await?;
                app.relay.open(started.session_id, host_id);
                app.daemons
                    .resolve_spawn(started.session_id, SpawnOutcome::Started);
                sessions::publish(app, started.session_id).await?;
            }
        }
        DaemonEvent::SpawnFailed(failed) => {
            if owns(app, host_id, failed.session_id).await? {
                tracing::info!(session_id = %failed.session_id, error = %failed.error.message, "spawn failed");
                sessions::end_session(
                    app,
                    failed.session_id,
                    SessionState::Failed,
                    None,
                    None,
                    Some(failed.error.message.clone()),
                )
                .await?;
                app.daemons
                    .resolve_spawn(failed.session_id, SpawnOutcome::Failed(failed.error));
            }
        }
        DaemonEvent::Usage(report) => usage::ingest(app, host_id, report).await?,
        DaemonEvent::Exited(exited) => {
            if owns(app, host_id, exited.session_id).await? {
                tracing::info!(session_id = %exited.session_id, exit_code = ?exited.exit_code, signal = ?exited.signal, "session exited");
                // A process that exits at once still started.
                app.daemons
                    .resolve_spawn(exited.session_id, SpawnOutcome::Started);
                sessions::end_session(
                    app,
                    exited.session_id,
                    SessionState::Exited,
                    exited.exit_code,
                    exited.signal,
                    None,
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// Whether the session exists and belongs to this host.
async fn owns(app: &App, host_id: HostId, session: SessionId) -> anyhow::Result<bool> {
    let Some(row) = app.store.get_session(session).await? else {
        tracing::warn!(session_id = %session, "daemon reported an unknown session");
        return Ok(false);
    };
    if row.host_id != host_id.to_string() {
        tracing::warn!(session_id = %session, %host_id, "daemon reported another host's session; ignored");
        return Ok(false);
    }
    Ok(true)
}

/// Records the inventory and reconciles session records with what the
/// daemon actually runs.
async fn on_hello(app: &Arc<App>, host_id: HostId, hello: Hello) -> anyhow::Result<HelloAck> {
    let host = app
        .store
        .get_host(host_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("host {host_id} vanished"))?;
    app.store
        .record_host_seen(host_id, Some(serde_json::to_string(&hello.inventory)?))
        .await?;
    let mut records = Vec::new();
    for row in app.store.live_sessions_of_host(host_id).await? {
        records.push(reconcile::LiveRecord {
            id: row.id.parse()?,
            state: SessionState::parse(&row.state).ok_or_else(|| {
                anyhow::anyhow!("stored session state {:?} is unknown", row.state)
            })?,
        });
    }
    let plan = reconcile::reconcile(&records, &hello.sessions);
    for id in &plan.confirm_started {
        app.store.mark_running(*id).await?;
        app.daemons.resolve_spawn(*id, SpawnOutcome::Started);
        sessions::publish(app, *id).await?;
    }
    let resume = plan
        .adopt
        .iter()
        .filter_map(|id| {
            app.relay.open(*id, host_id).map(|relay| SessionOffset {
                session_id: *id,
                offset: relay.range().1,
            })
        })
        .collect();
    for id in &plan.lost {
        tracing::info!(session_id = %id, "daemon reconnected without this session; marking it lost");
        sessions::end_session(
            app,
            *id,
            SessionState::Lost,
            None,
            None,
            Some("the daemon reconnected without this session".into()),
        )
        .await?;
    }
    for id in &plan.unknown {
        tracing::warn!(session_id = %id, "daemon runs a session the hub has no live record of");
    }
    tracing::info!(%host_id, sessions = hello.sessions.len(), "daemon said hello");
    Ok(HelloAck {
        host_id,
        host_name: host.name,
        resume,
    })
}

/// Tells every browser the host's current state.
async fn publish_host(app: &App, host_id: HostId) {
    let host = match app.store.get_host(host_id).await {
        Ok(Some(row)) => sessions::host_summary(app, &row),
        Ok(None) => return,
        Err(error) => Err(error),
    };
    match host {
        Ok(host) => {
            app.broadcast_ui(HostUpdated::NAME, &HostUpdated { host })
                .await
        }
        Err(error) => tracing::error!("publishing host {host_id}: {error:#}"),
    }
}
