//! Messages the hub pushes to browsers on the [`crate::UI_NAMESPACE`].

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::rest::{HostSummary, SessionSummary};
use crate::{ErrorBody, Event, HostId, SessionId, TermSize};

/// A session was created or changed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionUpdated {
    /// The session as it is now.
    pub session: SessionSummary,
}

impl Event for SessionUpdated {
    const NAME: &'static str = "session:updated";
    type Ack = ();
}

/// A host was created, came online, went offline or changed inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HostUpdated {
    /// The host as it is now.
    pub host: HostSummary,
}

impl Event for HostUpdated {
    const NAME: &'static str = "host:updated";
    type Ack = ();
}

/// A host was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HostRemoved {
    /// The deleted host.
    pub host_id: HostId,
}

impl Event for HostRemoved {
    const NAME: &'static str = "host:removed";
    type Ack = ();
}

/// A message from this client was rejected and it asked for no
/// acknowledgement to carry the error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HubError {
    /// The event that was rejected.
    pub event: String,
    /// Why.
    pub error: ErrorBody,
}

impl Event for HubError {
    const NAME: &'static str = "hub:error";
    type Ack = ();
}

/// Marker for the binary `session:output` event towards browsers; its single
/// attachment is an encoded [`crate::frame::OutputFrame`].
#[derive(Debug, Clone, Copy)]
pub struct ViewerOutput;

impl Event for ViewerOutput {
    const NAME: &'static str = "session:output";
    type Ack = ();
}

/// Marker for the binary `session:snapshot` event towards one viewer; its
/// single attachment is an encoded [`crate::frame::SnapshotFrame`]. The
/// viewer resets its terminal, gives it the snapshot's size, writes the
/// data, and continues with output frames from the snapshot's offset.
#[derive(Debug, Clone, Copy)]
pub struct ViewerSnapshot;

impl Event for ViewerSnapshot {
    const NAME: &'static str = "session:snapshot";
    type Ack = ();
}

/// The session's PTY size, sent to each viewer when it attaches and to all
/// of them when it changes. Viewers render this size, whatever their own
/// (letterboxed or scaled): the viewer who typed last drives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionResized {
    /// The session.
    pub session_id: SessionId,
    /// Its PTY's size now.
    pub size: TermSize,
    /// Whether the receiving viewer is the one whose size this is.
    pub driver: bool,
}

impl Event for SessionResized {
    const NAME: &'static str = "session:resized";
    type Ack = ();
}
