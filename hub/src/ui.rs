//! The browser side of the hub: the `/ui` Socket.IO namespace and the
//! per-viewer output tasks.
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
use flotilla_protocol::hub_to_daemon::{ResizePty, WriteInput};
use flotilla_protocol::hub_to_ui::{HubError, ViewerOutput};
use flotilla_protocol::rest::SessionSummary;
use flotilla_protocol::ui_to_hub::{AttachSession, DetachSession, ResizeTerminal, SendInput};
use flotilla_protocol::usage::{UnwatchHost, WatchHost};
use flotilla_protocol::{
    ErrorBody, ErrorCode, Event, HostId, MAX_INPUT_BYTES, Reply, SessionId, UI_NAMESPACE,
};
use serde::Serialize;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef, TryData};
use socketioxide::handler::{ConnectHandler, FromMessageParts};
use socketioxide::socket::{Sid, Socket};
use socketioxide::{SendError, SocketError};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::auth::{self, CurrentUser, LoginGrant};
use crate::daemons::contain_panic;
use crate::relay::{REPLAY_BYTES, SessionRelay};
use crate::{App, UI_ROOM, lock, usage};

/// How long a viewer task waits before retrying when its socket's send
/// buffer is full.
const FULL_BUFFER_RETRY: Duration = Duration::from_millis(5);

/// The viewer tasks of every browser socket, so detach and disconnect can
/// stop them.
#[derive(Default)]
pub struct Viewers {
    /// Short insert/remove only; never held across an `.await`; recovered
    /// if poisoned (each critical section is one map operation).
    tasks: Mutex<HashMap<Sid, HashMap<SessionId, CancellationToken>>>,
}

impl Viewers {
    fn replace(&self, sid: Sid, session: SessionId, token: CancellationToken) {
        let previous = lock(&self.tasks)
            .entry(sid)
            .or_default()
            .insert(session, token);
        if let Some(previous) = previous {
            previous.cancel();
        }
    }

    fn stop(&self, sid: Sid, session: SessionId) {
        let token = lock(&self.tasks)
            .get_mut(&sid)
            .and_then(|sessions| sessions.remove(&session));
        if let Some(token) = token {
            token.cancel();
        }
    }

    fn stop_all(&self, sid: Sid) {
        let sessions = lock(&self.tasks).remove(&sid);
        for token in sessions.into_iter().flat_map(HashMap::into_values) {
            token.cancel();
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
        Ok(Some((row, expires_at_ms))) => match CurrentUser::try_from(row) {
            Ok(user) => {
                grant.set_expiry(expires_at_ms);
                socket.extensions.insert(user);
                crate::admission::authenticated(socket);
                socket.extensions.insert(grant);
                Ok(())
            }
            Err(error) => {
                tracing::error!("{error:#}");
                Err(UiRefused("unauthorized"))
            }
        },
        Ok(None) => Err(UiRefused("unauthorized: log in first")),
        Err(error) => {
            tracing::error!("checking a browser login: {error:#}");
            Err(UiRefused("unauthorized: the hub could not check the login"))
        }
    }
}

/// Revokes a login's grant and disconnects its browser sockets. The login
/// row is already deleted.
pub async fn revoke_login(app: &App, token_hash: &str) {
    app.logins.revoke(token_hash);
    let Some(ns) = app.io.of(UI_NAMESPACE) else {
        return;
    };
    if let Err(error) = ns.to(auth::login_room(token_hash)).disconnect().await {
        tracing::debug!(%error, "disconnecting a revoked login's sockets");
    }
}

/// `Ok` while the socket's login is live; otherwise disconnects the socket
/// and returns the `unauthorized` error its caller answers with.
fn live_login(socket: &SocketRef) -> Result<(), ErrorBody> {
    let live = socket
        .extensions
        .get::<Arc<LoginGrant>>()
        .is_some_and(|grant| grant.is_live());
    if live {
        return Ok(());
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
                    (Ok(()), Ok(data)) => attach(&app, &socket, data.session_id).await,
                    (Ok(()), Err(error)) => Err(malformed(error)),
                };
                // The ack goes out before the viewer task's first frame.
                let start = result.as_ref().ok().and_then(|(_, start)| start.clone());
                respond(
                    &socket,
                    ack,
                    wants,
                    AttachSession::NAME,
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
            });
            respond(&socket, ack, wants, DetachSession::NAME, result);
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
                let result = live_login(&socket)
                    .and_then(|()| data.map_err(malformed))
                    .and_then(|input| forward_input(&input_app, input));
                respond(&socket, ack, wants, SendInput::NAME, result);
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
                let result = live_login(&socket)
                    .and_then(|()| data.map_err(malformed))
                    .and_then(|resize| forward_resize(&resize_app, resize));
                respond(&socket, ack, wants, ResizeTerminal::NAME, result);
            });
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
        disconnect_app.viewers.stop_all(socket.id);
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

/// `Ok` when the host exists, else a `not_found` error.
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
                let result = match live_login(&socket).and(data.map_err(malformed)) {
                    Ok(data) => {
                        let host = host_of(&data);
                        existing_host(&app, host).await.map(|()| {
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
                respond(&socket, ack, wants, E::NAME, result);
            }
        },
    );
}

async fn existing_host(app: &App, id: HostId) -> Result<(), ErrorBody> {
    match app.store.get_host(id).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(ErrorBody::new(
            ErrorCode::NotFound,
            format!("host {id} does not exist"),
        )),
        Err(error) => Err(crate::api::ApiError::from(error).body().clone()),
    }
}

fn malformed(error: socketioxide::ParserError) -> ErrorBody {
    ErrorBody::new(
        ErrorCode::InvalidInput,
        format!("malformed message: {error}"),
    )
}

/// Sends the result as an ack, or as a `hub:error` event when it is an error
/// and no ack was asked for.
fn respond<T: Serialize>(
    socket: &SocketRef,
    ack: AckSender,
    wants_ack: bool,
    event: &str,
    result: Result<T, ErrorBody>,
) {
    if wants_ack {
        let reply: Reply<T> = result.into();
        if let Err(error) = ack.send(&reply) {
            tracing::debug!(%error, "ack not delivered");
        }
    } else if let Err(error) = result {
        let message = HubError {
            event: event.to_owned(),
            error,
        };
        if let Err(error) = socket.emit(HubError::NAME, &message) {
            tracing::debug!(%error, "error event not delivered");
        }
    }
}

type StartViewer = Arc<dyn Fn() + Send + Sync>;

/// Checks the session and prepares a viewer task that the caller starts
/// after acknowledging.
async fn attach(
    app: &Arc<App>,
    socket: &SocketRef,
    id: SessionId,
) -> Result<(SessionSummary, Option<StartViewer>), ErrorBody> {
    // Join the session's usage room before reading the summary, so no
    // update falls between the two; a newer update may then precede the ack
    // (`updatedAtUnixMs` orders them).
    socket.join(usage::session_room(id));
    let summary = match crate::sessions::get(app, id).await {
        Ok(summary) => summary,
        Err(error) => {
            socket.leave(usage::session_room(id));
            return Err(error.body().clone());
        }
    };
    // A live session whose daemon is away (or not yet back after a hub
    // restart) gets its relay opened now; the viewer then starts streaming
    // as soon as the daemon resends.
    let relay = if summary.state.is_final() {
        app.relay.get(id)
    } else {
        app.relay.open(id, summary.host_id)
    };
    let Some(relay) = relay else {
        return Ok((summary, None));
    };
    let (start, end) = relay.range();
    let from = end.saturating_sub(REPLAY_BYTES as u64).max(start);
    let app = app.clone();
    let socket = socket.clone();
    let start_viewer: StartViewer = Arc::new(move || {
        let token = app.shutdown.child_token();
        app.viewers.replace(socket.id, id, token.clone());
        let span = tracing::debug_span!("viewer", session_id = %id, sid = %socket.id);
        app.tracker
            .spawn(run_viewer(socket.clone(), relay.clone(), from, token).instrument(span));
    });
    Ok((summary, Some(start_viewer)))
}

/// Streams a session's output to one socket from `from` on, at the pace
/// that socket can take.
async fn run_viewer(
    socket: SocketRef,
    relay: Arc<SessionRelay>,
    mut next: u64,
    cancel: CancellationToken,
) {
    let mut changes = relay.subscribe();
    loop {
        changes.borrow_and_update();
        loop {
            let (start, data) = relay.read(next, MAX_FRAME_DATA);
            if data.is_empty() {
                break;
            }
            let frame = OutputFrame {
                session_id: relay.session_id,
                offset: start,
                data: &data,
            }
            .encode();
            match socket.emit(ViewerOutput::NAME, &Bytes::from(frame)) {
                Ok(()) => next = start + data.len() as u64,
                Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                    tokio::select! {
                        () = tokio::time::sleep(FULL_BUFFER_RETRY) => {}
                        () = cancel.cancelled() => return,
                    }
                }
                Err(_) => return,
            }
        }
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            () = cancel.cancelled() => return,
        }
    }
}

fn live_relay(app: &App, id: SessionId) -> Result<Arc<SessionRelay>, ErrorBody> {
    let relay = app.relay.get(id).ok_or_else(|| {
        ErrorBody::new(
            ErrorCode::NotFound,
            format!("session {id} is not running on any connected host"),
        )
    })?;
    if relay.is_ended() {
        return Err(ErrorBody::new(
            ErrorCode::Conflict,
            format!("session {id} has ended"),
        ));
    }
    Ok(relay)
}

fn forward_input(app: &App, input: SendInput) -> Result<(), ErrorBody> {
    if input.data.len() > MAX_INPUT_BYTES {
        return Err(ErrorBody::new(
            ErrorCode::TooLarge,
            format!(
                "input of {} bytes exceeds the {MAX_INPUT_BYTES}-byte limit; send it in parts",
                input.data.len()
            ),
        ));
    }
    let command = WriteInput {
        session_id: input.session_id,
        data: input.data,
    };
    forward_to_daemon(app, command.session_id, WriteInput::NAME, &command)
}

fn forward_resize(app: &App, resize: ResizeTerminal) -> Result<(), ErrorBody> {
    resize.size.validate()?;
    let command = ResizePty {
        session_id: resize.session_id,
        size: resize.size,
    };
    forward_to_daemon(app, command.session_id, ResizePty::NAME, &command)
}

/// Sends a command to the daemon running a live session.
fn forward_to_daemon<T: Serialize>(
    app: &App,
    session: SessionId,
    event: &str,
    command: &T,
) -> Result<(), ErrorBody> {
    let relay = live_relay(app, session)?;
    let link = app
        .daemons
        .link(relay.host_id)
        .ok_or_else(|| ErrorBody::new(ErrorCode::Conflict, "the session's host is offline"))?;
    link.emit(event, command).map_err(|error| {
        ErrorBody::new(
            ErrorCode::Conflict,
            format!("could not reach the daemon: {error}"),
        )
    })
}
