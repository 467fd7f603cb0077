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
use flotilla_protocol::hub_to_ui::{HubError, ViewerOutput};
use flotilla_protocol::rest::SessionSummary;
use flotilla_protocol::ui_to_hub::{AttachSession, DetachSession, ResizeTerminal, SendInput};
use flotilla_protocol::usage::{UnwatchHost, WatchHost};
use flotilla_protocol::{ErrorBody, ErrorCode, Event, HostId, Reply, SessionId, UI_NAMESPACE};
use serde::Serialize;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef, TryData};
use socketioxide::handler::{ConnectHandler, FromMessageParts};
use socketioxide::socket::{Sid, Socket};
use socketioxide::{SendError, SocketError};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::actor::Actor;
use crate::auth::{self, CurrentUser, LoginGrant};
use crate::error::ApiError;
use crate::relay::SessionRelay;
use crate::{App, UI_ROOM, contain_panic, hosts, lock, terminal, usage};

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
                    (Ok(actor), Ok(data)) => attach(&app, &socket, &actor, data.session_id).await,
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
                    terminal::input(&input_app, &actor, input).map_err(ApiError::into_body)
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
                    terminal::resize(&resize_app, &actor, resize).map_err(ApiError::into_body)
                });
                respond::<ResizeTerminal, _>(&socket, ack, wants, result);
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

/// Attaches as the socket's user and prepares a viewer task that the
/// caller starts after acknowledging.
async fn attach(
    app: &Arc<App>,
    socket: &SocketRef,
    actor: &Actor,
    id: SessionId,
) -> Result<(SessionSummary, Option<StartViewer>), ErrorBody> {
    // Join the session's usage room before reading the summary, so no
    // update falls between the two; a newer update may then precede the ack
    // (`updatedAtUnixMs` orders them).
    socket.join(usage::session_room(id));
    let attachment = match terminal::attach(app, actor, id).await {
        Ok(attachment) => attachment,
        Err(error) => {
            socket.leave(usage::session_room(id));
            return Err(error.into_body());
        }
    };
    let summary = attachment.summary;
    let Some((relay, from)) = attachment.stream else {
        return Ok((summary, None));
    };
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
