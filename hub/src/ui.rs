//! The browser side of the hub: the `/ui` Socket.IO namespace and the
//! per-viewer output tasks. A transport: it parses, calls the use cases
//! (`terminal`, `hosts`) as the socket's user, and renders their answers.
//!
//! A browser socket is accepted only with a valid login cookie and an
//! allowed `Origin`, and lives only as long as that login: logout and
//! expiry disconnect it, and attach, input and resize are refused once the
//! login is gone (see `auth::LiveLogins`). Input and resize are forwarded from the synchronous part
//! of their handlers so keystrokes keep their order; everything is answered
//! with a [`Reply`], or with a [`HubError`] event when no ack was asked for.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use flotilla_protocol::frame::{MAX_FRAME_DATA, OutputFrame};
use flotilla_protocol::hub_to_ui::{HubError, SessionResized, ViewerOutput, ViewerSnapshot};
use flotilla_protocol::rest::SessionSummary;
use flotilla_protocol::ui_to_hub::{
    AckOutput, AttachSession, DetachSession, ResizeTerminal, SendInput,
};
use flotilla_protocol::usage::{UnwatchHost, WatchHost};
use flotilla_protocol::{ErrorBody, ErrorCode, Event, HostId, Reply, SessionId, UI_NAMESPACE};
use serde::Serialize;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef, TryData};
use socketioxide::handler::{ConnectHandler, FromMessageParts};
use socketioxide::socket::{Sid, Socket};
use socketioxide::{SendError, SocketError};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::actor::Actor;
use crate::auth::{self, CurrentUser, LoginGrant};
use crate::error::ApiError;
use crate::relay::{SessionRelay, SnapshotNeed};
use crate::terminal::{SizeChange, Start};
use crate::{App, UI_ROOM, contain_panic, hosts, lock, terminal, usage};

/// How long a viewer task waits before retrying when its socket's send
/// buffer is full.
const FULL_BUFFER_RETRY: Duration = Duration::from_millis(5);

/// Flow control: the most output bytes sent to one viewer and not yet
/// acknowledged as parsed by its terminal. Past it the viewer's task waits
/// for acknowledgements (its terminal is busy), and nobody else waits.
pub const WINDOW_BYTES: u64 = 512 * 1024;

/// A viewer whose next byte is further behind the newest output than this
/// (or already evicted from the relay) is sent a fresh snapshot instead of
/// the backlog, once it has parsed what it was sent.
pub const RESYNC_BYTES: u64 = 768 * 1024;

/// How long a viewer waits for its daemon's snapshot before it is sent the
/// recent output instead (a daemon that is away cannot render one).
const SNAPSHOT_WAIT: Duration = Duration::from_secs(3);

/// The viewer tasks of every browser socket, so detach and disconnect can
/// stop them and acknowledgements reach them.
#[derive(Default)]
pub struct Viewers {
    /// Short insert/remove only; never held across an `.await`; recovered
    /// if poisoned (each critical section is one map operation).
    tasks: Mutex<HashMap<Sid, HashMap<SessionId, ViewerTask>>>,
}

struct ViewerTask {
    cancel: CancellationToken,
    /// The offset up to which the viewer's terminal has parsed.
    acked: watch::Sender<u64>,
}

impl Viewers {
    fn replace(&self, sid: Sid, session: SessionId, task: ViewerTask) {
        let previous = lock(&self.tasks)
            .entry(sid)
            .or_default()
            .insert(session, task);
        if let Some(previous) = previous {
            previous.cancel.cancel();
        }
    }

    fn stop(&self, sid: Sid, session: SessionId) -> bool {
        let task = lock(&self.tasks)
            .get_mut(&sid)
            .and_then(|sessions| sessions.remove(&session));
        task.map(|task| task.cancel.cancel()).is_some()
    }

    /// Stops every viewer task of a socket; returns their sessions.
    fn stop_all(&self, sid: Sid) -> Vec<SessionId> {
        let sessions = lock(&self.tasks).remove(&sid).unwrap_or_default();
        sessions
            .into_iter()
            .map(|(session, task)| {
                task.cancel.cancel();
                session
            })
            .collect()
    }

    /// Records that a viewer's terminal parsed output up to `offset`.
    fn ack(&self, sid: Sid, session: SessionId, offset: u64) {
        if let Some(task) = lock(&self.tasks)
            .get(&sid)
            .and_then(|sessions| sessions.get(&session))
        {
            task.acked.send_if_modified(|acked| {
                let advanced = offset > *acked;
                *acked = (*acked).max(offset);
                advanced
            });
        }
    }
}

/// The room of a session's viewers, told about size changes.
fn viewers_room(session: SessionId) -> String {
    format!("viewers:{session}")
}

/// The viewer id of a socket, for the size policy.
fn viewer_id(socket: &SocketRef) -> terminal::ViewerId {
    socket.id.to_string()
}

/// Tells every viewer of the session its PTY's new size and whether it
/// drives it.
fn announce(socket: &SocketRef, session_id: SessionId, change: &SizeChange) {
    for viewer in socket.within(viewers_room(session_id)).sockets() {
        let message = SessionResized {
            session_id,
            size: change.size,
            driver: viewer.id.to_string() == change.driver,
        };
        if let Err(error) = viewer.emit(SessionResized::NAME, &message) {
            tracing::debug!(%error, "size change not delivered");
        }
    }
}

/// Whether the client asked for an acknowledgement.
pub struct WantsAck(pub bool);

impl<A: Adapter> FromMessageParts<A> for WantsAck {
    type Error = Infallible;
    fn from_message_parts(
        _: &Arc<Socket<A>>,
        _: &mut socketioxide::handler::Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        Ok(WantsAck(ack_id.is_some()))
    }
}

/// Why a browser socket was refused.
#[derive(Debug)]
struct UiRefused(&'static str);

impl std::fmt::Display for UiRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Registers the `/ui` namespace.
pub fn register(app: &Arc<App>) {
    let auth_app = app.clone();
    // Handlers are registered in the middleware: socketioxide sends the
    // CONNECT packet before calling the connect handler, so a client's first
    // event could otherwise arrive before its handler exists (see `daemons`).
    let authenticate = move |socket: SocketRef| {
        let app = auth_app.clone();
        async move {
            authenticate(&app, &socket).await?;
            on_connect(&app, socket);
            Ok::<(), UiRefused>(())
        }
    };
    let on_connect = |_: SocketRef| ready(());
    app.io.ns(UI_NAMESPACE, on_connect.with(authenticate));
}

async fn authenticate(app: &App, socket: &SocketRef) -> Result<(), UiRefused> {
    let headers = &socket.req_parts().headers;
    if !app.config.origin.allows(headers) {
        tracing::warn!("browser socket refused: foreign origin");
        return Err(UiRefused(
            "forbidden: the Origin does not match the hub's public URL",
        ));
    }
    let Some(cookie) = auth::session_cookie(headers) else {
        return Err(UiRefused("unauthorized: log in first"));
    };
    // The grant is taken before the login is read; see `LiveLogins`.
    let grant = app.logins.track(&auth::token_hash(&cookie));
    match app.store.find_login_with_expiry(grant.token_hash()).await {
        Ok(Some((user, expires_at_ms))) => {
            grant.set_expiry(expires_at_ms);
            socket.extensions.insert(CurrentUser::from(user));
            crate::admission::authenticated(socket);
            socket.extensions.insert(grant);
            Ok(())
        }
        Ok(None) => Err(UiRefused("unauthorized: log in first")),
        Err(error) => {
            tracing::error!("checking a browser login: {error:#}");
            Err(UiRefused("unauthorized: the hub could not check the login"))
        }
    }
}

/// `Ok` while the socket's login is live; otherwise disconnects the socket
/// and returns the `unauthorized` error its caller answers with.
fn live_login(socket: &SocketRef) -> Result<Actor, ErrorBody> {
    let live = socket
        .extensions
        .get::<Arc<LoginGrant>>()
        .is_some_and(|grant| grant.is_live());
    let user = socket.extensions.get::<CurrentUser>();
    if let (true, Some(user)) = (live, user) {
        return Ok(Actor::User(user));
    }
    // An error means it is already closing.
    let _ = socket.clone().disconnect();
    Err(ErrorBody::new(
        ErrorCode::Unauthorized,
        "the login has ended; log in again",
    ))
}

/// Disconnects the socket when its login expires, unless `cancel` (its
/// disconnect) comes first.
fn disconnect_at_expiry(
    app: &App,
    socket: &SocketRef,
    grant: &LoginGrant,
    cancel: CancellationToken,
) {
    let remaining_ms = grant
        .expires_at_ms()
        .saturating_sub(crate::store::now_ms())
        .max(0);
    let remaining = Duration::from_millis(u64::try_from(remaining_ms).unwrap_or(0));
    let socket = socket.clone();
    let span = tracing::debug_span!("login_expiry", sid = %socket.id);
    app.tracker.spawn(
        async move {
            tokio::select! {
                () = tokio::time::sleep(remaining) => {
                    tracing::info!("login expired; disconnecting its browser socket");
                    let _ = socket.disconnect();
                }
                () = cancel.cancelled() => {}
            }
        }
        .instrument(span),
    );
}

fn on_connect(app: &Arc<App>, socket: SocketRef) {
    let attach_app = app.clone();
    socket.on(
        AttachSession::NAME,
        move |socket: SocketRef,
              TryData(data): TryData<AttachSession>,
              ack: AckSender,
              WantsAck(wants): WantsAck| {
            let app = attach_app.clone();
            async move {
                let result = match (live_login(&socket), data) {
                    (Err(error), _) => Err(error),
                    (Ok(actor), Ok(data)) => match parse_offset(data.since.as_deref()) {
                        Ok(since) => attach(&app, &socket, &actor, data.session_id, since).await,
                        Err(error) => Err(error),
                    },
                    (Ok(_), Err(error)) => Err(malformed(error)),
                };
                // The ack goes out before the viewer task's first frame.
                let start = result.as_ref().ok().and_then(|(_, start)| start.clone());
                respond::<AttachSession, _>(
                    &socket,
                    ack,
                    wants,
                    result.map(|(summary, _)| summary),
                );
                if let Some(start) = start {
                    start();
                }
            }
        },
    );
    let detach_app = app.clone();
    socket.on(
        DetachSession::NAME,
        move |socket: SocketRef,
              TryData(data): TryData<DetachSession>,
              ack: AckSender,
              WantsAck(wants): WantsAck| {
            let result = data.map_err(malformed).map(|data| {
                detach_app.viewers.stop(socket.id, data.session_id);
                socket.leave(usage::session_room(data.session_id));
                socket.leave(viewers_room(data.session_id));
                if let Some(change) =
                    terminal::viewer_left(&detach_app, data.session_id, &viewer_id(&socket))
                {
                    announce(&socket, data.session_id, &change);
                }
            });
            respond::<DetachSession, _>(&socket, ack, wants, result);
            ready(())
        },
    );
    let input_app = app.clone();
    socket.on(
        SendInput::NAME,
        move |socket: SocketRef,
              TryData(data): TryData<SendInput>,
              ack: AckSender,
              WantsAck(wants): WantsAck|
              -> Ready<()> {
            contain_panic(&input_app.metrics, SendInput::NAME, || {
                let result = live_login(&socket).and_then(|actor| {
                    let input = data.map_err(malformed)?;
                    let session_id = input.session_id;
                    let change = terminal::input(&input_app, &actor, &viewer_id(&socket), input)
                        .map_err(ApiError::into_body)?;
                    if let Some(change) = change {
                        announce(&socket, session_id, &change);
                    }
                    Ok(())
                });
                respond::<SendInput, _>(&socket, ack, wants, result);
            });
            ready(())
        },
    );
    let resize_app = app.clone();
    socket.on(
        ResizeTerminal::NAME,
        move |socket: SocketRef,
              TryData(data): TryData<ResizeTerminal>,
              ack: AckSender,
              WantsAck(wants): WantsAck|
              -> Ready<()> {
            contain_panic(&resize_app.metrics, ResizeTerminal::NAME, || {
                let result = live_login(&socket).and_then(|actor| {
                    let resize = data.map_err(malformed)?;
                    let session_id = resize.session_id;
                    let change = terminal::resize(&resize_app, &actor, &viewer_id(&socket), resize)
                        .map_err(ApiError::into_body)?;
                    if let Some(change) = change {
                        announce(&socket, session_id, &change);
                    }
                    Ok(())
                });
                respond::<ResizeTerminal, _>(&socket, ack, wants, result);
            });
            ready(())
        },
    );
    let ack_app = app.clone();
    socket.on(
        AckOutput::NAME,
        move |socket: SocketRef, TryData(data): TryData<AckOutput>| -> Ready<()> {
            match data.map_err(malformed).and_then(|ack| {
                let offset = parse_offset(Some(&ack.offset))?.unwrap_or(0);
                Ok((ack.session_id, offset))
            }) {
                Ok((session_id, offset)) => ack_app.viewers.ack(socket.id, session_id, offset),
                Err(error) => {
                    let message = HubError {
                        event: AckOutput::NAME.to_owned(),
                        error,
                    };
                    if let Err(error) = socket.emit(HubError::NAME, &message) {
                        tracing::debug!(%error, "error event not delivered");
                    }
                }
            }
            ready(())
        },
    );
    on_host_watch::<WatchHost>(&socket, app, |w| w.host_id, true);
    on_host_watch::<UnwatchHost>(&socket, app, |w| w.host_id, false);
    let expiry = app.shutdown.child_token();
    let disconnect_app = app.clone();
    let expiry_on_disconnect = expiry.clone();
    socket.on_disconnect(move |socket: SocketRef| {
        expiry_on_disconnect.cancel();
        let viewer = viewer_id(&socket);
        for session_id in disconnect_app.viewers.stop_all(socket.id) {
            if let Some(change) = terminal::viewer_left(&disconnect_app, session_id, &viewer) {
                announce(&socket, session_id, &change);
            }
        }
        ready(())
    });
    socket.join(UI_ROOM);
    match socket.extensions.get::<Arc<LoginGrant>>() {
        Some(grant) => {
            socket.join(auth::login_room(grant.token_hash()));
            disconnect_at_expiry(app, &socket, &grant, expiry);
        }
        None => expiry.cancel(),
    }
    // A logout between the login check and joining the login's room.
    let _ = live_login(&socket);
}

/// Registers `E` (`host:watch` or `host:unwatch`): joins or leaves the
/// host's usage room once the host is known to exist.
fn on_host_watch<E>(socket: &SocketRef, app: &Arc<App>, host_of: fn(&E) -> HostId, join: bool)
where
    E: Event + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let app = Arc::clone(app);
    socket.on(
        E::NAME,
        move |socket: SocketRef,
              TryData(data): TryData<E>,
              ack: AckSender,
              WantsAck(wants): WantsAck| {
            let app = app.clone();
            async move {
                let result = match live_login(&socket)
                    .and_then(|actor| Ok((actor, data.map_err(malformed)?)))
                {
                    Ok((actor, data)) => {
                        let host = host_of(&data);
                        let found = hosts::get(&app, &actor, host).await;
                        found.map_err(ApiError::into_body).map(|_| {
                            let room = usage::host_room(host);
                            if join {
                                socket.join(room);
                            } else {
                                socket.leave(room);
                            }
                        })
                    }
                    Err(error) => Err(error),
                };
                respond::<E, _>(&socket, ack, wants, result);
            }
        },
    );
}

fn malformed(error: socketioxide::ParserError) -> ErrorBody {
    ErrorBody::new(
        ErrorCode::InvalidInput,
        format!("malformed message: {error}"),
    )
}

/// Sends the result as an ack, or as a `hub:error` event when it is an error
/// and no ack was asked for.
fn respond<E: Event, T: Serialize>(
    socket: &SocketRef,
    ack: AckSender,
    wants_ack: bool,
    result: Result<T, ErrorBody>,
) {
    if wants_ack {
        let reply: Reply<T> = result.into();
        if let Err(error) = ack.send(&reply) {
            tracing::debug!(%error, "ack not delivered");
        }
    } else if let Err(error) = result {
        let message = HubError {
            event: E::NAME.to_owned(),
            error,
        };
        if let Err(error) = socket.emit(HubError::NAME, &message) {
            tracing::debug!(%error, "error event not delivered");
        }
    }
}

type StartViewer = Arc<dyn Fn() + Send + Sync>;

/// A stream offset sent as decimal text.
fn parse_offset(text: Option<&str>) -> Result<Option<u64>, ErrorBody> {
    text.map(|text| {
        text.parse::<u64>().map_err(|_| {
            ErrorBody::new(
                ErrorCode::InvalidInput,
                format!("offset {text:?} is not a decimal number of at most 20 digits"),
            )
        })
    })
    .transpose()
}

/// Attaches as the socket's user and prepares a viewer task that the
/// caller starts after acknowledging.
async fn attach(
    app: &Arc<App>,
    socket: &SocketRef,
    actor: &Actor,
    id: SessionId,
    since: Option<u64>,
) -> Result<(SessionSummary, Option<StartViewer>), ErrorBody> {
    // Join the session's usage room before reading the summary, so no
    // update falls between the two; a newer update may then precede the ack
    // (`updatedAtUnixMs` orders them).
    socket.join(usage::session_room(id));
    let attachment = match terminal::attach(app, actor, id, since).await {
        Ok(attachment) => attachment,
        Err(error) => {
            socket.leave(usage::session_room(id));
            return Err(error.into_body());
        }
    };
    let summary = attachment.summary;
    let Some((relay, start)) = attachment.stream else {
        return Ok((summary, None));
    };
    socket.join(viewers_room(id));
    terminal::viewer_attached(&relay, &viewer_id(socket));
    let start = Arc::new(Mutex::new(Some(start)));
    let app = app.clone();
    let socket = socket.clone();
    let start_viewer: StartViewer = Arc::new(move || {
        let Some(start) = lock(&start).take() else {
            return;
        };
        let cancel = app.shutdown.child_token();
        let (acked, acks) = watch::channel(0);
        app.viewers.replace(
            socket.id,
            id,
            ViewerTask {
                cancel: cancel.clone(),
                acked,
            },
        );
        let viewer = Viewer {
            app: app.clone(),
            socket: socket.clone(),
            relay: relay.clone(),
            acks,
            cancel,
        };
        let span = tracing::debug_span!("viewer", session_id = %id, sid = %socket.id);
        app.tracker.spawn(viewer.run(start).instrument(span));
    });
    Ok((summary, Some(start_viewer)))
}

/// One viewer's output task: it sends one socket the session's output at
/// the pace that socket's terminal parses it (at most [`WINDOW_BYTES`]
/// unacknowledged), and a fresh snapshot when it fell too far behind.
struct Viewer {
    app: Arc<App>,
    socket: SocketRef,
    relay: Arc<SessionRelay>,
    acks: watch::Receiver<u64>,
    cancel: CancellationToken,
}

/// Why a viewer task ends.
struct Gone;

impl Viewer {
    async fn run(mut self, start: Start) {
        let _ = self.stream(start).await;
    }

    /// Tells this viewer the PTY's size as the hub knows it.
    async fn send_size(&self) -> Result<(), Gone> {
        let (size, driver) = {
            let sizes = lock(&self.relay.sizes);
            (sizes.size, sizes.driver().cloned())
        };
        let Some(size) = size else {
            return Ok(());
        };
        let message = SessionResized {
            session_id: self.relay.session_id,
            size,
            driver: driver.as_deref() == Some(viewer_id(&self.socket).as_str()),
        };
        self.emit(SessionResized::NAME, &message).await
    }

    async fn stream(&mut self, start: Start) -> Result<(), Gone> {
        self.send_size().await?;
        let mut next = match start {
            Start::From(offset) => offset,
            Start::Snapshot => self.snapshot(SnapshotNeed::Attach).await?,
        };
        // Acknowledgements below this are for bytes sent before the last
        // snapshot or start: they say nothing about what is in flight now.
        let mut floor = next;
        let mut changes = self.relay.subscribe();
        loop {
            changes.borrow_and_update();
            let acked = (*self.acks.borrow_and_update()).max(floor);
            let in_flight = next.saturating_sub(acked);
            let (start, end) = self.relay.range();
            let behind = next < start || end.saturating_sub(next) > RESYNC_BYTES;
            if behind && in_flight == 0 {
                next = self.snapshot(SnapshotNeed::Resync).await?;
                floor = next;
                continue;
            }
            if behind || in_flight >= WINDOW_BYTES {
                self.wait(None).await?;
                continue;
            }
            let room = usize::try_from(WINDOW_BYTES - in_flight).unwrap_or(usize::MAX);
            let (from, data) = self.relay.read(next, MAX_FRAME_DATA.min(room));
            if data.is_empty() {
                self.wait(Some(&mut changes)).await?;
                continue;
            }
            let frame = OutputFrame {
                session_id: self.relay.session_id,
                offset: from,
                data: &data,
            }
            .encode();
            self.emit(ViewerOutput::NAME, &Bytes::from(frame)).await?;
            next = from + data.len() as u64;
        }
    }

    /// Waits for an acknowledgement (or new output, when `changes` is
    /// given).
    async fn wait(&mut self, changes: Option<&mut watch::Receiver<u64>>) -> Result<(), Gone> {
        let output = async {
            match changes {
                Some(changes) => changes.changed().await.is_ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            acked = self.acks.changed() => acked.map_err(|_| Gone),
            alive = output => if alive { Ok(()) } else { Err(Gone) },
            () = self.cancel.cancelled() => Err(Gone),
        }
    }

    /// Sends a snapshot that serves `need` ([`SessionRelay::serves`]) and
    /// returns its offset. The daemon is asked for one only when none does
    /// and no request of another viewer is already on its way. Without one in
    /// time (the daemon is away) the recent output is replayed instead.
    async fn snapshot(&mut self, need: SnapshotNeed) -> Result<u64, Gone> {
        let wanted_from = self.relay.range().1;
        let mut snapshots = self.relay.subscribe_snapshots();
        let deadline = tokio::time::Instant::now() + SNAPSHOT_WAIT;
        let found = loop {
            let latest = snapshots.borrow_and_update().clone();
            if let Some(snapshot) = latest
                && self.relay.serves(&snapshot, need, wanted_from)
            {
                break Some(snapshot);
            }
            if self.relay.is_ended() {
                break None;
            }
            if self.relay.claim_snapshot_request(SNAPSHOT_WAIT)
                && let Err(error) = terminal::request_snapshot(&self.app, &self.relay)
            {
                tracing::debug!(?error, "no snapshot: replaying recent output");
                self.relay.forget_snapshot_request();
                break None;
            }
            tokio::select! {
                changed = tokio::time::timeout_at(deadline, snapshots.changed()) => match changed {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return Err(Gone),
                    Err(_) => {
                        tracing::warn!(session_id = %self.relay.session_id, "the daemon sent no snapshot in time; replaying recent output");
                        break None;
                    }
                },
                () = self.cancel.cancelled() => return Err(Gone),
            }
        };
        match found {
            Some(snapshot) => {
                self.emit(ViewerSnapshot::NAME, &snapshot.frame).await?;
                // Rendered before a resize that is on its way: the size in
                // force follows, so the viewer does not keep the old one.
                if lock(&self.relay.sizes).size != Some(snapshot.size) {
                    self.send_size().await?;
                }
                Ok(snapshot.offset)
            }
            None => Ok(terminal::replay_start(&self.relay)),
        }
    }

    /// Emits to this viewer's socket, waiting while its send buffer is
    /// full; any other failure ends the viewer (the socket is gone).
    async fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), Gone> {
        loop {
            match self.socket.emit(event, data) {
                Ok(()) => return Ok(()),
                Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                    tokio::select! {
                        () = tokio::time::sleep(FULL_BUFFER_RETRY) => {}
                        () = self.cancel.cancelled() => return Err(Gone),
                    }
                }
                Err(error) => {
                    tracing::debug!(%error, "viewer socket gone");
                    return Err(Gone);
                }
            }
        }
    }
}
