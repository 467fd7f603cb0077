//! Terminal use cases: a viewer attaches to a session's output, a user
//! types into it and resizes it, and its daemon publishes its output.
//!
//! Input, resize and output are synchronous: the transports call them from
//! the synchronous part of their handlers, in arrival order, so keystrokes
//! and frames keep their order (see `daemons` and `ui`).

use std::sync::Arc;

use flotilla_protocol::frame::OutputFrame;
use flotilla_protocol::hub_to_daemon::{ResizePty, WriteInput};
use flotilla_protocol::rest::SessionSummary;
use flotilla_protocol::ui_to_hub::{ResizeTerminal, SendInput};
use flotilla_protocol::{ErrorCode, Event, MAX_INPUT_BYTES, SessionId};
use serde::Serialize;

use crate::App;
use crate::actor::Actor;
use crate::error::ApiError;
use crate::relay::{PushOutcome, REPLAY_BYTES, SessionRelay};
use crate::sessions;

/// What an attach gives the viewer: the session, and where to stream its
/// output from when it has any.
pub struct Attachment {
    /// The session as recorded.
    pub summary: SessionSummary,
    /// Its output buffer and the offset to start from (the last
    /// [`REPLAY_BYTES`] it holds); `None` for an ended session whose output
    /// is gone.
    pub stream: Option<(Arc<SessionRelay>, u64)>,
}

/// Checks the session and finds where its viewer starts.
pub async fn attach(app: &App, actor: &Actor, id: SessionId) -> Result<Attachment, ApiError> {
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
        let from = end.saturating_sub(REPLAY_BYTES as u64).max(start);
        (relay, from)
    });
    Ok(Attachment { summary, stream })
}

/// Forwards keystrokes to the session's daemon.
pub fn input(app: &App, actor: &Actor, input: SendInput) -> Result<(), ApiError> {
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
    forward_to_daemon(
        app,
        &WriteInput {
            session_id: input.session_id,
            data: input.data,
        },
        input.session_id,
    )
}

/// Forwards a terminal size to the session's daemon.
pub fn resize(app: &App, actor: &Actor, resize: ResizeTerminal) -> Result<(), ApiError> {
    actor.user()?;
    resize.size.validate()?;
    forward_to_daemon(
        app,
        &ResizePty {
            session_id: resize.session_id,
            size: resize.size,
        },
        resize.session_id,
    )
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
