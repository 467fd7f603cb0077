//! Terminal use cases: a viewer attaches to a session's output, a user
//! types into it and resizes it, and its daemon publishes its output.
//!
//! Input, resize and output are synchronous: the transports call them from
//! the synchronous part of their handlers, in arrival order, so keystrokes
//! and frames keep their order (see `daemons` and `ui`).

use std::sync::Arc;

use std::collections::HashMap;

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

/// Identifies one viewer of a session (its socket), for the size policy.
pub type ViewerId = String;

/// The size policy of one session: **the viewer who typed last drives the
/// PTY's size**; the others render that size (letterboxed or scaled), never
/// their own. Until someone types, the viewer attached longest drives; when
/// the driver leaves, the next by that rule takes over and its size
/// applies. So a phone that only watches never shrinks a desktop's agent,
/// and a size does not outlive the viewer it was for.
#[derive(Debug, Default)]
pub struct Sizes {
    /// The PTY's size as last applied or reported (by a snapshot).
    pub size: Option<TermSize>,
    viewers: HashMap<ViewerId, ViewerSize>,
    /// Orders attaches and keystrokes.
    clock: u64,
}

#[derive(Debug, Clone, Copy)]
struct ViewerSize {
    wanted: Option<TermSize>,
    attached: u64,
    /// When it last typed (0 = never).
    typed: u64,
}

/// What a size event changed: the PTY's new size and whose it is, for the
/// transport to tell every viewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeChange {
    /// The size now in force.
    pub size: TermSize,
    /// The viewer driving it.
    pub driver: ViewerId,
}

impl Sizes {
    /// The viewer whose size applies.
    pub fn driver(&self) -> Option<&ViewerId> {
        self.viewers
            .iter()
            .max_by_key(|(_, viewer)| (viewer.typed, std::cmp::Reverse(viewer.attached)))
            .map(|(id, _)| id)
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// A viewer attached.
    pub fn attach(&mut self, viewer: &ViewerId) {
        let attached = self.tick();
        self.viewers.entry(viewer.clone()).or_insert(ViewerSize {
            wanted: None,
            attached,
            typed: 0,
        });
    }

    /// A viewer's terminal would fit `size`.
    pub fn wants(&mut self, viewer: &ViewerId, size: TermSize) -> Option<SizeChange> {
        self.attach(viewer);
        if let Some(entry) = self.viewers.get_mut(viewer) {
            entry.wanted = Some(size);
        }
        self.settle()
    }

    /// A viewer typed: it drives from now on.
    pub fn typed(&mut self, viewer: &ViewerId) -> Option<SizeChange> {
        self.attach(viewer);
        let now = self.tick();
        if let Some(entry) = self.viewers.get_mut(viewer) {
            entry.typed = now;
        }
        self.settle()
    }

    /// A viewer left.
    pub fn detach(&mut self, viewer: &ViewerId) -> Option<SizeChange> {
        self.viewers.remove(viewer)?;
        self.settle()
    }

    /// Applies the driver's size if it differs from the PTY's.
    fn settle(&mut self) -> Option<SizeChange> {
        let driver = self.driver()?.clone();
        let wanted = self.viewers.get(&driver)?.wanted?;
        if self.size == Some(wanted) {
            return None;
        }
        self.size = Some(wanted);
        Some(SizeChange {
            size: wanted,
            driver,
        })
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn size(cols: u16, rows: u16) -> TermSize {
        TermSize { cols, rows }
    }

    fn change(cols: u16, rows: u16, driver: &str) -> Option<SizeChange> {
        Some(SizeChange {
            size: size(cols, rows),
            driver: driver.to_owned(),
        })
    }

    #[test]
    fn the_viewer_who_typed_last_drives_and_a_watcher_never_resizes() {
        let (desk, phone) = ("desk".to_owned(), "phone".to_owned());
        let mut sizes = Sizes::default();
        sizes.attach(&desk);
        // Alone, the desktop's size applies at once.
        assert_eq!(sizes.wants(&desk, size(200, 50)), change(200, 50, "desk"));
        // A phone attaching and reporting its size changes nothing.
        sizes.attach(&phone);
        assert_eq!(sizes.wants(&phone, size(52, 30)), None);
        assert_eq!(sizes.driver(), Some(&desk));
        // The phone types: its size applies.
        assert_eq!(sizes.typed(&phone), change(52, 30, "phone"));
        // The desktop's later resizes are recorded, not applied.
        assert_eq!(sizes.wants(&desk, size(180, 45)), None);
        // Typing again does not resize when nothing changed.
        assert_eq!(sizes.typed(&phone), None);
        // The phone leaves: the desktop's latest size comes back.
        assert_eq!(sizes.detach(&phone), change(180, 45, "desk"));
        assert_eq!(sizes.detach(&desk), None);
        assert_eq!(sizes.driver(), None);
    }

    #[test]
    fn a_driver_without_a_known_size_changes_nothing() {
        let (a, b) = ("a".to_owned(), "b".to_owned());
        let mut sizes = Sizes::default();
        assert_eq!(sizes.wants(&a, size(80, 24)), change(80, 24, "a"));
        sizes.attach(&b);
        // b drives after typing but has not said what fits it.
        assert_eq!(sizes.typed(&b), None);
        assert_eq!(sizes.size, Some(size(80, 24)));
        assert_eq!(sizes.wants(&b, size(100, 30)), change(100, 30, "b"));
    }
}
