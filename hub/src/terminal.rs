//! Terminal use cases: a viewer attaches to a session's output, a user
//! types into it and resizes it, and its daemon publishes its output.
//!
//! Input, resize and output are synchronous: the transports call them from
//! the synchronous part of their handlers, in arrival order, so keystrokes
//! and frames keep their order (see `daemons` and `ui`).

use std::sync::Arc;

use flotilla_protocol::frame::{OutputFrame, SnapshotFrame};
use flotilla_protocol::hub_to_daemon::{RequestSnapshot, ResizePty, WriteInput};
use flotilla_protocol::rest::SessionSummary;
use flotilla_protocol::ui_to_hub::{ResizeTerminal, SendInput};
use flotilla_protocol::{ErrorCode, Event, MAX_INPUT_BYTES, SessionId, TermSize};
use serde::Serialize;

use crate::App;
use crate::actor::Actor;
use crate::error::ApiError;
use crate::relay::{PushOutcome, REPLAY_BYTES, SessionRelay, Snapshot};
use crate::{lock, sessions};

pub use crate::sizes::{SizeChange, Sizes, ViewerId};

/// How a viewer starts.
pub enum Start {
    /// Output from this offset: the viewer already shows what came before.
    From(u64),
    /// A fresh screen snapshot first.
    Snapshot,
}

/// What an attach gives the viewer: the session, and where to stream its
/// output from when it has any.
pub struct Attachment {
    /// The session as recorded.
    pub summary: SessionSummary,
    /// Its output buffer and how the viewer starts; `None` for an ended
    /// session whose output is gone.
    pub stream: Option<(Arc<SessionRelay>, Start)>,
}

/// Checks the session and finds where its viewer starts: at `since` when
/// the relay still holds every byte after it, else with a snapshot.
pub async fn attach(
    app: &App,
    actor: &Actor,
    id: SessionId,
    since: Option<u64>,
) -> Result<Attachment, ApiError> {
    let summary = sessions::get(app, actor, id).await?;
    // A live session whose daemon is away (or not yet back after a hub
    // restart) gets its relay opened now; the viewer then starts streaming
    // as soon as the daemon resends.
    let relay = if summary.state.is_final() {
        app.relay.get(id)
    } else {
        app.relay.open(id, summary.host_id)
    };
    let stream = relay.map(|relay| {
        let (start, end) = relay.range();
        let start = match since {
            Some(since) if start <= since && since <= end => Start::From(since),
            _ => Start::Snapshot,
        };
        (relay, start)
    });
    Ok(Attachment { summary, stream })
}

/// Where a viewer that gets no snapshot starts: the last [`REPLAY_BYTES`]
/// of retained output.
pub fn replay_start(relay: &SessionRelay) -> u64 {
    let (start, end) = relay.range();
    end.saturating_sub(REPLAY_BYTES as u64).max(start)
}

/// Asks the session's daemon for a snapshot of its screen. Fails when the
/// daemon is not connected (the viewer then falls back to a replay).
pub fn request_snapshot(app: &App, relay: &SessionRelay) -> Result<(), ApiError> {
    let link = app
        .daemons
        .link(relay.host_id)
        .ok_or_else(|| ApiError::new(ErrorCode::Conflict, "the session's host is offline"))?;
    link.emit(&RequestSnapshot {
        session_id: relay.session_id,
    })
    .map_err(|error| {
        ApiError::new(
            ErrorCode::Conflict,
            format!("could not reach the daemon: {error}"),
        )
    })
}

/// Keeps a daemon's snapshot of one of its host's sessions.
pub fn snapshot(app: &App, actor: &Actor, frame: SnapshotFrame<'_>) {
    let Actor::Daemon(host_id) = actor else {
        return;
    };
    let Some(relay) = app.relay.get(frame.session_id) else {
        return;
    };
    if relay.host_id != *host_id {
        tracing::warn!(session_id = %frame.session_id, %host_id, "daemon sent a snapshot of another host's session; dropped");
        return;
    }
    relay.set_snapshot(Snapshot {
        offset: frame.offset,
        size: frame.size,
        frame: bytes::Bytes::from(frame.encode()),
    });
}

/// Forwards keystrokes to the session's daemon. The typing viewer now
/// drives the size: returns the size change to announce when its size
/// differs.
pub fn input(
    app: &App,
    actor: &Actor,
    viewer: &ViewerId,
    input: SendInput,
) -> Result<Option<SizeChange>, ApiError> {
    actor.user()?;
    if input.data.len() > MAX_INPUT_BYTES {
        return Err(ApiError::new(
            ErrorCode::TooLarge,
            format!(
                "input of {} bytes exceeds the {MAX_INPUT_BYTES}-byte limit; send it in parts",
                input.data.len()
            ),
        ));
    }
    let session_id = input.session_id;
    // Resized first, so what is typed lands in the size it was typed for.
    let relay = live_relay(app, session_id)?;
    let change = lock(&relay.sizes).typed(viewer);
    if let Some(change) = &change {
        apply_size(app, session_id, change.size)?;
    }
    forward_to_daemon(
        app,
        &WriteInput {
            session_id,
            data: input.data,
        },
        session_id,
    )?;
    Ok(change)
}

/// Records the size a viewer's terminal would fit, and applies it when that
/// viewer drives (see [`Sizes`]). Returns the change to announce.
pub fn resize(
    app: &App,
    actor: &Actor,
    viewer: &ViewerId,
    resize: ResizeTerminal,
) -> Result<Option<SizeChange>, ApiError> {
    actor.user()?;
    resize.size.validate()?;
    let relay = live_relay(app, resize.session_id)?;
    let change = lock(&relay.sizes).wants(viewer, resize.size);
    if let Some(change) = &change {
        apply_size(app, resize.session_id, change.size)?;
    }
    Ok(change)
}

/// A viewer attached (for the size policy).
pub fn viewer_attached(relay: &SessionRelay, viewer: &ViewerId) {
    lock(&relay.sizes).attach(viewer);
}

/// A viewer left: the next driver's size applies. Returns the change to
/// announce.
pub fn viewer_left(app: &App, session_id: SessionId, viewer: &ViewerId) -> Option<SizeChange> {
    let relay = app.relay.get(session_id)?;
    let change = lock(&relay.sizes).detach(viewer)?;
    if relay.is_ended() {
        return None;
    }
    apply_size(app, session_id, change.size).ok()?;
    Some(change)
}

fn apply_size(app: &App, session_id: SessionId, size: TermSize) -> Result<(), ApiError> {
    forward_to_daemon(app, &ResizePty { session_id, size }, session_id)
}

/// Appends a frame of a session's output, published by its daemon, to the
/// session's relay. A frame for a session the hub has no relay for yet
/// (before `Hello` after a hub restart) is dropped: the daemon resends
/// retained output from the offset the `Hello` ack names.
pub fn output(app: &App, actor: &Actor, frame: OutputFrame<'_>) {
    let Actor::Daemon(host_id) = actor else {
        return;
    };
    let Some(relay) = app.relay.get(frame.session_id) else {
        return;
    };
    if relay.host_id != *host_id {
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

/// The relay of a session that has not ended.
fn live_relay(app: &App, id: SessionId) -> Result<Arc<SessionRelay>, ApiError> {
    let relay = app.relay.get(id).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("session {id} is not running on any connected host"),
        )
    })?;
    if relay.is_ended() {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("session {id} has ended"),
        ));
    }
    Ok(relay)
}

/// Sends a command to the daemon running a live session.
fn forward_to_daemon<E: Event + Serialize>(
    app: &App,
    command: &E,
    session: SessionId,
) -> Result<(), ApiError> {
    let relay = live_relay(app, session)?;
    let link = app
        .daemons
        .link(relay.host_id)
        .ok_or_else(|| ApiError::new(ErrorCode::Conflict, "the session's host is offline"))?;
    link.emit(command).map_err(|error| {
        ApiError::new(
            ErrorCode::Conflict,
            format!("could not reach the daemon: {error}"),
        )
    })
}
