//! Messages a daemon sends to the hub on the [`crate::DAEMON_NAMESPACE`].
//!
//! The daemon authenticates in the Socket.IO handshake ([`DaemonAuth`]), then
//! sends [`Hello`] with its full inventory; the hub's acknowledgement is the
//! daemon's signal that it is connected. Output goes as binary
//! [`crate::frame::OutputFrame`]s under [`SessionOutput::NAME`].

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{ErrorBody, Event, HostId, Reply, SessionId};

/// The Socket.IO `auth` payload a daemon connects with. The token travels
/// here, never in a URL or on a command line.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DaemonAuth {
    /// The host token the hub issued for this host.
    pub token: String,
    /// The daemon's [`crate::PROTOCOL_VERSION`].
    pub protocol_version: u32,
    /// The daemon's own version, for display.
    pub daemon_version: String,
}

impl std::fmt::Debug for DaemonAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaemonAuth")
            .field("token", &"<redacted>")
            .field("protocol_version", &self.protocol_version)
            .field("daemon_version", &self.daemon_version)
            .finish()
    }
}

/// An agent profile the daemon can run, as advertised to the hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileInfo {
    /// The profile's unique name (its file name without `.yaml`).
    pub name: String,
    /// The name shown in the UI.
    pub display_name: String,
    /// A CSS colour for the UI.
    pub color: String,
    /// Whether the profile has a resume command.
    pub supports_resume: bool,
    /// Why the profile may not work on this host, e.g. missing credentials
    /// ("ANTHROPIC_API_KEY or ~/.claude/.credentials.json needed"). The
    /// profile is still offered.
    #[serde(default)]
    pub problems: Vec<String>,
    /// The MCP configurations found for this agent on the host.
    #[serde(default)]
    pub mcp_configs: Vec<String>,
}

/// A project (git repository) the daemon found under a project root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectInfo {
    /// The canonical absolute path on the host.
    pub path: String,
    /// The path relative to its project root, for display.
    pub name: String,
}

/// What a host offers: sent in [`Hello`] and again whenever it changes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostInventory {
    /// The machine's host name.
    pub hostname: String,
    /// The daemon's version.
    pub daemon_version: String,
    /// The canonical project roots; spawns are confined to these.
    pub project_roots: Vec<String>,
    /// Profiles whose binary was found (or that are always available).
    pub profiles: Vec<ProfileInfo>,
    /// Git repositories found under the project roots.
    pub projects: Vec<ProjectInfo>,
    /// Invalid profile files, one `file:line:column: path: message` line per
    /// problem. The last valid version of such a profile stays in effect.
    #[serde(default)]
    pub profile_errors: Vec<String>,
}

/// A session the daemon is running, reported on every (re)connect so the hub
/// can reconcile its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RunningSession {
    /// The session.
    pub session_id: SessionId,
    /// The child's process id on the host.
    pub pid: Option<u32>,
    /// How many output bytes the session has produced so far.
    #[ts(type = "number")]
    pub output_offset: u64,
}

/// First message after connecting: who the daemon is and what it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Hello {
    /// What the host offers.
    pub inventory: HostInventory,
    /// Sessions alive on the host right now.
    pub sessions: Vec<RunningSession>,
}

/// The hub's answer to [`Hello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HelloAck {
    /// The host this daemon acts for.
    pub host_id: HostId,
    /// The host's name in the hub.
    pub host_name: String,
    /// For each session the hub is still relaying, the output offset it has
    /// received up to; the daemon resends retained output from there so the
    /// stream resumes without gaps or duplicates.
    #[serde(default)]
    pub resume: Vec<SessionOffset>,
}

/// An output position in one session's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionOffset {
    /// The session.
    pub session_id: SessionId,
    /// A byte offset in its output stream.
    #[ts(type = "number")]
    pub offset: u64,
}

impl Event for Hello {
    const NAME: &'static str = "daemon:hello";
    type Ack = Reply<HelloAck>;
}

/// The host's inventory changed (profiles reloaded, projects rescanned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct InventoryChanged {
    /// The new inventory, in full.
    pub inventory: HostInventory,
}

impl Event for InventoryChanged {
    const NAME: &'static str = "host:inventory";
    type Ack = ();
}

/// The process for a spawn request is running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionStarted {
    /// The session.
    pub session_id: SessionId,
    /// The child's process id on the host.
    pub pid: Option<u32>,
    /// The worktree made for it, when the spawn asked for one.
    #[serde(default)]
    pub worktree: Option<crate::worktree::WorktreeInfo>,
}

impl Event for SessionStarted {
    const NAME: &'static str = "session:started";
    type Ack = ();
}

/// A spawn request could not be carried out; no process was left behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionSpawnFailed {
    /// The session.
    pub session_id: SessionId,
    /// Why, with a code the UI can show.
    pub error: ErrorBody,
}

impl Event for SessionSpawnFailed {
    const NAME: &'static str = "session:spawn_failed";
    type Ack = ();
}

/// The answer to a [`crate::hub_to_daemon::WorktreeCommand`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WorktreeAnswer {
    /// The command's `request_id`.
    pub request_id: crate::RequestId,
    /// What came of it.
    pub outcome: crate::worktree::WorktreeOutcome,
}

impl Event for WorktreeAnswer {
    const NAME: &'static str = "worktree:answer";
    type Ack = ();
}

/// A session's process ended and all its output has been sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionExited {
    /// The session.
    pub session_id: SessionId,
    /// The exit status when the process exited normally.
    pub exit_code: Option<i32>,
    /// The signal name when the process was killed by one.
    pub signal: Option<String>,
    /// The total number of output bytes the session produced.
    #[ts(type = "number")]
    pub output_offset: u64,
}

impl Event for SessionExited {
    const NAME: &'static str = "session:exited";
    type Ack = ();
}

/// Marker for the binary `session:output` event; its single attachment is an
/// encoded [`crate::frame::OutputFrame`].
#[derive(Debug, Clone, Copy)]
pub struct SessionOutput;

impl Event for SessionOutput {
    const NAME: &'static str = "session:output";
    type Ack = ();
}

/// Marker for the binary `session:snapshot` event; its single attachment is
/// an encoded [`crate::frame::SnapshotFrame`], the answer to
/// [`crate::hub_to_daemon::RequestSnapshot`]. A session also sends one
/// unasked after its process exits, just before
/// [`SessionExited`], so its final screen outlives it.
#[derive(Debug, Clone, Copy)]
pub struct SessionSnapshot;

impl Event for SessionSnapshot {
    const NAME: &'static str = "session:snapshot";
    type Ack = ();
}

/// Small output sent as one text message: the same content as an
/// [`crate::frame::OutputFrame`], with the data in standard base64.
///
/// A binary Socket.IO event is two WebSocket messages; with Nagle's
/// algorithm on the daemon's socket (which its Socket.IO client does not let
/// us turn off) the second waits for the hub's delayed ACK, about 40 ms.
/// Keystroke echoes are small, so frames up to [`TEXT_OUTPUT_MAX`] bytes go
/// as this single message instead; bulk output stays binary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionOutputText {
    /// The session.
    pub session_id: SessionId,
    /// Offset of the first byte in the session's output stream.
    #[ts(type = "number")]
    pub offset: u64,
    /// The bytes, standard base64 with padding.
    pub data: String,
}

/// Largest output chunk sent as [`SessionOutputText`].
pub const TEXT_OUTPUT_MAX: usize = 4 * 1024;

impl Event for SessionOutputText {
    const NAME: &'static str = "session:output_text";
    type Ack = ();
}
