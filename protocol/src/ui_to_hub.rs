//! Messages a browser sends to the hub on the [`crate::UI_NAMESPACE`]. Every
//! one is acknowledged with a [`Reply`]; a client that asks for no
//! acknowledgement gets errors as [`crate::hub_to_ui::HubError`] events.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::rest::SessionSummary;
use crate::{Event, Reply, SessionId, TermSize};

/// Start watching a session. The hub replies with the session and then sends
/// this viewer alone the retained recent output as one frame, followed by the
/// live stream. Frames carry offsets, so the viewer drops what it has seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AttachSession {
    /// The session to watch.
    pub session_id: SessionId,
}

impl Event for AttachSession {
    const NAME: &'static str = "session:attach";
    type Ack = Reply<SessionSummary>;
}

/// Stop watching a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DetachSession {
    /// The session.
    pub session_id: SessionId,
}

impl Event for DetachSession {
    const NAME: &'static str = "session:detach";
    type Ack = Reply<()>;
}

/// Keystrokes or a paste for a session, as UTF-8 text of at most
/// [`crate::MAX_INPUT_BYTES`] bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SendInput {
    /// The session.
    pub session_id: SessionId,
    /// The text to type.
    pub data: String,
}

impl Event for SendInput {
    const NAME: &'static str = "session:input";
    type Ack = Reply<()>;
}

/// The viewer's terminal was resized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ResizeTerminal {
    /// The session.
    pub session_id: SessionId,
    /// The new size.
    pub size: TermSize,
}

impl Event for ResizeTerminal {
    const NAME: &'static str = "session:resize";
    type Ack = Reply<()>;
}
