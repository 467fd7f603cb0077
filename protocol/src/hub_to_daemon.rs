//! Commands the hub sends to one daemon. They are JSON only: binary payloads
//! towards the daemon's Socket.IO client are unreliable (see STACK-NOTES).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Event, SessionId, TermSize};

/// Start a session. The daemon answers with
/// [`crate::daemon_to_hub::SessionStarted`] or
/// [`crate::daemon_to_hub::SessionSpawnFailed`]. Spawning the same id twice
/// is a no-op that reports the running session again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SpawnSession {
    /// The id the hub chose for the session.
    pub session_id: SessionId,
    /// The profile to run.
    pub profile: String,
    /// The absolute project directory; must lie under a project root.
    pub project: String,
    /// An initial prompt for the agent, if any.
    pub prompt: Option<String>,
    /// The initial terminal size.
    pub size: TermSize,
    /// Make a git worktree for the session and run it there.
    #[serde(default)]
    pub worktree: Option<crate::worktree::WorktreeRequest>,
}

impl Event for SpawnSession {
    const NAME: &'static str = "session:spawn";
    type Ack = ();
}

/// Stop a session: SIGTERM to its process group, SIGKILL after a grace
/// period. The daemon answers with [`crate::daemon_to_hub::SessionExited`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StopSession {
    /// The session.
    pub session_id: SessionId,
}

impl Event for StopSession {
    const NAME: &'static str = "session:stop";
    type Ack = ();
}

/// Bytes typed into a session, as UTF-8 text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WriteInput {
    /// The session.
    pub session_id: SessionId,
    /// What to write to the PTY.
    pub data: String,
}

impl Event for WriteInput {
    const NAME: &'static str = "session:input";
    type Ack = ();
}

/// Change a session's terminal size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ResizePty {
    /// The session.
    pub session_id: SessionId,
    /// The new size.
    pub size: TermSize,
}

impl Event for ResizePty {
    const NAME: &'static str = "session:resize";
    type Ack = ();
}

/// Render the session's screen model now and send it as
/// [`crate::daemon_to_hub::SessionSnapshot`], ordered after every output
/// frame it covers. The hub asks when a viewer attaches without retained
/// bytes to resume from, or has fallen too far behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RequestSnapshot {
    /// The session.
    pub session_id: SessionId,
}

impl Event for RequestSnapshot {
    const NAME: &'static str = "session:snapshot";
    type Ack = ();
}

/// Read or remove a session's worktree. The daemon answers with
/// [`crate::daemon_to_hub::WorktreeAnswer`] carrying the same
/// `request_id`. It refuses a worktree a live session of its own runs in,
/// and anything that is not a Flotilla worktree under a project root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WorktreeCommand {
    /// Correlates the answer.
    pub request_id: crate::RequestId,
    /// The worktree as recorded on the session.
    pub worktree: crate::worktree::WorktreeInfo,
    /// What to do.
    pub action: crate::worktree::WorktreeAction,
}

impl Event for WorktreeCommand {
    const NAME: &'static str = "worktree:command";
    type Ack = ();
}
