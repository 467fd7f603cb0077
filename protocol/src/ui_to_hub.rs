//! Messages a browser sends to the hub on the [`crate::UI_NAMESPACE`]. Every
//! one is acknowledged with a [`Reply`]; a client that asks for no
//! acknowledgement gets errors as [`crate::hub_to_ui::HubError`] events.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::rest::SessionSummary;
use crate::{Event, Reply, SessionId, TermSize};

/// Start watching a session. The hub replies with the session, then sends
/// this viewer alone the session's size ([`crate::hub_to_ui::SessionResized`])
/// and either the output after `since`, when it still holds all of it, or a
/// screen snapshot ([`crate::hub_to_ui::ViewerSnapshot`]), followed by the
/// live stream. Frames carry offsets, so the viewer drops what it has seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AttachSession {
    /// The session to watch.
    pub session_id: SessionId,
    /// A reconnecting viewer's offset (decimal, as JSON numbers cannot hold
    /// every u64): the end of what its terminal already shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub since: Option<String>,
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

/// The size this viewer's terminal would fit. The hub applies it to the
/// PTY while this viewer drives the size (it typed last, or is the one
/// attached longest while nobody typed) and records it otherwise; every
/// viewer renders the size in force ([`crate::hub_to_ui::SessionResized`]).
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

/// Flow control: the viewer's terminal has parsed the session's output up to
/// `offset` (decimal). The hub keeps at most a window of unacknowledged bytes
/// in flight per viewer; a viewer that falls further behind than the hub
/// retains gets a fresh snapshot instead of the backlog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AckOutput {
    /// The session.
    pub session_id: SessionId,
    /// The end of what the terminal has parsed, in decimal.
    pub offset: String,
}

impl Event for AckOutput {
    const NAME: &'static str = "session:ack";
    type Ack = ();
}
